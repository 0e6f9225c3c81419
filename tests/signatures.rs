//! RFC 9421 HTTP Message Signatures next to draft-cavage, with the RSA key or the Ed25519 key (FEP-521a): verified
//! on the inbox; sent down the chain (Ed25519 RFC 9421, RSA RFC 9421, draft-cavage) to a server that refuses a way,
//! learned for that server and stored; or one way always when configured.

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

/// Waits until `remote` has received an activity of `kind` whose signature it accepted; returns every attempt.
async fn attempts_until_accepted(remote: &Remote, kind: &str) -> Vec<Received> {
    let mut got = Vec::new();
    for _ in 0..200 {
        got = of_type(remote, kind);
        if got.iter().any(|r| r.verified.is_ok()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    got
}

fn schemes(received: &[Received]) -> Vec<(&'static str, bool)> {
    received
        .iter()
        .map(|r| (r.scheme, r.verified.is_ok()))
        .collect()
}

/// The blog's actor publishes its Ed25519 key as a FEP-521a Multikey, and signs with it (RFC 9421) first: the
/// remote finds the key in `assertionMethod` and accepts the first attempt. The inbox verifies Ed25519 signatures
/// the same way, with the key found in the sender's `assertionMethod`.
#[tokio::test]
async fn ed25519_signatures_both_ways() {
    let app = TestApp::spawn().await;
    let actor = app.activity_json("/users/blog").await;
    let multikey = &actor["assertionMethod"][0];
    assert_eq!(multikey["id"], app.url("/users/blog#ed25519-key"));
    assert_eq!(multikey["type"], "Multikey");
    assert_eq!(multikey["controller"], app.url("/users/blog"));
    assert!(
        multikey["publicKeyMultibase"]
            .as_str()
            .unwrap()
            .starts_with("z6Mk")
    );
    assert!(
        actor["@context"]
            .as_array()
            .unwrap()
            .contains(&json!("https://w3id.org/security/multikey/v1"))
    );

    let remote = Remote::spawn("edwards").await;
    let r = remote
        .post_ed25519(
            &app.url("/users/blog/inbox"),
            &follow(&app, &remote),
            |_| {},
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(follower_count(&app).await, 1);
    let accepts = attempts_until_accepted(&remote, "Accept").await;
    assert_eq!(schemes(&accepts), [("rfc9421-ed25519", true)]);
    // A signature by the Ed25519 key over another activity is refused.
    let mut tampered = follow(&app, &remote);
    tampered["id"] = json!(format!("{}/follows/2", remote.base));
    let r = remote
        .post_ed25519(&app.url("/users/blog/inbox"), &tampered, |h| {
            let zeros =
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0u8; 64]);
            h.insert("signature".into(), format!("sig1=:{zeros}:"));
        })
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    remote.stop().await;
    app.finish().await;
}

/// A server that refuses Ed25519 (as Mastodon before its June 2026 change does) gets RSA with RFC 9421 after one
/// refused attempt, and from then on at once, also after a restart (what was learned is stored).
#[tokio::test]
async fn a_server_that_refuses_ed25519_gets_rsa_rfc9421_from_then_on() {
    let mut app = TestApp::spawn().await;
    let remote = Remote::spawn("rsa9421").await;
    remote.refuse(&["rfc9421-ed25519"]);
    let r = remote
        .post_signed(&app.url("/users/blog/inbox"), &follow(&app, &remote))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let accepts = attempts_until_accepted(&remote, "Accept").await;
    assert_eq!(
        schemes(&accepts),
        [("rfc9421-ed25519", false), ("rfc9421", true)]
    );
    app.setup_owner().await;
    app.publish("Learned", "", "Signed the way this server accepts.")
        .await;
    let creates = attempts_until_accepted(&remote, "Create").await;
    assert_eq!(schemes(&creates), [("rfc9421", true)]);
    let host = remote.base.trim_start_matches("http://").to_string();
    let stored: (String,) = sqlx::query_as("SELECT signing FROM signing_hosts WHERE host = $1")
        .bind(&host)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.0, "rfc9421");
    // After a restart, the stored way is used at once.
    app.shutdown().await;
    app.start_again_on_same_port().await;
    app.publish("After a restart", "", "Still signed the learned way.")
        .await;
    let creates = {
        let mut got = Vec::new();
        for _ in 0..200 {
            got = of_type(&remote, "Create");
            if got.len() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        got
    };
    assert_eq!(schemes(&creates), [("rfc9421", true), ("rfc9421", true)]);
    remote.stop().await;
    app.finish().await;
}

/// A server that knows only draft-cavage (Mastodon before 4.5) gets it after both RFC 9421 attempts are refused,
/// and from then on at once.
#[tokio::test]
async fn a_server_that_knows_only_draft_cavage_gets_it_from_then_on() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("classic").await;
    remote.refuse(&["rfc9421-ed25519", "rfc9421"]);
    remote
        .post_signed(&app.url("/users/blog/inbox"), &follow(&app, &remote))
        .await;
    let accepts = attempts_until_accepted(&remote, "Accept").await;
    assert_eq!(
        schemes(&accepts),
        [
            ("rfc9421-ed25519", false),
            ("rfc9421", false),
            ("draft-cavage", true)
        ]
    );
    app.setup_owner().await;
    app.publish("Classic", "", "Signed the old way.").await;
    let creates = attempts_until_accepted(&remote, "Create").await;
    assert_eq!(schemes(&creates), [("draft-cavage", true)]);
    remote.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn signature_scheme_can_be_forced() {
    for (forced, expected) in [
        ("rfc9421", "rfc9421"),
        ("draft-cavage", "draft-cavage"),
        ("rfc9421-ed25519", "rfc9421-ed25519"),
    ] {
        let app =
            TestApp::spawn_with(&format!("[federation]\nsignature_scheme = \"{forced}\"\n")).await;
        let remote = Remote::spawn("forced").await;
        remote
            .post_signed(&app.url("/users/blog/inbox"), &follow(&app, &remote))
            .await;
        let accept = remote.wait_for("Accept").await;
        assert_eq!(accept.scheme, expected);
        assert!(accept.verified.is_ok());
        assert_eq!(remote.received().len(), 1, "no other attempt first");
        remote.stop().await;
        app.finish().await;
    }
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
