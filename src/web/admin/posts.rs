//! The post editor: write, add images (uploaded with the form, described, one featured), preview, save as draft,
//! publish, edit and delete (with a confirmation page).

use askama::Template;
use axum::{
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};

use super::{
    NoticeQuery,
    uploads::{self, FormData},
};
use crate::{
    app::AppState,
    config::SiteConfig,
    db::{
        self,
        posts::{self, SaveError},
    },
    domain::{
        content,
        media::{Images, is_hash, referenced},
        posts::{PostInput, PostStatus, ValidPost},
    },
    error::AppError,
    federation::publish::{self, PostImages},
    web::{
        auth::{self, CsrfForm, CsrfToken, MaybeOwner, Owner},
        views::render,
    },
};

struct Preview {
    title: String,
    body_html: String,
    mastodon: MastodonView,
}

#[derive(Template)]
#[template(path = "admin/mastodon.html")]
struct MastodonPartial<'a> {
    m: &'a MastodonView,
}

/// How Mastodon shows the post: the status it builds from the Article (title, summary, link), the link card it
/// builds from the page's OpenGraph tags, and the Article itself as sent.
#[derive(serde::Serialize)]
pub struct MastodonView {
    pub title: String,
    pub summary_html: String,
    pub url: String,
    pub site: String,
    pub handle: String,
    pub card_description: String,
    pub card_image: Option<String>,
    pub card_image_alt: String,
    /// The Article as followers' servers receive it, pretty-printed.
    pub article_json: String,
    pub words: usize,
}

/// An image of the post as the editor lists it, with the description as typed.
#[derive(Clone)]
pub struct ImageRow {
    pub id: String,
    pub name: String,
    pub thumb_url: String,
    pub width: u32,
    pub height: u32,
    /// What to paste into the text to show it.
    pub markdown: String,
    pub alt: String,
    pub decorative: bool,
    /// Whether its text shows it (else it is only the featured image).
    pub in_text: bool,
}

#[derive(Template)]
#[template(path = "admin/edit.html")]
struct EditPage<'a> {
    site: std::sync::Arc<SiteConfig>,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    base_url: &'a str,
    heading: &'static str,
    action_url: String,
    input: PostInput,
    max_title: usize,
    published: bool,
    errors: Vec<String>,
    notice: Option<String>,
    preview: Option<Preview>,
    view_url: Option<String>,
    delete_url: Option<String>,
    images: Vec<ImageRow>,
    /// The featured image's id, or "".
    featured: String,
    max_upload_mib: usize,
    /// Asking whether to unpublish (followers will be sent a Delete): the form carries the confirmation.
    confirm_unpublish: bool,
    /// The fields the errors are about (their inputs point at the list of errors).
    error_fields: Vec<&'static str>,
    /// Where the editor's script sends the text a few seconds after the last keystroke.
    autosave_url: String,
    /// The stored post's id, or "" (for the live preview).
    post_id: String,
    /// The publication date field as typed (or as stored, in the blog's time zone).
    date_text: String,
    zone_name: String,
    /// "Announce to followers" ticked.
    announce: bool,
    /// Words with backticks between letters ("don`t"), which Markdown would pair into code spans.
    stray: Vec<String>,
    /// The button that was pressed when they were found ("preview", "draft", "publish"), to press it again.
    stray_action: &'static str,
    /// Where the post stands: "Draft", "Scheduled for …", "Published …".
    status_line: String,
    /// A static page at `/{slug}` rather than a post.
    is_page: bool,
    /// The page's place in the navigation as typed, or "".
    nav_text: String,
    scheduled: bool,
    /// Published without telling followers.
    quiet: bool,
    /// The saved revisions and the autosave, newest first (stored posts only).
    revisions: Vec<RevisionRow>,
    /// When the form shows text other than the saved version (an autosave, a revision, a recovered form): where
    /// the saved version is.
    saved_version_url: Option<String>,
}

/// A revision as the editor lists it.
#[derive(Clone)]
pub struct RevisionRow {
    pub kind: &'static str,
    pub when: String,
    pub iso: String,
    pub words: usize,
    pub compare_url: String,
}

#[derive(Template)]
#[template(path = "admin/delete.html")]
struct DeletePage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    title: String,
    action_url: String,
    edit_url: String,
}

/// Which button: "preview", "upload", "escape-backticks", "draft" or "publish".
enum Action {
    Preview,
    Upload,
    EscapeBackticks,
    Save(PostStatus),
}

impl Action {
    fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "preview" => Ok(Self::Preview),
            "upload" => Ok(Self::Upload),
            "escape-backticks" => Ok(Self::EscapeBackticks),
            "draft" => Ok(Self::Save(PostStatus::Draft)),
            "publish" => Ok(Self::Save(PostStatus::Published)),
            _ => Err(AppError::BadRequest(
                "Unknown action: use the Preview, Upload, Save draft or Publish button.".into(),
            )),
        }
    }
}

