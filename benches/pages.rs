//! Page-serving benchmark (not a test): requests per second for the post page and the home page of a blog with
//! 1,000 posts, against a bare axum handler that returns a static page of the same size, measured in one run on
//! this machine; the same for a brotli-compressed hit (against a bare handler sending as many pre-compressed
//! bytes) and for a revalidation answered 304 (against a bare handler comparing the ETag); plus the Steppe
//! process's resident memory at idle and under that load.
//!
//! `cargo bench --bench pages` (options after `--`: `--seconds N`, `--connections N`, `--posts N`).
//! Both servers run as separate processes; the load generator is a minimal HTTP/1.1 keep-alive client in this
//! process, so each side of the ratio pays the same client cost.

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
};

use steppe::config::Config;

mod common;

use common::{
    BoxError, Killed, free_port, get_once, get_with, load, load_posts, memory_kib, wait_ready,
};

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

/// What one benchmark case sends: a request per path (with its headers) and the status every answer must have.
struct Case {
    name: &'static str,
    requests: Arc<Vec<String>>,
    status: u16,
}

fn requests(paths: &[String], extra: impl Fn(&str) -> String) -> Arc<Vec<String>> {
    Arc::new(
        paths
            .iter()
            .map(|p| format!("GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n", extra(p)))
            .collect(),
    )
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

/// The ceiling: a bare axum server (this same bench binary, re-run with `--bare`) answering each path with a
/// static page of the size Steppe's page at that path has: brotli-encoded and as long as Steppe's compressed page
/// when the request accepts `br`, and a 304 when it names the page's ETag. `sizes` is a file of
/// "PATH SIZE BR_SIZE ETAG" lines.
fn bare_server(port: u16, sizes: &Path) -> Result<Killed, BoxError> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--bare", &port.to_string(), &sizes.to_string_lossy()])
        .stdout(Stdio::null())
        .spawn()?;
    Ok(Killed(child))
}

/// One page of the bare server: its plain and compressed bodies and its ETag.
struct BarePage {
    plain: &'static str,
    brotli: &'static str,
    etag: String,
}

async fn run_bare(port: u16, sizes: &Path) -> Result<(), BoxError> {
    use std::collections::HashMap;

    use axum::{
        Router,
        extract::Path as UrlPath,
        http::{HeaderMap, StatusCode, header},
        response::{Html, IntoResponse, Response},
        routing::get,
    };
    let mut pages: HashMap<String, BarePage> = HashMap::new();
    for line in std::fs::read_to_string(sizes)?.lines() {
        let mut fields = line.split(' ');
        let (Some(path), Some(size), Some(br), Some(etag)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err("bad sizes line".into());
        };
        let leak = |n: usize| -> &'static str { Box::leak("x".repeat(n).into_boxed_str()) };
        // Keyed by slug for posts ("/posts/" dropped) so that the handler does no more than a lookup.
        pages.insert(
            path.trim_start_matches("/posts/").to_string(),
            BarePage {
                plain: leak(size.parse()?),
                brotli: leak(br.parse()?),
                etag: etag.to_string(),
            },
        );
    }
    let pages: &'static HashMap<String, BarePage> = Box::leak(Box::new(pages));
    fn answer(page: &'static BarePage, headers: &HeaderMap) -> Response {
        if headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == page.etag.as_bytes())
        {
            return (
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, page.etag.clone())],
            )
                .into_response();
        }
        let brotli = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("br"));
        if brotli {
            return ([(header::CONTENT_ENCODING, "br")], Html(page.brotli)).into_response();
        }
        Html(page.plain).into_response()
    }
    let home = pages.get("/").ok_or("no home page size")?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/",
            get(move |headers: HeaderMap| async move { answer(home, &headers) }),
        )
        .route(
            "/posts/{slug}",
            get(
                move |UrlPath(slug): UrlPath<String>, headers: HeaderMap| async move {
                    match pages.get(&slug) {
                        Some(page) => answer(page, &headers),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                },
            ),
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

/// Requests per second of one case on one server: a one-second warm-up, then the measured run.
async fn measure(port: u16, case: &Case, o: &Options) -> Result<f64, BoxError> {
    load(port, case.requests.clone(), case.status, o.connections, 1).await?;
    load(
        port,
        case.requests.clone(),
        case.status,
        o.connections,
        o.seconds,
    )
    .await
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
    // Every page's size (plain and brotli) and ETag, so that the bare server answers each path with as many bytes
    // as Steppe does.
    let mut sizes = String::new();
    let mut etags = std::collections::HashMap::new();
    let (mut post_total, mut post_br_total) = (0, 0);
    let mut all_paths = post_paths.clone();
    all_paths.push("/".to_string());
    for path in &all_paths {
        let (status, size, etag) = get_with(steppe_port, path, "").await?;
        let (br_status, br_size, _) =
            get_with(steppe_port, path, "Accept-Encoding: br\r\n").await?;
        if status != 200 || br_status != 200 {
            return Err(format!("{path} answered {status}").into());
        }
        if path != "/" {
            post_total += size;
            post_br_total += br_size;
        }
        sizes.push_str(&format!("{path} {size} {br_size} {etag}\n"));
        etags.insert(path.clone(), etag);
    }
    let (_, home_bytes) = get_once(steppe_port, "/").await?;
    let sizes_path = dir.path().join("sizes.txt");
    std::fs::write(&sizes_path, sizes)?;
    let post_bytes = post_total / post_paths.len().max(1);
    let post_br_bytes = post_br_total / post_paths.len().max(1);
    let bare_port = free_port()?;
    let mut bare = bare_server(bare_port, &sizes_path)?;
    wait_ready(bare_port, &mut bare.0).await?;

    let home = vec!["/".to_string()];
    let cases = [
        Case {
            name: "post page",
            requests: requests(&post_paths, |_| String::new()),
            status: 200,
        },
        Case {
            name: "home page",
            requests: requests(&home, |_| String::new()),
            status: 200,
        },
        Case {
            name: "post, br",
            requests: requests(&post_paths, |_| "Accept-Encoding: br\r\n".to_string()),
            status: 200,
        },
        Case {
            name: "post, 304",
            requests: requests(&post_paths, |p| {
                format!(
                    "If-None-Match: {}\r\n",
                    etags.get(p).cloned().unwrap_or_default()
                )
            }),
            status: 304,
        },
    ];
    println!(
        "{} s per run, {} connections, {} posts; post pages {} bytes on average ({} with brotli), home page {} bytes",
        o.seconds, o.connections, o.posts, post_bytes, post_br_bytes, home_bytes
    );
    println!(
        "{:<10} {:>14} {:>14} {:>8}",
        "page", "steppe req/s", "bare req/s", "ratio"
    );
    let mut peak = 0;
    let mut ceilings = Vec::new();
    for case in &cases {
        let ours = measure(steppe_port, case, &o).await?;
        peak = peak.max(memory_kib(pid).0).max(memory_kib(pid).1);
        let ceiling = measure(bare_port, case, &o).await?;
        ceilings.push(ceiling);
        println!(
            "{:<10} {ours:>14.0} {ceiling:>14.0} {:>8.2}",
            case.name,
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
    for (case, ceiling) in cases.iter().zip(ceilings).take(2) {
        let ours = measure(steppe_port, case, &o).await?;
        println!(
            "{:<10} {ours:>14.0} {ceiling:>14.0} {:>8.2}",
            case.name,
            ours / ceiling
        );
    }
    drop(bare);
    drop(steppe);
    Ok(())
}
