//! The owner's Comments page: the moderation policy, the queue of comments waiting for approval, recent comments,
//! and the owner's own replies. Actions: approve, reject, delete, block the author, block their domain; reply to a
//! comment, edit or delete a reply; open or close comments on a post.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::NoticeQuery;
use crate::{
    app::AppState,
    config::SiteConfig,
    db::{blocks, comments, settings},
    domain::{dates, moderation::Policy},
    error::AppError,
    federation::answers,
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::{post_path, render},
    },
};

/// Comments listed in each list.
const LISTED: i64 = 50;

struct Row {
    id: String,
    post_title: String,
    post_url: String,
    author_name: String,
    author_handle: String,
    author_url: String,
    author_domain: String,
    date: String,
    content_html: String,
    summary: Option<String>,
    /// The owner's own reply (edit and delete instead of moderation).
    own: bool,
    /// Shown on the blog (only those can be answered).
    shown: bool,
    source_text: String,
}

#[derive(Template)]
#[template(path = "admin/comments.html")]
struct CommentsPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    notice: Option<&'static str>,
    policy: &'static str,
    held: Vec<Row>,
    recent: Vec<Row>,
}

fn rows(state: &AppState, list: Vec<comments::ModerationRow>) -> Vec<Row> {
    let actor = state.urls.actor();
    list.into_iter()
        .map(|m| {
            let c = m.comment;
            Row {
                // A shown comment's permalink finds its page of comments; a held one is on no page yet.
                post_url: if c.status == "shown" {
                    format!("/comments/{}", c.anchor)
                } else {
                    post_path(&m.post_slug)
                },
                post_title: m.post_title,
                own: c.author_id == actor,
                shown: c.status == "shown",
                author_domain: crate::federation::comments::host(&c.author_id).unwrap_or_default(),
                id: c.id,
                author_name: c.author_name,
                author_handle: c.author_handle,
                author_url: c.author_url,
                date: dates::moment(c.published_at),
                content_html: c.content_html,
                summary: c.summary,
                source_text: c.source_text.unwrap_or_default(),
            }
        })
        .collect()
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let values = settings::all(&state.db).await?;
    let policy = Policy::from_setting(values.get(Policy::KEY).map(String::as_str));
    let held = comments::list_for_moderation(&state.db, "held", LISTED).await?;
    let recent = comments::list_for_moderation(&state.db, "shown", LISTED).await?;
    render(&CommentsPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        notice: notice.message(),
        policy: policy.as_str(),
        held: rows(&state, held),
        recent: rows(&state, recent),
    })
}

#[derive(Deserialize)]
pub struct PolicyForm {
    policy: String,
}

pub async fn set_policy(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> Result<Response, AppError> {
    let policy = Policy::parse(Some(&form.policy))
        .ok_or_else(|| AppError::BadRequest("Choose one of the three policies.".into()))?;
    settings::set(
        &state.db,
        &[(Policy::KEY, Some(policy.as_str().to_string()))],
    )
    .await?;
    // Post pages say what happens to a reply under the policy: cached ones are stale.
    state.reload_site().await?;
    Ok(Redirect::to("/admin/comments?notice=policy").into_response())
}

#[derive(Deserialize)]
pub struct ActionForm {
    id: String,
    action: String,
    /// "1" once the owner confirmed a delete or a block.
    #[serde(default)]
    confirm: String,
}

/// Approve, reject, delete, block the author or their domain. Deleting and blocking ask first.
pub async fn act(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Result<Response, AppError> {
    let comment = comments::find(&state.db, &form.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let own = comment.author_id == state.urls.actor();
    let domain = crate::federation::comments::host(&comment.author_id).unwrap_or_default();
    let ask = match form.action.as_str() {
        "delete" if own => Some((
            "Delete your reply?".to_string(),
            "It is removed from the post page, and the servers that received it are sent a Delete.".to_string(),
            "Delete the reply".to_string(),
        )),
        "delete" => Some((
            format!("Delete the comment by {}?", comment.author_name),
            "It is removed from the post page for good. To hide it but keep it, reject it instead.".to_string(),
            "Delete the comment".to_string(),
        )),
        "block_author" if !own => Some((
            format!("Block {}?", comment.author_handle),
            "Their comments, likes, boosts and follow are removed, and everything they send from now on is dropped.".to_string(),
            format!("Block {}", comment.author_handle),
        )),
        "block_domain" if !own => Some((
            format!("Block the whole server {domain}?"),
            format!("Every account on {domain}, not only {}, is blocked: their comments, likes, boosts and follows are removed and everything the server sends is dropped.", comment.author_handle),
            format!("Block {domain}"),
        )),
        _ => None,
    };
    if let Some((question, explanation, button)) = ask
        && form.confirm != "1"
    {
        let html = render(&super::ConfirmPage {
            site: &state.site(),
            csrf: csrf.token(),
            owner_name: &owner.0.display_name,
            waiting: owner.1,
            question,
            explanation,
            action_url: "/admin/comments/action",
            fields: vec![
                ("id", comment.id.clone()),
                ("action", form.action.clone()),
                ("confirm", "1".into()),
            ],
            button,
            cancel_url: "/admin/comments",
        })?;
        return Ok((csrf, html).into_response());
    }
    let notice = match form.action.as_str() {
        "approve" => {
            comments::set_status(&state.db, &comment.id, "shown").await?;
            "approved"
        }
        "reject" => {
            comments::set_status(&state.db, &comment.id, "rejected").await?;
            "rejected"
        }
        "delete" if own => {
            answers::delete(&state, &comment.id).await?;
            "deleted-comment"
        }
        "delete" => {
            comments::delete(&state.db, &comment.id).await?;
            "deleted-comment"
        }
        "block_author" if !own => {
            blocks::block(&state.db, "actor", &comment.author_id).await?;
            "blocked"
        }
        "block_domain" if !own => {
            if domain.is_empty() {
                return Err(AppError::BadRequest("That author has no domain.".into()));
            }
            blocks::block(&state.db, "domain", &domain).await?;
            "blocked"
        }
        _ => return Err(AppError::BadRequest("Unknown action.".into())),
    };
    tracing::info!(comment = %comment.id, action = %form.action, "comment moderated");
    Ok(Redirect::to(&format!("/admin/comments?notice={notice}")).into_response())
}

#[derive(Deserialize)]
pub struct ReplyForm {
    id: String,
    text: String,
}

/// The owner answers a comment.
pub async fn reply(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<Response, AppError> {
    answers::reply(&state, &form.id, &form.text).await?;
    Ok(Redirect::to("/admin/comments?notice=replied").into_response())
}

/// The owner edits one of their replies.
pub async fn edit(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<Response, AppError> {
    answers::edit(&state, &form.id, &form.text).await?;
    Ok(Redirect::to("/admin/comments?notice=reply-edited").into_response())
}

#[derive(Deserialize)]
pub struct OpenForm {
    open: String,
}

/// Opens or closes comments on a post.
pub async fn set_open(
    State(state): State<AppState>,
    _owner: Owner,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<OpenForm>,
) -> Result<Response, AppError> {
    let open = form.open == "1";
    if !comments::set_open(&state.db, &id, open).await? {
        return Err(AppError::NotFound);
    }
    let notice = if open {
        "comments-opened"
    } else {
        "comments-closed"
    };
    Ok(Redirect::to(&format!("/admin?notice={notice}")).into_response())
}
