//! Replies from fediverse accounts become comments: threaded and sanitised on the post page and in the Article's
//! `replies`; edited and deleted by their authors only; private replies kept off the page; likes and boosts counted;
//! forwarded replies checked at their origin; hostile HTML never reaches a page.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    harness::{TestApp, attrs, texts},
    remote::Remote,
};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Sets the moderation policy through the Comments page.
async fn set_policy(app: &TestApp, policy: &str) {
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/policy",
            &[("policy", policy)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// Publishes a post (with every comment published at once, unless a test changes the policy) and returns its
/// permalink path and Article id.
async fn post_with_article(app: &TestApp) -> (String, String) {
    app.setup_owner().await;
    set_policy(app, "publish_all").await;
    app.publish("Comments welcome", "NGOs", "What do you think?")
        .await;
    let path = "/posts/comments-welcome".to_string();
    let (status, html) = app.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    let article = attrs(
        &html,
        "link[rel=alternate][type=\"application/activity+json\"]",
        "href",
    )
    .pop()
    .expect("the Article link");
    (path, article)
}

/// A Note by `remote` (its note `n`), replying to `in_reply_to`.
fn note(remote: &Remote, n: &str, in_reply_to: &str, content: &str) -> Value {
    json!({
        "id": remote.note_id(n),
        "type": "Note",
        "attributedTo": remote.actor_id(),
        "inReplyTo": in_reply_to,
        "content": content,
        "published": "2026-11-01T10:00:00Z",
        "url": format!("{}/@{n}", remote.base),
        "to": [PUBLIC],
        "cc": [format!("{}/followers", remote.actor_id())],
    })
}

fn activity(remote: &Remote, kind: &str, id: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{id}", remote.base),
        "type": kind,
        "actor": remote.actor_id(),
        "to": [PUBLIC],
        "object": object,
    })
}

async fn send(app: &TestApp, remote: &Remote, activity: &Value) -> StatusCode {
    remote
        .post_signed(&app.url("/inbox"), activity)
        .await
        .status()
}

async fn shown(app: &TestApp, path: &str) -> String {
    app.page(path).await.1
}

