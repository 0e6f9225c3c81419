//! The one HTTP client for talking to other servers: every GET signed with the blog's key, every POST signed with
//! a digest, the way each host accepts (RFC 9421 with the Ed25519 key first, then RFC 9421 with the RSA key, then
//! draft-cavage, after a 400 or 401; learned per host, see `signing`; or one way always,
//! `federation.signature_scheme`); only https (http too where private addresses are allowed); no private, loopback
//! or link-local addresses (after DNS resolution, and on every redirect) unless
//! `federation.allow_private_addresses`; responses capped at 1 MiB; 10 s timeout (deliveries:
//! `delivery.timeout_seconds`); 3 redirects; idle connections kept per host and reused.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, SystemTime},
};

use axum::http::{HeaderValue, Method, StatusCode, header};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use super::{
    http::ACTIVITY_JSON,
    keys::BlogKey,
    signatures::{Signing, cavage, rfc9421},
    signing::SigningMemory,
};

/// Largest response body read from another server.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 3;
const ACCEPT_AP: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// Why a remote request failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("not an https URL: {0}")]
    Scheme(String),
    #[error("refusing to contact a private or local address ({0})")]
    PrivateAddress(String),
    #[error("too many redirects")]
    Redirects,
    #[error("the response is larger than 1 MiB")]
    TooLarge,
    #[error("the server answered {0}")]
    Status(StatusCode),
    #[error("the response is not a document of the expected type (Content-Type {0:?})")]
    ContentType(String),
    #[error("the response is not valid JSON: {0}")]
    Json(String),
    #[error("cannot sign the request")]
    Sign,
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
}

impl FetchError {
    /// Whether trying again later may succeed (timeouts, connection errors, 5xx, 401, 408, 429). A 401 is
    /// temporary because the inbox may not have fetched our key yet, or may be fetching it again.
    pub fn is_temporary(&self) -> bool {
        match self {
            Self::Status(s) => {
                s.is_server_error()
                    || *s == StatusCode::UNAUTHORIZED
                    || *s == StatusCode::REQUEST_TIMEOUT
                    || *s == StatusCode::TOO_MANY_REQUESTS
            }
            Self::Http(e) => e.is_timeout() || e.is_connect() || e.is_request(),
            _ => false,
        }
    }
}

/// Addresses that must not be reached from here unless explicitly allowed (tests on loopback): private, loopback,
/// link-local, shared, benchmarking, documentation, multicast and reserved ranges, and IPv6 forms that carry an
/// IPv4 address inside (mapped, compatible, NAT64, 6to4, Teredo), which could lead back to any of them.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || o[0] >= 224 // multicast, 240.0.0.0/4 reserved, broadcast
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || s[..6].iter().all(|x| *x == 0) // ::a.b.c.d, IPv4-compatible (deprecated)
                || (s[0] == 0x0064 && s[1] == 0xff9b) // 64:ff9b::/96 and 64:ff9b:1::/48, NAT64
                || (s[0] == 0x0100 && s[1..4].iter().all(|x| *x == 0)) // 100::/64, discard
                || s[0] == 0x2002 // 6to4
                || (s[0] == 0x2001 && s[1] == 0) // Teredo
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] & 0xff00) == 0xff00 // multicast
        }
    }
}

/// DNS resolution that drops private addresses (unless allowed), so a public name cannot point us inward.
#[derive(Clone)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || !is_private(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(FetchError::PrivateAddress(host))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The guarded, signing client of one instance.
#[derive(Clone)]
pub struct FederationClient {
    http: reqwest::Client,
    key: Arc<BlogKey>,
    key_id: String,
    /// The id under which the Ed25519 key is published (when `key` has one).
    ed25519_key_id: String,
    allow_private: bool,
    /// The way every request is signed (`federation.signature_scheme`), or `None` to choose per host.
    forced: Option<Signing>,
    /// Per host, the way that worked where the best did not.
    memory: SigningMemory,
}

/// How requests are signed: one way always, or per host (down the chain after a 400 or 401, remembered when it
/// works).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeChoice {
    Auto,
    Always(Signing),
}

impl FederationClient {
    /// A client signing as the blog: `key_id` names its RSA key, `ed25519_key_id` its Ed25519 key; `memory` keeps
    /// what each host accepts.
    pub fn new(
        key: Arc<BlogKey>,
        key_id: String,
        ed25519_key_id: String,
        allow_private: bool,
        user_agent: &str,
        schemes: SchemeChoice,
        memory: SigningMemory,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()?;
        Ok(Self {
            http,
            key,
            key_id,
            ed25519_key_id,
            allow_private,
            forced: match schemes {
                SchemeChoice::Auto => None,
                SchemeChoice::Always(s) => Some(s),
            },
            memory,
        })
    }

