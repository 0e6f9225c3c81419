//! Checking signed requests against their signer's key: the inbox's POSTs, and GETs under authorized fetch.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Uri};

use super::{
    actors::{self, OwnedKey},
    signatures::{self, IncomingRequest, Prepared},
};
use crate::{app::AppState, error::AppError};

/// Verifies `prepared` with the signer's key, fetching the key anew once if the cached one fails.
pub async fn with_key(state: &AppState, prepared: &Prepared) -> Result<OwnedKey, AppError> {
    let unauthorized = |why: String| AppError::Unauthorized(why);
    let key_id = prepared.key_id();
    let cached = actors::key(&state.db, &state.client, &state.keys, key_id, false).await;
    if let Ok(key) = &cached
        && prepared.verify(&key.key).is_ok()
    {
        return Ok(key.clone());
    }
    let fresh = actors::key(&state.db, &state.client, &state.keys, key_id, true)
        .await
        .map_err(|e| unauthorized(format!("cannot get the key {key_id}: {e}")))?;
    prepared
        .verify(&fresh.key)
        .map_err(|e| unauthorized(e.to_string()))?;
    Ok(fresh)
}

/// Under `federation.authorized_fetch`, a GET must be signed (by any actor whose key we can get): 401 otherwise.
pub async fn signed_get(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Result<(), AppError> {
    if !state.config.federation.authorized_fetch {
        return Ok(());
    }
    let request = IncomingRequest {
        method: "GET",
        path_and_query: uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()),
        headers,
        body: None,
    };
    let window = Duration::from_secs(state.config.federation.signature_window_seconds);
    let prepared = signatures::prepare(&request, window, SystemTime::now())
        .map_err(|e| AppError::Unauthorized(format!("this blog requires signed requests: {e}")))?;
    with_key(state, &prepared).await.map(|_| ())
}
