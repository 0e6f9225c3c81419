//! SQL for the delivery queue: activities stored once (`outbox`), expanded into one row per target inbox
//! (`deliveries`), claimed by workers with a lease, settled in batches; the health of each host (`delivery_hosts`);
//! and what the admin Deliveries page and `/metrics` read.

use std::fmt::Write;

use sqlx::{Any, FromRow, Transaction};

use super::{Backend, Db, Params, now};

/// The signer of activities by the blog actor (the one local actor; its key is stored under this name).
pub const BLOG_SIGNER: &str = "blog";

/// An activity to store in the outbox.
#[derive(Debug, Clone)]
pub struct NewActivity<'a> {
    /// The activity's ActivityPub id.
    pub activity_id: &'a str,
    /// publish, edit, delete, accept, reply: what the Deliveries page says it was.
    pub kind: &'a str,
    /// A short label for the Deliveries page (a post's title, a follower's handle).
    pub label: &'a str,
    pub body: &'a str,
    /// The local actor whose key signs it.
    pub signer: &'a str,
}

async fn insert_activity(
    tx: &mut Transaction<'static, Any>,
    a: &NewActivity<'_>,
    audience: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (activity_id, kind, label, body, signer, audience, expanded, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(a.activity_id)
    .bind(a.kind)
    .bind(a.label)
    .bind(a.body)
    .bind(a.signer)
    .bind(audience)
    .bind(i64::from(audience == "direct"))
    .bind(now())
    .fetch_one(&mut **tx)
    .await
}

/// Stores an activity for every follower, inside the caller's transaction. A worker expands it into deliveries
/// (see [`claim_expansion`]), so this costs one row whatever the number of followers.
pub async fn queue_for_followers(
    tx: &mut Transaction<'static, Any>,
    a: &NewActivity<'_>,
) -> Result<i64, sqlx::Error> {
    insert_activity(tx, a, "followers").await
}

/// Like [`queue_for_followers`], and to `extra` inboxes as well (each once, even if a follower is reached there).
pub async fn queue_for_followers_and(
    tx: &mut Transaction<'static, Any>,
    a: &NewActivity<'_>,
    extra: &[String],
) -> Result<i64, sqlx::Error> {
    let id = insert_activity(tx, a, "followers").await?;
    sqlx::query("UPDATE outbox SET extra_inboxes = $2 WHERE id = $1")
        .bind(id)
        .bind(extra.join("\n"))
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Accepts and Rejects queued for the account labelled `handle` since `since`, inside the caller's transaction.
pub async fn answers_since(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    handle: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE created_at >= $1 AND label = $2 AND kind IN ('accept', 'reject')",
    )
    .bind(since)
    .bind(handle)
    .fetch_one(&mut **tx)
    .await
}

/// Stores an activity and its deliveries to `inboxes`, inside the caller's transaction.
pub async fn queue_direct(
    tx: &mut Transaction<'static, Any>,
    a: &NewActivity<'_>,
    inboxes: &[String],
    give_up_after: i64,
) -> Result<i64, sqlx::Error> {
    let id = insert_activity(tx, a, "direct").await?;
    insert_deliveries(tx, id, inboxes, give_up_after).await?;
    Ok(id)
}

/// The host (and port, if any) of an inbox URL; limits and pauses are per host.
pub fn host_of(inbox: &str) -> String {
    match url::Url::parse(inbox) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => inbox.to_string(),
        },
        Err(_) => inbox.to_string(),
    }
}

/// Rows per INSERT statement (5 parameters each, well under SQLite's limit).
const INSERT_CHUNK: usize = 500;

