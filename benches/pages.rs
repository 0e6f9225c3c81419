//! Page-serving benchmark (not a test): requests per second for the post page and the home page of a blog with
//! 1,000 posts, against a bare axum handler that returns a static page of the same size, measured in one run on
//! this machine; plus the Steppe process's resident memory at idle and under that load.
//!
//! `cargo bench --bench pages` (options after `--`: `--seconds N`, `--connections N`, `--posts N`).
//! Both servers run as separate processes; the load generator is a minimal HTTP/1.1 keep-alive client in this
//! process, so each side of the ratio pays the same client cost.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use steppe::{
    config::Config,
    db::{self, Db},
    domain::{
        content::plain_text_to_markdown,
        posts::{PostInput, PostStatus},
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    seconds: u64,
    connections: usize,
    posts: usize,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 5,
        connections: 32,
        posts: 1000,
    };
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(v) = value("--seconds") {
        o.seconds = v.max(1);
    }
    if let Some(v) = value("--connections") {
        o.connections = usize::try_from(v).unwrap_or(32).max(1);
    }
    if let Some(v) = value("--posts") {
        o.posts = usize::try_from(v).unwrap_or(1000).max(1);
    }
    o
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Fills a fresh SQLite database with an owner and `n` published posts made from the seed blog's text.
async fn load_posts(db_url: &str, n: usize) -> Result<Vec<String>, BoxError> {
    let db = Db::connect(db_url, 4).await?;
    db.migrate().await?;
    let owner = db::users::create_owner(&db, "bench", "Bench Owner", "not-a-real-hash").await?;
    let xml = include_str!("../tests/fixtures/seed-blog.wxr.xml");
    let texts: Vec<String> = xml
        .split("<content:encoded><![CDATA[")
        .skip(1)
        .filter_map(|s| s.split("]]>").next())
        .map(plain_text_to_markdown)
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
        let input = PostInput {
            title: format!("Letter number {i} from the steppe"),
            slug: String::new(),
            summary: String::new(),
            tags: format!("{}, {}", tags[i % tags.len()], tags[(i + 2) % tags.len()]),
            body: texts[i % texts.len()].clone(),
        };
        let valid = input.validate(&limits).map_err(|e| format!("{e:?}"))?;
        db::posts::create(&db, &owner.id, &valid, PostStatus::Published).await?;
        slugs.push(valid.derived_slug.to_string());
    }
    db.pool.close().await;
    Ok(slugs)
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status and body length.
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<(u16, usize), BoxError> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end])?;
            let status: u16 = head.get(9..12).ok_or("short status line")?.parse()?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .ok_or("no content-length")?;
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

async fn get_once(port: u16, path: &str) -> Result<(u16, usize), BoxError> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    read_response(&mut s, &mut Vec::new()).await
}

