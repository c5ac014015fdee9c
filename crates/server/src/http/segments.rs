//! Segments of a flag, including Flagr's reorder.

use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use bunting_core::flag::{Id, Segment};
use bunting_core::mutation::{Command, Outcome};

use super::environment::Env;
use super::error::ApiError;
use super::identity::Actor;
use super::input::{JsonBody, Object, PathIds, integer_in};
use super::{AppState, empty_ok};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/flags/{flagID}/segments", get(find_segments).post(create_segment))
        .route("/flags/{flagID}/segments/reorder", put(put_segments_reorder))
        .route(
            "/flags/{flagID}/segments/{segmentID}",
            put(put_segment).delete(delete_segment),
        )
}

fn changed_segment(outcome: Outcome, id: Option<Id>) -> Result<Json<Segment>, ApiError> {
    let segment = outcome
        .after
        .flag
        .segments
        .into_iter()
        .find(|segment| Some(segment.id) == id);
    segment
        .map(Json)
        .ok_or_else(|| ApiError::Internal("segment missing after change".into()))
}

/// The body of both create and update: `{description, rolloutPercent}`, both required.
fn segment_fields(body: &Object) -> Result<(String, i64), ApiError> {
    Ok((body.string("description", 1)?, body.integer("rolloutPercent", 0, 100)?))
}

async fn find_segments(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Vec<Segment>>, ApiError> {
    let flag = state.flags.any_flag(ids.get("flagID")).await?;
    Ok(Json(flag.map(|stored| stored.flag.segments).unwrap_or_default()))
}

async fn create_segment(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Segment>, ApiError> {
    let (description, rollout_percent) = segment_fields(&body.required()?)?;
    let command = Command::CreateSegment {
        description,
        rollout_percent,
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    let id = outcome.component_id();
    changed_segment(outcome, id)
}

async fn put_segment(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Segment>, ApiError> {
    let (description, rollout_percent) = segment_fields(&body.required()?)?;
    let id = ids.get("segmentID");
    let command = Command::UpdateSegment {
        id,
        description,
        rollout_percent,
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    changed_segment(outcome, Some(id))
}

async fn put_segments_reorder(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let body = body.required()?;
    let order = body
        .array("segmentIDs", 1)?
        .iter()
        .enumerate()
        .map(|(index, id)| integer_in(&format!("segmentIDs.{index}"), id, 1, i64::MAX))
        .collect::<Result<Vec<_>, _>>()?;
    state
        .flags
        .mutate(&actor, Some(ids.get("flagID")), Command::ReorderSegments(order))
        .await?;
    Ok(empty_ok())
}

async fn delete_segment(Env(state): Env<AppState>, ids: PathIds, Actor(actor): Actor) -> Result<StatusCode, ApiError> {
    state
        .flags
        .mutate(
            &actor,
            Some(ids.get("flagID")),
            Command::DeleteSegment(ids.get("segmentID")),
        )
        .await?;
    Ok(empty_ok())
}
