-- The FTS5 row of each post's search entry. `post_search.post_id` is UNINDEXED, so finding a post's entry by it
-- read the whole index: every save (and every imported post) cost time in proportion to the number of posts. With
-- this table the old entry is found by its rowid.
CREATE TABLE post_search_rows (
    post_id TEXT PRIMARY KEY,
    search_rowid INTEGER NOT NULL
);
INSERT OR REPLACE INTO post_search_rows (post_id, search_rowid) SELECT post_id, rowid FROM post_search;
