//! The OpenFeature Remote Evaluation Protocol: `POST /ofrep/v1/evaluate/flags/{key}` (one flag,
//! for server-side providers) and `POST /ofrep/v1/evaluate/flags` (every flag, for client-side
//! providers, with an `ETag` and `304` for an `If-None-Match` that still holds). Served under
//! `/api/v1`, so a provider's base URL is `http://host:port/api/v1`, also in eval-only mode.
//!
//! Errors use OFREP's bodies, not Flagr's `{"message"}`: 400 `{key, errorCode, errorDetails}`
//! (bulk: without `key`), 404 `FLAG_NOT_FOUND`. The mapping itself is `bunting_core::ofrep`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bunting_core::ofrep::{self, ErrorCode, Refusal};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::environment::Env;
use crate::evaluation::Evaluator;

pub(super) fn router() -> Router<Evaluator> {
    Router::new()
        .route("/ofrep/v1/evaluate/flags/{key}", post(evaluate_flag))
        .route("/ofrep/v1/evaluate/flags", post(evaluate_flags))
}

async fn evaluate_flag(
    Env(evaluator): Env<Evaluator>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let refused = |refusal: Refusal| {
        let status = match refusal.code {
            ErrorCode::FlagNotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({"key": key, "errorCode": refusal.code, "errorDetails": refusal.details});
        (status, Json(body)).into_response()
    };
    let context = match request_body(body).and_then(|body| ofrep::context(body.as_ref(), &key)) {
        Ok(context) => context,
        Err(refusal) => return refused(refusal),
    };
    let snapshot = evaluator.cache().snapshot();
    // Flagr's lookup by key, as `/api/v1/evaluation` with a `flagKey` does it.
    let Some(flag) = snapshot.lookup(0, &key) else {
        return refused(ofrep::not_found(&key));
    };
    let result = evaluator.evaluate_on(&snapshot, context, Some(&headers), |result| result.into_owned());
    Json(ofrep::evaluation(&key, flag.flag(), &result)).into_response()
}

async fn evaluate_flags(
    Env(evaluator): Env<Evaluator>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let context = match request_body(body).and_then(|body| ofrep::context(body.as_ref(), "")) {
        Ok(context) => context,
        Err(refusal) => {
            let body = json!({"errorCode": refusal.code, "errorDetails": refusal.details});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let snapshot = evaluator.cache().snapshot();
    let flags: Vec<ofrep::Evaluation> = snapshot
        .flags()
        .map(|flag| {
            let mut context = context.clone();
            context.flag_id = flag.id();
            let result = evaluator.evaluate_on(&snapshot, context, Some(&headers), |result| result.into_owned());
            ofrep::evaluation(&flag.flag().key, flag.flag(), &result)
        })
        .collect();
    let body = json!({ "flags": flags }).to_string();
    // The tag of the body itself: equal tags mean equal evaluations, whatever changed them
    // (a flag, the clock in the built-in context).
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    let Ok(etag_value) = HeaderValue::from_str(&etag) else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"errorDetails": "no ETag"})),
        )
            .into_response();
    };
    if none_match_holds(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    (
        [
            (header::ETAG, etag_value),
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        ],
        body,
    )
        .into_response()
}

/// The body as JSON; an empty body is no body (the request then has no context).
fn request_body(body: Result<Bytes, BytesRejection>) -> Result<Option<Value>, Refusal> {
    let bytes = body.map_err(|rejection| Refusal {
        code: ErrorCode::General,
        details: rejection.body_text(),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|error| Refusal {
        code: ErrorCode::ParseError,
        details: format!("the body is not JSON: {error}"),
    })
}

/// Whether `If-None-Match` names `etag` (weakly, as RFC 9110 compares for this header) or is `*`.
fn none_match_holds(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}
