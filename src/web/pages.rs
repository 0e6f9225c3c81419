//! The reader's pages: home, post permalink, tag page, health check and the stylesheet.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::views::{self, AtomFeed, HomePage, Pager, PostPage, PostView, TagPage, render};
use crate::{
    app::AppState,
    db::{comments, posts},
    domain::content,
    error::AppError,
    federation::http::{redirect_varying, wants_activity_json},
};

/// `?page=N` on lists.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    /// The page number, 1 when absent; a value that is not a positive number is a bad request.
    fn number(&self) -> Result<i64, AppError> {
        match self.page.as_deref() {
            None | Some("") => Ok(1),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| {
                    AppError::BadRequest("The page number must be a positive whole number.".into())
                }),
        }
    }
}

pub async fn home(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = q.number()?;
    let per_page = state.site().posts_per_page;
    let zone = state.site().zone();
    let total = posts::count_published(&state.db).await?;
    if page > 1 && (page - 1) * per_page >= total {
        return Err(AppError::NotFound);
    }
    let list = posts::list_published(&state.db, per_page, (page - 1) * per_page).await?;
    render(&HomePage {
        site: &state.site(),
        posts: list
            .into_iter()
            .map(|p| PostView::new(p, state.urls.base(), &zone))
            .collect(),
        pager: Pager::new("/", page, per_page, total),
    })
}

pub async fn tag(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = q.number()?;
    let lower = slug.to_ascii_lowercase();
    let tag = posts::find_tag(&state.db, &lower)
        .await?
        .ok_or(AppError::NotFound)?;
    if lower != slug {
        // One address per tag: /tags/NGOs and /tags/ngos are the same page.
        return Ok(moved_permanently(&views::tag_path(&tag.slug)));
    }
    let per_page = state.site().posts_per_page;
    let zone = state.site().zone();
    let total = posts::count_published_by_tag(&state.db, &tag.slug).await?;
    if total == 0 || (page - 1) * per_page >= total {
        return Err(AppError::NotFound);
    }
    let list =
        posts::list_published_by_tag(&state.db, &tag.slug, per_page, (page - 1) * per_page).await?;
    render(&TagPage {
        site: &state.site(),
        pager: Pager::new(&views::tag_path(&tag.slug), page, per_page, total),
        tag_name: tag.name,
        posts: list
            .into_iter()
            .map(|p| PostView::new(p, state.urls.base(), &zone))
            .collect(),
    })
}

pub async fn post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(post) = posts::find_published_by_slug(&state.db, &slug).await? else {
        // An old slug moved permanently to the post's current address.
        return match posts::current_slug_for_old(&state.db, &slug).await? {
            Some(current) => Ok(moved_permanently(&views::post_path(&current))),
            None if posts::slug_is_gone(&state.db, &slug).await? => Err(AppError::Gone),
            None => Err(AppError::NotFound),
        };
    };
    let article_url = state.urls.article(&post.article_id);
    if wants_activity_json(&headers) {
        // ActivityPub clients get the Article at its permanent id, whose document carries that same id.
        return Ok(redirect_varying(StatusCode::FOUND, &article_url));
    }
    let comments = comments::list_shown(&state.db, &post.id).await?;
    let (likes, boosts) = comments::reaction_counts(&state.db, &post.id).await?;
    let canonical_url = state.urls.permalink(&post.slug);
    let description = content::excerpt_text(&post.excerpt_html);
    let mut response = render(&PostPage {
        site: &state.site(),
        canonical_url,
        article_url,
        description,
        fediverse_creator: state.urls.handle(),
        post: PostView::new(post, state.urls.base(), &state.site().zone()),
        comments: with_copied_avatars(&state, views::comment_thread(comments)).await?,
        likes,
        boosts,
    })?;
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

#[derive(askama::Template)]
#[template(path = "page.html")]
struct StaticPage<'a> {
    site: &'a crate::config::SiteConfig,
    canonical_url: String,
    description: String,
    post: PostView,
}

/// `/{slug}`: a static page (About, Contact). ActivityPub clients get its Article when it was sent to followers.
pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(page) = posts::find_published_page(&state.db, &slug).await? else {
        return Err(AppError::NotFound);
    };
    if wants_activity_json(&headers) && page.announced == 1 {
        return Ok(redirect_varying(
            StatusCode::FOUND,
            &state.urls.article(&page.article_id),
        ));
    }
    let canonical_url = state.urls.page_url(&page.path());
    let description = content::excerpt_text(&page.excerpt_html);
    let mut response = render(&StaticPage {
        site: &state.site(),
        canonical_url,
        description,
        post: PostView::new(page, state.urls.base(), &state.site().zone()),
    })?;
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

