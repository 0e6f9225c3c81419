//! The optional Prometheus endpoint, `GET /metrics`, on its own listener (`metrics.bind`) so that it can stay
//! private: the delivery and inbox queues' depths from the database and this process's counters.

use std::{future::Future, sync::Arc};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{
    db::{Db, deliveries, inbox_queue},
    federation::{delivery::metrics::Metrics, intake::Counters},
};

/// Paused hosts listed by name (the gauge of all paused hosts counts every one).
const PAUSED_HOSTS_LISTED: i64 = 1000;

#[derive(Clone)]
struct MetricsState {
    db: Db,
    metrics: Arc<Metrics>,
    inbox: Arc<Counters>,
}

async fn metrics(State(s): State<MetricsState>) -> Response {
    let read = async {
        let depth = deliveries::depth(&s.db).await?;
        let paused = deliveries::paused_hosts(&s.db, PAUSED_HOSTS_LISTED).await?;
        let inbox = inbox_queue::stats(&s.db).await?;
        Ok::<_, sqlx::Error>((depth, paused, inbox))
    };
    match read.await {
        Ok((depth, paused, inbox)) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            s.metrics.render(&depth, &paused) + &s.inbox.render(&inbox, crate::db::now()),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the queue state for /metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Serves `/metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    db: Db,
    metrics: Arc<Metrics>,
    inbox: Arc<Counters>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = Router::new()
        .route("/metrics", get(self::metrics))
        .with_state(MetricsState { db, metrics, inbox });
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
}
