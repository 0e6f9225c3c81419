//! Attacks, each written as the attacker would make it, against a real instance over loopback: forged keys and
//! flooding key fetches, laundered actors, foreign inboxes and hosts, replays, squatted ids, hostile WebFinger
//! answers, content types, control characters, repeated Follows, CSRF with planted cookies, and the owner's
//! login under a guessing attack. Slow clients, idle connections and memory have their own file (`exhaustion.rs`).

use std::{
    collections::HashMap,
    net::TcpListener,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use futures_util::StreamExt;

use axum::{
    Router,
    extract::State,
    http::{StatusCode as AxStatus, Uri, header},
    response::{IntoResponse, Response},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use steppe::federation::signatures::{PrivateKey, cavage};

use crate::{
    comments::post_with_article,
    harness::{OWNER, PASSWORD, TestApp, csrf_token, form_token, post_form},
    remote::Remote,
};

/// What the hostile server answers at one path.
#[derive(Clone)]
enum Answer {
    /// A document with this Content-Type.
    Doc(&'static str, Value),
    Status(u16),
}

#[derive(Default)]
struct Routes {
    answers: Mutex<HashMap<String, Answer>>,
    hits: Mutex<HashMap<String, usize>>,
}

/// A server on loopback that answers whatever a test tells it to, counts every request per path, and at
/// `/redirect?to=URL` redirects anywhere (an open redirector).
struct Hostile {
    base: String,
    routes: Arc<Routes>,
    _task: tokio::task::JoinHandle<()>,
}

async fn answer(State(routes): State<Arc<Routes>>, uri: Uri) -> Response {
    let path = uri.path().to_string();
    *routes.hits.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
    if path == "/redirect" {
        let to = uri
            .query()
            .and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "to")
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default();
        return (AxStatus::FOUND, [(header::LOCATION, to)]).into_response();
    }
    let answer = routes.answers.lock().unwrap().get(&path).cloned();
    match answer {
        Some(Answer::Doc(content_type, doc)) => {
            ([(header::CONTENT_TYPE, content_type)], doc.to_string()).into_response()
        }
        Some(Answer::Status(code)) => AxStatus::from_u16(code).unwrap().into_response(),
        None => AxStatus::NOT_FOUND.into_response(),
    }
}

impl Hostile {
    async fn spawn() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let routes = Arc::new(Routes::default());
        let app = Router::new().fallback(answer).with_state(routes.clone());
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            routes,
            _task: task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn set(&self, path: &str, answer: Answer) {
        self.routes
            .answers
            .lock()
            .unwrap()
            .insert(path.to_string(), answer);
    }

    /// A made-up account at `path` (key `path#main-key`) whose actor document this server serves.
    fn account(&self, path: &str) -> Account {
        let account = Account::new(self.url(path), format!("{}#main-key", self.url(path)));
        self.set(
            path,
            Answer::Doc("application/activity+json", account.actor(&self.base, None)),
        );
        account
    }

    fn hits(&self, path: &str) -> usize {
        self.routes
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// An account the test makes up: an actor id, a key id and a key pair.
struct Account {
    id: String,
    key_id: String,
    key: PrivateKey,
}

impl Account {
    fn new(id: String, key_id: String) -> Self {
        Self {
            id,
            key_id,
            key: PrivateKey::generate().unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.key.public_key_pem().unwrap()
    }

    /// Its actor document, with its key listed and its inboxes on `inbox_base`.
    fn actor(&self, inbox_base: &str, shared_inbox: Option<String>) -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": "someone",
            "inbox": format!("{inbox_base}/inbox-of-someone"),
            "endpoints": {"sharedInbox": shared_inbox.unwrap_or_else(|| format!("{inbox_base}/inbox"))},
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.pem()}
        })
    }

    fn follow(&self, app: &TestApp, n: u32) -> Value {
        json!({
            "id": format!("{}#follows/{n}", self.id),
            "type": "Follow",
            "actor": self.id,
            "object": app.url("/users/blog"),
        })
    }

    /// A signed POST of `activity` to `inbox`, the signature made for `signed_host` (the inbox's own host unless
    /// given) and the request sent with that Host.
    fn signed(
        &self,
        inbox: &str,
        activity: &Value,
        signed_host: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let url = url::Url::parse(inbox).unwrap();
        let own = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let host = signed_host.unwrap_or(&own);
        let body = activity.to_string();
        let signed = cavage::sign(
            &self.key,
            &self.key_id,
            "POST",
            host,
            url.path(),
            Some(body.as_bytes()),
            SystemTime::now(),
        )
        .unwrap();
        reqwest::Client::new()
            .post(inbox)
            .header("host", host)
            .header("content-type", "application/activity+json")
            .header("date", signed.date)
            .header("digest", signed.digest.unwrap())
            .header("signature", signed.signature)
            .body(body)
    }

    async fn post(&self, inbox: &str, activity: &Value) -> reqwest::Response {
        let response = self.signed(inbox, activity, None).send().await.unwrap();
        if response.status() == StatusCode::ACCEPTED {
            crate::harness::wait_applied(inbox).await;
        }
        response
    }
}

async fn followers(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM followers")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// `created=18446744073709551615` (and its friends) once panicked inside http-signature-normalization.
#[tokio::test]
async fn huge_signature_times_are_refused_without_a_panic() {
    let app = TestApp::spawn().await;
    let hostile = Hostile::spawn().await;
    let account = hostile.account("/users/a");
    for extra in [
        "created=18446744073709551615",
        "created=9223372036854775807",
        "expires=18446744073709551615",
    ] {
        let mut request = account
            .signed(&app.url("/inbox"), &account.follow(&app, 1), None)
            .build()
            .unwrap();
        let signature = request.headers()["signature"].to_str().unwrap().to_string();
        request
            .headers_mut()
            .insert("signature", format!("{signature},{extra}").parse().unwrap());
        let r = reqwest::Client::new().execute(request).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{extra}");
    }
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    app.finish().await;
}

/// 200 forged POSTs naming one unknown key make a handful of fetches at most, whether the key's host answers 404
/// or 401 (which makes Steppe try the other ways of signing too); many distinct unknown keys on one host are
/// held to that host's budget.
#[tokio::test]
async fn forged_keys_do_not_turn_steppe_into_a_reflector() {
    let app = TestApp::spawn_with("[federation]\nkey_fetches_per_host_per_minute = 30\n").await;
    let hostile = Hostile::spawn().await;
    hostile.set("/gone", Answer::Status(404));
    hostile.set("/locked", Answer::Status(401));
    for path in ["/gone", "/locked"] {
        let account = Account::new(hostile.url(path), format!("{}#main-key", hostile.url(path)));
        // 200 at most 32 at a time (one client address may hold 64 connections).
        let client = reqwest::Client::new();
        let statuses: Vec<StatusCode> = futures_util::stream::iter(0..200)
            .map(|n| {
                let request = account
                    .signed(&app.url("/inbox"), &account.follow(&app, n), None)
                    .build()
                    .unwrap();
                let client = client.clone();
                async move { client.execute(request).await.unwrap().status() }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
            "{path}: {statuses:?}"
        );
        // One fetch, and for the 401 host one more for each way down the signing chain (RSA RFC 9421,
        // draft-cavage).
        assert!(
            hostile.hits(path) <= 3,
            "{path}: {} fetches",
            hostile.hits(path)
        );
    }
    // Distinct made-up keys on one host: after its budget, the inbox answers 429 without fetching.
    let mut statuses = Vec::new();
    for n in 0..60 {
        let path = format!("/made-up/{n}");
        let account = Account::new(
            hostile.url(&path),
            format!("{}#main-key", hostile.url(&path)),
        );
        statuses.push(
            account
                .post(&app.url("/inbox"), &account.follow(&app, 1))
                .await
                .status(),
        );
    }
    let fetched: usize = (0..60)
        .map(|n| hostile.hits(&format!("/made-up/{n}")))
        .sum();
    assert!(fetched <= 30 * 2, "{fetched} fetches");
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(followers(&app).await, 0);
    app.finish().await;
}

/// Keys published apart from the actor: GoToSocial's `/users/name/main-key` stub (a Person with only the key),
/// a standalone `CryptographicKey`; both are confirmed against the owner's actor. A stub whose key the actor does
/// not list is refused.
#[tokio::test]
async fn keys_apart_from_the_actor_are_found_through_their_owner() {
    let app = TestApp::spawn().await;
    let hostile = Hostile::spawn().await;
    // GoToSocial.
    let gts = Account::new(
        hostile.url("/users/gts"),
        hostile.url("/users/gts/main-key"),
    );
    hostile.set(
        "/users/gts",
        Answer::Doc("application/activity+json", gts.actor(&hostile.base, None)),
    );
    hostile.set(
        "/users/gts/main-key",
        Answer::Doc(
            "application/activity+json",
            json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": gts.id, "type": "Person", "preferredUsername": "gts",
                "publicKey": {"id": gts.key_id, "owner": gts.id, "publicKeyPem": gts.pem()}
            }),
        ),
    );
    let r = gts.post(&app.url("/inbox"), &gts.follow(&app, 1)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.text().await);
    // A standalone key.
    let lone = Account::new(hostile.url("/users/lone"), hostile.url("/keys/lone"));
    hostile.set(
        "/users/lone",
        Answer::Doc(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            lone.actor(&hostile.base, None),
        ),
    );
    hostile.set(
        "/keys/lone",
        Answer::Doc(
            "application/activity+json",
            json!({"id": lone.key_id, "type": "CryptographicKey", "owner": lone.id, "publicKeyPem": lone.pem()}),
        ),
    );
    let r = lone.post(&app.url("/inbox"), &lone.follow(&app, 1)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.text().await);
    assert_eq!(followers(&app).await, 2);
    // A stub that names an owner whose actor lists another key.
    let liar = Account::new(
        hostile.url("/users/liar"),
        hostile.url("/users/liar/main-key"),
    );
    let other = Account::new(liar.id.clone(), liar.key_id.clone());
    hostile.set(
        "/users/liar",
        Answer::Doc(
            "application/activity+json",
            other.actor(&hostile.base, None),
        ),
    );
    hostile.set(
        "/users/liar/main-key",
        Answer::Doc(
            "application/activity+json",
            json!({"id": liar.id, "type": "Person", "publicKey": {"id": liar.key_id, "owner": liar.id, "publicKeyPem": liar.pem()}}),
        ),
    );
    let r = liar.post(&app.url("/inbox"), &liar.follow(&app, 1)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The refusal names no internals (no fetch error, no port).
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("refused") && !text.contains("error sending"),
        "{text}"
    );
    assert_eq!(followers(&app).await, 2);
    app.finish().await;
}

/// Through an open redirector on host V, an attacker's server once became an account of V. A document now counts
/// only if it was served from its id's host; and an actor served as text/html is not an actor.
#[tokio::test]
async fn redirect_laundered_and_mistyped_actors_are_refused() {
    let app = TestApp::spawn().await;
    let victim = Hostile::spawn().await;
    let attacker = Hostile::spawn().await;
    let laundered_id = format!(
        "{}/redirect?to={}",
        victim.base,
        url::form_urlencoded::byte_serialize(attacker.url("/fake").as_bytes()).collect::<String>()
    );
    let fake = Account::new(laundered_id.clone(), format!("{laundered_id}#main-key"));
    let mut doc = fake.actor(&victim.base, None);
    doc["inbox"] = json!(victim.url("/inbox"));
    attacker.set("/fake", Answer::Doc("application/activity+json", doc));
    let r = fake.post(&app.url("/inbox"), &fake.follow(&app, 1)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        attacker.hits("/fake"),
        1,
        "the redirect was followed, and its answer refused"
    );
    // Served as HTML.
    let html = Account::new(attacker.url("/html"), attacker.url("/html#main-key"));
    attacker.set(
        "/html",
        Answer::Doc("text/html", html.actor(&attacker.base, None)),
    );
    let r = html.post(&app.url("/inbox"), &html.follow(&app, 1)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(followers(&app).await, 0);
    app.finish().await;
}

/// A follower whose shared inbox is on a third party's host would make every publish POST there.
#[tokio::test]
async fn followers_with_foreign_inboxes_are_refused() {
    let app = TestApp::spawn().await;
    let hostile = Hostile::spawn().await;
    let third_party = Hostile::spawn().await;
    let fake = Account::new(
        hostile.url("/users/fake"),
        hostile.url("/users/fake#main-key"),
    );
    hostile.set(
        "/users/fake",
        Answer::Doc(
            "application/activity+json",
            fake.actor(&hostile.base, Some(third_party.url("/inbox"))),
        ),
    );
    let r = fake.post(&app.url("/inbox"), &fake.follow(&app, 1)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(followers(&app).await, 0);
    app.finish().await;
}

/// A request signed for `mastodon.example` is not a request to this blog, however valid its signature.
#[tokio::test]
async fn requests_signed_for_another_host_are_refused() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("reader").await;
    let hostile = Hostile::spawn().await;
    let account = hostile.account("/users/a");
    let r = account
        .signed(
            &app.url("/inbox"),
            &account.follow(&app, 1),
            Some("mastodon.example"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        hostile.hits("/users/a"),
        0,
        "refused before any key is fetched"
    );
    // The same account signing for our host is fine.
    let r = account
        .post(&app.url("/inbox"), &account.follow(&app, 1))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    remote.stop().await;
    app.finish().await;
}

/// A captured Follow replayed after its Undo, within the signature window, has no effect; an honest retry of an
/// activity already handled (signed anew) is answered 202 and changes nothing either.
#[tokio::test]
async fn replays_have_no_effect() {
    let app = TestApp::spawn().await;
    let hostile = Hostile::spawn().await;
    let account = hostile.account("/users/a");
    let follow = account.follow(&app, 1);
    let captured = account
        .signed(&app.url("/inbox"), &follow, None)
        .build()
        .unwrap();
    let replay = captured.try_clone().unwrap();
    let client = reqwest::Client::new();
    assert_eq!(
        client.execute(captured).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    crate::harness::wait_applied(&app.url("/inbox")).await;
    assert_eq!(followers(&app).await, 1);
    let undo = json!({
        "id": format!("{}#follows/1/undo", account.id), "type": "Undo", "actor": account.id, "object": follow,
    });
    assert_eq!(
        account.post(&app.url("/inbox"), &undo).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(followers(&app).await, 0);
    assert_eq!(
        client.execute(replay).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    crate::harness::wait_applied(&app.url("/inbox")).await;
    assert_eq!(
        followers(&app).await,
        0,
        "the replayed Follow was not applied"
    );
    // Signed anew, the same Follow id is recognised as handled.
    assert_eq!(
        account.post(&app.url("/inbox"), &follow).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(followers(&app).await, 0);
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox_seen")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(
        seen >= 3,
        "signatures and activity ids are recorded in the database: {seen}"
    );
    app.finish().await;
}

/// One actor once took another's Like id, so that the real Like (and its Undo) were ignored.
#[tokio::test]
async fn like_ids_must_be_on_the_signers_host() {
    let app = TestApp::spawn().await;
    let (_, article) = post_with_article(&app).await;
    let a = Hostile::spawn().await;
    let b = Hostile::spawn().await;
    let alice = a.account("/users/alice");
    let mallory = b.account("/users/mallory");
    let like_id = format!("{}#likes/1", alice.id);
    for kind in ["Like", "Announce"] {
        let squat = json!({"id": like_id, "type": kind, "actor": mallory.id, "object": article});
        let r = mallory.post(&app.url("/inbox"), &squat).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{kind}");
    }
    let real = json!({"id": like_id, "type": "Like", "actor": alice.id, "object": article});
    assert_eq!(
        alice.post(&app.url("/inbox"), &real).await.status(),
        StatusCode::ACCEPTED
    );
    let likes: Vec<String> = sqlx::query_scalar("SELECT actor_id FROM reactions")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(likes, std::slice::from_ref(&alice.id));
    // A second Like of the same post by the same account changes nothing, so the cached pages stay valid.
    let version = app.db.content_version();
    let again = json!({"id": format!("{}#likes/2", alice.id), "type": "Like", "actor": alice.id, "object": article});
    assert_eq!(
        alice.post(&app.url("/inbox"), &again).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.db.content_version(),
        version,
        "a no-op write left the page cache alone"
    );
    app.finish().await;
}

/// Fifty Follows from one account queue a few Accepts, not fifty; following and unfollowing in a loop is answered
/// up to ten times an hour.
#[tokio::test]
async fn repeated_follows_are_answered_a_few_times() {
    let app = TestApp::spawn_with("[delivery]\nworkers = 0\n").await;
    let hostile = Hostile::spawn().await;
    let account = hostile.account("/users/a");
    for n in 0..50 {
        let r = account
            .post(&app.url("/inbox"), &account.follow(&app, n))
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(followers(&app).await, 1);
    let accepts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'accept'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!((1..=3).contains(&accepts), "{accepts} Accepts queued");
    // Unfollowing and following again, in a loop: each new Follow is answered, up to ten an hour.
    for n in 100..120 {
        let follow = account.follow(&app, n);
        let undo = json!({"id": format!("{}#undo/{n}", account.id), "type": "Undo", "actor": account.id, "object": follow});
        assert_eq!(
            account.post(&app.url("/inbox"), &follow).await.status(),
            StatusCode::ACCEPTED
        );
        assert_eq!(
            account.post(&app.url("/inbox"), &undo).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let accepts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'accept'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(accepts, 10, "new follows are answered up to ten an hour");
    app.finish().await;
}

/// The inbox takes ActivityStreams JSON only, its media type matched case-insensitively, parameters ignored.
#[tokio::test]
async fn the_inbox_requires_an_activitypub_content_type() {
    let app = TestApp::spawn().await;
    let remote = Remote::spawn("reader").await;
    let follow = json!({
        "id": format!("{}/follows/1", remote.base), "type": "Follow",
        "actor": remote.actor_id(), "object": app.url("/users/blog"),
    });
    let body = follow.to_string();
    for (content_type, expected) in [
        ("text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "Application/Activity+JSON; charset=utf-8",
            StatusCode::ACCEPTED,
        ),
    ] {
        let r = remote
            .post_signed_with(
                &app.url("/inbox"),
                body.as_bytes(),
                SystemTime::now(),
                |h| {
                    h.insert("content-type".into(), content_type.into());
                },
            )
            .await;
        assert_eq!(r.status(), expected, "{content_type}");
    }
    remote.stop().await;
    app.finish().await;
}

/// A title with control characters once made the feed invalid XML for every reader.
#[tokio::test]
async fn control_characters_never_reach_the_feed() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    app.publish(
        "Bell\u{1} and form\u{c}feed",
        "",
        "Body with \u{b} vertical tab",
    )
    .await;
    let (status, feed) = app.page("/feed.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        feed.chars()
            .all(|c| c >= ' ' || matches!(c, '\t' | '\n' | '\r')),
        "{feed:?}"
    );
    assert!(feed.contains("Bell and formfeed"), "{feed}");
    app.finish().await;
}

/// `/interact` sends the reader only to a page on the server they named, and looks addresses up at a bounded rate.
#[tokio::test]
async fn interact_stays_on_the_named_server() {
    let app = TestApp::spawn().await;
    let (_, article) = post_with_article(&app).await;
    let evil = Hostile::spawn().await;
    let elsewhere = Hostile::spawn().await;
    let webfinger = |template: String| {
        Answer::Doc(
            "application/jrd+json",
            json!({"subject": "acct:x", "links": [{"rel": "http://ostatus.org/schema/1.0/subscribe", "template": template}]}),
        )
    };
    let interact = |handle: String| {
        let mut url = url::Url::parse(&app.url("/interact")).unwrap();
        url.query_pairs_mut()
            .append_pair("uri", &article)
            .append_pair("handle", &handle);
        app.client.get(url.as_str()).send()
    };
    let host = evil.base.trim_start_matches("http://").to_string();
    evil.set(
        "/.well-known/webfinger",
        webfinger(elsewhere.url("/phish?u={uri}")),
    );
    let r = interact(format!("@a@{host}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    evil.set(
        "/.well-known/webfinger",
        webfinger(evil.url("/share?u={uri}")),
    );
    let r = interact(format!("@b@{host}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&evil.url("/share?u="))
    );
    // The same address again is answered from the cache.
    let before = evil.hits("/.well-known/webfinger");
    let r = interact(format!("@b@{host}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(evil.hits("/.well-known/webfinger"), before);
    // New addresses, one after another: the budget runs out.
    let mut statuses = Vec::new();
    for n in 0..12 {
        statuses.push(interact(format!("@u{n}@{host}")).await.unwrap().status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(evil.hits("/.well-known/webfinger") <= 10);
    app.finish().await;
}

/// Under authorized fetch, a blocked account cannot read the blog's posts even with a valid signature.
#[tokio::test]
async fn blocked_accounts_cannot_read_under_authorized_fetch() {
    let app = TestApp::spawn_with("[federation]\nauthorized_fetch = true\n").await;
    let (_, article) = post_with_article(&app).await;
    let remote = Remote::spawn("reader").await;
    assert_eq!(remote.get_signed(&article).await.status(), StatusCode::OK);
    let r = app
        .submit(
            "/admin/blocks",
            "/admin/blocks",
            &[("value", &remote.actor_id())],
        )
        .await;
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    assert_eq!(
        remote.get_signed(&article).await.status(),
        StatusCode::FORBIDDEN
    );
    remote.stop().await;
    app.finish().await;
}

/// A cookie planted by someone else (with the token that goes with it) does not make a form of the owner's
/// session: tokens are bound to the session by a MAC.
#[tokio::test]
async fn planted_csrf_cookies_do_not_forge_the_owners_forms() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    // The owner's browser, its cookies kept by hand: log in and keep the session cookie.
    let owner = TestApp::client_without_cookies();
    let r = owner.get(app.url("/admin")).send().await.unwrap();
    let pre = first_cookie(&r);
    let token = csrf_token(&r.text().await.unwrap());
    let fields = [
        ("csrf", token.as_str()),
        ("username", OWNER),
        ("password", PASSWORD),
    ];
    let r = post_form(
        &owner,
        &app.url("/admin/login"),
        &[("cookie", &pre)],
        &fields,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = first_cookie(&r);
    assert!(session.starts_with("steppe_session="), "{session}");
    // A stranger's own pre-session cookie and its token, planted beside the owner's session.
    let r = TestApp::client_without_cookies()
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap();
    let planted = first_cookie(&r);
    let their_token = csrf_token(&r.text().await.unwrap());
    let post = |cookies: String, token: String| {
        let url = app.url("/admin/posts/new");
        let owner = owner.clone();
        async move {
            let fields = [
                ("csrf", token.as_str()),
                ("title", "Forged"),
                ("body", "x"),
                ("action", "publish"),
            ];
            post_form(&owner, &url, &[("cookie", &cookies)], &fields).await
        }
    };
    let forged = post(format!("{session}; {planted}"), their_token).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let posts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(posts, 0);
    // The owner's own page gives the token that works with the session.
    let html = owner
        .get(app.url("/admin/posts/new"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = post(format!("{session}; {planted}"), csrf_token(&html)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.finish().await;
}

/// `name=value` of the first cookie a response sets.
fn first_cookie(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn log_in(client: &reqwest::Client, app: &TestApp, password: &str, from: &str) -> StatusCode {
    let from = [("x-forwarded-for", from)];
    let token = form_token(client, &app.url("/admin"), &from).await;
    let fields = [
        ("csrf", token.as_str()),
        ("username", OWNER),
        ("password", password),
    ];
    post_form(client, &app.url("/admin/login"), &from, &fields)
        .await
        .status()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Strangers guessing the owner's password (from many addresses at once, racing the throttle) get at most the
/// limit checked, and cannot lock out the owner's own browser, which carries the device cookie of an earlier login.
#[tokio::test]
async fn guessing_races_nothing_and_locks_out_no_owner() {
    let mut app = TestApp::spawn().await;
    app.config.server.trust_forwarded_for = true;
    app.restart().await;
    app.setup_owner().await;
    // The owner logs in once from their own browser: it gets a device cookie.
    let owner = browser();
    assert_eq!(
        log_in(&owner, &app, PASSWORD, "203.0.113.1").await,
        StatusCode::SEE_OTHER
    );
    // 40 concurrent guesses from 40 addresses.
    let guesses: Vec<_> = (0..40)
        .map(|n| {
            let app = &app;
            async move {
                log_in(
                    &browser(),
                    app,
                    "wrong password!",
                    &format!("198.51.100.{n}"),
                )
                .await
            }
        })
        .collect();
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(checked <= 5, "{checked} guesses were checked: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(
        *s,
        StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )));
    // The username is locked for browsers without the device cookie, even with the right password…
    assert_eq!(
        log_in(&browser(), &app, PASSWORD, "192.0.2.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // …but not for the owner's own browser.
    assert_eq!(
        log_in(&owner, &app, PASSWORD, "203.0.113.1").await,
        StatusCode::SEE_OTHER
    );
    app.finish().await;
}
