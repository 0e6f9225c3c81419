//! The archive format, shared by the writer (`export::archive`) and the reader (`import::archive`): a zip file
//! whose first entry is `manifest.json` and whose last is `checksums.json` (the SHA-256 of every other entry).
//!
//! ```text
//! manifest.json            format, version, the Steppe and schema versions, the blog's address and actor, counts,
//!                          and which files are secret
//! data/<table>.jsonl       every row of each archived table, one JSON object per line (what a restore reads)
//! posts/YYYY-MM-DD-slug.md the posts as Markdown with front matter; drafts/…, pages/… likewise
//! media/<hash>-<width>.<ext>  every stored image variant
//! checksums.json           {"files": {"<name>": {"sha256": "…", "bytes": N}, …}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `manifest.format` of a full archive, and of the Markdown-only "download my posts" zip.
pub const FULL: &str = "steppe-archive";
pub const POSTS_ONLY: &str = "steppe-posts";
/// The archive layout this Steppe writes and reads; a newer one is refused.
pub const VERSION: u32 = 1;

pub const MANIFEST: &str = "manifest.json";
pub const CHECKSUMS: &str = "checksums.json";

/// Largest manifest or checksum list read (a hostile archive could claim anything).
pub const MAX_INDEX_BYTES: u64 = 64 * 1024 * 1024;
/// Longest line of a table file.
pub const MAX_ROW_BYTES: usize = 32 * 1024 * 1024;
/// Largest media file read back.
pub const MAX_MEDIA_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableEntry {
    pub name: String,
    pub file: String,
    pub rows: i64,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub steppe_version: String,
    /// The newest database migration of the install that wrote it.
    pub schema: i64,
    pub created_at: String,
    pub public_url: String,
    pub actor_id: String,
    pub username: String,
    /// Whether the archive holds secrets (the actor's private key, the owner's password hash): keep it like a
    /// password.
    pub contains_secrets: bool,
    /// The files that hold them.
    #[serde(default)]
    pub secret_files: Vec<String>,
    #[serde(default)]
    pub tables: Vec<TableEntry>,
    #[serde(default)]
    pub media_files: i64,
    #[serde(default)]
    pub markdown_files: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileSum {
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checksums {
    pub files: BTreeMap<String, FileSum>,
}

/// Whether `name` is an archive entry name Steppe writes: relative, no `..`, no backslash, no absolute path.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The media file name in `media/<name>`, when it is one Steppe writes (`<32 hex>-<width>.<ext>`).
pub fn media_name(entry: &str) -> Option<&str> {
    let name = entry.strip_prefix("media/")?;
    let (stem, ext) = name.rsplit_once('.')?;
    let (hash, width) = stem.split_once('-')?;
    let ok = crate::domain::media::is_hash(hash)
        && !width.is_empty()
        && width.len() <= 6
        && width.bytes().all(|b| b.is_ascii_digit())
        && matches!(ext, "jpg" | "png" | "webp" | "gif");
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_stay_inside() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a\\b",
            "a//b",
            "./a",
            "a\0b",
        ] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        assert!(safe_name("data/posts.jsonl"));
        assert_eq!(
            media_name("media/0123456789abcdef0123456789abcdef-1600.jpg"),
            Some("0123456789abcdef0123456789abcdef-1600.jpg")
        );
        for bad in [
            "media/../x.jpg",
            "media/0123456789abcdef0123456789abcdef-16x0.jpg",
            "media/x-1.jpg",
            "media/0123456789abcdef0123456789abcdef-1600.svg",
            "data/0123456789abcdef0123456789abcdef-1600.jpg",
        ] {
            assert_eq!(media_name(bad), None, "{bad}");
        }
    }
}
