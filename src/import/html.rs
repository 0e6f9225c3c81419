//! WordPress post content → the HTML a Steppe post keeps as its source: block-editor comments unwrapped,
//! `<!--more-->` found, common shortcodes turned into HTML (`[caption]`, `[gallery]`, `[embed]`, bare URLs on their
//! own line), classic-editor text given WordPress's paragraph rules (wpautop), then sanitised with the editor's
//! policy. Imported posts keep HTML as their source (Markdown passes HTML blocks through untouched), laid out so that
//! CommonMark reads the whole text as one HTML block: the editor shows it, and saving it unchanged renders the same.

use std::collections::HashMap;

use crate::domain::{
    content::{self, sanitize_post_html},
    media::{self, Image, ImageType},
};

/// An image the content refers to by attachment id (galleries): its address and description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    pub url: String,
    /// Its path under the uploads folder (`_wp_attached_file`), when the export says.
    pub file: String,
    pub alt: String,
    pub caption: String,
    pub parent: i64,
}

/// The converted text of one post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Converted {
    /// The post's source as stored (HTML that CommonMark passes through whole).
    pub source: String,
    /// The text before `<!--more-->`, as plain text, when the post has one.
    pub more_excerpt: Option<String>,
    /// Shortcodes left as text (unknown), by name.
    pub unknown_shortcodes: Vec<String>,
}

/// Looks attachments up by their WordPress id (for `[gallery ids=…]`) or by their parent post.
pub trait Attachments {
    fn by_id(&self, id: i64) -> Option<Attachment>;
    fn of_parent(&self, parent: i64) -> Vec<Attachment>;
}

/// No attachments (the fuzz target converts items without the first pass).
impl Attachments for () {
    fn by_id(&self, _: i64) -> Option<Attachment> {
        None
    }
    fn of_parent(&self, _: i64) -> Vec<Attachment> {
        Vec::new()
    }
}

/// Converts `content:encoded` of post `post_id`.
pub fn convert(raw: &str, post_id: i64, attachments: &dyn Attachments) -> Converted {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let blocks = text.contains("<!-- wp:");
    let text = strip_block_comments(&text);
    let (text, more_excerpt) = split_more(&text);
    let mut unknown = Vec::new();
    let text = shortcodes(&text, post_id, attachments, &mut unknown);
    let html = if blocks { text } else { autop(&text) };
    let clean = sanitize_post_html(&html);
    Converted {
        source: as_source(&clean),
        more_excerpt: more_excerpt
            .map(|m| text_of_html(&autop(&m)))
            .filter(|m| !m.trim().is_empty()),
        unknown_shortcodes: unknown,
    }
}

