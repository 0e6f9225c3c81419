//! `Delete` of an actor by that actor: they are no longer a follower, and their key is forgotten.
//! (Deletes of comments come with comments.)

use crate::{
    app::AppState,
    db::followers,
    error::AppError,
    federation::{actors, protocol::activity::Delete},
};

pub async fn receive(state: &AppState, signer: &str, delete: Delete) -> Result<(), AppError> {
    let object = delete.object.0.as_str();
    if object != signer {
        tracing::info!(actor = %signer, %object, "Delete of an object not handled yet; ignored");
        return Ok(());
    }
    followers::delete(&state.db, signer).await?;
    actors::forget(&state.db, &state.keys, signer).await?;
    tracing::info!(actor = %signer, "actor deleted at its origin; forgotten");
    Ok(())
}

/// The Delete of a post's Article (deleted or unpublished): its id and JSON body. The object is a Tombstone.
pub fn build_for_article(state: &AppState, article_id: &str) -> (String, String) {
    let article = state.urls.article(article_id);
    let id = format!("{article}#delete");
    let body = serde_json::json!({
        "@context": crate::federation::protocol::context(),
        "id": id,
        "type": "Delete",
        "actor": state.urls.actor(),
        "to": [crate::federation::protocol::PUBLIC],
        "cc": [state.urls.followers()],
        "object": { "id": article, "type": "Tombstone" },
    });
    (id, body.to_string())
}