/// The post's images as the form left them: what to save, what to show again.
struct FormImages {
    rows: Vec<ImageRow>,
    saved: PostImages,
    /// Every image of the post with its description as it will be stored, for rendering.
    images: Images,
    /// Names of the images still without a description.
    undescribed: Vec<String>,
}

/// The state of the editor for one request.
struct Editor<'a> {
    state: &'a AppState,
    csrf: &'a CsrfToken,
    owner: &'a Owner,
    /// The stored post; `None` for a new one.
    post: Option<posts::Post>,
    /// The date field and announce box as the form left them.
    date_text: String,
    announce: bool,
    /// A static page, and its navigation position as typed.
    page: bool,
    nav_text: String,
    revisions: Vec<RevisionRow>,
}

impl<'a> Editor<'a> {
    /// The editor of a new post.
    fn blank(state: &'a AppState, csrf: &'a CsrfToken, owner: &'a Owner) -> Self {
        Self {
            state,
            csrf,
            owner,
            post: None,
            date_text: String::new(),
            announce: false,
            page: false,
            nav_text: String::new(),
            revisions: Vec::new(),
        }
    }

    /// The editor of a new page.
    fn blank_page(state: &'a AppState, csrf: &'a CsrfToken, owner: &'a Owner) -> Self {
        let mut editor = Self::blank(state, csrf, owner);
        editor.page = true;
        editor
    }

    /// The editor of a stored post.
    fn of(state: &'a AppState, csrf: &'a CsrfToken, owner: &'a Owner, post: posts::Post) -> Self {
        Self {
            state,
            csrf,
            owner,
            date_text: post
                .published_at
                .map(|t| state.site().zone().input_value(t))
                .unwrap_or_default(),
            announce: false,
            page: post.is_page(),
            nav_text: post.nav_position.map(|n| n.to_string()).unwrap_or_default(),
            revisions: Vec::new(),
            post: Some(post),
        }
    }

    fn post_id(&self) -> Option<&str> {
        self.post.as_ref().map(|p| p.id.as_str())
    }

    /// The stored post's status and publication date.
    fn stored(&self) -> Option<(PostStatus, Option<i64>)> {
        self.post.as_ref().map(|p| (p.status(), p.published_at))
    }

    fn published(&self) -> bool {
        self.post
            .as_ref()
            .is_some_and(|p| p.status() == PostStatus::Published)
    }

    /// Followers were told of the stored post.
    fn announced(&self) -> bool {
        self.post.as_ref().is_some_and(|p| p.announced == 1)
    }

    /// Takes the date field, the announce box and the navigation position from a submitted form (and, for a new
    /// one, whether it is a page; a stored post stays what it is).
    fn typed(mut self, form: &FormData) -> Self {
        self.date_text = form.value("published_at").trim().to_string();
        self.announce = form.get("announce") == Some("1");
        self.nav_text = form.value("nav_position").trim().to_string();
        if self.post.is_none() {
            self.page = form.get("kind") == Some("page");
        }
        self
    }

    fn status_line(&self) -> String {
        let zone = self.state.site().zone();
        let at = |t: Option<i64>| {
            t.map(|t| format!("{} ({})", zone.moment(t), zone.name()))
                .unwrap_or_default()
        };
        match self.stored() {
            None => "New post, not saved yet".into(),
            Some((PostStatus::Draft, _)) => "Draft: only you can see it".into(),
            Some((PostStatus::Scheduled, t)) => {
                format!("Scheduled for {}: private until then", at(t))
            }
            Some((PostStatus::Published, t)) if !self.announced() => {
                format!("Published {} without telling followers", at(t))
            }
            Some((PostStatus::Published, t)) => format!("Published {}", at(t)),
        }
    }

    /// Lists the post's revisions in the editor.
    async fn with_revisions(mut self) -> Result<Self, AppError> {
        if let Some(id) = self.post_id() {
            self.revisions = db::revisions::list(&self.state.db, id)
                .await?
                .iter()
                .map(|r| RevisionRow {
                    kind: if r.is_autosave() {
                        "Autosaved"
                    } else {
                        "Saved"
                    },
                    when: crate::domain::dates::moment(r.created_at),
                    iso: crate::domain::dates::iso(r.created_at),
                    words: content::word_count(&r.body_markdown),
                    compare_url: format!("/admin/posts/{id}/revisions/{}", r.id),
                })
                .collect();
        }
        Ok(self)
    }

    fn edit_path(&self) -> String {
        match self.post_id() {
            Some(id) => format!("/admin/posts/{id}/edit"),
            None => "/admin/posts/new".into(),
        }
    }

