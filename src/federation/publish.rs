//! Saving and deleting posts together with the activities that tell followers, in one transaction: publishing
//! queues `Create`, editing a published post `Update`, unpublishing or deleting `Delete{Tombstone}`. Drafts never
//! federate. Each activity is stored once; the delivery worker expands it into one delivery per follower's shared
//! inbox (or own inbox without one), so saving returns at once whatever the number of followers.
//!
//! A post's images are saved with it: which uploads it shows, its featured image, and the descriptions the form
//! changed. A description shows in every post with that image, so other published posts that show it are
//! re-rendered and sent as `Update` in the same transaction.

use super::activities::{create, delete, update};
use crate::{
    app::AppState,
    db::{
        deliveries::{self, NewActivity},
        media,
        posts::{self, Post, SaveError, Tx},
        revisions,
    },
    domain::{
        content,
        media::Images,
        posts::{PostStatus, ValidPost},
    },
};

/// What the editor decided about a post's images.
#[derive(Debug, Clone, Default)]
pub struct PostImages {
    /// The uploads the text shows, in order.
    pub shown: Vec<String>,
    pub featured: Option<String>,
    /// New descriptions, by upload id (`Some("")`: decorative).
    pub alts: Vec<(String, Option<String>)>,
}

/// The images of a post by id, as its HTML is rendered with.
pub fn images_of(post: &Post) -> Images {
    post.images
        .iter()
        .chain(post.featured.iter())
        .map(|i| (i.id.clone(), i.clone()))
        .collect()
}

/// Applies new descriptions inside `tx`, then re-renders every post other than `except` that shows one of the
/// changed images, queueing an `Update` for those that are published.
pub async fn describe_in(
    state: &AppState,
    tx: &mut Tx,
    alts: &[(String, Option<String>)],
    except: Option<&str>,
) -> Result<(), SaveError> {
    let mut touched: Vec<String> = Vec::new();
    for (id, alt) in alts {
        let Some(row) = media::find_in(tx, id).await? else {
            continue;
        };
        if row.alt == *alt {
            continue;
        }
        media::set_alt_in(tx, id, alt.as_deref()).await?;
        for u in media::uses_of_in(tx, id).await? {
            if Some(u.post_id.as_str()) != except && !touched.contains(&u.post_id) {
                touched.push(u.post_id);
            }
        }
    }
    for post_id in touched {
        let post = reload(tx, &post_id).await?;
        let html = content::render_markdown_with(
            &post.body_markdown,
            state.urls.base(),
            &images_of(&post),
        );
        if html == post.body_html {
            continue;
        }
        posts::replace_html_in(tx, &post_id, &html).await?;
        if post.status() == PostStatus::Published {
            let after = reload(tx, &post_id).await?;
            queue(tx, "edit", &after.title, update::build(state, &after)).await?;
        }
    }
    Ok(())
}

/// Queues an activity for every follower, inside `tx`. `kind` and `label` are what the Deliveries page shows.
async fn queue(
    tx: &mut Tx,
    kind: &str,
    label: &str,
    (activity_id, body): (String, String),
) -> Result<(), sqlx::Error> {
    deliveries::queue_for_followers(
        tx,
        &NewActivity {
            activity_id: &activity_id,
            kind,
            label,
            body: &body,
            signer: deliveries::BLOG_SIGNER,
        },
    )
    .await
    .map(|_| ())
}

async fn reload(tx: &mut Tx, id: &str) -> Result<Post, SaveError> {
    posts::find_by_id_in(tx, id)
        .await?
        .ok_or(SaveError::NotFound)
}

/// Queues the `Create` of `after`, a post that has just become public (as stored in `tx`), inside `tx`. An Article
/// id once deleted is never used again: a post published anew gets a new one. (Imports with `--announce` call it
/// for each published post.)
pub async fn announce_in(state: &AppState, tx: &mut Tx, mut after: Post) -> Result<(), SaveError> {
    if posts::tombstoned_at(tx, &after.article_id).await?.is_some() {
        after.article_id = posts::renew_article_id_in(tx, &after.id).await?;
    }
    queue(tx, "publish", &after.title, create::build(state, &after)).await?;
    Ok(())
}

/// Publishes the scheduled posts whose time has come, each in its own transaction with its `Create`; returns how
/// many this process published and when the next one is due. Safe to run in any number of processes at once:
/// each post is published, and its `Create` queued, exactly once.
pub async fn publish_due(state: &AppState) -> Result<(usize, Option<i64>), SaveError> {
    let now = crate::db::now();
    let (ids, next) = posts::due(&state.db, now).await?;
    let mut published = 0;
    for id in ids {
        let mut tx = state.db.begin_write().await?;
        if !posts::publish_due_in(&mut tx, &id, now).await? {
            continue;
        }
        let post = reload(&mut tx, &id).await?;
        let page = post.is_page();
        if post.announced == 1 {
            announce_in(state, &mut tx, post).await?;
        }
        state.db.commit_content(tx).await?;
        if page {
            state.reload_site().await?;
        }
        tracing::info!(post = %id, "scheduled post published");
        published += 1;
    }
    if published > 0 {
        state.wakeup.wake();
    }
    Ok((published, next))
}

