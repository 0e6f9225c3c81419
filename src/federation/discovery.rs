//! How other servers find the blog: WebFinger, host-meta and NodeInfo.

use axum::{
    extract::{Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    http::{ACTIVITY_JSON, json_with_type},
    protocol::{
        nodeinfo::{Link, Links, NodeInfo, Services, Software, Usage, Users},
        webfinger::{Jrd, JrdLink},
    },
    urls::Urls,
};
use crate::{app::AppState, db, error::AppError};

const NODEINFO_21: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";

#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// Whether `resource` names the blog actor: `acct:blog@host` (any case, optional leading `@`), or the actor's URL.
fn is_blog(resource: &str, urls: &Urls) -> bool {
    let resource = resource.trim();
    if resource == urls.actor() {
        return true;
    }
    let acct = resource
        .strip_prefix("acct:")
        .unwrap_or(resource)
        .trim_start_matches('@');
    format!("acct:{acct}").eq_ignore_ascii_case(&urls.acct())
}

/// `/.well-known/webfinger?resource=acct:blog@host`: 400 without `resource`, 404 for anyone else.
pub async fn webfinger(
    State(state): State<AppState>,
    Query(q): Query<WebfingerQuery>,
) -> Result<Response, AppError> {
    let resource = q
        .resource
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| AppError::BadRequest("The resource parameter is required.".into()))?;
    let urls = &state.urls;
    if !is_blog(&resource, urls) {
        return old_wordpress_actor(&state, &resource).await;
    }
    let document = Jrd {
        subject: urls.acct(),
        aliases: vec![urls.actor(), urls.home()],
        links: vec![
            JrdLink {
                rel: "self".into(),
                kind: Some(ACTIVITY_JSON.into()),
                href: Some(urls.actor()),
                template: None,
            },
            JrdLink {
                rel: "http://webfinger.net/rel/profile-page".into(),
                kind: Some("text/html".into()),
                href: Some(urls.home()),
                template: None,
            },
        ],
    };
    Ok(json_with_type("application/jrd+json", &document))
}

/// The WebFinger answer for the WordPress actor this blog took over (`acct:old@host`, or its id): its old id, which is
/// served as moved to the blog. The blog keeps its own handle; the old one keeps leading to the old actor, so that
/// Mastodon, which keeps one account per handle, finds the moved account under it.
async fn old_wordpress_actor(state: &AppState, resource: &str) -> Result<Response, AppError> {
    use crate::domain::moving;
    let values = crate::db::settings::all(&state.db).await?;
    let (Some(id), Some(username)) = (
        values.get(moving::WP_ACTOR_ID),
        values.get(moving::WP_ACTOR_USERNAME),
    ) else {
        return Err(AppError::NotFound);
    };
    let host = state.urls.acct();
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or_default();
    let acct = format!("acct:{username}@{host}");
    let asked = resource.trim();
    let named = asked == id
        || format!(
            "acct:{}",
            asked
                .strip_prefix("acct:")
                .unwrap_or(asked)
                .trim_start_matches('@')
        )
        .eq_ignore_ascii_case(&acct);
    if !named || username.is_empty() {
        return Err(AppError::NotFound);
    }
    let document = Jrd {
        subject: acct,
        aliases: vec![id.clone()],
        links: vec![JrdLink {
            rel: "self".into(),
            kind: Some(ACTIVITY_JSON.into()),
            href: Some(id.clone()),
            template: None,
        }],
    };
    Ok(json_with_type("application/jrd+json", &document))
}

/// `/.well-known/host-meta`: where WebFinger is, for clients that look there first.
pub async fn host_meta(State(state): State<AppState>) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n\
         </XRD>\n",
        crate::domain::content::escape_html(state.urls.base())
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `/.well-known/nodeinfo`: the link to the NodeInfo 2.1 document.
pub async fn nodeinfo_links(State(state): State<AppState>) -> Response {
    let links = Links {
        links: vec![Link {
            rel: NODEINFO_21.into(),
            href: format!("{}/nodeinfo/2.1", state.urls.base()),
        }],
    };
    json_with_type("application/json", &links)
}

