//! Forms that carry files: read field by field, each file capped at `media.max_upload_bytes` while it streams in (a
//! file over the cap is read to its end and dropped, so that the rest of the form, the owner's text, still arrives).

use std::collections::HashMap;

use axum::{extract::Multipart, http::StatusCode};

use crate::{error::AppError, media::Refusal};

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

/// Reads a multipart form. Empty file inputs (a file field without a name and bytes) are skipped.
pub async fn read(mut multipart: Multipart, max_file_bytes: usize) -> Result<FormData, AppError> {
    let mut form = FormData::default();
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let value = field.text().await.map_err(unreadable)?;
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
