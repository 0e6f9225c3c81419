//! What templates show: page structs for askama and the conversions from stored rows to display values.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use crate::{
    config::SiteConfig,
    db::{comments::CommentRow, posts::Post},
    error::AppError,
};

/// Renders a page template into an HTML response.
pub fn render(template: &impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

/// "March 2, 2011" and "2011-03-02T09:14:00Z" for a unix time.
pub fn dates(unix: i64) -> (String, String) {
    (
        crate::domain::dates::human(unix),
        crate::domain::dates::iso(unix),
    )
}

pub struct TagView {
    pub name: String,
    pub url: String,
}

/// A post as lists and the permalink page show it.
pub struct PostView {
    pub url: String,
    pub title: String,
    pub author: String,
    pub date_human: String,
    pub date_iso: String,
    pub excerpt_html: String,
    pub body_html: String,
    pub comment_count: i64,
    pub comments_open: bool,
    pub tags: Vec<TagView>,
    pub featured: Option<FeaturedView>,
    /// Minutes to read the post at 200 words a minute (at least 1); 0 in lists, which do not load bodies.
    pub reading_minutes: usize,
    /// What link previews and search engines show: the owner's summary, else the start of the text.
    pub description: String,
}

/// A post's featured image: the markup for the top of the post and lists, and what link cards need.
pub struct FeaturedView {
    /// `<picture>` for the top of the post (eager: it is the first thing seen).
    pub html: String,
    /// The same, lazy, for lists.
    pub list_html: String,
    /// The absolute address of its widest variant (og:image).
    pub url: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

impl FeaturedView {
    pub fn of(image: &crate::domain::media::Image, base: &str) -> Option<Self> {
        use crate::domain::media::COLUMN_SIZES;
        let main = image.main()?;
        Some(Self {
            html: image.html(base, "", COLUMN_SIZES, false),
            list_html: image.html(base, "", COLUMN_SIZES, true),
            url: image.url(base, main),
            alt: image.alt.clone().unwrap_or_default(),
            width: main.width,
            height: main.height,
        })
    }
}

/// The reading speed behind [`PostView::reading_minutes`].
const WORDS_PER_MINUTE: usize = 200;

/// The path of a post's permalink.
pub fn post_path(slug: &str) -> String {
    format!("/posts/{slug}")
}

/// The path of a monthly archive: `/2011/03/`.
pub fn archive_path(year: i16, month: i8) -> String {
    format!("/{year:04}/{month:02}/")
}

/// The months with published posts, newest first: (year, month, posts), from the posts' dates (newest first) in the
/// blog's zone.
pub fn archive_months(dates: &[i64], zone: &crate::domain::dates::Zone) -> Vec<(i16, i8, usize)> {
    let mut months: Vec<(i16, i8, usize)> = Vec::new();
    for at in dates {
        let Some((year, month)) = zone.year_month(*at) else {
            continue;
        };
        match months.last_mut() {
            Some((y, m, n)) if *y == year && *m == month => *n += 1,
            _ => months.push((year, month, 1)),
        }
    }
    months
}

/// One year of the archive list: its months with posts, newest first.
pub struct ArchiveYear {
    pub year: i16,
    pub months: Vec<ArchiveMonth>,
}

pub struct ArchiveMonth {
    /// "Mar".
    pub short: String,
    /// "March 2011".
    pub name: String,
    pub path: String,
    pub posts: usize,
}

/// The archive list by year, from [`archive_months`].
pub fn archive_years(months: &[(i16, i8, usize)]) -> Vec<ArchiveYear> {
    let mut years: Vec<ArchiveYear> = Vec::new();
    for &(year, month, posts) in months {
        let name = crate::domain::dates::month_name(year, month);
        let entry = ArchiveMonth {
            short: name.chars().take(3).collect(),
            name,
            path: archive_path(year, month),
            posts,
        };
        match years.last_mut() {
            Some(y) if y.year == year => y.months.push(entry),
            _ => years.push(ArchiveYear {
                year,
                months: vec![entry],
            }),
        }
    }
    years
}

/// A feed a page offers (`<link rel="alternate">` and the follow box).
pub struct FeedLink {
    /// "Blog title (Atom)", for `<link title>`.
    pub title: String,
    /// "Atom", or "NGOs (Atom)" for a tag's: the link's text in the follow box.
    pub label: String,
    pub media_type: &'static str,
    pub path: String,
}

/// The feeds of a list whose feed path (without extension) is `stem`: Atom, RSS and JSON Feed; `of` names the
/// list in the links' text ("" for the whole blog).
pub fn feed_links(title: &str, of: &str, stem: &str) -> Vec<FeedLink> {
    [
        ("Atom", "application/atom+xml", "xml"),
        ("RSS", "application/rss+xml", "rss"),
        ("JSON Feed", "application/feed+json", "json"),
    ]
    .into_iter()
    .map(|(kind, media_type, extension)| FeedLink {
        title: format!("{title} ({kind})"),
        label: if of.is_empty() {
            kind.to_string()
        } else {
            format!("{of} ({kind})")
        },
        media_type,
        path: format!("{stem}.{extension}"),
    })
    .collect()
}

/// What every reader's page shows around its content: the follow box, the search box, the archive list, the
/// feeds, the canonical address.
pub struct Chrome {
    /// `@blog@host`.
    pub handle: String,
    /// How many accounts follow the blog, unless the owner hides it.
    pub followers: Option<i64>,
    pub archive: std::sync::Arc<Vec<ArchiveYear>>,
    /// This page's absolute address.
    pub canonical_url: String,
    /// What the search box shows (the query on the search page).
    pub query: String,
    /// The feeds of this page (the blog's, and a tag's on its pages).
    pub feeds: Vec<FeedLink>,
}

/// The path of a tag page.
pub fn tag_path(slug: &str) -> String {
    format!("/tags/{slug}")
}

impl PostView {
    /// A stored post for display; `base` is the blog's origin (image addresses are absolute); the date is shown in
    /// the blog's time zone.
    pub fn new(p: Post, base: &str, zone: &crate::domain::dates::Zone) -> Self {
        let at = p.published_at.unwrap_or(p.created_at);
        let (date_human, date_iso) = (zone.human(at), crate::domain::dates::iso(at));
        let reading_minutes = match crate::domain::content::word_count(&p.body_markdown) {
            0 => 0,
            words => words.div_ceil(WORDS_PER_MINUTE),
        };
        let description = if p.summary.trim().is_empty() {
            crate::domain::content::excerpt_text(&p.excerpt_html)
        } else {
            p.summary.trim().to_string()
        };
        Self {
            reading_minutes,
            description,
            url: p.path(),
            comments_open: p.comments_open == 1,
            title: p.title,
            author: p.author_name,
            date_human,
            date_iso,
            excerpt_html: p.excerpt_html,
            body_html: p.body_html,
            comment_count: p.comment_count,
            featured: p.featured.as_ref().and_then(|i| FeaturedView::of(i, base)),
            tags: p
                .tags
                .into_iter()
                .map(|t| TagView {
                    url: tag_path(&t.slug),
                    name: t.name,
                })
                .collect(),
        }
    }
}

pub struct CommentView {
    /// The anchor (`#comment-…`) of its permalink on the post page.
    pub anchor: String,
    /// How far it is nested (0: a reply to the post; at most `domain::comments::MAX_DEPTH`).
    pub depth: usize,
    pub author_name: String,
    pub author_handle: String,
    pub author_url: String,
    pub author_avatar: Option<String>,
    pub date_human: String,
    pub date_iso: String,
    /// Sanitised at reception.
    pub content_html: String,
    /// The content warning: the content is collapsed under it.
    pub summary: Option<String>,
    pub attachments_html: String,
    /// The reply on its own server.
    pub url: Option<String>,
    pub edited: bool,
}

/// A post's shown comments, in thread order with their depth.
pub fn comment_thread(rows: Vec<CommentRow>) -> Vec<CommentView> {
    let order = {
        let items: Vec<(&str, Option<&str>)> = rows
            .iter()
            .map(|c| (c.id.as_str(), c.parent_id.as_deref()))
            .collect();
        crate::domain::comments::thread(&items)
    };
    let mut rows: Vec<Option<CommentRow>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| {
            let c = rows.get_mut(i)?.take()?;
            let (date_human, date_iso) = dates(c.published_at);
            Some(CommentView {
                anchor: c.anchor,
                depth,
                author_name: if c.author_name.is_empty() {
                    c.author_handle.clone()
                } else {
                    c.author_name
                },
                author_handle: c.author_handle,
                author_url: c.author_url,
                author_avatar: c.author_avatar,
                date_human,
                date_iso,
                content_html: c.content_html,
                summary: c.summary,
                attachments_html: c.attachments_html,
                url: c.url,
                edited: c.edited_at.is_some(),
            })
        })
        .collect()
}

/// How many pages `items` fill at `per_page` a page (at least one).
pub fn pages_of(items: i64, per_page: i64) -> i64 {
    (items.saturating_add(per_page.max(1) - 1) / per_page.max(1)).max(1)
}

/// The address of page `page` of a post's comments (of `pages`): the post itself for the newest (last) page.
pub fn comments_page_path(post_path: &str, page: i64, pages: i64) -> String {
    if page >= pages {
        post_path.to_string()
    } else {
        format!("{post_path}?comments={page}")
    }
}

/// One link of the comment pages' navigation.
pub struct PageLink {
    pub number: i64,
    pub url: String,
    pub current: bool,
    /// Pages are left out before this one (shown as "…").
    pub gap_before: bool,
}

/// The navigation between pages of a post's comments: older and newer, and the page numbers (the first, the last
/// and two either side of the current one).
pub struct CommentPager {
    pub older: Option<String>,
    pub newer: Option<String>,
    pub links: Vec<PageLink>,
}

impl CommentPager {
    /// `None` when everything fits on one page.
    pub fn new(post_path: &str, page: i64, pages: i64) -> Option<Self> {
        if pages <= 1 {
            return None;
        }
        let url = |n: i64| format!("{}#comments", comments_page_path(post_path, n, pages));
        let mut links = Vec::new();
        let mut last_listed = 0;
        for n in 1..=pages {
            if n == 1 || n == pages || (n - page).abs() <= 2 {
                links.push(PageLink {
                    number: n,
                    url: url(n),
                    current: n == page,
                    gap_before: n > last_listed + 1,
                });
                last_listed = n;
            }
        }
        Some(Self {
            older: (page > 1).then(|| url(page - 1)),
            newer: (page < pages).then(|| url(page + 1)),
            links,
        })
    }
}

/// Links between pages of a list.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub newer: Option<String>,
    pub older: Option<String>,
}

