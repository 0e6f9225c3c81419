//! Delivery benchmark (not a test): one new Article to 10,000 followers spread over 500 hosts on loopback, first
//! with a shared inbox per host (500 deliveries), then with none (10,000 deliveries), then both again with 5% of
//! the hosts hanging; all of it twice, signed draft-cavage with the RSA key and RFC 9421 with the Ed25519 key
//! (`federation.signature_scheme` forced to each). In the same run it measures this machine's signing rate with the
//! blog's own keys, and prints wall time, deliveries per second, the ratio to the signing limit of that way
//! (inboxes ÷ (signatures per second × cores)), the Ed25519 runs' time against the RSA runs', the hanging runs' time
//! for the healthy hosts against the run without hanging hosts, and Steppe's resident memory.
//!
//! `cargo bench --bench delivery` (options after `--`: `--followers N`, `--hosts N`, `--hanging-percent N`,
//! `--workers N` for Steppe's `delivery.workers`, `--signing rsa|ed25519|both`).
//! Steppe runs as its own process (`steppe serve`, release build, SQLite, default `[delivery]` settings); the stub
//! inboxes run in this process, one listener per host on 127.0.x.y, answering 202 without checking signatures.

use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use axum::{Router, extract::State, http::StatusCode};
use steppe::{
    db::Db,
    federation::{
        keys,
        signatures::{cavage, rfc9421},
    },
};

mod common;

use common::{BoxError, Killed, cpu_seconds, free_port, memory_kib};

struct Options {
    followers: usize,
    hosts: usize,
    hanging_percent: usize,
    /// `delivery.workers` for Steppe (0: the default from config).
    workers: usize,
    /// Which ways of signing to run: "rsa", "ed25519" or "both".
    signing: String,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    Options {
        followers: value("--followers", 10_000).max(1),
        hosts: value("--hosts", 500).clamp(1, 60_000),
        hanging_percent: value("--hanging-percent", 5).min(50),
        workers: value("--workers", 0),
        signing: args
            .iter()
            .position(|a| a == "--signing")
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| "both".into()),
    }
}

/// One stub host: counts what it receives, or hangs.
struct Stub {
    hang: AtomicBool,
    received: Arc<AtomicUsize>,
}

async fn stub_inbox(State(stub): State<Arc<Stub>>, _body: axum::body::Bytes) -> StatusCode {
    if stub.hang.load(Ordering::Relaxed) {
        std::future::pending::<()>().await;
    }
    stub.received.fetch_add(1, Ordering::Relaxed);
    StatusCode::ACCEPTED
}

struct Fleet {
    bases: Vec<String>,
    stubs: Vec<Arc<Stub>>,
    received: Arc<AtomicUsize>,
}

async fn fleet(hosts: usize) -> Result<Fleet, BoxError> {
    let received = Arc::new(AtomicUsize::new(0));
    let mut bases = Vec::new();
    let mut stubs = Vec::new();
    for i in 0..hosts {
        let ip = format!("127.0.{}.{}", i / 250 + 1, i % 250 + 2);
        let listener = tokio::net::TcpListener::bind(format!("{ip}:0")).await?;
        bases.push(format!("http://{}", listener.local_addr()?));
        let stub = Arc::new(Stub {
            hang: AtomicBool::new(false),
            received: received.clone(),
        });
        stubs.push(stub.clone());
        let router = Router::new().fallback(stub_inbox).with_state(stub);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
    }
    Ok(Fleet {
        bases,
        stubs,
        received,
    })
}

