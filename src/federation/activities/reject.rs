//! `Reject{Follow}`: the answer to a Follow from a blocked account or domain, and what removing a follower sends
//! (as Mastodon's "remove follower" does: their server then stops showing them as following).

use serde_json::{Value, json};

use crate::{
    app::AppState,
    db::{deliveries, followers},
};

/// The Reject of `follow` (embedded as the follower knows it): its id and JSON body.
pub fn build(state: &AppState, follow: Value) -> (String, String) {
    let id = super::new_id(state);
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Reject",
        "actor": state.urls.actor(),
        "object": follow,
    });
    (id, body.to_string())
}

/// Removes a follower and queues a `Reject` of their Follow to their inbox, in one transaction. `Ok(None)` when they
/// do not follow the blog (any more).
pub async fn remove_follower(
    state: &AppState,
    actor_id: &str,
) -> Result<Option<followers::Follower>, sqlx::Error> {
    let mut tx = state.db.begin_write().await?;
    let Some(follower) = followers::remove_in(&mut tx, actor_id).await? else {
        return Ok(None);
    };
    let follow = json!({
        "id": follower.follow_id,
        "type": "Follow",
        "actor": follower.actor_id,
        "object": state.urls.actor(),
    });
    let (id, body) = build(state, follow);
    deliveries::queue_direct(
        &mut tx,
        &deliveries::NewActivity {
            activity_id: &id,
            kind: "reject",
            label: &follower.handle,
            body: &body,
            signer: deliveries::BLOG_SIGNER,
        },
        std::slice::from_ref(&follower.inbox),
        state.config.delivery.give_up_after_seconds,
    )
    .await?;
    tx.commit().await?;
    state.wakeup.wake();
    tracing::info!(follower = %follower.handle, "follower removed");
    Ok(Some(follower))
}
