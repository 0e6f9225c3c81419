//! SQL for images: the uploads, the posts that show them, each post's featured image, and copied remote avatars.

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};

use super::{
    Db, now,
    posts::{Post, Tx},
};
use crate::domain::media::{Image, VariantInfo};

/// An upload as stored.
#[derive(Debug, Clone, FromRow)]
pub struct MediaRow {
    pub id: String,
    pub original_name: String,
    pub original_type: String,
    pub original_bytes: i64,
    pub width: i64,
    pub height: i64,
    pub blurhash: String,
    pub alt: Option<String>,
    /// JSON list of [`VariantInfo`].
    pub variants: String,
    pub created_at: i64,
}

impl MediaRow {
    pub fn variants(&self) -> Vec<VariantInfo> {
        serde_json::from_str(&self.variants).unwrap_or_default()
    }

    pub fn image(&self) -> Image {
        Image {
            id: self.id.clone(),
            width: u32::try_from(self.width).unwrap_or(0),
            height: u32::try_from(self.height).unwrap_or(0),
            blurhash: self.blurhash.clone(),
            alt: self.alt.clone(),
            variants: self.variants(),
        }
    }

    /// Bytes of every variant together (what the store holds besides the original).
    pub fn stored_bytes(&self) -> u64 {
        self.variants().iter().map(|v| v.bytes).sum()
    }
}

const COLUMNS: &str = "id, original_name, original_type, original_bytes, width, height, blurhash, alt, variants, \
     created_at";

/// Records an upload; an upload already recorded (the same content) keeps its row, alt text included. Returns the
/// row as stored and whether it is new.
pub async fn insert(db: &Db, row: &MediaRow) -> Result<(MediaRow, bool), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO media ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO NOTHING"
    ))
    .bind(&row.id)
    .bind(&row.original_name)
    .bind(&row.original_type)
    .bind(row.original_bytes)
    .bind(row.width)
    .bind(row.height)
    .bind(&row.blurhash)
    .bind(&row.alt)
    .bind(&row.variants)
    .bind(row.created_at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let stored = find_in(&mut tx, &row.id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    tx.commit().await?;
    Ok((stored, inserted))
}

pub async fn find(db: &Db, id: &str) -> Result<Option<MediaRow>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    find_in(&mut conn, id).await
}

pub async fn find_in(conn: &mut AnyConnection, id: &str) -> Result<Option<MediaRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM media WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The rows of `ids` that exist, by id.
pub async fn find_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, MediaRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM media WHERE id IN ({})",
        super::posts::placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, MediaRow>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    Ok(query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect())
}

/// Every upload, newest first.
pub async fn list(db: &Db) -> Result<Vec<MediaRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM media ORDER BY created_at DESC, id"
    ))
    .fetch_all(&db.pool)
    .await
}

/// Sets an upload's description (`Some("")`: decorative; `None`: not described).
pub async fn set_alt(db: &Db, id: &str, alt: Option<&str>) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let changed = set_alt_in(&mut tx, id, alt).await?;
    db.commit_content(tx).await?;
    Ok(changed)
}

pub async fn set_alt_in(tx: &mut Tx, id: &str, alt: Option<&str>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE media SET alt = $1 WHERE id = $2")
        .bind(alt)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected()
        == 1)
}

/// A post that shows an upload.
#[derive(Debug, Clone, FromRow)]
pub struct Use {
    pub post_id: String,
    pub title: String,
    pub status: String,
}

/// The posts that show each upload (in their text or as featured image), by upload id.
pub async fn uses(db: &Db) -> Result<HashMap<String, Vec<Use>>, sqlx::Error> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT pm.media_id, p.id, p.title, p.status FROM post_media pm JOIN posts p ON p.id = pm.post_id \
         UNION SELECT p.featured_media_id, p.id, p.title, p.status FROM posts p \
         WHERE p.featured_media_id IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut by_media: HashMap<String, Vec<Use>> = HashMap::new();
    for (media_id, post_id, title, status) in rows {
        let list = by_media.entry(media_id).or_default();
        if !list.iter().any(|u| u.post_id == post_id) {
            list.push(Use {
                post_id,
                title,
                status,
            });
        }
    }
    Ok(by_media)
}

/// The posts that show one upload.
pub async fn uses_of_in(conn: &mut AnyConnection, id: &str) -> Result<Vec<Use>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id AS post_id, p.title, p.status FROM posts p WHERE p.featured_media_id = $1 \
         OR EXISTS (SELECT 1 FROM post_media pm WHERE pm.post_id = p.id AND pm.media_id = $1) ORDER BY p.title",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}

