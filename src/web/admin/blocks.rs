//! The owner's Blocks page: blocked accounts and domains, blocking one by hand, lifting a block, and importing a
//! domain blocklist (one domain per line, or Mastodon's CSV export).

use askama::Template;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::NoticeQuery;
use crate::{
    app::AppState,
    config::SiteConfig,
    db::blocks,
    domain::{
        dates,
        moderation::{normalize_domain, parse_blocklist},
    },
    error::AppError,
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::render,
    },
};

struct BlockRow {
    kind: String,
    value: String,
    since: String,
}

#[derive(Template)]
#[template(path = "admin/blocks.html")]
struct BlocksPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    notice: Option<&'static str>,
    errors: Vec<String>,
    blocks: Vec<BlockRow>,
}

async fn page(
    state: &AppState,
    owner: &Owner,
    csrf: &CsrfToken,
    notice: Option<&'static str>,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let blocks = blocks::list(&state.db)
        .await?
        .into_iter()
        .map(|b| BlockRow {
            kind: b.kind,
            value: b.value,
            since: dates::moment(b.created_at),
        })
        .collect();
    render(&BlocksPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        notice,
        errors,
        blocks,
    })
}

pub async fn show(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    page(&state, &owner, &csrf, notice.message(), Vec::new()).await
}

#[derive(Deserialize)]
pub struct BlockForm {
    #[serde(default)]
    value: String,
    #[serde(default)]
    list: String,
}

/// Blocks a domain or an account (an actor URL), or imports a list of domains.
pub async fn add(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<BlockForm>,
) -> Result<Response, AppError> {
    let value = form.value.trim();
    if !value.is_empty() {
        if value.starts_with("https://") || value.starts_with("http://") {
            blocks::block(&state.db, "actor", value).await?;
        } else if value.trim_start_matches('@').contains('@') {
            match crate::federation::discovery::resolve_account(&state.client, value).await {
                Ok(actor) => {
                    blocks::block(&state.db, "actor", &actor).await?;
                }
                Err(e) => {
                    let error = format!(
                        "\u{201c}{value}\u{201d} could not be blocked: {e} Give its address (https://\u{2026}) or block its domain."
                    );
                    return page(&state, &owner, &csrf, None, vec![error]).await;
                }
            }
        } else if let Some(domain) = normalize_domain(value) {
            blocks::block(&state.db, "domain", &domain).await?;
        } else {
            let error = format!(
                "“{value}” is neither a domain (spam.example), an account (@user@server.example) nor an account's address (https://…)."
            );
            return page(&state, &owner, &csrf, None, vec![error]).await;
        }
        return Ok(Redirect::to("/admin/blocks?notice=blocked").into_response());
    }
    let (domains, bad) = parse_blocklist(&form.list);
    if domains.is_empty() {
        return page(
            &state,
            &owner,
            &csrf,
            None,
            vec!["Give a domain or an account, or paste a list of domains.".into()],
        )
        .await;
    }
    for domain in &domains {
        blocks::block(&state.db, "domain", domain).await?;
    }
    tracing::info!(
        domains = domains.len(),
        skipped = bad.len(),
        "blocklist imported"
    );
    if !bad.is_empty() {
        let errors = vec![format!(
            "{} domains blocked; these lines were not domains and were skipped: {}",
            domains.len(),
            bad.join(" · ")
        )];
        return page(&state, &owner, &csrf, None, errors).await;
    }
    Ok(Redirect::to("/admin/blocks?notice=imported").into_response())
}

#[derive(Deserialize)]
pub struct UnblockForm {
    kind: String,
    value: String,
}

pub async fn remove(
    State(state): State<AppState>,
    _owner: Owner,
    CsrfForm(form): CsrfForm<UnblockForm>,
) -> Result<Response, AppError> {
    blocks::unblock(&state.db, &form.kind, &form.value).await?;
    Ok(Redirect::to("/admin/blocks?notice=unblocked").into_response())
}
