//! Configuration: the `config.toml` schema, `STEPPE_…` environment overrides, and validation that names the bad key.

use std::{net::SocketAddr, path::Path};

use serde::Deserialize;
use url::Url;

/// Everything Steppe reads from `config.toml`. Each key is documented in the shipped `config.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub site: SiteConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub federation: FederationConfig,
    #[serde(default)]
    pub media: MediaConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub inbox: InboxConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub editor: EditorConfig,
    #[serde(default)]
    pub email: EmailConfig,
}

/// E-mail digests of the owner's notifications, over SMTP; off by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// "starttls" (port 587), "tls" (implicit TLS, port 465), or "none" (a server on this machine only).
    pub tls: String,
    pub username: String,
    pub password: String,
    pub from: String,
    pub to: String,
    /// A digest waits this long after the oldest event it holds, so that a burst sends one mail.
    pub wait_seconds: i64,
    /// After a failed send, the next try waits this long.
    pub retry_seconds: u64,
    /// Seconds one SMTP conversation may take.
    pub timeout_seconds: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            host: String::new(),
            port: 587,
            tls: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: String::new(),
            to: String::new(),
            wait_seconds: 120,
            retry_seconds: 300,
            timeout_seconds: 20,
        }
    }
}

/// The post editor: how much history it keeps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EditorConfig {
    /// Saved revisions kept per post (the oldest beyond this are removed on each save); at least 1.
    pub revisions_kept: i64,
}

impl Default for EditorConfig {
    fn default() -> Self {
        Self { revisions_kept: 50 }
    }
}

/// The delivery queue: how many requests each process sends at once, how failures are retried, when hosts pause.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Deliveries one process sends at once; in `serve`, 0 leaves delivery to `steppe worker` processes.
    pub workers: usize,
    /// Deliveries one process sends at once to the same host.
    pub per_host: usize,
    /// Seconds a delivery request may take (connecting, sending and reading the answer).
    pub timeout_seconds: u64,
    /// Seconds a worker holds the rows it claimed; a worker that died lets them go after this.
    pub lease_seconds: i64,
    /// Wait before the first retry, in seconds; it doubles with each failure (with jitter) up to `max_retry_seconds`.
    pub first_retry_seconds: i64,
    pub max_retry_seconds: i64,
    /// A delivery that still fails this long after it was queued fails for good.
    pub give_up_after_seconds: i64,
    /// A host whose deliveries fail this many times in a row is paused: its rows wait, and one probes it later.
    pub pause_host_after_failures: i64,
    /// Delivered rows are kept this many days for the Deliveries page, then removed.
    pub keep_done_days: i64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            workers: 64,
            per_host: 8,
            timeout_seconds: 10,
            lease_seconds: 120,
            first_retry_seconds: 30,
            max_retry_seconds: 6 * 3600,
            give_up_after_seconds: 5 * 24 * 3600,
            pause_host_after_failures: 5,
            keep_done_days: 14,
        }
    }
}

/// The durable inbox: activities checked and stored before the 202, applied by workers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InboxConfig {
    /// Activities one process applies at once; in `serve`, 0 leaves them to `steppe worker` processes.
    pub workers: usize,
    /// Seconds a worker holds an activity it claimed; if it dies, another takes it up after this. Applying one
    /// (fetches included) is cut off before it.
    pub lease_seconds: i64,
    /// Wait before the first retry of an activity that failed for a reason that may pass, in seconds; four times
    /// longer each time, up to `max_retry_seconds`.
    pub first_retry_seconds: i64,
    pub max_retry_seconds: i64,
    /// An activity that still fails this long after it arrived is given up (and listed for the owner).
    pub give_up_after_seconds: i64,
    /// Activities waiting at most; beyond this the inbox answers 503 with Retry-After.
    pub max_queued: i64,
    /// Days a given-up activity stays listed on the admin Deliveries page.
    pub keep_failed_days: i64,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            lease_seconds: 120,
            first_retry_seconds: 30,
            max_retry_seconds: 6 * 3600,
            give_up_after_seconds: 2 * 24 * 3600,
            max_queued: 100_000,
            keep_failed_days: 14,
        }
    }
}

