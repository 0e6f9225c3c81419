//! Fixed-window budgets in memory (per host, per client address), bounded in the number of keys they remember.

use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

/// At most `limit` uses per key per `window`. When more keys are in use than it remembers, the least used are
/// forgotten (they start a new window), which bounds memory whatever an attacker varies.
pub struct Budget {
    uses: Cache<String, (Instant, u32)>,
    limit: u32,
    window: Duration,
}

impl Budget {
    pub fn new(limit: u32, window: Duration, keys: usize) -> Self {
        Self {
            uses: Cache::new(keys.max(16)),
            limit,
            window,
        }
    }

    /// Counts one use for `key`; false (and nothing counted) when its budget for this window is spent.
    pub fn take(&self, key: &str) -> bool {
        let now = Instant::now();
        let (start, count) = self
            .uses
            .get(key)
            .filter(|(start, _)| now.duration_since(*start) < self.window)
            .unwrap_or((now, 0));
        if count >= self.limit {
            return false;
        }
        self.uses
            .insert(key.to_string(), (start, count.saturating_add(1)));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_and_renews() {
        let budget = Budget::new(2, Duration::from_secs(60), 100);
        assert!(budget.take("a"));
        assert!(budget.take("a"));
        assert!(!budget.take("a"));
        assert!(budget.take("b"), "keys are apart");
        let quick = Budget::new(1, Duration::ZERO, 100);
        assert!(quick.take("a"));
        assert!(quick.take("a"), "a new window each time");
    }
}
