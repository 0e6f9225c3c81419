//! `Update`: outgoing, a published post edited (`Update{Article}`, its `updated` strictly newer than before, see
//! `posts::update_in`); incoming, a comment edited by its author (`Update{Note}`): the text is replaced unless the
//! edit is older than what is stored. An Update signed by anyone but the author is refused.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    db::{comments, posts::Post},
    domain::comments::MAX_CONTENT_BYTES,
    error::AppError,
    federation::{
        comments as replies, objects,
        protocol::{activity::Note, context},
    },
};

/// An `Update` from `signer`: edits of comments we hold, and commenters' own profiles (a new avatar is copied and
/// shown on their comments); anything else (posts we do not hold) is dropped.
pub async fn receive(state: &AppState, signer: &str, object: &Value) -> Result<(), AppError> {
    if matches!(
        object.get("type").and_then(Value::as_str),
        Some("Person" | "Service" | "Application" | "Group" | "Organization")
    ) {
        return profile(state, signer, object).await;
    }
    if !matches!(
        object.get("type").and_then(Value::as_str),
        Some("Note" | "Article")
    ) {
        tracing::info!(actor = %signer, "Update of something other than a comment; ignored");
        return Ok(());
    }
    let note = Note::deserialize(object)
        .map_err(|e| AppError::BadRequest(format!("The object is not a Note: {e}")))?;
    let Some(mut stored) = comments::find(&state.db, &note.id).await? else {
        tracing::info!(actor = %signer, note = %note.id, "Update of a note we do not hold; ignored");
        return Ok(());
    };
    if stored.author_id != signer
        && note.attributed_to.0 == signer
        && crate::db::imports::is_imported_comment(&state.db, &note.id).await?
    {
        // An imported comment names its author by profile page: the Note at its origin says who wrote it.
        let origin =
            replies::authentic_note(state, signer, &Value::String(note.id.clone())).await?;
        if origin.attributed_to.0 == signer {
            comments::adopt_author(&state.db, &note.id, signer).await?;
            signer.clone_into(&mut stored.author_id);
        }
    }
    if stored.author_id != signer || note.attributed_to.0 != signer {
        return Err(AppError::Forbidden(format!(
            "only its author may edit {}",
            note.id
        )));
    }
    if note.content.len() > MAX_CONTENT_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let target = replies::Target {
        post_id: stored.post_id.clone(),
        parent_id: stored.parent_id.clone(),
    };
    let edited = replies::comment_of(state, &note, target).await?;
    if comments::edit(
        &state.db,
        &note.id,
        signer,
        &edited,
        replies::edited_at(&note),
    )
    .await?
    {
        tracing::info!(comment = %note.id, "comment edited by its author");
    } else {
        tracing::info!(comment = %note.id, "an edit older than the stored text; ignored");
    }
    Ok(())
}

/// A profile changed: only the actor itself may say so. Its comments point at its new avatar, which is copied.
async fn profile(state: &AppState, signer: &str, object: &Value) -> Result<(), AppError> {
    if object.get("id").and_then(Value::as_str) != Some(signer) {
        return Err(AppError::Forbidden(
            "only an actor may update its own profile".into(),
        ));
    }
    let avatar = object
        .get("icon")
        .and_then(crate::federation::actors::image_url)
        .filter(|a| a.starts_with("https://") || a.starts_with("http://"));
    let changed = comments::set_author_avatar(&state.db, signer, avatar.as_deref()).await?;
    if changed > 0
        && let Some(avatar) = &avatar
    {
        crate::media::avatars::served(state, std::slice::from_ref(avatar)).await?;
    }
    tracing::info!(actor = %signer, comments = changed, "profile updated");
    Ok(())
}

/// The Update of `post` (as it is now): its id and JSON body.
pub fn build(state: &AppState, post: &Post) -> (String, String) {
    let article = objects::article(post, &state.urls, &state.site().language, false);
    let id = super::new_id(state);
    let body = json!({
        "@context": context(),
        "id": id,
        "type": "Update",
        "actor": state.urls.actor(),
        "published": article.updated,
        "to": article.to,
        "cc": article.cc,
        "object": article,
    });
    (id, body.to_string())
}

/// The Update of the blog actor itself (`person`, as it will be): its id and JSON body. Mastodon refreshes the
/// profile it shows (name, avatar, `alsoKnownAs`, `movedTo`) when it gets one.
pub fn build_profile(
    state: &AppState,
    person: &crate::federation::protocol::actor::Person,
) -> (String, String) {
    let id = super::new_id(state);
    let body = json!({
        "@context": context(),
        "id": id,
        "type": "Update",
        "actor": state.urls.actor(),
        "to": [crate::federation::protocol::PUBLIC],
        "cc": [state.urls.followers()],
        "object": person,
    });
    (id, body.to_string())
}
