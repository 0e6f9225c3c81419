//! Imports from other blogs: `steppe import wxr` and `/admin/import` read a WordPress export ([`wxr`], a streaming
//! parser with nothing of the database in it) and store its posts, pages, tags and comments ([`run`]), one
//! transaction per post with its comments, keyed by the export's site address and the WordPress ids so that a
//! second run changes nothing and a newer export updates what changed. Images come from a copy of the old uploads
//! folder or the old site ([`media`]). Old addresses are recorded for redirects and for activities aimed at the
//! posts' old ActivityPub ids. [`archive`] restores a Steppe archive (`steppe import archive`); [`wp_actor`] takes over the fediverse actor of
//! a WordPress blog that Steppe replaces on the same domain (`steppe import wp-actor`).

pub mod archive;
pub mod html;
pub mod media;
pub mod progress;
pub mod wp_actor;
pub mod wxr;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    io::{BufRead, BufReader},
    path::Path,
};

use sha2::{Digest, Sha256};

use crate::{
    app::AppState,
    db::{
        self,
        comments::NewComment,
        imports::{self, Imported},
        posts::{self, Dates, Tx},
    },
    domain::{
        comments::sanitize,
        content,
        dates::Zone,
        media::{Image, ImageType, Images, referenced},
        posts::{PostStatus, TagName, ValidPost},
        slug::{self, Slug},
    },
};
use html::Attachment;
use wxr::{Item, WxrError, WxrReader};

/// What the owner asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Read and report, store nothing.
    pub dry_run: bool,
    /// Send the `Create` of each published post to the followers.
    pub announce: bool,
    /// The zone of `wp:post_date` where an item has no GMT date (drafts): WXR does not name the site's zone.
    pub zone: Zone,
    /// Where images come from (none: they keep their old addresses).
    pub media: media::Sources,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dry_run: false,
            announce: false,
            zone: Zone::utc(),
            media: media::Sources::default(),
        }
    }
}

/// What an import did, for the summary printed (or shown) at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub site: String,
    pub posts: u64,
    pub pages: u64,
    pub drafts: u64,
    pub scheduled: u64,
    /// Posts and pages changed by this run (a newer export).
    pub updated: u64,
    /// Posts and pages already imported as they are.
    pub unchanged: u64,
    pub tags: u64,
    pub comments: u64,
    pub federated_comments: u64,
    /// Images copied into the media library (in a dry run: found, or to be fetched).
    pub images: u64,
    /// Images left at the old site's address (each time a post shows one).
    pub images_kept: u64,
    /// Whether images had a source (`--uploads`, `--fetch-media`).
    pub images_sourced: bool,
    pub announced: u64,
    /// One line each: what was not imported, and why.
    pub skipped: Vec<String>,
    /// One line each: what was imported differently from WordPress, and why.
    pub notes: Vec<String>,
    /// Shortcodes kept as text, with the number of posts that have each.
    pub unknown_shortcodes: BTreeMap<String, u64>,
    pub zone: String,
    pub dry_run: bool,
}

impl Summary {
    /// The summary as lines of text.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{}{}: {} posts, {} pages, {} drafts, {} scheduled, {} tags, {} comments ({} from the fediverse)",
            if self.dry_run {
                "dry run (nothing stored) "
            } else {
                "imported "
            },
            self.site,
            self.posts,
            self.pages,
            self.drafts,
            self.scheduled,
            self.tags,
            self.comments,
            self.federated_comments,
        )];
        out.push(format!(
            "{} updated from a newer export, {} already imported and unchanged; {} sent to followers",
            self.updated, self.unchanged, self.announced
        ));
        out.push(if self.images_sourced || self.images_kept == 0 {
            format!(
                "{} images {} the media library; {} left at their old address (counted where each is shown)",
                self.images,
                if self.dry_run { "to copy into" } else { "copied into" },
                self.images_kept
            )
        } else {
            format!(
                "{} images left at their old address: give --uploads DIR (a copy of wp-content/uploads) or \
                 --fetch-media to copy the images into the media library",
                self.images_kept
            )
        });
        out.push(format!(
            "dates without a time zone (drafts) read in {}",
            self.zone
        ));
        if !self.unknown_shortcodes.is_empty() {
            let list: Vec<String> = self
                .unknown_shortcodes
                .iter()
                .map(|(name, n)| format!("[{name}] in {n}"))
                .collect();
            out.push(format!("shortcodes kept as text: {}", list.join(", ")));
        }
        for note in &self.notes {
            out.push(format!("note: {note}"));
        }
        for skip in &self.skipped {
            out.push(format!("skipped: {skip}"));
        }
        out
    }
}

/// Why an import stopped (nothing of the item being imported is stored; earlier items are).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Wxr(#[from] WxrError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("stopped after {0}; run the import again to complete it")]
    Stopped(String),
}

