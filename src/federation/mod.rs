//! Federation: Steppe as an ActivityPub actor.
//!
//! - `signatures`: HTTP signatures (draft-cavage and RFC 9421; RSA and Ed25519 keys) computed with aws-lc-rs.
//! - `signing`: which way of signing each other server accepts, learned and stored.
//! - `keys`: the blog actor's key pairs (RSA, Ed25519), generated once and stored.
//! - `urls`: every federation id, derived from `site.public_url` and posts' permanent ids.
//! - `protocol`: wire types only (Person, Article, collections, NodeInfo).
//! - `objects`: stored posts → Articles and their Create activities.
//! - `discovery`: WebFinger, host-meta, NodeInfo.
//! - `documents`: the actor, its collections and Articles, with content negotiation (`http`).
//! - `inbox`: signed POSTs from other servers, verified (`verify`), checked and stored in the durable inbox queue
//!   (`intake`), whose worker applies them with `activities` (one file each).
//! - `actors`: remote actors and their keys (fetched through `client`, the one guarded, signing HTTP client).
//! - `publish`: saving and deleting posts with the Create, Update and Delete their followers must receive.
//! - `delivery`: the worker that sends queued deliveries.
//! - `moving`: the blog's other accounts (`alsoKnownAs`) and its `Move` to a new one.

pub mod activities;
pub mod actors;
pub mod answers;
pub mod client;
pub mod comments;
pub mod delivery;
pub mod discovery;
pub mod documents;
pub mod http;
pub mod inbox;
pub mod intake;
pub mod keys;
pub mod moving;
pub mod objects;
pub mod protocol;
pub mod publish;
pub mod schedule;
pub mod signatures;
pub mod signing;
pub mod urls;
pub mod verify;

use axum::{
    Router,
    routing::{get, post},
};

use crate::app::AppState;

/// The federation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/webfinger", get(discovery::webfinger))
        .route("/.well-known/host-meta", get(discovery::host_meta))
        .route("/.well-known/nodeinfo", get(discovery::nodeinfo_links))
        .route("/nodeinfo/2.1", get(discovery::nodeinfo))
        .route("/users/{username}", get(documents::actor))
        .route("/users/{username}/inbox", post(inbox::personal))
        .route("/inbox", post(inbox::shared))
        .route("/users/{username}/outbox", get(documents::outbox))
        .route("/users/{username}/followers", get(documents::followers))
        .route("/users/{username}/following", get(documents::following))
        .route("/articles/{id}", get(documents::article))
        .route("/notes/{id}", get(documents::note))
        .route(
            "/articles/{id}/{collection}",
            get(documents::article_collection),
        )
}
