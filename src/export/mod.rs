//! Taking the blog away: `archive` (everything, streamed into one zip with checksums; or the posts alone as
//! Markdown), `format` (the archive's layout, shared with `import::archive`), `markdown` (posts as files with front
//! matter) and `backup` (a consistent copy of the SQLite database while serving).
pub mod archive;
pub mod backup;
pub mod format;
pub mod markdown;
