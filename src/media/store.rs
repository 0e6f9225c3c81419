//! Where media bytes live: a local folder (the default) or an S3-compatible bucket that several `steppe serve`
//! machines share, both behind `object_store`'s one trait. Local writes go to a temporary file that is renamed into
//! place, so a crash leaves no half file under a served name.

use std::sync::Arc;

use bytes::Bytes;
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, aws::AmazonS3Builder, local::LocalFileSystem,
    path::Path,
};

use crate::config::MediaConfig;

/// The configured store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Whether it is a bucket (for the admin page and the logs).
    pub remote: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.inner)
    }
}

/// A store that could not be opened, with the config key to look at.
#[derive(Debug, thiserror::Error)]
#[error("media store ({key}): {message}")]
pub struct OpenError {
    pub key: &'static str,
    pub message: String,
}

impl Store {
    /// Opens the store `config` names: `media.storage = "local"` (the folder `media.dir`, created if missing) or
    /// `"s3"` (credentials from the config, else from the standard `AWS_…` environment variables).
    pub fn open(config: &MediaConfig) -> Result<Self, OpenError> {
        match config.storage.as_str() {
            "s3" => {
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(&config.s3.bucket);
                if !config.s3.endpoint.is_empty() {
                    builder = builder
                        .with_endpoint(&config.s3.endpoint)
                        .with_allow_http(config.s3.endpoint.starts_with("http://"));
                }
                if !config.s3.region.is_empty() {
                    builder = builder.with_region(&config.s3.region);
                }
                if !config.s3.access_key_id.is_empty() {
                    builder = builder.with_access_key_id(&config.s3.access_key_id);
                }
                if !config.s3.secret_access_key.is_empty() {
                    builder = builder.with_secret_access_key(&config.s3.secret_access_key);
                }
                let store = builder
                    .with_virtual_hosted_style_request(config.s3.virtual_hosted)
                    .build()
                    .map_err(|e| OpenError {
                        key: "media.s3",
                        message: e.to_string(),
                    })?;
                Ok(Self {
                    inner: Arc::new(store),
                    remote: true,
                })
            }
            _ => {
                std::fs::create_dir_all(&config.dir).map_err(|e| OpenError {
                    key: "media.dir",
                    message: format!("cannot create {:?}: {e}", config.dir),
                })?;
                let store =
                    LocalFileSystem::new_with_prefix(&config.dir).map_err(|e| OpenError {
                        key: "media.dir",
                        message: e.to_string(),
                    })?;
                Ok(Self {
                    inner: Arc::new(store),
                    remote: false,
                })
            }
        }
    }

    /// Stores `bytes` under `name` (a content address: writing it twice writes the same bytes).
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        self.inner
            .put(&Path::from(name), PutPayload::from(bytes))
            .await
            .map(|_| ())
    }

    /// The bytes under `name`; `None` when there are none.
    pub async fn get(&self, name: &str) -> Result<Option<Bytes>, object_store::Error> {
        match self.inner.get(&Path::from(name)).await {
            Ok(result) => result.bytes().await.map(Some),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes `name`; a name that is already gone is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), object_store::Error> {
        match self.inner.delete(&Path::from(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
