//! Comments from other servers: sanitising their HTML with a strict allow-list, reading their visibility from
//! `to`/`cc`, rendering attachments as links, and ordering a post's comments into threads for the page.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::content::escape_html;

/// The largest `content` (HTML) accepted from another server, in bytes.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;
/// Replies nested deeper than this are shown at this depth, under their branch.
pub const MAX_DEPTH: usize = 4;
/// The most parents followed up from a comment to find its thread's first comment (a comment permalink); threads
/// are rarely more than a few dozen deep.
pub const MAX_CHAIN: usize = 1000;

/// The ActivityStreams "everyone" address, in the forms servers use.
const PUBLIC: [&str; 3] = [
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "Public",
];

/// Who a reply is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// `to` has Public.
    Public,
    /// `cc` has Public (not on public timelines, but anyone may see it).
    Unlisted,
    /// Addressed to the author's followers, not to everyone.
    Followers,
    /// Addressed to named accounts only.
    Direct,
}

impl Visibility {
    /// Reads it from `to` and `cc`; `followers` is the author's followers collection, when known.
    pub fn of(to: &[String], cc: &[String], followers: Option<&str>) -> Self {
        let public = |list: &[String]| list.iter().any(|a| PUBLIC.contains(&a.as_str()));
        if public(to) {
            Self::Public
        } else if public(cc) {
            Self::Unlisted
        } else if followers.is_some_and(|f| to.iter().chain(cc).any(|a| a == f))
            || to.iter().chain(cc).any(|a| a.ends_with("/followers"))
        {
            Self::Followers
        } else {
            Self::Direct
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Followers => "followers",
            Self::Direct => "direct",
        }
    }

    /// Whether a page may ever show it.
    pub fn is_showable(self) -> bool {
        matches!(self, Self::Public | Self::Unlisted)
    }
}

/// Sanitises a remote reply's HTML: paragraphs, line breaks, links (http and https only, opened with
/// `rel="nofollow ugc noopener"`), spans, emphasis, code, quotes and lists; Mastodon's mention, hashtag and
/// `invisible`/`ellipsis` classes are kept. Everything else is removed (script and style with their content; other
/// elements keep their text).
pub fn sanitize(html: &str) -> String {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "a",
        "span",
        "em",
        "i",
        "strong",
        "b",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
    ]
    .into_iter()
    .collect();
    let mut classes: HashMap<&str, HashSet<&str>> = HashMap::new();
    classes.insert(
        "a",
        ["mention", "hashtag", "u-url", "status-link"]
            .into_iter()
            .collect(),
    );
    classes.insert(
        "span",
        ["h-card", "invisible", "ellipsis"].into_iter().collect(),
    );
    let mut attributes: HashMap<&str, HashSet<&str>> = HashMap::new();
    attributes.insert("a", ["href"].into_iter().collect());
    ammonia::Builder::default()
        .tags(tags)
        .tag_attributes(attributes)
        .allowed_classes(classes)
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https"].into_iter().collect())
        .link_rel(Some("nofollow ugc noopener"))
        .url_relative(ammonia::UrlRelative::Deny)
        .clean(html)
        .to_string()
}

/// A plain-text field (a content warning, a name) for display: control characters removed, at most `max`
/// characters. It is escaped where it is shown.
pub fn plain(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Attachments (images, video, audio, links) as a list of links with their alt text, for the page.
pub fn attachments_html(attachments: &[Value]) -> String {
    let mut items = Vec::new();
    for a in attachments.iter().take(8) {
        let url = match &a["url"] {
            Value::String(u) => Some(u.as_str()),
            Value::Array(list) => list
                .iter()
                .find_map(|l| l["href"].as_str().or_else(|| l.as_str())),
            Value::Object(_) => a["url"]["href"].as_str(),
            _ => None,
        };
        let Some(url) = url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        else {
            continue;
        };
        let kind = a["mediaType"]
            .as_str()
            .and_then(|m| m.split('/').next())
            .unwrap_or("file");
        let alt = a["name"]
            .as_str()
            .map(|n| plain(n, 1500))
            .unwrap_or_default();
        let label = if alt.is_empty() {
            format!("Attached {kind}")
        } else {
            format!("Attached {kind}: {alt}")
        };
        items.push(format!(
            "<li><a href=\"{}\" rel=\"nofollow ugc noopener\">{}</a></li>",
            escape_html(url),
            escape_html(&label)
        ));
    }
    if items.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"comment-attachments\">{}</ul>", items.concat())
    }
}

