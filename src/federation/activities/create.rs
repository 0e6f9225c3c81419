//! `Create`: outgoing, a post published (for the first time, or again after being unpublished) as an Article;
//! incoming, a reply (a Note or Article) to one of our Articles or to a comment on one, stored as a comment.

use serde_json::Value;

use crate::{
    app::AppState,
    db::{blocks, comments, posts::Post},
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
    let early = match in_reply_to {
        Some(irt) => match replies::target(state, irt).await? {
            Some(target) => Some((irt.to_string(), target)),
            None => {
                tracing::info!(actor = %signer, in_reply_to = %irt, "reply to something not ours; dropped");
                return Ok(());
            }
        },
        None => None,
    };
    let note = replies::authentic_note(state, signer, object).await?;
    let Some(irt) = note.in_reply_to.as_deref() else {
        tracing::info!(actor = %signer, "a Note that replies to nothing; dropped");
        return Ok(());
    };
    // Found once: again only when the copy fetched from its origin answers something else than the one received.
    let target = match early {
        Some((early_irt, target)) if early_irt == irt => Some(target),
        _ => replies::target(state, irt).await?,
    };
    let Some(target) = target else {
        tracing::info!(actor = %signer, in_reply_to = %irt, "reply to something not ours; dropped");
        return Ok(());
    };
    if blocks::is_blocked(&state.db, &note.attributed_to.0).await? {
        tracing::info!(author = %note.attributed_to.0, "reply by a blocked account or domain; dropped");
        return Ok(());
    }
    if !comments::is_open(&state.db, &target.post_id).await? {
        tracing::info!(post = %target.post_id, "reply to a post with comments closed; dropped");
        return Ok(());
    }
    if comments::find(&state.db, &note.id).await?.is_some() {
        return Ok(()); // Already here (the same Create again, or forwarded by another server).
    }
    let mut comment = replies::comment_of(state, &note, target).await?;
    replies::check_flood(state, &comment.author_id, &comment.author_host).await?;
    let showable = comment.visibility == "public" || comment.visibility == "unlisted";
    if showable && !replies::shown_at_once(state, &comment.author_id).await? {
        comment.status = "held".into();
    }
    if comments::insert_received(&state.db, &comment).await? {
        tracing::info!(comment = %comment.id, author = %comment.author_handle, status = %comment.status, "new comment");
        let title = crate::db::posts::title_of(&state.db, &comment.post_id)
            .await?
            .unwrap_or_default();
        let text = crate::domain::content::excerpt_text(&comment.content_html);
        let text: String = text.chars().take(140).collect();
        let (kind, url) = if !showable {
            (crate::db::notifications::Kind::Mention, "/admin/mentions")
        } else if comment.status == "held" {
            (crate::db::notifications::Kind::Waiting, "/admin/comments")
        } else {
            (crate::db::notifications::Kind::Comment, "/admin/comments")
        };
        crate::db::notifications::add(
            &state.db,
            kind,
            &format!(
                "{} ({}) on \u{201c}{title}\u{201d}: {text}",
                comment.author_name, comment.author_handle
            ),
            url,
        )
        .await?;
        // Copied now, so that the page shows the avatar from this blog's host by the time readers see the comment.
        if let Some(avatar) = &comment.author_avatar
            && comment.status == "shown"
        {
            crate::media::avatars::served(state, std::slice::from_ref(avatar)).await?;
        }
    }
    Ok(())
}

/// The Create of `post`: its id and JSON body.
pub fn build(state: &AppState, post: &Post) -> (String, String) {
    let activity = objects::create_activity(post, &state.urls, &state.site().language, true);
    (
        state.urls.article_create(&post.article_id),
        activity.to_string(),
    )
}
