//! SQL for posts, their tags and their old slugs.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, FromRow, Transaction};

use super::{Db, is_unique_violation, now};
use crate::domain::{
    posts::{PostInput, PostStatus, TagName, ValidPost},
    slug::Slug,
};

/// A post as the reader's pages and the admin form need it.
#[derive(Debug, Clone, Default, FromRow)]
pub struct Post {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub body_html: String,
    pub excerpt_html: String,
    pub status: String,
    pub author_name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    /// The UUID of the post's ActivityPub Article id (see the migration that adds it).
    pub article_id: String,
    pub comment_count: i64,
    /// Likes and boosts (Announce) from other servers.
    pub like_count: i64,
    pub share_count: i64,
    /// 1 when the post takes new comments.
    pub comments_open: i64,
    /// The image shown at the top of the post, on lists and in link cards.
    pub featured_media_id: Option<String>,
    #[sqlx(skip)]
    pub tags: Vec<Tag>,
    /// 0 for a post published without telling followers (backdated), until the owner announces it.
    pub announced: i64,
    /// 1 for a draft the scheduler publishes at `published_at`.
    pub scheduled: i64,
    /// "post", or "page" for a static page at `/{slug}`.
    pub kind: String,
    /// A page's place in the site's navigation (lowest first); `None`: not listed.
    pub nav_position: Option<i64>,
    /// The featured image, when the query attached images (see `db::media::attach`).
    #[sqlx(skip)]
    pub featured: Option<crate::domain::media::Image>,
    /// The uploads the text shows, in order.
    #[sqlx(skip)]
    pub images: Vec<crate::domain::media::Image>,
}

impl Post {
    pub fn status(&self) -> PostStatus {
        match PostStatus::from_db(&self.status) {
            PostStatus::Draft if self.scheduled == 1 => PostStatus::Scheduled,
            status => status,
        }
    }

    pub fn is_page(&self) -> bool {
        self.kind == "page"
    }

    /// Where readers find it: `/posts/{slug}`, or `/{slug}` for a page.
    pub fn path(&self) -> String {
        if self.is_page() {
            format!("/{}", self.slug)
        } else {
            format!("/posts/{}", self.slug)
        }
    }

    /// The post as the editor's form shows it.
    pub fn input(&self) -> PostInput {
        PostInput {
            title: self.title.clone(),
            slug: self.slug.clone(),
            summary: self.summary.clone(),
            tags: self
                .tags
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            body: self.body_markdown.clone(),
        }
    }
}

/// A tag as stored: the owner's first spelling, and its slug.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Tag {
    pub slug: String,
    pub name: String,
}

/// Why a post could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The slug the owner typed belongs to another post.
    #[error("the slug is used by another post")]
    SlugTaken,
    /// The post to update does not exist (deleted meanwhile, or a wrong id).
    #[error("no such post")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The counts come from `post_counts`, which triggers keep (migration 0016): reading them costs one lookup however
/// many comments and reactions a post has.
const POST_COLUMNS: &str = "p.id, p.slug, p.title, p.summary, p.body_markdown, p.body_html, p.excerpt_html, \
     p.status, u.display_name AS author_name, p.created_at, p.updated_at, p.published_at, p.article_id, \
     COALESCE(pc.comments, 0) AS comment_count, COALESCE(pc.likes, 0) AS like_count, \
     COALESCE(pc.shares, 0) AS share_count, \
     p.comments_open, p.featured_media_id, p.announced, p.scheduled, p.kind, p.nav_position";

/// What [`POST_COLUMNS`] and [`LIST_COLUMNS`] read besides `posts p`: the author, and the counters (one join).
pub(crate) const POST_JOINS: &str =
    "JOIN users u ON u.id = p.author_id LEFT JOIN post_counts pc ON pc.post_id = p.id";

/// The columns of lists: the same, but without the bodies, which lists never show (left empty in the rows).
pub(crate) const LIST_COLUMNS: &str = "p.id, p.slug, p.title, p.summary, '' AS body_markdown, '' AS body_html, p.excerpt_html, \
     p.status, u.display_name AS author_name, p.created_at, p.updated_at, p.published_at, p.article_id, \
     COALESCE(pc.comments, 0) AS comment_count, COALESCE(pc.likes, 0) AS like_count, \
     COALESCE(pc.shares, 0) AS share_count, \
     p.comments_open, p.featured_media_id, p.announced, p.scheduled, p.kind, p.nav_position";

