//! `GET /health`: Flagr's constant `{"status":"OK"}`; the server answers, so it is up.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub(super) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/health", get(health))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "OK" }))
}
