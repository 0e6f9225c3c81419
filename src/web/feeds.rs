//! The blog's feeds and what crawlers read: Atom (`atom_syndication`), RSS 2.0 (`rss`) and JSON Feed 1.1 for the
//! site and for each tag, all with the posts' full text, `sitemap.xml` and `robots.txt`.

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};

use crate::{
    app::AppState,
    db::posts::{self, Post},
    domain::{content, dates},
    error::AppError,
    web::views,
};

/// Posts in each feed.
const FEED_ENTRIES: i64 = 20;

/// What a feed is of: the whole blog, or one tag.
struct Source {
    title: String,
    description: String,
    /// The page the feed belongs to, and the feed's own path without its extension (`/feed`, `/tags/ngos/feed`).
    page_url: String,
    feed_path: String,
    /// The feed's permanent id.
    id: String,
    posts: Vec<Post>,
}

async fn site_source(state: &AppState) -> Result<Source, AppError> {
    let site = state.site();
    let base = state.urls.base();
    Ok(Source {
        title: site.title.clone(),
        description: site.description.clone(),
        page_url: format!("{base}/"),
        feed_path: "/feed".into(),
        id: format!("{base}/"),
        posts: posts::list_published_full_page(&state.db, FEED_ENTRIES, 0).await?,
    })
}

async fn tag_source(state: &AppState, slug: &str) -> Result<Source, AppError> {
    let tag = posts::find_tag(&state.db, &slug.to_ascii_lowercase())
        .await?
        .ok_or(AppError::NotFound)?;
    let list = posts::list_published_full_by_tag(&state.db, &tag.slug, FEED_ENTRIES).await?;
    if list.is_empty() {
        return Err(AppError::NotFound);
    }
    let site = state.site();
    let page_url = state.urls.tag(&tag.slug);
    Ok(Source {
        title: format!("{}: posts tagged {}", site.title, tag.name),
        description: format!("Posts tagged {} on {}", tag.name, site.title),
        feed_path: format!("{}/feed", views::tag_path(&tag.slug)),
        id: page_url.clone(),
        page_url,
        posts: list,
    })
}

/// A post's full text for feeds: the featured image first, then the body, every link and image absolute.
fn full_html(post: &Post, base: &str) -> String {
    let featured = post
        .featured
        .as_ref()
        .and_then(|i| views::FeaturedView::of(i, base))
        .map(|f| format!("<p>{}</p>\n", f.html))
        .unwrap_or_default();
    content::absolute_links(&format!("{featured}{}", post.body_html), base)
}

fn published(post: &Post) -> i64 {
    post.published_at.unwrap_or(post.created_at)
}

/// A feed shows posts, not comments: a comment leaves its cached copy fresh.
fn feed_response(content_type: &'static str, body: String) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], xml_text(body)).into_response();
    super::cache::depends_on(&mut response, crate::db::versions::Depends::Structure);
    response
}

/// The newest change among a feed's posts (its `updated`), or the epoch for an empty feed.
fn newest_change(posts: &[Post]) -> i64 {
    posts.iter().map(|p| p.updated_at).max().unwrap_or(0)
}

fn atom_time(unix: i64) -> atom_syndication::FixedDateTime {
    atom_syndication::FixedDateTime::parse_from_rfc3339(&dates::iso(unix)).unwrap_or_default()
}