/// `/nodeinfo/2.1`: what this server is, and how much it holds.
pub async fn nodeinfo(State(state): State<AppState>) -> Result<Response, AppError> {
    let local_posts = db::posts::count_published(&state.db).await?;
    let local_comments = db::comments::count_shown(&state.db).await?;
    let site = &state.site();
    let document = NodeInfo {
        version: "2.1".into(),
        software: Software {
            name: "steppe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            repository: None,
            homepage: None,
        },
        protocols: vec!["activitypub".into()],
        services: Services {
            inbound: vec![],
            outbound: vec!["atom1.0".into()],
        },
        open_registrations: false,
        usage: Usage {
            users: Users {
                total: 1,
                active_month: 1,
                active_halfyear: 1,
            },
            local_posts,
            local_comments,
        },
        metadata: json!({ "nodeName": site.title, "nodeDescription": site.description }),
    };
    Ok(json_with_type(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        &document,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn recognises_the_blog() {
        let config = Config::from_toml(
            "[site]\npublic_url = \"https://Blog.Example\"\ntitle = \"t\"\n",
            [],
        )
        .expect("config");
        let urls = Urls::new(&config);
        assert!(is_blog("acct:blog@blog.example", &urls));
        assert!(is_blog("acct:BLOG@Blog.Example", &urls));
        assert!(is_blog("blog@blog.example", &urls));
        assert!(is_blog("@blog@blog.example", &urls));
        assert!(is_blog("https://blog.example/users/blog", &urls));
        assert!(!is_blog("acct:other@blog.example", &urls));
        assert!(!is_blog("acct:blog@elsewhere.example", &urls));
        assert!(!is_blog("https://blog.example/users/other", &urls));
    }
}

/// Why a reader's fediverse address could not be turned into their server's interaction page.
#[derive(Debug, thiserror::Error)]
pub enum InteractionError {
    #[error("Enter your fediverse address, like @you@mastodon.social.")]
    NotAnAddress,
    #[error("Could not find {0} on its server.")]
    NotFound(String),
    #[error("Too many look-ups from your address; try again in a minute.")]
    TooMany,
}

/// WebFinger look-ups made for readers (`/interact`): the interaction template found per address, kept for ten
/// minutes, and a budget of look-ups per client address, so that visitors cannot make Steppe fetch from any host
/// they like as fast as they like. One per instance.
pub struct Lookups {
    templates: quick_cache::sync::Cache<String, (std::time::Instant, String)>,
    per_client: crate::ratelimit::Budget,
}

/// How long a found template is used without looking again.
const TEMPLATE_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

impl Default for Lookups {
    fn default() -> Self {
        Self {
            templates: quick_cache::sync::Cache::new(10_000),
            per_client: crate::ratelimit::Budget::new(
                10,
                std::time::Duration::from_secs(60),
                10_000,
            ),
        }
    }
}

/// The page on a reader's own server where they can reply to (or follow, like, boost) `uri`: the
/// `http://ostatus.org/schema/1.0/subscribe` template from their WebFinger document, else Mastodon's
/// `/authorize_interaction?uri=…`. The template must be on the named host or a subdomain of it (Mastodon's
/// `WEB_DOMAIN` may be `social.example.com` for `@you@example.com`): a WebFinger answer cannot send the reader
/// elsewhere. `client` is the reader's address, for the look-up budget.
pub async fn interaction_url(
    federation: &super::client::FederationClient,
    lookups: &Lookups,
    client: &str,
    handle: &str,
    uri: &str,
) -> Result<String, InteractionError> {
    let (user, host) = parse_address(handle)?;
    let host = host.to_ascii_lowercase();
    let base = format!("{}://{host}", federation.scheme());
    let address = format!("{}@{host}", user.to_ascii_lowercase());
    let template = match lookups.templates.get(&address) {
        Some((at, template)) if at.elapsed() < TEMPLATE_KEPT => template,
        _ => {
            if !lookups.per_client.take(client) {
                return Err(InteractionError::TooMany);
            }
            let template = find_template(federation, user, &host, &base).await?;
            lookups
                .templates
                .insert(address, (std::time::Instant::now(), template.clone()));
            template
        }
    };
    let encoded: String = url::form_urlencoded::byte_serialize(uri.as_bytes()).collect();
    Ok(template.replace("{uri}", &encoded))
}

/// `user` and `host` of "@user@host" (or "user@host"), checked to be plain enough to put in a URL.
fn parse_address(handle: &str) -> Result<(&str, &str), InteractionError> {
    let handle = handle.trim().trim_start_matches('@');
    let (user, host) = handle
        .split_once('@')
        .ok_or(InteractionError::NotAnAddress)?;
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let user_ok = !user.is_empty()
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if host_ok && user_ok {
        Ok((user, host))
    } else {
        Err(InteractionError::NotAnAddress)
    }
}

/// The WebFinger document of `acct:user@host` from `base` (the host's origin), or `None`.
async fn fetch_webfinger(
    federation: &super::client::FederationClient,
    user: &str,
    host: &str,
    base: &str,
) -> Option<serde_json::Value> {
    let mut webfinger = url::Url::parse(&format!("{base}/.well-known/webfinger")).ok()?;
    webfinger
        .query_pairs_mut()
        .append_pair("resource", &format!("acct:{user}@{host}"));
    federation.fetch_jrd(webfinger.as_str()).await.ok()
}

/// The actor id of the account "@user@host", from its server's WebFinger: the `self` link of an ActivityPub type,
/// on that host or a subdomain of it (the owner blocks by address; the block is stored by actor id).
pub async fn resolve_account(
    federation: &super::client::FederationClient,
    handle: &str,
) -> Result<String, InteractionError> {
    let (user, host) = parse_address(handle)?;
    let host = host.to_ascii_lowercase();
    let base = format!("{}://{host}", federation.scheme());
    let not_found = || InteractionError::NotFound(format!("@{user}@{host}"));
    let jrd = fetch_webfinger(federation, user, &host, &base)
        .await
        .ok_or_else(not_found)?;
    let actor = jrd["links"]
        .as_array()
        .and_then(|links| {
            links.iter().find_map(|l| {
                let activitypub = l["type"].as_str().is_some_and(|t| {
                    t == "application/activity+json" || t.starts_with("application/ld+json")
                });
                (l["rel"] == "self" && activitypub)
                    .then(|| l["href"].as_str())
                    .flatten()
            })
        })
        .ok_or_else(not_found)?;
    match url::Url::parse(actor) {
        Ok(u)
            if matches!(u.scheme(), "https" | "http")
                && super::actors::inbox_belongs_to(u.as_str(), &base) =>
        {
            Ok(u.to_string())
        }
        _ => Err(not_found()),
    }
}

/// The interaction template (with `{uri}`) that `user@host` publishes, checked, else Mastodon's.
async fn find_template(
    federation: &super::client::FederationClient,
    user: &str,
    host: &str,
    base: &str,
) -> Result<String, InteractionError> {
    let not_found = || InteractionError::NotFound(format!("@{user}@{host}"));
    let jrd = fetch_webfinger(federation, user, host, base)
        .await
        .ok_or_else(not_found)?;
    let published = jrd["links"].as_array().and_then(|links| {
        links.iter().find_map(|l| {
            (l["rel"] == "http://ostatus.org/schema/1.0/subscribe")
                .then(|| l["template"].as_str())
                .flatten()
        })
    });
    let template = match published {
        Some(t) if t.contains("{uri}") => t.to_string(),
        _ => format!("{base}/authorize_interaction?uri={{uri}}"),
    };
    // Only ever send the reader to a web page on their own server.
    match url::Url::parse(&template.replace("{uri}", "x")) {
        Ok(u)
            if matches!(u.scheme(), "https" | "http")
                && super::actors::inbox_belongs_to(u.as_str(), base) =>
        {
            Ok(template)
        }
        _ => Err(not_found()),
    }
}
