//! A blog and its readers on other servers, for the benchmarks that post to the inbox: a remote server whose
//! actors all hold one key pair (each under its own key id), signed replies and likes from them, pre-signed before
//! anything is measured, and a Steppe process serving one viral post.

use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Instant, SystemTime},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use serde_json::{Value, json};
use steppe::{
    db::{self, Db},
    domain::posts::{PostInput, PostStatus},
    federation::signatures::{PrivateKey, cavage},
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

use super::{BoxError, Killed, free_port, read_response, wait_ready};

/// The remote server: any `/users/{name}` is an actor with the shared key.
pub struct Remote {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`: the host comments are counted under.
    pub host: String,
    pub key: Arc<PrivateKey>,
    pem: String,
}

async fn actor_doc(State(remote): State<Arc<Remote>>, Path(name): Path<String>) -> Json<Value> {
    let id = format!("{}/users/{name}", remote.base);
    Json(json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": name,
        "name": format!("Reader {name}"),
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "url": format!("{}/@{name}", remote.base),
        "endpoints": {"sharedInbox": format!("{}/inbox", remote.base)},
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": remote.pem},
    }))
}

/// Generates the shared key and starts the remote server in this process.
pub async fn remote() -> Result<Arc<Remote>, BoxError> {
    let key = PrivateKey::generate()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let host = listener.local_addr()?.to_string();
    let remote = Arc::new(Remote {
        base: format!("http://{host}"),
        host,
        pem: key.public_key_pem()?,
        key: Arc::new(key),
    });
    let router = Router::new()
        .route("/users/{name}", get(actor_doc))
        .with_state(remote.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(remote)
}

/// What one remote actor sends.
pub enum Event {
    /// Reply number `n` to the Article, with `text` as its content.
    Reply { n: usize, text: String },
    /// A like of the Article (number `n`: its activity id).
    Like { n: usize },
}

impl Remote {
    pub fn actor_id(&self, actor: usize) -> String {
        format!("{}/users/r{actor}", self.base)
    }

    /// The activity's body.
    pub fn body(&self, actor: usize, event: &Event, article: &str) -> String {
        let actor_id = self.actor_id(actor);
        let public = "https://www.w3.org/ns/activitystreams#Public";
        // Written now: the post page shows the newest threads, so the newest reply must be the latest written.
        let published = steppe::domain::dates::iso(steppe::db::now());
        match event {
            Event::Reply { n, text } => {
                let note_id = format!("{actor_id}/statuses/{n}");
                json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{note_id}/activity"),
                    "type": "Create",
                    "actor": actor_id,
                    "published": published,
                    "to": [public],
                    "cc": [format!("{actor_id}/followers")],
                    "object": {
                        "id": note_id,
                        "type": "Note",
                        "attributedTo": actor_id,
                        "inReplyTo": article,
                        "content": format!("<p>{text}</p>"),
                        "published": published,
                        "to": [public],
                        "cc": [format!("{actor_id}/followers")],
                    },
                })
            }
            Event::Like { n } => json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor_id}/likes/{n}"),
                "type": "Like",
                "actor": actor_id,
                "object": article,
            }),
        }
        .to_string()
    }

    /// One signed POST to `/inbox` on `host` (draft-cavage, as Mastodon signs), as raw HTTP/1.1 bytes.
    pub fn signed(&self, actor: usize, body: &str, host: &str) -> Result<Vec<u8>, BoxError> {
        let signed = cavage::sign(
            &self.key,
            &format!("{}#main-key", self.actor_id(actor)),
            "POST",
            host,
            "/inbox",
            Some(body.as_bytes()),
            SystemTime::now(),
        )?;
        let mut request = format!(
            "POST /inbox HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/activity+json\r\n\
             Date: {}\r\nDigest: {}\r\nSignature: {}\r\nContent-Length: {}\r\n\r\n",
            signed.date,
            signed.digest.unwrap_or_default(),
            signed.signature,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body.as_bytes());
        Ok(request)
    }

    /// Signs every `(actor, event)` for `host`, on every core (RSA signing is the slow part of a benchmark's
    /// preparation, and none of it may happen while something is measured).
    pub fn sign_all(
        self: &Arc<Self>,
        events: Vec<(usize, Event)>,
        article: &str,
        host: &str,
    ) -> Result<Vec<Vec<u8>>, BoxError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = events.len().div_ceil(cores).max(1);
        let mut events = events;
        let mut handles = Vec::new();
        while !events.is_empty() {
            let rest = events.split_off(chunk.min(events.len()));
            let mine = std::mem::replace(&mut events, rest);
            let (remote, article, host) = (self.clone(), article.to_string(), host.to_string());
            handles.push(std::thread::spawn(move || {
                mine.iter()
                    .map(|(actor, event)| {
                        remote
                            .signed(*actor, &remote.body(*actor, event, &article), &host)
                            .map_err(|e| e.to_string())
                    })
                    .collect::<Result<Vec<_>, String>>()
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| "a signing thread panicked")??);
        }
        Ok(all)
    }
}

/// Sends `requests` over `connections` keep-alive connections, as fast as they are answered; every answer must
/// be 202. Returns the seconds taken.
pub async fn send_all(
    port: u16,
    requests: Vec<Vec<u8>>,
    connections: usize,
) -> Result<f64, BoxError> {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (requests, next) = (requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(4096);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    return Ok::<(), BoxError>(());
                };
                stream.write_all(request).await?;
                let (status, _) = read_response(&mut stream, &mut buf).await?;
                if status != 202 {
                    return Err(format!(
                        "request {i} answered {status}: {}",
                        String::from_utf8_lossy(&buf)
                    )
                    .into());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// A Steppe process with one published post, on a fresh SQLite database in `dir`.
pub struct Blog {
    pub db: Db,
    pub post_id: String,
    pub slug: String,
    /// The post's Article id.
    pub article: String,
    pub port: u16,
    /// `127.0.0.1:PORT`, what requests are signed for.
    pub host: String,
    pub steppe: Killed,
}

impl Blog {
    /// Publishes the post (and `other_posts` more, for the home page), then starts `steppe serve` with flood limits
    /// and key-fetch limits out of the way, and `extra` TOML appended to its configuration.
    pub async fn start(
        dir: &std::path::Path,
        other_posts: usize,
        extra: &str,
    ) -> Result<Self, BoxError> {
        let db_url = format!("sqlite:{}", dir.join("bench.db").display());
        let db = Db::connect(&db_url, 2).await?;
        db.migrate().await?;
        let owner = db::users::create_owner(&db, "bench", "Bench Owner", "not-a-real-hash").await?;
        for i in 0..other_posts {
            new_post(&db, &owner.id, &format!("An older letter, number {i}")).await?;
        }
        let post_id = new_post(&db, &owner.id, "A post that went viral").await?;
        // Every reply shows at once (the default holds a first-time commenter's reply for the owner).
        db::settings::set(
            &db,
            &[(
                steppe::domain::moderation::Policy::KEY,
                Some("publish_all".into()),
            )],
        )
        .await?;
        let (article_id, slug): (String, String) =
            sqlx::query_as("SELECT article_id, slug FROM posts WHERE id = $1")
                .bind(&post_id)
                .fetch_one(&db.pool)
                .await?;
        let port = free_port()?;
        let host = format!("127.0.0.1:{port}");
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[site]\npublic_url = \"http://{host}\"\ntitle = \"Bench\"\n[server]\nbind = \"{host}\"\n\
                 max_connections_per_ip = 512\n[database]\nurl = \"{db_url}\"\n[media]\ndir = \"{}\"\n\
                 [federation]\nallow_private_addresses = true\nkey_fetches_per_host_per_minute = 100000\n\
                 [limits]\ncomments_per_actor_per_hour = 100000000\ncomments_per_domain_per_hour = 100000000\n\
                 {extra}",
                dir.join("media").display()
            ),
        )?;
        let mut steppe = Killed(
            Command::new(env!("CARGO_BIN_EXE_steppe"))
                .args(["--config", &config.to_string_lossy(), "serve"])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()?,
        );
        wait_ready(port, &mut steppe.0).await?;
        Ok(Self {
            db,
            post_id,
            slug,
            article: format!("http://{host}/articles/{article_id}"),
            port,
            host,
            steppe,
        })
    }
}

/// Publishes a short post titled `title`; returns its id.
pub async fn new_post(db: &Db, owner_id: &str, title: &str) -> Result<String, BoxError> {
    let input = PostInput {
        title: title.into(),
        slug: String::new(),
        summary: String::new(),
        tags: "NGOs, Kazakhstan".into(),
        body: "Everyone is talking about this one: the steppe, its NGOs and the people who work there.".into(),
    };
    let valid = input
        .validate(&steppe::config::LimitsConfig::default())
        .map_err(|e| format!("{e:?}"))?;
    Ok(db::posts::create(db, owner_id, &valid, PostStatus::Published).await?)
}
