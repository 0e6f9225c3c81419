//! Commenters' avatars, copied: fetched once through the guarded client, cut to a small square, stored, and served
//! from this blog's own host, so that readers' browsers never contact the commenters' servers. A copy is fetched
//! again after `media.remote_avatar_max_age_days`, and a new one whenever a profile names a new image address.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use super::process;
use crate::{app::AppState, db, domain::media::Format, domain::media::variant_name};

/// Avatar fetches running at once, at most; more wait for a later page view.
const MAX_IN_FLIGHT: usize = 8;
/// Largest avatar file fetched.
const MAX_AVATAR_BYTES: usize = 8 * 1024 * 1024;

/// The avatar addresses being fetched now.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<String>>);

impl InFlight {
    /// Claims `url`; `false` when it is already being fetched or too many fetches run.
    fn claim(&self, url: &str) -> bool {
        let Ok(mut set) = self.0.lock() else {
            return false;
        };
        if set.len() >= MAX_IN_FLIGHT || set.contains(url) {
            return false;
        }
        set.insert(url.to_string())
    }

    fn release(&self, url: &str) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(url);
        }
    }
}

/// For each remote avatar address in `urls`, the address this blog serves its copy at, where there is one. Missing
/// and stale copies are fetched in the background (the page shows the copy, or no avatar, meanwhile).
pub async fn served(
    state: &AppState,
    urls: &[String],
) -> Result<HashMap<String, String>, sqlx::Error> {
    let own = format!("{}/media/", state.urls.base());
    let remote: Vec<String> = urls
        .iter()
        .filter(|u| !u.starts_with(&own))
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let known = db::media::remote_avatars(&state.db, &remote).await?;
    let now = db::now();
    let mut out = HashMap::new();
    for url in &remote {
        match known.get(url) {
            Some((name, fetched_at)) => {
                if let Some(name) = name {
                    out.insert(url.clone(), format!("{own}{name}"));
                }
                if now.saturating_sub(*fetched_at) > state.media.avatar_max_age {
                    refresh(state, url);
                }
            }
            None => refresh(state, url),
        }
    }
    Ok(out)
}

/// Starts fetching a copy of the avatar at `url` unless one is being fetched.
pub fn refresh(state: &AppState, url: &str) {
    if !state.media.avatar_fetches.claim(url) {
        return;
    }
    let state = state.clone();
    let url = url.to_string();
    tokio::spawn(async move {
        let name = match copy(&state, &url).await {
            Ok(name) => Some(name),
            Err(e) => {
                tracing::info!(%url, error = %e, "a commenter's avatar could not be copied");
                None
            }
        };
        if let Err(e) = db::media::set_remote_avatar(&state.db, &url, name.as_deref()).await {
            tracing::warn!(%url, error = %e, "recording a copied avatar failed");
        }
        state.media.avatar_fetches.release(&url);
    });
}

/// Fetches, processes and stores one avatar; returns its stored name.
async fn copy(
    state: &AppState,
    url: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let max = MAX_AVATAR_BYTES.min(state.media.bounds.max_bytes);
    let bytes = state.client.fetch_image(url, max).await?;
    let bounds = state.media.bounds;
    let (hash, jpeg) = state
        .media
        .in_slot(move || process::avatar(&bytes, bounds))
        .await??;
    let name = variant_name(&hash, process::AVATAR_SIDE, Format::Jpeg);
    state.media.store.put(&name, jpeg).await?;
    Ok(name)
}
