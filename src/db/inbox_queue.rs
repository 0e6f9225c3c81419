//! SQL for the durable inbox: checked activities appended in group commits (one transaction records a batch's
//! signatures and activity ids as seen and stores the new activities), claimed by workers with a lease — only the
//! oldest waiting row of each object, so that rows about one object are applied in order even across processes —,
//! then removed, retried later or given up; and what the admin Deliveries page and `/metrics` read.

use std::{collections::HashSet, fmt::Write};

use sqlx::FromRow;

use super::{Backend, Db, Params, now};

/// An activity to store, checked and ready to apply.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// What orders it (see the migration `0017_inbox_queue.sql`).
    pub object_key: String,
    pub signer: String,
    pub kind: String,
    pub body: String,
}

/// One request's activity with what marks it as seen: its signature (a replay of the same request has no effect)
/// and, when its id may be trusted, the activity id (the same activity sent again has no effect).
#[derive(Debug, Clone)]
pub struct Arrival {
    pub entry: NewEntry,
    pub signature_key: String,
    pub signature_until: i64,
    pub id_key: Option<String>,
    pub id_until: i64,
}

/// What became of an arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    Queued,
    /// The same signed request came before.
    Replayed,
    /// The same activity came before (in another request).
    AlreadyTaken,
}

/// Keys per `inbox_seen` statement and rows per `inbox_queue` statement (well under SQLite's parameter limit).
const CHUNK: usize = 200;

/// Stores `arrivals` in one transaction: records their signatures and ids as seen, and queues each one whose
/// signature and id are both new. Returns what became of each, in order.
pub async fn append(db: &Db, arrivals: &[Arrival]) -> Result<Vec<Admitted>, sqlx::Error> {
    let now = now();
    // Each key once: a key repeated within the batch is fresh only for its first arrival.
    let mut keys: Vec<(&str, i64)> = Vec::with_capacity(arrivals.len() * 2);
    let mut listed = HashSet::with_capacity(arrivals.len() * 2);
    for a in arrivals {
        if listed.insert(a.signature_key.as_str()) {
            keys.push((&a.signature_key, a.signature_until));
        }
        if let Some(id) = &a.id_key
            && listed.insert(id.as_str())
        {
            keys.push((id, a.id_until));
        }
    }
    let mut tx = db.pool.begin().await?;
    let mut fresh: HashSet<String> = HashSet::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let mut p = Params::new(db);
        let mut sql = String::from("INSERT INTO inbox_seen (seen_key, expires_at) VALUES ");
        for i in 0..chunk.len() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}({})", p.list(2));
        }
        // A row past its time no longer counts: it is replaced.
        let _ = write!(
            sql,
            " ON CONFLICT (seen_key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE inbox_seen.expires_at < {} RETURNING seen_key",
            p.next()
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for (key, until) in chunk {
            q = q.bind(*key).bind(*until);
        }
        fresh.extend(q.bind(now).fetch_all(&mut *tx).await?);
    }
    let mut admitted = Vec::with_capacity(arrivals.len());
    let mut queued = Vec::with_capacity(arrivals.len());
    for a in arrivals {
        let outcome = if !fresh.remove(&a.signature_key) {
            Admitted::Replayed
        } else if a.id_key.as_ref().is_some_and(|id| !fresh.remove(id)) {
            Admitted::AlreadyTaken
        } else {
            queued.push(&a.entry);
            Admitted::Queued
        };
        admitted.push(outcome);
    }
    for chunk in queued.chunks(CHUNK) {
        let mut p = Params::new(db);
        let mut sql = String::from(
            "INSERT INTO inbox_queue (object_key, signer, kind, body, received_at, next_attempt_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}({})", p.list(6));
        }
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.object_key.as_str())
                .bind(e.signer.as_str())
                .bind(e.kind.as_str())
                .bind(e.body.as_str())
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(admitted)
}

/// An activity claimed to apply.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: i64,
    pub signer: String,
    pub kind: String,
    pub body: String,
    pub received_at: i64,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// Claims up to `limit` due rows for `lease` seconds, oldest first, each the oldest row of its object still
