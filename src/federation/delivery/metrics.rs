//! Delivery counters of one process (outcomes, host pauses, send latency) and their Prometheus text rendering,
//! together with the queue depth read from the database at scrape time.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use crate::db::deliveries::Depth;

/// Upper bounds of the send-latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Outcomes counted.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Delivered,
    Retried,
    Failed,
    Gone,
    Released,
}

const OUTCOMES: [(Outcome, &str); 5] = [
    (Outcome::Delivered, "delivered"),
    (Outcome::Retried, "retried"),
    (Outcome::Failed, "failed"),
    (Outcome::Gone, "gone"),
    (Outcome::Released, "released"),
];

/// This process's counters; shared by its workers and the `/metrics` endpoint.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 5],
    host_pauses: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
}

impl Metrics {
    pub fn count(&self, outcome: Outcome) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn host_paused(&self) {
        self.host_pauses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe_send(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// How many deliveries ended with `outcome` in this process.
    pub fn outcomes(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome as usize].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition of these counters, of `depth`, and of the hosts paused now (host, unix time
    /// the pause ends).
    pub fn render(&self, depth: &Depth, paused: &[(String, i64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP steppe_delivery_queue_depth Deliveries in the queue, by state (shared by all processes).\n\
             # TYPE steppe_delivery_queue_depth gauge"
        );
        for (state, n) in [
            ("due", depth.due),
            ("scheduled", depth.scheduled),
            ("leased", depth.leased),
            ("failed", depth.failed),
        ] {
            let _ = writeln!(out, "steppe_delivery_queue_depth{{state=\"{state}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP steppe_delivery_activities_unexpanded Activities not yet expanded into deliveries.\n\
             # TYPE steppe_delivery_activities_unexpanded gauge\n\
             steppe_delivery_activities_unexpanded {}",
            depth.to_expand
        );
        let _ = writeln!(
            out,
            "# HELP steppe_delivery_hosts_paused Hosts paused now because they keep failing.\n\
             # TYPE steppe_delivery_hosts_paused gauge\n\
             steppe_delivery_hosts_paused {}",
            depth.paused_hosts
        );
        if !paused.is_empty() {
            let _ = writeln!(
                out,
                "# HELP steppe_delivery_host_paused_until_seconds When a paused host's pause ends (unix time).\n\
                 # TYPE steppe_delivery_host_paused_until_seconds gauge"
            );
            for (host, until) in paused {
                let host = host.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(
                    out,
                    "steppe_delivery_host_paused_until_seconds{{host=\"{host}\"}} {until}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP steppe_deliveries_total Delivery attempts by outcome, in this process.\n\
             # TYPE steppe_deliveries_total counter"
        );
        for (outcome, name) in OUTCOMES {
            let _ = writeln!(
                out,
                "steppe_deliveries_total{{outcome=\"{name}\"}} {}",
                self.outcomes(outcome)
            );
        }
        let _ = writeln!(
            out,
            "# HELP steppe_delivery_host_pauses_total Times this process paused a host.\n\
             # TYPE steppe_delivery_host_pauses_total counter\n\
             steppe_delivery_host_pauses_total {}",
            self.host_pauses.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP steppe_delivery_send_seconds Time to send one delivery and read the answer.\n\
             # TYPE steppe_delivery_send_seconds histogram"
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "steppe_delivery_send_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "steppe_delivery_send_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             steppe_delivery_send_seconds_sum {sum}\n\
             steppe_delivery_send_seconds_count {count}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.count(Outcome::Delivered);
        m.count(Outcome::Delivered);
        m.count(Outcome::Gone);
        m.observe_send(Duration::from_millis(30));
        let text = m.render(
            &Depth {
                due: 3,
                ..Depth::default()
            },
            &[("slow.example".into(), 1_900_000_000)],
        );
        assert!(text.contains(
            "steppe_delivery_host_paused_until_seconds{host=\"slow.example\"} 1900000000"
        ));
        assert!(text.contains("steppe_delivery_queue_depth{state=\"due\"} 3"));
        assert!(text.contains("steppe_deliveries_total{outcome=\"delivered\"} 2"));
        assert!(text.contains("steppe_deliveries_total{outcome=\"gone\"} 1"));
        assert!(text.contains("steppe_delivery_send_seconds_bucket{le=\"0.025\"} 0"));
        assert!(text.contains("steppe_delivery_send_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("steppe_delivery_send_seconds_count 1"));
    }
}
