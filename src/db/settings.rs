//! SQL for the owner's settings: a small key–value table.

use std::collections::HashMap;

use super::Db;

pub async fn all(db: &Db) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM site_settings")
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Sets (`Some`) or removes (`None`) each key, in one transaction; public pages and documents become stale.
pub async fn set(db: &Db, values: &[(&str, Option<String>)]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for (key, value) in values {
        match value {
            Some(v) => {
                sqlx::query(
                    "INSERT INTO site_settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(v)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM site_settings WHERE key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    db.commit_content(tx).await
}
