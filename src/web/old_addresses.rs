//! Old addresses: where a path the blog's own routes do not serve leads, when it was an imported post's permalink
//! (`/2011/03/slug/`, `/?p=101`, `/slug/`, as recorded by the import) or one of WordPress's own paths (`/tag/ngos/`,
//! `/category/kazakhstan/`, `/feed/`, `/comments/feed/`, `/author/…/`, `/page/2/`). The blog's routes always
//! win: this is asked only where they found nothing, so no two features claim one path.

use axum::{
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};

use super::{pages::moved_permanently, views};
use crate::{
    app::AppState,
    db::imports,
    error::AppError,
    federation::http::{redirect_varying, wants_activity_json},
    import::old_path,
};

/// An imported post an old path meant: where readers find it now, and its Article id.
async fn post_at(state: &AppState, path: &str) -> Result<Option<(String, String)>, sqlx::Error> {
    let Some(key) = old_path(path) else {
        return Ok(None);
    };
    Ok(imports::post_at_old_address(&state.db, &key)
        .await?
        .map(|(_, kind, slug, article_id)| {
            let path = if kind == "page" {
                format!("/{slug}")
            } else {
                views::post_path(&slug)
            };
            (path, article_id)
        }))
}

/// Where a WordPress path leads on a Steppe blog, whether or not anything was imported.
fn wordpress_path(path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    let is_feed = |s: &&str| matches!(*s, "feed" | "rss" | "rss2" | "atom" | "rdf");
    let slug_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 200
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'%')
    };
    match segments.as_slice() {
        ["feed"] | ["feed", "rss2" | "rss" | "rdf"] | ["rss"] | ["rss2"] => {
            Some("/feed.rss".into())
        }
        ["feed", "atom"] | ["atom"] | ["comments", "feed", ..] => Some("/feed.xml".into()),
        ["tag", s] if slug_ok(s) => Some(format!("/tags/{s}")),
        ["tag", s, f, ..] if slug_ok(s) && is_feed(f) => Some(format!("/tags/{s}/feed.xml")),
        ["category", rest @ ..] if !rest.is_empty() => {
            let (last, feed) = match rest {
                [.., s, f] if is_feed(f) => (*s, true),
                [.., s] => (*s, false),
                [] => return None,
            };
            if !slug_ok(last) || last == "category" {
                return None;
            }
            Some(if feed {
                format!("/tags/{last}/feed.xml")
            } else {
                format!("/tags/{last}")
            })
        }
        ["author", _] => Some("/".into()),
        ["author", _, f, ..] if is_feed(f) => Some("/feed.xml".into()),
        ["page", n] if n.len() <= 7 && n.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("/?page={n}"))
        }
        [y, m, d]
            if y.len() == 4
                && m.len() == 2
                && d.len() == 2
                && [y, m, d]
                    .iter()
                    .all(|s| s.bytes().all(|b| b.is_ascii_digit())) =>
        {
            Some(format!("/{y}/{m}/"))
        }
        _ => None,
    }
}

/// The answer for an address the blog's routes do not serve: 301 to where it lives now (ActivityPub clients asking
/// for an imported post's old id are sent to its Article), else 404.
pub async fn moved_or_not_found(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let path = uri.path();
    let address = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    if let Some(actor) =
        crate::federation::documents::old_wordpress_actor(state, &address, headers).await?
    {
        return Ok(actor);
    }
    let mut post = post_at(state, &address).await?;
    if post.is_none() {
        // `/2011/03/slug/feed/`, `/slug/amp/`: what hangs below a post leads to the post.
        let trimmed = path.trim_end_matches('/');
        if let Some((parent, last)) = trimmed.rsplit_once('/')
            && matches!(last, "feed" | "amp" | "embed" | "trackback")
            && !parent.is_empty()
        {
            post = post_at(state, parent).await?;
        }
    }
    if let Some((path, article_id)) = post {
        if wants_activity_json(headers) {
            return Ok(redirect_varying(
                StatusCode::FOUND,
                &state.urls.article(&article_id),
            ));
        }
        return Ok(moved_permanently(&path));
    }
    match wordpress_path(path) {
        Some(target) if target != path => Ok(moved_permanently(&target)),
        _ => Err(AppError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::wordpress_path;

    #[test]
    fn wordpress_paths() {
        let cases = [
            ("/tag/ngos/", Some("/tags/ngos")),
            ("/tag/NGOs", Some("/tags/ngos")),
            ("/tag/ngos/feed/", Some("/tags/ngos/feed.xml")),
            ("/category/kazakhstan/", Some("/tags/kazakhstan")),
            (
                "/category/asia/kazakhstan/feed",
                Some("/tags/kazakhstan/feed.xml"),
            ),
            ("/feed/", Some("/feed.rss")),
            ("/feed/atom/", Some("/feed.xml")),
            ("/comments/feed/", Some("/feed.xml")),
            ("/author/abolitionist/", Some("/")),
            ("/page/2/", Some("/?page=2")),
            ("/2011/03/02/", Some("/2011/03/")),
            ("/tag/<script>/", None),
            ("/elsewhere/", None),
            ("/category/", None),
        ];
        for (path, want) in cases {
            assert_eq!(wordpress_path(path).as_deref(), want, "{path}");
        }
    }
}
