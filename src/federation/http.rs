//! HTTP helpers for federation documents: content negotiation and the ActivityStreams JSON response.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// The media type of ActivityStreams documents we serve.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// Whether the client asks for ActivityStreams JSON (`application/activity+json`, or
/// `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`) rather than HTML.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let item = item.trim().to_ascii_lowercase();
            item.starts_with(ACTIVITY_JSON)
                || (item.starts_with("application/ld+json")
                    && item.contains("https://www.w3.org/ns/activitystreams"))
        })
}

/// The media type of a `Content-Type` value, lowercased, without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a `Content-Type` says ActivityStreams JSON: `application/activity+json`, `application/ld+json` (with
/// any profile) or plain `application/json`, case-insensitively and whatever the parameters. What the inbox takes
/// and what fetched actors, keys and notes must be served as.
pub fn is_activity_content_type(content_type: &str) -> bool {
    matches!(
        media_type(content_type).as_str(),
        "application/activity+json" | "application/ld+json" | "application/json"
    )
}

/// A document served as `application/activity+json`, varying by `Accept`.
pub struct ActivityJson<T>(pub T);

impl<T: Serialize> IntoResponse for ActivityJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(ACTIVITY_JSON),
                    ),
                    (header::VARY, HeaderValue::from_static("Accept")),
                ],
                body,
            )
                .into_response(),
            Err(e) => crate::error::AppError::internal(e).into_response(),
        }
    }
}

/// A redirect from a URL that serves HTML or JSON by `Accept`; `Vary: Accept` keeps caches from mixing the two.
pub fn redirect_varying(status: StatusCode, location: &str) -> Response {
    let mut response = (status, [(header::LOCATION, location.to_string())]).into_response();
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// A JSON document with a given content type (WebFinger's JRD, NodeInfo), readable from any origin.
pub fn json_with_type<T: Serialize>(content_type: &'static str, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => crate::error::AppError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_content_types() {
        for ok in [
            "application/activity+json",
            "Application/Activity+JSON; charset=utf-8",
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "application/ld+json",
            "application/json",
        ] {
            assert!(is_activity_content_type(ok), "{ok}");
        }
        for bad in [
            "text/html",
            "application/jsonx",
            "text/plain; x=application/json",
            "",
        ] {
            assert!(!is_activity_content_type(bad), "{bad}");
        }
    }

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn negotiates_like_mastodon_asks() {
        assert!(wants_activity_json(&accept("application/activity+json")));
        assert!(wants_activity_json(&accept(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activity_json(&accept(
            "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\", text/html;q=0.1"
        )));
        assert!(!wants_activity_json(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!wants_activity_json(&accept("application/ld+json")));
        assert!(!wants_activity_json(&accept("application/json")));
        assert!(!wants_activity_json(&HeaderMap::new()));
    }
}
