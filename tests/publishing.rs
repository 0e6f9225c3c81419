//! Publishing to followers: a remote account follows, the owner publishes, edits, unpublishes and deletes through
//! the admin form, and the remote inbox receives each activity, signed (checked independently).

use reqwest::StatusCode;
use serde_json::json;
use steppe::domain::content::plain_text_to_markdown;

use crate::{
    harness::{TestApp, attrs, fixture_posts, texts},
    remote::{Received, Remote},
};

const AP: &str = "application/activity+json";

pub(crate) async fn follow(app: &TestApp, remote: &Remote) {
    let activity = json!({
        "id": format!("{}/follows/1", remote.base),
        "type": "Follow",
        "actor": remote.actor_id(),
        "object": app.url("/users/blog"),
    });
    let r = remote
        .post_signed(&app.url("/users/blog/inbox"), &activity)
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    remote.wait_for("Accept").await;
}

fn of_type(remote: &Remote, kind: &str) -> Vec<Received> {
    remote
        .received()
        .into_iter()
        .filter(|r| r.activity["type"] == kind)
        .collect()
}

/// Waits until `n` activities of `kind` have arrived.
async fn wait_count(remote: &Remote, kind: &str, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        let got = of_type(remote, kind);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("expected {n} {kind}; received {:?}", remote.received());
}