    fn page(&self, input: PostInput, images: Option<&FormImages>) -> EditPage<'_> {
        EditPage {
            site: self.state.site(),
            csrf: self.csrf.token(),
            owner_name: &self.owner.0.display_name,
            waiting: self.owner.1,
            base_url: self.state.config.base_url(),
            heading: match (self.post.is_some(), self.page) {
                (true, false) => "Edit post",
                (false, false) => "New post",
                (true, true) => "Edit page",
                (false, true) => "New page",
            },
            action_url: self.edit_path(),
            post_id: self.post_id().unwrap_or_default().to_string(),
            autosave_url: match self.post_id() {
                Some(id) => format!("/admin/posts/{id}/autosave"),
                None => "/admin/posts/autosave".into(),
            },
            revisions: self.revisions.clone(),
            saved_version_url: None,
            date_text: self.date_text.clone(),
            zone_name: self.state.site().zone().name().to_string(),
            announce: self.announce,
            status_line: self.status_line(),
            is_page: self.page,
            nav_text: self.nav_text.clone(),
            stray: Vec::new(),
            stray_action: "",
            scheduled: matches!(self.stored(), Some((PostStatus::Scheduled, _))),
            quiet: self.published() && !self.announced(),
            max_title: self.state.config.limits.max_title_chars,
            published: self.published(),
            input,
            errors: Vec::new(),
            notice: None,
            preview: None,
            view_url: None,
            delete_url: self.post_id().map(|id| format!("/admin/posts/{id}/delete")),
            featured: images
                .and_then(|i| i.saved.featured.clone())
                .unwrap_or_default(),
            images: images.map(|i| i.rows.clone()).unwrap_or_default(),
            max_upload_mib: self.state.config.media.max_upload_bytes / (1024 * 1024),
            confirm_unpublish: false,
            error_fields: Vec::new(),
        }
    }

    /// The form again, with the owner's text intact and the problems named.
    fn invalid(
        &self,
        input: PostInput,
        images: &FormImages,
        errors: Vec<String>,
    ) -> Result<Response, AppError> {
        self.invalid_in(input, images, errors.into_iter().map(|e| ("", e)).collect())
    }

    /// [`Editor::invalid`], with the field each problem is about.
    fn invalid_in(
        &self,
        input: PostInput,
        images: &FormImages,
        errors: Vec<(&'static str, String)>,
    ) -> Result<Response, AppError> {
        let mut page = self.page(input, Some(images));
        page.error_fields = errors
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| !f.is_empty())
            .collect();
        page.errors = errors.into_iter().map(|(_, e)| e).collect();
        let page = render(&page)?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    }

    /// Stores the form's files: images go into the text (at its end), a featured file becomes the featured image.
    /// Returns the problems, one per refused file.
    async fn upload(
        &self,
        form: &mut FormData,
        input: &mut PostInput,
    ) -> Result<(usize, Vec<String>), AppError> {
        let mut errors = Vec::new();
        let mut stored = 0;
        let base = self.state.urls.base();
        for file in std::mem::take(&mut form.files) {
            let field = file.field.clone();
            let row = match uploads::store(self.state, file).await? {
                Ok(row) => row,
                Err(message) => {
                    errors.push(message);
                    continue;
                }
            };
            stored += 1;
            if field == "featured_file" {
                form.text.insert("featured".into(), row.id.clone());
                continue;
            }
            let already = referenced(&input.body, base)
                .iter()
                .any(|(id, _)| *id == row.id);
            if !already && let Some(md) = markdown_of(&row.image(), "") {
                let body = input.body.trim_end();
                input.body = if body.is_empty() {
                    md
                } else {
                    format!("{body}\n\n{md}")
                };
            }
        }
        Ok((stored, errors))
    }

    /// The post's images from the text and the form's choices, with the descriptions typed.
    async fn images(&self, form: &FormData, body: &str) -> Result<FormImages, AppError> {
        let base = self.state.urls.base();
        let shown = referenced(body, base);
        let featured = form
            .get("featured")
            .filter(|f| is_hash(f))
            .map(str::to_string);
        let mut ids: Vec<String> = shown.iter().map(|(id, _)| id.clone()).collect();
        if let Some(f) = &featured
            && !ids.contains(f)
        {
            ids.push(f.clone());
        }
        let mut conn = self.state.db.pool.acquire().await?;
        let rows = db::media::find_many(&mut conn, &ids).await?;
        let mut out = FormImages {
            rows: Vec::new(),
            saved: PostImages::default(),
            images: Images::new(),
            undescribed: Vec::new(),
        };
        for id in &ids {
            let Some(row) = rows.get(id) else { continue };
            let typed_in_text = shown
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, alt)| alt.clone())
                .filter(|a| !a.is_empty());
            // The form's fields win; then what is stored; then the alt text written in the Markdown.
            let alt = match form.get(&format!("alt_{id}")) {
                Some(_) if form.get(&format!("decorative_{id}")) == Some("1") => {
                    Some(String::new())
                }
                Some(typed) if !typed.trim().is_empty() => Some(typed.trim().to_string()),
                Some(_) => typed_in_text,
                None => row.alt.clone().or(typed_in_text),
            };
            if alt != row.alt {
                out.saved.alts.push((id.clone(), alt.clone()));
            }
            if alt.is_none() {
                out.undescribed.push(row.original_name.clone());
            }
            let mut image = row.image();
            image.alt = alt.clone();
            let in_text = shown.iter().any(|(i, _)| i == id);
            if in_text {
                out.saved.shown.push(id.clone());
            }
            out.rows.push(ImageRow {
                id: id.clone(),
                name: row.original_name.clone(),
                thumb_url: image
                    .near(480)
                    .map(|v| image.url(base, v))
                    .unwrap_or_default(),
                width: image.width,
                height: image.height,
                markdown: markdown_of(&image, alt.as_deref().unwrap_or_default())
                    .unwrap_or_default(),
                decorative: alt.as_deref() == Some(""),
                alt: alt.unwrap_or_default(),
                in_text,
            });
            out.images.insert(id.clone(), image);
        }
        out.saved.featured = featured.filter(|f| rows.contains_key(f));
        Ok(out)
    }

    /// Handles a submitted form: store its files, then preview it, show it again, or save it and go to the editor
    /// of the saved post.
    async fn submit(&self, mut form: FormData) -> Result<Response, AppError> {
        let action = Action::parse(form.get("action").unwrap_or_default())?;
        let mut input = input_of_form(&form);
        let (stored, upload_errors) = self.upload(&mut form, &mut input).await?;
        let images = self.images(&form, &input.body).await?;
        if !upload_errors.is_empty() {
            return self.invalid(input, &images, upload_errors);
        }
        if let Action::EscapeBackticks = action {
            input.body = content::escape_stray_backticks(&input.body);
            let mut page = self.page(input, Some(&images));
            page.notice = Some(
                "The backticks between letters are escaped (\\`): they show as typed. Nothing is saved yet.".into(),
            );
            return render(&page);
        }
        if let Action::Upload = action {
            let mut page = self.page(input, Some(&images));
            page.notice = Some(match stored {
                0 => "Choose one or more image files first.".to_string(),
                1 => "The image is uploaded and added at the end of the text. Describe it below, then save.".into(),
                n => format!("{n} images are uploaded and added at the end of the text. Describe each below, then save."),
            });
            return render(&page);
        }
        let mut valid: ValidPost = match input.validate(&self.state.config.limits) {
            Ok(v) => v,
            Err(errors) => {
                return self.invalid_in(
                    input,
                    &images,
                    errors.into_iter().map(|e| (e.field, e.message)).collect(),
                );
            }
        };
        valid.body_html = content::render_markdown_with(
            &valid.body_markdown,
            self.state.urls.base(),
            &images.images,
        );
        // "don`t … I`m" would lose its backticks to a code span: asked first, unless the owner chose to keep them.
        let stray = if form.get("backticks") == Some("keep") {
            Vec::new()
        } else {
            content::stray_backticks(&input.body, 8)
        };
        let status = match action {
            Action::Preview | Action::Upload | Action::EscapeBackticks => {
                let mastodon =
                    mastodon_view(self.state, &valid, &images, self.post.as_ref(), self.page);
                let mut page = self.page(input, Some(&images));
                page.preview = Some(Preview {
                    title: valid.title,
                    body_html: valid.body_html,
                    mastodon,
                });
                page.stray = stray;
                page.stray_action = "preview";
                return render(&page);
            }
            Action::Save(status) => status,
        };
        if !stray.is_empty() {
            let mut page = self.page(input, Some(&images));
            page.stray = stray;
            page.stray_action = if status == PostStatus::Published {
                "publish"
            } else {
                "draft"
            };
            let page = render(&page)?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        // Unpublishing tells every follower's server to delete the post: asked once more, the text kept.
        if self.published()
            && status == PostStatus::Draft
            && form.get("confirm_unpublish") != Some("1")
        {
            let mut page = self.page(input, Some(&images));
            page.confirm_unpublish = true;
            return render(&page);
        }
        let zone = self.state.site().zone();
        let typed = if self.date_text.is_empty() {
            None
        } else {
            match zone.parse_local(&self.date_text) {
                Ok(t) => Some(t),
                Err(e) => {
                    let error = format!(
                        "The publication date \u{201c}{}\u{201d} {e}.",
                        self.date_text
                    );
                    return self.invalid_in(input, &images, vec![("published_at", error)]);
                }
            }
        };
        let nav_position = match self.nav_text.as_str() {
            "" => None,
            text => match text.parse::<i64>() {
                Ok(n) if self.page && (1..=1000).contains(&n) => Some(n),
                _ => {
                    let error = "Position in the navigation: a number from 1 to 1000, or empty to leave the page out of it.".to_string();
                    return self.invalid_in(input, &images, vec![("nav_position", error)]);
                }
            },
        };
        let slug = valid.chosen_slug.as_ref().unwrap_or(&valid.derived_slug);
        if self.page && crate::domain::slug::is_reserved(slug.as_str()) {
            let error = format!(
                "A page cannot have the address /{}: the blog uses it. Choose another slug.",
                slug.as_str()
            );
            return self.invalid_in(input, &images, vec![("slug", error)]);
        }
        let mut choice = match crate::domain::posts::choose_dates(
            status,
            typed,
            self.stored(),
            self.announce,
            db::now(),
        ) {
            Ok(c) => c,
            Err(error) => return self.invalid_in(input, &images, vec![("published_at", error)]),
        };
        // A page is sent to followers only when the owner asks.
        if self.page {
            choice.announce = self.announce;
        }
        if status == PostStatus::Published && !images.undescribed.is_empty() {
            let error = format!(
                "Describe every image before publishing (or tick \u{201c}decorative\u{201d} for one that adds nothing to the text): {}.",
                images.undescribed.join(", ")
            );
            return self.invalid(input, &images, vec![error]);
        }
        let saved = publish::save(
            self.state,
            &publish::Save {
                author_id: &self.owner.0.id,
                post_id: self.post_id(),
                post: &valid,
                status: choice.status,
                published_at: choice.published_at,
                announce: choice.announce,
                page: self.page,
                nav_position,
                images: &images.saved,
                revisions_kept: self.state.config.editor.revisions_kept,
            },
        )
        .await;
        let id = match saved {
            Ok(id) => id,
            Err(SaveError::SlugTaken) => {
                let error = format!(
                    "The slug \u{201c}{}\u{201d} is already used by another post: choose another.",
                    valid.chosen_slug.as_ref().map_or("", |s| s.as_str())
                );
                return self.invalid_in(input, &images, vec![("slug", error)]);
            }
            Err(SaveError::NotFound) => return Err(AppError::NotFound),
            Err(SaveError::Db(e)) => return Err(e.into()),
        };
        tracing::info!(post = %id, status = choice.status.as_str(), "post saved");
        // The notice keys are the status names ("draft", "scheduled", "published"), or "quiet" for a post
        // published without telling followers.
        let notice =
            if choice.status == PostStatus::Published && !choice.announce && !self.announced() {
                "quiet"
            } else {
                choice.status.as_str()
            };
        Ok(Redirect::to(&format!("/admin/posts/{id}/edit?notice={notice}")).into_response())
    }
}

