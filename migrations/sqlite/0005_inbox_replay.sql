-- Signed requests and activities the inboxes have already taken, so that a replay is answered without effect.
-- Keys are "sig:<sha-256 of the signature>" (kept until the signature's time plus the window) and
-- "id:<activity id>" (a day).
-- Shared by every process on one database; rows past expires_at are swept.
CREATE TABLE inbox_seen (
    seen_key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX inbox_seen_expiry ON inbox_seen (expires_at);