/// One save of the editor: what to store, and how many revisions to keep.
pub struct Save<'a> {
    pub author_id: &'a str,
    /// `None` for a new post.
    pub post_id: Option<&'a str>,
    pub post: &'a ValidPost,
    pub status: PostStatus,
    /// The publication date: for a published post, when it was published (in the past when backdated); for a
    /// scheduled one, when it will be; for a draft, the date chosen, if any.
    pub published_at: Option<i64>,
    /// Whether followers hear of it when it is (or becomes) published: false for a backdated post the owner did
    /// not announce. A published post that was announced stays announced.
    pub announce: bool,
    /// A static page (kept as such once created) and its place in the navigation.
    pub page: bool,
    pub nav_position: Option<i64>,
    pub images: &'a PostImages,
    /// Saved revisions kept per post (`editor.revisions_kept`).
    pub revisions_kept: i64,
}

/// Creates (`post_id` None) or updates a post, keeps it as a revision, and queues what its followers must
/// hear. Returns the post's id.
pub async fn save(state: &AppState, save: &Save<'_>) -> Result<String, SaveError> {
    let Save {
        author_id,
        post_id,
        post,
        status,
        published_at,
        announce,
        page,
        nav_position,
        images,
        revisions_kept,
    } = *save;
    let mut tx = state.db.begin_write().await?;
    let before = match post_id {
        Some(id) => Some(reload(&mut tx, id).await?),
        None => None,
    };
    let was_published = before
        .as_ref()
        .is_some_and(|p| p.status() == PostStatus::Published);
    let was_announced = was_published && before.as_ref().is_some_and(|p| p.announced == 1);
    let dates = posts::Dates {
        published_at,
        announced: was_announced || announce,
        page,
        nav_position,
    };
    describe_in(state, &mut tx, &images.alts, post_id).await?;
    let id = match post_id {
        Some(id) => {
            posts::update_in(&mut tx, id, post, status, &dates).await?;
            id.to_string()
        }
        None => posts::create_in(&mut tx, author_id, post, status, &dates).await?,
    };
    media::set_post_media_in(&mut tx, &id, &images.shown, images.featured.as_deref()).await?;
    // The revision is the post as stored (its slug and tags as saved, not as typed).
    let stored = reload(&mut tx, &id).await?;
    revisions::record_save_in(
        &mut tx,
        &id,
        author_id,
        &stored.input(),
        post_id.is_none(),
        revisions_kept,
    )
    .await?;
    match (was_published, status == PostStatus::Published) {
        (false, true) if dates.announced => announce_in(state, &mut tx, stored).await?,
        // Backdated without announcing: on the blog and in its outbox, but no follower is told.
        (false, true) => {}
        (true, true) if was_announced => {
            queue(
                &mut tx,
                "edit",
                &stored.title,
                update::build(state, &stored),
            )
            .await?;
        }
        // Announced now, after it was published quietly.
        (true, true) if announce => announce_in(state, &mut tx, stored).await?,
        (true, true) => {}
        (true, false) => {
            if let Some(before) = &before {
                // Sent even for a post published quietly: anyone may have found it in the outbox.
                posts::tombstone_in(&mut tx, &before.article_id, &before.slug).await?;
                queue(
                    &mut tx,
                    "delete",
                    &before.title,
                    delete::build_for_article(state, &before.article_id),
                )
                .await?;
            }
        }
        (false, false) => {}
    }
    state.db.commit_content(tx).await?;
    state.wakeup.wake();
    if status == PostStatus::Scheduled {
        state.scheduler.notify_one();
    }
    // The site's navigation lists pages: read again at once in this process (others follow within a second).
    if page {
        state.reload_site().await?;
    }
    Ok(id)
}

/// Deletes a post; a published one leaves a tombstone and a queued `Delete`. `Ok(false)` when no such post.
pub async fn delete(state: &AppState, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = state.db.begin_write().await?;
    let Some(before) = posts::find_by_id_in(&mut tx, id).await? else {
        return Ok(false);
    };
    if before.status() == PostStatus::Published {
        posts::tombstone_in(&mut tx, &before.article_id, &before.slug).await?;
        queue(
            &mut tx,
            "delete",
            &before.title,
            delete::build_for_article(state, &before.article_id),
        )
        .await?;
    }
    let deleted = posts::delete_in(&mut tx, id).await?;
    state.db.commit_content(tx).await?;
    state.wakeup.wake();
    if before.is_page() {
        state.reload_site().await?;
    }
    Ok(deleted)
}
