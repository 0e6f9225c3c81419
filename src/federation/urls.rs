//! Every federation id, built from `site.public_url`, the username and posts' permanent ids (never slugs).

use crate::config::Config;

/// Builds ids for one instance's configuration.
#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
    username: String,
    host: String,
}

impl Urls {
    pub fn new(config: &Config) -> Self {
        Self {
            base: config.base_url().to_string(),
            username: config.federation.username.clone(),
            host: config.host(),
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// `@blog@host`, as readers type it.
    pub fn handle(&self) -> String {
        format!("@{}@{}", self.username, self.host)
    }

    /// `acct:blog@host`, the WebFinger subject.
    pub fn acct(&self) -> String {
        format!("acct:{}@{}", self.username, self.host)
    }

    pub fn home(&self) -> String {
        format!("{}/", self.base)
    }

    pub fn actor(&self) -> String {
        format!("{}/users/{}", self.base, self.username)
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor())
    }

    /// The id of the actor's Ed25519 key (a `Multikey` in its `assertionMethod`).
    pub fn ed25519_key_id(&self) -> String {
        format!("{}#ed25519-key", self.actor())
    }

    pub fn inbox(&self) -> String {
        format!("{}/inbox", self.actor())
    }

    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    pub fn outbox(&self) -> String {
        format!("{}/outbox", self.actor())
    }

    pub fn followers(&self) -> String {
        format!("{}/followers", self.actor())
    }

    pub fn following(&self) -> String {
        format!("{}/following", self.actor())
    }

    /// The Article id of a post: its permanent id, so it survives slug changes.
    pub fn article(&self, post_id: &str) -> String {
        format!("{}/articles/{post_id}", self.base)
    }

    /// A post's `replies`, `likes` or `shares` collection.
    /// The Article id in one of our Article URLs (`…/articles/{id}`, nothing after it), if it is one.
    pub fn article_id_in<'a>(&self, url: &'a str) -> Option<&'a str> {
        let rest = url.strip_prefix(self.base())?.strip_prefix("/articles/")?;
        (!rest.is_empty() && !rest.contains(['/', '?', '#'])).then_some(rest)
    }

    pub fn article_collection(&self, article_id: &str, which: &str) -> String {
        format!("{}/{which}", self.article(article_id))
    }

    /// The id of the Create activity that published a post.
    pub fn article_create(&self, post_id: &str) -> String {
        format!("{}#create", self.article(post_id))
    }

    pub fn permalink(&self, slug: &str) -> String {
        format!("{}/posts/{slug}", self.base)
    }

    /// The address readers use for a post or page (see `Post::path`).
    pub fn page_url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn tag(&self, tag_slug: &str) -> String {
        format!("{}/tags/{tag_slug}", self.base)
    }

    pub fn base(&self) -> &str {
        &self.base
    }
}
