-- Images copied by imports (`steppe import wxr --uploads DIR` or `--fetch-media`): which stored upload each image of
-- the old site became, keyed by the export's site address and the image's path under the old uploads folder (or
-- its address), so that a second run neither reads nor processes it again.
CREATE TABLE import_media (
    site TEXT NOT NULL,
    source TEXT NOT NULL,
    media_id TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    PRIMARY KEY (site, source)
);

-- How many images of an imported post still point at the old site: a later run with a source of images brings
-- them in even though the post itself is unchanged.
ALTER TABLE import_posts ADD COLUMN images_pending INTEGER NOT NULL DEFAULT 0;