/// Signatures per second on one core, with the blog's key over a body the size of a Create: draft-cavage with the
/// RSA key, or (`ed25519`) RFC 9421 with the Ed25519 key.
fn signing_rate(key: &keys::BlogKey, ed25519: bool) -> f64 {
    let body = vec![b'x'; 2500];
    let sign = || {
        if let (true, Some(ed)) = (ed25519, &key.ed25519) {
            let _ = rfc9421::sign(
                ed,
                "http://127.0.0.1/users/blog#ed25519-key",
                "POST",
                "http://127.0.1.2:40000/inbox",
                Some((&body, "application/activity+json")),
                SystemTime::now(),
            );
        } else {
            let _ = cavage::sign(
                &key.private,
                "http://127.0.0.1/users/blog#main-key",
                "POST",
                "127.0.1.2:40000",
                "/inbox",
                Some(&body),
                SystemTime::now(),
            );
        }
    };
    for _ in 0..50 {
        sign();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        sign();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn csrf(html: &str) -> Result<String, BoxError> {
    let at = html.find("name=\"csrf\" value=\"").ok_or("no csrf field")? + 19;
    let end = html[at..].find('"').ok_or("no csrf value")?;
    Ok(html[at..at + end].to_string())
}

/// Result of one scenario.
struct Run {
    deliveries: usize,
    healthy: usize,
    seconds: f64,
    /// CPU time Steppe used during the fan-out.
    cpu: f64,
    peak_rss_kib: u64,
}

/// Seeds followers, starts Steppe, publishes a post and times the fan-out until every healthy inbox has it.
async fn scenario(
    o: &Options,
    fleet: &Fleet,
    shared_inbox: bool,
    hanging: usize,
    signing: &str,
) -> Result<Run, BoxError> {
    for (i, stub) in fleet.stubs.iter().enumerate() {
        stub.hang.store(i < hanging, Ordering::Relaxed);
    }
    fleet.received.store(0, Ordering::Relaxed);
    let dir = tempfile::tempdir()?;
    let db_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let port = free_port()?;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\npublic_url = \"http://127.0.0.1:{port}\"\ntitle = \"Bench\"\n[server]\nbind = \"127.0.0.1:{port}\"\n\
             [database]\nurl = \"{db_url}\"\n[media]\ndir = \"{}\"\n[federation]\nallow_private_addresses = true\n",
            dir.path().join("media").display()
        ),
    )?;
    let db = Db::connect(&db_url, 2).await?;
    db.migrate().await?;
    let mut tx = db.begin_write().await?;
    let per_host = o.followers.div_ceil(o.hosts);
    for n in 0..o.followers {
        let base = &fleet.bases[n % o.hosts];
        let user = n / o.hosts;
        sqlx::query(
            "INSERT INTO followers (actor_id, follow_id, inbox, shared_inbox, handle, name, avatar_url, followed_at) \
             VALUES ($1, $2, $3, $4, $5, 'F', NULL, 1)",
        )
        .bind(format!("{base}/users/u{user}"))
        .bind(format!("{base}/follows/u{user}"))
        .bind(format!("{base}/users/u{user}/inbox"))
        .bind(shared_inbox.then(|| format!("{base}/inbox")))
        .bind(format!("@u{user}@{base}"))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    db.pool.close().await;
    let deliveries = if shared_inbox { o.hosts } else { o.followers };
    let healthy = deliveries
        - if shared_inbox {
            hanging
        } else {
            hanging * per_host
        };

    let child = Killed(
        Command::new(env!("CARGO_BIN_EXE_steppe"))
            .args(["--config", &config.to_string_lossy(), "serve"])
            .env("RUST_LOG", "error")
            .envs((o.workers > 0).then(|| ("STEPPE_DELIVERY__WORKERS", o.workers.to_string())))
            .env("STEPPE_FEDERATION__SIGNATURE_SCHEME", signing)
            .stdout(Stdio::null())
            .spawn()?,
    );
    let pid = child.0.id();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = http
        .get(format!("{base}/admin"))
        .send()
        .await?
        .text()
        .await?;
    http.post(format!("{base}/admin/setup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([
            ("csrf", csrf(&page)?.as_str()),
            ("username", "owner"),
            ("display_name", "Owner"),
            ("password", "a-long-bench-password"),
        ])?)
        .send()
        .await?;
    let page = http
        .get(format!("{base}/admin/posts/new"))
        .send()
        .await?
        .text()
        .await?;
    let token = csrf(&page)?;
    let body = "A post of ordinary length. ".repeat(60);
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(memory_kib(pid).0);
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        })
    };
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let r = http
        .post(format!("{base}/admin/posts/new"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([
            ("csrf", token.as_str()),
            ("title", "Fan-out"),
            ("tags", ""),
            ("body", body.as_str()),
            ("action", "publish"),
        ])?)
        .send()
        .await?;
    if r.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(format!("publishing answered {}", r.status()).into());
    }
    while fleet.received.load(Ordering::Relaxed) < healthy {
        if start.elapsed() > Duration::from_secs(300) {
            return Err("fan-out did not finish in 5 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    sampling.store(false, Ordering::Relaxed);
    let peak_rss_kib = sampler.join().unwrap_or(0);
    drop(child);
    Ok(Run {
        deliveries,
        healthy,
        seconds,
        cpu,
        peak_rss_kib,
    })
}

async fn run() -> Result<(), BoxError> {
    let o = options();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let key_dir = tempfile::tempdir()?;
    let db = Db::connect(
        &format!("sqlite:{}", key_dir.path().join("key.db").display()),
        1,
    )
    .await?;
    db.migrate().await?;
    let key = keys::load_or_create(&db).await?;
    let ways: Vec<(&str, &str, bool)> = [
        ("draft-cavage", "RSA, draft-cavage", false),
        ("rfc9421-ed25519", "Ed25519, RFC 9421", true),
    ]
    .into_iter()
    .filter(|(_, _, ed)| match o.signing.as_str() {
        "rsa" => !ed,
        "ed25519" => *ed,
        _ => true,
    })
    .collect();
    let mut rates = Vec::new();
    for (_, label, ed) in &ways {
        let rate = signing_rate(&key, *ed);
        println!(
            "signing ({label}): {rate:.0} signatures/s on one core, {cores} cores → limit {:.0}/s",
            rate * cores as f64
        );
        rates.push(rate);
    }
    let fleet = fleet(o.hosts).await?;
    let hanging = o.hosts * o.hanging_percent / 100;
    println!(
        "{} followers on {} hosts; {hanging} hosts hang in the hanging runs\n",
        o.followers, o.hosts
    );
    println!(
        "{:<42} {:>11} {:>8} {:>10} {:>12} {:>14} {:>9}",
        "run", "delivered", "seconds", "per second", "× sign limit", "Steppe CPU/s", "peak RSS"
    );
    // Seconds of each (shared, hanging) run signed the first way, for the ratio of the second way.
    let mut first_way = std::collections::HashMap::new();
    for ((scheme, way, _), rate) in ways.iter().zip(&rates) {
        let mut baseline = [0.0; 2];
        for (hang, label) in [(0, ""), (hanging, ", 5% hanging")] {
            for (i, shared) in [true, false].into_iter().enumerate() {
                let run = scenario(&o, &fleet, shared, hang, scheme).await?;
                let limit = run.healthy as f64 / (rate * cores as f64);
                let name = format!(
                    "{way}: {}{label}",
                    if shared {
                        "shared inboxes"
                    } else {
                        "no shared inbox"
                    }
                );
                println!(
                    "{:<42} {:>11} {:>8.3} {:>10.0} {:>12.2} {:>14.2} {:>6.1} MB",
                    name,
                    format!("{}/{}", run.healthy, run.deliveries),
                    run.seconds,
                    run.healthy as f64 / run.seconds,
                    run.seconds / limit,
                    run.cpu / run.seconds,
                    run.peak_rss_kib as f64 / 1024.0
                );
                if hang == 0 {
                    baseline[i] = run.seconds;
                } else {
                    println!(
                        "{:<42} healthy hosts took {:.2}× the run without hanging hosts",
                        "",
                        run.seconds / baseline[i]
                    );
                }
                match first_way.get(&(shared, hang)) {
                    None => {
                        first_way.insert((shared, hang), (run.seconds, *way));
                    }
                    Some((seconds, first)) => println!(
                        "{:<42} took {:.2}× the time of the same run signed {first}",
                        "",
                        run.seconds / seconds
                    ),
                }
            }
        }
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
