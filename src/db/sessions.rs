//! SQL for login sessions and for the login-failure counts that throttle guessing.

use super::{Db, now, users::User};

/// Stores a session; only the token's hash is kept, so a copy of the database does not log anyone in.
pub async fn create(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    let now = now();
    // Expired sessions are swept whenever someone logs in.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The user of an unexpired session.
pub async fn find_user(db: &Db, token_hash: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.username, u.display_name, u.password_hash FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now())
    .fetch_optional(&db.pool)
    .await
}

pub async fn delete(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Records one failed login under each key (`user:NAME`, `ip:ADDR`).
pub async fn record_failure(db: &Db, keys: &[String]) -> Result<(), sqlx::Error> {
    let now = now();
    for key in keys {
        sqlx::query("INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// Failures under `key` since `since`, and the oldest of them (from which the wait is computed).
pub async fn failures_since(
    db: &Db,
    key: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), MIN(failed_at) FROM login_failures WHERE throttle_key = $1 AND failed_at >= $2")
        .bind(key)
        .bind(since)
        .fetch_one(&db.pool)
        .await
}

/// Forgets failures under `key` (after a successful login) and every failure older than `before`.
pub async fn clear_failures(db: &Db, key: &str, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1 OR failed_at < $2")
        .bind(key)
        .bind(before)
        .execute(&db.pool)
        .await
        .map(|_| ())
}
