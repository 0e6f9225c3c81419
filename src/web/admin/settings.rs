//! The owner's settings page: the blog's fediverse avatar and header image, uploaded (and processed like every
//! image: metadata stripped, resized) or given by address.

use std::collections::HashMap;

use askama::Template;
use axum::{
    extract::{Multipart, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use url::Url;

use super::{
    NoticeQuery,
    uploads::{self, FileField},
};
use crate::{
    app::AppState,
    config::SiteConfig,
    db::settings,
    domain::media::{ImageType, profile_image},
    error::AppError,
    media::UploadError,
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
        max_kib: state.config.media.max_upload_bytes / 1024,
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

pub async fn save(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let form = uploads::read(
        multipart,
        state.config.limits.max_body_bytes,
        state.config.media.max_upload_bytes,
    )
    .await?;
    auth::check_csrf(&state, &headers, form.get("csrf"))?;
    let files: HashMap<&str, &FileField> =
        form.files.iter().map(|f| (f.field.as_str(), f)).collect();
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
        } else if let Some(file) = files.get(format!("{key}_file").as_str()) {
            // Processed like a post's images: metadata stripped, served at its widest variant (1600 px at most).
            let uploaded = match &file.bytes {
                Err(refusal) => Err(UploadError::Refused(refusal.clone())),
                Ok(bytes) => {
                    state
                        .media
                        .upload(&state.db, &file.file_name, bytes.clone())
                        .await
                }
            };
            match uploaded {
                Ok(row) => {
                    let image = row.image();
                    let main = image
                        .main()
                        .ok_or_else(|| AppError::internal("an image without variants"))?;
                    changes.push((url_key, Some(image.url(state.urls.base(), main))));
                    changes.push((type_key, Some(main.format.media_type().to_string())));
                }
                Err(e @ (UploadError::Refused(_) | UploadError::Busy)) => {
                    errors.push(format!("{label}: {e}."));
                }
                Err(e) => return Err(AppError::internal(e)),
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
