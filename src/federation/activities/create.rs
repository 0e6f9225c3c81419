//! `Create{Article}`: a post published (for the first time, or again after being unpublished).

use crate::{app::AppState, db::posts::Post, federation::objects};

/// The Create of `post`: its id and JSON body.
pub fn build(state: &AppState, post: &Post) -> (String, String) {
    let activity = objects::create_activity(post, &state.urls, &state.config.site.language, true);
    (
        state.urls.article_create(&post.article_id),
        activity.to_string(),
    )
}
