//! The HTTP surface for people: the accept loop (`serve`), routes, the reader's pages, the owner's admin pages, and
//! the layers around them (panic catching, body limit, request deadline, themed error pages, security headers with
//! CSP and HSTS, tracing, the page cache).

pub mod admin;
pub mod auth;
pub mod cache;
pub mod feeds;
pub mod metrics;
pub mod old_addresses;
pub mod pages;
pub mod serve;
pub mod views;

use axum::handler::Handler as _;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use std::{sync::Arc, time::Duration};

use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    app::AppState,
    error::{ErrorPage, error_response},
};

/// Every route of the site.
pub fn router(state: AppState) -> Router {
    // The reader's pages, served from the page cache while their content is unchanged.
    let public = Router::new()
        .route("/", get(pages::home))
        .route("/posts/{slug}", get(pages::post))
        .route("/comments/{anchor}", get(pages::comment_permalink))
        .route("/tags", get(pages::tags))
        .route("/tags/{slug}", get(pages::tag))
        .route("/tags/{slug}/{file}", get(feeds::tag_feed))
        .route("/{year}/{month}/", get(pages::archive))
        .route("/{year}/{month}", get(pages::archive_without_slash))
        .route("/feed.xml", get(feeds::site_atom))
        .route("/feed.rss", get(feeds::site_rss))
        .route("/feed.json", get(feeds::site_json))
        .route("/sitemap.xml", get(feeds::sitemap))
        .route("/robots.txt", get(feeds::robots))
        .route("/favicon.ico", get(pages::favicon))
        // Static pages (About, Contact); the blog's own routes above and below win over a page's slug, and the
        // editor refuses the slugs they use (`domain::slug::RESERVED`).
        .route("/{slug}", get(pages::page))
        .layer(middleware::map_response(cache::mark_cacheable))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            send_readers_on,
        ));
    // Forms that carry images take up to three files of the largest size at once (the editor's script sends one
    // file a request); the body limit of every other route stays `limits.max_body_bytes`.
    let uploads = DefaultBodyLimit::max(
        state
            .config
            .media
            .max_upload_bytes
            .saturating_mul(3)
            .saturating_add(state.config.limits.max_body_bytes),
    );
    let routes = Router::new()
        .merge(public)
        .merge(crate::federation::router())
        .route("/healthz", get(pages::healthz))
        .route("/interact", get(pages::interact))
        .route("/search", get(pages::search))
        .route("/follow", get(pages::follow))
        .route("/assets/reader.js", get(pages::reader_script))
        .route("/static/style.css", get(pages::stylesheet))
        .route("/assets/editor.js", get(pages::editor_script))
        .route("/assets/autosave.js", get(pages::autosave_script))
        .route("/assets/preview.js", get(pages::preview_script))
        .route("/admin", get(admin::index))
        .route("/admin/setup", axum::routing::post(admin::setup))
        .route("/admin/login", axum::routing::post(admin::login))
        .route("/admin/logout", axum::routing::post(admin::logout))
        .route(
            "/admin/settings",
            get(admin::settings::show).post(admin::settings::save.layer(uploads)),
        )
        .route(
            "/admin/settings/password",
            axum::routing::post(admin::settings::change_password),
        )
        .route(
            "/admin/settings/aliases",
            axum::routing::post(admin::moving::add_alias),
        )
        .route(
            "/admin/settings/aliases/remove",
            axum::routing::post(admin::moving::remove_alias),
        )
        .route(
            "/admin/settings/move",
            axum::routing::post(admin::moving::move_blog),
        )
        .route(
            "/admin/settings/redirect",
            axum::routing::post(admin::moving::redirect),
        )
        .route(
            "/admin/settings/move/undo",
            axum::routing::post(admin::moving::undo_move),
        )
        .route("/admin/export", get(admin::export::show))
        .route("/admin/export/posts.zip", get(admin::export::posts))
        .route(
            "/admin/export/archive",
            axum::routing::post(admin::export::full),
        )
        .route("/admin/mentions", get(admin::mentions::show))
        .route("/admin/notifications", get(admin::notifications::show))
        .route(
            "/admin/notifications/read",
            axum::routing::post(admin::notifications::mark_read),
        )
        .route("/admin/comments", get(admin::comments::show))
        .route(
            "/admin/comments/policy",
            axum::routing::post(admin::comments::set_policy),
        )
        .route(
            "/admin/comments/action",
            axum::routing::post(admin::comments::act),
        )
        .route(
            "/admin/comments/reply",
            axum::routing::post(admin::comments::reply),
        )
        .route(
            "/admin/comments/edit",
            axum::routing::post(admin::comments::edit),
        )
        .route(
            "/admin/posts/{id}/comments",
            axum::routing::post(admin::comments::set_open),
        )
        .route(
            "/admin/blocks",
            get(admin::blocks::show).post(admin::blocks::add),
        )
        .route(
            "/admin/blocks/remove",
            axum::routing::post(admin::blocks::remove),
        )
        .route("/admin/deliveries", get(admin::deliveries::show))
        .route("/admin/followers", get(admin::followers::show))
        .route("/admin/followers.csv", get(admin::followers::export))
        .route(
            "/admin/followers/remove",
            axum::routing::post(admin::followers::remove),
        )
        .route(
            "/admin/deliveries/retry",
            axum::routing::post(admin::deliveries::retry),
        )
        .route(
            "/admin/deliveries/received/retry",
            axum::routing::post(admin::deliveries::retry_received),
        )
        .route(
            "/admin/deliveries/resume",
            axum::routing::post(admin::deliveries::resume),
        )
        .route("/media/{name}", get(pages::media))
        .route("/admin/media", get(admin::media::show))
        .route(
            "/admin/import",
            get(admin::import::show).post(
                admin::import::start.layer(DefaultBodyLimit::max(admin::import::MAX_IMPORT_BYTES)),
            ),
        )
        .route(
            "/admin/media/upload",
            axum::routing::post(admin::media::upload).layer(uploads),
        )
        .route(
            "/admin/media/{id}/alt",
            axum::routing::post(admin::media::describe),
        )
        .route(
            "/admin/media/{id}/delete",
            axum::routing::post(admin::media::delete),
        )
        .route(
            "/admin/posts/new",
            get(admin::posts::new).post(admin::posts::create.layer(uploads)),
        )
        .route(
            "/admin/posts/{id}/edit",
            get(admin::posts::edit).post(admin::posts::update.layer(uploads)),
        )
        .route(
            "/admin/posts/preview",
            axum::routing::post(admin::posts::live_preview),
        )
        .route(
            "/admin/posts/autosave",
            axum::routing::post(admin::posts::autosave_new),
        )
        .route(
            "/admin/posts/{id}/autosave",
            axum::routing::post(admin::posts::autosave),
        )
        .route(
            "/admin/posts/{id}/revisions/{rev}",
            get(admin::posts::revision),
        )
        .route(
            "/admin/posts/{id}/delete",
            get(admin::posts::confirm_delete).post(admin::posts::delete),
        )
        .fallback(pages::not_found);
    with_layers(routes, state)
}