/// Told how far the import is.
pub trait Progress: Send + Sync {
    /// The file's size, in bytes.
    fn start(&self, total_bytes: u64);
    /// `position` bytes read; `label` names the item just done. `false` stops the import there (what is done stays
    /// done: each post was stored whole with its comments).
    fn advance(&self, position: u64, label: &str) -> bool;
    fn finish(&self);
}

/// Tells nobody.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64, _: &str) -> bool {
        true
    }
    fn finish(&self) {}
}

/// Attachments by WordPress id, read in a first pass (galleries and featured images name them, often before the
/// attachment's own item comes).
#[derive(Default)]
struct AttachmentIndex {
    by_id: HashMap<i64, Attachment>,
    /// The old site's upload folders, learnt from the attachments' addresses.
    folders: media::UploadFolders,
}

impl html::Attachments for AttachmentIndex {
    fn by_id(&self, id: i64) -> Option<Attachment> {
        self.by_id.get(&id).cloned()
    }

    fn of_parent(&self, parent: i64) -> Vec<Attachment> {
        let mut found: Vec<(i64, Attachment)> = self
            .by_id
            .iter()
            .filter(|(_, a)| a.parent == parent)
            .map(|(id, a)| (*id, a.clone()))
            .collect();
        found.sort_by_key(|(id, _)| *id);
        found.into_iter().map(|(_, a)| a).collect()
    }
}

/// At most this many attachments are remembered between the passes (each is a few hundred bytes).
const MAX_ATTACHMENTS: usize = 200_000;

