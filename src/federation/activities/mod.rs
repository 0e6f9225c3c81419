//! Activities, one file each: what Steppe does when one arrives, and how it builds the ones it sends.

pub mod accept;
pub mod announce;
pub mod create;
pub mod delete;
pub mod follow;
pub mod like;
pub mod r#move;
pub mod reject;
pub mod undo;
pub mod update;

use serde_json::Value;

use crate::{app::AppState, error::AppError};

/// A new activity id on this instance (`https://host/activities/<uuid>`).
pub fn new_id(state: &AppState) -> String {
    format!("{}/activities/{}", state.urls.base(), uuid::Uuid::now_v7())
}

/// Reads an activity as the wire type its handler expects; 400 when it does not have that shape.
fn parse<T: serde::de::DeserializeOwned>(kind: &str, activity: Value) -> Result<T, AppError> {
    serde_json::from_value(activity)
        .map_err(|e| AppError::BadRequest(format!("Malformed {kind}: {e}")))
}

/// Handles a verified activity of type `kind` from `signer`. Types Steppe does not handle yet are logged and
/// accepted. Everything from a blocked account or domain is dropped, and their Follows are rejected.
pub async fn handle(
    state: &AppState,
    signer: &str,
    kind: &str,
    activity: Value,
) -> Result<(), AppError> {
    if crate::db::blocks::is_blocked(&state.db, signer).await? {
        tracing::info!(actor = %signer, %kind, "activity from a blocked account or domain; dropped");
        if kind == "Follow" {
            follow::reject(state, signer, parse(kind, activity)?).await?;
        }
        return Ok(());
    }
    match kind {
        "Follow" => follow::receive(state, signer, parse(kind, activity)?).await,
        "Undo" => undo::receive(state, signer, parse(kind, activity)?).await,
        "Delete" => delete::receive(state, signer, parse(kind, activity)?).await,
        "Create" => create::receive(state, signer, &activity["object"]).await,
        "Update" => update::receive(state, signer, &activity["object"]).await,
        "Like" => like::receive(state, signer, parse(kind, activity)?).await,
        "Announce" => announce::receive(state, signer, parse(kind, activity)?).await,
        other => {
            tracing::info!(kind = %other, actor = %signer, "activity type not handled; accepted and dropped");
            Ok(())
        }
    }
}
