-- Comments: replies from fediverse accounts to posts (and to other comments), likes and boosts of posts,
-- moderation (comments open per post, blocked accounts and domains).
-- The comments table of the first migration was never written outside tests; it is replaced.

DROP INDEX IF EXISTS comments_post;
DROP TABLE comments;
CREATE TABLE comments (
    -- The reply's ActivityPub object id.
    id TEXT PRIMARY KEY,
    -- A short id for the page's anchors (#comment-…).
    anchor TEXT NOT NULL UNIQUE,
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- The comment it answers; NULL when it answers the post. Not a foreign key: when a comment is deleted, the
    -- replies to it stay and are shown under the post.
    parent_id TEXT,
    -- The author's actor id and the profile shown with the comment (as the author's server gave it).
    author_id TEXT NOT NULL,
    -- The author's host (and port): blocks and throttling by domain.
    author_host TEXT NOT NULL,
    author_name TEXT NOT NULL,
    author_handle TEXT NOT NULL,
    author_url TEXT NOT NULL,
    author_avatar TEXT,
    -- Sanitised HTML.
    content_html TEXT NOT NULL,
    -- For the owner's own replies: the text as they wrote it (Markdown), for editing.
    source_text TEXT,
    -- The content warning, shown as the summary of a collapsed block.
    summary TEXT,
    -- Attachments, as sanitised links with their alt text.
    attachments_html TEXT NOT NULL,
    -- The reply's page on its own server.
    url TEXT,
    -- From to/cc: public and unlisted replies may be shown; followers-only and direct ones never are.
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'followers', 'direct')),
    status TEXT NOT NULL CHECK (status IN ('shown', 'held', 'rejected')),
    published_at INTEGER NOT NULL,
    -- Set when the author edited it (the "edited" mark), with the time of their edit.
    edited_at INTEGER,
    received_at INTEGER NOT NULL
);
CREATE INDEX comments_post ON comments (post_id, status, published_at);
CREATE INDEX comments_author ON comments (author_id);
CREATE INDEX comments_author_host ON comments (author_host, received_at);
CREATE INDEX comments_parent ON comments (parent_id);

-- Likes and boosts (Announce) of posts, one per actor and post.
CREATE TABLE reactions (
    activity_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('like', 'announce')),
    actor_id TEXT NOT NULL,
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, actor_id, post_id)
);
CREATE INDEX reactions_post ON reactions (post_id, kind);

-- Whether a post takes new comments (the owner closes them per post).
ALTER TABLE posts ADD COLUMN comments_open INTEGER NOT NULL DEFAULT 1;

-- Accounts (actor ids) and domains the owner blocked: their activities are dropped, their Follows rejected.
CREATE TABLE blocks (
    kind TEXT NOT NULL CHECK (kind IN ('actor', 'domain')),
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
);

-- Inboxes an activity for followers also goes to (the author of the comment an owner's reply answers), each once.
ALTER TABLE outbox ADD COLUMN extra_inboxes TEXT;
