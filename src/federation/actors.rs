//! Remote actors: fetched with a signed GET, checked, stored, and their keys kept parsed in memory.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use quick_cache::sync::Cache;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{
    client::{FederationClient, FetchError},
    signatures::PublicKey,
};
use crate::db::{
    Db,
    remote_actors::{self, RemoteActor},
};

/// Why an actor or its key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the document is not a usable actor: {0}")]
    Invalid(String),
    #[error("the key is unusable: {0}")]
    Key(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyDoc {
    id: String,
    /// Absent on some standalone keys whose owner the containing document names.
    #[serde(default)]
    owner: Option<String>,
    public_key_pem: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointsDoc {
    shared_inbox: Option<String>,
}

/// An actor document as other servers publish it; only what Steppe uses, leniently typed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActorDoc {
    id: String,
    preferred_username: Option<String>,
    name: Option<String>,
    inbox: String,
    endpoints: Option<EndpointsDoc>,
    /// One key, or several (some servers publish a list); a key that is not well-formed is skipped.
    #[serde(default, deserialize_with = "keys")]
    public_key: Vec<KeyDoc>,
    /// FEP-521a keys (`Multikey`, Ed25519), read as PEM like the others; references and other key types are skipped.
    #[serde(default, deserialize_with = "multikeys")]
    assertion_method: Vec<KeyDoc>,
    icon: Option<Value>,
    /// Other ids of the same account (`alsoKnownAs`): one, a list, or objects with ids.
    #[serde(default, deserialize_with = "ids")]
    also_known_as: Vec<String>,
    /// Where the account has moved, if it has.
    #[serde(default)]
    moved_to: Option<Value>,
    /// Its profile page.
    #[serde(default)]
    url: Option<Value>,
}

/// A list of ids given as one id, a list, or objects that have an `id`; entries that are neither are dropped.
fn ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    fn id(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    }
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items.iter().filter_map(id).collect(),
        Some(one) => id(&one).into_iter().collect(),
        None => Vec::new(),
    })
}

/// An account as its server describes it now, with what moving needs: its other ids and where it moved.
#[derive(Debug, Clone)]
pub struct Profile {
    pub actor: RemoteActor,
    pub also_known_as: Vec<String>,
    pub moved_to: Option<String>,
    /// Its profile page (`url`), else its id.
    pub page: String,
}

/// `url` of an actor: a link, a Link object, or a list of them; the first that is an http(s) URL.
fn page_url(url: &Value) -> Option<String> {
    match url {
        Value::String(s) if s.starts_with("https://") || s.starts_with("http://") => {
            Some(s.clone())
        }
        Value::Array(items) => items.iter().find_map(page_url),
        Value::Object(o) => o.get("href").and_then(page_url),
        _ => None,
    }
}

/// `publicKey` as one object or a list of them; entries that are not keys are dropped.
fn keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<KeyDoc>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        Some(one) => serde_json::from_value(one).ok().into_iter().collect(),
        None => Vec::new(),
    })
}

/// A FEP-521a `Multikey` with an Ed25519 `publicKeyMultibase`, as a key with its PEM; anything else is `None`.
fn multikey(v: &Value) -> Option<KeyDoc> {
    let pem = v
        .get("publicKeyMultibase")
        .and_then(Value::as_str)
        .and_then(|m| PublicKey::from_multibase(m).ok())?
        .to_pem();
    Some(KeyDoc {
        id: v.get("id")?.as_str()?.to_string(),
        owner: v
            .get("controller")
            .and_then(Value::as_str)
            .map(str::to_string),
        public_key_pem: pem,
    })
}

/// `assertionMethod` as one object or a list of them: the Ed25519 `Multikey`s among them.
fn multikeys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<KeyDoc>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items.iter().filter_map(multikey).collect(),
        Some(one) => multikey(&one).into_iter().collect(),
        None => Vec::new(),
    })
}

/// The `url` of an `icon`, which may be an Image, a link, a list of either, or a bare URL.
pub(crate) fn image_url(icon: &Value) -> Option<String> {
    match icon {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.iter().find_map(image_url),
        Value::Object(o) => o
            .get("url")
            .and_then(image_url)
            .or_else(|| o.get("href").and_then(image_url)),
        _ => None,
    }
}

