//! Discovery as a Mastodon server does it: WebFinger → actor → key; NodeInfo; posts as Articles at permanent ids;
//! the actor's collections. Every document is fetched over HTTP from a running instance.

use reqwest::StatusCode;
use serde_json::Value;
use steppe::{domain::content::plain_text_to_markdown, federation::signatures::PublicKey};

use crate::harness::{TestApp, attrs, fixture_posts};

const AP: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

impl TestApp {
    /// The `host:port` the blog's handle uses.
    pub fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// GETs `url` (absolute or a path) asking for ActivityStreams JSON; returns status, content type and body.
    pub async fn get_ap(&self, url: &str, accept: &str) -> (StatusCode, String, Value) {
        let r = self
            .client
            .get(self.url(url))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        (
            status,
            content_type,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

fn has_as_context(doc: &Value) -> bool {
    doc["@context"].as_array().is_some_and(|c| {
        c.iter()
            .any(|v| v == "https://www.w3.org/ns/activitystreams")
    })
}

#[tokio::test]
async fn webfinger_finds_the_actor_and_its_key() {
    let app = TestApp::spawn().await;
    let host = app.host();
    let r = app
        .get(&format!("/.well-known/webfinger?resource=acct:blog@{host}"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/jrd+json");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let jrd: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(jrd["subject"], format!("acct:blog@{host}"));
    let links = jrd["links"].as_array().unwrap();
    let self_link = links
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("self link");
    assert_eq!(self_link["type"], AP);
    let actor_id = self_link["href"].as_str().unwrap().to_string();
    assert_eq!(actor_id, app.url("/users/blog"));

    // The actor URL works as a resource too; others do not.
    let by_url = app
        .get(&format!("/.well-known/webfinger?resource={actor_id}"))
        .await;
    assert_eq!(by_url.status(), StatusCode::OK);
    assert_eq!(
        app.get(&format!(
            "/.well-known/webfinger?resource=acct:someone@{host}"
        ))
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/.well-known/webfinger").await.status(),
        StatusCode::BAD_REQUEST
    );

    // The actor, in both media types Mastodon sends.
    for accept in [AP, LD] {
        let (status, content_type, actor) = app.get_ap(&actor_id, accept).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, AP);
        assert_eq!(actor["id"], actor_id.as_str(), "id equals the URL fetched");
        assert!(has_as_context(&actor));
        assert_eq!(actor["type"], "Person");
        assert_eq!(actor["preferredUsername"], "blog");
        assert_eq!(actor["name"], "A Christian Abolitionist in Kazakhstan");
        assert_eq!(
            actor["summary"],
            "<p>Writing about human trafficking and slavery in Kazakhstan</p>"
        );
        assert_eq!(actor["url"], app.url("/"));
        assert_eq!(actor["inbox"], format!("{actor_id}/inbox"));
        assert_eq!(actor["endpoints"]["sharedInbox"], app.url("/inbox"));
        assert_eq!(actor["manuallyApprovesFollowers"], false);
        assert_eq!(actor["discoverable"], true);
        assert_eq!(actor["indexable"], true);
        assert!(actor["published"].as_str().unwrap().ends_with('Z'));
        assert_eq!(actor["publicKey"]["id"], format!("{actor_id}#main-key"));
        assert_eq!(actor["publicKey"]["owner"], actor_id.as_str());
        let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
        assert!(
            PublicKey::from_pem(pem).is_ok(),
            "an RSA-2048 public key: {pem}"
        );
        assert!(!actor.to_string().contains("PRIVATE"));
    }

    // A browser is sent to the blog.
    let r = app.get(&actor_id).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(r.headers()["vary"], "Accept");
    assert_eq!(
        app.get_ap("/users/someone", AP).await.0,
        StatusCode::NOT_FOUND
    );

    // host-meta points at WebFinger.
    let (status, xml) = app.page("/.well-known/host-meta").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        xml.contains(&format!(
            "template=\"{}/.well-known/webfinger?resource={{uri}}\"",
            app.base
        )),
        "{xml}"
    );
    app.finish().await;
}

#[tokio::test]
async fn the_key_survives_a_restart() {
    let mut app = TestApp::spawn().await;
    let (_, _, before) = app.get_ap("/users/blog", AP).await;
    app.restart().await;
    let (_, _, after) = app.get_ap("/users/blog", AP).await;
    assert_eq!(
        before["publicKey"]["publicKeyPem"],
        after["publicKey"]["publicKeyPem"]
    );
    assert_eq!(before["published"], after["published"]);
    app.finish().await;
}

#[tokio::test]
async fn nodeinfo_describes_the_server() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    app.publish("One", "", "Text.").await;
    let (status, body) = app.page("/.well-known/nodeinfo").await;
    assert_eq!(status, StatusCode::OK);
    let links: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        links["links"][0]["rel"],
        "http://nodeinfo.diaspora.software/ns/schema/2.1"
    );
    let href = links["links"][0]["href"].as_str().unwrap();
    assert_eq!(href, app.url("/nodeinfo/2.1"));
    let r = app.client.get(href).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let info: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "steppe");
    assert_eq!(info["software"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["protocols"], serde_json::json!(["activitypub"]));
    assert_eq!(info["openRegistrations"], false);
    assert_eq!(info["usage"]["users"]["total"], 1);
    assert_eq!(info["usage"]["localPosts"], 1);
    assert_eq!(info["usage"]["localComments"], 0);
    assert!(info.get("$schema").is_none());
    app.finish().await;
}

#[tokio::test]
async fn posts_are_articles_at_permanent_ids() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let seed = &fixture_posts()[0];
    let edit = app
        .publish(
            &seed.title,
            &seed.tags.join(", "),
            &plain_text_to_markdown(&seed.text),
        )
        .await;
    let post_id = edit
        .trim_start_matches("/admin/posts/")
        .trim_end_matches("/edit")
        .to_string();
    let permalink = format!("/posts/{}", seed.slug);
    let article_id = app.url(&format!("/articles/{post_id}"));

