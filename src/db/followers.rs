//! SQL for the accounts that follow the blog.

use sqlx::FromRow;

use super::Db;

/// A follower as stored.
#[derive(Debug, Clone, FromRow)]
pub struct Follower {
    pub actor_id: String,
    pub follow_id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub handle: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub followed_at: i64,
}

/// Every column of a follower, for `query_as`.
const SELECT: &str = "SELECT actor_id, follow_id, inbox, shared_inbox, handle, name, avatar_url, followed_at FROM followers";

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM followers")
        .fetch_one(&db.pool)
        .await
}

/// A page of followers, newest first, whose handle or name contains `search` (any case), and how many match.
pub async fn list(
    db: &Db,
    search: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Follower>, i64), sqlx::Error> {
    let search = search.trim();
    let pattern = super::like_anywhere(search);
    let matching = if search.is_empty() {
        "1 = 1"
    } else {
        "(LOWER(handle) LIKE $1 ESCAPE '\\' OR LOWER(name) LIKE $1 ESCAPE '\\')"
    };
    let count_sql = format!("SELECT COUNT(*) FROM followers WHERE {matching}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    if !search.is_empty() {
        count = count.bind(&pattern);
    }
    let total = count.fetch_one(&db.pool).await?;
    let (l, o) = if search.is_empty() { (1, 2) } else { (2, 3) };
    let sql = format!(
        "{SELECT} WHERE {matching} ORDER BY followed_at DESC, actor_id LIMIT ${l} OFFSET ${o}"
    );
    let mut query = sqlx::query_as::<_, Follower>(&sql);
    if !search.is_empty() {
        query = query.bind(&pattern);
    }
    let rows = query.bind(limit).bind(offset).fetch_all(&db.pool).await?;
    Ok((rows, total))
}

/// Every follower, oldest first (the CSV export).
pub async fn all(db: &Db) -> Result<Vec<Follower>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} ORDER BY followed_at, actor_id"))
        .fetch_all(&db.pool)
        .await
}

/// One follower.
pub async fn find(db: &Db, actor_id: &str) -> Result<Option<Follower>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE actor_id = $1"))
        .bind(actor_id)
        .fetch_optional(&db.pool)
        .await
}

/// Removes a follower inside the caller's transaction and returns it; `None` when it was not one.
pub async fn remove_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor_id: &str,
) -> Result<Option<Follower>, sqlx::Error> {
    let found: Option<Follower> = sqlx::query_as(&format!("{SELECT} WHERE actor_id = $1"))
        .bind(actor_id)
        .fetch_optional(&mut **tx)
        .await?;
    if found.is_some() {
        sqlx::query("DELETE FROM followers WHERE actor_id = $1")
            .bind(actor_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(found)
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

/// Whether `actor_id` follows the blog, inside the caller's transaction.
pub async fn is_follower(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor_id: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM followers WHERE actor_id = $1")
        .bind(actor_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

/// Stores a follower (again, after a repeated Follow: the details are refreshed), inside the caller's transaction.
pub async fn upsert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    f: &Follower,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO followers (actor_id, follow_id, inbox, shared_inbox, handle, name, avatar_url, followed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (actor_id) DO UPDATE SET follow_id = excluded.follow_id, inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, \
         handle = excluded.handle, name = excluded.name, avatar_url = excluded.avatar_url",
    )
    .bind(&f.actor_id)
    .bind(&f.follow_id)
    .bind(&f.inbox)
    .bind(&f.shared_inbox)
    .bind(&f.handle)
    .bind(&f.name)
    .bind(&f.avatar_url)
    .bind(f.followed_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Removes the follower whose Follow had `follow_id`; `Ok(false)` when there is none.
pub async fn delete_by_follow(
    db: &Db,
    actor_id: &str,
    follow_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM followers WHERE actor_id = $1 AND follow_id = $2")
        .bind(actor_id)
        .bind(follow_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes a follower; `Ok(false)` when it was not one.
pub async fn delete(db: &Db, actor_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM followers WHERE actor_id = $1")
        .bind(actor_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
