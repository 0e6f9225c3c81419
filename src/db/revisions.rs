//! SQL for revisions (every save of a post, pruned to a count), autosaves (one per post and owner, and one for the
//! owner's unsaved new post) and forms recovered after a session ended.

use sqlx::FromRow;

use super::{Db, now, posts::Tx};
use crate::domain::posts::PostInput;

/// A stored revision or autosave.
#[derive(Debug, Clone, FromRow)]
pub struct Revision {
    pub id: String,
    pub post_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub slug: String,
    pub summary: String,
    pub tags: String,
    pub body_markdown: String,
    pub created_at: i64,
}

impl Revision {
    /// The form fields this revision holds.
    pub fn input(&self) -> PostInput {
        PostInput {
            title: self.title.clone(),
            slug: self.slug.clone(),
            summary: self.summary.clone(),
            tags: self.tags.clone(),
            body: self.body_markdown.clone(),
        }
    }

    pub fn is_autosave(&self) -> bool {
        self.kind == "autosave"
    }
}

const COLUMNS: &str = "id, post_id, kind, title, slug, summary, tags, body_markdown, created_at";

/// Keeps the form as saved (inside the save's transaction): a `save` revision of the post, the owner's autosave of
/// it dropped (the save supersedes it; for a new post, the autosave of the unsaved new post), and all but the
/// newest `keep` saves of the post pruned.
pub async fn record_save_in(
    tx: &mut Tx,
    post_id: &str,
    user_id: &str,
    input: &PostInput,
    was_new: bool,
    keep: i64,
) -> Result<(), sqlx::Error> {
    let now = now();
    insert(tx, Some(post_id), user_id, "save", input, now).await?;
    delete_autosave_in(tx, Some(post_id), user_id).await?;
    if was_new {
        delete_autosave_in(tx, None, user_id).await?;
    }
    sqlx::query(
        "DELETE FROM post_revisions WHERE post_id = $1 AND kind = 'save' AND id NOT IN \
         (SELECT id FROM post_revisions WHERE post_id = $1 AND kind = 'save' \
          ORDER BY created_at DESC, id DESC LIMIT $2)",
    )
    .bind(post_id)
    .bind(keep.max(1))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes the owner's autosave of a post (`None`: of their unsaved new post) inside `tx`.
async fn delete_autosave_in(
    tx: &mut Tx,
    post_id: Option<&str>,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    let query = match post_id {
        Some(id) => sqlx::query(
            "DELETE FROM post_revisions WHERE kind = 'autosave' AND user_id = $1 AND post_id = $2",
        )
        .bind(user_id)
        .bind(id),
        None => sqlx::query(
            "DELETE FROM post_revisions WHERE kind = 'autosave' AND user_id = $1 AND post_id IS NULL",
        )
        .bind(user_id),
    };
    query.execute(&mut **tx).await.map(|_| ())
}

async fn insert(
    tx: &mut Tx,
    post_id: Option<&str>,
    user_id: &str,
    kind: &str,
    input: &PostInput,
    at: i64,
) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO post_revisions (id, post_id, user_id, kind, title, slug, summary, tags, body_markdown, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(post_id)
    .bind(user_id)
    .bind(kind)
    .bind(&input.title)
    .bind(&input.slug)
    .bind(&input.summary)
    .bind(&input.tags)
    .bind(&input.body)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Replaces the owner's autosave of a post (`None`: their unsaved new post) with `input`; returns its time.
/// `Ok(None)` when the post no longer exists.
pub async fn autosave(
    db: &Db,
    post_id: Option<&str>,
    user_id: &str,
    input: &PostInput,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if let Some(id) = post_id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM posts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
    }
    let at = now();
    delete_autosave_in(&mut tx, post_id, user_id).await?;
    insert(&mut tx, post_id, user_id, "autosave", input, at).await?;
    tx.commit().await?;
    Ok(Some(at))
}

/// The owner's autosave of a post (`None`: of their unsaved new post).
pub async fn find_autosave(
    db: &Db,
    post_id: Option<&str>,
    user_id: &str,
) -> Result<Option<Revision>, sqlx::Error> {
    match post_id {
        Some(id) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM post_revisions WHERE kind = 'autosave' AND user_id = $1 AND post_id = $2"
            ))
            .bind(user_id)
            .bind(id)
            .fetch_optional(&db.pool)
            .await
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM post_revisions WHERE kind = 'autosave' AND user_id = $1 AND post_id IS NULL"
            ))
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await
        }
    }
}

/// A post's revisions and autosaves, newest first.
pub async fn list(db: &Db, post_id: &str) -> Result<Vec<Revision>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM post_revisions WHERE post_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(post_id)
    .fetch_all(&db.pool)
    .await
}

/// One revision of a post.
pub async fn find(db: &Db, post_id: &str, id: &str) -> Result<Option<Revision>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM post_revisions WHERE post_id = $1 AND id = $2"
    ))
    .bind(post_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

/// How many recovered forms are kept at most; a flood of posts without a session pushes out only the oldest.
const MAX_RECOVERED: i64 = 32;
/// How long a recovered form waits for its owner to log in again, in seconds.
const RECOVERED_FOR: i64 = 24 * 60 * 60;

/// Keeps the fields of a form posted to `path` after its session ended, under the hash of the browser's token.
pub async fn stash_form(
    db: &Db,
    token_hash: &str,
    path: &str,
    fields_json: &str,
) -> Result<(), sqlx::Error> {
    let now = now();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM recovered_forms WHERE created_at < $1")
        .bind(now.saturating_sub(RECOVERED_FOR))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO recovered_forms (token_hash, path, fields, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (token_hash) DO UPDATE SET path = excluded.path, fields = excluded.fields, \
         created_at = excluded.created_at",
    )
    .bind(token_hash)
    .bind(path)
    .bind(fields_json)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM recovered_forms WHERE token_hash NOT IN \
         (SELECT token_hash FROM recovered_forms ORDER BY created_at DESC, token_hash LIMIT $1)",
    )
    .bind(MAX_RECOVERED)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Takes (and forgets) the form kept under `token_hash` for `path`, if it is recent enough.
pub async fn take_form(
    db: &Db,
    token_hash: &str,
    path: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let fields: Option<String> = sqlx::query_scalar(
        "SELECT fields FROM recovered_forms WHERE token_hash = $1 AND path = $2 AND created_at >= $3",
    )
    .bind(token_hash)
    .bind(path)
    .bind(now().saturating_sub(RECOVERED_FOR))
    .fetch_optional(&mut *tx)
    .await?;
    if fields.is_some() {
        sqlx::query("DELETE FROM recovered_forms WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(fields)
}
