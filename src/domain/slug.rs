//! Validated names: `Slug` for URLs of posts and tags, derived from titles and tag names.

use std::fmt;

/// A URL path segment: lowercase ASCII letters, digits and single dashes, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

/// Longest slug accepted or derived.
pub const MAX_SLUG_LEN: usize = 100;

impl Slug {
    /// Accepts a slug typed by the owner, after lowercasing it; `None` when it is not a valid slug.
    pub fn parse(input: &str) -> Option<Self> {
        let s = input.trim().to_ascii_lowercase();
        let valid = !s.is_empty()
            && s.len() <= MAX_SLUG_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        valid.then_some(Self(s))
    }

    /// Derives a slug from free text ("A Kazakh’s View" → "a-kazakhs-view"); `None` when nothing usable is left.
    pub fn derive(text: &str) -> Option<Self> {
        let mut out = String::new();
        let mut pending_dash = false;
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                if pending_dash && !out.is_empty() {
                    out.push('-');
                }
                pending_dash = false;
                out.push(c.to_ascii_lowercase());
            } else if matches!(c, '\'' | '’' | '`' | '‘') {
                // Apostrophes join words: "Kazakh’s" → "kazakhs".
            } else if c.is_alphanumeric() {
                // Other scripts keep their letters (Cyrillic, Kazakh): percent-free URLs need ASCII, so these
                // are transliterated where a common table exists, else dropped.
                if let Some(t) = transliterate(c) {
                    if pending_dash && !out.is_empty() {
                        out.push('-');
                    }
                    pending_dash = false;
                    out.push_str(t);
                }
            } else {
                pending_dash = true;
            }
            if out.len() >= MAX_SLUG_LEN {
                break;
            }
        }
        let mut s: String = out.chars().take(MAX_SLUG_LEN).collect();
        while s.ends_with('-') {
            s.pop();
        }
        Self::parse(&s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This slug with "-N" appended, kept within the length limit.
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = format!("-{n}");
        let keep = MAX_SLUG_LEN - suffix.len();
        let base: String = self.0.chars().take(keep).collect();
        Self(format!("{}{suffix}", base.trim_end_matches('-')))
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Latin transliteration of Cyrillic letters (Russian and Kazakh), lowercase.
fn transliterate(c: char) -> Option<&'static str> {
    let lower = c.to_lowercase().next()?;
    Some(match lower {
        'а' => "a",
        'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'ғ' => "g",
        'д' => "d",
        'е' | 'ё' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'й' | 'і' => "i",
        'к' => "k",
        'қ' => "q",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'ң' => "ng",
        'о' => "o",
        'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ұ' | 'ү' => "u",
        'ф' => "f",
        'х' | 'һ' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ы' => "y",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

/// The first path segments of Steppe's own routes, and names kept for later ones: a page at `/{slug}` may not take
/// them (the route would win, or the page would hide it).
pub const RESERVED: &[&str] = &[
    "activities",
    "admin",
    "api",
    "archives",
    "articles",
    "assets",
    "atom",
    "author",
    "category",
    "comments",
    "feed",
    "favicon",
    "follow",
    "healthz",
    "inbox",
    "interact",
    "login",
    "logout",
    "media",
    "nodeinfo",
    "notes",
    "outbox",
    "page",
    "pages",
    "posts",
    "robots",
    "rss",
    "rss2",
    "search",
    "sitemap",
    "static",
    "tag",
    "tags",
    "users",
    "well-known",
];

/// Whether a page may live at `/{slug}`.
pub fn is_reserved(slug: &str) -> bool {
    RESERVED.contains(&slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_from_titles() {
        let s = |t: &str| Slug::derive(t).map(|s| s.0);
        assert_eq!(
            s("A Kazakh’s View of Human Trafficking in Kazakhstan").as_deref(),
            Some("a-kazakhs-view-of-human-trafficking-in-kazakhstan")
        );
        assert_eq!(s("  NGOs  ").as_deref(), Some("ngos"));
        assert_eq!(s("human trafficking").as_deref(), Some("human-trafficking"));
        assert_eq!(s("Қазақстан").as_deref(), Some("qazaqstan"));
        assert_eq!(s("C++ & Rust!").as_deref(), Some("c-rust"));
        assert_eq!(s("!!!"), None);
        let long = "word ".repeat(60);
        let derived = Slug::derive(&long).expect("slug");
        assert!(derived.as_str().len() <= MAX_SLUG_LEN && !derived.as_str().ends_with('-'));
    }

    #[test]
    fn parses_typed_slugs() {
        assert_eq!(
            Slug::parse("Hello-World").map(|s| s.0).as_deref(),
            Some("hello-world")
        );
        for bad in ["", "-a", "a-", "a--b", "a b", "a/b", "é"] {
            assert!(Slug::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn suffix_stays_within_limit() {
        let base = Slug::parse(&"a".repeat(MAX_SLUG_LEN)).expect("slug");
        let s = base.with_suffix(12);
        assert!(s.as_str().len() <= MAX_SLUG_LEN && s.as_str().ends_with("-12"));
    }
}
