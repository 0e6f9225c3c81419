//! The database: one pool for SQLite or PostgreSQL chosen by URL, migrations, and one file of SQL per table group.
//!
//! All SQL is portable: `$1…$N` placeholders (SQLite accepts them too), timestamps as integer unix seconds,
//! integers as 64-bit, flags and states as text. Each submodule owns the queries of one group of tables.

pub mod actor_keys;
pub mod blocks;
pub mod comments;
pub mod deliveries;
pub mod followers;
pub mod imports;
pub mod inbox_queue;
pub mod media;
pub mod notifications;
pub mod posts;
pub mod remote_actors;
pub mod revisions;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod signing_hosts;
pub mod tables;
pub mod users;
pub mod versions;

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    Any, AnyPool, Executor, Transaction, any::AnyPoolOptions, migrate::Migrator,
    postgres::PgListener, sqlite::SqliteConnectOptions,
};
use versions::Versions;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which engine a pool talks to; the few places where SQL differs ask this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL channel on which every process announces that published content changed.
const CONTENT_CHANNEL: &str = "steppe_content";

/// A committed change to what readers see, as recorded in [`Versions`] and announced to other processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change<'a> {
    /// Posts, tags, settings, media: every page.
    Structure,
    /// One post's comments or reactions: its page and the lists.
    Post(&'a str),
    /// Every post page and no list (a commenter's avatar copied).
    AllPosts,
}

impl<'a> Change<'a> {
    /// How a notification names it: empty for the structure, `post:ID`, or `posts`.
    fn kind(&self) -> String {
        match self {
            Self::Structure => String::new(),
            Self::Post(id) => format!("post:{id}"),
            Self::AllPosts => "posts".into(),
        }
    }

    /// The change a notification's kind names; anything else counts as the structure (the safe reading).
    fn of_kind(kind: &'a str) -> Self {
        match kind {
            "posts" => Self::AllPosts,
            kind => kind
                .strip_prefix("post:")
                .map_or(Self::Structure, Self::Post),
        }
    }

    fn record(&self, versions: &Versions) {
        match self {
            Self::Structure => versions.structure_changed(),
            Self::Post(id) => versions.post_changed(id),
            Self::AllPosts => versions.all_posts_changed(),
        };
    }
}

