//! Rendered public pages kept in memory until the content they show changes.
//!
//! A page is stored with the database's content version read *before* it was rendered; any committed change to
//! posts, tags or comments bumps that version (in every process, on PostgreSQL through NOTIFY), so a stored page
//! is served only while nothing it could show has changed. `cache.max_age_seconds` bounds how long a page may be
//! served even then (a lost notification cannot keep a page stale for longer), and `cache.max_bytes` bounds memory.
//!
//! Pages are stored as sent: compressed by the compression layer inside this one (gzip or brotli, whichever the
//! client prefers; the request's `Accept-Encoding` is narrowed to that one before it goes in, so the key and the
//! body agree), keyed by encoding, negotiated type, path and query. Each carries an `ETag` (a hash of its bytes, so
//! one per encoding) and a `Last-Modified`: when the content version it was rendered under began (kept while its
//! bytes stay the same); a request that names either gets a bodiless 304 when it still matches, from the cache
//! without rendering anything.
//!
//! Misses fly single: when many readers ask for a page that is missing or stale (a post that just got a comment),
//! one renders it and the others wait for that render and are answered from the cache.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use quick_cache::{Weighter, sync::Cache};
use sha2::Digest;

use crate::{
    app::AppState,
    db::versions::{Depends, Versions},
};

#[derive(Clone)]
struct CachedPage {
    /// The number of the latest change when the page began to render (see `db::versions`).
    version: u64,
    /// What the page shows: which changes make it stale.
    depends: Depends,
    stored_at: Instant,
    /// Every header of the original response (content type and encoding, validators, security headers), replayed
    /// on a hit.
    headers: HeaderMap,
    body: Bytes,
    etag: HeaderValue,
    /// Unix seconds of `Last-Modified`.
    modified: u64,
}

/// Put on responses of routes whose pages may be cached (the reader's pages), by [`mark_cacheable`].
#[derive(Debug, Clone, Copy)]
pub struct Cacheable;

/// Says what a page shows, so that only changes to that make it stale; a cacheable page that does not say depends
/// on everything.
pub fn depends_on(response: &mut Response, depends: Depends) {
    response.extensions_mut().insert(depends);
}

/// Marks a route's responses as cacheable; applied to the reader's routes only.
pub async fn mark_cacheable(mut response: Response) -> Response {
    response.extensions_mut().insert(Cacheable);
    response
}

#[derive(Clone)]
struct PageWeight;

impl Weighter<String, Arc<CachedPage>> for PageWeight {
    fn weight(&self, key: &String, page: &Arc<CachedPage>) -> u64 {
        // The fixed part stands for the entry's own bookkeeping and headers.
        u64::try_from(key.len() + page.body.len() + 512).unwrap_or(u64::MAX)
    }
}

/// The page cache of one instance.
pub struct PageCache {
    /// `None` when `cache.max_bytes` is 0 (caching off).
    pages: Option<Cache<String, Arc<CachedPage>, PageWeight>>,
    max_age: Duration,
    /// How long a list may be served after only the counts it shows changed (`cache.list_delay_ms`).
    list_delay: Duration,
    /// How long a post page may be served after only its comments and reactions changed (`cache.post_delay_ms`).
    post_delay: Duration,
    /// `Cache-Control` of public pages.
    cache_control: HeaderValue,
    /// When each recent change number was first seen (unix seconds): the `Last-Modified` of pages whose last
    /// change it is. A later number never begins earlier than an earlier one; the oldest are forgotten first.
    began: std::sync::Mutex<std::collections::BTreeMap<u64, u64>>,
    /// The keys being rendered now, each with the lock its renderer holds: concurrent misses of one page wait for
    /// that one render instead of rendering the same page each (single flight).
    in_flight: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// One request's turn to render a missing page: held while it renders; the next request for the key gets it after.
struct Turn<'a> {
    cache: &'a PageCache,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut in_flight = self
            .cache
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Nobody else holds or waits for this lock (the map's reference and ours): the key is no longer in flight.
        if Arc::strong_count(&self.lock) <= 2 {
            in_flight.remove(&self.key);
        }
    }
}

