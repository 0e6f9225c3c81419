-- The followers of a WordPress ActivityPub actor this blog took over (`steppe import wp-actor`), by inbox: each is
-- sent the Move once, however often the command runs.
CREATE TABLE wp_actor_moves (
    inbox TEXT PRIMARY KEY,
    follower TEXT NOT NULL,
    queued_at BIGINT NOT NULL
);