/// After the blog moved and its archive was restored elsewhere (`moving::REDIRECT_TO`), readers asking for a page
/// are sent to the same path there (301); ActivityPub clients still get this blog's documents, and robots.txt stays.
async fn send_readers_on(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let site = state.site();
    if let Some(base) = &site.redirect_to
        && request.uri().path() != "/robots.txt"
        && !crate::federation::http::wants_activity_json(request.headers())
    {
        let target = match request.uri().path_and_query() {
            Some(p) => format!("{base}{}", p.as_str()),
            None => format!("{base}/"),
        };
        return pages::moved_permanently(&target);
    }
    next.run(request).await
}

/// The layers around every route, innermost first: panics become a 500 with a request id, the body limit, the
/// request deadline (408), themed error pages, security headers, tracing, compression, and (outermost) the page
/// cache. Public so
/// that tests can put a route of their own (one that panics) inside the very same stack.
pub fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let max_body = state.config.limits.max_body_bytes;
    let request_timeout = Duration::from_secs(state.config.server.request_timeout_seconds);
    let headers = Arc::new(SecurityHeaders::new(&state.config));
    let routes = routes
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
            let request_id = uuid::Uuid::now_v7().simple().to_string();
            tracing::error!(%request_id, "handler panicked");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. The owner can find the details in the log under this request id.",
                Some(request_id),
            )
        }))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), render_error_pages))
        .layer(middleware::from_fn(move |request, next| {
            security_headers(headers.clone(), request, next)
        }))
        .layer(TraceLayer::new_for_http())
        // gzip or brotli, as the client prefers (the page cache stores what this produces).
        .layer(CompressionLayer::new());
    // Outermost, and outside the routing, so that a cached page is answered before anything else runs: the routes
    // are matched only when the cache cannot answer.
    Router::new()
        .fallback_service(routes.with_state(state.clone()))
        .layer(middleware::from_fn_with_state(state, cache::cached_pages))
}

