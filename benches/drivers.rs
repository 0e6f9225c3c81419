//! Database driver benchmark (not a test): is sqlx's `Any` driver, which Steppe uses so that one binary serves
//! SQLite and PostgreSQL, itself the cost of the uncached pages? The same two queries a post page runs — the post's
//! wide row (22 columns, its body included) and a small count — are timed through an `AnyPool` and through the
//! native `SqlitePool` (and, with `--postgres URL`, `PgPool`) on the same database, in one run: one at a time
//! (latency) and from 32 tasks at once on a 2-thread runtime (throughput), with the ratio native ÷ Any.
//!
//! `cargo bench --bench drivers` (options after `--`: `--seconds N` per measurement, default 2; `--postgres URL`, a
//! database the benchmark may fill and empty, such as `postgres://postgres@127.0.0.1:5432/test`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::{Executor, Row};
use steppe::db::Db;

mod common;
use common::{BoxError, load_posts};

/// The post page's row: what `posts::find_published_by_slug` reads (its counts from `post_counts`).
const POST_ROW: &str = "SELECT p.id, p.slug, p.title, p.summary, p.body_markdown, p.body_html, p.excerpt_html, \
     p.status, u.display_name AS author_name, p.created_at, p.updated_at, p.published_at, p.article_id, \
     COALESCE(pc.comments, 0), COALESCE(pc.likes, 0), COALESCE(pc.shares, 0), p.comments_open, \
     p.featured_media_id, p.announced, p.scheduled, p.kind, p.nav_position \
     FROM posts p JOIN users u ON u.id = p.author_id LEFT JOIN post_counts pc ON pc.post_id = p.id \
     WHERE p.slug = $1 AND p.status = 'published' AND p.kind = 'post'";

/// A small count, as `comments::count_threads` runs.
const COUNT: &str = "SELECT COUNT(*) FROM comments c WHERE c.post_id = (SELECT id FROM posts WHERE slug = $1) \
     AND c.parent_id IS NULL";

/// Reads every column of a post row as the page does: texts, integers and nullable ones.
fn read_post<R: Row>(row: &R) -> usize
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let mut bytes = 0;
    for i in [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 20] {
        bytes += row.try_get::<String, _>(i).map_or(0, |s| s.len());
    }
    bytes += row
        .try_get::<Option<String>, _>(17)
        .ok()
        .flatten()
        .map_or(0, |s| s.len());
    for i in [9, 10, 13, 14, 15, 16, 18, 19] {
        bytes += usize::from(row.try_get::<i64, _>(i).is_ok());
    }
    for i in [11, 21] {
        bytes += usize::from(row.try_get::<Option<i64>, _>(i).is_ok());
    }
    bytes
}

/// One way of running the two queries.
#[derive(Clone)]
enum Pool {
    Any(sqlx::AnyPool),
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Pool {
    async fn post(&self, slug: &str) -> Result<usize, sqlx::Error> {
        Ok(match self {
            Self::Any(p) => read_post(&sqlx::query(POST_ROW).bind(slug).fetch_one(p).await?),
            Self::Sqlite(p) => read_post(&sqlx::query(POST_ROW).bind(slug).fetch_one(p).await?),
            Self::Postgres(p) => read_post(&sqlx::query(POST_ROW).bind(slug).fetch_one(p).await?),
        })
    }

    async fn count(&self, slug: &str) -> Result<i64, sqlx::Error> {
        match self {
            Self::Any(p) => sqlx::query_scalar(COUNT).bind(slug).fetch_one(p).await,
            Self::Sqlite(p) => sqlx::query_scalar(COUNT).bind(slug).fetch_one(p).await,
            Self::Postgres(p) => sqlx::query_scalar(COUNT).bind(slug).fetch_one(p).await,
        }
    }

    async fn run(&self, post: bool, slug: &str) -> Result<(), sqlx::Error> {
        if post {
            self.post(slug).await.map(drop)
        } else {
            self.count(slug).await.map(drop)
        }
    }
}

/// Queries per second: one at a time (`tasks` = 1) or from `tasks` tasks at once, for `seconds`.
async fn measure(
    pool: &Pool,
    post: bool,
    slugs: &Arc<Vec<String>>,
    tasks: usize,
    seconds: u64,
) -> Result<f64, BoxError> {
    for slug in slugs.iter().take(50) {
        pool.run(post, slug).await?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (pool, slugs, stop, done) = (pool.clone(), slugs.clone(), stop.clone(), done.clone());
        handles.push(tokio::spawn(async move {
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                pool.run(post, &slugs[i % slugs.len()]).await?;
                i += tasks;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), sqlx::Error>(())
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let n = done.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await??;
    }
    Ok(n as f64 / elapsed)
}

/// Prints each measurement through `any` and `native`, and the ratio.
async fn compare(
    engine: &str,
    any: Pool,
    native: Pool,
    slugs: &Arc<Vec<String>>,
    seconds: u64,
) -> Result<(), BoxError> {
    for (post, what) in [(true, "post row"), (false, "count")] {
        for tasks in [1, 32] {
            let a = measure(&any, post, slugs, tasks, seconds).await?;
            let n = measure(&native, post, slugs, tasks, seconds).await?;
            println!(
                "{:<10} {:<10} {:>6} {:>12.0} {:>12.0} {:>8.2}",
                engine,
                what,
                tasks,
                a,
                n,
                n / a
            );
        }
    }
    Ok(())
}

async fn run() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds = arg("--seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2u64);
    println!(
        "{:<10} {:<10} {:>6} {:>12} {:>12} {:>8}",
        "engine", "query", "tasks", "Any /s", "native /s", "native÷Any"
    );
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite:{}", dir.path().join("drivers.db").display());
    let slugs = Arc::new(load_posts(&url, 1000).await?);
    // Steppe's own pool (its pragmas, no ping before each use) against a native pool set up the same way.
    let db = Db::connect(&url, 8).await?;
    let options = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()?
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .pragma("cache_size", "-8192")
        .pragma("temp_store", "MEMORY");
    let native = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    compare(
        "SQLite",
        Pool::Any(db.pool.clone()),
        Pool::Sqlite(native),
        &slugs,
        seconds,
    )
    .await?;
    if let Some(pg) = arg("--postgres") {
        let admin = sqlx::PgPool::connect(&pg).await?;
        let name = format!("steppe_drivers_{}", std::process::id());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let pg_url = match pg.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => return Err("--postgres needs a URL with a database name".into()),
        };
        let result = async {
            let slugs = Arc::new(load_posts(&pg_url, 1000).await?);
            let db = Db::connect(&pg_url, 8).await?;
            let native = sqlx::postgres::PgPoolOptions::new()
                .max_connections(8)
                .connect(&pg_url)
                .await?;
            compare(
                "PostgreSQL",
                Pool::Any(db.pool.clone()),
                Pool::Postgres(native.clone()),
                &slugs,
                seconds,
            )
            .await?;
            db.pool.close().await;
            native.close().await;
            Ok::<(), BoxError>(())
        }
        .await;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
        result?;
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}