/// Points commenters' avatars at this blog's copies (fetching missing ones in the background); an avatar without a
/// copy yet is left out rather than loaded from the commenter's server.
async fn with_copied_avatars(
    state: &AppState,
    mut thread: Vec<views::CommentView>,
) -> Result<Vec<views::CommentView>, AppError> {
    let urls: Vec<String> = thread
        .iter()
        .filter_map(|c| c.author_avatar.clone())
        .collect();
    let copies = crate::media::avatars::served(state, &urls).await?;
    let own = format!("{}/media/", state.urls.base());
    for c in &mut thread {
        c.author_avatar = c.author_avatar.take().and_then(|u| {
            if u.starts_with(&own) {
                Some(u)
            } else {
                copies.get(&u).cloned()
            }
        });
    }
    Ok(thread)
}

/// Posts in the Atom feed.
const FEED_ENTRIES: i64 = 20;

/// `/feed.xml`: the newest posts as an Atom feed, with their full text.
pub async fn feed(State(state): State<AppState>) -> Result<Response, AppError> {
    let list = posts::list_published_full_page(&state.db, FEED_ENTRIES, 0).await?;
    let updated = list.iter().map(|p| p.updated_at).max().unwrap_or(0);
    let feed = AtomFeed {
        site: &state.site(),
        base_url: state.config.base_url(),
        updated: views::dates(updated).1,
        entries: list.into_iter().map(Into::into).collect(),
    };
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml_text(askama::Template::render(&feed)?),
    )
        .into_response())
}

/// Drops what XML 1.0 cannot carry (control characters but tab and newlines, U+FFFE, U+FFFF) from a rendered
/// feed, so that a stray `\x0c` in a title cannot make the whole feed unreadable for every reader.
pub fn xml_text(rendered: String) -> String {
    let allowed = |c: char| {
        (c >= '\u{20}' || matches!(c, '\t' | '\n' | '\r')) && !matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if rendered.chars().all(allowed) {
        rendered
    } else {
        rendered.chars().filter(|c| allowed(*c)).collect()
    }
}

/// A 301 to `path`: old addresses of posts and tags stay valid for readers, feed readers and search engines.
fn moved_permanently(path: &str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, path.to_string())],
    )
        .into_response()
}

/// For monitors: 200 "ok" when the database answers, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        source,
    )
        .into_response()
}

/// The editor's script (`src/web/assets/editor.js`): drag-and-drop and paste of images.
pub async fn editor_script() -> Response {
    script(include_str!("assets/editor.js"))
}

/// The editor's live preview and toolbar (`src/web/assets/preview.js`).
pub async fn preview_script() -> Response {
    script(include_str!("assets/preview.js"))
}

/// The editor's safety net (`src/web/assets/autosave.js`): autosave, a copy in the browser, a warning on leaving.
pub async fn autosave_script() -> Response {
    script(include_str!("assets/autosave.js"))
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../templates/style.css"),
    )
        .into_response()
}

/// `/media/{name}`: a stored image variant (`<hash>-<width>.<ext>`), or an avatar or header uploaded before images
/// were processed (`<uuid>.<ext>`). Any other name is a 404 without touching the store. Names are content
/// addresses, so answers are cached for a year and the name is the ETag.
pub async fn media(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    use crate::domain::media::{ImageType, is_media_name, parse_variant_name};
    let media_type = match parse_variant_name(&name) {
        Some((_, _, format)) => format.media_type(),
        None if is_media_name(&name) => ImageType::from_extension(&name)
            .ok_or(AppError::NotFound)?
            .media_type(),
        None => return Err(AppError::NotFound),
    };
    if !state.media.public_url.is_empty() {
        let target = format!("{}/{name}", state.media.public_url);
        return Ok((
            StatusCode::FOUND,
            [
                (header::LOCATION, target),
                (header::CACHE_CONTROL, "public, max-age=86400".to_string()),
            ],
        )
            .into_response());
    }
    let etag = format!("\"{name}\"");
    let cached = [
        (
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable".to_string(),
        ),
        (header::ETAG, etag.clone()),
    ];
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, cached).into_response());
    }
    let bytes = state
        .media
        .store
        .get(&name)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    Ok((cached, [(header::CONTENT_TYPE, media_type)], bytes).into_response())
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

#[derive(serde::Deserialize)]
pub struct InteractQuery {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    handle: String,
}

/// `/interact?uri=…&handle=…`: "Leave a comment" without JavaScript. The reader gives their fediverse address; they
/// are sent to their own server's page for replying to the post there. Only this blog's Articles can be the `uri`.
pub async fn interact(
    State(state): State<AppState>,
    crate::web::auth::ClientIp(ip): crate::web::auth::ClientIp,
    Query(q): Query<InteractQuery>,
) -> Result<Response, AppError> {
    if state.urls.article_id_in(&q.uri).is_none() {
        return Err(AppError::BadRequest(
            "That is not a post of this blog.".into(),
        ));
    }
    use crate::federation::discovery::{InteractionError, interaction_url};
    match interaction_url(&state.client, &state.lookups, &ip, &q.handle, &q.uri).await {
        Ok(target) => Ok(axum::response::Redirect::to(&target).into_response()),
        Err(e @ InteractionError::TooMany) => Err(AppError::TooManyRequests(e.to_string())),
        Err(e) => Err(AppError::BadRequest(e.to_string())),
    }
}
