//! The Prometheus scrape route and the request counting around every other route: the HTTP
//! side of `crate::metrics`, which does the counting and rendering.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::evaluation::EvalCache;
use crate::metrics::{DeliveryBacklog, Metrics};
use crate::service::webhooks::WebhookService;

/// Counts requests by status, path and method (and times them for the histogram), as Flagr's
/// middleware does for every request but the scrape itself.
pub(crate) async fn count_requests(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    metrics.record_request(response.status().as_str(), &path, method.as_str(), started.elapsed());
    response
}

/// What a scrape reads: the counters, the evaluation snapshot, and the delivery log when
/// there is a database.
#[derive(Clone)]
pub(crate) struct Scrape {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) cache: Arc<EvalCache>,
    /// The webhooks, when there is a database.
    pub(crate) webhooks: Option<WebhookService>,
}

pub(crate) async fn scrape(State(scrape): State<Scrape>) -> Response {
    let backlogs = match &scrape.webhooks {
        Some(webhooks) => match webhooks.list().await {
            Ok(webhooks) => webhooks
                .iter()
                .map(|summary| DeliveryBacklog {
                    webhook_id: summary.webhook.id,
                    pending: summary.pending_deliveries,
                    failed: summary.failed_deliveries,
                })
                .collect(),
            Err(error) => {
                // The counters are still worth serving; the gauges are left out of this scrape.
                tracing::warn!(%error, "cannot read the delivery log for metrics");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        scrape
            .metrics
            .render(&backlogs, scrape.cache.snapshot().flags_with_invalid_constraints()),
    )
        .into_response()
}