/// waiting (a later row waits for the earlier ones, even while they wait for a retry).
pub async fn claim(db: &Db, limit: usize, lease: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let now = now();
    let lock = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE inbox_queue SET locked_until = $1 WHERE id IN (\
         SELECT q.id FROM inbox_queue q WHERE q.failed_at IS NULL AND q.next_attempt_at <= $2 \
         AND q.locked_until <= $3 AND NOT EXISTS (SELECT 1 FROM inbox_queue e \
         WHERE e.object_key = q.object_key AND e.id < q.id AND e.failed_at IS NULL) \
         ORDER BY q.id LIMIT $4 {lock}) \
         RETURNING id, signer, kind, body, received_at, attempts"
    );
    let mut rows: Vec<Claimed> = sqlx::query_as(&sql)
        .bind(now.saturating_add(lease))
        .bind(now)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&db.pool)
        .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Removes an applied (or refused) row.
pub async fn remove(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM inbox_queue WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records a failed attempt: the row is tried again at `next_attempt_at`, or, with `None`, given up.
pub async fn failed(
    db: &Db,
    id: i64,
    error: &str,
    next_attempt_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    let now = now();
    sqlx::query(
        "UPDATE inbox_queue SET attempts = attempts + 1, locked_until = 0, last_error = $2, \
         next_attempt_at = $3, failed_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(next_attempt_at.unwrap_or(now))
    .bind(next_attempt_at.is_none().then_some(now))
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Lets rows claimed but not started go (a stopping worker), for the next worker to take at once.
pub async fn release(db: &Db, ids: &[i64]) -> Result<(), sqlx::Error> {
    for id in ids {
        sqlx::query("UPDATE inbox_queue SET locked_until = 0 WHERE id = $1")
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// The queue at a glance.
#[derive(Debug, Clone, Default, FromRow)]
pub struct Stats {
    /// Rows waiting to be applied (due, held by a worker, or waiting for a retry).
    pub waiting: i64,
    /// Of those, rows that failed at least once and wait for a retry.
    pub retrying: i64,
    /// When the oldest waiting row arrived.
    pub oldest: Option<i64>,
    /// Rows given up.
    pub failed: i64,
}

pub async fn stats(db: &Db) -> Result<Stats, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN failed_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS waiting, \
         CAST(COALESCE(SUM(CASE WHEN failed_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         AS retrying, \
         MIN(CASE WHEN failed_at IS NULL THEN received_at END) AS oldest, \
         CAST(COALESCE(SUM(CASE WHEN failed_at IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) AS failed \
         FROM inbox_queue",
    )
    .fetch_one(&db.pool)
    .await
}

/// How many rows wait to be applied now: due or held by a worker (rows waiting for a later retry do not count).
/// Zero once the queue has drained.
pub async fn busy(db: &Db) -> Result<i64, sqlx::Error> {
    let now = now();
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbox_queue WHERE failed_at IS NULL AND (next_attempt_at <= $1 OR locked_until > $2)",
    )
    .bind(now)
    .bind(now)
    .fetch_one(&db.pool)
    .await
}

/// A row given up, for the owner.
#[derive(Debug, Clone, FromRow)]
pub struct Failed {
    pub id: i64,
    pub signer: String,
    pub kind: String,
    pub received_at: i64,
    pub failed_at: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// The latest rows given up, newest first.
pub async fn list_failed(db: &Db, limit: i64) -> Result<Vec<Failed>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, signer, kind, received_at, failed_at, attempts, last_error FROM inbox_queue \
         WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Puts a row given up back in the queue, due now; false if there is no such row.
pub async fn retry_failed(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE inbox_queue SET failed_at = NULL, attempts = 0, next_attempt_at = $2, locked_until = 0 \
         WHERE id = $1 AND failed_at IS NOT NULL",
    )
    .bind(id)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes rows given up before `before`, and expired replay records.
pub async fn sweep(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let removed =
        sqlx::query("DELETE FROM inbox_queue WHERE failed_at IS NOT NULL AND failed_at < $1")
            .bind(before)
            .execute(&db.pool)
            .await?
            .rows_affected();
    sqlx::query("DELETE FROM inbox_seen WHERE expires_at < $1")
        .bind(now())
        .execute(&db.pool)
        .await?;
    Ok(removed)
}
