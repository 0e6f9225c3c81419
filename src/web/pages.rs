//! The reader's pages: home, post permalink, static pages, tag and archive pages, the tag list, search, the follow
//! page, the favicon, the health check and the stylesheet and scripts.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::cache::depends_on;
use crate::db::versions::Depends;
use std::sync::Arc;

use super::views::{
    self, ArchivePage, Chrome, FollowPage, HomePage, Pager, PostPage, PostView, SearchHit,
    SearchPage, TagPage, TagsPage, render,
};
use crate::{
    app::AppState,
    db::{comments, followers, posts, search},
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
        match page_number(self.page.as_deref()) {
            Ok(n) => Ok(n.unwrap_or(1)),
            Err(()) => Err(AppError::BadRequest(
                "The page number must be a positive whole number.".into(),
            )),
        }
    }
}

/// The parts of every reader's page that cost queries (the archive list, the follower count, the number of published
/// posts), shared by the pages rendered while the content version is unchanged, for at most [`PARTS_KEPT`] (a follow
/// changes the count without changing the content version). One per instance.
#[derive(Default)]
pub struct SharedParts(std::sync::Mutex<Option<(u64, std::time::Instant, Arc<Parts>)>>);

pub struct Parts {
    pub(crate) archive: Arc<Vec<views::ArchiveYear>>,
    followers: Option<i64>,
    /// How many posts are published (what the home page's pager divides).
    published: i64,
}

/// How long [`SharedParts`] are used at most.
const PARTS_KEPT: std::time::Duration = std::time::Duration::from_secs(10);

impl SharedParts {
    pub(crate) async fn get(&self, state: &AppState) -> Result<Arc<Parts>, AppError> {
        // The parts show posts and followers, not comments: a comment leaves them as they are.
        let version = state.db.versions().structure();
        {
            let kept = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((v, at, parts)) = kept.as_ref()
                && *v == version
                && at.elapsed() < PARTS_KEPT
            {
                return Ok(parts.clone());
            }
        }
        let site = state.site();
        let followers = if site.show_follower_count {
            Some(followers::count(&state.db).await?)
        } else {
            None
        };
        let dates = posts::published_dates(&state.db).await?;
        let months = views::archive_months(&dates, &site.zone());
        let parts = Arc::new(Parts {
            archive: Arc::new(views::archive_years(&months)),
            followers,
            published: posts::count_published(&state.db).await?,
        });
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((version, std::time::Instant::now(), parts.clone()));
        Ok(parts)
    }
}

/// What every reader's page shows around its content, for the page at `path` with the feeds `feeds` (besides the
/// blog's) and `query` in the search box.
async fn chrome(
    state: &AppState,
    path: &str,
    query: &str,
    mut feeds: Vec<views::FeedLink>,
) -> Result<Chrome, AppError> {
    let parts = state.reader_parts.get(state).await?;
    let mut all = views::feed_links(&state.site().title, "", "/feed");
    all.append(&mut feeds);
    Ok(Chrome {
        handle: state.urls.handle(),
        followers: parts.followers,
        archive: parts.archive.clone(),
        canonical_url: state.urls.page_url(path),
        query: query.to_string(),
        feeds: all,
    })
}

