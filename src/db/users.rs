//! SQL for the owner account.

use sqlx::FromRow;

use super::{Db, is_unique_violation, now};

/// The stored owner.
#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
}

/// Why an owner could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateOwnerError {
    #[error("an owner account already exists")]
    AlreadyExists,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The owner's id, once the owner exists.
pub async fn owner_id(db: &Db) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users ORDER BY created_at LIMIT 1")
        .fetch_optional(&db.pool)
        .await
}

pub async fn owner_exists(db: &Db) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

/// Inserts the owner; the schema allows one, so a second attempt (even a concurrent one) fails with `AlreadyExists`.
pub async fn create_owner(
    db: &Db,
    username: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<User, CreateOwnerError> {
    let id = uuid::Uuid::now_v7().to_string();
    let result = sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, owner_slot, created_at) \
         VALUES ($1, $2, $3, $4, 1, $5)",
    )
    .bind(&id)
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(now())
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => Ok(User {
            id,
            username: username.to_string(),
            display_name: display_name.to_string(),
            password_hash: password_hash.to_string(),
        }),
        Err(e) if is_unique_violation(&e) => Err(CreateOwnerError::AlreadyExists),
        Err(e) => Err(e.into()),
    }
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, display_name, password_hash FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(&db.pool)
    .await
}

/// Replaces a user's password hash and ends every one of their sessions, in one transaction. `false` when no user has
/// that username.
pub async fn set_password(
    db: &Db,
    username: &str,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(id) = id else {
        return Ok(false);
    };
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
