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
