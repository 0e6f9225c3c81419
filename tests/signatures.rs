//! RFC 9421 HTTP Message Signatures next to draft-cavage: verified on the inbox, and used for a server that refuses
//! draft-cavage (tried once after a 401, then remembered for that server), or always when configured.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    harness::TestApp,
    remote::{Received, Remote},
};

fn follow(app: &TestApp, remote: &Remote) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/1", remote.base),
        "type": "Follow",
        "actor": remote.actor_id(),
        "object": app.url("/users/blog"),
    })
}

fn of_type(remote: &Remote, kind: &str) -> Vec<Received> {
    remote
        .received()
        .into_iter()
        .filter(|r| r.activity["type"] == kind)
        .collect()
}

async fn follower_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM followers")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_inbox_verifies_rfc9421() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("fedi").await;
    let inbox = app.url("/users/blog/inbox");
    let activity = follow(&app, &remote);
    // A body changed after signing no longer matches its Content-Digest.
    let r = remote
        .post_rfc9421(&inbox, &activity, |h| {
            h.insert(
                "content-digest".into(),
                "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:".into(),
            );
        })
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Properly signed (here to the shared inbox): accepted, and the Follow is stored.
    let shared = app.url("/inbox");
    let r = remote.post_rfc9421(&shared, &activity, |_| {}).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(follower_count(&app).await, 1);
    let r = remote
        .post_rfc9421(
            &inbox,
            &json!({"type": "Undo", "id": format!("{}/undo/1", remote.base),
            "actor": remote.actor_id(), "object": activity.clone()}),
            |h| {
                // Claim another target: the signature base changes, the signature no longer verifies.
                let input = h["signature-input"].clone();
                h.insert(
                    "signature-input".into(),
                    input.replace("\"@target-uri\"", "\"@request-target\" \"@authority\""),
                );
            },
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(follower_count(&app).await, 1);
    remote.wait_for("Accept").await;
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn a_server_that_refuses_draft_cavage_gets_rfc9421_from_then_on() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("modern").await;
    remote.accept_only_rfc9421();
    let r = remote
        .post_signed(&app.url("/users/blog/inbox"), &follow(&app, &remote))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // The Accept: first draft-cavage (refused), then RFC 9421 (verified).
    let accepts = {
        let mut got = Vec::new();
        for _ in 0..200 {
            got = of_type(&remote, "Accept");
            if got.iter().any(|r| r.verified.is_ok()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        got
    };
    let schemes: Vec<(&str, bool)> = accepts
        .iter()
        .map(|r| (r.scheme, r.verified.is_ok()))
        .collect();
    assert_eq!(schemes, [("draft-cavage", false), ("rfc9421", true)]);
    // Remembered: the next activity goes out with RFC 9421 at once.
    app.setup_owner().await;
    app.publish("Modern", "", "Signed the new way.").await;
    let creates = {
        let mut got = Vec::new();
        for _ in 0..200 {
            got = of_type(&remote, "Create");
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        got
    };
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].scheme, "rfc9421");
    assert!(creates[0].verified.is_ok(), "{:?}", creates[0].verified);
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn signature_scheme_can_be_forced() {
    let app = TestApp::spawn_with("[federation]\nsignature_scheme = \"rfc9421\"\n").await;
    let remote = Remote::spawn("forced").await;
    remote
        .post_signed(&app.url("/users/blog/inbox"), &follow(&app, &remote))
        .await;
    let accept = remote.wait_for("Accept").await;
    assert_eq!(accept.scheme, "rfc9421");
    assert!(accept.verified.is_ok());
    assert_eq!(remote.received().len(), 1, "no draft-cavage attempt first");
    remote.stop().await;
    app.finish().await;
}

/// Under authorized fetch, a GET signed with RFC 9421 is as good as a draft-cavage one; unsigned, it gets 401.
#[tokio::test]
async fn signed_gets_may_use_rfc9421() {
    let app = TestApp::spawn_with("[federation]\nauthorized_fetch = true\n").await;
    let remote = Remote::spawn("reader").await;
    let outbox = app.url("/users/blog/outbox");
    let unsigned = app
        .client
        .get(&outbox)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(remote.get_rfc9421(&outbox).await.status(), StatusCode::OK);
    assert_eq!(remote.get_signed(&outbox).await.status(), StatusCode::OK);
    // A signature made for one document does not open another.
    let followers = app.url("/users/blog/followers");
    let r = remote.get_rfc9421_signed_for(&outbox, &followers).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    remote.stop().await;
    app.finish().await;
}
