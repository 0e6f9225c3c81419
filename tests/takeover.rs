//! `steppe import wp-actor`: Steppe replaces a WordPress blog (ActivityPub plugin) on the same domain. With the old
//! blog actor's id, its key pair (generated here, in the plugin's JSON and as PKCS#1 PEM) and its followers (the
//! plugin's `ap_actor`/`ap_follower` posts in a WXR export, and a followers file), every follower's inbox (a fleet of
//! test servers) receives a `Move` signed with the old key, verified against the old id that Steppe now serves as
//! moved; `/?p=ID` keeps resolving; a second run sends nothing; a key that is not the old actor's is refused.

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::StatusCode;
use serde_json::{Value, json};
use steppe::federation::signatures::PrivateKey;

use crate::{
    fleet::{Fleet, counts},
    harness::TestApp,
};

const SEED: &str = include_str!("fixtures/seed-blog.wxr.xml");

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The old actor document as WordPress's plugin served it.
fn old_actor(id: &str, username: &str, key: &PrivateKey) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": username, "name": "The old WordPress blog",
        "inbox": format!("{id}/inbox"),
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": key.public_key_pem().unwrap()},
    })
}

/// The seed export with the plugin's followers: two `ap_actor` posts following the blog (user 0) on host 0, one
/// following another user (left out), and an older `ap_follower` post.
fn wxr_with_followers(fleet: &Fleet) -> String {
    let actor = |n: usize, host: usize| {
        let base = &fleet.hosts[host].base;
        json!({"id": format!("{base}/users/u{n}"), "type": "Person", "inbox": fleet.inbox(host, n),
               "endpoints": {"sharedInbox": fleet.shared_inbox(host)}})
    };
    let item = |post_type: &str, wp_id: u32, doc: &Value, following: &str| {
        format!(
            "<item><title>follower</title><guid isPermaLink=\"false\">{id}</guid>\
             <content:encoded><![CDATA[{doc}]]></content:encoded><wp:post_id>{wp_id}</wp:post_id>\
             <wp:post_type><![CDATA[{post_type}]]></wp:post_type><wp:status><![CDATA[publish]]></wp:status>\
             <wp:postmeta><wp:meta_key><![CDATA[_activitypub_following]]></wp:meta_key>\
             <wp:meta_value><![CDATA[{following}]]></wp:meta_value></wp:postmeta></item>\n",
            id = doc["id"].as_str().unwrap()
        )
    };
    let items = [
        item("ap_actor", 901, &actor(0, 0), "0"),
        item("ap_actor", 902, &actor(1, 0), "0"),
        item("ap_actor", 903, &actor(7, 1), "1"),
        item("ap_follower", 904, &actor(2, 0), "0"),
    ]
    .concat();
    SEED.replace("</channel>", &format!("{items}</channel>"))
}

fn steppe(app: &TestApp, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    app.cli(dir, None, args)
}