/// Orders comments into threads: each comment after its parent (replies oldest first), with its depth (0 for
/// a reply to the post, at most [`MAX_DEPTH`]). A comment whose parent is not in the list (deleted, held) is shown
/// as a reply to the post. `items` are `(id, parent id)` in the order to keep among siblings; returns indexes into
/// `items` with depths.
pub fn thread(items: &[(&str, Option<&str>)]) -> Vec<(usize, usize)> {
    let known: HashSet<&str> = items.iter().map(|(id, _)| *id).collect();
    let mut children: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for (i, (_, parent)) in items.iter().enumerate() {
        let parent = parent.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(i);
    }
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    // Depth-first, with an explicit stack (a thread may be deep).
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    while let Some((i, depth)) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        out.push((i, depth.min(MAX_DEPTH)));
        if let Some(kids) = children.get(&Some(items[i].0)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_from_addressing() {
        let public = "https://www.w3.org/ns/activitystreams#Public".to_string();
        let followers = "https://m.example/users/a/followers".to_string();
        let blog = "https://blog.example/users/blog".to_string();
        assert_eq!(
            Visibility::of(
                std::slice::from_ref(&public),
                std::slice::from_ref(&followers),
                None
            ),
            Visibility::Public
        );
        assert_eq!(
            Visibility::of(std::slice::from_ref(&followers), &[public], None),
            Visibility::Unlisted
        );
        assert_eq!(
            Visibility::of(&[followers], std::slice::from_ref(&blog), None),
            Visibility::Followers
        );
        assert_eq!(Visibility::of(&[blog], &[], None), Visibility::Direct);
        assert_eq!(
            Visibility::of(&["as:Public".into()], &[], None),
            Visibility::Public
        );
    }

    #[test]
    fn sanitising_keeps_mastodon_markup_and_drops_the_rest() {
        let mastodon = r#"<p><span class="h-card"><a href="https://blog.example/users/blog" class="u-url mention">@<span>blog</span></a></span> Thanks! <a href="https://m.example/tags/ngos" class="mention hashtag" rel="tag">#<span>NGOs</span></a></p>"#;
        let clean = sanitize(mastodon);
        assert!(clean.contains(r#"class="u-url mention""#), "{clean}");
        assert!(clean.contains(r#"rel="nofollow ugc noopener""#), "{clean}");
        assert!(clean.contains("#<span>NGOs</span>"), "{clean}");
        let nasty = r#"<p onclick="x()">Hi<script>alert(1)</script><style>p{}</style><img src=x onerror=alert(1)><a href="javascript:alert(1)">j</a><iframe src="https://evil.example"></iframe><a href="/relative">r</a></p>"#;
        let clean = sanitize(nasty);
        for bad in [
            "onclick",
            "script",
            "alert",
            "style",
            "img",
            "javascript",
            "iframe",
            "/relative",
        ] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
        assert!(clean.contains("Hi"));
    }

    #[test]
    fn attachments_become_links_with_alt_text() {
        let html = attachments_html(&[
            serde_json::json!({"type": "Document", "mediaType": "image/png", "url": "https://m.example/a.png", "name": "A <b>cat</b>"}),
            serde_json::json!({"type": "Document", "url": "javascript:alert(1)"}),
        ]);
        assert_eq!(
            html,
            "<ul class=\"comment-attachments\"><li><a href=\"https://m.example/a.png\" rel=\"nofollow ugc noopener\">Attached image: A &lt;b&gt;cat&lt;/b&gt;</a></li></ul>"
        );
    }

    #[test]
    fn threads_nest_and_flatten_deep_replies() {
        let items = [
            ("a", None),
            ("b", None),
            ("a1", Some("a")),
            ("a1x", Some("a1")),
            ("orphan", Some("gone")),
            ("d1", Some("a1x")),
            ("d2", Some("d1")),
            ("d3", Some("d2")),
        ];
        let order: Vec<(&str, usize)> = thread(&items)
            .into_iter()
            .map(|(i, d)| (items[i].0, d))
            .collect();
        assert_eq!(
            order,
            [
                ("a", 0),
                ("a1", 1),
                ("a1x", 2),
                ("d1", 3),
                ("d2", 4),
                ("d3", 4),
                ("b", 0),
                ("orphan", 0)
            ]
        );
    }
}
