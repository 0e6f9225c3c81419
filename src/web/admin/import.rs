//! `/admin/import`: a WordPress export uploaded from the browser (streamed to a temporary file, never held in
//! memory), imported in the background like `steppe import wxr`, its progress and summary on the same page.

use askama::Template;
use axum::{
    extract::{Multipart, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use tokio::io::AsyncWriteExt;

use crate::{
    app::AppState,
    config::SiteConfig,
    domain::dates::Zone,
    error::AppError,
    import::{self, Options, progress::JobState},
    web::{
        auth::{self, CsrfToken, Owner},
        views::render,
    },
};

/// The largest export the form takes.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024 * 1024;

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    job: JobState,
    lines: Vec<String>,
    errors: Vec<String>,
    zone: String,
}

fn page(
    state: &AppState,
    owner: &Owner,
    csrf: &CsrfToken,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let job = state.import_job.state();
    let lines = job
        .summary
        .as_ref()
        .map(import::Summary::lines)
        .unwrap_or_default();
    render(&ImportPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        job,
        lines,
        errors,
        zone: state.site().zone().name().to_string(),
    })
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    page(&state, &owner, &csrf, Vec::new())
}

/// The uploaded export on disk, removed when dropped: whether the import ran, was refused or the upload broke off.
struct Upload(std::path::PathBuf);

impl Drop for Upload {
    fn drop(&mut self) {
        // Absent when nothing was written: nothing to remove.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `POST /admin/import`: the file (field `file`), `timezone`, `announce`, `dry_run`.
pub async fn start(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut text: std::collections::HashMap<String, String> = Default::default();
    let upload = Upload(std::env::temp_dir().join(format!(
        "steppe-import-{}.xml",
        uuid::Uuid::now_v7().simple()
    )));
    let mut written = 0u64;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!("The form could not be read: {e}"))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_none() {
            let value = field.text().await.map_err(unreadable)?;
            if value.len() > 200 {
                return Err(AppError::BadRequest(format!(
                    "The field {name} is too long."
                )));
            }
            text.entry(name).or_insert(value);
            continue;
        }
        // The token comes before the file in the form: nothing is written for a forged request.
        auth::check_csrf(&state, &headers, text.get("csrf").map(String::as_str))?;
        let mut file = tokio::fs::File::create(&upload.0)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            written = written.saturating_add(chunk.len() as u64);
            file.write_all(&chunk)
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
        }
        file.flush()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    auth::check_csrf(&state, &headers, text.get("csrf").map(String::as_str))?;
    let mut errors = Vec::new();
    if written == 0 {
        errors
            .push("Choose the export file (WordPress: Tools → Export → All content).".to_string());
    }
    let zone_name = text.get("timezone").map_or("UTC", |z| z.trim());
    let zone = Zone::named(if zone_name.is_empty() {
        "UTC"
    } else {
        zone_name
    });
    if zone.is_none() {
        errors.push(format!(
            "{zone_name:?} is not a time zone (e.g. Europe/Berlin)."
        ));
    }
    let (Some(zone), true) = (zone, errors.is_empty()) else {
        return page(&state, &owner, &csrf, errors);
    };
    if !state.import_job.begin() {
        return page(
            &state,
            &owner,
            &csrf,
            vec!["An import is already running; wait for it to finish.".into()],
        );
    }
    let options = Options {
        dry_run: text.contains_key("dry_run"),
        announce: text.contains_key("announce"),
        zone,
        media: import::media::Sources {
            uploads: None,
            fetch: text.contains_key("fetch_media"),
        },
    };
    let job_state = state.clone();
    tokio::spawn(async move {
        let job = job_state.import_job.clone();
        let outcome = import::run(&job_state, &upload.0, &options, &job)
            .await
            .map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "import from the web admin failed");
        }
        job.end(outcome);
        drop(upload);
    });
    Ok(Redirect::to("/admin/import").into_response())
}
