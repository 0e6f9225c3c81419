//! SQL for comments (replies from other servers to posts and to other comments) and for likes and boosts.
//! Every write that readers could see commits through `Db::commit_post_changes` (the pages of the posts it changed,
//! and the lists, go stale) or, when it touches many posts, `Db::commit_content`.

use sqlx::{Any, FromRow, Row, any::AnyArguments, query::Query};

use super::{Db, now};

/// Runs one statement that changes what readers see and names, with `RETURNING post_id`, the post of each row it
/// changed; commits it so that those posts' cached pages go stale. Returns whether it changed a row.
async fn change<'q>(db: &Db, query: Query<'q, Any, AnyArguments<'q>>) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let rows = query.fetch_all(&mut *tx).await?;
    let posts = rows
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    // A statement that changed nothing (a repeated Like) leaves the cached pages valid.
    db.commit_post_changes(tx, &posts).await?;
    Ok(!posts.is_empty())
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

/// What makes a comment visible to readers (`c` is the comments table's alias).
const SHOWN: &str = "c.status = 'shown' AND c.visibility IN ('public', 'unlisted')";

/// A thread's first comment on the post page: it answers the post, or a comment readers do not see (held,
/// rejected, private or deleted), under which it would otherwise be lost.
const ROOT: &str = "(c.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM comments up WHERE up.id = c.parent_id \
     AND up.post_id = c.post_id AND up.status = 'shown' AND up.visibility IN ('public', 'unlisted')))";

/// How many threads readers see on a post: what the post page's comment pages divide.
pub async fn count_threads(db: &Db, post_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM comments c WHERE c.post_id = $1 AND {SHOWN} AND {ROOT}"
    ))
    .bind(post_id)
    .fetch_one(&db.pool)
    .await
}

/// One page of a post's threads, oldest first: `limit` threads after the first `offset`, each with every reply
/// under it that readers see (oldest first; the caller orders them as threads).
pub async fn list_threads(
    db: &Db,
    post_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "WITH RECURSIVE roots (id) AS ( \
           SELECT c.id FROM comments c WHERE c.post_id = $1 AND {SHOWN} AND {ROOT} \
           ORDER BY c.published_at, c.id LIMIT $2 OFFSET $3), \
         tree (id) AS ( \
           SELECT id FROM roots \
           UNION SELECT c.id FROM comments c JOIN tree t ON c.parent_id = t.id WHERE c.post_id = $1 AND {SHOWN}) \
         SELECT {COLUMNS} FROM comments WHERE id IN (SELECT id FROM tree) ORDER BY published_at, id"
    ))
    .bind(post_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await
}

/// Where a shown comment stands on its post's pages: the post's id and the number of threads before the comment's
/// own thread (its page is that ÷ threads per page, plus one). `None` when readers do not see it.
pub async fn thread_position(db: &Db, anchor: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    let shown = |id_column: &'static str| {
        format!("SELECT {COLUMNS} FROM comments c WHERE c.{id_column} = $1 AND {SHOWN}")
    };
    let Some(mut comment) = sqlx::query_as::<_, CommentRow>(&shown("anchor"))
        .bind(anchor)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    // Up to the thread's first comment; replies nest a bounded depth, and a chain longer than this (which a
    // hostile server could build) is cut short rather than walked.
    for _ in 0..crate::domain::comments::MAX_CHAIN {
        let Some(parent_id) = &comment.parent_id else {
            break;
        };
        match sqlx::query_as::<_, CommentRow>(&shown("id"))
            .bind(parent_id)
            .fetch_optional(&db.pool)
            .await?
        {
            Some(parent) if parent.post_id == comment.post_id => comment = parent,
            _ => break,
        }
    }
    let before: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM comments c WHERE c.post_id = $1 AND {SHOWN} AND {ROOT} \
         AND (c.published_at < $2 OR (c.published_at = $2 AND c.id < $3))"
    ))
    .bind(&comment.post_id)
    .bind(comment.published_at)
    .bind(&comment.id)
    .fetch_one(&db.pool)
    .await?;
    Ok(Some((comment.post_id, before)))
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
    change(
        db,
        insert_comment!(c, "ON CONFLICT (id) DO NOTHING RETURNING post_id"),
    )
    .await
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
         edited_at = $7, source_text = $8 WHERE id = $1 AND author_id = $2 AND COALESCE(edited_at, published_at) <= $7 \
         RETURNING post_id",
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
    if changed > 0 {
        db.commit_content(tx).await?;
    } else {
        tx.commit().await?;
    }
    Ok(changed)
}

pub async fn delete_by_author(db: &Db, id: &str, author_id: &str) -> Result<bool, sqlx::Error> {
    let query =
        sqlx::query("DELETE FROM comments WHERE id = $1 AND author_id = $2 RETURNING post_id")
            .bind(id)
            .bind(author_id);
    change(db, query).await
}