/// Whether two URLs are on the same host and port (the "same origin" rule for actors, keys and notes).
pub fn same_host(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.host_str().is_some()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// Whether an inbox at `inbox` may belong to the actor `actor`: on the actor's host (and port), or on a subdomain
/// of it (`inbox.social.example` for `social.example`), which only the actor's domain can serve. Anything else
/// would let a fake follower point deliveries at a third party.
pub fn inbox_belongs_to(inbox: &str, actor: &str) -> bool {
    let (Ok(inbox), Ok(actor)) = (Url::parse(inbox), Url::parse(actor)) else {
        return false;
    };
    let (Some(i), Some(a)) = (inbox.host_str(), actor.host_str()) else {
        return false;
    };
    if i == a {
        return inbox.port_or_known_default() == actor.port_or_known_default();
    }
    // The url crate has lowercased both domains already.
    matches!(inbox.host(), Some(url::Host::Domain(_)))
        && i.strip_suffix(a).is_some_and(|rest| rest.ends_with('.'))
}

/// Checks an actor document and turns it into what we store, with the key named `key_id` (under `publicKey` or
/// `assertionMethod`), or, without one, the first key under `publicKey`.
fn to_stored(doc: ActorDoc, key_id: Option<&str>) -> Result<RemoteActor, ActorError> {
    let key = match key_id {
        Some(wanted) => doc
            .public_key
            .iter()
            .chain(&doc.assertion_method)
            .find(|k| k.id == wanted),
        None => doc.public_key.first(),
    }
    .cloned()
    .ok_or_else(|| ActorError::Invalid("no publicKey".into()))?;
    if key.owner.as_deref().is_some_and(|o| o != doc.id) {
        return Err(ActorError::Invalid(
            "publicKey.owner is not the actor".into(),
        ));
    }
    if !same_host(&key.id, &doc.id) {
        return Err(ActorError::Invalid(
            "publicKey.id is on another host".into(),
        ));
    }
    let shared_inbox = doc.endpoints.and_then(|e| e.shared_inbox);
    for (what, url) in [
        ("inbox", Some(&doc.inbox)),
        ("sharedInbox", shared_inbox.as_ref()),
    ] {
        if let Some(url) = url
            && !inbox_belongs_to(url, &doc.id)
        {
            return Err(ActorError::Invalid(format!("{what} is on another host")));
        }
    }
    let host = Url::parse(&doc.id)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .ok_or_else(|| ActorError::Invalid("the id is not a URL".into()))?;
    let username = doc.preferred_username.clone().unwrap_or_default();
    Ok(RemoteActor {
        handle: format!("@{username}@{host}"),
        name: doc
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(username),
        inbox: doc.inbox,
        shared_inbox,
        avatar_url: doc.icon.as_ref().and_then(image_url),
        key_id: key.id,
        public_key_pem: key.public_key_pem,
        fetched_at: crate::db::now(),
        id: doc.id,
    })
}

/// The answer to another server when something it named (an actor, a key, a note) could not be fetched or used:
/// the cause is logged for the owner, and the other server learns only which document failed, never how (a fetch
/// error would tell a stranger which ports and hosts this server can reach).
///
/// A cause that may pass (the other server did not answer, or answered 5xx; our database failed) makes
/// [`AppError::Unavailable`](crate::error::AppError::Unavailable), which the inbox queue tries again later; any
/// other makes a refusal.
pub fn unusable(
    what: &str,
    url: &str,
    cause: &(impl std::fmt::Display + MayPass),
) -> crate::error::AppError {
    tracing::info!(%url, error = %cause, "cannot use {what}");
    if cause.may_pass() {
        crate::error::AppError::Unavailable(format!("cannot get the {what} {url} for now"))
    } else {
        crate::error::AppError::Unauthorized(format!("cannot use the {what} {url}"))
    }
}

/// Whether an error may pass if the same thing is tried again later.
pub trait MayPass {
    fn may_pass(&self) -> bool;
}

impl MayPass for FetchError {
    fn may_pass(&self) -> bool {
        self.is_temporary()
    }
}

impl MayPass for ActorError {
    fn may_pass(&self) -> bool {
        match self {
            Self::Fetch(e) => e.is_temporary(),
            Self::Db(_) => true,
            Self::Invalid(_) | Self::Key(_) => false,
        }
    }
}

/// A key as verification needs it: who owns it, and the key parsed.
#[derive(Debug, Clone)]
pub struct OwnedKey {
    pub owner: String,
    pub key: PublicKey,
}

/// Parsed keys by key id, so that a busy inbox never parses PEM twice; when each key was last fetched, so that
/// requests with bad signatures cannot make us fetch a key again and again; keys whose fetch failed (a negative
/// cache), so that forged requests naming an unknown key make one fetch, not one each; one lock per key being
/// fetched, so that concurrent requests wait for one fetch; and per host, the fetches that unauthenticated requests
/// caused lately. Every map is bounded. One per instance.
pub struct KeyCache {
    keys: Cache<String, OwnedKey>,
    fetched: Cache<String, Instant>,
    failed: Cache<String, Instant>,
    in_flight: Cache<String, Arc<tokio::sync::Mutex<()>>>,
    per_host: crate::ratelimit::Budget,
}

impl KeyCache {
    /// A cache that lets each host's unproved requests cause `fetches_per_host_per_minute` key fetches.
    pub fn new(fetches_per_host_per_minute: u32) -> Self {
        Self {
            keys: Cache::new(KEYS_KEPT),
            fetched: Cache::new(KEYS_KEPT),
            failed: Cache::new(KEYS_KEPT),
            in_flight: Cache::new(1024),
            per_host: crate::ratelimit::Budget::new(
                fetches_per_host_per_minute,
                HOST_WINDOW,
                KEYS_KEPT,
            ),
        }
    }
}

/// Keys kept parsed in memory (and entries in each of the other maps).
const KEYS_KEPT: usize = 10_000;
/// A known key that fails is fetched again at most this often (key rotation is rare; forged requests are not).
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// A key whose fetch failed is not fetched again for this long.
const FAILED_FOR: Duration = Duration::from_secs(600);
/// The window of `federation.key_fetches_per_host_per_minute`.
const HOST_WINDOW: Duration = Duration::from_secs(60);
/// The longest a key fetch may take, redirects and the owner's actor included.
pub const KEY_FETCH_TIMEOUT: Duration = Duration::from_secs(8);

impl KeyCache {
    /// Whether a known key that failed may be fetched again now; if so, the refetch is counted from now.
    pub fn take_refetch(&self, key_id: &str) -> bool {
        let allowed = self
            .fetched
            .get(key_id)
            .is_none_or(|at| at.elapsed() >= REFETCH_INTERVAL);
        if allowed {
            self.fetched.insert(key_id.to_string(), Instant::now());
        }
        allowed
    }

    /// Whether a fetch of `key_id` failed lately (it is then not tried again).
    pub fn failed_lately(&self, key_id: &str) -> bool {
        self.failed
            .get(key_id)
            .is_some_and(|at| at.elapsed() < FAILED_FOR)
    }

    /// Notes that fetching `key_id` failed, so that it is not tried again for a while.
    pub fn remember_failure(&self, key_id: &str) {
        self.failed.insert(key_id.to_string(), Instant::now());
    }

    /// Counts one fetch caused by an unauthenticated request for `host`; false when the host is over its budget.
    pub fn take_host_fetch(&self, host: &str) -> bool {
        self.per_host.take(host)
    }

    /// The lock that one fetch of `key_id` holds while it runs.
    pub fn fetch_lock(&self, key_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.in_flight.get_or_insert_with(key_id, || {
            Ok::<_, std::convert::Infallible>(Arc::new(tokio::sync::Mutex::new(())))
        }) {
            Ok(lock) => lock,
            Err(never) => match never {},
        }
    }

    fn get(&self, key_id: &str) -> Option<OwnedKey> {
        self.keys.get(key_id)
    }

    fn put(&self, key_id: String, key: OwnedKey) {
        self.failed.remove(&key_id);
        self.keys.insert(key_id, key);
    }

    fn forget_owner(&self, owner: &str) {
        let stale: Vec<String> = self
            .keys
            .iter()
            .filter(|(_, k)| k.owner == owner)
            .map(|(id, _)| id)
            .collect();
        for id in stale {
            self.keys.remove(&id);
        }
    }
}

/// Fetches an actor from its origin and stores it. The document counts only if it came from the host of its id
/// (after redirects) and is the one asked for.
pub async fn fetch_actor(
    db: &Db,
    client: &FederationClient,
    actor_id: &str,
) -> Result<RemoteActor, ActorError> {
    let actor = fetch_actor_doc(client, actor_id, None).await?;
    remote_actors::upsert(db, &actor).await?;
    Ok(actor)
}

/// An actor fetched and checked, with the key `key_id` (else its first), not yet stored.
async fn fetch_actor_doc(
    client: &FederationClient,
    actor_id: &str,
    key_id: Option<&str>,
) -> Result<RemoteActor, ActorError> {
    let (final_url, json) = client.fetch_json(actor_id).await?;
    let doc: ActorDoc =
        serde_json::from_value(json).map_err(|e| ActorError::Invalid(e.to_string()))?;
    check_origin(&doc.id, actor_id, &final_url)?;
    to_stored(doc, key_id)
}

/// An account fetched now from its origin (never from what is stored), checked like every actor, and stored: what
/// a move must check (`alsoKnownAs`), as the account says it today.
pub async fn fetch_profile(
    db: &Db,
    client: &FederationClient,
    actor_id: &str,
) -> Result<Profile, ActorError> {
    let (final_url, json) = client.fetch_json(actor_id).await?;
    let doc: ActorDoc =
        serde_json::from_value(json).map_err(|e| ActorError::Invalid(e.to_string()))?;
    check_origin(&doc.id, actor_id, &final_url)?;
    let also_known_as = doc.also_known_as.clone();
    let moved_to = doc.moved_to.as_ref().and_then(|m| match m {
        Value::String(s) => Some(s.clone()),
        other => other.get("id").and_then(Value::as_str).map(str::to_string),
    });
    let page = doc.url.as_ref().and_then(page_url);
    let actor = to_stored(doc, None)?;
    remote_actors::upsert(db, &actor).await?;
    Ok(Profile {
        page: page.unwrap_or_else(|| actor.id.clone()),
        actor,
        also_known_as,
        moved_to,
    })
}

/// A fetched document's `id` must be the URL asked for (or, after a redirect on the same host, the final one), and
/// the final URL must be on the id's host: a redirect through an open redirector elsewhere proves nothing.
fn check_origin(id: &str, asked: &str, final_url: &Url) -> Result<(), ActorError> {
    if !same_host(final_url.as_str(), id) {
        return Err(ActorError::Invalid(
            "the document was served from another host than its id".into(),
        ));
    }
    if id != asked && !(id == final_url.as_str() && same_host(id, asked)) {
        return Err(ActorError::Invalid(
            "the document's id is not the URL fetched".into(),
        ));
    }
    Ok(())
}

/// The actor known by `actor_id`: stored, else fetched.
pub async fn actor(
    db: &Db,
    client: &FederationClient,
    actor_id: &str,
) -> Result<RemoteActor, ActorError> {
    match remote_actors::find(db, actor_id).await? {
        Some(a) => Ok(a),
        None => fetch_actor(db, client, actor_id).await,
    }
}

/// The key named `key_id` if we already know it: from memory, else from the database (then kept in memory).
pub async fn known_key(
    db: &Db,
    cache: &KeyCache,
    key_id: &str,
) -> Result<Option<OwnedKey>, ActorError> {
    if let Some(k) = cache.get(key_id) {
        return Ok(Some(k));
    }
    let Some(stored) = remote_actors::find_by_key_id(db, key_id).await? else {
        return Ok(None);
    };
    let key =
        PublicKey::from_pem(&stored.public_key_pem).map_err(|e| ActorError::Key(e.to_string()))?;
    let owned = OwnedKey {
        owner: stored.id,
        key,
    };
    cache.put(key_id.to_string(), owned.clone());
    Ok(Some(owned))
}

/// The key named `key_id` fetched from its origin, found the ways the fediverse publishes keys, stored, and kept in
/// memory:
/// - Mastodon's `https://host/users/x#main-key`: the document (without the fragment) is the actor, which lists it;
/// - GoToSocial's `https://host/users/x/main-key`: a stub naming the owner, with the key under `publicKey`;
/// - a standalone `CryptographicKey` with an `owner`;
/// - FEP-521a's Ed25519 `Multikey`, in the actor's `assertionMethod` or standalone with a `controller`.
///
/// Unless the document is the owner's full actor, the owner's actor is fetched too, and the key counts only if that
/// actor lists the same key id with the same PEM. Every document must come from the key's host.
pub async fn fetch_key(
    db: &Db,
    client: &FederationClient,
    cache: &KeyCache,
    key_id: &str,
) -> Result<OwnedKey, ActorError> {
    let mut doc_url =
        Url::parse(key_id).map_err(|_| ActorError::Key("the key id is not a URL".into()))?;
    doc_url.set_fragment(None);
    let (final_url, json) = client.fetch_json(doc_url.as_str()).await?;
    if !same_host(final_url.as_str(), key_id) {
        return Err(ActorError::Key(
            "the key was served from another host".into(),
        ));
    }
    let id = json.get("id").and_then(Value::as_str).unwrap_or_default();
    let actor =
        if json.get("inbox").is_some() && (id == doc_url.as_str() || id == final_url.as_str()) {
            // The document is the actor itself.
            let doc: ActorDoc =
                serde_json::from_value(json).map_err(|e| ActorError::Invalid(e.to_string()))?;
            check_origin(&doc.id, doc_url.as_str(), &final_url)?;
            to_stored(doc, Some(key_id))?
        } else {
            let (owner, pem) = key_in(&json, key_id)
                .ok_or_else(|| ActorError::Key("the document does not publish this key".into()))?;
            if !same_host(&owner, key_id) {
                return Err(ActorError::Key("the key's owner is on another host".into()));
            }
            // Refused unless the owner's actor lists this key id, and with the same PEM.
            let actor = fetch_actor_doc(client, &owner, Some(key_id)).await?;
            if actor.public_key_pem.trim() != pem.trim() {
                return Err(ActorError::Key(
                    "the owner's actor does not list this key".into(),
                ));
            }
            actor
        };
    let key =
        PublicKey::from_pem(&actor.public_key_pem).map_err(|e| ActorError::Key(e.to_string()))?;
    // Stored only once every check passed.
    remote_actors::upsert(db, &actor).await?;
    cache.forget_owner(&actor.id);
    let owned = OwnedKey {
        owner: actor.id,
        key,
    };
    cache.put(key_id.to_string(), owned.clone());
    Ok(owned)
}

/// What a document that is not a full actor may say about a key: a `CryptographicKey` itself (`id`, `owner`,
/// `publicKeyPem`), a `Multikey` itself (`id`, `controller`, `publicKeyMultibase`), or a stub holding keys under
/// `publicKey` or `assertionMethod` (one or a list, read like an actor's).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyHolder {
    id: Option<String>,
    owner: Option<String>,
    public_key_pem: Option<String>,
    #[serde(default, deserialize_with = "keys")]
    public_key: Vec<KeyDoc>,
    #[serde(default, deserialize_with = "multikeys")]
    assertion_method: Vec<KeyDoc>,
}

