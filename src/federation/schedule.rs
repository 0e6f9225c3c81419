//! The scheduler: publishes scheduled posts (and sends their `Create`) when their time comes, in every `steppe serve`
//! process; each post is published exactly once however many processes share the database (see
//! [`publish::publish_due`]).

use std::time::Duration;

use super::publish;
use crate::app::AppState;

/// The longest the scheduler sleeps: a post scheduled by another process is published at most this late.
const MAX_SLEEP_SECONDS: i64 = 30;

/// Runs until `stopped` completes. Woken early by `state.scheduler` when this process schedules a post.
pub async fn run(state: AppState, stopped: impl std::future::Future<Output = ()>) {
    tokio::pin!(stopped);
    loop {
        let sleep_seconds = match publish::publish_due(&state).await {
            Ok((_, next)) => next
                .map(|at| at.saturating_sub(crate::db::now()))
                .unwrap_or(MAX_SLEEP_SECONDS)
                .clamp(1, MAX_SLEEP_SECONDS),
            Err(e) => {
                tracing::warn!(error = %e, "cannot publish scheduled posts; trying again shortly");
                10
            }
        };
        let sleep = Duration::from_secs(u64::try_from(sleep_seconds).unwrap_or(1));
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(sleep) => {}
            () = state.scheduler.notified() => {}
        }
    }
}
