//! The owner's settings page: the blog's fediverse avatar and header image, uploaded or given by address.

use std::collections::HashMap;

use askama::Template;
use axum::{
    extract::{Multipart, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use url::Url;

use super::NoticeQuery;
use crate::{
    app::AppState,
    config::SiteConfig,
    db::settings,
    domain::media::{ImageType, profile_image},
    error::AppError,
    web::{
        auth::{self, CsrfToken, Owner},
        views::render,
    },
};

/// The two images, by settings key prefix.
const IMAGES: [(&str, &str); 2] = [("avatar", "Avatar"), ("header", "Header image")];

struct ImageField {
    key: &'static str,
    label: &'static str,
    current: Option<String>,
    url_field: String,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: i64,
    handle: String,
    notice: Option<&'static str>,
    errors: Vec<String>,
    images: Vec<ImageField>,
    max_kib: usize,
}

fn page<'a>(
    state: &'a AppState,
    csrf: &'a CsrfToken,
    owner: &'a Owner,
    values: &HashMap<String, String>,
    typed: &HashMap<String, String>,
    errors: Vec<String>,
    notice: Option<&'static str>,
) -> SettingsPage<'a> {
    let media_prefix = format!("{}/media/", state.urls.base());
    SettingsPage {
        site: &state.config.site,
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1.0,
        handle: state.urls.handle(),
        notice,
        errors,
        images: IMAGES
            .iter()
            .map(|(key, label)| {
                let current = profile_image(values, key).map(|i| i.url);
                // An uploaded image's address is ours: the field stays empty for it.
                let stored_url = current
                    .clone()
                    .filter(|u| !u.starts_with(&media_prefix))
                    .unwrap_or_default();
                ImageField {
                    key,
                    label,
                    url_field: typed
                        .get(&format!("{key}_url"))
                        .cloned()
                        .unwrap_or(stored_url),
                    current,
                }
            })
            .collect(),
        max_kib: state.config.limits.max_body_bytes / 1024,
    }
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let values = settings::all(&state.db).await?;
    let html = render(&page(
        &state,
        &csrf,
        &owner,
        &values,
        &HashMap::new(),
        Vec::new(),
        notice.message(),
    ))?;
    Ok((csrf, html).into_response())
}

/// What the form sent: text fields, and the bytes of non-empty files.
struct Submitted {
    text: HashMap<String, String>,
    files: HashMap<String, Vec<u8>>,
}

async fn read_form(mut multipart: Multipart) -> Result<Submitted, AppError> {
    let mut text = HashMap::new();
    let mut files = HashMap::new();
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(format!("The form could not be read: {}", e.body_text()))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_some() {
            let bytes = field.bytes().await.map_err(too_large)?;
            if !bytes.is_empty() {
                files.insert(name, bytes.to_vec());
            }
        } else {
            text.insert(name, field.text().await.map_err(too_large)?);
        }
    }
    Ok(Submitted { text, files })
}

/// Stores an uploaded image under a new name and returns its public URL.
async fn store_upload(state: &AppState, kind: ImageType, bytes: &[u8]) -> Result<String, AppError> {
    let dir = std::path::Path::new(&state.config.media.dir);
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(AppError::internal)?;
    let name = format!("{}.{}", uuid::Uuid::now_v7(), kind.extension());
    tokio::fs::write(dir.join(&name), bytes)
        .await
        .map_err(AppError::internal)?;
    Ok(format!("{}/media/{name}", state.urls.base()))
}

pub async fn save(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let form = read_form(multipart).await?;
    auth::check_csrf(&state, &headers, form.text.get("csrf").map(String::as_str))?;
    let mut errors = Vec::new();
    let mut changes: Vec<(String, Option<String>)> = Vec::new();
    for (key, label) in IMAGES {
        let url_key = format!("{key}_url");
        let type_key = format!("{key}_media_type");
        if form
            .text
            .get(&format!("{key}_remove"))
            .is_some_and(|v| v == "1")
        {
            changes.push((url_key, None));
            changes.push((type_key, None));
        } else if let Some(bytes) = form.files.get(&format!("{key}_file")) {
            match ImageType::sniff(bytes) {
                Some(kind) => {
                    let url = store_upload(&state, kind, bytes).await?;
                    changes.push((url_key, Some(url)));
                    changes.push((type_key, Some(kind.media_type().to_string())));
                }
                None => errors.push(format!(
                    "{label}: the file is not a PNG, JPEG, GIF or WebP image."
                )),
            }
        } else if let Some(typed) = form
            .text
            .get(&url_key)
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
        {
            let allow_http = state.config.federation.allow_private_addresses;
            match Url::parse(typed) {
                Ok(url) if url.scheme() == "https" || (allow_http && url.scheme() == "http") => {
                    changes.push((
                        type_key,
                        ImageType::from_extension(url.path()).map(|t| t.media_type().into()),
                    ));
                    changes.push((url_key, Some(url.to_string())));
                }
                _ => errors.push(format!("{label}: the address must be an https:// URL.")),
            }
        }
    }
    if !errors.is_empty() {
        let values = settings::all(&state.db).await?;
        let html = render(&page(
            &state, &csrf, &owner, &values, &form.text, errors, None,
        ))?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    let changes: Vec<(&str, Option<String>)> = changes
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    settings::set(&state.db, &changes).await?;
    Ok(Redirect::to("/admin/settings?notice=settings").into_response())
}
