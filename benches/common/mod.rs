//! What several benchmarks share: free ports, child processes killed on drop, memory read from `/proc`, and a
//! minimal HTTP/1.1 keep-alive client (so that both sides of a ratio pay the same client cost).

#![allow(dead_code)] // Each benchmark uses a different part of this module.

pub mod fediverse;

use std::{
    process::Child,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process (Steppe, a bare server) that is killed when the benchmark drops it or fails.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident memory of a process, in KiB (VmRSS), and its peak so far (VmHWM).
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time a process has used (user + system), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ": utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Reads one HTTP/1.1 response with a Content-Length body (none for 304); returns its status and body length.
pub async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<(u16, usize), BoxError> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end])?;
            let status: u16 = head.get(9..12).ok_or("short status line")?.parse()?;
            let length: usize = if status == 304 {
                0
            } else {
                head.lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .ok_or("no content-length")?
            };
            let total = end + 4 + length;
            while buf.len() < total {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err("connection closed".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok((status, length));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One GET with `extra` header lines ("Name: value\r\n" each) on a new connection; returns the status, the body's
/// length and the ETag.
pub async fn get_with(
    port: u16,
    path: &str,
    extra: &str,
) -> Result<(u16, usize, String), BoxError> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    let (status, size) = read_response(&mut s, &mut buf).await?;
    let head = String::from_utf8_lossy(&buf);
    let etag = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("etag").then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Ok((status, size, etag))
}

pub async fn get_once(port: u16, path: &str) -> Result<(u16, usize), BoxError> {
    get_with(port, path, "")
        .await
        .map(|(status, size, _)| (status, size))
}

/// Waits until a server on `port` answers `/healthz` with 200; fails when `child` exits first.
pub async fn wait_ready(port: u16, child: &mut Child) -> Result<(), BoxError> {
    for _ in 0..400 {
        if let Some(status) = child.try_wait()? {
            return Err(format!("server exited: {status}").into());
        }
        if matches!(get_once(port, "/healthz").await, Ok((200, _))) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("server did not start".into())
}

/// Runs `connections` keep-alive clients for `seconds`, cycling through `requests`, each answer checked to have
/// `expected` status; returns requests per second.
pub async fn load(
    port: u16,
    requests: Arc<Vec<String>>,
    expected: u16,
    connections: usize,
    seconds: u64,
) -> Result<f64, BoxError> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (stop, done, requests) = (stop.clone(), done.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let request = &requests[i % requests.len()];
                i += connections;
                stream.write_all(request.as_bytes()).await?;
                let (status, _) = read_response(&mut stream, &mut buf).await?;
                if status != expected {
                    return Err::<(), BoxError>(
                        format!(
                            "{} answered {status}",
                            request.lines().next().unwrap_or_default()
                        )
                        .into(),
                    );
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let count = done.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    Ok(count as f64 / elapsed)
}

/// Fills the database at `db_url` (migrated first) with `n` published posts made of the seed blog's texts, with
/// tags; returns their slugs.
pub async fn load_posts(db_url: &str, n: usize) -> Result<Vec<String>, BoxError> {
    let db = steppe::db::Db::connect(db_url, 4).await?;
    db.migrate().await?;
    let owner =
        steppe::db::users::create_owner(&db, "bench", "Bench Owner", "not-a-real-hash").await?;
    let xml = include_str!("../../tests/fixtures/seed-blog.wxr.xml");
    let texts: Vec<String> = xml
        .split("<content:encoded><![CDATA[")
        .skip(1)
        .filter_map(|s| s.split("]]>").next())
        .map(steppe::domain::content::plain_text_to_markdown)
        .collect();
    let limits = steppe::config::LimitsConfig::default();
    let tags = [
        "NGOs",
        "human trafficking",
        "Kazakhstan",
        "education",
        "migration",
    ];
    let mut slugs = Vec::with_capacity(n);
    for i in 0..n {
        let input = steppe::domain::posts::PostInput {
            title: format!("Letter number {i} from the steppe"),
            slug: String::new(),
            summary: String::new(),
            tags: format!("{}, {}", tags[i % tags.len()], tags[(i + 2) % tags.len()]),
            body: texts[i % texts.len()].clone(),
        };
        let valid = input.validate(&limits).map_err(|e| format!("{e:?}"))?;
        steppe::db::posts::create(
            &db,
            &owner.id,
            &valid,
            steppe::domain::posts::PostStatus::Published,
        )
        .await?;
        slugs.push(valid.derived_slug.to_string());
    }
    db.pool.close().await;
    Ok(slugs)
}
