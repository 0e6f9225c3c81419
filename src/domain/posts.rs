//! Posts: what the owner's form submits, its validation, and the values stored once it is valid.

use super::{content, slug::Slug};
use crate::config::LimitsConfig;

/// Whether readers can see a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostStatus {
    Draft,
    /// Published by the scheduler at its publication date; private until then.
    Scheduled,
    Published,
}

impl PostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Published => "published",
        }
    }

    /// The value of the `status` column: a scheduled post is stored as a draft (with `scheduled = 1`).
    pub fn stored(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Draft | Self::Scheduled => "draft",
        }
    }

    pub fn from_db(s: &str) -> Self {
        if s == "published" {
            Self::Published
        } else {
            Self::Draft
        }
    }
}

/// A typed publication date further in the past than this (seconds) backdates the post: published with that date,
/// and followers are told only when the owner asks.
pub const BACKDATED_BEFORE: i64 = 10 * 60;

/// What the editor's buttons and date field ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateChoice {
    pub status: PostStatus,
    pub published_at: Option<i64>,
    /// Whether followers are told (`Create`) when it becomes public.
    pub announce: bool,
}

/// Decides status and publication date from the button (`Draft` or `Published`), the typed date (`None`: empty),
/// the stored post (its status and date) and the "Announce to followers" box. `Err` names what cannot be done.
pub fn choose_dates(
    button: PostStatus,
    typed: Option<i64>,
    stored: Option<(PostStatus, Option<i64>)>,
    announce_box: bool,
    now: i64,
) -> Result<DateChoice, String> {
    let was_published = matches!(stored, Some((PostStatus::Published, _)));
    if button != PostStatus::Published {
        return Ok(DateChoice {
            status: PostStatus::Draft,
            published_at: typed,
            announce: true,
        });
    }
    // Any later time schedules: the field's minute is the owner's choice.
    let future = |t: i64| t > now;
    if was_published {
        let at = typed.or(stored.and_then(|(_, at)| at)).unwrap_or(now);
        if future(at) {
            return Err("This post is already published: a date in the future would take it off the blog. To \
                 schedule it, unpublish it first (followers are then sent a Delete), or leave the date as it was."
                .into());
        }
        return Ok(DateChoice {
            status: PostStatus::Published,
            published_at: Some(at),
            announce: announce_box,
        });
    }
    // A scheduled post moved to a time already past: most likely a slip, not a wish to backdate.
    if let (Some((PostStatus::Scheduled, _)), Some(at)) = (stored, typed)
        && at < now.saturating_sub(BACKDATED_BEFORE)
    {
        return Err("That time has already passed, so the post cannot be scheduled for it. Choose a later time \
             to keep it scheduled, or clear the date to publish it now. (To backdate it instead, save it as a \
             draft first.)"
            .into());
    }
    Ok(match typed {
        None => DateChoice {
            status: PostStatus::Published,
            published_at: Some(now),
            announce: true,
        },
        Some(at) if future(at) => DateChoice {
            status: PostStatus::Scheduled,
            published_at: Some(at),
            announce: true,
        },
        Some(at) if at < now.saturating_sub(BACKDATED_BEFORE) => DateChoice {
            status: PostStatus::Published,
            published_at: Some(at),
            announce: announce_box,
        },
        Some(at) => DateChoice {
            status: PostStatus::Published,
            published_at: Some(at),
            announce: true,
        },
    })
}

/// The post form exactly as typed; kept intact to show again when validation fails.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PostInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub body: String,
}

/// A tag as the owner spelled it, with its case-insensitive slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName {
    pub name: String,
    pub slug: Slug,
}

/// A post that passed validation, ready to store.
#[derive(Debug, Clone)]
pub struct ValidPost {
    pub title: String,
    /// The slug typed by the owner, which must be free; `None` means derive one from the title.
    pub chosen_slug: Option<Slug>,
    pub derived_slug: Slug,
    pub summary: String,
    pub body_markdown: String,
    pub body_html: String,
    pub excerpt_html: String,
    pub tags: Vec<TagName>,
}

/// One problem with the form, by field, in words for the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Splits "NGOs, human trafficking" into tags, dropping empty entries and repeats (by slug).
pub fn parse_tags(input: &str, limits: &LimitsConfig) -> Result<Vec<TagName>, Vec<FieldError>> {
    let mut tags: Vec<TagName> = Vec::new();
    let mut errors = Vec::new();
    for raw in input.split(',') {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            continue;
        }
        if name.chars().count() > limits.max_tag_chars {
            errors.push(err(
                "tags",
                format!(
                    "The tag \u{201c}{}…\u{201d} is longer than {} characters.",
                    name.chars().take(20).collect::<String>(),
                    limits.max_tag_chars
                ),
            ));
            continue;
        }
        let Some(slug) = Slug::derive(&name) else {
            errors.push(err(
                "tags",
                format!("The tag \u{201c}{name}\u{201d} needs at least one letter or digit."),
            ));
            continue;
        };
        if !tags.iter().any(|t| t.slug == slug) {
            tags.push(TagName { name, slug });
        }
    }
    if tags.len() > limits.max_tags {
        errors.push(err(
            "tags",
            format!("At most {} tags per post.", limits.max_tags),
        ));
    }
    if errors.is_empty() {
        Ok(tags)
    } else {
        Err(errors)
    }
}