/// `$start, $start+1, …` for an `IN (…)` list of `n` values.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of a multi-row `VALUES` list: `rows` rows of `width` placeholders each, numbered from `start`, every row
/// led by `shared` (a value all rows bind once, such as `$1, `). `(3, 2, 2, "$1, ")` gives
/// `($1, $2, $3), ($1, $4, $5), ($1, $6, $7)`.
pub(crate) fn value_rows(rows: usize, width: usize, start: usize, shared: &str) -> String {
    (0..rows)
        .map(|r| format!("({shared}{})", placeholders(start + r * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fills in the tags of each post, in the order the owner typed them, with one query.
async fn attach_tags(conn: &mut AnyConnection, posts: &mut [Post]) -> Result<(), sqlx::Error> {
    if posts.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT pt.post_id, t.slug, t.name FROM post_tags pt JOIN tags t ON t.slug = pt.tag_slug \
         WHERE pt.post_id IN ({}) ORDER BY pt.post_id, pt.position",
        placeholders(1, posts.len())
    );
    let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
    for p in posts.iter() {
        query = query.bind(&p.id);
    }
    let mut by_post: HashMap<String, Vec<Tag>> = HashMap::new();
    for (post_id, slug, name) in query.fetch_all(&mut *conn).await? {
        by_post.entry(post_id).or_default().push(Tag { slug, name });
    }
    for p in posts.iter_mut() {
        p.tags = by_post.remove(&p.id).unwrap_or_default();
    }
    Ok(())
}

/// Fills in the tags and the images of each post (what the reader's pages show of a post besides its row).
pub(crate) async fn attach_tags_and_images(
    conn: &mut AnyConnection,
    posts: &mut [Post],
) -> Result<(), sqlx::Error> {
    attach_tags(conn, posts).await?;
    super::media::attach(conn, posts).await
}

/// A page of published posts, newest first, with the given columns.
async fn published_page(
    db: &Db,
    columns: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let sql = format!(
        "SELECT {columns} FROM posts p {POST_JOINS} \
         WHERE p.status = 'published' AND p.kind = 'post' ORDER BY p.published_at DESC, p.id DESC LIMIT $1 OFFSET $2"
    );
    let mut posts: Vec<Post> = sqlx::query_as(&sql)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    attach_tags_and_images(&mut conn, &mut posts).await?;
    Ok(posts)
}

/// Published posts, newest first, without their bodies (lists).
pub async fn list_published(db: &Db, limit: i64, offset: i64) -> Result<Vec<Post>, sqlx::Error> {
    published_page(db, LIST_COLUMNS, limit, offset).await
}

/// Published posts with their bodies, newest first (the feed, the outbox).
pub async fn list_published_full_page(
    db: &Db,
    limit: i64,
    offset: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    published_page(db, POST_COLUMNS, limit, offset).await
}

pub async fn count_published(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE status = 'published' AND kind = 'post'")
        .fetch_one(&db.pool)
        .await
}

/// Published posts whose date is in `[start, end)`, newest first (a monthly archive), without their bodies.
pub async fn list_published_between(
    db: &Db,
    start: i64,
    end: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM posts p {POST_JOINS} \
         WHERE p.status = 'published' AND p.kind = 'post' AND p.published_at >= $1 AND p.published_at < $2 \
         ORDER BY p.published_at DESC, p.id DESC LIMIT $3 OFFSET $4"
    );
    let mut posts: Vec<Post> = sqlx::query_as(&sql)
        .bind(start)
        .bind(end)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    attach_tags_and_images(&mut conn, &mut posts).await?;
    Ok(posts)
}

pub async fn count_published_between(db: &Db, start: i64, end: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM posts WHERE status = 'published' AND kind = 'post' \
         AND published_at >= $1 AND published_at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&db.pool)
    .await
}

/// The dates of every published post, newest first (the archive list groups them by month in the blog's zone).
pub async fn published_dates(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT published_at FROM posts WHERE status = 'published' AND kind = 'post' \
         AND published_at IS NOT NULL ORDER BY published_at DESC",
    )
    .fetch_all(&db.pool)
    .await
}

