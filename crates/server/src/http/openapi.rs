//! `GET /openapi.json`: the OpenAPI 3.1 document of the whole API, Flagr's routes and Bunting's
//! extensions. The document is the hand-maintained `crates/server/openapi.json`; the tests check
//! it against the router and CI fuzzes the server against it with schemathesis.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use serde_json::Value;

const DOCUMENT: &str = include_str!("../../openapi.json");

/// The route, serving the document with its server URL under `web_prefix`, so that clients
/// generated from it call the right paths. Prepared once, here, not per request.
pub(super) fn router<S: Clone + Send + Sync + 'static>(web_prefix: &str) -> Router<S> {
    let body = Bytes::from(document(web_prefix));
    Router::new().route(
        "/openapi.json",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}

fn document(web_prefix: &str) -> String {
    if web_prefix.is_empty() {
        return DOCUMENT.to_owned();
    }
    match serde_json::from_str::<Value>(DOCUMENT) {
        Ok(mut document) => {
            document["servers"] = serde_json::json!([{ "url": format!("{web_prefix}/api/v1") }]);
            document.to_string()
        }
        // The document is checked by the tests; were it broken, serving it as it is shows that.
        Err(_) => DOCUMENT.to_owned(),
    }
}