fn atom(state: &AppState, source: Source) -> Response {
    use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};
    let base = state.urls.base();
    let site = state.site();
    let link = |rel: &str, mime: &str, href: String| Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    };
    let entries = source
        .posts
        .iter()
        .map(|p| Entry {
            title: Text::plain(p.title.clone()),
            id: format!("urn:uuid:{}", p.id),
            updated: atom_time(p.updated_at),
            published: Some(atom_time(published(p))),
            authors: vec![Person {
                name: p.author_name.clone(),
                uri: Some(format!("{base}/")),
                ..Default::default()
            }],
            categories: p
                .tags
                .iter()
                .map(|t| Category {
                    term: t.name.clone(),
                    scheme: None,
                    label: None,
                })
                .collect(),
            links: vec![link(
                "alternate",
                "text/html",
                state.urls.permalink(&p.slug),
            )],
            summary: Some(Text::html(p.excerpt_html.clone())),
            content: Some(Content {
                value: Some(full_html(p, base)),
                content_type: Some("html".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let feed = Feed {
        title: Text::plain(source.title),
        subtitle: (!source.description.is_empty()).then(|| Text::plain(source.description)),
        id: source.id,
        updated: atom_time(newest_change(&source.posts)),
        links: vec![
            link("alternate", "text/html", source.page_url),
            link(
                "self",
                "application/atom+xml",
                format!("{base}{}.xml", source.feed_path),
            ),
        ],
        generator: Some(Generator {
            value: "Steppe".into(),
            uri: None,
            version: None,
        }),
        lang: Some(site.language.clone()),
        entries,
        ..Default::default()
    };
    feed_response("application/atom+xml; charset=utf-8", feed.to_string())
}

fn rss(state: &AppState, source: Source) -> Response {
    use rss::{Category, Channel, Guid, Item};
    let base = state.urls.base();
    let site = state.site();
    let rfc2822 = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc2822)
                    .ok()
            })
    };
    let items = source
        .posts
        .iter()
        .map(|p| Item {
            title: Some(p.title.clone()),
            link: Some(state.urls.permalink(&p.slug)),
            guid: Some(Guid {
                value: format!("urn:uuid:{}", p.id),
                permalink: false,
            }),
            pub_date: rfc2822(published(p)),
            description: Some(p.excerpt_html.clone()),
            content: Some(full_html(p, base)),
            categories: p
                .tags
                .iter()
                .map(|t| Category {
                    name: t.name.clone(),
                    domain: None,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let channel = Channel {
        title: source.title,
        link: source.page_url,
        description: if source.description.is_empty() {
            site.title.clone()
        } else {
            source.description
        },
        language: Some(site.language.clone()),
        generator: Some("Steppe".into()),
        last_build_date: rfc2822(newest_change(&source.posts)),
        namespaces: [(
            "content".to_string(),
            "http://purl.org/rss/1.0/modules/content/".to_string(),
        )]
        .into(),
        items,
        ..Default::default()
    };
    feed_response("application/rss+xml; charset=utf-8", channel.to_string())
}

/// JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>).
fn json_feed(state: &AppState, source: Source) -> Response {
    let base = state.urls.base();
    let site = state.site();
    let items: Vec<serde_json::Value> = source
        .posts
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": format!("urn:uuid:{}", p.id),
                "url": state.urls.permalink(&p.slug),
                "title": p.title,
                "content_html": full_html(p, base),
                "summary": content::excerpt_text(&p.excerpt_html),
                "date_published": dates::iso(published(p)),
                "date_modified": dates::iso(p.updated_at),
                "authors": [{ "name": p.author_name, "url": format!("{base}/") }],
                "tags": p.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": source.title,
        "home_page_url": source.page_url,
        "feed_url": format!("{base}{}.json", source.feed_path),
        "description": source.description,
        "language": site.language,
        "items": items,
    });
    let mut response = (
        [(header::CONTENT_TYPE, "application/feed+json; charset=utf-8")],
        feed.to_string(),
    )
        .into_response();
    super::cache::depends_on(&mut response, crate::db::versions::Depends::Structure);
    response
}

/// `/feed.xml`: the newest posts as Atom.
pub async fn site_atom(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(atom(&state, site_source(&state).await?))
}

/// `/feed.rss`: the newest posts as RSS 2.0.
pub async fn site_rss(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(rss(&state, site_source(&state).await?))
}

/// `/feed.json`: the newest posts as JSON Feed.
pub async fn site_json(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(json_feed(&state, site_source(&state).await?))
}

/// `/tags/{slug}/feed.{xml,rss,json}`: a tag's newest posts.
pub async fn tag_feed(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let source = tag_source(&state, &slug).await?;
    match file.as_str() {
        "feed.xml" => Ok(atom(&state, source)),
        "feed.rss" => Ok(rss(&state, source)),
        "feed.json" => Ok(json_feed(&state, source)),
        _ => Err(AppError::NotFound),
    }
}

/// Drops what XML 1.0 cannot carry (control characters but tab and newlines, U+FFFE, U+FFFF) from a written
/// feed: the feed crates escape markup but pass these through, and one stray `\x0c` in a title would make the whole
/// feed unreadable for every reader.
pub fn xml_text(written: String) -> String {
    let allowed = |c: char| {
        (c >= '\u{20}' || matches!(c, '\t' | '\n' | '\r')) && !matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if written.chars().all(allowed) {
        written
    } else {
        written.chars().filter(|c| allowed(*c)).collect()
    }
}

/// `/sitemap.xml`: the home page, every published post and page with its last change, and the tag and archive
/// pages (<https://www.sitemaps.org/protocol.html>).
pub async fn sitemap(State(state): State<AppState>) -> Result<Response, AppError> {
    let base = state.urls.base();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut url = |path: &str, modified: Option<i64>| {
        xml.push_str("<url><loc>");
        xml.push_str(&content::escape_html(&format!("{base}{path}")));
        xml.push_str("</loc>");
        if let Some(at) = modified {
            xml.push_str("<lastmod>");
            xml.push_str(&dates::iso(at));
            xml.push_str("</lastmod>");
        }
        xml.push_str("</url>\n");
    };
    let entries = posts::sitemap(&state.db).await?;
    url("/", entries.first().map(|e| e.1));
    for (path, at) in &entries {
        url(path, Some(*at));
    }
    url("/tags", None);
    for (tag, _) in posts::tag_counts(&state.db).await? {
        url(&views::tag_path(&tag.slug), None);
    }
    // The months the archive list shows (kept for every reader's page).
    let parts = state.reader_parts.get(&state).await?;
    for month in parts.archive.iter().flat_map(|year| &year.months) {
        url(&month.path, None);
    }
    xml.push_str("</urlset>\n");
    Ok(feed_response("application/xml; charset=utf-8", xml))
}

/// `/robots.txt`: `site.robots` from the settings, else everything but the owner's pages and the search, and where
/// the sitemap is.
pub async fn robots(State(state): State<AppState>) -> Response {
    let site = state.site();
    let rules = match site.robots.trim() {
        "" => "User-agent: *\nDisallow: /admin\nDisallow: /search\nDisallow: /interact\nDisallow: /follow\n"
            .to_string(),
        custom => format!("{custom}\n"),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{rules}\nSitemap: {}/sitemap.xml\n", state.urls.base()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_text_drops_what_xml_cannot_carry() {
        assert_eq!(
            super::xml_text("a\u{1}b\u{c}c\td\ne\u{fffe}".into()),
            "abc\td\ne"
        );
        assert_eq!(super::xml_text("plain".into()), "plain");
    }
}
