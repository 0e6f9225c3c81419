//! Spawns real Steppe instances for tests, with a fresh database each, and a cookie-keeping HTTP client.

use std::{
    collections::HashMap,
    net::TcpListener,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use reqwest::{StatusCode, redirect::Policy};
use scraper::{Html, Selector};
use steppe::{app::App, config::Config, db::Db};
use tokio::{sync::oneshot, task::JoinHandle};

pub const OWNER: &str = "abolitionist";
pub const OWNER_NAME: &str = "Abolitionist";
pub const PASSWORD: &str = "steppe-and-snow-2011";

/// The instances this test process runs, by origin (`http://127.0.0.1:PORT`): their databases, and whether they
/// apply received activities themselves (`inbox.workers` > 0). How a test's POST to an inbox waits for what it sent
/// to be applied, so that the effect can be checked right after.
static INSTANCES: LazyLock<Mutex<HashMap<String, (Db, bool)>>> = LazyLock::new(Mutex::default);

fn origin(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// Records a running instance at `urls` (its address and its public URL).
pub fn register(urls: &[&str], db: &Db, applies: bool) {
    let mut instances = INSTANCES.lock().unwrap();
    for url in urls {
        if let Some(origin) = origin(url) {
            instances.insert(origin, (db.clone(), applies));
        }
    }
}

/// After a POST to `url` was answered 202: when it went to an instance of this test process that applies what it
/// receives, waits until its inbox queue has nothing due or in progress (at most 30 s).
pub async fn wait_applied(url: &str) {
    let Some(db) = origin(url).and_then(|o| {
        INSTANCES
            .lock()
            .unwrap()
            .get(&o)
            .filter(|(_, applies)| *applies)
            .map(|(db, _)| db.clone())
    }) else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match steppe::db::inbox_queue::busy(&db).await {
            Ok(0) | Err(_) => return,
            Ok(_) if Instant::now() > deadline => panic!("the inbox queue of {url} did not drain"),
            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// A running instance and a browser-like client (cookies kept, redirects not followed).
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The running server's own database handle: writes through it are seen by the server's page cache.
    pub db: Db,
    pub db_url: String,
    pub config: Config,
    /// `http://127.0.0.1:PORT/metrics` when the test configured `metrics.bind`.
    pub metrics_url: Option<String>,
    db_cleanup: Option<(String, String)>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// The database for one test: a SQLite file in a temporary folder, or a new PostgreSQL database.
pub async fn fresh_database(dir: &tempfile::TempDir) -> (String, Option<(String, String)>) {
    match std::env::var("STEPPE_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            use sqlx::{Connection, Executor};
            sqlx::any::install_default_drivers();
            let name = format!("steppe_test_{}", uuid::Uuid::now_v7().simple());
            let mut conn = sqlx::AnyConnection::connect(&admin_url)
                .await
                .expect("connect to STEPPE_TEST_DATABASE_URL");
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b);
            (format!("{base}/{name}"), Some((admin_url.clone(), name)))
        }
        _ => (
            format!("sqlite:{}", dir.path().join("steppe.db").display()),
            None,
        ),
    }
}

fn test_config(port: u16, db_url: &str, media_dir: &std::path::Path, extra: &str) -> Config {
    // The media folder is the test's own; a test's own [media] table gets it too.
    let media = format!("[media]\ndir = \"{}\"\n", media_dir.display());
    let extra = if extra.contains("[media]\n") {
        extra.replacen("[media]\n", &media, 1)
    } else {
        format!("{media}{extra}")
    };
    // Tests read a post page right after changing its comments: they expect it fresh at once, unless a test sets
    // `post_delay_ms` itself (the storm delay is tested in comments.rs).
    let extra = if extra.contains("post_delay_ms") {
        extra
    } else if extra.contains("[cache]\n") {
        extra.replacen("[cache]\n", "[cache]\npost_delay_ms = 0\n", 1)
    } else {
        format!("{extra}\n[cache]\npost_delay_ms = 0\n")
    };
    let extra = extra.as_str();
    // Federation tests run peers on 127.0.0.1 over plain http, which only this setting allows.
    let extra = if extra.contains("allow_private_addresses") {
        extra.to_string()
    } else if extra.contains("[federation]") {
        extra.replace(
            "[federation]",
            "[federation]\nallow_private_addresses = true",
        )
    } else {
        format!("{extra}\n[federation]\nallow_private_addresses = true\n")
    };
    // A test's own `[site]` keys (written as `site.key = …` lines) join the table.
    let (site_extra, extra): (Vec<&str>, Vec<&str>) = extra
        .lines()
        .partition(|l| l.trim_start().starts_with("site."));
    let site_extra: String = site_extra
        .iter()
        .map(|l| format!("{}\n", l.trim_start().trim_start_matches("site.")))
        .collect();
    let extra = extra.join("\n");
    let text = format!(
        r#"
[site]
public_url = "http://127.0.0.1:{port}"
title = "A Christian Abolitionist in Kazakhstan"
description = "Writing about human trafficking and slavery in Kazakhstan"
posts_per_page = 10
{site_extra}
[server]
bind = "127.0.0.1:0"
[database]
url = "{db_url}"
max_connections = 4
{extra}
"#
    );
    Config::from_toml(&text, []).expect("test config")
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with("").await
    }

    /// Starts an instance; `extra` is TOML appended to the test configuration (for example a `[limits]` table).
    pub async fn spawn_with(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, db_cleanup) = fresh_database(&dir).await;
        Self::spawn_inner(dir, &db_url, db_cleanup, extra, false).await
    }

    /// Starts an instance known as `http://localhost:PORT` (Fedify wants a host name, not an address).
    pub async fn spawn_localhost(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, db_cleanup) = fresh_database(&dir).await;
        let mut app = Self::spawn_inner(dir, &db_url, db_cleanup, extra, false).await;
        app.config.site.public_url = "http://localhost:0".into();
        app.restart().await;
        app
    }

    /// Starts an instance whose `site.public_url` is https, as behind a TLS proxy (the test still talks plain HTTP).
    pub async fn spawn_https() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, db_cleanup) = fresh_database(&dir).await;
        Self::spawn_inner(dir, &db_url, db_cleanup, "", true).await
    }

    /// Starts an instance on an existing database (`cleanup` as returned by [`fresh_database`]).
    pub async fn spawn_on(db_url: &str, cleanup: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::spawn_inner(dir, db_url, cleanup, "", false).await
    }

    /// Like [`TestApp::spawn_on`], with `extra` TOML appended to the configuration.
    pub async fn spawn_on_with(db_url: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::spawn_inner(dir, db_url, None, extra, false).await
    }

    async fn spawn_inner(
        dir: tempfile::TempDir,
        db_url: &str,
        db_cleanup: Option<(String, String)>,
        extra: &str,
        https: bool,
    ) -> Self {
        // STEPPE_TEST_LOG=warn (a tracing filter) shows the instances' logs while debugging a test.
        if let Ok(filter) = std::env::var("STEPPE_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut config = test_config(port, db_url, &dir.path().join("media"), extra);
        if https {
            config.site.public_url = format!("https://127.0.0.1:{port}");
        }
        let mut app = Self {
            base: String::new(),
            client,
            db: Db::connect(db_url, 1).await.expect("db"),
            db_url: db_url.to_string(),
            config,
            metrics_url: None,
            db_cleanup,
            stop: None,
            handle: None,
            _dir: dir,
        };
        app.start(listener).await;
        app
    }

    async fn start(&mut self, listener: TcpListener) {
        let port = listener.local_addr().expect("addr").port();
        let mut config = self.config.clone();
        // The public URL follows the port; its scheme and host are what the test configured (https for a site
        // behind a proxy; localhost for peers that want a name).
        let scheme = if self.config.is_https() {
            "https"
        } else {
            "http"
        };
        let host = if self.config.site.public_url.contains("://localhost") {
            "localhost"
        } else {
            "127.0.0.1"
        };
        config.site.public_url = format!("{scheme}://{host}:{port}");
        let app = App::build_with_listener(config.clone(), listener)
            .await
            .expect("build app");
        self.config = config;
        self.db = app.state().db.clone();
        self.base = format!("http://127.0.0.1:{}", app.port());
        register(
            &[&self.base, &self.config.site.public_url],
            &self.db,
            self.config.inbox.workers > 0,
        );
        self.metrics_url = app
            .metrics_port()
            .map(|p| format!("http://127.0.0.1:{p}/metrics"));
        let (tx, rx) = oneshot::channel();
        self.stop = Some(tx);
        self.handle = Some(tokio::spawn(app.run(async {
            let _ = rx.await;
        })));
    }

    /// A client for a Steppe that runs elsewhere (a spawned `steppe` process), with this test's database handle.
    pub async fn attach(base: &str, db_url: &str, config: Config, dir: tempfile::TempDir) -> Self {
        let app = Self {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .expect("client"),
            db: Db::connect(db_url, 2).await.expect("db"),
            db_url: db_url.to_string(),
            config,
            metrics_url: None,
            db_cleanup: None,
            stop: None,
            handle: None,
            _dir: dir,
        };
        register(
            &[&app.base, &app.config.site.public_url],
            &app.db,
            app.config.inbox.workers > 0,
        );
        app
    }

    /// Starts a stopped server again on the same database and port (so that its ids stay the same).
    pub async fn start_again_on_same_port(&mut self) {
        let addr = self.base.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind(&addr).expect("bind the same port again");
        self.start(listener).await;
    }

    /// Starts a stopped server again on the same database (and a new port).
    pub async fn start_again(&mut self) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        self.start(listener).await;
    }

    /// Stops the server and starts a new one on the same database (and a new port); the client keeps its cookies.
    pub async fn restart(&mut self) {
        self.shutdown().await;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        self.start(listener).await;
    }

    /// Stops the server gracefully (as on SIGTERM); [`TestApp::start_again`] starts it anew.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task").expect("server");
        }
    }

    /// Stops the server and drops its PostgreSQL database, if it made one.
    pub async fn finish(mut self) {
        self.shutdown().await;
        self.db.pool.close().await;
        if let Some((admin_url, name)) = self.db_cleanup.take() {
            use sqlx::{Connection, Executor};
            if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
    }

    /// The text of `/metrics` (the test configured `metrics.bind`).
    pub async fn metrics(&self) -> String {
        reqwest::get(self.metrics_url.clone().expect("metrics listener"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// An absolute URL for a path on this instance (absolute URLs are returned as they are).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET and return status and body.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let status = r.status();
        (status, r.text().await.expect("body"))
    }

    /// POST a form exactly as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(fields).expect("encode");
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// Like a browser: loads `form_page`, takes the CSRF token from its form, and posts `fields` to `action`.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (status, html) = self.page(form_page).await;
        assert_eq!(status, StatusCode::OK, "form page {form_page}: {html}");
        let token = csrf_token(&html);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }

    /// Creates the owner through the setup form; the client is then logged in.
    pub async fn setup_owner(&self) {
        let r = self
            .submit(
                "/admin",
                "/admin/setup",
                &[
                    ("username", OWNER),
                    ("display_name", OWNER_NAME),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "setup");
    }

    /// Submits the post editor and returns the editor URL of the saved post.
    pub async fn save_post(&self, editor: &str, fields: &[(&str, &str)], action: &str) -> String {
        let mut all = fields.to_vec();
        all.push(("action", action));
        let r = self.submit(editor, editor, &all).await;
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().expect("location").to_string());
        let body = r.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::SEE_OTHER, "saving post: {body}");
        let location = location.expect("redirect after save");
        location.split('?').next().expect("path").to_string()
    }

    /// The ActivityStreams document at `path` (asked for as a fediverse server asks), which must answer 200.
    pub async fn activity_json(&self, path: &str) -> serde_json::Value {
        let r = self
            .client
            .get(self.url(path))
            .header("accept", "application/activity+json")
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json().await.expect("JSON")
    }

    /// Runs the `steppe` binary on this instance's database and media folder, as if it were at `public_url`
    /// (its own address when `None`), with a configuration written into `dir`.
    pub fn cli(
        &self,
        dir: &std::path::Path,
        public_url: Option<&str>,
        args: &[&str],
    ) -> std::process::Output {
        run_cli(
            dir,
            &format!(
                "[site]\npublic_url = \"{}\"\ntitle = \"Command line\"\n[database]\nurl = \"{}\"\n\
                 [media]\ndir = \"{}\"\n[federation]\nallow_private_addresses = true\n",
                public_url.unwrap_or(self.config.base_url()),
                self.db_url,
                self.config.media.dir
            ),
            args,
        )
    }

    /// A published post from title, tags and Markdown; returns its editor URL.
    pub async fn publish(&self, title: &str, tags: &str, body: &str) -> String {
        self.save_post(
            "/admin/posts/new",
            &[("title", title), ("tags", tags), ("body", body)],
            "publish",
        )
        .await
    }
}

