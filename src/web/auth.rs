//! Who is asking: session cookies, the owner extractor, CSRF tokens on every form, client addresses, and login
//! with throttling.

use std::net::SocketAddr;

use aws_lc_rs::hmac;
use axum::{
    extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::{IntoResponse, IntoResponseParts, Redirect, Response, ResponseParts},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    app::AppState,
    db::{self, sessions, users::User},
    error::AppError,
};

/// The hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The cookies Steppe sets. Under https their names carry the `__Host-` prefix, which browsers accept only from
/// this very host, over https, for the whole path and without a Domain: a sibling subdomain or a plain-http
/// injection cannot plant them.
#[derive(Debug, Clone, Copy)]
enum CookieName {
    /// The owner's session (a random token; its hash is stored).
    Session,
    /// A random id before login, to which the login and setup forms' CSRF tokens are bound.
    PreSession,
    /// Set on a browser that logged in, so that it gets past a username locked by strangers' guesses.
    Device,
    /// Names the form this browser posted after its session had ended, kept until the owner logs in again.
    Recover,
}

impl CookieName {
    fn name(self, https: bool) -> &'static str {
        match (self, https) {
            (Self::Session, false) => "steppe_session",
            (Self::Session, true) => "__Host-steppe_session",
            (Self::PreSession, false) => "steppe_csrf",
            (Self::PreSession, true) => "__Host-steppe_csrf",
            (Self::Device, false) => "steppe_device",
            (Self::Device, true) => "__Host-steppe_device",
            (Self::Recover, false) => "steppe_recover",
            (Self::Recover, true) => "__Host-steppe_recover",
        }
    }
}

/// The value of cookie `name`, if the request carries it.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn our_cookie<'a>(state: &AppState, headers: &'a HeaderMap, which: CookieName) -> Option<&'a str> {
    cookie(headers, which.name(state.config.is_https()))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, and Secure when the blog is served over https.
fn set_cookie(
    state: &AppState,
    which: CookieName,
    value: &str,
    max_age_secs: i64,
) -> Option<HeaderValue> {
    let https = state.config.is_https();
    let secure = if https { "; Secure" } else { "" };
    let name = which.name(https);
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// 32 random bytes, URL-safe base64: session tokens, pre-session ids and device ids.
fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn looks_like_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key that signs what the server hands out in cookies and forms (CSRF tokens, device cookies). It is derived
/// from the blog's private key, so every process sharing the database has the same one and nothing new is stored.
pub struct CookieKey(hmac::Key);

impl CookieKey {
    pub fn derive(private_key_der: &[u8]) -> Self {
        let mut material = b"steppe cookie key v1\0".to_vec();
        material.extend_from_slice(private_key_der);
        let seed = Sha256::digest(&material);
        Self(hmac::Key::new(hmac::HMAC_SHA256, &seed))
    }

    /// A MAC over `purpose` and `value`, URL-safe base64 (43 characters).
    fn sign(&self, purpose: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(purpose.as_bytes());
        ctx.update(b"\0");
        ctx.update(value.as_bytes());
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }

    fn verify(&self, purpose: &str, value: &str, mac: &str) -> bool {
        bool::from(self.sign(purpose, value).as_bytes().ct_eq(mac.as_bytes()))
    }
}

/// The CSRF token a request's forms must carry: bound to its session when it has one, else to its pre-session
/// cookie. `None` when the request has neither (a new pre-session id is then needed).
fn expected_csrf(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(session) =
        our_cookie(state, headers, CookieName::Session).filter(|t| looks_like_token(t))
    {
        return Some(state.cookie_key.sign("csrf-session", session));
    }
    our_cookie(state, headers, CookieName::PreSession)
        .filter(|t| looks_like_token(t))
        .map(|pre| state.cookie_key.sign("csrf-pre", pre))
}

/// The CSRF token for forms on this page, bound to the visitor's session (or, before login, to a pre-session
/// cookie that the response sets when the visitor has none).
///
/// A POST must carry the token that the server derives from the cookies it comes with. Another site can make the
/// browser send the cookies but cannot read the page to learn the token; and whoever can plant a cookie for this
/// host cannot make a token that matches the owner's session, because tokens are MACs under a server key.
#[derive(Debug, Clone)]
pub struct CsrfToken {
    token: String,
    set_cookie: Option<HeaderValue>,
}

impl CsrfToken {
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl FromRequestParts<AppState> for CsrfToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = expected_csrf(state, &parts.headers) {
            return Ok(Self {
                token,
                set_cookie: None,
            });
        }
        let pre = random_token();
        let set_cookie = set_cookie(state, CookieName::PreSession, &pre, 60 * 60 * 24 * 365);
        Ok(Self {
            token: state.cookie_key.sign("csrf-pre", &pre),
            set_cookie,
        })
    }
}

impl IntoResponseParts for CsrfToken {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        if let Some(v) = self.set_cookie {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        Ok(res)
    }
}