fn open(path: &Path) -> Result<(BufReader<std::fs::File>, u64), ImportError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ImportError::Invalid(format!("cannot open {}: {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((BufReader::with_capacity(256 * 1024, file), size))
}

/// Imports the export at `path` into the blog of `state`.
pub async fn run(
    state: &AppState,
    path: &Path,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Summary, ImportError> {
    // First pass: the channel must be WXR, and the attachments are remembered.
    let (file, size) = open(path)?;
    let index = read_attachments(file)?;
    let (file, _) = open(path)?;
    import_from(state, file, size, index, options, progress).await
}

fn read_attachments(input: impl BufRead) -> Result<AttachmentIndex, ImportError> {
    let mut reader = WxrReader::new(input);
    let mut index = AttachmentIndex::default();
    while let Some(item) = reader.next_item()? {
        if item.post_type == "attachment" && index.by_id.len() < MAX_ATTACHMENTS {
            let url = attachment_url(&item);
            let file = item.meta("_wp_attached_file").unwrap_or("").to_string();
            let site_host = site_host(&reader.channel().site());
            index.folders.learn(&url, &file, &site_host);
            index.by_id.insert(
                item.id,
                Attachment {
                    url,
                    file,
                    alt: item
                        .meta("_wp_attachment_image_alt")
                        .unwrap_or("")
                        .to_string(),
                    caption: html::text_of_html(&item.excerpt),
                    parent: item.parent,
                },
            );
        }
    }
    Ok(index)
}

fn attachment_url(item: &Item) -> String {
    if item.attachment_url.is_empty() {
        item.guid.clone()
    } else {
        item.attachment_url.clone()
    }
}

/// The host (with its port) of the site's address.
fn site_host(site: &str) -> String {
    crate::federation::comments::host(site).unwrap_or_default()
}

async fn import_from(
    state: &AppState,
    input: impl BufRead,
    size: u64,
    index: AttachmentIndex,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Summary, ImportError> {
    let owner = owner_id(&state.db).await?;
    let mut reader = WxrReader::new(input);
    let mut summary = Summary {
        zone: options.zone.name().to_string(),
        dry_run: options.dry_run,
        ..Summary::default()
    };
    let mut tags_seen: BTreeSet<String> = BTreeSet::new();
    let mut sticky = 0u64;
    progress.start(size);
    // The channel is read whole before the first item comes.
    let mut site: Option<String> = None;
    let mut images: Option<media::Images> = None;
    while let Some(item) = reader.next_item()? {
        let site = site.get_or_insert_with(|| reader.channel().site());
        if images.is_none() {
            images = Some(media::Images::new(
                state,
                site,
                index.folders.clone(),
                &options.media,
                options.dry_run,
            )?);
        }
        let Some(images) = images.as_mut() else {
            continue;
        };
        let label = format!("{} {}", item.post_type, item.id);
        let mut run = Run {
            state,
            site,
            owner: &owner,
            index: &index,
            options,
            images,
            summary: &mut summary,
            tags_seen: &mut tags_seen,
        };
        run.item(&item).await?;
        if item.sticky {
            sticky += 1;
        }
        if !progress.advance(reader.position(), &label) {
            if !options.dry_run {
                db::search::reindex_missing(&state.db).await?;
            }
            return Err(ImportError::Stopped(label));
        }
    }
    if !options.dry_run {
        // New posts were stored without their search entries: written here in bulk (a run stopped before this
        // point is completed by the next run, or when the server starts).
        db::search::reindex_missing(&state.db).await?;
    }
    progress.finish();
    summary.site = site.unwrap_or_else(|| reader.channel().site());
    summary.tags = u64::try_from(tags_seen.len()).unwrap_or(u64::MAX);
    if sticky > 0 {
        summary.notes.push(format!(
            "{sticky} sticky posts imported as ordinary posts (Steppe has no pinned posts yet)"
        ));
    }
    if let Some(images) = images {
        summary.images = images.imported;
        summary.images_kept = images.kept;
        summary.images_sourced = images.has_source();
    }
    Ok(summary)
}

async fn owner_id(db: &db::Db) -> Result<String, ImportError> {
    db::users::owner_id(db).await?.ok_or_else(|| {
        ImportError::Invalid(
            "create the owner account first (open /admin, or `steppe admin create-owner`)".into(),
        )
    })
}

/// A WordPress date ("2011-03-02 09:14:00") as unix time: the GMT one when set, else the local one in `zone`.
fn wp_date(gmt: &str, local: &str, zone: &Zone) -> Option<i64> {
    let usable = |s: &str| !s.is_empty() && !s.starts_with("0000-00-00");
    if usable(gmt)
        && let Ok(t) = Zone::utc().parse_local(gmt)
    {
        return Some(t);
    }
    if usable(local) {
        return match zone.parse_local(local) {
            Ok(t) => Some(t),
            // A time the clocks skipped: read with the offset before the change.
            Err(crate::domain::dates::DateError::Skipped { .. }) => {
                Zone::utc().parse_local(local).ok()
            }
            Err(_) => None,
        };
    }
    None
}

/// How an item's status maps; `Err` names why it is not imported.
fn status_of(item: &Item, now: i64, published_at: Option<i64>) -> Result<PostStatus, String> {
    match item.status.as_str() {
        "publish" if !item.password.is_empty() => Ok(PostStatus::Draft),
        "publish" => Ok(PostStatus::Published),
        "draft" | "pending" | "private" => Ok(PostStatus::Draft),
        "future" => Ok(match published_at {
            Some(at) if at > now => PostStatus::Scheduled,
            _ => PostStatus::Published,
        }),
        "trash" => Err("in the trash".into()),
        "auto-draft" => Err("an auto-draft".into()),
        "inherit" => Err("a revision".into()),
        other => Err(format!(
            "its status {:?} is unknown",
            other.chars().take(20).collect::<String>()
        )),
    }
}

/// The tags of an item: its categories and tags (same slug: one tag, the first spelling kept), without WordPress's
/// default "Uncategorized".
fn tags_of(item: &Item) -> Vec<TagName> {
    let mut tags: Vec<TagName> = Vec::new();
    for term in &item.terms {
        if !matches!(term.domain.as_str(), "category" | "post_tag") {
            continue;
        }
        let name = term.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() || term.nicename == "uncategorized" {
            continue;
        }
        let name: String = name.chars().take(100).collect();
        let slug = Slug::parse(&term.nicename).or_else(|| Slug::derive(&name));
        let Some(slug) = slug else { continue };
        if !tags.iter().any(|t| t.slug == slug) && tags.len() < 50 {
            tags.push(TagName { name, slug });
        }
    }
    tags
}

/// A short hash of `parts` (each ended by a NUL, so that no two lists hash alike): what an item or a comment held.
fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn digest_of(item: &Item, options: &Options) -> String {
    let fields = [
        &item.title,
        &item.content,
        &item.excerpt,
        &item.name,
        &item.status,
        &item.date_gmt,
        &item.date,
        &item.modified_gmt,
        &item.password,
        &item.post_type,
        &item.link,
    ]
    .map(|f| f.as_bytes());
    let terms = item
        .terms
        .iter()
        .flat_map(|t| [&t.domain, &t.nicename, &t.name])
        .map(|f| f.as_bytes());
    digest(
        fields
            .into_iter()
            .chain(terms)
            .chain([options.zone.name().as_bytes()]),
    )
}

/// The path part of a URL as the old-address table keeps it: lowercase, no trailing slash, only WordPress's
/// identifying query (`?p=`, `?page_id=`).
pub fn old_path(url_or_path: &str) -> Option<String> {
    let (path, query) = match url::Url::parse(url_or_path) {
        Ok(u) => (u.path().to_string(), u.query().map(str::to_string)),
        Err(_) if url_or_path.starts_with('/') => {
            let (p, q) = url_or_path
                .split_once('?')
                .map_or((url_or_path, None), |(p, q)| (p, Some(q.to_string())));
            (p.to_string(), q)
        }
        Err(_) => return None,
    };
    let mut path = path.trim_end_matches('/').to_ascii_lowercase();
    if path.is_empty() {
        path.push('/');
    }
    let id_query = query.as_deref().and_then(|q| {
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (matches!(k, "p" | "page_id" | "attachment_id")
                && !v.is_empty()
                && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("{k}={v}"))
        })
    });
    match id_query {
        Some(q) if path == "/" => Some(format!("/?{q}")),
        _ if path == "/" => None,
        _ => Some(path),
    }
}

/// Every address the post was known by on WordPress: paths for browsers, full URLs for other servers.
fn old_addresses(item: &Item, site: &str, zone: &Zone) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |a: String| {
        if !a.is_empty() && !out.contains(&a) {
            out.push(a);
        }
    };
    for url in [&item.link, &item.guid] {
        if url.starts_with("http") {
            add(url.clone());
            if let Some(p) = old_path(url) {
                add(p);
            }
        }
    }
    let query = if item.post_type == "page" {
        "page_id"
    } else {
        "p"
    };
    add(format!("/?{query}={}", item.id));
    add(format!("/?p={}", item.id));
    if !site.is_empty() {
        // WordPress-AP's id for a post (older versions used the permalink, added above).
        add(format!("{site}/?p={}", item.id));
        if item.post_type == "page" {
            add(format!("{site}/?page_id={}", item.id));
        }
    }
    if !item.name.is_empty() {
        let name = item.name.to_ascii_lowercase();
        add(format!("/{name}"));
        if let Some(at) =
            wp_date("", &item.date, zone).or_else(|| wp_date(&item.date_gmt, "", zone))
            && let Ok(ts) = jiff::Timestamp::from_second(at)
        {
            let d = ts.to_zoned(jiff::tz::TimeZone::UTC);
            let local = zone_civil(zone, at).unwrap_or_else(|| d.datetime());
            add(format!(
                "/{:04}/{:02}/{:02}/{name}",
                local.year(),
                local.month(),
                local.day()
            ));
            add(format!("/{:04}/{:02}/{name}", local.year(), local.month()));
            add(format!("/{:04}/{name}", local.year()));
        }
    }
    out
}