#[tokio::test]
async fn a_wordpress_actor_on_the_same_domain_is_taken_over_and_its_followers_moved() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let fleet = Fleet::spawn(2).await;
    let dir = tempfile::tempdir().unwrap();
    let old_id = app.url("/?author=0");
    let key = PrivateKey::generate().unwrap();
    let files = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let actor_file = files(
        "actor.json",
        &old_actor(&old_id, "example.com", &key).to_string(),
    );
    // The plugin's option, as `wp option get activitypub_keypair_for_0 --format=json` prints it.
    let keypair = files(
        "keypair.json",
        &json!({
            "private_key": pem("PRIVATE KEY", &key.to_pkcs8_der().unwrap()),
            "public_key": key.public_key_pem().unwrap(),
        })
        .to_string(),
    );
    let wxr = files("export.xml", &wxr_with_followers(&fleet));
    // And a followers file: one follower with its own inbox on host 1, one that cannot be fetched.
    let followers = files(
        "followers.json",
        &json!({"type": "OrderedCollection", "orderedItems": [
            {"id": format!("{}/users/u0", fleet.hosts[1].base), "inbox": fleet.inbox(1, 0)},
            format!("{}/users/gone", fleet.hosts[1].base),
        ]})
        .to_string(),
    );

    // A key that is not the old actor's is refused; so is a handle equal to the blog's; nothing is stored.
    let other = PrivateKey::generate().unwrap();
    let wrong_key = files(
        "wrong.pem",
        &pem("PRIVATE KEY", &other.to_pkcs8_der().unwrap()),
    );
    let refused = steppe(
        &app,
        dir.path(),
        &[
            "import",
            "wp-actor",
            "--actor-id",
            &old_id,
            "--key",
            &wrong_key,
            "--actor",
            &actor_file,
            "--wxr",
            &wxr,
        ],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("the key does not belong to"), "{stderr}");
    let same_handle = files("same.json", &old_actor(&old_id, "blog", &key).to_string());
    let refused = steppe(
        &app,
        dir.path(),
        &[
            "import",
            "wp-actor",
            "--actor-id",
            &old_id,
            "--key",
            &keypair,
            "--actor",
            &same_handle,
            "--wxr",
            &wxr,
        ],
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("one account per handle"));
    let elsewhere = steppe(
        &app,
        dir.path(),
        &[
            "import",
            "wp-actor",
            "--actor-id",
            "https://other.example/?author=0",
            "--key",
            &keypair,
            "--actor",
            &actor_file,
            "--wxr",
            &wxr,
        ],
    );
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("is not on this blog's domain"));
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM site_settings WHERE key = 'wp_actor_id'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);

    // The takeover, with the posts imported from the same export.
    let posts = steppe(&app, dir.path(), &["import", "wxr", &wxr]);
    assert!(posts.status.success(), "{posts:?}");
    let done = steppe(
        &app,
        dir.path(),
        &[
            "import",
            "wp-actor",
            "--actor-id",
            &old_id,
            "--key",
            &keypair,
            "--actor",
            &actor_file,
            "--wxr",
            &wxr,
            "--followers",
            &followers,
        ],
    );
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{done:?}");
    assert!(
        out.contains("5 followers; a Move was queued for 2 inboxes"),
        "{out}"
    );
    assert!(out.contains("users/gone: cannot be fetched"), "{out}");

    // Host 0's shared inbox and host 1's follower's inbox get one Move each, signed by the old actor's key, which
    // the receiving side fetches from the old id: Steppe serves it now, moved to the blog.
    let got = fleet
        .wait_until(20, |got| counts(got, "Move").len() == 2)
        .await;
    let moves: Vec<_> = got.iter().filter(|g| g.activity_type == "Move").collect();
    for m in &moves {
        assert_eq!(m.verified.as_deref(), Ok(old_id.as_str()), "{m:?}");
        assert_eq!(m.body["actor"], old_id);
        assert_eq!(m.body["object"], old_id);
        assert_eq!(m.body["target"], app.url("/users/blog"));
    }
    let mut inboxes: Vec<&str> = moves.iter().map(|m| m.inbox.as_str()).collect();
    inboxes.sort_unstable();
    assert_eq!(
        inboxes,
        vec![fleet.shared_inbox(0).as_str(), fleet.inbox(1, 0).as_str()]
    );
    let served = app.activity_json("/?author=0").await;
    assert_eq!(served["id"], old_id);
    assert_eq!(served["movedTo"], app.url("/users/blog"));
    assert_eq!(served["preferredUsername"], "example.com");
    let blog = app.activity_json("/users/blog").await;
    assert_eq!(blog["alsoKnownAs"], json!([old_id]));
    assert_ne!(
        blog["publicKey"]["publicKeyPem"],
        served["publicKey"]["publicKeyPem"]
    );
    // The old handle leads to the old actor; the blog keeps its own.
    let host = app
        .config
        .base_url()
        .trim_start_matches("http://")
        .to_string();
    let jrd: Value = app
        .get(&format!(
            "/.well-known/webfinger?resource=acct:example.com@{host}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jrd["links"][0]["href"], old_id);
    // Browsers asking for the old id go to the blog; old post ids keep answering with their Articles.
    assert_eq!(app.get("/?author=0").await.status(), StatusCode::SEE_OTHER);
    let r = app
        .client
        .get(app.url("/?p=101"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/articles/")
    );

    // A second run (the key as PKCS#1 PEM this time) changes nothing and sends nothing.
    let pkcs1 = {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&key.to_pkcs8_der().unwrap()).unwrap();
        key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .unwrap()
            .to_string()
    };
    let pkcs1 = files("old.pem", &pkcs1);
    let again = steppe(
        &app,
        dir.path(),
        &[
            "import",
            "wp-actor",
            "--actor-id",
            &old_id,
            "--key",
            &pkcs1,
            "--actor",
            &actor_file,
            "--wxr",
            &wxr,
        ],
    );
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{again:?}");
    assert!(
        out.contains("a Move was queued for 0 inboxes (1 had it from an earlier run)"),
        "{out}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(counts(&fleet.received(), "Move").values().sum::<usize>(), 2);
    app.finish().await;
}
