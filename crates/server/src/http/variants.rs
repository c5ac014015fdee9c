//! Variants of a flag.

use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use bunting_core::flag::{Id, Variant};
use bunting_core::mutation::{Command, Outcome};
use serde_json::{Map, Value};

use super::environment::Env;
use super::error::ApiError;
use super::identity::Actor;
use super::input::{JsonBody, Object, PathIds};
use super::{AppState, empty_ok};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/flags/{flagID}/variants", get(find_variants).post(create_variant))
        .route(
            "/flags/{flagID}/variants/{variantID}",
            put(put_variant).delete(delete_variant),
        )
}

fn changed_variant(outcome: Outcome, id: Option<Id>) -> Result<Json<Variant>, ApiError> {
    let variant = outcome
        .after
        .flag
        .variants
        .into_iter()
        .find(|variant| Some(variant.id) == id);
    variant
        .map(Json)
        .ok_or_else(|| ApiError::Internal("variant missing after change".into()))
}

/// The optional `attachment`. Flagr's schema lets any JSON through and its handler refuses
/// what is not an object, so a string, array or number is a handler 400, not a schema 422.
fn attachment(body: &Object) -> Result<Option<Map<String, Value>>, ApiError> {
    body.optional_object("attachment").map_err(|_| {
        ApiError::BadRequest(
            "make sure JSON is properly formatted into key/value pairs. attachment must be a JSON object, such as \
             {\"color\": \"blue\"}"
                .into(),
        )
    })
}

async fn find_variants(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Vec<Variant>>, ApiError> {
    let flag = state.flags.any_flag(ids.get("flagID")).await?;
    Ok(Json(flag.map(|stored| stored.flag.variants).unwrap_or_default()))
}

async fn create_variant(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Variant>, ApiError> {
    let body = body.required()?;
    let command = Command::CreateVariant {
        key: body.string("key", 1)?,
        attachment: attachment(&body)?,
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    let id = outcome.component_id();
    changed_variant(outcome, id)
}

async fn put_variant(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Variant>, ApiError> {
    let body = body.required()?;
    let id = ids.get("variantID");
    let command = Command::UpdateVariant {
        id,
        key: body.string("key", 1)?,
        attachment: attachment(&body)?,
    };
    let outcome = state.flags.mutate(&actor, Some(ids.get("flagID")), command).await?;
    changed_variant(outcome, Some(id))
}

async fn delete_variant(Env(state): Env<AppState>, ids: PathIds, Actor(actor): Actor) -> Result<StatusCode, ApiError> {
    state
        .flags
        .mutate(
            &actor,
            Some(ids.get("flagID")),
            Command::DeleteVariant(ids.get("variantID")),
        )
        .await?;
    Ok(empty_ok())
}
