//! `Update{Article}`: a published post edited. Its `updated` is strictly newer than before (see `posts::update_in`).

use serde_json::json;

use crate::{
    app::AppState,
    db::posts::Post,
    federation::{objects, protocol::context},
};

/// The Update of `post` (as it is now): its id and JSON body.
pub fn build(state: &AppState, post: &Post) -> (String, String) {
    let article = objects::article(post, &state.urls, &state.config.site.language, false);
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
