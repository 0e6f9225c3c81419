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
        return Err(AppError::NotFound);
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
    let site = &state.config.site;
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
}

/// The page on a reader's own server where they can reply to (or follow, like, boost) `uri`: the
/// `http://ostatus.org/schema/1.0/subscribe` template from their WebFinger document, else Mastodon's
/// `/authorize_interaction?uri=…`.
pub async fn interaction_url(
    client: &super::client::FederationClient,
    handle: &str,
    uri: &str,
) -> Result<String, InteractionError> {
    let handle = handle.trim().trim_start_matches('@');
    let (user, host) = handle
        .split_once('@')
        .ok_or(InteractionError::NotAnAddress)?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let user_ok = !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !host_ok || !user_ok {
        return Err(InteractionError::NotAnAddress);
    }
    let base = format!("{}://{host}", client.scheme());
    let mut webfinger = url::Url::parse(&format!("{base}/.well-known/webfinger"))
        .map_err(|_| InteractionError::NotAnAddress)?;
    webfinger
        .query_pairs_mut()
        .append_pair("resource", &format!("acct:{user}@{host}"));
    let jrd = client
        .fetch_jrd(webfinger.as_str())
        .await
        .map_err(|_| InteractionError::NotFound(format!("@{user}@{host}")))?;
    let encoded: String = url::form_urlencoded::byte_serialize(uri.as_bytes()).collect();
    let template = jrd["links"].as_array().and_then(|links| {
        links.iter().find_map(|l| {
            (l["rel"] == "http://ostatus.org/schema/1.0/subscribe")
                .then(|| l["template"].as_str())
                .flatten()
        })
    });
    let target = match template {
        Some(t) if t.contains("{uri}") => t.replace("{uri}", &encoded),
        _ => format!("{base}/authorize_interaction?uri={encoded}"),
    };
    // Only ever send the reader to a web page.
    match url::Url::parse(&target) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(target),
        _ => Err(InteractionError::NotFound(format!("@{user}@{host}"))),
    }
}
