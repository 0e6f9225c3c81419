//! The inboxes (the blog's own and the shared one): every POST must be signed by the actor it claims to come from.
//!
//! Order of checks: the signature header and Date and Digest (401), the JSON (400), the key, fetched with a signed
//! GET and cached, fetched once more if the signature does not verify (key rotation) (401), the activity's actor
//! is the key's owner (401). Then the activity is handled and stored, and the answer is 202.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use serde::Deserialize;

use super::{activities, protocol::activity::Envelope, verify};
use crate::{app::AppState, error::AppError};

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

async fn receive(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
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
    tracing::debug!(actor = %signer.owner, kind = %envelope.kind, ?scheme, "signed activity received");
    activities::handle(state, &signer.owner, &envelope.kind, activity).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
