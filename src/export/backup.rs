//! `steppe backup`: a consistent copy of the SQLite database taken while the blog serves (SQLite's `VACUUM INTO`,
//! outside any transaction: sqlx has no online-backup API), checked by opening it and reading it back.

use std::path::{Path, PathBuf};

use crate::db::{Backend, Db};

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "this blog's database is PostgreSQL: back it up with pg_dump (see the README, \"Backups\"), which copies it consistently while it serves"
    )]
    Postgres,
    #[error("{0} exists already; give a new file name (a backup never overwrites)")]
    Exists(String),
    #[error("the folder of {0} does not exist")]
    NoFolder(String),
    #[error("the copy could not be written: {0}")]
    Copy(#[source] sqlx::Error),
    #[error("the copy was written but does not read back whole ({0}); it was removed")]
    Check(String),
}

/// What was copied.
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    pub posts: i64,
    pub comments: i64,
    pub followers: i64,
    pub media: i64,
}

impl std::fmt::Display for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backup written to {} ({:.1} MB): {} posts and pages, {} comments, {} followers, {} media files recorded \
             (their files are in media.path or the S3 bucket: copy those too)",
            self.path.display(),
            self.bytes as f64 / 1_000_000.0,
            self.posts,
            self.comments,
            self.followers,
            self.media
        )
    }
}

/// `url` opened without creating anything: a backup of a database that is not there is an error, not an empty copy.
pub fn existing_only(url: &str) -> String {
    if !url.starts_with("sqlite:") || url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rw")
    } else {
        format!("{url}?mode=rw")
    }
}

/// Copies the database of `db` to `output` (a new file), then opens the copy and checks it.
pub async fn write(db: &Db, output: &Path) -> Result<Backup, BackupError> {
    if db.backend == Backend::Postgres {
        return Err(BackupError::Postgres);
    }
    let shown = output.display().to_string();
    if output.exists() {
        return Err(BackupError::Exists(shown));
    }
    let folder = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(BackupError::NoFolder(shown));
    }
    let target = output.to_string_lossy().to_string();
    // A transaction would make VACUUM fail; the pool's connection runs it alone, and readers and the writer carry on
    // (WAL): the copy is the database as of the moment it started.
    sqlx::query("VACUUM INTO $1")
        .bind(&target)
        .execute(&db.pool)
        .await
        .map_err(BackupError::Copy)?;
    match check(&target).await {
        Ok(mut backup) => {
            backup.path = output.to_path_buf();
            backup.bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
            Ok(backup)
        }
        Err(e) => {
            let _ = std::fs::remove_file(output);
            Err(e)
        }
    }
}

/// Opens the copy read-only: SQLite's integrity check, then what it holds.
async fn check(path: &str) -> Result<Backup, BackupError> {
    use sqlx::ConnectOptions;
    let bad = |e: sqlx::Error| BackupError::Check(e.to_string());
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(bad)?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(bad)?;
    if integrity != "ok" {
        return Err(BackupError::Check(integrity));
    }
    let count =
        async |table: &str, conn: &mut sqlx::SqliteConnection| -> Result<i64, BackupError> {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(conn)
                .await
                .map_err(bad)
        };
    Ok(Backup {
        path: PathBuf::new(),
        bytes: 0,
        posts: count("posts", &mut conn).await?,
        comments: count("comments", &mut conn).await?,
        followers: count("followers", &mut conn).await?,
        media: count("media", &mut conn).await?,
    })
}
