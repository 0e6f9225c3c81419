//! Writing through the web form: draft, preview, publish, edit with slug change, delete, validation that keeps the
//! owner's text, and the seed blog's text coming out intact.

use reqwest::StatusCode;
use steppe::domain::content::plain_text_to_markdown;

use crate::harness::{OWNER_NAME, TestApp, attrs, fixture_posts, texts};

/// Publishes the seed blog's posts as the owner would type them, returning (editor URL, post) pairs.
async fn publish_fixture(app: &TestApp) -> Vec<(String, crate::harness::FixturePost)> {
    let mut out = Vec::new();
    for post in fixture_posts() {
        let body = plain_text_to_markdown(&post.text);
        let tags = post.tags.join(", ");
        let edit = app.publish(&post.title, &tags, &body).await;
        out.push((edit, post));
    }
    out
}

#[tokio::test]
async fn seed_posts_publish_with_their_text_intact() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let published = publish_fixture(&app).await;
    assert_eq!(published.len(), 2);
    for (_, post) in &published {
        let path = format!("/posts/{}", post.slug);
        let (status, html) = app.page(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(texts(&html, "h1.entry-title"), [post.title.as_str()]);
        let paragraphs = texts(&html, ".entry-content p");
        let expected: Vec<&str> = post.text.split("\n\n").map(str::trim).collect();
        assert_eq!(paragraphs.len(), expected.len(), "{paragraphs:#?}");
        for (got, want) in paragraphs.iter().zip(&expected) {
            assert_eq!(got, want);
        }
        assert_eq!(texts(&html, ".entry-tags a"), ["NGOs", "human trafficking"]);
        assert_eq!(texts(&html, ".entry-meta .author"), [OWNER_NAME]);
    }
    // The characters the issue names, counted on the page against the export.
    assert!(
        published
            .iter()
            .map(|(_, p)| p.text.matches('\u{a0}').count())
            .sum::<usize>()
            > 0
    );
    for (_, post) in &published {
        let (_, html) = app.page(&format!("/posts/{}", post.slug)).await;
        let text = texts(&html, ".entry-content").concat();
        for c in ['\u{a0}', '`', '“', '”', '’'] {
            let want = post.text.matches(c).count();
            assert_eq!(text.matches(c).count(), want, "{c:?} in {}", post.slug);
        }
    }
    let (_, html) = app.page(&format!("/posts/{}", published[0].1.slug)).await;
    let text = texts(&html, ".entry-content").concat();
    assert!(text.contains("I don`t blame world NGOs"), "backticks kept");
    assert!(text.contains("“I hope that"), "curly quotes kept");
    assert_eq!(
        texts(&html, "h1.entry-title"),
        ["A Kazakh’s View of Human Trafficking in\u{a0}Kazakhstan"]
    );
    app.finish().await;
}

#[tokio::test]
async fn draft_is_private_until_published() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let edit = app
        .save_post(
            "/admin/posts/new",
            &[
                ("title", "Work in progress"),
                ("tags", "NGOs"),
                ("body", "Not ready yet."),
            ],
            "draft",
        )
        .await;
    let (status, html) = app.page(&format!("{edit}?notice=draft")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(texts(&html, ".notice").concat().contains("Draft saved."));

    // The owner's list shows it as a draft; readers see nothing.
    let list = app.page("/admin").await.1;
    assert_eq!(texts(&list, ".post-table tbody td:nth-child(2)"), ["Draft"]);
    assert!(
        app.page("/")
            .await
            .1
            .contains("Nothing has been published here yet.")
    );
    assert_eq!(
        app.get("/posts/work-in-progress").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/tags/ngos").await.status(), StatusCode::NOT_FOUND);

    // Publishing from the editor puts it on the home page, its permalink and its tag page.
    app.save_post(
        &edit,
        &[
            ("title", "Work in progress"),
            ("slug", "work-in-progress"),
            ("tags", "NGOs"),
            ("body", "Ready now."),
        ],
        "publish",
    )
    .await;
    let home = app.page("/").await.1;
    assert_eq!(texts(&home, ".entry-title a"), ["Work in progress"]);
    assert_eq!(
        attrs(&home, ".entry-title a", "href"),
        ["/posts/work-in-progress"]
    );
    assert_eq!(
        app.get("/posts/work-in-progress").await.status(),
        StatusCode::OK
    );
    let (status, tag) = app.page("/tags/ngos").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&tag, "h1.page-title"), ["Posts tagged NGOs"]);
    assert_eq!(texts(&tag, ".entry-title a"), ["Work in progress"]);
    let list = app.page("/admin").await.1;
    assert_eq!(
        texts(&list, ".post-table tbody td:nth-child(2)"),
        ["Published"]
    );
    app.finish().await;
}

#[tokio::test]
async fn preview_renders_without_saving() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let fields = [
        ("title", "Previewed"),
        ("tags", "a, b"),
        ("body", "Some *emphasis* here."),
        ("action", "preview"),
    ];
    let r = app
        .submit("/admin/posts/new", "/admin/posts/new", &fields)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("<em>emphasis</em>"), "{html}");
    assert_eq!(texts(&html, ".preview h2"), ["Previewed"]);
    assert_eq!(texts(&html, "textarea#body"), ["Some *emphasis* here."]);
    assert_eq!(attrs(&html, "input#tags", "value"), ["a, b"]);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    app.finish().await;
}