/// A form POST whose CSRF token has been checked: 400 for a body that is not a well-formed form, 413 for one over
/// `limits.max_body_bytes`, 403 when the token is missing or is not the one bound to the request's cookies.
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(AppError::BadRequest(
                "This address takes a form (application/x-www-form-urlencoded).".into(),
            ));
        }
        let expected = expected_csrf(state, req.headers());
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("The form could not be read.".into())
            }
        })?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| AppError::BadRequest(format!("The form is malformed: {e}")))?;
        let form_token = pairs
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str());
        compare_csrf(expected.as_deref(), form_token)?;
        let value = serde_urlencoded::from_bytes(&body)
            .map_err(|e| AppError::BadRequest(format!("The form is malformed: {e}")))?;
        Ok(Self(value))
    }
}

/// 403 unless `form_token` is the CSRF token bound to this request's cookies (for forms that are not url-encoded,
/// such as file uploads).
pub fn check_csrf(
    state: &AppState,
    headers: &HeaderMap,
    form_token: Option<&str>,
) -> Result<(), AppError> {
    compare_csrf(expected_csrf(state, headers).as_deref(), form_token)
}

fn compare_csrf(expected: Option<&str>, form_token: Option<&str>) -> Result<(), AppError> {
    let valid = match (expected, form_token) {
        (Some(e), Some(f)) => bool::from(e.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form has expired or did not come from this blog. Go back, reload the page and send it again.".into(),
        ))
    }
}

/// The owner, from a valid session cookie. Pages that need it send anyone else to the login form.
#[derive(Debug, Clone)]
pub struct Owner(pub User, pub Waiting);

impl Owner {
    /// The owner `user`, with the counts the admin header shows.
    pub async fn with_counts(user: User, db: &crate::db::Db) -> Result<Self, sqlx::Error> {
        Ok(Self(user, Waiting::load(db).await?))
    }
}

/// What every admin page's header counts: comments waiting for the owner's approval, unread notifications.
#[derive(Debug, Clone, Copy, Default)]
pub struct Waiting {
    pub comments: i64,
    pub unread: i64,
}

impl Waiting {
    pub async fn load(db: &crate::db::Db) -> Result<Self, sqlx::Error> {
        Ok(Self {
            comments: crate::db::comments::count_waiting(db).await?,
            unread: crate::db::notifications::count_unread(db).await?,
        })
    }
}

/// The owner if logged in, else nobody; for pages that show something either way.
#[derive(Debug, Clone)]
pub struct MaybeOwner(pub Option<User>);

impl FromRequestParts<AppState> for MaybeOwner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(token) =
            our_cookie(state, &parts.headers, CookieName::Session).filter(|t| looks_like_token(t))
        else {
            return Ok(Self(None));
        };
        Ok(Self(
            sessions::find_user(&state.db, &hash_token(token)).await?,
        ))
    }
}

/// Rejection of [`Owner`]: go and log in (and come back to this page, for a GET).
pub enum OwnerRejection {
    LogIn { next: Option<String> },
    Error(AppError),
}

impl IntoResponse for OwnerRejection {
    fn into_response(self) -> Response {
        match self {
            Self::LogIn { next: Some(next) } => {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                Redirect::to(&format!("/admin?{query}")).into_response()
            }
            Self::LogIn { next: None } => Redirect::to("/admin").into_response(),
            Self::Error(e) => e.into_response(),
        }
    }
}

/// Whether `path` is an admin page to go back to after logging in: a plain path under /admin/, never another host.
pub fn is_admin_path(path: &str) -> bool {
    path.starts_with("/admin/")
        && path.len() <= 200
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.?=&".contains(&b))
}

/// True when the browser says the request comes from a page of this blog (`Sec-Fetch-Site: same-origin`, or an
/// `Origin` equal to the blog's). Without either header nothing can tell, and the answer is no.
pub fn from_this_site(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let ours = state.config.base_url().trim_end_matches('/');
    origin.trim_end_matches('/') == ours
}

/// Starts keeping a form posted after the session ended: a new random token for this browser (the cookie to set,
/// for the admin pages only) and the hash to store the form under.
pub fn recover_cookie(state: &AppState) -> Option<(HeaderValue, String)> {
    let token = random_token();
    let cookie = set_cookie(state, CookieName::Recover, &token, 24 * 60 * 60)?;
    Some((cookie, hash_token(&token)))
}

/// The hash under which this browser's recovered form is kept, if it has one.
pub fn recover_key(state: &AppState, headers: &HeaderMap) -> Option<String> {
    our_cookie(state, headers, CookieName::Recover)
        .filter(|t| looks_like_token(t))
        .map(hash_token)
}

/// The cookie that forgets the recovered form.
pub fn clear_recover_cookie(state: &AppState) -> Option<HeaderValue> {
    set_cookie(state, CookieName::Recover, "", 0)
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = OwnerRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, OwnerRejection> {
        match MaybeOwner::from_request_parts(parts, state).await {
            Ok(MaybeOwner(Some(user))) => Self::with_counts(user, &state.db)
                .await
                .map_err(|e| OwnerRejection::Error(e.into())),
            Ok(MaybeOwner(None)) => Err(OwnerRejection::LogIn {
                next: (parts.method == axum::http::Method::GET)
                    .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_string()))
                    .flatten()
                    .filter(|p| is_admin_path(p)),
            }),
            Err(e) => Err(OwnerRejection::Error(e)),
        }
    }
}

