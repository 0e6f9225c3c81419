//! The owner's pages under /admin: one-time setup, login and logout, and the post list (posts.rs has the editor).

pub mod blocks;
pub mod comments;
pub mod deliveries;
pub mod export;
pub mod followers;
pub mod import;
pub mod media;
pub mod mentions;
pub mod moving;
pub mod notifications;
pub mod posts;
pub mod settings;
pub mod uploads;

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    auth::{self, ClientIp, CsrfForm, CsrfToken, LoginOutcome, MaybeOwner, Owner},
    views::{dates, render},
};
use crate::{
    app::AppState,
    config::SiteConfig,
    db::{self, users::CreateOwnerError},
    domain::users::{self, NewOwner},
    error::AppError,
};

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    errors: Vec<String>,
    username: String,
    display_name: String,
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    errors: Vec<String>,
    notice: Option<&'static str>,
    username: String,
    /// The admin page to go back to once logged in, or "".
    next: String,
}

struct AdminPostRow {
    id: String,
    comments_open: bool,
    title: String,
    status: &'static str,
    /// "Draft", "Scheduled", "Published", "Published quietly".
    status_label: &'static str,
    published: bool,
    /// The publication date (to be, for a scheduled post) in the blog's zone, or "".
    date: String,
    date_iso: String,
    updated_human: String,
    updated_iso: String,
    edit_url: String,
    view_url: String,
    delete_url: String,
}

#[derive(Template)]
#[template(path = "admin/posts.html")]
struct PostListPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    notice: Option<&'static str>,
    posts: Vec<AdminPostRow>,
    /// The filters with their counts: (key, label, count, current).
    filters: Vec<(&'static str, &'static str, i64, bool)>,
    show: &'static str,
    search: String,
    /// How many posts match, and the links to the neighbouring pages of the list.
    total: i64,
    pager: super::views::Pager,
}

/// `?show=drafts|scheduled|published&q=…&page=N` on the post list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    show: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

/// A list's search box as typed: trimmed, at most 200 characters.
pub fn search_text(q: Option<String>) -> String {
    q.unwrap_or_default().trim().chars().take(200).collect()
}

/// A list's `?page=N`: 1 for anything that is not a page number, at most `max`.
pub fn page_number(page: Option<&str>, max: i64) -> i64 {
    page.and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, max)
}

/// Posts per page of the owner's list.
const ADMIN_PAGE_SIZE: i64 = 25;

fn list_url(show: &str, search: &str, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if show != "all" {
        query.append_pair("show", show);
    }
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        "/admin".into()
    } else {
        format!("/admin?{query}")
    }
}

