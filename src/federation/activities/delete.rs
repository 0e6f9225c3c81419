//! `Delete`: incoming, of an actor by that actor (they are no longer a follower, their comments, likes and boosts
//! are removed, their key is forgotten) or of a comment by its author (removed; replies to it stay); a Delete of a
//! comment signed by anyone else is refused. Outgoing, the Delete of a post's Article.

use crate::{
    app::AppState,
    db::{comments, followers},
    error::AppError,
    federation::{actors, protocol::activity::Delete},
};

pub async fn receive(state: &AppState, signer: &str, delete: Delete) -> Result<(), AppError> {
    let object = delete.object.0.as_str();
    if object == signer {
        followers::delete(&state.db, signer).await?;
        let removed = comments::delete_all_of(&state.db, signer).await?;
        actors::forget(&state.db, &state.keys, signer).await?;
        tracing::info!(actor = %signer, comments = removed, "actor deleted at its origin; forgotten");
        return Ok(());
    }
    match comments::find(&state.db, object).await? {
        Some(c) if c.author_id == signer => {
            comments::delete_by_author(&state.db, object, signer).await?;
            tracing::info!(comment = %object, "comment deleted by its author");
            Ok(())
        }
        // An imported comment names its author by profile page: deleted when its origin, the signer's server,
        // says it is gone.
        Some(c)
            if crate::federation::comments::host(object)
                == crate::federation::comments::host(signer)
                && crate::db::imports::is_imported_comment(&state.db, object).await?
                && matches!(
                    state.client.fetch_json(object).await,
                    Err(crate::federation::client::FetchError::Status(s))
                        if s == axum::http::StatusCode::GONE || s == axum::http::StatusCode::NOT_FOUND
                ) =>
        {
            comments::delete_by_author(&state.db, object, &c.author_id).await?;
            tracing::info!(comment = %object, "imported comment deleted at its origin");
            Ok(())
        }
        Some(_) => Err(AppError::Forbidden(format!(
            "only its author may delete {object}"
        ))),
        None => {
            tracing::info!(actor = %signer, %object, "Delete of something we do not hold; ignored");
            Ok(())
        }
    }
}

/// The Delete of a post's Article (deleted or unpublished): its id and JSON body. The object is a Tombstone.
pub fn build_for_article(state: &AppState, article_id: &str) -> (String, String) {
    let article = state.urls.article(article_id);
    let id = format!("{article}#delete");
    let body = serde_json::json!({
        "@context": crate::federation::protocol::context(),
        "id": id,
        "type": "Delete",
        "actor": state.urls.actor(),
        "to": [crate::federation::protocol::PUBLIC],
        "cc": [state.urls.followers()],
        "object": { "id": article, "type": "Tombstone" },
    });
    (id, body.to_string())
}
