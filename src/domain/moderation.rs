//! Moderation rules: the comment policy the owner chooses, and reading a domain blocklist (one domain per line,
//! or Mastodon's CSV export of domain blocks).

/// What happens to a new reply that a page could show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Shown at once.
    PublishAll,
    /// Held for approval unless the author has an approved comment already (the default).
    #[default]
    HoldFirst,
    /// Every reply waits for approval.
    HoldAll,
}

impl Policy {
    /// The settings key it is stored under.
    pub const KEY: &'static str = "comments.policy";

    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value? {
            "publish_all" => Some(Self::PublishAll),
            "hold_first" => Some(Self::HoldFirst),
            "hold_all" => Some(Self::HoldAll),
            _ => None,
        }
    }

    /// The stored policy, or the default.
    pub fn from_setting(value: Option<&str>) -> Self {
        Self::parse(value).unwrap_or(Self::HoldFirst)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PublishAll => "publish_all",
            Self::HoldFirst => "hold_first",
            Self::HoldAll => "hold_all",
        }
    }

    /// Whether a reply by an author with (`known`) or without an approved comment is held.
    pub fn holds(self, known: bool) -> bool {
        match self {
            Self::PublishAll => false,
            Self::HoldFirst => !known,
            Self::HoldAll => true,
        }
    }
}

/// A domain as blocks name it: lowercase letters, digits, dots and dashes (and a port), no scheme or path.
pub fn normalize_domain(text: &str) -> Option<String> {
    let d = text.trim().trim_start_matches("*.").trim_end_matches('.');
    let d = d.to_ascii_lowercase();
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => (h, Some(p)),
        _ => (d.as_str(), None),
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && !host.starts_with('-');
    ok.then(|| match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// Reads a blocklist: one domain per line, or a CSV whose first column is the domain (Mastodon's export, with its
/// `#domain,#severity,…` header). Blank lines and `#` comments are skipped. Returns the domains and the lines that
/// were not domains.
pub fn parse_blocklist(text: &str) -> (Vec<String>, Vec<String>) {
    let mut domains = Vec::new();
    let mut bad = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        match normalize_domain(first) {
            Some(d) if !domains.contains(&d) => domains.push(d),
            Some(_) => {}
            None => bad.push(line.chars().take(100).collect()),
        }
    }
    (domains, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        assert_eq!(Policy::from_setting(None), Policy::HoldFirst);
        assert!(Policy::HoldFirst.holds(false));
        assert!(!Policy::HoldFirst.holds(true));
        assert!(Policy::HoldAll.holds(true));
        assert!(!Policy::PublishAll.holds(false));
        assert_eq!(Policy::parse(Some("hold_all")), Some(Policy::HoldAll));
        assert_eq!(Policy::parse(Some("nonsense")), None);
    }

    #[test]
    fn blocklists_plain_and_mastodon_csv() {
        let text = "# my list\nspam.example\n\nBad.Example.\n*.wild.example\nnot a domain\n";
        let (d, bad) = parse_blocklist(text);
        assert_eq!(d, ["spam.example", "bad.example", "wild.example"]);
        assert_eq!(bad, ["not a domain"]);
        let csv = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                   spam.example,suspend,false,false,,false\nevil.example,suspend,true,true,\"nope, really\",false\n";
        let (d, bad) = parse_blocklist(csv);
        assert_eq!(d, ["spam.example", "evil.example"]);
        assert!(bad.is_empty());
        assert_eq!(
            normalize_domain("127.0.0.1:8080"),
            Some("127.0.0.1:8080".into())
        );
        assert_eq!(normalize_domain("https://x.example/"), None);
    }
}
