//! `steppe import wp-actor`: Steppe replaces a WordPress blog that ran the ActivityPub plugin, at the same domain, and
//! takes its fediverse followers along. With the old blog actor's id (`https://site/?author=0`), its key pair (the
//! plugin's `activitypub_keypair_for_0` option, or a PEM) and its followers (the plugin's `ap_actor`/`ap_follower`
//! posts in a WXR export, or a followers JSON file), Steppe stores the old key, serves the old id as an actor that
//! has moved (`movedTo` this blog, the same key), lists it in `alsoKnownAs`, and queues a `Move` signed with the old
//! key for every follower's inbox. Run again, it sends nothing twice.
//!
//! The blog keeps its own handle: the old actor keeps its `preferredUsername`, and a handle that equals this blog's
//! is refused, because Mastodon keeps one account per handle (see the README, "Moving from WordPress's ActivityPub
//! plugin").

use std::{
    collections::{BTreeMap, BTreeSet},
    io::BufReader,
    path::{Path, PathBuf},
};

use serde_json::Value;

use crate::{
    app::AppState,
    db::{self, deliveries, settings},
    domain::moving,
    federation::{
        activities::r#move,
        actors,
        keys::WORDPRESS_ACTOR,
        signatures::{PrivateKey, PublicKey},
    },
    import::wxr::WxrReader,
};

/// What the owner gives the command.
#[derive(Debug, Clone)]
pub struct Options {
    /// The old actor's id, as WordPress published it.
    pub actor_id: String,
    /// The key pair: the plugin's option as JSON (`{"private_key": "…", "public_key": "…"}`) or a PEM private key.
    pub key: PathBuf,
    /// The old actor document saved before WordPress was switched off; else it is fetched from `actor_id`.
    pub actor: Option<PathBuf>,
    /// A WordPress export holding the plugin's followers (`ap_actor` or `ap_follower` items).
    pub wxr: Option<PathBuf>,
    /// A followers file: a JSON list of actor ids or actor objects, or a collection of them.
    pub followers: Option<PathBuf>,
}

/// Why the takeover was refused; nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum TakeoverError {
    #[error("{0}")]
    Input(String),
    #[error(
        "the key does not belong to {0}: its published key is another. Export the key pair of that actor (see the README)"
    )]
    WrongKey(String),
    #[error("cannot write to the database: {0}")]
    Db(#[from] sqlx::Error),
}

/// One follower of the old actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follower {
    pub id: String,
    /// The inbox to send to: the shared one when the follower has one.
    pub inbox: Option<String>,
}

/// What was done.
#[derive(Debug, Default)]
pub struct Summary {
    pub old_actor: String,
    pub followers: usize,
    /// Inboxes that were sent the Move now.
    pub queued: usize,
    /// Inboxes that had been sent it by an earlier run.
    pub already: usize,
    pub problems: Vec<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "took over {}: it is served as moved to this blog, with its own key",
            self.old_actor
        )?;
        write!(
            f,
            "{} followers; a Move was queued for {} inboxes ({} had it from an earlier run)",
            self.followers, self.queued, self.already
        )?;
        for p in &self.problems {
            write!(f, "\n{p}")?;
        }
        Ok(())
    }
}

fn input(message: impl Into<String>) -> TakeoverError {
    TakeoverError::Input(message.into())
}

/// The private key in `text`: the plugin's JSON (whose public half, when given, must match) or a PEM.
pub fn read_key(text: &str) -> Result<PrivateKey, TakeoverError> {
    let bad = || {
        input(
            "the key file is neither the plugin's key pair (JSON with private_key) nor a PEM private key",
        )
    };
    if text.trim_start().starts_with('{') {
        let json: Value = serde_json::from_str(text).map_err(|_| bad())?;
        let private = json["private_key"].as_str().ok_or_else(bad)?;
        let key = PrivateKey::from_pem(private).map_err(|_| bad())?;
        if let Some(public) = json["public_key"].as_str() {
            let public = PublicKey::from_pem(public)
                .map_err(|e| input(format!("the key file's public_key is unusable: {e}")))?;
            if !key.matches(&public) {
                return Err(input(
                    "the key file's public_key is not the public half of its private_key",
                ));
            }
        }
        Ok(key)
    } else {
        PrivateKey::from_pem(text).map_err(|_| bad())
    }
}