/// Removes `<!-- wp:… -->` and `<!-- /wp:… -->` comments, keeping what they wrap.
fn strip_block_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        let after = &rest[i + 4..];
        let inner = after.trim_start();
        if inner.starts_with("wp:") || inner.starts_with("/wp:") {
            out.push_str(&rest[..i]);
            match after.find("-->") {
                Some(end) => rest = &after[end + 3..],
                None => {
                    rest = "";
                }
            }
        } else {
            out.push_str(&rest[..i + 4]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Cuts at `<!--more-->` (or `<!--more Read on…-->`): the whole text without the marker, and the part before it.
fn split_more(text: &str) -> (String, Option<String>) {
    let Some(i) = text.find("<!--more") else {
        return (text.to_string(), None);
    };
    let after = &text[i..];
    let end = after.find("-->").map_or(after.len(), |e| e + 3);
    let before = text[..i].to_string();
    let mut whole = before.clone();
    whole.push_str(&after[end..]);
    // `<!--noteaser-->` only matters to themes.
    (whole.replace("<!--noteaser-->", ""), Some(before))
}

/// Shortcodes WordPress itself or its common plugins define; seen unconverted they are still counted as unknown.
fn shortcode_name_at(text: &str) -> Option<(&str, usize)> {
    // `text` starts with '['; the name runs to a space, ']' or '/'.
    let body = &text[1..];
    let end = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?;
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let next = body[end..].chars().next()?;
    if matches!(next, ' ' | ']' | '/') {
        Some((name, end + 1))
    } else {
        None
    }
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Replaces the shortcodes Steppe knows; others stay as text and are named in `unknown`.
fn shortcodes(
    text: &str,
    post_id: i64,
    attachments: &dyn Attachments,
    unknown: &mut Vec<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let here = &rest[i..];
        // `[[gallery]]` is WordPress's escape for a literal shortcode.
        if let Some(stripped) = here.strip_prefix("[[")
            && let Some(end) = stripped.find("]]")
        {
            out.push('[');
            out.push_str(&stripped[..end]);
            out.push(']');
            rest = &stripped[end + 2..];
            continue;
        }
        let Some((name, name_end)) = shortcode_name_at(here) else {
            out.push('[');
            rest = &here[1..];
            continue;
        };
        let Some(open_end) = here.find(']') else {
            out.push('[');
            rest = &here[1..];
            continue;
        };
        let open = &here[name_end..open_end];
        let attrs = content::tag_attributes(open);
        let self_closed = open.trim_end().ends_with('/');
        let closer = format!("[/{name}]");
        let (inner, consumed) = match here[open_end + 1..].find(&closer) {
            Some(c) if !self_closed => (
                Some(&here[open_end + 1..open_end + 1 + c]),
                open_end + 1 + c + closer.len(),
            ),
            _ => (None, open_end + 1),
        };
        let replaced = match name {
            "caption" | "wp_caption" => inner.map(|inner| caption(inner, &attrs)),
            "gallery" => Some(gallery(&attrs, post_id, attachments)),
            "embed" => inner.map(|url| link_paragraph(url.trim())),
            _ => None,
        };
        match replaced {
            Some(html) => {
                out.push_str(&html);
                rest = &here[consumed..];
            }
            None => {
                // Counted only when it looks like a shortcode (attributes, or a closing tag), not "[sic]" or "[1]".
                if (!attrs.is_empty() || inner.is_some() || self_closed)
                    && !unknown.iter().any(|u| u == name)
                {
                    unknown.push(name.to_string());
                }
                out.push('[');
                rest = &here[1..];
            }
        }
    }
    out.push_str(rest);
    bare_urls(&out)
}

/// `[caption]<img …> The caption[/caption]` (or with `caption="…"`) → a figure with its figcaption.
fn caption(inner: &str, attrs: &[(String, String)]) -> String {
    // The image (possibly inside a link) is everything up to the end of the last tag before the caption text.
    let inner = inner.trim();
    let split = inner
        .rfind("</a>")
        .map(|i| i + 4)
        .or_else(|| {
            inner
                .find("<img")
                .and_then(|i| inner[i..].find('>').map(|e| i + e + 1))
        })
        .unwrap_or(0);
    let (image, text) = inner.split_at(split);
    let text = match attr(attrs, "caption") {
        Some(c) if text.trim().is_empty() => c,
        _ => text.trim(),
    };
    format!(
        "\n\n<figure>{}<figcaption>{}</figcaption></figure>\n\n",
        image.trim(),
        text
    )
}

/// `[gallery ids="1,2"]` (or without ids: the post's attached images) → the images, each as a figure.
fn gallery(attrs: &[(String, String)], post_id: i64, attachments: &dyn Attachments) -> String {
    let images: Vec<Attachment> = match attr(attrs, "ids").or(attr(attrs, "include")) {
        Some(ids) => ids
            .split(',')
            .filter_map(|id| id.trim().parse::<i64>().ok())
            .filter_map(|id| attachments.by_id(id))
            .collect(),
        None => {
            let parent = attr(attrs, "id")
                .and_then(|i| i.trim().parse().ok())
                .unwrap_or(post_id);
            attachments.of_parent(parent)
        }
    };
    let mut out = String::from("\n\n");
    for image in images {
        out.push_str(&format!(
            "<figure><img src=\"{}\" alt=\"{}\">",
            content::escape_html(&image.url),
            content::escape_html(&image.alt)
        ));
        if !image.caption.trim().is_empty() {
            out.push_str(&format!(
                "<figcaption>{}</figcaption>",
                content::escape_html(image.caption.trim())
            ));
        }
        out.push_str("</figure>\n");
    }
    out.push('\n');
    out
}

fn link_paragraph(url: &str) -> String {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return content::escape_html(url);
    }
    let url = content::escape_html(url);
    format!("\n\n<p><a href=\"{url}\">{url}</a></p>\n\n")
}

/// A URL alone on its line (what WordPress auto-embeds) becomes a link.
fn bare_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if (t.starts_with("https://") || t.starts_with("http://"))
            && !t.contains(char::is_whitespace)
            && !t.contains(['<', '>', '"'])
        {
            out.push_str(&link_paragraph(t));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Tags after which and before which wpautop breaks paragraphs (WordPress's `$allblocks`).
const BLOCKS: &[&str] = &[
    "table",
    "thead",
    "tfoot",
    "caption",
    "col",
    "colgroup",
    "tbody",
    "tr",
    "td",
    "th",
    "div",
    "dl",
    "dd",
    "dt",
    "ul",
    "ol",
    "li",
    "pre",
    "form",
    "map",
    "area",
    "blockquote",
    "address",
    "math",
    "style",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "fieldset",
    "legend",
    "section",
    "article",
    "aside",
    "hgroup",
    "header",
    "footer",
    "nav",
    "figure",
    "figcaption",
    "details",
    "menu",
    "summary",
];

/// The name of the tag at the start of `s` (`<p …>` or `</p>`), lowercased, and whether it closes.
fn tag_at(s: &str) -> Option<(String, bool)> {
    let body = s.strip_prefix('<')?;
    let (closing, body) = match body.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let end = body
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    if end == 0 {
        return None;
    }
    Some((body[..end].to_ascii_lowercase(), closing))
}

/// WordPress's paragraph rules for classic-editor text: blank lines separate paragraphs, a single newline is a
/// line break, block-level elements are never wrapped, and `<pre>` is left alone.
pub fn autop(text: &str) -> String {
    if text.trim().is_empty() {
        return String::new();
    }
    // Set <pre> aside so that its newlines stay as they are.
    let mut pres: Vec<String> = Vec::new();
    let mut prepared = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        prepared.push_str(&rest[..i]);
        let here = &rest[i..];
        match tag_at(here) {
            Some((name, false)) if name == "pre" => {
                let end = here
                    .find("</pre>")
                    .map_or(here.len(), |e| e + "</pre>".len());
                prepared.push_str(&format!("\n\n\u{1}{}\u{1}\n\n", pres.len()));
                pres.push(here[..end].to_string());
                rest = &here[end..];
            }
            Some((name, closing)) if BLOCKS.contains(&name.as_str()) => {
                let end = here.find('>').map_or(here.len(), |e| e + 1);
                if closing {
                    prepared.push_str(&here[..end]);
                    prepared.push_str("\n\n");
                } else {
                    prepared.push_str("\n\n");
                    prepared.push_str(&here[..end]);
                }
                rest = &here[end..];
            }
            _ => {
                prepared.push('<');
                rest = &here[1..];
            }
        }
    }
    prepared.push_str(rest);
    let mut out = String::with_capacity(prepared.len() + 64);
    for chunk in split_paragraphs(&prepared) {
        let chunk = chunk.trim_matches(|c: char| c == '\n' || c == ' ' || c == '\t');
        if chunk.is_empty() {
            continue;
        }
        if let Some(n) = chunk
            .strip_prefix('\u{1}')
            .and_then(|c| c.strip_suffix('\u{1}'))
            .and_then(|n| n.parse::<usize>().ok())
            && let Some(pre) = pres.get(n)
        {
            out.push_str(pre);
            out.push('\n');
            continue;
        }
        out.push_str(&wrap_chunk(chunk));
        out.push('\n');
    }
    out
}

/// One paragraph's worth of text: block tags at its start and end stay as they are; the text between becomes a
/// paragraph (its single newlines line breaks) unless a block it opens already holds it (`<p>`, `<li>`, `<h2>` …);
/// `<blockquote>` gets its paragraphs, as in WordPress.
fn wrap_chunk(chunk: &str) -> String {
    let mut start = 0;
    let mut last_lead: Option<(String, bool)> = None;
    loop {
        let rest = &chunk[start..];
        let trimmed = rest.trim_start();
        let skipped = rest.len() - trimmed.len();
        match tag_at(trimmed) {
            Some((name, closing)) if BLOCKS.contains(&name.as_str()) => {
                let Some(end) = trimmed.find('>') else { break };
                start += skipped + end + 1;
                last_lead = Some((name, closing));
            }
            _ => break,
        }
    }
    let mut end = chunk.len();
    while end > start {
        let head = chunk[start..end].trim_end();
        if !head.ends_with('>') {
            break;
        }
        let Some(i) = head.rfind('<') else { break };
        match tag_at(&head[i..]) {
            Some((name, _)) if BLOCKS.contains(&name.as_str()) => end = start + i,
            _ => break,
        }
    }
    let middle = chunk[start..end].trim();
    let wrap = match &last_lead {
        None => true,
        Some((_, true)) => true,
        Some((name, false)) => name == "blockquote",
    };
    let mut out = String::with_capacity(chunk.len() + 16);
    out.push_str(&chunk[..start]);
    if wrap && !middle.is_empty() {
        out.push_str("<p>");
        out.push_str(&middle.replace('\n', "<br />\n"));
        out.push_str("</p>");
    } else {
        out.push_str(middle);
    }
    out.push_str(&chunk[end..]);
    out
}

/// Splits at blank lines (a newline, spaces or tabs, a newline).
fn split_paragraphs(text: &str) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut line_start = 0;
    let mut previous_blank = false;
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        if blank && !previous_blank {
            chunks.push(&text[start..line_start]);
        }
        if !blank && previous_blank {
            start = line_start;
        }
        previous_blank = blank;
        line_start += line.len();
    }
    if !previous_blank {
        chunks.push(&text[start..]);
    }
    chunks
}

