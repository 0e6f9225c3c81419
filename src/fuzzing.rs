//! The bodies of the fuzz targets in `fuzz/`: each takes arbitrary bytes and runs them through what parses
//! untrusted input (the inbox's wire types, both signature schemes with verification, the comment sanitiser, the
//! Markdown renderer), asserting what must hold whatever the input. `cargo fuzz` calls these; `tests/fuzz_corpus.rs`
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

/// The Markdown renderer (the owner's posts and replies): its HTML is as safe as the sanitiser's.
pub fn markdown(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    assert_safe(&content::render_markdown(&text));
    let _ = content::excerpt_html("", &text);
}

/// What no sanitised HTML may contain inside a tag (text may mention anything: ammonia escapes every `<` of text,
/// so each literal `<` in the output opens a tag).
fn assert_safe(html: &str) {
    for tag in html.split('<').skip(1) {
        let tag = tag
            .split('>')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
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
        let squeezed: String = tag.chars().filter(|c| !c.is_whitespace()).collect();
        for needle in ["javascript:", "vbscript:", "data:text", "style="] {
            assert!(
                !squeezed.contains(needle),
                "{needle:?} survived in {html:?}"
            );
        }
        for attribute in attribute_names(&tag) {
            assert!(
                !attribute.starts_with("on") && attribute != "style" && attribute != "srcdoc",
                "the attribute {attribute} survived in {html:?}"
            );
        }
    }
}

/// The attribute names of a tag's text (`a href="…" rel=x`), skipping quoted values.
fn attribute_names(tag: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut quote = None;
    let mut current = String::new();
    let mut in_value = false;
    // Skip the tag's own name.
    let rest = tag.trim_start_matches('/');
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    for c in rest.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '=' => {
                if !current.is_empty() {
                    names.push(std::mem::take(&mut current));
                }
                in_value = true;
            }
            None if c.is_whitespace() || c == '/' => {
                if !current.is_empty() && !in_value {
                    names.push(std::mem::take(&mut current));
                }
                current.clear();
                in_value = false;
            }
            None if !in_value => current.push(c),
            None => {}
        }
    }
    if !current.is_empty() && !in_value {
        names.push(current);
    }
    names
}