/// Turns bare error responses (from `AppError`, rejections and the fallback) into the themed error page.
async fn render_error_pages(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        // Responses that already carry a document (the login form with a 401, a Tombstone with a 410) pass through.
        None if !is_plain_text(&response) => return response,
        // Rejections from axum's own extractors (a bad path or query) get a generic page.
        None => ErrorPage {
            status,
            message: match status {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    "What was sent is larger than this blog accepts.".into()
                }
                StatusCode::METHOD_NOT_ALLOWED => "This address does not take that method.".into(),
                _ => "The request could not be understood.".into(),
            },
            request_id: None,
        },
    };
    let template = views::ErrorTemplate {
        site: &state.site(),
        heading: format!(
            "{} {}",
            page.status.as_u16(),
            page.status.canonical_reason().unwrap_or("Error")
        ),
        message: page.message,
        request_id: page.request_id,
    };
    let mut parts = response.into_parts().0;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    match askama::Template::render(&template) {
        Ok(html) => Response::from_parts(parts, Html(html).into_response().into_body()),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the error page");
            (status, "error").into_response()
        }
    }
}

/// Bare error bodies (axum's rejections) are plain text or empty; anything else is a document of its own.
fn is_plain_text(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"))
}

/// Headers every response carries, computed once from the configuration.
struct SecurityHeaders {
    csp: HeaderValue,
    /// `Strict-Transport-Security`, when the blog is served over https.
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    fn new(config: &crate::config::Config) -> Self {
        // No inline script or style anywhere; images also from other servers over https, because comments show
        // their authors' avatars from their own servers (and posts may show pictures from elsewhere).
        let images = if config.is_https() {
            "'self' https: data:"
        } else {
            "'self' https: http: data:"
        };
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; media-src 'self' https:; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        );
        Self {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or(HeaderValue::from_static("default-src 'self'")),
            hsts: config
                .is_https()
                .then(|| HeaderValue::from_static("max-age=31536000")),
        }
    }
}

/// No MIME sniffing, no framing, no referrer leaks beyond the origin, a Content-Security-Policy, HSTS under https,
/// and `Cache-Control: no-store` on the owner's pages (so that a shared computer's cache keeps none of them).
async fn security_headers(config: Arc<SecurityHeaders>, request: Request, next: Next) -> Response {
    let admin = request.uri().path().starts_with("/admin");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "referrer-policy",
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert("content-security-policy", config.csp.clone());
    if let Some(hsts) = &config.hsts {
        headers.insert("strict-transport-security", hsts.clone());
    }
    if admin {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
