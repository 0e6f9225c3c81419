//! Saving and deleting posts together with the activities that tell followers, in one transaction: publishing
//! queues `Create`, editing a published post `Update`, unpublishing or deleting `Delete{Tombstone}`. Drafts never
//! federate. Deliveries go to each follower's shared inbox once (or their own inbox without one).

use super::activities::{create, delete, update};
use crate::{
    app::AppState,
    db::{
        deliveries, followers,
        posts::{self, Post, SaveError, Tx},
    },
    domain::posts::{PostStatus, ValidPost},
};

/// Queues an activity for every follower, inside `tx`.
async fn queue(tx: &mut Tx, (activity_id, body): (String, String)) -> Result<(), sqlx::Error> {
    let inboxes = followers::delivery_inboxes(tx).await?;
    if !inboxes.is_empty() {
        deliveries::enqueue(tx, &activity_id, &body, &inboxes).await?;
    }
    Ok(())
}

async fn reload(tx: &mut Tx, id: &str) -> Result<Post, SaveError> {
    posts::find_by_id_in(tx, id)
        .await?
        .ok_or(SaveError::NotFound)
}

/// Creates (`post_id` None) or updates a post, and queues what its followers must hear. Returns the post's id.
pub async fn save(
    state: &AppState,
    author_id: &str,
    post_id: Option<&str>,
    post: &ValidPost,
    status: PostStatus,
) -> Result<String, SaveError> {
    let mut tx = state.db.pool.begin().await?;
    let before = match post_id {
        Some(id) => Some(reload(&mut tx, id).await?),
        None => None,
    };
    let id = match post_id {
        Some(id) => {
            posts::update_in(&mut tx, id, post, status).await?;
            id.to_string()
        }
        None => posts::create_in(&mut tx, author_id, post, status).await?,
    };
    let was_published = before
        .as_ref()
        .is_some_and(|p| p.status() == PostStatus::Published);
    match (was_published, status == PostStatus::Published) {
        (false, true) => {
            let mut after = reload(&mut tx, &id).await?;
            // An Article id once deleted is never used again: a post published anew gets a new one.
            if posts::tombstoned_at(&mut tx, &after.article_id)
                .await?
                .is_some()
            {
                after.article_id = posts::renew_article_id_in(&mut tx, &id).await?;
            }
            queue(&mut tx, create::build(state, &after)).await?;
        }
        (true, true) => {
            let after = reload(&mut tx, &id).await?;
            queue(&mut tx, update::build(state, &after)).await?;
        }
        (true, false) => {
            if let Some(before) = &before {
                posts::tombstone_in(&mut tx, &before.article_id, &before.slug).await?;
                queue(
                    &mut tx,
                    delete::build_for_article(state, &before.article_id),
                )
                .await?;
            }
        }
        (false, false) => {}
    }
    state.db.commit_content(tx).await?;
    state.wakeup.wake();
    Ok(id)
}

/// Deletes a post; a published one leaves a tombstone and a queued `Delete`. `Ok(false)` when no such post.
pub async fn delete(state: &AppState, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = state.db.pool.begin().await?;
    let Some(before) = posts::find_by_id_in(&mut tx, id).await? else {
        return Ok(false);
    };
    if before.status() == PostStatus::Published {
        posts::tombstone_in(&mut tx, &before.article_id, &before.slug).await?;
        queue(
            &mut tx,
            delete::build_for_article(state, &before.article_id),
        )
        .await?;
    }
    let deleted = posts::delete_in(&mut tx, id).await?;
    state.db.commit_content(tx).await?;
    state.wakeup.wake();
    Ok(deleted)
}
