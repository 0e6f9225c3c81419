//! `Undo` of a Follow (the signer stops following the blog), a Like or an Announce (no longer counted). Only the
//! signer's own activities can be undone.

use serde_json::Value;

use crate::{
    app::AppState,
    db::{comments, followers},
    error::AppError,
    federation::{
        comments as replies,
        protocol::activity::{Reference, Undo},
    },
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
        (Some(kind @ ("Like" | "Announce")), _) => {
            let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
            let post = match object.get("object").and_then(Reference::of) {
                Some(o) => replies::liked_post(state, &o.0).await?,
                None => None,
            };
            let kind = if kind == "Like" { "like" } else { "announce" };
            comments::unreact(&state.db, signer, id, post.as_deref().map(|p| (kind, p))).await?;
            false
        }
        // A bare id undoes the signer's Follow if it is that Follow's id, else their Like or boost with that id.
        (None, Value::String(id)) => {
            let unfollowed = followers::delete_by_follow(&state.db, signer, id).await?;
            if !unfollowed {
                comments::unreact(&state.db, signer, id, None).await?;
            }
            unfollowed
        }
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
