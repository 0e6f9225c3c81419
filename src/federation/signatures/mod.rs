//! HTTP signatures for federation: keys parsed once, signatures computed with aws-lc-rs.
//!
//! One layer for every scheme: today draft-cavage (`Signature` header, what Mastodon sends and expects by default);
//! RFC 9421 (`Signature-Input` + `Signature`) joins as a second [`Scheme`] on the same keys and the same
//! [`Verified`] result. Incoming requests are verified in two steps, because the key usually has to be fetched in
//! between: [`prepare`] checks everything that needs no key and names the key; [`Prepared::verify`] checks the
//! signature with it.

pub mod cavage;
pub mod keys;

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
pub use keys::{KeyError, PrivateKey, PublicKey};

/// The HTTP signature schemes Steppe knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12 as the fediverse uses it.
    DraftCavage,
    /// RFC 9421 HTTP Message Signatures (Mastodon ≥ 4.5, Fedify); not implemented yet.
    Rfc9421,
}

/// Why a request's signature was not accepted. Every variant means "answer 401" at the inbox.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the request is not signed")]
    Missing,
    #[error("the signature header is malformed: {0}")]
    Malformed(String),
    #[error("the signature scheme {0:?} is not supported yet")]
    UnsupportedScheme(Scheme),
    #[error("the signature algorithm {0} is not accepted")]
    UnsupportedAlgorithm(String),
    #[error("the header {0} must be signed")]
    UnsignedHeader(&'static str),
    #[error("the Date header is missing or not an HTTP date")]
    BadDate,
    #[error("the Date header is outside the accepted window")]
    Stale,
    #[error("the Digest header does not match the body")]
    DigestMismatch,
    #[error("the signature does not verify with the key")]
    BadSignature,
}

/// A request whose signature checked out: the key that made it (`https://host/actor#main-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key_id: String,
    pub scheme: Scheme,
}

/// A request that passed every check but the signature itself.
#[derive(Debug, Clone)]
pub struct Prepared {
    scheme: Scheme,
    key_id: String,
    signing_string: String,
    signature: Vec<u8>,
}

impl Prepared {
    /// The key to fetch and verify with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Checks the signature with `key` (the key named by [`Prepared::key_id`]).
    pub fn verify(&self, key: &PublicKey) -> Result<Verified, SignatureError> {
        if key.verify_sha256(self.signing_string.as_bytes(), &self.signature) {
            Ok(Verified {
                key_id: self.key_id.clone(),
                scheme: self.scheme,
            })
        } else {
            Err(SignatureError::BadSignature)
        }
    }
}

/// What an incoming request is: method, path with query as received, headers, and the raw body for POSTs.
#[derive(Debug, Clone, Copy)]
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: Option<&'a [u8]>,
}

/// Checks an incoming request's signature header, Date (within `window` of `now`, either way) and Digest, and
/// names the key to verify with. The scheme is chosen by the headers present.
pub fn prepare(
    request: &IncomingRequest<'_>,
    window: Duration,
    now: SystemTime,
) -> Result<Prepared, SignatureError> {
    if request.headers.contains_key("signature-input") {
        return Err(SignatureError::UnsupportedScheme(Scheme::Rfc9421));
    }
    cavage::prepare(request, window, now)
}