/// The Mastodon view of a post as the form has it (not saved).
fn mastodon_view(
    state: &AppState,
    valid: &ValidPost,
    images: &FormImages,
    stored: Option<&posts::Post>,
    page: bool,
) -> MastodonView {
    let site = state.site();
    let slug = valid
        .chosen_slug
        .as_ref()
        .unwrap_or(&valid.derived_slug)
        .as_str()
        .to_string();
    let featured = images
        .saved
        .featured
        .as_ref()
        .and_then(|id| images.images.get(id))
        .cloned();
    let post = posts::Post {
        id: stored.map(|p| p.id.clone()).unwrap_or_default(),
        article_id: stored
            .map(|p| p.article_id.clone())
            .unwrap_or_else(|| "preview".into()),
        slug,
        title: valid.title.clone(),
        summary: valid.summary.clone(),
        body_markdown: valid.body_markdown.clone(),
        body_html: valid.body_html.clone(),
        excerpt_html: valid.excerpt_html.clone(),
        status: "published".into(),
        created_at: db::now(),
        updated_at: db::now(),
        published_at: stored.and_then(|p| p.published_at).or(Some(db::now())),
        kind: if page { "page" } else { "post" }.into(),
        tags: valid
            .tags
            .iter()
            .map(|t| posts::Tag {
                slug: t.slug.as_str().to_string(),
                name: t.name.clone(),
            })
            .collect(),
        images: images
            .saved
            .shown
            .iter()
            .filter_map(|id| images.images.get(id).cloned())
            .collect(),
        featured: featured.clone(),
        like_count: stored.map_or(0, |p| p.like_count),
        share_count: stored.map_or(0, |p| p.share_count),
        ..Default::default()
    };
    let article = crate::federation::objects::article(&post, &state.urls, &site.language, true);
    let base = state.urls.base();
    MastodonView {
        url: state.urls.page_url(&post.path()),
        site: site.title.clone(),
        handle: state.urls.handle(),
        card_description: content::excerpt_text(&valid.excerpt_html),
        card_image: featured
            .as_ref()
            .and_then(|f| f.near(960).map(|v| f.url(base, v))),
        card_image_alt: featured.and_then(|f| f.alt).unwrap_or_default(),
        title: valid.title.clone(),
        summary_html: valid.excerpt_html.clone(),
        article_json: serde_json::to_string_pretty(&article).unwrap_or_default(),
        words: content::word_count(&valid.body_markdown),
    }
}