#[tokio::test]
async fn followers_receive_create_update_and_delete() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("follower").await;
    follow(&app, &remote).await;
    app.setup_owner().await;

    // A draft does not federate.
    let seed = &fixture_posts()[0];
    let fields = [
        ("title", seed.title.as_str()),
        ("tags", "NGOs, human trafficking"),
        ("body", &plain_text_to_markdown(&seed.text)),
    ];
    let edit = app.save_post("/admin/posts/new", &fields, "draft").await;

    // Publishing sends Create{Article}.
    app.save_post(&edit, &fields, "publish").await;
    let create = remote.wait_for("Create").await;
    assert_eq!(create.verified, Ok(app.url("/users/blog")));
    let article = &create.activity["object"];
    assert_eq!(create.activity["actor"], app.url("/users/blog"));
    assert_eq!(article["type"], "Article");
    assert_eq!(article["name"], seed.title.as_str());
    assert_eq!(article["url"], app.url(&format!("/posts/{}", seed.slug)));
    assert!(
        article["summary"]
            .as_str()
            .unwrap()
            .starts_with("<p>You never know")
    );
    assert!(
        article["content"]
            .as_str()
            .unwrap()
            .contains("I don`t blame world NGOs")
    );
    assert_eq!(article["tag"][0]["name"], "#ngos");
    assert_eq!(
        article["to"],
        json!(["https://www.w3.org/ns/activitystreams#Public"])
    );
    let article_id = article["id"].as_str().unwrap().to_string();
    // What was sent is what the Article's URL serves.
    let (_, _, served) = app.get_ap(&article_id, AP).await;
    assert_eq!(&served["content"], &article["content"]);
    assert_eq!(
        of_type(&remote, "Create").len(),
        1,
        "drafts sent nothing before"
    );

    // Two edits in a row: two Updates, each strictly newer than the last.
    let mut edited = fields;
    edited[2].1 = "Edited text.";
    app.save_post(&edit, &edited, "publish").await;
    edited[2].1 = "Edited again.";
    app.save_post(&edit, &edited, "publish").await;
    let updates = wait_count(&remote, "Update", 2).await;
    let stamps: Vec<&str> = updates
        .iter()
        .map(|u| u.activity["object"]["updated"].as_str().unwrap())
        .collect();
    assert!(
        article["updated"].as_str().unwrap() < stamps[0] && stamps[0] < stamps[1],
        "{stamps:?}"
    );
    assert_eq!(updates[1].activity["object"]["id"], article_id.as_str());
    assert_eq!(
        updates[1].activity["object"]["content"],
        "<p>Edited again.</p>\n"
    );
    assert!(updates.iter().all(|u| u.verified.is_ok()));

    // Deleting sends Delete{Tombstone}; the Article then answers 410.
    let delete = edit.replace("/edit", "/delete");
    app.submit(&delete, &delete, &[]).await;
    let deleted = remote.wait_for("Delete").await;
    assert!(deleted.verified.is_ok());
    assert_eq!(deleted.activity["object"]["id"], article_id.as_str());
    assert_eq!(deleted.activity["object"]["type"], "Tombstone");
    assert_eq!(app.get_ap(&article_id, AP).await.0, StatusCode::GONE);
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn unpublishing_deletes_and_republishing_creates_anew() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("watcher").await;
    follow(&app, &remote).await;
    app.setup_owner().await;
    let fields = [("title", "Back and forth"), ("body", "Text.")];
    let edit = app.save_post("/admin/posts/new", &fields, "publish").await;
    let first = remote.wait_for("Create").await.activity["object"]["id"].clone();
    // Unpublishing asks first, keeping the text; nothing is saved or sent until it is confirmed.
    let changed = [
        ("title", "Back and forth"),
        ("body", "Text, changed."),
        ("action", "draft"),
    ];
    let r = app.submit(&edit, &edit, &changed).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        texts(&html, ".confirm").concat().contains("sent a Delete"),
        "{html}"
    );
    assert_eq!(texts(&html, "textarea#body"), ["Text, changed."]);
    assert_eq!(
        attrs(&html, "input[name=confirm_unpublish]", "value"),
        ["1"]
    );
    assert_eq!(app.page("/posts/back-and-forth").await.0, StatusCode::OK);
    let fields = [
        ("title", "Back and forth"),
        ("body", "Text."),
        ("confirm_unpublish", "1"),
    ];
    app.save_post(&edit, &fields, "draft").await;
    assert_eq!(
        remote.wait_for("Delete").await.activity["object"]["id"],
        first
    );
    app.save_post(&edit, &fields, "publish").await;
    let creates = wait_count(&remote, "Create", 2).await;
    let second = &creates[1].activity["object"]["id"];
    assert_ne!(second, &first, "a deleted Article id is never reused");
    assert!(of_type(&remote, "Update").is_empty());
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn one_delivery_per_shared_inbox() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("first").await;
    follow(&app, &remote).await;
    // A second account on the same server (same shared inbox), following too: stored directly.
    sqlx::query(
        "INSERT INTO followers (actor_id, follow_id, inbox, shared_inbox, handle, name, avatar_url, followed_at) \
         VALUES ($1, $2, $3, $4, '@second@remote', 'Second', NULL, 1)",
    )
    .bind(format!("{}/users/second", remote.base))
    .bind(format!("{}/follows/2", remote.base))
    .bind(format!("{}/users/second/inbox", remote.base))
    .bind(format!("{}/inbox", remote.base))
    .execute(&app.db.pool)
    .await
    .unwrap();
    app.setup_owner().await;
    app.publish("Once", "", "Only once per server.").await;
    remote.wait_for("Create").await;
    // Once every queued row is settled, exactly one went out, to the shared inbox.
    let mut rows: Vec<(String, String)> = Vec::new();
    for _ in 0..200 {
        rows = sqlx::query_as(
            "SELECT d.inbox, d.status FROM deliveries d JOIN outbox o ON o.id = d.outbox_id \
             WHERE o.activity_id LIKE '%#create'",
        )
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        if rows.iter().all(|(_, s)| s != "pending") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let inboxes: Vec<&str> = rows.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(inboxes, [format!("{}/inbox", remote.base).as_str()]);
    assert_eq!(rows[0].1, "done");
    assert_eq!(of_type(&remote, "Create").len(), 1);
    remote.stop().await;
    app.finish().await;
}

/// On PostgreSQL two processes share the queue: each delivery row is claimed by one of them, so a follower gets
/// the post once. (On SQLite one process owns the file; there is nothing to share.)
#[tokio::test]
async fn two_processes_deliver_once() {
    let a = TestApp::spawn().await;
    if a.db.backend != steppe::db::Backend::Postgres {
        a.finish().await;
        return;
    }
    let b = TestApp::spawn_on(&a.db_url, None).await;
    let remote = Remote::spawn("shared").await;
    follow(&a, &remote).await;
    // A slow inbox keeps rows in flight long enough for the other process's worker to look at them.
    remote.set_delay(std::time::Duration::from_millis(1500));
    a.setup_owner().await;
    for i in 0..10 {
        a.publish(&format!("Post {i}"), "", "Text.").await;
    }
    wait_count(&remote, "Create", 10).await;
    for _ in 0..200 {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
                .fetch_one(&a.db.pool)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        of_type(&remote, "Create").len(),
        10,
        "each Create exactly once"
    );
    remote.stop().await;
    b.finish().await;
    a.finish().await;
}
