//! Notifications: new followers, comments (shown or waiting), mentions and failed deliveries are listed on
//! /admin/notifications with an unread count in every admin header, and sent as one e-mail digest per burst to a
//! real SMTP server on loopback; a server that refuses or hangs is tried again later, and nothing waits on it.

use reqwest::StatusCode;
use steppe::db::notifications::{self, Kind};

use crate::{
    comments::{activity, note, post_with_article, send},
    harness::{TestApp, texts},
    publishing::follow,
    remote::Remote,
    smtp::{Mode, Smtp},
};

async fn unemailed(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE emailed_at IS NULL")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// The notifications not yet emailed once a digest was received: the SMTP server has the message before the blog
/// has its answer and records the rows as sent, so this waits (up to 5 s) for that record.
async fn unemailed_after_sending(app: &TestApp) -> i64 {
    for _ in 0..100 {
        if unemailed(app).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    unemailed(app).await
}

#[tokio::test]
async fn events_are_listed_with_an_unread_count_and_marked_read() {
    let app = TestApp::spawn().await;
    let (_, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    follow(&app, &alice).await;
    let status = send(
        &app,
        &alice,
        &activity(
            &alice,
            "Create",
            "c1",
            note(&alice, "1", &article, "<p>Lovely post.</p>"),
        ),
    )
    .await;
    assert!(status.is_success());
    let (status, html) = app.page("/admin/notifications").await;
    assert_eq!(status, StatusCode::OK);
    let items = texts(&html, ".notification");
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(
        items[0].contains("New comment")
            && items[0].contains("Lovely post.")
            && items[0].contains("Comments welcome")
    );
    assert!(items[1].contains("New follower") && items[1].contains("follows the blog"));
    let nav = texts(&html, ".admin-nav a").join(" | ");
    assert!(nav.contains("Notifications (2 unread)"), "{nav}");
    let r = app
        .submit(
            "/admin/notifications",
            "/admin/notifications/read",
            &[("up_to", &i64::MAX.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page("/admin").await;
    assert!(!texts(&html, ".admin-nav a").join(" ").contains("unread"));
    alice.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn a_burst_sends_one_digest() {
    let smtp = Smtp::spawn(Mode::Accept).await;
    let app = TestApp::spawn_with(&smtp.config("wait_seconds = 2")).await;
    app.setup_owner().await;
    let alice = Remote::spawn("alice").await;
    follow(&app, &alice).await;
    for n in 0..200 {
        notifications::add(
            &app.db,
            Kind::Comment,
            &format!("Reader {n} on “Post”: hello"),
            "/admin/comments",
        )
        .await
        .unwrap();
    }
    let mails = smtp.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(smtp.messages().len(), 1, "one digest for the burst");
    // Headers may be folded onto several lines.
    let mail = mails[0].replace("\r\n ", " ");
    assert!(
        mail.contains("Subject: [A Christian Abolitionist in Kazakhstan] 201 new: 200 comments,"),
        "{mail}"
    );
    assert!(mail.contains("1 follower"));
    assert!(mail.contains("and 151 more"));
    assert!(mail.contains("/admin/notifications"));
    assert_eq!(unemailed_after_sending(&app).await, 0);
    alice.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn a_refusing_or_hanging_server_is_tried_again_and_holds_nothing_up() {
    let smtp = Smtp::spawn(Mode::Refuse).await;
    let app = TestApp::spawn_with(
        &smtp.config("wait_seconds = 0\nretry_seconds = 1\ntimeout_seconds = 1"),
    )
    .await;
    app.setup_owner().await;
    notifications::add(
        &app.db,
        Kind::Follower,
        "Someone follows the blog",
        "/admin/followers",
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(smtp.messages().is_empty());
    assert_eq!(unemailed(&app).await, 1, "kept for the next try");
    // A server that never answers: the blog still serves at once.
    smtp.set_mode(Mode::Hang);
    let started = std::time::Instant::now();
    let (status, _) = app.page("/admin/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(unemailed(&app).await, 1);
    // It answers again: the digest goes.
    smtp.set_mode(Mode::Accept);
    let mails = smtp.wait_for(1).await;
    assert!(mails[0].contains("Someone follows the blog"));
    assert_eq!(unemailed_after_sending(&app).await, 0);
    app.finish().await;
}
