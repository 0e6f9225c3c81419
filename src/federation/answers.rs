//! The owner's replies to comments: a Note from the blog actor, `inReplyTo` the comment, mentioning its author
//! (a `Mention` tag and a mention link), addressed to Public with the author and the blog's followers in `cc`. It is
//! stored as a comment (so it shows in the thread), served at `/notes/{id}`, and delivered with `Create`, then
//! `Update` when edited and `Delete` when deleted, to the followers and the author's inbox.

use serde_json::{Value, json};

use super::{comments as replies, protocol};
use crate::{
    app::AppState,
    db::{
        self,
        comments::{self, CommentRow, NewComment},
        deliveries::{self, NewActivity},
        remote_actors, settings,
    },
    domain::{comments::plain, content::render_markdown, dates, media::profile_image},
    error::AppError,
};

/// Longest reply the owner may write, in characters.
pub const MAX_REPLY_CHARS: usize = 5000;

/// Why the owner's reply was not sent.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("Write something to reply.")]
    Empty,
    #[error("A reply can be at most {MAX_REPLY_CHARS} characters.")]
    TooLong,
    #[error("That comment is not there any more.")]
    NoSuchComment,
    #[error("Only comments shown on the blog can be answered here.")]
    NotPublic,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<AnswerError> for AppError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::Db(e) => e.into(),
            AnswerError::NoSuchComment => AppError::NotFound,
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

fn check_text(text: &str) -> Result<&str, AnswerError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AnswerError::Empty);
    }
    if text.chars().count() > MAX_REPLY_CHARS {
        return Err(AnswerError::TooLong);
    }
    Ok(text)
}

/// The mention of the comment's author that opens the reply, as Mastodon writes it.
fn mention_html(parent: &CommentRow) -> String {
    let user = parent
        .author_handle
        .trim_start_matches('@')
        .split('@')
        .next()
        .unwrap_or_default();
    format!(
        "<p><span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span></p>",
        crate::domain::content::escape_html(&parent.author_url),
        crate::domain::content::escape_html(user)
    )
}

/// The Note of a stored reply by the owner; `parent` is the comment it answers (if still there).
pub fn note(state: &AppState, reply: &CommentRow, parent: Option<&CommentRow>) -> Value {
    let cc = cc(state, parent);
    let mut tag = Vec::new();
    if let Some(p) = parent {
        tag.push(json!({"type": "Mention", "href": p.author_id, "name": p.author_handle}));
    }
    let mut note = json!({
        "id": reply.id,
        "type": "Note",
        "attributedTo": state.urls.actor(),
        "inReplyTo": reply.parent_id,
        "content": reply.content_html,
        "published": dates::iso(reply.published_at),
        "url": reply.url,
        "to": [protocol::PUBLIC],
        "cc": cc,
        "tag": tag,
    });
    if let Some(edited) = reply.edited_at {
        note["updated"] = json!(dates::iso(edited));
    }
    note
}

/// Who hears about a reply besides everyone: the answered author (if still known) and the blog's followers.
fn cc(state: &AppState, parent: Option<&CommentRow>) -> Vec<String> {
    let mut cc = vec![state.urls.followers()];
    if let Some(p) = parent {
        cc.insert(0, p.author_id.clone());
    }
    cc
}

fn envelope(state: &AppState, kind: &str, cc: Vec<String>, object: Value) -> (String, String) {
    let id = super::activities::new_id(state);
    let body = json!({
        "@context": protocol::context(),
        "id": id,
        "type": kind,
        "actor": state.urls.actor(),
        "to": [protocol::PUBLIC],
        "cc": cc,
        "object": object,
    });
    (id, body.to_string())
}

/// Queues an activity about a reply for the followers and the answered author's inbox.
async fn queue(
    state: &AppState,
    kind: &str,
    label: &str,
    parent: Option<&CommentRow>,
    (activity_id, body): (String, String),
) -> Result<(), sqlx::Error> {
    let mut extra = Vec::new();
    if let Some(p) = parent
        && let Some(actor) = remote_actors::find(&state.db, &p.author_id).await?
    {
        extra.push(actor.shared_inbox.unwrap_or(actor.inbox));
    }
    let mut tx = state.db.begin_write().await?;
    deliveries::queue_for_followers_and(
        &mut tx,
        &NewActivity {
            activity_id: &activity_id,
            kind,
            label,
            body: &body,
            signer: deliveries::BLOG_SIGNER,
        },
        &extra,
    )
    .await?;
    tx.commit().await?;
    state.wakeup.wake();
    Ok(())
}

