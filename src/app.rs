//! The application: shared state, building the router on a bound listener, and serving until told to stop.

use std::{future::Future, ops::Deref, sync::Arc, time::Duration};

use axum::Router;

use crate::{
    config::Config,
    db::{Db, DbError},
    domain::users,
    federation::{
        actors::KeyCache,
        client::FederationClient,
        delivery::{Wakeup, Worker, metrics::Metrics},
        keys::{self, BlogKey},
        urls::Urls,
    },
    web::{self, cache::PageCache},
};

/// What every handler can reach. Cloning is cheap; nothing here is global, so several instances can run in one
/// process (the tests do).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Db,
    /// Federation ids of this instance.
    pub urls: Urls,
    /// The blog actor's key pair, parsed once.
    pub blog_key: Arc<BlogKey>,
    /// The guarded, signing client for every request to another server.
    pub client: FederationClient,
    /// Remote actors' keys, parsed once.
    pub keys: KeyCache,
    /// Wakes the delivery worker when something is queued.
    pub wakeup: Arc<Wakeup>,
    /// Wakes the scheduler when a post is scheduled.
    pub scheduler: tokio::sync::Notify,
    /// This process's delivery counters (for `/metrics`).
    pub delivery_metrics: Arc<Metrics>,
    /// The in-process delivery worker (none with `delivery.workers = 0`); stopped gracefully by [`App::run`],
    /// aborted when the state is dropped.
    delivery_worker: std::sync::Mutex<Option<Worker>>,
    /// The durable inbox's front: received activities are stored through it before the 202.
    pub intake: crate::federation::intake::Intake,
    /// The in-process inbox worker (none with `inbox.workers = 0`); stopped gracefully by [`App::run`].
    inbox_worker: std::sync::Mutex<Option<crate::federation::intake::InboxWorker>>,
    /// Rendered public pages (see `web::cache`).
    pub pages: PageCache,
    /// What every reader's page shares (see `web::pages::SharedParts`).
    pub reader_parts: crate::web::pages::SharedParts,
    /// On PostgreSQL, the task that hears other processes' content changes; stopped with the state.
    _change_listener: Option<AbortOnDrop>,
    /// An argon2 hash of a random password, verified against when a login names an unknown user so that the answer
    /// takes as long as for a wrong password.
    pub decoy_hash: String,
    /// Password hashing under a bound on concurrent argon2 computations (and so on memory).
    pub hashing: Arc<users::Hashing>,
    /// Signs CSRF tokens and device cookies.
    pub cookie_key: web::auth::CookieKey,
    /// Readers' WebFinger look-ups for "Leave a comment": cached and budgeted per client.
    pub lookups: crate::federation::discovery::Lookups,
    /// Image processing and the media store.
    pub media: crate::media::Media,
    /// The import started from `/admin/import`, if any (one at a time per process).
    pub import_job: crate::import::progress::Job,
    /// The site settings in effect: `config.toml`'s `[site]` with the owner's changes from the web admin.
    site: Arc<std::sync::RwLock<Arc<crate::config::SiteConfig>>>,
    /// Reloads `site` whenever the content changes (in any process sharing the database).
    _site_follower: AbortOnDrop,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Aborts a background task when the state that owns it is dropped.
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl AbortOnDrop {
    pub fn new(task: tokio::task::JoinHandle<()>) -> Self {
        Self(task)
    }
}

/// A background task that stops gracefully when asked ([`Stoppable::stop`] signals the `watch` it was started
/// with and waits for it) and is aborted when dropped: the queues' workers.
pub struct Stoppable {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Stoppable {
    /// Spawns `run`, which must end soon after its receiver turns true.
    pub fn spawn<F>(run: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        Self {
            stop,
            task: Some(tokio::spawn(run(stop_rx))),
        }
    }

