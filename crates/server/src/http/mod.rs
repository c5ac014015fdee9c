//! The HTTP layer: routes under `/api/v1`, exactly Flagr's paths, methods, shapes and status
//! codes. Handlers only map: extract → parse into a core command → one service call → respond.
//! One file per resource, each with its own `router()`.

mod access;
mod change_stream;
mod changes;
mod constraints;
mod cors;
mod distributions;
mod environment;
mod environments;
mod error;
mod evaluation;
mod export;
mod flags;
mod health;
mod identity;
mod input;
mod jwt;
mod metrics;
mod ofrep;
mod openapi;
mod problems;
mod recording;
mod request_span;
mod segments;
mod tags;
mod tokens;
mod variants;
mod webhooks;

pub(crate) use access::AccessPolicy;
pub(crate) use change_stream::StreamContext;
pub(crate) use metrics::Scrape;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::{CorsSettings, IdentityConfig};
use crate::evaluation::Evaluator;
use crate::service::environments::EnvironmentService;
use crate::service::flags::FlagService;
use crate::service::tokens::TokenService;
use crate::service::webhooks::WebhookService;
use crate::ui;
use error::ApiError;

/// What the management handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    /// Bound to the request's environment by [`environment::Env`]; the default one otherwise.
    pub(crate) flags: FlagService,
    pub(crate) webhooks: WebhookService,
    pub(crate) environments: EnvironmentService,
    pub(crate) tokens: TokenService,
    pub(crate) identity: Arc<IdentityConfig>,
    pub(crate) stream: StreamContext,
}

/// What the HTTP surface is built from.
pub(crate) struct Surface {
    /// Flag and webhook management; `None` in eval-only mode, where flags come from a file.
    pub(crate) management: Option<AppState>,
    pub(crate) evaluator: Evaluator,
    pub(crate) identity: IdentityConfig,
    /// `FLAGR_WEB_PREFIX`, empty for none.
    pub(crate) web_prefix: String,
    /// `FLAGR_UI_ENABLED`: serve the web UI at the root.
    pub(crate) ui_enabled: bool,
    /// `FLAGR_CORS_*`; `None` when `FLAGR_CORS_ENABLED=false`.
    pub(crate) cors: Option<CorsSettings>,
    /// `BUNTING_PUBLIC_URL`: where the UI is served, one of Bunting's own origins.
    pub(crate) public_url: Option<String>,
    pub(crate) max_body_bytes: usize,
    /// The scrape path and what it reads; `None` unless `FLAGR_PROMETHEUS_ENABLED`.
    pub(crate) metrics: Option<(String, metrics::Scrape)>,
    /// Tokens and roles; `None` unless `BUNTING_AUTH=tokens`.
    pub(crate) access: Option<Arc<AccessPolicy>>,
}

