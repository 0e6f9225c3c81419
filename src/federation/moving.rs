//! Moving followers between accounts: the blog's old accounts listed in `alsoKnownAs` (moving in), and a `Move` of
//! the blog to a new account (moving out), each checked against the other account as its server describes it now.
//! Every change is announced in the same transaction that makes it: an `Update` of the profile, or the `Move`.

use std::collections::HashMap;

use super::{
    activities::{r#move, update},
    actors::{self, Profile},
    discovery,
};
use crate::{
    app::AppState,
    db::{self, deliveries, settings},
    domain::moving::{self, Moved},
    error::AppError,
};

/// Why an account could not be added or moved to; the text is shown to the owner as it is.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("Give the account as @name@server or as the address of its profile (https://…).")]
    NotAnAccount,
    #[error(
        "Could not find {0}: its server did not answer with an account. Check the spelling, or try again later."
    )]
    NotFound(String),
    #[error("That is this blog itself.")]
    Ourselves,
    #[error(
        "{handle} does not list this blog as one of its other accounts yet. On that account, add {ours} as an alias (Mastodon: Preferences → Account → Moving from a different account → Create an account alias), then try again."
    )]
    NotListed { handle: String, ours: String },
    #[error("{handle} has itself moved away; move to the account it moved to instead.")]
    TargetMoved { handle: String },
    #[error(
        "The blog moved less than seven days ago; Mastodon ignores a second move that soon. The next move is possible from {0}."
    )]
    TooSoon(String),
    #[error("At most {} other accounts can be listed.", moving::MAX_ALIASES)]
    TooManyAliases,
    #[error(transparent)]
    Internal(#[from] AppError),
}

impl From<sqlx::Error> for MoveError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// The account the owner typed (`@name@server`, `name@server` or an actor URL), fetched from its server now.
pub async fn resolve(state: &AppState, typed: &str) -> Result<Profile, MoveError> {
    let typed = typed.trim();
    let id = if typed.starts_with("https://") || typed.starts_with("http://") {
        url::Url::parse(typed)
            .map_err(|_| MoveError::NotAnAccount)?
            .to_string()
    } else if typed.trim_start_matches('@').contains('@') {
        discovery::resolve_account(&state.client, typed)
            .await
            .map_err(|e| match e {
                discovery::InteractionError::NotAnAddress => MoveError::NotAnAccount,
                _ => MoveError::NotFound(typed.to_string()),
            })?
    } else {
        return Err(MoveError::NotAnAccount);
    };
    if id == state.urls.actor() {
        return Err(MoveError::Ourselves);
    }
    let profile = actors::fetch_profile(&state.db, &state.client, &id)
        .await
        .map_err(|e| {
            tracing::info!(account = %id, error = %e, "an account named in the moving settings is unusable");
            MoveError::NotFound(typed.to_string())
        })?;
    if profile.actor.id == state.urls.actor() {
        return Err(MoveError::Ourselves);
    }
    Ok(profile)
}

/// Stores `changes` over the site settings and queues, in the same transaction, the `Update` of the profile they
/// make, for every follower; then the settings are read again.
async fn change_profile(
    state: &AppState,
    stored: &HashMap<String, String>,
    changes: &[(&str, Option<String>)],
) -> Result<(), AppError> {
    let mut after = stored.clone();
    for (key, value) in changes {
        match value {
            Some(v) => after.insert(key.to_string(), v.clone()),
            None => after.remove(*key),
        };
    }
    let site = settings::site_from(&state.config.site, &after);
    let person = super::documents::person_with(state, &site, &after)?;
    let (id, body) = update::build_profile(state, &person);
    announce(state, changes, "profile", &site.title, &id, &body).await
}

/// Stores `changes` over the site settings and queues the activity `body` (of `kind`, labelled `label`) for every
/// follower, in one transaction; then the settings are read again.
async fn announce(
    state: &AppState,
    changes: &[(&str, Option<String>)],
    kind: &str,
    label: &str,
    activity_id: &str,
    body: &str,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    settings::set_in(&mut tx, changes).await?;
    deliveries::queue_for_followers(
        &mut tx,
        &deliveries::NewActivity {
            activity_id,
            kind,
            label,
            body,
            signer: deliveries::BLOG_SIGNER,
        },
    )
    .await?;
    state.db.commit_content(tx).await?;
    state.wakeup.wake();
    state.reload_site().await?;
    Ok(())
}

