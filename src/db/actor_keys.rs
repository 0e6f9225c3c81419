//! SQL for the local actor's key pair.

use sqlx::FromRow;

use super::{Db, now};

/// A stored key pair; the private half is base64 PKCS#8 DER.
#[derive(Clone, FromRow)]
pub struct StoredKey {
    pub private_key_pkcs8: String,
    pub public_key_pem: String,
    pub created_at: i64,
}

pub async fn find(db: &Db, actor: &str) -> Result<Option<StoredKey>, sqlx::Error> {
    sqlx::query_as(
        "SELECT private_key_pkcs8, public_key_pem, created_at FROM actor_keys WHERE actor = $1",
    )
    .bind(actor)
    .fetch_optional(&db.pool)
    .await
}

/// Stores a key unless the actor has one already (another process may have won the race); returns the one stored.
pub async fn insert_or_keep(
    db: &Db,
    actor: &str,
    private_key_pkcs8: &str,
    public_key_pem: &str,
) -> Result<StoredKey, sqlx::Error> {
    sqlx::query(
        "INSERT INTO actor_keys (actor, private_key_pkcs8, public_key_pem, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (actor) DO NOTHING",
    )
    .bind(actor)
    .bind(private_key_pkcs8)
    .bind(public_key_pem)
    .bind(now())
    .execute(&db.pool)
    .await?;
    find(db, actor).await?.ok_or(sqlx::Error::RowNotFound)
}
