//! Posts and pages as Markdown files with YAML front matter (what Jekyll, Hugo, Eleventy and most static-site tools
//! read): the words a blogger can take anywhere, in the archive and in the "download my posts" zip.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use serde_json::Value;

use crate::{db::Db, domain::dates};

/// What a post's file says about it, besides its text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub id: String,
    pub article_id: String,
    pub kind: String,
    pub status: String,
    pub title: String,
    pub slug: String,
    pub old_slugs: Vec<String>,
    pub summary: String,
    pub tags: Vec<String>,
    pub created: i64,
    pub updated: i64,
    pub published: Option<i64>,
    pub scheduled: bool,
    /// The featured image's file in the archive (`media/…`).
    pub featured_image: Option<String>,
}

/// A YAML double-quoted scalar: JSON's string syntax is a subset of it.
fn quoted(s: &str) -> String {
    Value::from(s).to_string()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The file: front matter between `---` lines, then the Markdown as the owner wrote it.
pub fn document(front: &FrontMatter, markdown: &str) -> String {
    let mut out = String::from("---\n");
    let mut line = |key: &str, value: String| {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    };
    line("title", quoted(&front.title));
    line("slug", quoted(&front.slug));
    line("id", quoted(&front.id));
    line("article_id", quoted(&front.article_id));
    line("kind", quoted(&front.kind));
    line("status", quoted(&front.status));
    if let Some(p) = front.published {
        line("date", quoted(&dates::iso(p)));
    }
    line("created", quoted(&dates::iso(front.created)));
    line("updated", quoted(&dates::iso(front.updated)));
    if front.scheduled {
        line("scheduled", "true".into());
    }
    line("tags", list(&front.tags));
    if !front.old_slugs.is_empty() {
        line("old_slugs", list(&front.old_slugs));
    }
    if !front.summary.is_empty() {
        line("summary", quoted(&front.summary));
    }
    if let Some(image) = &front.featured_image {
        line("featured_image", quoted(image));
    }
    out.push_str("---\n\n");
    out.push_str(markdown);
    if !markdown.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Where a post's file goes: `posts/2024-05-01-slug.md` (by publication date, else creation), `pages/slug.md`,
/// drafts under `drafts/`. Slugs are already safe file names (lowercase letters, digits, hyphens).
pub fn path(front: &FrontMatter) -> String {
    let slug: String = front
        .slug
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    let slug = if slug.is_empty() {
        front.id.clone()
    } else {
        slug
    };
    if front.kind == "page" {
        return format!("pages/{slug}.md");
    }
    let folder = if front.status == "published" {
        "posts"
    } else {
        "drafts"
    };
    let day = dates::iso(front.published.unwrap_or(front.created));
    format!(
        "{folder}/{}-{slug}.md",
        day.get(..10).unwrap_or("0000-00-00")
    )
}

/// Every post and page as (its file name, the file), read from `db`; `featured` names each media id's file.
pub async fn all(
    db: &Db,
    article_base: &str,
    featured: &HashMap<String, String>,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    let mut rows = sqlx::query_as::<_, (String, String)>(
        "SELECT pt.post_id, t.name FROM post_tags pt JOIN tags t ON t.slug = pt.tag_slug ORDER BY pt.post_id, t.name",
    )
    .fetch(&db.pool);
    while let Some((post, name)) = rows.try_next().await? {
        tags.entry(post).or_default().push(name);
    }
    drop(rows);
    let mut old: HashMap<String, Vec<String>> = HashMap::new();
    let mut rows = sqlx::query_as::<_, (String, String)>(
        "SELECT post_id, slug FROM post_old_slugs ORDER BY slug",
    )
    .fetch(&db.pool);
    while let Some((post, slug)) = rows.try_next().await? {
        old.entry(post).or_default().push(slug);
    }
    drop(rows);
    type PostRow = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        Option<i64>,
        String,
        Option<String>,
        i64,
    );
    let mut out = Vec::new();
    let mut rows = sqlx::query_as::<_, PostRow>(
        "SELECT id, slug, title, summary, body_markdown, status, kind, created_at, updated_at, published_at, \
         article_id, featured_media_id, scheduled FROM posts ORDER BY id",
    )
    .fetch(&db.pool);
    while let Some(r) = rows.try_next().await? {
        let front = FrontMatter {
            tags: tags.remove(&r.0).unwrap_or_default(),
            old_slugs: old.remove(&r.0).unwrap_or_default(),
            id: r.0,
            slug: r.1,
            title: r.2,
            summary: r.3,
            status: r.5,
            kind: r.6,
            created: r.7,
            updated: r.8,
            published: r.9,
            article_id: format!("{article_base}/articles/{}", r.10),
            featured_image: r.11.and_then(|m| featured.get(&m).cloned()),
            scheduled: r.12 == 1,
        };
        out.push((path(&front), document(&front, &r.4)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_quotes_what_yaml_would_misread() {
        let front = FrontMatter {
            id: "0190".into(),
            article_id: "https://blog.example/articles/0190".into(),
            kind: "post".into(),
            status: "published".into(),
            title: "NGOs: \"yes\" — or no?\n#1".into(),
            slug: "ngos".into(),
            tags: vec!["NGOs".into(), "Kazakhstan".into()],
            created: 0,
            updated: 0,
            published: Some(86_400),
            ..FrontMatter::default()
        };
        let text = document(&front, "Body");
        assert!(
            text.starts_with("---\ntitle: \"NGOs: \\\"yes\\\" — or no?\\n#1\"\n"),
            "{text}"
        );
        assert!(text.contains("tags: [\"NGOs\", \"Kazakhstan\"]\n"));
        assert!(text.contains("date: \"1970-01-02T00:00:00Z\"\n"));
        assert!(text.ends_with("---\n\nBody\n"));
        assert_eq!(path(&front), "posts/1970-01-02-ngos.md");
        let page = FrontMatter {
            kind: "page".into(),
            slug: "../about".into(),
            ..front
        };
        assert_eq!(path(&page), "pages/about.md");
    }
}