/// The wall-clock date and time of `at` in `zone` (WordPress builds permalinks from the local date).
fn zone_civil(zone: &Zone, at: i64) -> Option<jiff::civil::DateTime> {
    let text = zone.input_value(at);
    jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M", &text).ok()
}

/// One run's state as each item is imported.
struct Run<'r, 'a> {
    state: &'a AppState,
    site: &'r str,
    owner: &'r str,
    index: &'r AttachmentIndex,
    options: &'r Options,
    images: &'r mut media::Images<'a>,
    summary: &'r mut Summary,
    tags_seen: &'r mut BTreeSet<String>,
}

/// What to do with an item that an earlier run may have imported.
enum Plan {
    Create,
    /// Replace the post, whose `updated_at` is this now.
    Replace(String, i64),
    /// Leave the post as it is (its comments are still brought up to date).
    Keep(String),
}

/// A post made ready to store: everything but its rendering.
struct Prepared {
    title: String,
    summary: String,
    body: String,
    tags: Vec<TagName>,
    slug: Slug,
}

impl Run<'_, '_> {
    async fn item(&mut self, item: &Item) -> Result<(), ImportError> {
        let what = match item.post_type.as_str() {
            "post" => "post",
            "page" => "page",
            "attachment" => return self.attachment(item).await,
            "nav_menu_item"
            | "revision"
            | "custom_css"
            | "customize_changeset"
            | "oembed_cache"
            | "wp_global_styles"
            | "wp_navigation"
            | "wp_template"
            | "wp_template_part"
            | "user_request" => {
                return Ok(());
            }
            other => {
                self.summary.skipped.push(format!(
                    "item {}: its type {:?} is not a post or a page",
                    item.id,
                    other.chars().take(40).collect::<String>()
                ));
                return Ok(());
            }
        };
        let name = format!("{what} {}", item.id);
        if let Some(why) = &item.unreadable {
            self.summary.skipped.push(format!("{name}: {why}"));
            return Ok(());
        }
        if item.id <= 0 {
            self.summary
                .skipped
                .push(format!("{what} {:?}: no wp:post_id", item.title));
            return Ok(());
        }
        let options = self.options;
        let now = db::now();
        let published_at = wp_date(&item.date_gmt, &item.date, &options.zone);
        if published_at.is_none() && item.status == "publish" {
            self.summary.skipped.push(format!(
                "{name}: its date {:?} is not a date",
                item.date_gmt.chars().take(30).collect::<String>()
            ));
            return Ok(());
        }
        let status = match status_of(item, now, published_at) {
            Ok(s) => s,
            Err(why) => {
                self.summary.skipped.push(format!("{name}: {why}"));
                return Ok(());
            }
        };
        let modified_at = wp_date(&item.modified_gmt, &item.modified, &options.zone)
            .or(published_at)
            .unwrap_or(now);
        let page = what == "page";
        let digest = digest_of(item, options);
        if !item.password.is_empty() {
            self.summary.notes.push(format!(
                "{name}: password-protected on WordPress; imported as a draft (Steppe has no passwords on posts)"
            ));
        }
        if item.status == "private" {
            self.summary
                .notes
                .push(format!("{name}: private on WordPress; imported as a draft"));
        }

        let mut tx = self.state.db.begin_write().await?;
        let before = imports::find_post(&mut tx, self.site, item.id).await?;
        let plan = match before {
            None => Plan::Create,
            Some((_, None)) => {
                self.summary.skipped.push(format!(
                    "{name}: deleted in Steppe after an earlier import; not imported again"
                ));
                return Ok(());
            }
            Some((before, Some(_)))
                if before.digest == digest
                    && !(before.images_pending > 0 && self.images.has_source()) =>
            {
                self.summary.unchanged += 1;
                Plan::Keep(before.post_id)
            }
            Some((before, Some(now_updated))) if now_updated != before.updated_at => {
                self.summary.notes.push(format!(
                    "{name}: edited in Steppe since the last import; kept as it is"
                ));
                self.summary.unchanged += 1;
                Plan::Keep(before.post_id)
            }
            Some((before, Some(now_updated))) => Plan::Replace(before.post_id, now_updated),
        };
        let post_id = match plan {
            Plan::Keep(id) => id,
            Plan::Create | Plan::Replace(..) => {
                let Some(prepared) = self.prepare(item, what) else {
                    self.summary
                        .skipped
                        .push(format!("{name}: no address can be made for it"));
                    return Ok(());
                };
                let created = matches!(plan, Plan::Create);
                if created {
                    match (page, status) {
                        (true, _) => self.summary.pages += 1,
                        (false, PostStatus::Published) => self.summary.posts += 1,
                        (false, PostStatus::Scheduled) => self.summary.scheduled += 1,
                        (false, PostStatus::Draft) => self.summary.drafts += 1,
                    }
                    for t in &prepared.tags {
                        self.tags_seen.insert(t.slug.as_str().to_string());
                    }
                } else {
                    self.summary.updated += 1;
                }
                // Images to process are brought in outside the transaction (processing them writes the media
                // library, and SQLite has one writer); the post is looked at again after.
                let addresses = html::image_addresses(&prepared.body);
                let release = self.images.has_source()
                    && !options.dry_run
                    && (!addresses.is_empty() || item.meta("_thumbnail_id").is_some());
                let (shown, mut tx) = if release {
                    tx.rollback().await?;
                    let shown = self.bring_images(item, &name, addresses).await?;
                    let mut tx = self.state.db.begin_write().await?;
                    let now = imports::find_post(&mut tx, self.site, item.id).await?;
                    let unchanged = match (&plan, now) {
                        (Plan::Create, None) => true,
                        (Plan::Replace(_, seen), Some((_, now))) => now == Some(*seen),
                        _ => false,
                    };
                    if !unchanged {
                        // Edited (or imported by another run) in the moment since it was looked at: kept.
                        tx.rollback().await?;
                        self.summary.notes.push(format!(
                            "{name}: changed in Steppe during the import; kept as it is"
                        ));
                        return Ok(());
                    }
                    (shown, tx)
                } else {
                    (self.bring_images(item, &name, addresses).await?, tx)
                };
                if options.dry_run {
                    count_comments(item, self.summary);
                    tx.rollback().await?;
                    return Ok(());
                }
                let wanted_slug = prepared.slug.clone();
                let body =
                    html::rewrite_images(&prepared.body, &shown.by_address, self.state.urls.base());
                let valid = ValidPost {
                    body_html: content::render_markdown_with(
                        &body,
                        self.state.urls.base(),
                        &shown.by_id,
                    ),
                    excerpt_html: content::excerpt_html(&prepared.summary, &body),
                    title: prepared.title,
                    chosen_slug: None,
                    derived_slug: prepared.slug,
                    summary: prepared.summary,
                    body_markdown: body,
                    tags: prepared.tags,
                };
                let dates = Dates {
                    published_at: published_at.or((status == PostStatus::Published).then_some(now)),
                    announced: options.announce || status == PostStatus::Scheduled,
                    page,
                    nav_position: page.then_some(item.menu_order),
                };
                let post_id = match &plan {
                    Plan::Replace(id, _) => {
                        posts::update_in(&mut tx, id, &valid, status, &dates)
                            .await
                            .map_err(save_error)?;
                        id.clone()
                    }
                    _ => posts::create_unindexed_in(&mut tx, self.owner, &valid, status, &dates)
                        .await
                        .map_err(save_error)?,
                };
                let ids: Vec<String> = referenced(&valid.body_markdown, self.state.urls.base())
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                // A new post without images has nothing to record (and nothing to clear).
                if !(created && ids.is_empty() && shown.featured.is_none()) {
                    db::media::set_post_media_in(
                        &mut tx,
                        &post_id,
                        &ids,
                        shown.featured.as_deref(),
                    )
                    .await?;
                }
                let created_at = published_at.unwrap_or(modified_at).min(modified_at);
                // An update must move forward (followers' servers ignore an older `updated`).
                let updated_at = match plan {
                    Plan::Replace(_, previous) if previous >= modified_at => {
                        previous.saturating_add(1)
                    }
                    _ => modified_at,
                };
                let stored_slug =
                    imports::set_post_dates(&mut tx, &post_id, created_at, updated_at).await?;
                if created && stored_slug != wanted_slug.as_str() {
                    self.summary.notes.push(format!(
                        "{name}: the slug {} is taken; imported as {stored_slug} (the old address still leads to it)",
                        wanted_slug.as_str()
                    ));
                }
                imports::add_old_addresses(
                    &mut tx,
                    &old_addresses(item, self.site, &options.zone),
                    &post_id,
                )
                .await?;
                imports::record_post(
                    &mut tx,
                    self.site,
                    item.id,
                    &Imported {
                        post_id: post_id.clone(),
                        digest,
                        updated_at,
                        images_pending: shown.pending,
                    },
                )
                .await?;
                let announce = options.announce && created && status == PostStatus::Published;
                if announce {
                    let post = posts::find_by_id_in(&mut tx, &post_id)
                        .await?
                        .ok_or_else(|| ImportError::Invalid("the post vanished".into()))?;
                    crate::federation::publish::announce_in(self.state, &mut tx, post)
                        .await
                        .map_err(save_error)?;
                    self.summary.announced += 1;
                }
                import_comments(&mut tx, self.site, &post_id, item, created, self.summary).await?;
                self.state.db.commit_content(tx).await?;
                if page {
                    self.state.reload_site().await?;
                }
                if announce {
                    self.state.wakeup.wake();
                }
                return Ok(());
            }
        };
        if options.dry_run {
            count_comments(item, self.summary);
            return Ok(());
        }
        import_comments(&mut tx, self.site, &post_id, item, false, self.summary).await?;
        self.state.db.commit_content(tx).await?;
        Ok(())
    }

