//! SQL for remote actors: what we know of the accounts that follow the blog or sign requests to it.

use sqlx::FromRow;

use super::{Db, now};

#[derive(Debug, Clone, FromRow)]
pub struct RemoteActor {
    pub id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub handle: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub key_id: String,
    pub public_key_pem: String,
    pub fetched_at: i64,
}

const COLUMNS: &str =
    "id, inbox, shared_inbox, handle, name, avatar_url, key_id, public_key_pem, fetched_at";

pub async fn find_by_key_id(db: &Db, key_id: &str) -> Result<Option<RemoteActor>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM remote_actors WHERE key_id = $1"
    ))
    .bind(key_id)
    .fetch_optional(&db.pool)
    .await
}

pub async fn find(db: &Db, id: &str) -> Result<Option<RemoteActor>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM remote_actors WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

/// Stores or refreshes an actor.
pub async fn upsert(db: &Db, a: &RemoteActor) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO remote_actors (id, inbox, shared_inbox, handle, name, avatar_url, key_id, public_key_pem, fetched_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, \
         handle = excluded.handle, name = excluded.name, avatar_url = excluded.avatar_url, key_id = excluded.key_id, \
         public_key_pem = excluded.public_key_pem, fetched_at = excluded.fetched_at",
    )
    .bind(&a.id)
    .bind(&a.inbox)
    .bind(&a.shared_inbox)
    .bind(&a.handle)
    .bind(&a.name)
    .bind(&a.avatar_url)
    .bind(&a.key_id)
    .bind(&a.public_key_pem)
    .bind(now())
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// Forgets an actor (it was deleted at its origin).
pub async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM remote_actors WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}
