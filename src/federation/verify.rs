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
///
/// Fetches are bounded, because whoever sends a forged request chooses the key id and so where Steppe sends a GET:
/// one fetch per key at a time (concurrent requests wait for it and use its result), none for a key whose fetch
/// failed in the last ten minutes, at most a few per host and minute, and [`actors::KEY_FETCH_TIMEOUT`] in all.
/// What went wrong is logged; the other server is told only that the key could not be used.
pub async fn with_key(state: &AppState, prepared: &Prepared) -> Result<OwnedKey, AppError> {
    let key_id = prepared.key_id();
    let refused = || {
        AppError::Unauthorized(format!(
            "the signature could not be verified with the key {key_id}"
        ))
    };
    let known = actors::known_key(&state.db, &state.keys, key_id)
        .await
        .map_err(|e| {
            tracing::info!(key_id, error = %e, "stored key unusable");
            refused()
        })?;
    match &known {
        Some(key) if prepared.verify(&key.key).is_ok() => return Ok(key.clone()),
        Some(_) if !state.keys.take_refetch(key_id) => return Err(refused()),
        _ => {}
    }
    let lock = state.keys.fetch_lock(key_id);
    let _one_fetch = tokio::time::timeout(actors::KEY_FETCH_TIMEOUT, lock.lock())
        .await
        .map_err(|_| refused())?;
    // Another request may have fetched it while this one waited.
    if let Some(key) = actors::known_key(&state.db, &state.keys, key_id)
        .await
        .ok()
        .flatten()
        && prepared.verify(&key.key).is_ok()
    {
        return Ok(key);
    }
    if state.keys.failed_lately(key_id) {
        return Err(refused());
    }
    let host = url::Url::parse(key_id)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    if !state.keys.take_host_fetch(&host) {
        return Err(AppError::TooManyRequests(
            "Too many unknown keys from this server; try again later.".into(),
        ));
    }
    let fetched = tokio::time::timeout(
        actors::KEY_FETCH_TIMEOUT,
        actors::fetch_key(&state.db, &state.client, &state.keys, key_id),
    )
    .await;
    let key = match fetched {
        Ok(Ok(key)) => key,
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "the fetch took too long".to_string(),
            };
            tracing::info!(key_id, error = %why, "cannot get the key");
            state.keys.remember_failure(key_id);
            return Err(refused());
        }
    };
    prepared.verify(&key.key).map_err(|_| refused())?;
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

/// Under `federation.authorized_fetch`, a GET must be signed by an actor whose key we can get (401 otherwise) and
/// who is not blocked (403).
pub async fn signed_get(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Result<(), AppError> {
    if !state.config.federation.authorized_fetch {
        return Ok(());
    }
    let prepared = prepare(state, "GET", uri, headers, None)
        .map_err(|e| AppError::Unauthorized(format!("this blog requires signed requests: {e}")))?;
    let signer = with_key(state, &prepared).await?;
    // A blocked account (or one on a blocked domain) may not read what authorized fetch protects.
    if crate::db::blocks::is_blocked(&state.db, &signer.owner).await? {
        return Err(AppError::Forbidden(
            "This account may not read this blog.".into(),
        ));
    }
    Ok(())
}