async fn insert_deliveries(
    tx: &mut Transaction<'static, Any>,
    outbox_id: i64,
    inboxes: &[String],
    give_up_after: i64,
) -> Result<(), sqlx::Error> {
    let now = now();
    for chunk in inboxes.chunks(INSERT_CHUNK) {
        let mut p = Params::numbered(tx.backend_name() != "SQLite");
        let mut sql = String::from(
            "INSERT INTO deliveries (outbox_id, inbox, host, status, attempts, next_attempt_at, give_up_at, \
             created_at, updated_at) VALUES ",
        );
        for (i, _) in chunk.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}({}, 'pending', 0, {})", p.list(3), p.list(4));
        }
        let mut q = sqlx::query(&sql);
        for inbox in chunk {
            q = q
                .bind(outbox_id)
                .bind(inbox.clone())
                .bind(host_of(inbox))
                .bind(now)
                .bind(now + give_up_after)
                .bind(now)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// An activity for followers whose deliveries are not all written yet.
#[derive(Debug, FromRow)]
pub struct Expansion {
    pub id: i64,
    pub expand_cursor: Option<String>,
    /// Inboxes to add once the followers are expanded (newline-separated).
    pub extra_inboxes: Option<String>,
}

fn skip_locked(db: &Db) -> &'static str {
    match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// Claims the oldest activity still to expand, for `lease` seconds.
pub async fn claim_expansion(db: &Db, lease: i64) -> Result<Option<Expansion>, sqlx::Error> {
    let sql = format!(
        "UPDATE outbox SET locked_until = $1 + $2 WHERE id IN (\
         SELECT id FROM outbox WHERE expanded = 0 AND locked_until <= $1 ORDER BY created_at, id LIMIT 1 {}) \
         RETURNING id, expand_cursor, extra_inboxes",
        skip_locked(db)
    );
    sqlx::query_as(&sql)
        .bind(now())
        .bind(lease)
        .fetch_optional(&db.pool)
        .await
}

/// Writes the next `batch` deliveries of an activity for followers (one per shared inbox, or personal inbox
/// without one, in inbox order after the cursor) and moves the cursor, in one transaction: a crash between batches
/// neither loses nor repeats a row. Returns how many rows were written; fewer than `batch` means it is done.
pub async fn expand_batch(
    db: &Db,
    job: &Expansion,
    batch: i64,
    give_up_after: i64,
) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let targets: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(shared_inbox, inbox) AS target FROM followers \
         WHERE COALESCE(shared_inbox, inbox) > $1 ORDER BY target LIMIT $2",
    )
    .bind(job.expand_cursor.as_deref().unwrap_or(""))
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    insert_deliveries(&mut tx, job.id, &targets, give_up_after).await?;
    let done = i64::try_from(targets.len()).unwrap_or(i64::MAX) < batch;
    if done {
        // The extra inboxes last, skipping those the followers' expansion already reached.
        let mut extra = Vec::new();
        for inbox in job.extra_inboxes.as_deref().unwrap_or("").lines() {
            let reached: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM followers WHERE COALESCE(shared_inbox, inbox) = $1",
            )
            .bind(inbox)
            .fetch_one(&mut *tx)
            .await?;
            if reached == 0 && !inbox.is_empty() && !extra.iter().any(|e| e == inbox) {
                extra.push(inbox.to_string());
            }
        }
        insert_deliveries(&mut tx, job.id, &extra, give_up_after).await?;
    }
    sqlx::query(
        "UPDATE outbox SET expand_cursor = $2, expanded = $3, locked_until = 0 WHERE id = $1",
    )
    .bind(job.id)
    .bind(
        targets
            .last()
            .cloned()
            .or_else(|| job.expand_cursor.clone()),
    )
    .bind(i64::from(done))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(targets.len())
}

/// A claimed delivery.
#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    pub id: i64,
    pub outbox_id: i64,
    pub inbox: String,
    pub host: String,
    pub attempts: i64,
    pub give_up_at: i64,
}

/// What a claim may take.
#[derive(Debug, Clone)]
pub struct ClaimLimits<'a> {
    pub limit: i64,
    /// Rows per host in one claim.
    pub per_host: i64,
    /// Hosts this process already has enough rows of.
    pub busy_hosts: &'a [String],
    /// A host with this many failures in a row gets one row (a probe) once its pause is over.
    pub pause_after: i64,
    pub lease: i64,
}

