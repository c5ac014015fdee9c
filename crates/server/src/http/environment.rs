//! Which environment a request is for. Every environment serves the whole Flagr API (and OFREP)
//! under its own base path, `/environments/{key}/api/v1/…`; the unprefixed routes are the
//! default environment's. One routing tree serves both: [`base_path`] moves the environment out
//! of the path into a request extension before routing, and [`Env`] hands a handler its state
//! bound to that environment. Evaluation routes also take the environment from the
//! `X-Bunting-Environment` header, for clients whose base URL cannot change.
//!
//! In eval-only mode the flag file is one environment's (`BUNTING_EVAL_ONLY_ENVIRONMENT`,
//! `production` by default): its key names the unprefixed routes' flags, and any other key is
//! not found.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, Uri};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::error::ApiError;
use crate::evaluation::Evaluator;

/// The environment key a request named, by base path or header.
#[derive(Debug, Clone)]
pub(crate) struct EnvironmentKey(pub(crate) String);

const HEADER: HeaderName = HeaderName::from_static("x-bunting-environment");
const SEGMENT: &str = "/environments/";

/// Rewrites `{prefix}/environments/{key}/{rest}` to `{prefix}/{rest}` and records `key`, so
/// the routes see the same paths in every environment.
pub(crate) async fn base_path(prefix: String, mut request: Request, next: Next) -> Result<Response, ApiError> {
    let path = request.uri().path();
    let Some(scoped) = path
        .strip_prefix(prefix.as_str())
        .and_then(|rest| rest.strip_prefix(SEGMENT))
    else {
        return Ok(next.run(request).await);
    };
    // Keys never need percent-encoding (the flag-key rules), so the segment is the key.
    let (key, rest) = scoped.split_once('/').unwrap_or((scoped, ""));
    let key = key.to_owned();
    let rewritten = match request.uri().query() {
        Some(query) => format!("{prefix}/{rest}?{query}"),
        None => format!("{prefix}/{rest}"),
    };
    *request.uri_mut() = rewritten
        .parse::<Uri>()
        .map_err(|_| ApiError::BadRequest(format!("{path} is not a valid path")))?;
    request.extensions_mut().insert(EnvironmentKey(key));
    Ok(next.run(request).await)
}

/// The environment key in `X-Bunting-Environment`, when the header is there and readable.
pub(crate) fn header_key(headers: &HeaderMap) -> Option<String> {
    headers.get(HEADER)?.to_str().ok().map(str::to_owned)
}

/// Handler state bound to the request's environment.
pub(crate) struct Env<S>(pub(crate) S);

/// State that can be bound to one environment.
pub(crate) trait InEnvironment: Sized {
    fn in_environment(&self, key: &str) -> impl Future<Output = Result<Self, ApiError>> + Send;
}

impl<S> FromRequestParts<S> for Env<S>
where
    S: InEnvironment + Clone + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let key = match parts.extensions.get::<EnvironmentKey>() {
            Some(EnvironmentKey(key)) => Some(key.clone()),
            None => parts
                .headers
                .get(HEADER)
                .map(|value| {
                    value
                        .to_str()
                        .map(str::to_owned)
                        .map_err(|_| ApiError::BadRequest("X-Bunting-Environment must be an environment key".into()))
                })
                .transpose()?,
        };
        match key {
            Some(key) => {
                let bound = state.in_environment(&key).await?;
                // Extractors after this one see the environment however it was named.
                parts.extensions.insert(EnvironmentKey(key));
                Ok(Env(bound))
            }
            None => Ok(Env(state.clone())),
        }
    }
}

impl InEnvironment for AppState {
    async fn in_environment(&self, key: &str) -> Result<AppState, ApiError> {
        let id = self.environments.resolve(key).await?;
        let cache = self.environments.cache(id).await?;
        Ok(AppState {
            flags: self.flags.in_environment(id, cache),
            webhooks: self.webhooks.in_environment(id),
            ..self.clone()
        })
    }
}

impl InEnvironment for Evaluator {
    async fn in_environment(&self, key: &str) -> Result<Evaluator, ApiError> {
        let Some(environments) = self.environments() else {
            // Eval-only mode: the flag file is one environment's, served at the unprefixed
            // routes and under its own base path.
            if key == self.environment() {
                return Ok(self.clone());
            }
            return Err(ApiError::NotFound(format!(
                "unable to find environment {key:?}: this instance is in eval-only mode \
                 (FLAGR_DB_DBDRIVER=json_file or json_http) and serves one environment, {served:?} \
                 (BUNTING_EVAL_ONLY_ENVIRONMENT), at /environments/{served}/ and at the unprefixed routes",
                served = self.environment()
            )));
        };
        let id = environments.resolve(key).await?;
        Ok(self.with_cache(key, environments.cache(id).await?))
    }
}