/// Removes an upload's row unless a post uses it (checked in the same transaction). `Err(uses)` when used.
pub async fn delete_unused(
    db: &Db,
    id: &str,
) -> Result<Result<Option<MediaRow>, Vec<Use>>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let used = uses_of_in(&mut tx, id).await?;
    if !used.is_empty() {
        return Ok(Err(used));
    }
    let row = find_in(&mut tx, id).await?;
    sqlx::query("DELETE FROM media WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(row))
}

/// Records which uploads a post shows, in order, and its featured image (both replace what was recorded).
pub async fn set_post_media_in(
    tx: &mut Tx,
    post_id: &str,
    ids: &[String],
    featured: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM post_media WHERE post_id = $1")
        .bind(post_id)
        .execute(&mut **tx)
        .await?;
    for (position, id) in ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO post_media (post_id, media_id, position) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM media WHERE id = $2)",
        )
        .bind(post_id)
        .bind(id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE posts SET featured_media_id = (SELECT id FROM media WHERE id = $1) WHERE id = $2",
    )
    .bind(featured)
    .bind(post_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Fills in each post's featured image and the images its text shows (in order), with one query.
pub async fn attach(conn: &mut AnyConnection, posts: &mut [Post]) -> Result<(), sqlx::Error> {
    if posts.is_empty() {
        return Ok(());
    }
    // One query for both: the featured images (marked 1) and the images each post shows, in their order.
    let ids = super::posts::placeholders(1, posts.len());
    let sql = format!(
        "SELECT 1 AS featured_row, p.id AS post_key, 0 AS position, {m} FROM media m \
         JOIN posts p ON p.featured_media_id = m.id WHERE p.id IN ({ids}) \
         UNION ALL \
         SELECT 0 AS featured_row, pm.post_id AS post_key, pm.position AS position, {m} FROM media m \
         JOIN post_media pm ON pm.media_id = m.id WHERE pm.post_id IN ({ids}) \
         ORDER BY post_key, featured_row DESC, position",
        m = prefixed("m")
    );
    let mut query = sqlx::query_as::<_, PostMedia>(&sql);
    for p in posts.iter() {
        query = query.bind(&p.id);
    }
    let mut featured: HashMap<String, Image> = HashMap::new();
    let mut by_post: HashMap<String, Vec<Image>> = HashMap::new();
    for r in query.fetch_all(&mut *conn).await? {
        if r.featured_row == 1 {
            featured.insert(r.post_id, r.row.image());
        } else {
            by_post.entry(r.post_id).or_default().push(r.row.image());
        }
    }
    for p in posts.iter_mut() {
        p.featured = featured.remove(&p.id);
        p.images = by_post.remove(&p.id).unwrap_or_default();
    }
    Ok(())
}

#[derive(FromRow)]
struct PostMedia {
    /// 1 for a post's featured image, 0 for an image it shows.
    featured_row: i64,
    #[sqlx(rename = "post_key")]
    post_id: String,
    #[sqlx(flatten)]
    row: MediaRow,
}

fn prefixed(table: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The posts that show an upload (for re-rendering after its description changed).
pub async fn posts_using(db: &Db, id: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    Ok(uses_of_in(&mut conn, id)
        .await?
        .into_iter()
        .map(|u| u.post_id)
        .collect())
}

/// A copied remote avatar: the stored name (`None` after a failed fetch) and when it was fetched.
pub async fn remote_avatar(
    db: &Db,
    source_url: &str,
) -> Result<Option<(Option<String>, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT media_name, fetched_at FROM remote_avatars WHERE source_url = $1")
        .bind(source_url)
        .fetch_optional(&db.pool)
        .await
}

/// The copied avatars of `urls`, fetched since `since`, by source address.
pub async fn remote_avatars(
    db: &Db,
    urls: &[String],
) -> Result<HashMap<String, (Option<String>, i64)>, sqlx::Error> {
    if urls.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT source_url, media_name, fetched_at FROM remote_avatars WHERE source_url IN ({})",
        super::posts::placeholders(1, urls.len())
    );
    let mut query = sqlx::query_as::<_, (String, Option<String>, i64)>(&sql);
    for u in urls {
        query = query.bind(u);
    }
    Ok(query
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|(u, n, at)| (u, (n, at)))
        .collect())
}

/// Records a fetch of a remote avatar (its stored name, or `None` when it failed: an earlier copy is then kept until
/// the next refresh); public pages become stale.
pub async fn set_remote_avatar(
    db: &Db,
    source_url: &str,
    media_name: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO remote_avatars (source_url, media_name, fetched_at) VALUES ($1, $2, $3) \
         ON CONFLICT (source_url) DO UPDATE SET \
         media_name = COALESCE(excluded.media_name, remote_avatars.media_name), fetched_at = excluded.fetched_at",
    )
    .bind(source_url)
    .bind(media_name)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    // Avatars show beside comments, on post pages only.
    db.commit_all_posts(tx).await
}