impl EditPage<'_> {
    /// ` aria-describedby="…"` for a field: its hint, and the list of errors when one is about it (with
    /// `aria-invalid`).
    fn field_attrs(&self, field: &str, hint: &str) -> String {
        let invalid = self.error_fields.contains(&field);
        let ids: Vec<&str> = [
            invalid.then_some("form-errors"),
            (!hint.is_empty()).then_some(hint),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut attrs = String::new();
        if invalid {
            attrs.push_str(" aria-invalid=\"true\"");
        }
        if !ids.is_empty() {
            attrs.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
        }
        attrs
    }
}

/// The post's text fields of a submitted form, as typed.
fn input_of_form(form: &FormData) -> PostInput {
    PostInput {
        title: form.value("title"),
        slug: form.value("slug"),
        summary: form.value("summary"),
        tags: form.value("tags"),
        body: form.value("body"),
    }
}

/// `![alt](/media/<hash>-<width>.<ext>)` for an image, with its widest main variant.
pub fn markdown_of(image: &crate::domain::media::Image, alt: &str) -> Option<String> {
    let v = image.main()?;
    let alt = alt.replace(['[', ']'], "").replace('\n', " ");
    Some(format!(
        "![{alt}](/media/{})",
        crate::domain::media::variant_name(&image.id, v.width, v.format)
    ))
}

