//! SQL for what other servers accept of the blog's signatures (`signing_hosts`): the way learned per host.

use super::Db;

/// The way `host` was learned to accept, and when (Unix seconds); `None` if nothing was learned.
pub async fn find(db: &Db, host: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT signing, learned_at FROM signing_hosts WHERE host = $1")
        .bind(host)
        .fetch_optional(&db.pool)
        .await
}

/// Records that `host` accepts `signing`, learned at `at`.
pub async fn learn(db: &Db, host: &str, signing: &str, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signing_hosts (host, signing, learned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (host) DO UPDATE SET signing = excluded.signing, learned_at = excluded.learned_at",
    )
    .bind(host)
    .bind(signing)
    .bind(at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Forgets what was learned about `host` (it accepts the best way again).
pub async fn forget(db: &Db, host: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM signing_hosts WHERE host = $1")
        .bind(host)
        .execute(&db.pool)
        .await?;
    Ok(())
}