    /// An attachment: an image is brought into the media library (with its description) when images have a
    /// source, even if no post shows it; anything else keeps its old address.
    async fn attachment(&mut self, item: &Item) -> Result<(), ImportError> {
        if !self.images.has_source() {
            return Ok(());
        }
        let url = attachment_url(item);
        let file = item.meta("_wp_attached_file").unwrap_or("");
        let label = format!("attachment {}", item.id);
        let is_image = [url.as_str(), file]
            .iter()
            .any(|u| ImageType::from_extension(u.split(['?', '#']).next().unwrap_or("")).is_some());
        if !is_image {
            self.summary.notes.push(format!(
                "{label} ({}): not an image; links to it keep the old address",
                url.chars().take(200).collect::<String>()
            ));
            return Ok(());
        }
        let alt = item.meta("_wp_attachment_image_alt").unwrap_or("");
        self.images
            .image(&url, Some(file), alt, &label, self.summary)
            .await?;
        Ok(())
    }

    /// Brings in the images a post shows or links to (`addresses`, from [`html::image_addresses`]), and its
    /// featured image (`_thumbnail_id`).
    async fn bring_images(
        &mut self,
        item: &Item,
        label: &str,
        addresses: Vec<String>,
    ) -> Result<Shown, ImportError> {
        let mut shown = Shown::default();
        for address in addresses {
            let upload = self.images.path_of(&address).is_some();
            match self
                .images
                .image(&address, None, "", label, self.summary)
                .await?
            {
                Some(row) => {
                    let image = row.image();
                    shown.by_id.insert(image.id.clone(), image.clone());
                    shown.by_address.insert(address, image);
                }
                None if upload => shown.pending += 1,
                None => {}
            }
        }
        let thumbnail = item
            .meta("_thumbnail_id")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .filter(|t| *t > 0);
        if let Some(thumbnail) = thumbnail {
            match self.index.by_id.get(&thumbnail) {
                Some(a) => {
                    let url = a.url.clone();
                    let file = a.file.clone();
                    let alt = a.alt.clone();
                    match self
                        .images
                        .image(&url, Some(&file), &alt, label, self.summary)
                        .await?
                    {
                        Some(row) => shown.featured = Some(row.id),
                        None => shown.pending += 1,
                    }
                }
                None => self.summary.notes.push(format!(
                    "{label}: its featured image (attachment {thumbnail}) is not in the export"
                )),
            }
        }
        Ok(shown)
    }

