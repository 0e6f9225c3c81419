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

/// What [`reserve_attempt`] found.
pub enum Reservation {
    /// The attempt is counted as a failure under each key (these rows) until it succeeds.
    Reserved(Vec<i64>),
    /// A key is at its limit; the oldest failure in its window.
    Throttled { oldest: Option<i64> },
}

/// Counts a login attempt against each `(key, limit)` before its password is checked, in one serialised
/// transaction: when every key is below its limit, records the attempt under each (as a failure until
/// [`forget_attempt`] says otherwise), else records nothing. Concurrent attempts are serialised (SQLite's write
/// lock; a table lock on PostgreSQL), so N concurrent guesses never get more than the limit checked.
pub async fn reserve_attempt(
    db: &Db,
    keys: &[(String, i64)],
    since: i64,
) -> Result<Reservation, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if db.backend == super::Backend::Postgres {
        sqlx::query("LOCK TABLE login_failures IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
    }
    for (key, limit) in keys {
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(failed_at) FROM login_failures WHERE throttle_key = $1 AND failed_at >= $2",
        )
        .bind(key)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        if count >= *limit {
            tx.rollback().await?;
            return Ok(Reservation::Throttled { oldest });
        }
    }
    let now = now();
    let mut ids = Vec::with_capacity(keys.len());
    for (key, _) in keys {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(Reservation::Reserved(ids))
}

/// Takes back the rows [`reserve_attempt`] wrote (the attempt succeeded, or was never checked).
pub async fn forget_attempt(db: &Db, ids: &[i64]) -> Result<(), sqlx::Error> {
    for id in ids {
        sqlx::query("DELETE FROM login_failures WHERE id = $1")
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
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
