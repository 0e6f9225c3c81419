-- Dates: a post's publication date may be in the past (backdated) or the future (scheduled: a draft with
-- scheduled = 1, published by the scheduler at published_at; `status` keeps its two values).
-- `announced` is 0 for a post published without telling followers (backdated without "Announce to followers"): it
-- is then not sent as Update either, until the owner announces it.
ALTER TABLE posts ADD COLUMN scheduled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN announced BIGINT NOT NULL DEFAULT 1;
CREATE INDEX posts_scheduled ON posts (scheduled, published_at);