    // The HTML page announces the Article and carries what Mastodon's link cards read.
    let r = app.get(&permalink).await;
    assert_eq!(r.headers()["vary"], "Accept, Accept-Encoding");
    let html = r.text().await.unwrap();
    assert_eq!(
        attrs(
            &html,
            "link[rel=alternate][type='application/activity+json']",
            "href"
        ),
        [article_id.as_str()]
    );
    assert_eq!(
        attrs(&html, "meta[name='fediverse:creator']", "content"),
        [format!("@blog@{}", app.host())]
    );
    assert_eq!(
        attrs(&html, "meta[property='og:title']", "content"),
        [seed.title.as_str()]
    );
    assert_eq!(
        attrs(&html, "meta[property='og:url']", "content"),
        [app.url(&permalink)]
    );
    assert!(
        attrs(&html, "meta[property='og:description']", "content")[0]
            .starts_with("You never know where curiosity")
    );

    // A pasted permalink resolves: ActivityPub clients are sent to the Article's id.
    let r = app
        .client
        .get(app.url(&permalink))
        .header("accept", AP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], article_id.as_str());

    let (status, content_type, article) = app.get_ap(&article_id, AP).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, AP);
    assert!(has_as_context(&article));
    assert_eq!(article["id"], article_id.as_str());
    assert_eq!(article["type"], "Article");
    assert_eq!(article["attributedTo"], app.url("/users/blog"));
    assert_eq!(article["name"], seed.title.as_str());
    assert_eq!(article["url"], app.url(&permalink));
    let summary = article["summary"].as_str().unwrap();
    assert!(summary.starts_with("<p>You never know where curiosity") && !summary.contains("<img"));
    let content = article["content"].as_str().unwrap();
    assert!(content.contains("I don`t blame world NGOs"), "{content}");
    assert_eq!(article["contentMap"]["en"], content);
    assert_eq!(
        article["to"],
        serde_json::json!(["https://www.w3.org/ns/activitystreams#Public"])
    );
    assert_eq!(
        article["cc"],
        serde_json::json!([app.url("/users/blog/followers")])
    );
    assert_eq!(
        article["tag"],
        serde_json::json!([
            {"type": "Hashtag", "name": "#ngos", "href": app.url("/tags/ngos")},
            {"type": "Hashtag", "name": "#humantrafficking", "href": app.url("/tags/human-trafficking")}
        ])
    );
    assert!(article["published"].as_str().unwrap() <= article["updated"].as_str().unwrap());
    assert_eq!(article["likes"]["totalItems"], 0);
    assert_eq!(article["shares"]["id"], format!("{article_id}/shares"));
    let replies = article["replies"].as_str().unwrap();
    assert_eq!(replies, format!("{article_id}/replies"));
    for which in ["replies", "likes", "shares"] {
        let (status, _, collection) = app.get_ap(&format!("{article_id}/{which}"), AP).await;
        assert_eq!(status, StatusCode::OK, "{which}");
        assert_eq!(collection["id"], format!("{article_id}/{which}"));
        assert_eq!(collection["totalItems"], 0);
        assert!(collection["first"].is_string());
    }
    assert_eq!(
        app.get_ap(&format!("{article_id}/other"), AP).await.0,
        StatusCode::NOT_FOUND
    );

    // The id outlives a slug change; a browser at the id goes to the current permalink.
    app.save_post(
        &edit,
        &[
            ("title", "Renamed"),
            ("slug", "renamed"),
            ("tags", "NGOs"),
            ("body", "New text."),
        ],
        "publish",
    )
    .await;
    let (_, _, renamed) = app.get_ap(&article_id, AP).await;
    assert_eq!(renamed["id"], article_id.as_str());
    assert_eq!(renamed["url"], app.url("/posts/renamed"));
    let r = app.get(&article_id).await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.headers()["location"], "/posts/renamed");

    // Unpublished, the Article is gone for good: 410 with a Tombstone (and a 410 page for browsers).
    let draft = [
        ("title", "Renamed"),
        ("slug", "renamed"),
        ("body", "New text."),
        ("confirm_unpublish", "1"),
    ];
    app.save_post(&edit, &draft, "draft").await;
    let (status, content_type, tombstone) = app.get_ap(&article_id, AP).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(content_type, AP);
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["id"], article_id.as_str());
    assert_eq!(app.get(&article_id).await.status(), StatusCode::GONE);
    // Published again, the post is a new Article: the old id is never reused.
    app.save_post(&edit, &draft, "publish").await;
    assert_eq!(app.get_ap(&article_id, AP).await.0, StatusCode::GONE);
    let html = app.page("/posts/renamed").await.1;
    let new_id = attrs(
        &html,
        "link[rel=alternate][type='application/activity+json']",
        "href",
    );
    assert_eq!(new_id.len(), 1);
    assert_ne!(new_id[0], article_id);
    let (status, _, article) = app.get_ap(&new_id[0], AP).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(article["id"], new_id[0].as_str());
    // Drafts never were Articles.
    let draft_edit = app
        .save_post(
            "/admin/posts/new",
            &[("title", "Never out"), ("body", "x")],
            "draft",
        )
        .await;
    let draft_id = draft_edit
        .trim_start_matches("/admin/posts/")
        .trim_end_matches("/edit");
    assert_eq!(
        app.get_ap(&format!("/articles/{draft_id}"), AP).await.0,
        StatusCode::NOT_FOUND
    );
    app.finish().await;
}

