//! The inbox, driven by a remote test account over loopback: Follow → stored follower and a verified Accept;
//! Undo and Delete; and every way a POST can be refused.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{harness::TestApp, remote::Remote};

const AP: &str = "application/activity+json";

fn follow(remote: &Remote, app: &TestApp, n: u32) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/{n}", remote.base),
        "type": "Follow",
        "actor": remote.actor_id(),
        "object": app.url("/users/blog"),
    })
}

async fn follower_ids(app: &TestApp) -> Vec<Value> {
    let (_, _, page) = app.get_ap("/users/blog/followers?page=1", AP).await;
    page["orderedItems"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn follow_is_stored_and_accepted() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("reader").await;
    let inbox = app.url("/users/blog/inbox");

    let r = remote.post_signed(&inbox, &follow(&remote, &app, 1)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.text().await);
    assert_eq!(follower_ids(&app).await, [json!(remote.actor_id())]);

    let accept = remote.wait_for("Accept").await;
    assert_eq!(
        accept.verified,
        Ok(app.url("/users/blog")),
        "the Accept's signature verifies"
    );
    assert_eq!(accept.content_type, "application/activity+json");
    assert_eq!(
        accept.user_agent,
        format!("Steppe/{} (+{})", env!("CARGO_PKG_VERSION"), app.base)
    );
    assert_eq!(accept.activity["actor"], app.url("/users/blog"));
    assert_eq!(
        accept.activity["object"]["id"],
        format!("{}/follows/1", remote.base)
    );
    assert_eq!(accept.activity["object"]["type"], "Follow");
    assert_eq!(accept.activity["object"]["actor"], remote.actor_id());
    assert!(
        accept.activity["id"]
            .as_str()
            .unwrap()
            .starts_with(&app.url("/activities/"))
    );

    // The follower is stored with what its actor document says.
    let (handle, name, shared_inbox, avatar): (String, String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT handle, name, shared_inbox, avatar_url FROM followers")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        handle,
        format!("@reader@{}", remote.base.trim_start_matches("http://"))
    );
    assert_eq!(name, "Reader reader");
    assert_eq!(shared_inbox, Some(format!("{}/inbox", remote.base)));
    assert_eq!(avatar, Some(format!("{}/avatar.png", remote.base)));

    // A second Follow (on the shared inbox this time) changes nothing but answers again.
    let r = remote
        .post_signed(&app.url("/inbox"), &follow(&remote, &app, 2))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(follower_ids(&app).await.len(), 1);

    // Undo of a Like's id does not unfollow; Undo of the Follow does.
    let undo_other = json!({"id": format!("{}/undo/1", remote.base), "type": "Undo", "actor": remote.actor_id(),
        "object": format!("{}/likes/9", remote.base)});
    assert_eq!(
        remote.post_signed(&inbox, &undo_other).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(follower_ids(&app).await.len(), 1);
    let undo = json!({"id": format!("{}/undo/2", remote.base), "type": "Undo", "actor": remote.actor_id(),
        "object": follow(&remote, &app, 2)});
    assert_eq!(
        remote.post_signed(&inbox, &undo).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(follower_ids(&app).await.is_empty());
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn undo_by_follow_id_and_actor_delete() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("leaver").await;
    let inbox = app.url("/inbox");
    remote.post_signed(&inbox, &follow(&remote, &app, 7)).await;
    let undo = json!({"id": format!("{}/undo/7", remote.base), "type": "Undo", "actor": remote.actor_id(),
        "object": format!("{}/follows/7", remote.base)});
    assert_eq!(
        remote.post_signed(&inbox, &undo).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(follower_ids(&app).await.is_empty());

    remote.post_signed(&inbox, &follow(&remote, &app, 8)).await;
    assert_eq!(follower_ids(&app).await.len(), 1);
    let delete = json!({"id": format!("{}/users/leaver#delete", remote.base), "type": "Delete",
        "actor": remote.actor_id(), "object": remote.actor_id(), "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    assert_eq!(
        remote.post_signed(&inbox, &delete).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(follower_ids(&app).await.is_empty());
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM remote_actors")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "the deleted actor is forgotten");
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn bad_posts_are_refused() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("prober").await;
    let other = Remote::spawn("impostor").await;
    let inbox = app.url("/users/blog/inbox");
    let body = follow(&remote, &app, 1).to_string();

    // Unsigned.
    let r = app
        .client
        .post(&inbox)
        .header("content-type", AP)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Body changed after signing (the digest no longer matches).
    let r = remote
        .post_signed_with(&inbox, body.as_bytes(), SystemTime::now(), |h| {
            h.insert(
                "digest".into(),
                "SHA-256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            );
        })
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Signature bytes changed.
    let r = remote
        .post_signed_with(&inbox, body.as_bytes(), SystemTime::now(), |h| {
            let sig = h["signature"].replace("signature=\"", "signature=\"AAAA");
            h.insert("signature".into(), sig);
        })
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Two hours old.
    let r = remote
        .post_signed_with(
            &inbox,
            body.as_bytes(),
            SystemTime::now() - Duration::from_secs(7200),
            |_| {},
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Signed by one account, claiming to be another.
    let r = other.post_signed(&inbox, &follow(&remote, &app, 2)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Signed, but not JSON.
    let r = remote
        .post_signed_with(&inbox, b"{not json", SystemTime::now(), |_| {})
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Over 1 MiB.
    let big = format!(
        "{{\"type\":\"Note\",\"content\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let r = remote
        .post_signed_with(&inbox, big.as_bytes(), SystemTime::now(), |_| {})
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing of that was stored.
    assert!(follower_ids(&app).await.is_empty());
    assert!(remote.received().is_empty() && other.received().is_empty());

    // A type Steppe does not handle is accepted and dropped.
    let question = json!({"id": format!("{}/q/1", remote.base), "type": "Question", "actor": remote.actor_id()});
    assert_eq!(
        remote.post_signed(&inbox, &question).await.status(),
        StatusCode::ACCEPTED
    );
    // An unknown local user's inbox does not exist.
    let r = remote
        .post_signed(&app.url("/users/nobody/inbox"), &follow(&remote, &app, 3))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    other.stop().await;
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_again() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("rotator").await;
    let inbox = app.url("/inbox");
    assert_eq!(
        remote
            .post_signed(&inbox, &follow(&remote, &app, 1))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    remote.rotate_key();
    let undo = json!({"id": format!("{}/undo/1", remote.base), "type": "Undo", "actor": remote.actor_id(),
        "object": follow(&remote, &app, 1)});
    assert_eq!(
        remote.post_signed(&inbox, &undo).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(follower_ids(&app).await.is_empty());
    remote.stop().await;
    app.finish().await;
}

/// Mastodon's own shapes (tests/fixtures/mastodon), with their hosts pointed at the test peers.
fn mastodon_fixture(name: &str, remote: &Remote, app: &TestApp) -> Value {
    let path = format!(
        "{}/tests/fixtures/mastodon/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("https://mastodon.example/users/alice", &remote.actor_id())
        .replace("https://mastodon.example", &remote.base)
        .replace("https://blog.example", &app.base);
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn mastodon_shaped_activities() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("alice").await;
    let inbox = app.url("/inbox");
    let follow = mastodon_fixture("follow", &remote, &app);
    assert_eq!(
        remote.post_signed(&inbox, &follow).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(follower_ids(&app).await.len(), 1);
    assert_eq!(
        remote.wait_for("Accept").await.activity["object"]["id"],
        follow["id"]
    );
    // Types handled by later features are accepted (202) and change nothing here.
    for name in ["like", "announce", "create_note", "delete_note"] {
        let activity = mastodon_fixture(name, &remote, &app);
        assert_eq!(
            remote.post_signed(&inbox, &activity).await.status(),
            StatusCode::ACCEPTED,
            "{name}"
        );
    }
    assert_eq!(follower_ids(&app).await.len(), 1);
    let undo = mastodon_fixture("undo_follow", &remote, &app);
    assert_eq!(
        remote.post_signed(&inbox, &undo).await.status(),
        StatusCode::ACCEPTED
    );
    assert!(follower_ids(&app).await.is_empty());
    // A Follow without the members it needs is malformed.
    let broken =
        json!({"type": "Follow", "actor": remote.actor_id(), "object": app.url("/users/blog")});
    assert_eq!(
        remote.post_signed(&inbox, &broken).await.status(),
        StatusCode::BAD_REQUEST
    );
    remote.stop().await;
    app.finish().await;
}

/// With the default configuration Steppe never contacts loopback or private addresses, so a peer there cannot get
/// its key fetched: its POSTs are refused, and nothing is sent to it.
#[tokio::test]
async fn private_addresses_are_refused_by_default() {
    let app = TestApp::spawn_with("[federation]\nallow_private_addresses = false\n").await;
    let remote = Remote::spawn("inside").await;
    let r = remote
        .post_signed(&app.url("/inbox"), &follow(&remote, &app, 1))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("private or local address") || body.contains("https"),
        "{body}"
    );
    assert!(follower_ids(&app).await.is_empty());
    assert!(remote.received().is_empty());
    remote.stop().await;
    app.finish().await;
}

/// Forged signatures cannot make Steppe fetch a known key over and over: once a minute at most.
#[tokio::test]
async fn bad_signatures_refetch_a_known_key_once() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("steady").await;
    let inbox = app.url("/inbox");
    assert_eq!(
        remote
            .post_signed(&inbox, &follow(&remote, &app, 1))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(remote.actor_fetches(), 1);
    let body = follow(&remote, &app, 2).to_string();
    for _ in 0..3 {
        let r = remote
            .post_signed_with(&inbox, body.as_bytes(), SystemTime::now(), |h| {
                let sig = h["signature"].replace("signature=\"", "signature=\"AAAA");
                h.insert("signature".into(), sig);
            })
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        remote.actor_fetches(),
        2,
        "one refetch for three bad signatures"
    );
    remote.stop().await;
    app.finish().await;
}