    /// The same client signing as another local actor (`key`, published as `key_id`): the old WordPress actor this
    /// blog took over signs its `Move` with its own key. It uses what was learned but teaches nothing (it has no
    /// Ed25519 key, so a host's answer to it says nothing about the best way).
    pub fn signing_as(&self, key: Arc<BlogKey>, key_id: String) -> Self {
        Self {
            http: self.http.clone(),
            key,
            key_id,
            ed25519_key_id: self.ed25519_key_id.clone(),
            allow_private: self.allow_private,
            forced: self.forced,
            memory: self.memory.clone(),
        }
    }

    /// The scheme to reach other servers with: https, or http where private addresses are allowed (tests).
    pub fn scheme(&self) -> &'static str {
        if self.allow_private { "http" } else { "https" }
    }

    /// Refuses URLs that are not http(s), and literal IP hosts that are private (names are checked on resolution).
    fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        // Plain http only where private addresses are allowed too (tests on one machine).
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && self.allow_private);
        if !scheme_ok {
            return Err(FetchError::Scheme(url.to_string()));
        }
        let host = url
            .host()
            .ok_or_else(|| FetchError::Scheme(url.to_string()))?;
        let ip = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => {
                Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
            }
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = ip.filter(|ip| is_private(*ip) && !self.allow_private) {
            return Err(FetchError::PrivateAddress(ip.to_string()));
        }
        Ok(())
    }

    /// The way to sign a request to `url` with first: the forced one, else what the host was learned to accept.
    async fn first_signing(&self, url: &Url) -> Signing {
        let first = match self.forced {
            Some(forced) => forced,
            None => self.memory.first(&host_key(url), crate::db::now()).await,
        };
        self.usable(first)
    }

    /// `signing`, or the next way down the chain if it needs a key this signer does not have.
    fn usable(&self, signing: Signing) -> Signing {
        match signing {
            Signing::Rfc9421Ed25519 if self.key.ed25519.is_none() => Signing::Rfc9421Rsa,
            other => other,
        }
    }

    /// After a request signed `tried` was refused (400, 401): the way to try instead, if any.
    fn fallback(&self, tried: Signing, status: StatusCode) -> Option<Signing> {
        let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST;
        if self.forced.is_some() || !refused {
            return None;
        }
        tried.next().map(|next| self.usable(next))
    }

    /// Sends the request `make` builds for `url`, signed the way the host accepts: first the way learned for it,
    /// then down the chain while it refuses (each refused answer is read and dropped, so that the connection is
    /// reused). What worked is learned. Returns the last answer.
    async fn send_signed(
        &self,
        url: &Url,
        make: impl Fn(Signing) -> Result<reqwest::RequestBuilder, FetchError>,
    ) -> Result<reqwest::Response, FetchError> {
        let first = self.first_signing(url).await;
        let mut used = first;
        let mut response = make(first)?.send().await?;
        while let Some(next) = self.fallback(used, response.status()) {
            let _ = Self::read_capped(response).await;
            used = next;
            response = make(next)?.send().await?;
        }
        // A signer without an Ed25519 key (the WordPress actor) did not try the best way: its answer teaches nothing.
        if self.forced.is_none() && self.key.ed25519.is_some() && response.status().is_success() {
            self.memory
                .accepted(&host_key(url), first, used, crate::db::now())
                .await;
        }
        Ok(response)
    }

    fn signed(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
        signing: Signing,
    ) -> Result<reqwest::RequestBuilder, FetchError> {
        let host = host_key(url);
        let request = self
            .http
            .request(method.clone(), url.clone())
            .header(header::HOST, host.clone());
        let (signer, key_id): (rfc9421::Signer<'_>, &str) = match (signing, &self.key.ed25519) {
            (Signing::DraftCavage, _) => {
                let path_and_query = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                };
                let signed = cavage::sign(
                    &self.key.private,
                    &self.key_id,
                    method.as_str(),
                    &host,
                    &path_and_query,
                    body,
                    SystemTime::now(),
                )
                .map_err(|_| FetchError::Sign)?;
                let mut request = request
                    .header(header::DATE, signed.date)
                    .header("signature", signed.signature);
                if let Some(digest) = signed.digest {
                    request = request.header("digest", digest);
                }
                return Ok(request);
            }
            (Signing::Rfc9421Ed25519, Some(ed25519)) => (ed25519.into(), &self.ed25519_key_id),
            // Without an Ed25519 key, RFC 9421 is signed with the RSA key.
            (Signing::Rfc9421Ed25519 | Signing::Rfc9421Rsa, _) => {
                ((&self.key.private).into(), &self.key_id)
            }
        };
        let signed = rfc9421::sign(
            signer,
            key_id,
            method.as_str(),
            url.as_str(),
            body.map(|b| (b, ACTIVITY_JSON)),
            SystemTime::now(),
        )
        .map_err(|_| FetchError::Sign)?;
        let mut request = request
            .header(header::DATE, httpdate::fmt_http_date(SystemTime::now()))
            .header("signature-input", signed.signature_input)
            .header("signature", signed.signature);
        if let Some(digest) = signed.content_digest {
            request = request.header("content-digest", digest);
        }
        Ok(request)
    }

    /// Reads a body up to [`MAX_RESPONSE_BYTES`].
    async fn read_capped(response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        Self::read_up_to(response, MAX_RESPONSE_BYTES).await
    }

    /// Reads a body up to `max` bytes.
    async fn read_up_to(
        mut response: reqwest::Response,
        max: usize,
    ) -> Result<Vec<u8>, FetchError> {
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Where a redirect answer sends `url` next (`None` for an answer that is not a redirect).
    fn redirected(url: &Url, response: &reqwest::Response) -> Result<Option<Url>, FetchError> {
        let status = response.status();
        if !status.is_redirection() {
            return Ok(None);
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or(FetchError::Status(status))?;
        url.join(location)
            .map(Some)
            .map_err(|_| FetchError::Scheme(location.to_string()))
    }

    /// A signed GET of an ActivityStreams document, following up to three redirects (each hop signed anew).
    /// Returns the final URL and the parsed JSON.
    pub async fn fetch_json(&self, url: &str) -> Result<(Url, serde_json::Value), FetchError> {
        self.fetch_json_as(url, ACCEPT_AP, super::http::is_activity_content_type)
            .await
    }

    /// A WebFinger document (JRD), fetched like [`FederationClient::fetch_json`].
    pub async fn fetch_jrd(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        self.fetch_json_as(url, "application/jrd+json, application/json", |ct| {
            matches!(
                super::http::media_type(ct).as_str(),
                "application/jrd+json" | "application/json"
            )
        })
        .await
        .map(|(_, json)| json)
    }

    async fn fetch_json_as(
        &self,
        url: &str,
        accept: &'static str,
        acceptable: fn(&str) -> bool,
    ) -> Result<(Url, serde_json::Value), FetchError> {
        let mut url = Url::parse(url).map_err(|_| FetchError::Scheme(url.to_string()))?;
        for _ in 0..=MAX_REDIRECTS {
            self.check_url(&url)?;
            let response = self
                .send_signed(&url, |signing| {
                    Ok(self
                        .signed(Method::GET, &url, None, signing)?
                        .header(header::ACCEPT, accept))
                })
                .await?;
            if let Some(next) = Self::redirected(&url, &response)? {
                url = next;
                continue;
            }
            let status = response.status();
            if !status.is_success() {
                return Err(FetchError::Status(status));
            }
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            if !acceptable(&content_type) {
                return Err(FetchError::ContentType(content_type));
            }
            let body = Self::read_capped(response).await?;
            let json =
                serde_json::from_slice(&body).map_err(|e| FetchError::Json(e.to_string()))?;
            return Ok((url, json));
        }
        Err(FetchError::Redirects)
    }

    /// An image (a commenter's avatar): an unsigned GET through the same guards, up to `max_bytes`, following up to
    /// three redirects. The bytes are checked by the caller, not the answer's content type.
    pub async fn fetch_image(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, FetchError> {
        let mut url = Url::parse(url).map_err(|_| FetchError::Scheme(url.to_string()))?;
        for _ in 0..=MAX_REDIRECTS {
            self.check_url(&url)?;
            let response = self
                .http
                .get(url.clone())
                .header(
                    header::ACCEPT,
                    "image/webp, image/png, image/jpeg, image/gif",
                )
                .send()
                .await?;
            if let Some(next) = Self::redirected(&url, &response)? {
                url = next;
                continue;
            }
            let status = response.status();
            if !status.is_success() {
                return Err(FetchError::Status(status));
            }
            return Self::read_up_to(response, max_bytes).await;
        }
        Err(FetchError::Redirects)
    }

    /// A signed POST of an activity to an inbox, signed now (a fresh `Date`), within `timeout`. The body is shared,
    /// not copied; the answer's body is read (capped) and dropped, so that the connection can be reused.
    pub async fn post_activity(
        &self,
        inbox: &str,
        body: bytes::Bytes,
        timeout: Duration,
    ) -> Result<Answer, FetchError> {
        let url = Url::parse(inbox).map_err(|_| FetchError::Scheme(inbox.to_string()))?;
        self.check_url(&url)?;
        let post = |signing: Signing| -> Result<reqwest::RequestBuilder, FetchError> {
            Ok(self
                .signed(Method::POST, &url, Some(&body), signing)?
                .header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(ACTIVITY_JSON),
                )
                .timeout(timeout)
                .body(body.clone()))
        };
        let response = self.send_signed(&url, post).await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let _ = Self::read_capped(response).await;
        Ok(Answer {
            status,
            retry_after,
        })
    }
}

/// `host[:port]` of a URL: the Host header, and the key of the per-host signing memory.
fn host_key(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}

/// How an inbox answered a POST.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: StatusCode,
    /// What its `Retry-After` asked for, if anything.
    pub retry_after: Option<Duration>,
}

/// A `Retry-After` value: seconds, or an HTTP date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_or_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
            Some(Duration::from_secs(1_445_412_600 - 1_445_412_480))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "255.255.255.255",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
            "fec0::1",
            "ff02::1",
            "198.18.0.1",
            "198.19.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "100::1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "198.20.0.1",
            "2001:4860::8888",
        ] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }
}
