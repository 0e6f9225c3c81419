//! Taking the blog away: `backup` (a consistent copy of the SQLite database while serving).
pub mod backup;
