//! `steppe import archive`: restores a Steppe archive (see `export::format`). First every entry is checked against
//! `checksums.json` and the manifest against this version, so a truncated, changed or newer archive is refused
//! before anything is written; then the images go to the media store (content-addressed: writing one twice changes
//! nothing) and every row goes into the database in one transaction.
//!
//! On the same `site.public_url` the blog comes back as it was: the same ids, addresses, key pair and followers. On
//! another address the install keeps its own key, the followers are left out (they follow the old actor; a Move from
//! the old install brings them, and the old actor is listed in `alsoKnownAs` for that), and each post's old Article
//! id is kept as an old address, so that replies and likes aimed at it still land.

use std::{
    collections::HashSet,
    fs::File,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::{
    app::AppState,
    db::{self, settings, tables},
    domain::moving,
    export::format::{self, Checksums, Manifest},
};

/// Why an archive was not restored; nothing was written when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0} cannot be opened: {1}")]
    Open(String, String),
    #[error("this is not a whole zip archive (it may be truncated, or not an archive at all): {0}")]
    NotZip(String),
    #[error("this is not a Steppe archive: {0}")]
    NotSteppe(String),
    #[error(
        "this archive was made by a newer Steppe ({0}); upgrade this install first, then restore it"
    )]
    Newer(String),
    #[error(
        "this archive holds only posts as Markdown (\"download my posts\"), not a whole blog: it cannot be restored"
    )]
    PostsOnly,
    #[error(
        "the archive is damaged or was changed: {0}. Nothing was restored; export it again from the old install"
    )]
    Damaged(String),
    #[error(
        "this install already holds a blog (an owner, posts, comments, followers or images); restore into an empty install, or add --merge to add only what is not here yet"
    )]
    NotEmpty,
    #[error("{0}")]
    Row(#[from] tables::RowError),
    #[error("cannot write to the database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot store the image {0}: {1}")]
    Media(String, String),
}

/// What a restore did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub same_address: bool,
    pub old_public_url: String,
    pub old_actor: String,
    pub rows: u64,
    /// Rows already here (with `--merge`), left as they were.
    pub skipped: u64,
    pub media_files: u64,
    /// Tables not restored, with the reason.
    pub left_out: Vec<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "restored {} rows and {} media files from {}",
            self.rows, self.media_files, self.old_public_url
        )?;
        if self.skipped > 0 {
            writeln!(
                f,
                "{} rows were here already and were left as they are",
                self.skipped
            )?;
        }
        for l in &self.left_out {
            writeln!(f, "left out: {l}")?;
        }
        if self.same_address {
            write!(
                f,
                "same address: every id, address and the key pair are as they were; restart the blog if it is running"
            )
        } else {
            write!(
                f,
                "new address: to bring the followers, move the old blog here: on the old install, Settings → Move this blog, naming this blog's address. {} is listed as this blog's old account",
                self.old_actor
            )
        }
    }
}

/// Reads and checks what is needed before anything is written: the manifest, and every entry against its checksum.
/// Runs on a blocking thread (it reads the whole file).
fn verify(path: &Path) -> Result<Manifest, RestoreError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| RestoreError::Open(shown, e.to_string()))?;
    check(std::io::BufReader::new(file))
}

