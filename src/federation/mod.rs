//! Federation: Steppe as an ActivityPub actor.
//!
//! - `signatures`: HTTP signatures (draft-cavage now, RFC 9421 next) computed with aws-lc-rs.
//! - `keys`: the blog actor's key pair, generated once and stored.
//! - `urls`: every federation id, derived from `site.public_url` and posts' permanent ids.
//! - `protocol`: wire types only (Person, Article, collections, NodeInfo).
//! - `objects`: stored posts → Articles and their Create activities.
//! - `discovery`: WebFinger, host-meta, NodeInfo.
//! - `documents`: the actor, its collections and Articles, with content negotiation (`http`).

pub mod discovery;
pub mod documents;
pub mod http;
pub mod keys;
pub mod objects;
pub mod protocol;
pub mod signatures;
pub mod urls;

use axum::{Router, routing::get};

use crate::app::AppState;

/// The federation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/webfinger", get(discovery::webfinger))
        .route("/.well-known/host-meta", get(discovery::host_meta))
        .route("/.well-known/nodeinfo", get(discovery::nodeinfo_links))
        .route("/nodeinfo/2.1", get(discovery::nodeinfo))
        .route("/users/{username}", get(documents::actor))
        .route("/users/{username}/outbox", get(documents::outbox))
        .route("/users/{username}/followers", get(documents::followers))
        .route("/users/{username}/following", get(documents::following))
        .route("/articles/{id}", get(documents::article))
}
