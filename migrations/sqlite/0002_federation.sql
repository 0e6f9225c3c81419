-- Federation: the blog actor's key pair, and the accounts that follow the blog.

CREATE TABLE actor_keys (
    -- The local actor the key belongs to ('blog': there is one actor).
    actor TEXT PRIMARY KEY,
    -- PKCS#8 DER, base64. Never logged, never shown.
    private_key_pkcs8 TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE followers (
    actor_id TEXT PRIMARY KEY,
    -- The id of their Follow, which an Undo may name alone.
    follow_id TEXT NOT NULL,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    avatar_url TEXT,
    followed_at INTEGER NOT NULL
);
CREATE INDEX followers_followed_at ON followers (followed_at DESC, actor_id);

-- Remote actors we have fetched (followers, signers): their inboxes and public keys, refreshed when a key fails.
CREATE TABLE remote_actors (
    id TEXT PRIMARY KEY,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    avatar_url TEXT,
    key_id TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    fetched_at INTEGER NOT NULL
);
CREATE INDEX remote_actors_key_id ON remote_actors (key_id);

-- Activities to send, written in the same transaction as the change that causes them, one row per target inbox.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    activity_id TEXT NOT NULL,
    inbox TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    -- A worker that claimed the row holds it until then; a worker that died lets it go when this passes.
    locked_until INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

-- The id a post has as an ActivityPub Article (the UUID in /articles/{id}). It starts as the post's own id; a post
-- unpublished (its Article deleted, tombstoned) and published again gets a new one, since ids are never reused.
ALTER TABLE posts ADD COLUMN article_id TEXT;
UPDATE posts SET article_id = id;
CREATE UNIQUE INDEX posts_article_id ON posts (article_id);

-- Articles that were deleted or unpublished: their ids answer 410 Gone with a Tombstone, for good.
CREATE TABLE article_tombstones (
    article_id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    deleted_at INTEGER NOT NULL
);
CREATE INDEX article_tombstones_slug ON article_tombstones (slug);

-- Settings the owner changes in the admin pages (the actor's avatar and header image: URL and media type).
CREATE TABLE site_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