pub async fn home(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    // WordPress's own addresses of posts and pages, `/?p=101`, `/?page_id=2`, and of its ActivityPub actors,
    // `/?author=0`.
    if uri.query().is_some_and(|query| {
        query
            .split('&')
            .any(|p| p.starts_with("p=") || p.starts_with("page_id=") || p.starts_with("author="))
    }) {
        return super::old_addresses::moved_or_not_found(&state, &uri, &headers).await;
    }
    let page = q.number()?;
    let per_page = state.site().posts_per_page;
    let zone = state.site().zone();
    // The count is kept with the archive list, which every page shows, until the posts change.
    let total = state.reader_parts.get(&state).await?.published;
    if page > 1 && (page - 1) * per_page >= total {
        return Err(AppError::NotFound);
    }
    let list = posts::list_published(&state.db, per_page, (page - 1) * per_page).await?;
    let chrome = chrome(&state, "/", "", Vec::new()).await?;
    let mut response = render(&HomePage {
        site: &state.site(),
        chrome: &chrome,
        posts: list
            .into_iter()
            .map(|p| PostView::new(p, state.urls.base(), &zone))
            .collect(),
        pager: Pager::new("/", page, per_page, total),
    })?;
    depends_on(&mut response, Depends::Lists);
    Ok(response)
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
    let path = views::tag_path(&tag.slug);
    let feeds = views::feed_links(
        &format!("Posts tagged {}", tag.name),
        &tag.name,
        &format!("{path}/feed"),
    );
    let chrome = chrome(&state, &path, "", feeds).await?;
    let mut response = render(&TagPage {
        site: &state.site(),
        chrome: &chrome,
        pager: Pager::new(&views::tag_path(&tag.slug), page, per_page, total),
        tag_name: tag.name,
        posts: list
            .into_iter()
            .map(|p| PostView::new(p, state.urls.base(), &zone))
            .collect(),
    })?;
    depends_on(&mut response, Depends::Lists);
    Ok(response)
}

/// `?comments=N` on a post: which page of its comments (the newest when absent).
#[derive(Debug, Deserialize)]
pub struct CommentsQuery {
    comments: Option<String>,
}

impl CommentsQuery {
    /// A page that is not a positive number does not exist (404: the page's address is wrong, not the request).
    fn number(&self) -> Result<Option<i64>, AppError> {
        page_number(self.comments.as_deref()).map_err(|()| AppError::NotFound)
    }
}

/// A page number from a query string: `None` when absent or empty, an error when it is not a whole number from 1
/// to 1,000,000.
fn page_number(value: Option<&str>) -> Result<Option<i64>, ()> {
    match value {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .map(Some)
            .ok_or(()),
    }
}

pub async fn post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<CommentsQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let comment_page = q.number()?;
    let Some(post) = posts::find_published_by_slug(&state.db, &slug).await? else {
        // An old slug moved permanently to the post's current address.
        return match posts::current_slug_for_old(&state.db, &slug).await? {
            Some(current) => Ok(moved_permanently(&views::post_path(&current))),
            None if posts::slug_is_gone(&state.db, &slug).await? => Err(AppError::Gone),
            None => Err(AppError::NotFound),
        };
    };
    if wants_activity_json(&headers) {
        // ActivityPub clients get the Article at its permanent id, whose document carries that same id.
        return Ok(redirect_varying(
            StatusCode::FOUND,
            &state.urls.article(&post.article_id),
        ));
    }
    post_page(&state, post, comment_page, None, String::new()).await
}

/// `/comments/{anchor}`: a comment's permalink, which leads to the page of the post's comments that holds it (302:
/// the page changes as threads are added), at the comment.
pub async fn comment_permalink(
    State(state): State<AppState>,
    Path(anchor): Path<String>,
) -> Result<Response, AppError> {
    let Some((post_id, threads_before)) = comments::thread_position(&state.db, &anchor).await?
    else {
        return Err(AppError::NotFound);
    };
    let Some(post) = posts::find_by_id(&state.db, &post_id)
        .await?
        .filter(|p| p.status() == crate::domain::posts::PostStatus::Published && !p.is_page())
    else {
        return Err(AppError::NotFound);
    };
    let per_page = state.site().comment_threads_per_page;
    let threads = comments::count_threads(&state.db, &post.id).await?;
    let page = threads_before / per_page + 1;
    let target = format!(
        "{}#comment-{anchor}",
        views::comments_page_path(&post.path(), page, views::pages_of(threads, per_page))
    );
    Ok((StatusCode::FOUND, [(header::LOCATION, target)]).into_response())
}

