//! Remote actors: fetched with a signed GET, checked, stored, and their keys kept parsed in memory.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyDoc {
    id: String,
    owner: String,
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
    public_key: Option<KeyDoc>,
    icon: Option<Value>,
}

/// The `url` of an `icon`, which may be an Image, a link, a list of either, or a bare URL.
fn image_url(icon: &Value) -> Option<String> {
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

fn same_host(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// Checks an actor document and turns it into what we store.
fn to_stored(doc: ActorDoc) -> Result<RemoteActor, ActorError> {
    let key = doc
        .public_key
        .ok_or_else(|| ActorError::Invalid("no publicKey".into()))?;
    if key.owner != doc.id {
        return Err(ActorError::Invalid(
            "publicKey.owner is not the actor".into(),
        ));
    }
    for (what, url) in [("inbox", &doc.inbox), ("publicKey.id", &key.id)] {
        if !same_host(url, &doc.id) {
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
        shared_inbox: doc.endpoints.and_then(|e| e.shared_inbox),
        avatar_url: doc.icon.as_ref().and_then(image_url),
        key_id: key.id,
        public_key_pem: key.public_key_pem,
        fetched_at: crate::db::now(),
        id: doc.id,
    })
}

/// A key as verification needs it: who owns it, and the key parsed.
#[derive(Debug, Clone)]
pub struct OwnedKey {
    pub owner: String,
    pub key: PublicKey,
}

/// Parsed keys by key id, so that a busy inbox never parses PEM twice; and when each key was last fetched, so that
/// requests with bad signatures cannot make us fetch a key again and again. One per instance.
#[derive(Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<String, OwnedKey>>,
    fetched: RwLock<HashMap<String, Instant>>,
}

/// A known key that fails is fetched again at most this often (key rotation is rare; forged requests are not).
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

impl KeyCache {
    /// Whether a known key that failed may be fetched again now; if so, the refetch is counted from now.
    pub fn take_refetch(&self, key_id: &str) -> bool {
        let Ok(mut fetched) = self.fetched.write() else {
            return false;
        };
        let allowed = fetched
            .get(key_id)
            .is_none_or(|at| at.elapsed() >= REFETCH_INTERVAL);
        if allowed {
            fetched.insert(key_id.to_string(), Instant::now());
        }
        allowed
    }

    fn get(&self, key_id: &str) -> Option<OwnedKey> {
        self.keys.read().ok()?.get(key_id).cloned()
    }

    fn put(&self, key_id: String, key: OwnedKey) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(key_id, key);
        }
    }

    fn forget_owner(&self, owner: &str) {
        if let Ok(mut keys) = self.keys.write() {
            keys.retain(|_, k| k.owner != owner);
        }
    }
}

/// Fetches an actor from its origin and stores it.
pub async fn fetch_actor(
    db: &Db,
    client: &FederationClient,
    actor_id: &str,
) -> Result<RemoteActor, ActorError> {
    let (final_url, json) = client.fetch_json(actor_id).await?;
    let doc: ActorDoc =
        serde_json::from_value(json).map_err(|e| ActorError::Invalid(e.to_string()))?;
    // The document must be the one asked for (after redirects, on the same host).
    if doc.id != actor_id && !(doc.id == final_url.as_str() && same_host(&doc.id, actor_id)) {
        return Err(ActorError::Invalid(
            "the document's id is not the URL fetched".into(),
        ));
    }
    let actor = to_stored(doc)?;
    remote_actors::upsert(db, &actor).await?;
    Ok(actor)
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

/// The key named `key_id` (`https://host/users/x#main-key`) fetched from its origin (a signed GET of its actor),
/// stored, and kept in memory.
pub async fn fetch_key(
    db: &Db,
    client: &FederationClient,
    cache: &KeyCache,
    key_id: &str,
) -> Result<OwnedKey, ActorError> {
    let mut actor_url =
        Url::parse(key_id).map_err(|_| ActorError::Key("the key id is not a URL".into()))?;
    actor_url.set_fragment(None);
    let actor = fetch_actor(db, client, actor_url.as_str()).await?;
    if actor.key_id != key_id {
        return Err(ActorError::Key(
            "the actor does not publish this key".into(),
        ));
    }
    let key =
        PublicKey::from_pem(&actor.public_key_pem).map_err(|e| ActorError::Key(e.to_string()))?;
    cache.forget_owner(&actor.id);
    let owned = OwnedKey {
        owner: actor.id,
        key,
    };
    cache.put(key_id.to_string(), owned.clone());
    Ok(owned)
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
        let actor = to_stored(serde_json::from_value(good.clone()).expect("doc")).expect("valid");
        assert_eq!(actor.handle, "@reader@social.example");
        assert_eq!(actor.name, "reader");
        assert_eq!(
            actor.shared_inbox.as_deref(),
            Some("https://social.example/inbox")
        );

        let mut foreign_key = good.clone();
        foreign_key["publicKey"]["owner"] = "https://evil.example/users/x".into();
        assert!(to_stored(serde_json::from_value(foreign_key).expect("doc")).is_err());
        let mut foreign_inbox = good;
        foreign_inbox["inbox"] = "https://evil.example/inbox".into();
        assert!(to_stored(serde_json::from_value(foreign_inbox).expect("doc")).is_err());
    }
}
