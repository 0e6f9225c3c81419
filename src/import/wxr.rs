//! The WordPress export (WXR) reader: a streaming pull parser (quick-xml) that yields the channel's facts and one
//! item (post, page, attachment, …) at a time with its comments and meta, in bounded memory. No DTD is accepted
//! (so no entity can expand), every field and every item is capped, and anything that is not WXR is refused with a
//! reason. Nothing here touches the database, so the fuzz target drives it directly.

use std::io::BufRead;

use quick_xml::{Reader, XmlVersion, events::Event};

/// The longest text kept for one field (a post's HTML, a comment's text…); longer fields skip their item.
pub const MAX_FIELD_BYTES: usize = 16 * 1024 * 1024;
/// The most bytes one item may hold in memory with its comments; a larger item is skipped with a reason.
pub const MAX_ITEM_BYTES: usize = 64 * 1024 * 1024;
/// Element nesting deeper than this is not WXR.
const MAX_DEPTH: usize = 32;
/// The WXR versions WordPress has written (1.0 in 2.x, 1.1 in 3.0, 1.2 since 3.1).
const VERSIONS: &[&str] = &["1.0", "1.1", "1.2"];

/// Why an export cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum WxrError {
    #[error("not XML: {0}")]
    Xml(String),
    #[error("the file ends before the export does (truncated?)")]
    Truncated,
    #[error(
        "the file declares a DTD; WordPress exports never do, and DTDs are refused (entity expansion)"
    )]
    Dtd,
    #[error("not a WordPress export: {0}")]
    NotWxr(String),
    #[error("unknown WXR version {0:?} (known: 1.0, 1.1, 1.2)")]
    Version(String),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// What the channel says about the exported site (read before the first item).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channel {
    pub title: String,
    pub link: String,
    pub description: String,
    pub language: String,
    pub wxr_version: String,
    pub base_site_url: String,
    pub base_blog_url: String,
}

impl Channel {
    /// The blog's address as the export names it (without a trailing slash): the key of everything imported.
    pub fn site(&self) -> String {
        let site = [&self.base_blog_url, &self.link, &self.base_site_url]
            .into_iter()
            .find(|s| !s.trim().is_empty())
            .map_or("", |s| s.trim());
        site.trim_end_matches('/').to_string()
    }
}

/// A category or tag on an item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Term {
    /// `category`, `post_tag`, or another taxonomy.
    pub domain: String,
    pub nicename: String,
    pub name: String,
}

/// A comment (or pingback, trackback) with its meta.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub author: String,
    pub author_email: String,
    pub author_url: String,
    pub date: String,
    pub date_gmt: String,
    pub content: String,
    /// `1`, `0`, `spam`, `trash`.
    pub approved: String,
    /// empty or `comment`, `pingback`, `trackback`, …
    pub kind: String,
    pub parent: i64,
    pub meta: Vec<(String, String)>,
}

impl Comment {
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One `<item>`: a post, page, attachment or any other post type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    pub title: String,
    pub link: String,
    pub guid: String,
    pub creator: String,
    pub content: String,
    pub excerpt: String,
    pub id: i64,
    pub date: String,
    pub date_gmt: String,
    pub modified: String,
    pub modified_gmt: String,
    pub comment_status: String,
    pub name: String,
    pub status: String,
    pub parent: i64,
    pub menu_order: i64,
    pub post_type: String,
    pub password: String,
    pub sticky: bool,
    pub attachment_url: String,
    pub terms: Vec<Term>,
    pub meta: Vec<(String, String)>,
    pub comments: Vec<Comment>,
    /// Why the item cannot be imported although the file goes on (a field over [`MAX_FIELD_BYTES`], …).
    pub unreadable: Option<String>,
}

impl Item {
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Where the reader is inside an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Within {
    Channel,
    Item,
    PostMeta,
    Comment,
    CommentMeta,
}

/// Reads a WXR file one item at a time.
pub struct WxrReader<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    channel: Channel,
    /// Open element names, outermost first.
    stack: Vec<String>,
    started: bool,
    done: bool,
}

impl<R: BufRead> WxrReader<R> {
    pub fn new(input: R) -> Self {
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Self {
            reader,
            buf: Vec::with_capacity(64 * 1024),
            channel: Channel::default(),
            stack: Vec::new(),
            started: false,
            done: false,
        }
    }

