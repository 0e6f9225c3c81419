//! Exhausting the server as one hostile client would try: slow and idle connections by the thousand, a storm of
//! logins measured from `/proc` of a spawned binary, and a handler that panics; plus the headers every answer
//! carries.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use axum::{Router, body::Body, http::Request, routing::get};
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tower::ServiceExt;

use crate::harness::{OWNER, OWNER_NAME, PASSWORD, TestApp, form_token, fresh_database, post_form};

/// The binary to attack: `STEPPE_TEST_RELEASE_BIN` when set (CI builds the release binary and sets it, since that
/// is what bloggers run), else the one `cargo test` built.
fn binary() -> String {
    std::env::var("STEPPE_TEST_RELEASE_BIN")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_steppe").to_string())
}

/// A `steppe serve` process on its own port and database, killed when dropped.
pub(crate) struct Spawned {
    pub(crate) base: String,
    port: u16,
    pub(crate) pid: u32,
    pub(crate) db_url: String,
    pub(crate) media_dir: std::path::PathBuf,
    _child: Killed,
    _dir: tempfile::TempDir,
}

impl Spawned {
    /// Starts the binary with `server` appended to its `[server]` table, and waits until it answers.
    pub(crate) async fn start(server: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (db_url, _cleanup) = fresh_database(&dir).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[site]\npublic_url = \"http://127.0.0.1:{port}\"\ntitle = \"Spawned\"\n\
                 [server]\nbind = \"127.0.0.1:{port}\"\n{server}\n\
                 [database]\nurl = \"{db_url}\"\n[media]\ndir = \"{}\"\n[delivery]\nworkers = 0\n",
                dir.path().join("media").display()
            ),
        )
        .unwrap();
        let child = Command::new(binary())
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_clear()
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let pid = child.id();
        let child = Killed(child);
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok() {
                return Self {
                    base,
                    port,
                    pid,
                    db_url,
                    media_dir: dir.path().join("media"),
                    _child: child,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the binary did not start");
    }
}

impl Spawned {
    /// Creates the owner through the setup form; returns their logged-in client.
    pub(crate) async fn owner(&self) -> reqwest::Client {
        let base = &self.base;
        let owner = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let token = form_token(&owner, &format!("{base}/admin"), &[]).await;
        let r = post_form(
            &owner,
            &format!("{base}/admin/setup"),
            &[],
            &[
                ("csrf", &token),
                ("username", OWNER),
                ("display_name", OWNER_NAME),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        owner
    }
}

/// Opens a connection to `port` from the loopback address `from` (so that the server sees several clients).
async fn connect_from(from: &str, port: u16) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(format!("{from}:0").parse().ok()?).ok()?;
    socket
        .connect(format!("127.0.0.1:{port}").parse().ok()?)
        .await
        .ok()
}

/// Whether the server has closed `stream` (end of file or reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A 408 or an error page before closing is fine; keep reading until the end.
            Ok(Ok(_)) => {}
        }
    }
}

/// 1,000 clients that send headers and never finish them, and idle ones that send nothing: the server keeps at
/// most `max_connections_per_ip` of one address, drops the rest at once and the held ones after the header
/// deadline, and serves everyone else meanwhile.
#[tokio::test]
async fn slow_and_idle_clients_are_dropped_while_others_are_served() {
    // The test holds over a thousand sockets itself.
    let limit = rlimit::increase_nofile_limit(8192).unwrap_or(1024);
    let slow_clients = 1000.min(usize::try_from(limit).unwrap_or(1024).saturating_sub(200));
    let server = Spawned::start("header_timeout_seconds = 2").await;
    let port = server.port;
    let healthz = format!("{}/healthz", server.base);

    let mut slow = Vec::new();
    for n in 0..slow_clients {
        // Four client addresses, as one attacker with a few machines.
        let from = format!("127.0.0.{}", 2 + n % 4);
        if let Some(mut stream) = connect_from(&from, port).await {
            let _ = stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await;
            slow.push(stream);
        }
    }
    let mut idle = Vec::new();
    for _ in 0..50 {
        if let Some(stream) = connect_from("127.0.0.6", port).await {
            idle.push(stream);
        }
    }
    assert!(
        slow.len() + idle.len() >= slow_clients,
        "the test could open its connections"
    );
    // A keep-alive connection that made one request and then says nothing.
    let mut kept = connect_from("127.0.0.7", port).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 256];
    let n = kept.read(&mut answer).await.unwrap();
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer[..n])
    );
    // Everyone else is served at once.
    for _ in 0..20 {
        let r = reqwest::get(&healthz).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // Within the header deadline (2 s) and a margin, every slow and idle connection is closed by the server.
    let mut still_open = 0;
    for stream in slow
        .iter_mut()
        .chain(idle.iter_mut())
        .chain(std::iter::once(&mut kept))
    {
        if !closed_within(stream, Duration::from_secs(6)).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "connections the server kept open");
    assert_eq!(
        reqwest::get(&healthz).await.unwrap().status(),
        StatusCode::OK
    );
}

