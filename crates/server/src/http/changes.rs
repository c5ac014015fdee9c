//! `GET /api/v1/changes`: the change log, Bunting's audit trail (an extension; Flagr has only
//! per-flag snapshots). Each entry has the webhook payload's field names.

use axum::Extension;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::value::RawValue;
use std::collections::HashMap;

use bunting_core::environment::EnvironmentLabel;

use super::AppState;
use super::environment::{Env, EnvironmentKey};
use super::error::{ApiError, schema_violation_as_bad_request};
use super::input::{QueryParams, one_of};
use crate::service::{ChangeQuery, SortOrder};

/// A page holds at most this many changes, so one request cannot read the whole log.
const MAX_LIMIT: i64 = 1000;
const DEFAULT_LIMIT: i64 = 100;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/changes", get(list_changes))
        .layer(middleware::map_response(schema_violation_as_bad_request))
}

/// One log across environments; an environment's base path (or `?environment=KEY`) shows
/// only that environment's changes.
async fn list_changes(
    Env(state): Env<AppState>,
    named: Option<Extension<EnvironmentKey>>,
    query: QueryParams,
) -> Result<Json<Vec<Box<RawValue>>>, ApiError> {
    let environment = match (named, query.string("environment")) {
        (Some(_), _) => Some(state.flags.environment()),
        (None, Some(key)) => Some(state.environments.resolve(key).await?),
        (None, None) => None,
    };
    let order = query.string("order").unwrap_or("desc");
    one_of("order", order, &["asc", "desc"])?;
    let limit = query.count("limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} is too large; ask for at most {MAX_LIMIT} changes a page"
        )));
    }
    let changes = state
        .flags
        .changes(&ChangeQuery {
            environment,
            flag_id: query.id("flag_id")?,
            after_seq: query.count("after")?,
            before_seq: query.count("before")?,
            order: if order == "asc" {
                SortOrder::Ascending
            } else {
                SortOrder::Descending
            },
            limit: Some(limit),
            offset: 0,
        })
        .await?;
    let labels = state.environments.labels().await?;
    let entries = changes
        .iter()
        .map(|change| RawValue::from_string(change.to_json(&label(&labels, change.environment_id))?))
        .collect::<Result<_, serde_json::Error>>()?;
    Ok(Json(entries))
}

/// How an entry names its environment; every change's environment has a row, so the fallback
/// (its id as key) only shows for a database edited by hand.
pub(super) fn label(labels: &HashMap<i64, EnvironmentLabel>, id: i64) -> EnvironmentLabel {
    labels.get(&id).cloned().unwrap_or_else(|| EnvironmentLabel {
        key: id.to_string(),
        name: id.to_string(),
    })
}
