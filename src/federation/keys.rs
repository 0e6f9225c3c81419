//! The blog actor's key pairs (RSA, and Ed25519 for RFC 9421 where peers accept it): generated on first start,
//! stored in the database, loaded once and kept parsed.

use base64::{Engine, engine::general_purpose::STANDARD};

use std::sync::Arc;

use super::signatures::{Ed25519Key, KeyError, PrivateKey};
use crate::db::{Db, actor_keys};

/// The name under which the blog actor's RSA key is stored.
const BLOG_ACTOR: &str = "blog";
/// The name under which the blog actor's Ed25519 key is stored.
const BLOG_ED25519: &str = "blog-ed25519";

/// The blog actor's keys, ready to sign.
#[derive(Debug)]
pub struct BlogKey {
    pub private: PrivateKey,
    pub public_pem: String,
    /// When the key (and so the actor) was created: the actor's `published`.
    pub created_at: i64,
    /// The Ed25519 key published as a FEP-521a `Multikey` (`None` for an actor that has only its RSA key, like
    /// the WordPress actor this blog took over).
    pub ed25519: Option<Ed25519Key>,
}

#[derive(Debug, thiserror::Error)]
pub enum BlogKeyError {
    #[error("cannot read or store the blog's key: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the blog's stored key is unusable: {0}")]
    Key(#[from] KeyError),
    #[error("the stored key is not base64")]
    Encoding,
    #[error("key generation failed: {0}")]
    Task(String),
}

/// The name under which the key of the WordPress actor this blog took over is stored (see `import::wp_actor`).
pub const WORDPRESS_ACTOR: &str = "wordpress";

/// The stored key of the local actor `signer` other than the blog, with the key id it is published under.
pub async fn load_signer(
    db: &Db,
    signer: &str,
) -> Result<Option<(Arc<BlogKey>, String)>, sqlx::Error> {
    if signer != WORDPRESS_ACTOR {
        return Ok(None);
    }
    let Some(actor_id) = crate::db::settings::all(db)
        .await?
        .remove(crate::domain::moving::WP_ACTOR_ID)
    else {
        return Ok(None);
    };
    let Some(stored) = actor_keys::find(db, signer).await? else {
        return Ok(None);
    };
    match parse(stored) {
        Ok(key) => Ok(Some((Arc::new(key), format!("{actor_id}#main-key")))),
        Err(e) => {
            tracing::error!(%signer, error = %e, "a stored signing key is unusable");
            Ok(None)
        }
    }
}

fn parse(stored: actor_keys::StoredKey) -> Result<BlogKey, BlogKeyError> {
    let der = STANDARD
        .decode(stored.private_key_pkcs8.as_bytes())
        .map_err(|_| BlogKeyError::Encoding)?;
    Ok(BlogKey {
        private: PrivateKey::from_pkcs8_der(&der)?,
        public_pem: stored.public_key_pem,
        created_at: stored.created_at,
        ed25519: None,
    })
}

/// Loads the stored key, or makes and stores one (RSA-2048) on first start.
pub async fn load_or_create(db: &Db) -> Result<BlogKey, BlogKeyError> {
    let stored = match actor_keys::find(db, BLOG_ACTOR).await? {
        Some(stored) => stored,
        None => {
            let (der, pem) =
                tokio::task::spawn_blocking(|| -> Result<(String, String), KeyError> {
                    let key = PrivateKey::generate()?;
                    Ok((STANDARD.encode(key.to_pkcs8_der()?), key.public_key_pem()?))
                })
                .await
                .map_err(|e| BlogKeyError::Task(e.to_string()))??;
            tracing::info!("generated the blog actor's RSA-2048 key pair");
            actor_keys::insert_or_keep(db, BLOG_ACTOR, &der, &pem).await?
        }
    };
    let mut key = parse(stored)?;
    key.ed25519 = Some(load_or_create_ed25519(db).await?);
    Ok(key)
}

/// Loads the stored Ed25519 key, or makes and stores one (on first start, and on the first start of a blog made
/// before Steppe had one).
async fn load_or_create_ed25519(db: &Db) -> Result<Ed25519Key, BlogKeyError> {
    let stored = match actor_keys::find(db, BLOG_ED25519).await? {
        Some(stored) => stored,
        None => {
            let key = Ed25519Key::generate()?;
            let der = STANDARD.encode(key.to_pkcs8_der()?);
            tracing::info!("generated the blog actor's Ed25519 key pair");
            actor_keys::insert_or_keep(db, BLOG_ED25519, &der, &key.public_key_pem()).await?
        }
    };
    let der = STANDARD
        .decode(stored.private_key_pkcs8.as_bytes())
        .map_err(|_| BlogKeyError::Encoding)?;
    Ok(Ed25519Key::from_pkcs8_der(&der)?)
}
