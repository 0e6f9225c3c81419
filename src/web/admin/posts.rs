//! The post editor: write, preview, save as draft, publish, edit and delete (with a confirmation page).

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::NoticeQuery;
use crate::{
    app::AppState,
    config::SiteConfig,
    db::posts::{self, SaveError},
    domain::posts::{FieldError, PostInput, PostStatus, ValidPost},
    error::AppError,
    federation::publish,
    web::{
        auth::{CsrfForm, CsrfToken, Owner},
        views::{post_path, render},
    },
};

struct Preview {
    title: String,
    body_html: String,
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
    notice: Option<&'static str>,
    preview: Option<Preview>,
    view_url: Option<String>,
    delete_url: Option<String>,
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

/// The editor form: the post's fields and which button was pressed.
#[derive(Debug, Deserialize)]
pub struct PostForm {
    #[serde(flatten)]
    input: PostInput,
    #[serde(default)]
    action: String,
}

/// Which button: "preview", "draft" or "publish".
enum Action {
    Preview,
    Save(PostStatus),
}

impl Action {
    fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "preview" => Ok(Self::Preview),
            "draft" => Ok(Self::Save(PostStatus::Draft)),
            "publish" => Ok(Self::Save(PostStatus::Published)),
            _ => Err(AppError::BadRequest(
                "Unknown action: use the Preview, Save draft or Publish button.".into(),
            )),
        }
    }
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

    fn page(
        &self,
        input: PostInput,
        errors: Vec<String>,
        preview: Option<Preview>,
        notice: Option<&'static str>,
        view_url: Option<String>,
    ) -> EditPage<'_> {
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
            errors,
            notice,
            preview,
            view_url,
            delete_url: self
                .post_id
                .as_ref()
                .map(|id| format!("/admin/posts/{id}/delete")),
        }
    }

    /// The form again, with the owner's text intact and the problems named.
    fn invalid(&self, input: PostInput, errors: Vec<FieldError>) -> Result<Response, AppError> {
        let messages = errors.into_iter().map(|e| e.message).collect();
        let page = render(&self.page(input, messages, None, None, None))?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    }

    /// Handles a submitted form: preview it, or save it and go to the editor of the saved post.
    async fn submit(&self, form: PostForm) -> Result<Response, AppError> {
        let action = Action::parse(&form.action)?;
        let valid: ValidPost = match form.input.validate(&self.state.config.limits) {
            Ok(v) => v,
            Err(errors) => return self.invalid(form.input, errors),
        };
        let status = match action {
            Action::Preview => {
                let preview = Preview {
                    title: valid.title,
                    body_html: valid.body_html,
                };
                return render(&self.page(form.input, Vec::new(), Some(preview), None, None));
            }
            Action::Save(status) => status,
        };
        let saved = publish::save(
            self.state,
            &self.owner.0.id,
            self.post_id.as_deref(),
            &valid,
            status,
        )
        .await;
        let id = match saved {
            Ok(id) => id,
            Err(SaveError::SlugTaken) => {
                let error = FieldError {
                    field: "slug",
                    message: format!(
                        "The slug \u{201c}{}\u{201d} is already used by another post: choose another.",
                        valid.chosen_slug.as_ref().map_or("", |s| s.as_str())
                    ),
                };
                return self.invalid(form.input, vec![error]);
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

pub async fn new(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    let editor = Editor::blank(&state, &csrf, &owner);
    let page = render(&editor.page(PostInput::default(), Vec::new(), None, None, None))?;
    Ok((csrf, page).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<PostForm>,
) -> Result<Response, AppError> {
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
    let view_url = editor.published.then(|| post_path(&post.slug));
    let page = render(&editor.page(
        input_of(&post),
        Vec::new(),
        None,
        notice.message(),
        view_url,
    ))?;
    Ok((csrf, page).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    owner: Owner,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PostForm>,
) -> Result<Response, AppError> {
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