/// Every tag that published posts carry, with how many carry it, by name.
pub async fn tag_counts(db: &Db) -> Result<Vec<(Tag, i64)>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT t.slug, t.name, COUNT(*) FROM tags t JOIN post_tags pt ON pt.tag_slug = t.slug \
         JOIN posts p ON p.id = pt.post_id WHERE p.status = 'published' AND p.kind = 'post' \
         GROUP BY t.slug, t.name ORDER BY LOWER(t.name), t.slug",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name, n)| (Tag { slug, name }, n))
        .collect())
}

/// The published posts just before (older) and just after (newer) `post`: (slug, title) of each.
pub async fn neighbours(
    db: &Db,
    post: &Post,
) -> Result<(Option<(String, String)>, Option<(String, String)>), sqlx::Error> {
    let at = post.published_at.unwrap_or(post.created_at);
    // One round trip: the older neighbour marked 0, the newer 1.
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT * FROM (SELECT 0 AS newer, slug, title FROM posts WHERE status = 'published' AND kind = 'post' \
         AND (published_at < $1 OR (published_at = $1 AND id < $2)) ORDER BY published_at DESC, id DESC LIMIT 1) o \
         UNION ALL \
         SELECT * FROM (SELECT 1 AS newer, slug, title FROM posts WHERE status = 'published' AND kind = 'post' \
         AND (published_at > $1 OR (published_at = $1 AND id > $2)) ORDER BY published_at, id LIMIT 1) n",
    )
    .bind(at)
    .bind(&post.id)
    .fetch_all(&db.pool)
    .await?;
    let mut older = None;
    let mut newer = None;
    for (is_newer, slug, title) in rows {
        if is_newer == 1 {
            newer = Some((slug, title));
        } else {
            older = Some((slug, title));
        }
    }
    Ok((older, newer))
}

/// Every published post and page for the sitemap: (path, last change), newest change first.
pub async fn sitemap(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT slug, kind, updated_at FROM posts WHERE status = 'published' ORDER BY updated_at DESC, id",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, kind, at)| {
            let path = if kind == "page" {
                format!("/{slug}")
            } else {
                format!("/posts/{slug}")
            };
            (path, at)
        })
        .collect())
}

/// A tag by its slug (already lowercased by the caller).
pub async fn find_tag(db: &Db, slug: &str) -> Result<Option<Tag>, sqlx::Error> {
    sqlx::query_as("SELECT slug, name FROM tags WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&db.pool)
        .await
}

/// Published posts carrying a tag, newest first, without their bodies (lists).
pub async fn list_published_by_tag(
    db: &Db,
    tag_slug: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    tagged_page(db, LIST_COLUMNS, tag_slug, limit, offset).await
}

/// Published posts carrying a tag, newest first, with their bodies (the tag's feeds).
pub async fn list_published_full_by_tag(
    db: &Db,
    tag_slug: &str,
    limit: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    tagged_page(db, POST_COLUMNS, tag_slug, limit, 0).await
}

async fn tagged_page(
    db: &Db,
    columns: &str,
    tag_slug: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let sql = format!(
        "SELECT {columns} FROM posts p {POST_JOINS} \
         JOIN post_tags pt ON pt.post_id = p.id AND pt.tag_slug = $1 \
         WHERE p.status = 'published' AND p.kind = 'post' ORDER BY p.published_at DESC, p.id DESC LIMIT $2 OFFSET $3"
    );
    let mut posts: Vec<Post> = sqlx::query_as(&sql)
        .bind(tag_slug)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    attach_tags_and_images(&mut conn, &mut posts).await?;
    Ok(posts)
}

pub async fn count_published_by_tag(db: &Db, tag_slug: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM posts p JOIN post_tags pt ON pt.post_id = p.id \
         WHERE pt.tag_slug = $1 AND p.status = 'published' AND p.kind = 'post'",
    )
    .bind(tag_slug)
    .fetch_one(&db.pool)
    .await
}

async fn find_one(
    conn: &mut AnyConnection,
    condition: &str,
    value: &str,
) -> Result<Option<Post>, sqlx::Error> {
    let sql = format!("SELECT {POST_COLUMNS} FROM posts p {POST_JOINS} WHERE {condition}");
    let post: Option<Post> = sqlx::query_as(&sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    let mut posts: Vec<Post> = post.into_iter().collect();
    attach_tags_and_images(conn, &mut posts).await?;
    Ok(posts.pop())
}

/// A post by its permanent id, whatever its status (for the owner).
pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<Post>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    find_one(&mut conn, "p.id = $1", id).await
}