/// Lists the account the owner typed among the blog's other accounts (`alsoKnownAs`), so that a Move from it to
/// the blog is honoured. Adding one already listed changes nothing.
pub async fn add_alias(state: &AppState, typed: &str) -> Result<Profile, MoveError> {
    let profile = resolve(state, typed).await?;
    let stored = settings::all(&state.db).await?;
    let mut ids = moving::aliases(&stored);
    if ids.contains(&profile.actor.id) {
        return Ok(profile);
    }
    if ids.len() >= moving::MAX_ALIASES {
        return Err(MoveError::TooManyAliases);
    }
    ids.push(profile.actor.id.clone());
    change_profile(
        state,
        &stored,
        &[(moving::ALSO_KNOWN_AS, moving::aliases_value(&ids))],
    )
    .await?;
    tracing::info!(alias = %profile.actor.id, "account added to the blog's alsoKnownAs");
    Ok(profile)
}

/// Takes the account `id` off the blog's other accounts.
pub async fn remove_alias(state: &AppState, id: &str) -> Result<(), AppError> {
    let stored = settings::all(&state.db).await?;
    let before = moving::aliases(&stored);
    let ids: Vec<String> = before.iter().filter(|a| *a != id).cloned().collect();
    if ids.len() == before.len() {
        return Ok(());
    }
    change_profile(
        state,
        &stored,
        &[(moving::ALSO_KNOWN_AS, moving::aliases_value(&ids))],
    )
    .await?;
    tracing::info!(alias = %id, "account taken off the blog's alsoKnownAs");
    Ok(())
}

/// Moves the blog to the account the owner typed: checks that its `alsoKnownAs` lists the blog and that the blog
/// has not moved in the last seven days, then records `movedTo` and queues a `Move` for every follower, in one
/// transaction. Each follower's server then follows the new account (Mastodon moves followers in batches).
pub async fn move_to(state: &AppState, typed: &str) -> Result<Moved, MoveError> {
    let stored = settings::all(&state.db).await?;
    if let Some(next) = moving::next_move_allowed(&stored, db::now()) {
        return Err(MoveError::TooSoon(state.site().zone().human(next)));
    }
    let profile = resolve(state, typed).await?;
    let ours = state.urls.actor();
    if profile.moved_to.is_some() {
        return Err(MoveError::TargetMoved {
            handle: profile.actor.handle,
        });
    }
    if !profile.also_known_as.contains(&ours) {
        return Err(MoveError::NotListed {
            handle: profile.actor.handle,
            ours: state.urls.handle(),
        });
    }
    let moved = Moved {
        id: profile.actor.id.clone(),
        handle: profile.actor.handle.clone(),
        page: profile.page.clone(),
    };
    let (activity_id, body) = r#move::build(state, &ours, &moved.id);
    announce(
        state,
        &[
            (moving::MOVED_TO, Some(moved.id.clone())),
            (moving::MOVED_TO_HANDLE, Some(moved.handle.clone())),
            (moving::MOVED_TO_PAGE, Some(moved.page.clone())),
            (moving::MOVED_AT, Some(db::now().to_string())),
        ],
        "move",
        &moved.handle,
        &activity_id,
        &body,
    )
    .await?;
    tracing::info!(target = %moved.id, "the blog moved; Move queued for every follower");
    Ok(moved)
}

/// Undoes a move: `movedTo` is removed and the profile's `Update` tells followers' servers. Followers already moved
/// stay with the new account; the seven days still count from the move.
pub async fn undo_move(state: &AppState) -> Result<(), AppError> {
    let stored = settings::all(&state.db).await?;
    if moving::moved(&stored).is_none() {
        return Ok(());
    }
    change_profile(
        state,
        &stored,
        &[
            (moving::MOVED_TO, None),
            (moving::MOVED_TO_HANDLE, None),
            (moving::MOVED_TO_PAGE, None),
        ],
    )
    .await?;
    tracing::info!("the blog's move is undone");
    Ok(())
}

/// For a Follow that arrives after the blog moved: the `Move`, queued for the new follower's `inbox` inside the
/// caller's transaction, so that their server follows the new account too.
pub async fn tell_new_follower(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    handle: &str,
    inbox: &str,
) -> Result<(), sqlx::Error> {
    let Some(moved) = state.site().moved_to.clone() else {
        return Ok(());
    };
    let (activity_id, body) = r#move::build(state, &state.urls.actor(), &moved.id);
    deliveries::queue_direct(
        tx,
        &deliveries::NewActivity {
            activity_id: &activity_id,
            kind: "move",
            label: handle,
            body: &body,
            signer: deliveries::BLOG_SIGNER,
        },
        &[inbox.to_string()],
        state.config.delivery.give_up_after_seconds,
    )
    .await?;
    Ok(())
}

/// The blog's other accounts in the stored settings, with what is known of each (name, handle, avatar), for the
/// settings page.
pub async fn aliases(
    state: &AppState,
    stored: &HashMap<String, String>,
) -> Result<Vec<(String, Option<db::remote_actors::RemoteActor>)>, sqlx::Error> {
    let mut out = Vec::new();
    for id in moving::aliases(stored) {
        let known = db::remote_actors::find(&state.db, &id).await?;
        out.push((id, known));
    }
    Ok(out)
}
