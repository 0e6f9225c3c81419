-- Static pages (About, Contact): rows of `posts` with kind = 'page', served at /{slug}, never in the home list, the
-- feeds or the outbox; listed in the site's navigation by nav_position (NULL: not listed), lowest first.
ALTER TABLE posts ADD COLUMN kind TEXT NOT NULL DEFAULT 'post';
ALTER TABLE posts ADD COLUMN nav_position BIGINT;
CREATE INDEX posts_kind ON posts (kind, status, published_at);