/// Like [`find_by_id`], inside a transaction (to see a change before it commits).
pub async fn find_by_id_in(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<Post>, sqlx::Error> {
    find_one(conn, "p.id = $1", id).await
}

/// A published post by the UUID of its Article id.
pub async fn find_published_by_article_id(
    db: &Db,
    article_id: &str,
) -> Result<Option<Post>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    find_one(
        &mut conn,
        "p.article_id = $1 AND p.status = 'published'",
        article_id,
    )
    .await
}

/// The id of the published post whose Article id has the UUID `article_id`: what the inbox needs to take a reply or
/// a like, in one primary-key-sized lookup (no counts, tags or images).
pub async fn published_id_by_article_id(
    db: &Db,
    article_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM posts WHERE article_id = $1 AND status = 'published'")
        .bind(article_id)
        .fetch_optional(&db.pool)
        .await
}

/// A post's title, by its id.
pub async fn title_of(db: &Db, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT title FROM posts WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// A published post by its current slug.
pub async fn find_published_by_slug(db: &Db, slug: &str) -> Result<Option<Post>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    find_one(
        &mut conn,
        "p.slug = $1 AND p.status = 'published' AND p.kind = 'post'",
        slug,
    )
    .await
}

/// A published page by its slug.
pub async fn find_published_page(db: &Db, slug: &str) -> Result<Option<Post>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    find_one(
        &mut conn,
        "p.slug = $1 AND p.status = 'published' AND p.kind = 'page'",
        slug,
    )
    .await
}

/// The published pages the site's navigation lists, in their order: (title, path).
pub async fn navigation(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT title, slug FROM posts WHERE kind = 'page' AND status = 'published' \
         AND nav_position IS NOT NULL ORDER BY nav_position, title",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(title, slug)| (title, format!("/{slug}")))
        .collect())
}

/// The current slug of the published post that once had `old_slug`.
pub async fn current_slug_for_old(db: &Db, old_slug: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.slug FROM post_old_slugs o JOIN posts p ON p.id = o.post_id \
         WHERE o.slug = $1 AND p.status = 'published' AND p.kind = 'post'",
    )
    .bind(old_slug)
    .fetch_optional(&db.pool)
    .await
}

/// Which posts the owner's list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    All,
    Drafts,
    Scheduled,
    Published,
    Pages,
}

impl Show {
    pub fn parse(s: &str) -> Self {
        match s {
            "drafts" => Self::Drafts,
            "scheduled" => Self::Scheduled,
            "published" => Self::Published,
            "pages" => Self::Pages,
            _ => Self::All,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Drafts => "drafts",
            Self::Scheduled => "scheduled",
            Self::Published => "published",
            Self::Pages => "pages",
        }
    }

    fn condition(self) -> &'static str {
        match self {
            Self::All => "1 = 1",
            Self::Drafts => "p.kind = 'post' AND p.status = 'draft' AND p.scheduled = 0",
            Self::Scheduled => "p.kind = 'post' AND p.scheduled = 1",
            Self::Published => "p.kind = 'post' AND p.status = 'published'",
            Self::Pages => "p.kind = 'page'",
        }
    }
}

/// How many posts each filter of the owner's list has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub all: i64,
    pub drafts: i64,
    pub scheduled: i64,
    pub published: i64,
    pub pages: i64,
}

