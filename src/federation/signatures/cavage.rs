//! draft-cavage HTTP signatures (the `Signature` header most of the fediverse uses), signed and verified with
//! aws-lc-rs. Signing strings are built by `http-signature-normalization`; the rules around them (which headers
//! must be signed, the Date window in both directions, the body digest, the accepted algorithms) are ours.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use aws_lc_rs::digest;
use base64::{Engine, engine::general_purpose::STANDARD};
use http_signature_normalization::{
    Config,
    verify::{Algorithm, DeprecatedAlgorithm, ParsedHeader},
};

use super::{IncomingRequest, KeyError, Prepared, PrivateKey, Scheme, SignatureError};

/// `SHA-256=<base64>` of a body, the `Digest` header value.
pub fn digest_header(body: &[u8]) -> String {
    format!(
        "SHA-256={}",
        STANDARD.encode(digest::digest(&digest::SHA256, body))
    )
}

/// The headers that sign an outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub date: String,
    /// Present when the request has a body.
    pub digest: Option<String>,
    pub signature: String,
}

/// Signs a request as Mastodon expects: over `(request-target) host date` and, with a body, `digest`.
/// `host` is the authority the request goes to (`example.com` or `localhost:8080`).
pub fn sign(
    key: &PrivateKey,
    key_id: &str,
    method: &str,
    host: &str,
    path_and_query: &str,
    body: Option<&[u8]>,
    now: SystemTime,
) -> Result<SignedHeaders, KeyError> {
    let date = httpdate::fmt_http_date(now);
    let digest = body.map(digest_header);
    let mut headers = BTreeMap::new();
    headers.insert("host".to_string(), host.to_string());
    headers.insert("date".to_string(), date.clone());
    if let Some(d) = &digest {
        headers.insert("digest".to_string(), d.clone());
    }
    let unsigned = Config::new()
        .mastodon_compat()
        .begin_sign(method, path_and_query, headers)
        .map_err(|_| KeyError::Sign)?;
    let signed = unsigned.sign(key_id.to_string(), |signing_string| {
        key.sign_sha256(signing_string.as_bytes())
            .map(|sig| STANDARD.encode(sig))
    })?;
    // The library always writes hs2019; Mastodon sends rsa-sha256, and some verifiers (Python's httpsig) refuse
    // hs2019, so the header names the algorithm it really is.
    let signature = signed.signature_header().replacen(
        ",algorithm=\"hs2019\",",
        ",algorithm=\"rsa-sha256\",",
        1,
    );
    Ok(SignedHeaders {
        date,
        digest,
        signature,
    })
}

/// The request's headers as the signing string needs them: lowercase names, repeated headers joined with ", ".
fn header_map(request: &IncomingRequest<'_>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in request.headers {
        let Ok(value) = value.to_str() else { continue };
        map.entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }
    map
}

/// Latest `created` or `expires` taken seriously: the end of year 9999, the last second an HTTP date can name.
const LATEST_TIMESTAMP: u64 = 253_402_300_799;

/// The `created` and `expires` parameters of a `Signature` header, read before the header reaches
/// `http-signature-normalization`: that crate adds them to the Unix epoch unchecked, which panics for values such
/// as `18446744073709551615`. Anything that is not a plain number of seconds up to [`LATEST_TIMESTAMP`] is refused.
fn timestamps(header: &str) -> Result<(Option<u64>, Option<u64>), SignatureError> {
    let mut found = (None, None);
    for part in header.split(',') {
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let slot = match name.as_str() {
            "created" => &mut found.0,
            "expires" => &mut found.1,
            _ => continue,
        };
        let value = value.trim().trim_matches('"');
        let seconds = value
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= LATEST_TIMESTAMP && !value.starts_with('+'))
            .ok_or_else(|| SignatureError::Malformed(format!("{name} is not a time")))?;
        *slot = Some(seconds);
    }
    Ok(found)
}

