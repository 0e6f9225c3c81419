//! Post content: Markdown → sanitised HTML (done once, when a post is saved) and the plain-text excerpt.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

use super::media::{COLUMN_SIZES, Image, Images, media_id_of, upgrade_html_images};

/// Longest excerpt, in characters, when the owner gave no summary.
const EXCERPT_CHARS: usize = 400;

pub(crate) fn markdown_options() -> Options {
    // No smart punctuation: the owner's quotes and apostrophes are kept exactly as typed.
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
}

/// Renders the owner's Markdown to HTML that is safe to embed in a page.
///
/// The owner is trusted more than a remote commenter, but raw HTML in a post still passes through ammonia so that a
/// stolen session cannot plant scripts for every reader.
pub fn render_markdown(markdown: &str) -> String {
    render_markdown_with(markdown, "", &Images::new())
}

/// [`render_markdown`], with the blog's own uploads (found in `images`, addressed relatively or on `base`) shown
/// responsively: `srcset`, `sizes`, `width`, `height`, lazy loading, and the alt text the owner gave the image.
pub fn render_markdown_with(markdown: &str, base: &str, images: &Images) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    let mut events = Vec::new();
    // An image's alt text arrives as the events between its start and end; they are gathered, then replaced.
    let mut open: Option<(Option<&Image>, String, Vec<Event>)> = None;
    let mut first = true;
    for event in Parser::new_ext(markdown, markdown_options()) {
        match (&mut open, event) {
            (None, Event::Start(Tag::Image { dest_url, .. })) => {
                let image = media_id_of(&dest_url, base).and_then(|id| images.get(id));
                let start = Event::Start(Tag::Image {
                    link_type: pulldown_cmark::LinkType::Inline,
                    dest_url,
                    title: "".into(),
                    id: "".into(),
                });
                open = Some((image, String::new(), vec![start]));
            }
            (Some(_), Event::End(TagEnd::Image)) => {
                if let Some((image, alt, mut held)) = open.take() {
                    match image {
                        // The first image is likely in view: only the others wait for scrolling.
                        Some(image) => events.push(Event::InlineHtml(
                            image.html(base, alt.trim(), COLUMN_SIZES, !first).into(),
                        )),
                        None => {
                            held.push(Event::End(TagEnd::Image));
                            events.extend(held);
                        }
                    }
                    first = false;
                }
            }
            (Some((_, alt, held)), e) => {
                if let Event::Text(t) | Event::Code(t) = &e {
                    alt.push_str(t);
                }
                held.push(e);
            }
            // Uploads shown by `<img>` in HTML (imported posts are HTML) are made responsive the same way.
            (None, Event::Html(t)) if !images.is_empty() => {
                events.push(Event::Html(
                    upgrade_html_images(&t, base, images, &mut first).map_or(t, Into::into),
                ));
            }
            (None, Event::InlineHtml(t)) if !images.is_empty() => {
                events.push(Event::InlineHtml(
                    upgrade_html_images(&t, base, images, &mut first).map_or(t, Into::into),
                ));
            }
            (None, e) => events.push(e),
        }
    }
    if let Some((_, _, held)) = open {
        events.extend(held);
    }
    html::push_html(&mut raw, events.into_iter());
    sanitize_post_html(&raw)
}

/// The `name="value"` pairs of an HTML tag or a shortcode (`<img src="a" alt='b'>`, `[gallery ids=1,2]`): names
/// lowercased, values as written (entities not decoded).
pub fn tag_attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq]
            .trim_end()
            .rsplit(|c: char| c.is_whitespace() || c == '<' || c == '[')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &after[1..];
                match inner.find(q) {
                    Some(e) => (&inner[..e], &inner[e + 1..]),
                    None => (inner, ""),
                }
            }
            _ => {
                let e = after
                    .find(|c: char| c.is_whitespace() || c == ']' || c == '>')
                    .unwrap_or(after.len());
                (&after[..e], &after[e..])
            }
        };
        if !key.is_empty() {
            out.push((key, value.to_string()));
        }
        rest = next;
    }
    out
}

