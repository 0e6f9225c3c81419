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
pub(crate) async fn post_with_article(app: &TestApp) -> (String, String) {
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
pub(crate) fn note(remote: &Remote, n: &str, in_reply_to: &str, content: &str) -> Value {
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

pub(crate) fn activity(remote: &Remote, kind: &str, id: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{id}", remote.base),
        "type": kind,
        "actor": remote.actor_id(),
        "to": [PUBLIC],
        "object": object,
    })
}

pub(crate) async fn send(app: &TestApp, remote: &Remote, activity: &Value) -> StatusCode {
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
    // Anchors are permalinks, which lead to the comment on its page.
    let anchor = attrs(&html, "li.comment", "id")[0].clone();
    let permalink = attrs(&html, "a.comment-permalink", "href")[0].clone();
    assert_eq!(
        permalink,
        format!("/comments/{}", anchor.trim_start_matches("comment-"))
    );
    let r = app.client.get(app.url(&permalink)).send().await.unwrap();
    assert_eq!(r.headers()["location"], format!("{path}#{anchor}").as_str());
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

    // Someone else's Update is refused at once; their Delete (whose author only the stored comment tells) is
    // taken and refused when applied. Neither changes anything.
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
        StatusCode::ACCEPTED
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
    // A reply that its supposed author's server does not have is refused when applied (the fetch from its origin
    // happens after the 202).
    let invented = note(&alice, "2", &article, "<p>Never said this.</p>");
    assert_eq!(
        send(&app, &relay, &activity(&relay, "Create", "f2", invented)).await,
        StatusCode::ACCEPTED
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

/// The default policy holds a first-time commenter until approved; after that, their replies show at once. "Hold
/// all" holds everyone; a rejected reply stays hidden when delivered again; a post with comments closed takes none.
#[tokio::test]
async fn moderation_holds_approves_rejects_and_closes() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    set_policy(&app, "hold_first").await;
    let alice = Remote::spawn("alice").await;
    let first = activity(
        &alice,
        "Create",
        "c1",
        note(&alice, "1", &article, "<p>Hello there.</p>"),
    );
    send(&app, &alice, &first).await;
    assert!(!shown(&app, &path).await.contains("Hello there."), "held");
    let (_, page) = app.page("/admin/comments").await;
    assert_eq!(texts(&page, "#waiting"), ["Waiting for approval (1)"]);
    assert!(texts(&page, ".admin-nav .waiting").contains(&"(1 waiting for approval)".to_string()));
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/action",
            &[("id", &alice.note_id("1")), ("action", "approve")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(shown(&app, &path).await.contains("Hello there."));
    // Known now: her next reply shows at once.
    let second = activity(
        &alice,
        "Create",
        "c2",
        note(&alice, "2", &article, "<p>Me again.</p>"),
    );
    send(&app, &alice, &second).await;
    assert!(shown(&app, &path).await.contains("Me again."));

    // Hold all: even Alice waits. Rejected, and sent again, it stays hidden.
    set_policy(&app, "hold_all").await;
    let third = activity(
        &alice,
        "Create",
        "c3",
        note(&alice, "3", &article, "<p>Third.</p>"),
    );
    send(&app, &alice, &third).await;
    assert!(!shown(&app, &path).await.contains("Third."));
    app.submit(
        "/admin/comments",
        "/admin/comments/action",
        &[("id", &alice.note_id("3")), ("action", "reject")],
    )
    .await;
    send(&app, &alice, &third).await;
    assert!(!shown(&app, &path).await.contains("Third."));
    let (_, page) = app.page("/admin/comments").await;
    assert_eq!(texts(&page, "#waiting"), ["Waiting for approval (0)"]);

    // Comments closed on the post: new replies are dropped, and the page says so.
    set_policy(&app, "publish_all").await;
    let (_, admin) = app.page("/admin").await;
    let close = attrs(&admin, "form[action$=\"/comments\"]", "action")[0].clone();
    let r = app.submit("/admin", &close, &[("open", "0")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let fourth = activity(
        &alice,
        "Create",
        "c4",
        note(&alice, "4", &article, "<p>Fourth.</p>"),
    );
    send(&app, &alice, &fourth).await;
    let html = shown(&app, &path).await;
    assert!(!html.contains("Fourth."));
    assert_eq!(texts(&html, ".comments-closed"), ["Comments are closed."]);
    assert!(attrs(&html, "form.interact", "action").is_empty());
    alice.stop().await;
    app.finish().await;
}

/// Blocking a domain removes its comments and follows and drops what it sends next; its Follow gets a Reject.
/// A blocklist can be imported in Mastodon's CSV format; a block can be lifted.
#[tokio::test]
async fn blocks_remove_drop_and_reject() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    send(
        &app,
        &alice,
        &activity(
            &alice,
            "Create",
            "c1",
            note(&alice, "1", &article, "<p>Before the block.</p>"),
        ),
    )
    .await;
    assert!(shown(&app, &path).await.contains("Before the block."));
    // The first press asks, naming the whole server; nothing is blocked yet.
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/action",
            &[("id", &alice.note_id("1")), ("action", "block_domain")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let confirm = r.text().await.unwrap();
    assert!(
        texts(&confirm, "h1")[0].starts_with("Block the whole server 127.0.0.1"),
        "{confirm}"
    );
    assert!(shown(&app, &path).await.contains("Before the block."));
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/action",
            &[
                ("id", &alice.note_id("1")),
                ("action", "block_domain"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!shown(&app, &path).await.contains("Before the block."));
    send(
        &app,
        &alice,
        &activity(
            &alice,
            "Create",
            "c2",
            note(&alice, "2", &article, "<p>After the block.</p>"),
        ),
    )
    .await;
    assert!(!shown(&app, &path).await.contains("After the block."));
    // Her Follow is answered with a Reject, and she is not a follower.
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/1", alice.base),
        "type": "Follow",
        "actor": alice.actor_id(),
        "object": app.url("/users/blog"),
    });
    assert_eq!(send(&app, &alice, &follow).await, StatusCode::ACCEPTED);
    let reject = alice.wait_for("Reject").await;
    assert_eq!(reject.activity["object"]["id"], follow["id"]);
    assert!(reject.verified.is_ok());
    let followers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM followers")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(followers, 0);

    // Import: Mastodon's CSV export.
    let csv = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
               spam.example,suspend,false,false,,false\nworse.example,suspend,true,true,,false\n";
    let r = app
        .submit(
            "/admin/blocks",
            "/admin/blocks",
            &[("value", ""), ("list", csv)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page("/admin/blocks").await;
    let listed = texts(&page, "tr.block code");
    for domain in ["spam.example", "worse.example"] {
        assert!(listed.contains(&domain.to_string()), "{listed:?}");
    }
    let host = alice.base.trim_start_matches("http://").to_string();
    assert!(listed.contains(&host), "{listed:?}");
    // Lifting the block lets her comment again.
    app.submit(
        "/admin/blocks",
        "/admin/blocks/remove",
        &[("kind", "domain"), ("value", &host)],
    )
    .await;
    send(
        &app,
        &alice,
        &activity(
            &alice,
            "Create",
            "c3",
            note(&alice, "3", &article, "<p>Unblocked.</p>"),
        ),
    )
    .await;
    assert!(shown(&app, &path).await.contains("Unblocked."));
    alice.stop().await;
    app.finish().await;
}

/// The owner answers a comment from the admin pages: the commenter's server receives a signed Create{Note} in
/// reply to their note, mentioning them; it shows threaded under their comment; editing sends an Update and
/// deleting a Delete. The Note can be fetched at its id.
#[tokio::test]
async fn the_owner_replies_edits_and_deletes() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    send(
        &app,
        &alice,
        &activity(
            &alice,
            "Create",
            "c1",
            note(&alice, "1", &article, "<p>A question?</p>"),
        ),
    )
    .await;
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/reply",
            &[("id", &alice.note_id("1")), ("text", "A *good* question.")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let create = alice.wait_for("Create").await;
    assert!(create.verified.is_ok(), "{:?}", create.verified);
    let reply = &create.activity["object"];
    assert_eq!(reply["type"], "Note");
    assert_eq!(reply["inReplyTo"], alice.note_id("1"));
    assert_eq!(reply["attributedTo"], app.url("/users/blog"));
    assert_eq!(reply["tag"][0]["type"], "Mention");
    assert_eq!(reply["tag"][0]["href"], alice.actor_id());
    assert!(
        reply["cc"]
            .as_array()
            .unwrap()
            .contains(&json!(alice.actor_id()))
    );
    assert_eq!(reply["to"], json!([PUBLIC]));
    let content = reply["content"].as_str().unwrap();
    assert!(content.contains("class=\"u-url mention\""), "{content}");
    assert!(content.contains("<em>good</em>"), "{content}");
    // Threaded under Alice's comment on the page.
    let html = shown(&app, &path).await;
    assert_eq!(
        attrs(&html, "li.comment", "class"),
        ["comment depth-0", "comment depth-1"]
    );
    assert!(texts(&html, ".comment-content")[1].contains("good question"));
    // Its id answers with the Note.
    let id = reply["id"].as_str().unwrap().to_string();
    let doc: Value = app
        .client
        .get(&id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["id"], id.as_str());
    assert_eq!(doc["inReplyTo"], alice.note_id("1"));

    // Edit, then delete.
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/edit",
            &[("id", &id), ("text", "A very good question.")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let update = alice.wait_for("Update").await;
    assert_eq!(update.activity["object"]["id"], id.as_str());
    assert!(
        update.activity["object"]["content"]
            .as_str()
            .unwrap()
            .contains("very good")
    );
    assert!(update.activity["object"]["updated"].is_string());
    assert!(shown(&app, &path).await.contains("A very good question."));
    let r = app
        .submit(
            "/admin/comments",
            "/admin/comments/action",
            &[("id", &id), ("action", "delete"), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let delete = alice.wait_for("Delete").await;
    assert_eq!(delete.activity["object"]["id"], id.as_str());
    assert!(!shown(&app, &path).await.contains("very good question"));
    alice.stop().await;
    app.finish().await;
}

async fn interact(app: &TestApp, uri: &str, handle: &str) -> reqwest::Response {
    let mut url = url::Url::parse(&app.url("/interact")).unwrap();
    url.query_pairs_mut()
        .append_pair("uri", uri)
        .append_pair("handle", handle);
    app.client.get(url.as_str()).send().await.unwrap()
}

/// "Leave a comment": the reader's address is looked up by WebFinger and they are sent to their server's
/// interaction page for this post; bad addresses and foreign URIs get a clear error.
#[tokio::test]
async fn leave_a_comment_sends_readers_to_their_server() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let html = shown(&app, &path).await;
    assert_eq!(
        attrs(&html, "form.interact", "action"),
        ["/interact#leave-a-comment"]
    );
    assert_eq!(
        attrs(&html, "form.interact input[name=uri]", "value"),
        std::slice::from_ref(&article)
    );
    let handle = format!("@alice@{}", alice.base.trim_start_matches("http://"));
    let r = interact(&app, &article, &handle).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let encoded: String = url::form_urlencoded::byte_serialize(article.as_bytes()).collect();
    assert_eq!(
        location,
        format!("{}/authorize_interaction?uri={encoded}", alice.base)
    );
    for (uri, handle) in [
        (article.as_str(), "not an address"),
        (article.as_str(), ""),
        ("https://elsewhere.example/notes/1", handle.as_str()),
    ] {
        let r = interact(&app, uri, handle).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{uri} {handle}");
    }
    alice.stop().await;
    app.finish().await;
}

/// A flood of replies from one account is slowed down with 429 (its server sends them again later).
#[tokio::test]
async fn floods_are_throttled() {
    let app = TestApp::spawn_with("[limits]\ncomments_per_actor_per_hour = 2\n").await;
    let (_, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let n = note(&alice, &i.to_string(), &article, "<p>Again.</p>");
        statuses.push(
            send(
                &app,
                &alice,
                &activity(&alice, "Create", &format!("c{i}"), n),
            )
            .await,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    alice.stop().await;
    app.finish().await;
}

/// The post page shows its comments a page of threads at a time (newest page by default, older pages linked), its
/// count covers every page, and a comment's permalink leads to the page that holds it.
#[tokio::test]
async fn comments_are_paged_by_thread_and_permalinks_find_their_page() {
    let app = TestApp::spawn_with("site.comment_threads_per_page = 3\n").await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let bob = Remote::spawn("bob").await;
    // Seven threads by Alice (threads 0 … 6, oldest first); Bob answers the first and the last.
    for i in 0..7 {
        let mut n = note(
            &alice,
            &format!("t{i}"),
            &article,
            &format!("<p>Thread {i}</p>"),
        );
        n["published"] = json!(format!("2026-11-01T10:0{i}:00Z"));
        let create = activity(&alice, "Create", &format!("ct{i}"), n);
        assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
    }
    for i in [0, 6] {
        let mut n = note(
            &bob,
            &format!("r{i}"),
            &alice.note_id(&format!("t{i}")),
            &format!("<p>Answer to thread {i}</p>"),
        );
        n["published"] = json!(format!("2026-11-01T11:0{i}:00Z"));
        let create = activity(&bob, "Create", &format!("cr{i}"), n);
        assert_eq!(send(&app, &bob, &create).await, StatusCode::ACCEPTED);
    }

    // The post shows the newest page: thread 6 and its answer; the count is every comment.
    let html = shown(&app, &path).await;
    assert_eq!(texts(&html, "#comments-title"), ["Comments (9)"]);
    assert_eq!(
        texts(&html, ".comment-content"),
        ["Thread 6", "Answer to thread 6"]
    );
    assert_eq!(
        attrs(&html, "li.comment", "class"),
        ["comment depth-0", "comment depth-1"]
    );
    let older = attrs(&html, "nav.comment-pages a.older", "href");
    assert_eq!(older[0], format!("{path}?comments=2#comments"));
    assert!(attrs(&html, "nav.comment-pages a.newer", "href").is_empty());
    assert_eq!(
        texts(&html, "nav.comment-pages [aria-current=page]")[0],
        "3"
    );

    // The first page: the three oldest threads, thread 0 with its answer under it.
    let first = shown(&app, &format!("{path}?comments=1")).await;
    assert_eq!(
        texts(&first, ".comment-content"),
        ["Thread 0", "Answer to thread 0", "Thread 1", "Thread 2"]
    );
    assert_eq!(
        attrs(&first, "nav.comment-pages a.newer", "href")[0],
        format!("{path}?comments=2#comments")
    );
    let second = shown(&app, &format!("{path}?comments=2")).await;
    assert_eq!(
        texts(&second, ".comment-content"),
        ["Thread 3", "Thread 4", "Thread 5"]
    );
    // The last page by number links back to the post's own address.
    assert_eq!(
        attrs(&second, "nav.comment-pages a.newer", "href")[0],
        format!("{path}#comments")
    );
    for bad in ["4", "0", "x", "-1", "99999999999"] {
        let (status, _) = app.page(&format!("{path}?comments={bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "?comments={bad}");
    }

    // Permalinks: the answer in thread 0 lands on page 1, at the answer; thread 6's on the post itself.
    let permalinks = attrs(&first, "a.comment-permalink", "href");
    let anchors = attrs(&first, "li.comment", "id");
    assert_eq!(
        permalinks[1],
        format!("/comments/{}", anchors[1].trim_start_matches("comment-"))
    );
    let r = app
        .client
        .get(app.url(&permalinks[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()["location"],
        format!("{path}?comments=1#{}", anchors[1]).as_str()
    );
    let last = attrs(&html, "a.comment-permalink", "href");
    let last_anchor = attrs(&html, "li.comment", "id")[1].clone();
    let r = app.client.get(app.url(&last[1])).send().await.unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("{path}#{last_anchor}").as_str()
    );
    let (status, _) = app.page("/comments/no-such-comment").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A deleted comment neither counts nor takes a place: Alice deletes thread 5, and thread 6 moves to page 2 of 2.
    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/del-t5", alice.base),
        "type": "Delete",
        "actor": alice.actor_id(),
        "object": {"id": alice.note_id("t5"), "type": "Tombstone"},
    });
    assert_eq!(send(&app, &alice, &delete).await, StatusCode::ACCEPTED);
    let html = shown(&app, &path).await;
    assert_eq!(texts(&html, "#comments-title"), ["Comments (8)"]);
    assert_eq!(
        texts(&html, ".comment-content"),
        ["Thread 3", "Thread 4", "Thread 6", "Answer to thread 6"]
    );
    assert_eq!(
        texts(&html, "nav.comment-pages [aria-current=page]")[0],
        "2"
    );
    let r = app.client.get(app.url(&last[1])).send().await.unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("{path}#{last_anchor}").as_str()
    );
}

/// Changes `post`'s title in the database behind the page cache's back (no change is recorded): a page that still
/// shows the old title was served from the cache.
async fn retitle_behind_the_cache(app: &TestApp, slug: &str, title: &str) {
    sqlx::query("UPDATE posts SET title = $1 WHERE slug = $2")
        .bind(title)
        .bind(slug)
        .execute(&app.db.pool)
        .await
        .unwrap();
}

/// A reply makes stale its own post's page (at once) and the lists' counts (within `cache.list_delay_ms`), and no
/// other post's page; a like that changes nothing makes nothing stale; on PostgreSQL, other processes hear of it.
#[tokio::test]
async fn a_change_makes_stale_only_what_shows_it() {
    for delay in ["0", "60000"] {
        let app = TestApp::spawn_with(&format!(
            "[cache]\nlist_delay_ms = {delay}\npost_delay_ms = 0\n"
        ))
        .await;
        let (path, article) = post_with_article(&app).await;
        app.publish("Another post", "", "Quiet here.").await;
        let other = "/posts/another-post";
        let alice = Remote::spawn("alice").await;
        // Alice's first reply, and her avatar copied (which makes every post page stale once, in the background).
        let first = note(&alice, "0", &article, "<p>Hello.</p>");
        let create = activity(&alice, "Create", "c0", first);
        assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
        let mut copied = 0;
        for _ in 0..200 {
            copied = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM remote_avatars WHERE media_name IS NOT NULL",
            )
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
            if copied == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(copied, 1, "the avatar was copied");
        // Everything rendered and cached, then changed behind the cache.
        for p in [path.as_str(), other, "/"] {
            assert_eq!(app.page(p).await.0, StatusCode::OK);
        }
        retitle_behind_the_cache(&app, "another-post", "Retitled behind the cache").await;
        retitle_behind_the_cache(&app, "comments-welcome", "Welcome, retitled").await;

        let reply = note(&alice, "1", &article, "<p>First!</p>");
        let create = activity(&alice, "Create", "c1", reply);
        assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
        // Its post's page is rendered again at once: the reply, and the title changed behind the cache.
        let html = shown(&app, &path).await;
        assert_eq!(texts(&html, "#comments-title"), ["Comments (2)"], "{delay}");
        assert_eq!(texts(&html, "h1.entry-title"), ["Welcome, retitled"]);
        // Another post's page is still the cached one.
        assert_eq!(
            texts(&shown(&app, other).await, "h1.entry-title"),
            ["Another post"],
            "a reply to another post leaves this page cached"
        );
        // The home page's count: at once without a delay; within the delay, the cached list.
        let home = shown(&app, "/").await;
        let counts = texts(&home, ".entry-comments");
        if delay == "0" {
            assert!(counts.contains(&"Comments (2) »".to_string()), "{counts:?}");
        } else {
            assert!(counts.contains(&"Comments (1) »".to_string()), "{counts:?}");
        }

        // A like changes the post's page; the same like again stores nothing and makes nothing stale.
        let like = activity(&alice, "Like", "l1", json!(article));
        assert_eq!(send(&app, &alice, &like).await, StatusCode::ACCEPTED);
        assert_eq!(texts(&shown(&app, &path).await, ".likes"), ["1 like"]);
        retitle_behind_the_cache(&app, "comments-welcome", "Comments welcome").await;
        let again = activity(&alice, "Like", "l1-again", json!(article));
        assert_eq!(send(&app, &alice, &again).await, StatusCode::ACCEPTED);
        assert_eq!(
            texts(&shown(&app, &path).await, "h1.entry-title"),
            ["Welcome, retitled"],
            "a repeated like leaves the page cached"
        );

        // Another process sharing PostgreSQL hears of the reply to its post (and only needs that).
        if app.db.backend == steppe::db::Backend::Postgres {
            // It applies no received activities: its public URL (another port) is not the blog's, as it would be
            // in a real deployment, so the reply would answer nothing of its own.
            let b = TestApp::spawn_on_with(&app.db_url, "[inbox]\nworkers = 0\n").await;
            assert_eq!(
                texts(&b.page(&path).await.1, "#comments-title"),
                ["Comments (2)"]
            );
            let reply = note(&alice, "2", &article, "<p>Second!</p>");
            let create = activity(&alice, "Create", "c2", reply);
            assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
            let mut seen = Vec::new();
            for _ in 0..100 {
                seen = texts(&b.page(&path).await.1, "#comments-title");
                if seen == ["Comments (3)"] {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(seen, ["Comments (3)"]);
            b.finish().await;
        }
        app.finish().await;
    }
}

/// During a storm of replies a post page rendered less than `cache.post_delay_ms` ago is served as it is (the new
/// reply shows once the delay has passed; that a page older than the delay is rendered at once is a unit test of the
/// page cache); a change to the post itself is never delayed.
#[tokio::test]
async fn a_storm_of_replies_renders_a_post_page_at_most_once_per_delay() {
    let app = TestApp::spawn_with("[cache]\npost_delay_ms = 60000\n").await;
    // Rendered (and cached) just now.
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let create = activity(
        &alice,
        "Create",
        "c1",
        note(&alice, "1", &article, "<p>One</p>"),
    );
    assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
    assert_eq!(
        texts(&shown(&app, &path).await, "#comments-title"),
        ["No comments yet"],
        "within the delay, the page rendered a moment ago"
    );
    app.publish("Another post", "", "Quiet.").await;
    assert_eq!(
        texts(&shown(&app, &path).await, "#comments-title"),
        ["Comments (1)"]
    );
}
