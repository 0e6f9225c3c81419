//! HTTP signatures for federation: keys parsed once, signatures computed with aws-lc-rs.
//!
//! One layer for both schemes: draft-cavage (`Signature` header, what Mastodon sends and expects by default) and
//! RFC 9421 (`Signature-Input` + `Signature`, Mastodon ≥ 4.5 and Fedify), on the same keys and the same
//! [`Verified`] result; RFC 9421 also with Ed25519 keys (FEP-521a). Outgoing requests are signed one of three
//! ways, [`Signing`], tried in the order of that chain. Incoming requests are verified in two steps, because the key usually has to be fetched in
//! between: [`prepare`] checks everything that needs no key and names the key; [`Prepared::verify`] checks the
//! signature with it.

pub mod cavage;
pub mod keys;
pub mod rfc9421;

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
pub use keys::{Ed25519Key, KeyError, KeyKind, PrivateKey, PublicKey};

/// Seconds since the Unix epoch (0 for times before it).
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The HTTP signature schemes Steppe knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12 as the fediverse uses it.
    DraftCavage,
    /// RFC 9421 HTTP Message Signatures (Mastodon ≥ 4.5, Fedify).
    Rfc9421,
}

/// How an outgoing request is signed, best first: the chain a sender walks down when a server refuses a signature
/// (400 or 401). An Ed25519 signature refused looks like any RFC 9421 signature refused, so the chain tries RSA
/// with RFC 9421 before giving up on RFC 9421.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signing {
    /// RFC 9421 with the blog's Ed25519 key (`alg="ed25519"`, key id `…#ed25519-key`): the cheapest to sign.
    Rfc9421Ed25519,
    /// RFC 9421 with the blog's RSA key.
    Rfc9421Rsa,
    /// draft-cavage with the blog's RSA key: what every server accepts.
    DraftCavage,
}

impl Signing {
    /// The chain, best first.
    pub const CHAIN: [Self; 3] = [Self::Rfc9421Ed25519, Self::Rfc9421Rsa, Self::DraftCavage];

    /// What to try after this was refused, if anything.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Rfc9421Ed25519 => Some(Self::Rfc9421Rsa),
            Self::Rfc9421Rsa => Some(Self::DraftCavage),
            Self::DraftCavage => None,
        }
    }

    /// The name used in `federation.signature_scheme` and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc9421Ed25519 => "rfc9421-ed25519",
            Self::Rfc9421Rsa => "rfc9421",
            Self::DraftCavage => "draft-cavage",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::CHAIN.into_iter().find(|s| s.as_str() == name)
    }

    /// The header scheme this signs with.
    pub fn scheme(self) -> Scheme {
        match self {
            Self::Rfc9421Ed25519 | Self::Rfc9421Rsa => Scheme::Rfc9421,
            Self::DraftCavage => Scheme::DraftCavage,
        }
    }
}

/// Why a request's signature was not accepted. Every variant means "answer 401" at the inbox.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the request is not signed")]
    Missing,
    #[error("the signature header is malformed: {0}")]
    Malformed(String),
    #[error("the signature algorithm {0} is not accepted")]
    UnsupportedAlgorithm(String),
    #[error("the header {0} must be signed")]
    UnsignedHeader(&'static str),
    #[error("the request was signed for another host")]
    WrongHost,
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
    /// When the request says it was signed (Unix seconds): its Date, or `created`.
    signed_at: u64,
    /// The algorithm the request names; `None`: the key's own (RFC 9421 without `alg`).
    algorithm: Option<rfc9421::Algorithm>,
}

impl Prepared {
    /// The key to fetch and verify with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// When the request says it was signed (Unix seconds). It is accepted until that plus the window, so a replay
    /// cache must remember it that long.
    pub fn signed_at(&self) -> u64 {
        self.signed_at
    }

    /// A digest of the signature itself, by which a replayed request is recognised.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.signature);
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks the signature with `key` (the key named by [`Prepared::key_id`]).
    pub fn verify(&self, key: &PublicKey) -> Result<Verified, SignatureError> {
        use rfc9421::Algorithm;
        let message = self.signing_string.as_bytes();
        // A key verifies only what its kind can sign: an algorithm that does not fit the key fails.
        let ok = match (self.algorithm, key.kind()) {
            (Some(Algorithm::RsaV15Sha256) | None, KeyKind::Rsa) => {
                key.verify_sha256(message, &self.signature)
            }
            (Some(Algorithm::RsaPssSha512), KeyKind::Rsa) => {
                key.verify_pss_sha512(message, &self.signature)
            }
            (Some(Algorithm::Ed25519) | None, KeyKind::Ed25519) => {
                key.verify_ed25519(message, &self.signature)
            }
            _ => false,
        };
        if ok {
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

/// Checks an incoming request's signature headers, its time (draft-cavage's Date, RFC 9421's `created`: within
/// `window` of `now`, either way) and its body digest, and names the key to verify with. The scheme is chosen by
/// the headers present. `origin` (`https://host[:port]`, where the request was sent) makes RFC 9421's
/// `@target-uri` and `@authority`.
pub fn prepare(
    request: &IncomingRequest<'_>,
    origin: &str,
    window: Duration,
    now: SystemTime,
) -> Result<Prepared, SignatureError> {
    if request.headers.contains_key("signature-input") {
        return rfc9421::prepare(request, origin, window, now);
    }
    cavage::prepare(request, origin, window, now)
}

/// Whether `authority` (a Host header: `host[:port]`) names the server at `origin` (`scheme://host[:port]`), the
/// scheme's default port written or not, case-insensitively.
pub fn same_authority(authority: &str, origin: &str) -> bool {
    let Some((scheme, ours)) = origin.trim_end_matches('/').split_once("://") else {
        return false;
    };
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    let normalise = |a: &str| {
        let a = a.trim().to_ascii_lowercase();
        match a.strip_suffix(default_port) {
            Some(bare) => bare.to_string(),
            None => a,
        }
    };
    normalise(authority) == normalise(ours)
}
