//! `Reject{Follow}`: the answer to a Follow from a blocked account or domain.

use serde_json::{Value, json};

use crate::app::AppState;

/// The Reject of `follow` (embedded as the follower knows it): its id and JSON body.
pub fn build(state: &AppState, follow: Value) -> (String, String) {
    let id = super::new_id(state);
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Reject",
        "actor": state.urls.actor(),
        "object": follow,
    });
    (id, body.to_string())
}