    /// The channel's facts read so far (all of them once the first item was returned).
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// How far into the file the reader is, in bytes (for progress).
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The next item, `None` at the end of the export.
    pub fn next_item(&mut self) -> Result<Option<Item>, WxrError> {
        if self.done {
            return Ok(None);
        }
        // Text of the innermost open leaf element, and the item/comment being built.
        let mut text = String::new();
        let mut text_over = false;
        let mut item: Option<Item> = None;
        let mut item_bytes = 0usize;
        let mut comment: Option<Comment> = None;
        let mut meta: (String, String) = Default::default();
        let mut term: Option<Term> = None;
        let mut within = Within::Channel;
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                // Every syntax error but one is a construct the file ends inside of.
                Err(quick_xml::Error::Syntax(e))
                    if e != quick_xml::errors::SyntaxError::InvalidBangMarkup =>
                {
                    return Err(WxrError::Truncated);
                }
                Err(e) => return Err(xml_error(&self.reader, e)),
            };
            match event {
                Event::DocType(_) => return Err(WxrError::Dtd),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Start(start) => {
                    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                    if !self.started {
                        if name != "rss" {
                            return Err(WxrError::NotWxr(format!(
                                "the document is <{name}>, not an RSS feed"
                            )));
                        }
                        self.started = true;
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(WxrError::NotWxr("elements nest too deeply".into()));
                    }
                    text.clear();
                    text_over = false;
                    match (within, name.as_str()) {
                        (Within::Channel, "item") if self.stack.len() == 2 => {
                            self.check_channel()?;
                            within = Within::Item;
                            item = Some(Item::default());
                            item_bytes = 0;
                        }
                        (Within::Item, "wp:postmeta") => {
                            within = Within::PostMeta;
                            meta = Default::default();
                        }
                        (Within::Item, "wp:comment") => {
                            within = Within::Comment;
                            comment = Some(Comment::default());
                        }
                        (Within::Comment, "wp:commentmeta") => {
                            within = Within::CommentMeta;
                            meta = Default::default();
                        }
                        (Within::Item, "category") => {
                            let mut t = Term::default();
                            let decoder = self.reader.decoder();
                            for a in start.attributes().flatten() {
                                let value = a
                                    .decoded_and_normalized_value(XmlVersion::Implicit1_0, decoder)
                                    .map(|v| v.into_owned())
                                    .unwrap_or_default();
                                match a.key.as_ref() {
                                    b"domain" => t.domain = value,
                                    b"nicename" => t.nicename = value,
                                    _ => {}
                                }
                            }
                            term = Some(t);
                        }
                        _ => {}
                    }
                    self.stack.push(name);
                }
                // `<wp:post_parent/>` and friends: an empty field, nothing to keep.
                Event::Empty(_) => {
                    if !self.started {
                        return Err(WxrError::NotWxr("the document is empty".into()));
                    }
                }
                Event::Text(t) => {
                    let s = t.xml10_content().map_err(|e| xml_error(&self.reader, e))?;
                    push_capped(&mut text, &s, &mut text_over);
                }
                Event::CData(t) => {
                    let s = t.xml10_content().map_err(|e| xml_error(&self.reader, e))?;
                    push_capped(&mut text, &s, &mut text_over);
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = r.decode().map_err(|e| xml_error(&self.reader, e))?;
                            match name.as_ref() {
                                "lt" => "<".into(),
                                "gt" => ">".into(),
                                "amp" => "&".into(),
                                "apos" => "'".into(),
                                "quot" => "\"".into(),
                                // Not defined without a DTD; kept as written (HTML fields read it as HTML).
                                other => format!("&{other};"),
                            }
                        }
                        Err(e) => return Err(xml_error(&self.reader, e)),
                    };
                    push_capped(&mut text, &resolved, &mut text_over);
                }
                Event::End(end) => {
                    let name = String::from_utf8_lossy(end.name().as_ref()).into_owned();
                    self.stack.pop();
                    let value = std::mem::take(&mut text);
                    if text_over {
                        if let Some(item) = item.as_mut() {
                            item.unreadable.get_or_insert_with(|| {
                                format!("its <{name}> is larger than {} MiB", MAX_FIELD_BYTES >> 20)
                            });
                        }
                        text_over = false;
                    }
                    item_bytes = item_bytes.saturating_add(value.len());
                    if item_bytes > MAX_ITEM_BYTES
                        && let Some(item) = item.as_mut()
                    {
                        item.unreadable.get_or_insert_with(|| {
                            format!(
                                "it holds more than {} MiB with its comments",
                                MAX_ITEM_BYTES >> 20
                            )
                        });
                        item.content.clear();
                        item.comments.clear();
                    }
                    let over = item.as_ref().is_some_and(|i| i.unreadable.is_some());
                    match within {
                        Within::Channel => {
                            if self.stack.len() == 2 {
                                self.channel_field(&name, value);
                            }
                            if name == "rss" {
                                self.done = true;
                                self.check_channel()?;
                                return Ok(None);
                            }
                        }
                        Within::Item => {
                            if name == "item" {
                                return Ok(item.take());
                            }
                            if let Some(item) = item.as_mut() {
                                if name == "category" {
                                    if let Some(mut t) = term.take() {
                                        t.name = value;
                                        if !over {
                                            item.terms.push(t);
                                        }
                                    }
                                } else if !over {
                                    item_field(item, &name, value);
                                }
                            }
                        }
                        Within::PostMeta => match name.as_str() {
                            "wp:meta_key" => meta.0 = value,
                            "wp:meta_value" => meta.1 = value,
                            "wp:postmeta" => {
                                if let Some(item) = item.as_mut()
                                    && !over
                                {
                                    item.meta.push(std::mem::take(&mut meta));
                                }
                                within = Within::Item;
                            }
                            _ => {}
                        },
                        Within::Comment => {
                            if name == "wp:comment" {
                                if let (Some(item), Some(c)) = (item.as_mut(), comment.take())
                                    && !over
                                {
                                    item.comments.push(c);
                                }
                                within = Within::Item;
                            } else if let Some(c) = comment.as_mut() {
                                comment_field(c, &name, value);
                            }
                        }
                        Within::CommentMeta => match name.as_str() {
                            "wp:meta_key" => meta.0 = value,
                            "wp:meta_value" => meta.1 = value,
                            "wp:commentmeta" => {
                                if let Some(c) = comment.as_mut() {
                                    c.meta.push(std::mem::take(&mut meta));
                                }
                                within = Within::Comment;
                            }
                            _ => {}
                        },
                    }
                }
                Event::Eof => {
                    if !self.started {
                        return Err(WxrError::NotWxr("the file is empty".into()));
                    }
                    return Err(WxrError::Truncated);
                }
            }
        }
    }

    fn channel_field(&mut self, name: &str, value: String) {
        let c = &mut self.channel;
        match name {
            "title" => c.title = value,
            "link" => c.link = value.trim().to_string(),
            "description" => c.description = value,
            "language" => c.language = value.trim().to_string(),
            "wp:wxr_version" => c.wxr_version = value.trim().to_string(),
            "wp:base_site_url" => c.base_site_url = value.trim().to_string(),
            "wp:base_blog_url" => c.base_blog_url = value.trim().to_string(),
            _ => {}
        }
    }

    /// An RSS feed without `wp:wxr_version` is not an export; an unknown version is refused.
    fn check_channel(&self) -> Result<(), WxrError> {
        let version = &self.channel.wxr_version;
        if version.is_empty() {
            return Err(WxrError::NotWxr(
                "an RSS feed without wp:wxr_version (export the blog from WordPress's Tools → Export)".into(),
            ));
        }
        if !VERSIONS.contains(&version.as_str()) {
            return Err(WxrError::Version(version.chars().take(20).collect()));
        }
        Ok(())
    }
}

