//! The owner's Notifications page: new comments, comments waiting for approval, mentions, new followers and
//! deliveries that failed for good, newest first, the unread ones marked; "Mark all as read".

use askama::Template;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    config::SiteConfig,
    db::notifications::{self, Kind},
    error::AppError,
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::render,
    },
};

const PAGE_SIZE: i64 = 50;

pub struct Row {
    pub label: &'static str,
    pub kind: String,
    pub summary: String,
    pub url: String,
    pub when: String,
    pub iso: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "admin/notifications.html")]
struct NotificationsPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    rows: Vec<Row>,
    /// The newest id shown, which "Mark all as read" marks up to.
    newest: i64,
    email_on: bool,
    pager: crate::web::views::Pager,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = super::page_number(query.page.as_deref(), 100_000);
    let (list, total) =
        notifications::list(&state.db, PAGE_SIZE, (page - 1).saturating_mul(PAGE_SIZE)).await?;
    let zone = state.site().zone();
    let newest = list.iter().map(|n| n.id).max().unwrap_or(0);
    let html = render(&NotificationsPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        rows: list
            .into_iter()
            .map(|n| Row {
                label: Kind::label(&n.kind),
                when: zone.moment(n.created_at),
                iso: crate::domain::dates::iso(n.created_at),
                unread: n.read_at.is_none(),
                kind: n.kind,
                summary: n.summary,
                url: n.url,
            })
            .collect(),
        newest,
        email_on: state.config.email.enabled,
        pager: crate::web::views::Pager::with_links(page, PAGE_SIZE, total, |n| {
            format!("/admin/notifications?page={n}")
        }),
    })?;
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ReadForm {
    up_to: i64,
}

pub async fn mark_read(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<ReadForm>,
) -> Result<Response, AppError> {
    notifications::mark_read(&state.db, form.up_to).await?;
    notifications::sweep(&state.db).await?;
    Ok(Redirect::to("/admin/notifications").into_response())
}
