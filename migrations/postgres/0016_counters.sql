-- Counts kept as counters, so that handling a reply or a like, and rendering a list, costs the same however many
-- comments a post already has: shown comments, likes and boosts per post (kept by triggers, so that every path that
-- writes comments or reactions — the inbox, moderation, imports, restores, cascades — keeps them right), and replies
-- received per author and per host in each minute (the flood limits), written by the inbox.

CREATE TABLE post_counts (
    post_id TEXT PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    -- Comments readers see: shown, and public or unlisted.
    comments BIGINT NOT NULL DEFAULT 0,
    likes BIGINT NOT NULL DEFAULT 0,
    shares BIGINT NOT NULL DEFAULT 0
);

INSERT INTO post_counts (post_id, comments, likes, shares)
SELECT p.id,
    (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id AND c.status = 'shown'
        AND c.visibility IN ('public', 'unlisted')),
    (SELECT COUNT(*) FROM reactions r WHERE r.post_id = p.id AND r.kind = 'like'),
    (SELECT COUNT(*) FROM reactions r WHERE r.post_id = p.id AND r.kind = 'announce')
FROM posts p;

CREATE FUNCTION post_counts_new() RETURNS trigger AS $$
BEGIN
    INSERT INTO post_counts (post_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER post_counts_new AFTER INSERT ON posts
FOR EACH ROW EXECUTE FUNCTION post_counts_new();

CREATE FUNCTION post_counts_comments() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.status = 'shown' AND OLD.visibility IN ('public', 'unlisted') THEN
        UPDATE post_counts SET comments = comments - 1 WHERE post_id = OLD.post_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'shown' AND NEW.visibility IN ('public', 'unlisted') THEN
        UPDATE post_counts SET comments = comments + 1 WHERE post_id = NEW.post_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER post_counts_comments AFTER INSERT OR DELETE OR UPDATE OF status, visibility, post_id ON comments
FOR EACH ROW EXECUTE FUNCTION post_counts_comments();

CREATE FUNCTION post_counts_reactions() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE post_counts SET likes = likes - (OLD.kind = 'like')::int, shares = shares - (OLD.kind = 'announce')::int
        WHERE post_id = OLD.post_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE post_counts SET likes = likes + (NEW.kind = 'like')::int, shares = shares + (NEW.kind = 'announce')::int
        WHERE post_id = NEW.post_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER post_counts_reactions AFTER INSERT OR DELETE OR UPDATE OF kind, post_id ON reactions
FOR EACH ROW EXECUTE FUNCTION post_counts_reactions();

-- Replies stored from the inbox, per key ("actor:" or "host:" and the id) and minute since the epoch. The flood
-- check sums the last 60 minutes of two keys: at most 122 rows, whatever the history.
CREATE TABLE flood_counts (
    counted TEXT NOT NULL,
    minute BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (counted, minute)
);
INSERT INTO flood_counts (counted, minute, n)
SELECT 'actor:' || author_id, received_at / 60, COUNT(*) FROM comments
WHERE received_at > EXTRACT(EPOCH FROM now())::bigint - 3660 GROUP BY author_id, received_at / 60;
INSERT INTO flood_counts (counted, minute, n)
SELECT 'host:' || author_host, received_at / 60, COUNT(*) FROM comments
WHERE received_at > EXTRACT(EPOCH FROM now())::bigint - 3660 GROUP BY author_host, received_at / 60;

-- "Has this author a shown comment?" (hold first-time commenters) in one index seek.
DROP INDEX comments_author;
CREATE INDEX comments_author ON comments (author_id, status, visibility);

-- A page of a post's threads, and their count, read from the index alone (the post page pages its comments).
DROP INDEX comments_post;
CREATE INDEX comments_post ON comments (post_id, status, published_at, visibility, parent_id);
