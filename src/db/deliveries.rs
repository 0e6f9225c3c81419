//! SQL for outgoing deliveries: one row per activity and target inbox, written with the change that causes it.

use sqlx::{Any, FromRow, Transaction};

use super::{Backend, Db, now};

#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    pub id: i64,
    pub activity_id: String,
    pub inbox: String,
    pub body: String,
    pub attempts: i64,
}

/// Queues `body` (activity `activity_id`) for each inbox, inside the caller's transaction.
pub async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    activity_id: &str,
    body: &str,
    inboxes: &[String],
) -> Result<(), sqlx::Error> {
    let now = now();
    for inbox in inboxes {
        sqlx::query(
            "INSERT INTO deliveries (activity_id, inbox, body, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
        )
        .bind(activity_id)
        .bind(inbox)
        .bind(body)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// How long a claimed row stays with the worker that claimed it (longer than any send can take).
pub const LEASE_SECONDS: i64 = 120;

/// Claims up to `limit` deliveries that are due and not held by another worker, oldest first, for
/// [`LEASE_SECONDS`]. One statement, so two workers (threads or processes) never claim the same row: on PostgreSQL
/// with `FOR UPDATE SKIP LOCKED`; on SQLite, where one writer runs at a time, with a plain subquery.
pub async fn claim(db: &Db, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    let lock = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE deliveries SET locked_until = $1 + {LEASE_SECONDS} WHERE id IN (\
         SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1 \
         ORDER BY next_attempt_at, id LIMIT $2 {lock}) \
         RETURNING id, activity_id, inbox, body, attempts"
    );
    sqlx::query_as(&sql)
        .bind(now())
        .bind(limit)
        .fetch_all(&db.pool)
        .await
}

pub async fn mark_done(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE deliveries SET status = 'done', attempts = attempts + 1, last_error = NULL, locked_until = 0 \
         WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

pub async fn mark_failed(db: &Db, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = $2, locked_until = 0 \
         WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

pub async fn retry_later(db: &Db, id: i64, at: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, locked_until = 0 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .bind(error)
    .execute(&db.pool)
    .await
    .map(|_| ())
}