#[tokio::test]
async fn replies_become_threaded_sanitised_comments() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let bob = Remote::spawn("bob").await;
    let reply = {
        let mut n = note(
            &alice,
            "1",
            &article,
            "<p>Great post!<script>alert(1)</script> <a href=\"https://example.org/x\">source</a></p>",
        );
        n["summary"] = json!("Spoilers");
        n
    };
    let create = activity(&alice, "Create", "c1", reply.clone());
    assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
    // The same activity again changes nothing.
    assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
    // Bob answers Alice's reply (to her comment, not to the post).
    let mut answer = note(&bob, "2", &alice.note_id("1"), "<p>I agree with Alice.</p>");
    answer["published"] = json!("2026-11-01T11:00:00Z");
    assert_eq!(
        send(&app, &bob, &activity(&bob, "Create", "c2", answer)).await,
        StatusCode::ACCEPTED
    );

    let html = shown(&app, &path).await;
    assert_eq!(texts(&html, "#comments-title"), ["Comments (2)"]);
    let classes = attrs(&html, "li.comment", "class");
    assert_eq!(classes, ["comment depth-0", "comment depth-1"]);
    let contents = texts(&html, ".comment-content");
    assert!(contents[0].contains("Great post!"), "{contents:?}");
    assert!(contents[1].contains("I agree with Alice."));
    assert!(!html.contains("alert(1)"), "scripts never reach the page");
    assert_eq!(
        attrs(&html, ".comment-content a", "rel"),
        ["nofollow ugc noopener"]
    );
    assert_eq!(texts(&html, ".comment-cw summary"), ["Spoilers"]);
    assert_eq!(texts(&html, ".comment-name")[0], "Reader alice");
    assert!(texts(&html, ".comment-handle")[0].starts_with("@alice@127.0.0.1"));
    // Anchors are permalinks.
    let anchor = attrs(&html, "li.comment", "id")[0].clone();
    assert_eq!(
        attrs(&html, "a.comment-permalink", "href")[0],
        format!("#{anchor}")
    );
    // The home page counts them.
    let home = shown(&app, "/").await;
    assert_eq!(texts(&home, ".entry-comments"), ["Comments (2) »"]);

    // The Article's replies list both, the reply to the reply included.
    let replies = app
        .client
        .get(format!("{article}/replies?page=1"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(replies["totalItems"], 2);
    assert_eq!(
        replies["orderedItems"],
        json!([alice.note_id("1"), bob.note_id("2")])
    );
    alice.stop().await;
    bob.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn edits_and_deletes_by_their_authors_only() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let mallory = Remote::spawn("mallory").await;
    let original = note(&alice, "1", &article, "<p>First thoughts.</p>");
    send(
        &app,
        &alice,
        &activity(&alice, "Create", "c1", original.clone()),
    )
    .await;
    let second = note(&alice, "2", &article, "<p>Second thoughts.</p>");
    send(&app, &alice, &activity(&alice, "Create", "c2", second)).await;

    // Someone else's Update and Delete are refused and change nothing.
    let mut forged = original.clone();
    forged["content"] = json!("<p>Mallory was here.</p>");
    forged["updated"] = json!("2026-11-02T10:00:00Z");
    assert_eq!(
        send(&app, &mallory, &activity(&mallory, "Update", "u0", forged)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(
            &app,
            &mallory,
            &activity(&mallory, "Delete", "d0", json!(alice.note_id("1")))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert!(texts(&shown(&app, &path).await, ".comment-content")[0].contains("First thoughts."));

    // The author's edit replaces the text and marks it edited; an older edit is ignored.
    let mut edited = original.clone();
    edited["content"] = json!("<p>Better thoughts.</p>");
    edited["updated"] = json!("2026-11-03T10:00:00Z");
    assert_eq!(
        send(&app, &alice, &activity(&alice, "Update", "u1", edited)).await,
        StatusCode::ACCEPTED
    );
    let mut stale = original.clone();
    stale["content"] = json!("<p>Stale thoughts.</p>");
    stale["updated"] = json!("2026-11-02T10:00:00Z");
    send(&app, &alice, &activity(&alice, "Update", "u2", stale)).await;
    let html = shown(&app, &path).await;
    assert!(texts(&html, ".comment-content")[0].contains("Better thoughts."));
    assert_eq!(texts(&html, ".comment-edited"), ["edited"]);

    // The author deletes one (a Tombstone); then their account goes, and the rest with it.
    let tombstone = json!({"id": alice.note_id("2"), "type": "Tombstone"});
    assert_eq!(
        send(&app, &alice, &activity(&alice, "Delete", "d1", tombstone)).await,
        StatusCode::ACCEPTED
    );
    let html = shown(&app, &path).await;
    assert_eq!(texts(&html, ".comment-content").len(), 1);
    send(
        &app,
        &alice,
        &activity(&alice, "Delete", "d2", json!(alice.actor_id())),
    )
    .await;
    assert_eq!(
        texts(&shown(&app, &path).await, "#comments-title"),
        ["No comments yet"]
    );
    alice.stop().await;
    mallory.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn private_replies_stay_off_the_page() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let blog = app.url("/users/blog");
    let mut direct = note(&alice, "dm", &article, "<p>Just between us.</p>");
    direct["to"] = json!([blog]);
    direct["cc"] = json!([]);
    let mut followers = note(&alice, "fo", &article, "<p>For my followers.</p>");
    followers["to"] = json!([format!("{}/followers", alice.actor_id())]);
    followers["cc"] = json!([blog]);
    let mut unlisted = note(&alice, "ul", &article, "<p>Quietly public.</p>");
    unlisted["to"] = json!([format!("{}/followers", alice.actor_id())]);
    unlisted["cc"] = json!([PUBLIC]);
    for (i, n) in [direct, followers, unlisted].into_iter().enumerate() {
        let a = activity(&alice, "Create", &format!("c{i}"), n);
        assert_eq!(send(&app, &alice, &a).await, StatusCode::ACCEPTED);
    }
    let html = shown(&app, &path).await;
    assert!(!html.contains("Just between us."));
    assert!(!html.contains("For my followers."));
    assert!(html.contains("Quietly public."));
    assert_eq!(texts(&html, "#comments-title"), ["Comments (1)"]);
    // The owner reads them in Mentions.
    let (status, mentions) = app.page("/admin/mentions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(mentions.contains("Just between us."));
    assert!(mentions.contains("For my followers."));
    assert_eq!(
        texts(&mentions, ".visibility"),
        ["direct", "followers only"]
    );
    alice.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn likes_and_boosts_are_counted_once_and_undone() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let bob = Remote::spawn("bob").await;
    let like = activity(&alice, "Like", "l1", json!(article));
    send(&app, &alice, &like).await;
    send(&app, &alice, &like).await;
    send(
        &app,
        &alice,
        &activity(&alice, "Announce", "a1", json!(article)),
    )
    .await;
    send(&app, &bob, &activity(&bob, "Like", "l2", json!(article))).await;
    // A like of something else is dropped.
    send(
        &app,
        &bob,
        &activity(
            &bob,
            "Like",
            "l3",
            json!("https://elsewhere.example/notes/1"),
        ),
    )
    .await;
    let html = shown(&app, &path).await;
    assert_eq!(texts(&html, ".reactions"), ["2 likes · 1 boost"]);
    let doc = app
        .client
        .get(&article)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(doc["likes"]["totalItems"], 2);
    assert_eq!(doc["shares"]["totalItems"], 1);

    // Undo with the Like embedded, and with the Announce's id only.
    send(
        &app,
        &alice,
        &activity(&alice, "Undo", "u1", like["object"].clone()),
    )
    .await; // not a Like: ignored
    send(&app, &alice, &activity(&alice, "Undo", "u2", like.clone())).await;
    send(
        &app,
        &alice,
        &activity(
            &alice,
            "Undo",
            "u3",
            json!(format!("{}/activities/a1", alice.base)),
        ),
    )
    .await;
    let html = shown(&app, &path).await;
    assert_eq!(texts(&html, ".reactions"), ["1 like"]);
    alice.stop().await;
    bob.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn forwarded_replies_are_checked_at_their_origin() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let relay = Remote::spawn("relay").await;
    // Alice's server publishes her reply; the relay forwards a copy with other text.
    let real = note(&alice, "1", &article, "<p>What Alice said.</p>");
    alice.host_note(&real);
    let mut tampered = real.clone();
    tampered["content"] = json!("<p>What the relay says Alice said.</p>");
    assert_eq!(
        send(&app, &relay, &activity(&relay, "Create", "f1", tampered)).await,
        StatusCode::ACCEPTED
    );
    let html = shown(&app, &path).await;
    assert!(html.contains("What Alice said."));
    assert!(!html.contains("the relay says"));
    // A reply that its supposed author's server does not have is refused.
    let invented = note(&alice, "2", &article, "<p>Never said this.</p>");
    assert_eq!(
        send(&app, &relay, &activity(&relay, "Create", "f2", invented)).await,
        StatusCode::UNAUTHORIZED
    );
    // A reply by the relay claiming to be on Alice's server is refused too.
    let mut spoofed = note(&relay, "3", &article, "<p>Spoofed.</p>");
    spoofed["id"] = json!(alice.note_id("3"));
    assert_ne!(
        send(&app, &relay, &activity(&relay, "Create", "f3", spoofed)).await,
        StatusCode::ACCEPTED
    );
    assert!(!shown(&app, &path).await.contains("Never said this."));
    alice.stop().await;
    relay.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn bad_replies_are_refused_or_dropped() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let huge = format!("<p>{}</p>", "a".repeat(70 * 1024));
    let big = activity(&alice, "Create", "c1", note(&alice, "1", &article, &huge));
    assert_eq!(
        send(&app, &alice, &big).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let elsewhere = note(
        &alice,
        "2",
        "https://elsewhere.example/notes/9",
        "<p>Hi</p>",
    );
    assert_eq!(
        send(&app, &alice, &activity(&alice, "Create", "c2", elsewhere)).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        texts(&shown(&app, &path).await, "#comments-title"),
        ["No comments yet"]
    );
    alice.stop().await;
    app.finish().await;
}

/// A corpus of XSS vectors, each sent as a reply: none survives into the page.
#[tokio::test]
async fn xss_corpus_never_reaches_the_page() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let vectors = [
        "<script>alert('xss')</script>",
        "<img src=x onerror=alert('xss')>",
        "<svg onload=alert('xss')>",
        "<iframe src=\"https://evil.example/\"></iframe>",
        "<iframe srcdoc=\"<script>alert('xss')</script>\"></iframe>",
        "<a href=\"javascript:alert('xss')\">click</a>",
        "<a href=\"JaVaScRiPt:alert('xss')\">click</a>",
        "<a href=\"&#106;avascript:alert('xss')\">click</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgneHNzJyk8L3NjcmlwdD4=\">d</a>",
        "<a href=\"vbscript:msgbox('xss')\">v</a>",
        "<p style=\"background:url(javascript:alert('xss'))\">s</p>",
        "<style>body{display:none}</style>",
        "<link rel=stylesheet href=https://evil.example/x.css>",
        "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
        "<object data=\"https://evil.example/x.swf\"></object>",
        "<embed src=\"https://evil.example/x.swf\">",
        "<form action=\"https://evil.example\"><input name=x></form>",
        "<body onload=alert('xss')>",
        "<details open ontoggle=alert('xss')>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss')>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert('xss')>\">",
        "<a href=\"https://ok.example\" onclick=\"alert('xss')\">ok</a>",
        "<base href=\"https://evil.example/\">",
        "<video><source onerror=\"alert('xss')\"></video>",
        "<p>\"><script>alert('xss')</script></p>",
        "<span class=\"invisible\" onmouseover=\"alert('xss')\">x</span>",
    ];
    for (i, v) in vectors.iter().enumerate() {
        let n = note(&alice, &i.to_string(), &article, v);
        let a = activity(&alice, "Create", &format!("c{i}"), n);
        assert_eq!(send(&app, &alice, &a).await, StatusCode::ACCEPTED, "{v}");
    }
    let html = shown(&app, &path).await;
    assert_eq!(
        texts(&html, "#comments-title"),
        [format!("Comments ({})", vectors.len())]
    );
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse(".comment-content").unwrap();
    for content in doc.select(&sel) {
        let inner = content.inner_html().to_lowercase();
        for bad in [
            "<script",
            "onerror",
            "onload",
            "onclick",
            "ontoggle",
            "onmouseover",
            "javascript:",
            "vbscript:",
            "data:",
            "<iframe",
            "<svg",
            "<img",
            "<style",
            "style=",
            "<link",
            "<meta",
            "<object",
            "<embed",
            "<form",
            "<input",
            "<base",
            "<video",
            "<source",
            "<math",
            "srcdoc",
            "<details",
        ] {
            assert!(!inner.contains(bad), "{bad} survived: {inner}");
        }
    }
    alice.stop().await;
    app.finish().await;
}
