//! The Prometheus scrape route and the request counting around every other route: the HTTP
//! side of `crate::metrics`, which does the counting and rendering.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::evaluation::Evaluator;
use crate::metrics::{DeliveryBacklog, Metrics};
use crate::service::ServiceError;
use crate::service::environments::EnvironmentService;
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

/// What a scrape reads: the counters, the evaluation snapshots, and the delivery log when
/// there is a database.
#[derive(Clone)]
pub(crate) struct Scrape {
    pub(crate) metrics: Arc<Metrics>,
    /// The default environment's evaluator (eval-only mode's one environment), which also
    /// reaches the other environments.
    pub(crate) evaluator: Evaluator,
    /// The default environment's webhooks, when there is a database.
    pub(crate) webhooks: Option<WebhookService>,
}

pub(crate) async fn scrape(State(scrape): State<Scrape>) -> Response {
    let default = || {
        vec![(
            scrape.evaluator.environment().to_owned(),
            scrape.evaluator.cache().snapshot().flags_with_invalid_constraints(),
        )]
    };
    let (backlogs, invalid) = match (&scrape.webhooks, scrape.evaluator.environments()) {
        (Some(webhooks), Some(environments)) => match read_environments(webhooks, environments).await {
            Ok(read) => read,
            Err(error) => {
                // The counters are still worth serving; the delivery gauges are left out of
                // this scrape.
                tracing::warn!(%error, "cannot read the environments and delivery log for metrics");
                (Vec::new(), default())
            }
        },
        _ => (Vec::new(), default()),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        scrape.metrics.render(&backlogs, &invalid),
    )
        .into_response()
}

/// Every environment's webhook backlogs, and the flags with invalid constraints in each
/// environment this instance has loaded (an environment it has not served has no snapshot to
/// count in, and the scrape does not load one).
async fn read_environments(
    webhooks: &WebhookService,
    environments: &EnvironmentService,
) -> Result<(Vec<DeliveryBacklog>, Vec<(String, usize)>), ServiceError> {
    let mut backlogs = Vec::new();
    let mut invalid = Vec::new();
    for environment in environments.list().await? {
        for summary in webhooks.in_environment(environment.id).list().await? {
            backlogs.push(DeliveryBacklog {
                environment: environment.key.clone(),
                webhook_id: summary.webhook.id,
                pending: summary.pending_deliveries,
                failed: summary.failed_deliveries,
            });
        }
        if let Some(cache) = environments.loaded_cache(environment.id) {
            invalid.push((environment.key, cache.snapshot().flags_with_invalid_constraints()));
        }
    }
    Ok((backlogs, invalid))
}
