//! `Move` of the blog to another account: sent by the blog actor (`actor` and `object` both the moving account, as
//! Mastodon expects) to every follower, and to each new follower after the move; their servers then follow `target`
//! when its `alsoKnownAs` lists the blog.

use serde_json::json;

use crate::app::AppState;

/// The Move of the account `origin` to `target`: its id and JSON body.
pub fn build(state: &AppState, origin: &str, target: &str) -> (String, String) {
    let id = super::new_id(state);
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Move",
        "actor": origin,
        "object": origin,
        "target": target,
    });
    (id, body.to_string())
}