    /// Asks the task to stop and waits until it has.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Key(#[from] keys::BlogKeyError),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("cannot prepare password hashing: {0}")]
    Hash(String),
    #[error(transparent)]
    Media(#[from] crate::media::store::OpenError),
    #[error("cannot read the site settings: {0}")]
    Settings(#[from] sqlx::Error),
}

/// A built application, listening but not yet serving.
pub struct App {
    listener: tokio::net::TcpListener,
    /// `/metrics`, when `metrics.bind` is set.
    metrics_listener: Option<tokio::net::TcpListener>,
    router: Router,
    state: AppState,
}

impl AppState {
    /// Opens and migrates the database and prepares what handlers share.
    pub async fn new(config: Config) -> Result<Self, StartError> {
        let media = crate::media::Media::new(&config.media)?;
        let db = Db::connect(&config.database.url, config.database.max_connections).await?;
        db.migrate().await?;
        let indexed = crate::db::search::reindex_missing(&db).await?;
        if indexed > 0 {
            tracing::info!(
                posts = indexed,
                "search index filled for posts saved before it existed"
            );
        }
        let hashing = Arc::new(users::Hashing::for_this_machine());
        let random: [u8; 16] = rand::random();
        let decoy_hash = hashing
            .hash(&format!("{random:?}"))
            .await
            .map_err(StartError::Hash)?;
        let pages = PageCache::new(&config.cache);
        let change_listener = db.follow_changes().await.map(AbortOnDrop);
        let site = Arc::new(std::sync::RwLock::new(Arc::new(
            crate::db::settings::site(&db, &config.site).await?,
        )));
        let site_follower = AbortOnDrop(tokio::spawn(follow_site(
            db.clone(),
            config.site.clone(),
            site.clone(),
        )));
        let (blog_key, urls, client) = federation_parts(&config, &db).await?;
        let cookie_key = web::auth::CookieKey::derive(
            &blog_key
                .private
                .to_pkcs8_der()
                .map_err(|e| StartError::Hash(e.to_string()))?,
        );
        let keys = KeyCache::new(config.federation.key_fetches_per_host_per_minute);
        let wakeup = Arc::new(Wakeup::default());
        let delivery_metrics = Arc::new(Metrics::default());
        let delivery_worker = (config.delivery.workers > 0).then(|| {
            Worker::start(
                db.clone(),
                client.clone(),
                config.delivery.clone(),
                delivery_metrics.clone(),
                wakeup.clone(),
            )
        });
        let intake =
            crate::federation::intake::Intake::start(db.clone(), &config.inbox, &config.limits);
        let state = Self(Arc::new(Inner {
            config,
            db,
            urls,
            blog_key,
            client,
            keys,
            wakeup,
            scheduler: tokio::sync::Notify::new(),
            delivery_metrics,
            delivery_worker: std::sync::Mutex::new(delivery_worker),
            intake,
            inbox_worker: std::sync::Mutex::new(None),
            pages,
            reader_parts: Default::default(),
            _change_listener: change_listener,
            decoy_hash,
            hashing,
            cookie_key,
            lookups: Default::default(),
            media,
            import_job: Default::default(),
            site,
            _site_follower: site_follower,
        }));
        if state.config.inbox.workers > 0 {
            state.start_inbox_worker(state.config.inbox.workers);
        }
        Ok(state)
    }

    /// Starts this process's inbox worker, applying `workers` activities at once.
    fn start_inbox_worker(&self, workers: usize) {
        let mut config = self.config.inbox.clone();
        config.workers = workers;
        let worker = crate::federation::intake::InboxWorker::start(
            Arc::downgrade(&self.0),
            config,
            self.intake.wakeup.clone(),
        );
        *self
            .inbox_worker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(worker);
    }

    /// The application behind a worker's weak handle, while it runs.
    pub(crate) fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(Self)
    }

    /// Stops the in-process workers gracefully: what they are doing is finished (or released for the next).
    async fn stop_workers(&self) {
        let inbox = self
            .inbox_worker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(worker) = inbox {
            worker.stop().await;
        }
        let delivery = self
            .delivery_worker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(worker) = delivery {
            worker.stop().await;
        }
    }
}

impl Inner {
    /// The site settings in effect (the owner's changes from the web admin over `config.toml`'s `[site]`).
    pub fn site(&self) -> Arc<crate::config::SiteConfig> {
        self.site
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the site settings again at once (after this process changed them).
    pub async fn reload_site(&self) -> Result<(), sqlx::Error> {
        refresh_site(&self.db, &self.config.site, &self.site).await
    }
}

/// Reads the site settings in effect into `site`; when they differ from those in use, makes the page cache stale
/// (a page rendered with the old settings must not be served).
async fn refresh_site(
    db: &Db,
    base: &crate::config::SiteConfig,
    site: &std::sync::RwLock<Arc<crate::config::SiteConfig>>,
) -> Result<(), sqlx::Error> {
    let fresh = crate::db::settings::site(db, base).await?;
    {
        let mut current = site
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if **current == fresh {
            return Ok(());
        }
        *current = Arc::new(fresh);
    }
    db.bump_content_version();
    Ok(())
}

/// Reloads the site settings whenever the blog's structure changes (another process, on PostgreSQL, may have saved
/// them); checked every second, read only after a change.
async fn follow_site(
    db: Db,
    base: crate::config::SiteConfig,
    site: Arc<std::sync::RwLock<Arc<crate::config::SiteConfig>>>,
) {
    // Settings are structure: comments and reactions do not move this number, so a storm of replies reads nothing.
    let mut seen = db.versions().structure();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if db.versions().structure() == seen {
            continue;
        }
        match refresh_site(&db, &base, &site).await {
            // Seen now, including our own bump when they differed (read once more next time, to no effect).
            Ok(()) => seen = db.versions().structure(),
            Err(e) => tracing::warn!(error = %e, "cannot reload the site settings"),
        }
    }
}

/// The blog's key pair, its federation ids, and the signing client: what serving and delivering both need.
async fn federation_parts(
    config: &Config,
    db: &Db,
) -> Result<(Arc<BlogKey>, Urls, FederationClient), StartError> {
    let blog_key = Arc::new(keys::load_or_create(db).await?);
    let urls = Urls::new(config);
    let user_agent = format!(
        "Steppe/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        config.base_url()
    );
    let client = FederationClient::new(
        blog_key.clone(),
        urls.key_id(),
        urls.ed25519_key_id(),
        config.federation.allow_private_addresses,
        &user_agent,
        config
            .signature_schemes()
            .unwrap_or(crate::federation::client::SchemeChoice::Auto),
        crate::federation::signing::SigningMemory::new(Some(db.clone())),
    )
    .map_err(|e| StartError::Client(e.to_string()))?;
    Ok((blog_key, urls, client))
}

/// Binds `metrics.bind` when it is set.
fn bind_metrics(config: &Config) -> Result<Option<tokio::net::TcpListener>, StartError> {
    if config.metrics.bind.is_empty() {
        return Ok(None);
    }
    let addr = config.metrics.bind.clone();
    let bind = || -> std::io::Result<tokio::net::TcpListener> {
        let listener = std::net::TcpListener::bind(&addr)?;
        listener.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(listener)
    };
    bind()
        .map(Some)
        .map_err(|source| StartError::Bind { addr, source })
}

/// A shutdown future that several tasks can wait on.
fn shared_shutdown(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    move || {
        let mut rx = rx.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
    }
}

/// `steppe worker`: delivers from the shared queue with `workers` requests at once, and applies received activities
/// with `inbox.workers` at once, without serving the blog (and serves `/metrics` when configured), until
/// `shutdown`; then stops gracefully.
pub async fn run_worker(
    mut config: Config,
    workers: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    config.delivery.workers = workers;
    let metrics_listener = bind_metrics(&config)?;
    let state = AppState::new(config).await?;
    let stopped = shared_shutdown(shutdown);
    let metrics_server = metrics_listener.map(|l| {
        tokio::spawn(web::metrics::serve(
            l,
            state.db.clone(),
            state.delivery_metrics.clone(),
            state.intake.counters.clone(),
            stopped(),
        ))
    });
    tracing::info!(
        workers,
        inbox_workers = state.config.inbox.workers,
        "delivering and applying received activities"
    );
    stopped().await;
    state.stop_workers().await;
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    Ok(())
}

impl App {
    /// Binds `server.bind`, opens the database and builds the router.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let addr = config.server.bind.clone();
        let listener = std::net::TcpListener::bind(&addr)
            .map_err(|source| StartError::Bind { addr, source })?;
        Self::build_with_listener(config, listener).await
    }