impl PageCache {
    pub fn new(config: &crate::config::CacheConfig) -> Self {
        let max_bytes = config.max_bytes;
        let pages = (max_bytes > 0).then(|| {
            // quick_cache wants an estimate of the number of entries; pages are a few KiB to a few tens of KiB.
            let estimated = usize::try_from(max_bytes / 8192)
                .unwrap_or(1024)
                .clamp(16, 1 << 20);
            Cache::with_weighter(estimated, max_bytes, PageWeight)
        });
        let cache_control = match config.public_max_age_seconds {
            0 => HeaderValue::from_static("public, no-cache"),
            n => HeaderValue::from_str(&format!("public, max-age={n}"))
                .unwrap_or(HeaderValue::from_static("public, no-cache")),
        };
        Self {
            pages,
            max_age: Duration::from_secs(config.max_age_seconds),
            list_delay: Duration::from_millis(config.list_delay_ms),
            post_delay: Duration::from_millis(config.post_delay_ms),
            cache_control,
            began: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            in_flight: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the turn to render `key` (at once when nobody renders it); `None` when caching is off.
    async fn turn(&self, key: &str) -> Option<Turn<'_>> {
        self.pages.as_ref()?;
        let lock = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key.to_string())
            .or_default()
            .clone();
        let guard = lock.clone().lock_owned().await;
        Some(Turn {
            cache: self,
            key: key.to_string(),
            lock,
            guard: Some(guard),
        })
    }

    /// When change number `version` was first seen, as [`PageCache::began`] keeps it.
    fn version_began(&self, version: u64) -> u64 {
        /// Change numbers remembered; a page whose last change is older than these is dated anew.
        const KEPT: usize = 4096;
        let mut began = self
            .began
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&at) = began.get(&version) {
            return at;
        }
        let earlier = began.range(..version).next_back().map_or(0, |(_, &at)| at);
        let at = now_unix().max(earlier);
        began.insert(version, at);
        while began.len() > KEPT {
            began.pop_first();
        }
        at
    }

    /// The stored page under `key`, fresh or not.
    fn peek(&self, key: &str) -> Option<Arc<CachedPage>> {
        self.pages.as_ref()?.get(key)
    }

    /// Whether a stored page still shows what it depends on, and is young enough.
    fn is_fresh(&self, page: &CachedPage, versions: &Versions) -> bool {
        let age = page.stored_at.elapsed();
        if age >= self.max_age {
            return false;
        }
        if versions.unchanged_since(&page.depends, page.version) {
            return true;
        }
        // Only comments and reactions changed: a list or a post page rendered a moment ago is served a little
        // longer, so that a storm of replies renders it at most once per delay (the first change after a quiet
        // spell finds an older page and renders at once).
        let delay = match page.depends {
            Depends::Lists => self.list_delay,
            Depends::Post(_) => self.post_delay,
            Depends::Everything | Depends::Structure => return false,
        };
        age < delay && versions.only_counts_changed(page.version)
    }

    fn insert(&self, key: String, page: Arc<CachedPage>) {
        if let Some(pages) = &self.pages {
            pages.insert(key, page);
        }
    }
}

/// The content codings served, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The coding a request's `Accept-Encoding` prefers among those served: the highest q-value, brotli before
    /// gzip on a tie; identity when it names neither (or refuses both with `q=0`). Unreadable parts are ignored.
    fn preferred(headers: &HeaderMap) -> Self {
        let mut best: Option<(u16, Self)> = None;
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
                let coding = match name.as_str() {
                    "br" => Self::Brotli,
                    "gzip" | "x-gzip" => Self::Gzip,
                    _ => continue,
                };
                let q = parts
                    .find_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case("q")
                            .then(|| parse_qvalue(v.trim()))
                    })
                    .unwrap_or(Some(1000));
                let Some(q) = q.filter(|q| *q > 0) else {
                    continue;
                };
                let better = match best {
                    None => true,
                    Some((bq, bc)) => {
                        q > bq || (q == bq && coding == Self::Brotli && bc != Self::Brotli)
                    }
                };
                if better {
                    best = Some((q, coding));
                }
            }
        }
        best.map_or(Self::Identity, |(_, c)| c)
    }

    fn token(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
            Self::Identity => "identity",
        }
    }
}

/// A q-value ("1", "0.5", "0.125") in thousandths; `None` when it is not one.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (whole, fraction) = v.split_once('.').unwrap_or((v, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(fraction),
        "1" if fraction == 0 => Some(1000),
        _ => None,
    }
}

