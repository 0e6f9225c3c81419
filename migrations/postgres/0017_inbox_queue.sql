-- The durable inbox: an activity whose signature and shape were checked is stored here before the inbox answers
-- 202, and workers apply it afterwards. Rows about one object (`object_key`) are applied in the order they came;
-- what fails for a reason that may pass is retried later; what keeps failing stays, marked failed, for the owner.
CREATE TABLE inbox_queue (
    id BIGSERIAL PRIMARY KEY,
    -- What orders rows: the object an activity is about (a Note, a Like's own id for its Undo, an actor).
    object_key TEXT NOT NULL,
    -- The verified actor who signed it.
    signer TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    -- A worker holds a row until then (0: nobody holds it).
    locked_until BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    -- When it was given up (NULL while it waits to be applied).
    failed_at BIGINT
);

CREATE INDEX inbox_queue_object ON inbox_queue (object_key, id);
CREATE INDEX inbox_queue_failed ON inbox_queue (failed_at) WHERE failed_at IS NOT NULL;