/// The client's address: the peer, or the last `X-Forwarded-For` hop when `server.trust_forwarded_for` is on.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if state.config.server.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|s| !s.is_empty());
            if let Some(ip) = forwarded {
                return Ok(Self(ip.to_string()));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(Self(peer))
    }
}

/// A new session's cookie, to attach to the response that logs the owner in.
pub async fn start_session(state: &AppState, user: &User) -> Result<HeaderValue, AppError> {
    let token = random_token();
    let max_age = state.config.limits.session_days * 24 * 60 * 60;
    sessions::create(
        &state.db,
        &hash_token(&token),
        &user.id,
        db::now() + max_age,
    )
    .await?;
    set_cookie(state, CookieName::Session, &token, max_age)
        .ok_or_else(|| AppError::internal("session cookie is not a valid header"))
}

/// Ends the session of this request (if any) and returns the cookie that clears it in the browser.
pub async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<HeaderValue>, AppError> {
    if let Some(token) = our_cookie(state, headers, CookieName::Session) {
        sessions::delete(&state.db, &hash_token(token)).await?;
    }
    Ok(set_cookie(state, CookieName::Session, "", 0))
}

/// How a login attempt ended.
pub enum LoginOutcome {
    /// The cookie, when set, marks this browser as one the owner logged in with.
    LoggedIn {
        user: User,
        device_cookie: Option<HeaderValue>,
    },
    /// Unknown user or wrong password: one answer for both.
    Refused,
    /// Too many failures for this username or address; try again after this many minutes.
    Throttled { minutes: i64 },
    /// Every password-hashing slot is taken; try again in a moment (503).
    Busy,
}

/// How long a device cookie lasts, in seconds.
const DEVICE_COOKIE_SECONDS: i64 = 60 * 60 * 24 * 365;

/// The device id of a valid device cookie issued to `username` on this browser.
fn device_of(state: &AppState, headers: &HeaderMap, username: &str) -> Option<String> {
    let value = our_cookie(state, headers, CookieName::Device)?;
    let (id, mac) = value.split_once('.')?;
    (looks_like_token(id)
        && state
            .cookie_key
            .verify("device", &format!("{username}\0{id}"), mac))
    .then(|| id.to_string())
}

/// Checks a username and password. Failures are counted per client address, and per username, except on a
/// browser that has logged in as that user before (it carries a signed device cookie, as OWASP suggests): there
/// they are counted per device instead, so that strangers guessing the owner's password cannot lock the owner out.
pub async fn log_in(
    state: &AppState,
    headers: &HeaderMap,
    username: &str,
    password: &str,
    ip: &str,
) -> Result<LoginOutcome, AppError> {
    let limits = &state.config.limits;
    let window = limits.login_throttle_minutes * 60;
    let now = db::now();
    let username = username.trim().to_ascii_lowercase();
    let device = device_of(state, headers, &username);
    let own_key = match &device {
        Some(id) => format!("device:{id}"),
        None => format!("user:{username}"),
    };
    let keys = [
        (format!("ip:{ip}"), limits.login_failures_per_ip),
        (own_key.clone(), limits.login_failures_per_username),
    ];
    let reserved = match sessions::reserve_attempt(&state.db, &keys, now - window).await? {
        sessions::Reservation::Reserved(ids) => ids,
        sessions::Reservation::Throttled { oldest } => {
            let wait = oldest.map_or(window, |t| t + window - now).max(60);
            return Ok(LoginOutcome::Throttled {
                minutes: (wait + 59) / 60,
            });
        }
    };
    let user = db::users::find_by_username(&state.db, &username).await?;
    let stored = user
        .as_ref()
        .map_or(state.decoy_hash.as_str(), |u| u.password_hash.as_str());
    let Ok(matches) = state.hashing.verify(password, stored).await else {
        // Not checked, so not a failure.
        sessions::forget_attempt(&state.db, &reserved).await?;
        return Ok(LoginOutcome::Busy);
    };
    match user {
        Some(user) if matches => {
            sessions::forget_attempt(&state.db, &reserved).await?;
            sessions::clear_failures(&state.db, &own_key, now - window).await?;
            let device_cookie = match device {
                Some(_) => None,
                None => {
                    let id = random_token();
                    let mac = state
                        .cookie_key
                        .sign("device", &format!("{}\0{id}", user.username));
                    set_cookie(
                        state,
                        CookieName::Device,
                        &format!("{id}.{mac}"),
                        DEVICE_COOKIE_SECONDS,
                    )
                }
            };
            Ok(LoginOutcome::LoggedIn {
                user,
                device_cookie,
            })
        }
        _ => {
            tracing::info!(%username, %ip, "failed login");
            Ok(LoginOutcome::Refused)
        }
    }
}
