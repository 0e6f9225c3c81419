//! Objects: a post as an `Article`, with its `Hashtag`s and its images (`Image` attachments).

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
    /// The featured image (link cards; servers that show an Article's image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageObject>,
    /// The featured image first, then each image the text shows: Mastodon shows the first four with the status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<ImageObject>,
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

/// An image as an attachment or an Article's `image`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub media_type: String,
    /// A served variant, 1600 pixels wide at most.
    pub url: String,
    /// The alt text (empty for a decorative image).
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// `toot:blurhash`: the placeholder Mastodon shows while loading.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub blurhash: String,
}
