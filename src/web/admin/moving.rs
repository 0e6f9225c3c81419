//! The "Moving" section of the settings page: the blog's old accounts ("Also known as", so that their followers can
//! be moved here), and "Move this blog" to a new account, with its undo.

use std::collections::HashMap;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    db::settings,
    domain::moving::{self, Moved},
    error::AppError,
    federation::moving::{self as federation_moving, MoveError},
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::render,
    },
};

/// One of the blog's other accounts as the page shows it.
pub struct AliasView {
    pub id: String,
    pub handle: String,
    pub name: String,
    /// This blog's copy of its avatar, when there is one yet.
    pub avatar: Option<String>,
}

/// What the section shows.
#[derive(Default)]
pub struct MovingView {
    /// The blog's actor id: what the new account must list among its aliases.
    pub actor_id: String,
    pub aliases: Vec<AliasView>,
    pub alias_typed: String,
    pub alias_errors: Vec<String>,
    pub moved: Option<Moved>,
    /// When the blog last moved, as the owner reads dates.
    pub moved_at: Option<String>,
    /// When the next move is allowed, if not now.
    pub next_move: Option<String>,
    pub move_typed: String,
    pub move_errors: Vec<String>,
    /// Where readers are sent, if anywhere; what the owner typed, and its problem.
    pub redirect_to: Option<String>,
    pub redirect_typed: String,
    pub redirect_errors: Vec<String>,
}

/// The section as it stands, from the stored settings `values`.
pub async fn view(
    state: &AppState,
    values: &HashMap<String, String>,
) -> Result<MovingView, AppError> {
    let known = federation_moving::aliases(state, values).await?;
    let avatars: Vec<String> = known
        .iter()
        .filter_map(|(_, a)| a.as_ref().and_then(|a| a.avatar_url.clone()))
        .collect();
    let served = crate::media::avatars::served(state, &avatars).await?;
    let zone = state.site().zone();
    Ok(MovingView {
        actor_id: state.urls.actor(),
        aliases: known
            .into_iter()
            .map(|(id, actor)| match actor {
                Some(a) => AliasView {
                    avatar: a.avatar_url.as_ref().and_then(|u| served.get(u).cloned()),
                    handle: a.handle,
                    name: a.name,
                    id,
                },
                None => AliasView {
                    handle: id.clone(),
                    name: String::new(),
                    avatar: None,
                    id,
                },
            })
            .collect(),
        moved: moving::moved(values),
        moved_at: values
            .get(moving::MOVED_AT)
            .and_then(|v| v.parse::<i64>().ok())
            .map(|at| zone.human(at)),
        next_move: moving::next_move_allowed(values, crate::db::now()).map(|n| zone.human(n)),
        redirect_to: moving::redirect_to(values),
        ..MovingView::default()
    })
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    account: String,
    /// "Move this blog" asks the owner to confirm.
    #[serde(default)]
    confirm: Option<String>,
}

#[derive(Deserialize)]
pub struct AliasForm {
    #[serde(default)]
    id: String,
}

/// The settings page again with a problem in the section (422), the owner's typing kept.
async fn refused(
    state: &AppState,
    owner: &Owner,
    csrf: &CsrfToken,
    fill: impl FnOnce(&mut MovingView),
) -> Result<Response, AppError> {
    let values = settings::all(&state.db).await?;
    let mut page = super::settings::page(
        state,
        csrf,
        owner,
        &values,
        &HashMap::new(),
        Vec::new(),
        None,
    );
    page.moving = view(state, &values).await?;
    fill(&mut page.moving);
    let html = render(&page)?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

/// The owner's problem, or the error to log.
fn problem(e: MoveError) -> Result<String, AppError> {
    match e {
        MoveError::Internal(e) => Err(e),
        other => Ok(other.to_string()),
    }
}

/// POST `/admin/settings/aliases`: lists an old account of the blog.
pub async fn add_alias(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Result<Response, AppError> {
    match federation_moving::add_alias(&state, &form.account).await {
        Ok(_) => Ok(Redirect::to("/admin/settings?notice=alias-added#moving").into_response()),
        Err(e) => {
            let message = problem(e)?;
            refused(&state, &owner, &csrf, |m| {
                m.alias_typed = form.account.trim().to_string();
                m.alias_errors.push(message);
            })
            .await
        }
    }
}

/// POST `/admin/settings/aliases/remove`: takes an account off the list.
pub async fn remove_alias(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<AliasForm>,
) -> Result<Response, AppError> {
    federation_moving::remove_alias(&state, form.id.trim()).await?;
    Ok(Redirect::to("/admin/settings?notice=alias-removed#moving").into_response())
}

/// POST `/admin/settings/move`: moves the blog to the account named, after the checks, once confirmed.
pub async fn move_blog(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Result<Response, AppError> {
    let outcome = if form.confirm.as_deref() == Some("1") {
        federation_moving::move_to(&state, &form.account)
            .await
            .map(|_| ())
            .map_err(problem)
    } else {
        Err(Ok(
            "Tick the box to confirm: every follower's server will be asked to follow the new account instead."
                .to_string(),
        ))
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/admin/settings?notice=moved#moving").into_response()),
        Err(Err(e)) => Err(e),
        Err(Ok(message)) => {
            refused(&state, &owner, &csrf, |m| {
                m.move_typed = form.account.trim().to_string();
                m.move_errors.push(message);
            })
            .await
        }
    }
}

/// POST `/admin/settings/move/undo`: the blog no longer says it moved.
pub async fn undo_move(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(_form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    federation_moving::undo_move(&state).await?;
    Ok(Redirect::to("/admin/settings?notice=move-undone#moving").into_response())
}

#[derive(Deserialize)]
pub struct RedirectForm {
    #[serde(default)]
    address: String,
}

/// POST `/admin/settings/redirect`: readers are sent to the new blog's address (empty: no longer).
pub async fn redirect(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<RedirectForm>,
) -> Result<Response, AppError> {
    let typed = form.address.trim();
    let value = if typed.is_empty() {
        None
    } else {
        match moving::redirect_base(typed, state.config.federation.allow_private_addresses) {
            Ok(base) if base == state.urls.base().trim_end_matches('/') => {
                return refused(&state, &owner, &csrf, |m| {
                    m.redirect_typed = typed.to_string();
                    m.redirect_errors
                        .push("That is this blog's own address.".to_string());
                })
                .await;
            }
            Ok(base) => Some(base),
            Err(problem) => {
                return refused(&state, &owner, &csrf, |m| {
                    m.redirect_typed = typed.to_string();
                    m.redirect_errors
                        .push(format!("The new blog's address: {problem}."));
                })
                .await;
            }
        }
    };
    let notice = if value.is_some() {
        "redirecting"
    } else {
        "not-redirecting"
    };
    settings::set(&state.db, &[(moving::REDIRECT_TO, value)]).await?;
    state.reload_site().await?;
    Ok(Redirect::to(&format!("/admin/settings?notice={notice}#moving")).into_response())
}
