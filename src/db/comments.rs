//! SQL for comments shown under posts (filled by federation; read here for the post page and the counts).

use sqlx::FromRow;

use super::Db;

/// A comment as shown on the post page.
#[derive(Debug, Clone, FromRow)]
pub struct CommentRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub author_name: String,
    pub author_url: String,
    pub content_html: String,
    pub published_at: i64,
}

/// The comments of a post that readers may see, oldest first.
pub async fn list_shown(db: &Db, post_id: &str) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, parent_id, author_name, author_url, content_html, published_at FROM comments \
         WHERE post_id = $1 AND status = 'shown' ORDER BY published_at, id",
    )
    .bind(post_id)
    .fetch_all(&db.pool)
    .await
}

/// A comment to store (from federation; validated and sanitised by the caller).
#[derive(Debug, Clone)]
pub struct NewComment {
    pub id: String,
    pub post_id: String,
    pub parent_id: Option<String>,
    pub author_name: String,
    pub author_url: String,
    pub content_html: String,
    /// "shown", "held" or "rejected".
    pub status: String,
    pub published_at: i64,
}

/// Stores a comment; cached pages that show counts or threads become stale.
pub async fn insert(db: &Db, c: &NewComment) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO comments (id, post_id, parent_id, author_name, author_url, content_html, status, published_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.id)
    .bind(&c.post_id)
    .bind(&c.parent_id)
    .bind(&c.author_name)
    .bind(&c.author_url)
    .bind(&c.content_html)
    .bind(&c.status)
    .bind(c.published_at)
    .execute(&mut *tx)
    .await?;
    db.commit_content(tx).await
}

/// Comments readers can see, on every post (NodeInfo's `localComments`).
pub async fn count_shown(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE status = 'shown'")
        .fetch_one(&db.pool)
        .await
}
