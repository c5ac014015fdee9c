//! The HTTP layer: routes under `/api/v1`, exactly Flagr's paths, methods, shapes and status
//! codes. Handlers only map: extract → parse into a core command → one service call → respond.
//! One file per resource, each with its own `router()`.

mod changes;
mod constraints;
mod distributions;
mod error;
mod flags;
mod health;
mod identity;
mod input;
mod segments;
mod tags;
mod variants;
mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::config::IdentityConfig;
use crate::service::flags::FlagService;
use crate::service::webhooks::WebhookService;
use error::ApiError;

/// What handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) flags: FlagService,
    pub(crate) webhooks: WebhookService,
    pub(crate) identity: IdentityConfig,
}

/// The whole HTTP surface, under `web_prefix` when one is configured.
pub(crate) fn router(state: AppState, web_prefix: &str, max_body_bytes: usize) -> Router {
    let api = Router::new()
        .merge(flags::router())
        .merge(changes::router())
        .merge(tags::router())
        .merge(variants::router())
        .merge(segments::router())
        .merge(constraints::router())
        .merge(distributions::router())
        .merge(health::router())
        .merge(webhooks::router());
    let app = Router::new()
        .nest("/api/v1", api)
        .fallback(route_not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            identity::require_basic_auth,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state);
    let app = if web_prefix.is_empty() {
        app
    } else {
        Router::new().nest(web_prefix, app)
    };
    // Outside the routes: axum adds the `Allow` header only after a route's own layers ran.
    Router::new()
        .fallback_service(app)
        .layer(middleware::from_fn(explain_method_not_allowed))
}

/// Flagr's router 404, whose wording clients parse to tell a missing route from a missing flag.
async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::Framework {
        status: StatusCode::NOT_FOUND,
        message: format!("path {} was not found", uri.path()),
    }
}

/// Gives axum's bare 405 Flagr's body: `method X is not allowed, but [A,B] are`.
async fn explain_method_not_allowed(request: Request, next: Next) -> Response {
    let method: Method = request.method().clone();
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allowed = allowed_methods(response.headers());
    let error = ApiError::Framework {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!("method {method} is not allowed, but [{}] are", allowed.join(",")),
    };
    let mut explained = error.into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        explained.headers_mut().insert(header::ALLOW, allow.clone());
    }
    explained
}

fn allowed_methods(headers: &HeaderMap) -> Vec<String> {
    headers
        .get(header::ALLOW)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(',')
                .map(|method| method.trim().to_owned())
                .filter(|m| m != "HEAD")
                .collect()
        })
        .unwrap_or_default()
}

/// A 200 with an empty body, Flagr's answer to deletes and reorders.
fn empty_ok() -> StatusCode {
    StatusCode::OK
}