/// Silent clients from many addresses fill every connection slot (16 here): the oldest of them are closed to make
/// room, so others are served long before the silent ones' header deadline (60 s here) would free a slot.
#[tokio::test]
async fn silent_clients_from_many_addresses_make_room_for_others() {
    let server = Spawned::start(
        "max_connections = 16\nmax_connections_per_ip = 4\nheader_timeout_seconds = 60",
    )
    .await;
    let mut silent = Vec::new();
    for n in 0..16 {
        let from = format!("127.0.0.{}", 10 + n / 4);
        silent.push(connect_from(&from, server.port).await.unwrap());
    }
    // Old enough to be judged.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for _ in 0..5 {
        let r = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("served while the slots were full of silent clients");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let mut closed = 0;
    for stream in &mut silent {
        if closed_within(stream, Duration::from_millis(100)).await {
            closed += 1;
        }
    }
    assert!(closed >= 1, "silent connections were closed to make room");
}

/// Resident memory of a process, in KiB: `VmHWM` (the peak) or `VmRSS` (now).
pub(crate) fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// 100 concurrent logins for unknown users (each one an argon2 check against the decoy hash, 19 MiB of memory)
/// from 100 addresses once took the process from 16 MB to 1.9 GB. Now hashing runs in a few slots with pooled
/// memory: the peak stays within a few argon2 instances of where it started.
#[tokio::test]
async fn a_login_storm_does_not_grow_memory() {
    let server = Spawned::start("trust_forwarded_for = true").await;
    let base = server.base.clone();
    let pid = server.pid;
    // An owner exists, so that the login form is the one being attacked.
    server.owner().await;
    let before = memory_kib(pid, "VmRSS:");
    let attempts: Vec<_> = (0..100)
        .map(|n| {
            let base = base.clone();
            async move {
                let client = reqwest::Client::builder()
                    .cookie_store(true)
                    .build()
                    .unwrap();
                let ip = format!("198.51.{}.{}", n / 200, n % 200);
                let from = [("x-forwarded-for", ip.as_str())];
                let token = form_token(&client, &format!("{base}/admin"), &from).await;
                let username = format!("nobody{n}");
                post_form(
                    &client,
                    &format!("{base}/admin/login"),
                    &from,
                    &[
                        ("csrf", &token),
                        ("username", &username),
                        ("password", "not the password"),
                    ],
                )
                .await
                .status()
            }
        })
        .collect();
    let statuses = futures_util::future::join_all(attempts).await;
    assert!(
        statuses.iter().all(|s| matches!(
            *s,
            StatusCode::UNAUTHORIZED | StatusCode::SERVICE_UNAVAILABLE
        )),
        "{statuses:?}"
    );
    let peak = memory_kib(pid, "VmHWM:");
    eprintln!("login storm: resident {before} KiB before, peak {peak} KiB; {statuses:?}");
    let slots = std::thread::available_parallelism().map_or(1, |n| n.get().min(4)) as u64;
    // Each slot's argon2 memory (19 MiB), and 64 MiB for everything else the storm touches.
    let bound = before + slots * 19 * 1024 + 64 * 1024;
    assert!(
        peak <= bound,
        "peak {peak} KiB after starting at {before} KiB (bound {bound} KiB, {slots} slots)"
    );
    // And it still serves.
    assert!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status()
            .is_success()
    );
}

/// A handler that panics answers with the themed 500 page, its request id, and the security headers.
#[tokio::test]
async fn a_panic_gets_the_themed_page_and_the_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, _cleanup) = fresh_database(&dir).await;
    let config = steppe::config::Config::from_toml(
        &format!(
            "[site]\npublic_url = \"https://blog.example\"\ntitle = \"Panics\"\n[database]\nurl = \"{db_url}\"\n\
             [delivery]\nworkers = 0\n"
        ),
        [],
    )
    .unwrap();
    let state = steppe::app::AppState::new(config).await.unwrap();
    async fn boom() -> &'static str {
        panic!("a handler bug")
    }
    let app = steppe::web::with_layers(Router::new().route("/boom", get(boom)), state);
    let r = app
        .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "strict-transport-security",
    ] {
        assert!(r.headers().contains_key(name), "{name} missing");
    }
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let html = String::from_utf8_lossy(&body);
    assert!(html.contains("request id"), "{html}");
    assert!(html.contains("Panics"), "the site's theme: {html}");
}

/// CSP everywhere (no inline script), HSTS only under https, and no caching of the owner's pages.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let r = app.get("/").await;
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!r.headers().contains_key("strict-transport-security"));
    // Public pages may be kept briefly by proxies (none differs for the owner); the owner's never.
    assert_eq!(r.headers()["cache-control"], "public, max-age=60");
    let r = app.get("/admin").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    app.finish().await;
    let https = TestApp::spawn_https().await;
    let r = https.get("/").await;
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    https.finish().await;
}
