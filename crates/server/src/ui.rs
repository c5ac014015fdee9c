//! The web UI: a dependency-free single-page app (`crates/server/ui/`: `index.html`, `style.css`
//! and plain ES modules, no build step) compiled into the binary and served at `/` — under
//! `FLAGR_WEB_PREFIX` when one is set — unless `FLAGR_UI_ENABLED=false`. The app calls the API
//! with relative URLs and routes with the URL fragment (`#/flags/1`), so any prefix works.
//!
//! Assets are revalidated on every load (`no-cache` with an `ETag`), so a new binary's UI is
//! picked up at once while unchanged files cost a 304.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};

/// One embedded file and the path it is served at.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($path:literal, $file:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_str!(concat!("../ui/", $file)),
        }
    };
}

static ASSETS: [Asset; 19] = [
    asset!("/", "index.html", HTML),
    asset!("/static/style.css", "style.css", CSS),
    asset!("/static/main.js", "main.js", JS),
    asset!("/static/api.js", "api.js", JS),
    asset!("/static/dom.js", "dom.js", JS),
    asset!("/static/widgets.js", "widgets.js", JS),
    asset!("/static/flags.js", "flags.js", JS),
    asset!("/static/flag.js", "flag.js", JS),
    asset!("/static/variants.js", "variants.js", JS),
    asset!("/static/segments.js", "segments.js", JS),
    asset!("/static/evaluate.js", "evaluate.js", JS),
    asset!("/static/history.js", "history.js", JS),
    asset!("/static/diff.js", "diff.js", JS),
    asset!("/static/webhooks.js", "webhooks.js", JS),
    asset!("/static/deliveries.js", "deliveries.js", JS),
    asset!("/static/environments.js", "environments.js", JS),
    asset!("/static/compare.js", "compare.js", JS),
    asset!("/static/audit.js", "audit.js", JS),
    asset!("/static/session.js", "session.js", JS),
];

/// The page may load only its own files and talk only to its own server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                                       connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The UI's routes: `/` and `/static/*` (Flagr's asset path, which its JWT whitelist already
/// leaves open, so existing `FLAGR_JWT_AUTH_*` settings keep working).
pub(crate) fn router() -> Router {
    ASSETS
        .iter()
        .fold(Router::new(), |router, asset| router.route(asset.path, serve(asset)))
}

/// Under a web prefix the UI lives at `{prefix}/`, so that its relative URLs (`api/v1/...`,
/// `static/...`) resolve inside the prefix. axum's nest routes `{prefix}` to the UI's `/` but leaves
/// `{prefix}/` unmatched: this middleware, outside the routes, sends `{prefix}` to `{prefix}/`
/// and serves `{prefix}/` as the nested root.
pub(crate) async fn prefix_root(State(prefix): State<String>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == prefix {
        return Redirect::temporary(&format!("{prefix}/")).into_response();
    }
    if path.strip_prefix(prefix.as_str()) == Some("/")
        && let Ok(root) = Uri::try_from(prefix.as_str())
    {
        *request.uri_mut() = root;
    }
    next.run(request).await
}

fn serve(asset: &'static Asset) -> MethodRouter {
    let etag = etag(asset.body);
    get(move |request_headers: HeaderMap| std::future::ready(respond(asset, &etag, &request_headers)))
}

fn respond(asset: &Asset, etag: &str, request_headers: &HeaderMap) -> Response {
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let headers = [
        (header::CONTENT_TYPE, asset.content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::ETAG, etag),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    if unchanged {
        (StatusCode::NOT_MODIFIED, headers).into_response()
    } else {
        (headers, asset.body).into_response()
    }
}

fn etag(body: &str) -> String {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_ui_folder_is_served() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
        for entry in std::fs::read_dir(folder).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let path = if name == "index.html" {
                "/".to_owned()
            } else {
                format!("/static/{name}")
            };
            assert!(ASSETS.iter().any(|asset| asset.path == path), "{name} is not in ASSETS");
        }
    }

    #[test]
    fn every_imported_module_is_served() {
        for asset in ASSETS.iter().filter(|asset| asset.content_type == JS) {
            for import in asset.body.split("from './").skip(1) {
                let module = import.split('\'').next().unwrap();
                let path = format!("/static/{module}");
                assert!(
                    ASSETS.iter().any(|asset| asset.path == path),
                    "{} imports {module}, which is not served",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn a_matching_etag_answers_not_modified() {
        let asset = &ASSETS[0];
        let tag = etag(asset.body);
        let mut headers = HeaderMap::new();
        assert_eq!(respond(asset, &tag, &headers).status(), StatusCode::OK);
        headers.insert(header::IF_NONE_MATCH, tag.parse().unwrap());
        assert_eq!(respond(asset, &tag, &headers).status(), StatusCode::NOT_MODIFIED);
    }
}
