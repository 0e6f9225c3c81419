//! Who is asking: session cookies, the owner extractor, CSRF tokens on every form, client addresses, and login
//! with throttling.

use std::net::SocketAddr;

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
    domain::users,
    error::AppError,
};

const SESSION_COOKIE: &str = "steppe_session";
const CSRF_COOKIE: &str = "steppe_csrf";
/// The hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

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

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, and Secure when the blog is served over https.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let secure = if state.config.is_https() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// 32 random bytes, URL-safe base64: session tokens and CSRF tokens.
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

/// The CSRF token for forms on this page: the one in the visitor's cookie, or a new one that the response sets.
///
/// Double-submit: a POST must carry the cookie and the same value in its `csrf` field. Another site can make the
/// browser send the cookie (SameSite=Lax stops that for cross-site POSTs in current browsers anyway) but cannot
/// read it to fill the field.
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
        if let Some(token) = cookie(&parts.headers, CSRF_COOKIE).filter(|t| looks_like_token(t)) {
            return Ok(Self {
                token: token.to_string(),
                set_cookie: None,
            });
        }
        let token = random_token();
        let set_cookie = set_cookie(state, CSRF_COOKIE, &token, 60 * 60 * 24 * 365);
        Ok(Self { token, set_cookie })
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
/// `limits.max_body_bytes`, 403 when the token is missing or differs from the cookie.
pub struct CsrfForm<T>(pub T);

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::BadRequest(
                "This address takes a form (application/x-www-form-urlencoded).".into(),
            ));
        }
        let cookie_token = cookie(req.headers(), CSRF_COOKIE).map(str::to_string);
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest(format!(
                    "The form could not be read: {}",
                    rejection.body_text()
                ))
            }
        })?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| AppError::BadRequest(format!("The form is malformed: {e}")))?;
        let form_token = pairs
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str());
        check_csrf(cookie_token.as_deref(), form_token)?;
        let value = serde_urlencoded::from_bytes(&body)
            .map_err(|e| AppError::BadRequest(format!("The form is malformed: {e}")))?;
        Ok(Self(value))
    }
}

/// The CSRF cookie of a request, for forms that are not url-encoded (file uploads).
pub fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, CSRF_COOKIE).map(str::to_string)
}

/// 403 unless the form's token equals the visitor's CSRF cookie.
pub fn check_csrf(cookie_token: Option<&str>, form_token: Option<&str>) -> Result<(), AppError> {
    let valid = match (cookie_token, form_token) {
        (Some(c), Some(f)) if looks_like_token(c) => bool::from(c.as_bytes().ct_eq(f.as_bytes())),
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

/// Comments waiting for the owner's approval: every admin page shows the number in its header.
#[derive(Debug, Clone, Copy)]
pub struct Waiting(pub i64);

/// The owner if logged in, else nobody; for pages that show something either way.
#[derive(Debug, Clone)]
pub struct MaybeOwner(pub Option<User>);

impl FromRequestParts<AppState> for MaybeOwner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| looks_like_token(t))
        else {
            return Ok(Self(None));
        };
        Ok(Self(
            sessions::find_user(&state.db, &hash_token(token)).await?,
        ))
    }
}

/// Rejection of [`Owner`]: go and log in.
pub enum OwnerRejection {
    LogIn,
    Error(AppError),
}

impl IntoResponse for OwnerRejection {
    fn into_response(self) -> Response {
        match self {
            Self::LogIn => Redirect::to("/admin").into_response(),
            Self::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = OwnerRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, OwnerRejection> {
        match MaybeOwner::from_request_parts(parts, state).await {
            Ok(MaybeOwner(Some(user))) => {
                let waiting = crate::db::comments::count_waiting(&state.db)
                    .await
                    .map_err(|e| OwnerRejection::Error(e.into()))?;
                Ok(Self(user, Waiting(waiting)))
            }
            Ok(MaybeOwner(None)) => Err(OwnerRejection::LogIn),
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
    set_cookie(state, SESSION_COOKIE, &token, max_age)
        .ok_or_else(|| AppError::internal("session cookie is not a valid header"))
}

/// Ends the session of this request (if any) and returns the cookie that clears it in the browser.
pub async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<HeaderValue>, AppError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        sessions::delete(&state.db, &hash_token(token)).await?;
    }
    Ok(set_cookie(state, SESSION_COOKIE, "", 0))
}

/// How a login attempt ended.
pub enum LoginOutcome {
    LoggedIn(User),
    /// Unknown user or wrong password: one answer for both.
    Refused,
    /// Too many failures for this username or address; try again after this many minutes.
    Throttled {
        minutes: i64,
    },
}

/// Checks a username and password, counting failures per username and per client address.
pub async fn log_in(
    state: &AppState,
    username: &str,
    password: &str,
    ip: &str,
) -> Result<LoginOutcome, AppError> {
    let limits = &state.config.limits;
    let window = limits.login_throttle_minutes * 60;
    let now = db::now();
    let username = username.trim().to_ascii_lowercase();
    let user_key = format!("user:{username}");
    let ip_key = format!("ip:{ip}");
    for (key, limit) in [
        (&user_key, limits.login_failures_per_username),
        (&ip_key, limits.login_failures_per_ip),
    ] {
        let (count, oldest) = sessions::failures_since(&state.db, key, now - window).await?;
        if count >= limit {
            let wait = oldest.map_or(window, |t| t + window - now).max(60);
            return Ok(LoginOutcome::Throttled {
                minutes: (wait + 59) / 60,
            });
        }
    }
    let user = db::users::find_by_username(&state.db, &username).await?;
    let stored = user
        .as_ref()
        .map_or_else(|| state.decoy_hash.clone(), |u| u.password_hash.clone());
    let password = password.to_string();
    let matches =
        tokio::task::spawn_blocking(move || users::verify_password(&password, &stored)).await?;
    match user {
        Some(user) if matches => {
            sessions::clear_failures(&state.db, &user_key, now - window).await?;
            Ok(LoginOutcome::LoggedIn(user))
        }
        _ => {
            tracing::info!(%username, %ip, "failed login");
            sessions::record_failure(&state.db, &[user_key, ip_key]).await?;
            Ok(LoginOutcome::Refused)
        }
    }
}