/// The optional Prometheus endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address for `/metrics` in the Prometheus text format, on its own listener; empty (the default) turns it off.
    pub bind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// `"local"` (the folder `dir`) or `"s3"` (an S3-compatible bucket, `[media.s3]`), shared by every machine.
    pub storage: String,
    /// Where images are stored with `storage = "local"`.
    pub dir: String,
    /// Largest image file accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Largest image accepted, in megapixels (width × height, read before decoding).
    pub max_megapixels: u64,
    /// Images processed at once (each holds its decoded pixels in memory).
    pub processing_slots: usize,
    /// When set, `/media/…` redirects to this public address of the bucket (`<public_url>/<name>`).
    pub public_url: String,
    /// Days before a commenter's copied avatar is fetched again.
    pub remote_avatar_max_age_days: u64,
    pub s3: S3Config,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            storage: "local".into(),
            dir: "data/media".into(),
            max_upload_bytes: 20 * 1024 * 1024,
            max_megapixels: 50,
            processing_slots: 2,
            public_url: String::new(),
            remote_avatar_max_age_days: 7,
            s3: S3Config::default(),
        }
    }
}

/// An S3-compatible bucket. Empty credentials are read from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    pub bucket: String,
    /// For stores other than AWS (MinIO, Garage, R2…): `https://…`; `http://` only for one on this machine.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `https://bucket.endpoint/…` addressing instead of `https://endpoint/bucket/…`.
    pub virtual_hosted: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// The blog's fediverse username: followers see `@username@host`.
    pub username: String,
    /// Publish only the number of followers, not who they are.
    pub hide_followers: bool,
    /// How far a signed request's Date may be from our clock, either way, in seconds.
    pub signature_window_seconds: u64,
    /// Require signed GETs for the blog's objects and collections (the actor, WebFinger and NodeInfo stay public).
    pub authorized_fetch: bool,
    /// Let the federation client reach private and loopback addresses, over plain http. For tests only.
    pub allow_private_addresses: bool,
    /// How outgoing requests are signed: "auto" (RFC 9421 with the Ed25519 key, then RFC 9421 with the RSA key,
    /// then draft-cavage, learned per host), or always one of "rfc9421-ed25519", "rfc9421" (RSA), "draft-cavage".
    pub signature_scheme: String,
    /// Keys not yet known that one host's requests may make us fetch per minute (a forged request chooses where
    /// the key is fetched from, so this bounds what strangers can make Steppe send to a host).
    pub key_fetches_per_host_per_minute: u32,
}

