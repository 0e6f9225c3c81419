//! The bodies of the fuzz targets in `fuzz/`: each takes arbitrary bytes and runs them through what parses
//! untrusted input (the inbox's wire types, both signature schemes with verification, the comment sanitiser, the
//! Markdown renderer, the WordPress export reader), asserting what must hold whatever the input. `cargo fuzz` calls these; `tests/fuzz_corpus.rs`
//! replays the committed corpus and crash inputs through the very same functions on stable Rust.

use std::{
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    domain::{comments, content},
    federation::{
        protocol::activity::{
            Announce, Create, Delete, Envelope, Follow, Like, Note, Reference, Undo,
        },
        signatures::{self, IncomingRequest, PrivateKey, PublicKey},
    },
};

/// The inbox body: JSON, then every wire type the inbox reads, then what a comment is made of.
pub fn inbox_body(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = Envelope::deserialize(&value);
    let _ = Follow::deserialize(&value);
    let _ = Undo::deserialize(&value);
    let _ = Delete::deserialize(&value);
    let _ = Like::deserialize(&value);
    let _ = Announce::deserialize(&value);
    let _ = Create::deserialize(&value);
    let _ = Reference::of(&value);
    for candidate in [&value, &value["object"]] {
        if let Ok(note) = Note::deserialize(candidate) {
            let html = comments::sanitize(&note.content);
            assert_safe(&html);
            assert_safe(&comments::attachments_html(&note.attachment));
            let _ = comments::Visibility::of(&note.to, &note.cc, Some("https://x.example/f"));
        }
    }
}

/// One key for every verification (the fuzzer runs millions of inputs; generating RSA keys per input would starve
/// it). Test harness only: nothing in the server keeps global state.
fn key() -> &'static (PrivateKey, PublicKey) {
    static KEY: OnceLock<(PrivateKey, PublicKey)> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = PrivateKey::generate().expect("generate a key");
        let pem = private.public_key_pem().expect("public key");
        let public = PublicKey::from_pem(&pem).expect("parse the public key");
        (private, public)
    })
}

/// A fixed time for the signature checks (the fuzzer's inputs name times around it).
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn check(headers: &HeaderMap, body: Option<&[u8]>) {
    let request = IncomingRequest {
        method: "POST",
        path_and_query: "/inbox",
        headers,
        body,
    };
    if let Ok(prepared) = signatures::prepare(
        &request,
        "https://blog.example",
        Duration::from_secs(3600),
        now(),
    ) {
        let _ = prepared.fingerprint();
        assert!(
            prepared.verify(&key().1).is_err(),
            "an arbitrary input cannot carry a valid signature by our test key"
        );
    }
}

fn base_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("blog.example"));
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(now())) {
        headers.insert("date", date);
    }
    headers
}

/// A draft-cavage `Signature` header (the whole input), on a request otherwise well-formed.
pub fn cavage_signature(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = base_headers();
    headers.insert("signature", value);
    headers.insert(
        "digest",
        HeaderValue::from_static("SHA-256=RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="),
    );
    check(&headers, Some(b"{}"));
}

/// RFC 9421: the input's first line is `Signature-Input`, the second `Signature`, the third `Content-Digest`, the
/// rest the body.
pub fn rfc9421_signature(data: &[u8]) {
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let mut headers = base_headers();
    for name in ["signature-input", "signature", "content-digest"] {
        let Some(line) = parts.next() else { break };
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let body = parts.next();
    check(&headers, body);
}

/// The comment sanitiser: whatever the input, no script, event handler or dangerous URL survives.
pub fn sanitizer(data: &[u8]) {
    let html = String::from_utf8_lossy(data);
    let clean = comments::sanitize(&html);
    assert_safe(&clean);
    // Sanitising what is already clean keeps it safe.
    assert_safe(&comments::sanitize(&clean));
}

/// The WordPress export reader and the content conversion of every item it yields: no panic, the source stored is
/// one HTML block (no blank line) whose rendering is as safe as the sanitiser's.
pub fn wxr(data: &[u8]) {
    let Ok((_, items)) = crate::import::wxr::read_all(data) else {
        return;
    };
    for item in items.iter().take(16) {
        let converted = crate::import::html::convert(&item.content, item.id, &());
        assert!(
            !converted.source.contains("\n\n"),
            "a blank line in the stored source"
        );
        assert_safe(&content::render_markdown(&converted.source));
        for c in &item.comments {
            assert_safe(&comments::sanitize(&c.content));
        }
    }
}

/// The Markdown renderer (the owner's posts and replies): its HTML is as safe as the sanitiser's.
pub fn markdown(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    assert_safe(&content::render_markdown(&text));
    let _ = content::excerpt_html("", &text);
}

/// Image processing on any bytes (the owner's uploads, commenters' avatars): it refuses or produces variants, never
/// panics; variants are never wider than the image nor than the largest width, and keep its proportions.
pub fn image_upload(data: &[u8]) {
    use crate::media::process::{self, Bounds, WIDTHS};
    // Small bounds keep each run fast; the bounds themselves are what is exercised.
    let bounds = Bounds {
        max_bytes: 1 << 20,
        max_pixels: 4_000_000,
    };
    if let Ok(p) = process::process(data, bounds) {
        assert!(!p.variants.is_empty());
        assert!(u64::from(p.width) * u64::from(p.height) <= bounds.max_pixels);
        for v in &p.variants {
            assert!(v.width <= p.width && v.width <= WIDTHS[WIDTHS.len() - 1]);
            assert!(v.height >= 1 && !v.bytes.is_empty());
        }
        assert!(crate::domain::media::is_hash(&p.hash));
    }
    let _ = process::avatar(data, bounds);
}

/// What no sanitised HTML may contain inside a tag (text may mention anything: ammonia escapes every `<` of text,
/// so each literal `<` in the output opens a tag): a dangerous element, an event handler or `style` attribute, or a
/// URL attribute whose scheme is not http(s) or mailto.
fn assert_safe(html: &str) {
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(
            !matches!(
                name.as_str(),
                "script"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "style"
                    | "svg"
                    | "math"
                    | "form"
                    | "base"
                    | "meta"
            ),
            "<{name}> survived in {html:?}"
        );
        for (attribute, value) in attributes(tag) {
            assert!(
                !attribute.starts_with("on") && !matches!(attribute.as_str(), "style" | "srcdoc"),
                "the attribute {attribute} survived in {html:?}"
            );
            if matches!(
                attribute.as_str(),
                "href" | "src" | "action" | "formaction" | "xlink:href"
            ) {
                assert!(safe_url(&value), "the URL {value:?} survived in {html:?}");
            }
        }
    }
}

