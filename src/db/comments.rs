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