    /// The post to store for an item: its converted text, title, summary, tags and slug (the slug it asks for,
    /// to say when another was taken). `None` when no address can be made for it.
    fn prepare(&mut self, item: &Item, what: &str) -> Option<Prepared> {
        let converted = html::convert(&item.content, item.id, self.index);
        for code in &converted.unknown_shortcodes {
            *self
                .summary
                .unknown_shortcodes
                .entry(code.clone())
                .or_default() += 1;
        }
        let limits = &self.state.config.limits;
        let title = {
            let t = html::text_of_html(&item.title);
            let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
            let t: String = t.chars().take(limits.max_title_chars).collect();
            if t.is_empty() {
                format!("Untitled {what} {}", item.id)
            } else {
                t
            }
        };
        let summary_text = {
            let from_excerpt = html::text_of_html(&item.excerpt);
            let text = if from_excerpt.is_empty() {
                converted.more_excerpt.unwrap_or_default()
            } else {
                from_excerpt
            };
            text.chars()
                .take(limits.max_summary_chars)
                .collect::<String>()
                .trim()
                .to_string()
        };
        let wanted_slug = Slug::parse(&item.name.to_ascii_lowercase())
            .or_else(|| Slug::derive(&percent_decode(&item.name)))
            .or_else(|| Slug::derive(&title))
            .or_else(|| Slug::derive(&format!("{what}-{}", item.id)))?;
        let wanted_slug = if what == "page" && slug::is_reserved(wanted_slug.as_str()) {
            self.summary.notes.push(format!(
                "{what} {}: the address /{} belongs to the blog; the page is at /{}-page",
                item.id,
                wanted_slug.as_str(),
                wanted_slug.as_str()
            ));
            Slug::derive(&format!("{}-page", wanted_slug.as_str())).unwrap_or(wanted_slug)
        } else {
            wanted_slug
        };
        let body = if converted.source.trim().is_empty() {
            // Steppe posts have text; an empty WordPress post gets an empty paragraph.
            "<p></p>".to_string()
        } else {
            converted.source
        };
        Some(Prepared {
            title,
            summary: summary_text,
            body,
            tags: tags_of(item),
            slug: wanted_slug,
        })
    }
}