/// `?notice=…`, `?revision=<id>` (load a revision into the form) and `?saved=1` (show the saved version, not the
/// autosave) on the editor.
#[derive(Debug, serde::Deserialize)]
pub struct EditQuery {
    notice: Option<String>,
    revision: Option<String>,
    saved: Option<String>,
}

/// What the editor shows when it opens: the form this browser posted after its session ended, else the owner's
/// autosave when it is newer than the saved version and differs from it. Returns the text, a notice, and the
/// cookie that forgets the recovered form.
async fn unsaved_text(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    post_id: Option<&str>,
    owner: &Owner,
    saved: Option<(&PostInput, i64)>,
) -> Result<(Option<(PostInput, String)>, Option<HeaderValue>), AppError> {
    if let Some(key) = auth::recover_key(state, headers)
        && let Some(json) = db::revisions::take_form(&state.db, &key, path).await?
        && let Ok(input) = serde_json::from_str::<PostInput>(&json)
    {
        let notice = "This is the text you sent when your session had ended. It is not saved yet: check it and save it."
            .to_string();
        return Ok((Some((input, notice)), auth::clear_recover_cookie(state)));
    }
    let Some(autosave) = db::revisions::find_autosave(&state.db, post_id, &owner.0.id).await?
    else {
        return Ok((None, None));
    };
    let input = autosave.input();
    let newer = match saved {
        Some((saved_input, updated_at)) => {
            autosave.created_at >= updated_at && input != *saved_input
        }
        None => input != PostInput::default(),
    };
    if !newer {
        return Ok((None, None));
    }
    let notice = format!(
        "This is the text autosaved at {}, which you have not saved yet. Save it to keep it{}.",
        crate::domain::dates::moment(autosave.created_at),
        if saved.is_some() {
            ", or open the saved version instead"
        } else {
            ""
        }
    );
    Ok((Some((input, notice)), None))
}

/// `?kind=page` on the editor of a new post makes it a page.
#[derive(Debug, serde::Deserialize)]
pub struct NewQuery {
    kind: Option<String>,
}

pub async fn new(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    headers: HeaderMap,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    let editor = if query.kind.as_deref() == Some("page") {
        Editor::blank_page(&state, &csrf, &owner)
    } else {
        Editor::blank(&state, &csrf, &owner)
    };
    let (unsaved, clear) =
        unsaved_text(&state, &headers, &editor.edit_path(), None, &owner, None).await?;
    let page = match unsaved {
        Some((input, notice)) => {
            let images = editor.images(&FormData::default(), &input.body).await?;
            let mut page = editor.page(input, Some(&images));
            page.notice = Some(notice);
            render(&page)?
        }
        None => render(&editor.page(PostInput::default(), None))?,
    };
    Ok((clear.map(|c| [(header::SET_COOKIE, c)]), csrf, page).into_response())
}

/// A submitted editor form, checked: the owner's with a valid token, the owner's with a stale one (shown again,
/// nothing done), or one that came after the session ended (kept for after the next login).
enum Received {
    Form(Owner, FormData),
    StaleToken(Owner, FormData),
    NoSession(Response),
}

async fn receive(
    state: &AppState,
    owner: Option<db::users::User>,
    request: Request,
) -> Result<Received, AppError> {
    let headers = request.headers().clone();
    let path = request.uri().path().to_string();
    let limits = &state.config.limits;
    let Some(user) = owner else {
        // A stranger's post is not kept; the owner's browser, on a page of this blog, says where it comes from.
        if !auth::from_this_site(state, &headers) {
            return Ok(Received::NoSession(Redirect::to("/admin").into_response()));
        }
        let form = uploads::read_any(request, limits.max_body_bytes, 0).await?;
        let input = input_of_form(&form);
        let next = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("notice", "session-ended")
            .append_pair("next", &path)
            .finish();
        let to = Redirect::to(&format!("/admin?{next}")).into_response();
        if input == PostInput::default() {
            return Ok(Received::NoSession(to));
        }
        let (cookie, key) = auth::recover_cookie(state)
            .ok_or_else(|| AppError::internal("recover cookie is not a valid header"))?;
        let json = serde_json::to_string(&input)
            .map_err(|e| AppError::internal(format!("cannot keep the form: {e}")))?;
        db::revisions::stash_form(&state.db, &key, &path, &json).await?;
        tracing::info!(%path, "form kept after the session ended");
        return Ok(Received::NoSession(
            ([(header::SET_COOKIE, cookie)], to).into_response(),
        ));
    };
    let owner = Owner::with_counts(user, &state.db).await?;
    let form = uploads::read_any(
        request,
        limits.max_body_bytes,
        state.config.media.max_upload_bytes,
    )
    .await?;
    Ok(match auth::check_csrf(state, &headers, form.get("csrf")) {
        Ok(()) => Received::Form(owner, form),
        Err(_) => Received::StaleToken(owner, form),
    })
}

