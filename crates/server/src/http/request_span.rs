//! The request span: every request is served inside a span naming its method, matched route and
//! request id, so whatever is logged while serving it (a 500's cause) says which request it was.
//! The request id is the client's `X-Request-Id` when it sent a usable one, else a new one, and is
//! returned in the response's `X-Request-Id`. Owns nothing else: no auth, no metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing::field::Empty;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longer ids from clients are replaced, so a client cannot flood the logs through them.
const MAX_REQUEST_ID_LENGTH: usize = 128;

/// The outermost layer: opens the span, and when the response is ready records its status and
/// latency and logs that the request finished.
pub(crate) async fn request_span(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|id| usable(id))
        .cloned()
        .unwrap_or_else(new_request_id);
    // At error level, so the span exists whenever a failure is logged, whatever the filter.
    let span = tracing::error_span!(
        "request",
        method = %request.method(),
        route = Empty,
        request_id = request_id.to_str().unwrap_or_default(),
        status = Empty,
        latency_ms = Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    span.record("status", response.status().as_u16());
    span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| tracing::debug!("request finished"));
    response.headers_mut().insert(REQUEST_ID, request_id);
    response
}

/// A route layer: names the matched route (`/api/v1/flags/{flagID}`) in the request span,
/// which only the router knows.
pub(crate) async fn record_route(request: Request, next: Next) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        tracing::Span::current().record("route", route.as_str());
    }
    next.run(request).await
}

/// Printable ASCII without spaces, and short: safe to log and to send back.
fn usable(id: &HeaderValue) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LENGTH && id.as_bytes().iter().all(|byte| byte.is_ascii_graphic())
}

fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4().simple().to_string();
    // A UUID's hex digits are always a valid header value.
    HeaderValue::try_from(id).unwrap_or(HeaderValue::from_static("unknown"))
}