/// The cache key of a request, or `None` when it must not be cached: only GET, and only the bare path, `?page=N`
/// (lists) or `?comments=N` (a post's comments), so that arbitrary query strings cannot push real pages out. The
/// key also holds the coding the response will have and whether an ActivityPub document or a page was asked for.
fn cache_key(request: &Request, encoding: Encoding) -> Option<String> {
    if request.method() != Method::GET {
        return None;
    }
    let negotiated = if crate::federation::http::wants_activity_json(request.headers()) {
        "activity"
    } else {
        "page"
    };
    let uri = request.uri();
    let path = match uri.query() {
        None => uri.path().to_string(),
        Some(q)
            if q.strip_prefix("page=")
                .or_else(|| q.strip_prefix("comments="))
                .is_some_and(|n| {
                    !n.is_empty() && n.len() <= 7 && n.bytes().all(|b| b.is_ascii_digit())
                }) =>
        {
            format!("{}?{q}", uri.path())
        }
        Some(_) => return None,
    };
    Some(format!("{} {negotiated} {path}", encoding.token()))
}

/// What a conditional request names.
struct Conditions {
    /// The entity tags of `If-None-Match` (`*` included as is).
    none_match: Vec<String>,
    /// `If-Modified-Since`, in unix seconds (ignored when `If-None-Match` is present, as RFC 9110 says).
    modified_since: Option<u64>,
}

impl Conditions {
    fn of(headers: &HeaderMap) -> Self {
        let none_match: Vec<String> = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/").to_string())
            .filter(|t| t == "*" || (t.len() >= 2 && t.starts_with('"') && t.ends_with('"')))
            .take(32)
            .collect();
        let modified_since = headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        Self {
            none_match,
            modified_since,
        }
    }

    /// Whether a page with these validators is what the client already has.
    fn unchanged(&self, etag: &HeaderValue, modified: u64) -> bool {
        if !self.none_match.is_empty() {
            let etag = etag.to_str().unwrap_or_default();
            return self.none_match.iter().any(|t| t == "*" || t == etag);
        }
        self.modified_since.is_some_and(|since| modified <= since)
    }
}

