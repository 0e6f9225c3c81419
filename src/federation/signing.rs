//! Which way of signing each other server accepts: the chain of [`Signing`] (RFC 9421 with the Ed25519 key, RFC
//! 9421 with the RSA key, draft-cavage), walked down when a server refuses a signature, and what was learned per
//! host, kept in memory and in the database (`signing_hosts`) so that a restart does not learn it again.
//!
//! A host nothing was learned about gets the best way first. A host that refused it is listed with the way that
//! then worked; that way is used first from then on, and the better ways are tried again once it is older than
//! [`TRY_BETTER_AFTER_SECONDS`] (servers are upgraded: Mastodon verifies Ed25519 since mid-2026).

use std::sync::Arc;

use super::signatures::Signing;
use crate::db::{Db, signing_hosts};

/// After this long, a host that refused the best way is offered it again (one refused request, then the learned way).
pub const TRY_BETTER_AFTER_SECONDS: i64 = 7 * 86_400;

/// Hosts remembered in memory (the database keeps every one).
const HOSTS_KEPT: usize = 10_000;

/// What was learned about one host: the way it accepts and when that was learned; `None` if it accepts the best.
type Learned = Option<(Signing, i64)>;

/// The per-host memory of the signing chain, shared by every clone of the client.
#[derive(Clone)]
pub struct SigningMemory {
    /// Where what is learned is kept across restarts (`None`: in memory only).
    db: Option<Db>,
    hosts: Arc<quick_cache::sync::Cache<String, Learned>>,
}

impl std::fmt::Debug for SigningMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningMemory")
            .field("hosts", &self.hosts.len())
            .finish()
    }
}

impl SigningMemory {
    pub fn new(db: Option<Db>) -> Self {
        Self {
            db,
            hosts: Arc::new(quick_cache::sync::Cache::new(HOSTS_KEPT)),
        }
    }

    /// What was learned about `host`: from memory, else from the database (then kept in memory). A database error
    /// is logged and counts as nothing learned (the chain then finds the way again).
    async fn learned(&self, host: &str) -> Learned {
        if let Some(learned) = self.hosts.get(host) {
            return learned;
        }
        let Some(db) = &self.db else {
            return None;
        };
        let learned = match signing_hosts::find(db, host).await {
            Ok(row) => row.and_then(|(name, at)| Signing::parse(&name).map(|s| (s, at))),
            Err(e) => {
                tracing::warn!(%host, error = %e, "cannot read how a server accepts signatures");
                return None;
            }
        };
        self.hosts.insert(host.to_string(), learned);
        learned
    }

    /// The way to sign a request to `host` with first, at `now` (Unix seconds).
    pub async fn first(&self, host: &str, now: i64) -> Signing {
        match self.learned(host).await {
            Some((signing, at)) if now.saturating_sub(at) < TRY_BETTER_AFTER_SECONDS => signing,
            _ => Signing::CHAIN[0],
        }
    }

    /// Notes that a request to `host` first signed `first` was accepted signed `used` (the same, or one further down
    /// the chain). Written only when it tells something new: a host that now accepts the best way is forgotten; one
    /// that refused a better way is listed with `used`, learned `now`.
    pub async fn accepted(&self, host: &str, first: Signing, used: Signing, now: i64) {
        let before = self.learned(host).await;
        let learned = (used != Signing::CHAIN[0]).then_some((used, now));
        let changed = match (before, learned) {
            (None, None) => false,
            (Some((was, _)), Some(_)) => was != used || first != used,
            _ => true,
        };
        if !changed {
            return;
        }
        self.hosts.insert(host.to_string(), learned);
        let Some(db) = &self.db else {
            return;
        };
        let written = match learned {
            Some((signing, at)) => signing_hosts::learn(db, host, signing.as_str(), at).await,
            None => signing_hosts::forget(db, host).await,
        };
        match written {
            Ok(()) => {
                tracing::info!(%host, signing = used.as_str(), "learned how a server accepts signatures")
            }
            Err(e) => {
                tracing::warn!(%host, error = %e, "cannot store how a server accepts signatures");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_chain_is_walked_down_learned_and_offered_again_after_a_while() {
        let memory = SigningMemory::new(None);
        let host = "social.example";
        assert_eq!(memory.first(host, 1_000).await, Signing::Rfc9421Ed25519);
        // Refused Ed25519, accepted RSA with RFC 9421.
        memory
            .accepted(host, Signing::Rfc9421Ed25519, Signing::Rfc9421Rsa, 1_000)
            .await;
        assert_eq!(memory.first(host, 2_000).await, Signing::Rfc9421Rsa);
        // A week later the best way is tried again; refused again, the learned way is renewed.
        let later = 1_000 + TRY_BETTER_AFTER_SECONDS;
        assert_eq!(memory.first(host, later).await, Signing::Rfc9421Ed25519);
        memory
            .accepted(host, Signing::Rfc9421Ed25519, Signing::Rfc9421Rsa, later)
            .await;
        assert_eq!(memory.first(host, later + 1).await, Signing::Rfc9421Rsa);
        // Then the server refuses RFC 9421 altogether.
        memory
            .accepted(host, Signing::Rfc9421Rsa, Signing::DraftCavage, later + 2)
            .await;
        assert_eq!(memory.first(host, later + 3).await, Signing::DraftCavage);
        // Upgraded: the best way works again and the host is forgotten.
        let upgraded = later + 2 + TRY_BETTER_AFTER_SECONDS;
        assert_eq!(memory.first(host, upgraded).await, Signing::Rfc9421Ed25519);
        memory
            .accepted(
                host,
                Signing::Rfc9421Ed25519,
                Signing::Rfc9421Ed25519,
                upgraded,
            )
            .await;
        assert_eq!(
            memory.first(host, upgraded + 1).await,
            Signing::Rfc9421Ed25519
        );
        assert_eq!(memory.learned(host).await, None);
        // Other hosts are not affected.
        assert_eq!(
            memory.first("other.example", 1_000).await,
            Signing::Rfc9421Ed25519
        );
    }

    #[test]
    fn the_chain_names_parse_back() {
        for s in Signing::CHAIN {
            assert_eq!(Signing::parse(s.as_str()), Some(s));
        }
        assert_eq!(Signing::parse("hs2019"), None);
        assert_eq!(Signing::Rfc9421Ed25519.next(), Some(Signing::Rfc9421Rsa));
        assert_eq!(Signing::Rfc9421Rsa.next(), Some(Signing::DraftCavage));
        assert_eq!(Signing::DraftCavage.next(), None);
    }
}