/// Tags that open an HTML block which only a blank line ends (CommonMark's type 6) — what the source must start with.
const TYPE6: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "dialog",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "section",
    "table",
    "ul",
];

/// Lays sanitised HTML out as a Markdown source that CommonMark passes through whole: it starts with a block tag
/// (else it is wrapped in a `<div>`), and has no blank line (a newline run inside `<pre>` keeps its count through
/// `&#10;`; elsewhere blank lines carry no meaning in HTML and are dropped).
pub fn as_source(html: &str) -> String {
    let html = html.trim();
    if html.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(html.len() + 16);
    let mut in_pre = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        let next_tag = rest.find('<').unwrap_or(rest.len());
        let (text, after) = rest.split_at(next_tag);
        push_without_blank_lines(&mut out, text, in_pre > 0);
        if after.is_empty() {
            break;
        }
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        let tag = &after[..end];
        match tag_at(tag) {
            Some((n, false)) if n == "pre" => in_pre += 1,
            Some((n, true)) if n == "pre" => in_pre = in_pre.saturating_sub(1),
            _ => {}
        }
        // Tags themselves (attribute values included) never hold a blank line after sanitising, but be sure.
        push_without_blank_lines(&mut out, tag, false);
        rest = &after[end..];
    }
    let starts_block =
        tag_at(&out).is_some_and(|(n, closing)| !closing && TYPE6.contains(&n.as_str()));
    if starts_block {
        out
    } else {
        format!("<div>\n{out}\n</div>")
    }
}