/// The answer for a stored page: a 304 with its validators when the client has it, else the page.
fn answer(page: &CachedPage, conditions: &Conditions) -> Response {
    if conditions.unchanged(&page.etag, page.modified) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let headers = response.headers_mut();
        for name in [
            header::ETAG,
            header::LAST_MODIFIED,
            header::CACHE_CONTROL,
            header::VARY,
        ] {
            if let Some(v) = page.headers.get(&name) {
                headers.insert(name, v.clone());
            }
        }
        return response;
    }
    let mut response = Body::from(page.body.clone()).into_response();
    *response.headers_mut() = page.headers.clone();
    response
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The outermost middleware: answers from the cache before routing when it can (a hit costs one map lookup, a
/// revalidation no body at all), and stores successful responses of routes marked [`Cacheable`] with their
/// validators.
pub async fn cached_pages(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let encoding = Encoding::preferred(request.headers());
    let Some(key) = cache_key(&request, encoding) else {
        return next.run(request).await;
    };
    let conditions = Conditions::of(request.headers());
    let versions = state.db.versions();
    if let Some(page) = state
        .pages
        .peek(&key)
        .filter(|p| state.pages.is_fresh(p, versions))
    {
        return answer(&page, &conditions);
    }
    // A miss: one request renders the page while the others for the same key wait, then read what it stored.
    let _turn = state.pages.turn(&key).await;
    // Read before rendering: a change committed while the page renders is later than this, so it makes the page
    // stale even if the render did not see it.
    let version = versions.current();
    let stored = state.pages.peek(&key);
    if let Some(page) = stored
        .as_ref()
        .filter(|p| state.pages.is_fresh(p, versions))
    {
        return answer(page, &conditions);
    }
    // The compression layer inside sees only the coding this key stands for.
    request.headers_mut().insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static(encoding.token()),
    );
    let response = next.run(request).await;
    let cacheable = response.extensions().get::<Cacheable>().is_some()
        && response.status() == StatusCode::OK
        && !response.headers().contains_key(header::SET_COOKIE);
    if !cacheable {
        return response;
    }
    let depends = response
        .extensions()
        .get::<Depends>()
        .cloned()
        .unwrap_or(Depends::Everything);
    let (mut parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a rendered page");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let coding = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_string();
    let digest = sha2::Sha256::digest(&body);
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    let etag = HeaderValue::from_str(&format!("\"{hex}-{coding}\""))
        .unwrap_or(HeaderValue::from_static("\"unknown\""));
    // Last-Modified: when the last change the page shows was first seen (with or without the cache, the same for
    // every render of it), kept from the stored page when the bytes did not change.
    let modified = match &stored {
        Some(old) if old.etag == etag => old.modified,
        // New bytes get a later date than the ones they replace, so that a client that fetched the old page within
        // the same second sees a change; but never more than a second ahead of the clock (a storm of changes to
        // one page within a second is told apart by the ETag).
        Some(old) => state
            .pages
            .version_began(versions.last_change(&depends))
            .max(
                old.modified
                    .saturating_add(1)
                    .min(now_unix().saturating_add(1)),
            ),
        None => state.pages.version_began(versions.last_change(&depends)),
    };
    let headers = &mut parts.headers;
    headers.insert(header::ETAG, etag.clone());
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(
        SystemTime::UNIX_EPOCH + Duration::from_secs(modified),
    )) {
        headers.insert(header::LAST_MODIFIED, v);
    }
    headers.insert(header::CACHE_CONTROL, state.pages.cache_control.clone());
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    let page = Arc::new(CachedPage {
        version,
        depends,
        stored_at: Instant::now(),
        headers: parts.headers,
        body,
        etag,
        modified,
    });
    state.pages.insert(key, page.clone());
    answer(&page, &conditions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_bytes: u64, max_age_seconds: u64) -> crate::config::CacheConfig {
        crate::config::CacheConfig {
            max_bytes,
            max_age_seconds,
            public_max_age_seconds: 60,
            list_delay_ms: 60_000,
            post_delay_ms: 0,
        }
    }

    fn page(version: u64, depends: Depends) -> Arc<CachedPage> {
        Arc::new(CachedPage {
            version,
            depends,
            stored_at: Instant::now(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"<p>hi</p>"),
            etag: HeaderValue::from_static("\"abc-identity\""),
            modified: 1_000,
        })
    }

    #[test]
    fn serves_a_page_until_what_it_shows_changes_within_max_age() {
        let cache = PageCache::new(&config(1 << 20, 60));
        let versions = Versions::default();
        let now = versions.current();
        for (key, depends) in [
            ("/everything", Depends::Everything),
            ("/posts/a", Depends::Post("a".into())),
            ("/posts/b", Depends::Post("b".into())),
            ("/", Depends::Lists),
            ("/feed.xml", Depends::Structure),
        ] {
            cache.insert(key.into(), page(now, depends));
        }
        let fresh = |key: &str| cache.is_fresh(&cache.peek(key).expect("stored"), &versions);
        versions.post_changed("a");
        assert!(!fresh("/posts/a"), "its post changed (no post delay here)");
        assert!(!fresh("/everything"));
        assert!(fresh("/posts/b"), "another post did not");
        assert!(fresh("/feed.xml"), "feeds show no comments");
        assert!(
            fresh("/"),
            "a list's counts may be late within list_delay_ms"
        );
        versions.structure_changed();
        assert!(!fresh("/"), "a list is stale at once when posts change");
        assert!(!fresh("/posts/b") && !fresh("/feed.xml"));

        // Without a delay, lists are stale at once too.
        let prompt = PageCache::new(&crate::config::CacheConfig {
            list_delay_ms: 0,
            ..config(1 << 20, 60)
        });
        prompt.insert("/".into(), page(versions.current(), Depends::Lists));
        versions.post_changed("b");
        assert!(!prompt.is_fresh(&prompt.peek("/").expect("stored"), &versions));

        // A post page within its delay is served as it is; one rendered longer ago than the delay is rendered again.
        let delayed = PageCache::new(&crate::config::CacheConfig {
            post_delay_ms: 1000,
            ..config(1 << 20, 60)
        });
        let now = versions.current();
        delayed.insert("/posts/young".into(), page(now, Depends::Post("c".into())));
        let mut old = (*page(now, Depends::Post("c".into()))).clone();
        old.stored_at = Instant::now()
            .checked_sub(Duration::from_secs(2))
            .expect("two seconds ago");
        delayed.insert("/posts/old".into(), Arc::new(old));
        versions.post_changed("c");
        assert!(delayed.is_fresh(&delayed.peek("/posts/young").expect("stored"), &versions));
        assert!(!delayed.is_fresh(&delayed.peek("/posts/old").expect("stored"), &versions));

        let expired = PageCache::new(&config(1 << 20, 0));
        expired.insert("/".into(), page(versions.current(), Depends::Everything));
        assert!(
            !expired.is_fresh(&expired.peek("/").expect("stored"), &versions),
            "too old"
        );
        let off = PageCache::new(&config(0, 60));
        off.insert("/".into(), page(3, Depends::Everything));
        assert!(off.peek("/").is_none(), "disabled");
    }

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::empty()).expect("request")
    }

    #[test]
    fn each_change_is_dated_when_first_seen_and_never_before_an_earlier_one() {
        let cache = PageCache::new(&config(1 << 20, 60));
        let first = cache.version_began(5);
        assert!(first >= now_unix() - 1 && first <= now_unix());
        assert_eq!(
            cache.version_began(5),
            first,
            "the same change, the same date"
        );
        let later = cache.version_began(9);
        assert!(
            later >= first && later <= now_unix(),
            "never ahead of the clock"
        );
        assert_eq!(
            cache.version_began(5),
            first,
            "asking for another keeps the first"
        );
        for n in 10..5000 {
            cache.version_began(n);
        }
        assert!(cache.began.lock().expect("lock").len() <= 4096, "bounded");
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_take_turns() {
        let cache = Arc::new(PageCache::new(&config(1 << 20, 60)));
        let first = cache.turn("gzip page /").await.expect("caching is on");
        // Another key is not held up.
        drop(cache.turn("gzip page /other").await);
        // The same key waits for the first renderer.
        let waiting = {
            let cache = cache.clone();
            tokio::spawn(async move {
                let _turn = cache.turn("gzip page /").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the second miss waits");
        drop(first);
        waiting.await.expect("the second miss gets its turn");
        let in_flight = cache.in_flight.lock().expect("lock").len();
        assert_eq!(in_flight, 0, "nothing stays in flight");
        // With caching off there is nothing to wait for.
        assert!(PageCache::new(&config(0, 60)).turn("k").await.is_none());
    }

    #[test]
    fn keys_only_plain_gets_by_coding_and_type() {
        let key = |method: Method, uri: &str, accept: &str| {
            cache_key(&request(method, uri, &[("accept", accept)]), Encoding::Gzip)
        };
        assert_eq!(
            key(Method::GET, "/", "text/html").as_deref(),
            Some("gzip page /")
        );
        assert_eq!(
            key(Method::GET, "/?page=2", "*/*").as_deref(),
            Some("gzip page /?page=2")
        );
        assert_eq!(
            key(Method::GET, "/posts/a?comments=3", "*/*").as_deref(),
            Some("gzip page /posts/a?comments=3")
        );
        assert_eq!(key(Method::GET, "/posts/a?comments=x", "*/*"), None);
        assert_eq!(key(Method::GET, "/?page=2&x=1", "*/*"), None);
        assert_eq!(key(Method::GET, "/?utm=1", "*/*"), None);
        assert_eq!(key(Method::POST, "/", "*/*"), None);
        assert_eq!(
            key(Method::GET, "/posts/a", "application/activity+json").as_deref(),
            Some("gzip activity /posts/a")
        );
    }

    #[test]
    fn chooses_the_preferred_coding() {
        let of = |v: &str| {
            Encoding::preferred(request(Method::GET, "/", &[("accept-encoding", v)]).headers())
        };
        assert_eq!(of("gzip, deflate, br"), Encoding::Brotli);
        assert_eq!(of("gzip"), Encoding::Gzip);
        assert_eq!(of("br;q=0.5, gzip"), Encoding::Gzip);
        assert_eq!(of("br;q=0, gzip;q=0"), Encoding::Identity);
        assert_eq!(of("deflate, zstd"), Encoding::Identity);
        assert_eq!(
            of("gzip;q=banana, br;q=2"),
            Encoding::Identity,
            "garbage is ignored"
        );
        assert_eq!(of(""), Encoding::Identity);
        assert_eq!(Encoding::preferred(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn conditions_match_validators_and_ignore_garbage() {
        let etag = HeaderValue::from_static("\"abc-gzip\"");
        let of =
            |headers: &[(&str, &str)]| Conditions::of(request(Method::GET, "/", headers).headers());
        assert!(of(&[("if-none-match", "\"abc-gzip\"")]).unchanged(&etag, 100));
        assert!(of(&[("if-none-match", "\"x\", W/\"abc-gzip\"")]).unchanged(&etag, 100));
        assert!(of(&[("if-none-match", "*")]).unchanged(&etag, 100));
        assert!(
            !of(&[("if-none-match", "\"abc-br\"")]).unchanged(&etag, 100),
            "another coding"
        );
        assert!(!of(&[("if-none-match", "garbage")]).unchanged(&etag, 100));
        let since = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(100));
        assert!(of(&[("if-modified-since", &since)]).unchanged(&etag, 100));
        assert!(!of(&[("if-modified-since", &since)]).unchanged(&etag, 101));
        assert!(!of(&[("if-modified-since", "last tuesday")]).unchanged(&etag, 1));
        assert!(
            !of(&[("if-none-match", "\"old\""), ("if-modified-since", &since)])
                .unchanged(&etag, 100),
            "If-None-Match wins"
        );
    }
}