/// The WordPress user id in an actor id (`?author=0` is the blog), when it says.
fn wordpress_user(actor_id: &str) -> Option<String> {
    let url = url::Url::parse(actor_id).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "author")
        .map(|(_, v)| v.to_string())
}

/// A follower from an actor object or id in a followers file or the plugin's stored actor JSON.
fn follower_from(value: &Value) -> Option<Follower> {
    match value {
        Value::String(id) if id.starts_with("https://") || id.starts_with("http://") => {
            Some(Follower {
                id: id.clone(),
                inbox: None,
            })
        }
        Value::Object(o) => {
            let id = o.get("id")?.as_str()?.to_string();
            let shared = o
                .get("endpoints")
                .and_then(|e| e.get("sharedInbox"))
                .and_then(Value::as_str);
            let inbox = shared
                .or_else(|| o.get("inbox").and_then(Value::as_str))
                .map(str::to_string);
            Some(Follower { id, inbox })
        }
        _ => None,
    }
}

/// The followers in a followers file: a list, or a collection (`orderedItems`/`items`, or its `first` page).
pub fn followers_from_json(text: &str) -> Result<Vec<Follower>, TakeoverError> {
    let json: Value = serde_json::from_str(text)
        .map_err(|e| input(format!("the followers file is not JSON: {e}")))?;
    let items = match &json {
        Value::Array(items) => items.clone(),
        Value::Object(o) => {
            let page = o.get("first").filter(|f| f.is_object()).unwrap_or(&json);
            page.get("orderedItems")
                .or_else(|| page.get("items"))
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| {
                    input("the followers file lists no followers (no orderedItems or items)")
                })?
        }
        _ => {
            return Err(input(
                "the followers file is neither a list nor a collection",
            ));
        }
    };
    Ok(items.iter().filter_map(follower_from).collect())
}

/// The followers of WordPress user `user` (all, when the id does not say) among the plugin's stored actors in a
/// WXR export: `ap_actor` items (plugin 4 and later) and `ap_follower` items (before), the actor's JSON as content.
pub fn followers_from_wxr(path: &Path, user: Option<&str>) -> Result<Vec<Follower>, TakeoverError> {
    let file = std::fs::File::open(path).map_err(|e| input(format!("{}: {e}", path.display())))?;
    let mut reader = WxrReader::new(BufReader::new(file));
    let mut out = Vec::new();
    while let Some(item) = reader
        .next_item()
        .map_err(|e| input(format!("{}: {e}", path.display())))?
    {
        if !matches!(item.post_type.as_str(), "ap_actor" | "ap_follower") {
            continue;
        }
        let following: Vec<&str> = item
            .meta
            .iter()
            .filter(|(k, _)| k == "_activitypub_following" || k == "_activitypub_user_id")
            .map(|(_, v)| v.trim())
            .collect();
        if let Some(user) = user
            && !following.is_empty()
            && !following.contains(&user)
        {
            continue;
        }
        let doc: Value = serde_json::from_str(&item.content).unwrap_or(Value::Null);
        let mut follower =
            follower_from(&doc).or_else(|| follower_from(&Value::String(item.guid.clone())));
        if let Some(f) = follower.as_mut()
            && f.inbox.is_none()
        {
            f.inbox = item.meta("_activitypub_inbox").map(str::to_string);
        }
        out.extend(follower);
    }
    Ok(out)
}