impl Default for FederationConfig {
    fn default() -> Self {
        Self {
            username: "blog".into(),
            hide_followers: false,
            signature_window_seconds: 3600,
            authorized_fetch: false,
            allow_private_addresses: false,
            signature_scheme: "auto".into(),
            key_fetches_per_host_per_minute: 120,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Memory for rendered public pages, in bytes; 0 turns the page cache off.
    pub max_bytes: u64,
    /// Longest time a rendered page is served without being rendered again, even if nothing changed.
    pub max_age_seconds: u64,
    /// How long browsers and proxies may keep a public page or feed without asking again (`Cache-Control:
    /// public, max-age=…`); 0 sends `no-cache` (they keep it, but ask each time, cheaply with a 304).
    pub public_max_age_seconds: u64,
    /// How late the home, tag and archive pages may show a new comment count, in milliseconds: during a storm of
    /// replies they are rendered again at most this often (0: after every change, like the other pages).
    pub list_delay_ms: u64,
    /// The same for a post's own page and its new comments and likes: a page rendered less than this long ago is
    /// served while replies pour in (0: rendered again after every change).
    pub post_delay_ms: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024 * 1024,
            max_age_seconds: 300,
            public_max_age_seconds: 60,
            list_delay_ms: 1000,
            post_delay_ms: 250,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Where readers reach the blog; every absolute link (and later every federation id) derives from it.
    pub public_url: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default = "default_posts_per_page")]
    pub posts_per_page: i64,
    /// Threads (a comment on the post with the replies under it) per page of a post's comments.
    #[serde(default = "default_comment_threads_per_page")]
    pub comment_threads_per_page: i64,
    /// The IANA time zone in which the owner types and reads dates ("Asia/Almaty").
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Whether the public pages show how many accounts follow the blog.
    #[serde(default = "default_true")]
    pub show_follower_count: bool,
    /// The text of `/robots.txt` (its `Sitemap:` line is added); empty: everything but the owner's pages and the
    /// search is open to crawlers.
    #[serde(default)]
    pub robots: String,
    /// The comment moderation policy in force (what the comment form promises), set in the web admin only.
    #[serde(skip)]
    pub comment_policy: crate::domain::moderation::Policy,
    /// The favicon's address, set in the web admin only.
    #[serde(skip)]
    pub favicon_url: Option<String>,
    /// The pages listed in the site's navigation, in order: (title, path). Read from the database.
    #[serde(skip)]
    pub nav: Vec<(String, String)>,
    /// Where the blog has moved (every page says so), set in the web admin only.
    #[serde(skip)]
    pub moved_to: Option<crate::domain::moving::Moved>,
    /// The new blog's address that readers are sent to, set in the web admin only.
    #[serde(skip)]
    pub redirect_to: Option<String>,
}

impl SiteConfig {
    /// The blog's time zone (UTC when the name is unknown, which `validate` refuses at startup).
    pub fn zone(&self) -> crate::domain::dates::Zone {
        crate::domain::dates::Zone::named(&self.time_zone)
            .unwrap_or_else(crate::domain::dates::Zone::utc)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    /// Take the client address from `X-Forwarded-For` (only behind a reverse proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Seconds a connection may take to send a request's headers, counted from when it opens or from the end of
    /// the previous response (so it is also the first-byte and keep-alive idle timeout).
    pub header_timeout_seconds: u64,
    /// Seconds a request may take once its headers are in (reading the body, handling, answering).
    pub request_timeout_seconds: u64,
    /// Connections served at once; more wait in the kernel's queue. Kept below the open-files limit.
    pub max_connections: usize,
    /// Connections served at once from one client address; more are closed at once.
    pub max_connections_per_ip: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            trust_forwarded_for: false,
            header_timeout_seconds: 10,
            request_timeout_seconds: 60,
            max_connections: 768,
            max_connections_per_ip: 64,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite:data/steppe.db".into(),
            max_connections: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_body_bytes: usize,
    pub max_title_chars: usize,
    pub max_summary_chars: usize,
    pub max_tag_chars: usize,
    pub max_tags: usize,
    pub login_failures_per_username: i64,
    pub login_failures_per_ip: i64,
    pub login_throttle_minutes: i64,
    pub session_days: i64,
    /// Replies accepted from one account, and from one server, per hour; more get 429 (they are sent again later).
    pub comments_per_actor_per_hour: i64,
    pub comments_per_domain_per_hour: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_title_chars: 200,
            max_summary_chars: 1000,
            max_tag_chars: 50,
            max_tags: 20,
            login_failures_per_username: 5,
            login_failures_per_ip: 20,
            login_throttle_minutes: 15,
            session_days: 30,
            comments_per_actor_per_hour: 30,
            comments_per_domain_per_hour: 300,
        }
    }
}

fn default_language() -> String {
    "en".into()
}

fn default_true() -> bool {
    true
}

fn default_time_zone() -> String {
    "UTC".into()
}

/// The posts a list page may show (`site.posts_per_page`, in `config.toml` or the settings page).
pub const POSTS_PER_PAGE: std::ops::RangeInclusive<i64> = 1..=100;
/// The comment threads a page of a post's comments may show (`site.comment_threads_per_page`).
pub const COMMENT_THREADS_PER_PAGE: std::ops::RangeInclusive<i64> = 1..=1000;

fn default_posts_per_page() -> i64 {
    10
}

