//! The delivery worker: expands activities for followers into rows, claims due rows with a lease (so processes
//! sharing a database never send a row twice, and rows held by a process that died are taken up when the lease
//! passes), sends each one signed at send time with bounded concurrency in total and per host, and settles the
//! outcomes in batches. Hosts that keep failing are paused as a whole. `steppe serve` runs one in-process;
//! `steppe worker` runs one alone.

pub mod metrics;
pub mod outcome;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use bytes::Bytes;
use tokio::{
    sync::{Notify, Semaphore, mpsc, watch},
    task::JoinSet,
};

use self::metrics::{Metrics, Outcome};
use super::client::FederationClient;
use crate::{
    config::DeliveryConfig,
    db::{
        self, Db,
        deliveries::{self, ClaimLimits, Delivery, HostResult, Settle, Settled},
    },
};

/// Deliveries written per expansion step.
const EXPAND_BATCH: i64 = 1000;
/// How often an idle worker looks for rows that became due (retries, other processes' activities).
const POLL: Duration = Duration::from_secs(1);
/// How often delivered rows older than `keep_done_days` are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Most outcomes written in one transaction.
const SETTLE_BATCH: usize = 512;
/// How long the settler waits for more outcomes before writing a batch.
const SETTLE_LINGER: Duration = Duration::from_millis(5);
/// How long a stopping worker waits for its requests in flight before abandoning them (their rows are released,
/// so the next worker sends them again).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Wakes the worker when new deliveries are queued.
#[derive(Default)]
pub struct Wakeup(Notify);

impl Wakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// A running worker. [`Worker::stop`] lets it finish what it sends and release what it has not started; dropping
/// it aborts it (its leases then expire).
pub struct Worker(crate::app::Stoppable);

/// What the worker's tasks share.
struct Shared {
    db: Db,
    client: FederationClient,
    config: DeliveryConfig,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
    /// Requests in flight in this process.
    slots: Arc<Semaphore>,
    /// Per-host request limits, and how many claimed rows each host has here.
    hosts: Mutex<HashMap<String, HostSlot>>,
    /// Hosts paused since their rows were claimed: rows still waiting are released, not sent.
    paused: Mutex<HashSet<String>>,
    /// Activity bodies, serialised once and shared by every request.
    bodies: quick_cache::sync::Cache<i64, Option<(Bytes, String)>>,
    /// Clients signing as local actors other than the blog (the old WordPress actor), by signer name.
    signers: quick_cache::sync::Cache<String, Option<FederationClient>>,
    /// Signalled when rows are settled, so that a full worker claims again.
    freed: Notify,
    /// Rows claimed and not yet settled, released if the worker stops before settling them.
    claimed: Mutex<HashSet<i64>>,
    /// Hosts that have answered this process. A host not (yet) in here gets one request at a time, and
    /// `per_host` once it answers: a host that hangs ties up one request, not `per_host` of them.
    answered: quick_cache::sync::Cache<String, ()>,
}

