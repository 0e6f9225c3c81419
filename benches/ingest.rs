//! Ingest benchmark (not a test): signed replies (`Create{Note}`) from 200 remote actors whose keys Steppe already
//! holds, POSTed to the shared inbox of one post's blog, at several sizes of history (comments already on that post,
//! all from the same host in the last hour, as when a post goes viral on one large instance) and at several
//! numbers of connections. Two rates: replies accepted (answered 202, which the durable inbox does once a reply is
//! stored in its queue) per second, and replies applied (stored as comments: the clock stops when the database
//! holds them all) per second.
//!
//! In the same run it measures the three ceilings the rates are compared with, and prints the ratio to the lowest:
//! - a bare axum server (this bench binary re-run with `--bare`) taking the same bodies and answering 202;
//! - RSA signature verifications per second on one core (the check every POST needs), with a 2048-bit key;
//! - comment rows per second that SQLite stores in transactions of 100, with Steppe's own schema and indexes.
//!
//! It also prints Steppe's peak resident memory. The per-event cost must not depend on history: the rates at the
//! sizes of history should be within 1.5× of each other.
//!
//! `cargo bench --bench ingest` (options after `--`: `--replies N` per measurement, `--levels 1000,10000,50000`,
//! `--connections 32,128`, `--actors N`, `--inbox-workers N`: activities applied at once, 0 to measure only how
//! fast replies are accepted, with nothing applied).

mod common;

use std::{
    path::Path as FsPath,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, http::StatusCode, routing::get};
use common::{
    BoxError, Killed,
    fediverse::{Blog, Event, Remote, new_post, remote, send_all},
    free_port, memory_kib, wait_ready,
};
use steppe::{
    db::{self, Db},
    federation::signatures::PrivateKey,
};

struct Options {
    replies: usize,
    levels: Vec<usize>,
    connections: Vec<usize>,
    actors: usize,
    /// `inbox.workers` for Steppe; `None` keeps its default.
    inbox_workers: Option<usize>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let list = |name: &str, default: &[usize]| -> Vec<usize> {
        value(name)
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .filter(|v: &Vec<usize>| !v.is_empty())
            .unwrap_or_else(|| default.to_vec())
    };
    Options {
        replies: value("--replies")
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000usize)
            .max(100),
        levels: list("--levels", &[1000, 10_000, 50_000]),
        connections: list("--connections", &[32, 128]),
        actors: value("--actors")
            .and_then(|v| v.parse().ok())
            .unwrap_or(200usize)
            .clamp(1, 10_000),
        inbox_workers: value("--inbox-workers").and_then(|v| v.parse().ok()),
    }
}

/// Signs `count` replies numbered from `first`, from the actors in turn.
fn replies(
    remote: &Arc<Remote>,
    o: &Options,
    first: usize,
    count: usize,
    blog: &Blog,
) -> Result<Vec<Vec<u8>>, BoxError> {
    let events = (first..first + count)
        .map(|n| {
            let text = format!(
                "Reply number {n}: a thought about the steppe, its NGOs and the people who work there."
            );
            (n % o.actors, Event::Reply { n, text })
        })
        .collect();
    remote.sign_all(events, &blog.article, &blog.host)
}

async fn comment_count(db: &Db, post_id: &str) -> Result<usize, BoxError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE post_id = $1")
        .bind(post_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(usize::try_from(n)?)
}

/// Comments from `host` received at `since` or later (read through an index, so that waiting costs little).
async fn received_since(db: &Db, host: &str, since: i64) -> Result<usize, BoxError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments WHERE author_host = $1 AND received_at >= $2",
    )
    .bind(host)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    Ok(usize::try_from(n)?)
}

