-- The blog: its owner, sessions, login throttling, posts with tags and old slugs, and comments.
-- Timestamps are INTEGER unix seconds (UTC) so that SQLite and PostgreSQL behave the same.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- There is one owner: a second row would violate this unique constraint.
    owner_slot INTEGER NOT NULL DEFAULT 1 UNIQUE CHECK (owner_slot = 1),
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    throttle_key TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX login_failures_key_time ON login_failures (throttle_key, failed_at);

CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,
    excerpt_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    author_id TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    published_at INTEGER
);
CREATE INDEX posts_status_published ON posts (status, published_at DESC, id DESC);

CREATE TABLE post_old_slugs (
    slug TEXT PRIMARY KEY,
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE
);

CREATE TABLE tags (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE post_tags (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_slug TEXT NOT NULL REFERENCES tags (slug),
    position INTEGER NOT NULL,
    PRIMARY KEY (post_id, tag_slug)
);
CREATE INDEX post_tags_tag ON post_tags (tag_slug, post_id);

CREATE TABLE comments (
    id TEXT PRIMARY KEY,
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES comments (id) ON DELETE CASCADE,
    author_name TEXT NOT NULL,
    author_url TEXT NOT NULL,
    content_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('shown', 'held', 'rejected')),
    published_at INTEGER NOT NULL
);
CREATE INDEX comments_post ON comments (post_id, status, published_at);