/// Takes over the WordPress actor described by `options` (see the module documentation).
pub async fn run(state: &AppState, options: &Options) -> Result<Summary, TakeoverError> {
    let actor_id = options.actor_id.trim().to_string();
    let old = url::Url::parse(&actor_id)
        .map_err(|_| input(format!("--actor-id {actor_id:?} is not a URL")))?;
    let ours =
        url::Url::parse(state.urls.base()).map_err(|_| input("site.public_url is not a URL"))?;
    if old.host_str() != ours.host_str() {
        return Err(input(format!(
            "{actor_id} is not on this blog's domain ({}). wp-actor takes over a WordPress blog that Steppe replaces at the same address; to bring followers from a blog elsewhere, list it under Settings → Moving and move it there with `wp activitypub move`",
            ours.host_str().unwrap_or_default()
        )));
    }
    let key_text = std::fs::read_to_string(&options.key)
        .map_err(|e| input(format!("{}: {e}", options.key.display())))?;
    let key = read_key(&key_text)?;

    // The old actor as its followers' servers know it: the key must be the one it published.
    let doc: Value = match &options.actor {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| input(format!("{}: {e}", path.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| input(format!("{}: not JSON: {e}", path.display())))?
        }
        None => state
            .client
            .fetch_json(&actor_id)
            .await
            .map(|(_, json)| json)
            .map_err(|e| {
                input(format!(
                    "the old actor {actor_id} cannot be fetched ({e}); save its document while WordPress still serves it (curl -H 'Accept: application/activity+json' '{actor_id}' > actor.json) and give it with --actor"
                ))
            })?,
    };
    if doc["id"].as_str() != Some(actor_id.as_str()) {
        return Err(input(format!(
            "the actor document's id is {}, not {actor_id}",
            doc["id"]
        )));
    }
    let published = doc["publicKey"]["publicKeyPem"]
        .as_str()
        .or_else(|| doc["publicKey"][0]["publicKeyPem"].as_str())
        .ok_or_else(|| input("the old actor document publishes no key"))?;
    let published = PublicKey::from_pem(published)
        .map_err(|e| input(format!("the old actor's published key is unusable: {e}")))?;
    if !key.matches(&published) {
        return Err(TakeoverError::WrongKey(actor_id));
    }
    let username = doc["preferredUsername"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if username.eq_ignore_ascii_case(state.urls.username()) {
        return Err(input(format!(
            "the old actor's handle is @{username}, the same as this blog's; Mastodon keeps one account per handle, so set federation.username to another name (see the README) and run this again"
        )));
    }
    let name = doc["name"].as_str().unwrap_or(&username).to_string();
    let stored = settings::all(&state.db).await?;
    if let Some(taken) = stored.get(moving::WP_ACTOR_ID)
        && *taken != actor_id
    {
        return Err(input(format!(
            "this blog took over {taken} already; one WordPress actor can be taken over"
        )));
    }
    let public_pem = key
        .public_key_pem()
        .map_err(|e| input(format!("the key: {e}")))?;
    if let Some(existing) = db::actor_keys::find(&state.db, WORDPRESS_ACTOR).await?
        && existing.public_key_pem != public_pem
    {
        return Err(TakeoverError::WrongKey(actor_id));
    }

    // The followers, each with an inbox.
    let user = wordpress_user(&actor_id);
    let mut found = Vec::new();
    if let Some(path) = &options.wxr {
        found.extend(followers_from_wxr(path, user.as_deref())?);
    }
    if let Some(path) = &options.followers {
        let text =
            std::fs::read_to_string(path).map_err(|e| input(format!("{}: {e}", path.display())))?;
        found.extend(followers_from_json(&text)?);
    }
    if options.wxr.is_none() && options.followers.is_none() {
        return Err(input(
            "give the followers: --wxr with a WordPress export that holds them, or --followers with a followers file",
        ));
    }
    let mut summary = Summary {
        old_actor: actor_id.clone(),
        ..Summary::default()
    };
    let mut by_id: BTreeMap<String, Option<String>> = BTreeMap::new();
    for f in found {
        let entry = by_id.entry(f.id).or_default();
        if entry.is_none() {
            *entry = f.inbox;
        }
    }
    summary.followers = by_id.len();
    let mut inboxes: BTreeMap<String, String> = BTreeMap::new();
    for (id, inbox) in by_id {
        let inbox = match inbox {
            Some(i) => Some(i),
            None => match actors::fetch_actor(&state.db, &state.client, &id).await {
                Ok(a) => Some(a.shared_inbox.unwrap_or(a.inbox)),
                Err(e) => {
                    summary
                        .problems
                        .push(format!("follower {id}: cannot be fetched ({e}); not told"));
                    None
                }
            },
        };
        if let Some(inbox) = inbox {
            if inbox.starts_with("https://") || inbox.starts_with("http://") {
                inboxes.entry(inbox).or_insert(id);
            } else {
                summary.problems.push(format!(
                    "follower {id}: its inbox {inbox:?} is not a URL; not told"
                ));
            }
        }
    }

    let der = key
        .to_pkcs8_der()
        .map_err(|e| input(format!("the key: {e}")))?;
    let der = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let (activity_id, body) = r#move::build(state, &actor_id, &state.urls.actor());
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO actor_keys (actor, private_key_pkcs8, public_key_pem, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (actor) DO NOTHING",
    )
    .bind(WORDPRESS_ACTOR)
    .bind(&der)
    .bind(&public_pem)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    let mut aliases = moving::aliases(&stored);
    if !aliases.contains(&actor_id) {
        aliases.push(actor_id.clone());
    }
    settings::set_in(
        &mut tx,
        &[
            (moving::WP_ACTOR_ID, Some(actor_id.clone())),
            (moving::WP_ACTOR_USERNAME, Some(username.clone())),
            (moving::WP_ACTOR_NAME, Some(name)),
            (moving::ALSO_KNOWN_AS, moving::aliases_value(&aliases)),
        ],
    )
    .await?;
    let mut fresh = BTreeSet::new();
    for (inbox, follower) in &inboxes {
        let added = sqlx::query(
            "INSERT INTO wp_actor_moves (inbox, follower, queued_at) VALUES ($1, $2, $3) ON CONFLICT (inbox) DO NOTHING",
        )
        .bind(inbox)
        .bind(follower)
        .bind(db::now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added > 0 {
            fresh.insert(inbox.clone());
        }
    }
    summary.queued = fresh.len();
    summary.already = inboxes.len().saturating_sub(fresh.len());
    if !fresh.is_empty() {
        let fresh: Vec<String> = fresh.into_iter().collect();
        let label = format!("@{username}@{}", old.host_str().unwrap_or_default());
        deliveries::queue_direct(
            &mut tx,
            &deliveries::NewActivity {
                activity_id: &activity_id,
                kind: "move",
                label: &label,
                body: &body,
                signer: WORDPRESS_ACTOR,
            },
            &fresh,
            state.config.delivery.give_up_after_seconds,
        )
        .await?;
    }
    state.db.commit_content(tx).await?;
    state.wakeup.wake();
    state.reload_site().await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_files_in_every_shape() {
        let list = r#"["https://a.example/users/x", {"id": "https://b.example/u/y", "inbox": "https://b.example/u/y/inbox", "endpoints": {"sharedInbox": "https://b.example/inbox"}}, 7, "not a url"]"#;
        let got = followers_from_json(list).expect("list");
        assert_eq!(
            got,
            vec![
                Follower {
                    id: "https://a.example/users/x".into(),
                    inbox: None
                },
                Follower {
                    id: "https://b.example/u/y".into(),
                    inbox: Some("https://b.example/inbox".into())
                },
            ]
        );
        let collection = r#"{"type": "OrderedCollection", "totalItems": 1, "first": {"type": "OrderedCollectionPage", "orderedItems": ["https://a.example/users/x"]}}"#;
        assert_eq!(
            followers_from_json(collection).expect("collection").len(),
            1
        );
        assert!(followers_from_json("{}").is_err());
        assert!(followers_from_json("not json").is_err());
    }

    #[test]
    fn the_wordpress_user_is_read_from_the_actor_id() {
        assert_eq!(
            wordpress_user("https://site.example/?author=0").as_deref(),
            Some("0")
        );
        assert_eq!(wordpress_user("https://site.example/author/ada/"), None);
    }

    #[test]
    fn key_files_are_checked() {
        assert!(read_key("hello").is_err());
        assert!(read_key(r#"{"public_key": "x"}"#).is_err());
    }
}