/// [`verify`] on any readable archive: the part of a restore that reads untrusted bytes and writes nothing (the
/// `archive` fuzz target drives it).
pub fn check<R: Read + std::io::Seek>(archive: R) -> Result<Manifest, RestoreError> {
    let mut zip = zip::ZipArchive::new(archive).map_err(|e| RestoreError::NotZip(e.to_string()))?;
    let manifest: Manifest = {
        let entry = zip
            .by_name(format::MANIFEST)
            .map_err(|_| RestoreError::NotSteppe("it has no manifest.json".into()))?;
        serde_json::from_reader(entry.take(format::MAX_INDEX_BYTES))
            .map_err(|e| RestoreError::NotSteppe(format!("its manifest cannot be read: {e}")))?
    };
    match manifest.format.as_str() {
        format::FULL => {}
        format::POSTS_ONLY => return Err(RestoreError::PostsOnly),
        other => return Err(RestoreError::NotSteppe(format!("its format is {other:?}"))),
    }
    if manifest.version > format::VERSION {
        return Err(RestoreError::Newer(format!(
            "Steppe {}, archive format {}",
            manifest.steppe_version, manifest.version
        )));
    }
    let sums: Checksums = {
        let entry = zip
            .by_name(format::CHECKSUMS)
            .map_err(|_| RestoreError::Damaged("checksums.json is missing".into()))?;
        serde_json::from_reader(entry.take(format::MAX_INDEX_BYTES))
            .map_err(|e| RestoreError::Damaged(format!("checksums.json cannot be read: {e}")))?
    };
    let mut seen = HashSet::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| RestoreError::Damaged(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| RestoreError::Damaged(format!("an entry's name cannot be read: {e}")))?
            .to_string();
        if !format::safe_name(&name) {
            return Err(RestoreError::Damaged(format!("an entry is named {name:?}")));
        }
        if name == format::CHECKSUMS {
            continue;
        }
        let Some(expected) = sums.files.get(&name) else {
            return Err(RestoreError::Damaged(format!(
                "{name} is not in checksums.json"
            )));
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes: u64 = 0;
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| RestoreError::Damaged(format!("{name}: {e}")))?;
            if n == 0 {
                break;
            }
            bytes = bytes.saturating_add(n as u64);
            if bytes > expected.bytes {
                return Err(RestoreError::Damaged(format!(
                    "{name} is longer than recorded"
                )));
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        let sha256: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if sha256 != expected.sha256 || bytes != expected.bytes {
            return Err(RestoreError::Damaged(format!(
                "{name} does not match its checksum"
            )));
        }
        seen.insert(name);
    }
    if let Some(missing) = sums.files.keys().find(|n| !seen.contains(*n)) {
        return Err(RestoreError::Damaged(format!("{missing} is missing")));
    }
    for t in &manifest.tables {
        if !seen.contains(&t.file) {
            return Err(RestoreError::Damaged(format!("{} is missing", t.file)));
        }
    }
    Ok(manifest)
}

/// What the reading thread sends, in restore order: every image, then every table's rows.
enum Item {
    Media(String, Vec<u8>),
    Row(&'static tables::Table, Map<String, Value>),
}

/// Reads the images and then the rows of the tables this version knows, in [`tables::ARCHIVED`] order.
fn read(path: PathBuf, manifest: Manifest, tx: mpsc::Sender<Item>) -> Result<(), RestoreError> {
    let file = File::open(&path)
        .map_err(|e| RestoreError::Open(path.display().to_string(), e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| RestoreError::NotZip(e.to_string()))?;
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.to_string()))
        .collect::<Result<_, _>>()
        .map_err(|e| RestoreError::Damaged(e.to_string()))?;
    for name in names {
        let Some(media) = format::media_name(&name) else {
            continue;
        };
        let entry = zip
            .by_name(&name)
            .map_err(|e| RestoreError::Damaged(e.to_string()))?;
        let mut bytes = Vec::new();
        entry
            .take(format::MAX_MEDIA_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| RestoreError::Damaged(format!("{name}: {e}")))?;
        if tx
            .blocking_send(Item::Media(media.to_string(), bytes))
            .is_err()
        {
            return Ok(());
        }
    }
    for table in tables::ARCHIVED {
        let Some(listed) = manifest.tables.iter().find(|t| t.name == table.name) else {
            continue;
        };
        let entry = zip
            .by_name(&listed.file)
            .map_err(|e| RestoreError::Damaged(format!("{}: {e}", listed.file)))?;
        let mut lines = BufReader::new(entry);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut lines)
                .take(u64::try_from(format::MAX_ROW_BYTES).unwrap_or(u64::MAX))
                .read_until(b'\n', &mut line)
                .map_err(|e| RestoreError::Damaged(format!("{}: {e}", listed.file)))?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') && n >= format::MAX_ROW_BYTES {
                return Err(RestoreError::Damaged(format!(
                    "{}: a row is too long",
                    listed.file
                )));
            }
            let row: Map<String, Value> = serde_json::from_slice(&line)
                .map_err(|e| RestoreError::Damaged(format!("{}: {e}", listed.file)))?;
            if tx.blocking_send(Item::Row(table, row)).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The settings keys that say where the blog moved: not carried to another address.
