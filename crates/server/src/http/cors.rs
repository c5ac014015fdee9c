//! What browsers may do from other origins. Two kinds of routes:
//!
//! - **Open routes**, which browser code calls directly: evaluation (Flagr's and OFREP),
//!   exposures and health. They keep Flagr's CORS (`FLAGR_CORS_*`, defaults included): a request
//!   from an allowed origin gets `Access-Control-Allow-Origin` (the origin itself, so credentials
//!   work with a `*` setting, as Flagr's library answers), and a preflight is answered here with
//!   the allowed methods and headers, without reaching the routes.
//! - **Management**, everything else. Unlike Flagr, a cross-origin browser gets no CORS answer
//!   (nothing reflected, no credentials, preflights refused) unless `FLAGR_CORS_ALLOWED_ORIGINS`
//!   names its origin explicitly (`*` does not count), and a write (POST, PUT, PATCH, DELETE)
//!   that a browser sends from another origin is refused with a 403, so a hostile page cannot
//!   ride an operator's cookie or basic-auth session. A write is a browser's when it carries an
//!   `Origin` or `Sec-Fetch-Site: cross-site`; clients that send neither (curl, SDKs, other
//!   servers) are not affected. Bunting's own origin is the `Host` (or `X-Forwarded-Host`) the
//!   request came to, or `BUNTING_PUBLIC_URL`'s.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::config::CorsSettings;

/// The browser rules, built once.
pub(crate) struct BrowserPolicy {
    /// `FLAGR_CORS_*`; `None` when `FLAGR_CORS_ENABLED=false`.
    pub(crate) cors: Option<CorsSettings>,
    /// `FLAGR_WEB_PREFIX`, empty for none.
    pub(crate) web_prefix: String,
    /// `BUNTING_PUBLIC_URL`, where the UI is served.
    pub(crate) public_url: Option<String>,
}

impl CorsSettings {
    /// Whether Flagr's rules allow `origin` (`*` allows any).
    fn allows(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }

    /// Whether `origin` is named in the list: what management asks.
    fn lists(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }
}

impl BrowserPolicy {
    /// Whether `path` is one of the routes browser code calls directly.
    fn is_open(&self, path: &str) -> bool {
        let path = path.strip_prefix(self.web_prefix.as_str()).unwrap_or(path);
        let api = path.strip_prefix("/api/v1").unwrap_or(path);
        matches!(api, "/evaluation" | "/evaluation/batch" | "/exposures" | "/health") || api.starts_with("/ofrep/")
    }

    /// Whether `origin` is Bunting's own: where the request was sent, or the public URL.
    fn is_own(&self, origin: &str, headers: &HeaderMap) -> bool {
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        let authority = without_default_port(scheme, authority);
        let sent_to = [header::HOST.as_str(), "x-forwarded-host"]
            .into_iter()
            .filter_map(|name| headers.get(name)?.to_str().ok())
            .filter_map(|hosts| hosts.split(',').next())
            .map(str::trim);
        let public = self
            .public_url
            .as_deref()
            .and_then(|url| url.split_once("://"))
            .map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
        sent_to
            .chain(public)
            .any(|host| without_default_port(scheme, host).eq_ignore_ascii_case(authority))
    }
}

fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    authority.strip_suffix(default).unwrap_or(authority)
}

fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

pub(crate) async fn browsers(State(policy): State<Arc<BrowserPolicy>>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .map(str::to_owned);
    let cors = policy.cors.as_ref();
    if policy.is_open(request.uri().path()) {
        return match (cors, origin) {
            (Some(cors), Some(origin)) if cors.allows(&origin) => answer(cors, &origin, request, next).await,
            _ => next.run(request).await,
        };
    }
    let listed = cors.filter(|cors| origin.as_deref().is_some_and(|origin| cors.lists(origin)));
    if let (Some(cors), Some(origin)) = (listed, &origin) {
        return answer(cors, origin, request, next).await;
    }
    let cross_site = request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    let foreign = origin
        .as_deref()
        .filter(|origin| cross_site || !policy.is_own(origin, request.headers()));
    match foreign {
        Some(origin) if is_preflight(&request) || is_write(request.method()) => refuse(origin),
        None if cross_site && is_write(request.method()) => refuse("another site"),
        _ => next.run(request).await,
    }
}

/// Flagr's CORS answer for `origin`: a preflight answered here, anything else passed on and
/// its response marked.
async fn answer(cors: &CorsSettings, origin: &str, request: Request, next: Next) -> Response {
    let Ok(origin) = HeaderValue::from_str(origin) else {
        return next.run(request).await;
    };
    let mut response = if is_preflight(&request) {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        insert_list(headers, header::ACCESS_CONTROL_ALLOW_METHODS, &cors.allowed_methods);
        insert_list(headers, header::ACCESS_CONTROL_ALLOW_HEADERS, &cors.allowed_headers);
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(cors.max_age));
        response
    } else {
        let mut response = next.run(request).await;
        insert_list(
            response.headers_mut(),
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &cors.exposed_headers,
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if cors.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// The 403 for a management request a browser sent from another origin.
fn refuse(origin: &str) -> Response {
    ApiError::Framework {
        status: StatusCode::FORBIDDEN,
        message: format!(
            "refused: a browser sent this request from a page on {origin}, not from Bunting's own \
             origin, and only evaluation, OFREP and health answer other origins; to manage Bunting \
             from that page, list its origin in FLAGR_CORS_ALLOWED_ORIGINS (\"*\" does not count \
             for management)"
        ),
    }
    .into_response()
}

fn insert_list(headers: &mut HeaderMap, name: header::HeaderName, items: &[String]) {
    if let Ok(value) = HeaderValue::from_str(&items.join(", ")) {
        headers.insert(name, value);
    }
}
