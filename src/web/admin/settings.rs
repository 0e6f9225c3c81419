//! The owner's settings page: the blog's title, tagline, language, time zone and posts per page (stored in the
//! database, over `config.toml`'s `[site]`), its fediverse avatar, header image and favicon (uploaded, processed like
//! every image, or given by address), the owner's password (asking the current one; every other session ends), and
//! the "Moving" section that `moving` handles.

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
        auth::{self, CsrfForm, CsrfToken, Owner},
        views::render,
    },
};

/// The images, by settings key prefix.
const IMAGES: [(&str, &str); 3] = [
    ("avatar", "Avatar"),
    ("header", "Header image"),
    ("favicon", "Favicon (the icon in browser tabs)"),
];

/// The blog's text settings as the form shows them (typed, or in effect).
struct SiteFields {
    title: String,
    description: String,
    language: String,
    time_zone: String,
    posts_per_page: String,
    comment_threads_per_page: String,
}

struct ImageField {
    key: &'static str,
    label: &'static str,
    current: Option<String>,
    url_field: String,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub(super) struct SettingsPage<'a> {
    site: std::sync::Arc<SiteConfig>,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    handle: String,
    notice: Option<&'static str>,
    errors: Vec<String>,
    images: Vec<ImageField>,
    max_kib: usize,
    fields: SiteFields,
    zones: Vec<String>,
    /// Problems with the password form.
    password_errors: Vec<String>,
    /// The "Moving" section: the blog's other accounts and its move.
    pub(super) moving: super::moving::MovingView,
}

pub(super) fn page<'a>(
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
        site: state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
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
        fields: {
            let site = state.site();
            let typed_or = |key: &str, current: String| typed.get(key).cloned().unwrap_or(current);
            SiteFields {
                title: typed_or("title", site.title.clone()),
                description: typed_or("description", site.description.clone()),
                language: typed_or("language", site.language.clone()),
                time_zone: typed_or("time_zone", site.time_zone.clone()),
                posts_per_page: typed_or("posts_per_page", site.posts_per_page.to_string()),
                comment_threads_per_page: typed_or(
                    "comment_threads_per_page",
                    site.comment_threads_per_page.to_string(),
                ),
            }
        },
        zones: crate::domain::dates::Zone::all_names(),
        password_errors: Vec::new(),
        moving: super::moving::MovingView::default(),
    }
}

/// The text settings of a submitted form, checked: the values to store, or the problems.
fn site_changes(
    form: &HashMap<String, String>,
) -> Result<Vec<(String, Option<String>)>, Vec<String>> {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string());
    if let Some(title) = get("title") {
        if title.is_empty() || title.chars().count() > 200 {
            errors.push("Title: 1 to 200 characters.".to_string());
        } else {
            changes.push((settings::SITE_TITLE.to_string(), Some(title)));
        }
    }
    if let Some(description) = get("description") {
        if description.chars().count() > 300 {
            errors.push("Tagline: at most 300 characters.".to_string());
        } else {
            changes.push((settings::SITE_DESCRIPTION.to_string(), Some(description)));
        }
    }
    if let Some(language) = get("language") {
        if crate::config::is_language_tag(&language) {
            changes.push((settings::SITE_LANGUAGE.to_string(), Some(language)));
        } else {
            errors.push(format!(
                "Language: \u{201c}{language}\u{201d} is not a language tag such as en, ru, kk or pt-BR."
            ));
        }
    }
    if let Some(zone) = get("time_zone") {
        match crate::domain::dates::Zone::named(&zone) {
            Some(z) => changes.push((settings::SITE_TIME_ZONE.to_string(), Some(z.name().to_string()))),
            None => errors.push(format!(
                "Time zone: \u{201c}{zone}\u{201d} is not a time zone name such as Europe/Berlin, Asia/Almaty or UTC."
            )),
        }
    }
    if let Some(n) = get("posts_per_page") {
        match n.parse::<i64>() {
            Ok(n) if crate::config::POSTS_PER_PAGE.contains(&n) => {
                changes.push((
                    settings::SITE_POSTS_PER_PAGE.to_string(),
                    Some(n.to_string()),
                ));
            }
            _ => errors.push("Posts per page: a number from 1 to 100.".to_string()),
        }
    }
    if let Some(n) = get("comment_threads_per_page") {
        match n.parse::<i64>() {
            Ok(n) if crate::config::COMMENT_THREADS_PER_PAGE.contains(&n) => {
                changes.push((
                    settings::SITE_COMMENT_THREADS_PER_PAGE.to_string(),
                    Some(n.to_string()),
                ));
            }
            _ => errors.push("Comment threads per page: a number from 1 to 1000.".to_string()),
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let values = settings::all(&state.db).await?;
    let mut page = page(
        &state,
        &csrf,
        &owner,
        &values,
        &HashMap::new(),
        Vec::new(),
        notice.message(),
    );
    page.moving = super::moving::view(&state, &values).await?;
    let html = render(&page)?;
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
    let (mut changes, mut errors) = match site_changes(&form.text) {
        Ok(changes) => (changes, Vec::new()),
        Err(errors) => (Vec::new(), errors),
    };
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
        let mut page = page(&state, &csrf, &owner, &values, &form.text, errors, None);
        page.moving = super::moving::view(&state, &values).await?;
        let html = render(&page)?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    let changes: Vec<(&str, Option<String>)> = changes
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    settings::set(&state.db, &changes).await?;
    state.reload_site().await?;
    Ok(Redirect::to("/admin/settings?notice=settings").into_response())
}

#[derive(serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

/// Changes the owner's password, asking the current one. Every session ends, this browser gets a new one.
pub async fn change_password(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    match state
        .hashing
        .verify(&form.current, &owner.0.password_hash)
        .await
    {
        Ok(true) => {}
        Ok(false) => errors.push("The current password is not right.".to_string()),
        Err(_) => {
            errors.push("The blog is busy checking passwords; try again in a moment.".to_string())
        }
    }
    if let Some(problem) = crate::domain::users::password_problem(&form.new) {
        errors.push(format!("New {}", problem.to_lowercase()));
    } else if form.new != form.repeat {
        errors.push("The new password and its repetition differ.".to_string());
    }
    if !errors.is_empty() {
        let values = settings::all(&state.db).await?;
        let mut page = page(
            &state,
            &csrf,
            &owner,
            &values,
            &HashMap::new(),
            Vec::new(),
            None,
        );
        page.password_errors = errors;
        page.moving = super::moving::view(&state, &values).await?;
        let html = render(&page)?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    let hash = state
        .hashing
        .hash(&form.new)
        .await
        .map_err(AppError::internal)?;
    crate::db::users::set_password(&state.db, &owner.0.username, &hash).await?;
    let cookie = auth::start_session(&state, &owner.0).await?;
    tracing::info!(user = %owner.0.username, "password changed; every other session ended");
    Ok((
        [(axum::http::header::SET_COOKIE, cookie)],
        Redirect::to("/admin/settings?notice=password"),
    )
        .into_response())
}
