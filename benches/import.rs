//! Import benchmark (not a test): `steppe import wxr` of a generated WordPress export of 10,000 posts with 50,000
//! comments (the seed blog's text, classic-editor paragraphs, two categories and a tag each, threaded comments),
//! run as its own process on a fresh SQLite database, against the ceiling: the same posts and comments stored by
//! plain `INSERT`s into a fresh database of the same schema, one transaction per post with its comments, in this
//! process, in the same run. Prints posts per second of each and their ratio, and the import process's peak
//! resident memory (VmHWM from /proc) for the export and for one a quarter of its size: flat memory means the two
//! peaks are about equal however large the file.
//!
//! `cargo bench --bench import` (options after `--`: `--posts N`, default 10000; `--comments N`, default 50000;
//! `--write-only FILE` writes the export there and stops, to profile an import by hand).

use std::{
    io::{BufWriter, Write},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use steppe::{
    db::{self, Db},
    domain::content::escape_html,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    posts: usize,
    comments: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    Options {
        posts: value("--posts").unwrap_or(10_000).max(4),
        comments: value("--comments").unwrap_or(50_000),
    }
}

/// The seed blog's two texts, as WordPress stores them (classic editor: paragraphs are blank lines).
fn texts() -> Vec<String> {
    include_str!("../tests/fixtures/seed-blog.wxr.xml")
        .split("<content:encoded><![CDATA[")
        .skip(1)
        .filter_map(|s| s.split("]]>").next())
        .map(str::to_string)
        .collect()
}

const TERMS: [(&str, &str, &str); 5] = [
    ("category", "kazakhstan", "Kazakhstan"),
    ("category", "ngos", "NGOs"),
    ("post_tag", "human-trafficking", "human trafficking"),
    ("post_tag", "education", "education"),
    ("category", "migration", "Migration"),
];

/// The comments of post `i` (numbered from 0) when `comments` are spread over `posts`.
fn comments_of(i: usize, posts: usize, comments: usize) -> usize {
    comments / posts + usize::from(i < comments % posts)
}

fn date(i: usize) -> String {
    // One post every 6 hours from 2011-03-01.
    let t = jiff::civil::date(2011, 3, 1)
        .at(0, 0, 0, 0)
        .checked_add(jiff::Span::new().hours(i64::try_from(i * 6).unwrap_or(0)))
        .unwrap_or_default();
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// Writes an export of `posts` posts with `comments` comments in all; returns its size in bytes.
fn write_export(path: &Path, posts: usize, comments: usize) -> Result<u64, BoxError> {
    let texts = texts();
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
<title>Bench Blog</title><link>https://old.example</link><wp:wxr_version>1.2</wp:wxr_version>
<wp:base_site_url>https://old.example</wp:base_site_url><wp:base_blog_url>https://old.example</wp:base_blog_url>"#
    )?;
    let mut comment_id = 1usize;
    for i in 0..posts {
        let id = i + 1;
        let when = date(i);
        writeln!(
            out,
            "<item><title>Letter {id} from the steppe</title><link>https://old.example/2011/03/letter-{id}/</link>\
             <guid isPermaLink=\"false\">https://old.example/?p={id}</guid><dc:creator><![CDATA[bench]]></dc:creator>\
             <content:encoded><![CDATA[{}\n\nPostscript {id}: <a href=\"https://old.example/\">more</a>.]]></content:encoded>\
             <excerpt:encoded><![CDATA[]]></excerpt:encoded><wp:post_id>{id}</wp:post_id>\
             <wp:post_date><![CDATA[{when}]]></wp:post_date><wp:post_date_gmt><![CDATA[{when}]]></wp:post_date_gmt>\
             <wp:post_modified><![CDATA[{when}]]></wp:post_modified><wp:post_modified_gmt><![CDATA[{when}]]></wp:post_modified_gmt>\
             <wp:comment_status><![CDATA[open]]></wp:comment_status><wp:post_name><![CDATA[letter-{id}]]></wp:post_name>\
             <wp:status><![CDATA[publish]]></wp:status><wp:post_parent>0</wp:post_parent><wp:menu_order>0</wp:menu_order>\
             <wp:post_type><![CDATA[post]]></wp:post_type><wp:post_password><![CDATA[]]></wp:post_password><wp:is_sticky>0</wp:is_sticky>",
            texts[i % texts.len()]
        )?;
        for k in [i % 5, (i + 1) % 5, (i + 3) % 5] {
            let (domain, slug, name) = TERMS[k];
            writeln!(
                out,
                "<category domain=\"{domain}\" nicename=\"{slug}\"><![CDATA[{name}]]></category>"
            )?;
        }
        let first = comment_id;
        for c in 0..comments_of(i, posts, comments) {
            // Every third comment answers the one before it.
            let parent = if c % 3 == 2 { comment_id - 1 } else { 0 };
            let reader = comment_id % 997;
            writeln!(
                out,
                "<wp:comment><wp:comment_id>{comment_id}</wp:comment_id><wp:comment_author><![CDATA[Reader {reader}]]></wp:comment_author>\
                 <wp:comment_author_email><![CDATA[reader{reader}@example.org]]></wp:comment_author_email>\
                 <wp:comment_author_url>https://reader{reader}.example.org/</wp:comment_author_url>\
                 <wp:comment_date><![CDATA[{when}]]></wp:comment_date><wp:comment_date_gmt><![CDATA[{when}]]></wp:comment_date_gmt>\
                 <wp:comment_content><![CDATA[Thank you for letter {id}. Comment {c} here, with a thought or two\nover two lines.]]></wp:comment_content>\
                 <wp:comment_approved><![CDATA[1]]></wp:comment_approved><wp:comment_type><![CDATA[comment]]></wp:comment_type>\
                 <wp:comment_parent>{parent}</wp:comment_parent><wp:comment_user_id>0</wp:comment_user_id></wp:comment>"
            )?;
            comment_id += 1;
        }
        debug_assert!(comment_id >= first);
        writeln!(out, "</item>")?;
    }
    writeln!(out, "</channel>\n</rss>")?;
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// A fresh SQLite database with Steppe's schema and an owner, and a config file pointing at it.
async fn fresh(dir: &Path) -> Result<(String, std::path::PathBuf), BoxError> {
    let db_url = format!("sqlite:{}", dir.join("bench.db").display());
    let db = Db::connect(&db_url, 2).await?;
    db.migrate().await?;
    db::users::create_owner(&db, "bench", "Bench Owner", "not-a-real-hash").await?;
    db.pool.close().await;
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\npublic_url = \"https://blog.example\"\ntitle = \"Bench\"\n[database]\nurl = \"{db_url}\"\n\
             [media]\ndir = \"{}\"\n",
            dir.join("media").display()
        ),
    )?;
    Ok((db_url, config))
}

