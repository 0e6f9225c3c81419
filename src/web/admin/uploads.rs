//! Forms that carry files: read field by field, each file capped at `media.max_upload_bytes` while it streams in (a
//! file over the cap is read to its end and dropped, so that the rest of the form, the owner's text, still arrives).

use std::collections::HashMap;

use axum::{
    extract::{FromRequest, Multipart, Request},
    http::{StatusCode, header},
};

use crate::{
    app::AppState,
    db::media::MediaRow,
    error::AppError,
    media::{Refusal, UploadError},
    web::auth,
};

/// Files one form may carry.
pub const MAX_FILES: usize = 20;

/// A file from the form: its field, its name as uploaded, and its bytes or why they were not kept.
pub struct FileField {
    pub field: String,
    pub file_name: String,
    pub bytes: Result<Vec<u8>, Refusal>,
}

/// A read form: text fields (the first value of each name) and the files, in the order sent.
#[derive(Default)]
pub struct FormData {
    pub text: HashMap<String, String>,
    pub files: Vec<FileField>,
}

impl FormData {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.text.get(name).map(String::as_str)
    }

    /// The value of a field, or "" when absent.
    pub fn value(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }
}

fn unreadable(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadRequest(format!("The form could not be read: {}", e.body_text()))
    }
}

/// Reads a form that may carry files (`multipart/form-data`) or not (`application/x-www-form-urlencoded`, what a
/// form without file inputs, a script or a test sends).
///
/// Text is limited to `max_text_bytes` in all (`limits.max_body_bytes`), each file to `max_file_bytes`.
pub async fn read_any(
    request: Request,
    max_text_bytes: usize,
    max_file_bytes: usize,
) -> Result<FormData, AppError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &()).await.map_err(|e| {
            AppError::BadRequest(format!("The form could not be read: {}", e.body_text()))
        })?;
        return read(multipart, max_text_bytes, max_file_bytes).await;
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::BadRequest(
            "The form must be sent as application/x-www-form-urlencoded or multipart/form-data."
                .into(),
        ));
    }
    let bytes = axum::body::to_bytes(request.into_body(), max_text_bytes)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))?;
    let mut form = FormData::default();
    for (name, value) in pairs {
        form.text.entry(name).or_insert(value);
    }
    Ok(form)
}

/// Reads a multipart form. Empty file inputs (a file field without a name and bytes) are skipped.
pub async fn read(
    mut multipart: Multipart,
    max_text_bytes: usize,
    max_file_bytes: usize,
) -> Result<FormData, AppError> {
    let mut form = FormData::default();
    let mut text_bytes = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let value = field.text().await.map_err(unreadable)?;
            text_bytes = text_bytes.saturating_add(value.len());
            if text_bytes > max_text_bytes {
                return Err(AppError::PayloadTooLarge);
            }
            form.text.entry(name).or_insert(value);
            continue;
        };
        let mut bytes = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            if too_large {
                continue;
            }
            if bytes.len().saturating_add(chunk.len()) > max_file_bytes {
                too_large = true;
                bytes = Vec::new();
            } else {
                bytes.extend_from_slice(&chunk);
            }
        }
        if file_name.is_empty() && bytes.is_empty() && !too_large {
            continue;
        }
        if form.files.len() >= MAX_FILES {
            return Err(AppError::BadRequest(format!(
                "At most {MAX_FILES} files can be uploaded at once."
            )));
        }
        form.files.push(FileField {
            field: name,
            file_name,
            bytes: if too_large {
                Err(Refusal::TooLarge {
                    limit: max_file_bytes,
                })
            } else {
                Ok(bytes)
            },
        });
    }
    Ok(form)
}

/// Reads a form (as [`read_any`], within the configured limits) and checks its CSRF token against the request's.
pub async fn read_checked(state: &AppState, request: Request) -> Result<FormData, AppError> {
    let headers = request.headers().clone();
    let form = read_any(
        request,
        state.config.limits.max_body_bytes,
        state.config.media.max_upload_bytes,
    )
    .await?;
    auth::check_csrf(state, &headers, form.get("csrf"))?;
    Ok(form)
}

/// Stores one file of a form as an image. `Ok(Err(message))` when the file is refused or the server is too busy: the
/// message, for the owner, names the file.
pub async fn store(
    state: &AppState,
    file: FileField,
) -> Result<Result<MediaRow, String>, AppError> {
    let uploaded = match file.bytes {
        Err(refusal) => Err(UploadError::Refused(refusal)),
        Ok(bytes) => state.media.upload(&state.db, &file.file_name, bytes).await,
    };
    match uploaded {
        Ok(row) => Ok(Ok(row)),
        Err(e @ (UploadError::Refused(_) | UploadError::Busy)) => Ok(Err(format!(
            "\u{201c}{}\u{201d} was not uploaded: {e}.",
            crate::media::display_name(&file.file_name)
        ))),
        Err(e) => Err(AppError::internal(e)),
    }
}