#[tokio::test]
async fn editing_with_a_new_slug_redirects_the_old_address() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let edit = app.publish("First title", "NGOs", "Body one.").await;
    let post_id = edit
        .trim_start_matches("/admin/posts/")
        .trim_end_matches("/edit")
        .to_string();
    assert_eq!(app.get("/posts/first-title").await.status(), StatusCode::OK);

    // The editor shows the stored values.
    let html = app.page(&edit).await.1;
    assert_eq!(attrs(&html, "input#slug", "value"), ["first-title"]);
    assert_eq!(attrs(&html, "input#tags", "value"), ["NGOs"]);

    app.save_post(
        &edit,
        &[
            ("title", "Better title"),
            ("slug", "better-title"),
            ("tags", "NGOs, Kazakhstan"),
            ("body", "Body two."),
        ],
        "publish",
    )
    .await;
    let r = app.get("/posts/first-title").await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.headers()["location"], "/posts/better-title");
    let html = app.page("/posts/better-title").await.1;
    assert_eq!(texts(&html, "h1.entry-title"), ["Better title"]);
    assert_eq!(texts(&html, ".entry-content p"), ["Body two."]);
    assert_eq!(texts(&html, ".entry-tags a"), ["NGOs", "Kazakhstan"]);

    // The permanent id did not change with the slug.
    let (id, slug): (String, String) = sqlx::query_as("SELECT id, slug FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(id, post_id);
    assert_eq!(slug, "better-title");
    assert!(uuid::Uuid::parse_str(&id).is_ok());

    // A second slug change keeps both old addresses working.
    app.save_post(
        &edit,
        &[
            ("title", "Better title"),
            ("slug", "third"),
            ("body", "Body two."),
        ],
        "publish",
    )
    .await;
    for old in ["/posts/first-title", "/posts/better-title"] {
        let r = app.get(old).await;
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY, "{old}");
        assert_eq!(r.headers()["location"], "/posts/third");
    }
    app.finish().await;
}

#[tokio::test]
async fn delete_asks_for_confirmation_then_removes() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let edit = app.publish("Doomed", "NGOs", "Goodbye.").await;
    let delete = edit.replace("/edit", "/delete");
    let (status, html) = app.page(&delete).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "h1"), ["Delete “Doomed”?"]);
    assert_eq!(
        app.get("/posts/doomed").await.status(),
        StatusCode::OK,
        "not deleted by looking"
    );

    let r = app.submit(&delete, &delete, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/admin?notice=deleted");
    // A deleted post's address says so (410 Gone, in the theme); a never-used one stays 404.
    let (status, html) = app.page("/posts/doomed").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(texts(&html, "h1"), ["410 Gone"]);
    assert_eq!(
        app.get("/posts/never-was").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/tags/ngos").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&edit).await.status(), StatusCode::NOT_FOUND);
    assert!(
        texts(&app.page("/admin?notice=deleted").await.1, ".notice")
            .concat()
            .contains("deleted")
    );
    app.finish().await;
}

#[tokio::test]
async fn invalid_forms_come_back_with_the_text_intact() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    app.publish("Taken", "", "First.").await;
    let body = "A long text I must not lose — “quotes”, `code`,\u{a0}and all.\n\nSecond paragraph.";

    // Empty title.
    let r = app
        .submit(
            "/admin/posts/new",
            "/admin/posts/new",
            &[
                ("title", " "),
                ("tags", "NGOs"),
                ("body", body),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert_eq!(texts(&html, ".errors li"), ["The title is empty."]);
    assert_eq!(texts(&html, "textarea#body"), [body]);
    assert_eq!(attrs(&html, "input#tags", "value"), ["NGOs"]);

    // A slug chosen by hand that another post has.
    let r = app
        .submit(
            "/admin/posts/new",
            "/admin/posts/new",
            &[
                ("title", "Another"),
                ("slug", "taken"),
                ("summary", "My summary"),
                ("body", body),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        texts(&html, ".errors li")
            .concat()
            .contains("“taken” is already used"),
        "{html}"
    );
    assert_eq!(texts(&html, "textarea#body"), [body]);
    assert_eq!(texts(&html, "textarea#summary"), ["My summary"]);
    assert_eq!(attrs(&html, "input#title", "value"), ["Another"]);

    // A tag that is too long.
    let long_tag = "t".repeat(51);
    let r = app
        .submit(
            "/admin/posts/new",
            "/admin/posts/new",
            &[
                ("title", "Tagged"),
                ("tags", &long_tag),
                ("body", body),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        texts(&html, ".errors li")
            .concat()
            .contains("longer than 50 characters"),
        "{html}"
    );
    assert_eq!(attrs(&html, "input#tags", "value"), [long_tag]);

    // Only the first post exists; a derived slug that is taken gets a suffix instead of an error.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    app.publish("Taken", "", "Second.").await;
    assert_eq!(app.get("/posts/taken-2").await.status(), StatusCode::OK);
    app.finish().await;
}
