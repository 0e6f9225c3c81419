//! SQL for comments (replies from other servers to posts and to other comments) and for likes and boosts.
//! Every write commits through `Db::commit_content`: the post page shows them.

use sqlx::{Any, FromRow, any::AnyArguments, query::Query};

use super::{Db, now};

/// Runs one statement that changes what readers see, committed through `Db::commit_content` (so cached pages go
/// stale); returns whether it changed a row.
async fn change<'q>(db: &Db, query: Query<'q, Any, AnyArguments<'q>>) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = query.execute(&mut *tx).await?;
    // A statement that changed nothing (a repeated Like) leaves the cached pages valid.
    if done.rows_affected() > 0 {
        db.commit_content(tx).await?;
    } else {
        tx.commit().await?;
    }
    Ok(done.rows_affected() > 0)
}

/// A comment as stored.
#[derive(Debug, Clone, FromRow)]
pub struct CommentRow {
    pub id: String,
    pub anchor: String,
    pub post_id: String,
    pub parent_id: Option<String>,
    pub author_id: String,
    pub author_name: String,
    pub author_handle: String,
    pub author_url: String,
    pub author_avatar: Option<String>,
    pub content_html: String,
    pub source_text: Option<String>,
    pub summary: Option<String>,
    pub attachments_html: String,
    pub url: Option<String>,
    pub visibility: String,
    pub status: String,
    pub published_at: i64,
    pub edited_at: Option<i64>,
}

const COLUMNS: &str = "id, anchor, post_id, parent_id, author_id, author_name, author_handle, author_url, \
     author_avatar, content_html, source_text, summary, attachments_html, url, visibility, status, published_at, \
     edited_at";

/// The comments of a post that readers may see, oldest first.
pub async fn list_shown(db: &Db, post_id: &str) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM comments WHERE post_id = $1 AND status = 'shown' \
         AND visibility IN ('public', 'unlisted') ORDER BY published_at, id"
    ))
    .bind(post_id)
    .fetch_all(&db.pool)
    .await
}

/// Replies that were not addressed to everyone (followers-only and direct): the owner's Mentions list, newest first.
pub async fn list_private(db: &Db, limit: i64) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM comments WHERE visibility IN ('followers', 'direct') \
         ORDER BY published_at DESC, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

pub async fn find(db: &Db, id: &str) -> Result<Option<CommentRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM comments WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// A comment to store (validated and sanitised by the caller).
#[derive(Debug, Clone)]
pub struct NewComment {
    pub id: String,
    pub post_id: String,
    pub parent_id: Option<String>,
    pub author_id: String,
    /// Host (and port) of the author's server.
    pub author_host: String,
    pub author_name: String,
    pub author_handle: String,
    pub author_url: String,
    pub author_avatar: Option<String>,
    pub content_html: String,
    /// The owner's own replies keep their Markdown.
    pub source_text: Option<String>,
    pub summary: Option<String>,
    pub attachments_html: String,
    pub url: Option<String>,
    pub visibility: String,
    pub status: String,
    pub published_at: i64,
}

/// The INSERT of a [`NewComment`], followed by `on_conflict`, with its values bound.
macro_rules! insert_comment {
    ($c:expr, $on_conflict:literal) => {
        sqlx::query(concat!(
            "INSERT INTO comments (id, anchor, post_id, parent_id, author_id, author_host, author_name, \
             author_handle, author_url, author_avatar, content_html, source_text, summary, attachments_html, url, \
             visibility, status, published_at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ",
            $on_conflict
        ))
        .bind(&$c.id)
        .bind(uuid::Uuid::now_v7().simple().to_string())
        .bind(&$c.post_id)
        .bind(&$c.parent_id)
        .bind(&$c.author_id)
        .bind(&$c.author_host)
        .bind(&$c.author_name)
        .bind(&$c.author_handle)
        .bind(&$c.author_url)
        .bind(&$c.author_avatar)
        .bind(&$c.content_html)
        .bind(&$c.source_text)
        .bind(&$c.summary)
        .bind(&$c.attachments_html)
        .bind(&$c.url)
        .bind(&$c.visibility)
        .bind(&$c.status)
        .bind($c.published_at)
        .bind(now())
    };
}

/// Stores a comment once: the same object again changes nothing. Returns whether it was new.
pub async fn insert(db: &Db, c: &NewComment) -> Result<bool, sqlx::Error> {
    change(db, insert_comment!(c, "ON CONFLICT (id) DO NOTHING")).await
}

