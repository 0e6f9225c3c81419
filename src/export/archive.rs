//! Writing the blog's archive (`steppe export`, `/admin/export`) and the Markdown-only "download my posts" zip, as a
//! stream: the database is read with cursors and the media one file at a time, and a thread turns the pieces into a
//! zip (the `zip` crate writes synchronously) with the SHA-256 of every entry, so that a blog with gigabytes of
//! images exports in bounded memory, to a file or straight into an HTTP response.

use std::{collections::HashMap, io::Write};

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use zip::{CompressionMethod, write::SimpleFileOptions};

use super::{
    format::{self, Checksums, FileSum, Manifest, TableEntry},
    markdown,
};
use crate::{
    app::AppState,
    db::{self, tables},
    domain::{dates, media::variant_name},
};

/// What to put in the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Everything a restore needs (secrets included).
    Full,
    /// The posts as Markdown, and their images: no database rows, no secrets.
    PostsOnly,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read the database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot write the archive: {0}")]
    Write(String),
}

/// What was written.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub rows: i64,
    pub markdown_files: i64,
    pub media_files: i64,
    /// Media files the store did not have (listed in the media table, gone from the folder or bucket).
    pub missing_media: Vec<String>,
    pub bytes: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} database rows, {} Markdown files, {} media files, {:.1} MB",
            self.rows,
            self.markdown_files,
            self.media_files,
            self.bytes as f64 / 1_000_000.0
        )?;
        if !self.missing_media.is_empty() {
            write!(
                f,
                "; {} media files were missing from the store: {}",
                self.missing_media.len(),
                self.missing_media.join(", ")
            )?;
        }
        Ok(())
    }
}

/// A piece of the zip, from the reading side to the writing thread.
enum Piece {
    /// A new entry; `stored` for data that is compressed already (images).
    Start {
        name: String,
        stored: bool,
    },
    Data(bytes::Bytes),
    /// Everything was sent: write the checksums and close the zip. Without it the zip is left unfinished (no
    /// central directory), so a failed export never looks like a whole archive.
    End,
}

/// Pieces in flight between the reader and the zip thread, at most (each at most [`CHUNK`] bytes).
const IN_FLIGHT: usize = 16;
/// Table rows are sent in chunks of about this size.
const CHUNK: usize = 64 * 1024;

/// The zip thread: writes each piece, hashes each entry, then `checksums.json`. Returns the bytes written.
fn zip_thread<W: Write>(mut rx: mpsc::Receiver<Piece>, sink: W) -> Result<u64, String> {
    let counting = Counting {
        inner: sink,
        bytes: 0,
    };
    let mut zip = zip::ZipWriter::new_stream(counting);
    let mut sums = Checksums::default();
    let mut current: Option<(String, Sha256, u64)> = None;
    let finish = |current: &mut Option<(String, Sha256, u64)>, sums: &mut Checksums| {
        if let Some((name, hasher, bytes)) = current.take() {
            let sha256 = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            sums.files.insert(name, FileSum { sha256, bytes });
        }
    };
    let mut ended = false;
    while let Some(piece) = rx.blocking_recv() {
        match piece {
            Piece::End => {
                ended = true;
                break;
            }
            Piece::Start { name, stored } => {
                finish(&mut current, &mut sums);
                let options = SimpleFileOptions::default()
                    .compression_method(if stored {
                        CompressionMethod::Stored
                    } else {
                        CompressionMethod::Deflated
                    })
                    .large_file(true)
                    .unix_permissions(0o600);
                zip.start_file(name.as_str(), options)
                    .map_err(|e| e.to_string())?;
                current = Some((name, Sha256::new(), 0));
            }
            Piece::Data(data) => {
                let Some((_, hasher, bytes)) = current.as_mut() else {
                    return Err("data before any entry".into());
                };
                hasher.update(&data);
                *bytes = bytes.saturating_add(data.len() as u64);
                zip.write_all(&data).map_err(|e| e.to_string())?;
            }
        }
    }
    if !ended {
        return Err("the export stopped before its end".into());
    }
    finish(&mut current, &mut sums);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o600);
    zip.start_file(format::CHECKSUMS, options)
        .map_err(|e| e.to_string())?;
    let json = serde_json::to_vec_pretty(&sums).map_err(|e| e.to_string())?;
    zip.write_all(&json).map_err(|e| e.to_string())?;
    let mut counting = zip.finish().map_err(|e| e.to_string())?.into_inner();
    counting.flush().map_err(|e| e.to_string())?;
    Ok(counting.bytes)
}

/// A writer that counts what passes through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes = self.bytes.saturating_add(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The sending side, turning a closed channel (the thread stopped on an error) into that error.
struct Pieces(mpsc::Sender<Piece>);

