//! `Accept` of a Follow, sent by the blog actor to the follower's inbox.

use serde_json::{Value, json};

use crate::app::AppState;

/// The Accept of `follow` (embedded): its id and its JSON body.
pub fn build(state: &AppState, follow: Value) -> (String, String) {
    let id = super::new_id(state);
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Accept",
        "actor": state.urls.actor(),
        "object": follow,
    });
    (id, body.to_string())
}
