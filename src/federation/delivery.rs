//! Sending queued deliveries: a worker in each serving process claims due rows with a lease (so processes sharing
//! a PostgreSQL database never send a row twice, and a row held by a process that died is taken up when its lease
//! passes), signs each request at send time, and retries temporary failures with backoff. Every delivery is a row
//! in the database, so nothing is lost at a restart. (Per-host limits, host pausing and the admin view are the
//! queue's own piece of work.)

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;

use super::client::{FederationClient, FetchError};
use crate::db::{self, Db, deliveries};

/// Give up on a delivery after this many attempts (the backoff below spreads them over almost four days).
const MAX_ATTEMPTS: i64 = 24;

/// Seconds to wait before attempt `attempts + 1`: 30 s doubling, at most six hours.
fn backoff(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    (30_i64.saturating_mul(2_i64.saturating_pow(exp))).min(6 * 3600)
}

/// Wakes the worker when new deliveries are queued.
#[derive(Default)]
pub struct Wakeup(Notify);

impl Wakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Runs forever: sends what is due, then sleeps until woken or a second passes.
pub async fn run(db: Db, client: FederationClient, wakeup: Arc<Wakeup>) {
    loop {
        match send_due(&db, &client).await {
            Ok(0) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), wakeup.0.notified()).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "delivery worker cannot read the queue");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Sends the deliveries due now; returns how many were attempted.
async fn send_due(db: &Db, client: &FederationClient) -> Result<usize, sqlx::Error> {
    let batch = deliveries::claim(db, 32).await?;
    let count = batch.len();
    let sends = batch.into_iter().map(|d| async move {
        let outcome = client.post_activity(&d.inbox, d.body.as_bytes()).await;
        (d, outcome)
    });
    for (d, outcome) in futures_util::future::join_all(sends).await {
        match outcome {
            Ok(status) if status.is_success() => deliveries::mark_done(db, d.id).await?,
            Ok(status) => {
                let error = FetchError::Status(status);
                settle_failure(db, &d, &error).await?;
            }
            Err(error) => settle_failure(db, &d, &error).await?,
        }
    }
    Ok(count)
}

async fn settle_failure(
    db: &Db,
    d: &deliveries::Delivery,
    error: &FetchError,
) -> Result<(), sqlx::Error> {
    let text = error.to_string();
    if error.is_temporary() && d.attempts + 1 < MAX_ATTEMPTS {
        tracing::info!(inbox = %d.inbox, activity = %d.activity_id, error = %text, "delivery will be retried");
        deliveries::retry_later(db, d.id, db::now() + backoff(d.attempts), &text).await
    } else {
        tracing::warn!(inbox = %d.inbox, activity = %d.activity_id, error = %text, "delivery failed");
        deliveries::mark_failed(db, d.id, &text).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(super::backoff(0), 30);
        assert_eq!(super::backoff(1), 60);
        assert_eq!(super::backoff(10), 6 * 3600);
        assert_eq!(super::backoff(1000), 6 * 3600);
        let total: i64 = (0..super::MAX_ATTEMPTS).map(super::backoff).sum();
        assert!(total > 3 * 24 * 3600, "retries span days: {total}");
    }
}
