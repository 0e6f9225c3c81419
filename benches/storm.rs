//! Storm benchmark (not a test): readers on a post that went viral while replies and likes pour in. 32 keep-alive
//! readers load the post page (then the home page) for a while with nothing arriving (the quiet rate), then again
//! while signed replies and likes from 2,500 remote actors arrive at a steady rate (200 a second by default, half
//! replies, half likes, every one storing something). Printed: each page's rate in the storm as a ratio to its quiet
//! rate in the same run, the rate at which the inbox kept up, and how long a new reply took to show on the post page
//! (from its 202 to the first page that has it; the median and the slowest of the samples). Also Steppe's peak
//! resident memory.
//!
//! `cargo bench --bench storm` (options after `--`: `--seconds N` per measurement, `--rate N` events per second,
//! `--readers N`).

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{
    BoxError,
    fediverse::{Blog, Event, Remote, remote, send_all},
    get_once, load, memory_kib, read_response,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

struct Options {
    seconds: u64,
    rate: usize,
    readers: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    Options {
        seconds: value("--seconds", 5).max(1),
        rate: usize::try_from(value("--rate", 200))
            .unwrap_or(200)
            .clamp(1, 5000),
        readers: usize::try_from(value("--readers", 32)).unwrap_or(32).max(1),
    }
}

/// Remote actors in the storm (each likes the post once at most, so every like stores something).
const ACTORS: usize = 2500;

/// Sends `requests` at `rate` a second (from a few connections, so that a slow answer does not hold the pace
/// back) until they run out or `stop` is set; returns how many were answered 202 and the seconds that took.
async fn send_at_rate(
    port: u16,
    requests: Arc<Vec<Vec<u8>>>,
    rate: usize,
    stop: Arc<AtomicBool>,
) -> Result<(usize, f64), BoxError> {
    let connections = 16;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (requests, next, stop) = (requests.clone(), next.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(4096);
            let mut answered = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                // Request i is due at i ÷ rate seconds after the start.
                let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
                tokio::time::sleep_until(due.into()).await;
                stream.write_all(request).await?;
                let (status, _) = read_response(&mut stream, &mut buf).await?;
                if status != 202 {
                    return Err::<usize, BoxError>(format!("event {i} answered {status}").into());
                }
                answered += 1;
            }
            Ok(answered)
        }));
    }
    let mut answered = 0;
    for t in tasks {
        answered += t.await??;
    }
    Ok((answered, start.elapsed().as_secs_f64()))
}

/// The storm's events: replies and likes in turn, from the actors in turn.
fn storm_events(first: usize, count: usize) -> Vec<(usize, Event)> {
    (first..first + count)
        .map(|n| {
            let actor = (n / 2) % ACTORS;
            let event = if n % 2 == 0 {
                Event::Reply {
                    n,
                    text: format!("Storm reply {n}."),
                }
            } else {
                Event::Like { n }
            };
            (actor, event)
        })
        .collect()
}

/// Readers' rate on `path` while `events` arrive at `rate` (none: quiet); returns (readers' req/s, events
/// answered per second).
async fn readers_rate(
    blog: &Blog,
    path: &str,
    events: Option<Vec<Vec<u8>>>,
    o: &Options,
) -> Result<(f64, f64), BoxError> {
    let request = Arc::new(vec![format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
        blog.host
    )]);
    // One second of warm-up (the page rendered and cached), then the measured run.
    load(blog.port, request.clone(), 200, o.readers, 1).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let sender = events.map(|events| {
        let (port, rate, stop) = (blog.port, o.rate, stop.clone());
        tokio::spawn(async move { send_at_rate(port, Arc::new(events), rate, stop).await })
    });
    let readers = load(blog.port, request, 200, o.readers, o.seconds).await?;
    stop.store(true, Ordering::Relaxed);
    let inbox = match sender {
        Some(task) => {
            let (answered, seconds) = task.await??;
            answered as f64 / seconds
        }
        None => 0.0,
    };
    Ok((readers, inbox))
}

