//! `Like` of one of our Articles: counted once per account and post. Likes of anything else are dropped.

use crate::{
    app::AppState,
    db::comments,
    error::AppError,
    federation::{comments as replies, protocol::activity::Like},
};

pub async fn receive(state: &AppState, signer: &str, like: Like) -> Result<(), AppError> {
    // The id must be the signer's server's, or one actor could take another's id and have the real one ignored.
    if !crate::federation::actors::same_host(&like.id, signer) {
        return Err(AppError::BadRequest(
            "The Like's id is not on its actor's server.".into(),
        ));
    }
    let Some(post_id) = replies::liked_post(state, &like.object.0).await? else {
        tracing::info!(actor = %signer, object = %like.object.0, "Like of something not ours; ignored");
        return Ok(());
    };
    comments::react(&state.db, &like.id, "like", signer, &post_id).await?;
    Ok(())
}