impl Pager {
    /// `base` is the list's path; page 1 is the bare path, later pages add `?page=N`.
    pub fn new(base: &str, page: i64, per_page: i64, total: i64) -> Self {
        Self::with_links(page, per_page, total, |n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}?page={n}")
            }
        })
    }

    /// The same, with `link(n)` the address of page `n` (for lists whose addresses carry more, such as a search).
    pub fn with_links(page: i64, per_page: i64, total: i64, link: impl Fn(i64) -> String) -> Self {
        let pages = pages_of(total, per_page);
        Self {
            page,
            pages,
            newer: (page > 1).then(|| link(page - 1)),
            older: (page < pages).then(|| link(page + 1)),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage<'a> {
    pub site: &'a SiteConfig,
    pub chrome: &'a Chrome,
    pub posts: Vec<PostView>,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "tag.html")]
pub struct TagPage<'a> {
    pub site: &'a SiteConfig,
    pub chrome: &'a Chrome,
    pub tag_name: String,
    pub posts: Vec<PostView>,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "post.html")]
pub struct PostPage<'a> {
    pub site: &'a SiteConfig,
    pub chrome: &'a Chrome,
    /// The Article's id, for `<link rel="alternate" type="application/activity+json">`.
    pub article_url: String,
    /// `@blog@host`, for Mastodon's author attribution on link cards.
    pub fediverse_creator: String,
    pub post: PostView,
    /// Comments readers see on the whole post (every page).
    pub comment_count: i64,
    /// The threads of the page shown.
    pub comments: Vec<CommentView>,
    /// Links to the other pages of comments, when there are several.
    pub comment_pager: Option<CommentPager>,
    pub likes: i64,
    pub boosts: i64,
    /// The older and newer posts: (path, title).
    pub older: Option<(String, String)>,
    pub newer: Option<(String, String)>,
    /// What the comment form says happens to a reply (the moderation policy in force).
    pub comment_hint: &'static str,
    /// Why the address typed in "Leave a comment" did not work, and that address.
    pub interact_error: Option<String>,
    pub handle_typed: String,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage<'a> {
    pub site: &'a SiteConfig,
    pub chrome: &'a Chrome,
    pub query: String,
    pub hits: Vec<SearchHit>,
    pub total: i64,
    pub pager: Pager,
}

/// One search result.
pub struct SearchHit {
    pub post: PostView,
    /// The passage that matched, escaped, the matches in `<mark>`.
    pub excerpt_html: String,
}

#[derive(Template)]
#[template(path = "archive.html")]
pub struct ArchivePage<'a> {
    pub site: &'a SiteConfig,
    pub chrome: &'a Chrome,
    /// "March 2011".
    pub month_name: String,
    pub posts: Vec<PostView>,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "tags.html")]
pub struct TagsPage<'a> {
    pub site: &'a SiteConfig,
    pub chrome: &'a Chrome,
    /// (name, path, posts).
    pub tags: Vec<(String, String, i64)>,
}

#[derive(Template)]
#[template(path = "follow.html")]
pub struct FollowPage<'a> {
    pub site: &'a SiteConfig,
    pub chrome: &'a Chrome,
    pub error: Option<String>,
    pub handle_typed: String,
}

#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorTemplate<'a> {
    pub site: &'a SiteConfig,
    pub heading: String,
    pub message: String,
    pub request_id: Option<String>,
}