/// The owner's post list: filtered, searched, paginated.
async fn post_list(
    state: &AppState,
    csrf: &CsrfToken,
    owner: &db::users::User,
    notice: Option<&'static str>,
    query: ListQuery,
) -> Result<Response, AppError> {
    use db::posts::Show;
    let show = Show::parse(query.show.as_deref().unwrap_or_default());
    let search = search_text(query.q);
    let counts = db::posts::counts(&state.db).await?;
    let page = page_number(query.page.as_deref(), 100_000);
    let offset = (page - 1).saturating_mul(ADMIN_PAGE_SIZE);
    let (posts, total) =
        db::posts::list_for_owner(&state.db, show, &search, ADMIN_PAGE_SIZE, offset).await?;
    let zone = state.site().zone();
    let filters = [
        (Show::All, "All", counts.all),
        (Show::Drafts, "Drafts", counts.drafts),
        (Show::Scheduled, "Scheduled", counts.scheduled),
        (Show::Published, "Published", counts.published),
        (Show::Pages, "Pages", counts.pages),
    ]
    .into_iter()
    .map(|(s, label, n)| (s.key(), label, n, s == show))
    .collect();
    render(&PostListPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.display_name,
        waiting: crate::web::auth::Waiting::load(&state.db).await?,
        notice,
        filters,
        show: show.key(),
        pager: super::views::Pager::with_links(page, ADMIN_PAGE_SIZE, total, |n| {
            list_url(show.key(), &search, n)
        }),
        search,
        total,
        posts: posts
            .into_iter()
            .map(|p| {
                use crate::domain::posts::PostStatus;
                let (updated_human, updated_iso) = dates(p.updated_at);
                let status = p.status();
                let published = status == PostStatus::Published;
                AdminPostRow {
                    id: p.id.clone(),
                    comments_open: p.comments_open == 1,
                    edit_url: format!("/admin/posts/{}/edit", p.id),
                    delete_url: format!("/admin/posts/{}/delete", p.id),
                    view_url: p.path(),
                    status: status.as_str(),
                    status_label: match status {
                        PostStatus::Draft if p.is_page() => "Page (draft)",
                        PostStatus::Published if p.is_page() => "Page",
                        PostStatus::Draft => "Draft",
                        PostStatus::Scheduled => "Scheduled",
                        PostStatus::Published if p.announced == 0 => "Published quietly",
                        PostStatus::Published => "Published",
                    },
                    published,
                    date: p
                        .published_at
                        .map(|t| format!("{} {}", zone.moment(t), zone.name()))
                        .unwrap_or_default(),
                    date_iso: p
                        .published_at
                        .map(crate::domain::dates::iso)
                        .unwrap_or_default(),
                    title: p.title,
                    updated_human,
                    updated_iso,
                }
            })
            .collect(),
    })
}

/// "Are you sure?" before a destructive action: what it does, and a form that posts `fields` (with the CSRF token)
/// to `action_url` once the owner confirms.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage<'a> {
    pub site: &'a SiteConfig,
    pub csrf: &'a str,
    pub owner_name: &'a str,
    pub waiting: crate::web::auth::Waiting,
    pub question: String,
    pub explanation: String,
    pub action_url: &'static str,
    pub fields: Vec<(&'static str, String)>,
    pub button: String,
    pub cancel_url: &'static str,
}

/// `?notice=…` after a redirect: only known keys, so nothing from the URL is echoed.
#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
    /// On the login form: the admin page to return to.
    next: Option<String>,
}

impl NoticeQuery {
    pub fn message(&self) -> Option<&'static str> {
        Some(match self.notice.as_deref()? {
            "draft" => "Draft saved.",
            "published" => "Published.",
            "scheduled" => {
                "Scheduled: it stays private until its publication date, when it is published and sent to followers."
            }
            "quiet" => {
                "Published with its date in the past, without telling followers. Tick \u{201c}Announce to followers\u{201d} and update to tell them."
            }
            "deleted" => "The post was deleted.",
            "welcome" => "Your blog is ready. Write your first post.",
            "settings" => "Settings saved.",
            "alias-added" => {
                "The account is listed as this blog's. Now move it here from its own server (see below)."
            }
            "alias-removed" => "The account is no longer listed as this blog's.",
            "redirecting" => "Readers are now sent to the new blog's address.",
            "not-redirecting" => "Readers are no longer sent elsewhere.",
            "moved" => {
                "The blog has moved. Every follower's server is being told; the Deliveries page shows the progress."
            }
            "move-undone" => {
                "The blog no longer says it has moved. Followers already moved stay with the new account."
            }
            "password" => {
                "Your password is changed. Every other session (other browsers, other devices) has ended."
            }
            "retried" => "The failed deliveries will be sent again now.",
            "comments-closed" => "Comments are closed on that post.",
            "policy" => "The policy for new comments is saved.",
            "approved" => "The comment is approved and shown.",
            "rejected" => "The comment is rejected; it will not be shown.",
            "deleted-comment" => "The comment is deleted.",
            "blocked" => "Blocked. Their comments, likes, boosts and follows are removed.",
            "replied" => "Your reply is published and on its way.",
            "reply-edited" => "Your reply is changed; the change is on its way.",
            "unblocked" => "The block is lifted.",
            "imported" => "The blocklist is imported.",
            "comments-opened" => "Comments are open on that post.",
            "follower-removed" => "The follower is removed; their server is told.",
            "resumed" => "The host is resumed; its deliveries are sent now.",
            "received-retried" => "The received activity will be applied again now.",
            "session-ended" => {
                "Your session had ended, so nothing was saved. Log in again: the text you sent is kept and comes back in the editor."
            }
            _ => return None,
        })
    }
}