#[tokio::test]
async fn collections_have_counts_and_pages() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    for i in 1..=21 {
        app.publish(&format!("Post {i}"), "", "Text.").await;
    }
    app.save_post(
        "/admin/posts/new",
        &[("title", "Draft"), ("body", "x")],
        "draft",
    )
    .await;

    let (status, _, outbox) = app.get_ap("/users/blog/outbox", AP).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outbox["id"], app.url("/users/blog/outbox"));
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 21);
    let first = outbox["first"].as_str().unwrap().to_string();
    let (_, _, page1) = app.get_ap(&first, AP).await;
    assert_eq!(page1["id"], first.as_str());
    assert_eq!(page1["type"], "OrderedCollectionPage");
    assert_eq!(page1["partOf"], app.url("/users/blog/outbox"));
    let items = page1["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(items[0]["actor"], app.url("/users/blog"));
    assert_eq!(items[0]["object"]["type"], "Article");
    assert_eq!(items[0]["object"]["name"], "Post 21");
    assert!(
        items[0]["object"].get("@context").is_none(),
        "embedded objects carry no context of their own"
    );
    let (_, _, page2) = app.get_ap(page1["next"].as_str().unwrap(), AP).await;
    assert_eq!(page2["orderedItems"].as_array().unwrap().len(), 1);
    assert_eq!(page2["orderedItems"][0]["object"]["name"], "Post 1");
    assert!(page2.get("next").is_none());
    assert_eq!(
        app.get_ap("/users/blog/outbox?page=x", AP).await.0,
        StatusCode::BAD_REQUEST
    );

    let (_, _, followers) = app.get_ap("/users/blog/followers", AP).await;
    assert_eq!(followers["totalItems"], 0);
    assert_eq!(followers["first"], app.url("/users/blog/followers?page=1"));
    let (_, _, following) = app.get_ap("/users/blog/following", AP).await;
    assert_eq!(following["totalItems"], 0);
    let (_, _, following_page) = app.get_ap("/users/blog/following?page=1", AP).await;
    assert_eq!(following_page["orderedItems"], serde_json::json!([]));
    app.finish().await;
}