fn default_comment_threads_per_page() -> i64 {
    50
}

/// A configuration that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Syntax(String),
    #[error("invalid configuration: `{key}`: {message}")]
    Key { key: String, message: String },
}

fn key_error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.into(),
        message: message.into(),
    }
}

impl Config {
    /// Reads `path`, applies `STEPPE_SECTION__KEY` overrides from `env`, and validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, env)
    }

    /// Parses TOML text, applies overrides from `env`, and validates.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.message().to_string()))?;
        apply_env_overrides(&mut table, env)?;
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                // One line: toml appends "in `section`" on a line of its own.
                let inner = e.into_inner().to_string();
                let inner = inner.lines().next().unwrap_or_default().trim().to_string();
                if key == "." {
                    ConfigError::Syntax(inner)
                } else {
                    key_error(&key, inner)
                }
            })?;
        let mut config = config;
        config.validate()?;
        // One spelling of the address everywhere (lowercase host, no default port): ids are compared as strings.
        if let Ok(url) = Url::parse(&config.site.public_url) {
            config.site.public_url = url.to_string();
        }
        Ok(config)
    }

    /// Checks values that parse but make no sense; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = Url::parse(&self.site.public_url).map_err(|e| {
            key_error(
                "site.public_url",
                format!("not a URL ({e}): {:?}", self.site.public_url),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(key_error(
                "site.public_url",
                "must be an http:// or https:// URL with a host",
            ));
        }
        if crate::domain::dates::Zone::named(&self.site.time_zone).is_none() {
            return Err(key_error(
                "site.time_zone",
                format!(
                    "is not a time zone name such as \"Europe/Berlin\" or \"UTC\": {:?}",
                    self.site.time_zone
                ),
            ));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(key_error(
                "site.public_url",
                "must be the root of a host (no path, query or fragment): Steppe serves from /",
            ));
        }
        let server = &self.server;
        if !(1..=300).contains(&server.header_timeout_seconds) {
            return Err(key_error(
                "server.header_timeout_seconds",
                "must be from 1 to 300",
            ));
        }
        if !(1..=3600).contains(&server.request_timeout_seconds) {
            return Err(key_error(
                "server.request_timeout_seconds",
                "must be from 1 to 3600",
            ));
        }
        if server.max_connections < 16 {
            return Err(key_error("server.max_connections", "must be at least 16"));
        }
        if !(1..=server.max_connections).contains(&server.max_connections_per_ip) {
            return Err(key_error(
                "server.max_connections_per_ip",
                "must be from 1 to server.max_connections",
            ));
        }
        if self.site.title.trim().is_empty() {
            return Err(key_error("site.title", "must not be empty"));
        }
        if !is_language_tag(&self.site.language) {
            return Err(key_error(
                "site.language",
                "must be a language tag such as \"en\" or \"pt-BR\"",
            ));
        }
        if !POSTS_PER_PAGE.contains(&self.site.posts_per_page) {
            return Err(key_error("site.posts_per_page", "must be from 1 to 100"));
        }
        if self.cache.list_delay_ms > 60_000 {
            return Err(key_error(
                "cache.list_delay_ms",
                "must be from 0 to 60000 (a minute)",
            ));
        }
        if self.cache.post_delay_ms > 60_000 {
            return Err(key_error(
                "cache.post_delay_ms",
                "must be from 0 to 60000 (a minute)",
            ));
        }
        if !COMMENT_THREADS_PER_PAGE.contains(&self.site.comment_threads_per_page) {
            return Err(key_error(
                "site.comment_threads_per_page",
                "must be from 1 to 1000",
            ));
        }
        self.server.bind.parse::<SocketAddr>().map_err(|_| {
            key_error(
                "server.bind",
                "must be an address and port such as 127.0.0.1:8080",
            )
        })?;
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(key_error(
                "database.url",
                "must start with sqlite: or postgres://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(key_error("database.max_connections", "must be at least 1"));
        }
        if !is_fediverse_username(&self.federation.username) {
            return Err(key_error(
                "federation.username",
                "must be lowercase letters, digits and underscores, with single dots or dashes between them",
            ));
        }
        if !(60..=86_400).contains(&self.federation.signature_window_seconds) {
            return Err(key_error(
                "federation.signature_window_seconds",
                "must be from 60 to 86400",
            ));
        }
        if !(1..=100_000).contains(&self.federation.key_fetches_per_host_per_minute) {
            return Err(key_error(
                "federation.key_fetches_per_host_per_minute",
                "must be from 1 to 100000",
            ));
        }
        let l = &self.limits;
        for (key, value) in [
            ("limits.max_body_bytes", l.max_body_bytes),
            ("limits.max_title_chars", l.max_title_chars),
            ("limits.max_summary_chars", l.max_summary_chars),
            ("limits.max_tag_chars", l.max_tag_chars),
            ("limits.max_tags", l.max_tags),
        ] {
            if value == 0 {
                return Err(key_error(key, "must be at least 1"));
            }
        }
        for (key, value) in [
            (
                "limits.login_failures_per_username",
                l.login_failures_per_username,
            ),
            ("limits.login_failures_per_ip", l.login_failures_per_ip),
            ("limits.login_throttle_minutes", l.login_throttle_minutes),
            ("limits.session_days", l.session_days),
            (
                "limits.comments_per_actor_per_hour",
                l.comments_per_actor_per_hour,
            ),
            (
                "limits.comments_per_domain_per_hour",
                l.comments_per_domain_per_hour,
            ),
        ] {
            if value < 1 {
                return Err(key_error(key, "must be at least 1"));
            }
        }
        self.validate_delivery()?;
        self.validate_inbox()?;
        self.validate_media()
    }

    fn validate_media(&self) -> Result<(), ConfigError> {
        let m = &self.media;
        match m.storage.as_str() {
            "local" => {}
            "s3" if m.s3.bucket.is_empty() => {
                return Err(key_error(
                    "media.s3.bucket",
                    "must name the bucket when media.storage = \"s3\"",
                ));
            }
            "s3" => {}
            _ => return Err(key_error("media.storage", "must be \"local\" or \"s3\"")),
        }
        if !(1024..=(1 << 30)).contains(&m.max_upload_bytes) {
            return Err(key_error(
                "media.max_upload_bytes",
                "must be from 1024 to 1073741824",
            ));
        }
        if !(1..=500).contains(&m.max_megapixels) {
            return Err(key_error("media.max_megapixels", "must be from 1 to 500"));
        }
        let e = &self.email;
        if e.enabled {
            if e.host.trim().is_empty() {
                return Err(key_error(
                    "email.host",
                    "must name the SMTP server when email.enabled",
                ));
            }
            let local =
                matches!(e.host.as_str(), "localhost" | "::1") || e.host.starts_with("127.");
            match e.tls.as_str() {
                "starttls" | "tls" => {}
                "none" if local => {}
                "none" => {
                    return Err(key_error(
                        "email.tls",
                        "\"none\" sends the password in the clear: only for a server on this machine",
                    ));
                }
                _ => {
                    return Err(key_error(
                        "email.tls",
                        "must be \"starttls\", \"tls\" or \"none\"",
                    ));
                }
            }
            for (key, value) in [("email.from", &e.from), ("email.to", &e.to)] {
                if value.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(key_error(
                        key,
                        format!("is not an e-mail address: {value:?}"),
                    ));
                }
            }
            if !(0..=86_400).contains(&e.wait_seconds)
                || e.timeout_seconds == 0
                || e.retry_seconds == 0
            {
                return Err(key_error(
                    "email.wait_seconds",
                    "wait_seconds must be from 0 to 86400, retry_seconds and timeout_seconds above 0",
                ));
            }
        }
        if !(1..=10_000).contains(&self.editor.revisions_kept) {
            return Err(key_error(
                "editor.revisions_kept",
                "must be from 1 to 10000",
            ));
        }
        if !(1..=64).contains(&m.processing_slots) {
            return Err(key_error("media.processing_slots", "must be from 1 to 64"));
        }
        if m.remote_avatar_max_age_days < 1 {
            return Err(key_error(
                "media.remote_avatar_max_age_days",
                "must be at least 1",
            ));
        }
        if !m.public_url.is_empty() {
            match Url::parse(&m.public_url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => {
                    return Err(key_error(
                        "media.public_url",
                        "must be an http:// or https:// URL, or empty",
                    ));
                }
            }
        }
        Ok(())
    }

    /// `federation.signature_scheme` as the client takes it.
    pub fn signature_schemes(&self) -> Option<crate::federation::client::SchemeChoice> {
        use crate::federation::{client::SchemeChoice, signatures::Signing};
        match self.federation.signature_scheme.as_str() {
            "auto" => Some(SchemeChoice::Auto),
            other => Signing::parse(other).map(SchemeChoice::Always),
        }
    }

    fn validate_delivery(&self) -> Result<(), ConfigError> {
        if self.signature_schemes().is_none() {
            return Err(key_error(
                "federation.signature_scheme",
                "must be \"auto\", \"rfc9421-ed25519\", \"rfc9421\" or \"draft-cavage\"",
            ));
        }
        let d = &self.delivery;
        if d.per_host == 0 {
            return Err(key_error("delivery.per_host", "must be at least 1"));
        }
        if !(1..=300).contains(&d.timeout_seconds) {
            return Err(key_error(
                "delivery.timeout_seconds",
                "must be from 1 to 300",
            ));
        }
        // A claimed row may wait for its host's earlier rows and then take a full timeout: the lease must outlast that.
        let timeout = i64::try_from(d.timeout_seconds).unwrap_or(300);
        if d.lease_seconds < 3 * timeout {
            return Err(key_error(
                "delivery.lease_seconds",
                "must be at least three times delivery.timeout_seconds",
            ));
        }
        for (key, value) in [
            ("delivery.first_retry_seconds", d.first_retry_seconds),
            ("delivery.give_up_after_seconds", d.give_up_after_seconds),
            (
                "delivery.pause_host_after_failures",
                d.pause_host_after_failures,
            ),
            ("delivery.keep_done_days", d.keep_done_days),
        ] {
            if value < 1 {
                return Err(key_error(key, "must be at least 1"));
            }
        }
        if d.max_retry_seconds < d.first_retry_seconds {
            return Err(key_error(
                "delivery.max_retry_seconds",
                "must be at least delivery.first_retry_seconds",
            ));
        }
        if !self.metrics.bind.is_empty() && self.metrics.bind.parse::<SocketAddr>().is_err() {
            return Err(key_error(
                "metrics.bind",
                "must be empty (off) or an address and port such as 127.0.0.1:9187",
            ));
        }
        Ok(())
    }

    fn validate_inbox(&self) -> Result<(), ConfigError> {
        let i = &self.inbox;
        // Applying one activity may fetch a note and its author (10 s each at most): the lease outlasts that.
        if i.lease_seconds < 30 {
            return Err(key_error("inbox.lease_seconds", "must be at least 30"));
        }
        for (key, value) in [
            ("inbox.first_retry_seconds", i.first_retry_seconds),
            ("inbox.give_up_after_seconds", i.give_up_after_seconds),
            ("inbox.max_queued", i.max_queued),
            ("inbox.keep_failed_days", i.keep_failed_days),
        ] {
            if value < 1 {
                return Err(key_error(key, "must be at least 1"));
            }
        }
        if i.max_retry_seconds < i.first_retry_seconds {
            return Err(key_error(
                "inbox.max_retry_seconds",
                "must be at least inbox.first_retry_seconds",
            ));
        }
        Ok(())
    }

    /// `site.public_url` without its trailing slash, ready to have a path appended.
    pub fn base_url(&self) -> &str {
        self.site.public_url.trim_end_matches('/')
    }

    /// Whether cookies must carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.site.public_url.starts_with("https://")
    }
}