/// A page of the owner's list: the posts `show` selects whose title or text contains `search` (any case), by
/// publication date (a draft without one by its last change), newest first; and how many there are in all.
pub async fn list_for_owner(
    db: &Db,
    show: Show,
    search: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Post>, i64), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let search = search.trim();
    let matching = if search.is_empty() {
        "1 = 1"
    } else {
        "(LOWER(p.title) LIKE $1 ESCAPE '\\' OR LOWER(p.body_markdown) LIKE $1 ESCAPE '\\')"
    };
    let pattern = super::like_anywhere(search);
    let condition = show.condition();
    let count_sql = format!("SELECT COUNT(*) FROM posts p WHERE {condition} AND {matching}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    if !search.is_empty() {
        count = count.bind(&pattern);
    }
    let total = count.fetch_one(&mut *conn).await?;
    let (l, o) = if search.is_empty() { (1, 2) } else { (2, 3) };
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM posts p {POST_JOINS} WHERE {condition} AND {matching} \
         ORDER BY COALESCE(p.published_at, p.updated_at) DESC, p.id DESC LIMIT ${l} OFFSET ${o}"
    );
    let mut query = sqlx::query_as::<_, Post>(&sql);
    if !search.is_empty() {
        query = query.bind(&pattern);
    }
    let mut posts: Vec<Post> = query.bind(limit).bind(offset).fetch_all(&mut *conn).await?;
    attach_tags(&mut conn, &mut posts).await?;
    Ok((posts, total))
}

/// How many posts each filter of the owner's list has.
pub async fn counts(db: &Db) -> Result<Counts, sqlx::Error> {
    let (all, drafts, scheduled, published, pages): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), \
         COALESCE(SUM(CASE WHEN kind = 'post' AND status = 'draft' AND scheduled = 0 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN kind = 'post' AND scheduled = 1 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN kind = 'post' AND status = 'published' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN kind = 'page' THEN 1 ELSE 0 END), 0) FROM posts",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok(Counts {
        all,
        drafts,
        scheduled,
        published,
        pages,
    })
}