/// Replies to the comment `parent_id` with `text` (Markdown). Returns the new Note's id.
pub async fn reply(state: &AppState, parent_id: &str, text: &str) -> Result<String, AnswerError> {
    let text = check_text(text)?;
    let parent = comments::find(&state.db, parent_id)
        .await?
        .ok_or(AnswerError::NoSuchComment)?;
    if parent.status != "shown" || !matches!(parent.visibility.as_str(), "public" | "unlisted") {
        return Err(AnswerError::NotPublic);
    }
    let post = db::posts::find_by_id(&state.db, &parent.post_id)
        .await?
        .ok_or(AnswerError::NoSuchComment)?;
    let values = settings::all(&state.db).await?;
    let id = format!("{}/notes/{}", state.urls.base(), uuid::Uuid::now_v7());
    let new = NewComment {
        id: id.clone(),
        post_id: parent.post_id.clone(),
        parent_id: Some(parent.id.clone()),
        author_id: state.urls.actor(),
        author_host: replies::host(state.urls.base()).unwrap_or_default(),
        author_name: plain(&state.site().title, 200),
        author_handle: state.urls.handle(),
        author_url: state.urls.home(),
        author_avatar: profile_image(&values, "avatar").map(|i| i.url),
        content_html: format!("{}{}", mention_html(&parent), render_markdown(text)),
        source_text: Some(text.to_string()),
        summary: None,
        attachments_html: String::new(),
        url: None,
        visibility: "public".into(),
        status: "shown".into(),
        published_at: db::now(),
    };
    comments::insert(&state.db, &new).await?;
    let mut stored = comments::find(&state.db, &id)
        .await?
        .ok_or(AnswerError::NoSuchComment)?;
    // Its page is the post's, at the reply's anchor: the permalink that finds the page of comments holding it.
    stored.url = Some(comment_permalink(state, &stored.anchor));
    let activity = envelope(
        state,
        "Create",
        cc(state, Some(&parent)),
        note(state, &stored, Some(&parent)),
    );
    queue(state, "reply", &post.title, Some(&parent), activity).await?;
    tracing::info!(reply = %id, comment = %parent.id, "owner replied to a comment");
    Ok(id)
}

/// The owner's reply `id`, if it is one, with the comment it answers.
async fn own(state: &AppState, id: &str) -> Result<(CommentRow, Option<CommentRow>), AnswerError> {
    let reply = comments::find(&state.db, id)
        .await?
        .filter(|c| c.author_id == state.urls.actor())
        .ok_or(AnswerError::NoSuchComment)?;
    let parent = match &reply.parent_id {
        Some(p) => comments::find(&state.db, p).await?,
        None => None,
    };
    Ok((reply, parent))
}

/// The public URL of a stored reply (its permalink, which leads to the post page at its anchor).
async fn with_url(state: &AppState, mut reply: CommentRow) -> Result<CommentRow, AnswerError> {
    reply.url = Some(comment_permalink(state, &reply.anchor));
    Ok(reply)
}

/// `/comments/{anchor}` on this blog.
fn comment_permalink(state: &AppState, anchor: &str) -> String {
    state.urls.page_url(&format!("/comments/{anchor}"))
}

async fn post_title(state: &AppState, post_id: &str) -> Result<String, AnswerError> {
    Ok(db::posts::find_by_id(&state.db, post_id)
        .await?
        .map(|p| p.title)
        .unwrap_or_default())
}

/// Changes the text of the owner's reply `id` and sends the `Update`.
pub async fn edit(state: &AppState, id: &str, text: &str) -> Result<(), AnswerError> {
    let text = check_text(text)?;
    let (reply, parent) = own(state, id).await?;
    let content_html = match &parent {
        Some(p) => format!("{}{}", mention_html(p), render_markdown(text)),
        None => render_markdown(text),
    };
    // Strictly later than the last version, even for two edits in one second.
    let edited_at = db::now().max(reply.edited_at.unwrap_or(reply.published_at) + 1);
    let edited = NewComment {
        id: reply.id.clone(),
        post_id: reply.post_id.clone(),
        parent_id: reply.parent_id.clone(),
        author_id: reply.author_id.clone(),
        author_host: String::new(),
        author_name: reply.author_name.clone(),
        author_handle: reply.author_handle.clone(),
        author_url: reply.author_url.clone(),
        author_avatar: reply.author_avatar.clone(),
        content_html,
        source_text: Some(text.to_string()),
        summary: None,
        attachments_html: String::new(),
        url: None,
        visibility: "public".into(),
        status: "shown".into(),
        published_at: reply.published_at,
    };
    comments::edit(&state.db, id, &reply.author_id, &edited, edited_at).await?;
    let (updated, _) = own(state, id).await?;
    let updated = with_url(state, updated).await?;
    let title = post_title(state, &updated.post_id).await?;
    let activity = envelope(
        state,
        "Update",
        cc(state, parent.as_ref()),
        note(state, &updated, parent.as_ref()),
    );
    queue(state, "reply-edit", &title, parent.as_ref(), activity).await?;
    Ok(())
}

/// Deletes the owner's reply `id` and sends the `Delete`.
pub async fn delete(state: &AppState, id: &str) -> Result<(), AnswerError> {
    let (reply, parent) = own(state, id).await?;
    comments::delete(&state.db, id).await?;
    let tombstone = json!({ "id": reply.id, "type": "Tombstone" });
    let title = post_title(state, &reply.post_id).await?;
    let activity = envelope(state, "Delete", cc(state, parent.as_ref()), tombstone);
    queue(state, "reply-delete", &title, parent.as_ref(), activity).await?;
    Ok(())
}

/// `/notes/{id}` as a document: the owner's reply, if it still exists.
pub async fn document(state: &AppState, id: &str) -> Result<Option<Value>, AnswerError> {
    match own(state, id).await {
        Ok((reply, parent)) => {
            let reply = with_url(state, reply).await?;
            let mut doc = note(state, &reply, parent.as_ref());
            doc["@context"] = protocol::context();
            Ok(Some(doc))
        }
        Err(AnswerError::NoSuchComment) => Ok(None),
        Err(e) => Err(e),
    }
}