/// The images of one post that are in the media library.
#[derive(Default)]
struct Shown {
    /// By their old address, to rewrite the post's HTML.
    by_address: HashMap<String, Image>,
    /// By upload id, to render it.
    by_id: Images,
    featured: Option<String>,
    /// Images of the old site still at their old address.
    pending: i64,
}

fn save_error(e: posts::SaveError) -> ImportError {
    match e {
        posts::SaveError::Db(e) => ImportError::Db(e),
        other => ImportError::Invalid(other.to_string()),
    }
}

/// `%d0%b0%d0%b1` (how WordPress stores non-ASCII slugs) as text.
fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn count_comments(item: &Item, summary: &mut Summary) {
    for c in &item.comments {
        if c.approved == "1" && matches!(c.kind.as_str(), "" | "comment") {
            summary.comments += 1;
            if c.meta("protocol") == Some("activitypub") {
                summary.federated_comments += 1;
            }
        }
    }
}

/// The actor id of a fediverse commenter as WordPress-AP recorded them: Mastodon's `…/users/NAME/statuses/ID`
/// names its author; else the account (`user@host` in the e-mail field) on the Note's own host.
fn remote_author(source_id: &str, email: &str, profile: &str) -> String {
    if let Some(i) = source_id.find("/statuses/")
        && source_id[..i].contains("/users/")
    {
        return source_id[..i].to_string();
    }
    let note_host = crate::federation::comments::host(source_id);
    let scheme = if source_id.starts_with("http://") {
        "http"
    } else {
        "https"
    };
    if let Some((user, host)) = email.trim_start_matches('@').split_once('@')
        && note_host.as_deref() == Some(host)
        && !user.is_empty()
    {
        return format!("{scheme}://{host}/users/{user}");
    }
    profile.to_string()
}

/// The id an imported comment is stored under: a fediverse reply's own id, else a tag URI of the old site.
fn comment_id(c: &wxr::Comment, site_host: &str) -> String {
    match c.meta("source_id") {
        Some(source)
            if c.meta("protocol") == Some("activitypub")
                && (source.starts_with("https://") || source.starts_with("http://")) =>
        {
            source.to_string()
        }
        _ => format!("tag:{site_host},2000:comment-{}", c.id),
    }
}

