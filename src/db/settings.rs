//! SQL for the owner's settings: a small key–value table.

use std::collections::HashMap;

use super::Db;
use crate::config::SiteConfig;

/// The keys of the site settings the web admin changes, over `config.toml`'s `[site]`.
pub const SITE_TITLE: &str = "site_title";
pub const SITE_DESCRIPTION: &str = "site_description";
pub const SITE_LANGUAGE: &str = "site_language";
pub const SITE_TIME_ZONE: &str = "site_time_zone";
pub const SITE_POSTS_PER_PAGE: &str = "site_posts_per_page";
pub const SITE_COMMENT_THREADS_PER_PAGE: &str = "site_comment_threads_per_page";

/// `base` (from `config.toml`) with the owner's stored changes; a stored value that is no longer valid is ignored.
pub async fn site(db: &Db, base: &SiteConfig) -> Result<SiteConfig, sqlx::Error> {
    let mut site = site_from(base, &all(db).await?);
    site.nav = super::posts::navigation(db).await?;
    Ok(site)
}

/// `base` with the values of `stored` that are valid.
pub fn site_from(base: &SiteConfig, stored: &HashMap<String, String>) -> SiteConfig {
    let mut site = base.clone();
    if let Some(v) = stored.get(SITE_TITLE).filter(|v| !v.trim().is_empty()) {
        site.title = v.clone();
    }
    if let Some(v) = stored.get(SITE_DESCRIPTION) {
        site.description = v.clone();
    }
    if let Some(v) = stored
        .get(SITE_LANGUAGE)
        .filter(|v| crate::config::is_language_tag(v))
    {
        site.language = v.clone();
    }
    if let Some(v) = stored
        .get(SITE_TIME_ZONE)
        .filter(|v| crate::domain::dates::Zone::named(v).is_some())
    {
        site.time_zone = v.clone();
    }
    if let Some(n) = stored
        .get(SITE_POSTS_PER_PAGE)
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|n| crate::config::POSTS_PER_PAGE.contains(n))
    {
        site.posts_per_page = n;
    }
    if let Some(n) = stored
        .get(SITE_COMMENT_THREADS_PER_PAGE)
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|n| crate::config::COMMENT_THREADS_PER_PAGE.contains(n))
    {
        site.comment_threads_per_page = n;
    }
    site.favicon_url = stored.get("favicon_url").cloned();
    site.moved_to = crate::domain::moving::moved(stored);
    site.redirect_to = crate::domain::moving::redirect_to(stored);
    site.comment_policy = crate::domain::moderation::Policy::from_setting(
        stored
            .get(crate::domain::moderation::Policy::KEY)
            .map(String::as_str),
    );
    site
}

pub async fn all(db: &Db) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM site_settings")
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Sets (`Some`) or removes (`None`) each key, in one transaction; public pages and documents become stale.
pub async fn set(db: &Db, values: &[(&str, Option<String>)]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    set_in(&mut tx, values).await?;
    db.commit_content(tx).await
}

/// Like [`set`], inside the caller's transaction (commit it with [`Db::commit_content`]).
pub async fn set_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    values: &[(&str, Option<String>)],
) -> Result<(), sqlx::Error> {
    for (key, value) in values {
        match value {
            Some(v) => {
                sqlx::query(
                    "INSERT INTO site_settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(v)
                .execute(&mut **tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM site_settings WHERE key = $1")
                    .bind(key)
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    Ok(())
}
