//! CORS, with Flagr's settings and defaults (`FLAGR_CORS_*`), so browser code that calls Flagr
//! directly (evaluation from a web page, say) keeps working against Bunting.
//!
//! A request with an `Origin` from an allowed origin gets `Access-Control-Allow-Origin` (the
//! origin itself, so credentials work with a `*` setting, as Flagr's library answers), and a
//! preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here with the allowed
//! methods and headers, without reaching the routes.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::CorsSettings;

impl CorsSettings {
    fn allows(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

pub(crate) async fn cors(State(settings): State<Arc<CorsSettings>>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .cloned()
        .filter(|origin| origin.to_str().is_ok_and(|origin| settings.allows(origin)));
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        insert_list(headers, header::ACCESS_CONTROL_ALLOW_METHODS, &settings.allowed_methods);
        insert_list(headers, header::ACCESS_CONTROL_ALLOW_HEADERS, &settings.allowed_headers);
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(settings.max_age));
        response
    } else {
        let mut response = next.run(request).await;
        insert_list(
            response.headers_mut(),
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &settings.exposed_headers,
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if settings.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

fn insert_list(headers: &mut HeaderMap, name: header::HeaderName, items: &[String]) {
    if let Ok(value) = HeaderValue::from_str(&items.join(", ")) {
        headers.insert(name, value);
    }
}