/// A claim looks at the oldest due rows, this many per row it may take, and spreads them round-robin across their
/// hosts: bounded work per claim however long the queue.
const CANDIDATES_PER_ROW: i64 = 8;

/// Claims due deliveries for `lease` seconds, round-robin across hosts (at most `per_host` each, one for a host
/// being probed), skipping paused and busy hosts. One statement, so two workers never claim the same row: on
/// PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED` and the conditions checked again on the locked row;
/// on SQLite, where one writer runs at a time, the statement is atomic.
pub async fn claim(db: &Db, l: &ClaimLimits<'_>) -> Result<Vec<Delivery>, sqlx::Error> {
    let now = now();
    let mut p = Params::new(db);
    let (until, at_outer, pause_after, per_host, due, unlocked, unpaused) = (
        p.next(),
        p.next(),
        p.next(),
        p.next(),
        p.next(),
        p.next(),
        p.next(),
    );
    let busy = if l.busy_hosts.is_empty() {
        String::new()
    } else {
        format!(" AND d.host NOT IN ({})", p.list(l.busy_hosts.len()))
    };
    let (candidates, limit) = (p.next(), p.next());
    let sql = format!(
        "UPDATE deliveries SET locked_until = {until} WHERE id IN (\
         SELECT id FROM deliveries WHERE status = 'pending' AND locked_until <= {at_outer} AND id IN (\
         SELECT id FROM (SELECT c.id, c.next_attempt_at, \
         ROW_NUMBER() OVER (PARTITION BY c.host ORDER BY c.next_attempt_at, c.id) AS rn, \
         CASE WHEN c.failures >= {pause_after} THEN 1 ELSE {per_host} END AS cap FROM (\
         SELECT d.id, d.host, d.next_attempt_at, h.consecutive_failures AS failures \
         FROM deliveries d LEFT JOIN delivery_hosts h ON h.host = d.host \
         WHERE d.status = 'pending' AND d.next_attempt_at <= {due} AND d.locked_until <= {unlocked} \
         AND (h.paused_until IS NULL OR h.paused_until <= {unpaused}){busy} \
         ORDER BY d.next_attempt_at, d.id LIMIT {candidates}\
         ) c) ranked WHERE rn <= cap ORDER BY rn, next_attempt_at, id LIMIT {limit}) {lock}) \
         RETURNING id, outbox_id, inbox, host, attempts, give_up_at",
        lock = skip_locked(db),
    );
    let mut q = sqlx::query_as(&sql)
        .bind(now + l.lease)
        .bind(now)
        .bind(l.pause_after)
        .bind(l.per_host)
        .bind(now)
        .bind(now)
        .bind(now);
    for host in l.busy_hosts {
        q = q.bind(host.clone());
    }
    q.bind(l.limit.saturating_mul(CANDIDATES_PER_ROW))
        .bind(l.limit)
        .fetch_all(&db.pool)
        .await
}

/// An outbox activity's body and signer, for sending.
#[derive(Debug, Clone, FromRow)]
pub struct Body {
    pub id: i64,
    pub body: String,
    pub signer: String,
}

pub async fn body(db: &Db, outbox_id: i64) -> Result<Option<Body>, sqlx::Error> {
    sqlx::query_as("SELECT id, body, signer FROM outbox WHERE id = $1")
        .bind(outbox_id)
        .fetch_optional(&db.pool)
        .await
}

/// How a delivery attempt ended.
#[derive(Debug, Clone)]
pub enum Settle {
    Done,
    /// Try again at this time.
    Retry {
        at: i64,
        error: String,
    },
    /// Never try again.
    Failed {
        error: String,
    },
    /// The inbox answered 410 Gone (its followers are removed): never try again, not even on "retry now".
    Gone,
    /// Not attempted (the host was paused meanwhile, or the worker is stopping): claimable again at once.
    Release,
}

