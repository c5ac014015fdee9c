//! Constraints of a segment. Values are checked by compiling them, as Flagr does on writes.

use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use bunting_core::flag::{Constraint, Id};
use bunting_core::mutation::{Command, Outcome};

use super::environment::Env;
use super::error::ApiError;
use super::identity::Actor;
use super::input::{JsonBody, Object, PathIds};
use super::{AppState, empty_ok};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/flags/{flagID}/segments/{segmentID}/constraints",
            get(find_constraints).post(create_constraint),
        )
        .route(
            "/flags/{flagID}/segments/{segmentID}/constraints/{constraintID}",
            put(put_constraint).delete(delete_constraint),
        )
}

fn changed_constraint(outcome: Outcome, segment_id: Id, id: Option<Id>) -> Result<Json<Constraint>, ApiError> {
    let constraint = outcome
        .after
        .flag
        .segment(segment_id)
        .and_then(|segment| segment.constraints.iter().find(|constraint| Some(constraint.id) == id))
        .cloned();
    constraint
        .map(Json)
        .ok_or_else(|| ApiError::Internal("constraint missing after change".into()))
}

/// `{property, operator, value}`, each a required non-empty string.
fn constraint_fields(body: &Object) -> Result<(String, String, String), ApiError> {
    Ok((
        body.string("property", 1)?,
        body.string("operator", 1)?,
        body.string("value", 1)?,
    ))
}

async fn find_constraints(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Vec<Constraint>>, ApiError> {
    let flag = state.flags.any_flag(ids.get("flagID")).await?;
    let constraints = flag
        .and_then(|stored| {
            stored
                .flag
                .segment(ids.get("segmentID"))
                .map(|segment| segment.constraints.clone())
        })
        .unwrap_or_default();
    Ok(Json(constraints))
}

async fn create_constraint(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Constraint>, ApiError> {
    let (property, operator, value) = constraint_fields(&body.required()?)?;
    let segment_id = ids.get("segmentID");
    let command = Command::CreateConstraint {
        segment_id,
        property,
        operator,
        value,
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    let id = outcome.component_id();
    changed_constraint(outcome, segment_id, id)
}

async fn put_constraint(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Constraint>, ApiError> {
    let (property, operator, value) = constraint_fields(&body.required()?)?;
    let (segment_id, id) = (ids.get("segmentID"), ids.get("constraintID"));
    let command = Command::UpdateConstraint {
        segment_id,
        id,
        property,
        operator,
        value,
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    changed_constraint(outcome, segment_id, Some(id))
}

async fn delete_constraint(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
) -> Result<StatusCode, ApiError> {
    let command = Command::DeleteConstraint {
        segment_id: ids.get("segmentID"),
        id: ids.get("constraintID"),
    };
    state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    Ok(empty_ok())
}
