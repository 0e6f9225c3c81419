//! SQL for imports: which post, comment and image each WordPress one became (`import_posts`, `import_comments`,
//! `import_media`), and the old addresses of imported posts (`old_addresses`).

use sqlx::AnyConnection;

use super::{Db, posts::Tx};

/// What an earlier run stored for a WordPress post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub post_id: String,
    pub digest: String,
    /// The post's `updated_at` as that run left it.
    pub updated_at: i64,
    /// Images of the post that still point at the old site.
    pub images_pending: i64,
}

/// What an earlier run stored for a WordPress post, and the post's `updated_at` now (`None`: the owner deleted it).
pub async fn find_post(
    conn: &mut AnyConnection,
    site: &str,
    wp_id: i64,
) -> Result<Option<(Imported, Option<i64>)>, sqlx::Error> {
    let row: Option<(String, String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT i.post_id, i.digest, i.updated_at, i.images_pending, p.updated_at FROM import_posts i \
         LEFT JOIN posts p ON p.id = i.post_id WHERE i.site = $1 AND i.wp_id = $2",
    )
    .bind(site)
    .bind(wp_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(post_id, digest, updated_at, images_pending, now_updated_at)| {
            (
                Imported {
                    post_id,
                    digest,
                    updated_at,
                    images_pending,
                },
                now_updated_at,
            )
        },
    ))
}

pub async fn record_post(
    tx: &mut Tx,
    site: &str,
    wp_id: i64,
    imported: &Imported,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_posts (site, wp_id, post_id, digest, updated_at, images_pending) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (site, wp_id) DO UPDATE SET post_id = excluded.post_id, digest = excluded.digest, \
         updated_at = excluded.updated_at, images_pending = excluded.images_pending",
    )
    .bind(site)
    .bind(wp_id)
    .bind(&imported.post_id)
    .bind(&imported.digest)
    .bind(imported.updated_at)
    .bind(imported.images_pending)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Gives an imported post the dates WordPress had: when it was written (`created_at`) and last changed. Returns the
/// slug it was stored under.
pub async fn set_post_dates(
    tx: &mut Tx,
    post_id: &str,
    created_at: i64,
    updated_at: i64,
) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE posts SET created_at = $2, updated_at = $3 WHERE id = $1 RETURNING slug",
    )
    .bind(post_id)
    .bind(created_at)
    .bind(updated_at)
    .fetch_one(&mut **tx)
    .await
}

/// Makes each of `addresses` (normalised paths or full URLs) mean `post_id`.
pub async fn add_old_addresses(
    tx: &mut Tx,
    addresses: &[String],
    post_id: &str,
) -> Result<(), sqlx::Error> {
    for chunk in addresses.chunks(200) {
        let sql = format!(
            "INSERT INTO old_addresses (post_id, address) VALUES {} \
             ON CONFLICT (address) DO UPDATE SET post_id = excluded.post_id",
            super::posts::value_rows(chunk.len(), 1, 2, "$1, ")
        );
        let mut query = sqlx::query(&sql).bind(post_id);
        for a in chunk {
            query = query.bind(a);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
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

/// What earlier runs stored for these WordPress comments: by WordPress id, the comment's id and digest.
pub async fn find_comments(
    tx: &mut Tx,
    site: &str,
    wp_ids: &[i64],
) -> Result<std::collections::HashMap<i64, (String, String)>, sqlx::Error> {
    let mut out = std::collections::HashMap::new();
    for chunk in wp_ids.chunks(500) {
        let sql = format!(
            "SELECT wp_id, comment_id, digest FROM import_comments WHERE site = $1 AND wp_id IN ({})",
            super::posts::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (i64, String, String)>(&sql).bind(site);
        for id in chunk {
            query = query.bind(*id);
        }
        for (wp_id, comment_id, digest) in query.fetch_all(&mut **tx).await? {
            out.insert(wp_id, (comment_id, digest));
        }
    }
    Ok(out)
}

/// Records which comment each WordPress comment became: (WordPress id, comment id, digest).
pub async fn record_comments(
    tx: &mut Tx,
    site: &str,
    records: &[(i64, String, String)],
) -> Result<(), sqlx::Error> {
    for chunk in records.chunks(200) {
        let sql = format!(
            "INSERT INTO import_comments (site, wp_id, comment_id, digest) VALUES {} \
             ON CONFLICT (site, wp_id) DO UPDATE SET comment_id = excluded.comment_id, digest = excluded.digest",
            super::posts::value_rows(chunk.len(), 3, 2, "$1, ")
        );
        let mut query = sqlx::query(&sql).bind(site);
        for (wp_id, comment_id, digest) in chunk {
            query = query.bind(*wp_id).bind(comment_id).bind(digest);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The stored upload an image of the old site became in an earlier run (`source`: its path under the old uploads
/// folder, or its address).
pub async fn media_for(db: &Db, site: &str, source: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT media_id FROM import_media WHERE site = $1 AND source = $2")
        .bind(site)
        .bind(source)
        .fetch_optional(&db.pool)
        .await
}

pub async fn record_media(
    db: &Db,
    site: &str,
    source: &str,
    media_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_media (site, source, media_id) VALUES ($1, $2, $3) \
         ON CONFLICT (site, source) DO UPDATE SET media_id = excluded.media_id",
    )
    .bind(site)
    .bind(source)
    .bind(media_id)
    .execute(&db.pool)
    .await
    .map(|_| ())
}
