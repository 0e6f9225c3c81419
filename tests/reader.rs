//! The reader's side: the follow box and follow form, comment-form errors on the post, search, archives, the tag
//! list, neighbours and reading time, feeds read back by an independent parser, conditional and compressed
//! responses, the sitemap, robots.txt, the favicon, link-preview metadata and microformats.

use std::io::Read;

use reqwest::StatusCode;
use steppe::domain::content::plain_text_to_markdown;

use crate::harness::{TestApp, attrs, fixture_posts, texts};
use crate::remote::Remote;

/// The seed blog's dates, in the blog's zone (UTC).
const SEED_DATES: [&str; 2] = ["2011-03-02T09:14", "2011-03-09T18:40"];

/// Publishes the seed blog's two posts on their original dates; returns their slugs.
async fn publish_seed(app: &TestApp) -> Vec<String> {
    let mut slugs = Vec::new();
    for (post, date) in fixture_posts().into_iter().zip(SEED_DATES) {
        let body = plain_text_to_markdown(&post.text);
        let tags = post.tags.join(", ");
        app.save_post(
            "/admin/posts/new",
            &[
                ("title", post.title.as_str()),
                ("tags", tags.as_str()),
                ("body", body.as_str()),
                ("published_at", date),
            ],
            "publish",
        )
        .await;
        slugs.push(post.slug);
    }
    slugs
}

