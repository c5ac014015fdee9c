//! The HTTP + JSON ceiling for evaluation benchmarks: like `fixed_response.rs` (the same stack,
//! one route), but each `POST /api/v1/evaluation` decodes its body into Bunting's evaluation
//! request (entity context included, as Bunting decodes it) and answers a result as large as
//! Bunting's for the benchmark flag, echoing that request, encoded as Bunting encodes it. No
//! evaluation, routing layers, metrics or logging: the gap between this and `fixed_response` is
//! what the JSON work alone costs, and so bounds how close Bunting can come to the ceiling.
//! `bench/eval.sh` drives it beside the other two.
//!
//! Run: `cargo run --release --example json_ceiling -- 18998`

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bunting_core::eval::{EvalContext, EvalDebugLog, EvalResultRef, RecordSource};
use bunting_core::flag::Attachment;
use serde_json::json;
use std::borrow::Cow;
use std::sync::LazyLock;

/// The benchmark flag's parts, held once as Bunting's snapshot holds them.
static TAGS: LazyLock<Vec<String>> = LazyLock::new(|| vec!["benchmark".to_owned()]);
static ATTACHMENT: LazyLock<Attachment> = LazyLock::new(|| {
    let attachment = json!({"color": "blue", "size": "large"});
    Attachment::from(attachment.as_object().cloned().unwrap_or_default())
});

async fn evaluate(body: Bytes) -> Response {
    let context: EvalContext = match serde_json::from_slice(&body) {
        Ok(context) => context,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    // The benchmark flag's answer, field for field.
    let result = EvalResultRef {
        data_records_enabled: false,
        eval_context: Cow::Owned(context),
        eval_debug_log: Cow::Owned(EvalDebugLog::default()),
        flag_id: 1,
        flag_key: Cow::Borrowed("flag-1"),
        flag_snapshot_id: 17,
        flag_tags: &TAGS,
        record_source: Some(RecordSource::Evaluation),
        segment_id: 3,
        timestamp: "2026-12-01T12:00:00Z",
        variant_attachment: Some(&ATTACHMENT),
        variant_id: 2,
        variant_key: "treatment",
    };
    let mut encoded = Vec::with_capacity(1024);
    if let Err(error) = serde_json::to_writer(&mut encoded, &result) {
        return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], encoded).into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "18998".to_owned());
    let app = Router::new().route("/api/v1/evaluation", post(evaluate));
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("JSON ceiling on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await
}