/// A cheap-to-clone handle on the connection pool.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Which committed changes to what readers see happened when (see [`versions`]): how cached pages know they
    /// are stale. Shared by the clones of this handle, not global.
    versions: Arc<Versions>,
    /// This handle's (and its clones') name in change notifications, so that its own, already recorded when it
    /// committed, are not recorded again when PostgreSQL echoes them.
    sender: u64,
    url: String,
}

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the folder for the SQLite database {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl Db {
    /// Opens a pool for `url` (`sqlite:…` or `postgres://…`). A SQLite file and its folder are created when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // A SQLite connection is a file handle, not a socket that can break: pinging it before every use (the
            // pool's default) cost one more hand-off to its worker thread per query.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run while the single writer writes; the busy timeout makes writers
                        // queue instead of failing with "database is locked". Each connection caches up to 8 MiB
                        // of pages (SQLite's default is 2 MiB, which a post with thousands of comments outgrows,
                        // so that every read went back to the kernel), and sorts in memory.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 5000",
                            "PRAGMA cache_size = -8192",
                            "PRAGMA temp_store = MEMORY",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(DbError::Connect)?;
        Ok(Self {
            pool,
            backend,
            versions: Arc::new(Versions::default()),
            sender: rand::random(),
            url,
        })
    }

    /// The number of the latest change to what readers see (see [`versions`]).
    pub fn content_version(&self) -> u64 {
        self.versions.current()
    }

    /// What changed when: the page cache asks it whether a page is stale.
    pub fn versions(&self) -> &Versions {
        &self.versions
    }

    /// Makes every cached page of this process stale, for a change that is not in a transaction of its own (the
    /// site settings in effect were reloaded).
    pub fn bump_content_version(&self) -> u64 {
        self.versions.structure_changed()
    }

    /// Commits a transaction that changed the blog's structure (posts, tags, settings, media, or comments on many
    /// posts at once), and makes every cached page stale: in this process at once, and on PostgreSQL in every
    /// other process too (a NOTIFY delivered on commit, see [`Db::follow_changes`]).
    pub async fn commit_content(&self, tx: Transaction<'static, Any>) -> Result<(), sqlx::Error> {
        self.commit_changes(tx, &[Change::Structure]).await
    }

    /// Commits a transaction that changed the comments or reactions of `post_ids` (none: nothing readers see
    /// changed), and makes stale only those posts' pages and the lists, here and (on PostgreSQL) in every process.
    pub async fn commit_post_changes(
        &self,
        tx: Transaction<'static, Any>,
        post_ids: &[String],
    ) -> Result<(), sqlx::Error> {
        let mut ids: Vec<&str> = post_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let changes: Vec<Change<'_>> = ids.into_iter().map(Change::Post).collect();
        self.commit_changes(tx, &changes).await
    }

    /// Commits a transaction that changed what every post page may show and no list does (a commenter's avatar
    /// copied), here and (on PostgreSQL) in every process.
    pub async fn commit_all_posts(&self, tx: Transaction<'static, Any>) -> Result<(), sqlx::Error> {
        self.commit_changes(tx, &[Change::AllPosts]).await
    }

    /// Announces `changes` on PostgreSQL (delivered when `tx` commits, as "SENDER KIND", see [`Change::kind`]),
    /// commits, and records them here.
    async fn commit_changes(
        &self,
        mut tx: Transaction<'static, Any>,
        changes: &[Change<'_>],
    ) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            for change in changes {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CONTENT_CHANNEL)
                    .bind(format!("{} {}", self.sender, change.kind()))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        for change in changes {
            change.record(&self.versions);
        }
        Ok(())
    }

    /// Records a change another handle announced (its own announcements were recorded when they committed).
    fn heard(&self, payload: &str) {
        let kind = match payload.split_once(' ') {
            Some((sender, _)) if sender.parse() == Ok(self.sender) => return,
            Some((_, kind)) => kind,
            None => payload,
        };
        Change::of_kind(kind).record(&self.versions);
    }

    /// On PostgreSQL, listens for other processes' content changes and records each (see [`versions`]). Listening
    /// has begun when this returns (so a page rendered after it cannot miss a change); returns the listening task
    /// (abort it to stop), or `None` on SQLite, where one process owns the file.
    pub async fn follow_changes(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
            let mut listener = PgListener::connect(url).await?;
            listener.listen(CONTENT_CHANNEL).await?;
            Ok(listener)
        }
        let first = listen(&self.url).await;
        let db = self.clone();
        Some(tokio::spawn(async move {
            let mut listening = first;
            loop {
                let result: Result<(), sqlx::Error> = async {
                    let mut listener = listening?;
                    loop {
                        let notification = listener.recv().await?;
                        db.heard(notification.payload());
                    }
                }
                .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "content-change listener lost its connection; retrying");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                listening = listen(&db.url).await;
                // Anything may have changed while we were not listening.
                db.versions.structure_changed();
            }
        }))
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.map_err(DbError::Migrate)
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// transaction that reads first and upgrades later fails with "database is locked" whenever another writer
    /// committed meanwhile, whereas one that waits for the lock at its start is queued by the busy timeout.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// A trivial query, for `/healthz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Makes sure the SQLite file can be created: its folder exists and the URL asks for read-write-create.
fn prepare_sqlite_url(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    let parent = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
            path: path.to_string(),
            source,
        })?;
    }
    // Checked here so that a malformed URL is reported as such rather than as a failed connection.
    SqliteConnectOptions::from_str(url).map_err(DbError::Connect)?;
    Ok(if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// `text` as a LIKE pattern that matches it anywhere, its own `%`, `_` and `\` taken literally.
pub(crate) fn like_anywhere(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Placeholders for SQL built with a variable number of parameters, each used once and bound in the order they
/// appear: `?` on SQLite, `$1, $2, …` on PostgreSQL. (sqlx's query builder writes `?` for the Any driver, which
/// PostgreSQL refuses; and numbered names cost SQLite a linear lookup per parameter, quadratic for a
/// 3,500-parameter INSERT.)
pub(crate) struct Params {
    numbered: bool,
    n: usize,
}

impl Params {
    pub(crate) fn new(db: &Db) -> Self {
        Self::numbered(db.backend == Backend::Postgres)
    }

    pub(crate) fn numbered(numbered: bool) -> Self {
        Self { numbered, n: 0 }
    }

    pub(crate) fn next(&mut self) -> String {
        self.n += 1;
        if self.numbered {
            format!("${}", self.n)
        } else {
            "?".to_string()
        }
    }

    /// Placeholders for `n` parameters, comma-separated.
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(", ")
    }
}

/// The current time as unix seconds, the one timestamp format stored.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// True when `err` is a unique-constraint violation (a duplicate slug, a second owner).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_read_back_from_its_notification() {
        for change in [
            Change::Structure,
            Change::Post("0193-post"),
            Change::AllPosts,
        ] {
            assert_eq!(Change::of_kind(&change.kind()), change);
        }
        assert_eq!(Change::of_kind("something new"), Change::Structure);
    }
}
