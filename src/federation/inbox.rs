//! The inboxes (the blog's own and the shared one): every POST must be signed by the actor it claims to come from.
//!
//! Order of checks: an ActivityStreams Content-Type (415), the signature header, its Host (ours), Date and Digest
//! (401), the JSON (400), the key, fetched with a signed GET and cached, fetched once more if the signature does
//! not verify (key rotation) (401; 429 when one server names too many unknown keys), the activity's actor is the
//! key's owner (401), the activity has the shape its handler reads (400, 413), a reply is within the flood limits of
//! its actor and server (429), the queue has room (503). Then the activity is stored in the durable inbox queue
//! (`federation::intake`) and the answer is 202; a replayed request (the same signature again) and an activity id
//! already taken are answered 202 without effect. Everything else — blocks, whether a reply answers one of our
//! posts, fetching a forwarded reply from its origin, moderation — happens when a worker applies it.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use serde::Deserialize;

use super::{activities, actors, http, protocol::activity::Envelope, verify};
use crate::{
    app::AppState,
    db::inbox_queue,
    error::{AppError, error_response},
};

/// `/users/{username}/inbox`.
pub async fn personal(
    State(state): State<AppState>,
    Path(username): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    if username != state.urls.username() {
        return Err(AppError::NotFound);
    }
    receive(&state, &uri, &headers, &body).await
}

/// `/inbox`, the shared inbox.
pub async fn shared(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    receive(&state, &uri, &headers, &body).await
}

/// How long an activity id is remembered after it was handled.
const ACTIVITY_ID_KEPT_SECONDS: i64 = 24 * 60 * 60;

async fn receive(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !http::is_activity_content_type(content_type) {
        return Ok(error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "An inbox takes application/activity+json (or application/ld+json, application/json).",
            None,
        ));
    }
    let prepared = verify::prepare(state, "POST", uri, headers, Some(body))
        .map_err(|e| AppError::Unauthorized(e.to_string()))?;
    let activity: Value = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("The body is not JSON: {e}")))?;
    let envelope = Envelope::deserialize(&activity)
        .map_err(|e| AppError::BadRequest(format!("The body is not an activity: {e}")))?;
    let scheme = prepared.scheme();
    let signer = verify::with_key(state, &prepared).await?;
    let actor = envelope.actor.0.as_str();
    if actor != signer.owner {
        return Err(AppError::Unauthorized(format!(
            "the activity's actor {actor:?} is not the signer {}",
            signer.owner
        )));
    }
    let kind = envelope.kind.as_str();
    activities::check(kind, &activity, &signer.owner)?;
    if kind == "Create" {
        state.intake.take_create(
            &signer.owner,
            &crate::db::deliveries::host_of(&signer.owner),
        )?;
    }
    let now = crate::db::now();
    // A request seen before within the signature window is a replay (an honest retry is signed anew): remembered
    // until its time plus the window (and a minute more).
    let until = prepared
        .signed_at()
        .saturating_add(state.config.federation.signature_window_seconds)
        .saturating_add(60);
    // An activity taken before (a retry after a lost answer) is not taken again. Only ids on the signer's own
    // server count, so that nobody can mark another server's activity as seen in advance.
    let id_key = envelope
        .id
        .as_deref()
        .filter(|id| actors::same_host(id, &signer.owner))
        .map(|id| format!("id:{id}"));
    let arrival = inbox_queue::Arrival {
        entry: inbox_queue::NewEntry {
            object_key: activities::object_key(kind, &activity, &signer.owner),
            signer: signer.owner.clone(),
            kind: kind.to_string(),
            body: String::from_utf8_lossy(body).into_owned(),
        },
        signature_key: format!("sig:{}", prepared.fingerprint()),
        signature_until: i64::try_from(until).unwrap_or(i64::MAX),
        id_key,
        id_until: now.saturating_add(ACTIVITY_ID_KEPT_SECONDS),
    };
    match state.intake.append(arrival).await? {
        inbox_queue::Admitted::Queued => {
            tracing::debug!(actor = %signer.owner, %kind, ?scheme, "signed activity queued");
        }
        inbox_queue::Admitted::Replayed => {
            tracing::info!(actor = %signer.owner, %kind, "replayed request; accepted without effect");
        }
        inbox_queue::Admitted::AlreadyTaken => {
            tracing::debug!(actor = %signer.owner, %kind, "activity already taken");
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
