//! Steppe, a federated blog server: a blog that fediverse users follow and answer.
//!
//! Map of the crate (layering: `web` → `domain` → `db`; nothing below `web` knows HTTP):
//! - [`cli`]: the command line (`serve`, `worker`, `migrate`, `admin create-owner`, `admin reset-password`,
//!   `check-config`, `import wxr`, `backup`).
//! - [`config`]: `config.toml`, `STEPPE_…` overrides, validation naming the bad key.
//! - [`app`]: `AppState` shared by handlers, `App::build` (binds, migrates), `App::run(shutdown)`.
//! - [`error`]: `AppError`, the one error type at the HTTP boundary; logs causes, shows safe text.
//! - [`db`]: the SQLite-or-PostgreSQL pool, migrations, and SQL per table group.
//! - [`domain`]: validated values (slugs, tags, posts, owner), Markdown rendering, password hashing.
//! - [`federation`]: ActivityPub: signatures, documents, inboxes, publishing, and the durable delivery queue.
//! - [`export`]: `steppe backup`: a consistent copy of the database while serving.
//! - [`import`]: `steppe import wxr` and `/admin/import`: WordPress exports read as a stream and stored post by post,
//!   with their images.
//! - [`media`]: images: processing uploads into variants, the local or S3 store, commenters' avatars copied.
//! - [`notify`]: e-mail digests of the owner's notifications (SMTP, off by default).
//! - `fuzzing`: the bodies of the fuzz targets (`fuzz/`), replayed on the committed corpus by `cargo test`.
//! - [`ratelimit`]: bounded in-memory budgets (key fetches per host, lookups per client).
//! - [`web`]: the accept loop (timeouts, connection bounds), routes, reader and admin pages, sessions and CSRF,
//!   `/metrics`.
//!
//! No global state: every handler reaches configuration and database through `AppState`, so two instances can
//! run in one process (the fuzz harness's one test key is the exception, and serves no request).

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod federation;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod media;
pub mod notify;
pub mod ratelimit;
pub mod web;