fn push_without_blank_lines(out: &mut String, text: &str, in_pre: bool) {
    let mut newlines = 0usize;
    for (i, c) in text.char_indices() {
        // CommonMark ends a line at `\n`, `\r` or `\r\n` (`\r\n` counts once here as two: both are dropped
        // outside <pre>, and inside it the second becomes one more `&#10;`, which a browser shows as CommonMark would
        // have shown the raw text).
        if c == '\n' || c == '\r' {
            newlines += 1;
            continue;
        }
        // A line of nothing but spaces counts as blank too: outside <pre> the spaces at the start of a line are
        // dropped (before the line break is written, so that such a line adds none); in <pre> spaces matter, so
        // they are kept after the line break.
        if (c == ' ' || c == '\t') && !in_pre && (newlines > 0 || out.ends_with('\n')) {
            continue;
        }
        if newlines > 0 {
            if in_pre {
                for _ in 1..newlines {
                    out.push_str("&#10;");
                }
            }
            if !out.ends_with('\n') {
                out.push('\n');
            }
            newlines = 0;
        }
        // In <pre>, a line of only spaces before the next line break would be a blank line: its first space is
        // written as a character reference (the browser shows the same space).
        if in_pre && (c == ' ' || c == '\t') && out.ends_with('\n') {
            let rest_of_line = text[i..].split(['\n', '\r']).next().unwrap_or_default();
            let more_lines = text[i + rest_of_line.len()..].starts_with(['\n', '\r']);
            if more_lines && rest_of_line.chars().all(|r| r == ' ' || r == '\t') {
                out.push_str(if c == ' ' { "&#32;" } else { "&#9;" });
                continue;
            }
        }
        out.push(c);
    }
    if newlines > 0 {
        if in_pre {
            for _ in 1..newlines {
                out.push_str("&#10;");
            }
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
}

/// The addresses of the images converted HTML shows or links to (`<img src>`, and `<a href>` to an image file), each
/// once, in order.
pub fn image_addresses(html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut add = |a: String| {
        if !a.is_empty() && !found.contains(&a) {
            found.push(a);
        }
    };
    for tag in media::img_tags(html) {
        add(tag.src);
    }
    for (_, href) in image_links(html) {
        add(href);
    }
    found
}

/// The `<a>` tags of `html` whose `href` is an image file: where each tag is, and its address (entities decoded).
fn image_links(html: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = html[from..].find("<a ") {
        let start = from + at;
        let Some(len) = html[start..].find('>') else {
            break;
        };
        let end = start + len + 1;
        let attrs = content::tag_attributes(&html[start + 3..end - 1]);
        if let Some((_, href)) = attrs.iter().find(|(k, _)| k == "href") {
            let href = content::decode_entities(href);
            let path = href.split(['?', '#']).next().unwrap_or_default();
            if ImageType::from_extension(path).is_some() {
                out.push((start..end, href));
            }
        }
        from = end;
    }
    out
}

/// `html` with the images in `found` (by their old address) taken from the blog's uploads: each `<img>` becomes a
/// plain tag of the upload (its description kept; WordPress's `srcset` and `sizes` dropped, as the page makes it
/// responsive), and each link to the image file leads to the upload's widest variant. `base` is the blog's origin.
pub fn rewrite_images(html: &str, found: &HashMap<String, Image>, base: &str) -> String {
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for tag in media::img_tags(html) {
        let Some(image) = found.get(&tag.src) else {
            continue;
        };
        let Some(v) = image.near(960) else { continue };
        edits.push((
            tag.range,
            format!(
                "<img src=\"{}\" alt=\"{}\" width=\"{}\" height=\"{}\">",
                content::escape_html(&image.url(base, v)),
                content::escape_html(tag.alt.as_deref().unwrap_or("")),
                v.width,
                v.height
            ),
        ));
    }
    for (range, href) in image_links(html) {
        let Some(v) = found
            .get(&href)
            .and_then(|image| image.main().map(|v| (image, v)))
        else {
            continue;
        };
        let tag = &html[range.clone()];
        let attrs = content::tag_attributes(&tag[3..tag.len() - 1]);
        let mut rebuilt = String::from("<a");
        for (k, value) in attrs {
            let value = if k == "href" {
                content::escape_html(&v.0.url(base, v.1))
            } else {
                value
            };
            rebuilt.push_str(&format!(" {k}=\"{value}\""));
        }
        rebuilt.push('>');
        edits.push((range, rebuilt));
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(html.len());
    let mut done = 0;
    for (range, text) in edits {
        if range.start < done {
            continue;
        }
        out.push_str(&html[done..range.start]);
        out.push_str(&text);
        done = range.end;
    }
    out.push_str(&html[done..]);
    out
}

/// The text of WordPress HTML (a title, an excerpt, a caption): sanitised, tags dropped, entities undone, trimmed.
pub fn text_of_html(html: &str) -> String {
    content::html_text(&sanitize_post_html(html))
        .trim()
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::content::render_markdown;

    struct None_;
    impl Attachments for None_ {
        fn by_id(&self, id: i64) -> Option<Attachment> {
            (id == 5).then(|| Attachment {
                url: "https://old.example/wp-content/uploads/a.jpg".into(),
                file: "a.jpg".into(),
                alt: "A yurt".into(),
                caption: "At dusk".into(),
                parent: 1,
            })
        }
        fn of_parent(&self, _: i64) -> Vec<Attachment> {
            self.by_id(5).into_iter().collect()
        }
    }

    fn roundtrip(source: &str) {
        // Saved unchanged from the editor, the source renders to itself (sanitised).
        let rendered = render_markdown(source);
        assert_eq!(render_markdown(source), rendered);
        assert!(!source.contains("\n\n"), "{source}");
    }

    #[test]
    fn classic_paragraphs_like_wpautop() {
        let c = convert(
            "One\ntwo\n\nThree <em>x</em>\n\n\n<blockquote>Q1\n\nQ2</blockquote>",
            1,
            &None_,
        );
        assert_eq!(
            render_markdown(&c.source),
            "<p>One<br>\ntwo</p>\n<p>Three <em>x</em></p>\n<blockquote><p>Q1</p>\n<p>Q2</p></blockquote>"
        );
        roundtrip(&c.source);
    }

    #[test]
    fn pre_keeps_its_blank_lines() {
        let c = convert("Code:\n\n<pre>a\n\n\n  b</pre>\n\nAfter", 1, &None_);
        let html = render_markdown(&c.source);
        assert!(html.contains("<pre>a\n\n\n  b</pre>"), "{html}");
        roundtrip(&c.source);
    }

    #[test]
    fn lines_of_spaces_and_carriage_returns_make_no_blank_line() {
        for raw in [
            "<div>a\n  \n b</div>",
            "<div>a\r\rb</div>",
            "<div>a\r\n\r\nb</div>",
            "<pre>a\n  \n b</pre>",
            "<pre>x\n\t\ny</pre>",
            "<p>a</p>\n \n<p>b</p>",
        ] {
            let c = convert(raw, 1, &None_);
            assert!(!c.source.contains("\n\n"), "{raw:?} → {:?}", c.source);
            assert!(
                !c.source.lines().skip(1).any(|l| l.trim().is_empty()),
                "{raw:?} → {:?}",
                c.source
            );
            roundtrip(&c.source);
        }
        let c = convert("<pre>a\n  \n b</pre>", 1, &None_);
        assert!(render_markdown(&c.source).contains("<pre>a\n  \n b</pre>"));
    }

    #[test]
    fn blocks_more_and_shortcodes() {
        let raw = "<!-- wp:paragraph -->\n<p>Intro</p>\n<!-- /wp:paragraph -->\n<!--more-->\n\
                   <!-- wp:paragraph --><p>[caption id=\"x\" width=\"300\"]<img src=\"https://old.example/b.jpg\" alt=\"B\"> Bee[/caption]</p><!-- /wp:paragraph -->\
                   [gallery ids=\"5\"][unknown_thing a=\"1\"] [sic]";
        let c = convert(raw, 1, &None_);
        assert_eq!(c.more_excerpt.as_deref(), Some("Intro"));
        let html = render_markdown(&c.source);
        assert!(html.contains("<figcaption>Bee</figcaption>"), "{html}");
        assert!(
            html.contains(
                "<img src=\"https://old.example/wp-content/uploads/a.jpg\" alt=\"A yurt\">"
            ),
            "{html}"
        );
        assert!(html.contains("[unknown_thing a=\"1\"] [sic]"), "{html}");
        assert!(!html.contains("wp:paragraph"));
        assert_eq!(c.unknown_shortcodes, vec!["unknown_thing".to_string()]);
        roundtrip(&c.source);
    }

    #[test]
    fn hostile_markup_is_sanitised() {
        let c = convert(
            "<script>alert(1)</script><iframe src=\"https://evil.example\"></iframe><p onclick=\"x()\">Hi</p><a href=\"javascript:x()\">l</a>",
            1,
            &None_,
        );
        let html = render_markdown(&c.source);
        for bad in ["script", "iframe", "onclick", "javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("Hi"));
    }

    #[test]
    fn seed_text_comes_through() {
        let c = convert(
            "I don`t blame\u{a0}world NGOs “quoted” &amp; &nbsp;x",
            1,
            &None_,
        );
        let html = render_markdown(&c.source);
        assert!(
            html.contains("I don`t blame\u{a0}world NGOs “quoted” &amp; \u{a0}x")
                || html.contains("I don`t blame&nbsp;world NGOs “quoted” &amp; &nbsp;x"),
            "{html}"
        );
        roundtrip(&c.source);
    }

    #[test]
    fn embeds_and_bare_urls_become_links() {
        let c = convert(
            "See\n\nhttps://video.example/v/1\n\n[embed]https://x.example/a[/embed]",
            1,
            &None_,
        );
        let html = render_markdown(&c.source);
        assert!(
            html.contains("<a href=\"https://video.example/v/1\""),
            "{html}"
        );
        assert!(html.contains("<a href=\"https://x.example/a\""), "{html}");
    }
}