/// The whole HTTP surface, under the web prefix when one is configured.
pub(crate) fn router(surface: Surface) -> Router {
    let web_prefix = surface.web_prefix.clone();
    // OFREP providers are usually given the server's address and add `/ofrep/v1/...`
    // themselves; the same routes are also under `/api/v1`, where the OpenAPI document and the
    // rest of the API are.
    let ofrep_at_root = with_access(
        ofrep::router().with_state(surface.evaluator.clone()),
        surface.access.as_ref(),
    )
    .route_layer(middleware::from_fn(request_span::record_route));
    let api = Router::new()
        .merge(health::router())
        .merge(openapi::router(&surface.web_prefix))
        .merge(evaluation::router().with_state(surface.evaluator.clone()))
        .merge(ofrep::router().with_state(surface.evaluator.clone()))
        .merge(export::router().with_state(surface.evaluator.clone()));
    let api = match surface.management {
        Some(state) => api.merge(recording::router().with_state(surface.evaluator)).merge(
            Router::new()
                .merge(flags::router())
                .merge(changes::router())
                .merge(change_stream::router())
                .merge(tags::router())
                .merge(variants::router())
                .merge(segments::router())
                .merge(constraints::router())
                .merge(problems::router())
                .merge(distributions::router())
                .merge(webhooks::router())
                .merge(environments::router())
                .merge(tokens::router())
                .with_state(state),
        ),
        None => api.fallback(not_in_eval_only_mode),
    };
    let api = with_access(api, surface.access.as_ref()).route_layer(middleware::from_fn(request_span::record_route));
    let app = Router::new().nest("/api/v1", api).merge(ofrep_at_root);
    let app = if surface.ui_enabled {
        app.merge(ui::router())
    } else {
        app
    };
    // Auth layers exist only when configured, so requests pay only for what is on. JWT runs
    // before basic auth, as in Flagr's middleware order.
    let mut app = app.fallback(route_not_found);
    if let Some(basic) = surface.identity.basic_auth.clone() {
        app = app.layer(middleware::from_fn_with_state(
            Arc::new(basic),
            identity::require_basic_auth,
        ));
    }
    if let Some(jwt) = surface.identity.jwt.clone() {
        app = app.layer(middleware::from_fn_with_state(
            Arc::new(jwt::JwtVerifier::new(jwt)),
            jwt::require_jwt,
        ));
    }
    // Outside Flagr's gates, which let a request an API token authenticated through.
    if let Some(access) = &surface.access {
        app = app.layer(middleware::from_fn_with_state(access.clone(), access::authenticate));
    }
    let app = app.layer(DefaultBodyLimit::max(surface.max_body_bytes));
    let app = if surface.web_prefix.is_empty() {
        app
    } else {
        Router::new().nest(&surface.web_prefix, app)
    };
    // Outside the routes: axum adds the `Allow` header only after a route's own layers ran.
    let app = Router::new()
        .fallback_service(app)
        .layer(middleware::from_fn(explain_method_not_allowed));
    let app = if surface.ui_enabled && !surface.web_prefix.is_empty() {
        // Also outside: the nest above never sees `{prefix}/`, the UI's address under a prefix.
        app.layer(middleware::from_fn_with_state(
            surface.web_prefix.clone(),
            ui::prefix_root,
        ))
    } else {
        app
    };
    // Outside everything but metrics: a preflight carries no credentials, so it must be
    // answered before basic auth, and a cross-origin write is refused before anything runs.
    let policy = cors::BrowserPolicy {
        cors: surface.cors,
        web_prefix: surface.web_prefix,
        public_url: surface.public_url,
    };
    let app = app.layer(middleware::from_fn_with_state(Arc::new(policy), cors::browsers));
    // Outermost but for the request span, as in Flagr: every other request is counted, and the
    // scrape needs no credentials and is not under the web prefix.
    let app = match surface.metrics {
        Some((path, scrape)) => Router::new()
            .route(&path, get(metrics::scrape))
            .with_state(scrape.clone())
            .fallback_service(app.layer(middleware::from_fn_with_state(scrape.metrics, metrics::count_requests))),
        None => app,
    };
    // Before routing, so the same routes serve every environment's base path.
    let app = Router::new()
        .fallback_service(app)
        .layer(middleware::from_fn(move |request, next| {
            environment::base_path(web_prefix.clone(), request, next)
        }));
    // Around everything, so every log line of every request names it.
    app.layer(middleware::from_fn(request_span::request_span))
}

/// Routes that check the caller's role and environments when tokens are on.
fn with_access(routes: Router, access: Option<&Arc<AccessPolicy>>) -> Router {
    match access {
        Some(access) => routes.route_layer(middleware::from_fn_with_state(access.clone(), access::authorize)),
        None => routes,
    }
}

/// Every route but health, evaluation (Flagr's and OFREP), the export and the API document in eval-only mode (Flagr answers 501 too).
async fn not_in_eval_only_mode(uri: Uri) -> ApiError {
    ApiError::Framework {
        status: StatusCode::NOT_IMPLEMENTED,
        message: format!(
            "{} is not available in eval-only mode (FLAGR_DB_DBDRIVER=json_file or json_http): flags are read from \
             the flag file; change them there",
            uri.path()
        ),
    }
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
