//! `Announce` (a boost) of one of our Articles: counted once per account and post. Boosts of anything else (a
//! relay announcing other posts, say) are dropped.

use crate::{
    app::AppState,
    db::comments,
    error::AppError,
    federation::{comments as replies, protocol::activity::Announce},
};

/// (Its id was checked to be on the signer's server before it was queued: `activities::check`.)
pub async fn receive(state: &AppState, signer: &str, announce: Announce) -> Result<(), AppError> {
    let Some(post_id) = replies::liked_post(state, &announce.object.0).await? else {
        tracing::info!(actor = %signer, object = %announce.object.0, "Announce of something not ours; ignored");
        return Ok(());
    };
    comments::react(&state.db, &announce.id, "announce", signer, &post_id).await?;
    Ok(())
}
