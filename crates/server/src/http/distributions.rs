//! Distributions of a segment: read, and replaced as a whole.

use axum::routing::get;
use axum::{Json, Router};
use bunting_core::flag::Distribution;
use bunting_core::mutation::{Command, NewDistribution};

use super::AppState;
use super::environment::Env;
use super::error::ApiError;
use super::identity::Actor;
use super::input::{JsonBody, PathIds};

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/flags/{flagID}/segments/{segmentID}/distributions",
        get(find_distributions).put(put_distributions),
    )
}

async fn find_distributions(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Vec<Distribution>>, ApiError> {
    let flag = state.flags.any_flag(ids.get("flagID")).await?;
    let distributions = flag
        .and_then(|stored| {
            stored
                .flag
                .segment(ids.get("segmentID"))
                .map(|segment| segment.distributions.clone())
        })
        .unwrap_or_default();
    Ok(Json(distributions))
}

async fn put_distributions(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Vec<Distribution>>, ApiError> {
    let body = body.required()?;
    let mut distributions = Vec::new();
    for item in body.objects("distributions")? {
        distributions.push(NewDistribution {
            percent: item.integer("percent", 0, 100)?,
            variant_id: item.integer("variantID", 1, i64::MAX)?,
            variant_key: item.string("variantKey", 1)?,
        });
    }
    let segment_id = ids.get("segmentID");
    let command = Command::PutDistributions {
        segment_id,
        distributions,
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    let segment = outcome.after.flag.segment(segment_id).cloned();
    segment
        .map(|segment| Json(segment.distributions))
        .ok_or_else(|| ApiError::Internal("segment missing after distribution change".into()))
}