/// Whether a URL, as a browser reads it from an attribute (entities decoded, tabs and newlines dropped), is
/// relative or http(s) or mailto.
fn safe_url(value: &str) -> bool {
    // As the WHATWG URL parser reads it: leading and trailing C0 controls and spaces trimmed, tabs and newlines
    // removed anywhere; other controls stay (and end a scheme).
    let decoded = content::decode_entities(value);
    let squeezed: String = decoded
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .to_ascii_lowercase();
    // Only `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` before the first `:` is a scheme (RFC 3986); anything else
    // (`j!vascript:`) is a relative reference, which browsers resolve against the page.
    let scheme = squeezed
        .find([':', '/', '?', '#'])
        .filter(|at| squeezed[*at..].starts_with(':'))
        .map(|at| &squeezed[..at])
        .filter(|s| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        });
    scheme.is_none_or(|s| matches!(s, "http" | "https" | "mailto"))
}

/// The attributes of a tag's text (`a href="…" rel=x`): names lowercased, values unquoted.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let rest = tag.trim_start_matches('/');
    let mut chars = rest
        .trim_start_matches(|c: char| c.is_ascii_alphanumeric())
        .chars()
        .peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=' && *c != '/') {
            name.push(c.to_ascii_lowercase());
        }
        if name.is_empty() {
            if chars.next().is_none() {
                break;
            }
            continue;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            match chars.next_if(|c| *c == '"' || *c == '\'') {
                Some(quote) => {
                    for c in chars.by_ref() {
                        if c == quote {
                            break;
                        }
                        value.push(c);
                    }
                }
                None => {
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                        value.push(c);
                    }
                }
            }
        }
        found.push((name, value));
    }
    found
}

/// A Steppe archive as `steppe import archive` reads it before writing anything: the zip, the manifest, the
/// checksums and every entry. Whatever the bytes, an answer (never a panic), and an archive that passes names only
/// entries that stay inside it.
pub fn archive(data: &[u8]) {
    if let Ok(manifest) = crate::import::archive::check(std::io::Cursor::new(data)) {
        for table in &manifest.tables {
            assert!(
                crate::export::format::safe_name(&table.file),
                "a listed file outside the archive passed"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_safety_check_reads_attributes_and_urls() {
        assert_safe(
            r#"<p><a href="https://x.example/?a=1&amp;b=style=x" rel="nofollow">style= onerror= javascript:</a></p>"#,
        );
        assert_safe(r#"<img src="https://example.comvbscript:/a.png" alt="on the beach">"#);
        assert_safe(r#"<a href="/relative#frag">r</a><a href="mailto:a@b.example">m</a>"#);
        assert_safe(
            r#"<a href="/search?q=a&amp;b=c">s</a><a href="https://x.example/&#x3a;">c</a>"#,
        );
        for bad in [
            r#"<a href="javascript:alert(1)">x</a>"#,
            r#"<a href="jav&#x09;ascript:alert(1)">x</a>"#,
            r#"<a href="&#106;avascript:alert(1)">x</a>"#,
            r#"<a href="javascript&#58;alert(1)">x</a>"#,
            "<a href=\"jav\tascript:x\">x</a>",
            r#"<img src=x onerror=alert(1)>"#,
            r#"<p style="color:red">x</p>"#,
            r#"<script>x</script>"#,
            r#"<a href='data:text/html,x'>x</a>"#,
            r#"<a href="vbs.cript+x:y">x</a>"#,
            "<a href=\"\u{1} javascript:x\">x</a>",
            "<a href=\"java\nscript:x\">x</a>",
        ] {
            assert!(
                std::panic::catch_unwind(|| assert_safe(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
