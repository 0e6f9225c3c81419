//! The durable inbox behind the inboxes: checked activities are appended to the `inbox_queue` table in group commits
//! (one transaction for whatever arrived while the last one committed) before the 202, and a worker applies them:
//! the oldest row of each object first (so a reply, its edit and its deletion apply in the order they came, in one
//! process or several sharing PostgreSQL), several objects at once, each attempt cut off before its lease ends.
//! What fails for a reason that may pass (an origin that does not answer, a database error, a flood limit reached
//! in another process) is tried again later; what is refused (a forged edit, a note that is not one) is logged and
//! removed, as the 4xx it used to get; what keeps failing is given up and listed for the owner.

use std::{
    collections::HashSet,
    fmt::Write,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    sync::{Notify, Semaphore, mpsc, oneshot, watch},
    task::JoinSet,
};

use crate::{
    app::{AppState, Inner},
    config::InboxConfig,
    db::{
        Db,
        inbox_queue::{self, Admitted, Arrival, Claimed, Stats},
    },
    error::AppError,
};

/// Arrivals written in one transaction at most.
const BATCH: usize = 256;
/// Arrivals waiting for the appender at most; more wait for room (back-pressure on the connections).
const WAITING: usize = 4096;
/// How often the appender counts the rows waiting (the `max_queued` bound), and an idle worker looks for rows that
/// became due (retries, rows another process stored).
const POLL: Duration = Duration::from_secs(1);
/// How often given-up rows older than `keep_failed_days` and expired replay records are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How long a stopping worker waits for the activities it is applying.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long before its lease ends an attempt is cut off (so that no other worker takes the row while it runs).
const LEASE_MARGIN: i64 = 10;
/// While arrivals wait to be stored, the worker claims at most this often: on SQLite, every transaction that
/// applies an activity holds the one write lock the next batch of arrivals needs, so a burst is taken first and
/// applied in the pauses (and at least this often while it lasts).
const CLAIM_DURING_ARRIVALS: Duration = Duration::from_millis(50);