#[tokio::test]
async fn hidden_followers_keep_their_count() {
    let app = TestApp::spawn_with("[federation]\nhide_followers = true\n").await;
    sqlx::query(
        "INSERT INTO followers (actor_id, follow_id, inbox, shared_inbox, handle, name, avatar_url, followed_at) \
         VALUES ('https://social.example/users/reader', 'https://social.example/follows/1', \
         'https://social.example/users/reader/inbox', NULL, \
         '@reader@social.example', 'Reader', NULL, 1)",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    let (status, _, followers) = app.get_ap("/users/blog/followers", AP).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(followers["totalItems"], 1);
    assert!(followers.get("first").is_none());
    assert_eq!(
        app.get_ap("/users/blog/followers?page=1", AP).await.0,
        StatusCode::FORBIDDEN
    );
    app.finish().await;
}

#[tokio::test]
async fn authorized_fetch_requires_signed_gets() {
    let app = TestApp::spawn_with("[federation]\nauthorized_fetch = true\n").await;
    let remote = crate::remote::Remote::spawn("fetcher").await;
    app.setup_owner().await;
    app.publish("Members only", "", "Text.").await;
    let html = app.page("/posts/members-only").await.1;
    let article_id = attrs(
        &html,
        "link[rel=alternate][type='application/activity+json']",
        "href",
    )[0]
    .clone();

    for url in [
        article_id.clone(),
        format!("{article_id}/replies"),
        app.url("/users/blog/outbox"),
        app.url("/users/blog/followers"),
        app.url("/users/blog/following?page=1"),
    ] {
        assert_eq!(
            app.get_ap(&url, AP).await.0,
            StatusCode::UNAUTHORIZED,
            "unsigned {url}"
        );
        let r = remote.get_signed(&url).await;
        assert_eq!(r.status(), StatusCode::OK, "signed {url}");
    }
    // The actor, WebFinger and NodeInfo stay public, so that servers can identify themselves.
    assert_eq!(app.get_ap("/users/blog", AP).await.0, StatusCode::OK);
    let host = app.host();
    assert_eq!(
        app.get(&format!("/.well-known/webfinger?resource=acct:blog@{host}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.get("/nodeinfo/2.1").await.status(), StatusCode::OK);
    // Browsers still read the blog.
    assert_eq!(
        app.get("/posts/members-only").await.status(),
        StatusCode::OK
    );
    remote.stop().await;
    app.finish().await;
}
