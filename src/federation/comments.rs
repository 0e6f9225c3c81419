//! Replies from other servers: finding what they answer (one of our Articles, or a comment on one, at any depth),
//! making sure the author said it (a reply relayed or forwarded by someone else is fetched from its origin), and
//! turning the Note into a stored comment (sanitised, with its visibility and its author's profile). Likes and
//! boosts of our Articles are resolved here too.

use serde::Deserialize;
use serde_json::Value;

use super::{actors, protocol::activity::Note};
use crate::{
    app::AppState,
    db::{
        self,
        comments::{self, NewComment},
        posts,
    },
    domain::{
        comments::{MAX_CONTENT_BYTES, Visibility, attachments_html, plain, sanitize},
        dates,
        moderation::Policy,
    },
    error::AppError,
};

/// What a reply answers.
#[derive(Debug, Clone)]
pub struct Target {
    pub post_id: String,
    /// The comment it answers, when it is a reply to a reply.
    pub parent_id: Option<String>,
}

/// The post (and comment) `in_reply_to` names, if it is ours.
pub async fn target(state: &AppState, in_reply_to: &str) -> Result<Option<Target>, sqlx::Error> {
    if let Some(article_id) = state.urls.article_id_in(in_reply_to) {
        return Ok(posts::published_id_by_article_id(&state.db, article_id)
            .await?
            .map(|post_id| Target {
                post_id,
                parent_id: None,
            }));
    }
    if let Some(c) = comments::find(&state.db, in_reply_to).await? {
        return Ok(Some(Target {
            post_id: c.post_id,
            parent_id: Some(c.id),
        }));
    }
    // An imported post, by the id followers' servers knew it by on WordPress.
    Ok(db::imports::post_for_old_url(&state.db, in_reply_to)
        .await?
        .map(|post_id| Target {
            post_id,
            parent_id: None,
        }))
}

/// The post whose Article `object` is, for likes and boosts.
pub async fn liked_post(state: &AppState, object: &str) -> Result<Option<String>, sqlx::Error> {
    let Some(article_id) = state.urls.article_id_in(object) else {
        return db::imports::post_for_old_url(&state.db, object).await;
    };
    posts::published_id_by_article_id(&state.db, article_id).await
}

/// The host and port of a URL: what must match between a Note, its author, and where it was fetched from.
pub fn host(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Reads the Note carried by an activity from `signer`. When the signer is not its author (a relay, a forward), or
/// the object is only a link, the Note is fetched from its own id with a signed GET and that copy is used. The
/// author must be on the same host as the Note's id.
pub async fn authentic_note(
    state: &AppState,
    signer: &str,
    object: &Value,
) -> Result<Note, AppError> {
    let embedded = match object {
        Value::String(_) => None,
        other => Some(
            Note::deserialize(other)
                .map_err(|e| AppError::BadRequest(format!("The object is not a Note: {e}")))?,
        ),
    };
    let note = match embedded {
        Some(note) if note.attributed_to.0 == signer => note,
        _ => {
            let id = match object {
                Value::String(id) => id.clone(),
                other => other["id"].as_str().unwrap_or_default().to_string(),
            };
            let (url, fetched) = state
                .client
                .fetch_json(&id)
                .await
                .map_err(|e| actors::unusable("note", &id, &e))?;
            let note = Note::deserialize(&fetched).map_err(|e| {
                AppError::BadRequest(format!("{id} at its origin is not a Note: {e}"))
            })?;
            if note.id != id || host(url.as_str()) != host(&id) {
                return Err(AppError::Unauthorized(format!(
                    "{id} at its origin has another id ({})",
                    note.id
                )));
            }
            note
        }
    };
    if host(&note.id).is_none() || host(&note.id) != host(&note.attributed_to.0) {
        return Err(AppError::Unauthorized(format!(
            "the Note {} is not on its author's server",
            note.id
        )));
    }
    if note.content.len() > MAX_CONTENT_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    Ok(note)
}

fn unix(time: Option<&str>) -> Option<i64> {
    time.and_then(dates::parse_iso)
}

/// The comment a Note makes, answering `target`.
pub async fn comment_of(
    state: &AppState,
    note: &Note,
    target: Target,
) -> Result<NewComment, AppError> {
    let author = actors::actor(&state.db, &state.client, &note.attributed_to.0)
        .await
        .map_err(|e| actors::unusable("author", &note.attributed_to.0, &e))?;
    let visibility = Visibility::of(&note.to, &note.cc, None);
    let url = match &note.url {
        Some(Value::String(u)) => Some(u.clone()),
        Some(Value::Object(o)) => o.get("href").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
    .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    Ok(NewComment {
        id: note.id.clone(),
        post_id: target.post_id,
        parent_id: target.parent_id,
        author_id: author.id.clone(),
        author_host: host(&author.id).unwrap_or_default(),
        author_name: plain(&author.name, 200),
        author_handle: plain(&author.handle, 300),
        // The actor id: Mastodon and most servers send browsers on to the profile page from it.
        author_url: author.id.clone(),
        author_avatar: author
            .avatar_url
            .filter(|a| a.starts_with("https://") || a.starts_with("http://")),
        content_html: sanitize(&note.content),
        source_text: None,
        summary: note
            .summary
            .as_deref()
            .map(|s| plain(s, 500))
            .filter(|s| !s.is_empty()),
        attachments_html: attachments_html(&note.attachment),
        url,
        visibility: visibility.as_str().to_string(),
        status: "shown".into(),
        published_at: unix(note.published.as_deref()).unwrap_or_else(db::now),
    })
}

/// The time of an edit: the Note's `updated`, else now.
pub fn edited_at(note: &Note) -> i64 {
    unix(note.updated.as_deref()).unwrap_or_else(db::now)
}

/// Whether the owner's moderation lets a new reply by `author_id` show at once (else it is held).
/// The policy is the one in effect in this process (reloaded when any process changes it), not read per reply.
pub async fn shown_at_once(state: &AppState, author_id: &str) -> Result<bool, sqlx::Error> {
    let policy = state.site().comment_policy;
    let known = match policy {
        Policy::HoldFirst => comments::has_shown_from(&state.db, author_id).await?,
        _ => false,
    };
    Ok(!policy.holds(known))
}

/// Refuses (429) a reply when its author, or their server, sent too many in the last hour.
pub async fn check_flood(
    state: &AppState,
    author_id: &str,
    author_host: &str,
) -> Result<(), AppError> {
    let limits = &state.config.limits;
    let (by_author, by_host) =
        comments::received_in_last_hour(&state.db, author_id, author_host).await?;
    if by_author >= limits.comments_per_actor_per_hour {
        return Err(AppError::TooManyRequests(format!(
            "too many replies from {author_id} in the last hour"
        )));
    }
    if by_host >= limits.comments_per_domain_per_hour {
        return Err(AppError::TooManyRequests(format!(
            "too many replies from {author_host} in the last hour"
        )));
    }
    Ok(())
}