/// The form again with its text, after a stale token: nothing was done.
async fn stale(editor: &Editor<'_>, form: &FormData) -> Result<Response, AppError> {
    let input = input_of_form(form);
    let images = editor.images(form, &input.body).await?;
    let mut page = editor.page(input, Some(&images));
    page.errors = vec![
        "This form had expired (the page was open for long, or you logged in again meanwhile), so nothing was \
         saved. Your text is below: check it and press the button again."
            .into(),
    ];
    Ok((StatusCode::FORBIDDEN, editor.csrf.clone(), render(&page)?).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    MaybeOwner(owner): MaybeOwner,
    csrf: CsrfToken,
    request: Request,
) -> Result<Response, AppError> {
    match receive(&state, owner, request).await? {
        Received::NoSession(response) => Ok(response),
        Received::StaleToken(owner, form) => {
            stale(&Editor::blank(&state, &csrf, &owner).typed(&form), &form).await
        }
        Received::Form(owner, form) => {
            Editor::blank(&state, &csrf, &owner)
                .typed(&form)
                .submit(form)
                .await
        }
    }
}

pub async fn edit(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<EditQuery>,
) -> Result<Response, AppError> {
    let post = posts::find_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut stored = FormData::default();
    if let Some(f) = &post.featured_media_id {
        stored.text.insert("featured".into(), f.clone());
    }
    let saved = post.input();
    let (updated_at, path) = (post.updated_at, post.path());
    let editor = Editor::of(&state, &csrf, &owner, post)
        .with_revisions()
        .await?;
    let mut clear = None;
    let (input, notice) = if let Some(rev) = query.revision.as_deref() {
        let revision = db::revisions::find(&state.db, &id, rev)
            .await?
            .ok_or(AppError::NotFound)?;
        let notice = format!(
            "The revision from {} is in the form below. Nothing is changed until you save it.",
            crate::domain::dates::moment(revision.created_at)
        );
        (revision.input(), Some(notice))
    } else if query.saved.is_some() {
        (saved.clone(), None)
    } else {
        let (unsaved, c) = unsaved_text(
            &state,
            &headers,
            &editor.edit_path(),
            Some(&id),
            &owner,
            Some((&saved, updated_at)),
        )
        .await?;
        clear = c;
        match unsaved {
            Some((input, notice)) => (input, Some(notice)),
            None => (
                saved.clone(),
                NoticeQuery {
                    notice: query.notice,
                    next: None,
                }
                .message()
                .map(str::to_string),
            ),
        }
    };
    let images = editor.images(&stored, &input.body).await?;
    let differs = input != saved;
    let mut page = editor.page(input, Some(&images));
    page.notice = notice;
    page.view_url = editor.published().then_some(path);
    page.saved_version_url = differs.then(|| format!("/admin/posts/{id}/edit?saved=1"));
    let page = render(&page)?;
    Ok((clear.map(|c| [(header::SET_COOKIE, c)]), csrf, page).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    MaybeOwner(owner): MaybeOwner,
    csrf: CsrfToken,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let received = receive(&state, owner, request).await?;
    let (owner, form, fresh) = match received {
        Received::NoSession(response) => return Ok(response),
        Received::StaleToken(owner, form) => (owner, form, false),
        Received::Form(owner, form) => (owner, form, true),
    };
    let post = posts::find_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let editor = Editor::of(&state, &csrf, &owner, post)
        .typed(&form)
        .with_revisions()
        .await?;
    if fresh {
        editor.submit(form).await
    } else {
        stale(&editor, &form).await
    }
}

/// The live preview, for the editor's script: the post as the form has it, rendered by the same code as the page,
/// with the Mastodon view; nothing is saved. Errors are listed, not thrown, so the preview says what is wrong.
pub async fn live_preview(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    request: Request,
) -> Result<Response, AppError> {
    let form = uploads::read_checked(&state, request).await?;
    let stored = match form.get("id").filter(|id| !id.is_empty()) {
        Some(id) => posts::find_by_id(&state.db, id).await?,
        None => None,
    };
    // A new one is a page when the form says so; a stored one stays what it is.
    let editor = match stored {
        Some(post) => Editor::of(&state, &csrf, &owner, post),
        None => Editor::blank(&state, &csrf, &owner),
    }
    .typed(&form);
    let input = input_of_form(&form);
    let images = editor.images(&form, &input.body).await?;
    let mut valid = match input.validate(&state.config.limits) {
        Ok(v) => v,
        Err(errors) => {
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            return Ok(axum::Json(serde_json::json!({ "errors": messages })).into_response());
        }
    };
    valid.body_html =
        content::render_markdown_with(&valid.body_markdown, state.urls.base(), &images.images);
    let mastodon = mastodon_view(&state, &valid, &images, editor.post.as_ref(), editor.page);
    let mastodon_html = MastodonPartial { m: &mastodon }.render()?;
    Ok(axum::Json(serde_json::json!({
        "title": valid.title,
        "html": valid.body_html,
        "words": mastodon.words,
        "stray_backticks": content::stray_backticks(&input.body, 8),
        "mastodon_html": mastodon_html,
    }))
    .into_response())
}

/// The text typed so far, sent by the editor's script: kept as the owner's autosave of the post (a new post's when
/// there is no id). Nothing is published and nothing is sent to followers. 401 when the session has ended.
async fn autosave_of(
    state: &AppState,
    owner: Option<db::users::User>,
    post_id: Option<&str>,
    input: PostInput,
) -> Result<Response, AppError> {
    let Some(owner) = owner else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({
                "error": "Your session has ended: log in again (in another tab) to keep autosaving. The text stays in this browser."
            })),
        )
            .into_response());
    };
    let limits = &state.config.limits;
    if input.title.chars().count() > limits.max_title_chars.saturating_mul(4) {
        return Err(AppError::BadRequest("The title is far too long.".into()));
    }
    let Some(at) = db::revisions::autosave(&state.db, post_id, &owner.id, &input).await? else {
        return Err(AppError::NotFound);
    };
    Ok(axum::Json(serde_json::json!({
        "saved_at": at,
        "label": format!("Autosaved at {}", crate::domain::dates::moment(at)),
    }))
    .into_response())
}