impl PostInput {
    /// Checks every field and renders the Markdown; on failure lists every problem so the owner can fix all at once.
    pub fn validate(&self, limits: &LimitsConfig) -> Result<ValidPost, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = self.title.trim().to_string();
        if title.is_empty() {
            errors.push(err("title", "The title is empty."));
        } else if title.chars().count() > limits.max_title_chars {
            errors.push(err(
                "title",
                format!(
                    "The title is longer than {} characters.",
                    limits.max_title_chars
                ),
            ));
        }
        let chosen_slug = if self.slug.trim().is_empty() {
            None
        } else {
            match Slug::parse(&self.slug) {
                Some(s) => Some(s),
                None => {
                    errors.push(err(
                        "slug",
                        "The slug may use only letters a–z, digits and single dashes (at most 100).",
                    ));
                    None
                }
            }
        };
        let derived_slug = Slug::derive(&title);
        if chosen_slug.is_none()
            && self.slug.trim().is_empty()
            && derived_slug.is_none()
            && !title.is_empty()
        {
            errors.push(err(
                "slug",
                "No slug can be made from this title: type one (letters a–z, digits, dashes).",
            ));
        }
        if self.summary.chars().count() > limits.max_summary_chars {
            errors.push(err(
                "summary",
                format!(
                    "The summary is longer than {} characters.",
                    limits.max_summary_chars
                ),
            ));
        }
        if self.body.trim().is_empty() {
            errors.push(err("body", "The post has no text."));
        }
        let tags = match parse_tags(&self.tags, limits) {
            Ok(t) => t,
            Err(mut e) => {
                errors.append(&mut e);
                Vec::new()
            }
        };
        let derived_slug = match (derived_slug, &chosen_slug) {
            (Some(d), _) => d,
            (None, Some(c)) => c.clone(),
            (None, None) => return Err(errors),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        // Browsers send CRLF; store the text with plain newlines so that it round-trips unchanged.
        let body_markdown = self.body.replace("\r\n", "\n");
        let summary = self.summary.trim().replace("\r\n", "\n");
        Ok(ValidPost {
            body_html: content::render_markdown(&body_markdown),
            excerpt_html: content::excerpt_html(&summary, &body_markdown),
            title,
            chosen_slug,
            derived_slug,
            summary,
            body_markdown,
            tags,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod date_tests {
    use super::{DateChoice, PostStatus::*, choose_dates};

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn dates_decide_the_status() {
        let new = |typed, ann| choose_dates(Published, typed, None, ann, NOW).unwrap();
        assert_eq!(
            new(None, false),
            DateChoice {
                status: Published,
                published_at: Some(NOW),
                announce: true
            }
        );
        assert_eq!(new(Some(NOW + 3600), false).status, Scheduled);
        // Backdated: told only when asked.
        assert_eq!(
            new(Some(1_299_057_240), false),
            DateChoice {
                status: Published,
                published_at: Some(1_299_057_240),
                announce: false
            }
        );
        assert!(new(Some(1_299_057_240), true).announce);
        // The minute being typed is "now".
        assert!(new(Some(NOW - 59), false).announce);
        // A draft keeps the date chosen.
        assert_eq!(
            choose_dates(Draft, Some(NOW + 9), None, false, NOW)
                .unwrap()
                .published_at,
            Some(NOW + 9)
        );
        // A published post keeps its date when the field is left empty, and cannot move to the future.
        let stored = Some((Published, Some(NOW - 100_000)));
        assert_eq!(
            choose_dates(Published, None, stored, false, NOW)
                .unwrap()
                .published_at,
            Some(NOW - 100_000)
        );
        assert!(choose_dates(Published, Some(NOW + 86_400), stored, false, NOW).is_err());
        // A scheduled post with its date cleared is published now; moved to the past, it is refused.
        let scheduled = Some((Scheduled, Some(NOW + 100)));
        assert_eq!(
            choose_dates(Published, None, scheduled, false, NOW)
                .unwrap()
                .status,
            Published
        );
        assert!(choose_dates(Published, Some(NOW - 86_400), scheduled, false, NOW).is_err());
        assert_eq!(
            choose_dates(Published, Some(NOW + 60), scheduled, false, NOW)
                .unwrap()
                .status,
            Scheduled
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input(title: &str, tags: &str, body: &str) -> PostInput {
        PostInput {
            title: title.into(),
            tags: tags.into(),
            body: body.into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_post_derives_slug_and_tags() {
        let limits = LimitsConfig::default();
        let p = input(
            "A Kazakh’s View",
            "NGOs, human  trafficking, ngos,, ",
            "Text\r\nmore",
        )
        .validate(&limits)
        .expect("valid");
        assert_eq!(p.derived_slug.as_str(), "a-kazakhs-view");
        assert_eq!(p.chosen_slug, None);
        let names: Vec<_> = p
            .tags
            .iter()
            .map(|t| (t.name.as_str(), t.slug.as_str()))
            .collect();
        assert_eq!(
            names,
            [("NGOs", "ngos"), ("human trafficking", "human-trafficking")]
        );
        assert_eq!(p.body_markdown, "Text\nmore");
    }

    #[test]
    fn lists_every_problem() {
        let limits = LimitsConfig::default();
        let long_tag = "x".repeat(limits.max_tag_chars + 1);
        let mut i = input("  ", &long_tag, "");
        i.slug = "not a slug".into();
        let errors = i.validate(&limits).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "slug", "body", "tags"]);
    }

    #[test]
    fn too_many_tags() {
        let limits = LimitsConfig::default();
        let tags: Vec<String> = (0..=limits.max_tags).map(|i| format!("t{i}")).collect();
        let errors = input("T", &tags.join(","), "b")
            .validate(&limits)
            .expect_err("invalid");
        assert_eq!(errors[0].field, "tags");
    }
}
