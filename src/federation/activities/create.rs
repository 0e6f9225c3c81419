//! `Create`: outgoing, a post published (for the first time, or again after being unpublished) as an Article;
//! incoming, a reply (a Note or Article) to one of our Articles or to a comment on one, stored as a comment.

use serde_json::Value;

use crate::{
    app::AppState,
    db::{comments, posts::Post},
    error::AppError,
    federation::{comments as replies, objects},
};

/// A `Create` from `signer`: a reply to something of ours becomes a comment (once); anything else is dropped.
pub async fn receive(state: &AppState, signer: &str, object: &Value) -> Result<(), AppError> {
    let kind = object.get("type").and_then(Value::as_str);
    if !matches!(kind, Some("Note" | "Article") | None) {
        tracing::info!(actor = %signer, kind = ?kind, "Create of something other than a reply; ignored");
        return Ok(());
    }
    // Cheap check first: a reply to something that is not ours needs no fetching.
    let in_reply_to = object.get("inReplyTo").and_then(Value::as_str);
    if let Some(irt) = in_reply_to
        && replies::target(state, irt).await?.is_none()
    {
        tracing::info!(actor = %signer, in_reply_to = %irt, "reply to something not ours; dropped");
        return Ok(());
    }
    let note = replies::authentic_note(state, signer, object).await?;
    let Some(irt) = note.in_reply_to.as_deref() else {
        tracing::info!(actor = %signer, "a Note that replies to nothing; dropped");
        return Ok(());
    };
    let Some(target) = replies::target(state, irt).await? else {
        tracing::info!(actor = %signer, in_reply_to = %irt, "reply to something not ours; dropped");
        return Ok(());
    };
    let comment = replies::comment_of(state, &note, target).await?;
    if comments::insert(&state.db, &comment).await? {
        tracing::info!(comment = %comment.id, author = %comment.author_handle, "new comment");
    }
    Ok(())
}

/// The Create of `post`: its id and JSON body.
pub fn build(state: &AppState, post: &Post) -> (String, String) {
    let activity = objects::create_activity(post, &state.urls, &state.config.site.language, true);
    (
        state.urls.article_create(&post.article_id),
        activity.to_string(),
    )
}