/// Runs `connections` keep-alive clients for `seconds`, cycling through `paths`; returns requests per second.
async fn load(
    port: u16,
    paths: Arc<Vec<String>>,
    connections: usize,
    seconds: u64,
) -> Result<f64, BoxError> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (stop, done, paths) = (stop.clone(), done.clone(), paths.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let path = &paths[i % paths.len()];
                i += connections;
                stream
                    .write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
                    .await?;
                let (status, _) = read_response(&mut stream, &mut buf).await?;
                if status != 200 {
                    return Err::<(), BoxError>(format!("{path} answered {status}").into());
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

/// Resident memory of a process, in KiB (VmRSS), and its peak (VmHWM).
fn memory_kib(pid: u32) -> (u64, u64) {
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

async fn wait_ready(port: u16, child: &mut Child) -> Result<(), BoxError> {
    for _ in 0..200 {
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

/// Starts `steppe serve` on the bench database, with the page cache on or off, and waits until it answers.
async fn start_steppe(config: &Path, port: u16, cache: bool) -> Result<Killed, BoxError> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steppe"));
    command
        .args(["--config", &config.to_string_lossy(), "serve"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    if !cache {
        command.env("STEPPE_CACHE__MAX_BYTES", "0");
    }
    let mut child = Killed(command.spawn()?);
    wait_ready(port, &mut child.0).await?;
    Ok(child)
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The ceiling: a bare axum server (this same bench binary, re-run with `--bare`) answering each path with a
/// static page of the size Steppe's page at that path has. `sizes` is a file of "PATH SIZE" lines.
fn bare_server(port: u16, sizes: &Path) -> Result<Killed, BoxError> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--bare", &port.to_string(), &sizes.to_string_lossy()])
        .stdout(Stdio::null())
        .spawn()?;
    Ok(Killed(child))
}

async fn run_bare(port: u16, sizes: &Path) -> Result<(), BoxError> {
    use std::collections::HashMap;

    use axum::{Router, extract::Path as UrlPath, http::StatusCode, response::Html, routing::get};
    let mut pages: HashMap<String, &'static str> = HashMap::new();
    for line in std::fs::read_to_string(sizes)?.lines() {
        let (path, size) = line.split_once(' ').ok_or("bad sizes line")?;
        let page: &'static str = Box::leak("x".repeat(size.parse()?).into_boxed_str());
        // Keyed by slug for posts ("/posts/" dropped) so that the handler does no more than a lookup.
        pages.insert(path.trim_start_matches("/posts/").to_string(), page);
    }
    let pages: &'static HashMap<String, &'static str> = Box::leak(Box::new(pages));
    let home = *pages.get("/").ok_or("no home page size")?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/", get(move || async move { Html(home) }))
        .route(
            "/posts/{slug}",
            get(move |UrlPath(slug): UrlPath<String>| async move {
                match pages.get(&slug) {
                    Some(page) => Ok(Html(*page)),
                    None => Err(StatusCode::NOT_FOUND),
                }
            }),
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
        let port: u16 = args.get(i + 1).ok_or("--bare PORT SIZES")?.parse()?;
        let sizes = Path::new(args.get(i + 2).ok_or("--bare PORT SIZES")?);
        return runtime.block_on(run_bare(port, sizes));
    }
    runtime.block_on(bench(options()))
}

async fn bench(o: Options) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let db_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    println!("loading {} posts…", o.posts);
    let slugs = load_posts(&db_url, o.posts).await?;
    let steppe_port = free_port()?;
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "[site]\npublic_url = \"http://127.0.0.1:{steppe_port}\"\ntitle = \"Bench blog\"\n\
             [server]\nbind = \"127.0.0.1:{steppe_port}\"\n[database]\nurl = \"{db_url}\"\n"
        ),
    )?;
    Config::load(&config_path, [])?;
    let steppe = start_steppe(&config_path, steppe_port, true).await?;
    let pid = steppe.0.id();
    let (idle_rss, _) = memory_kib(pid);

    let post_paths: Vec<String> = slugs.iter().map(|s| format!("/posts/{s}")).collect();
    // Every page's size, so that the bare server answers each path with as many bytes as Steppe does.
    let mut sizes = String::new();
    let mut post_total = 0;
    for path in &post_paths {
        let (status, size) = get_once(steppe_port, path).await?;
        if status != 200 {
            return Err(format!("{path} answered {status}").into());
        }
        post_total += size;
        sizes.push_str(&format!("{path} {size}\n"));
    }
    let (_, home_bytes) = get_once(steppe_port, "/").await?;
    sizes.push_str(&format!("/ {home_bytes}\n"));
    let sizes_path = dir.path().join("sizes.txt");
    std::fs::write(&sizes_path, sizes)?;
    let post_bytes = post_total / post_paths.len().max(1);
    let bare_port = free_port()?;
    let mut bare = bare_server(bare_port, &sizes_path)?;
    wait_ready(bare_port, &mut bare.0).await?;

    let cases = [
        ("post page", Arc::new(post_paths)),
        ("home page", Arc::new(vec!["/".to_string()])),
    ];
    println!(
        "{} s per run, {} connections, {} posts; post pages {} bytes on average, home page {} bytes",
        o.seconds, o.connections, o.posts, post_bytes, home_bytes
    );
    println!(
        "{:<10} {:>14} {:>14} {:>8}",
        "page", "steppe req/s", "bare req/s", "ratio"
    );
    let mut peak = 0;
    let mut ceilings = Vec::new();
    for (name, paths) in &cases {
        // A short warm-up on each side, then the measured run.
        load(steppe_port, paths.clone(), o.connections, 1).await?;
        let ours = load(steppe_port, paths.clone(), o.connections, o.seconds).await?;
        peak = peak.max(memory_kib(pid).0).max(memory_kib(pid).1);
        load(bare_port, paths.clone(), o.connections, 1).await?;
        let ceiling = load(bare_port, paths.clone(), o.connections, o.seconds).await?;
        ceilings.push(ceiling);
        println!(
            "{name:<10} {ours:>14.0} {ceiling:>14.0} {:>8.2}",
            ours / ceiling
        );
    }
    println!(
        "steppe resident memory: {:.1} MiB idle, {:.1} MiB peak under load",
        idle_rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    drop(steppe);

    // The same pages with the page cache off: every request queries the database and renders the template.
    let steppe = start_steppe(&config_path, steppe_port, false).await?;
    println!("with the page cache off (cache.max_bytes = 0):");
    for ((name, paths), ceiling) in cases.iter().zip(ceilings) {
        load(steppe_port, paths.clone(), o.connections, 1).await?;
        let ours = load(steppe_port, paths.clone(), o.connections, o.seconds).await?;
        println!(
            "{name:<10} {ours:>14.0} {ceiling:>14.0} {:>8.2}",
            ours / ceiling
        );
    }
    drop(bare);
    drop(steppe);
    Ok(())
}
