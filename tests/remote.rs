//! A remote fediverse account for tests: its own key pair, WebFinger-free actor document, and an inbox that checks
//! every signature independently (its own signing string, verified with aws-lc-rs directly) and records what it
//! receives. It signs what it sends with Steppe's signer (the receiving side is what is under test).

use std::{
    collections::BTreeMap,
    net::TcpListener,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use aws_lc_rs::{digest, signature};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::IntoResponse,
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use steppe::federation::signatures::{PrivateKey, cavage};
use tokio::{sync::oneshot, task::JoinHandle};

/// One activity the remote inbox received, and whether its signature checked out.
#[derive(Debug, Clone)]
pub struct Received {
    pub activity: Value,
    pub verified: Result<String, String>,
    pub user_agent: String,
    pub content_type: String,
    /// "rfc9421-ed25519", "rfc9421" (RSA) or "draft-cavage": how the request was signed.
    pub scheme: &'static str,
}

struct Shared {
    base: String,
    username: String,
    key: Mutex<Arc<PrivateKey>>,
    received: Mutex<Vec<Received>>,
    actor_fetches: std::sync::atomic::AtomicUsize,
    /// GETs of the avatar image (`/avatar.png`, a 64 × 48 PNG).
    avatar_fetches: std::sync::atomic::AtomicUsize,
    /// How long the inbox takes to answer (a slow server keeps deliveries in flight).
    delay: Mutex<Duration>,
    http: reqwest::Client,
    verifier: Verifier,
    /// Ways of signing refused with 401 (by the names of [`Received::scheme`]), as a server that does not know them.
    refused: Mutex<Vec<&'static str>>,
    /// The account's Ed25519 key, published as a FEP-521a Multikey (`#ed25519-key`).
    ed25519: steppe::federation::signatures::Ed25519Key,
    /// Objects this server publishes at `/notes/{id}` (fetched by Steppe to check a forwarded reply).
    notes: Mutex<std::collections::HashMap<String, Value>>,
    /// Answer 503 to fetches of notes (a server that is down for a while).
    notes_down: std::sync::atomic::AtomicBool,
    /// The actor's `alsoKnownAs` (its other accounts) and `movedTo`.
    also_known_as: Mutex<Vec<String>>,
    moved_to: Mutex<Option<String>>,
}

pub struct Remote {
    pub base: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Remote {
    pub async fn spawn(username: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Arc::new(Shared {
            base: base.clone(),
            username: username.to_string(),
            key: Mutex::new(Arc::new(PrivateKey::generate().unwrap())),
            received: Mutex::new(Vec::new()),
            actor_fetches: std::sync::atomic::AtomicUsize::new(0),
            avatar_fetches: std::sync::atomic::AtomicUsize::new(0),
            delay: Mutex::new(Duration::ZERO),
            http: reqwest::Client::new(),
            verifier: Verifier::default(),
            notes: Mutex::default(),
            notes_down: std::sync::atomic::AtomicBool::new(false),
            also_known_as: Mutex::default(),
            moved_to: Mutex::default(),
            refused: Mutex::default(),
            ed25519: steppe::federation::signatures::Ed25519Key::generate().unwrap(),
        });
        let app = Router::new()
            .route(&format!("/users/{username}"), get(actor))
            .route(&format!("/users/{username}/inbox"), post(inbox))
            .route("/inbox", post(inbox))
            .route("/notes/{id}", get(note))
            .route("/avatar.png", get(avatar))
            .route("/avatar2.png", get(avatar))
            .route("/.well-known/webfinger", get(webfinger))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let handle = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Self {
            base,
            shared,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// Sets the actor's `alsoKnownAs` (the accounts it says it is as well).
    pub fn set_also_known_as(&self, ids: &[String]) {
        *self.shared.also_known_as.lock().unwrap() = ids.to_vec();
    }

    /// Sets the actor's `movedTo`.
    pub fn set_moved_to(&self, id: Option<String>) {
        *self.shared.moved_to.lock().unwrap() = id;
    }

    /// `@username@host:port`, as WebFinger finds it.
    pub fn handle(&self) -> String {
        format!(
            "@{}@{}",
            self.shared.username,
            self.base.trim_start_matches("http://")
        )
    }

    /// Makes the inbox refuse (401) the ways of signing named (`"rfc9421-ed25519"`, `"rfc9421"`, `"draft-cavage"`),
    /// as a server that does not know them would.
    pub fn refuse(&self, schemes: &[&'static str]) {
        *self.shared.refused.lock().unwrap() = schemes.to_vec();
    }

    /// POSTs `activity` to `inbox` signed with RFC 9421 (`tweak` may change the headers after signing).
    pub async fn post_rfc9421(
        &self,
        inbox: &str,
        activity: &Value,
        tweak: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> reqwest::Response {
        let key = self.shared.key.lock().unwrap().clone();
        self.post_rfc9421_as(inbox, activity, (&*key).into(), &self.key_id(), tweak)
            .await
    }

    /// POSTs `activity` to `inbox` signed with RFC 9421 and the account's Ed25519 key (FEP-521a); `tweak` may
    /// change the headers after signing.
    pub async fn post_ed25519(
        &self,
        inbox: &str,
        activity: &Value,
        tweak: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> reqwest::Response {
        let key_id = format!("{}#ed25519-key", self.actor_id());
        self.post_rfc9421_as(
            inbox,
            activity,
            (&self.shared.ed25519).into(),
            &key_id,
            tweak,
        )
        .await
    }

    async fn post_rfc9421_as(
        &self,
        inbox: &str,
        activity: &Value,
        signer: steppe::federation::signatures::rfc9421::Signer<'_>,
        key_id: &str,
        tweak: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> reqwest::Response {
        let body = activity.to_string();
        let signed = steppe::federation::signatures::rfc9421::sign(
            signer,
            key_id,
            "POST",
            inbox,
            Some((body.as_bytes(), "application/activity+json")),
            SystemTime::now(),
        )
        .unwrap();
        let mut headers = BTreeMap::new();
        headers.insert("signature-input".to_string(), signed.signature_input);
        headers.insert("signature".to_string(), signed.signature);
        headers.insert("content-digest".to_string(), signed.content_digest.unwrap());
        headers.insert(
            "content-type".to_string(),
            "application/activity+json".to_string(),
        );
        tweak(&mut headers);
        let mut request = self.shared.http.post(inbox).body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.send().await.unwrap();
        if response.status() == StatusCode::ACCEPTED {
            crate::harness::wait_applied(inbox).await;
        }
        response
    }

    /// The URL of note `n` of this account.
    pub fn note_id(&self, n: &str) -> String {
        format!("{}/notes/{n}", self.base)
    }

    /// Publishes `object` at its id (one of [`Remote::note_id`]), for servers that fetch it.
    pub fn host_note(&self, object: &Value) {
        let id = object["id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        self.shared.notes.lock().unwrap().insert(id, object.clone());
    }

    /// Makes fetches of this server's notes answer 503 (`true`) or be served again (`false`).
    pub fn set_notes_down(&self, down: bool) {
        self.shared
            .notes_down
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn actor_id(&self) -> String {
        format!("{}/users/{}", self.base, self.shared.username)
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor_id())
    }

    /// Replaces the key pair (as a server does when it rotates keys).
    pub fn rotate_key(&self) {
        *self.shared.key.lock().unwrap() = Arc::new(PrivateKey::generate().unwrap());
    }

    /// Makes the inbox answer only after `delay`.
    pub fn set_delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// How many times the actor document was fetched.
    pub fn actor_fetches(&self) -> usize {
        self.shared
            .actor_fetches
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn avatar_fetches(&self) -> usize {
        self.shared
            .avatar_fetches
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits (at most ten seconds) until an activity of `kind` has arrived, and returns it.
    pub async fn wait_for(&self, kind: &str) -> Received {
        for _ in 0..200 {
            if let Some(r) = self
                .received()
                .into_iter()
                .find(|r| r.activity["type"] == kind)
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {kind} arrived; received: {:?}", self.received());
    }

    /// POSTs `body` to `inbox`, signed by this account, with `tweak` applied to the headers before sending.
    pub async fn post_signed_with(
        &self,
        inbox: &str,
        body: &[u8],
        date: SystemTime,
        tweak: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> reqwest::Response {
        let url = url::Url::parse(inbox).unwrap();
        let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let key = self.shared.key.lock().unwrap().clone();
        let signed = cavage::sign(
            &key,
            &self.key_id(),
            "POST",
            &host,
            url.path(),
            Some(body),
            date,
        )
        .unwrap();
        let mut headers = BTreeMap::new();
        headers.insert("date".to_string(), signed.date);
        headers.insert("digest".to_string(), signed.digest.unwrap());
        headers.insert("signature".to_string(), signed.signature);
        headers.insert(
            "content-type".to_string(),
            "application/activity+json".to_string(),
        );
        tweak(&mut headers);
        let mut request = self.shared.http.post(inbox).body(body.to_vec());
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.send().await.unwrap();
        if response.status() == StatusCode::ACCEPTED {
            crate::harness::wait_applied(inbox).await;
        }
        response
    }

    /// A GET signed by this account (as Mastodon signs every GET), asking for ActivityStreams JSON.
    /// A GET signed with RFC 9421 (`@method`, `@target-uri`), as Fedify signs them.
    pub async fn get_rfc9421(&self, url: &str) -> reqwest::Response {
        self.get_rfc9421_signed_for(url, url).await
    }

    /// A GET of `url` carrying an RFC 9421 signature made for `signed_for`.
    pub async fn get_rfc9421_signed_for(&self, signed_for: &str, url: &str) -> reqwest::Response {
        let key = self.shared.key.lock().unwrap().clone();
        let signed = steppe::federation::signatures::rfc9421::sign(
            &*key,
            &self.key_id(),
            "GET",
            signed_for,
            None,
            SystemTime::now(),
        )
        .unwrap();
        self.shared
            .http
            .get(url)
            .header("accept", "application/activity+json")
            .header("signature-input", signed.signature_input)
            .header("signature", signed.signature)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_signed(&self, url: &str) -> reqwest::Response {
        let parsed = url::Url::parse(url).unwrap();
        let host = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let key = self.shared.key.lock().unwrap().clone();
        let signed = cavage::sign(
            &key,
            &self.key_id(),
            "GET",
            &host,
            &path,
            None,
            SystemTime::now(),
        )
        .unwrap();
        self.shared
            .http
            .get(url)
            .header("accept", "application/activity+json")
            .header("date", signed.date)
            .header("signature", signed.signature)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_signed(&self, inbox: &str, activity: &Value) -> reqwest::Response {
        self.post_signed_with(
            inbox,
            activity.to_string().as_bytes(),
            SystemTime::now(),
            |_| {},
        )
        .await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

fn pem(key: &PrivateKey) -> String {
    key.public_key_pem().unwrap()
}

async fn avatar(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared
        .avatar_fetches
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    (
        [("content-type", "image/png")],
        crate::harness::png_with_alpha(64, 48),
    )
}

async fn actor(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared
        .actor_fetches
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let id = format!("{}/users/{}", shared.base, shared.username);
    let key = shared.key.lock().unwrap().clone();
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": shared.username,
        "name": format!("Reader {}", shared.username),
        "inbox": format!("{id}/inbox"),
        "endpoints": {"sharedInbox": format!("{}/inbox", shared.base)},
        "icon": {"type": "Image", "url": format!("{}/avatar.png", shared.base)},
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem(&key)},
        "assertionMethod": [{
            "id": format!("{id}#ed25519-key"), "type": "Multikey", "controller": id,
            "publicKeyMultibase": shared.ed25519.public_key_multibase()
        }]
    });
    let mut doc = doc;
    let aliases = shared.also_known_as.lock().unwrap().clone();
    if !aliases.is_empty() {
        doc["alsoKnownAs"] = json!(aliases);
    }
    if let Some(moved) = shared.moved_to.lock().unwrap().clone() {
        doc["movedTo"] = json!(moved);
    }
    (
        [("content-type", "application/activity+json")],
        doc.to_string(),
    )
}

/// Checks draft-cavage signatures without Steppe's verifier: parses the header, rebuilds the signing string from
/// the listed headers, checks the digest, fetches the signer's actor (once per key id) and verifies the RSA
/// signature with aws-lc-rs directly.
#[derive(Default)]
pub struct Verifier {
    http: reqwest::Client,
    /// key id → (actor id, public key DER)
    keys: tokio::sync::Mutex<std::collections::HashMap<String, (String, Vec<u8>)>>,
}

impl Verifier {
    /// The signer's actor id when the signature checks out.
    pub async fn verify(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, String> {
        let header = headers
            .get("signature")
            .ok_or("no Signature header")?
            .to_str()
            .map_err(|e| e.to_string())?;
        let mut fields = BTreeMap::new();
        for part in header.split(',') {
            let (k, v) = part.split_once('=').ok_or("bad field")?;
            fields.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
        }
        let key_id = fields.get("keyId").ok_or("no keyId")?.clone();
        let listed = fields.get("headers").ok_or("no headers list")?;
        for required in ["(request-target)", "host", "date", "digest"] {
            if !listed.split(' ').any(|h| h == required) {
                return Err(format!("{required} not signed"));
            }
        }
        let mut lines = Vec::new();
        for name in listed.split(' ') {
            let value = if name == "(request-target)" {
                format!(
                    "post {}",
                    uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
                )
            } else {
                headers
                    .get(name)
                    .ok_or(format!("{name} missing"))?
                    .to_str()
                    .map_err(|e| e.to_string())?
                    .to_string()
            };
            lines.push(format!("{name}: {value}"));
        }
        let signing_string = lines.join("\n");
        let expected_digest = format!(
            "SHA-256={}",
            STANDARD.encode(digest::digest(&digest::SHA256, body))
        );
        if headers.get("digest").and_then(|d| d.to_str().ok()) != Some(expected_digest.as_str()) {
            return Err("digest mismatch".into());
        }
        let date = headers
            .get("date")
            .and_then(|d| d.to_str().ok())
            .ok_or("no date")?;
        let date = httpdate::parse_http_date(date).map_err(|e| e.to_string())?;
        let skew = SystemTime::now().duration_since(date).unwrap_or_default();
        if skew > Duration::from_secs(300) {
            return Err("stale date".into());
        }
        let (actor_id, der) = self.key(&key_id).await?;
        let sig = STANDARD
            .decode(fields.get("signature").ok_or("no signature")?)
            .map_err(|e| e.to_string())?;
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der)
            .verify(signing_string.as_bytes(), &sig)
            .map_err(|_| "signature does not verify".to_string())?;
        Ok(actor_id)
    }

    /// Checks an RFC 9421 signature of a request sent to `origin`: the signature base is Steppe's (there is no
    /// second implementation here; the Fedify interop suite is the independent check), the key is fetched here.
    pub async fn verify_rfc9421(
        &self,
        origin: &str,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, String> {
        use steppe::federation::signatures::{IncomingRequest, PublicKey, prepare};
        let request = IncomingRequest {
            method: "POST",
            path_and_query: uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
            headers,
            body: Some(body),
        };
        let prepared = prepare(
            &request,
            origin,
            Duration::from_secs(300),
            SystemTime::now(),
        )
        .map_err(|e| e.to_string())?;
        let (actor_id, der) = self.key(prepared.key_id()).await?;
        let b64 = STANDARD.encode(&der);
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            b64.as_bytes()
                .chunks(64)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let key = PublicKey::from_pem(&pem).map_err(|e| e.to_string())?;
        prepared.verify(&key).map_err(|e| e.to_string())?;
        Ok(actor_id)
    }

    async fn key(&self, key_id: &str) -> Result<(String, Vec<u8>), String> {
        let mut keys = self.keys.lock().await;
        if let Some(found) = keys.get(key_id) {
            return Ok(found.clone());
        }
        let actor_url = key_id.split('#').next().unwrap_or_default();
        let actor: Value = self
            .http
            .get(actor_url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let pem = if actor["publicKey"]["id"] == key_id {
            actor["publicKey"]["publicKeyPem"]
                .as_str()
                .ok_or("no pem")?
                .to_string()
        } else {
            // An Ed25519 key (FEP-521a): a Multikey in assertionMethod.
            let multikey = actor["assertionMethod"]
                .as_array()
                .and_then(|keys| keys.iter().find(|k| k["id"] == key_id))
                .ok_or("the actor does not publish this key")?;
            if multikey["controller"] != actor["id"] || multikey["type"] != "Multikey" {
                return Err("the Multikey is not the actor's".into());
            }
            steppe::federation::signatures::PublicKey::from_multibase(
                multikey["publicKeyMultibase"].as_str().unwrap_or_default(),
            )
            .map_err(|e| e.to_string())?
            .to_pem()
        };
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(b64).map_err(|e| e.to_string())?;
        let found = (actor["id"].as_str().unwrap_or_default().to_string(), der);
        keys.insert(key_id.to_string(), found.clone());
        Ok(found)
    }
}

/// A WebFinger answer with the remote-interaction template Mastodon publishes.
async fn webfinger(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let jrd = json!({
        "subject": format!("acct:{}@{}", shared.username, shared.base.trim_start_matches("http://")),
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": format!("{}/users/{}", shared.base, shared.username)},
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("{}/authorize_interaction?uri={{uri}}", shared.base)}
        ]
    });
    ([("content-type", "application/jrd+json")], jrd.to_string())
}

async fn note(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> axum::response::Response {
    if shared.notes_down.load(std::sync::atomic::Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match shared.notes.lock().unwrap().get(&id) {
        Some(object) => (
            [("content-type", "application/activity+json")],
            object.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn inbox(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let rfc9421 = headers.contains_key("signature-input");
    let scheme = match headers.get("signature-input").and_then(|v| v.to_str().ok()) {
        Some(input) if input.contains("alg=\"ed25519\"") => "rfc9421-ed25519",
        Some(_) => "rfc9421",
        None => "draft-cavage",
    };
    let verified = if shared.refused.lock().unwrap().contains(&scheme) {
        Err(format!("this server does not accept {scheme} signatures"))
    } else if rfc9421 {
        shared
            .verifier
            .verify_rfc9421(&shared.base, &uri, &headers, &body)
            .await
    } else {
        shared.verifier.verify(&uri, &headers, &body).await
    };
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ok = verified.is_ok();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    shared.received.lock().unwrap().push(Received {
        activity,
        verified,
        user_agent: header("user-agent"),
        content_type: header("content-type"),
        scheme,
    });
    let delay = *shared.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    if ok {
        StatusCode::ACCEPTED
    } else {
        StatusCode::UNAUTHORIZED
    }
}
