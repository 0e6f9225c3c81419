//! `/admin/export`: the blog's archive (everything, secrets included, after the owner types their password) and the
//! Markdown-only "download my posts" zip, streamed into the response as they are written.

use askama::Template;
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::{
    app::AppState,
    config::SiteConfig,
    db,
    domain::dates,
    error::AppError,
    export::archive::{self, Contents},
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::render,
    },
};

#[derive(Template)]
#[template(path = "admin/export.html")]
struct ExportPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    errors: Vec<String>,
    posts: i64,
    media: i64,
    backend_is_sqlite: bool,
}

async fn page(
    state: &AppState,
    owner: &Owner,
    csrf: &CsrfToken,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&state.db.pool)
            .await
    };
    render(&ExportPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        errors,
        posts: count("SELECT COUNT(*) FROM posts").await?,
        media: count("SELECT COUNT(*) FROM media").await?,
        backend_is_sqlite: state.db.backend == db::Backend::Sqlite,
    })
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    page(&state, &owner, &csrf, Vec::new()).await
}

/// A `Write` that hands what it is given to the response body in chunks, blocking when the client reads slowly
/// (backpressure), and failing once the client has gone.
struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

const BODY_CHUNK: usize = 64 * 1024;

impl BodyWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(BODY_CHUNK),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download stopped")
        })
    }
}

impl std::io::Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= BODY_CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The zip of `contents`, streamed: a failure halfway ends the response with an error, so the browser reports a
/// failed download rather than saving a broken file.
fn download(state: &AppState, contents: Contents, name: &str) -> Response {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let writer = BodyWriter {
        tx: tx.clone(),
        buffer: Vec::with_capacity(BODY_CHUNK),
    };
    let state = state.clone();
    tokio::spawn(async move {
        match archive::write(&state, writer, contents).await {
            Ok(summary) => tracing::info!(%summary, "archive downloaded"),
            Err(e) => {
                tracing::warn!(error = %e, "the archive download failed");
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
            }
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `steppe-blog.example-2026-12-03` and so on.
fn file_stem(state: &AppState, what: &str) -> String {
    let host: String = state
        .urls
        .base()
        .split("://")
        .nth(1)
        .unwrap_or("blog")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let day = dates::iso(db::now());
    format!("{what}-{host}-{}.zip", day.get(..10).unwrap_or("today"))
}

/// GET `/admin/export/posts.zip`: the posts and pages as Markdown, with their images; nothing secret.
pub async fn posts(State(state): State<AppState>, _owner: Owner) -> Response {
    let name = file_stem(&state, "posts");
    download(&state, Contents::PostsOnly, &name)
}

#[derive(Deserialize)]
pub struct ArchiveForm {
    #[serde(default)]
    password: String,
}

/// POST `/admin/export/archive`: the whole archive, once the owner has typed their password (it holds the blog's
/// private key).
pub async fn full(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<ArchiveForm>,
) -> Result<Response, AppError> {
    let error = match state
        .hashing
        .verify(&form.password, &owner.0.password_hash)
        .await
    {
        Ok(true) => None,
        Ok(false) => Some("The password is not right."),
        Err(_) => Some("The blog is busy checking passwords; try again in a moment."),
    };
    if let Some(e) = error {
        let mut response = page(&state, &owner, &csrf, vec![e.to_string()]).await?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    tracing::info!(user = %owner.0.username, "the owner downloads the blog's archive");
    let name = file_stem(&state, "steppe");
    Ok(download(&state, Contents::Full, &name))
}
