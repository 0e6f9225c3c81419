//! SQL for the accounts that follow the blog.

use sqlx::FromRow;

use super::Db;

/// A follower as stored.
#[derive(Debug, Clone, FromRow)]
pub struct Follower {
    pub actor_id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub handle: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub followed_at: i64,
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM followers")
        .fetch_one(&db.pool)
        .await
}

/// Followers' actor ids, newest first, a page at a time.
pub async fn list_ids(db: &Db, limit: i64, offset: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT actor_id FROM followers ORDER BY followed_at DESC, actor_id LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await
}
