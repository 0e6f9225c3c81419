-- Full-text search over posts and pages (`db::search`): one row per post, kept by the application in the same
-- transaction as every save (title, the text of the body without markup, the tag names). Porter stemming on top of
-- unicode61 (diacritics kept), the same stemming family as PostgreSQL's `english` configuration. Rows are filled
-- for posts that existed before this migration when the server starts (`search::reindex_missing`).
CREATE VIRTUAL TABLE post_search USING fts5(
    post_id UNINDEXED,
    title,
    body,
    tags,
    tokenize = 'porter unicode61 remove_diacritics 0'
);
