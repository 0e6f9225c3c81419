-- Nothing to do on PostgreSQL: `post_search.post_id` is its primary key already. (SQLite's migration 0014 adds the
-- table that finds a post's FTS5 row by rowid; the numbering of the two engines' migrations is kept in step.)
SELECT 1;
