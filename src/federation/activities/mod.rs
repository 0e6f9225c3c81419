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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ALICE: &str = "https://a.example/users/alice";

    #[test]
    fn activities_about_one_object_share_a_key() {
        let note = "https://a.example/notes/1";
        let create =
            json!({"id": "https://a.example/c1", "type": "Create", "object": {"id": note}});
        let update =
            json!({"id": "https://a.example/u1", "type": "Update", "object": {"id": note}});
        let delete = json!({"id": "https://a.example/d1", "type": "Delete", "object": note});
        for (kind, activity) in [("Create", create), ("Update", update), ("Delete", delete)] {
            assert_eq!(object_key(kind, &activity, ALICE), note, "{kind}");
        }
        // A Like is keyed by its own id, which its Undo names (embedded or by id).
        let like_id = "https://a.example/likes/1";
        let like =
            json!({"id": like_id, "type": "Like", "object": "https://blog.example/articles/x"});
        assert_eq!(object_key("Like", &like, ALICE), like_id);
        let undo = json!({"id": "https://a.example/undo/1", "type": "Undo", "object": like});
        assert_eq!(object_key("Undo", &undo, ALICE), like_id);
        let undo_by_id =
            json!({"id": "https://a.example/undo/2", "type": "Undo", "object": like_id});
        assert_eq!(object_key("Undo", &undo_by_id, ALICE), like_id);
        // A profile's Update and the actor's Delete are about the actor; nothing named: the signer.
        let profile = json!({"type": "Update", "object": {"id": ALICE, "type": "Person"}});
        assert_eq!(object_key("Update", &profile, ALICE), ALICE);
        assert_eq!(object_key("Move", &json!({"type": "Move"}), ALICE), ALICE);
    }

    #[test]
    fn checks_that_need_only_the_activity_answer_at_once() {
        let status = |kind: &str, activity: Value| match check(kind, &activity, ALICE) {
            Ok(()) => 202,
            Err(AppError::BadRequest(_)) => 400,
            Err(AppError::Unauthorized(_)) => 401,
            Err(AppError::Forbidden(_)) => 403,
            Err(AppError::PayloadTooLarge) => 413,
            Err(other) => panic!("{other:?}"),
        };
        let note = |id: &str, author: &str, content: String| {
            json!({"id": id, "type": "Note", "attributedTo": author, "content": content,
                "inReplyTo": "https://blog.example/articles/x"})
        };
        let mine = note("https://a.example/notes/1", ALICE, "Hi".into());
        assert_eq!(status("Create", json!({"object": mine})), 202);
        assert_eq!(status("Update", json!({"object": mine})), 202);
        let forwarded = note(
            "https://b.example/notes/1",
            "https://b.example/users/bob",
            "Hi".into(),
        );
        assert_eq!(
            status("Create", json!({"object": forwarded})),
            202,
            "checked at its origin later"
        );
        assert_eq!(
            status("Update", json!({"object": forwarded})),
            403,
            "only its author edits it"
        );
        let elsewhere = note("https://b.example/notes/2", ALICE, "Hi".into());
        assert_eq!(status("Create", json!({"object": elsewhere})), 401);
        let long = note(
            "https://a.example/notes/3",
            ALICE,
            "x".repeat(crate::domain::comments::MAX_CONTENT_BYTES + 1),
        );
        assert_eq!(status("Create", json!({"object": long})), 413);
        assert_eq!(status("Create", json!({"object": {"type": "Note"}})), 400);
        let bob = json!({"id": "https://b.example/users/bob", "type": "Person"});
        assert_eq!(status("Update", json!({"object": bob})), 403);
        let squat = json!({"id": "https://b.example/likes/1", "actor": ALICE, "object": "https://blog.example/a"});
        assert_eq!(status("Like", squat.clone()), 400);
        assert_eq!(status("Announce", squat), 400);
        assert_eq!(status("Follow", json!({"actor": ALICE})), 400);
        assert_eq!(
            status("Question", json!({})),
            202,
            "types not handled are taken and dropped"
        );
    }
}
