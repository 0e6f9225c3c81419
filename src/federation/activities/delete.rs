//! `Delete` of an actor by that actor: they are no longer a follower, and their key is forgotten.
//! (Deletes of comments come with comments.)

use serde_json::Value;

use crate::{
    app::AppState,
    db::followers,
    error::AppError,
    federation::{actors, inbox::id_of},
};

pub async fn receive(state: &AppState, signer: &str, activity: &Value) -> Result<(), AppError> {
    let object = activity.get("object").and_then(id_of).unwrap_or_default();
    if object != signer {
        tracing::info!(actor = %signer, %object, "Delete of an object not handled yet; ignored");
        return Ok(());
    }
    followers::delete(&state.db, signer).await?;
    actors::forget(&state.db, &state.keys, signer).await?;
    tracing::info!(actor = %signer, "actor deleted at its origin; forgotten");
    Ok(())
}
