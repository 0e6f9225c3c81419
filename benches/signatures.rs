//! Signature benchmark (not a test): RSA-2048 signatures and verifications per second with aws-lc-rs (what Steppe
//! uses) against the pure-Rust `rsa` crate (what activitypub_federation uses), on the same key and the same
//! messages, in one run; then Steppe's whole draft-cavage path (signing string, signature, header; and prepare +
//! verify of an incoming request); then Ed25519 (FEP-521a) with aws-lc-rs, and the whole RFC 9421 path signed with
//! it, against the RSA figures of the same run.
//!
//! `cargo bench --bench signatures` (option after `--`: `--seconds N`, per measurement, default 2).

use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, HeaderValue};
use rsa::{
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::DecodePrivateKey,
    signature::{SignatureEncoding, Signer, Verifier},
};
use sha2::Sha256;
use steppe::federation::signatures::{
    Ed25519Key, IncomingRequest, PrivateKey, PublicKey, cavage, prepare, rfc9421,
};

type BoxError = Box<dyn std::error::Error>;

/// Runs `f` repeatedly for `seconds`; returns operations per second.
fn rate(seconds: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        f();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Incoming POSTs to `https://blog.example` prepared and verified with `key` per second.
fn verified_rate(
    seconds: u64,
    request: &IncomingRequest<'_>,
    key: &PublicKey,
    now: SystemTime,
) -> f64 {
    rate(seconds, || {
        let prepared = prepare(
            request,
            "https://blog.example",
            Duration::from_secs(3600),
            now,
        )
        .map(|p| p.verify(key).is_ok());
        assert!(matches!(prepared, Ok(true)));
    })
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let ours = PrivateKey::generate()?;
    let der = ours.to_pkcs8_der()?;
    let public = PublicKey::from_pem(&ours.public_key_pem()?)?;
    let theirs = rsa::RsaPrivateKey::from_pkcs8_der(&der)?;
    let signing = SigningKey::<Sha256>::new(theirs.clone());
    let verifying = VerifyingKey::<Sha256>::new(theirs.to_public_key());
    let message = b"(request-target): post /inbox\nhost: social.example\ndate: Sat, 28 Nov 2026 12:00:00 GMT\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=";

    let signature = ours.sign_sha256(message)?;
    let theirs_sig = signing.sign(message);
    assert_eq!(
        theirs_sig.to_vec(),
        signature,
        "both produce the same PKCS#1 v1.5 signature"
    );
    let parsed_sig = Signature::try_from(signature.as_slice())?;

    println!("RSA-2048, PKCS#1 v1.5 with SHA-256, {seconds} s per measurement, one thread");
    println!(
        "{:<12} {:>14} {:>14} {:>8}",
        "operation", "aws-lc-rs /s", "rsa crate /s", "ratio"
    );
    let sign_ours = rate(seconds, || {
        let _ = ours.sign_sha256(message);
    });
    let sign_theirs = rate(seconds, || {
        let _ = signing.sign(message);
    });
    println!(
        "{:<12} {sign_ours:>14.0} {sign_theirs:>14.0} {:>8.1}",
        "sign",
        sign_ours / sign_theirs
    );
    let verify_ours = rate(seconds, || {
        assert!(public.verify_sha256(message, &signature));
    });
    let verify_theirs = rate(seconds, || {
        assert!(verifying.verify(message, &parsed_sig).is_ok());
    });
    println!(
        "{:<12} {verify_ours:>14.0} {verify_theirs:>14.0} {:>8.1}",
        "verify",
        verify_ours / verify_theirs
    );

    // Steppe's whole path for one request each way.
    let body = br#"{"type":"Follow"}"#;
    let now = SystemTime::now();
    let key_id = "https://social.example/users/a#main-key";
    let signed = cavage::sign(
        &ours,
        key_id,
        "POST",
        "blog.example",
        "/inbox",
        Some(body),
        now,
    )?;
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("blog.example"));
    headers.insert("date", HeaderValue::from_str(&signed.date)?);
    headers.insert(
        "digest",
        HeaderValue::from_str(signed.digest.as_deref().unwrap_or_default())?,
    );
    headers.insert("signature", HeaderValue::from_str(&signed.signature)?);
    let request = IncomingRequest {
        method: "POST",
        path_and_query: "/inbox",
        headers: &headers,
        body: Some(body),
    };
    let sign_path = rate(seconds, || {
        let _ = cavage::sign(
            &ours,
            key_id,
            "POST",
            "blog.example",
            "/inbox",
            Some(body),
            now,
        );
    });
    let verify_path = verified_rate(seconds, &request, &public, now);
    println!(
        "draft-cavage, whole request: {sign_path:.0} signed POSTs/s, {verify_path:.0} verified POSTs/s (one thread)"
    );

    // Ed25519, and RFC 9421 signed with it.
    let ed = Ed25519Key::generate()?;
    let ed_public = PublicKey::from_multibase(&ed.public_key_multibase())?;
    let ed_signature = ed.sign(message);
    let ed_sign = rate(seconds, || {
        let _ = ed.sign(message);
    });
    let ed_verify = rate(seconds, || {
        assert!(ed_public.verify_ed25519(message, &ed_signature));
    });
    println!(
        "Ed25519: {ed_sign:.0} signatures/s ({:.1}× RSA), {ed_verify:.0} verifications/s ({:.1}× RSA) (one thread)",
        ed_sign / sign_ours,
        ed_verify / verify_ours
    );
    let ed_key_id = "https://social.example/users/a#ed25519-key";
    let target = "https://blog.example/inbox";
    let ed_signed = rfc9421::sign(
        &ed,
        ed_key_id,
        "POST",
        target,
        Some((body, "application/activity+json")),
        now,
    )?;
    let mut ed_headers = HeaderMap::new();
    ed_headers.insert(
        "content-type",
        HeaderValue::from_static("application/activity+json"),
    );
    ed_headers.insert(
        "signature-input",
        HeaderValue::from_str(&ed_signed.signature_input)?,
    );
    ed_headers.insert("signature", HeaderValue::from_str(&ed_signed.signature)?);
    ed_headers.insert(
        "content-digest",
        HeaderValue::from_str(ed_signed.content_digest.as_deref().unwrap_or_default())?,
    );
    let ed_request = IncomingRequest {
        headers: &ed_headers,
        ..request
    };
    let ed_sign_path = rate(seconds, || {
        let _ = rfc9421::sign(
            &ed,
            ed_key_id,
            "POST",
            target,
            Some((body, "application/activity+json")),
            now,
        );
    });
    let ed_verify_path = verified_rate(seconds, &ed_request, &ed_public, now);
    println!(
        "RFC 9421 with Ed25519, whole request: {ed_sign_path:.0} signed POSTs/s ({:.1}× draft-cavage with RSA), \
         {ed_verify_path:.0} verified POSTs/s ({:.1}×) (one thread)",
        ed_sign_path / sign_path,
        ed_verify_path / verify_path
    );
    Ok(())
}
