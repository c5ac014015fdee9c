//! Flags: list, create, get, update, soft delete, restore, duplicate, enable, entity types and
//! Flagr's snapshots (read from the change log).

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bunting_core::change::{ChangeEvent, raw, rfc3339};
use bunting_core::flag::{Flag, Loaded};
use bunting_core::mutation::{Command, FlagPatch, Outcome, flag_not_found};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::environment::Env;
use super::error::ApiError;
use super::identity::Actor;
use super::input::{JsonBody, PathIds, QueryParams, one_of};
use super::{AppState, empty_ok};
use crate::service::flags::FlagFilter;
use crate::service::{ChangeQuery, SortOrder};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/flags", get(find_flags).post(create_flag))
        .route("/flags/entity_types", get(get_entity_types))
        .route("/flags/snapshots/max_id", get(get_snapshot_max_id))
        .route("/flags/{flagID}", get(get_flag).put(put_flag).delete(delete_flag))
        .route("/flags/{flagID}/restore", put(restore_flag))
        .route("/flags/{flagID}/duplicate", post(duplicate_flag))
        .route("/flags/{flagID}/enabled", put(set_flag_enabled))
        .route("/flags/{flagID}/snapshots", get(get_flag_snapshots))
}

fn respond(outcome: Outcome, loaded: Loaded) -> Json<Flag> {
    Json(outcome.after.flag.loaded(loaded))
}

async fn find_flags(Env(state): Env<AppState>, query: QueryParams) -> Result<Json<Vec<Flag>>, ApiError> {
    let filter = FlagFilter {
        deleted: query.bool("deleted")?.unwrap_or(false),
        enabled: query.bool("enabled")?,
        description: query.string("description").map(str::to_owned),
        description_like: query.string("description_like").map(str::to_owned),
        key: query.string("key").map(str::to_owned),
        tags: query
            .string("tags")
            .map(|tags| tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
        limit: query.count("limit")?,
        offset: query.count("offset")?.unwrap_or(0),
    };
    let preload = query.bool("preload")?.unwrap_or(false);
    let loaded = if preload { Loaded::Everything } else { Loaded::TagsOnly };
    let flags = state.flags.find(&filter).await?;
    Ok(Json(flags.into_iter().map(|flag| flag.loaded(loaded)).collect()))
}

async fn create_flag(Env(state): Env<AppState>, Actor(actor): Actor, body: JsonBody) -> Result<Json<Flag>, ApiError> {
    let body = body.required()?;
    let command = Command::CreateFlag {
        description: body.string("description", 1)?,
        key: body.optional_string("key")?.unwrap_or_default(),
        template: body.optional_string("template")?,
    };
    Ok(respond(
        state.flags.mutate(&actor, None, command).await?,
        Loaded::Everything,
    ))
}

async fn get_flag(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Flag>, ApiError> {
    let id = ids.get("flagID");
    let stored = state
        .flags
        .live_flag(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(flag_not_found(id).to_string()))?;
    Ok(Json(stored.flag))
}

async fn put_flag(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Flag>, ApiError> {
    let body = body.required()?;
    // `enabled` is accepted and ignored, as in Flagr: PUT /flags/{id}/enabled owns that switch.
    body.optional_bool("enabled")?;
    let patch = FlagPatch {
        description: body.optional_nonempty_string("description", 1)?,
        data_records_enabled: body.optional_bool("dataRecordsEnabled")?,
        entity_type: body.optional_string("entityType")?,
        key: body.optional_string("key")?,
        notes: body.optional_string("notes")?,
    };
    let outcome = state
        .flags
        .mutate(&actor, Some(ids.get("flagID")), Command::UpdateFlag(patch))
        .await?;
    Ok(respond(outcome, Loaded::Everything))
}

async fn delete_flag(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .flags
        .mutate(&actor, Some(ids.get("flagID")), Command::Delete)
        .await?;
    Ok(empty_ok())
}

async fn restore_flag(Env(state): Env<AppState>, ids: PathIds, Actor(actor): Actor) -> Result<Json<Flag>, ApiError> {
    let outcome = state
        .flags
        .mutate(&actor, Some(ids.get("flagID")), Command::Restore)
        .await?;
    Ok(respond(outcome, Loaded::TagsOnly))
}

async fn duplicate_flag(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Flag>, ApiError> {
    let body = body.optional()?;
    let command = Command::DuplicateFlag {
        key: body.optional_string("key")?.unwrap_or_default(),
        description: body.optional_string("description")?.unwrap_or_default(),
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    Ok(respond(outcome, Loaded::Everything))
}

async fn set_flag_enabled(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Flag>, ApiError> {
    let enabled = body.required()?.bool("enabled")?;
    let outcome = state
        .flags
        .mutate(&actor, Some(ids.get("flagID")), Command::SetEnabled(enabled))
        .await?;
    Ok(respond(outcome, Loaded::Nothing))
}

async fn get_entity_types(Env(state): Env<AppState>) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(state.flags.entity_types().await?))
}

async fn get_snapshot_max_id(Env(state): Env<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "maxID": state.flags.max_change_seq().await? })))
}

async fn get_flag_snapshots(Env(state): Env<AppState>, ids: PathIds, query: QueryParams) -> Result<Response, ApiError> {
    let sort = query.string("sort").unwrap_or("DESC");
    one_of("sort", sort, &["ASC", "DESC"])?;
    let changes = state
        .flags
        .changes(&ChangeQuery {
            flag_id: Some(ids.get("flagID")),
            order: if sort == "ASC" {
                SortOrder::Ascending
            } else {
                SortOrder::Descending
            },
            limit: query.count("limit")?,
            offset: query.count("offset")?.unwrap_or(0),
            ..ChangeQuery::default()
        })
        .await?;
    let snapshots: Vec<FlagSnapshot> = changes
        .iter()
        .map(FlagSnapshot::from_change)
        .collect::<Result<_, _>>()?;
    Ok(Json(snapshots).into_response())
}

/// Flagr's `flagSnapshot`: the flag as one change left it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FlagSnapshot<'a> {
    id: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    updated_by: &'a str,
    updated_at: String,
    flag: Option<&'a RawValue>,
}

impl<'a> FlagSnapshot<'a> {
    fn from_change(change: &'a ChangeEvent) -> Result<FlagSnapshot<'a>, ApiError> {
        // Flagr prints snapshot times in UTC with whole seconds.
        let at = change.occurred_at.replace_nanosecond(0).unwrap_or(change.occurred_at);
        Ok(FlagSnapshot {
            id: change.seq,
            updated_by: &change.actor,
            updated_at: rfc3339(at),
            flag: raw(change.current.as_deref()).map_err(|error| ApiError::Internal(error.to_string()))?,
        })
    }
}
