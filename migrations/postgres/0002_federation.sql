-- Federation: the blog actor's key pair, and the accounts that follow the blog.

CREATE TABLE actor_keys (
    -- The local actor the key belongs to ('blog': there is one actor).
    actor TEXT PRIMARY KEY,
    -- PKCS#8 DER, base64. Never logged, never shown.
    private_key_pkcs8 TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE followers (
    actor_id TEXT PRIMARY KEY,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    avatar_url TEXT,
    followed_at BIGINT NOT NULL
);
CREATE INDEX followers_followed_at ON followers (followed_at DESC, actor_id);
