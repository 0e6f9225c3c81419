//! Federation: Steppe as an ActivityPub actor. So far: HTTP signatures (`signatures`), the blog actor's key pair
//! (`keys`), and discovery (WebFinger, host-meta, NodeInfo, the actor and Article documents in `documents`).

pub mod signatures;
