//! Conversions from stored posts to ActivityStreams objects (`Post` → `Article`, and the `Create` that published it).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{
    protocol::{
        PUBLIC,
        object::{Article, CollectionRef, Hashtag, ImageObject},
    },
    urls::Urls,
};
use crate::{
    db::posts::Post,
    domain::{dates::iso, media::Image},
};

/// An image as ActivityStreams describes it, at its widest variant in the main format (1600 pixels at most).
pub fn image_object(image: &Image, urls: &Urls) -> Option<ImageObject> {
    let v = image.main()?;
    Some(ImageObject {
        kind: "Image".into(),
        media_type: v.format.media_type().into(),
        url: image.url(urls.base(), v),
        name: image.alt.clone().unwrap_or_default(),
        width: v.width,
        height: v.height,
        blurhash: image.blurhash.clone(),
    })
}

/// `#ngos` for "NGOs", `#humantrafficking` for "human trafficking": Mastodon's hashtags are letters, digits and `_`.
pub fn hashtag_name(tag_name: &str) -> String {
    let body: String = tag_name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .flat_map(char::to_lowercase)
        .collect();
    format!("#{body}")
}

/// A published post as an Article. `with_context` for a document of its own (not embedded in an activity).
pub fn article(post: &Post, urls: &Urls, language: &str, with_context: bool) -> Article {
    let published = iso(post.published_at.unwrap_or(post.created_at));
    // `updated` is never earlier than `published` (an edit of a draft before publishing is not an update).
    let updated = iso(post
        .updated_at
        .max(post.published_at.unwrap_or(post.created_at)));
    let mut content_map = BTreeMap::new();
    content_map.insert(language.to_string(), post.body_html.clone());
    Article {
        context: with_context.then(super::protocol::context),
        id: urls.article(&post.article_id),
        kind: "Article".into(),
        attributed_to: urls.actor(),
        name: post.title.clone(),
        summary: post.excerpt_html.clone(),
        content: post.body_html.clone(),
        content_map,
        media_type: "text/html".into(),
        url: urls.page_url(&post.path()),
        published,
        updated,
        to: vec![PUBLIC.into()],
        cc: vec![urls.followers()],
        tag: post
            .tags
            .iter()
            .map(|t| Hashtag {
                kind: "Hashtag".into(),
                name: hashtag_name(&t.name),
                href: urls.tag(&t.slug),
            })
            .filter(|h| h.name.len() > 1)
            .collect(),
        image: post.featured.as_ref().and_then(|i| image_object(i, urls)),
        attachment: post
            .featured
            .iter()
            .chain(
                post.images
                    .iter()
                    .filter(|i| Some(&i.id) != post.featured.as_ref().map(|f| &f.id)),
            )
            .filter_map(|i| image_object(i, urls))
            .collect(),
        replies: urls.article_collection(&post.article_id, "replies"),
        likes: CollectionRef {
            id: urls.article_collection(&post.article_id, "likes"),
            kind: "Collection".into(),
            total_items: post.like_count,
        },
        shares: CollectionRef {
            id: urls.article_collection(&post.article_id, "shares"),
            kind: "Collection".into(),
            total_items: post.share_count,
        },
    }
}

/// The Create activity that published a post, with the Article embedded: as the outbox lists it, or (with
/// `with_context`) as it is sent.
pub fn create_activity(post: &Post, urls: &Urls, language: &str, with_context: bool) -> Value {
    let article = article(post, urls, language, false);
    let mut activity = json!({
        "id": urls.article_create(&post.article_id),
        "type": "Create",
        "actor": urls.actor(),
        "published": article.published,
        "to": article.to,
        "cc": article.cc,
        "object": article,
    });
    if with_context {
        activity["@context"] = super::protocol::context();
    }
    activity
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_mastodon_shaped() {
        assert_eq!(hashtag_name("NGOs"), "#ngos");
        assert_eq!(hashtag_name("human trafficking"), "#humantrafficking");
        assert_eq!(hashtag_name("Қазақстан"), "#қазақстан");
        assert_eq!(hashtag_name("C++"), "#c");
        assert_eq!(hashtag_name("snake_case"), "#snake_case");
    }
}