fn peak_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Imported {
    seconds: f64,
    peak_kib: u64,
    summary: String,
}

/// Runs `steppe import wxr` on `export` into a fresh database, watching its peak memory.
async fn import(dir: &Path, export: &Path) -> Result<Imported, BoxError> {
    let (_, config) = fresh(dir).await?;
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_steppe"))
        .args(["--config", &config.to_string_lossy(), "import", "wxr"])
        .arg(export)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        // VmHWM only grows: the last reading before the process ends is its peak (to within 20 ms of work).
        peak = peak.max(peak_kib(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(format!("the import failed: {:?}", output.status).into());
    }
    Ok(Imported {
        seconds,
        peak_kib: peak,
        summary: String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

/// The ceiling: the same posts and comments as plain INSERTs, one transaction per post with its comments.
async fn plain_inserts(dir: &Path, posts: usize, comments: usize) -> Result<f64, BoxError> {
    let (db_url, _) = fresh(dir).await?;
    let db = Db::connect(&db_url, 2).await?;
    let owner: String = sqlx::query_scalar("SELECT id FROM users LIMIT 1")
        .fetch_one(&db.pool)
        .await?;
    let texts = texts();
    let start = Instant::now();
    let mut comment_id = 1usize;
    for i in 0..posts {
        let id = i + 1;
        let post_id = format!("https://blog.example/posts/p{id}");
        let body = format!("<p>{}</p>", escape_html(&texts[i % texts.len()]));
        let at = 1_298_937_600 + i64::try_from(i * 21_600)?;
        let mut tx = db.begin_write().await?;
        sqlx::query(
            "INSERT INTO posts (id, slug, title, summary, body_markdown, body_html, excerpt_html, status, \
             author_id, created_at, updated_at, published_at, article_id) \
             VALUES ($1, $2, $3, '', $4, $4, '', 'published', $5, $6, $6, $6, $1)",
        )
        .bind(&post_id)
        .bind(format!("letter-{id}"))
        .bind(format!("Letter {id} from the steppe"))
        .bind(&body)
        .bind(&owner)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        for c in 0..comments_of(i, posts, comments) {
            let reader = comment_id % 997;
            sqlx::query(
                "INSERT INTO comments (id, anchor, post_id, parent_id, author_id, author_host, author_name, \
                 author_handle, author_url, content_html, attachments_html, visibility, status, published_at, \
                 received_at) VALUES ($1, $2, $3, NULL, $4, 'old.example', $5, '', $6, $7, '', 'public', 'shown', \
                 $8, $8)",
            )
            .bind(format!("tag:old.example,2000:comment-{comment_id}"))
            .bind(format!("c{comment_id}"))
            .bind(&post_id)
            .bind(format!("tag:old.example,2000:commenter-{comment_id}"))
            .bind(format!("Reader {reader}"))
            .bind(format!("https://reader{reader}.example.org/"))
            .bind(format!(
                "<p>Thank you for letter {id}. Comment {c} here, with a thought or two<br>\nover two lines.</p>"
            ))
            .bind(at)
            .execute(&mut *tx)
            .await?;
            comment_id += 1;
        }
        tx.commit().await?;
    }
    let seconds = start.elapsed().as_secs_f64();
    db.pool.close().await;
    Ok(seconds)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let o = options();
    let args: Vec<String> = std::env::args().collect();
    if let Some(path) = args
        .iter()
        .position(|a| a == "--write-only")
        .and_then(|i| args.get(i + 1))
    {
        let bytes = write_export(Path::new(path), o.posts, o.comments)?;
        println!("{path}: {bytes} bytes");
        return Ok(());
    }
    let work = tempfile::tempdir()?;
    let big = work.path().join("export.xml");
    let small = work.path().join("quarter.xml");
    let (quarter_posts, quarter_comments) = (o.posts / 4, o.comments / 4);
    let big_bytes = write_export(&big, o.posts, o.comments)?;
    let small_bytes = write_export(&small, quarter_posts, quarter_comments)?;
    println!(
        "export: {} posts, {} comments, {:.1} MB; a quarter of it: {:.1} MB",
        o.posts,
        o.comments,
        big_bytes as f64 / 1e6,
        small_bytes as f64 / 1e6
    );

    let run_dir = |name: &str| -> Result<std::path::PathBuf, BoxError> {
        let d = work.path().join(name);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    };
    let full = import(&run_dir("full")?, &big).await?;
    let quarter = import(&run_dir("quarter")?, &small).await?;
    let plain = plain_inserts(&run_dir("plain")?, o.posts, o.comments).await?;

    let rate = |n: usize, s: f64| n as f64 / s;
    println!("{}", full.summary);
    println!("{}", quarter.summary);
    println!();
    println!("| run | seconds | posts/s | comments/s | peak memory |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, posts, comments, seconds, peak) in [
        (
            "steppe import wxr",
            o.posts,
            o.comments,
            full.seconds,
            Some(full.peak_kib),
        ),
        (
            "steppe import wxr, a quarter of the file",
            quarter_posts,
            quarter_comments,
            quarter.seconds,
            Some(quarter.peak_kib),
        ),
        (
            "ceiling: plain INSERTs of the same rows",
            o.posts,
            o.comments,
            plain,
            None,
        ),
    ] {
        println!(
            "| {name} | {seconds:.1} | {:.0} | {:.0} | {} |",
            rate(posts, seconds),
            rate(comments, seconds),
            peak.map_or("–".to_string(), |k| format!(
                "{:.1} MiB",
                k as f64 / 1024.0
            ))
        );
    }
    println!();
    println!(
        "import / plain inserts: {:.2}× (aim ≥ 0.3×)",
        rate(o.posts, full.seconds) / rate(o.posts, plain)
    );
    println!(
        "peak memory, whole file / quarter: {:.2}× for a file {:.1}× as large (flat: about 1×)",
        full.peak_kib as f64 / quarter.peak_kib.max(1) as f64,
        big_bytes as f64 / small_bytes.max(1) as f64
    );
    Ok(())
}
