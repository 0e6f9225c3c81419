//! Incoming activities as other servers (Mastodon first) send them: the envelope every activity shares, and the
//! shapes of the ones Steppe reads. Unknown members are ignored; members Steppe needs are required.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An id given bare or as an object that has one (`"actor": "https://…"` or `"actor": {"id": "https://…", …}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference(pub String);

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Id(String),
            Object { id: String },
        }
        Ok(match Shape::deserialize(d)? {
            Shape::Id(id) | Shape::Object { id } => Reference(id),
        })
    }
}

impl Reference {
    /// The id in a member already parsed as JSON (a member of an embedded object, say).
    pub fn of(value: &Value) -> Option<Self> {
        Self::deserialize(value).ok()
    }
}

/// `to` and `cc` come as a list or, from some servers, a single value.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Shape>::deserialize(d)? {
        None => Vec::new(),
        Some(Shape::One(s)) => vec![s],
        Some(Shape::Many(v)) => v,
    })
}

/// `tag` and `attachment` come as a list or, when there is one (JSON-LD compaction, as Fedify writes it), as the
/// object itself.
fn values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list,
        Some(one) => vec![one],
    })
}

/// What every incoming activity must have; its `object` is read by the handler of its type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Reference,
    #[serde(default)]
    pub object: Value,
    #[serde(default, deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub cc: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub id: String,
    pub actor: Reference,
    pub object: Reference,
}

/// An Undo; its object is the activity undone, embedded (Mastodon) or by id.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo {
    pub id: String,
    pub actor: Reference,
    pub object: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delete {
    pub actor: Reference,
    /// The actor itself, or a Tombstone (or id) of one of its objects.
    pub object: Reference,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Like {
    pub id: String,
    pub actor: Reference,
    pub object: Reference,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Announce {
    pub id: String,
    pub actor: Reference,
    pub object: Reference,
    #[serde(default, deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub cc: Vec<String>,
}

/// A reply or post from another server.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributed_to: Reference,
    pub in_reply_to: Option<String>,
    /// HTML, to be sanitised before display.
    #[serde(default)]
    pub content: String,
    /// The content warning, when set.
    pub summary: Option<String>,
    pub published: Option<String>,
    pub updated: Option<String>,
    pub url: Option<Value>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "values")]
    pub tag: Vec<Value>,
    #[serde(default, deserialize_with = "values")]
    pub attachment: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Create {
    pub id: String,
    pub actor: Reference,
    pub object: Note,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/mastodon/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("fixture");
        serde_json::from_str(&text).expect("fixture is JSON")
    }

    #[test]
    fn every_fixture_has_an_envelope() {
        for name in [
            "follow",
            "undo_follow",
            "create_note",
            "delete_note",
            "delete_actor",
            "like",
            "announce",
        ] {
            let e: Envelope =
                serde_json::from_value(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(e.actor.0, "https://mastodon.example/users/alice", "{name}");
        }
    }

    #[test]
    fn mastodon_shapes_parse() {
        let f: Follow = serde_json::from_value(fixture("follow")).expect("Follow");
        assert_eq!(f.object.0, "https://blog.example/users/blog");
        let u: Undo = serde_json::from_value(fixture("undo_follow")).expect("Undo");
        let undone: Follow = serde_json::from_value(u.object).expect("embedded Follow");
        assert_eq!(undone.id, f.id);
        let c: Create = serde_json::from_value(fixture("create_note")).expect("Create");
        assert_eq!(c.object.kind, "Note");
        assert_eq!(
            c.object.attributed_to.0,
            "https://mastodon.example/users/alice"
        );
        assert!(
            c.object
                .in_reply_to
                .as_deref()
                .is_some_and(|r| r.contains("/articles/"))
        );
        assert!(c.object.content.contains("Aigerim’s letter"));
        assert_eq!(c.object.summary, None);
        assert_eq!(c.object.cc.len(), 2);
        let d: Delete = serde_json::from_value(fixture("delete_note")).expect("Delete");
        assert!(d.object.0.ends_with("/statuses/113000000000000001"));
        let d: Delete = serde_json::from_value(fixture("delete_actor")).expect("Delete actor");
        assert_eq!(d.object.0, d.actor.0);
        let l: Like = serde_json::from_value(fixture("like")).expect("Like");
        assert!(l.object.0.contains("/articles/"));
        let a: Announce = serde_json::from_value(fixture("announce")).expect("Announce");
        assert_eq!(a.to, ["https://www.w3.org/ns/activitystreams#Public"]);
    }

    #[test]
    fn lenient_where_servers_differ() {
        let e: Envelope = serde_json::from_value(serde_json::json!({
            "type": "Follow", "actor": {"id": "https://a.example/u", "type": "Person"},
            "to": "https://www.w3.org/ns/activitystreams#Public"
        }))
        .expect("envelope");
        assert_eq!(e.actor.0, "https://a.example/u");
        assert_eq!(e.to.len(), 1);
        assert!(serde_json::from_value::<Envelope>(serde_json::json!({"type": "Follow"})).is_err());
    }
}
