-- The writing desk never loses text: every save of a post is kept as a revision (pruned to the newest
-- `editor.revisions_kept` per post), each post has at most one autosave per owner (the text typed since the last
-- save, stored a few seconds after the last keystroke), and a form posted after its session ended is kept until
-- the owner logs in again.

CREATE TABLE post_revisions (
    id TEXT PRIMARY KEY,
    -- NULL for the autosave of a new post that was never saved.
    post_id TEXT REFERENCES posts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'save' or 'autosave'
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    slug TEXT NOT NULL,
    summary TEXT NOT NULL,
    tags TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX post_revisions_post ON post_revisions (post_id, kind, created_at);
CREATE INDEX post_revisions_user ON post_revisions (user_id, kind, created_at);

-- A form that arrived without a valid session (it had expired): the fields as JSON, for the path it was posted to,
-- handed back to the browser holding the cookie whose hash is the key. Swept after a day; at most a few dozen.
CREATE TABLE recovered_forms (
    token_hash TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX recovered_forms_created ON recovered_forms (created_at);
