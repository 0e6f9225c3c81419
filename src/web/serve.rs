//! The HTTP server's accept loop: HTTP/1.1 connections with a header deadline (which is also the first-byte and the
//! keep-alive idle deadline), and bounds on the connections served in all and from one client address.
//!
//! `axum::serve` has neither a first-byte nor an idle deadline, and tower's timeout layers start only once the
//! headers are parsed, so a client that opens connections and sends nothing (or a byte a second) could hold every
//! file descriptor. Here hyper's `header_read_timeout` runs from the moment a connection waits for a request head
//! (when it opens, and after each response), a semaphore below the open-files limit bounds the connections, a
//! count per address closes one client's surplus at once, and when every slot is taken the oldest connection that
//! has not yet started a request is closed to make room (so slow clients from many addresses cannot keep everyone
//! else waiting for their deadline).

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// Descriptors kept free for the database, outgoing requests and logs when bounding connections.
const RESERVED_DESCRIPTORS: u64 = 256;
/// How long in-flight requests get to finish when the server stops.
const GRACE: Duration = Duration::from_secs(10);

/// The bounds the accept loop enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request's headers, from when the connection waits for them.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once from one address.
    pub max_per_ip: usize,
}

impl Limits {
    /// `server.*` from the configuration, with `max_connections` kept [`RESERVED_DESCRIPTORS`] below the process's
    /// open-files limit (raised first as far as the hard limit allows).
    pub fn from_config(server: &crate::config::ServerConfig) -> Self {
        let max_connections = match raise_open_files_limit() {
            Some(limit) => {
                let room = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS).max(16))
                    .unwrap_or(usize::MAX);
                if room < server.max_connections {
                    tracing::warn!(
                        open_files_limit = limit,
                        configured = server.max_connections,
                        serving = room,
                        "server.max_connections lowered to fit the open-files limit"
                    );
                }
                server.max_connections.min(room)
            }
            None => server.max_connections,
        };
        // Behind a reverse proxy every connection comes from the proxy: a bound per address would bound the site.
        let max_per_ip = if server.trust_forwarded_for {
            max_connections
        } else {
            server.max_connections_per_ip.min(max_connections)
        };
        Self {
            header_timeout: Duration::from_secs(server.header_timeout_seconds),
            max_connections,
            max_per_ip,
        }
    }
}

/// Raises the soft open-files limit to the hard one (at most 65,536) and returns the soft limit then in force.
pub fn raise_open_files_limit() -> Option<u64> {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).ok()?;
    let wanted = hard.min(65_536);
    if wanted > soft && rlimit::setrlimit(rlimit::Resource::NOFILE, wanted, hard).is_ok() {
        return Some(wanted);
    }
    Some(soft)
}

/// Connections open per client address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One connection counted for its address; uncounted when dropped.
struct AddressSlot {
    counts: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Connections that have not yet started a request, oldest first: what is closed when every slot is taken. A
/// connection leaves the list when it ends; one that has spoken is skipped.
#[derive(Default)]
struct Silent {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Watch>>>,
}

/// What the accept loop knows of one connection.
struct Watch {
    opened: Instant,
    /// Set when the connection starts its first request.
    spoke: AtomicBool,
    /// Told to close the connection.
    evicted: tokio::sync::Notify,
}

/// A connection's entry in [`Silent`]; removed when dropped.
struct Silence {
    list: Arc<Silent>,
    id: u64,
    watch: Arc<Watch>,
}

impl Silent {
    fn enter(self: &Arc<Self>) -> Silence {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let watch = Arc::new(Watch {
            opened: Instant::now(),
            spoke: AtomicBool::new(false),
            evicted: tokio::sync::Notify::new(),
        });
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, watch.clone());
        Silence {
            list: self.clone(),
            id,
            watch,
        }
    }

    /// Closes the oldest connection that has not spoken, if it is at least a second old (a client that just
    /// connected gets its chance to send).
    fn evict_oldest(&self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|_, w| !w.spoke.load(Ordering::Acquire));
        let oldest = open
            .iter()
            .next()
            .filter(|(_, w)| w.opened.elapsed() >= Duration::from_secs(1))
            .map(|(id, _)| *id);
        if let Some(watch) = oldest.and_then(|id| open.remove(&id)) {
            watch.evicted.notify_one();
        }
    }
}

impl Drop for Silence {
    fn drop(&mut self) {
        self.list
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// Accept errors that concern one connection only (the client went away during the handshake).
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops accepting, lets the
/// requests in flight finish (for up to ten seconds) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    let silent = Arc::new(Silent::default());
    loop {
        // When full, make room by closing the oldest connection that has not sent a request yet (a slow or idle
        // client from anywhere), rather than keep everyone else waiting for its header deadline; try again each
        // second while the connections are all too young to judge.
        let permit = loop {
            if let Ok(p) = connections.clone().try_acquire_owned() {
                break Some(p);
            }
            silent.evict_oldest();
            tokio::select! {
                permit = connections.clone().acquire_owned() => break permit.ok(),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = &mut shutdown => break None,
            }
        };
        let Some(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: wait rather than spin, as hyper's own server does.
                tracing::error!(error = %e, "accept error");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(slot) = per_address.enter(peer.ip(), limits.max_per_ip) else {
            tracing::debug!(%peer, "too many connections from one address; closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        let silence = silent.enter();
        tokio::spawn(async move {
            let _permit = permit;
            let _slot = slot;
            let watch = silence.watch.clone();
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    watch.spoke.store(true, Ordering::Release);
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    router.clone().oneshot(request)
                });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(GRACE, connection).await;
                }
                () = silence.watch.evicted.notified() => {
                    tracing::debug!(%peer, "silent connection closed to make room");
                }
            }
            drop(silence);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit: when all are back, every connection has ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(
        GRACE + Duration::from_secs(1),
        connections.acquire_many(all),
    )
    .await;
    Ok(())
}
