//! SQL for what the inboxes have already taken (signatures and activity ids), so that replays have no effect.

use super::{Db, now};

/// Records `key` until `expires_at`; false when it was already recorded and has not expired (a replay). About one
/// call in 256 also sweeps the rows past their time.
pub async fn first_time(db: &Db, key: &str, expires_at: i64) -> Result<bool, sqlx::Error> {
    let now = now();
    // A row past its time no longer counts: it is replaced.
    let inserted = sqlx::query(
        "INSERT INTO inbox_seen (seen_key, expires_at) VALUES ($1, $2) \
         ON CONFLICT (seen_key) DO UPDATE SET expires_at = excluded.expires_at \
         WHERE inbox_seen.expires_at < $3",
    )
    .bind(key)
    .bind(expires_at)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if rand::random::<u8>() == 0 {
        sqlx::query("DELETE FROM inbox_seen WHERE expires_at < $1")
            .bind(now)
            .execute(&db.pool)
            .await?;
    }
    Ok(inserted > 0)
}

/// Whether `key` is recorded and unexpired.
pub async fn seen(db: &Db, key: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT expires_at FROM inbox_seen WHERE seen_key = $1 AND expires_at >= $2",
    )
    .bind(key)
    .bind(now())
    .fetch_optional(&db.pool)
    .await?;
    Ok(found.is_some())
}