/// Milliseconds from a reply's 202 to the first post page that shows it, sampled `samples` times while a storm
/// arrives.
async fn visibility_ms(
    blog: &Blog,
    remote: &Arc<Remote>,
    samples: usize,
    storm: Vec<Vec<u8>>,
    o: &Options,
) -> Result<Vec<f64>, BoxError> {
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (port, rate, stop) = (blog.port, o.rate, stop.clone());
        tokio::spawn(async move { send_at_rate(port, Arc::new(storm), rate, stop).await })
    };
    let path = format!("/posts/{}", blog.slug);
    // Replies are ordered by the second they were written in: the samples are written a second after the storm's
    // replies were signed, so that each is the newest and shows on the post's own (newest) page of comments.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut times = Vec::new();
    for s in 0..samples {
        let marker = format!("Sample reply {s}, looked for on the page.");
        let probe = remote.sign_all(
            vec![(
                s % ACTORS,
                Event::Reply {
                    n: 800_000_000 + s,
                    text: marker.clone(),
                },
            )],
            &blog.article,
            &blog.host,
        )?;
        send_all(blog.port, probe, 1).await?;
        let sent = Instant::now();
        loop {
            let (status, body) = get_page(blog.port, &path).await?;
            if status == 200 && body.contains(&marker) {
                break;
            }
            if sent.elapsed() > Duration::from_secs(60) {
                let stored: Option<(String, String, i64)> = sqlx::query_as(
                    "SELECT status, visibility, published_at FROM comments WHERE id LIKE $1",
                )
                .bind(format!("%/statuses/{}", 800_000_000 + s))
                .fetch_optional(&blog.db.pool)
                .await?;
                return Err(
                    format!("a reply did not show within a minute (stored: {stored:?})").into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(sent.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    sender.await??;
    Ok(times)
}

/// One GET of `path`; the status and the body.
async fn get_page(port: u16, path: &str) -> Result<(u16, String), BoxError> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    let (status, length) = read_response(&mut s, &mut buf).await?;
    let body = String::from_utf8_lossy(&buf[buf.len().saturating_sub(length)..]).into_owned();
    Ok((status, body))
}

fn main() -> Result<(), BoxError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench(options()))
}

async fn bench(o: Options) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    println!("generating a 2048-bit RSA key for the remote actors…");
    let remote = remote().await?;
    let blog = Blog::start(dir.path(), 20, "").await?;
    let pid = blog.steppe.0.id();
    if get_once(blog.port, &format!("/posts/{}", blog.slug))
        .await?
        .0
        != 200
    {
        return Err("the post page does not answer".into());
    }

    // Warm-up: one reply from each actor (their keys and profiles fetched), and a post with comments to show.
    println!("warming up: a reply from each of {ACTORS} actors…");
    let warm: Vec<(usize, Event)> = (0..ACTORS)
        .map(|a| {
            (
                a,
                Event::Reply {
                    n: 700_000_000 + a,
                    text: format!("Warm-up reply from reader {a}."),
                },
            )
        })
        .collect();
    let warm = remote.sign_all(warm, &blog.article, &blog.host)?;
    send_all(blog.port, warm, 16).await?;

    let per_run = o.rate * usize::try_from(o.seconds + 2)?;
    let mut first = 0usize;
    let mut storm = || -> Result<Vec<Vec<u8>>, BoxError> {
        let events = storm_events(first, per_run);
        first += per_run;
        remote.sign_all(events, &blog.article, &blog.host)
    };
    let post_path = format!("/posts/{}", blog.slug);
    println!(
        "{} readers, {} s per measurement, events at {}/s (replies and likes in turn)",
        o.readers, o.seconds, o.rate
    );
    println!(
        "{:<10} {:>12} {:>12} {:>8} {:>14}",
        "page", "quiet req/s", "storm req/s", "ratio", "inbox events/s"
    );
    for (name, path) in [("post page", post_path.as_str()), ("home page", "/")] {
        let (quiet, _) = readers_rate(&blog, path, None, &o).await?;
        let events = storm()?;
        let (stormy, inbox) = readers_rate(&blog, path, Some(events), &o).await?;
        println!(
            "{name:<10} {quiet:>12.0} {stormy:>12.0} {:>8.2} {inbox:>14.0}",
            stormy / quiet
        );
    }
    let events = storm()?;
    let mut times = visibility_ms(&blog, &remote, 10, events, &o).await?;
    times.sort_by(f64::total_cmp);
    println!(
        "a new reply shows on the post page {:.0} ms after its 202 (median of {}; slowest {:.0} ms)",
        times[times.len() / 2],
        times.len(),
        times[times.len() - 1]
    );
    let (_, peak) = memory_kib(pid);
    println!(
        "steppe peak resident memory: {:.1} MiB",
        peak as f64 / 1024.0
    );
    Ok(())
}