/// Stores imported comments inside the import's transaction, or replaces the text, author and place of those
/// stored under the same ids (a newer export): several rows per statement.
pub async fn upsert_many_in(
    conn: &mut sqlx::AnyConnection,
    comments: &[NewComment],
) -> Result<(), sqlx::Error> {
    // 19 values a row; SQLite allows 32,766 parameters, older builds 999: 40 rows stay under both.
    for chunk in comments.chunks(40) {
        let sql = format!(
            "INSERT INTO comments (id, anchor, post_id, parent_id, author_id, author_host, author_name, \
             author_handle, author_url, author_avatar, content_html, source_text, summary, attachments_html, url, \
             visibility, status, published_at, received_at) VALUES {} \
             ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, author_name = excluded.author_name, \
             author_url = excluded.author_url, content_html = excluded.content_html, url = excluded.url, \
             published_at = excluded.published_at",
            super::posts::value_rows(chunk.len(), 19, 1, "")
        );
        let mut query = sqlx::query(&sql);
        let received = now();
        for c in chunk {
            query = query
                .bind(&c.id)
                .bind(uuid::Uuid::now_v7().simple().to_string())
                .bind(&c.post_id)
                .bind(&c.parent_id)
                .bind(&c.author_id)
                .bind(&c.author_host)
                .bind(&c.author_name)
                .bind(&c.author_handle)
                .bind(&c.author_url)
                .bind(&c.author_avatar)
                .bind(&c.content_html)
                .bind(&c.source_text)
                .bind(&c.summary)
                .bind(&c.attachments_html)
                .bind(&c.url)
                .bind(&c.visibility)
                .bind(&c.status)
                .bind(c.published_at)
                .bind(received);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The author's edit: new text, content warning, attachments and visibility, applied unless `edited_at` is older
/// than the comment's last edit (or its publication; times are whole seconds, so an edit in the same second as the
/// last version applies). Returns whether it applied.
pub async fn edit(
    db: &Db,
    id: &str,
    author_id: &str,
    c: &NewComment,
    edited_at: i64,
) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(
        "UPDATE comments SET content_html = $3, summary = $4, attachments_html = $5, visibility = $6, \
         edited_at = $7, source_text = $8 WHERE id = $1 AND author_id = $2 AND COALESCE(edited_at, published_at) <= $7",
    )
    .bind(id)
    .bind(author_id)
    .bind(&c.content_html)
    .bind(&c.summary)
    .bind(&c.attachments_html)
    .bind(&c.visibility)
    .bind(edited_at)
    .bind(&c.source_text);
    change(db, query).await
}

/// Removes a comment if `author_id` wrote it. Replies to it stay (shown under the post).
/// Points every comment of `author_id` at its current avatar; returns how many changed. Public pages become stale.
pub async fn set_author_avatar(
    db: &Db,
    author_id: &str,
    avatar: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE comments SET author_avatar = $1 WHERE author_id = $2 AND author_avatar IS DISTINCT FROM $1",
    )
    .bind(avatar)
    .bind(author_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    db.commit_content(tx).await?;
    Ok(changed)
}

pub async fn delete_by_author(db: &Db, id: &str, author_id: &str) -> Result<bool, sqlx::Error> {
    let query = sqlx::query("DELETE FROM comments WHERE id = $1 AND author_id = $2")
        .bind(id)
        .bind(author_id);
    change(db, query).await
}

/// Records who wrote an imported comment, once their server has shown it (WordPress exports name commenters by
/// profile page, not by actor id).
pub async fn adopt_author(db: &Db, id: &str, author_id: &str) -> Result<bool, sqlx::Error> {
    let query = sqlx::query("UPDATE comments SET author_id = $2 WHERE id = $1 AND author_id <> $2")
        .bind(id)
        .bind(author_id);
    change(db, query).await
}

/// Removes everything an actor left: comments, likes and boosts (their account was deleted).
pub async fn delete_all_of(db: &Db, author_id: &str) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("DELETE FROM comments WHERE author_id = $1")
        .bind(author_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM reactions WHERE actor_id = $1")
        .bind(author_id)
        .execute(&mut *tx)
        .await?;
    db.commit_content(tx).await?;
    Ok(done.rows_affected())
}

/// Comments readers can see, on every post (NodeInfo's `localComments`).
pub async fn count_shown(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments WHERE status = 'shown' AND visibility IN ('public', 'unlisted')",
    )
    .fetch_one(&db.pool)
    .await
}

/// A page of the ids of a post's shown comments, oldest first, with the total: the Article's `replies`.
// Comments imported from a blog's own comment form (ids `tag:…`) were never on the fediverse: not listed.
pub async fn shown_ids(
    db: &Db,
    post_id: &str,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<String>), sqlx::Error> {
    let total = sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments WHERE post_id = $1 AND status = 'shown' \
         AND visibility IN ('public', 'unlisted') AND id NOT LIKE 'tag:%'",
    )
    .bind(post_id)
    .fetch_one(&db.pool)
    .await?;
    let ids = sqlx::query_scalar(
        "SELECT id FROM comments WHERE post_id = $1 AND status = 'shown' \
         AND visibility IN ('public', 'unlisted') AND id NOT LIKE 'tag:%' ORDER BY published_at, id LIMIT $2 OFFSET $3",
    )
    .bind(post_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    Ok((total, ids))
}

/// A like or boost of a post, stored once per actor and post. Returns whether it was new.
pub async fn react(
    db: &Db,
    activity_id: &str,
    kind: &str,
    actor_id: &str,
    post_id: &str,
) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(
        "INSERT INTO reactions (activity_id, kind, actor_id, post_id, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
    )
    .bind(activity_id)
    .bind(kind)
    .bind(actor_id)
    .bind(post_id)
    .bind(now());
    change(db, query).await
}

