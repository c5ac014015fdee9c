//! The HTTP layer's error type and how each case is answered.
//!
//! Bodies follow Flagr: handler errors are `{"message": ...}` with 400/404/500; framework-level
//! errors (schema validation 422, malformed JSON 400, unknown route 404, wrong method 405) carry
//! `{"code": ..., "message": ...}` like go-openapi's. Bunting's own routes answer schema
//! violations with 400 `{"message"}` instead ([`schema_violation_as_bad_request`]). 5xx bodies
//! never carry internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::service::ServiceError;

/// go-openapi's validation codes, which Flagr clients see in 422 bodies.
pub(crate) mod code {
    pub(crate) const INVALID_TYPE: u16 = 601;
    pub(crate) const REQUIRED: u16 = 602;
    pub(crate) const TOO_SHORT: u16 = 604;
    pub(crate) const ENUM: u16 = 606;
    pub(crate) const MAX: u16 = 608;
    pub(crate) const MIN: u16 = 609;
    pub(crate) const MIN_ITEMS: u16 = 612;
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A request the handler refused: 400 `{"message"}`.
    #[error("{0}")]
    BadRequest(String),
    /// 404 `{"message"}`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `{"message"}`: the request is valid but the object's state forbids it now.
    #[error("{0}")]
    Conflict(String),
    /// A schema violation: 422 `{"code","message"}`.
    #[error("{message}")]
    Validation { code: u16, message: String },
    /// A framework-level error with its own status: `{"code","message"}`.
    #[error("{message}")]
    Framework { status: StatusCode, message: String },
    /// Something broke on our side; logged in full, answered with a bare 500.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub(crate) fn validation(code: u16, message: impl Into<String>) -> ApiError {
        ApiError::Validation {
            code,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(message) => ApiError::NotFound(message),
            ServiceError::Conflict(message) => ApiError::Conflict(message),
            ServiceError::Invalid(message) => ApiError::BadRequest(message),
            ServiceError::Internal(_) => ApiError::Internal(crate::error_chain::chain(&error)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
            }
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, Json(json!({ "message": message }))).into_response(),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, Json(json!({ "message": message }))).into_response(),
            ApiError::Validation { code, message } => {
                let mut response = (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({ "code": code, "message": &message })),
                )
                    .into_response();
                response.extensions_mut().insert(SchemaViolation(message));
                response
            }
            ApiError::Framework { status, message } => {
                (status, Json(json!({ "code": status.as_u16(), "message": message }))).into_response()
            }
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "message": "internal server error" })),
                )
                    .into_response()
            }
        }
    }
}

/// Marks the response to a schema violation with its message, for
/// [`schema_violation_as_bad_request`].
#[derive(Clone)]
struct SchemaViolation(String);

/// A layer for Bunting's own routes (webhooks, the change log): they answer every invalid request
/// with 400 `{"message"}`, like the rest of their refusals. go-openapi's 422 `{"code","message"}`
/// stays on Flagr's routes, whose clients expect it. As a layer it also covers what the
/// extractors refuse (path ids, query parameters, the body) before a handler runs.
pub(crate) async fn schema_violation_as_bad_request(response: Response) -> Response {
    match response.extensions().get::<SchemaViolation>() {
        Some(SchemaViolation(message)) => ApiError::BadRequest(message.clone()).into_response(),
        None => response,
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(error: serde_json::Error) -> Self {
        ApiError::Internal(format!("JSON: {error}"))
    }
}
