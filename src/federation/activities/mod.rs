//! Activities, one file each: what Steppe does when one arrives, and how it builds the ones it sends.

pub mod accept;
pub mod announce;
pub mod create;
pub mod delete;
pub mod follow;
pub mod like;
pub mod r#move;
pub mod reject;
pub mod undo;
pub mod update;

use serde::Deserialize;
use serde_json::Value;

use crate::{app::AppState, error::AppError};

/// A new activity id on this instance (`https://host/activities/<uuid>`).
pub fn new_id(state: &AppState) -> String {
    format!("{}/activities/{}", state.urls.base(), uuid::Uuid::now_v7())
}

/// Reads an activity as the wire type its handler expects; 400 when it does not have that shape.
fn parse<T: serde::de::DeserializeOwned>(kind: &str, activity: Value) -> Result<T, AppError> {
    serde_json::from_value(activity)
        .map_err(|e| AppError::BadRequest(format!("Malformed {kind}: {e}")))
}

/// Checks, before an activity from `signer` is queued, what needs nothing but the activity: that it has the shape
/// its handler reads (400; 413 for a reply's text over the limit), that a Like's or Announce's id is on the
/// signer's server (400: or one actor could take another's id and have the real one ignored), that an edit of a
/// note or a profile comes from its author (403), and that a reply its author sent is on its author's server (401).
/// The sender gets these answers at once, as when activities were applied before the answer.
pub fn check(kind: &str, activity: &Value, signer: &str) -> Result<(), AppError> {
    fn shape<T: serde::de::DeserializeOwned>(kind: &str, activity: &Value) -> Result<T, AppError> {
        T::deserialize(activity).map_err(|e| AppError::BadRequest(format!("Malformed {kind}: {e}")))
    }
    use crate::federation::{
        actors::same_host,
        protocol::activity::{Announce, Delete, Follow, Like, Note, Undo},
    };
    let own_id = |id: &str| {
        if same_host(id, signer) {
            Ok(())
        } else {
            Err(AppError::BadRequest(format!(
                "The {kind}'s id is not on its actor's server."
            )))
        }
    };
    match kind {
        "Follow" => shape::<Follow>(kind, activity).map(drop),
        "Undo" => shape::<Undo>(kind, activity).map(drop),
        "Delete" => shape::<Delete>(kind, activity).map(drop),
        "Like" => own_id(&shape::<Like>(kind, activity)?.id),
        "Announce" => own_id(&shape::<Announce>(kind, activity)?.id),
        "Create" | "Update" => {
            let object = &activity["object"];
            match object.get("type").and_then(Value::as_str) {
                Some("Note" | "Article") if object.is_object() => {
                    let note = Note::deserialize(object).map_err(|e| {
                        AppError::BadRequest(format!("The object is not a Note: {e}"))
                    })?;
                    if note.content.len() > crate::domain::comments::MAX_CONTENT_BYTES {
                        return Err(AppError::PayloadTooLarge);
                    }
                    if kind == "Update" && note.attributed_to.0 != signer {
                        return Err(AppError::Forbidden(format!(
                            "only its author may edit {}",
                            note.id
                        )));
                    }
                    if note.attributed_to.0 == signer && !same_host(&note.id, signer) {
                        return Err(AppError::Unauthorized(format!(
                            "the Note {} is not on its author's server",
                            note.id
                        )));
                    }
                    Ok(())
                }
                Some("Person" | "Service" | "Application" | "Group" | "Organization")
                    if kind == "Update"
                        && object.get("id").and_then(Value::as_str) != Some(signer) =>
                {
                    Err(AppError::Forbidden(
                        "only an actor may update its own profile".into(),
                    ))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// What orders a received activity in the inbox queue: activities with the same key are applied in the order they
/// came. A Create, Update or Delete is about its object (the note, or the actor); an Undo is about the activity it
/// undoes, which is how a Like, Announce or Follow is keyed (by its own id); anything else by its object, its id,
/// or at last its signer.
pub fn object_key(kind: &str, activity: &Value, signer: &str) -> String {
    fn id_of(v: &Value) -> Option<&str> {
        match v {
            Value::String(s) => Some(s),
            other => other.get("id").and_then(Value::as_str),
        }
    }
    let own = activity.get("id").and_then(Value::as_str);
    let object = activity.get("object").and_then(id_of);
    let key = match kind {
        "Like" | "Announce" | "Follow" => own.or(object),
        _ => object.or(own),
    };
    key.unwrap_or(signer).to_string()
}

/// Handles a verified activity of type `kind` from `signer`. Types Steppe does not handle yet are logged and
/// accepted. Everything from a blocked account or domain is dropped, and their Follows are rejected.
pub async fn handle(
    state: &AppState,
    signer: &str,
    kind: &str,
    activity: Value,
) -> Result<(), AppError> {
    if crate::db::blocks::is_blocked(&state.db, signer).await? {
        tracing::info!(actor = %signer, %kind, "activity from a blocked account or domain; dropped");
        if kind == "Follow" {
            follow::reject(state, signer, parse(kind, activity)?).await?;
        }
        return Ok(());
    }
    match kind {
        "Follow" => follow::receive(state, signer, parse(kind, activity)?).await,
        "Undo" => undo::receive(state, signer, parse(kind, activity)?).await,
        "Delete" => delete::receive(state, signer, parse(kind, activity)?).await,
        "Create" => create::receive(state, signer, &activity["object"]).await,
        "Update" => update::receive(state, signer, &activity["object"]).await,
        "Like" => like::receive(state, signer, parse(kind, activity)?).await,
        "Announce" => announce::receive(state, signer, parse(kind, activity)?).await,
        other => {
            tracing::info!(kind = %other, actor = %signer, "activity type not handled; accepted and dropped");
            Ok(())
        }
    }
}
