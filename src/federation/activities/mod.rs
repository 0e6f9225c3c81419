//! Activities, one file each: what Steppe does when one arrives, and how it builds the ones it sends.

pub mod accept;
pub mod create;
pub mod delete;
pub mod follow;
pub mod undo;
pub mod update;

use serde_json::Value;

use crate::{app::AppState, error::AppError};

/// A new activity id on this instance (`https://host/activities/<uuid>`).
pub fn new_id(state: &AppState) -> String {
    format!("{}/activities/{}", state.urls.base(), uuid::Uuid::now_v7())
}

/// Handles a verified activity from `signer`. Types Steppe does not handle yet are logged and accepted.
pub async fn handle(state: &AppState, signer: &str, activity: &Value) -> Result<(), AppError> {
    let kind = activity
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "Follow" => follow::receive(state, signer, activity).await,
        "Undo" => undo::receive(state, signer, activity).await,
        "Delete" => delete::receive(state, signer, activity).await,
        other => {
            tracing::info!(kind = %other, actor = %signer, "activity type not handled; accepted and dropped");
            Ok(())
        }
    }
}
