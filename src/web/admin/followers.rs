//! The owner's Followers page: every follower with name, handle, server and since when, searchable and paginated;
//! removing one (after a confirmation; their server is sent a `Reject` of the Follow); and a CSV export.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::NoticeQuery;
use crate::{
    app::AppState,
    config::SiteConfig,
    db::followers::{self, Follower},
    error::AppError,
    federation::activities::reject,
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::render,
    },
};

const PAGE_SIZE: i64 = 50;

pub struct FollowerRow {
    pub name: String,
    pub handle: String,
    pub server: String,
    pub actor_id: String,
    pub since: String,
    pub since_iso: String,
}

impl FollowerRow {
    fn of(f: Follower, zone: &crate::domain::dates::Zone) -> Self {
        Self {
            // The server as blocks name it ("mastodon.example", with a port when it has one).
            server: crate::federation::comments::host(&f.actor_id).unwrap_or_default(),
            name: f.name,
            handle: f.handle,
            since: zone.moment(f.followed_at),
            since_iso: crate::domain::dates::iso(f.followed_at),
            actor_id: f.actor_id,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/followers.html")]
struct FollowersPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    notice: Option<&'static str>,
    followers: Vec<FollowerRow>,
    search: String,
    total: i64,
    all: i64,
    pager: crate::web::views::Pager,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

fn list_url(search: &str, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    query.append_pair("page", &page.to_string());
    format!("/admin/followers?{}", query.finish())
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let search = super::search_text(query.q);
    let page = super::page_number(query.page.as_deref(), 1_000_000);
    let (rows, total) = followers::list(
        &state.db,
        &search,
        PAGE_SIZE,
        (page - 1).saturating_mul(PAGE_SIZE),
    )
    .await?;
    let all = if search.is_empty() {
        total
    } else {
        followers::count(&state.db).await?
    };
    let zone = state.site().zone();
    let notice = NoticeQuery {
        notice: query.notice,
        next: None,
    };
    let html = render(&FollowersPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        notice: notice.message(),
        followers: rows
            .into_iter()
            .map(|f| FollowerRow::of(f, &zone))
            .collect(),
        pager: crate::web::views::Pager::with_links(page, PAGE_SIZE, total, |n| {
            list_url(&search, n)
        }),
        search,
        total,
        all,
    })?;
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    actor: String,
    #[serde(default)]
    confirm: String,
}

/// Removes a follower once confirmed; the first press shows what it does.
pub async fn remove(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> Result<Response, AppError> {
    if form.confirm != "1" {
        let follower = followers::find(&state.db, &form.actor)
            .await?
            .ok_or(AppError::NotFound)?;
        let f = FollowerRow::of(follower, &state.site().zone());
        let html = render(&super::ConfirmPage {
            site: &state.site(),
            csrf: csrf.token(),
            owner_name: &owner.0.display_name,
            waiting: owner.1,
            question: format!("Remove {}?", f.handle),
            explanation: format!(
                "{} ({}, following since {}) stops receiving your posts. Their server ({}) is told that the \
                 follow is refused, as Mastodon\u{2019}s \u{201c}Remove follower\u{201d} does. They can follow again \
                 later; to keep them away, block them instead.",
                f.name, f.handle, f.since, f.server
            ),
            action_url: "/admin/followers/remove",
            fields: vec![("actor", f.actor_id), ("confirm", "1".into())],
            button: "Remove the follower".into(),
            cancel_url: "/admin/followers",
        })?;
        return Ok((csrf, html).into_response());
    }
    if reject::remove_follower(&state, &form.actor)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/admin/followers?notice=follower-removed").into_response())
}

/// A CSV cell: quoted when needed, and with a leading apostrophe when a spreadsheet would take it for a formula (a
/// remote account chooses its own name).
fn cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// Every follower as CSV: the account address (user@host, as Mastodon's imports take it), name, actor id and
/// since when.
pub async fn export(State(state): State<AppState>, _owner: Owner) -> Result<Response, AppError> {
    let mut csv = String::from("Account address,Name,Actor,Following since\n");
    for f in followers::all(&state.db).await? {
        let row = [
            cell(f.handle.trim_start_matches('@')),
            cell(&f.name),
            cell(&f.actor_id),
            crate::domain::dates::iso(f.followed_at),
        ];
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"followers.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(super::cell("Ann"), "Ann");
        assert_eq!(
            super::cell("Ann, the \"best\""),
            "\"Ann, the \"\"best\"\"\""
        );
        assert_eq!(
            super::cell("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(super::cell("@me"), "'@me");
    }
}
