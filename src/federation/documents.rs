//! The blog's ActivityPub documents: the actor, its collections (outbox, followers, following) and each post's
//! Article. Browsers asking for these URLs are sent to the matching HTML page.

use activitypub_federation::protocol::public_key::PublicKey;
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    http::{ActivityJson, redirect_varying, wants_activity_json},
    objects,
    protocol::{
        actor::{Endpoints, Image, MovedActor, Multikey, Person},
        collection::{OrderedCollection, OrderedCollectionPage},
        context,
    },
    verify,
};
use crate::{
    app::AppState,
    db::{comments, followers, posts},
    domain::{content::escape_html, dates},
    error::AppError,
};

/// Items per collection page.
const PAGE_SIZE: i64 = 20;

/// 404 unless `username` is the blog's.
fn check_username(state: &AppState, username: &str) -> Result<(), AppError> {
    if username == state.urls.username() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// `/users/{username}`: the actor as JSON; browsers go to the home page.
pub async fn actor(
    State(state): State<AppState>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_username(&state, &username)?;
    if !wants_activity_json(&headers) {
        return Ok(see_other_varying("/"));
    }
    Ok(ActivityJson(blog_person(&state).await?).into_response())
}

/// The blog actor as it is now: what `/users/{username}` serves.
pub async fn blog_person(state: &AppState) -> Result<Person, AppError> {
    let values = crate::db::settings::all(&state.db).await?;
    person_with(state, &state.site(), &values)
}

/// The blog actor with the site settings `site` and the stored settings `values` (the ones an `Update` of the
/// profile announces, before they are committed).
pub fn person_with(
    state: &AppState,
    site: &crate::config::SiteConfig,
    values: &std::collections::HashMap<String, String>,
) -> Result<Person, AppError> {
    let urls = &state.urls;
    let actor_id = urls.actor();
    let image = |key: &str| {
        crate::domain::media::profile_image(values, key).map(|i| Image {
            kind: "Image".into(),
            url: i.url,
            media_type: i.media_type,
        })
    };
    Ok(Person {
        context: context(),
        id: actor_id.clone(),
        kind: "Person".into(),
        preferred_username: urls.username().to_string(),
        name: site.title.clone(),
        summary: if site.description.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", escape_html(&site.description))
        },
        url: urls.home(),
        inbox: urls.inbox(),
        outbox: urls.outbox(),
        followers: urls.followers(),
        following: urls.following(),
        endpoints: Endpoints {
            shared_inbox: urls.shared_inbox(),
        },
        public_key: PublicKey {
            id: urls.key_id(),
            owner: actor_id.parse().map_err(AppError::internal)?,
            public_key_pem: state.blog_key.public_pem.clone(),
        },
        assertion_method: state
            .blog_key
            .ed25519
            .iter()
            .map(|key| Multikey {
                id: urls.ed25519_key_id(),
                kind: "Multikey".into(),
                controller: actor_id.clone(),
                public_key_multibase: key.public_key_multibase(),
            })
            .collect(),
        manually_approves_followers: false,
        discoverable: true,
        indexable: true,
        published: dates::iso(state.blog_key.created_at),
        icon: image("avatar"),
        image: image("header"),
        also_known_as: crate::domain::moving::aliases(values),
        moved_to: crate::domain::moving::moved(values).map(|m| m.id),
    })
}

