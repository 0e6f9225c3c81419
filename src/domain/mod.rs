//! The blog's rules, free of HTTP and of ActivityPub: validated values, Markdown rendering, post validation.

pub mod comments;
pub mod content;
pub mod dates;
pub mod media;
pub mod moderation;
pub mod moving;
pub mod posts;
pub mod slug;
pub mod users;
