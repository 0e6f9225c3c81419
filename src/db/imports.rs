//! SQL for imports: which post and comment each WordPress one became (`import_posts`, `import_comments`), and the old
//! addresses of imported posts (`old_addresses`).

use sqlx::AnyConnection;

use super::{Db, comments::NewComment, now, posts::Tx};

/// What an earlier run stored for a WordPress post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub post_id: String,
    pub digest: String,
    /// The post's `updated_at` as that run left it.
    pub updated_at: i64,
}

pub async fn find_post(
    tx: &mut Tx,
    site: &str,
    wp_id: i64,
) -> Result<Option<Imported>, sqlx::Error> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT post_id, digest, updated_at FROM import_posts WHERE site = $1 AND wp_id = $2",
    )
    .bind(site)
    .bind(wp_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(post_id, digest, updated_at)| Imported {
        post_id,
        digest,
        updated_at,
    }))
}

/// A post's `updated_at`, if it still exists.
pub async fn post_updated_at(tx: &mut Tx, post_id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT updated_at FROM posts WHERE id = $1")
        .bind(post_id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn record_post(
    tx: &mut Tx,
    site: &str,
    wp_id: i64,
    imported: &Imported,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_posts (site, wp_id, post_id, digest, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (site, wp_id) DO UPDATE SET post_id = excluded.post_id, digest = excluded.digest, \
         updated_at = excluded.updated_at",
    )
    .bind(site)
    .bind(wp_id)
    .bind(&imported.post_id)
    .bind(&imported.digest)
    .bind(imported.updated_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Gives an imported post the dates WordPress had: when it was written (`created_at`) and last changed. The last
/// change never goes back past what this database already served for the post (an Update must be newer).
pub async fn set_post_dates(
    tx: &mut Tx,
    post_id: &str,
    created_at: i64,
    modified_at: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("UPDATE posts SET created_at = $2, updated_at = $3 WHERE id = $1")
        .bind(post_id)
        .bind(created_at)
        .bind(modified_at)
        .execute(&mut **tx)
        .await?;
    Ok(modified_at)
}

/// Makes `address` (a normalised path or a full URL) mean `post_id`.
pub async fn add_old_address(tx: &mut Tx, address: &str, post_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO old_addresses (address, post_id) VALUES ($1, $2) \
         ON CONFLICT (address) DO UPDATE SET post_id = excluded.post_id",
    )
    .bind(address)
    .bind(post_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The published post an old address means: (its id, kind, current slug, Article id).
pub async fn post_at_old_address(
    db: &Db,
    address: &str,
) -> Result<Option<(String, String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.kind, p.slug, p.article_id FROM old_addresses o JOIN posts p ON p.id = o.post_id \
         WHERE o.address = $1 AND p.status = 'published'",
    )
    .bind(address)
    .fetch_optional(&db.pool)
    .await
}

/// The published imported post whose old ActivityPub id (or permalink) is `url`, with or without a trailing slash.
pub async fn post_for_old_url(db: &Db, url: &str) -> Result<Option<String>, sqlx::Error> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Ok(None);
    }
    if let Some((id, ..)) = post_at_old_address(db, url).await? {
        return Ok(Some(id));
    }
    let other = match url.strip_suffix('/') {
        Some(u) => u.to_string(),
        None => format!("{url}/"),
    };
    Ok(post_at_old_address(db, &other).await?.map(|(id, ..)| id))
}

/// Whether a comment was imported (its author may not be known by actor id yet).
pub async fn is_imported_comment(db: &Db, comment_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM import_comments WHERE comment_id = $1")
        .bind(comment_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

pub async fn find_comment(
    tx: &mut Tx,
    site: &str,
    wp_id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT comment_id, digest FROM import_comments WHERE site = $1 AND wp_id = $2")
        .bind(site)
        .bind(wp_id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn record_comment(
    tx: &mut Tx,
    site: &str,
    wp_id: i64,
    comment_id: &str,
    digest: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_comments (site, wp_id, comment_id, digest) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (site, wp_id) DO UPDATE SET comment_id = excluded.comment_id, digest = excluded.digest",
    )
    .bind(site)
    .bind(wp_id)
    .bind(comment_id)
    .bind(digest)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Stores an imported comment, or replaces the text and author of the one stored under the same id.
pub async fn upsert_comment(conn: &mut AnyConnection, c: &NewComment) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO comments (id, anchor, post_id, parent_id, author_id, author_host, author_name, author_handle, \
         author_url, author_avatar, content_html, source_text, summary, attachments_html, url, visibility, status, \
         published_at, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, author_name = excluded.author_name, \
         author_url = excluded.author_url, content_html = excluded.content_html, url = excluded.url, \
         published_at = excluded.published_at",
    )
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
    .bind(now())
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// How many posts, comments and old addresses imports have recorded (for tests and the summary).
pub async fn counts(db: &Db) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM import_posts), (SELECT COUNT(*) FROM import_comments), \
         (SELECT COUNT(*) FROM old_addresses)",
    )
    .fetch_one(&db.pool)
    .await
}
