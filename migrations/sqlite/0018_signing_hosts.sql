-- How other servers accept the blog's signatures (see src/federation/signing.rs). Only hosts that refused the best
-- way (RFC 9421 with the Ed25519 key) are listed: the way that then worked, and when that was learned, so that the
-- better ways are tried again after a while (the server may have been upgraded).
CREATE TABLE signing_hosts (
    host TEXT PRIMARY KEY,
    -- 'rfc9421' (RSA) or 'draft-cavage'.
    signing TEXT NOT NULL,
    learned_at INTEGER NOT NULL
);
