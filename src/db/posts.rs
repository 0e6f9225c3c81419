//! SQL for posts, their tags and their old slugs.

use std::collections::HashMap;

use sqlx::{Any, FromRow, Transaction};

use super::{Db, is_unique_violation, now};
use crate::domain::{
    posts::{PostStatus, TagName, ValidPost},
    slug::Slug,
};

/// A post as the reader's pages and the admin form need it.
#[derive(Debug, Clone, FromRow)]
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
    pub comment_count: i64,
    #[sqlx(skip)]
    pub tags: Vec<Tag>,
}

impl Post {
    pub fn status(&self) -> PostStatus {
        PostStatus::from_db(&self.status)
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

const POST_COLUMNS: &str = "p.id, p.slug, p.title, p.summary, p.body_markdown, p.body_html, p.excerpt_html, \
     p.status, u.display_name AS author_name, p.created_at, p.updated_at, p.published_at, \
     (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id AND c.status = 'shown') AS comment_count";

/// The columns of lists: the same, but without the bodies, which lists never show (left empty in the rows).
const LIST_COLUMNS: &str = "p.id, p.slug, p.title, p.summary, '' AS body_markdown, '' AS body_html, p.excerpt_html, \
     p.status, u.display_name AS author_name, p.created_at, p.updated_at, p.published_at, \
     (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id AND c.status = 'shown') AS comment_count";

/// `$start, $start+1, …` for an `IN (…)` list of `n` values.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fills in the tags of each post, in the order the owner typed them, with one query.
async fn attach_tags(db: &Db, posts: &mut [Post]) -> Result<(), sqlx::Error> {
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
    for (post_id, slug, name) in query.fetch_all(&db.pool).await? {
        by_post.entry(post_id).or_default().push(Tag { slug, name });
    }
    for p in posts.iter_mut() {
        p.tags = by_post.remove(&p.id).unwrap_or_default();
    }
    Ok(())
}

/// Published posts, newest first.
pub async fn list_published(db: &Db, limit: i64, offset: i64) -> Result<Vec<Post>, sqlx::Error> {
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id \
         WHERE p.status = 'published' ORDER BY p.published_at DESC, p.id DESC LIMIT $1 OFFSET $2"
    );
    let mut posts: Vec<Post> = sqlx::query_as(&sql)
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    attach_tags(db, &mut posts).await?;
    Ok(posts)
}

/// Published posts with their bodies, newest first (the feed, the outbox).
pub async fn list_published_full_page(
    db: &Db,
    limit: i64,
    offset: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id \
         WHERE p.status = 'published' ORDER BY p.published_at DESC, p.id DESC LIMIT $1 OFFSET $2"
    );
    let mut posts: Vec<Post> = sqlx::query_as(&sql)
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    attach_tags(db, &mut posts).await?;
    Ok(posts)
}

pub async fn count_published(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE status = 'published'")
        .fetch_one(&db.pool)
        .await
}

/// A tag by its slug (already lowercased by the caller).
pub async fn find_tag(db: &Db, slug: &str) -> Result<Option<Tag>, sqlx::Error> {
    sqlx::query_as("SELECT slug, name FROM tags WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&db.pool)
        .await
}

/// Published posts carrying a tag, newest first.
pub async fn list_published_by_tag(
    db: &Db,
    tag_slug: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Post>, sqlx::Error> {
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id \
         JOIN post_tags pt ON pt.post_id = p.id AND pt.tag_slug = $1 \
         WHERE p.status = 'published' ORDER BY p.published_at DESC, p.id DESC LIMIT $2 OFFSET $3"
    );
    let mut posts: Vec<Post> = sqlx::query_as(&sql)
        .bind(tag_slug)
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    attach_tags(db, &mut posts).await?;
    Ok(posts)
}

pub async fn count_published_by_tag(db: &Db, tag_slug: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM posts p JOIN post_tags pt ON pt.post_id = p.id \
         WHERE pt.tag_slug = $1 AND p.status = 'published'",
    )
    .bind(tag_slug)
    .fetch_one(&db.pool)
    .await
}

async fn find_one(db: &Db, condition: &str, value: &str) -> Result<Option<Post>, sqlx::Error> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id WHERE {condition}"
    );
    let post: Option<Post> = sqlx::query_as(&sql)
        .bind(value)
        .fetch_optional(&db.pool)
        .await?;
    let mut posts: Vec<Post> = post.into_iter().collect();
    attach_tags(db, &mut posts).await?;
    Ok(posts.pop())
}

/// A post by its permanent id, whatever its status (for the owner).
pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<Post>, sqlx::Error> {
    find_one(db, "p.id = $1", id).await
}

