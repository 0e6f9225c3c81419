//! Wire types: ActivityStreams documents exactly as they travel, apart from the stored types in `db`.

pub mod activity;
pub mod actor;
pub mod collection;
pub mod nodeinfo;
pub mod object;
pub mod webfinger;

use serde_json::{Value, json};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The `@context` of every document: ActivityStreams, the security vocabulary (publicKey), the Multikey vocabulary
/// and `assertionMethod` (the actor's Ed25519 key, FEP-521a), and the terms from Mastodon's namespace that actors
/// and Articles use.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        "https://w3id.org/security/multikey/v1",
        {
            "assertionMethod": {
                "@id": "https://w3id.org/security#assertionMethod",
                "@type": "@id",
                "@container": "@set"
            },
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "alsoKnownAs": { "@id": "as:alsoKnownAs", "@type": "@id" },
            "movedTo": { "@id": "as:movedTo", "@type": "@id" },
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "blurhash": "toot:blurhash",
            "Hashtag": "as:Hashtag"
        }
    ])
}
