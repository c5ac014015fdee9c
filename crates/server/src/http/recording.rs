//! Flagr's evaluation-data routes, answered as Flagr answers them with recording switched off:
//! Bunting has no data recorder (`flagr-spec.md` §1.8, §1.9).
//!
//! `POST /exposures` still checks each row against the flags evaluation serves (disabled flags
//! included), so a client sees exactly the row errors Flagr would report, with `loggedCount` 0.
//! The Datar summaries answer 501, as Flagr's do when Datar is not enabled.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bunting_core::eval::CompiledFlag;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::environment::Env;
use super::error::{ApiError, code};
use super::input::{JsonBody, Object};
use crate::evaluation::Evaluator;

pub(super) fn router() -> Router<Evaluator> {
    Router::new()
        .route("/exposures", post(post_exposures))
        .route("/datar/summary", get(|| not_recorded("GetDatarSummary")))
        .route(
            "/datar/flags/{flagID}/summary",
            get(|| not_recorded("GetDatarFlagSummary")),
        )
}

/// Flagr's answer for an operation it did not register: 501 with a JSON string.
async fn not_recorded(operation: &str) -> (StatusCode, Json<String>) {
    (
        StatusCode::NOT_IMPLEMENTED,
        Json(format!("operation datar.{operation} has not yet been implemented")),
    )
}

async fn post_exposures(Env(evaluator): Env<Evaluator>, body: JsonBody) -> Result<Json<Value>, ApiError> {
    let body = body.required()?;
    let rows = body.array("exposures", 1)?;
    let max_rows = evaluator.settings().exposure_batch_size;
    if rows.len() > max_rows {
        return Err(ApiError::BadRequest(format!(
            "exposures batch size {} exceeds maximum allowed size of {max_rows}",
            rows.len()
        )));
    }
    let rows = body.objects("exposures")?;
    let snapshot = evaluator.cache().snapshot();
    let mut errors = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let entity_id = row.string("entityID", 0)?;
        let flag_id = row.optional_integer("flagID", 0, i64::MAX)?.unwrap_or(0);
        let flag_key = row.optional_string("flagKey")?.unwrap_or_default();
        let variant_id = row.optional_integer("variantID", 0, i64::MAX)?.unwrap_or(0);
        let variant_key = row.optional_string("variantKey")?.unwrap_or_default();
        check_timestamp(row)?;
        // Not used without a recorder, but typed in Flagr's schema: a wrong type is still a 422.
        row.optional_string("entityType")?;
        row.optional_integer("flagSnapshotID", i64::MIN, i64::MAX)?;
        let by_id = (flag_id != 0).then(|| snapshot.get(flag_id));
        let by_key = (!flag_key.is_empty()).then(|| snapshot.lookup(0, &flag_key));
        let problem = if entity_id.is_empty() {
            Some("entityID is required".to_owned())
        } else {
            match (by_id, by_key) {
                (None, None) => Some("flagID or flagKey is required".to_owned()),
                (Some(None), _) | (_, Some(None)) => Some("flag not found".to_owned()),
                (Some(Some(a)), Some(Some(b))) if a.id() != b.id() => {
                    Some("flagID and flagKey refer to different flags".to_owned())
                }
                (Some(Some(flag)), _) | (_, Some(Some(flag))) => variant_problem(flag, variant_id, &variant_key),
            }
        };
        if let Some(message) = problem {
            errors.push(json!({ "index": index, "message": message }));
        }
    }
    Ok(Json(
        json!({ "loggedCount": 0, "message": "Exposures logged successfully", "errors": errors }),
    ))
}

/// Whether the row's variant, when it names one, is a variant of the flag.
fn variant_problem(flag: &CompiledFlag, variant_id: i64, variant_key: &str) -> Option<String> {
    let variants = &flag.flag().variants;
    let by_id = (variant_id != 0).then(|| variants.iter().find(|variant| variant.id == variant_id));
    let by_key = (!variant_key.is_empty()).then(|| variants.iter().find(|variant| variant.key == variant_key));
    match (by_id, by_key) {
        (Some(None), _) => Some(format!("variantID {variant_id} not found on flag")),
        (_, Some(None)) => Some(format!("variantKey {variant_key} not found on flag")),
        (Some(Some(a)), Some(Some(b))) if a.id != b.id => {
            Some("variantID and variantKey refer to different variants".into())
        }
        _ => None,
    }
}

fn check_timestamp(row: &Object) -> Result<(), ApiError> {
    match row.optional_string("timestamp")? {
        Some(text) if OffsetDateTime::parse(&text, &Rfc3339).is_err() => Err(ApiError::validation(
            code::INVALID_TYPE,
            format!("timestamp in body must be of type date-time: \"{text}\""),
        )),
        _ => Ok(()),
    }
}
