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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}
