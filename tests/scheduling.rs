//! Dates: backdated posts keep their date and are announced only when asked; scheduled posts stay private until
//! their time and are then published and federated exactly once, by whichever process gets there first.

use reqwest::StatusCode;

use crate::{
    harness::{TestApp, texts},
    publishing::follow,
    remote::Remote,
};

async fn outbox_kinds(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

/// "2026-12-01T15:14:05": `unix` as a `datetime-local` value in UTC, with seconds.
fn local_utc(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .unwrap()
}

#[tokio::test]
async fn a_backdated_post_keeps_its_date_and_is_announced_only_when_asked() {
    let app = TestApp::spawn_with("site.time_zone = \"Asia/Almaty\"\n").await;
    app.setup_owner().await;
    let remote = Remote::spawn("reader").await;
    follow(&app, &remote).await;
    let r = app
        .submit(
            "/admin/posts/new",
            "/admin/posts/new",
            &[
                ("title", "Winter on the steppe"),
                ("body", "Written in 2011."),
                ("published_at", "2011-03-02T15:14"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let editor = r.headers()["location"].to_str().unwrap().to_string();
    assert!(editor.ends_with("?notice=quiet"), "{editor}");
    let (_, page) = app.page("/posts/winter-on-the-steppe").await;
    assert!(page.contains("datetime=\"2011-03-02T09:14:00Z\""), "{page}");
    assert!(page.contains("March 2, 2011"));
    assert_eq!(
        outbox_kinds(&app).await,
        vec!["accept"],
        "no follower is told"
    );
    // The editor shows the date in the blog's zone and says that followers were not told.
    let (_, html) = app.page(&editor).await;
    assert!(html.contains("value=\"2011-03-02T15:14\""));
    assert!(texts(&html, "#post-status")[0].contains("without telling followers"));
    // Ticking "Announce to followers" sends the Create, with the old date.
    let path = editor.split('?').next().unwrap();
    let r = app
        .submit(
            path,
            path,
            &[
                ("title", "Winter on the steppe"),
                ("body", "Written in 2011."),
                ("published_at", "2011-03-02T15:14"),
                ("announce", "1"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let create = remote.wait_for("Create").await;
    assert_eq!(
        create.activity["object"]["published"],
        "2011-03-02T09:14:00Z"
    );
    assert_eq!(outbox_kinds(&app).await, vec!["accept", "publish"]);
    // Further edits are sent as Update, as for any announced post.
    app.save_post(
        path,
        &[
            ("title", "Winter on the steppe"),
            ("body", "Written in 2011, edited."),
        ],
        "publish",
    )
    .await;
    assert_eq!(outbox_kinds(&app).await, vec!["accept", "publish", "edit"]);
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn a_scheduled_post_is_private_until_its_time_then_published_and_sent() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let remote = Remote::spawn("reader").await;
    follow(&app, &remote).await;
    let at = steppe::db::now() + 3;
    let r = app
        .submit(
            "/admin/posts/new",
            "/admin/posts/new",
            &[
                ("title", "Tomorrow's news"),
                ("body", "Not yet."),
                ("published_at", &local_utc(at)),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let editor = r.headers()["location"].to_str().unwrap().to_string();
    assert!(editor.ends_with("?notice=scheduled"), "{editor}");
    let slug: String = sqlx::query_scalar("SELECT slug FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let (status, _) = app.page(&format!("/posts/{slug}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "private until its time");
    let (_, home) = app.page("/").await;
    assert!(!home.contains("Tomorrow"));
    let (_, html) = app.page(&editor).await;
    assert!(texts(&html, "#post-status")[0].starts_with("Scheduled for"));
    let create = remote.wait_for("Create").await;
    assert_eq!(create.activity["object"]["name"], "Tomorrow's news");
    assert!(steppe::db::now() >= at, "not before its time");
    let (status, _) = app.page(&format!("/posts/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        remote
            .received()
            .iter()
            .filter(|r| r.activity["type"] == "Create")
            .count(),
        1
    );
    remote.stop().await;
    app.finish().await;
}

/// Several processes on one database (PostgreSQL in CI's second run) race for the same due post: it is published,
/// and its Create queued, once.
#[tokio::test]
async fn a_due_post_is_published_once_by_racing_processes() {
    let mut app = TestApp::spawn().await;
    app.setup_owner().await;
    let far = local_utc(steppe::db::now() + 86_400);
    for n in 0..3 {
        let r = app
            .submit(
                "/admin/posts/new",
                "/admin/posts/new",
                &[
                    ("title", &format!("Due {n}")),
                    ("body", "x"),
                    ("published_at", &far),
                    ("action", "publish"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("notice=scheduled")
        );
    }
    app.shutdown().await;
    sqlx::query("UPDATE posts SET published_at = $1")
        .bind(steppe::db::now() - 1)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let mut config = app.config.clone();
    config.delivery.workers = 0;
    let mut states = Vec::new();
    for _ in 0..4 {
        states.push(steppe::app::AppState::new(config.clone()).await.unwrap());
    }
    let results =
        futures_util::future::join_all(states.iter().map(steppe::federation::publish::publish_due))
            .await;
    let published: usize = results.into_iter().map(|r| r.unwrap().0).sum();
    assert_eq!(published, 3);
    let creates: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'publish'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(creates, 3, "one Create per post");
    let published: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE status = 'published'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(published, 3);
    drop(states);
    app.start_again().await;
    app.finish().await;
}

#[tokio::test]
async fn bad_dates_are_refused_with_the_text_intact() {
    let app = TestApp::spawn_with("site.time_zone = \"Europe/Berlin\"\n").await;
    app.setup_owner().await;
    let cases = [
        ("2026-03-29T02:30", "does not exist in Europe/Berlin"),
        ("next Tuesday", "is not a date and time"),
    ];
    for (typed, message) in cases {
        let r = app
            .submit(
                "/admin/posts/new",
                "/admin/posts/new",
                &[
                    ("title", "Dated"),
                    ("body", "Keep me"),
                    ("published_at", typed),
                    ("action", "publish"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains(message), "{typed}: {html}");
        assert_eq!(texts(&html, "textarea#body"), vec!["Keep me"]);
        assert!(html.contains(&format!("value=\"{typed}\"")));
        // The field points at the error.
        assert_eq!(
            crate::harness::attrs(&html, "#published_at", "aria-describedby"),
            ["form-errors published-at-hint"]
        );
        assert_eq!(
            crate::harness::attrs(&html, "#published_at", "aria-invalid"),
            ["true"]
        );
    }
    // A published post cannot be moved into the future (that would take it off the blog).
    let editor = app.publish("Out already", "", "x").await;
    let r = app
        .submit(
            &editor,
            &editor,
            &[
                ("title", "Out already"),
                ("body", "x"),
                ("published_at", "2099-01-01T10:00"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("already published"));
    // A scheduled post moved to a time already past is refused, the typed date kept.
    let r = app
        .submit(
            "/admin/posts/new",
            "/admin/posts/new",
            &[
                ("title", "Later"),
                ("body", "Soon"),
                ("published_at", "2099-01-01T10:00"),
                ("action", "publish"),
            ],
        )
        .await;
    let editor = r.headers()["location"]
        .to_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .submit(
            &editor,
            &editor,
            &[
                ("title", "Later"),
                ("body", "Soon"),
                ("published_at", "2020-01-01T10:00"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("already passed"), "{html}");
    assert!(html.contains("value=\"2020-01-01T10:00\""));
    app.finish().await;
}