/// Mastodon's rule for usernames it will resolve, `[a-z0-9_]+([.-]+[a-z0-9_]+)*`: word characters and dots or
/// dashes, starting and ending with a word character; at most 30 characters.
fn is_fediverse_username(s: &str) -> bool {
    let word = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_';
    let bytes = s.as_bytes();
    bytes.len() <= 30
        && bytes.first().is_some_and(word)
        && bytes.last().is_some_and(word)
        && bytes.iter().all(|b| word(b) || matches!(b, b'.' | b'-'))
}

impl Config {
    /// The authority (`host` or `host:port`) of `site.public_url`: the domain part of `@username@host`.
    pub fn host(&self) -> String {
        url::Url::parse(&self.site.public_url)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_string();
                Some(match u.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                })
            })
            .unwrap_or_default()
    }
}

pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// `STEPPE_SITE__TITLE=x` sets `site.title`. Values are read as TOML (numbers, booleans) and fall back to strings.
fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, raw) in env {
        let Some(path) = name.strip_prefix("STEPPE_") else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        let dotted = keys.join(".");
        let Some((last, sections)) = keys
            .split_last()
            .filter(|(_, s)| matches!(s.len(), 1 | 2) && !keys.iter().any(String::is_empty))
        else {
            return Err(key_error(
                &dotted,
                format!(
                    "environment variable {name} must look like STEPPE_SECTION__KEY (or STEPPE_SECTION__TABLE__KEY)"
                ),
            ));
        };
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let mut section = &mut *table;
        for key in sections {
            let entry = section
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(inner) = entry.as_table_mut() else {
                return Err(key_error(key, "must be a table"));
            };
            section = inner;
        }
        // A string key given a number-looking value ("2024") stays a string.
        let value = match (section.get(last), value) {
            (Some(toml::Value::String(_)), v) if !v.is_str() => toml::Value::String(raw),
            (_, v) => v,
        };
        section.insert(last.clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
public_url = "https://blog.example"
title = "A blog"
"#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn shipped_config_is_valid() {
        let text = include_str!("../config.toml");
        let config = Config::from_toml(text, []).expect("config.toml must load");
        assert!(config.database.url.starts_with("sqlite:"));
        assert_eq!(config.server.bind, "127.0.0.1:8080");
    }

    #[test]
    fn env_overrides_keys() {
        let config = Config::from_toml(
            MINIMAL,
            env(&[
                ("STEPPE_SITE__TITLE", "Posts from the steppe"),
                ("STEPPE_DATABASE__MAX_CONNECTIONS", "3"),
                ("HOME", "/root"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.site.title, "Posts from the steppe");
        assert_eq!(config.database.max_connections, 3);
    }

    #[test]
    fn numeric_looking_string_stays_string() {
        let config =
            Config::from_toml(MINIMAL, env(&[("STEPPE_SITE__TITLE", "2024")])).expect("valid");
        assert_eq!(config.site.title, "2024");
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                env(&[("STEPPE_SITE__PUBLIC_URL", "ftp://x")]),
                "site.public_url",
            ),
            (env(&[("STEPPE_SERVER__BIND", "nowhere")]), "server.bind"),
            (
                env(&[("STEPPE_DATABASE__URL", "mysql://x")]),
                "database.url",
            ),
            (
                env(&[("STEPPE_DATABASE__MAX_CONNECTIONS", "many")]),
                "database.max_connections",
            ),
            (env(&[("STEPPE_SITE__COLOUR", "red")]), "colour"),
            (env(&[("STEPPE_LIMITS__MAX_TAGS", "0")]), "limits.max_tags"),
            (
                env(&[("STEPPE_SITE__LANGUAGE", "english language")]),
                "site.language",
            ),
        ];
        for (vars, key) in cases {
            let err = Config::from_toml(MINIMAL, vars)
                .expect_err("must fail")
                .to_string();
            assert!(err.contains(key), "{err:?} should name {key}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    #[test]
    fn missing_title_is_named() {
        let err = Config::from_toml("[site]\npublic_url = \"http://a.example\"\n", [])
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("title"), "{err}");
    }
}