/// Checks everything but the signature itself; see [`super::prepare`].
pub fn prepare(
    request: &IncomingRequest<'_>,
    origin: &str,
    window: Duration,
    now: SystemTime,
) -> Result<Prepared, SignatureError> {
    let mut headers = header_map(request);
    // The signed Host must be ours: a request signed for another server is not a request to us.
    let host_is_ours = headers
        .get("host")
        .is_some_and(|host| super::same_authority(host, origin));
    if !host_is_ours {
        return Err(SignatureError::WrongHost);
    }
    let header = headers
        .remove("signature")
        .or_else(|| {
            headers
                .remove("authorization")
                .filter(|a| a.starts_with("Signature "))
        })
        .ok_or(SignatureError::Missing)?;
    let (created, expires) = timestamps(&header)?;
    let parsed: ParsedHeader = header.parse().map_err(
        |e: http_signature_normalization::verify::ParseSignatureError| {
            SignatureError::Malformed(e.to_string())
        },
    )?;
    let date = headers.get("date").cloned();
    let digest = headers.get("digest").cloned();
    // Every header the signature names must be present; these must be among them.
    let mut required = vec!["(request-target)", "host", "date"];
    if request.body.is_some() {
        required.push("digest");
    }
    let unvalidated = parsed
        .into_unvalidated(
            request.method,
            request.path_and_query,
            &mut headers,
            required.iter().map(|s| s.to_string()).collect(),
        )
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    // The library's own expiry check uses the wall clock and only looks back; ours (below) takes `now` and looks
    // both ways, so the library's is given a bound it never reaches.
    let unverified = unvalidated
        .validate(Duration::from_secs(100 * 365 * 24 * 3600))
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    // hs2019 (the algorithm then follows from the key) and rsa-sha256; no HMAC, no SHA-1, no ECDSA here.
    match unverified.algorithm() {
        None
        | Some(Algorithm::Hs2019)
        | Some(Algorithm::Deprecated(DeprecatedAlgorithm::RsaSha256)) => {}
        Some(other) => return Err(SignatureError::UnsupportedAlgorithm(format!("{other:?}"))),
    }
    for name in required {
        let line = format!("{name}: ");
        if !unverified
            .signing_string()
            .lines()
            .any(|l| l.starts_with(&line))
        {
            return Err(SignatureError::UnsignedHeader(name));
        }
    }
    let date = date
        .and_then(|d| httpdate::parse_http_date(&d).ok())
        .ok_or(SignatureError::BadDate)?;
    let now_s = super::unix_seconds(now);
    let window_s = window.as_secs();
    if now_s.abs_diff(super::unix_seconds(date)) > window_s
        || created.is_some_and(|c| now_s.abs_diff(c) > window_s)
        || expires.is_some_and(|e| e < now_s)
    {
        return Err(SignatureError::Stale);
    }
    if let Some(body) = request.body {
        let expected = digest_header(body);
        let matches = digest.as_deref().is_some_and(|d| {
            d.split(',').map(str::trim).any(|part| {
                part.split_once('=')
                    .is_some_and(|(alg, _)| alg.eq_ignore_ascii_case("SHA-256"))
                    && part.get(8..) == expected.get(8..)
            })
        });
        if !matches {
            return Err(SignatureError::DigestMismatch);
        }
    }
    let signature = STANDARD
        .decode(unverified.signature())
        .map_err(|_| SignatureError::Malformed("the signature is not base64".into()))?;
    Ok(Prepared {
        scheme: Scheme::DraftCavage,
        key_id: unverified.key_id().to_string(),
        signing_string: unverified.signing_string().to_string(),
        signature,
        algorithm: Some(super::rfc9421::Algorithm::RsaV15Sha256),
        signed_at: created.unwrap_or_else(|| super::unix_seconds(date)),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY;
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::federation::signatures::PublicKey;

    fn prepare_any(
        request: &IncomingRequest<'_>,
        window: Duration,
        now: SystemTime,
    ) -> Result<Prepared, SignatureError> {
        // As if sent to whichever host the request names (the host check has its own test).
        let host = request
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("example.com");
        crate::federation::signatures::prepare(request, &format!("https://{host}"), window, now)
    }

    #[test]
    fn huge_timestamps_and_foreign_hosts_are_refused_without_panicking() {
        let key = PrivateKey::generate().expect("key");
        let now = SystemTime::now();
        let mut headers = signed_request(&key, None, now);
        let original = headers["signature"].to_str().expect("str").to_string();
        let request = |headers: &HeaderMap| {
            let request = IncomingRequest {
                method: "POST",
                path_and_query: "/inbox",
                headers,
                body: None,
            };
            crate::federation::signatures::prepare(
                &request,
                "https://b.example",
                Duration::from_secs(3600),
                now,
            )
        };
        assert!(request(&headers).is_ok());
        for value in [
            "created=18446744073709551615",
            "created=9223372036854775807",
            "expires=18446744073709551615",
            "created=\"99999999999999999999999\"",
            "created=-1",
            "created=+5",
        ] {
            headers.insert(
                "signature",
                HeaderValue::from_str(&format!("{original},{value}")).expect("header"),
            );
            assert!(
                matches!(request(&headers), Err(SignatureError::Malformed(_))),
                "{value}"
            );
        }
        // A far but representable time is just stale.
        headers.insert(
            "signature",
            HeaderValue::from_str(&format!("{original},created=253402300799")).expect("header"),
        );
        assert!(matches!(
            request(&headers),
            Err(SignatureError::Malformed(_) | SignatureError::Stale)
        ));
        headers.insert(
            "signature",
            HeaderValue::from_str(&original).expect("header"),
        );
        for host in ["mastodon.example", "b.example.evil", ""] {
            headers.insert("host", HeaderValue::from_str(host).expect("host"));
            assert_eq!(
                request(&headers).err(),
                Some(SignatureError::WrongHost),
                "{host}"
            );
        }
        for host in ["B.Example", "b.example:443"] {
            headers.insert("host", HeaderValue::from_str(host).expect("host"));
            assert_ne!(
                request(&headers).err(),
                Some(SignatureError::WrongHost),
                "{host}"
            );
        }
    }

    /// The 1024-bit test key of draft-cavage-http-signatures-12, Appendix C.
    pub(crate) const TEST_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----";

    const SPEC_DATE: &str = "Sun, 05 Jan 2014 21:31:40 GMT";
    const SPEC_BODY: &[u8] = br#"{"hello": "world"}"#;

    fn spec_headers(signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("example.com"));
        h.insert("date", HeaderValue::from_static(SPEC_DATE));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert(
            "digest",
            HeaderValue::from_static("SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="),
        );
        h.insert("content-length", HeaderValue::from_static("18"));
        h.insert(
            "signature",
            HeaderValue::from_str(signature).expect("header"),
        );
        h
    }

    fn spec_now() -> SystemTime {
        httpdate::parse_http_date(SPEC_DATE).expect("date") + Duration::from_secs(30)
    }

    #[test]
    fn digest_of_the_spec_body() {
        assert_eq!(
            digest_header(SPEC_BODY),
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
        );
    }

    /// Appendix C.3 ("All Headers Test") of draft-cavage-http-signatures-12, verified with the spec's key.
    #[test]
    fn verifies_the_specification_vector() {
        let signature = "keyId=\"Test\",algorithm=\"rsa-sha256\",\
            headers=\"(request-target) host date content-type digest content-length\",\
            signature=\"vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=\"";
        let headers = spec_headers(signature);
        let request = IncomingRequest {
            method: "POST",
            path_and_query: "/foo?param=value&pet=dog",
            headers: &headers,
            body: Some(SPEC_BODY),
        };
        let prepared =
            prepare_any(&request, Duration::from_secs(3600), spec_now()).expect("prepared");
        assert_eq!(prepared.key_id(), "Test");
        let key = PublicKey::from_pem_with(
            TEST_PUBLIC_KEY,
            &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        )
        .expect("spec key");
        assert_eq!(prepared.verify(&key).expect("verifies").key_id, "Test");

        // The same request with the query changed no longer verifies.
        let tampered = IncomingRequest {
            path_and_query: "/foo?param=value&pet=cat",
            ..request
        };
        let prepared =
            prepare_any(&tampered, Duration::from_secs(3600), spec_now()).expect("prepared");
        assert_eq!(prepared.verify(&key), Err(SignatureError::BadSignature));
    }

    fn signed_request(key: &PrivateKey, body: Option<&[u8]>, now: SystemTime) -> HeaderMap {
        let s = sign(
            key,
            "https://a.example/actor#main-key",
            "POST",
            "b.example",
            "/inbox",
            body,
            now,
        )
        .expect("sign");
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("b.example"));
        h.insert("date", HeaderValue::from_str(&s.date).expect("date"));
        if let Some(d) = s.digest {
            h.insert("digest", HeaderValue::from_str(&d).expect("digest"));
        }
        h.insert(
            "signature",
            HeaderValue::from_str(&s.signature).expect("sig"),
        );
        h
    }

    #[test]
    fn round_trip_and_every_refusal() {
        let key = PrivateKey::generate().expect("key");
        let public = PublicKey::from_pem(&key.public_key_pem().expect("pem")).expect("public");
        let now = SystemTime::now();
        let window = Duration::from_secs(3600);
        let body: &[u8] = br#"{"type":"Follow"}"#;
        let headers = signed_request(&key, Some(body), now);
        let signature = headers["signature"].to_str().expect("str").to_string();
        assert!(
            signature.contains(r#"headers="(request-target) date digest host""#),
            "{signature}"
        );
        assert!(
            signature.contains(r#",algorithm="rsa-sha256","#),
            "{signature}"
        );
        let request = IncomingRequest {
            method: "POST",
            path_and_query: "/inbox",
            headers: &headers,
            body: Some(body),
        };
        let verified = prepare_any(&request, window, now)
            .expect("prepare")
            .verify(&public)
            .expect("verify");
        assert_eq!(verified.key_id, "https://a.example/actor#main-key");
        assert_eq!(verified.scheme, Scheme::DraftCavage);

        // Another body: the digest no longer matches.
        let other = IncomingRequest {
            body: Some(b"{}"),
            ..request
        };
        assert_eq!(
            prepare_any(&other, window, now).err(),
            Some(SignatureError::DigestMismatch)
        );
        // Too old, and too far in the future.
        let late = now + Duration::from_secs(3601);
        assert_eq!(
            prepare_any(&request, window, late).err(),
            Some(SignatureError::Stale)
        );
        let early = now - Duration::from_secs(3601);
        assert_eq!(
            prepare_any(&request, window, early).err(),
            Some(SignatureError::Stale)
        );
        // Another key.
        let stranger = PrivateKey::generate().expect("key");
        let stranger =
            PublicKey::from_pem(&stranger.public_key_pem().expect("pem")).expect("public");
        let prepared = prepare_any(&request, window, now).expect("prepare");
        assert_eq!(
            prepared.verify(&stranger),
            Err(SignatureError::BadSignature)
        );
        // A host header changed in transit.
        let mut moved = headers.clone();
        moved.insert("host", HeaderValue::from_static("c.example"));
        let prepared = prepare_any(
            &IncomingRequest {
                headers: &moved,
                ..request
            },
            window,
            now,
        )
        .expect("prepare");
        assert_eq!(prepared.verify(&public), Err(SignatureError::BadSignature));
        // No signature at all.
        let mut unsigned = headers.clone();
        unsigned.remove("signature");
        assert_eq!(
            prepare_any(
                &IncomingRequest {
                    headers: &unsigned,
                    ..request
                },
                window,
                now
            )
            .err(),
            Some(SignatureError::Missing)
        );
        // A Signature-Input header means RFC 9421, whose Signature is a dictionary: a cavage Signature is not one.
        let mut rfc = headers.clone();
        rfc.insert("signature-input", HeaderValue::from_static("sig1=()"));
        assert_eq!(
            prepare_any(
                &IncomingRequest {
                    headers: &rfc,
                    ..request
                },
                window,
                now
            )
            .err(),
            Some(SignatureError::Malformed(
                "Signature is not a dictionary".into()
            ))
        );
    }

    #[test]
    fn posts_must_sign_the_digest_and_the_target() {
        let key = PrivateKey::generate().expect("key");
        let now = SystemTime::now();
        let body: &[u8] = b"{}";
        // Signed as a GET (no digest) but delivered with a body.
        let headers = signed_request(&key, None, now);
        let request = IncomingRequest {
            method: "POST",
            path_and_query: "/inbox",
            headers: &headers,
            body: Some(body),
        };
        let err = prepare_any(&request, Duration::from_secs(60), now).expect_err("refused");
        assert!(
            matches!(
                err,
                SignatureError::Malformed(_) | SignatureError::UnsignedHeader("digest")
            ),
            "{err:?}"
        );

        // A signature over the date alone.
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("b.example"));
        h.insert(
            "date",
            HeaderValue::from_str(&httpdate::fmt_http_date(now)).expect("date"),
        );
        h.insert(
            "signature",
            HeaderValue::from_static("keyId=\"k\",headers=\"date\",signature=\"AAAA\""),
        );
        let get = IncomingRequest {
            method: "GET",
            path_and_query: "/actor",
            headers: &h,
            body: None,
        };
        let err = prepare_any(&get, Duration::from_secs(60), now).expect_err("refused");
        assert!(
            matches!(&err, SignatureError::Malformed(m) if m.contains("Missing required headers")),
            "{err:?}"
        );

        // HMAC is not accepted.
        h.insert(
            "signature",
            HeaderValue::from_static("keyId=\"k\",algorithm=\"hmac-sha256\",headers=\"(request-target) host date\",signature=\"AAAA\""),
        );
        let get = IncomingRequest {
            method: "GET",
            path_and_query: "/actor",
            headers: &h,
            body: None,
        };
        assert!(matches!(
            prepare_any(&get, Duration::from_secs(60), now),
            Err(SignatureError::UnsupportedAlgorithm(_))
        ));
    }
}
