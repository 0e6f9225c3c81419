//! `Undo` of a Follow: the signer stops following the blog. (Undo of Like and Announce come with comments.)

use serde_json::Value;

use crate::{
    app::AppState,
    db::followers,
    error::AppError,
    federation::protocol::activity::{Reference, Undo},
};

pub async fn receive(state: &AppState, signer: &str, undo: Undo) -> Result<(), AppError> {
    let object = &undo.object;
    let kind = object.get("type").and_then(Value::as_str);
    let removed = match (kind, object) {
        // An embedded Follow must be the signer's, of the blog.
        (Some("Follow"), _) => {
            let id = |member: &str| object.get(member).and_then(Reference::of).map(|r| r.0);
            let ours = id("actor").as_deref() == Some(signer)
                && id("object").as_deref() == Some(state.urls.actor().as_str());
            ours && followers::delete(&state.db, signer).await?
        }
        // A bare id undoes the signer's Follow only if it is that Follow's id (it could be a Like's).
        (None, Value::String(id)) => followers::delete_by_follow(&state.db, signer, id).await?,
        _ => {
            tracing::info!(actor = %signer, kind = ?kind, "Undo of something not handled; ignored");
            false
        }
    };
    if removed {
        tracing::info!(follower = %signer, "unfollowed");
    }
    Ok(())
}
