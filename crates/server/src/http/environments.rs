//! Environments (a Bunting extension): list, create, read, rename and delete. Each environment
//! serves the whole Flagr API under `/environments/{key}/api/v1/…` (see `environment`).

use axum::extract::{Path, State};
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use bunting_core::environment::{Environment, EnvironmentFields};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, schema_violation_as_bad_request};
use super::identity::Actor;
use super::input::{JsonBody, QueryParams};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/environments", get(list_environments).post(create_environment))
        .route(
            "/environments/{environmentKey}",
            get(get_environment).put(put_environment).delete(delete_environment),
        )
        .layer(middleware::map_response(schema_violation_as_bad_request))
}

fn json(environment: &Environment) -> Json<Value> {
    Json(serde_json::to_value(environment.json()).unwrap_or_default())
}

async fn list_environments(State(state): State<AppState>) -> Result<Json<Vec<Value>>, ApiError> {
    let environments = state.environments.list().await?;
    Ok(Json(
        environments.iter().map(|environment| json(environment).0).collect(),
    ))
}

async fn get_environment(State(state): State<AppState>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(json(&state.environments.get(&key).await?))
}

async fn create_environment(
    State(state): State<AppState>,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.required()?;
    body.only(&["key", "name", "description"])?;
    let key = body.string("key", 1)?;
    let fields = fields(&body)?;
    Ok(json(&state.environments.create(&actor, &key, fields).await?))
}

async fn put_environment(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.required()?;
    body.only(&["name", "description"])?;
    Ok(json(&state.environments.update(&actor, &key, fields(&body)?).await?))
}

async fn delete_environment(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Actor(actor): Actor,
    query: QueryParams,
) -> Result<Json<Value>, ApiError> {
    let force = query.bool("force")?.unwrap_or(false);
    Ok(json(&state.environments.delete(&actor, &key, force).await?))
}

fn fields(body: &super::input::Object) -> Result<EnvironmentFields, ApiError> {
    Ok(EnvironmentFields {
        name: body.optional_string("name")?,
        description: body.optional_string("description")?,
    })
}