    /// Like [`App::build`] on a listener the caller bound (tests bind port 0 and then learn the port).
    pub async fn build_with_listener(
        config: Config,
        listener: std::net::TcpListener,
    ) -> Result<Self, StartError> {
        let addr = format!("{:?}", listener.local_addr().ok());
        listener
            .set_nonblocking(true)
            .map_err(|source| StartError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|source| StartError::Bind { addr, source })?;
        let metrics_listener = bind_metrics(&config)?;
        let state = AppState::new(config).await?;
        let router = web::router(state.clone());
        Ok(Self {
            listener,
            metrics_listener,
            router,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port of the `/metrics` listener, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight and stops the delivery worker
    /// gracefully (deliveries in flight finish, claimed ones not started are released).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(
            address = ?self.listener.local_addr().ok(),
            public_url = %self.state.config.site.public_url,
            "serving"
        );
        let stopped = shared_shutdown(shutdown);
        let metrics_server = self.metrics_listener.map(|l| {
            tokio::spawn(web::metrics::serve(
                l,
                self.state.db.clone(),
                self.state.delivery_metrics.clone(),
                self.state.intake.counters.clone(),
                stopped(),
            ))
        });
        let scheduler = tokio::spawn(crate::federation::schedule::run(
            self.state.clone(),
            stopped(),
        ));
        let mailer = self
            .state
            .config
            .email
            .enabled
            .then(|| tokio::spawn(crate::notify::run(self.state.clone(), stopped())));
        let limits = web::serve::Limits::from_config(&self.state.config.server);
        let served = web::serve::serve(self.listener, self.router, limits, stopped()).await;
        let _ = scheduler.await;
        if let Some(mailer) = mailer {
            let _ = mailer.await;
        }
        self.state.stop_workers().await;
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        served
    }
}
