//! Media: uploads processed into stored variants ([`process`]), the store behind one trait ([`store`]), and the copies
//! of commenters' avatars ([`avatars`]). [`Media`] ties them together under a bound on concurrent processing.

pub mod avatars;
pub mod process;
pub mod store;

use std::{sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use crate::{
    config::MediaConfig,
    db::{self, Db, media::MediaRow},
    domain::media::{VariantInfo, variant_name},
};
pub use process::{Bounds, Refusal};
pub use store::Store;

/// How long an upload waits for a processing slot before the owner is asked to try again.
const SLOT_WAIT: Duration = Duration::from_secs(30);

/// Why an upload did not become an image.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file itself: the message is for the owner.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// Every processing slot stayed busy.
    #[error("the server is busy processing other images: try again in a moment")]
    Busy,
    #[error("storing the image failed: {0}")]
    Store(#[from] object_store::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("image processing stopped unexpectedly")]
    Crashed,
}

/// The media service of one instance.
pub struct Media {
    pub store: Store,
    pub bounds: Bounds,
    /// Bounds how many images are decoded at once, and so the memory they take.
    slots: Arc<Semaphore>,
    /// `media.public_url`, without a trailing slash; empty to serve through Steppe.
    pub public_url: String,
    /// Seconds before a copied avatar is refreshed.
    pub avatar_max_age: i64,
    /// Remote avatars being fetched now, so that many pages asking at once start one fetch.
    pub(crate) avatar_fetches: avatars::InFlight,
}

impl Media {
    pub fn new(config: &MediaConfig) -> Result<Self, store::OpenError> {
        Ok(Self {
            store: Store::open(config)?,
            bounds: Bounds {
                max_bytes: config.max_upload_bytes,
                max_pixels: config.max_megapixels.saturating_mul(1_000_000),
            },
            slots: Arc::new(Semaphore::new(config.processing_slots)),
            public_url: config.public_url.trim_end_matches('/').to_string(),
            avatar_max_age: i64::try_from(config.remote_avatar_max_age_days.saturating_mul(86_400))
                .unwrap_or(i64::MAX),
            avatar_fetches: avatars::InFlight::default(),
        })
    }

    /// Runs `work` on a blocking thread once a processing slot is free.
    pub(crate) async fn in_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, UploadError> {
        let _permit = tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| UploadError::Busy)?
            .map_err(|_| UploadError::Busy)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| UploadError::Crashed)
    }

    /// Processes an upload, stores its variants and its original, and records it. Nothing is stored for a file that
    /// is refused. An upload whose content was stored before returns the existing row (with its description).
    pub async fn upload(
        &self,
        db: &Db,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<MediaRow, UploadError> {
        self.upload_new(db, file_name, bytes)
            .await
            .map(|(row, _)| row)
    }

    /// [`Media::upload`], saying whether the image is new to the media library.
    pub async fn upload_new(
        &self,
        db: &Db,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<(MediaRow, bool), UploadError> {
        // Cheap checks first, so that a refused file never waits for a slot.
        let kind = process::identify(&bytes, self.bounds)?;
        let bounds = self.bounds;
        let original_bytes = bytes.len();
        let (processed, bytes) = self
            .in_slot(move || (process::process(&bytes, bounds), bytes))
            .await?;
        let processed = processed?;
        let variants: Vec<VariantInfo> = processed
            .variants
            .iter()
            .map(|v| VariantInfo {
                width: v.width,
                height: v.height,
                format: v.format,
                bytes: v.bytes.len() as u64,
            })
            .collect();
        if db::media::find(db, &processed.hash).await?.is_none() {
            for v in processed.variants {
                let name = variant_name(&processed.hash, v.width, v.format);
                self.store.put(&name, v.bytes).await?;
            }
            // Kept for reprocessing later; never served (the name is not a variant's).
            self.store
                .put(
                    &format!("originals/{}.{}", processed.hash, kind.extension()),
                    bytes,
                )
                .await?;
        }
        let row = MediaRow {
            id: processed.hash,
            original_name: display_name(file_name),
            original_type: kind.media_type().to_string(),
            original_bytes: i64::try_from(original_bytes).unwrap_or(i64::MAX),
            width: i64::from(processed.width),
            height: i64::from(processed.height),
            blurhash: processed.blurhash,
            alt: None,
            variants: serde_json::to_string(&variants).unwrap_or_else(|_| "[]".into()),
            created_at: db::now(),
        };
        Ok(db::media::insert(db, &row).await?)
    }

    /// Removes an upload's files (its row is already gone).
    pub async fn remove_files(&self, row: &MediaRow) -> Result<(), object_store::Error> {
        for v in row.variants() {
            self.store
                .delete(&variant_name(&row.id, v.width, v.format))
                .await?;
        }
        let ext = crate::domain::media::ImageType::from_media_type(&row.original_type)
            .map_or("bin", |t| t.extension());
        self.store
            .delete(&format!("originals/{}.{ext}", row.id))
            .await
    }
}

/// A file name as uploaded, reduced to something safe to show: the last path segment, without control characters,
/// at most 200 characters.
pub fn display_name(file_name: &str) -> String {
    let last = file_name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        "image".into()
    } else {
        clean.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_paths() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\me\\cat.jpg"), "cat.jpg");
        assert_eq!(display_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(display_name("../"), "image");
    }
}