/// /admin: the setup form while there is no owner, the login form for visitors, the post list for the owner.
pub async fn index(
    State(state): State<AppState>,
    MaybeOwner(owner): MaybeOwner,
    csrf: CsrfToken,
    Query(notice): Query<NoticeQuery>,
    Query(list): Query<ListQuery>,
) -> Result<Response, AppError> {
    let page = match owner {
        Some(owner) => post_list(&state, &csrf, &owner, notice.message(), list).await?,
        None if !db::users::owner_exists(&state.db).await? => render(&SetupPage {
            site: &state.site(),
            csrf: csrf.token(),
            errors: Vec::new(),
            username: String::new(),
            display_name: String::new(),
        })?,
        None => render(&LoginPage {
            site: &state.site(),
            csrf: csrf.token(),
            errors: Vec::new(),
            notice: notice.message(),
            username: String::new(),
            next: notice
                .next
                .filter(|n| auth::is_admin_path(n))
                .unwrap_or_default(),
        })?,
    };
    Ok((csrf, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

/// Creates the owner once; afterwards this address no longer exists.
pub async fn setup(
    State(state): State<AppState>,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> Result<Response, AppError> {
    if db::users::owner_exists(&state.db).await? {
        return Err(AppError::NotFound);
    }
    let mut owner = NewOwner {
        username: form.username,
        display_name: form.display_name,
        password: form.password,
    };
    let errors = owner.validate();
    if !errors.is_empty() {
        let page = render(&SetupPage {
            site: &state.site(),
            csrf: csrf.token(),
            errors: errors.into_iter().map(|(_, m)| m).collect(),
            username: owner.username,
            display_name: owner.display_name,
        })?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response());
    }
    let user = match users::create_owner(&state.db, &state.hashing, owner).await {
        Ok(user) => user,
        Err(CreateOwnerError::AlreadyExists) => return Err(AppError::NotFound),
        Err(CreateOwnerError::Db(e)) => return Err(e.into()),
    };
    let cookie = auth::start_session(&state, &user).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/admin?notice=welcome"),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let outcome = auth::log_in(&state, &headers, &form.username, &form.password, &ip).await?;
    let (status, message) = match outcome {
        LoginOutcome::LoggedIn {
            user,
            device_cookie,
        } => {
            let cookie = auth::start_session(&state, &user).await?;
            let to = if auth::is_admin_path(&form.next) {
                form.next.as_str()
            } else {
                "/admin"
            };
            let mut response = ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response();
            if let Some(device) = device_cookie {
                response.headers_mut().append(header::SET_COOKIE, device);
            }
            return Ok(response);
        }
        LoginOutcome::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The blog is busy checking other logins. Try again in a moment.".to_string(),
        ),
        LoginOutcome::Refused => (
            StatusCode::UNAUTHORIZED,
            "Wrong username or password.".to_string(),
        ),
        LoginOutcome::Throttled { minutes } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed logins. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ),
        ),
    };
    let page = render(&LoginPage {
        site: &state.site(),
        csrf: csrf.token(),
        errors: vec![message],
        notice: None,
        next: if auth::is_admin_path(&form.next) {
            form.next
        } else {
            String::new()
        },
        username: form.username,
    })?;
    Ok((status, csrf, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _owner: Owner,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let cookie = auth::end_session(&state, &headers).await?;
    Ok((
        cookie.map(|c| [(header::SET_COOKIE, c)]),
        Redirect::to("/admin"),
    )
        .into_response())
}
