//! `/admin/media`: every stored image with its thumbnail, sizes, where it is used, its description (editable) and
//! the Markdown that shows it; deleting one a post uses is refused. Also `/admin/media/upload`, the endpoint the
//! editor's script sends a dropped or pasted image to (JSON answers).

use askama::Template;
use axum::{
    Json,
    extract::{Multipart, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::{posts::markdown_of, uploads};
use crate::{
    app::AppState,
    config::SiteConfig,
    db::{self, media::MediaRow, settings},
    domain::media::is_hash,
    error::AppError,
    federation::publish,
    web::{
        auth::{self, CsrfForm, CsrfToken, Owner},
        views::dates,
    },
};

/// A post (or the blog's profile) that shows an image.
pub struct UseView {
    pub label: String,
    pub url: String,
    pub draft: bool,
}

pub struct MediaView {
    pub id: String,
    pub name: String,
    pub thumb_url: String,
    pub width: u32,
    pub height: u32,
    /// "2.4 MB uploaded, 610 KB stored in 5 sizes"
    pub size: String,
    pub uploaded: String,
    pub alt: String,
    pub decorative: bool,
    pub described: bool,
    pub markdown: String,
    pub uses: Vec<UseView>,
}

#[derive(Template)]
#[template(path = "admin/media.html")]
struct MediaPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    notice: Option<&'static str>,
    errors: Vec<String>,
    items: Vec<MediaView>,
    max_upload_mib: usize,
}

#[derive(Debug, Deserialize)]
pub struct MediaQuery {
    notice: Option<String>,
}

fn notice(q: &MediaQuery) -> Option<&'static str> {
    Some(match q.notice.as_deref()? {
        "described" => "The description is saved; posts that show the image are updated.",
        "deleted" => "The image is deleted.",
        "uploaded" => "Uploaded.",
        _ => return None,
    })
}

/// "2.4 MB" for a number of bytes.
fn human_bytes(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else {
        format!("{} KB", n.div_ceil(1000))
    }
}

async fn profile_uses(state: &AppState) -> Result<Vec<(String, &'static str)>, AppError> {
    let values = settings::all(&state.db).await?;
    Ok([
        ("avatar_url", "The blog's avatar"),
        ("header_url", "The blog's header image"),
    ]
    .into_iter()
    .filter_map(|(key, label)| {
        let url = values.get(key)?;
        let id = crate::domain::media::media_id_of(url, state.urls.base())?;
        Some((id.to_string(), label))
    })
    .collect())
}

async fn views(state: &AppState, rows: Vec<MediaRow>) -> Result<Vec<MediaView>, AppError> {
    let mut uses = db::media::uses(&state.db).await?;
    let profile = profile_uses(state).await?;
    let base = state.urls.base();
    Ok(rows
        .into_iter()
        .map(|row| {
            let image = row.image();
            let variants = image.variants.len();
            let mut used: Vec<UseView> = uses
                .remove(&row.id)
                .unwrap_or_default()
                .into_iter()
                .map(|u| UseView {
                    draft: u.status != "published",
                    label: u.title,
                    url: format!("/admin/posts/{}/edit", u.post_id),
                })
                .collect();
            used.extend(
                profile
                    .iter()
                    .filter(|(id, _)| *id == row.id)
                    .map(|(_, label)| UseView {
                        label: (*label).to_string(),
                        url: "/admin/settings".into(),
                        draft: false,
                    }),
            );
            MediaView {
                thumb_url: image
                    .near(480)
                    .map(|v| image.url(base, v))
                    .unwrap_or_default(),
                width: image.width,
                height: image.height,
                size: format!(
                    "{} uploaded, {} stored in {variants} files",
                    human_bytes(u64::try_from(row.original_bytes).unwrap_or(0)),
                    human_bytes(row.stored_bytes())
                ),
                uploaded: dates(row.created_at).0,
                described: row.alt.is_some(),
                decorative: row.alt.as_deref() == Some(""),
                alt: row.alt.clone().unwrap_or_default(),
                markdown: markdown_of(&image, row.alt.as_deref().unwrap_or_default())
                    .unwrap_or_default(),
                uses: used,
                name: row.original_name,
                id: row.id,
            }
        })
        .collect())
}