pub async fn autosave_new(
    State(state): State<AppState>,
    MaybeOwner(owner): MaybeOwner,
    CsrfForm(input): CsrfForm<PostInput>,
) -> Result<Response, AppError> {
    autosave_of(&state, owner, None, input).await
}

pub async fn autosave(
    State(state): State<AppState>,
    MaybeOwner(owner): MaybeOwner,
    Path(id): Path<String>,
    CsrfForm(input): CsrfForm<PostInput>,
) -> Result<Response, AppError> {
    autosave_of(&state, owner, Some(&id), input).await
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let post = posts::find_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = render(&DeletePage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        title: post.title,
        action_url: format!("/admin/posts/{id}/delete"),
        edit_url: format!("/admin/posts/{id}/edit"),
    })?;
    Ok((csrf, page).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    _owner: Owner,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<super::EmptyForm>,
) -> Result<Response, AppError> {
    if !publish::delete(&state, &id).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(post = %id, "post deleted");
    Ok(Redirect::to("/admin?notice=deleted").into_response())
}

/// One line of a comparison: `kind` is "same", "removed" (only in the revision) or "added" (only in the current
/// version); "gap" stands for unchanged lines left out.
pub struct DiffLine {
    pub kind: &'static str,
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin/revision.html")]
struct RevisionPage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: crate::web::auth::Waiting,
    title: String,
    kind: &'static str,
    when: String,
    lines: Vec<DiffLine>,
    same: bool,
    restore_url: String,
    edit_url: String,
}

/// The fields of a post as one text, for comparing two versions line by line.
fn comparable(input: &PostInput) -> String {
    format!(
        "Title: {}\nSlug: {}\nTags: {}\nSummary: {}\n\n{}\n",
        input.title, input.slug, input.tags, input.summary, input.body
    )
}

/// The lines that differ between `old` and `new`, with three lines of context around each change.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for (i, group) in diff.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            lines.push(DiffLine {
                kind: "gap",
                text: "…".into(),
            });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    similar::ChangeTag::Equal => "same",
                    similar::ChangeTag::Delete => "removed",
                    similar::ChangeTag::Insert => "added",
                };
                lines.push(DiffLine {
                    kind,
                    text: change.value().trim_end_matches('\n').to_string(),
                });
            }
        }
    }
    lines
}

/// A revision compared with the post as saved now, with a link that loads it into the editor.
pub async fn revision(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Path((id, rev)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let post = posts::find_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let revision = db::revisions::find(&state.db, &id, &rev)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = diff_lines(&comparable(&revision.input()), &comparable(&post.input()));
    let page = render(&RevisionPage {
        site: &state.site(),
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1,
        title: post.title.clone(),
        kind: if revision.is_autosave() {
            "autosave"
        } else {
            "revision"
        },
        when: crate::domain::dates::moment(revision.created_at),
        same: lines.is_empty(),
        lines,
        restore_url: format!("/admin/posts/{id}/edit?revision={rev}"),
        edit_url: format!("/admin/posts/{id}/edit?saved=1"),
    })?;
    Ok((csrf, page).into_response())
}