const MOVING_KEYS: [&str; 4] = [
    moving::MOVED_TO,
    moving::MOVED_TO_HANDLE,
    moving::MOVED_TO_PAGE,
    moving::MOVED_AT,
];

/// Restores the archive at `path` into the install of `state`. Without `merge`, the install must hold no blog yet.
pub async fn restore(state: &AppState, path: &Path, merge: bool) -> Result<Summary, RestoreError> {
    let owned = path.to_path_buf();
    let manifest = tokio::task::spawn_blocking(move || verify(&owned))
        .await
        .map_err(|e| RestoreError::Open(path.display().to_string(), e.to_string()))??;
    let ours: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
        .fetch_one(&state.db.pool)
        .await?;
    if manifest.schema > ours {
        return Err(RestoreError::Newer(format!(
            "Steppe {}, database schema {}",
            manifest.steppe_version, manifest.schema
        )));
    }
    if !merge && tables::holds_a_blog(&state.db).await? {
        return Err(RestoreError::NotEmpty);
    }
    let same = manifest.public_url.trim_end_matches('/') == state.urls.base().trim_end_matches('/');
    let mut summary = Summary {
        same_address: same,
        old_public_url: manifest.public_url.clone(),
        old_actor: manifest.actor_id.clone(),
        ..Summary::default()
    };
    if !same {
        summary
            .left_out
            .push("actor_keys (this address keeps its own key pair)".into());
        summary.left_out.push(format!(
            "followers (they follow {}; move the old blog here to bring them)",
            manifest.actor_id
        ));
    }

    let old_media = format!("{}/media/", manifest.public_url.trim_end_matches('/'));
    let (tx, mut rx) = mpsc::channel(64);
    let owned = path.to_path_buf();
    let reader_manifest = manifest.clone();
    let reader = tokio::task::spawn_blocking(move || read(owned, reader_manifest, tx));

    let mut db_tx = state.db.begin_write().await?;
    let mut columns: Option<(&'static str, Vec<tables::ColumnType>)> = None;
    let mut replaced = HashSet::new();
    let mut restored_posts: Vec<(String, String)> = Vec::new();
    let outcome: Result<(), RestoreError> = async {
        while let Some(item) = rx.recv().await {
            match item {
                Item::Media(name, bytes) => {
                    state
                        .media
                        .store
                        .put(&name, bytes)
                        .await
                        .map_err(|e| RestoreError::Media(name.clone(), e.to_string()))?;
                    summary.media_files += 1;
                }
                Item::Row(table, mut row) => {
                    if !same && matches!(table.name, "actor_keys" | "followers") {
                        continue;
                    }
                    // Notifications have no key of their own to recognise a second copy by.
                    if merge && table.name == "notifications" {
                        continue;
                    }
                    if table.name == "site_settings"
                        && !same
                        && row
                            .get("key")
                            .and_then(Value::as_str)
                            .is_some_and(|k| MOVING_KEYS.contains(&k))
                    {
                        continue;
                    }
                    // Addresses of this blog's own images (the avatar, the header) move with it.
                    if table.name == "site_settings"
                        && !same
                        && let Some(Value::String(v)) = row.get_mut("value")
                        && let Some(rest) = v.strip_prefix(&old_media)
                    {
                        *v = format!("{}/media/{rest}", state.urls.base().trim_end_matches('/'));
                    }
                    if table.name == "posts"
                        && let (Some(id), Some(article)) = (
                            row.get("id").and_then(Value::as_str),
                            row.get("article_id").and_then(Value::as_str),
                        )
                    {
                        restored_posts.push((id.to_string(), article.to_string()));
                    }
                    // A started install made its own key and perhaps settings: the archive's replace them.
                    if !merge
                        && matches!(table.name, "actor_keys" | "site_settings")
                        && replaced.insert(table.name)
                    {
                        sqlx::query(&format!("DELETE FROM {}", table.name))
                            .execute(&mut *db_tx)
                            .await?;
                    }
                    if columns.as_ref().is_none_or(|(name, _)| *name != table.name) {
                        columns = Some((
                            table.name,
                            tables::columns(&state.db, &mut db_tx, table.name).await?,
                        ));
                    }
                    let cols = columns
                        .as_ref()
                        .map(|(_, c)| c.as_slice())
                        .unwrap_or_default();
                    if table.name == "notifications" {
                        row.remove("id");
                    }
                    if tables::insert(&mut db_tx, table, cols, &row, merge).await? {
                        summary.rows += 1;
                    } else {
                        summary.skipped += 1;
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    drop(rx);
    let read = reader
        .await
        .map_err(|e| RestoreError::Damaged(e.to_string()))
        .and_then(|r| r);
    // On an error, dropping the transaction rolls every row back; the images stay (content-addressed, harmless).
    outcome.and(read)?;
    if !same {
        let old_base = manifest.public_url.trim_end_matches('/');
        let addresses: Vec<(String, String)> = restored_posts
            .iter()
            .map(|(id, article)| (format!("{old_base}/articles/{article}"), id.clone()))
            .collect();
        for (address, post) in &addresses {
            db::imports::add_old_addresses(&mut db_tx, std::slice::from_ref(address), post).await?;
        }
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM site_settings WHERE key = $1")
                .bind(moving::ALSO_KNOWN_AS)
                .fetch_optional(&mut *db_tx)
                .await?;
        let mut aliases: Vec<String> = stored
            .map(|v| v.lines().map(str::to_string).collect())
            .unwrap_or_default();
        if !aliases.contains(&manifest.actor_id) {
            aliases.push(manifest.actor_id.clone());
        }
        settings::set_in(
            &mut db_tx,
            &[(moving::ALSO_KNOWN_AS, moving::aliases_value(&aliases))],
        )
        .await?;
        db::notifications::add_in(
            &mut db_tx,
            db::notifications::Kind::Follower,
            &format!(
                "Restored from {old_base}. To bring its followers, move the old blog here: on the old install, Settings → Move this blog, and name {}.",
                state.urls.handle()
            ),
            "/admin/settings#moving",
        )
        .await?;
    }
    state.db.commit_content(db_tx).await?;
    db::search::reindex_missing(&state.db).await?;
    state.reload_site().await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(bytes: &[u8]) -> Result<Manifest, RestoreError> {
        check(std::io::Cursor::new(bytes))
    }

    /// The fuzz corpus's archives (written by a script, not by Steppe) cover the whole check and each refusal.
    #[test]
    fn the_corpus_archives_pass_or_fail_for_their_reason() {
        let whole = checked(include_bytes!("../../fuzz/corpus/archive/whole")).expect("whole");
        assert_eq!(whole.tables.len(), 1);
        let reason = |bytes: &[u8]| {
            checked(bytes)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(
            reason(include_bytes!("../../fuzz/corpus/archive/truncated"))
                .contains("not a whole zip")
        );
        assert!(
            reason(include_bytes!("../../fuzz/corpus/archive/wrong-checksum"))
                .contains("does not match its checksum")
        );
        assert!(
            reason(include_bytes!("../../fuzz/corpus/archive/outside-name"))
                .contains("an entry is named")
        );
        assert!(
            reason(include_bytes!("../../fuzz/corpus/archive/posts-only")).contains("only posts")
        );
    }
}
