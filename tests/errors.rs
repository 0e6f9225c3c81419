//! Bad input: 404 in the theme, 413 for oversized bodies, 400 for malformed forms, 403 without a valid CSRF token,
//! and a 500 page that shows a request id and no internals.

use reqwest::StatusCode;

use crate::harness::{TestApp, csrf_token, texts};

#[tokio::test]
async fn unknown_pages_are_themed_404s() {
    let app = TestApp::spawn().await;
    for path in [
        "/nope",
        "/posts/never-written",
        "/admin/posts/00000000-0000-0000-0000-000000000000/edit",
    ] {
        let (status, html) = app.page(path).await;
        // The admin page first asks who is there: a visitor is sent to log in.
        if path.starts_with("/admin") {
            assert_eq!(status, StatusCode::SEE_OTHER);
            continue;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(texts(&html, "h1"), ["404 Not Found"]);
        assert_eq!(
            texts(&html, ".site-title"),
            ["A Christian Abolitionist in Kazakhstan"]
        );
    }
    app.setup_owner().await;
    let (status, html) = app
        .page("/admin/posts/00000000-0000-0000-0000-000000000000/edit")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(texts(&html, "h1"), ["404 Not Found"]);
    app.finish().await;
}

#[tokio::test]
async fn csrf_token_is_required() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let fields = [
        ("title", "Forged"),
        ("body", "From elsewhere"),
        ("action", "publish"),
    ];
    // No token at all: the editor comes back with the text and says that nothing was saved.
    let r = app.post_raw("/admin/posts/new", &fields).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(texts(&html, ".errors").concat().contains("nothing was"));
    assert_eq!(texts(&html, "textarea#body"), ["From elsewhere"]);
    // Other forms answer with the error page.
    let r = app.post_raw("/admin/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        texts(&r.text().await.unwrap(), ".error-page p")
            .concat()
            .contains("did not come from this blog")
    );
    // A token that is not the visitor's.
    let mut forged = vec![("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
    forged.extend_from_slice(&fields);
    assert_eq!(
        app.post_raw("/admin/posts/new", &forged).await.status(),
        StatusCode::FORBIDDEN
    );
    // The right token from another browser (no cookie).
    let token = csrf_token(&app.page("/admin/posts/new").await.1);
    let other = TestApp::client_without_cookies();
    let body = serde_urlencoded::to_string([
        ("csrf", token.as_str()),
        ("username", "x"),
        ("password", "y"),
    ])
    .unwrap();
    let r = other
        .post(app.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    app.finish().await;
}

#[tokio::test]
async fn oversized_and_malformed_bodies() {
    let app = TestApp::spawn_with("[limits]\nmax_body_bytes = 4096\n").await;
    app.setup_owner().await;
    let token = csrf_token(&app.page("/admin/posts/new").await.1);
    let big = "x".repeat(5000);
    let r = app
        .post_raw(
            "/admin/posts/new",
            &[
                ("csrf", &token),
                ("title", "Big"),
                ("body", &big),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        texts(&r.text().await.unwrap(), "h1"),
        ["413 Payload Too Large"]
    );

    let malformed = app
        .client
        .post(app.url("/admin/posts/new"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}&title=%ZZ&title=a&body"))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let not_a_form = app
        .client
        .post(app.url("/admin/posts/new"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_a_form.status(), StatusCode::BAD_REQUEST);
    let unknown_action = app
        .post_raw(
            "/admin/posts/new",
            &[
                ("csrf", &token),
                ("title", "T"),
                ("body", "B"),
                ("action", "explode"),
            ],
        )
        .await;
    assert_eq!(unknown_action.status(), StatusCode::BAD_REQUEST);
    app.finish().await;
}

#[tokio::test]
async fn internal_errors_show_a_request_id_and_no_internals() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    app.publish("Fine", "NGOs", "Fine.").await;
    // Break the database under the running server.
    sqlx::query("DROP TABLE post_tags")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (status, html) = app.page("/").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(texts(&html, "h1"), ["500 Internal Server Error"]);
    let id = texts(&html, ".request-id code").concat();
    assert_eq!(id.len(), 32, "{html}");
    let lower = html.to_lowercase();
    for leak in [
        "post_tags",
        "sqlite",
        "postgres",
        "no such table",
        "relation",
    ] {
        assert!(!lower.contains(leak), "the page leaks {leak:?}");
    }
    app.finish().await;
}
