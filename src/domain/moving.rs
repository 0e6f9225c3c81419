//! Moving the blog's audience: its other accounts (`alsoKnownAs`), where it has moved (`movedTo`), and the rule that
//! a blog moves at most once every seven days (Mastodon's, in `app/lib/activitypub/activity/move.rb`).

use std::collections::HashMap;

/// The settings keys, stored with the site settings.
pub const ALSO_KNOWN_AS: &str = "also_known_as";
pub const MOVED_TO: &str = "moved_to";
pub const MOVED_TO_HANDLE: &str = "moved_to_handle";
pub const MOVED_TO_PAGE: &str = "moved_to_page";
/// When the blog last moved (unix seconds); kept when a move is undone, so that the seven days still count.
pub const MOVED_AT: &str = "moved_at";

/// The WordPress ActivityPub actor this blog took over on the same domain (`steppe import wp-actor`): its id, its
/// `preferredUsername` and name, as the old actor document had them.
pub const WP_ACTOR_ID: &str = "wp_actor_id";
pub const WP_ACTOR_USERNAME: &str = "wp_actor_username";
pub const WP_ACTOR_NAME: &str = "wp_actor_name";

/// The new blog's address, where readers are sent (301) from every public page (`/posts/slug` → its `/posts/slug`),
/// once the archive was restored there.
pub const REDIRECT_TO: &str = "redirect_to";

/// The stored address readers are sent to, checked again (a bad stored value sends nobody anywhere).
pub fn redirect_to(stored: &HashMap<String, String>) -> Option<String> {
    stored
        .get(REDIRECT_TO)
        .and_then(|v| redirect_base(v, true).ok())
}

/// `typed` as a base address to send readers to: an absolute http(s) URL without query or fragment; its path
/// (without the trailing slash) is kept as a prefix. Plain http only when `allow_http`.
pub fn redirect_base(typed: &str, allow_http: bool) -> Result<String, &'static str> {
    let url = url::Url::parse(typed.trim()).map_err(|_| "not an address (https://…)")?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok || url.host_str().is_none() {
        return Err("not an https:// address");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an address without ? or #");
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// How long after a move the next one is refused; Mastodon ignores a second Move within this time.
pub const MOVE_COOLDOWN_SECONDS: i64 = 7 * 24 * 3600;
/// Old accounts listed at most (Mastodon's form takes a handful; more is a mistake or abuse).
pub const MAX_ALIASES: usize = 10;

/// Where the blog has moved: the new account's id, its `@user@host`, and its profile page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub id: String,
    pub handle: String,
    pub page: String,
}

/// The blog's other accounts, as stored (one actor id per line).
pub fn aliases(stored: &HashMap<String, String>) -> Vec<String> {
    stored
        .get(ALSO_KNOWN_AS)
        .map(|v| {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The stored form of a list of actor ids.
pub fn aliases_value(ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.join("\n"))
}

/// Where the blog has moved, if it has.
pub fn moved(stored: &HashMap<String, String>) -> Option<Moved> {
    let id = stored.get(MOVED_TO).filter(|v| !v.is_empty())?;
    Some(Moved {
        id: id.clone(),
        handle: stored
            .get(MOVED_TO_HANDLE)
            .cloned()
            .unwrap_or_else(|| id.clone()),
        page: stored
            .get(MOVED_TO_PAGE)
            .cloned()
            .unwrap_or_else(|| id.clone()),
    })
}

/// When the next move is allowed, if not now: `moved_at` plus seven days, when that is after `now`.
pub fn next_move_allowed(stored: &HashMap<String, String>, now: i64) -> Option<i64> {
    let last = stored.get(MOVED_AT)?.parse::<i64>().ok()?;
    let next = last.saturating_add(MOVE_COOLDOWN_SECONDS);
    (next > now).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn aliases_round_trip_and_skip_blank_lines() {
        let ids = vec![
            "https://a.example/u/x".to_string(),
            "https://b.example/y".to_string(),
        ];
        let value = aliases_value(&ids).expect("a value");
        assert_eq!(
            aliases(&stored(&[(ALSO_KNOWN_AS, &format!("{value}\n\n"))])),
            ids
        );
        assert_eq!(aliases_value(&[]), None);
        assert!(aliases(&stored(&[])).is_empty());
    }

    #[test]
    fn moves_are_seven_days_apart() {
        let now = 1_000_000_000;
        assert_eq!(next_move_allowed(&stored(&[]), now), None);
        let recent = stored(&[(MOVED_AT, &(now - 3600).to_string())]);
        assert_eq!(
            next_move_allowed(&recent, now),
            Some(now - 3600 + MOVE_COOLDOWN_SECONDS)
        );
        let old = stored(&[(MOVED_AT, &(now - MOVE_COOLDOWN_SECONDS).to_string())]);
        assert_eq!(next_move_allowed(&old, now), None);
        // A stored value that is not a number does not block the owner forever.
        assert_eq!(next_move_allowed(&stored(&[(MOVED_AT, "x")]), now), None);
    }

    #[test]
    fn redirect_addresses_are_checked() {
        assert_eq!(
            redirect_base("https://new.example/", false),
            Ok("https://new.example".into())
        );
        assert_eq!(
            redirect_base(" https://new.example/blog/ ", false),
            Ok("https://new.example/blog".into())
        );
        assert!(redirect_base("http://new.example", false).is_err());
        assert!(redirect_base("http://127.0.0.1:8080", true).is_ok());
        assert!(redirect_base("javascript:alert(1)", true).is_err());
        assert!(redirect_base("https://new.example/?x=1", false).is_err());
        assert!(redirect_base("new.example", false).is_err());
    }

    #[test]
    fn moved_needs_an_id() {
        assert_eq!(moved(&stored(&[(MOVED_TO, "")])), None);
        let m = moved(&stored(&[(MOVED_TO, "https://n.example/u/b")])).expect("moved");
        assert_eq!(m.handle, "https://n.example/u/b");
    }
}
