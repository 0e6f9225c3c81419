//! `Like` of one of our Articles: counted once per account and post. Likes of anything else are dropped.

use crate::{
    app::AppState,
    db::comments,
    error::AppError,
    federation::{comments as replies, protocol::activity::Like},
};

/// (Its id was checked to be on the signer's server before it was queued: `activities::check`.)
pub async fn receive(state: &AppState, signer: &str, like: Like) -> Result<(), AppError> {
    let Some(post_id) = replies::liked_post(state, &like.object.0).await? else {
        tracing::info!(actor = %signer, object = %like.object.0, "Like of something not ours; ignored");
        return Ok(());
    };
    comments::react(&state.db, &like.id, "like", signer, &post_id).await?;
    Ok(())
}
