//! Bunting's extension `GET /api/v1/constraint_problems`: what can never work in the stored
//! flags' constraints — constraints that do not compile (stored by an older version) and
//! constraints that can never match — as `bunting_core::eval::check_flag` finds them, for the
//! UI's badges and warnings. Flagr's own routes and shapes are untouched.

use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use bunting_core::eval::{Severity, check_flag};
use bunting_core::flag::Id;
use serde::Serialize;

use super::AppState;
use super::environment::Env;
use super::error::{ApiError, schema_violation_as_bad_request};
use super::input::QueryParams;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/constraint_problems", get(find_problems))
        .layer(middleware::map_response(schema_violation_as_bad_request))
}

/// One problem of one live flag.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProblemView {
    #[serde(rename = "flagID")]
    flag_id: Id,
    flag_key: String,
    #[serde(rename = "segmentID")]
    segment_id: Id,
    /// `null` when the segment's constraints fail only together.
    #[serde(rename = "constraintID")]
    constraint_id: Option<Id>,
    severity: Severity,
    /// What is wrong: `does not compile: ...` or `can never match: ...`.
    message: String,
}

/// Every live flag's problems, by flag id; `flag_id` narrows to one flag.
async fn find_problems(Env(state): Env<AppState>, query: QueryParams) -> Result<Json<Vec<ProblemView>>, ApiError> {
    let flags = match query.id("flag_id")? {
        Some(id) => state.flags.live_flag(id).await?.into_iter().collect(),
        None => state.flags.live_flags().await?,
    };
    let problems = flags
        .iter()
        .flat_map(|stored| {
            let flag = &stored.flag;
            check_flag(flag).into_iter().map(|problem| ProblemView {
                flag_id: flag.id,
                flag_key: flag.key.clone(),
                segment_id: problem.segment_id,
                constraint_id: problem.constraint_id,
                severity: problem.severity(),
                message: problem.problem.to_string(),
            })
        })
        .collect();
    Ok(Json(problems))
}