/// Undoes a like or boost: by its activity id, or (when the Undo names only the post) by kind, actor and post.
pub async fn unreact(
    db: &Db,
    actor_id: &str,
    activity_id: &str,
    by_object: Option<(&str, &str)>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let mut removed = sqlx::query("DELETE FROM reactions WHERE activity_id = $1 AND actor_id = $2")
        .bind(activity_id)
        .bind(actor_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if let Some((kind, post_id)) = by_object.filter(|_| removed == 0) {
        removed =
            sqlx::query("DELETE FROM reactions WHERE kind = $1 AND actor_id = $2 AND post_id = $3")
                .bind(kind)
                .bind(actor_id)
                .bind(post_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
    }
    db.commit_content(tx).await?;
    Ok(removed > 0)
}

/// How many likes and boosts a post has.
pub async fn reaction_counts(db: &Db, post_id: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN kind = 'like' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN kind = 'announce' THEN 1 ELSE 0 END), 0) FROM reactions WHERE post_id = $1",
    )
    .bind(post_id)
    .fetch_one(&db.pool)
    .await
}

/// A page of the activity ids of a post's likes or boosts, oldest first, with the total.
pub async fn reaction_ids(
    db: &Db,
    post_id: &str,
    kind: &str,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<String>), sqlx::Error> {
    let total =
        sqlx::query_scalar("SELECT COUNT(*) FROM reactions WHERE post_id = $1 AND kind = $2")
            .bind(post_id)
            .bind(kind)
            .fetch_one(&db.pool)
            .await?;
    let ids = sqlx::query_scalar(
        "SELECT activity_id FROM reactions WHERE post_id = $1 AND kind = $2 \
         ORDER BY created_at, activity_id LIMIT $3 OFFSET $4",
    )
    .bind(post_id)
    .bind(kind)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    Ok((total, ids))
}

/// A comment with the post it is on, for the moderation page.
#[derive(Debug, Clone, FromRow)]
pub struct ModerationRow {
    #[sqlx(flatten)]
    pub comment: CommentRow,
    pub post_title: String,
    pub post_slug: String,
}

/// Comments readers could see, with `status`, newest first (the moderation page's lists).
pub async fn list_for_moderation(
    db: &Db,
    status: &str,
    limit: i64,
) -> Result<Vec<ModerationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {cols}, p.title AS post_title, p.slug AS post_slug FROM comments c JOIN posts p ON p.id = c.post_id \
         WHERE c.status = $1 AND c.visibility IN ('public', 'unlisted') \
         ORDER BY c.published_at DESC, c.id LIMIT $2",
        cols = COLUMNS
            .split(", ")
            .map(|c| format!("c.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(status)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Comments waiting for the owner's approval (the count in the admin header).
pub async fn count_waiting(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments WHERE status = 'held' AND visibility IN ('public', 'unlisted')",
    )
    .fetch_one(&db.pool)
    .await
}

/// Approves (`shown`) or rejects (`rejected`: kept, so that the same reply delivered again stays hidden).
pub async fn set_status(db: &Db, id: &str, status: &str) -> Result<bool, sqlx::Error> {
    let query = sqlx::query("UPDATE comments SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status);
    change(db, query).await
}

/// Deletes a comment (the owner's decision, or their own reply).
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    change(
        db,
        sqlx::query("DELETE FROM comments WHERE id = $1").bind(id),
    )
    .await
}

/// Whether the owner has let a comment by `author_id` be shown before (the "hold first-time commenters" policy).
pub async fn has_shown_from(db: &Db, author_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments WHERE author_id = $1 AND status = 'shown' \
         AND visibility IN ('public', 'unlisted')",
    )
    .bind(author_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// Comments received since `since` from one author, and from their whole host: what flood throttling counts.
pub async fn received_since(
    db: &Db,
    author_id: &str,
    author_host: &str,
    since: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN author_id = $1 THEN 1 ELSE 0 END), 0), COUNT(*) FROM comments \
         WHERE author_host = $2 AND received_at > $3",
    )
    .bind(author_id)
    .bind(author_host)
    .bind(since)
    .fetch_one(&db.pool)
    .await
}

/// A post with the comments open or closed.
pub async fn set_open(db: &Db, post_id: &str, open: bool) -> Result<bool, sqlx::Error> {
    let query = sqlx::query("UPDATE posts SET comments_open = $2 WHERE id = $1")
        .bind(post_id)
        .bind(i64::from(open));
    change(db, query).await
}

pub async fn is_open(db: &Db, post_id: &str) -> Result<bool, sqlx::Error> {
    let open: Option<i64> = sqlx::query_scalar("SELECT comments_open FROM posts WHERE id = $1")
        .bind(post_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(open == Some(1))
}