/// The reason kept for a row whose inbox answered 410.
pub const GONE_REASON: &str = "the inbox answered 410 Gone: its followers were removed";

/// What happened to the host of a settled row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostResult {
    /// It answered (any status but 5xx, 408, 429 or 401).
    Answered,
    /// It timed out, refused, or answered with a temporary error.
    Failed,
    /// Not contacted.
    Untouched,
}

/// One settled row.
#[derive(Debug, Clone)]
pub struct Settled {
    pub id: i64,
    pub host: String,
    pub settle: Settle,
    pub host_result: HostResult,
}

/// How long a host stays paused after its `n`th failure past the threshold (`n` from 0).
pub type PauseFor = dyn Fn(i64) -> i64 + Send + Sync;

/// Writes a batch of outcomes in one transaction, and the health of their hosts: a host that answered is healthy
/// again; one that failed counts a failure, and is paused once it has `pause_after` in a row. Returns the hosts
/// that this batch paused.
pub async fn settle(
    db: &Db,
    rows: &[Settled],
    pause_after: i64,
    pause_for: &PauseFor,
) -> Result<Vec<String>, sqlx::Error> {
    let now = now();
    let mut tx = db.begin_write().await?;
    let done: Vec<i64> = rows
        .iter()
        .filter(|r| matches!(r.settle, Settle::Done))
        .map(|r| r.id)
        .collect();
    for chunk in done.chunks(INSERT_CHUNK) {
        let mut p = Params::new(db);
        let at = p.next();
        let sql = format!(
            "UPDATE deliveries SET status = 'done', attempts = attempts + 1, last_error = NULL, locked_until = 0, \
             updated_at = {at} WHERE id IN ({})",
            p.list(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(now);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    // Deliveries that failed for good tell the owner: one notification for the batch, naming the hosts.
    let mut failed_hosts: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.settle, Settle::Failed { .. }))
        .map(|r| r.host.as_str())
        .collect();
    let failed = failed_hosts.len();
    failed_hosts.sort_unstable();
    failed_hosts.dedup();
    if failed > 0 {
        let summary = format!(
            "{failed} deliver{} failed for good (to {})",
            if failed == 1 { "y" } else { "ies" },
            failed_hosts.join(", ")
        );
        super::notifications::add_in(
            &mut tx,
            super::notifications::Kind::DeliveryFailed,
            &summary,
            "/admin/deliveries",
        )
        .await?;
    }
    for r in rows {
        match &r.settle {
            Settle::Done => {}
            Settle::Retry { at, error } => {
                sqlx::query(
                    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
                     locked_until = 0, updated_at = $4 WHERE id = $1",
                )
                .bind(r.id)
                .bind(*at)
                .bind(error.clone())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            Settle::Failed { error } => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = $2, \
                     locked_until = 0, updated_at = $3 WHERE id = $1",
                )
                .bind(r.id)
                .bind(error.clone())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            Settle::Gone => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'gone', attempts = attempts + 1, last_error = $2, \
                     locked_until = 0, updated_at = $3 WHERE id = $1",
                )
                .bind(r.id)
                .bind(GONE_REASON)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            Settle::Release => {
                sqlx::query("UPDATE deliveries SET locked_until = 0 WHERE id = $1")
                    .bind(r.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    let mut answered: Vec<&str> = rows
        .iter()
        .filter(|r| r.host_result == HostResult::Answered)
        .map(|r| r.host.as_str())
        .collect();
    answered.sort_unstable();
    answered.dedup();
    for host in answered {
        sqlx::query(
            "UPDATE delivery_hosts SET consecutive_failures = 0, paused_until = 0, last_success_at = $2 \
             WHERE host = $1",
        )
        .bind(host)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let mut paused = Vec::new();
    for r in rows.iter().filter(|r| r.host_result == HostResult::Failed) {
        let error = match &r.settle {
            Settle::Retry { error, .. } | Settle::Failed { error } => error.as_str(),
            _ => "",
        };
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO delivery_hosts (host, consecutive_failures, paused_until, last_error, last_failure_at) \
             VALUES ($1, 1, 0, $2, $3) ON CONFLICT (host) DO UPDATE SET \
             consecutive_failures = delivery_hosts.consecutive_failures + 1, last_error = excluded.last_error, \
             last_failure_at = excluded.last_failure_at RETURNING consecutive_failures",
        )
        .bind(&r.host)
        .bind(error)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if failures >= pause_after {
            sqlx::query("UPDATE delivery_hosts SET paused_until = $2 WHERE host = $1")
                .bind(&r.host)
                .bind(now + pause_for(failures - pause_after))
                .execute(&mut *tx)
                .await?;
            if !paused.contains(&r.host) {
                paused.push(r.host.clone());
            }
        }
    }
    tx.commit().await?;
    Ok(paused)
}

/// Makes claimed rows claimable again at once (a stopping worker's rows it did not settle).
pub async fn release(db: &Db, ids: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut p = Params::new(db);
        let sql = format!(
            "UPDATE deliveries SET locked_until = 0 WHERE status = 'pending' AND id IN ({})",
            p.list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&db.pool).await?;
    }
    Ok(())
}

/// Removes the followers reached at `inbox` (their own inbox, or a shared inbox that answered 410 Gone).
pub async fn remove_gone_followers(db: &Db, inbox: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM followers WHERE inbox = $1 OR shared_inbox = $1")
        .bind(inbox)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes delivered rows last settled before `before`, and activities with no rows left that are fully expanded
/// and older than that.
pub async fn sweep(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let rows = sqlx::query("DELETE FROM deliveries WHERE status = 'done' AND updated_at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?;
    sqlx::query(
        "DELETE FROM outbox WHERE expanded = 1 AND created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = outbox.id)",
    )
    .bind(before)
    .execute(&db.pool)
    .await?;
    Ok(rows.rows_affected())
}

/// One activity as the Deliveries page shows it.
#[derive(Debug, Clone, FromRow)]
pub struct ActivityState {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub created_at: i64,
    pub expanded: i64,
    pub delivered: i64,
    pub waiting: i64,
    pub retrying: i64,
    pub failed: i64,
    /// The soonest retry, when some are retrying.
    pub next_attempt_at: Option<i64>,
}

/// The newest activities with their delivery counts.
pub async fn recent_activities(db: &Db, limit: i64) -> Result<Vec<ActivityState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.kind, o.label, o.created_at, o.expanded, \
         COALESCE(SUM(CASE WHEN d.status = 'done' THEN 1 ELSE 0 END), 0) AS delivered, \
         COALESCE(SUM(CASE WHEN d.status = 'pending' AND d.attempts = 0 THEN 1 ELSE 0 END), 0) AS waiting, \
         COALESCE(SUM(CASE WHEN d.status = 'pending' AND d.attempts > 0 THEN 1 ELSE 0 END), 0) AS retrying, \
         COALESCE(SUM(CASE WHEN d.status IN ('failed', 'gone') THEN 1 ELSE 0 END), 0) AS failed, \
         MIN(CASE WHEN d.status = 'pending' AND d.attempts > 0 THEN d.next_attempt_at END) AS next_attempt_at \
         FROM (SELECT * FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1) o \
         LEFT JOIN deliveries d ON d.outbox_id = o.id \
         GROUP BY o.id, o.kind, o.label, o.created_at, o.expanded ORDER BY o.created_at DESC, o.id DESC",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// A failed or retrying row, with its reason.
#[derive(Debug, Clone, FromRow)]
pub struct Problem {
    pub outbox_id: i64,
    pub inbox: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

/// Failed and retrying rows of the given activities, newest first, at most `limit`.
pub async fn problems(db: &Db, limit: i64) -> Result<Vec<Problem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT outbox_id, inbox, status, attempts, next_attempt_at, last_error FROM deliveries \
         WHERE status IN ('failed', 'gone') OR (status = 'pending' AND attempts > 0) \
         ORDER BY updated_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// A host that has failed.
#[derive(Debug, Clone, FromRow)]
pub struct HostState {
    pub host: String,
    pub consecutive_failures: i64,
    pub paused_until: i64,
    pub last_error: Option<String>,
    pub last_failure_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub pending: i64,
}

/// Hosts with failures in a row, paused ones first.
pub async fn troubled_hosts(db: &Db, limit: i64) -> Result<Vec<HostState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT h.host, h.consecutive_failures, h.paused_until, h.last_error, h.last_failure_at, \
         h.last_success_at, (SELECT COUNT(*) FROM deliveries d WHERE d.host = h.host AND d.status = 'pending') \
         AS pending FROM delivery_hosts h WHERE h.consecutive_failures > 0 \
         ORDER BY h.paused_until DESC, h.last_failure_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Sends an activity's failed rows again now, with a fresh time to give up (not those whose inbox is gone).
/// Returns how many.
pub async fn retry_failed(db: &Db, outbox_id: i64, give_up_after: i64) -> Result<u64, sqlx::Error> {
    let now = now();
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2, give_up_at = $3, \
         locked_until = 0, updated_at = $2 WHERE outbox_id = $1 AND status = 'failed'",
    )
    .bind(outbox_id)
    .bind(now)
    .bind(now + give_up_after)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Ends a host's pause and makes its waiting rows due now.
pub async fn resume_host(db: &Db, host: &str) -> Result<(), sqlx::Error> {
    let now = now();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE delivery_hosts SET consecutive_failures = 0, paused_until = 0 WHERE host = $1",
    )
    .bind(host)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $2 WHERE host = $1 AND status = 'pending' AND next_attempt_at > $2",
    )
    .bind(host)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Queue depth for `/metrics`.
#[derive(Debug, Clone, Default, FromRow)]
pub struct Depth {
    /// Pending and due now, not claimed.
    pub due: i64,
    /// Pending, waiting for a retry time.
    pub scheduled: i64,
    /// Claimed by a worker.
    pub leased: i64,
    pub failed: i64,
    pub paused_hosts: i64,
    /// Activities not yet expanded into deliveries.
    pub to_expand: i64,
}

/// Hosts paused now, with the end of their pause (at most `limit`, the longest pauses first).
pub async fn paused_hosts(db: &Db, limit: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT host, paused_until FROM delivery_hosts WHERE paused_until > $1 \
         ORDER BY paused_until DESC, host LIMIT $2",
    )
    .bind(now())
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

pub async fn depth(db: &Db) -> Result<Depth, sqlx::Error> {
    sqlx::query_as(
        "SELECT \
         COALESCE(SUM(CASE WHEN status = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1 THEN 1 ELSE 0 END), 0) AS due, \
         COALESCE(SUM(CASE WHEN status = 'pending' AND next_attempt_at > $1 AND locked_until <= $1 THEN 1 ELSE 0 END), 0) AS scheduled, \
         COALESCE(SUM(CASE WHEN status = 'pending' AND locked_until > $1 THEN 1 ELSE 0 END), 0) AS leased, \
         COALESCE(SUM(CASE WHEN status IN ('failed', 'gone') THEN 1 ELSE 0 END), 0) AS failed, \
         (SELECT COUNT(*) FROM delivery_hosts WHERE paused_until > $1) AS paused_hosts, \
         (SELECT COUNT(*) FROM outbox WHERE expanded = 0) AS to_expand \
         FROM deliveries",
    )
    .bind(now())
    .fetch_one(&db.pool)
    .await
}
