-- What the owner hears of: new comments, comments waiting for approval, mentions, new followers, deliveries that
-- failed for good. Shown on /admin/notifications (unread until marked read) and, with [email] on, sent as one
-- digest for everything new: `email_claim` is the process that is sending it (until `email_claimed_at` plus a
-- lease), `emailed_at` when it went.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT,
    email_claim TEXT,
    email_claimed_at BIGINT,
    emailed_at BIGINT
);
CREATE INDEX notifications_created ON notifications (created_at DESC, id);
CREATE INDEX notifications_unread ON notifications (read_at);
CREATE INDEX notifications_unemailed ON notifications (emailed_at, created_at);