impl Pieces {
    async fn send(&self, piece: Piece) -> Result<(), ExportError> {
        self.0
            .send(piece)
            .await
            .map_err(|_| ExportError::Write("the archive writer stopped".into()))
    }
    /// A whole entry, sent in pieces of at most [`CHUNK`] bytes (slices of `data`, not copies), so that what waits in
    /// the channel stays small however large the file.
    async fn file(&self, name: &str, stored: bool, data: bytes::Bytes) -> Result<(), ExportError> {
        self.send(Piece::Start {
            name: name.to_string(),
            stored,
        })
        .await?;
        let mut at = 0;
        while at < data.len() {
            let end = data.len().min(at.saturating_add(CHUNK));
            self.send(Piece::Data(data.slice(at..end))).await?;
            at = end;
        }
        Ok(())
    }
}

/// The newest migration applied to this database.
async fn schema(db: &db::Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
        .fetch_one(&db.pool)
        .await
}

/// Writes the archive of the blog in `state` to `sink` (run on a thread of its own; `sink` may block).
pub async fn write<W: Write + Send + 'static>(
    state: &AppState,
    sink: W,
    contents: Contents,
) -> Result<Summary, ExportError> {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let thread = tokio::task::spawn_blocking(move || zip_thread(rx, sink));
    let pieces = Pieces(tx);
    let mut produced = produce(state, &pieces, contents).await;
    if produced.is_ok()
        && let Err(e) = pieces.send(Piece::End).await
    {
        produced = Err(e);
    }
    drop(pieces);
    let written = thread
        .await
        .map_err(|e| ExportError::Write(e.to_string()))?
        .map_err(ExportError::Write);
    // A reading error explains the unfinished zip; otherwise the thread's error explains a failed send.
    let mut summary = produced?;
    let bytes = written?;
    summary.bytes = bytes;
    Ok(summary)
}

async fn produce(
    state: &AppState,
    pieces: &Pieces,
    contents: Contents,
) -> Result<Summary, ExportError> {
    let db = &state.db;
    let media: Vec<db::media::MediaRow> = sqlx::query_as("SELECT * FROM media ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    let mut files = Vec::new();
    let mut featured = HashMap::new();
    for row in &media {
        let image = row.image();
        if let Some(main) = image.main() {
            featured.insert(
                row.id.clone(),
                format!("media/{}", variant_name(&row.id, main.width, main.format)),
            );
        }
        for v in &image.variants {
            files.push(variant_name(&row.id, v.width, v.format));
        }
    }
    let posts = markdown::all(db, state.urls.base(), &featured).await?;
    let full = contents == Contents::Full;
    let mut tables_listed = Vec::new();
    if full {
        for t in tables::ARCHIVED {
            tables_listed.push(TableEntry {
                name: t.name.to_string(),
                file: format!("data/{}.jsonl", t.name),
                rows: tables::count(db, t).await?,
                secret: t.secret,
            });
        }
    }
    let manifest = Manifest {
        format: if full {
            format::FULL
        } else {
            format::POSTS_ONLY
        }
        .to_string(),
        version: format::VERSION,
        steppe_version: env!("CARGO_PKG_VERSION").to_string(),
        schema: schema(db).await?,
        created_at: dates::iso(db::now()),
        public_url: state.urls.base().to_string(),
        actor_id: state.urls.actor(),
        username: state.urls.username().to_string(),
        contains_secrets: full,
        secret_files: tables_listed
            .iter()
            .filter(|t| t.secret)
            .map(|t| t.file.clone())
            .collect(),
        tables: tables_listed,
        media_files: i64::try_from(files.len()).unwrap_or(i64::MAX),
        markdown_files: i64::try_from(posts.len()).unwrap_or(i64::MAX),
    };
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| ExportError::Write(e.to_string()))?;
    pieces.file(format::MANIFEST, false, json.into()).await?;
    let mut summary = Summary::default();
    if full {
        for t in tables::ARCHIVED {
            pieces
                .send(Piece::Start {
                    name: format!("data/{}.jsonl", t.name),
                    stored: false,
                })
                .await?;
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut rows = tables::rows(db, t);
            while let Some(row) = rows.try_next().await? {
                serde_json::to_writer(&mut chunk, &row)
                    .map_err(|e| ExportError::Write(e.to_string()))?;
                chunk.push(b'\n');
                summary.rows = summary.rows.saturating_add(1);
                if chunk.len() >= CHUNK {
                    pieces
                        .send(Piece::Data(
                            std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)).into(),
                        ))
                        .await?;
                }
            }
            if !chunk.is_empty() {
                pieces.send(Piece::Data(chunk.into())).await?;
            }
        }
    }
    for (name, text) in posts {
        pieces.file(&name, false, text.into_bytes().into()).await?;
        summary.markdown_files = summary.markdown_files.saturating_add(1);
    }
    for name in files {
        match state.media.store.get(&name).await {
            Ok(Some(bytes)) => {
                pieces.file(&format!("media/{name}"), true, bytes).await?;
                summary.media_files = summary.media_files.saturating_add(1);
            }
            Ok(None) => summary.missing_media.push(name),
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "a media file could not be read for the archive");
                summary.missing_media.push(name);
            }
        }
    }
    Ok(summary)
}
