//! SQL for the owner's notifications: added where events happen, listed and marked read on the admin page, and
//! claimed, sent and marked by the e-mail digest (one process at a time, with a lease).

use sqlx::{AnyConnection, FromRow};

use super::{Db, now};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Comment,
    Waiting,
    Mention,
    Follower,
    DeliveryFailed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Comment => "comment",
            Self::Waiting => "waiting",
            Self::Mention => "mention",
            Self::Follower => "follower",
            Self::DeliveryFailed => "delivery_failed",
        }
    }

    /// How the page and the digest title it.
    pub fn label(kind: &str) -> &'static str {
        match kind {
            "comment" => "New comment",
            "waiting" => "Comment waiting for approval",
            "mention" => "Mention",
            "follower" => "New follower",
            "delivery_failed" => "Delivery failed",
            _ => "Notice",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub summary: String,
    pub url: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// Adds a notification on `conn` (inside the caller's transaction, when it has one). `summary` is cut to 300
/// characters: remote names are the sender's choice.
pub async fn add_in(
    conn: &mut AnyConnection,
    kind: Kind,
    summary: &str,
    url: &str,
) -> Result<(), sqlx::Error> {
    let summary: String = summary.chars().take(300).collect();
    sqlx::query(
        "INSERT INTO notifications (kind, summary, url, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(kind.as_str())
    .bind(summary)
    .bind(url)
    .bind(now())
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Adds a notification on its own.
pub async fn add(db: &Db, kind: Kind, summary: &str, url: &str) -> Result<(), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    add_in(&mut conn, kind, summary, url).await
}

pub async fn count_unread(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE read_at IS NULL")
        .fetch_one(&db.pool)
        .await
}

/// A page of notifications, newest first, and how many there are.
pub async fn list(
    db: &Db,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Notification>, i64), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT id, kind, summary, url, created_at, read_at FROM notifications \
         ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
        .fetch_one(&db.pool)
        .await?;
    Ok((rows, total))
}

/// Marks every notification up to `up_to` (the newest the owner saw) as read.
pub async fn mark_read(db: &Db, up_to: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notifications SET read_at = $1 WHERE read_at IS NULL AND id <= $2")
        .bind(now())
        .bind(up_to)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Notifications older than a year and read are removed.
pub async fn sweep(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM notifications WHERE read_at IS NOT NULL AND created_at < $1")
        .bind(now().saturating_sub(365 * 24 * 3600))
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Claims, for `claim` (a random token), every notification not e-mailed yet and not claimed by a live sender, when
/// the oldest of them has waited `wait` seconds (so that a burst goes in one digest); returns them, oldest first.
pub async fn claim_for_email(
    db: &Db,
    claim: &str,
    wait: i64,
    lease: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    let now = now();
    let mut tx = db.begin_write().await?;
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM notifications WHERE emailed_at IS NULL \
         AND (email_claim IS NULL OR email_claimed_at < $1)",
    )
    .bind(now.saturating_sub(lease))
    .fetch_one(&mut *tx)
    .await?;
    if oldest.is_none_or(|t| t > now.saturating_sub(wait)) {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    sqlx::query(
        "UPDATE notifications SET email_claim = $1, email_claimed_at = $2 WHERE emailed_at IS NULL \
         AND (email_claim IS NULL OR email_claimed_at < $3)",
    )
    .bind(claim)
    .bind(now)
    .bind(now.saturating_sub(lease))
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query_as(
        "SELECT id, kind, summary, url, created_at, read_at FROM notifications WHERE email_claim = $1 \
         AND emailed_at IS NULL ORDER BY created_at, id",
    )
    .bind(claim)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The digest of `claim` went out.
pub async fn emailed(db: &Db, claim: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications SET emailed_at = $1 WHERE email_claim = $2 AND emailed_at IS NULL",
    )
    .bind(now())
    .bind(claim)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// The digest of `claim` could not be sent: its notifications wait for the next try.
pub async fn release(db: &Db, claim: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications SET email_claim = NULL, email_claimed_at = NULL \
         WHERE email_claim = $1 AND emailed_at IS NULL",
    )
    .bind(claim)
    .execute(&db.pool)
    .await
    .map(|_| ())
}
