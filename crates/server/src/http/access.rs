//! Who may call what, when `BUNTING_AUTH=tokens`. Two layers:
//!
//! - [`authenticate`], outside Flagr's identity layers: a request carrying
//!   `Authorization: Bearer bnt_…` is the token's, or refused with a 401 that says why (unknown,
//!   revoked, expired). Flagr's JWT and basic-auth gates let a token's request through.
//! - [`authorize`], a route layer: the matched route says which role it needs ([`needed`]) and
//!   whether it acts in one environment or spans them; the caller — the token, else a user of
//!   Flagr's identity sources (`BUNTING_AUTH_IDENTITY_ROLE`), else anonymous
//!   (`BUNTING_AUTH_ANONYMOUS_ROLE`) — must have that role, in that environment: 401 when the
//!   caller has no role at all, 403 when it has the wrong one.
//!
//! Handlers needing more (a webhook for every environment, the source of a promotion) ask the
//! [`Access`] extension.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bunting_core::token::{self, Role, Scope, Token};

use super::environment::{self, EnvironmentKey};
use super::error::ApiError;
use super::identity;
use crate::config::{AuthSettings, IdentityConfig};
use crate::service::tokens::{Refusal, TokenService};

/// What [`authenticate`] and [`authorize`] need, built once.
pub(crate) struct AccessPolicy {
    pub(crate) tokens: TokenService,
    pub(crate) settings: AuthSettings,
    pub(crate) identity: Arc<IdentityConfig>,
    /// The key of the environment the unprefixed routes serve.
    pub(crate) default_environment: String,
}

/// The token a request was authenticated with.
#[derive(Clone)]
pub(crate) struct TokenCaller(pub(crate) Token);

/// What the caller of a request may do, for handlers that check more than the route.
#[derive(Clone, Debug)]
pub(crate) enum Access {
    /// Authentication is off: anyone may do anything.
    Open,
    Granted {
        who: String,
        role: Role,
        scope: Scope,
    },
}