/// The post page; `interact_error` and `handle_typed` when "Leave a comment" could not use the address typed.
async fn post_page(
    state: &AppState,
    post: posts::Post,
    comment_page: Option<i64>,
    interact_error: Option<String>,
    handle_typed: String,
) -> Result<Response, AppError> {
    let article_url = state.urls.article(&post.article_id);
    // The comments, a page of threads at a time: the newest page unless another is asked for. Every thread starts
    // with a shown comment, so a post with no more shown comments (its counter) than a page holds has one page,
    // and one without any needs no query.
    let per_page = state.site().comment_threads_per_page;
    let threads = if post.comment_count > per_page {
        comments::count_threads(&state.db, &post.id).await?
    } else {
        post.comment_count
    };
    let pages = views::pages_of(threads, per_page);
    let page = match comment_page {
        None => pages,
        Some(n) if n <= pages => n,
        Some(_) => return Err(AppError::NotFound),
    };
    let comments = if post.comment_count > 0 {
        comments::list_threads(&state.db, &post.id, per_page, (page - 1) * per_page).await?
    } else {
        Vec::new()
    };
    let comment_pager = views::CommentPager::new(&post.path(), page, pages);
    let (likes, boosts, comment_count) = (post.like_count, post.share_count, post.comment_count);
    let (older, newer) = posts::neighbours(&state.db, &post).await?;
    let policy = state.site().comment_policy;
    let chrome = chrome(state, &views::post_path(&post.slug), "", Vec::new()).await?;
    let post_id = post.id.clone();
    let mut response = render(&PostPage {
        site: &state.site(),
        chrome: &chrome,
        article_url,
        fediverse_creator: state.urls.handle(),
        post: PostView::new(post, state.urls.base(), &state.site().zone()),
        comment_count,
        comments: with_copied_avatars(state, views::comment_thread(comments)).await?,
        comment_pager,
        likes,
        boosts,
        older: older.map(|(slug, title)| (views::post_path(&slug), title)),
        newer: newer.map(|(slug, title)| (views::post_path(&slug), title)),
        comment_hint: comment_hint(policy),
        interact_error,
        handle_typed,
    })?;
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    depends_on(&mut response, Depends::Post(post_id));
    Ok(response)
}

/// What the comment form promises about a reply, under the moderation policy in force.
fn comment_hint(policy: crate::domain::moderation::Policy) -> &'static str {
    use crate::domain::moderation::Policy;
    match policy {
        Policy::PublishAll => "Your reply appears here once it reaches this blog.",
        Policy::HoldFirst => {
            "First comments from a new account wait for the author's approval; after that, replies appear here \
             once they reach this blog."
        }
        Policy::HoldAll => "Every reply waits for the author's approval before it appears here.",
    }
}

#[derive(askama::Template)]
#[template(path = "page.html")]
struct StaticPage<'a> {
    site: &'a crate::config::SiteConfig,
    chrome: &'a Chrome,
    post: PostView,
}

/// `/{slug}`: a static page (About, Contact). ActivityPub clients get its Article when it was sent to followers.
pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(page) = posts::find_published_page(&state.db, &slug).await? else {
        return super::old_addresses::moved_or_not_found(&state, &uri, &headers).await;
    };
    if wants_activity_json(&headers) && page.announced == 1 {
        return Ok(redirect_varying(
            StatusCode::FOUND,
            &state.urls.article(&page.article_id),
        ));
    }
    let chrome = chrome(&state, &page.path(), "", Vec::new()).await?;
    let mut response = render(&StaticPage {
        site: &state.site(),
        chrome: &chrome,
        post: PostView::new(page, state.urls.base(), &state.site().zone()),
    })?;
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    depends_on(&mut response, Depends::Structure);
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

