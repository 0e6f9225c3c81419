//! The owner's Mentions page: replies that were addressed to the blog but not to everyone (followers-only and
//! direct). They are never shown on a public page; only the owner reads them here.

use askama::Template;
use axum::{extract::State, response::Response};

use crate::{
    app::AppState,
    config::SiteConfig,
    db::comments,
    error::AppError,
    web::{
        auth::{CsrfToken, Owner},
        views::{CommentView, comment_thread, render},
    },
};

/// Private replies listed.
const LISTED: i64 = 100;

#[derive(Template)]
#[template(path = "admin/mentions.html")]
struct MentionsPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    mentions: Vec<(CommentView, &'static str)>,
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    let rows = comments::list_private(&state.db, LISTED).await?;
    let labels: Vec<&'static str> = rows
        .iter()
        .map(|r| {
            if r.visibility == "followers" {
                "followers only"
            } else {
                "direct"
            }
        })
        .collect();
    // Each is shown on its own (no threads): one view per row, in the order listed.
    let mentions = rows
        .into_iter()
        .zip(labels)
        .flat_map(|(row, label)| {
            let mut alone = row;
            alone.parent_id = None;
            comment_thread(vec![alone])
                .into_iter()
                .map(move |v| (v, label))
        })
        .collect();
    render(&MentionsPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        mentions,
    })
}
