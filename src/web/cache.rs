//! Rendered public pages kept in memory until the content they show changes.
//!
//! A page is stored with the database's content version read *before* it was rendered; any committed change to
//! posts, tags or comments bumps that version (in every process, on PostgreSQL through NOTIFY), so a stored page
//! is served only while nothing it could show has changed. `cache.max_age_seconds` bounds how long a page may be
//! served even then (a lost notification cannot keep a page stale for longer), and `cache.max_bytes` bounds memory.

use std::time::{Duration, Instant};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use quick_cache::{Weighter, sync::Cache};

use crate::app::AppState;

#[derive(Clone)]
struct CachedPage {
    version: u64,
    stored_at: Instant,
    /// Every header of the original response (content type, security headers), replayed on a hit.
    headers: HeaderMap,
    body: Bytes,
}

/// Put on responses of routes whose pages may be cached (the reader's pages), by [`mark_cacheable`].
#[derive(Debug, Clone, Copy)]
pub struct Cacheable;

/// Marks a route's responses as cacheable; applied to the reader's routes only.
pub async fn mark_cacheable(mut response: Response) -> Response {
    response.extensions_mut().insert(Cacheable);
    response
}

#[derive(Clone)]
struct PageWeight;

impl Weighter<String, CachedPage> for PageWeight {
    fn weight(&self, key: &String, page: &CachedPage) -> u64 {
        // The fixed part stands for the entry's own bookkeeping.
        u64::try_from(key.len() + page.body.len() + 128).unwrap_or(u64::MAX)
    }
}

/// The page cache of one instance.
pub struct PageCache {
    /// `None` when `cache.max_bytes` is 0 (caching off).
    pages: Option<Cache<String, CachedPage, PageWeight>>,
    max_age: Duration,
}

impl PageCache {
    pub fn new(max_bytes: u64, max_age: Duration) -> Self {
        let pages = (max_bytes > 0).then(|| {
            // quick_cache wants an estimate of the number of entries; pages are a few KiB to a few tens of KiB.
            let estimated = usize::try_from(max_bytes / 8192)
                .unwrap_or(1024)
                .clamp(16, 1 << 20);
            Cache::with_weighter(estimated, max_bytes, PageWeight)
        });
        Self { pages, max_age }
    }

    fn get(&self, key: &str, version: u64) -> Option<CachedPage> {
        let page = self.pages.as_ref()?.get(key)?;
        (page.version == version && page.stored_at.elapsed() < self.max_age).then_some(page)
    }

    fn insert(&self, key: String, page: CachedPage) {
        if let Some(pages) = &self.pages {
            pages.insert(key, page);
        }
    }
}

/// The cache key of a request, or `None` when it must not be cached: only GET, only HTML (ActivityPub clients
/// asking for JSON get their own answer), and only the bare path or `?page=N`, so that arbitrary query strings
/// cannot push real pages out.
fn cache_key(request: &Request) -> Option<String> {
    if request.method() != Method::GET {
        return None;
    }
    let accepts_json = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("json"));
    if accepts_json {
        return None;
    }
    let uri = request.uri();
    match uri.query() {
        None => Some(uri.path().to_string()),
        Some(q)
            if q.strip_prefix("page=").is_some_and(|n| {
                !n.is_empty() && n.len() <= 7 && n.bytes().all(|b| b.is_ascii_digit())
            }) =>
        {
            Some(format!("{}?{q}", uri.path()))
        }
        Some(_) => None,
    }
}

/// The outermost middleware: answers from the cache before routing when it can (a hit costs one map lookup), and
/// stores successful responses of routes marked [`Cacheable`].
pub async fn cached_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = cache_key(&request) else {
        return next.run(request).await;
    };
    let version = state.db.content_version();
    if let Some(page) = state.pages.get(&key, version) {
        let mut response = Body::from(page.body).into_response();
        *response.headers_mut() = page.headers;
        return response;
    }
    let response = next.run(request).await;
    let cacheable = response.extensions().get::<Cacheable>().is_some()
        && response.status() == StatusCode::OK
        && !response.headers().contains_key(header::SET_COOKIE);
    if !cacheable {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a rendered page");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    state.pages.insert(
        key,
        CachedPage {
            version,
            stored_at: Instant::now(),
            headers: parts.headers.clone(),
            body: body.clone(),
        },
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(version: u64) -> CachedPage {
        CachedPage {
            version,
            stored_at: Instant::now(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"<p>hi</p>"),
        }
    }

    #[test]
    fn serves_only_the_current_version_within_max_age() {
        let cache = PageCache::new(1 << 20, Duration::from_secs(60));
        cache.insert("/".into(), page(3));
        assert!(cache.get("/", 3).is_some());
        assert!(cache.get("/", 4).is_none(), "content changed");
        let expired = PageCache::new(1 << 20, Duration::ZERO);
        expired.insert("/".into(), page(3));
        assert!(expired.get("/", 3).is_none(), "too old");
        let off = PageCache::new(0, Duration::from_secs(60));
        off.insert("/".into(), page(3));
        assert!(off.get("/", 3).is_none(), "disabled");
    }

    #[test]
    fn keys_only_plain_gets() {
        let req = |method: Method, uri: &str, accept: &str| {
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::ACCEPT, accept)
                .body(Body::empty())
                .expect("request")
        };
        assert_eq!(
            cache_key(&req(Method::GET, "/", "text/html")).as_deref(),
            Some("/")
        );
        assert_eq!(
            cache_key(&req(Method::GET, "/?page=2", "*/*")).as_deref(),
            Some("/?page=2")
        );
        assert_eq!(cache_key(&req(Method::GET, "/?page=2&x=1", "*/*")), None);
        assert_eq!(cache_key(&req(Method::GET, "/?utm=1", "*/*")), None);
        assert_eq!(cache_key(&req(Method::POST, "/", "*/*")), None);
        assert_eq!(
            cache_key(&req(Method::GET, "/posts/a", "application/activity+json")),
            None
        );
        assert_eq!(
            cache_key(&req(Method::GET, "/posts/a", "Application/Activity+JSON")),
            None,
            "media types are case-insensitive"
        );
    }
}