/// Stores the approved comments of `item` under `post_id`, skipping those an earlier run stored as they are (a post
/// `new` to this run has none).
async fn import_comments(
    tx: &mut Tx,
    site: &str,
    post_id: &str,
    item: &Item,
    new: bool,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    let site_host = crate::federation::comments::host(site).unwrap_or_else(|| "wordpress".into());
    // Every comment's id is known from the export itself, so a reply finds its parent in any order.
    let ids: HashMap<i64, String> = item
        .comments
        .iter()
        .filter(|c| c.approved == "1" && matches!(c.kind.as_str(), "" | "comment") && c.id > 0)
        .map(|c| (c.id, comment_id(c, &site_host)))
        .collect();
    let before = if new || ids.is_empty() {
        HashMap::new()
    } else {
        imports::find_comments(tx, site, &ids.keys().copied().collect::<Vec<_>>()).await?
    };
    let mut mentions = 0u64;
    let mut stored: Vec<NewComment> = Vec::new();
    let mut records: Vec<(i64, String, String)> = Vec::new();
    // Each WordPress id and each comment id once: a later duplicate in a hostile export replaces nothing.
    let mut seen_wp: HashSet<i64> = HashSet::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    for c in &item.comments {
        let label = format!("comment {} on {} {}", c.id, item.post_type, item.id);
        match c.approved.as_str() {
            "1" => {}
            "spam" => {
                summary.skipped.push(format!("{label}: spam"));
                continue;
            }
            _ => {
                summary.skipped.push(format!("{label}: not approved"));
                continue;
            }
        }
        if matches!(c.kind.as_str(), "pingback" | "trackback") {
            mentions += 1;
            continue;
        }
        if !matches!(c.kind.as_str(), "" | "comment") {
            // WordPress-AP stores likes and boosts as comments of their own types.
            summary.skipped.push(format!(
                "{label}: a {:?}, not a comment",
                c.kind.chars().take(30).collect::<String>()
            ));
            continue;
        }
        let Some(id) = ids.get(&c.id) else {
            summary.skipped.push(format!("{label}: no wp:comment_id"));
            continue;
        };
        let Some(published_at) = wp_date(&c.date_gmt, &c.date, &Zone::utc()) else {
            summary
                .skipped
                .push(format!("{label}: its date is not a date"));
            continue;
        };
        let digest = digest(
            [&c.author, &c.author_url, &c.content, &c.date_gmt, &c.date]
                .map(|f| f.as_bytes())
                .into_iter()
                .chain([c.parent.to_le_bytes().as_slice()]),
        );
        if before.get(&c.id).is_some_and(|(_, d)| *d == digest) || !seen_wp.insert(c.id) {
            continue;
        }
        let parent_id = match c.parent {
            0 => None,
            p => match ids.get(&p) {
                Some(id) => Some(id.clone()),
                None => match imports::find_comment(tx, site, p).await? {
                    Some((id, _)) => Some(id),
                    None => {
                        summary.notes.push(format!(
                            "{label}: its parent {p} is not in the export; shown under the post"
                        ));
                        None
                    }
                },
            },
        };
        // WordPress shows comments with its paragraph rules, whether or not they hold HTML.
        let text = if c.content.contains('<') {
            html::autop(&c.content)
        } else {
            html::autop(&content::escape_html(&c.content))
        };
        let author_url =
            if c.author_url.starts_with("https://") || c.author_url.starts_with("http://") {
                c.author_url.clone()
            } else {
                String::new()
            };
        let federated = !id.starts_with("tag:");
        let (author_id, author_host, handle, url, avatar) = if federated {
            let author = remote_author(id, &c.author_email, &author_url);
            let host = crate::federation::comments::host(&author).unwrap_or_default();
            let handle = match c.author_email.trim_start_matches('@').split_once('@') {
                Some((u, h)) if !u.is_empty() && !h.is_empty() => format!("@{u}@{h}"),
                _ => String::new(),
            };
            (
                author,
                host,
                handle,
                c.meta("source_url").map(str::to_string),
                c.meta("avatar_url")
                    .filter(|a| a.starts_with("https://") || a.starts_with("http://"))
                    .map(str::to_string),
            )
        } else {
            (
                format!("tag:{site_host},2000:commenter-{}", c.id),
                site_host.clone(),
                String::new(),
                None,
                None,
            )
        };
        let name: String = c.author.split_whitespace().collect::<Vec<_>>().join(" ");
        let name = if name.is_empty() {
            "Anonymous".to_string()
        } else {
            name.chars().take(200).collect()
        };
        let comment = NewComment {
            id: id.clone(),
            post_id: post_id.to_string(),
            parent_id,
            author_id,
            author_host,
            author_name: name,
            author_handle: handle,
            author_url,
            author_avatar: avatar,
            content_html: sanitize(&text),
            source_text: None,
            summary: None,
            attachments_html: String::new(),
            url,
            visibility: "public".into(),
            status: "shown".into(),
            published_at,
        };
        if !seen_ids.insert(comment.id.clone()) {
            continue;
        }
        stored.push(comment);
        records.push((c.id, id.clone(), digest));
        summary.comments += 1;
        if federated {
            summary.federated_comments += 1;
        }
    }
    db::comments::upsert_many_in(tx, &stored).await?;
    imports::record_comments(tx, site, &records).await?;
    if mentions > 0 {
        summary.skipped.push(format!(
            "{} {}: {mentions} pingbacks and trackbacks (Steppe lists mentions from the fediverse only)",
            item.post_type, item.id
        ));
    }
    Ok(())
}
