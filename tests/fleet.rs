//! A fleet of test inboxes: one HTTP server per host, each on its own loopback address (127.0.0.2, 127.0.0.3, …),
//! that verifies every signature independently (see [`Verifier`]), records what arrives, and answers as the test
//! tells it: accept, a status code, slowly, never (hang), or not at all (stopped, connection refused).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
};
use serde_json::Value;
use steppe::db::Db;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::remote::Verifier;

/// How a host answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Accept after a delay (keeps deliveries in flight).
    Slow(Duration),
    Status(u16),
    /// Never answer.
    Hang,
}

/// One request a host received.
#[derive(Debug, Clone)]
pub struct Got {
    pub host: usize,
    /// The inbox URL as the sender used it.
    pub inbox: String,
    pub activity_id: String,
    pub activity_type: String,
    pub verified: Result<String, String>,
    /// What the host answered.
    pub status: u16,
    /// The activity as it arrived.
    pub body: Value,
}

struct Shared {
    received: Mutex<Vec<Got>>,
    verifier: Verifier,
}

struct HostState {
    index: usize,
    base: String,
    mode: Arc<Mutex<Mode>>,
    shared: Arc<Shared>,
}

pub struct Host {
    pub addr: SocketAddr,
    pub base: String,
    mode: Arc<Mutex<Mode>>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

pub struct Fleet {
    pub hosts: Vec<Host>,
    shared: Arc<Shared>,
}

async fn inbox(
    State(state): State<Arc<HostState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mode = *state.mode.lock().unwrap();
    if mode == Mode::Hang {
        std::future::pending::<()>().await;
    }
    let verified = if headers.contains_key("signature-input") {
        state
            .shared
            .verifier
            .verify_rfc9421(&state.base, &uri, &headers, &body)
            .await
    } else {
        state.shared.verifier.verify(&uri, &headers, &body).await
    };
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut got = Got {
        host: state.index,
        inbox: format!("{}{}", state.base, uri.path()),
        activity_id: activity["id"].as_str().unwrap_or_default().to_string(),
        activity_type: activity["type"].as_str().unwrap_or_default().to_string(),
        verified,
        status: 0,
        body: activity,
    };
    if let Mode::Slow(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    let status = match mode {
        Mode::Status(code) => StatusCode::from_u16(code).unwrap(),
        _ if got.verified.is_err() => StatusCode::UNAUTHORIZED,
        _ => StatusCode::ACCEPTED,
    };
    got.status = status.as_u16();
    state.shared.received.lock().unwrap().push(got);
    status
}

fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<HostState>,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel();
    let router = Router::new().fallback(inbox).with_state(state);
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    (tx, handle)
}

impl Fleet {
    /// Starts `n` hosts on 127.0.0.2, 127.0.0.3, … (one address each, so each is its own host to Steppe).
    pub async fn spawn(n: usize) -> Self {
        let shared = Arc::new(Shared {
            received: Mutex::default(),
            verifier: Verifier::default(),
        });
        let mut hosts = Vec::new();
        for index in 0..n {
            let ip = format!("127.0.{}.{}", (index + 2) / 250, (index + 2) % 250 + 1);
            let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let base = format!("http://{addr}");
            let mode = Arc::new(Mutex::new(Mode::Accept));
            let state = Arc::new(HostState {
                index,
                base: base.clone(),
                mode: mode.clone(),
                shared: shared.clone(),
            });
            let (stop, handle) = serve(listener, state);
            hosts.push(Host {
                addr,
                base,
                mode,
                stop: Some(stop),
                handle: Some(handle),
            });
        }
        Self { hosts, shared }
    }

    pub fn set_mode(&self, host: usize, mode: Mode) {
        *self.hosts[host].mode.lock().unwrap() = mode;
    }

    /// Stops a host: connections to it are refused until [`Fleet::start`].
    pub async fn stop(&mut self, host: usize) {
        let h = &mut self.hosts[host];
        if let Some(stop) = h.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = h.handle.take() {
            handle.abort();
            let _ = handle.await;
        }
    }

    /// Starts a stopped host again on the same address.
    pub async fn start(&mut self, host: usize) {
        let listener = tokio::net::TcpListener::bind(self.hosts[host].addr)
            .await
            .unwrap();
        let state = Arc::new(HostState {
            index: host,
            base: self.hosts[host].base.clone(),
            mode: self.hosts[host].mode.clone(),
            shared: self.shared.clone(),
        });
        let (stop, handle) = serve(listener, state);
        self.hosts[host].stop = Some(stop);
        self.hosts[host].handle = Some(handle);
    }

    pub fn received(&self) -> Vec<Got> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits (up to `seconds`) until `done` holds for what was received; returns it.
    pub async fn wait_until(&self, seconds: u64, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        for _ in 0..seconds * 20 {
            let got = self.received();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = self.received();
        assert!(
            done(&got),
            "timed out; received {} requests: {:?}",
            got.len(),
            got.iter().take(5).collect::<Vec<_>>()
        );
        got
    }

    /// The personal inbox of account `n` on `host`.
    pub fn inbox(&self, host: usize, n: usize) -> String {
        format!("{}/users/u{n}/inbox", self.hosts[host].base)
    }

    pub fn shared_inbox(&self, host: usize) -> String {
        format!("{}/inbox", self.hosts[host].base)
    }

    /// Stores `per_host` followers on each host directly in the database (a Follow handshake per follower is tested
    /// elsewhere); with `shared`, they list the host's shared inbox.
    pub async fn follow(&self, db: &Db, per_host: usize, shared: bool) {
        self.follow_range(db, 0..per_host, shared).await;
    }

    /// Like [`Fleet::follow`], for the accounts numbered `accounts` on each host.
    pub async fn follow_range(&self, db: &Db, accounts: std::ops::Range<usize>, shared: bool) {
        for host in 0..self.hosts.len() {
            for n in accounts.clone() {
                let base = &self.hosts[host].base;
                sqlx::query(
                    "INSERT INTO followers (actor_id, follow_id, inbox, shared_inbox, handle, name, avatar_url, \
                     followed_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, 1)",
                )
                .bind(format!("{base}/users/u{n}"))
                .bind(format!("{base}/follows/u{n}"))
                .bind(self.inbox(host, n))
                .bind(shared.then(|| self.shared_inbox(host)))
                .bind(format!("@u{n}@{}", self.hosts[host].addr))
                .bind(format!("U{n}"))
                .execute(&db.pool)
                .await
                .unwrap();
            }
        }
    }
}

impl Fleet {
    /// The bodies of the activities of `activity_type` received so far.
    pub fn bodies(&self, activity_type: &str) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|g| g.activity_type == activity_type)
            .map(|g| g.body)
            .collect()
    }
}

/// How many times each inbox got each activity type: `(inbox, type) → count`.
pub fn counts(got: &[Got], activity_type: &str) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for g in got.iter().filter(|g| g.activity_type == activity_type) {
        *counts.entry(g.inbox.clone()).or_insert(0) += 1;
    }
    counts
}