/// Picks the slug to store: the typed one if free (else `SlugTaken`), or the derived one with "-2", "-3"… appended
/// until free. A post keeps its own slug.
async fn free_slug(
    tx: &mut Transaction<'_, Any>,
    post: &ValidPost,
    own_id: &str,
) -> Result<Slug, SaveError> {
    async fn taken(
        tx: &mut Transaction<'_, Any>,
        slug: &Slug,
        own_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE slug = $1 AND id <> $2")
            .bind(slug.as_str())
            .bind(own_id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(n > 0)
    }
    if let Some(chosen) = &post.chosen_slug {
        return if taken(tx, chosen, own_id).await? {
            Err(SaveError::SlugTaken)
        } else {
            Ok(chosen.clone())
        };
    }
    let mut candidate = post.derived_slug.clone();
    let mut n = 2;
    while taken(tx, &candidate, own_id).await? {
        candidate = post.derived_slug.with_suffix(n);
        n += 1;
    }
    Ok(candidate)
}

async fn save_tags(
    tx: &mut Transaction<'_, Any>,
    post_id: &str,
    tags: &[TagName],
    new: bool,
) -> Result<(), sqlx::Error> {
    if !new {
        sqlx::query("DELETE FROM post_tags WHERE post_id = $1")
            .bind(post_id)
            .execute(&mut **tx)
            .await?;
    }
    // Two statements however many tags: a post's save is a bounded number of round trips.
    for (chunk_index, chunk) in tags.chunks(100).enumerate() {
        // The first spelling of a tag is kept; "ngos" typed later joins "NGOs".
        let sql = format!(
            "INSERT INTO tags (slug, name) VALUES {} ON CONFLICT (slug) DO NOTHING",
            value_rows(chunk.len(), 2, 1, "")
        );
        let mut query = sqlx::query(&sql);
        for tag in chunk {
            query = query.bind(tag.slug.as_str()).bind(&tag.name);
        }
        query.execute(&mut **tx).await?;
        let sql = format!(
            "INSERT INTO post_tags (post_id, tag_slug, position) VALUES {}",
            value_rows(chunk.len(), 2, 2, "$1, ")
        );
        let mut query = sqlx::query(&sql).bind(post_id);
        for (i, tag) in chunk.iter().enumerate() {
            let position = chunk_index.saturating_mul(100).saturating_add(i);
            query = query
                .bind(tag.slug.as_str())
                .bind(i64::try_from(position).unwrap_or(i64::MAX));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A slug that becomes some post's current slug stops redirecting elsewhere: current slugs win over old ones.
async fn claim_slug(tx: &mut Transaction<'_, Any>, slug: &Slug) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM post_old_slugs WHERE slug = $1")
        .bind(slug.as_str())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

fn map_unique(e: sqlx::Error) -> SaveError {
    if is_unique_violation(&e) {
        SaveError::SlugTaken
    } else {
        SaveError::Db(e)
    }
}

/// A post's publication date (for a draft, the date the owner chose, if any) and whether followers were told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dates {
    pub published_at: Option<i64>,
    pub announced: bool,
    /// A static page (at `/{slug}`) rather than a post.
    pub page: bool,
    pub nav_position: Option<i64>,
}

/// Publishes a scheduled post whose time has come, inside `tx`: `true` only for the one transaction that changed
/// it (any number of processes may try the same post at once; the row is changed once).
pub async fn publish_due_in(tx: &mut Tx, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE posts SET status = 'published', scheduled = 0, \
         updated_at = CASE WHEN updated_at >= $2 THEN updated_at + 1 ELSE $2 END \
         WHERE id = $1 AND scheduled = 1 AND status = 'draft' AND published_at <= $2",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Scheduled posts whose time has come, and the time of the next one after that.
pub async fn due(db: &Db, now: i64) -> Result<(Vec<String>, Option<i64>), sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM posts WHERE scheduled = 1 AND published_at <= $1 ORDER BY published_at LIMIT 100",
    )
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(published_at) FROM posts WHERE scheduled = 1 AND published_at > $1",
    )
    .bind(now)
    .fetch_one(&db.pool)
    .await?;
    Ok((ids, next))
}

/// An open transaction on the pool's database.
pub type Tx = Transaction<'static, Any>;

/// Stores a new post inside `tx` and returns its permanent id (also its first Article id).
pub async fn create_in(
    tx: &mut Tx,
    author_id: &str,
    post: &ValidPost,
    status: PostStatus,
    dates: &Dates,
) -> Result<String, SaveError> {
    create_with(tx, author_id, post, status, dates, true).await
}

/// [`create_in`] without the search index entry, for imports, which index their posts in bulk at the end
/// ([`super::search::reindex_missing`]; one full-text segment per post would make each import's transaction many
/// times larger).
pub async fn create_unindexed_in(
    tx: &mut Tx,
    author_id: &str,
    post: &ValidPost,
    status: PostStatus,
    dates: &Dates,
) -> Result<String, SaveError> {
    create_with(tx, author_id, post, status, dates, false).await
}

async fn create_with(
    tx: &mut Tx,
    author_id: &str,
    post: &ValidPost,
    status: PostStatus,
    dates: &Dates,
    index: bool,
) -> Result<String, SaveError> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = now();
    let slug = free_slug(tx, post, &id).await?;
    sqlx::query(
        "INSERT INTO posts (id, slug, title, summary, body_markdown, body_html, excerpt_html, status, author_id, \
         created_at, updated_at, published_at, article_id, announced, scheduled, kind, nav_position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $1, $12, $13, $14, $15)",
    )
    .bind(&id)
    .bind(slug.as_str())
    .bind(&post.title)
    .bind(&post.summary)
    .bind(&post.body_markdown)
    .bind(&post.body_html)
    .bind(&post.excerpt_html)
    .bind(status.stored())
    .bind(author_id)
    .bind(now)
    .bind(dates.published_at)
    .bind(i64::from(dates.announced))
    .bind(i64::from(status == PostStatus::Scheduled))
    .bind(if dates.page { "page" } else { "post" })
    .bind(dates.nav_position)
    .execute(&mut **tx)
    .await
    .map_err(map_unique)?;
    claim_slug(tx, &slug).await?;
    save_tags(tx, &id, &post.tags, true).await?;
    if index {
        super::search::index_post_in(tx, &id, post, true).await?;
    }
    Ok(id)
}

/// Stores a new post on its own, without federating it (benchmarks; imports that must not be pushed).
pub async fn create(
    db: &Db,
    author_id: &str,
    post: &ValidPost,
    status: PostStatus,
) -> Result<String, SaveError> {
    let mut tx = db.begin_write().await?;
    let dates = Dates {
        published_at: (status == PostStatus::Published).then(now),
        announced: true,
        page: false,
        nav_position: None,
    };
    let id = create_in(&mut tx, author_id, post, status, &dates).await?;
    db.commit_content(tx).await?;
    Ok(id)
}

/// Replaces a post's rendered HTML inside `tx` (an image it shows was described anew); `updated_at` moves forward as
/// in [`update_in`].
pub async fn replace_html_in(tx: &mut Tx, id: &str, body_html: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE posts SET body_html = $2, \
         updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END WHERE id = $1",
    )
    .bind(id)
    .bind(body_html)
    .bind(now())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Replaces a post's content and status inside `tx`. A changed slug keeps the old one as a redirect. `updated_at`
/// always moves forward, even for two saves within one second (an Update must carry a strictly newer `updated`).
pub async fn update_in(
    tx: &mut Tx,
    id: &str,
    post: &ValidPost,
    status: PostStatus,
    dates: &Dates,
) -> Result<(), SaveError> {
    let now = now();
    let old_slug: Option<String> = sqlx::query_scalar("SELECT slug FROM posts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let old_slug = old_slug.ok_or(SaveError::NotFound)?;
    let slug = free_slug(tx, post, id).await?;
    sqlx::query(
        "UPDATE posts SET slug = $2, title = $3, summary = $4, body_markdown = $5, body_html = $6, \
         excerpt_html = $7, status = $8, \
         updated_at = CASE WHEN updated_at >= $9 THEN updated_at + 1 ELSE $9 END, \
         published_at = $10, announced = $11, scheduled = $12, nav_position = $13 WHERE id = $1",
    )
    .bind(id)
    .bind(slug.as_str())
    .bind(&post.title)
    .bind(&post.summary)
    .bind(&post.body_markdown)
    .bind(&post.body_html)
    .bind(&post.excerpt_html)
    .bind(status.stored())
    .bind(now)
    .bind(dates.published_at)
    .bind(i64::from(dates.announced))
    .bind(i64::from(status == PostStatus::Scheduled))
    .bind(dates.nav_position)
    .execute(&mut **tx)
    .await
    .map_err(map_unique)?;
    if old_slug != slug.as_str() {
        claim_slug(tx, &slug).await?;
        sqlx::query(
            "INSERT INTO post_old_slugs (slug, post_id) VALUES ($1, $2) \
             ON CONFLICT (slug) DO UPDATE SET post_id = excluded.post_id",
        )
        .bind(&old_slug)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    save_tags(tx, id, &post.tags, false).await?;
    super::search::index_in(tx, id).await?;
    Ok(())
}

/// Deletes a post with its tag links, old slugs and comments, inside `tx`. `Ok(false)` when no such post.
pub async fn delete_in(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    super::search::remove_in(tx, id).await?;
    for sql in [
        "DELETE FROM post_tags WHERE post_id = $1",
        "DELETE FROM post_old_slugs WHERE post_id = $1",
        "DELETE FROM old_addresses WHERE post_id = $1",
        "DELETE FROM comments WHERE post_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    let done = sqlx::query("DELETE FROM posts WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Gives a post a new Article id (its old one was tombstoned); returns it.
pub async fn renew_article_id_in(tx: &mut Tx, id: &str) -> Result<String, sqlx::Error> {
    let article_id = uuid::Uuid::now_v7().to_string();
    sqlx::query("UPDATE posts SET article_id = $2 WHERE id = $1")
        .bind(id)
        .bind(&article_id)
        .execute(&mut **tx)
        .await?;
    Ok(article_id)
}

/// Records that an Article id is gone for good (its post deleted or unpublished).
pub async fn tombstone_in(tx: &mut Tx, article_id: &str, slug: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO article_tombstones (article_id, slug, deleted_at) VALUES ($1, $2, $3) \
         ON CONFLICT (article_id) DO NOTHING",
    )
    .bind(article_id)
    .bind(slug)
    .bind(now())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// When an Article id was tombstoned, if it was.
pub async fn tombstoned_at(
    conn: &mut AnyConnection,
    article_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT deleted_at FROM article_tombstones WHERE article_id = $1")
        .bind(article_id)
        .fetch_optional(&mut *conn)
        .await
}

/// Whether a permalink slug belonged to a post that is gone (and no post has it now).
pub async fn slug_is_gone(db: &Db, slug: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM article_tombstones t WHERE t.slug = $1 \
         AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.slug = $1)",
    )
    .bind(slug)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_placeholders() {
        assert_eq!(
            value_rows(3, 2, 2, "$1, "),
            "($1, $2, $3), ($1, $4, $5), ($1, $6, $7)"
        );
        assert_eq!(value_rows(2, 3, 1, ""), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(0, 3, 1, ""), "");
    }
}
