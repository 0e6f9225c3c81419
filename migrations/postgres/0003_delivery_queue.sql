-- The durable delivery queue: each outgoing activity stored once, expanded into one row per target inbox, and the
-- health of every host we deliver to.

-- An activity to send: its JSON once, who signs it, and whom it goes to. Activities for all followers are expanded
-- into deliveries by a worker, in batches (expand_cursor is the last target inbox written), so publishing returns
-- at once whatever the number of followers.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    -- The activity's ActivityPub id.
    activity_id TEXT NOT NULL,
    -- What the owner sees on the Deliveries page: publish, edit, delete, accept, reply.
    kind TEXT NOT NULL,
    -- A short label: the post's title, or the follower's handle.
    label TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The local actor whose key signs it.
    signer TEXT NOT NULL,
    -- 'followers' (expanded by a worker) or 'direct' (deliveries written with the activity).
    audience TEXT NOT NULL CHECK (audience IN ('followers', 'direct')),
    expanded BIGINT NOT NULL,
    expand_cursor TEXT,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_to_expand ON outbox (expanded, created_at);
CREATE INDEX outbox_created ON outbox (created_at DESC, id);

-- Where an activity is sent: one row per target inbox.
DROP INDEX deliveries_due;
ALTER TABLE deliveries RENAME TO deliveries_v2;
CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    -- The inbox's host[:port]: limits, pauses and the Deliveries page are per host.
    host TEXT NOT NULL,
    -- 'gone': the inbox answered 410 and its followers were removed; never retried.
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'gone')),
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    -- A worker that claimed the row holds it until then; a worker that died lets it go when this passes.
    locked_until BIGINT NOT NULL DEFAULT 0,
    -- After this a failing row fails for good (delivery.give_up_after_seconds after it was queued or retried).
    give_up_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_outbox ON deliveries (outbox_id, status);
CREATE INDEX deliveries_host ON deliveries (host, status);

-- Rows queued before this migration: their activity is stored once, their deliveries keep their state.
INSERT INTO outbox (activity_id, kind, label, body, signer, audience, expanded, created_at)
    SELECT activity_id, 'activity', activity_id, MIN(body), 'blog', 'direct', 1, MIN(created_at)
    FROM deliveries_v2 GROUP BY activity_id;
INSERT INTO deliveries (outbox_id, inbox, host, status, attempts, next_attempt_at, locked_until, give_up_at,
                        last_error, created_at, updated_at)
    SELECT o.id, d.inbox, split_part(split_part(d.inbox, '://', 2), '/', 1), d.status, d.attempts, d.next_attempt_at, 0, d.created_at + 432000, d.last_error,
           d.created_at, d.created_at
    FROM deliveries_v2 d JOIN outbox o ON o.activity_id = d.activity_id;
DROP TABLE deliveries_v2;

-- Hosts that failed: consecutive temporary failures, and when a host that keeps failing is paused until (its rows
-- wait, no worker is tied up on it; after the pause one row probes it). A success resets the count.
CREATE TABLE delivery_hosts (
    host TEXT PRIMARY KEY,
    consecutive_failures BIGINT NOT NULL,
    paused_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_failure_at BIGINT,
    last_success_at BIGINT
);

-- Targets are expanded in order of the inbox each follower is reached at.
CREATE INDEX followers_target ON followers ((COALESCE(shared_inbox, inbox)));