/// The sanitising policy of a post's HTML (the editor's output and imported posts alike).
pub fn sanitize_post_html(html: &str) -> String {
    ammonia::Builder::default()
        .add_generic_attributes(["id"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attributes("img", ["srcset", "sizes", "loading", "decoding"])
        .add_tag_attributes("source", ["type", "srcset", "sizes"])
        .add_tags(["input", "picture", "source"])
        .clean(html)
        .to_string()
}

/// The text of HTML as sanitised by ammonia: tags dropped (block ends become newlines), the entities it writes
/// (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&nbsp;`, numeric) undone.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        let tag = after[..end].to_ascii_lowercase();
        if [
            "</p",
            "<br",
            "</li",
            "</h",
            "</blockquote",
            "</pre",
            "</figcaption",
            "</tr",
            "</div",
        ]
        .iter()
        .any(|t| tag.starts_with(t))
            && !out.ends_with('\n')
        {
            out.push('\n');
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    decode_entities(&out)
}

/// HTML character references as serialisers write them: the XML five, `&nbsp;`, `&Tab;`, `&NewLine;`, and numeric
/// ones. Anything else stays as written.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|e| *e <= 12);
        let decoded = end.and_then(|e| {
            let c = match &rest[1..e] {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "Tab" => Some('\t'),
                "NewLine" => Some('\n'),
                entity => {
                    let number = entity.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The excerpt shown on lists: the owner's summary when given, else the start of the first paragraph.
/// Returned as HTML (`<p>…</p>`), without images or links, safe to embed.
pub fn excerpt_html(summary: &str, markdown: &str) -> String {
    let text = if summary.trim().is_empty() {
        first_paragraph_text(markdown)
    } else {
        summary.trim().to_string()
    };
    let text = shorten(&text, EXCERPT_CHARS);
    if text.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>", escape_html(&text))
    }
}

/// The text of the first paragraph that has any, with inline markup and images removed.
fn first_paragraph_text(markdown: &str) -> String {
    let mut text = String::new();
    let mut html = String::new();
    let mut in_paragraph = false;
    let mut in_image = 0usize;
    for event in Parser::new_ext(markdown, markdown_options()) {
        match event {
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) => {
                in_paragraph = false;
                if !text.trim().is_empty() {
                    break;
                }
            }
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image = in_image.saturating_sub(1),
            Event::Text(t) | Event::Code(t) if in_paragraph && in_image == 0 => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_paragraph => text.push(' '),
            // A text kept as HTML (imported posts): its first line of text.
            Event::Html(t) if !in_paragraph && text.trim().is_empty() => {
                html.push_str(&t);
            }
            _ => {}
        }
    }
    if text.trim().is_empty() && !html.is_empty() {
        let all = html_text(&html);
        text = all
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
    }
    // Collapse runs of ASCII spaces left where markup was removed; other spaces (no-break) are kept.
    let mut collapsed = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if !(c == ' ' && collapsed.ends_with(' ')) {
            collapsed.push(c);
        }
    }
    collapsed
}

/// Cuts `text` to at most `max` characters at a word boundary, adding "…" when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!(
        "{}…",
        at_word.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';')
    )
}

/// The plain text of an excerpt made by [`excerpt_html`] (its paragraph tags removed, its escapes undone).
pub fn excerpt_text(excerpt_html: &str) -> String {
    excerpt_html
        .trim_start_matches("<p>")
        .trim_end_matches("</p>")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Escapes text for HTML element content and attribute values.
/// Backticks written as apostrophes ("don`t", "I`m", as some old blogs have them): a backtick with a letter or digit
/// on both sides, outside fenced and indented code. Markdown would pair them into code spans ("don`t … I`m" shows
/// "dont … Im"), so the editor offers [`escape_stray_backticks`]. Returns the words that have one, each once, at
/// most `max`.
pub fn stray_backticks(markdown: &str, max: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for_stray_backticks(markdown, |line, _, at| {
        let start = line[..at]
            .rfind(|c: char| !c.is_alphanumeric())
            .map_or(0, |i| {
                i + line[i..].chars().next().map_or(1, char::len_utf8)
            });
        let end = line[at + 1..]
            .find(|c: char| !c.is_alphanumeric() && c != '`')
            .map_or(line.len(), |i| at + 1 + i);
        let word = line[start..end].to_string();
        if words.len() < max && !words.contains(&word) {
            words.push(word);
        }
    });
    words
}

/// The text with every stray backtick (see [`stray_backticks`]) escaped as "\`", so that it shows as typed.
pub fn escape_stray_backticks(markdown: &str) -> String {
    let mut positions: Vec<usize> = Vec::new();
    for_stray_backticks(markdown, |_, line_start, at| {
        positions.push(line_start + at)
    });
    let mut out = String::with_capacity(markdown.len() + positions.len());
    let mut last = 0;
    for at in positions {
        out.push_str(&markdown[last..at]);
        out.push('\\');
        last = at;
    }
    out.push_str(&markdown[last..]);
    out
}

/// Calls `found(line, line_start, byte_index_in_line)` for each stray backtick, line by line, skipping fenced and
/// indented code.
fn for_stray_backticks(markdown: &str, mut found: impl FnMut(&str, usize, usize)) {
    // HTML blocks (imported posts keep HTML) are never read as Markdown, so their backticks are safe.
    let html_blocks: Vec<std::ops::Range<usize>> = Parser::new_ext(markdown, markdown_options())
        .into_offset_iter()
        .filter(|(e, _)| matches!(e, Event::Start(Tag::HtmlBlock)))
        .map(|(_, range)| range)
        .collect();
    let mut fence: Option<&str> = None;
    let mut line_start = 0;
    for line in markdown.split_inclusive('\n') {
        let this_start = line_start;
        line_start += line.len();
        if html_blocks.iter().any(|r| r.contains(&this_start)) {
            continue;
        }
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => {
                fence = Some(m);
                continue;
            }
            (Some(f), Some(m)) if f == m => {
                fence = None;
                continue;
            }
            (Some(_), _) => continue,
            (None, None) => {}
        }
        if line.starts_with("    ") || line.starts_with('\t') {
            continue;
        }
        let mut prev: Option<char> = None;
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '`' {
                let next = chars.peek().map(|&(_, n)| n);
                if prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric)
                {
                    found(line, this_start, i);
                }
            }
            prev = Some(c);
        }
    }
}