impl Access {
    /// Refuses unless the caller may act in environment `key`.
    pub(crate) fn require_environment(&self, key: &str) -> Result<(), ApiError> {
        match self {
            Access::Granted { who, scope, .. } if !scope.covers(key) => Err(forbidden(format!(
                "{who} may not act in environment {key:?} ({})",
                describe(scope)
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses unless the caller may act in every environment (`what` needs it).
    pub(crate) fn require_all_environments(&self, what: &str) -> Result<(), ApiError> {
        match self {
            Access::Granted { who, scope, .. } if *scope != Scope::All => Err(forbidden(format!(
                "{what} needs a token for every environment; {who} is limited to {}",
                describe(scope)
            ))),
            _ => Ok(()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Access {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Access>().cloned().unwrap_or(Access::Open))
    }
}

/// Sets the request's token from `Authorization: Bearer bnt_…`, or refuses it with a 401.
pub(crate) async fn authenticate(
    State(policy): State<Arc<AccessPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|secret| token::looks_like_token(secret))
        .map(str::to_owned);
    let Some(secret) = presented else {
        return next.run(request).await;
    };
    match policy.tokens.authenticate(&secret).await {
        Ok(token) => {
            request.extensions_mut().insert(TokenCaller(token));
            next.run(request).await
        }
        Err(Refusal::Failed(error)) => ApiError::from(error).into_response(),
        Err(refusal) => unauthorized(refusal.to_string()),
    }
}

/// Refuses a request whose caller lacks the role or environment its route needs.
pub(crate) async fn authorize(State(policy): State<Arc<AccessPolicy>>, mut request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().to_owned())
        .unwrap_or_default();
    let method = request.method().clone();
    let Some(needed_role) = needed(&method, &route) else {
        return next.run(request).await;
    };
    let (who, role, scope) = match caller(&policy, &request) {
        Caller::Token(token) => (format!("token {:?}", token.name), Some(token.role), token.scope),
        Caller::Identified(user) => (format!("user {user:?}"), policy.settings.identity_role, Scope::All),
        Caller::Anonymous => (
            "an anonymous caller".to_owned(),
            policy.settings.anonymous_role,
            Scope::All,
        ),
    };
    let Some(role) = role else {
        return unauthorized(format!(
            "{method} {route} needs a token with the {needed_role} role or above: send Authorization: Bearer bnt_…"
        ));
    };
    if !role.includes(needed_role) {
        return forbidden(format!(
            "{method} {route} needs the {needed_role} role or above; {who} has the {role} role"
        ))
        .into_response();
    }
    let access = Access::Granted { who, role, scope };
    let checked = match spans(&method, &route) {
        Span::AllEnvironments => access.require_all_environments(&format!("{method} {route}")),
        Span::OneEnvironment => access.require_environment(&environment_of(&policy, &request, &route)),
        Span::AllUnlessNamed => match named_environment(&request).or_else(|| environment_parameter(&request)) {
            Some(key) => access.require_environment(&key),
            None => access.require_all_environments(&format!(
                "{method} {route} across environments (name one with its base path to read only it)"
            )),
        },
        Span::None => Ok(()),
    };
    if let Err(refusal) = checked {
        return refusal.into_response();
    }
    request.extensions_mut().insert(access);
    next.run(request).await
}

enum Caller {
    Token(Token),
    Identified(String),
    Anonymous,
}

fn caller(policy: &AccessPolicy, request: &Request) -> Caller {
    if let Some(TokenCaller(token)) = request.extensions().get::<TokenCaller>() {
        return Caller::Token(token.clone());
    }
    match identity::authenticated_user(&policy.identity, request.extensions(), request.headers()) {
        Some(user) => Caller::Identified(user),
        None => Caller::Anonymous,
    }
}

/// The role route `route` (as matched, `/api/v1/flags/{flagID}`) needs for `method`; `None` for
/// routes open to everyone.
fn needed(method: &Method, route: &str) -> Option<Role> {
    let api = api_route(route);
    let reads = method == Method::GET || method == Method::HEAD;
    match api {
        "/health" | "/openapi.json" => None,
        "/evaluation" | "/evaluation/batch" | "/exposures" | "/me" => Some(Role::Evaluator),
        _ if api.starts_with("/ofrep/") => Some(Role::Evaluator),
        _ if api.starts_with("/tokens") => Some(Role::Admin),
        "/environments" | "/environments/{environmentKey}" if !reads => Some(Role::Admin),
        _ if reads => Some(Role::Viewer),
        _ => Some(Role::Editor),
    }
}

/// Which environments a route acts in.
#[derive(Debug, PartialEq, Eq)]
enum Span {
    /// None in particular (the list of environments, the event catalogue, who am I).
    None,
    /// The request's environment: its base path, `X-Bunting-Environment`, or the default.
    OneEnvironment,
    /// The environment named, or every environment when none is (the change log).
    AllUnlessNamed,
    /// Every environment (tokens, comparisons, creating environments).
    AllEnvironments,
}

fn spans(method: &Method, route: &str) -> Span {
    match api_route(route) {
        "/health" | "/openapi.json" | "/me" | "/webhook_events" => Span::None,
        "/environments" if method == Method::GET => Span::None,
        "/changes" => Span::AllUnlessNamed,
        "/environments" | "/compare/{flagKey}" => Span::AllEnvironments,
        api if api.starts_with("/tokens") => Span::AllEnvironments,
        _ => Span::OneEnvironment,
    }
}

/// The route after `/api/v1` (and any web prefix); OFREP's root routes as they are.
fn api_route(route: &str) -> &str {
    match route.find("/api/v1/") {
        Some(at) => &route[at + "/api/v1".len()..],
        None => route.find("/ofrep/").map_or(route, |at| &route[at..]),
    }
}

/// The environment the request acts in: named in the route (`/environments/{environmentKey}`),
/// by base path or header, else the default.
fn environment_of(policy: &AccessPolicy, request: &Request, route: &str) -> String {
    if let Some(key) = path_parameter(route, request.uri().path(), "{environmentKey}") {
        return key.to_owned();
    }
    named_environment(request).unwrap_or_else(|| policy.default_environment.clone())
}

/// The environment the request names by base path or header.
fn named_environment(request: &Request) -> Option<String> {
    if let Some(EnvironmentKey(key)) = request.extensions().get::<EnvironmentKey>() {
        return Some(key.clone());
    }
    environment::header_key(request.headers())
}

/// The change log's `?environment=` parameter.
fn environment_parameter(request: &Request) -> Option<String> {
    let Query(mut parameters) = Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok()?;
    parameters.remove("environment")
}

/// The segment of `path` where `route` has `parameter`.
fn path_parameter<'a>(route: &str, path: &'a str, parameter: &str) -> Option<&'a str> {
    let at = route.split('/').position(|segment| segment == parameter)?;
    path.split('/').nth(at)
}

fn describe(scope: &Scope) -> String {
    match scope {
        Scope::All => "every environment".to_owned(),
        Scope::Only(keys) => format!("environments {}", keys.join(", ")),
    }
}

fn unauthorized(message: String) -> Response {
    let mut response = ApiError::Framework {
        status: StatusCode::UNAUTHORIZED,
        message,
    }
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"bunting\""),
    );
    response
}

fn forbidden(message: String) -> ApiError {
    ApiError::Framework {
        status: StatusCode::FORBIDDEN,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_documented_roles() {
        let get = Method::GET;
        let post = Method::POST;
        let cases = [
            (&get, "/api/v1/health", None),
            (&post, "/api/v1/evaluation", Some(Role::Evaluator)),
            (&post, "/ofrep/v1/evaluate/flags", Some(Role::Evaluator)),
            (
                &post,
                "/flagr/api/v1/ofrep/v1/evaluate/flags/{key}",
                Some(Role::Evaluator),
            ),
            (&get, "/api/v1/flags", Some(Role::Viewer)),
            (&get, "/api/v1/export/eval_cache/json", Some(Role::Viewer)),
            (&get, "/api/v1/changes/stream", Some(Role::Viewer)),
            (&post, "/api/v1/flags", Some(Role::Editor)),
            (&Method::DELETE, "/api/v1/webhooks/{webhookID}", Some(Role::Editor)),
            (
                &post,
                "/api/v1/environments/{environmentKey}/promote",
                Some(Role::Editor),
            ),
            (&get, "/api/v1/environments", Some(Role::Viewer)),
            (&post, "/api/v1/environments", Some(Role::Admin)),
            (&Method::PUT, "/api/v1/environments/{environmentKey}", Some(Role::Admin)),
            (&get, "/api/v1/tokens", Some(Role::Admin)),
        ];
        for (method, route, role) in cases {
            assert_eq!(needed(method, route), role, "{method} {route}");
        }
    }

    #[test]
    fn routes_say_which_environments_they_act_in() {
        let get = &Method::GET;
        assert_eq!(spans(get, "/api/v1/flags/{flagID}"), Span::OneEnvironment);
        assert_eq!(spans(get, "/api/v1/changes"), Span::AllUnlessNamed);
        assert_eq!(spans(get, "/api/v1/tokens/{tokenID}"), Span::AllEnvironments);
        assert_eq!(spans(get, "/api/v1/compare/{flagKey}"), Span::AllEnvironments);
        assert_eq!(spans(get, "/api/v1/environments"), Span::None);
        assert_eq!(spans(&Method::POST, "/api/v1/environments"), Span::AllEnvironments);
        assert_eq!(spans(get, "/api/v1/me"), Span::None);
    }

    #[test]
    fn a_path_parameter_is_read_where_the_route_has_it() {
        let route = "/api/v1/environments/{environmentKey}/promote";
        assert_eq!(
            path_parameter(route, "/api/v1/environments/staging/promote", "{environmentKey}"),
            Some("staging")
        );
        assert_eq!(
            path_parameter("/api/v1/flags", "/api/v1/flags", "{environmentKey}"),
            None
        );
    }
}
