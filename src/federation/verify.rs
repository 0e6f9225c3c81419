//! Checking signed requests against their signer's key: the inbox's POSTs, and GETs under authorized fetch.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Uri};

use super::{
    actors::{self, OwnedKey},
    signatures::{self, IncomingRequest, Prepared, SignatureError},
};
use crate::{app::AppState, error::AppError};

/// Verifies `prepared` with the signer's key: the one we know, or else the one its origin publishes. A known key
/// that fails is fetched again (the signer may have rotated it), at most once a minute per key.
pub async fn with_key(state: &AppState, prepared: &Prepared) -> Result<OwnedKey, AppError> {
    let key_id = prepared.key_id();
    let unusable =
        |e: actors::ActorError| AppError::Unauthorized(format!("cannot get the key {key_id}: {e}"));
    let known = actors::known_key(&state.db, &state.keys, key_id)
        .await
        .map_err(unusable)?;
    let key = match known {
        Some(key) if prepared.verify(&key.key).is_ok() => return Ok(key),
        Some(_) if !state.keys.take_refetch(key_id) => {
            return Err(AppError::Unauthorized(format!(
                "the signature does not verify with the key {key_id}"
            )));
        }
        _ => actors::fetch_key(&state.db, &state.client, &state.keys, key_id)
            .await
            .map_err(unusable)?,
    };
    prepared
        .verify(&key.key)
        .map_err(|e| AppError::Unauthorized(e.to_string()))?;
    Ok(key)
}

/// Checks a request's signature headers, Date (within `federation.signature_window_seconds`) and Digest, and names
/// the key to verify with.
pub fn prepare(
    state: &AppState,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Prepared, SignatureError> {
    let request = IncomingRequest {
        method,
        path_and_query: uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()),
        headers,
        body,
    };
    let window = Duration::from_secs(state.config.federation.signature_window_seconds);
    signatures::prepare(&request, state.urls.base(), window, SystemTime::now())
}

/// Under `federation.authorized_fetch`, a GET must be signed (by any actor whose key we can get): 401 otherwise.
pub async fn signed_get(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Result<(), AppError> {
    if !state.config.federation.authorized_fetch {
        return Ok(());
    }
    let prepared = prepare(state, "GET", uri, headers, None)
        .map_err(|e| AppError::Unauthorized(format!("this blog requires signed requests: {e}")))?;
    with_key(state, &prepared).await.map(|_| ())
}