/// Records who wrote an imported comment, once their server has shown it (WordPress exports name commenters by
/// profile page, not by actor id).
pub async fn adopt_author(db: &Db, id: &str, author_id: &str) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(
        "UPDATE comments SET author_id = $2 WHERE id = $1 AND author_id <> $2 RETURNING post_id",
    )
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
    sqlx::query_scalar("SELECT CAST(COALESCE(SUM(comments), 0) AS BIGINT) FROM post_counts")
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
         ON CONFLICT DO NOTHING RETURNING post_id",
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
    let mut posts: Vec<String> = sqlx::query_scalar(
        "DELETE FROM reactions WHERE activity_id = $1 AND actor_id = $2 RETURNING post_id",
    )
    .bind(activity_id)
    .bind(actor_id)
    .fetch_all(&mut *tx)
    .await?;
    if let Some((kind, post_id)) = by_object.filter(|_| posts.is_empty()) {
        posts = sqlx::query_scalar(
            "DELETE FROM reactions WHERE kind = $1 AND actor_id = $2 AND post_id = $3 RETURNING post_id",
        )
        .bind(kind)
        .bind(actor_id)
        .bind(post_id)
        .fetch_all(&mut *tx)
        .await?;
    }
    db.commit_post_changes(tx, &posts).await?;
    Ok(!posts.is_empty())
}

/// A page of the activity ids of a post's likes or boosts, oldest first, with the total.
pub async fn reaction_ids(
    db: &Db,
    post_id: &str,
    kind: &str,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<String>), sqlx::Error> {
    let column = if kind == "like" { "likes" } else { "shares" };
    let total: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT {column} FROM post_counts WHERE post_id = $1"
    ))
    .bind(post_id)
    .fetch_optional(&db.pool)
    .await?;
    let total = total.unwrap_or(0);
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
    let query = sqlx::query("UPDATE comments SET status = $2 WHERE id = $1 RETURNING post_id")
        .bind(id)
        .bind(status);
    change(db, query).await
}

/// Deletes a comment (the owner's decision, or their own reply).
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    change(
        db,
        sqlx::query("DELETE FROM comments WHERE id = $1 RETURNING post_id").bind(id),
    )
    .await
}

/// Whether the owner has let a comment by `author_id` be shown before (the "hold first-time commenters" policy):
/// one seek in the `comments_author` index.
pub async fn has_shown_from(db: &Db, author_id: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM comments WHERE author_id = $1 AND status = 'shown' \
         AND visibility IN ('public', 'unlisted') LIMIT 1",
    )
    .bind(author_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(found.is_some())
}

/// The minute `time` falls in, as the flood counters count.
fn minute(time: i64) -> i64 {
    time.div_euclid(60)
}

/// Replies stored from one author, and from their whole host, in the last hour (the current minute and the 60
/// before it): what flood throttling counts. Reads at most 122 counter rows, whatever the history.
pub async fn received_in_last_hour(
    db: &Db,
    author_id: &str,
    author_host: &str,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        // PostgreSQL sums BIGINTs as NUMERIC, which the Any driver cannot read: cast back.
        "SELECT CAST(COALESCE(SUM(CASE WHEN counted = $1 THEN n ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN counted = $2 THEN n ELSE 0 END), 0) AS BIGINT) \
         FROM flood_counts WHERE counted IN ($1, $2) AND minute >= $3",
    )
    .bind(format!("actor:{author_id}"))
    .bind(format!("host:{author_host}"))
    .bind(minute(now()).saturating_sub(60))
    .fetch_one(&db.pool)
    .await
}

/// Stores a reply that came through the inbox once (the same object again changes nothing), and counts it for the
/// flood limits (see [`received_in_last_hour`]) in the same transaction. Returns whether it was new. About one call
/// in 256 also drops the counters older than an hour.
pub async fn insert_received(db: &Db, c: &NewComment) -> Result<bool, sqlx::Error> {
    let this_minute = minute(now());
    let mut tx = db.begin_write().await?;
    let inserted = insert_comment!(c, "ON CONFLICT (id) DO NOTHING")
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    if !inserted {
        tx.commit().await?;
        return Ok(false);
    }
    for counted in [
        format!("actor:{}", c.author_id),
        format!("host:{}", c.author_host),
    ] {
        sqlx::query(
            "INSERT INTO flood_counts (counted, minute, n) VALUES ($1, $2, 1) \
             ON CONFLICT (counted, minute) DO UPDATE SET n = flood_counts.n + 1",
        )
        .bind(counted)
        .bind(this_minute)
        .execute(&mut *tx)
        .await?;
    }
    if rand::random::<u8>() == 0 {
        sqlx::query("DELETE FROM flood_counts WHERE minute < $1")
            .bind(this_minute.saturating_sub(61))
            .execute(&mut *tx)
            .await?;
    }
    // A held, followers-only or direct reply changes no page readers see.
    if c.status == "shown" && matches!(c.visibility.as_str(), "public" | "unlisted") {
        db.commit_post_changes(tx, std::slice::from_ref(&c.post_id))
            .await?;
    } else {
        tx.commit().await?;
    }
    Ok(true)
}

/// A post with the comments open or closed.
pub async fn set_open(db: &Db, post_id: &str, open: bool) -> Result<bool, sqlx::Error> {
    let query = sqlx::query("UPDATE posts SET comments_open = $2 WHERE id = $1 RETURNING id")
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
