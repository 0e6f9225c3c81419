-- Imports from WordPress (`steppe import wxr`): which Steppe post and comment each WordPress one became, keyed by
-- the export's site address and the WordPress id, so that a second run changes nothing and a newer export updates
-- what changed; and the old addresses (permalinks, /?p=ID, ActivityPub ids) that now mean an imported post.

CREATE TABLE import_posts (
    site TEXT NOT NULL,
    wp_id INTEGER NOT NULL,
    -- Not a foreign key: a post the owner deleted after importing it stays deleted on the next run.
    post_id TEXT NOT NULL,
    -- A hash of what the item held, so an unchanged item is skipped.
    digest TEXT NOT NULL,
    -- The post's updated_at as the import left it: a later value means the owner edited it in Steppe.
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site, wp_id)
);
CREATE INDEX import_posts_post ON import_posts (post_id);

CREATE TABLE import_comments (
    site TEXT NOT NULL,
    wp_id INTEGER NOT NULL,
    comment_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (site, wp_id)
);

-- An old address of an imported post: a path as readers' browsers ask for it (lowercase, no trailing slash, only
-- the query WordPress identifies posts by: /?p=101) or a full URL that followers' servers know the post by (its old
-- ActivityPub id or permalink). Pages look paths up after every route of the blog's own; the inbox looks URLs up.
CREATE TABLE old_addresses (
    address TEXT PRIMARY KEY,
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE
);
CREATE INDEX old_addresses_post ON old_addresses (post_id);
