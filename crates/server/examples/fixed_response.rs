//! The HTTP ceiling for evaluation benchmarks: the same stack as Bunting (tokio, hyper, axum)
//! answering every `POST /api/v1/evaluation` with a fixed 400-byte evaluation-shaped body,
//! doing no work. `bench/eval.sh` drives it exactly as it drives Bunting, so the gap between the
//! two is what evaluation costs.
//!
//! Run: `cargo run --release --example fixed_response -- 18999`

use axum::Router;
use axum::http::header;
use axum::routing::post;

/// 400 bytes, shaped like Bunting's answer for the benchmark flag.
const BODY: &str = concat!(
    r#"{"evalContext":{"entityContext":{"state":"CA"},"entityID":"123","entityType":"report","flagID":1},"#,
    r#""evalDebugLog":{"segmentDebugLogs":null},"flagID":1,"flagKey":"flag-1","flagSnapshotID":7,"#,
    r#""segmentID":3,"timestamp":"2026-12-01T12:00:00Z","variantAttachment":{"color":"blue","size":"large"},"#,
    r#""variantID":2,"variantKey":"treatment","flagTags":["benchmark","fixture"],"padding":"xxxxxxxxxxxxxxxxxxxxxxxx"}"#
);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "18999".to_owned());
    let app = Router::new().route(
        "/api/v1/evaluation",
        post(|| async { ([(header::CONTENT_TYPE, "application/json")], BODY) }),
    );
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!(
        "fixed response on http://{}/ ({} bytes)",
        listener.local_addr()?,
        BODY.len()
    );
    axum::serve(listener, app).await
}