async fn page(
    state: &AppState,
    owner: &Owner,
    csrf: &CsrfToken,
    notice: Option<&'static str>,
    errors: Vec<String>,
) -> Result<String, AppError> {
    let rows = db::media::list(&state.db).await?;
    Ok(MediaPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        notice,
        errors,
        items: views(state, rows).await?,
        max_upload_mib: state.config.media.max_upload_bytes / (1024 * 1024),
    }
    .render()?)
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(q): Query<MediaQuery>,
) -> Result<Response, AppError> {
    let html = page(&state, &owner, &csrf, notice(&q), Vec::new()).await?;
    Ok((csrf, axum::response::Html(html)).into_response())
}

/// The description form of one image.
#[derive(Debug, Deserialize)]
pub struct AltForm {
    #[serde(default)]
    alt: String,
    #[serde(default)]
    decorative: String,
}

pub async fn describe(
    State(state): State<AppState>,
    _owner: Owner,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<AltForm>,
) -> Result<Response, AppError> {
    if !is_hash(&id) {
        return Err(AppError::NotFound);
    }
    let alt = if form.decorative == "1" {
        Some(String::new())
    } else {
        Some(form.alt.trim().to_string()).filter(|a| !a.is_empty())
    };
    let mut tx = state.db.begin_write().await?;
    if db::media::find_in(&mut tx, &id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    publish::describe_in(&state, &mut tx, &[(id, alt)], None)
        .await
        .map_err(AppError::internal)?;
    state.db.commit_content(tx).await?;
    state.wakeup.wake();
    Ok(Redirect::to("/admin/media?notice=described").into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<super::EmptyForm>,
) -> Result<Response, AppError> {
    if !is_hash(&id) {
        return Err(AppError::NotFound);
    }
    if let Some((_, label)) = profile_uses(&state)
        .await?
        .into_iter()
        .find(|(m, _)| *m == id)
    {
        let error =
            format!("{label} is this image: choose another one in Settings before deleting it.");
        let html = page(&state, &owner, &csrf, None, vec![error]).await?;
        return Ok((StatusCode::CONFLICT, axum::response::Html(html)).into_response());
    }
    match db::media::delete_unused(&state.db, &id).await? {
        Ok(Some(row)) => {
            state
                .media
                .remove_files(&row)
                .await
                .map_err(AppError::internal)?;
            tracing::info!(media = %id, "image deleted");
            Ok(Redirect::to("/admin/media?notice=deleted").into_response())
        }
        Ok(None) => Err(AppError::NotFound),
        Err(uses) => {
            let titles: Vec<String> = uses
                .iter()
                .map(|u| format!("\u{201c}{}\u{201d}", u.title))
                .collect();
            let error = format!(
                "This image is used by {}: remove it from {} first.",
                titles.join(", "),
                if uses.len() == 1 {
                    "that post"
                } else {
                    "those posts"
                }
            );
            let html = page(&state, &owner, &csrf, None, vec![error]).await?;
            Ok((StatusCode::CONFLICT, axum::response::Html(html)).into_response())
        }
    }
}

/// `POST /admin/media/upload`: one or more files (field `file`) from the editor's script, or from the media page's
/// own form. Answers JSON to a script (`Accept: application/json`): `{"images":[{id, markdown, thumb, name, alt}]}`
/// or `{"error": …}` with 422; a browser without script is sent back to the media page.
pub async fn upload(
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
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let base = state.urls.base();
    let mut images = Vec::new();
    let mut errors = Vec::new();
    for file in form.files {
        match uploads::store(&state, file).await? {
            Ok(row) => {
                let image = row.image();
                images.push(json!({
                    "id": row.id,
                    "name": row.original_name,
                    "alt": row.alt,
                    "markdown": markdown_of(&image, row.alt.as_deref().unwrap_or_default()),
                    "thumb": image.near(480).map(|v| image.url(base, v)),
                    "width": image.width,
                    "height": image.height,
                }));
            }
            Err(message) => errors.push(message),
        }
    }
    if images.is_empty() && errors.is_empty() {
        errors.push("Choose an image file first.".into());
    }
    if wants_json {
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok((status, Json(json!({"images": images, "errors": errors}))).into_response());
    }
    if errors.is_empty() {
        return Ok(Redirect::to("/admin/media?notice=uploaded").into_response());
    }
    let html = page(&state, &owner, &csrf, None, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::response::Html(html)).into_response())
}
