//! The one error type at the HTTP boundary: it logs the cause and shows safe text in a themed page.
//!
//! Handlers return `AppError`; its response carries an [`ErrorPage`] extension that the page-rendering middleware
//! (`web::render_error_pages`) turns into HTML with the site's theme. Internals never reach the reader: a 500 shows a
//! request id, and the cause is logged with that id.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// What a failed request shows; placed in the response's extensions for the theme layer to render.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message: String,
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Something that existed and was deleted for good.
    #[error("gone")]
    Gone,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// Something this needs is unavailable for now (another server that does not answer, a full queue): worth
    /// trying again later. Answered 503 with `Retry-After`.
    #[error("unavailable for now: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    /// Wraps any error as an internal one; its text is logged, never shown.
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(e.into())
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::internal(e)
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(e)
    }
}

/// Builds the bare error response; the theme layer fills in the body.
pub fn error_response(
    status: StatusCode,
    message: impl Into<String>,
    request_id: Option<String>,
) -> Response {
    let page = ErrorPage {
        status,
        message: message.into(),
        request_id,
    };
    let mut response = (status, page.message.clone()).into_response();
    response.extensions_mut().insert(page);
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => error_response(
                StatusCode::NOT_FOUND,
                "There is nothing at this address. It may have moved or been deleted.",
                None,
            ),
            Self::Gone => error_response(
                StatusCode::GONE,
                "What was here has been deleted by the owner.",
                None,
            ),
            Self::BadRequest(msg) => {
                tracing::info!(reason = %msg, "bad request");
                error_response(StatusCode::BAD_REQUEST, msg, None)
            }
            Self::Unauthorized(msg) => {
                // The reason (a bad signature, an unknown key) helps the other server's admin; it holds no secret.
                tracing::info!(reason = %msg, "unauthorized");
                error_response(StatusCode::UNAUTHORIZED, msg, None)
            }
            Self::Forbidden(msg) => {
                tracing::warn!(reason = %msg, "forbidden");
                error_response(StatusCode::FORBIDDEN, msg, None)
            }
            Self::PayloadTooLarge => error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "What was sent is larger than this blog accepts.",
                None,
            ),
            Self::TooManyRequests(msg) => error_response(StatusCode::TOO_MANY_REQUESTS, msg, None),
            Self::Unavailable(msg) => {
                tracing::info!(reason = %msg, "unavailable for now");
                let mut response = error_response(StatusCode::SERVICE_UNAVAILABLE, msg, None);
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("60"),
                );
                response
            }
            Self::Internal(cause) => {
                let request_id = uuid::Uuid::now_v7().simple().to_string();
                tracing::error!(%request_id, cause = %cause, debug = ?cause, "internal error");
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. The owner can find the details in the log under this request id.",
                    Some(request_id),
                )
            }
        }
    }
}