/// Replies per second answered 202, and per second until all `requests` are stored as comments (the answer comes
/// when a reply is queued; the clock stops when the database holds them all as comments).
async fn ingest_rate(
    port: u16,
    db: &Db,
    remote_host: &str,
    requests: Vec<Vec<u8>>,
    connections: usize,
    applying: bool,
) -> Result<(f64, f64), BoxError> {
    let since = db::now();
    let before = received_since(db, remote_host, since).await?;
    let count = requests.len();
    let start = Instant::now();
    let answered = send_all(port, requests, connections).await?;
    if !applying {
        return Ok((count as f64 / answered, f64::NAN));
    }
    loop {
        let now = received_since(db, remote_host, since).await?;
        if now >= before + count {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(format!("only {} of {count} replies stored", now - before).into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok((
        count as f64 / answered,
        count as f64 / start.elapsed().as_secs_f64(),
    ))
}

/// Adds comments to `post_id` directly in the database until it has `level`: authors among the remote actors, all
/// received in the last hour (what flood checks and counts would have to read if they read history).
async fn fill_to(
    db: &Db,
    post_id: &str,
    remote: &str,
    actors: usize,
    level: usize,
) -> Result<(), BoxError> {
    let have = comment_count(db, post_id).await?;
    let host = remote.trim_start_matches("http://");
    let now = db::now();
    let mut n = have;
    while n < level {
        let mut tx = db.pool.begin().await?;
        for _ in 0..500.min(level - n) {
            let actor = format!("{remote}/users/r{}", n % actors);
            sqlx::query(
                "INSERT INTO comments (id, anchor, post_id, parent_id, author_id, author_host, author_name, \
                 author_handle, author_url, author_avatar, content_html, attachments_html, visibility, status, \
                 published_at, received_at) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $4, NULL, $8, '', 'public', \
                 'shown', $9, $9)",
            )
            .bind(format!("{actor}/statuses/history-{n}"))
            .bind(format!("h{n}"))
            .bind(post_id)
            .bind(&actor)
            .bind(host)
            .bind(format!("Reader r{}", n % actors))
            .bind(format!("@r{}@{host}", n % actors))
            .bind(format!("<p>Earlier reply {n}.</p>"))
            .bind(now - 1800 + i64::try_from(n % 1800)?)
            .execute(&mut *tx)
            .await?;
            n += 1;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Ceiling: RSA-SHA256 verifications per second on one core with a 2048-bit key, over a signing string of the size
/// Mastodon's has.
fn verify_rate(key: &PrivateKey) -> Result<f64, BoxError> {
    let public = steppe::federation::signatures::PublicKey::from_pem(&key.public_key_pem()?)?;
    let message = vec![b'x'; 200];
    let signature = key.sign_sha256(&message)?;
    for _ in 0..100 {
        public.verify_sha256(&message, &signature);
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        if !public.verify_sha256(&message, &signature) {
            return Err("the signature does not verify".into());
        }
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Ceiling: comment rows per second that SQLite stores in transactions of 100, in a fresh database with Steppe's
/// schema (its indexes included), on one post.
async fn insert_rate(dir: &FsPath) -> Result<f64, BoxError> {
    let url = format!("sqlite:{}", dir.join("ceiling.db").display());
    let db = Db::connect(&url, 2).await?;
    db.migrate().await?;
    let owner = db::users::create_owner(&db, "ceiling", "Ceiling", "not-a-real-hash").await?;
    let post = new_post(&db, &owner.id, "The ceiling's post").await?;
    let rows = 20_000usize;
    let start = Instant::now();
    fill_to(&db, &post, "http://127.0.0.1:1", 200, rows).await?;
    let rate = rows as f64 / start.elapsed().as_secs_f64();
    db.pool.close().await;
    Ok(rate)
}

/// The bare server: takes any POST body and answers 202, as cheaply as axum can.
async fn run_bare(port: u16) -> Result<(), BoxError> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/inbox",
            axum::routing::post(|_body: axum::body::Bytes| async { StatusCode::ACCEPTED }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(i) = args.iter().position(|a| a == "--bare") {
        let port: u16 = args.get(i + 1).ok_or("--bare PORT")?.parse()?;
        return runtime.block_on(run_bare(port));
    }
    runtime.block_on(bench(options()))
}

async fn bench(o: Options) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    println!("generating a 2048-bit RSA key for the remote actors…");
    let remote = remote().await?;
    let extra = o
        .inbox_workers
        .map(|n| format!("[inbox]\nworkers = {n}\n"))
        .unwrap_or_default();
    let applying = o.inbox_workers != Some(0);
    let blog = Blog::start(dir.path(), 0, &extra).await?;
    let pid = blog.steppe.0.id();

    // Warm-up: one reply from each actor, so that Steppe holds every key and profile before anything is measured
    // (applied, even when the measured replies are not, so that the keys are stored).
    let mut next = 0usize;
    let warm = replies(&remote, &o, next, o.actors, &blog)?;
    next += o.actors;
    if applying {
        ingest_rate(blog.port, &blog.db, &remote.host, warm, 16, true).await?;
    } else {
        send_all(blog.port, warm, 16).await?;
    }

    println!("measuring the ceilings…");
    let bare_port = free_port()?;
    let mut bare = Killed(
        Command::new(std::env::current_exe()?)
            .args(["--bare", &bare_port.to_string()])
            .stdout(Stdio::null())
            .spawn()?,
    );
    wait_ready(bare_port, &mut bare.0).await?;
    let bodies = replies(&remote, &o, 900_000_000, 20_000, &blog)?;
    let bare_rate = 20_000.0 / send_all(bare_port, bodies, 32).await?;
    drop(bare);
    let verify = verify_rate(&remote.key)?;
    let insert = insert_rate(dir.path()).await?;
    let ceiling = bare_rate.min(verify).min(insert);
    println!(
        "ceilings: bare POST {bare_rate:.0}/s (32 connections), RSA verify {verify:.0}/s (one core), \
         SQLite insert {insert:.0} rows/s (transactions of 100); the lowest: {ceiling:.0}/s"
    );
    println!(
        "{} remote actors on one host, {} replies per measurement",
        o.actors, o.replies
    );
    println!(
        "{:>9} {:>12} {:>11} {:>8} {:>11} {:>8}",
        "history", "connections", "accepted/s", "ratio", "applied/s", "ratio"
    );
    let mut rates: Vec<(usize, f64)> = Vec::new();
    for &level in &o.levels {
        fill_to(&blog.db, &blog.post_id, &remote.base, o.actors, level).await?;
        for &connections in &o.connections {
            let requests = replies(&remote, &o, next, o.replies, &blog)?;
            next += o.replies;
            let (accepted, applied) = ingest_rate(
                blog.port,
                &blog.db,
                &remote.host,
                requests,
                connections,
                applying,
            )
            .await?;
            rates.push((connections, applied));
            println!(
                "{level:>9} {connections:>12} {accepted:>11.0} {:>8.3} {applied:>11.0} {:>8.3}",
                accepted / ceiling,
                applied / ceiling
            );
        }
    }
    for &connections in o.connections.iter().filter(|_| applying) {
        let (low, high) = rates
            .iter()
            .filter(|(c, _)| *c == connections)
            .fold((f64::MAX, 0.0f64), |(lo, hi), &(_, r)| {
                (lo.min(r), hi.max(r))
            });
        println!(
            "{connections} connections: applied, fastest ÷ slowest across history sizes {:.2} (independent of history when ≤ 1.5)",
            high / low
        );
    }
    let (_, peak) = memory_kib(pid);
    println!(
        "steppe peak resident memory: {:.1} MiB",
        peak as f64 / 1024.0
    );
    drop(blog);
    Ok(())
}
