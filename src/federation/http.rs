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
