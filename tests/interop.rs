//! Interoperability with an independent implementation: a Fedify peer (`tests/interop/peer.mjs`, Node.js) follows
//! the blog, receives and verifies what Steppe sends with Fedify's own signature and ActivityStreams code, and
//! sends replies, edits, deletes, likes and boosts signed the way Fedify signs (RFC 9421 first). Each step checks
//! what the other side recorded. Needs Node.js; the npm packages are installed from the committed lock file.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, attrs, texts};

/// The Fedify peer process, stopped when dropped.
struct Peer {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Installs the peer's npm packages from the lock file, once.
fn install() {
    let dir = interop_dir();
    if dir.join("node_modules/@fedify/fedify").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("npm (Node.js) is needed for the interoperability tests");
    assert!(status.success(), "npm ci failed in tests/interop");
}

impl Peer {
    fn spawn() -> Self {
        install();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("node")
            .arg("peer.mjs")
            .arg(port.to_string())
            .current_dir(interop_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the peer did not start");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    async fn control(&self, command: &str, args: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/control/{command}", self.base))
            .body(args.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "peer {command}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// What the peer recorded under `/control/{what}`.
    async fn recorded<T: serde::de::DeserializeOwned>(&self, what: &str) -> T {
        self.http
            .get(format!("{}/control/{what}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn received(&self) -> Vec<Value> {
        self.recorded("received").await
    }

    /// Waits until the peer has verified and recorded an activity for which `pick` holds; returns it.
    async fn wait_for(&self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..300 {
            if let Some(found) = self.received().await.into_iter().find(|a| pick(a)) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the peer never got {what}: {:?}", self.received().await);
    }
}

/// The checks and their results, written to `docs/interop.md` when the test ends (also when it fails).
struct Report {
    rows: Vec<(String, bool, String)>,
    /// The blog's base URL in this run, written as `http://localhost:PORT` so that the file only changes with
    /// the results.
    base: String,
}

/// A detail without what changes between runs: the port, and ids (`/articles/{id}`, `/notes/{id}`, …).
fn stable(detail: &str, base: &str) -> String {
    let mut out = detail.replace(base, "http://localhost:PORT");
    for prefix in ["/articles/", "/notes/", "/activities/"] {
        if let Some(at) = out.find(prefix) {
            let start = at + prefix.len();
            let end = out[start..]
                .find(['/', '?', '#'])
                .map_or(out.len(), |e| start + e);
            out.replace_range(start..end, "{id}");
        }
    }
    out
}

impl Report {
    fn pass(&mut self, check: &str, detail: impl Into<String>) {
        self.rows.push((check.to_string(), true, detail.into()));
    }

    /// Records the peer's JSON-LD expansion results (each check once) and asserts that they passed.
    fn expansions(&mut self, results: &Value) {
        for r in results.as_array().unwrap() {
            let name = format!(
                "JSON-LD expansion (safe mode): {}",
                r["name"].as_str().unwrap()
            );
            if self.rows.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            let ok = r["ok"] == true;
            let detail = r["error"]
                .as_str()
                .or(r["url"].as_str())
                .unwrap_or_default()
                .to_string();
            self.rows.push((name.clone(), ok, detail));
            assert!(ok, "{name}: {r}");
        }
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.rows.push((
                "the next step".into(),
                false,
                "failed: see the test's output".into(),
            ));
        }
        let mut text = [
            "# Interoperability with Fedify",
            "",
            "Written by `tests/interop.rs` (`cargo test --test main interop`), which runs a Fedify 2.3.6 peer",
            "(`tests/interop/peer.mjs`) against a real Steppe over loopback. Fedify verifies every signature and",
            "parses every document with its own code; JSON-LD documents are expanded offline by jsonld.js in safe",
            "mode (anything an unknown term would silently drop is an error), with Fedify's preloaded contexts.",
            "",
            "| check | result | details |",
            "| --- | --- | --- |",
            "",
        ]
        .join("\n");
        for (check, ok, detail) in &self.rows {
            let detail = stable(detail, &self.base)
                .replace('|', "\\|")
                .replace('\n', " ");
            text.push_str(&format!(
                "| {check} | {} | {detail} |\n",
                if *ok { "pass" } else { "FAIL" }
            ));
        }
        let _ = std::fs::write(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/interop.md"),
            text,
        );
    }
}

async fn page(app: &TestApp, path: &str) -> String {
    app.page(path).await.1
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn the_whole_story_with_a_fedify_peer() {
    let app = TestApp::spawn_localhost("").await;
    let peer = Peer::spawn();
    let handle = format!(
        "@blog@{}",
        app.config.site.public_url.trim_start_matches("http://")
    );
    let mut report = Report {
        rows: Vec::new(),
        base: app.config.base_url().to_string(),
    };

    // Discovery first: WebFinger as webfinger.js and Fedify read it, NodeInfo through Fedify's strict parser.
    let webfinger = peer.control("webfinger", json!({ "handle": handle })).await;
    assert_eq!(webfinger["errors"], json!([]), "{webfinger}");
    report.pass(
        "WebFinger (webfinger.js, private addresses allowed; subject, JRD type, self link resolved by Fedify)",
        "@blog@localhost:PORT",
    );
    let nodeinfo = peer
        .control("nodeinfo", json!({ "base": app.config.base_url() }))
        .await;
    assert_eq!(nodeinfo["fedify"], true, "{nodeinfo}");
    assert_eq!(nodeinfo["schemaErrors"], json!([]), "{nodeinfo}");
    report.pass(
        "NodeInfo 2.1 (Fedify parseNodeInfo, strict; the 2.1 schema's rules)",
        nodeinfo["href"].as_str().unwrap_or_default(),
    );

    // Follow by handle; Fedify verifies our Accept.
    let followed = peer.control("follow", json!({ "handle": handle })).await;
    assert_eq!(
        followed["blog"],
        app.url("/users/blog").replace("127.0.0.1", "localhost")
    );
    let accept = peer.wait_for("Accept", |a| a["type"] == "Accept").await;
    assert_eq!(accept["actor"], followed["blog"]);
    report.pass("Follow by handle; Fedify verifies the Accept", "");
    // The Accept was signed RFC 9421 with the blog's Ed25519 key, found in the actor's assertionMethod (a FEP-521a
    // Multikey, as Mastodon finds it; see Fep521aKeyStore in peer.mjs) and verified by Fedify at the first attempt.
    let seen: Value = peer.recorded("signatures").await;
    assert_eq!(
        seen["multikeysFound"],
        json!([format!(
            "{}#ed25519-key",
            followed["blog"].as_str().unwrap()
        )]),
        "{seen}"
    );
    let signatures = seen["signatures"].as_array().unwrap().clone();
    let from_blog: Vec<&Value> = signatures
        .iter()
        .filter(|s| {
            s["keyId"]
                .as_str()
                .is_some_and(|k| k.starts_with(followed["blog"].as_str().unwrap_or("?")))
        })
        .collect();
    assert!(!from_blog.is_empty(), "{signatures:?}");
    for s in &from_blog {
        assert_eq!(
            (&s["scheme"], &s["alg"], &s["status"]),
            (&json!("rfc9421"), &json!("ed25519"), &json!(202)),
            "{signatures:?}"
        );
        assert!(
            s["keyId"].as_str().unwrap().ends_with("#ed25519-key"),
            "{s}"
        );
    }
    report.pass(
        "Signed RFC 9421 with the blog's Ed25519 key (FEP-521a Multikey, found as Mastodon finds it); Fedify verifies the first attempt",
        "",
    );

    // The owner publishes through the admin form; Fedify verifies and parses the Article.
    app.setup_owner().await;
    app.submit(
        "/admin/comments",
        "/admin/comments/policy",
        &[("policy", "publish_all")],
    )
    .await;
    // With a described image, uploaded the way the editor's script does, as its featured image.
    let token = crate::harness::csrf_token(&app.page("/admin/media").await.1);
    let form = reqwest::multipart::Form::new().text("csrf", token).part(
        "file",
        reqwest::multipart::Part::bytes(crate::harness::jpeg(1200, 800, None))
            .file_name("steppe.jpg"),
    );
    let uploaded: Value = app
        .client
        .post(app.url("/admin/media/upload"))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let image_id = uploaded["images"][0]["id"].as_str().unwrap().to_string();
    let markdown = uploaded["images"][0]["markdown"]
        .as_str()
        .unwrap()
        .to_string();
    let body = format!("Hello from *Steppe*.\n\n{markdown}");
    let alt_field = format!("alt_{image_id}");
    let editor = app
        .save_post(
            "/admin/posts/new",
            &[
                ("title", "Interop with Fedify"),
                ("summary", "A post for a peer."),
                ("tags", "NGOs"),
                ("body", &body),
                ("featured", &image_id),
                (&alt_field, "Grass to the horizon"),
            ],
            "publish",
        )
        .await;
    let create = peer
        .wait_for("Create{Article}", |a| {
            a["type"] == "Create" && a["object"]["type"] == "Article"
        })
        .await;
    let article = &create["object"];
    assert_eq!(article["name"], "Interop with Fedify");
    assert!(
        article["content"]
            .as_str()
            .unwrap()
            .contains("<em>Steppe</em>")
    );
    assert_eq!(article["summary"], "<p>A post for a peer.</p>");
    let path = "/posts/interop-with-fedify";
    assert!(article["url"].as_str().unwrap().ends_with(path));
    assert!(
        article["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "Hashtag" && t["name"] == "#ngos"),
        "{article}"
    );
    let attachments = article["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1, "{article}");
    let attachment = &attachments[0];
    assert_eq!(attachment["type"], "Image");
    assert_eq!(attachment["mediaType"], "image/jpeg");
    assert_eq!(attachment["name"], "Grass to the horizon");
    assert_eq!(
        (attachment["width"].as_u64(), attachment["height"].as_u64()),
        (Some(1200), Some(800))
    );
    assert!(
        attachment["url"]
            .as_str()
            .unwrap()
            .contains(&format!("/media/{image_id}-1200.jpg"))
    );
    assert_eq!(article["image"]["url"], attachment["url"]);
    let article_id = article["id"].as_str().unwrap().to_string();
    report.pass(
        "Publish from the admin form; Fedify verifies Create{Article} and reads name, summary, content, url, tags, \
         its image and its attachment (mediaType, url, name, width, height)",
        article_id.clone(),
    );

    // The peer replies (signed RFC 9421 first, as Fedify does): a comment on the page and in `replies`.
    let reply = peer
        .control(
            "reply",
            json!({ "inReplyTo": article_id, "content": "<p>Hello from Fedify.</p>" }),
        )
        .await;
    let reply_id = reply["id"].as_str().unwrap().to_string();
    eventually("the reply on the page", async || {
        page(&app, path).await.contains("Hello from Fedify.")
    })
    .await;
    let replies: Value = app
        .client
        .get(format!("{}/replies?page=1", app.url(&article_id)))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replies["orderedItems"], json!([reply_id]));
    report.pass(
        "Fedify's reply (signed RFC 9421) becomes a comment on the page and in replies",
        "",
    );

    // Edited, then deleted.
    peer.control(
        "edit",
        json!({ "id": reply_id, "content": "<p>Hello again from Fedify.</p>" }),
    )
    .await;
    eventually("the edit on the page", async || {
        let html = page(&app, path).await;
        html.contains("Hello again from Fedify.") && !texts(&html, ".comment-edited").is_empty()
    })
    .await;
    report.pass("Fedify's Update{Note} edits the comment (edited mark)", "");
    peer.control("delete", json!({ "id": reply_id })).await;
    eventually("the reply gone", async || {
        !page(&app, path).await.contains("from Fedify")
    })
    .await;
    report.pass("Fedify's Delete removes the comment", "");

    // Likes and boosts are counted.
    peer.control("like", json!({ "object": article_id })).await;
    peer.control("announce", json!({ "object": article_id }))
        .await;
    eventually("the counts", async || {
        texts(&page(&app, path).await, ".reactions") == ["1 like · 1 boost"]
    })
    .await;
    report.pass("Fedify's Like and Announce are counted", "1 like · 1 boost");

    // The owner answers a new reply; the peer verifies the Note and its inReplyTo.
    let question = peer
        .control(
            "reply",
            json!({ "inReplyTo": article_id, "content": "<p>A question from Fedify?</p>" }),
        )
        .await;
    let question_id = question["id"].as_str().unwrap().to_string();
    eventually("the question on the page", async || {
        page(&app, path).await.contains("A question from Fedify?")
    })
    .await;
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/reply",
            &[("id", &question_id), ("text", "An answer from Steppe.")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let answer = peer
        .wait_for("Create{Note}", |a| {
            a["type"] == "Create" && a["object"]["type"] == "Note"
        })
        .await;
    assert_eq!(answer["object"]["inReplyTo"], question_id.as_str());
    assert!(
        answer["object"]["content"]
            .as_str()
            .unwrap()
            .contains("An answer from Steppe.")
    );
    assert!(
        answer["object"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "Mention")
    );
    let note_id = answer["object"]["id"].as_str().unwrap().to_string();
    report.pass(
        "The owner's reply: Fedify verifies Create{Note} with inReplyTo and a Mention",
        note_id.clone(),
    );

    // Every document Steppe serves, and every activity it sent, expands offline without losing a term.
    let base = app.config.base_url().to_string();
    let documents = [
        ("actor", format!("{base}/users/blog")),
        ("outbox", format!("{base}/users/blog/outbox")),
        ("outbox page", format!("{base}/users/blog/outbox?page=1")),
        ("followers", format!("{base}/users/blog/followers")),
        (
            "followers page",
            format!("{base}/users/blog/followers?page=1"),
        ),
        ("following", format!("{base}/users/blog/following")),
        ("Article", article_id.clone()),
        ("replies", format!("{article_id}/replies")),
        ("replies page", format!("{article_id}/replies?page=1")),
        ("likes page", format!("{article_id}/likes?page=1")),
        ("shares page", format!("{article_id}/shares?page=1")),
        ("the owner's Note", note_id.clone()),
    ];
    let documents: Vec<Value> = documents
        .into_iter()
        .map(|(name, url)| json!({ "name": name, "url": url }))
        .collect();
    let results = peer
        .control("validate", json!({ "documents": documents }))
        .await;
    report.expansions(&results);

    // The owner edits the post, then deletes it: Update, then Delete, and the Article answers 410.
    app.save_post(
        &editor,
        &[
            ("title", "Interop with Fedify"),
            ("summary", "A post for a peer."),
            ("tags", "NGOs"),
            ("body", "Hello again from *Steppe*."),
        ],
        "publish",
    )
    .await;
    let update = peer
        .wait_for("Update{Article}", |a| {
            a["type"] == "Update" && a["object"]["type"] == "Article"
        })
        .await;
    assert!(
        update["object"]["content"]
            .as_str()
            .unwrap()
            .contains("again")
    );
    report.pass("Editing the post: Fedify verifies Update{Article}", "");
    let (_, confirm) = app.page(&editor.replace("/edit", "/delete")).await;
    let action = attrs(&confirm, "form[method=post]", "action")
        .into_iter()
        .find(|a| a.ends_with("/delete"))
        .unwrap();
    let r = app
        .submit(&editor.replace("/edit", "/delete"), &action, &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let delete = peer.wait_for("Delete", |a| a["type"] == "Delete").await;
    assert_eq!(delete["objectId"], article_id.as_str());
    let gone = app
        .client
        .get(app.url(&article_id))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    report.pass(
        "Deleting the post: Fedify verifies Delete; the Article answers 410",
        "",
    );
    // The activities sent since (Update, Delete) expand as well.
    let later = peer.control("validate", json!({ "documents": [] })).await;
    report.expansions(&later);

    // Unfollow: the follower is gone.
    peer.control("unfollow", json!({})).await;
    eventually("the follower gone", async || {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM followers")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        n == 0
    })
    .await;
    report.pass("Fedify's Undo{Follow}: the follower is gone", "");
    app.finish().await;
}

/// The accounts following the blog of `app`.
async fn follower_ids(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT actor_id FROM followers ORDER BY actor_id")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

/// Moving with Fedify on the other side, as Mastodon moves followers: the peer's old account moves to a Steppe blog
/// that lists it in `alsoKnownAs`, and the peer (which followed the old account) follows the blog; then that blog
/// moves to a second Steppe blog, and the peer follows the second blog and unfollows the first.
#[tokio::test]
async fn followers_move_in_and_out_with_a_fedify_peer() {
    let first = TestApp::spawn_localhost("").await;
    let second = TestApp::spawn_localhost("").await;
    first.setup_owner().await;
    second.setup_owner().await;
    let peer = Peer::spawn();
    let handle = |app: &TestApp| {
        format!(
            "@blog@{}",
            app.config.site.public_url.trim_start_matches("http://")
        )
    };
    let peer_host = peer.base.replace("127.0.0.1", "localhost");
    let peer_actor = format!("{peer_host}/users/peer");
    let old = format!("{peer_host}/users/old");

    // Moving in: the owner lists the peer's old account (found by its handle through Fedify's WebFinger).
    let r = first
        .submit(
            "/admin/settings",
            "/admin/settings/aliases",
            &[(
                "account",
                &format!("@old@{}", peer_host.trim_start_matches("http://")),
            )],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let moved = peer
        .control("moveOld", json!({ "handle": handle(&first) }))
        .await;
    assert_eq!(moved["old"], old);
    eventually(
        "the peer follows the blog its old account moved to",
        async || follower_ids(&first).await == vec![peer_actor.clone()],
    )
    .await;
    let moves = peer.control("moves", json!({})).await;
    assert_eq!(moves[0]["result"], "followed the target", "{moves}");
    peer.wait_for("Accept from the first blog", |a| {
        a["type"] == "Accept"
            && a["actor"] == first.url("/users/blog").replace("127.0.0.1", "localhost")
    })
    .await;

    // Moving out: the second blog lists the first; the first moves there.
    let r = second
        .submit(
            "/admin/settings",
            "/admin/settings/aliases",
            &[("account", &handle(&first))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = first
        .submit(
            "/admin/settings",
            "/admin/settings/move",
            &[("account", &handle(&second)), ("confirm", "1")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    eventually("the peer follows the second blog", async || {
        follower_ids(&second).await == vec![peer_actor.clone()]
    })
    .await;
    eventually("the peer unfollows the first blog", async || {
        follower_ids(&first).await.is_empty()
    })
    .await;
    let moves = peer.control("moves", json!({})).await;
    assert_eq!(moves[1]["result"], "followed the target", "{moves}");
    assert_eq!(
        moves[1]["target"],
        second.url("/users/blog").replace("127.0.0.1", "localhost")
    );

    // The actors with alsoKnownAs and movedTo, and the Move and the Update received, expand with every term defined.
    let results = peer
        .control(
            "validate",
            json!({ "documents": [
                { "name": "moved actor", "url": first.url("/users/blog") },
                { "name": "actor with aliases", "url": second.url("/users/blog") },
            ] }),
        )
        .await;
    let failed: Vec<&Value> = results
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] != true)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    let names: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"received Move"), "{names:?}");
    first.finish().await;
    second.finish().await;
}
