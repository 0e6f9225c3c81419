//! What readers see: the home page with pagination and comment links, tag pages, permalinks, health check.

use reqwest::StatusCode;
use steppe::db::comments::{self, NewComment};

use crate::harness::{OWNER_NAME, TestApp, attrs, texts};

#[tokio::test]
async fn home_lists_newest_first_with_pages() {
    let app = TestApp::spawn_with("").await;
    app.setup_owner().await;
    for i in 1..=12 {
        app.publish(
            &format!("Post number {i}"),
            if i % 2 == 0 { "Even, NGOs" } else { "NGOs" },
            &format!("Text of post {i}."),
        )
        .await;
    }
    let home = app.page("/").await.1;
    let titles = texts(&home, ".entry-title a");
    assert_eq!(titles.len(), 10);
    assert_eq!(titles[0], "Post number 12");
    assert_eq!(titles[9], "Post number 3");
    assert_eq!(texts(&home, ".entry .author")[0], OWNER_NAME);
    assert_eq!(texts(&home, ".entry-excerpt")[0].trim(), "Text of post 12.");
    assert_eq!(texts(&home, ".entry")[0].matches("Tags:").count(), 1);
    assert_eq!(
        texts(&home, ".entry:first-of-type .entry-tags a"),
        ["Even", "NGOs"]
    );
    assert!(!texts(&home, ".entry time")[0].is_empty());
    assert_eq!(attrs(&home, ".pager a.older", "href"), ["/?page=2"]);
    assert!(attrs(&home, ".pager a.newer", "href").is_empty());

    let page2 = app.page("/?page=2").await.1;
    assert_eq!(
        texts(&page2, ".entry-title a"),
        ["Post number 2", "Post number 1"]
    );
    assert_eq!(attrs(&page2, ".pager a.newer", "href"), ["/"]);
    assert_eq!(app.get("/?page=3").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/?page=zero").await.status(),
        StatusCode::BAD_REQUEST
    );

    // Tag pages paginate the same way; slugs are case-insensitive and keep the owner's spelling.
    let tag = app.page("/tags/ngos").await.1;
    assert_eq!(texts(&tag, "h1.page-title"), ["Posts tagged NGOs"]);
    assert_eq!(texts(&tag, ".entry-title a").len(), 10);
    assert_eq!(
        texts(&app.page("/tags/ngos?page=2").await.1, ".entry-title a").len(),
        2
    );
    let r = app.get("/tags/NGOs").await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.headers()["location"], "/tags/ngos");
    let even = app.page("/tags/even").await.1;
    assert_eq!(texts(&even, ".entry-title a").len(), 6);
    assert_eq!(
        app.get("/tags/nothing-here").await.status(),
        StatusCode::NOT_FOUND
    );
    app.finish().await;
}

#[tokio::test]
async fn comment_links_count_shown_comments() {
    // Lists show a new count at once only without the storm delay (`cache.list_delay_ms`, tested in comments.rs).
    let app = TestApp::spawn_with("[cache]\nlist_delay_ms = 0\n").await;
    app.setup_owner().await;
    app.publish("Quiet post", "", "No one answers.").await;
    let edit = app.publish("Busy post", "", "Everyone answers.").await;
    let post_id = edit
        .trim_start_matches("/admin/posts/")
        .trim_end_matches("/edit")
        .to_string();

    let home = app.page("/").await.1;
    assert_eq!(
        texts(&home, ".entry-comments"),
        ["Leave a comment »", "Leave a comment »"]
    );
    let post = app.page("/posts/busy-post").await.1;
    assert_eq!(texts(&post, "#comments-title"), ["No comments yet"]);

    // Comments arrive through federation (tests/comments.rs); here they are stored directly. Held ones and private
    // ones do not count.
    for (id, status, visibility) in [
        ("c1", "shown", "public"),
        ("c2", "shown", "unlisted"),
        ("c3", "held", "public"),
        ("c4", "shown", "direct"),
    ] {
        let comment = NewComment {
            id: id.into(),
            post_id: post_id.clone(),
            parent_id: None,
            author_id: "https://social.example/users/reader".into(),
            author_host: "social.example".into(),
            author_name: "Reader One".into(),
            author_handle: "@reader@social.example".into(),
            author_url: "https://social.example/@reader".into(),
            author_avatar: None,
            content_html: "<p>Thank you for posting Aigerim’s letter.</p>".into(),
            source_text: None,
            summary: None,
            attachments_html: String::new(),
            url: None,
            visibility: visibility.into(),
            status: status.into(),
            published_at: 1_299_740_520,
        };
        comments::insert(&app.db, &comment).await.unwrap();
    }
    let home = app.page("/").await.1;
    assert_eq!(
        texts(&home, ".entry-comments"),
        ["Comments (2) »", "Leave a comment »"]
    );
    assert_eq!(
        attrs(&home, ".entry-comments", "href")[0],
        "/posts/busy-post#comments"
    );
    let post = app.page("/posts/busy-post").await.1;
    assert_eq!(texts(&post, "#comments-title"), ["Comments (2)"]);
    assert_eq!(
        texts(&post, ".comment-content"),
        [
            "Thank you for posting Aigerim’s letter.",
            "Thank you for posting Aigerim’s letter."
        ]
    );
    assert_eq!(texts(&post, ".comment-name")[0], "Reader One");
    assert_eq!(texts(&post, ".comment time")[0], "March 10, 2011");
    app.finish().await;
}

#[tokio::test]
async fn health_and_theme() {
    let app = TestApp::spawn().await;
    let (status, body) = app.page("/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let r = app.get("/static/style.css").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("prefers-color-scheme: dark")
    );
    let home = app.page("/").await.1;
    assert!(home.contains(r#"<html lang="en">"#));
    assert_eq!(
        texts(&home, ".site-title"),
        ["A Christian Abolitionist in Kazakhstan"]
    );
    app.finish().await;
}

#[tokio::test]
async fn cached_pages_change_when_content_changes() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    app.publish("Cached", "NGOs", "First words.").await;
    assert_eq!(texts(&app.page("/").await.1, ".entry-title a"), ["Cached"]);

    // A change behind the server's back (not through Steppe) is not seen: the page comes from the cache…
    sqlx::query("UPDATE posts SET title = 'Changed behind its back'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    // (On PostgreSQL the server also hears its own NOTIFY a moment after publishing, which may already have made
    // the page stale: only on SQLite is it certain to be still cached here.)
    if app.db.backend == steppe::db::Backend::Sqlite {
        assert_eq!(texts(&app.page("/").await.1, ".entry-title a"), ["Cached"]);
    }
    // …until Steppe itself changes content, which makes every cached page stale.
    app.publish("Second", "", "More words.").await;
    assert_eq!(
        texts(&app.page("/").await.1, ".entry-title a"),
        ["Second", "Changed behind its back"]
    );
    app.finish().await;
}

/// On PostgreSQL several processes share one database: a post published through one must appear on the other's
/// cached pages. (SQLite is one process per file, so there the test has nothing to check.)
#[tokio::test]
async fn other_processes_see_changes_on_postgres() {
    let a = TestApp::spawn().await;
    if a.db.backend != steppe::db::Backend::Postgres {
        a.finish().await;
        return;
    }
    let b = TestApp::spawn_on(&a.db_url, None).await;
    a.setup_owner().await;
    assert!(
        b.page("/")
            .await
            .1
            .contains("Nothing has been published here yet.")
    );
    a.publish("From process A", "", "Hello.").await;
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = texts(&b.page("/").await.1, ".entry-title a");
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, ["From process A"]);
    b.finish().await;
    a.finish().await;
}