/// A 301 to `path`: old addresses of posts and tags stay valid for readers, feed readers and search engines.
pub(super) fn moved_permanently(path: &str) -> Response {
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

/// The reader's pages' script (`src/web/assets/reader.js`): the follow box's Copy button.
pub async fn reader_script() -> Response {
    script(include_str!("assets/reader.js"))
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

/// Addresses no route serves: an imported post's old address or a WordPress path is redirected (GET and HEAD
/// only), anything else is 404.
pub async fn not_found(
    State(state): State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return Err(AppError::NotFound);
    }
    super::old_addresses::moved_or_not_found(&state, &uri, &headers).await
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
    let post = match state.urls.article_id_in(&q.uri) {
        Some(article_id) => posts::find_published_by_article_id(&state.db, article_id).await?,
        None => None,
    };
    let Some(post) = post else {
        return Err(AppError::BadRequest(
            "That is not a post of this blog.".into(),
        ));
    };
    use crate::federation::discovery::interaction_url;
    let error = match interaction_url(&state.client, &state.lookups, &ip, &q.handle, &q.uri).await {
        Ok(target) => return Ok(axum::response::Redirect::to(&target).into_response()),
        Err(e) => e,
    };
    // The post again, with the reason beside the form and the address as typed.
    let status = lookup_failure_status(&error);
    let mut response = post_page(
        &state,
        post,
        None,
        Some(error.to_string()),
        typed_address(&q.handle),
    )
    .await?;
    *response.status_mut() = status;
    Ok(response)
}

/// A reader's address as typed, for showing back in the form (bounded).
fn typed_address(handle: &str) -> String {
    handle.trim().chars().take(320).collect()
}

/// The status of a page that says why a reader's address could not be looked up.
fn lookup_failure_status(error: &crate::federation::discovery::InteractionError) -> StatusCode {
    match error {
        crate::federation::discovery::InteractionError::TooMany => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The year and month of an archive path's segments ("2011", "03"), or `None` when they are not four and two
/// digits.
fn archive_month(year: &str, month: &str) -> Option<(i16, i8)> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) {
        return None;
    }
    Some((year.parse().ok()?, month.parse().ok()?))
}

/// `/{year}/{month}/`: the posts of a month in the blog's time zone. A month without posts is an empty page; a
/// path that is not a month (2011/13, 11/03, 2011/3) is a 404.
pub async fn archive(
    State(state): State<AppState>,
    Path((year, month)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some((year, month)) = archive_month(&year, &month) else {
        // Two segments that are not a month: `/tag/ngos/`, `/2011/a-post/` of an imported blog.
        return super::old_addresses::moved_or_not_found(&state, &uri, &headers).await;
    };
    let zone = state.site().zone();
    let (start, end) = zone.month_range(year, month).ok_or(AppError::NotFound)?;
    let page = q.number()?;
    let per_page = state.site().posts_per_page;
    let total = posts::count_published_between(&state.db, start, end).await?;
    if page > 1 && (page - 1) * per_page >= total {
        return Err(AppError::NotFound);
    }
    let list =
        posts::list_published_between(&state.db, start, end, per_page, (page - 1) * per_page)
            .await?;
    let path = views::archive_path(year, month);
    let chrome = chrome(&state, &path, "", Vec::new()).await?;
    let mut response = render(&ArchivePage {
        site: &state.site(),
        chrome: &chrome,
        month_name: crate::domain::dates::month_name(year, month),
        pager: Pager::new(&path, page, per_page, total),
        posts: list
            .into_iter()
            .map(|p| PostView::new(p, state.urls.base(), &zone))
            .collect(),
    })?;
    depends_on(&mut response, Depends::Lists);
    Ok(response)
}

/// `/{year}/{month}` without the slash: the archive's one address.
pub async fn archive_without_slash(
    State(state): State<AppState>,
    Path((year, month)): Path<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if archive_month(&year, &month).is_some() {
        Ok(moved_permanently(&format!("/{year}/{month}/")))
    } else {
        super::old_addresses::moved_or_not_found(&state, &uri, &headers).await
    }
}

/// `/tags`: every tag with how many published posts carry it.
pub async fn tags(State(state): State<AppState>) -> Result<Response, AppError> {
    let tags = posts::tag_counts(&state.db)
        .await?
        .into_iter()
        .map(|(tag, n)| (tag.name, views::tag_path(&tag.slug), n))
        .collect();
    let chrome = chrome(&state, "/tags", "", Vec::new()).await?;
    render(&TagsPage {
        site: &state.site(),
        chrome: &chrome,
        tags,
    })
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

/// Results a search page shows.
const SEARCH_PER_PAGE: i64 = 10;
/// What of a query is kept (and shown back): the rest of a 10 KB paste is ignored.
const SEARCH_MAX_CHARS: usize = 200;

/// `/search?q=…`: published posts and pages with every word of the query in their title, text or tags, best
/// first, with the passage that matched. Whatever the query holds, the answer is a page of results.
pub async fn search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let query: String = q.q.trim().chars().take(SEARCH_MAX_CHARS).collect();
    let page = PageQuery { page: q.page }.number().unwrap_or(1);
    let terms = search::terms(&query);
    let (found, total) = search::search(
        &state.db,
        &terms,
        SEARCH_PER_PAGE,
        (page - 1).saturating_mul(SEARCH_PER_PAGE),
    )
    .await?;
    let zone = state.site().zone();
    let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let chrome = chrome(&state, "/search", &query, Vec::new()).await?;
    let mut response = render(&SearchPage {
        site: &state.site(),
        chrome: &chrome,
        pager: Pager::with_links(page, SEARCH_PER_PAGE, total, |n| {
            if n == 1 {
                format!("/search?q={encoded}")
            } else {
                format!("/search?q={encoded}&page={n}")
            }
        }),
        hits: found
            .into_iter()
            .map(|hit| SearchHit {
                excerpt_html: search::excerpt_html(&hit.excerpt),
                post: PostView::new(hit.post, state.urls.base(), &zone),
            })
            .collect(),
        query,
        total,
    })?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct FollowQuery {
    handle: Option<String>,
}

/// `/follow?handle=…`: the follow box without JavaScript. The reader's server is looked up by WebFinger and the
/// reader sent to its page for following the blog (its subscribe template with the blog's `acct:`); an address that
/// cannot be used comes back on this page with the reason, and how to follow from the app instead. Without an
/// address: the page with the form.
pub async fn follow(
    State(state): State<AppState>,
    crate::web::auth::ClientIp(ip): crate::web::auth::ClientIp,
    Query(q): Query<FollowQuery>,
) -> Result<Response, AppError> {
    use crate::federation::discovery::interaction_url;
    let typed = typed_address(q.handle.as_deref().unwrap_or_default());
    let (status, error) = if q.handle.is_none() {
        (StatusCode::OK, None)
    } else {
        // After a move, readers are sent to follow the new account.
        let acct = match &state.site().moved_to {
            Some(moved) => moved.id.clone(),
            None => state.urls.acct(),
        };
        match interaction_url(&state.client, &state.lookups, &ip, &typed, &acct).await {
            Ok(target) => return Ok(axum::response::Redirect::to(&target).into_response()),
            Err(e) => (lookup_failure_status(&e), Some(e.to_string())),
        }
    };
    let chrome = chrome(&state, "/follow", "", Vec::new()).await?;
    let mut response = render(&FollowPage {
        site: &state.site(),
        chrome: &chrome,
        error,
        handle_typed: typed,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// `/favicon.ico`: the owner's icon (a redirect to it), else Steppe's.
pub async fn favicon(State(state): State<AppState>) -> Response {
    match state.site().favicon_url.clone() {
        Some(url) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, url),
                (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
            ],
        )
            .into_response(),
        None => (
            [
                (header::CONTENT_TYPE, "image/x-icon"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            &include_bytes!("assets/favicon.ico")[..],
        )
            .into_response(),
    }
}