async fn add_followers(app: &TestApp, n: usize) {
    for i in 0..n {
        sqlx::query(
            "INSERT INTO followers (actor_id, follow_id, inbox, shared_inbox, handle, name, avatar_url, \
             followed_at) VALUES ($1, $2, $3, NULL, $4, $5, NULL, 1)",
        )
        .bind(format!("http://127.0.0.1:9/users/u{i}"))
        .bind(format!("http://127.0.0.1:9/follows/u{i}"))
        .bind(format!("http://127.0.0.1:9/users/u{i}/inbox"))
        .bind(format!("@u{i}@127.0.0.1:9"))
        .bind(format!("U{i}"))
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
}

fn host(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn every_public_page_has_the_follow_box_search_box_and_feeds() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let slugs = publish_seed(&app).await;
    app.save_post(
        "/admin/posts/new",
        &[("title", "About"), ("body", "About me."), ("kind", "page")],
        "publish",
    )
    .await;
    add_followers(&app, 2).await;
    let handle = format!("@blog@{}", host(&app));
    let post = format!("/posts/{}", slugs[0]);
    for path in [
        "/",
        post.as_str(),
        "/tags/ngos",
        "/tags",
        "/2011/03/",
        "/search?q=shelter",
        "/about",
        "/follow",
    ] {
        let (status, html) = app.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let handles = texts(&html, ".site-footer .follow-box .fediverse-handle");
        assert_eq!(handles, [handle.as_str()], "{path}");
        assert_eq!(
            texts(&html, ".site-footer .follower-count"),
            ["2 followers"],
            "{path}"
        );
        assert_eq!(
            attrs(&html, ".site-footer .follow-form", "action"),
            ["/follow"]
        );
        assert_eq!(
            attrs(&html, ".copy-handle", "data-copy")[0],
            handle,
            "{path}"
        );
        assert_eq!(attrs(&html, "form.site-search", "action"), ["/search"]);
        let feeds = attrs(
            &html,
            "link[rel=alternate][type='application/atom+xml']",
            "href",
        );
        assert_eq!(feeds[0], "/feed.xml", "{path}");
        assert!(
            attrs(&html, ".follow-box .follow-feeds a", "href").contains(&"/feed.rss".to_string())
        );
        assert_eq!(
            attrs(&html, "script[src]", "src"),
            ["/assets/reader.js"],
            "{path}"
        );
    }
    // Under the post too.
    let html = app.page(&post).await.1;
    assert_eq!(texts(&html, ".follow-box .fediverse-handle").len(), 2);
    // A tag page offers the tag's feeds as well.
    let tag = app.page("/tags/ngos").await.1;
    assert!(
        attrs(&tag, "link[rel=alternate]", "href").contains(&"/tags/ngos/feed.xml".to_string()),
        "{tag}"
    );
    let script = app.get("/assets/reader.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    app.finish().await;

    // The owner can hide the count.
    let app = TestApp::spawn_with("site.show_follower_count = false\n").await;
    add_followers(&app, 1).await;
    let html = app.page("/").await.1;
    assert!(texts(&html, ".follower-count").is_empty());
    assert_eq!(texts(&html, ".fediverse-handle").len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn the_follow_form_sends_readers_to_their_server_or_says_why_not() {
    let app = TestApp::spawn().await;
    let alice = Remote::spawn("alice").await;
    let handle = format!("@alice@{}", alice.base.trim_start_matches("http://"));
    let url = |h: &str| {
        let mut u = url::Url::parse(&app.url("/follow")).unwrap();
        u.query_pairs_mut().append_pair("handle", h);
        u.to_string()
    };
    let r = app.client.get(url(&handle)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let acct = format!("acct:blog@{}", host(&app));
    let encoded: String = url::form_urlencoded::byte_serialize(acct.as_bytes()).collect();
    assert_eq!(
        r.headers()["location"],
        format!("{}/authorize_interaction?uri={encoded}", alice.base).as_str()
    );
    for bad in ["not an address", "@nobody@127.0.0.1:9"] {
        let r = app.client.get(url(bad)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let html = r.text().await.unwrap();
        assert_eq!(attrs(&html, "#follow-page-handle", "value"), [bad]);
        let notice = texts(&html, ".notice.error").join(" ");
        assert!(
            notice.contains(&format!("@blog@{}", host(&app))),
            "{notice}"
        );
    }
    let (status, html) = app.page("/follow").await;
    assert_eq!(status, StatusCode::OK);
    assert!(texts(&html, ".notice.error").is_empty());
    alice.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn comment_form_errors_stay_on_the_post_and_the_hint_tells_the_policy() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let edit = app.publish("Open for comments", "", "Say something.").await;
    let html = app.page("/posts/open-for-comments").await.1;
    let article = attrs(&html, "form.interact input[name=uri]", "value")[0].clone();
    assert!(
        texts(&html, "#handle-hint")[0]
            .contains("First comments from a new account wait for the author's approval"),
        "{html}"
    );
    let mut u = url::Url::parse(&app.url("/interact")).unwrap();
    u.query_pairs_mut()
        .append_pair("uri", &article)
        .append_pair("handle", "alice at mastodon");
    let r = app.client.get(u.as_str()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert_eq!(texts(&html, "h1.entry-title"), ["Open for comments"]);
    assert_eq!(attrs(&html, "#handle", "value"), ["alice at mastodon"]);
    assert_eq!(attrs(&html, "#handle", "aria-invalid"), ["true"]);
    assert!(texts(&html, "#handle-error")[0].contains("Enter your fediverse address"));
    // Another policy, another promise.
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/policy",
            &[("policy", "publish_all")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.page("/posts/open-for-comments").await.1;
    assert!(
        texts(&html, "#handle-hint")[0]
            .contains("Your reply appears here once it reaches this blog."),
        "{html}"
    );
    let _ = edit;
    app.finish().await;
}

/// Slugs of the results of `/search?q=…`, in order.
async fn search(app: &TestApp, q: &str) -> (StatusCode, Vec<String>, String) {
    let mut u = url::Url::parse(&app.url("/search")).unwrap();
    u.query_pairs_mut().append_pair("q", q);
    let r = app.client.get(u.as_str()).send().await.unwrap();
    let status = r.status();
    let html = r.text().await.unwrap();
    let slugs = attrs(&html, ".search-result .entry-title a", "href")
        .into_iter()
        .map(|h| h.trim_start_matches("/posts/").to_string())
        .collect();
    (status, slugs, html)
}

#[tokio::test]
async fn search_finds_ranks_highlights_and_pages_on_both_engines() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let seed = publish_seed(&app).await;
    let (kazakh, discouraged) = (seed[0].clone(), seed[1].clone());
    app.save_post(
        "/admin/posts/new",
        &[
            ("title", "A draft about shelters"),
            ("body", "Shelters, unpublished."),
        ],
        "draft",
    )
    .await;
    // The same result sets on SQLite (FTS5, Porter) and PostgreSQL (english).
    for (q, expected) in [
        ("Nadia", vec![kazakh.clone()]),
        ("toys", vec![discouraged.clone()]),
        // Stemming: "shelters" finds "shelter"; the post that says it eight times ranks first.
        ("shelters", vec![discouraged.clone(), kazakh.clone()]),
        ("curiosity freedom", vec![kazakh.clone()]),
        ("toys Nadia", vec![]),
        // Title and tags are searched too.
        ("discouraged", vec![discouraged.clone()]),
        ("NGOs", vec![discouraged.clone(), kazakh.clone()]),
        ("the", vec![]),
    ] {
        let (status, mut found, _) = search(&app, q).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        if q == "NGOs" {
            found.sort();
            let mut e = expected.clone();
            e.sort();
            assert_eq!(found, e, "{q}");
        } else {
            assert_eq!(found, expected, "{q}");
        }
    }
    let (_, _, html) = search(&app, "Aigerim").await;
    let excerpt = texts(&html, ".search-excerpt mark");
    assert!(excerpt.iter().any(|m| m == "Aigerim"), "{html}");
    assert_eq!(attrs(&html, "#site-search-q", "value"), ["Aigerim"]);
    assert_eq!(texts(&html, ".search-count"), ["1 post matches."]);
    // Whatever a reader types is words, never syntax, and never a 500.
    let long = "shelter ".repeat(1300);
    for q in [
        "\"",
        "\"shelter",
        "NEAR(shelter toys)",
        "shelter*",
        "shelter OR toys",
        "-shelter",
        "title:shelter",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "",
        "   ",
        "\u{0}\u{1}",
        long.as_str(),
    ] {
        let (status, _, html) = search(&app, q).await;
        assert_eq!(status, StatusCode::OK, "{q:?}");
        assert!(!html.contains("<script>alert"), "{q:?}");
    }
    assert_eq!(
        search(&app, "shelter OR toys").await.1,
        vec![discouraged.clone()]
    );
    assert_eq!(search(&app, "\"shelter").await.1.len(), 2);
    // Pages of ten.
    for i in 0..12 {
        app.publish(&format!("Steppe note {i}"), "", "The steppe in winter.")
            .await;
    }
    let (_, first, html) = search(&app, "steppe winter").await;
    assert_eq!(first.len(), 10);
    assert_eq!(texts(&html, ".search-count"), ["12 posts match."]);
    let next = attrs(&html, ".pager .older", "href");
    assert_eq!(
        next,
        ["/search?q=steppe%20winter&page=2".replace("%20", "+")]
    );
    let (status, html) = app.page(&next[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, ".search-result").len(), 2);
    app.finish().await;
}

#[tokio::test]
async fn archives_tags_neighbours_and_reading_time() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let seed = publish_seed(&app).await;
    app.save_post(
        "/admin/posts/new",
        &[
            ("title", "Spring"),
            ("tags", "Weather"),
            ("summary", "Snow melts on the steppe."),
            ("body", "Water everywhere."),
            ("published_at", "2011-05-01T10:00"),
        ],
        "publish",
    )
    .await;
    let (status, march) = app.page("/2011/03/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&march, "h1"), ["Posts from March 2011"]);
    assert_eq!(texts(&march, ".entry-title a").len(), 2);
    // A month without posts is an empty page of the theme; what is not a month is a 404.
    let (status, april) = app.page("/2011/04/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        texts(&april, ".empty"),
        ["Nothing was published in April 2011."]
    );
    for path in [
        "/2011/13/",
        "/2011/00/",
        "/2011/3/",
        "/11/03/",
        "/1969/12/",
        "/abcd/ef/",
    ] {
        assert_eq!(app.page(path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let r = app.get("/2011/03").await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.headers()["location"], "/2011/03/");
    // The archive list in the footer: newest month first.
    let home = app.page("/").await.1;
    assert_eq!(
        attrs(&home, ".archive-list a[title]", "href"),
        ["/2011/05/", "/2011/03/"]
    );
    assert_eq!(
        attrs(&home, ".archive-list a[title]", "title"),
        ["May 2011: 1 post", "March 2011: 2 posts"]
    );
    // Every tag with its count.
    let tags = app.page("/tags").await.1;
    assert_eq!(
        texts(&tags, ".tag-list li"),
        ["human trafficking (2)", "NGOs (2)", "Weather (1)"]
    );
    // Previous and next, by date.
    let middle = app.page(&format!("/posts/{}", seed[1])).await.1;
    assert_eq!(
        attrs(&middle, ".post-nav .older", "href"),
        [format!("/posts/{}", seed[0])]
    );
    assert_eq!(
        attrs(&middle, ".post-nav .newer", "href"),
        ["/posts/spring"]
    );
    let first = app.page(&format!("/posts/{}", seed[0])).await.1;
    assert!(attrs(&first, ".post-nav .older", "href").is_empty());
    // 802 words at 200 a minute.
    assert_eq!(texts(&middle, ".reading-time"), ["5 min read"]);
    assert!(texts(&home, ".reading-time").is_empty(), "lists do not say");
    // The post's own description, for search engines and link cards.
    let spring = app.page("/posts/spring").await.1;
    assert_eq!(
        attrs(&spring, "meta[name=description]", "content"),
        ["Snow melts on the steppe."]
    );
    assert_eq!(
        attrs(&spring, "meta[property='og:description']", "content"),
        ["Snow melts on the steppe."]
    );
    app.finish().await;
}

#[tokio::test]
async fn link_previews_canonical_links_and_microformats() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let seed = publish_seed(&app).await;
    let path = format!("/posts/{}", seed[0]);
    let html = app.page(&path).await.1;
    assert_eq!(
        attrs(&html, "link[rel=canonical]", "href"),
        [app.url(&path)]
    );
    assert_eq!(
        attrs(&html, "meta[property='og:type']", "content"),
        ["article"]
    );
    assert_eq!(
        attrs(&html, "meta[property='article:published_time']", "content"),
        ["2011-03-02T09:14:00Z"]
    );
    assert_eq!(
        attrs(&html, "meta[property='article:tag']", "content"),
        ["NGOs", "human trafficking"]
    );
    // h-entry with h-card, as IndieWeb tools and Bridgy read them.
    assert_eq!(texts(&html, ".h-entry .p-name").len(), 1);
    assert_eq!(
        attrs(&html, ".h-entry .dt-published", "datetime"),
        ["2011-03-02T09:14:00Z"]
    );
    assert_eq!(texts(&html, ".h-entry .e-content").len(), 1);
    assert_eq!(texts(&html, ".h-entry .p-author.h-card").len(), 1);
    assert_eq!(
        texts(&html, ".h-entry .p-category"),
        ["NGOs", "human trafficking"]
    );
    let home = app.page("/").await.1;
    assert_eq!(texts(&home, ".h-feed .h-entry").len(), 2);
    assert_eq!(attrs(&home, "link[rel=canonical]", "href"), [app.url("/")]);
    app.finish().await;
}

fn parse_feed(body: &[u8]) -> feed_rs::model::Feed {
    feed_rs::parser::parse(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn feeds_in_three_formats_for_the_site_and_each_tag() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let seed = publish_seed(&app).await;
    app.publish(
        "Tom & Jerry’s <letter>\u{c}",
        "Weather",
        "Dear *reader*,\n\nsee [the archive](/2011/03/) and ![a cat](/media/nope.png).",
    )
    .await;
    app.save_post(
        "/admin/posts/new",
        &[("title", "Unfinished"), ("body", "Draft text.")],
        "draft",
    )
    .await;
    for (path, media_type, entries) in [
        ("/feed.xml", "application/atom+xml; charset=utf-8", 3),
        ("/feed.rss", "application/rss+xml; charset=utf-8", 3),
        ("/feed.json", "application/feed+json; charset=utf-8", 3),
        (
            "/tags/ngos/feed.xml",
            "application/atom+xml; charset=utf-8",
            2,
        ),
        (
            "/tags/ngos/feed.rss",
            "application/rss+xml; charset=utf-8",
            2,
        ),
        (
            "/tags/weather/feed.json",
            "application/feed+json; charset=utf-8",
            1,
        ),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["content-type"], media_type, "{path}");
        let body = r.bytes().await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.chars()
                .all(|c| c >= ' ' || matches!(c, '\t' | '\n' | '\r')),
            "{path}: control characters"
        );
        let feed = parse_feed(&body);
        assert_eq!(feed.entries.len(), entries, "{path}: drafts stay out");
        let titles: Vec<String> = feed
            .entries
            .iter()
            .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
            .collect();
        assert!(!titles.iter().any(|t| t == "Unfinished"), "{path}");
        let newest = &feed.entries[0];
        let content = newest
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        if path.contains("ngos") {
            assert_eq!(titles[0], fixture_posts()[1].title, "{path}");
            assert!(content.contains("Aigerim"), "{path}: full text");
            assert_eq!(
                newest.links[0].href,
                app.url(&format!("/posts/{}", seed[1])),
                "{path}"
            );
        } else if !path.contains("weather") {
            assert_eq!(titles[0], "Tom & Jerry’s <letter>", "{path}");
        }
        if !path.contains("ngos") {
            // Absolute links and images, for readers away from the site.
            assert!(
                content.contains(&format!("href=\"{}/2011/03/\"", app.base)),
                "{path}: {content}"
            );
            assert!(
                content.contains(&format!("src=\"{}/media/nope.png\"", app.base)),
                "{path}: {content}"
            );
            assert!(content.contains("<em>reader</em>"), "{path}: {content}");
        }
    }
    let atom = parse_feed(&app.get("/feed.xml").await.bytes().await.unwrap());
    assert_eq!(
        atom.entries[2]
            .categories
            .iter()
            .map(|c| c.term.clone())
            .collect::<Vec<_>>(),
        ["NGOs", "human trafficking"]
    );
    assert_eq!(
        atom.entries[2].published.map(|d| d.timestamp()),
        Some(1_299_057_240)
    );
    assert_eq!(
        app.get("/tags/nothing/feed.xml").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/tags/ngos/feed.txt").await.status(),
        StatusCode::NOT_FOUND
    );
    app.finish().await;
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = app.client.get(app.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

/// Pages and feeds carry validators, answer 304 when unchanged, and come compressed as the client prefers, from
/// the page cache or without it.
#[tokio::test]
async fn conditional_and_compressed_responses() {
    for config in ["", "[cache]\nmax_bytes = 0\n"] {
        let app = TestApp::spawn_with(config).await;
        app.setup_owner().await;
        publish_seed(&app).await;
        for path in [
            "/",
            "/feed.xml",
            "/posts/a-kazakhs-view-of-human-trafficking-in-kazakhstan",
        ] {
            let plain = get_with(&app, path, &[]).await;
            assert_eq!(plain.status(), StatusCode::OK, "{path}");
            assert!(plain.headers().get("content-encoding").is_none());
            assert_eq!(plain.headers()["vary"], "Accept, Accept-Encoding");
            assert_eq!(plain.headers()["cache-control"], "public, max-age=60");
            let etag = plain.headers()["etag"].to_str().unwrap().to_string();
            let modified = plain.headers()["last-modified"]
                .to_str()
                .unwrap()
                .to_string();
            let body = plain.bytes().await.unwrap();

            let gz = get_with(&app, path, &[("accept-encoding", "gzip")]).await;
            assert_eq!(gz.headers()["content-encoding"], "gzip", "{path}");
            let gz_etag = gz.headers()["etag"].to_str().unwrap().to_string();
            assert_eq!(gunzip(&gz.bytes().await.unwrap()), body, "{path}");
            let br = get_with(&app, path, &[("accept-encoding", "gzip, deflate, br")]).await;
            assert_eq!(br.headers()["content-encoding"], "br", "{path}");
            let br_etag = br.headers()["etag"].to_str().unwrap().to_string();
            let br_body = br.bytes().await.unwrap();
            assert_eq!(unbrotli(&br_body), body, "{path}");
            assert!(br_body.len() < body.len() / 2, "{path}");
            assert!(etag != gz_etag && gz_etag != br_etag && etag != br_etag);
            let q = get_with(&app, path, &[("accept-encoding", "br;q=0.1, gzip;q=0.9")]).await;
            assert_eq!(q.headers()["content-encoding"], "gzip", "{path}");

            // Revalidation: bodiless 304s carrying the validators.
            for (name, value) in [
                ("if-none-match", etag.as_str()),
                ("if-modified-since", modified.as_str()),
            ] {
                let r = get_with(&app, path, &[(name, value)]).await;
                assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{path} {name}");
                assert_eq!(r.headers()["etag"], etag.as_str());
                assert_eq!(r.headers()["last-modified"], modified.as_str());
                assert!(r.bytes().await.unwrap().is_empty());
            }
            let r = get_with(&app, path, &[("if-none-match", "\"other\", W/\"x\"")]).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let r = get_with(
                &app,
                path,
                &[
                    ("if-none-match", br_etag.as_str()),
                    ("accept-encoding", "br"),
                ],
            )
            .await;
            assert_eq!(
                r.status(),
                StatusCode::NOT_MODIFIED,
                "{path}: brotli's own tag"
            );
            let r = get_with(&app, path, &[("if-none-match", br_etag.as_str())]).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}: another coding's tag");
            // Garbage is ignored.
            for (name, value) in [
                ("if-none-match", "garbage"),
                ("if-modified-since", "last tuesday"),
                ("accept-encoding", "gzip;q=banana"),
            ] {
                let r = get_with(&app, path, &[(name, value)]).await;
                assert_eq!(r.status(), StatusCode::OK, "{path} {name}: {value}");
            }
        }
        // A change moves the validators.
        let before = get_with(&app, "/", &[]).await.headers()["etag"].clone();
        app.publish("Fresh", "", "New text.").await;
        let r = get_with(&app, "/", &[("if-none-match", before.to_str().unwrap())]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_ne!(r.headers()["etag"], before);
        app.finish().await;
    }
}

#[tokio::test]
async fn sitemap_robots_and_favicon() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let seed = publish_seed(&app).await;
    app.save_post(
        "/admin/posts/new",
        &[("title", "About"), ("body", "About me."), ("kind", "page")],
        "publish",
    )
    .await;
    app.save_post(
        "/admin/posts/new",
        &[("title", "Secret draft"), ("body", "Not yet.")],
        "draft",
    )
    .await;
    let r = app.get("/sitemap.xml").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/xml; charset=utf-8"
    );
    let xml = r.text().await.unwrap();
    let locs: Vec<String> = xml
        .split("<loc>")
        .skip(1)
        .filter_map(|s| s.split("</loc>").next())
        .map(str::to_string)
        .collect();
    for path in [
        "/".to_string(),
        format!("/posts/{}", seed[0]),
        format!("/posts/{}", seed[1]),
        "/about".to_string(),
        "/tags/ngos".to_string(),
        "/2011/03/".to_string(),
    ] {
        assert!(locs.contains(&app.url(&path)), "{path}: {xml}");
    }
    assert!(!xml.contains("secret-draft"), "{xml}");
    assert_eq!(xml.matches("<lastmod>").count(), 4, "{xml}");

    let robots = app.page("/robots.txt").await.1;
    assert!(robots.contains("Disallow: /admin"), "{robots}");
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", app.base)));
    let r = app.get("/favicon.ico").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/x-icon");
    let icon = r.bytes().await.unwrap();
    assert_eq!(&icon[..4], &[0, 0, 1, 0], "an ICO file");
    app.finish().await;

    let app = TestApp::spawn_with("site.robots = \"User-agent: *\\nDisallow: /\"\n").await;
    let robots = app.page("/robots.txt").await.1;
    assert!(
        robots.starts_with("User-agent: *\nDisallow: /\n"),
        "{robots}"
    );
    assert!(robots.contains("Sitemap: "));
    app.finish().await;
}
