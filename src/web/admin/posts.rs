//! The post editor: write, add images (uploaded with the form, described, one featured), preview, save as draft,
//! publish, edit and delete (with a confirmation page).

use askama::Template;
use axum::{
    extract::{Path, Query, Request, State},
    http::StatusCode,
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
        auth::{CsrfForm, CsrfToken, Owner},
        views::{post_path, render},
    },
};

struct Preview {
    title: String,
    body_html: String,
}

/// An image of the post as the editor lists it, with the description as typed.
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
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: i64,
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
}

#[derive(Template)]
#[template(path = "admin/delete.html")]
struct DeletePage<'a> {
    site: &'a SiteConfig,
    csrf: &'a str,
    owner_name: &'a str,
    waiting: i64,
    title: String,
    action_url: String,
    edit_url: String,
}

/// Which button: "preview", "upload", "draft" or "publish".
enum Action {
    Preview,
    Upload,
    Save(PostStatus),
}

impl Action {
    fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "preview" => Ok(Self::Preview),
            "upload" => Ok(Self::Upload),
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
    /// `None` for a new post.
    post_id: Option<String>,
    published: bool,
}

impl<'a> Editor<'a> {
    /// The editor of a new post.
    fn blank(state: &'a AppState, csrf: &'a CsrfToken, owner: &'a Owner) -> Self {
        Self {
            state,
            csrf,
            owner,
            post_id: None,
            published: false,
        }
    }

    /// The editor of a stored post.
    fn of(state: &'a AppState, csrf: &'a CsrfToken, owner: &'a Owner, post: &posts::Post) -> Self {
        Self {
            state,
            csrf,
            owner,
            post_id: Some(post.id.clone()),
            published: post.status() == PostStatus::Published,
        }
    }

    fn page(&self, input: PostInput, images: Option<&FormImages>) -> EditPage<'_> {
        EditPage {
            site: &self.state.config.site,
            csrf: self.csrf.token(),
            owner_name: &self.owner.0.display_name,
            waiting: self.owner.1.0,
            base_url: self.state.config.base_url(),
            heading: if self.post_id.is_some() {
                "Edit post"
            } else {
                "New post"
            },
            action_url: match &self.post_id {
                Some(id) => format!("/admin/posts/{id}/edit"),
                None => "/admin/posts/new".into(),
            },
            max_title: self.state.config.limits.max_title_chars,
            published: self.published,
            input,
            errors: Vec::new(),
            notice: None,
            preview: None,
            view_url: None,
            delete_url: self
                .post_id
                .as_ref()
                .map(|id| format!("/admin/posts/{id}/delete")),
            featured: images
                .and_then(|i| i.saved.featured.clone())
                .unwrap_or_default(),
            images: images
                .map(|i| i.rows.iter().map(ImageRow::copy).collect())
                .unwrap_or_default(),
            max_upload_mib: self.state.config.media.max_upload_bytes / (1024 * 1024),
            confirm_unpublish: false,
        }
    }

    /// The form again, with the owner's text intact and the problems named.
    fn invalid(
        &self,
        input: PostInput,
        images: &FormImages,
        errors: Vec<String>,
    ) -> Result<Response, AppError> {
        let mut page = self.page(input, Some(images));
        page.errors = errors;
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
        let mut input = PostInput {
            title: form.value("title"),
            slug: form.value("slug"),
            summary: form.value("summary"),
            tags: form.value("tags"),
            body: form.value("body"),
        };
        let (stored, upload_errors) = self.upload(&mut form, &mut input).await?;
        let images = self.images(&form, &input.body).await?;
        if !upload_errors.is_empty() {
            return self.invalid(input, &images, upload_errors);
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
                return self.invalid(
                    input,
                    &images,
                    errors.into_iter().map(|e| e.message).collect(),
                );
            }
        };
        valid.body_html = content::render_markdown_with(
            &valid.body_markdown,
            self.state.urls.base(),
            &images.images,
        );
        let status = match action {
            Action::Preview | Action::Upload => {
                let mut page = self.page(input, Some(&images));
                page.preview = Some(Preview {
                    title: valid.title,
                    body_html: valid.body_html,
                });
                return render(&page);
            }
            Action::Save(status) => status,
        };
        // Unpublishing tells every follower's server to delete the post: asked once more, the text kept.
        if self.published
            && status == PostStatus::Draft
            && form.get("confirm_unpublish") != Some("1")
        {
            let mut page = self.page(input, Some(&images));
            page.confirm_unpublish = true;
            return render(&page);
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
            &self.owner.0.id,
            self.post_id.as_deref(),
            &valid,
            status,
            &images.saved,
        )
        .await;
        let id = match saved {
            Ok(id) => id,
            Err(SaveError::SlugTaken) => {
                let error = format!(
                    "The slug \u{201c}{}\u{201d} is already used by another post: choose another.",
                    valid.chosen_slug.as_ref().map_or("", |s| s.as_str())
                );
                return self.invalid(input, &images, vec![error]);
            }
            Err(SaveError::NotFound) => return Err(AppError::NotFound),
            Err(SaveError::Db(e)) => return Err(e.into()),
        };
        tracing::info!(post = %id, status = status.as_str(), "post saved");
        // The notice keys are the status names ("draft", "published").
        Ok(Redirect::to(&format!(
            "/admin/posts/{id}/edit?notice={}",
            status.as_str()
        ))
        .into_response())
    }
}

impl ImageRow {
    fn copy(&self) -> Self {
        Self {
            id: self.id.clone(),
            name: self.name.clone(),
            thumb_url: self.thumb_url.clone(),
            width: self.width,
            height: self.height,
            markdown: self.markdown.clone(),
            alt: self.alt.clone(),
            decorative: self.decorative,
            in_text: self.in_text,
        }
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

pub async fn new(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    let editor = Editor::blank(&state, &csrf, &owner);
    let page = render(&editor.page(PostInput::default(), None))?;
    Ok((csrf, page).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    request: Request,
) -> Result<Response, AppError> {
    let form = uploads::read_checked(&state, request).await?;
    let editor = Editor::blank(&state, &csrf, &owner);
    editor.submit(form).await
}

/// The stored post as the form shows it.
fn input_of(post: &posts::Post) -> PostInput {
    PostInput {
        title: post.title.clone(),
        slug: post.slug.clone(),
        summary: post.summary.clone(),
        tags: post
            .tags
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        body: post.body_markdown.clone(),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let post = posts::find_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let editor = Editor::of(&state, &csrf, &owner, &post);
    let mut stored = FormData::default();
    if let Some(f) = &post.featured_media_id {
        stored.text.insert("featured".into(), f.clone());
    }
    let input = input_of(&post);
    let images = editor.images(&stored, &input.body).await?;
    let mut page = editor.page(input, Some(&images));
    page.notice = notice.message().map(str::to_string);
    page.view_url = editor.published.then(|| post_path(&post.slug));
    let page = render(&page)?;
    Ok((csrf, page).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let form = uploads::read_checked(&state, request).await?;
    let post = posts::find_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Editor::of(&state, &csrf, &owner, &post).submit(form).await
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
        site: &state.config.site,
        csrf: csrf.token(),
        owner_name: &owner.0.display_name,
        waiting: owner.1.0,
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
