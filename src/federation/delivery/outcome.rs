//! What a delivery attempt's answer means: done, retry when (exponential backoff with jitter, at least what
//! `Retry-After` asks), fail for good (with the reason kept), or follower gone; and whether the host itself failed.

use std::time::Duration;

use axum::http::StatusCode;

use crate::{
    config::DeliveryConfig,
    db::deliveries::{HostResult, Settle},
    federation::client::{Answer, FetchError},
};

/// The decision for one attempt.
#[derive(Debug, Clone)]
pub struct Decision {
    pub settle: Settle,
    pub host: HostResult,
    /// The inbox answered 410 Gone: the followers reached there are to be removed.
    pub gone: bool,
}

/// Seconds before retry number `attempts + 1`: `first` doubling, at most `max`, then spread by ±20% so that rows
/// that failed together do not come back together.
pub fn backoff(config: &DeliveryConfig, attempts: i64, jitter: f64) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
    let base = config
        .first_retry_seconds
        .saturating_mul(2_i64.saturating_pow(exp))
        .min(config.max_retry_seconds);
    let spread = (base as f64 * 0.2 * jitter.clamp(-1.0, 1.0)) as i64;
    (base + spread).max(1)
}

/// How long a host that has failed `n` times past the pause threshold stays paused: the same schedule as retries.
pub fn pause_seconds(config: &DeliveryConfig, n: i64) -> i64 {
    backoff(config, n, 0.0)
}

/// Decides what an attempt made at `now` means, for a row already tried `attempts` times that gives up at
/// `give_up_at`. `jitter` is in [-1, 1].
pub fn decide(
    config: &DeliveryConfig,
    result: &Result<Answer, FetchError>,
    attempts: i64,
    give_up_at: i64,
    now: i64,
    jitter: f64,
) -> Decision {
    let (error, retry_after, host) = match result {
        Ok(a) if a.status.is_success() => {
            return Decision {
                settle: Settle::Done,
                host: HostResult::Answered,
                gone: false,
            };
        }
        Ok(a) if a.status == StatusCode::GONE => {
            return Decision {
                settle: Settle::Gone,
                host: HostResult::Answered,
                gone: true,
            };
        }
        Ok(a) => {
            let error = FetchError::Status(a.status);
            if !error.is_temporary() {
                return Decision {
                    settle: Settle::Failed {
                        error: error.to_string(),
                    },
                    host: HostResult::Answered,
                    gone: false,
                };
            }
            // A 401 means the server is up but does not (yet) accept our signature: not the host's failure.
            let host = if a.status == StatusCode::UNAUTHORIZED {
                HostResult::Answered
            } else {
                HostResult::Failed
            };
            (error.to_string(), a.retry_after, host)
        }
        Err(e) if e.is_temporary() => (e.to_string(), None, HostResult::Failed),
        Err(e) => {
            return Decision {
                settle: Settle::Failed {
                    error: e.to_string(),
                },
                host: HostResult::Untouched,
                gone: false,
            };
        }
    };
    let wait = backoff(config, attempts, jitter).max(
        retry_after
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0),
    );
    let at = now.saturating_add(wait);
    let settle = if at > give_up_at {
        Settle::Failed {
            error: format!(
                "gave up after {} attempts over {}: {error}",
                attempts + 1,
                span(config.give_up_after_seconds)
            ),
        }
    } else {
        Settle::Retry { at, error }
    };
    Decision {
        settle,
        host,
        gone: false,
    }
}

/// "5 days", "3 hours", "90 seconds".
pub fn span(seconds: i64) -> String {
    match seconds {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 2 * 3600 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// The timeout of one delivery request.
pub fn timeout(config: &DeliveryConfig) -> Duration {
    Duration::from_secs(config.timeout_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, retry_after: Option<u64>) -> Result<Answer, FetchError> {
        Ok(Answer {
            status: StatusCode::from_u16(code).expect("status"),
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    #[test]
    fn backoff_grows_is_capped_and_spans_days() {
        let c = DeliveryConfig::default();
        assert_eq!(backoff(&c, 0, 0.0), 30);
        assert_eq!(backoff(&c, 1, 0.0), 60);
        assert_eq!(backoff(&c, 10, 0.0), 6 * 3600);
        assert_eq!(backoff(&c, 1000, 0.0), 6 * 3600);
        assert_eq!(backoff(&c, 0, 1.0), 36);
        assert_eq!(backoff(&c, 0, -1.0), 24);
        // Retrying until give_up_after takes about twenty attempts.
        let mut t = 0;
        let mut attempts = 0;
        while t < c.give_up_after_seconds {
            t += backoff(&c, attempts, 0.0);
            attempts += 1;
        }
        assert!((20..30).contains(&attempts), "{attempts}");
    }

    #[test]
    fn outcomes() {
        let c = DeliveryConfig::default();
        let d = decide(&c, &answer(202, None), 0, 1000, 0, 0.0);
        assert!(matches!(d.settle, Settle::Done));
        let d = decide(&c, &answer(410, None), 0, 1000, 0, 0.0);
        assert!(d.gone && matches!(d.settle, Settle::Gone));
        let d = decide(&c, &answer(400, None), 0, 1000, 0, 0.0);
        assert!(matches!(d.settle, Settle::Failed { ref error } if error.contains("400")));
        assert_eq!(d.host, HostResult::Answered);
        for code in [401, 408, 429, 500, 503] {
            let d = decide(&c, &answer(code, None), 0, 1000, 0, 0.0);
            assert!(
                matches!(d.settle, Settle::Retry { at: 30, .. }),
                "{code}: {d:?}"
            );
        }
        assert_eq!(
            decide(&c, &answer(503, None), 0, 1000, 0, 0.0).host,
            HostResult::Failed
        );
        assert_eq!(
            decide(&c, &answer(401, None), 0, 1000, 0, 0.0).host,
            HostResult::Answered
        );
        // Retry-After is honoured when it asks for longer than the backoff.
        let d = decide(&c, &answer(429, Some(600)), 0, 1000, 0, 0.0);
        assert!(matches!(d.settle, Settle::Retry { at: 600, .. }));
        // Past the time to give up, a temporary failure fails for good.
        let d = decide(&c, &answer(503, None), 7, 100, 0, 0.0);
        assert!(
            matches!(d.settle, Settle::Failed { ref error } if error.starts_with("gave up after 8 attempts over 5 days"))
        );
    }
}