/// The text of a Markdown document without its markup (for the search index): text, code and image
/// descriptions, blocks separated by newlines, HTML tags dropped.
pub fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            // An HTML block (imported posts keep HTML as their source) adds its text.
            Event::Html(t) => out.push_str(&html_text(&t)),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => out.push('\n'),
            _ => {}
        }
    }
    out.trim_end().to_string()
}

/// `html` with its site-relative links and image sources (`href="/…"`, `src="/…"`, `srcset` entries) made
/// absolute on `base`, for feeds, which are read away from the site. Protocol-relative (`//host`) ones are left.
pub fn absolute_links(html: &str, base: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(i) = rest.find("=\"/") {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let attribute_start = before
            .rfind(|c: char| c.is_ascii_whitespace())
            .map_or(0, |s| s + 1);
        let attribute = &before[attribute_start..];
        let value = &after[2..];
        out.push_str("=\"");
        if matches!(attribute, "href" | "src" | "srcset" | "poster") && !value.starts_with("//") {
            out.push_str(base);
        }
        rest = value;
        if attribute == "srcset" {
            // Later candidates of a srcset: ", /media/…".
            let end = rest.find('"').unwrap_or(rest.len());
            out.push_str(&rest[..end].replace(", /", &format!(", {base}/")));
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Words in a Markdown text: whitespace-separated pieces with a letter or digit (so "-", ">" and "**" do not count).
pub fn word_count(markdown: &str) -> usize {
    markdown
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Turns plain text (paragraphs separated by blank lines) into Markdown that renders back to the same text:
/// every character Markdown would read as markup is backslash-escaped. Used for imported plain-text posts.
pub fn plain_text_to_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.lines() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        for (i, c) in trimmed.chars().enumerate() {
            let at_start = i == 0;
            let special = matches!(
                c,
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '|' | '!'
            ) || (at_start && matches!(c, '#' | '-' | '+' | '=' | '0'..='9'));
            if special {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod backtick_tests {
    use super::{escape_stray_backticks, render_markdown, stray_backticks};

    #[test]
    fn backticks_between_letters_are_found_and_escaped() {
        let seed = "I don`t know, but I`m sure.\n\nUse `cargo` here.\n\n```\nlet a = b`c;\n```\n";
        assert_eq!(stray_backticks(seed, 10), vec!["don`t", "I`m"]);
        let fixed = escape_stray_backticks(seed);
        assert_eq!(
            fixed,
            "I don\\`t know, but I\\`m sure.\n\nUse `cargo` here.\n\n```\nlet a = b`c;\n```\n"
        );
        let html = render_markdown(&fixed);
        assert!(html.contains("I don`t know, but I`m sure."), "{html}");
        assert!(html.contains("<code>cargo</code>"));
        assert!(html.contains("b`c;"));
        assert!(stray_backticks(&fixed, 10).is_empty());
        // Unicode letters, and nothing to do for plain code spans.
        assert_eq!(stray_backticks("Қазақстан`ның", 10), vec!["Қазақстан`ның"]);
        assert!(stray_backticks("`code` and ``x``", 10).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_sanitises() {
        let html = render_markdown(
            "Hello *world*\n\n<script>alert(1)</script><a href=\"javascript:x\">x</a>",
        );
        assert!(html.contains("<em>world</em>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn uploads_in_html_are_shown_responsively_and_counted_as_shown() {
        use crate::domain::media::{Format, Image, VariantInfo, referenced};
        let id = "0123456789abcdef0123456789abcdef";
        let variant = |width, format| VariantInfo {
            width,
            height: width / 2,
            format,
            bytes: 1,
        };
        let image = Image {
            id: id.into(),
            width: 1600,
            height: 800,
            blurhash: String::new(),
            alt: None,
            variants: vec![
                variant(1600, Format::Jpeg),
                variant(960, Format::Jpeg),
                variant(960, Format::Webp),
            ],
        };
        let images: Images = [(id.to_string(), image)].into_iter().collect();
        let base = "https://blog.example";
        let source = format!(
            "<figure><img src=\"{base}/media/{id}-960.jpg\" alt=\"A yurt\" width=\"960\" height=\"480\">\
             <img src=\"https://elsewhere.example/x.jpg\" alt=\"\"></figure>"
        );
        let html = render_markdown_with(&source, base, &images);
        assert!(
            html.contains("<picture><source type=\"image/webp\""),
            "{html}"
        );
        assert!(
            html.contains(&format!("{base}/media/{id}-1600.jpg 1600w")),
            "{html}"
        );
        assert!(html.contains("alt=\"A yurt\""));
        assert!(html.contains("<img src=\"https://elsewhere.example/x.jpg\" alt=\"\">"));
        // Without the images at hand (or for another blog), the HTML is passed through as written.
        assert!(!render_markdown(&source).contains("<picture>"));
        assert_eq!(
            referenced(&source, base),
            vec![(id.to_string(), "A yurt".to_string())]
        );
    }

    #[test]
    fn keeps_typography_as_typed() {
        let html = render_markdown("“Quoted” – it’s\u{a0}here \"straight\"");
        assert!(html.contains("“Quoted” – it’s"));
        assert!(html.contains("here") && html.contains("straight"));
    }

    #[test]
    fn excerpt_takes_first_paragraph_and_escapes() {
        let e = excerpt_html(
            "",
            "# Title\n\nFirst <b>para</b> with ![img](x.png) text.\n\nSecond.",
        );
        assert_eq!(e, "<p>First para with text.</p>");
        let e = excerpt_html("", "First & *only* para.\n\nSecond.");
        assert_eq!(e, "<p>First &amp; only para.</p>");
        let e = excerpt_html("My summary <3", "Body");
        assert_eq!(e, "<p>My summary &lt;3</p>");
        assert_eq!(excerpt_text(&e), "My summary <3");
        assert_eq!(
            absolute_links(
                r#"<a href="/posts/x">x</a> <img src="/media/a.png" srcset="/media/a-1.png 1x, /media/a-2.png 2x"> <a href="//cdn.example/y">y</a> <a href="https://z.example/">z</a> data-x="/no""#,
                "https://blog.example"
            ),
            r#"<a href="https://blog.example/posts/x">x</a> <img src="https://blog.example/media/a.png" srcset="https://blog.example/media/a-1.png 1x, https://blog.example/media/a-2.png 2x"> <a href="//cdn.example/y">y</a> <a href="https://z.example/">z</a> data-x="/no""#
        );
        assert_eq!(
            plain_text("# Hello *there*\n\nA [link](https://x.example) & `code` <b>x</b>"),
            "Hello there\nA link & code x"
        );
        assert_eq!(
            excerpt_text(&excerpt_html("", "Tom &amp; \"Jerry\" <i>x</i>")),
            "Tom & \"Jerry\" x"
        );
        let long = "word ".repeat(200);
        let e = excerpt_html("", &long);
        assert!(e.ends_with("…</p>") && e.chars().count() < EXCERPT_CHARS + 10);
    }

    #[test]
    fn plain_text_round_trips_through_markdown() {
        let text = "I don`t blame *anyone*, I`m sure_of_it.\n\n1. Not a list\n# not a heading <b>x</b> & [link](y)";
        let html = render_markdown(&plain_text_to_markdown(text));
        assert!(
            html.contains("I don`t blame *anyone*, I`m sure_of_it."),
            "{html}"
        );
        assert!(html.contains("1. Not a list"), "{html}");
        assert!(
            html.contains("# not a heading &lt;b&gt;x&lt;/b&gt; &amp; [link](y)"),
            "{html}"
        );
    }
}
