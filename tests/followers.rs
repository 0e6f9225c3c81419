//! The owner's Followers page: listed with name, handle, server and date; searched; exported as CSV; removed with a
//! confirmation, which sends the follower's server a Reject of their Follow.

use reqwest::StatusCode;

use crate::{
    harness::{TestApp, attrs, texts},
    publishing::follow,
    remote::Remote,
};

#[tokio::test]
async fn followers_are_listed_exported_and_removed_with_a_reject() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let (_, empty) = app.page("/admin/followers").await;
    assert!(empty.contains("Nobody follows the blog yet"));
    let remote = Remote::spawn("reader").await;
    follow(&app, &remote).await;
    let (status, html) = app.page("/admin/followers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "h1"), ["Followers (1)"]);
    let row = texts(&html, ".followers tbody tr").concat();
    assert!(row.contains("@reader@127.0.0.1"), "{row}");
    let (_, none) = app.page("/admin/followers?q=nobody").await;
    assert!(none.contains("No follower matches"));
    let (_, found) = app.page("/admin/followers?q=READER").await;
    assert_eq!(texts(&found, ".followers tbody tr").len(), 1);
    // CSV: the account address as Mastodon imports take it.
    let csv = app.get("/admin/followers.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("Account address,Name,Actor,Following since")
    );
    let line = lines.next().unwrap();
    assert!(line.starts_with("reader@127.0.0.1"), "{line}");
    assert!(line.contains(&remote.actor_id()));
    // Removing asks first.
    let actor = attrs(&html, ".followers input[name=actor]", "value")
        .pop()
        .unwrap();
    let r = app
        .submit(
            "/admin/followers",
            "/admin/followers/remove",
            &[("actor", &actor)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let confirm = r.text().await.unwrap();
    assert!(
        texts(&confirm, "h1")
            .concat()
            .starts_with("Remove @reader@127.0.0.1"),
        "{confirm}"
    );
    assert_eq!(
        app.page("/admin/followers").await.1.matches("<tr>").count(),
        2
    );
    let r = app
        .submit(
            "/admin/followers",
            "/admin/followers/remove",
            &[("actor", &actor), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let reject = remote.wait_for("Reject").await;
    assert_eq!(reject.activity["object"]["type"], "Follow");
    assert_eq!(
        reject.activity["object"]["id"],
        format!("{}/follows/1", remote.base)
    );
    let (_, html) = app.page("/admin/followers").await;
    assert_eq!(texts(&html, "h1"), ["Followers (0)"]);
    // Removing again: not found.
    let r = app
        .submit(
            "/admin/followers",
            "/admin/followers/remove",
            &[("actor", &actor), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    remote.stop().await;
    app.finish().await;
}

/// Blocks take `@user@host` (found through WebFinger), an actor URL or a domain; a handle that cannot be found is
/// a clear error with the input kept.
#[tokio::test]
async fn blocks_take_an_address_a_url_or_a_domain() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let remote = Remote::spawn("spammer").await;
    let handle = format!("@spammer@{}", remote.base.trim_start_matches("http://"));
    let r = app
        .submit("/admin/blocks", "/admin/blocks", &[("value", &handle)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page("/admin/blocks").await;
    assert!(
        texts(&html, ".block code").contains(&remote.actor_id()),
        "blocked by actor id: {html}"
    );
    let r = app
        .submit(
            "/admin/blocks",
            "/admin/blocks",
            &[("value", "@nobody@127.0.0.1:9")],
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("could not be blocked"), "{html}");
    let r = app
        .submit(
            "/admin/blocks",
            "/admin/blocks",
            &[("value", "not a thing!")],
        )
        .await;
    assert!(r.text().await.unwrap().contains("is neither a domain"));
    remote.stop().await;
    app.finish().await;
}