/// Runs the `steppe` binary with the configuration `config` (written into `dir`) and only the environment it is
/// given (PATH), so that the developer's STEPPE_ variables do not leak in.
pub fn run_cli(dir: &std::path::Path, config: &str, args: &[&str]) -> std::process::Output {
    let path = dir.join("cli-config.toml");
    std::fs::write(&path, config).expect("write the configuration");
    let mut all = vec!["--config", path.to_str().expect("path")];
    all.extend_from_slice(args);
    std::process::Command::new(env!("CARGO_BIN_EXE_steppe"))
        .args(&all)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run steppe")
}

/// GETs `url` with `headers` and returns the CSRF token of its first form.
pub async fn form_token(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> String {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    csrf_token(
        &request
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body"),
    )
}

/// POSTs `fields` as a form to `url` with `headers` (the CSRF token, if any, is one of the fields).
pub async fn post_form(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(fields).expect("encode"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("POST")
}

/// The value of the first hidden `csrf` input on a page.
pub fn csrf_token(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("input[name=csrf]").expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("page has a CSRF field")
        .to_string()
}

/// The text of every element matching `selector`, entities decoded.
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// The value of attribute `attr` of every element matching `selector`.
pub fn attrs(html: &str, selector: &str, attr: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

/// A post of the seed blog in tests/fixtures/seed-blog.wxr.xml.
pub struct FixturePost {
    pub title: String,
    pub slug: String,
    /// The text, paragraphs separated by blank lines, exactly as exported.
    pub text: String,
    pub tags: Vec<String>,
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s
        .find(start)
        .map(|i| i + start.len())
        .expect("start marker");
    let to = s[from..].find(end).map(|i| i + from).expect("end marker");
    &s[from..to]
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The seed blog's posts, read from the WordPress export.
pub fn fixture_posts() -> Vec<FixturePost> {
    let xml = include_str!("fixtures/seed-blog.wxr.xml");
    xml.split("<item>")
        .skip(1)
        .map(|item| {
            let tags = item
                .split("<category domain=\"post_tag\"")
                .skip(1)
                .map(|c| between(c, "<![CDATA[", "]]>").to_string())
                .collect();
            FixturePost {
                title: unescape_xml(between(item, "<title>", "</title>")),
                slug: between(item, "<wp:post_name><![CDATA[", "]]>").to_string(),
                text: between(item, "<content:encoded><![CDATA[", "]]></content:encoded>")
                    .to_string(),
                tags,
            }
        })
        .collect()
}

/// A PNG with a transparent corner (kept as PNG by the processing).
pub fn png_with_alpha(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x * 5) as u8,
            (y * 5) as u8,
            90,
            if x < 4 && y < 4 { 0 } else { 255 },
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG");
    out.into_inner()
}

/// A JPEG photo-like gradient, optionally with an EXIF segment (APP1) inserted after SOI.
pub fn jpeg(width: u32, height: u32, exif: Option<&[u8]>) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("JPEG");
    let plain = out.into_inner();
    match exif {
        None => plain,
        Some(tiff) => {
            let mut app1 = b"Exif\0\0".to_vec();
            app1.extend_from_slice(tiff);
            let len = u16::try_from(app1.len() + 2).expect("short EXIF");
            let mut with = plain[..2].to_vec();
            with.extend_from_slice(&[0xFF, 0xE1]);
            with.extend_from_slice(&len.to_be_bytes());
            with.extend_from_slice(&app1);
            with.extend_from_slice(&plain[2..]);
            with
        }
    }
}

/// A little-endian TIFF block for EXIF with an orientation and a GPS position (latitude 43°15′N, as phones write).
pub fn exif_with_gps(orientation: u16) -> Vec<u8> {
    let mut t: Vec<u8> = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes()); // IFD0 at 8
    // IFD0: 2 entries: Orientation (0x0112, SHORT), GPSInfo pointer (0x8825, LONG)
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&0x0112u16.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&u32::from(orientation).to_le_bytes());
    let gps_at: u32 = 8 + 2 + 2 * 12 + 4;
    t.extend_from_slice(&0x8825u16.to_le_bytes());
    t.extend_from_slice(&4u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&gps_at.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    // GPS IFD: GPSLatitudeRef "N", GPSLatitude 3 rationals
    let rationals_at: u32 = gps_at + 2 + 2 * 12 + 4;
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&2u32.to_le_bytes());
    t.extend_from_slice(b"N\0\0\0");
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&5u16.to_le_bytes());
    t.extend_from_slice(&3u32.to_le_bytes());
    t.extend_from_slice(&rationals_at.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(43u32, 1u32), (15, 1), (0, 1)] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    t
}

/// `jpeg` with an ICC profile (an APP2 `ICC_PROFILE` segment, one chunk) inserted after SOI.
pub fn with_icc_profile(jpeg: &[u8], profile: &[u8]) -> Vec<u8> {
    let mut app2 = b"ICC_PROFILE\0\x01\x01".to_vec();
    app2.extend_from_slice(profile);
    let len = u16::try_from(app2.len() + 2).expect("short profile");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE2]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app2);
    out.extend_from_slice(&jpeg[2..]);
    out
}
