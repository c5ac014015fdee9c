//! Tags: a flag's tags, attaching and detaching them, and the environment's tag list.

use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use bunting_core::flag::Tag;
use bunting_core::mutation::Command;

use super::environment::Env;
use super::error::ApiError;
use super::identity::Actor;
use super::input::{JsonBody, PathIds, QueryParams};
use super::{AppState, empty_ok};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/flags/{flagID}/tags", get(find_tags).post(create_tag))
        .route("/flags/{flagID}/tags/{tagID}", delete(delete_tag))
        .route("/tags", get(find_all_tags))
}

async fn find_tags(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Vec<Tag>>, ApiError> {
    let flag = state.flags.any_flag(ids.get("flagID")).await?;
    Ok(Json(flag.map(|stored| stored.flag.tags).unwrap_or_default()))
}

async fn create_tag(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Tag>, ApiError> {
    let value = body.required()?.string("value", 1)?;
    let outcome = state.flags.attach_tag(&actor, ids.get("flagID"), &value).await?;
    let tag = outcome.after.flag.tags.into_iter().find(|tag| tag.value == value);
    tag.map(Json)
        .ok_or_else(|| ApiError::Internal(format!("tag {value} missing after attach")))
}

async fn delete_tag(Env(state): Env<AppState>, ids: PathIds, Actor(actor): Actor) -> Result<StatusCode, ApiError> {
    state
        .flags
        .mutate(&actor, Some(ids.get("flagID")), Command::DetachTag(ids.get("tagID")))
        .await?;
    Ok(empty_ok())
}

async fn find_all_tags(Env(state): Env<AppState>, query: QueryParams) -> Result<Json<Vec<Tag>>, ApiError> {
    let tags = state
        .flags
        .tags(
            query.string("value_like"),
            query.count("limit")?,
            query.count("offset")?.unwrap_or(0),
        )
        .await?;
    Ok(Json(tags))
}