/// A published post by its current slug.
pub async fn find_published_by_slug(db: &Db, slug: &str) -> Result<Option<Post>, sqlx::Error> {
    find_one(db, "p.slug = $1 AND p.status = 'published'", slug).await
}

/// The current slug of the published post that once had `old_slug`.
pub async fn current_slug_for_old(db: &Db, old_slug: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.slug FROM post_old_slugs o JOIN posts p ON p.id = o.post_id \
         WHERE o.slug = $1 AND p.status = 'published'",
    )
    .bind(old_slug)
    .fetch_optional(&db.pool)
    .await
}

/// Every post, drafts included, most recently changed first (the owner's list).
pub async fn list_all(db: &Db) -> Result<Vec<Post>, sqlx::Error> {
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id ORDER BY p.updated_at DESC, p.id DESC"
    );
    let mut posts: Vec<Post> = sqlx::query_as(&sql).fetch_all(&db.pool).await?;
    attach_tags(db, &mut posts).await?;
    Ok(posts)
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
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM post_tags WHERE post_id = $1")
        .bind(post_id)
        .execute(&mut **tx)
        .await?;
    for (position, tag) in tags.iter().enumerate() {
        // The first spelling of a tag is kept; "ngos" typed later joins "NGOs".
        sqlx::query("INSERT INTO tags (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING")
            .bind(tag.slug.as_str())
            .bind(&tag.name)
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO post_tags (post_id, tag_slug, position) VALUES ($1, $2, $3)")
            .bind(post_id)
            .bind(tag.slug.as_str())
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut **tx)
            .await?;
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

/// Stores a new post and returns its permanent id.
pub async fn create(
    db: &Db,
    author_id: &str,
    post: &ValidPost,
    status: PostStatus,
) -> Result<String, SaveError> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = now();
    let mut tx = db.pool.begin().await?;
    let slug = free_slug(&mut tx, post, &id).await?;
    sqlx::query(
        "INSERT INTO posts (id, slug, title, summary, body_markdown, body_html, excerpt_html, status, author_id, \
         created_at, updated_at, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(&id)
    .bind(slug.as_str())
    .bind(&post.title)
    .bind(&post.summary)
    .bind(&post.body_markdown)
    .bind(&post.body_html)
    .bind(&post.excerpt_html)
    .bind(status.as_str())
    .bind(author_id)
    .bind(now)
    .bind((status == PostStatus::Published).then_some(now))
    .execute(&mut *tx)
    .await
    .map_err(map_unique)?;
    claim_slug(&mut tx, &slug).await?;
    save_tags(&mut tx, &id, &post.tags).await?;
    db.commit_content(tx).await?;
    Ok(id)
}

/// Replaces a post's content and status. A changed slug keeps the old one as a redirect.
pub async fn update(
    db: &Db,
    id: &str,
    post: &ValidPost,
    status: PostStatus,
) -> Result<(), SaveError> {
    let now = now();
    let mut tx = db.pool.begin().await?;
    let old_slug: Option<String> = sqlx::query_scalar("SELECT slug FROM posts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let old_slug = old_slug.ok_or(SaveError::NotFound)?;
    let slug = free_slug(&mut tx, post, id).await?;
    sqlx::query(
        "UPDATE posts SET slug = $2, title = $3, summary = $4, body_markdown = $5, body_html = $6, \
         excerpt_html = $7, status = $8, updated_at = $9, \
         published_at = CASE WHEN $8 = 'published' THEN COALESCE(published_at, $9) ELSE published_at END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(slug.as_str())
    .bind(&post.title)
    .bind(&post.summary)
    .bind(&post.body_markdown)
    .bind(&post.body_html)
    .bind(&post.excerpt_html)
    .bind(status.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(map_unique)?;
    if old_slug != slug.as_str() {
        claim_slug(&mut tx, &slug).await?;
        sqlx::query(
            "INSERT INTO post_old_slugs (slug, post_id) VALUES ($1, $2) \
             ON CONFLICT (slug) DO UPDATE SET post_id = excluded.post_id",
        )
        .bind(&old_slug)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    save_tags(&mut tx, id, &post.tags).await?;
    db.commit_content(tx).await?;
    Ok(())
}

/// Deletes a post with its tags links, old slugs and comments. `Ok(false)` when no such post.
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    for sql in [
        "DELETE FROM post_tags WHERE post_id = $1",
        "DELETE FROM post_old_slugs WHERE post_id = $1",
        "DELETE FROM comments WHERE post_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    let done = sqlx::query("DELETE FROM posts WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    db.commit_content(tx).await?;
    Ok(done.rows_affected() > 0)
}