/// One process's counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub applied: AtomicU64,
    pub retried: AtomicU64,
    pub refused: AtomicU64,
    pub given_up: AtomicU64,
    pub replayed: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text of these counters and of the queue's `stats` (read at scrape time).
    pub fn render(&self, stats: &Stats, now: i64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP steppe_inbox_queue_depth Received activities waiting to be applied, by state (all processes).\n\
             # TYPE steppe_inbox_queue_depth gauge\n\
             steppe_inbox_queue_depth{{state=\"waiting\"}} {}\n\
             steppe_inbox_queue_depth{{state=\"retrying\"}} {}\n\
             steppe_inbox_queue_depth{{state=\"failed\"}} {}",
            stats.waiting.saturating_sub(stats.retrying),
            stats.retrying,
            stats.failed
        );
        let age = stats.oldest.map_or(0, |t| now.saturating_sub(t).max(0));
        let _ = writeln!(
            out,
            "# HELP steppe_inbox_oldest_age_seconds Age of the oldest activity waiting to be applied.\n\
             # TYPE steppe_inbox_oldest_age_seconds gauge\nsteppe_inbox_oldest_age_seconds {age}"
        );
        let _ = writeln!(
            out,
            "# HELP steppe_inbox_activities_total Received activities by outcome in this process.\n\
             # TYPE steppe_inbox_activities_total counter"
        );
        for (name, counter) in [
            ("applied", &self.applied),
            ("retried", &self.retried),
            ("refused", &self.refused),
            ("failed", &self.given_up),
            ("replayed", &self.replayed),
        ] {
            let _ = writeln!(
                out,
                "steppe_inbox_activities_total{{outcome=\"{name}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out
    }
}

struct Pending {
    arrival: Arrival,
    answer: oneshot::Sender<Result<Admitted, String>>,
}

/// The front of the queue: hands arrivals to one task that writes them in group commits. One per process.
pub struct Intake {
    sender: mpsc::Sender<Pending>,
    /// Rows waiting, as last counted plus what was added since.
    waiting: Arc<AtomicI64>,
    /// Arrivals handed to the appender and not yet answered: while there are some, the worker claims less often,
    /// so that taking a burst comes before applying it.
    arriving: AtomicI64,
    max_queued: i64,
    /// Wakes this process's worker when rows are stored.
    pub wakeup: Arc<Notify>,
    pub counters: Arc<Counters>,
    /// Replies (`Create`s) taken per signing actor and per server in the last hour, against the flood limits: more
    /// get 429 before anything is stored. The limits are checked again, exactly, when a reply is applied.
    creates_by_actor: crate::ratelimit::Budget,
    creates_by_host: crate::ratelimit::Budget,
    _appender: crate::app::AbortOnDrop,
    _counter: crate::app::AbortOnDrop,
}

impl Intake {
    pub fn start(db: Db, config: &InboxConfig, limits: &crate::config::LimitsConfig) -> Self {
        let (sender, receiver) = mpsc::channel(WAITING);
        let waiting = Arc::new(AtomicI64::new(0));
        let wakeup = Arc::new(Notify::new());
        let counters = Arc::new(Counters::default());
        let counter = tokio::spawn(count_loop(db.clone(), waiting.clone()));
        let appender = tokio::spawn(append_loop(
            db,
            receiver,
            waiting.clone(),
            wakeup.clone(),
            counters.clone(),
        ));
        Self {
            sender,
            waiting,
            arriving: AtomicI64::new(0),
            max_queued: config.max_queued,
            wakeup,
            counters,
            creates_by_actor: hourly(limits.comments_per_actor_per_hour),
            creates_by_host: hourly(limits.comments_per_domain_per_hour),
            _appender: crate::app::AbortOnDrop::new(appender),
            _counter: crate::app::AbortOnDrop::new(counter),
        }
    }

    /// Counts a reply from `actor` on `host` against the flood limits; 429 when either is spent.
    pub fn take_create(&self, actor: &str, host: &str) -> Result<(), AppError> {
        if !self.creates_by_actor.take(actor) {
            return Err(AppError::TooManyRequests(format!(
                "too many replies from {actor} in the last hour"
            )));
        }
        if !self.creates_by_host.take(host) {
            return Err(AppError::TooManyRequests(format!(
                "too many replies from {host} in the last hour"
            )));
        }
        Ok(())
    }

    /// Stores `arrival` (with others that arrive meanwhile, in one transaction). 503 when the queue is full.
    pub async fn append(&self, arrival: Arrival) -> Result<Admitted, AppError> {
        if self.waiting.load(Ordering::Relaxed) >= self.max_queued {
            return Err(AppError::Unavailable(
                "This blog has too many activities waiting; try again later.".into(),
            ));
        }
        let (answer, answered) = oneshot::channel();
        self.arriving.fetch_add(1, Ordering::Relaxed);
        let _arrived = Arrived(&self.arriving);
        self.sender
            .send(Pending { arrival, answer })
            .await
            .map_err(|_| AppError::internal("the inbox queue has stopped"))?;
        match answered.await {
            Ok(Ok(admitted)) => Ok(admitted),
            Ok(Err(e)) => Err(AppError::internal(format!(
                "cannot store the activity: {e}"
            ))),
            Err(_) => Err(AppError::internal("the inbox queue has stopped")),
        }
    }
}

/// Keys remembered by each flood budget (the least used are forgotten first).
const FLOOD_KEYS: usize = 10_000;

fn hourly(limit: i64) -> crate::ratelimit::Budget {
    crate::ratelimit::Budget::new(
        u32::try_from(limit.max(0)).unwrap_or(u32::MAX),
        Duration::from_secs(3600),
        FLOOD_KEYS,
    )
}

/// Counts the rows waiting every second (apart from the appender, whose batches must not wait for a count).
async fn count_loop(db: Db, waiting: Arc<AtomicI64>) {
    loop {
        match inbox_queue::stats(&db).await {
            Ok(stats) => waiting.store(stats.waiting, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "cannot count the inbox queue"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Counts an arrival as answered when dropped (answered, failed, or its request gone).
struct Arrived<'a>(&'a AtomicI64);

impl Drop for Arrived<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn append_loop(
    db: Db,
    mut receiver: mpsc::Receiver<Pending>,
    waiting: Arc<AtomicI64>,
    wakeup: Arc<Notify>,
    counters: Arc<Counters>,
) {
    let mut arrivals: Vec<Arrival> = Vec::with_capacity(BATCH);
    let mut answers = Vec::with_capacity(BATCH);
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(Pending { arrival, answer }) = next {
            arrivals.push(arrival);
            answers.push(answer);
            next = if arrivals.len() < BATCH {
                receiver.try_recv().ok()
            } else {
                None
            };
        }
        match inbox_queue::append(&db, &arrivals).await {
            Ok(outcomes) => {
                let mut queued = 0i64;
                for (answer, outcome) in answers.drain(..).zip(outcomes) {
                    match outcome {
                        Admitted::Queued => queued = queued.saturating_add(1),
                        Admitted::Replayed | Admitted::AlreadyTaken => {
                            Counters::add(&counters.replayed);
                        }
                    }
                    let _ = answer.send(Ok(outcome));
                }
                waiting.fetch_add(queued, Ordering::Relaxed);
                if queued > 0 {
                    wakeup.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, arrivals = arrivals.len(), "cannot store received activities");
                for answer in answers.drain(..) {
                    let _ = answer.send(Err(e.to_string()));
                }
            }
        }
        arrivals.clear();
    }
}

/// A running worker. [`InboxWorker::stop`] lets it finish what it applies and release what it has not started;
/// dropping it aborts it (its leases then expire).
pub struct InboxWorker(crate::app::Stoppable);

impl InboxWorker {
    /// Starts a worker applying `config.workers` activities at once for the application behind `state` (held
    /// weakly: the worker ends when the application is dropped).
    pub fn start(state: Weak<Inner>, config: InboxConfig, wakeup: Arc<Notify>) -> Self {
        Self(crate::app::Stoppable::spawn(|stop| {
            work(state, config, wakeup, stop)
        }))
    }

    /// Stops claiming, waits for the activities being applied (a few seconds at most; the rest are released) and
    /// releases what was claimed and not started.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// What became of one attempt.
enum Outcome {
    Applied,
    /// Refused for good (the sender would have had a 4xx).
    Refused(String),
    /// Failed for a reason that may pass.
    Failed(String),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn work(
    weak: Weak<Inner>,
    config: InboxConfig,
    wakeup: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(config.workers.max(1)));
    let started: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let mut applying = JoinSet::new();
    let mut last_sweep: Option<Instant> = None;
    let mut claimed_not_started: Vec<i64> = Vec::new();
    let mut last_claim: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        while applying.try_join_next().is_some() {}
        let Some(state) = AppState::upgrade(&weak) else {
            return;
        };
        if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
            last_sweep = Some(Instant::now());
            let before =
                crate::db::now().saturating_sub(config.keep_failed_days.saturating_mul(24 * 3600));
            if let Err(e) = inbox_queue::sweep(&state.db, before).await {
                tracing::warn!(error = %e, "cannot sweep the inbox queue");
            }
        }
        if state.intake.arriving.load(Ordering::Relaxed) > 0
            && last_claim.is_some_and(|t| t.elapsed() < CLAIM_DURING_ARRIVALS)
        {
            drop(state);
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        last_claim = Some(Instant::now());
        let room = slots.available_permits();
        let mut claimed = 0;
        if room > 0 {
            match inbox_queue::claim(&state.db, room, config.lease_seconds).await {
                Ok(rows) => {
                    claimed = rows.len();
                    for row in rows {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            claimed_not_started.push(row.id);
                            continue;
                        };
                        lock(&started).insert(row.id);
                        let (state, config, started) =
                            (state.clone(), config.clone(), started.clone());
                        applying.spawn(async move {
                            let id = row.id;
                            apply_and_settle(&state, &config, row).await;
                            lock(&started).remove(&id);
                            drop(permit);
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "inbox worker cannot read the queue");
                    drop(state);
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(5)) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            }
        }
        if !claimed_not_started.is_empty() {
            let ids = std::mem::take(&mut claimed_not_started);
            if let Err(e) = inbox_queue::release(&state.db, &ids).await {
                tracing::warn!(error = %e, "cannot release claimed activities");
            }
        }
        drop(state);
        if claimed > 0 && slots.available_permits() > 0 {
            continue;
        }
        tokio::select! {
            () = wakeup.notified() => {}
            Some(_) = applying.join_next(), if !applying.is_empty() => {}
            _ = stop.changed() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
    // Stopping: the activities being applied get a few seconds; those cut off are released for the next worker.
    let _ = tokio::time::timeout(STOP_GRACE, async {
        while applying.join_next().await.is_some() {}
    })
    .await;
    applying.abort_all();
    let unfinished: Vec<i64> = lock(&started).drain().collect();
    if !unfinished.is_empty()
        && let Some(state) = AppState::upgrade(&weak)
        && let Err(e) = inbox_queue::release(&state.db, &unfinished).await
    {
        tracing::warn!(error = %e, "cannot release the activities being applied");
    }
}

/// Applies one claimed row and records what became of it.
async fn apply_and_settle(state: &AppState, config: &InboxConfig, row: Claimed) {
    let limit = Duration::from_secs(
        u64::try_from(config.lease_seconds.saturating_sub(LEASE_MARGIN)).unwrap_or(1),
    );
    let outcome = match tokio::time::timeout(limit, apply(state, &row)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Failed("applying it took too long".into()),
    };
    let counters = &state.intake.counters;
    let settled = match &outcome {
        Outcome::Applied => {
            Counters::add(&counters.applied);
            inbox_queue::remove(&state.db, row.id).await
        }
        Outcome::Refused(why) => {
            tracing::info!(kind = %row.kind, actor = %row.signer, reason = %why, "received activity refused");
            Counters::add(&counters.refused);
            inbox_queue::remove(&state.db, row.id).await
        }
        Outcome::Failed(why) => {
            let now = crate::db::now();
            let next = now.saturating_add(retry_delay(config, row.attempts));
            let give_up_at = row.received_at.saturating_add(config.give_up_after_seconds);
            if next > give_up_at {
                tracing::warn!(kind = %row.kind, actor = %row.signer, error = %why, "received activity given up");
                Counters::add(&counters.given_up);
                inbox_queue::failed(&state.db, row.id, why, None).await
            } else {
                tracing::info!(kind = %row.kind, actor = %row.signer, error = %why, "received activity failed; tried again later");
                Counters::add(&counters.retried);
                inbox_queue::failed(&state.db, row.id, why, Some(next)).await
            }
        }
    };
    match settled {
        Ok(()) => {
            if !matches!(outcome, Outcome::Failed(_)) {
                state.intake.waiting.fetch_sub(1, Ordering::Relaxed);
            }
        }
        // The lease runs out and the row is applied again (activities are applied at least once; handlers take
        // the same activity twice without effect).
        Err(e) => tracing::error!(error = %e, id = row.id, "cannot settle a received activity"),
    }
}

async fn apply(state: &AppState, row: &Claimed) -> Outcome {
    let activity: serde_json::Value = match serde_json::from_str(&row.body) {
        Ok(v) => v,
        Err(e) => return Outcome::Refused(format!("stored body is not JSON: {e}")),
    };
    match super::activities::handle(state, &row.signer, &row.kind, activity).await {
        Ok(()) => Outcome::Applied,
        Err(
            e @ (AppError::Internal(_) | AppError::Unavailable(_) | AppError::TooManyRequests(_)),
        ) => Outcome::Failed(e.to_string()),
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

/// The wait before attempt `failures + 1`: `first_retry_seconds`, four times longer after each failure, at most
/// `max_retry_seconds`.
fn retry_delay(config: &InboxConfig, failures: i64) -> i64 {
    let exponent = u32::try_from(failures.clamp(0, 16)).unwrap_or(16);
    config
        .first_retry_seconds
        .saturating_mul(4i64.saturating_pow(exponent))
        .min(config.max_retry_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_four_times_longer_up_to_the_bound() {
        let config = InboxConfig {
            first_retry_seconds: 30,
            max_retry_seconds: 3600,
            ..InboxConfig::default()
        };
        assert_eq!(retry_delay(&config, 0), 30);
        assert_eq!(retry_delay(&config, 1), 120);
        assert_eq!(retry_delay(&config, 2), 480);
        assert_eq!(retry_delay(&config, 3), 1920);
        assert_eq!(retry_delay(&config, 4), 3600);
        assert_eq!(retry_delay(&config, i64::MAX), 3600);
    }
}