/// The WordPress actor this blog took over, when `address` (path and query, as asked) is its old id: its document
/// for ActivityPub clients (moved to the blog, with its old key), the home page for browsers.
pub async fn old_wordpress_actor(
    state: &AppState,
    address: &str,
    headers: &HeaderMap,
) -> Result<Option<Response>, AppError> {
    use crate::domain::moving;
    let values = crate::db::settings::all(&state.db).await?;
    let Some(old_id) = values.get(moving::WP_ACTOR_ID) else {
        return Ok(None);
    };
    let Ok(old) = url::Url::parse(old_id) else {
        return Ok(None);
    };
    let old_address = match old.query() {
        Some(q) => format!("{}?{q}", old.path()),
        None => old.path().to_string(),
    };
    if old_address != address && old_address.trim_end_matches('/') != address.trim_end_matches('/')
    {
        return Ok(None);
    }
    if !wants_activity_json(headers) {
        return Ok(Some(see_other_varying("/")));
    }
    let Some(key) =
        crate::db::actor_keys::find(&state.db, crate::federation::keys::WORDPRESS_ACTOR).await?
    else {
        return Ok(None);
    };
    let username = values
        .get(moving::WP_ACTOR_USERNAME)
        .cloned()
        .unwrap_or_default();
    let actor = MovedActor {
        context: context(),
        id: old_id.clone(),
        kind: "Person".into(),
        name: values
            .get(moving::WP_ACTOR_NAME)
            .cloned()
            .unwrap_or_else(|| username.clone()),
        preferred_username: username,
        summary: format!(
            "<p>This blog has moved to <a href=\"{0}\">{0}</a>.</p>",
            escape_html(&state.urls.home())
        ),
        url: state.urls.home(),
        inbox: state.urls.shared_inbox(),
        endpoints: Endpoints {
            shared_inbox: state.urls.shared_inbox(),
        },
        public_key: PublicKey {
            id: format!("{old_id}#main-key"),
            owner: old_id.parse().map_err(AppError::internal)?,
            public_key_pem: key.public_key_pem,
        },
        moved_to: state.urls.actor(),
        manually_approves_followers: false,
    };
    Ok(Some(ActivityJson(actor).into_response()))
}

