//! The command line: `serve` (the default), `worker`, `migrate`, `admin create-owner`, `admin reset-password`,
//! `check-config`, `import wxr`, `import archive`, `import wp-actor`, `export`, `backup`.

use std::{io::BufRead, path::PathBuf};

use clap::{Parser, Subcommand};

use crate::{
    app::App,
    config::Config,
    db::{Db, users::CreateOwnerError},
    domain::users::{NewOwner, create_owner},
};

#[derive(Debug, Parser)]
#[command(name = "steppe", version, about = "A federated blog server")]
pub struct Cli {
    /// The configuration file; keys can be overridden with STEPPE_SECTION__KEY variables.
    #[arg(
        long,
        short,
        global = true,
        default_value = "config.toml",
        env = "STEPPE_CONFIG"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the blog (the default when no command is given).
    Serve,
    /// Deliver queued activities, and apply received ones, without serving the blog. Several worker processes, on
    /// several machines, can share one PostgreSQL database with `serve` processes (set `delivery.workers = 0` and
    /// `inbox.workers = 0` to keep `serve` from doing either).
    Worker {
        /// Deliveries sent at once; defaults to delivery.workers, or 64 when that is 0.
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Create or update the database schema, then exit.
    Migrate,
    /// Owner account tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Load and validate the configuration, then exit.
    CheckConfig,
    /// Bring a blog in from another platform.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write the whole blog into one zip archive (posts as Markdown and as database rows, revisions, media,
    /// comments, reactions, followers, blocks, settings and the actor's key pair), which `steppe import archive`
    /// restores. The archive holds secrets: keep it like a password.
    Export {
        /// The new file to write (never overwritten).
        #[arg(long, short)]
        output: PathBuf,
        /// Only the posts and pages as Markdown files with their images: no database rows, no secrets.
        #[arg(long)]
        posts_only: bool,
    },
    /// Copy the SQLite database consistently while the blog serves (PostgreSQL: use pg_dump). The copy is checked
    /// by reading it back; restore it by pointing database.url at it (see the README, "Backups").
    Backup {
        /// The new file to write (never overwritten).
        #[arg(long, short)]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A Steppe archive (`steppe export`): restores everything into an empty install. On the same site.public_url
    /// every id, address and the key pair stay the same; on another, the posts are reached at their new ids and
    /// the old blog is listed as this one's old account, ready for a Move. Run it while the blog is stopped.
    Archive {
        /// The archive (.zip).
        file: PathBuf,
        /// Restore into an install that already holds a blog, adding only what is not here yet.
        #[arg(long)]
        merge: bool,
    },
    /// The fediverse actor of the WordPress blog (ActivityPub plugin) that Steppe replaces at the same domain: its
    /// followers are sent a Move, signed with its own key, to this blog. Safe to run again; run `import wxr` before or
    /// after it for the posts.
    WpActor {
        /// The old actor's id, e.g. https://example.com/?author=0 for the blog actor.
        #[arg(long)]
        actor_id: String,
        /// Its key pair: `wp option get activitypub_keypair_for_0 --format=json`, or a PEM private key.
        #[arg(long)]
        key: PathBuf,
        /// The old actor document saved while WordPress served it (else it is fetched from --actor-id).
        #[arg(long)]
        actor: Option<PathBuf>,
        /// A WordPress export that holds the plugin's followers (ap_actor or ap_follower items).
        #[arg(long)]
        wxr: Option<PathBuf>,
        /// A followers file: a JSON list of actor ids or actors, or a followers collection.
        #[arg(long)]
        followers: Option<PathBuf>,
    },
    /// A WordPress export (Tools → Export → All content): posts, pages, dates, tags and categories, comments
    /// (federated ones included); old addresses keep working. Safe to run again: what is unchanged is skipped, what a
    /// newer export changed is updated.
    Wxr {
        /// The export file (.xml).
        file: PathBuf,
        /// A copy of the old site's wp-content/uploads folder: its images are copied into the media library.
        #[arg(long)]
        uploads: Option<PathBuf>,
        /// Fetch the images that are not under --uploads from the old site (through the guarded client).
        #[arg(long)]
        fetch_media: bool,
        /// Read the export and report what would be imported; store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send each imported published post to the followers (by default imported posts are not announced).
        #[arg(long)]
        announce: bool,
        /// The time zone of dates the export gives only in the site's local time (drafts), e.g. Asia/Almaty.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the owner account without the web form. The password is read from the first line of standard input.
    CreateOwner {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
    },
    /// Set a new password for a forgotten one, read from the first line of standard input; every session of the
    /// account ends.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

/// Why a command failed; printed as one line by `main`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Start(#[from] crate::app::StartError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("{0}")]
    Invalid(String),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let mut config = Config::load(&cli.config, std::env::vars())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = App::build(config).await?;
            app.run(shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Worker { workers } => {
            let workers = match workers.unwrap_or(config.delivery.workers) {
                0 => crate::config::DeliveryConfig::default().workers,
                n => n,
            };
            crate::app::run_worker(config, workers, shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            let db = Db::connect(&config.database.url, config.database.max_connections).await?;
            db.migrate().await?;
            println!("database is up to date");
        }
        Command::Export { output, posts_only } => export(config, &output, posts_only).await?,
        Command::Backup { output } => {
            // One connection is enough, and the migrations are not run: a backup copies what is there.
            let url = crate::export::backup::existing_only(&config.database.url);
            let db = Db::connect(&url, 1).await?;
            let backup = crate::export::backup::write(&db, &output)
                .await
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            println!("{backup}");
        }
        Command::CheckConfig => {
            println!("configuration OK: {}", cli.config.display());
        }
        Command::Import(ImportCommand::WpActor {
            actor_id,
            key,
            actor,
            wxr,
            followers,
        }) => {
            config.delivery.workers = 0;
            config.inbox.workers = 0;
            let state = crate::app::AppState::new(config).await?;
            let options = crate::import::wp_actor::Options {
                actor_id,
                key,
                actor,
                wxr,
                followers,
            };
            let summary = crate::import::wp_actor::run(&state, &options)
                .await
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            println!("{summary}");
        }
        Command::Import(ImportCommand::Archive { file, merge }) => {
            config.delivery.workers = 0;
            config.inbox.workers = 0;
            let state = crate::app::AppState::new(config).await?;
            let summary = crate::import::archive::restore(&state, &file, merge)
                .await
                .map_err(|e| CliError::Invalid(format!("{}: {e}", file.display())))?;
            println!("{summary}");
        }
        Command::Import(ImportCommand::Wxr {
            file,
            uploads,
            fetch_media,
            dry_run,
            announce,
            timezone,
        }) => {
            import_wxr(
                config,
                file,
                uploads,
                fetch_media,
                dry_run,
                announce,
                &timezone,
            )
            .await?
        }
        Command::Admin(AdminCommand::CreateOwner {
            username,
            display_name,
        }) => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let mut owner = NewOwner {
                username,
                display_name,
                password: password.trim_end_matches(['\r', '\n']).to_string(),
            };
            let errors = owner.validate();
            if !errors.is_empty() {
                let text: Vec<String> = errors.into_iter().map(|(_, m)| m).collect();
                return Err(CliError::Invalid(text.join(" ")));
            }
            let db = Db::connect(&config.database.url, config.database.max_connections).await?;
            db.migrate().await?;
            match create_owner(&db, &crate::domain::users::Hashing::new(1), owner).await {
                Ok(user) => println!("owner {} created", user.username),
                Err(CreateOwnerError::AlreadyExists) => {
                    return Err(CliError::Invalid("an owner account already exists".into()));
                }
                Err(CreateOwnerError::Db(e)) => {
                    return Err(CliError::Invalid(format!("database error: {e}")));
                }
            }
        }
        Command::Admin(AdminCommand::ResetPassword { username }) => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let min = crate::domain::users::MIN_PASSWORD_CHARS;
            if password.chars().count() < min {
                return Err(CliError::Invalid(format!(
                    "Password: at least {min} characters."
                )));
            }
            let db = Db::connect(&config.database.url, config.database.max_connections).await?;
            db.migrate().await?;
            let hash = crate::domain::users::Hashing::new(1)
                .hash(password)
                .await
                .map_err(CliError::Invalid)?;
            match crate::db::users::set_password(&db, &username, &hash).await {
                Ok(true) => {
                    println!("password of {username} changed; every session of it has ended")
                }
                Ok(false) => {
                    return Err(CliError::Invalid(format!(
                        "no account is named {username:?}"
                    )));
                }
                Err(e) => return Err(CliError::Invalid(format!("database error: {e}"))),
            }
        }
    }
    Ok(())
}

/// `steppe import wxr`: a progress bar on a terminal (plain lines elsewhere), then the summary.
async fn import_wxr(
    mut config: Config,
    file: PathBuf,
    uploads: Option<PathBuf>,
    fetch_media: bool,
    dry_run: bool,
    announce: bool,
    timezone: &str,
) -> Result<(), CliError> {
    let zone = crate::domain::dates::Zone::named(timezone).ok_or_else(|| {
        CliError::Invalid(format!(
            "--timezone: {timezone:?} is not a time zone (e.g. Europe/Berlin)"
        ))
    })?;
    if let Some(dir) = &uploads
        && !dir.is_dir()
    {
        return Err(CliError::Invalid(format!(
            "--uploads: {} is not a folder",
            dir.display()
        )));
    }
    // The serving processes deliver; this one only queues (with --announce).
    config.delivery.workers = 0;
    config.inbox.workers = 0;
    let state = crate::app::AppState::new(config).await?;
    let options = crate::import::Options {
        dry_run,
        announce,
        zone,
        media: crate::import::media::Sources {
            uploads,
            fetch: fetch_media,
        },
    };
    let progress = crate::import::progress::Terminal::new();
    let summary = crate::import::run(&state, &file, &options, &progress)
        .await
        .map_err(|e| CliError::Invalid(format!("{}: {e}", file.display())))?;
    for line in summary.lines() {
        println!("{line}");
    }
    Ok(())
}

/// `steppe export`: the archive is written next to `output` and renamed when whole, so that a stopped export never
/// leaves a file that looks complete.
async fn export(
    mut config: Config,
    output: &std::path::Path,
    posts_only: bool,
) -> Result<(), CliError> {
    if output.exists() {
        return Err(CliError::Invalid(format!(
            "{} exists already; give a new file name",
            output.display()
        )));
    }
    let partial = output.with_extension("partial");
    let file = std::fs::File::create_new(&partial)
        .map_err(|e| CliError::Invalid(format!("cannot create {}: {e}", partial.display())))?;
    // This process only reads; the serving one delivers.
    config.delivery.workers = 0;
    config.inbox.workers = 0;
    let state = crate::app::AppState::new(config).await?;
    let contents = if posts_only {
        crate::export::archive::Contents::PostsOnly
    } else {
        crate::export::archive::Contents::Full
    };
    let written =
        crate::export::archive::write(&state, std::io::BufWriter::new(file), contents).await;
    let summary = match written {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(CliError::Invalid(e.to_string()));
        }
    };
    std::fs::rename(&partial, output)?;
    println!("archive written to {}: {summary}", output.display());
    if !posts_only {
        println!(
            "it holds the blog's private key and the owner's password hash: keep it like a password"
        );
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
