//! Objects: a post as an `Article`, with its `Hashtag`s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hashtag {
    #[serde(rename = "type")]
    pub kind: String,
    /// "#ngos"
    pub name: String,
    /// The tag page.
    pub href: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributed_to: String,
    /// The title.
    pub name: String,
    /// An HTML excerpt without images: all Mastodon shows besides the title and the link.
    pub summary: String,
    /// The full HTML.
    pub content: String,
    pub content_map: BTreeMap<String, String>,
    pub media_type: String,
    /// The HTML permalink.
    pub url: String,
    pub published: String,
    pub updated: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub tag: Vec<Hashtag>,
    /// The replies collection's URL (comments, once they exist).
    pub replies: String,
    /// Embedded so that Mastodon (4.4+) can show counts without fetching.
    pub likes: CollectionRef,
    pub shares: CollectionRef,
}

/// A collection given by id with its size.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub total_items: i64,
}
