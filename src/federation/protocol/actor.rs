//! The blog as an ActivityPub actor (`Person`).

use activitypub_federation::protocol::public_key::PublicKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    /// HTML.
    pub summary: String,
    /// The HTML page of the actor: the blog's home page.
    pub url: String,
    pub inbox: String,
    pub outbox: String,
    pub followers: String,
    pub following: String,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    /// The actor's Ed25519 key (FEP-521a), which RFC 9421 signatures name as `keyid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertion_method: Vec<Multikey>,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub published: String,
    /// The avatar, embedded (a bare URL shows no avatar in Mastodon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
    /// The header image, embedded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// The blog's other (old) accounts: a Move from one of them to this actor is honoured by Mastodon.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_known_as: Vec<String>,
    /// Where the blog has moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
}

/// A public key as FEP-521a publishes it (an Ed25519 key, `publicKeyMultibase` `z6Mk…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Multikey {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub controller: String,
    pub public_key_multibase: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// An old actor this blog took over (the WordPress blog it replaced): served at its old id with its old key, as
/// having moved to the blog, so that its followers' servers accept the `Move` it signs and show where it went.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MovedActor {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub url: String,
    /// The blog's shared inbox: what still arrives for the old actor reaches the blog.
    pub inbox: String,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    pub moved_to: String,
    pub manually_approves_followers: bool,
}
