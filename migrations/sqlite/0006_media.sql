-- Images: one row per processed upload, named by the hash of its content; which posts use which image; each post's
-- featured image; and commenters' avatars copied from their servers.

CREATE TABLE media (
    id TEXT PRIMARY KEY,
    -- The file name as uploaded, for the owner's media page only (never a storage path).
    original_name TEXT NOT NULL,
    original_type TEXT NOT NULL,
    original_bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    blurhash TEXT NOT NULL,
    -- NULL until the owner describes the image; '' when they marked it decorative.
    alt TEXT,
    -- JSON: [{"width":…,"height":…,"format":"jpeg"|"png"|"webp","bytes":…}, …], widest first.
    variants TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX media_created ON media (created_at DESC);

-- The images a post's text shows, in order (rebuilt whenever the post is saved).
CREATE TABLE post_media (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    media_id TEXT NOT NULL REFERENCES media (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (post_id, media_id)
);
CREATE INDEX post_media_media ON post_media (media_id);

ALTER TABLE posts ADD COLUMN featured_media_id TEXT REFERENCES media (id);

-- A remote actor's avatar as we serve it: the address it was fetched from, and the stored name (NULL when the
-- last fetch failed, so that it is not retried before the next refresh).
CREATE TABLE remote_avatars (
    source_url TEXT PRIMARY KEY,
    media_name TEXT,
    fetched_at INTEGER NOT NULL
);