fn xml_error<R>(reader: &Reader<R>, e: impl std::fmt::Display) -> WxrError {
    WxrError::Xml(format!("{e} (near byte {})", reader.error_position()))
}

fn push_capped(text: &mut String, s: &str, over: &mut bool) {
    if text.len().saturating_add(s.len()) > MAX_FIELD_BYTES {
        *over = true;
        return;
    }
    text.push_str(s);
}

fn number(value: &str) -> i64 {
    value.trim().parse().unwrap_or(0)
}

fn item_field(item: &mut Item, name: &str, value: String) {
    match name {
        "title" => item.title = value,
        "link" => item.link = value.trim().to_string(),
        "guid" => item.guid = value.trim().to_string(),
        "dc:creator" => item.creator = value,
        "content:encoded" => item.content = value,
        "excerpt:encoded" => item.excerpt = value,
        "wp:post_id" => item.id = number(&value),
        "wp:post_date" => item.date = value.trim().to_string(),
        "wp:post_date_gmt" => item.date_gmt = value.trim().to_string(),
        "wp:post_modified" => item.modified = value.trim().to_string(),
        "wp:post_modified_gmt" => item.modified_gmt = value.trim().to_string(),
        "wp:comment_status" => item.comment_status = value.trim().to_string(),
        "wp:post_name" => item.name = value.trim().to_string(),
        "wp:status" => item.status = value.trim().to_string(),
        "wp:post_parent" => item.parent = number(&value),
        "wp:menu_order" => item.menu_order = number(&value),
        "wp:post_type" => item.post_type = value.trim().to_string(),
        "wp:post_password" => item.password = value,
        "wp:is_sticky" => item.sticky = value.trim() == "1",
        "wp:attachment_url" => item.attachment_url = value.trim().to_string(),
        _ => {}
    }
}

