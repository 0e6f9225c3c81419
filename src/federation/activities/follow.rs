//! `Follow` of the blog: the follower is stored and an `Accept` is queued, in one transaction; a blocked account's
//! Follow gets a `Reject` instead.

use serde_json::json;

use super::{accept, reject as rejection};
use crate::{
    app::AppState,
    db::{self, deliveries, followers},
    error::AppError,
    federation::{actors, protocol::activity::Follow},
};

pub async fn receive(state: &AppState, signer: &str, follow: Follow) -> Result<(), AppError> {
    let object = follow.object.0.as_str();
    if object != state.urls.actor() {
        tracing::info!(%object, actor = %signer, "Follow of someone else; ignored");
        return Ok(());
    }
    let follow_id = follow.id.as_str();
    let actor = actors::actor(&state.db, &state.client, signer)
        .await
        .map_err(|e| actors::unusable("follower", signer, &e))?;
    // The Follow as the follower knows it, embedded so that they can match our Accept to it.
    let follow = json!({ "id": follow_id, "type": "Follow", "actor": signer, "object": object });
    let (accept_id, body) = accept::build(state, follow);
    let mut tx = state.db.begin_write().await?;
    let repeated = followers::is_follower(&mut tx, &actor.id).await?;
    followers::upsert(
        &mut tx,
        &followers::Follower {
            actor_id: actor.id.clone(),
            follow_id: follow_id.to_string(),
            inbox: actor.inbox.clone(),
            shared_inbox: actor.shared_inbox.clone(),
            handle: actor.handle.clone(),
            name: actor.name.clone(),
            avatar_url: actor.avatar_url.clone(),
            followed_at: db::now(),
        },
    )
    .await?;
    if !repeated {
        db::notifications::add_in(
            &mut tx,
            db::notifications::Kind::Follower,
            &format!("{} ({}) follows the blog", actor.name, actor.handle),
            "/admin/followers",
        )
        .await?;
    }
    if !may_answer(&mut tx, &actor.handle, repeated).await? {
        // Answered lately: repeated Follows change nothing and queue nothing more.
        tx.commit().await?;
        tracing::info!(follower = %actor.handle, "repeated Follow; not answered again this hour");
        return Ok(());
    }
    deliveries::queue_direct(
        &mut tx,
        &deliveries::NewActivity {
            activity_id: &accept_id,
            kind: "accept",
            label: &actor.handle,
            body: &body,
            signer: deliveries::BLOG_SIGNER,
        },
        std::slice::from_ref(&actor.inbox),
        state.config.delivery.give_up_after_seconds,
    )
    .await?;
    // After the blog moved, a new follower's server is told where, so that it follows the new account as well.
    crate::federation::moving::tell_new_follower(state, &mut tx, &actor.handle, &actor.inbox)
        .await?;
    tx.commit().await?;
    state.wakeup.wake();
    tracing::info!(follower = %actor.handle, "new follower");
    Ok(())
}

/// Accepts or Rejects queued for one account per hour, at most, when it already followed (or is blocked): a Follow
/// repeated fifty times gets a few answers (in case one was lost), not fifty.
const REPEATED_ANSWERS_PER_HOUR: i64 = 3;
/// And in all, new follows included (following, unfollowing and following again in a loop).
const ANSWERS_PER_HOUR: i64 = 10;

/// Whether another Accept or Reject may be queued for the account `handle` now; `repeated` when the Follow changes
/// nothing (the account already follows, or is blocked).
async fn may_answer(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    handle: &str,
    repeated: bool,
) -> Result<bool, sqlx::Error> {
    let recent = deliveries::answers_since(tx, handle, db::now() - 3600).await?;
    let limit = if repeated {
        REPEATED_ANSWERS_PER_HOUR
    } else {
        ANSWERS_PER_HOUR
    };
    Ok(recent < limit)
}

/// A Follow from a blocked account or domain: answered with a `Reject`, nothing stored.
pub async fn reject(state: &AppState, signer: &str, follow: Follow) -> Result<(), AppError> {
    let actor = actors::actor(&state.db, &state.client, signer)
        .await
        .map_err(|e| actors::unusable("follower", signer, &e))?;
    let follow =
        json!({ "id": follow.id, "type": "Follow", "actor": signer, "object": follow.object.0 });
    let (reject_id, body) = rejection::build(state, follow);
    let mut tx = state.db.begin_write().await?;
    if !may_answer(&mut tx, &actor.handle, true).await? {
        tx.commit().await?;
        tracing::info!(actor = %signer, "repeated Follow from a blocked account; not rejected again this hour");
        return Ok(());
    }
    deliveries::queue_direct(
        &mut tx,
        &deliveries::NewActivity {
            activity_id: &reject_id,
            kind: "reject",
            label: &actor.handle,
            body: &body,
            signer: deliveries::BLOG_SIGNER,
        },
        std::slice::from_ref(&actor.inbox),
        state.config.delivery.give_up_after_seconds,
    )
    .await?;
    tx.commit().await?;
    state.wakeup.wake();
    tracing::info!(actor = %signer, "Follow from a blocked account rejected");
    Ok(())
}
