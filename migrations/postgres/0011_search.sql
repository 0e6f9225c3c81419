-- Full-text search over posts and pages (`db::search`): one row per post, kept by the application in the same
-- transaction as every save (title, the text of the body without markup, the tag names), with its `english`
-- tsvector (title weighted A, tags B, body C). Rows are filled for posts that existed before this migration when the
-- server starts (`search::reindex_missing`).
CREATE TABLE post_search (
    post_id TEXT PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tags TEXT NOT NULL,
    document TSVECTOR NOT NULL
);
CREATE INDEX post_search_document ON post_search USING GIN (document);