/// What the actor's collections check first: the username (404), browsers (sent to the blog), and signed GETs
/// under authorized fetch (401). `Some` is the answer to give instead of the collection.
async fn collection_gate(
    state: &AppState,
    username: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<Response>, AppError> {
    check_username(state, username)?;
    if !wants_activity_json(headers) {
        return Ok(Some(see_other_varying("/")));
    }
    verify::signed_get(state, uri, headers).await?;
    Ok(None)
}

/// Browsers asking for an ActivityPub URL are sent to its HTML page.
fn see_other_varying(location: &str) -> Response {
    redirect_varying(StatusCode::SEE_OTHER, location)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    /// `None` for the collection itself, `Some(n)` for page n (1-based); 400 for anything else.
    fn page(&self) -> Result<Option<i64>, AppError> {
        match self.page.as_deref() {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .map(Some)
                .ok_or_else(|| AppError::BadRequest("page must be a positive whole number".into())),
        }
    }
}

/// The collection document, or one of its pages, for `total` items fetched by `items(limit, offset)`.
async fn collection<F, Fut>(
    id: String,
    total: i64,
    page: Option<i64>,
    items: F,
) -> Result<Response, AppError>
where
    F: FnOnce(i64, i64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Value>, AppError>>,
{
    let Some(page) = page else {
        return Ok(ActivityJson(OrderedCollection {
            context: context(),
            first: Some(format!("{id}?page=1")),
            id,
            kind: "OrderedCollection".into(),
            total_items: total,
        })
        .into_response());
    };
    let offset = (page - 1) * PAGE_SIZE;
    let ordered_items = items(PAGE_SIZE, offset).await?;
    Ok(ActivityJson(OrderedCollectionPage {
        context: context(),
        id: format!("{id}?page={page}"),
        kind: "OrderedCollectionPage".into(),
        part_of: id.clone(),
        total_items: total,
        ordered_items,
        next: (offset + PAGE_SIZE < total).then(|| format!("{id}?page={}", page + 1)),
        prev: (page > 1).then(|| format!("{id}?page={}", page - 1)),
    })
    .into_response())
}

/// `/users/{username}/outbox`: the Create activities of published posts, newest first.
pub async fn outbox(
    State(state): State<AppState>,
    Path(username): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    if let Some(response) = collection_gate(&state, &username, &uri, &headers).await? {
        return Ok(response);
    }
    let total = posts::count_published(&state.db).await?;
    let language = state.site().language.clone();
    collection(
        state.urls.outbox(),
        total,
        q.page()?,
        |limit, offset| async move {
            let list = posts::list_published_full_page(&state.db, limit, offset).await?;
            Ok(list
                .iter()
                .map(|p| objects::create_activity(p, &state.urls, &language, false))
                .collect())
        },
    )
    .await
}

/// `/users/{username}/followers`: who follows the blog. `federation.hide_followers` keeps the count, hides the list.
pub async fn followers(
    State(state): State<AppState>,
    Path(username): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    if let Some(response) = collection_gate(&state, &username, &uri, &headers).await? {
        return Ok(response);
    }
    let total = followers::count(&state.db).await?;
    let id = state.urls.followers();
    let page = q.page()?;
    if state.config.federation.hide_followers {
        if page.is_some() {
            return Err(AppError::Forbidden(
                "This blog does not list its followers.".into(),
            ));
        }
        return Ok(ActivityJson(OrderedCollection {
            context: context(),
            id,
            kind: "OrderedCollection".into(),
            total_items: total,
            first: None,
        })
        .into_response());
    }
    collection(id, total, page, |limit, offset| async move {
        Ok(followers::list_ids(&state.db, limit, offset)
            .await?
            .into_iter()
            .map(Value::String)
            .collect())
    })
    .await
}

/// `/users/{username}/following`: the blog follows no one.
pub async fn following(
    State(state): State<AppState>,
    Path(username): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    if let Some(response) = collection_gate(&state, &username, &uri, &headers).await? {
        return Ok(response);
    }
    collection(state.urls.following(), 0, q.page()?, |_, _| async {
        Ok(Vec::new())
    })
    .await
}

/// `/articles/{id}`: a published post as an Article; browsers go to its permalink. Drafts do not exist here, and
/// the Articles of deleted or unpublished posts answer 410 with a Tombstone.
pub async fn article(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    if let Some(deleted) = posts::tombstoned_at(&mut conn, &id).await? {
        if !wants_activity_json(&headers) {
            return Err(AppError::Gone);
        }
        verify::signed_get(&state, &uri, &headers).await?;
        let tombstone = serde_json::json!({
            "@context": context(),
            "id": state.urls.article(&id),
            "type": "Tombstone",
            "formerType": "Article",
            "deleted": dates::iso(deleted),
        });
        let mut response = ActivityJson(tombstone).into_response();
        *response.status_mut() = StatusCode::GONE;
        return Ok(response);
    }
    drop(conn);
    let post = posts::find_published_by_article_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !wants_activity_json(&headers) {
        return Ok(redirect_varying(
            StatusCode::MOVED_PERMANENTLY,
            &post.path(),
        ));
    }
    verify::signed_get(&state, &uri, &headers).await?;
    let article = objects::article(&post, &state.urls, &state.site().language, true);
    Ok(ActivityJson(article).into_response())
}

/// `/articles/{id}/replies|likes|shares`: a published post's collections: the ids of its shown comments (replies
/// to replies included, so that the whole thread can be found from the Article), and of its Likes and Announces.
pub async fn article_collection(
    State(state): State<AppState>,
    Path((id, which)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    if !matches!(which.as_str(), "replies" | "likes" | "shares") {
        return Err(AppError::NotFound);
    }
    let post = posts::find_published_by_article_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !wants_activity_json(&headers) {
        return Ok(see_other_varying(&post.path()));
    }
    verify::signed_get(&state, &uri, &headers).await?;
    let collection_id = state.urls.article_collection(&post.article_id, &which);
    let total = match which.as_str() {
        "replies" => post.comment_count,
        "likes" => post.like_count,
        _ => post.share_count,
    };
    let db = state.db.clone();
    collection(
        collection_id,
        total,
        q.page()?,
        |limit, offset| async move {
            let (_, ids) = match which.as_str() {
                "replies" => comments::shown_ids(&db, &post.id, limit, offset).await?,
                "likes" => comments::reaction_ids(&db, &post.id, "like", limit, offset).await?,
                _ => comments::reaction_ids(&db, &post.id, "announce", limit, offset).await?,
            };
            Ok(ids.into_iter().map(Value::String).collect())
        },
    )
    .await
}

/// `/notes/{id}`: one of the owner's replies to a comment, as a Note; browsers go to it on the post page.
pub async fn note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let note_id = format!("{}/notes/{id}", state.urls.base());
    let Some(doc) = super::answers::document(&state, &note_id).await? else {
        return Err(AppError::NotFound);
    };
    if !wants_activity_json(&headers) {
        let url = doc["url"].as_str().unwrap_or("/").to_string();
        return Ok(see_other_varying(&url));
    }
    verify::signed_get(&state, &uri, &headers).await?;
    Ok(ActivityJson(doc).into_response())
}