/// In a document that is not a full actor, the owner and PEM of the key `key_id`: the document itself (a
/// `CryptographicKey` or a `Multikey`), or an entry of its `publicKey` or `assertionMethod` (one or a list). The
/// owner is the key's `owner` (a Multikey's `controller`), else the document's `owner`, else (a stub actor) the
/// document's `id`.
fn key_in(json: &Value, key_id: &str) -> Option<(String, String)> {
    let doc = KeyHolder::deserialize(json).ok()?;
    if doc.id.as_deref() == Some(key_id) {
        if let Some(pem) = doc.public_key_pem {
            return Some((doc.owner?, pem));
        }
        if let Some(key) = multikey(json) {
            return Some((key.owner?, key.public_key_pem));
        }
    }
    let key = doc
        .public_key
        .into_iter()
        .chain(doc.assertion_method)
        .find(|k| k.id == key_id)?;
    Some((key.owner.or(doc.owner).or(doc.id)?, key.public_key_pem))
}

/// Forgets everything about an actor deleted at its origin.
pub async fn forget(db: &Db, cache: &KeyCache, actor_id: &str) -> Result<(), sqlx::Error> {
    cache.forget_owner(actor_id);
    remote_actors::delete(db, actor_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_in_every_shape() {
        let url = Some("https://a.example/i.png".to_string());
        assert_eq!(
            image_url(&serde_json::json!("https://a.example/i.png")),
            url
        );
        assert_eq!(
            image_url(&serde_json::json!({"type": "Image", "url": "https://a.example/i.png"})),
            url
        );
        assert_eq!(
            image_url(
                &serde_json::json!([{"type": "Image", "url": {"href": "https://a.example/i.png"}}])
            ),
            url
        );
        assert_eq!(image_url(&serde_json::json!(3)), None);
    }

    #[test]
    fn actor_documents_are_checked() {
        let good = serde_json::json!({
            "id": "https://social.example/users/reader",
            "type": "Person",
            "preferredUsername": "reader",
            "name": "",
            "inbox": "https://social.example/users/reader/inbox",
            "endpoints": {"sharedInbox": "https://social.example/inbox"},
            "publicKey": {"id": "https://social.example/users/reader#main-key", "owner": "https://social.example/users/reader", "publicKeyPem": "x"}
        });
        let actor =
            to_stored(serde_json::from_value(good.clone()).expect("doc"), None).expect("valid");
        assert_eq!(actor.handle, "@reader@social.example");
        assert_eq!(actor.name, "reader");
        assert_eq!(
            actor.shared_inbox.as_deref(),
            Some("https://social.example/inbox")
        );

        let mut foreign_key = good.clone();
        foreign_key["publicKey"]["owner"] = "https://evil.example/users/x".into();
        assert!(to_stored(serde_json::from_value(foreign_key).expect("doc"), None).is_err());
        let mut foreign_inbox = good.clone();
        foreign_inbox["inbox"] = "https://evil.example/inbox".into();
        assert!(to_stored(serde_json::from_value(foreign_inbox).expect("doc"), None).is_err());
        let mut foreign_shared = good.clone();
        foreign_shared["endpoints"]["sharedInbox"] = "https://victim.example/inbox".into();
        assert!(to_stored(serde_json::from_value(foreign_shared).expect("doc"), None).is_err());
        let mut sub_shared = good.clone();
        sub_shared["endpoints"]["sharedInbox"] = "https://relay.social.example/inbox".into();
        assert!(to_stored(serde_json::from_value(sub_shared).expect("doc"), None).is_ok());
        // Several keys: the one asked for is stored.
        let mut two = good;
        two["publicKey"] = serde_json::json!([
            {"id": "https://social.example/users/reader#main-key", "owner": "https://social.example/users/reader", "publicKeyPem": "x"},
            {"id": "https://social.example/users/reader#ed25519-key", "owner": "https://social.example/users/reader", "publicKeyMultibase": "z6Mk"},
            {"id": "https://social.example/users/reader#second", "owner": "https://social.example/users/reader", "publicKeyPem": "y"}
        ]);
        let actor = to_stored(
            serde_json::from_value(two).expect("doc"),
            Some("https://social.example/users/reader#second"),
        )
        .expect("valid");
        assert_eq!(actor.public_key_pem, "y");
    }

    #[test]
    fn inboxes_belong_to_their_actor() {
        let actor = "https://social.example/users/a";
        assert!(inbox_belongs_to("https://social.example/inbox", actor));
        assert!(inbox_belongs_to("https://in.social.example/inbox", actor));
        assert!(!inbox_belongs_to("https://evilsocial.example/inbox", actor));
        assert!(!inbox_belongs_to("https://example/inbox", actor));
        assert!(!inbox_belongs_to(
            "https://social.example:8443/inbox",
            actor
        ));
        assert!(!inbox_belongs_to("not a url", actor));
    }

    #[test]
    fn keys_in_every_shape() {
        let key = "https://gts.example/users/a/main-key";
        let stub = serde_json::json!({
            "id": "https://gts.example/users/a", "type": "Person",
            "publicKey": {"id": key, "owner": "https://gts.example/users/a", "publicKeyPem": "PEM"}
        });
        assert_eq!(
            key_in(&stub, key),
            Some(("https://gts.example/users/a".into(), "PEM".into()))
        );
        let standalone = serde_json::json!({
            "id": key, "type": "CryptographicKey", "owner": "https://gts.example/users/a", "publicKeyPem": "PEM"
        });
        assert_eq!(
            key_in(&standalone, key),
            Some(("https://gts.example/users/a".into(), "PEM".into()))
        );
        let listed = serde_json::json!({
            "id": "https://gts.example/users/a",
            "publicKey": [{"id": "other", "publicKeyPem": "X"}, {"id": key, "publicKeyPem": "PEM"}]
        });
        assert_eq!(
            key_in(&listed, key),
            Some(("https://gts.example/users/a".into(), "PEM".into()))
        );
        assert_eq!(
            key_in(&listed, "https://gts.example/users/a/other-key"),
            None
        );
        assert_eq!(key_in(&serde_json::json!([1, 2]), key), None);
    }

    #[test]
    fn ed25519_multikeys_are_found_in_assertion_method_or_standalone() {
        let multibase = "z6MkekwC6R9bj9ErToB7AiZJfyCSDhaZe1UxhDbCqJrhqpS5";
        let pem = PublicKey::from_multibase(multibase).expect("key").to_pem();
        let owner = "https://fedi.example/users/a";
        let key = "https://fedi.example/users/a#ed25519-key";
        let actor = serde_json::json!({
            "id": owner, "type": "Person", "inbox": "https://fedi.example/users/a/inbox",
            "publicKey": {"id": "https://fedi.example/users/a#main-key", "owner": owner, "publicKeyPem": "RSA"},
            "assertionMethod": [
                "https://fedi.example/users/a#a-reference",
                {"id": "https://fedi.example/users/a#p256", "type": "Multikey", "controller": owner,
                 "publicKeyMultibase": "zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"},
                {"id": key, "type": "Multikey", "controller": owner, "publicKeyMultibase": multibase}
            ]
        });
        let doc: ActorDoc = serde_json::from_value(actor.clone()).expect("actor");
        assert_eq!(doc.assertion_method.len(), 1, "only the Ed25519 key");
        let stored = to_stored(doc, Some(key)).expect("stored");
        assert_eq!(
            (stored.key_id.as_str(), stored.public_key_pem.as_str()),
            (key, pem.as_str())
        );
        // Without a key id, the RSA key is the actor's key.
        let doc: ActorDoc = serde_json::from_value(actor.clone()).expect("actor");
        assert_eq!(to_stored(doc, None).expect("stored").public_key_pem, "RSA");
        // A Multikey controlled by another actor is refused.
        let mut stolen = actor.clone();
        stolen["assertionMethod"][2]["controller"] = "https://fedi.example/users/b".into();
        let doc: ActorDoc = serde_json::from_value(stolen).expect("actor");
        assert!(to_stored(doc, Some(key)).is_err());
        // Standalone, or in a stub's assertionMethod.
        let standalone = serde_json::json!({
            "id": key, "type": "Multikey", "controller": owner, "publicKeyMultibase": multibase
        });
        assert_eq!(key_in(&standalone, key), Some((owner.into(), pem.clone())));
        assert_eq!(key_in(&actor, key), Some((owner.into(), pem)));
        let broken = serde_json::json!({
            "id": key, "type": "Multikey", "controller": owner, "publicKeyMultibase": "z6Mk-not-base58"
        });
        assert_eq!(key_in(&broken, key), None);
    }
}
