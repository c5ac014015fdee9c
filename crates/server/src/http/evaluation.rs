//! Evaluation: `POST`/`GET /evaluation` and `POST`/`GET /evaluation/batch`, with Flagr's
//! request validation and status codes (`flagr-spec.md` §1.7): a schema violation in a POST
//! body is 422, the same violation in a GET `json` parameter is 400 `json is not valid ...`,
//! and an unknown, disabled or segment-less flag is a blank result with 200.

use axum::body::Body;
use axum::extract::{FromRequest, RawQuery, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use bunting_core::eval::{EvalContext, EvalResultRef, EvaluationBatchRequest, EvaluationBatchResponse};
use serde_json::Value;

use super::environment::Env;
use super::error::{ApiError, code};
use super::input::{JsonBody, JsonObject, Object, QueryParams, integer_in};
use crate::evaluation::Evaluator;

pub(super) fn router() -> Router<Evaluator> {
    Router::new()
        .route("/evaluation", get(get_evaluation).post(post_evaluation))
        .route(
            "/evaluation/batch",
            get(get_evaluation_batch).post(post_evaluation_batch),
        )
}

async fn post_evaluation(Env(evaluator): Env<Evaluator>, request: Request) -> Result<Response, ApiError> {
    // Copied only when the built-in context reads them: the body extractor takes the request.
    let headers = evaluator.reads_headers().then(|| request.headers().clone());
    let JsonBody(body) = JsonBody::<Option<JsonObject<EvalContext>>>::from_request(request, &()).await?;
    let context = match body {
        None => return Err(ApiError::validation(code::REQUIRED, "body in body is required")),
        // A JSON null binds as an empty context in Flagr: a blank "flagID 0" result.
        Some(None) => EvalContext::default(),
        Some(Some(JsonObject(context))) => checked(context)?,
    };
    evaluator.evaluate(context, headers.as_ref(), encoded)
}

async fn get_evaluation(
    Env(evaluator): Env<Evaluator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let value = json_parameter(&evaluator, raw.as_deref(), &query, "evalContext")?;
    let context = typed(value)
        .and_then(|JsonObject(context)| checked(context))
        .map_err(|error| invalid_json("evalContext", error))?;
    evaluator.evaluate(context, Some(&headers), encoded)
}

/// An evaluation result encoded straight into the response body, as axum's `Json` would
/// answer it (`Content-Type: application/json`). The buffer starts at 1 KiB, more than a
/// typical result (about 500 bytes) needs, so encoding does not grow it step by step from
/// `Json`'s 128 bytes.
fn encoded(result: EvalResultRef<'_>) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(1024);
    serde_json::to_writer(&mut body, &result)
        .map_err(|error| ApiError::Internal(format!("encoding an evaluation result: {error}")))?;
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

async fn post_evaluation_batch(
    Env(evaluator): Env<Evaluator>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Json<EvaluationBatchResponse>, ApiError> {
    let request = batch_request(body.required_value()?)?;
    check_batch_size(&evaluator, &request)?;
    Ok(Json(EvaluationBatchResponse {
        evaluation_results: evaluator.evaluate_batch(request, Some(&headers)),
    }))
}

async fn get_evaluation_batch(
    Env(evaluator): Env<Evaluator>,
    RawQuery(raw): RawQuery,
    query: QueryParams,
) -> Result<Json<EvaluationBatchResponse>, ApiError> {
    let value = json_parameter(&evaluator, raw.as_deref(), &query, "evaluationBatchRequest")?;
    let request = batch_request(value).map_err(|error| invalid_json("evaluationBatchRequest", error))?;
    check_batch_size(&evaluator, &request)?;
    // Flagr injects no header keys here, only the time keys.
    Ok(Json(EvaluationBatchResponse {
        evaluation_results: evaluator.evaluate_batch(request, None),
    }))
}

/// The `json` query parameter of a GET evaluation, parsed, after the query length check.
fn json_parameter(
    evaluator: &Evaluator,
    raw: Option<&str>,
    query: &QueryParams,
    what: &str,
) -> Result<Value, ApiError> {
    let limit = evaluator.settings().get_max_url_bytes;
    let length = raw.map_or(0, str::len);
    if limit > 0 && length > limit {
        return Err(ApiError::BadRequest(format!(
            "GET evaluation query length {length} exceeds maximum of {limit}; use POST"
        )));
    }
    let json = query.string("json").filter(|json| !json.is_empty());
    let json = json.ok_or_else(|| ApiError::validation(code::REQUIRED, "json in query is required"))?;
    serde_json::from_str(json).map_err(|error| ApiError::BadRequest(format!("json is not valid {what}: {error}")))
}

fn invalid_json(what: &str, error: ApiError) -> ApiError {
    ApiError::BadRequest(format!("json is not valid {what}: {error}"))
}

/// An evalContext, checked as Flagr's schema checks it: zero means "no flag id", a negative
/// one is a schema violation.
fn checked(context: EvalContext) -> Result<EvalContext, ApiError> {
    if context.flag_id < 0 {
        return Err(ApiError::validation(
            code::MIN,
            "flagID in body should be greater than or equal to 1",
        ));
    }
    Ok(context)
}

/// An evaluationBatchRequest, checked as Flagr's schema checks it.
fn batch_request(value: Value) -> Result<EvaluationBatchRequest, ApiError> {
    let body = Object::from_body(value)?;
    body.array("entities", 1)?;
    body.objects("entities")?;
    if let Some(ids) = body.optional_array("flagIDs", 1)? {
        for (index, id) in ids.iter().enumerate() {
            integer_in(&format!("flagIDs.{index}"), id, 1, i64::MAX)?;
        }
    }
    if let Some(keys) = body.optional_array("flagKeys", 1)? {
        for (index, key) in keys.iter().enumerate() {
            if key.as_str().is_none_or(str::is_empty) {
                return Err(ApiError::validation(
                    code::TOO_SHORT,
                    format!("flagKeys.{index} in body should be at least 1 chars long"),
                ));
            }
        }
    }
    body.optional_array("flagTags", 1)?;
    typed(body.into_value())
}

/// Deserializes a checked request; what serde still refuses (a wrong type, an unknown
/// `flagTagsOperator`) is a schema violation too.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|error| ApiError::validation(code::INVALID_TYPE, error.to_string()))
}

fn check_batch_size(evaluator: &Evaluator, request: &EvaluationBatchRequest) -> Result<(), ApiError> {
    let limit = evaluator.settings().batch_size;
    let size = request.evaluation_count();
    if limit > 0 && size > limit {
        return Err(ApiError::BadRequest(format!(
            "batch evaluation size {size} exceeds maximum allowed size of {limit}"
        )));
    }
    Ok(())
}
