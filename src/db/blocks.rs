//! SQL for blocked accounts and domains, and for removing what they left (comments, likes, boosts, follows).

use sqlx::FromRow;

use super::{Db, now};

/// A block as listed.
#[derive(Debug, Clone, FromRow)]
pub struct Block {
    pub kind: String,
    pub value: String,
    pub created_at: i64,
}

pub async fn list(db: &Db) -> Result<Vec<Block>, sqlx::Error> {
    sqlx::query_as("SELECT kind, value, created_at FROM blocks ORDER BY kind, value")
        .fetch_all(&db.pool)
        .await
}

/// The host (and host:port) of a URL, and every parent domain of the host: what a domain block may name.
fn domains_of(actor_id: &str) -> Vec<String> {
    let Ok(url) = url::Url::parse(actor_id) else {
        return Vec::new();
    };
    let Some(host) = url.host_str() else {
        return Vec::new();
    };
    let host = host.to_ascii_lowercase();
    let mut out = Vec::new();
    if let Some(port) = url.port() {
        out.push(format!("{host}:{port}"));
    }
    if !matches!(url.host(), Some(url::Host::Domain(_))) {
        out.push(host);
        return out;
    }
    let mut rest = host.as_str();
    loop {
        out.push(rest.to_string());
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => break,
        }
    }
    out
}

/// Whether `actor_id` is blocked, by itself or by its domain (or a parent domain).
pub async fn is_blocked(db: &Db, actor_id: &str) -> Result<bool, sqlx::Error> {
    let domains = domains_of(actor_id);
    let mut sql = String::from("SELECT COUNT(*) FROM blocks WHERE (kind = 'actor' AND value = $1)");
    if !domains.is_empty() {
        let list: Vec<String> = (0..domains.len()).map(|i| format!("${}", i + 2)).collect();
        sql.push_str(&format!(
            " OR (kind = 'domain' AND value IN ({}))",
            list.join(", ")
        ));
    }
    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(actor_id);
    for d in &domains {
        q = q.bind(d.clone());
    }
    Ok(q.fetch_one(&db.pool).await? > 0)
}

/// Blocks an account or a domain and removes, in one transaction, their comments, likes, boosts and follows.
/// Returns how many comments were removed.
pub async fn block(db: &Db, kind: &str, value: &str) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO blocks (kind, value, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(kind)
    .bind(value)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    // Whom the block covers, among those who left something here.
    let mut actors: Vec<String> = sqlx::query_scalar(
        "SELECT author_id FROM comments UNION SELECT actor_id FROM reactions UNION SELECT actor_id FROM followers",
    )
    .fetch_all(&mut *tx)
    .await?;
    actors.retain(|a| match kind {
        "actor" => a == value,
        _ => domains_of(a).iter().any(|d| d == value),
    });
    let mut removed = 0;
    for actor in &actors {
        removed += sqlx::query("DELETE FROM comments WHERE author_id = $1")
            .bind(actor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["reactions", "followers"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE actor_id = $1"))
                .bind(actor)
                .execute(&mut *tx)
                .await?;
        }
    }
    db.commit_content(tx).await?;
    Ok(removed)
}

pub async fn unblock(db: &Db, kind: &str, value: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM blocks WHERE kind = $1 AND value = $2")
        .bind(kind)
        .bind(value)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn domains_cover_parents_and_ports() {
        assert_eq!(
            super::domains_of("https://social.spam.example/users/x"),
            ["social.spam.example", "spam.example"]
        );
        assert_eq!(
            super::domains_of("http://127.0.0.1:8080/users/x"),
            ["127.0.0.1:8080", "127.0.0.1"]
        );
    }
}
