//! The durable inbox: what was answered 202 is applied even if the server stops before applying it, activities
//! about one object are applied in the order they came, failures that may pass are retried, and what keeps failing
//! is listed for the owner and can be applied again.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    comments::{activity, note, post_with_article},
    delivery::{config_file, counter, free_port, migrate, spawn_steppe, wait_up},
    harness::{TestApp, fresh_database, texts},
    remote::Remote,
};

async fn queued(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM inbox_queue")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn followers(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM followers")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

fn follow_from(remote: &Remote, app: &TestApp) -> serde_json::Value {
    json!({"id": format!("{}/follows/1", remote.base), "type": "Follow",
        "actor": remote.actor_id(), "object": app.url("/users/blog")})
}

/// Restarts `app` on its port (its ids unchanged, as after a crash) with an inbox worker, and waits until what it
/// had queued is applied.
async fn restart_applying(app: &mut TestApp) {
    app.shutdown().await;
    app.config.inbox.workers = 4;
    app.start_again_on_same_port().await;
    crate::harness::wait_applied(&app.url("/inbox")).await;
}

/// With no worker applying (as if the server stopped right after answering), what was answered 202 waits in the
/// database, including a row a worker had claimed before it died; the next start applies all of it, and the
/// activities about one note (its reply, edit and deletion) in the order they came although four are applied at
/// once.
#[tokio::test]
async fn what_was_answered_202_is_applied_after_a_stop_in_order() {
    let mut app = TestApp::spawn_with("[inbox]\nworkers = 0\n").await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let inbox = app.url("/inbox");
    let follow = follow_from(&alice, &app);
    assert_eq!(
        alice.post_signed(&inbox, &follow).await.status(),
        StatusCode::ACCEPTED
    );
    // Note 1 is replied, edited twice (the later edit last); note 2 is replied and deleted.
    let first = note(&alice, "1", &article, "<p>First version.</p>");
    let mut second = first.clone();
    second["content"] = json!("<p>Second version.</p>");
    second["updated"] = json!("2026-11-02T10:00:00Z");
    let mut third = first.clone();
    third["content"] = json!("<p>Third version.</p>");
    third["updated"] = json!("2026-11-03T10:00:00Z");
    let doomed = note(&alice, "2", &article, "<p>Soon gone.</p>");
    for sent in [
        activity(&alice, "Create", "c1", first),
        activity(&alice, "Create", "c2", doomed),
        activity(&alice, "Update", "u1", second),
        activity(&alice, "Delete", "d2", json!(alice.note_id("2"))),
        activity(&alice, "Update", "u2", third),
    ] {
        assert_eq!(
            alice.post_signed(&inbox, &sent).await.status(),
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(queued(&app).await, 6, "everything answered 202 is stored");
    assert_eq!(followers(&app).await, 0, "and nothing is applied yet");
    // A worker claimed the Follow and died: its lease (two seconds left) has to pass before another takes it.
    sqlx::query("UPDATE inbox_queue SET locked_until = $1 WHERE kind = 'Follow'")
        .bind(steppe::db::now() + 2)
        .execute(&app.db.pool)
        .await
        .unwrap();

    restart_applying(&mut app).await;
    for _ in 0..100 {
        if followers(&app).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        followers(&app).await,
        1,
        "the Follow is applied once its lease passed"
    );
    alice.wait_for("Accept").await;
    let html = app.page(&path).await.1;
    assert_eq!(
        texts(&html, ".comment-content"),
        vec!["Third version."],
        "edits applied in order, the deleted reply gone"
    );
    assert_eq!(queued(&app).await, 0);
    alice.stop().await;
    app.finish().await;
}

/// A forwarded reply whose origin does not answer is tried again later (not lost, not refused); once the origin
/// answers it is shown. One that keeps failing is given up, listed on the Deliveries page, and applied when the
/// owner asks.
#[tokio::test]
async fn failures_that_may_pass_are_retried_and_listed() {
    let app = TestApp::spawn_with(
        "[inbox]\nfirst_retry_seconds = 2\nmax_retry_seconds = 2\ngive_up_after_seconds = 3\n",
    )
    .await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let relay = Remote::spawn("relay").await;
    let inbox = app.url("/inbox");
    let real = note(
        &alice,
        "1",
        &article,
        "<p>Said while my server was down.</p>",
    );
    alice.host_note(&real);
    alice.set_notes_down(true);
    assert_eq!(
        relay
            .post_signed(&inbox, &activity(&relay, "Create", "f1", real))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let (attempts, error): (i64, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error FROM inbox_queue")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1, "tried once and kept");
    assert!(error.unwrap().contains("for now"));
    assert!(!app.page(&path).await.1.contains("server was down"));
    alice.set_notes_down(false);
    let mut shown = false;
    for _ in 0..50 {
        if app.page(&path).await.1.contains("server was down") {
            shown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shown, "applied on a later attempt");
    assert_eq!(queued(&app).await, 0);

    // A reply whose origin stays down is given up after give_up_after_seconds, and listed.
    let other = note(&alice, "2", &article, "<p>Never reachable.</p>");
    alice.host_note(&other);
    alice.set_notes_down(true);
    relay
        .post_signed(&inbox, &activity(&relay, "Create", "f2", other))
        .await;
    let mut given_up = false;
    for _ in 0..100 {
        let failed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM inbox_queue WHERE failed_at IS NOT NULL")
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        if failed == 1 {
            given_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(given_up, "given up after its time");
    let (status, html) = app.page("/admin/deliveries").await;
    assert_eq!(status, StatusCode::OK);
    let listed = texts(&html, "table.received-failed td");
    assert_eq!(listed[0], "A reply (Create)");
    assert!(listed[1].contains("/users/relay"), "{listed:?}");
    assert!(html.contains("cannot get the note"), "the reason is shown");
    // The owner retries once the origin is back: the reply is applied.
    alice.set_notes_down(false);
    let id: i64 = sqlx::query_scalar("SELECT id FROM inbox_queue")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let r = app
        .submit(
            "/admin/deliveries",
            "/admin/deliveries/received/retry",
            &[("received", &id.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    crate::harness::wait_applied(&inbox).await;
    assert!(app.page(&path).await.1.contains("Never reachable."));
    assert_eq!(queued(&app).await, 0);
    alice.stop().await;
    relay.stop().await;
    app.finish().await;
}

/// `/metrics` shows the inbox queue's depth, the age of its oldest activity and what became of what arrived.
#[tokio::test]
async fn metrics_show_the_inbox_queue() {
    let mut app =
        TestApp::spawn_with("[inbox]\nworkers = 0\n[metrics]\nbind = \"127.0.0.1:0\"\n").await;
    let alice = Remote::spawn("alice").await;
    let follow = follow_from(&alice, &app);
    alice.post_signed(&app.url("/inbox"), &follow).await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("steppe_inbox_queue_depth{state=\"waiting\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("steppe_inbox_oldest_age_seconds "));
    restart_applying(&mut app).await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("steppe_inbox_queue_depth{state=\"waiting\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("steppe_inbox_activities_total{outcome=\"applied\"} 1"),
        "{metrics}"
    );
    alice.stop().await;
    app.finish().await;
}

/// Scale-out on PostgreSQL: a `serve` process that applies nothing (`inbox.workers = 0`) takes the replies, and two
/// `steppe worker` processes apply them between them, each once.
#[tokio::test]
async fn worker_processes_apply_what_serve_took() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, cleanup) = fresh_database(&dir).await;
    if cleanup.is_none() {
        return; // SQLite: one process owns the file.
    }
    let port = free_port();
    let (config_path, config) = config_file(dir.path(), port, &db_url, "");
    migrate(&config_path);
    let metrics: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let base = format!("http://127.0.0.1:{port}");
    let mut procs = vec![spawn_steppe(
        &config_path,
        &["serve"],
        &[
            ("STEPPE_METRICS__BIND", metrics[0].clone()),
            ("STEPPE_INBOX__WORKERS", "0".into()),
        ],
    )];
    for m in &metrics[1..] {
        procs.push(spawn_steppe(
            &config_path,
            &["worker"],
            &[("STEPPE_METRICS__BIND", m.clone())],
        ));
    }
    wait_up(&format!("{base}/healthz")).await;
    for m in &metrics {
        wait_up(&format!("http://{m}/metrics")).await;
    }
    // The workers apply (inbox.workers is 4 in the file): each POST below waits until nothing is left to apply.
    // 25 replies from one account: within its flood limit (30 an hour).
    let app = TestApp::attach(&base, &db_url, config, tempfile::tempdir().unwrap()).await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let inbox = app.url("/inbox");
    let sent = futures_util::future::join_all((0..25).map(|n| {
        let reply = note(
            &alice,
            &n.to_string(),
            &article,
            &format!("<p>Reply {n}.</p>"),
        );
        let create = activity(&alice, "Create", &format!("c{n}"), reply);
        let (alice, inbox) = (&alice, &inbox);
        async move { alice.post_signed(inbox, &create).await.status() }
    }))
    .await;
    assert!(sent.iter().all(|s| *s == StatusCode::ACCEPTED), "{sent:?}");
    crate::harness::wait_applied(&inbox).await;
    let html = app.page(&path).await.1;
    assert_eq!(
        texts(&html, ".comment-content").len(),
        25,
        "every reply applied"
    );
    let mut applied = Vec::new();
    for m in &metrics {
        applied.push(counter(m, "steppe_inbox_activities_total{outcome=\"applied\"}").await);
    }
    assert_eq!(applied[0], 0, "serve applies nothing: {applied:?}");
    assert_eq!(applied.iter().sum::<u64>(), 25, "each once: {applied:?}");
    alice.stop().await;
    drop(procs);
    app.finish().await;
    crate::delivery::drop_database(cleanup).await;
}
