//! E-mail digests of the owner's notifications: a loop in every `steppe serve` process (with `email.enabled`) that
//! claims what is new once the oldest item has waited `email.wait_seconds`, sends it as one mail over SMTP
//! (lettre), and marks it sent; a refused or hung send releases the claim and is tried again later. Nothing else
//! waits on it.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};

use crate::{
    app::AppState,
    config::EmailConfig,
    db::notifications::{self, Kind, Notification},
};

/// Items listed in one mail; the rest are counted.
const LISTED: usize = 50;

/// Why a digest was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the mail cannot be built: {0}")]
    Build(String),
    #[error("the SMTP server: {0}")]
    Smtp(String),
    #[error("the SMTP server did not answer in time")]
    Timeout,
}

/// Runs until `stopped` completes.
pub async fn run(state: AppState, stopped: impl std::future::Future<Output = ()>) {
    tokio::pin!(stopped);
    let config = state.config.email.clone();
    let poll = Duration::from_secs(
        u64::try_from(config.wait_seconds / 4)
            .unwrap_or(1)
            .clamp(1, 30),
    );
    loop {
        let pause = match send_due(&state, &config).await {
            Ok(_) => poll,
            Err(e) => {
                tracing::warn!(error = %e, "notification e-mail not sent; trying again later");
                Duration::from_secs(config.retry_seconds)
            }
        };
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Sends one digest of what is due, if anything; returns how many notifications it held.
pub async fn send_due(state: &AppState, config: &EmailConfig) -> Result<usize, SendError> {
    let claim = uuid::Uuid::now_v7().simple().to_string();
    let lease = i64::try_from(config.timeout_seconds.saturating_mul(3)).unwrap_or(60);
    let due = notifications::claim_for_email(&state.db, &claim, config.wait_seconds, lease)
        .await
        .map_err(|e| SendError::Smtp(format!("database: {e}")))?;
    if due.is_empty() {
        return Ok(0);
    }
    let sent = send(state, config, &due).await;
    let marked = match &sent {
        Ok(()) => notifications::emailed(&state.db, &claim).await,
        Err(_) => notifications::release(&state.db, &claim).await,
    };
    if let Err(e) = marked {
        tracing::warn!(error = %e, "cannot mark the notification digest");
    }
    sent.map(|()| {
        tracing::info!(items = due.len(), "notification digest sent");
        due.len()
    })
}

async fn send(
    state: &AppState,
    config: &EmailConfig,
    due: &[Notification],
) -> Result<(), SendError> {
    let site = state.site();
    let message = Message::builder()
        .from(
            config
                .from
                .parse::<Mailbox>()
                .map_err(|e| SendError::Build(e.to_string()))?,
        )
        .to(config
            .to
            .parse::<Mailbox>()
            .map_err(|e| SendError::Build(e.to_string()))?)
        .subject(subject(&site.title, due))
        .header(ContentType::TEXT_PLAIN)
        .body(body(state.urls.base(), due))
        .map_err(|e| SendError::Build(e.to_string()))?;
    let builder = match config.tls.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
            .map_err(|e| SendError::Smtp(e.to_string()))?,
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
            .map_err(|e| SendError::Smtp(e.to_string()))?,
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
    };
    let timeout = Duration::from_secs(config.timeout_seconds);
    let mut builder = builder.port(config.port).timeout(Some(timeout));
    if !config.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            config.username.clone(),
            config.password.clone(),
        ));
    }
    let transport = builder.build();
    // lettre's timeout covers each read and write; this bounds the whole conversation.
    match tokio::time::timeout(timeout.saturating_mul(2), transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(SendError::Smtp(e.to_string())),
        Err(_) => Err(SendError::Timeout),
    }
}

/// "[Steppe] 3 new: 2 comments, 1 follower".
fn subject(title: &str, due: &[Notification]) -> String {
    let count = |kind: Kind| due.iter().filter(|n| n.kind == kind.as_str()).count();
    let parts: Vec<String> = [
        (count(Kind::Comment), "comment", "comments"),
        (
            count(Kind::Waiting),
            "waiting for approval",
            "waiting for approval",
        ),
        (count(Kind::Mention), "mention", "mentions"),
        (count(Kind::Follower), "follower", "followers"),
        (
            count(Kind::DeliveryFailed),
            "failed delivery",
            "failed deliveries",
        ),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
    .collect();
    let title: String = title.chars().filter(|c| !c.is_control()).take(80).collect();
    format!("[{title}] {} new: {}", due.len(), parts.join(", "))
}

fn body(base: &str, due: &[Notification]) -> String {
    let mut text = String::from("New on your blog:\n\n");
    for n in due.iter().rev().take(LISTED) {
        let summary: String = n.summary.chars().filter(|c| !c.is_control()).collect();
        text.push_str(&format!(
            "- {}: {summary}\n  {base}{}\n",
            Kind::label(&n.kind),
            n.url
        ));
    }
    if due.len() > LISTED {
        text.push_str(&format!("\n… and {} more.\n", due.len() - LISTED));
    }
    text.push_str(&format!(
        "\nAll notifications: {base}/admin/notifications\n"
    ));
    text
}