struct HostSlot {
    limit: Arc<Semaphore>,
    /// Whether `limit` has its full `per_host` permits (it starts with one for a host not known to answer).
    widened: bool,
    held: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Worker {
    /// Starts a worker sending with `config.workers` requests at once.
    pub fn start(
        db: Db,
        client: FederationClient,
        config: DeliveryConfig,
        metrics: Arc<Metrics>,
        wakeup: Arc<Wakeup>,
    ) -> Self {
        Self(crate::app::Stoppable::spawn(|stop_rx| {
            let shared = Arc::new(Shared {
                db,
                client,
                slots: Arc::new(Semaphore::new(config.workers.max(1))),
                config,
                metrics,
                stop: stop_rx,
                hosts: Mutex::default(),
                paused: Mutex::default(),
                bodies: quick_cache::sync::Cache::new(64),
                signers: quick_cache::sync::Cache::new(8),
                freed: Notify::new(),
                claimed: Mutex::default(),
                answered: quick_cache::sync::Cache::new(100_000),
            });
            run(shared, wakeup)
        }))
    }

    /// Stops claiming, releases claimed rows not yet sent, waits for the requests in flight (at most the delivery
    /// timeout) and writes their outcomes.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

async fn run(shared: Arc<Shared>, wakeup: Arc<Wakeup>) {
    let (settled_tx, settled_rx) = mpsc::unbounded_channel();
    let settler = tokio::spawn(settle_loop(shared.clone(), settled_rx));
    let mut sends = JoinSet::new();
    let mut stop = shared.stop.clone();
    let mut last_sweep: Option<Instant> = None;
    let capacity = shared.config.workers.max(1) * 4;
    loop {
        if *stop.borrow() {
            break;
        }
        while sends.try_join_next().is_some() {}
        if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
            last_sweep = Some(Instant::now());
            sweep(&shared).await;
        }
        let mut progressed = match expand_one(&shared).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %e, "delivery worker cannot expand an activity");
                false
            }
        };
        let held: usize = lock(&shared.hosts).values().map(|h| h.held).sum();
        let room = capacity.saturating_sub(held);
        if room > 0 {
            match claim(&shared, room).await {
                Ok(rows) => {
                    progressed |= !rows.is_empty();
                    let claimed_at = Instant::now();
                    for row in rows {
                        sends.spawn(send_one(
                            shared.clone(),
                            row,
                            claimed_at,
                            settled_tx.clone(),
                        ));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "delivery worker cannot read the queue");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
        if !progressed || room == 0 {
            tokio::select! {
                () = wakeup.0.notified() => {}
                () = shared.freed.notified() => {}
                _ = stop.changed() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
    // Stopping: rows waiting for a slot see the flag and are released; requests in flight get a grace period.
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while sends.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        sends.abort_all();
        while sends.join_next().await.is_some() {}
    }
    drop(settled_tx);
    let _ = settler.await;
    let abandoned: Vec<i64> = lock(&shared.claimed).drain().collect();
    if !abandoned.is_empty() {
        tracing::info!(
            rows = abandoned.len(),
            "releasing deliveries still in flight at shutdown"
        );
        if let Err(e) = deliveries::release(&shared.db, &abandoned).await {
            tracing::warn!(error = %e, "cannot release deliveries; their lease will expire");
        }
    }
}

/// Writes one batch of an activity's deliveries, if one is waiting. Returns how many rows it wrote.
async fn expand_one(shared: &Shared) -> Result<usize, sqlx::Error> {
    let Some(job) = deliveries::claim_expansion(&shared.db, shared.config.lease_seconds).await?
    else {
        return Ok(0);
    };
    let written = deliveries::expand_batch(
        &shared.db,
        &job,
        EXPAND_BATCH,
        shared.config.give_up_after_seconds,
    )
    .await?;
    // An activity with no followers at all wrote nothing but is done: count it as progress once.
    Ok(written.max(1))
}

async fn claim(shared: &Shared, room: usize) -> Result<Vec<Delivery>, sqlx::Error> {
    let per_host = shared.config.per_host;
    // A host that has not answered yet gets one row at a time (see `answered`); others up to `per_host`.
    let busy: Vec<String> = lock(&shared.hosts)
        .iter()
        .filter(|(_, h)| h.held >= if h.widened { per_host } else { 1 })
        .map(|(host, _)| host.clone())
        .collect();
    let rows = deliveries::claim(
        &shared.db,
        &ClaimLimits {
            limit: i64::try_from(room).unwrap_or(i64::MAX),
            per_host: i64::try_from(per_host).unwrap_or(i64::MAX),
            busy_hosts: &busy,
            pause_after: shared.config.pause_host_after_failures,
            lease: shared.config.lease_seconds,
        },
    )
    .await?;
    lock(&shared.claimed).extend(rows.iter().map(|r| r.id));
    let mut hosts = lock(&shared.hosts);
    let mut paused = lock(&shared.paused);
    for row in &rows {
        // A claimed row of a paused host is its probe: the pause is over.
        paused.remove(&row.host);
        hosts
            .entry(row.host.clone())
            .or_insert_with(|| {
                let known = shared.answered.get(&row.host).is_some();
                HostSlot {
                    limit: Arc::new(Semaphore::new(if known { per_host } else { 1 })),
                    widened: known,
                    held: 0,
                }
            })
            .held += 1;
    }
    Ok(rows)
}

/// The body of an outbox activity, loaded once and shared.
async fn body(shared: &Shared, outbox_id: i64) -> Result<Option<(Bytes, String)>, sqlx::Error> {
    if let Some(found) = shared.bodies.get(&outbox_id) {
        return Ok(found);
    }
    let loaded = deliveries::body(&shared.db, outbox_id)
        .await?
        .map(|b| (Bytes::from(b.body), b.signer));
    shared.bodies.insert(outbox_id, loaded.clone());
    Ok(loaded)
}

/// The client that signs as `signer`: the blog's own, or one with another local actor's stored key (`None` when
/// that key is gone).
async fn client_for(
    shared: &Shared,
    signer: &str,
) -> Result<Option<FederationClient>, sqlx::Error> {
    if signer == deliveries::BLOG_SIGNER {
        return Ok(Some(shared.client.clone()));
    }
    if let Some(found) = shared.signers.get(signer) {
        return Ok(found);
    }
    let loaded = crate::federation::keys::load_signer(&shared.db, signer)
        .await?
        .map(|(key, key_id)| shared.client.signing_as(key, key_id));
    shared.signers.insert(signer.to_string(), loaded.clone());
    Ok(loaded)
}

/// Sends one row when its host and the process have room, and hands the outcome to the settler.
async fn send_one(
    shared: Arc<Shared>,
    row: Delivery,
    claimed_at: Instant,
    settled: mpsc::UnboundedSender<Settled>,
) {
    let host_limit = lock(&shared.hosts).get(&row.host).map(|h| h.limit.clone());
    let _host_permit = match host_limit {
        Some(limit) => limit.acquire_owned().await.ok(),
        None => None,
    };
    let _slot = shared.slots.clone().acquire_owned().await.ok();
    let release = Settled {
        id: row.id,
        host: row.host.clone(),
        settle: Settle::Release,
        host_result: HostResult::Untouched,
    };
    // A row that waited so long that its request could outlast the lease goes back to the queue instead, so that
    // no other claim (here or elsewhere) can have it while it is sent. The lease is at least three timeouts, so a
    // row may wait one timeout at least, with one to spare for settling.
    let lease = Duration::from_secs(u64::try_from(shared.config.lease_seconds).unwrap_or(0));
    let late = claimed_at.elapsed() + 2 * outcome::timeout(&shared.config) > lease;
    if *shared.stop.borrow() || late || lock(&shared.paused).contains(&row.host) {
        shared.metrics.count(Outcome::Released);
        let _ = settled.send(release);
        return;
    }
    let (body, signer) = match body(&shared, row.outbox_id).await {
        Ok(Some(body)) => body,
        Ok(None) => {
            let _ = settled.send(Settled {
                settle: Settle::Failed {
                    error: "the activity is no longer stored".into(),
                },
                ..release
            });
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read an activity to deliver");
            let _ = settled.send(release);
            return;
        }
    };
    let client = match client_for(&shared, &signer).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            let _ = settled.send(Settled {
                settle: Settle::Failed {
                    error: format!("the key of {signer} is no longer stored"),
                },
                ..release
            });
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read a signer's key");
            let _ = settled.send(release);
            return;
        }
    };
    let started = Instant::now();
    let result = client
        .post_activity(&row.inbox, body, outcome::timeout(&shared.config))
        .await;
    shared.metrics.observe_send(started.elapsed());
    let jitter = rand::random::<f64>() * 2.0 - 1.0;
    let decision = outcome::decide(
        &shared.config,
        &result,
        row.attempts,
        row.give_up_at,
        db::now(),
        jitter,
    );
    if decision.host == HostResult::Answered {
        answered(&shared, &row.host);
    }
    if decision.gone {
        shared.metrics.count(Outcome::Gone);
        match deliveries::remove_gone_followers(&shared.db, &row.inbox).await {
            Ok(n) => {
                tracing::info!(inbox = %row.inbox, removed = n, "inbox is gone; followers removed")
            }
            Err(e) => tracing::error!(error = %e, "cannot remove the followers of a gone inbox"),
        }
    }
    match &decision.settle {
        Settle::Done => shared.metrics.count(Outcome::Delivered),
        Settle::Retry { error, .. } => {
            shared.metrics.count(Outcome::Retried);
            tracing::debug!(inbox = %row.inbox, %error, "delivery will be retried");
        }
        Settle::Failed { error } => {
            shared.metrics.count(Outcome::Failed);
            tracing::warn!(inbox = %row.inbox, %error, "delivery failed");
        }
        Settle::Gone | Settle::Release => {}
    }
    let _ = settled.send(Settled {
        id: row.id,
        host: row.host,
        settle: decision.settle,
        host_result: decision.host,
    });
}

/// Remembers that `host` answers, and lets it have `per_host` requests at once from now on.
fn answered(shared: &Shared, host: &str) {
    if shared.answered.get(host).is_none() {
        shared.answered.insert(host.to_string(), ());
    }
    if let Some(slot) = lock(&shared.hosts).get_mut(host).filter(|s| !s.widened) {
        slot.widened = true;
        slot.limit
            .add_permits(shared.config.per_host.saturating_sub(1));
    }
}

/// Writes outcomes in batches, then lets the dispatcher claim again.
async fn settle_loop(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Settled>) {
    let mut batch = Vec::with_capacity(SETTLE_BATCH);
    let config = shared.config.clone();
    let pause_for = move |n: i64| outcome::pause_seconds(&config, n);
    while rx.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
        // Under load, outcomes arrive in a stream: lingering a moment writes them in fewer transactions.
        if batch.len() < SETTLE_BATCH {
            tokio::time::sleep(SETTLE_LINGER).await;
            while batch.len() < SETTLE_BATCH {
                match rx.try_recv() {
                    Ok(row) => batch.push(row),
                    Err(_) => break,
                }
            }
        }
        let mut attempt = 0;
        let paused = loop {
            match deliveries::settle(
                &shared.db,
                &batch,
                shared.config.pause_host_after_failures,
                &pause_for,
            )
            .await
            {
                Ok(paused) => break paused,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(error = %e, "cannot write delivery outcomes; trying again");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => {
                    // The rows stay leased and are sent again when the lease passes: at least once, never lost.
                    tracing::error!(error = %e, "cannot write delivery outcomes; the rows will be sent again");
                    break Vec::new();
                }
            }
        };
        for host in paused {
            tracing::warn!(%host, "host keeps failing; its deliveries are paused");
            shared.metrics.host_paused();
            lock(&shared.paused).insert(host);
        }
        {
            let mut claimed = lock(&shared.claimed);
            for row in &batch {
                claimed.remove(&row.id);
            }
        }
        {
            let mut hosts = lock(&shared.hosts);
            for row in &batch {
                if let Some(h) = hosts.get_mut(&row.host) {
                    h.held = h.held.saturating_sub(1);
                    if h.held == 0 {
                        hosts.remove(&row.host);
                    }
                }
            }
        }
        batch.clear();
        shared.freed.notify_one();
    }
}

async fn sweep(shared: &Shared) {
    let before = db::now() - shared.config.keep_done_days * 86_400;
    match deliveries::sweep(&shared.db, before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "old delivered rows removed"),
        Err(e) => tracing::warn!(error = %e, "cannot remove old delivered rows"),
    }
}
