//! The owner's Deliveries page: what each recent activity (post published, edited, deleted; follow accepted) reached,
//! what waits or retries and why, which hosts are failing or paused; what other servers sent that waits to be
//! applied or failed (the durable inbox); and "retry now" for all three.

use askama::Template;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::NoticeQuery;
use crate::{
    app::AppState,
    config::SiteConfig,
    db::{self, deliveries, inbox_queue},
    domain::dates,
    error::AppError,
    federation::delivery::outcome,
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::render,
    },
};

/// Activities listed.
const RECENT: i64 = 30;
/// Problem rows and hosts listed.
const PROBLEMS: i64 = 50;

struct ActivityRow {
    id: i64,
    what: String,
    label: String,
    when: String,
    delivered: i64,
    waiting: i64,
    retrying: i64,
    failed: i64,
    next_attempt: Option<String>,
    expanding: bool,
}

struct ProblemRow {
    label: String,
    inbox: String,
    state: String,
    reason: String,
}

struct ReceivedRow {
    id: i64,
    kind: String,
    signer: String,
    received: String,
    failed: String,
    attempts: i64,
    reason: String,
}

struct HostRow {
    host: String,
    state: String,
    paused: bool,
    failures: i64,
    pending: i64,
    last_error: String,
    last_success: String,
}

#[derive(Template)]
#[template(path = "admin/deliveries.html")]
struct DeliveriesPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    notice: Option<&'static str>,
    /// "5 days": how long failing deliveries are retried.
    give_up: String,
    activities: Vec<ActivityRow>,
    problems: Vec<ProblemRow>,
    hosts: Vec<HostRow>,
    /// The durable inbox: activities waiting to be applied, of which retrying; how old the oldest is.
    inbox_waiting: i64,
    inbox_retrying: i64,
    inbox_oldest: Option<String>,
    /// "2 days": how long received activities that fail are tried again.
    inbox_give_up: String,
    received_failed: Vec<ReceivedRow>,
}

fn what(kind: &str) -> &str {
    match kind {
        "publish" => "Post published",
        "edit" => "Post edited",
        "delete" => "Post deleted",
        "accept" => "Follow accepted",
        "reject" => "Follow rejected",
        "reply" => "Your reply",
        "reply-edit" => "Your reply edited",
        "reply-delete" => "Your reply deleted",
        "move" => "Blog moved to",
        "profile" => "Profile updated",
        other => other,
    }
}

/// What a received activity was, in the owner's words (its ActivityPub type in brackets).
fn received_kind(kind: &str) -> String {
    let word = match kind {
        "Create" => "A reply",
        "Update" => "An edit",
        "Delete" => "A deletion",
        "Like" => "A like",
        "Announce" => "A boost",
        "Follow" => "A follow",
        "Undo" => "An undo",
        _ => return kind.to_string(),
    };
    format!("{word} ({kind})")
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let now = db::now();
    let activities = deliveries::recent_activities(&state.db, RECENT).await?;
    let labels: std::collections::HashMap<i64, String> = activities
        .iter()
        .map(|a| (a.id, format!("{}: {}", what(&a.kind), a.label)))
        .collect();
    let problems = deliveries::problems(&state.db, PROBLEMS).await?;
    let hosts = deliveries::troubled_hosts(&state.db, PROBLEMS).await?;
    let inbox = inbox_queue::stats(&state.db).await?;
    let received_failed = inbox_queue::list_failed(&state.db, PROBLEMS).await?;
    let page = DeliveriesPage {
        inbox_waiting: inbox.waiting,
        inbox_retrying: inbox.retrying,
        inbox_oldest: inbox.oldest.map(dates::moment),
        inbox_give_up: outcome::span(state.config.inbox.give_up_after_seconds),
        received_failed: received_failed
            .into_iter()
            .map(|f| ReceivedRow {
                id: f.id,
                kind: received_kind(&f.kind),
                signer: f.signer,
                received: dates::moment(f.received_at),
                failed: dates::moment(f.failed_at),
                attempts: f.attempts,
                reason: f.last_error.unwrap_or_default(),
            })
            .collect(),
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        notice: notice.message(),
        give_up: outcome::span(state.config.delivery.give_up_after_seconds),
        activities: activities
            .into_iter()
            .map(|a| ActivityRow {
                id: a.id,
                what: what(&a.kind).to_string(),
                label: a.label,
                when: dates::moment(a.created_at),
                delivered: a.delivered,
                waiting: a.waiting,
                retrying: a.retrying,
                failed: a.failed,
                next_attempt: a.next_attempt_at.map(dates::moment),
                expanding: a.expanded == 0,
            })
            .collect(),
        problems: problems
            .into_iter()
            .map(|p| ProblemRow {
                label: labels
                    .get(&p.outbox_id)
                    .cloned()
                    .unwrap_or_else(|| "An older activity".into()),
                state: if p.status == "gone" {
                    "gone".to_string()
                } else if p.status == "failed" {
                    format!("failed after {} attempts", p.attempts)
                } else {
                    format!(
                        "retrying ({} attempts so far), next at {}",
                        p.attempts,
                        dates::moment(p.next_attempt_at)
                    )
                },
                inbox: p.inbox,
                reason: p.last_error.unwrap_or_default(),
            })
            .collect(),
        hosts: hosts
            .into_iter()
            .map(|h| {
                let paused = h.paused_until > now;
                HostRow {
                    state: if paused {
                        format!("paused until {}", dates::moment(h.paused_until))
                    } else if h.paused_until > 0 {
                        "probing".into()
                    } else {
                        "failing".into()
                    },
                    paused: paused || h.paused_until > 0,
                    failures: h.consecutive_failures,
                    pending: h.pending,
                    last_error: h.last_error.unwrap_or_default(),
                    last_success: h
                        .last_success_at
                        .map(dates::moment)
                        .unwrap_or_else(|| "never".into()),
                    host: h.host,
                }
            })
            .collect(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct RetryForm {
    activity: i64,
}

/// Sends an activity's failed deliveries again now.
pub async fn retry(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<RetryForm>,
) -> Result<Response, AppError> {
    let n = deliveries::retry_failed(
        &state.db,
        form.activity,
        state.config.delivery.give_up_after_seconds,
    )
    .await?;
    tracing::info!(
        activity = form.activity,
        rows = n,
        "failed deliveries retried by the owner"
    );
    state.wakeup.wake();
    Ok(Redirect::to("/admin/deliveries?notice=retried").into_response())
}

#[derive(Deserialize)]
pub struct ResumeForm {
    host: String,
}

/// Ends a host's pause now.
pub async fn resume(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<ResumeForm>,
) -> Result<Response, AppError> {
    deliveries::resume_host(&state.db, &form.host).await?;
    tracing::info!(host = %form.host, "host resumed by the owner");
    state.wakeup.wake();
    Ok(Redirect::to("/admin/deliveries?notice=resumed").into_response())
}

#[derive(Deserialize)]
pub struct RetryReceivedForm {
    received: i64,
}

/// Applies a received activity that failed again now.
pub async fn retry_received(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<RetryReceivedForm>,
) -> Result<Response, AppError> {
    if !inbox_queue::retry_failed(&state.db, form.received).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(
        received = form.received,
        "failed received activity retried by the owner"
    );
    state.intake.wakeup.notify_one();
    Ok(Redirect::to("/admin/deliveries?notice=received-retried").into_response())
}
