-- Counts kept as counters, so that handling a reply or a like, and rendering a list, costs the same however many
-- comments a post already has: shown comments, likes and boosts per post (kept by triggers, so that every path that
-- writes comments or reactions — the inbox, moderation, imports, restores, cascades — keeps them right), and replies
-- received per author and per host in each minute (the flood limits), written by the inbox.

CREATE TABLE post_counts (
    post_id TEXT PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    -- Comments readers see: shown, and public or unlisted.
    comments INTEGER NOT NULL DEFAULT 0,
    likes INTEGER NOT NULL DEFAULT 0,
    shares INTEGER NOT NULL DEFAULT 0
);

INSERT INTO post_counts (post_id, comments, likes, shares)
SELECT p.id,
    (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id AND c.status = 'shown'
        AND c.visibility IN ('public', 'unlisted')),
    (SELECT COUNT(*) FROM reactions r WHERE r.post_id = p.id AND r.kind = 'like'),
    (SELECT COUNT(*) FROM reactions r WHERE r.post_id = p.id AND r.kind = 'announce')
FROM posts p;

CREATE TRIGGER post_counts_new AFTER INSERT ON posts
BEGIN
    INSERT OR IGNORE INTO post_counts (post_id) VALUES (NEW.id);
END;

CREATE TRIGGER post_counts_comment_added AFTER INSERT ON comments
WHEN NEW.status = 'shown' AND NEW.visibility IN ('public', 'unlisted')
BEGIN
    UPDATE post_counts SET comments = comments + 1 WHERE post_id = NEW.post_id;
END;

CREATE TRIGGER post_counts_comment_removed AFTER DELETE ON comments
WHEN OLD.status = 'shown' AND OLD.visibility IN ('public', 'unlisted')
BEGIN
    UPDATE post_counts SET comments = comments - 1 WHERE post_id = OLD.post_id;
END;

CREATE TRIGGER post_counts_comment_changed AFTER UPDATE OF status, visibility, post_id ON comments
BEGIN
    UPDATE post_counts SET comments = comments - 1
    WHERE post_id = OLD.post_id AND OLD.status = 'shown' AND OLD.visibility IN ('public', 'unlisted');
    UPDATE post_counts SET comments = comments + 1
    WHERE post_id = NEW.post_id AND NEW.status = 'shown' AND NEW.visibility IN ('public', 'unlisted');
END;

CREATE TRIGGER post_counts_reaction_added AFTER INSERT ON reactions
BEGIN
    UPDATE post_counts SET likes = likes + (NEW.kind = 'like'), shares = shares + (NEW.kind = 'announce')
    WHERE post_id = NEW.post_id;
END;

CREATE TRIGGER post_counts_reaction_removed AFTER DELETE ON reactions
BEGIN
    UPDATE post_counts SET likes = likes - (OLD.kind = 'like'), shares = shares - (OLD.kind = 'announce')
    WHERE post_id = OLD.post_id;
END;

CREATE TRIGGER post_counts_reaction_changed AFTER UPDATE OF kind, post_id ON reactions
BEGIN
    UPDATE post_counts SET likes = likes - (OLD.kind = 'like'), shares = shares - (OLD.kind = 'announce')
    WHERE post_id = OLD.post_id;
    UPDATE post_counts SET likes = likes + (NEW.kind = 'like'), shares = shares + (NEW.kind = 'announce')
    WHERE post_id = NEW.post_id;
END;

-- Replies stored from the inbox, per key ("actor:" or "host:" and the id) and minute since the epoch. The flood
-- check sums the last 60 minutes of two keys: at most 122 rows, whatever the history.
CREATE TABLE flood_counts (
    counted TEXT NOT NULL,
    minute INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (counted, minute)
);
INSERT INTO flood_counts (counted, minute, n)
SELECT 'actor:' || author_id, received_at / 60, COUNT(*) FROM comments
WHERE received_at > CAST(strftime('%s', 'now') AS INTEGER) - 3660 GROUP BY author_id, received_at / 60;
INSERT INTO flood_counts (counted, minute, n)
SELECT 'host:' || author_host, received_at / 60, COUNT(*) FROM comments
WHERE received_at > CAST(strftime('%s', 'now') AS INTEGER) - 3660 GROUP BY author_host, received_at / 60;

-- "Has this author a shown comment?" (hold first-time commenters) in one index seek.
DROP INDEX comments_author;
CREATE INDEX comments_author ON comments (author_id, status, visibility);

-- A page of a post's threads, and their count, read from the index alone (the post page pages its comments).
DROP INDEX comments_post;
CREATE INDEX comments_post ON comments (post_id, status, published_at, visibility, parent_id);
