//! Static pages: at /{slug}, in the site's navigation in the owner's order, never in the home list, the feed or the
//! outbox; sent to followers only when asked; reserved addresses refused.

use reqwest::StatusCode;

use crate::{
    harness::{TestApp, attrs, texts},
    publishing::follow,
    remote::Remote,
};

async fn save_page(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut all = vec![("kind", "page"), ("action", "publish")];
    all.extend_from_slice(fields);
    app.submit("/admin/posts/new?kind=page", "/admin/posts/new", &all)
        .await
}

#[tokio::test]
async fn pages_live_at_their_slug_in_the_navigation_and_nowhere_else() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let remote = Remote::spawn("reader").await;
    follow(&app, &remote).await;
    app.publish("A post", "", "Post text").await;
    let (_, editor) = app.page("/admin/posts/new?kind=page").await;
    assert_eq!(texts(&editor, "h1"), ["New page"]);
    for (title, slug, position) in [("Contact", "contact", "2"), ("About me", "about", "1")] {
        let r = save_page(
            &app,
            &[
                ("title", title),
                ("slug", slug),
                ("body", &format!("The {slug} page.")),
                ("nav_position", position),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{title}");
    }
    let (status, about) = app.page("/about").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&about, "h1"), ["About me"]);
    assert!(about.contains("The about page."));
    let (_, home) = app.page("/").await;
    assert_eq!(
        attrs(&home, ".site-nav a", "href"),
        ["/", "/about", "/contact"],
        "in the owner's order"
    );
    assert!(
        !texts(&home, ".entry-title")
            .iter()
            .any(|t| t.contains("About"))
    );
    let (_, feed) = app.page("/feed.xml").await;
    assert!(!feed.contains("The about page."));
    let outbox: serde_json::Value = app
        .client
        .get(app.url("/users/blog/outbox"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["totalItems"], 1, "{outbox}");
    // Followers heard of the post only.
    remote.wait_for("Create").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let creates = remote
        .received()
        .into_iter()
        .filter(|r| r.activity["type"] == "Create")
        .count();
    assert_eq!(creates, 1);
    // A page sent to followers when asked, with its own address.
    let r = save_page(
        &app,
        &[
            ("title", "Now"),
            ("body", "What I do now."),
            ("announce", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for _ in 0..100 {
        if remote
            .received()
            .iter()
            .filter(|r| r.activity["type"] == "Create")
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let page_create = remote
        .received()
        .into_iter()
        .filter(|r| r.activity["type"] == "Create")
        .nth(1)
        .expect("the page's Create");
    assert_eq!(page_create.activity["object"]["url"], app.url("/now"));
    // The post list has its own filter for pages.
    let (_, list) = app.page("/admin?show=pages").await;
    assert_eq!(texts(&list, ".post-table tbody tr").len(), 3);
    assert!(texts(&list, ".filters a").contains(&"Pages (3)".to_string()));
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn a_page_may_not_take_an_address_the_blog_uses() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    for fields in [
        vec![("title", "Admin"), ("slug", "admin"), ("body", "x")],
        vec![("title", "Tags"), ("body", "x")],
        vec![("title", "Fine"), ("body", "x"), ("nav_position", "first")],
    ] {
        let r = save_page(&app, &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(!texts(&html, ".errors li").is_empty());
        assert_eq!(texts(&html, "textarea#body"), ["x"], "the text stays");
    }
    // A post may have such a slug: it lives under /posts/.
    app.publish("Tags", "", "About tags").await;
    let (status, _) = app.page("/posts/tags").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.page("/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.finish().await;
}