fn comment_field(c: &mut Comment, name: &str, value: String) {
    match name {
        "wp:comment_id" => c.id = number(&value),
        "wp:comment_author" => c.author = value,
        "wp:comment_author_email" => c.author_email = value.trim().to_string(),
        "wp:comment_author_url" => c.author_url = value.trim().to_string(),
        "wp:comment_date" => c.date = value.trim().to_string(),
        "wp:comment_date_gmt" => c.date_gmt = value.trim().to_string(),
        "wp:comment_content" => c.content = value,
        "wp:comment_approved" => c.approved = value.trim().to_string(),
        "wp:comment_type" => c.kind = value.trim().to_string(),
        "wp:comment_parent" => c.parent = number(&value),
        _ => {}
    }
}

/// Reads a whole export for the fuzz target and the tests: every item, or the first error.
pub fn read_all(bytes: &[u8]) -> Result<(Channel, Vec<Item>), WxrError> {
    let mut reader: WxrReader<&[u8]> = WxrReader::new(bytes);
    let mut items = Vec::new();
    while let Some(item) = reader.next_item()? {
        items.push(item);
    }
    Ok((reader.channel().clone(), items))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0"?><rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><wp:wxr_version>1.2</wp:wxr_version><wp:base_blog_url>https://old.example/</wp:base_blog_url>"#;

    #[test]
    fn reads_split_cdata_entities_and_comments() {
        let xml = format!(
            "{HEAD}<item><title>A &amp; B &#8217;</title><content:encoded><![CDATA[x ]]]]><![CDATA[> y &nbsp;]]></content:encoded>\
             <wp:post_id>7</wp:post_id><wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key><wp:meta_value>9</wp:meta_value></wp:postmeta>\
             <wp:comment><wp:comment_id>3</wp:comment_id><wp:comment_parent>0</wp:comment_parent><wp:commentmeta><wp:meta_key>protocol</wp:meta_key><wp:meta_value>activitypub</wp:meta_value></wp:commentmeta></wp:comment>\
             <category domain=\"post_tag\" nicename=\"ngos\"><![CDATA[NGOs]]></category></item></channel></rss>"
        );
        let (channel, items) = read_all(xml.as_bytes()).unwrap();
        assert_eq!(channel.site(), "https://old.example");
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item.title, "A & B \u{2019}");
        assert_eq!(item.content, "x ]]> y &nbsp;");
        assert_eq!(item.id, 7);
        assert_eq!(item.meta("_thumbnail_id"), Some("9"));
        assert_eq!(item.comments[0].meta("protocol"), Some("activitypub"));
        assert_eq!(item.terms[0].name, "NGOs");
        assert_eq!(item.terms[0].nicename, "ngos");
    }

    #[test]
    fn refuses_what_is_not_an_export() {
        assert!(matches!(
            read_all(b"not xml at all"),
            Err(WxrError::NotWxr(_) | WxrError::Xml(_))
        ));
        assert!(matches!(read_all(b""), Err(WxrError::NotWxr(_))));
        let rss = b"<rss><channel><title>t</title><item><title>x</title></item></channel></rss>";
        assert!(matches!(read_all(rss), Err(WxrError::NotWxr(_))));
        let v9 = b"<rss><channel><wp:wxr_version>9.9</wp:wxr_version><item></item></channel></rss>";
        assert!(matches!(read_all(v9), Err(WxrError::Version(_))));
        let truncated = format!("{HEAD}<item><title>x</title>");
        assert!(matches!(
            read_all(truncated.as_bytes()),
            Err(WxrError::Truncated)
        ));
        let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><rss>&lol2;</rss>";
        assert!(matches!(read_all(bomb), Err(WxrError::Dtd)));
        let mismatched = format!("{HEAD}<item><title>x</wrong></item></channel></rss>");
        assert!(matches!(
            read_all(mismatched.as_bytes()),
            Err(WxrError::Xml(_))
        ));
    }
}
