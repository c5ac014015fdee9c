//! `GET /api/v1/changes`: the change log, Bunting's audit trail (an extension; Flagr has only
//! per-flag snapshots). Each entry has the webhook payload's field names.

use axum::Extension;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::value::RawValue;
use std::collections::HashMap;

use bunting_core::environment::EnvironmentLabel;
use bunting_core::webhook::filter::EventFilter;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
            flag_key: query.string("flag_key").map(str::to_owned),
            actor: query.string("actor").map(str::to_owned),
            event: event(&query)?,
            since: time(&query, "since")?,
            until: time(&query, "until")?,
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

/// The `event` filter: one catalogued event name or group glob (`flag.*`).
fn event(query: &QueryParams) -> Result<Option<String>, ApiError> {
    let Some(event) = query.string("event") else {
        return Ok(None);
    };
    let known = event != "*"
        && !event.contains(',')
        && EventFilter::parse(&[event]).is_ok_and(|filter| filter.patterns().len() == 1);
    if !known {
        return Err(ApiError::BadRequest(format!(
            "event {event:?} is not one event name (GET /api/v1/webhook_events lists them) or a group such as flag.*"
        )));
    }
    Ok(Some(event.to_owned()))
}

/// An RFC 3339 time parameter.
fn time(query: &QueryParams, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    query
        .string(name)
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                ApiError::BadRequest(format!(
                    "{name} must be an RFC 3339 time such as 2026-12-01T10:00:00Z, not {text:?}"
                ))
            })
        })
        .transpose()
}
