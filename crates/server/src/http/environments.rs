//! Environments (a Bunting extension): list, create, read, rename and delete. Each environment
//! serves the whole Flagr API under `/environments/{key}/api/v1/…` (see `environment`).

use axum::extract::{Path, State};
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use bunting_core::change::rfc3339;
use bunting_core::environment::{Environment, EnvironmentFields};
use bunting_core::webhook::sentence::sentence;
use serde_json::{Value, json};

use super::AppState;
use super::access::Access;
use super::error::{ApiError, schema_violation_as_bad_request};
use super::identity::Actor;
use super::input::{JsonBody, QueryParams};
use crate::service::environments::{Compared, Promotion, PromotionSelection};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/environments", get(list_environments).post(create_environment))
        .route(
            "/environments/{environmentKey}",
            get(get_environment).put(put_environment).delete(delete_environment),
        )
        .route("/environments/{environmentKey}/promote", post(promote))
        .route("/compare/{flagKey}", get(compare))
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
    body.only(&["key", "name", "description", "cloneFrom"])?;
    let key = body.string("key", 1)?;
    let fields = fields(&body)?;
    let clone_from = body.optional_string("cloneFrom")?;
    let created = state
        .environments
        .create(&actor, &key, fields, clone_from.as_deref())
        .await?;
    Ok(json(&created))
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

/// Promotes flags from `from` into this environment: `flags` (keys), `tags` (flags carrying
/// any), or `all`; with `dryRun` it answers what it would do and writes nothing.
async fn promote(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Actor(actor): Actor,
    access: Access,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.required()?;
    body.only(&["from", "flags", "tags", "all", "dryRun"])?;
    let from = body.string("from", 1)?;
    // The target was checked with the route; promoting also reads the source.
    access.require_environment(&from)?;
    let flags = body.strings("flags")?;
    let tags = body.strings("tags")?;
    let all = body.optional_bool("all")?.unwrap_or(false);
    let selection = match (flags, tags, all) {
        (Some(keys), None, false) => PromotionSelection::Keys(keys),
        (None, Some(tags), false) => PromotionSelection::Tags(tags),
        (None, None, true) => PromotionSelection::All,
        _ => {
            return Err(ApiError::BadRequest(
                "say which flags to promote with exactly one of flags (keys), tags, or \"all\": true".into(),
            ));
        }
    };
    let dry_run = body.optional_bool("dryRun")?.unwrap_or(false);
    let promotions = state
        .environments
        .promote(&actor, &from, &key, &selection, dry_run)
        .await?;
    let flags: Vec<Value> = promotions.iter().map(promotion_json).collect();
    Ok(Json(json!({"dryRun": dry_run, "flags": flags})))
}

/// One flag's promotion: the action and each change as an event and a readable sentence.
fn promotion_json(promotion: &Promotion) -> Value {
    let changes: Vec<Value> = promotion
        .change
        .iter()
        .flat_map(|change| {
            change
                .events
                .iter()
                .map(|event| json!({"event": event.kind.name(), "sentence": sentence(change, event)}))
        })
        .collect();
    json!({
        "key": promotion.after.flag.key,
        "id": promotion.after.flag.id,
        "action": promotion.action.name(),
        "changes": changes,
    })
}

/// Flag `flagKey` in every environment side by side; with `from` and `to`, what promoting it
/// from one to the other would change (a dry run).
async fn compare(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Actor(actor): Actor,
    query: QueryParams,
) -> Result<Json<Value>, ApiError> {
    match (query.string("from"), query.string("to")) {
        (Some(from), Some(to)) => {
            let selection = PromotionSelection::Keys(vec![key.clone()]);
            let promotions = state.environments.promote(&actor, from, to, &selection, true).await?;
            let diff: Vec<Value> = promotions.iter().map(promotion_json).collect();
            Ok(Json(
                json!({"key": key, "from": from, "to": to, "difference": diff.first()}),
            ))
        }
        (None, None) => {
            let sides = state.environments.compare(&key).await?;
            let environments: Vec<Value> = sides.iter().map(compared_json).collect();
            Ok(Json(json!({"key": key, "environments": environments})))
        }
        _ => Err(ApiError::BadRequest(
            "give both from and to (environment keys) for a difference, or neither for every environment".into(),
        )),
    }
}

fn compared_json(side: &Compared) -> Value {
    let last_change = side.last_change.as_ref().map(|change| {
        let events: Vec<&str> = change.events.iter().map(|event| event.kind.name()).collect();
        json!({"sequence": change.seq, "timestamp": rfc3339(change.occurred_at), "actor": change.actor, "events": events})
    });
    json!({
        "environment": {"key": side.environment.key, "name": side.environment.name},
        "flag": side.flag.as_ref().map(|stored| &stored.flag),
        "deleted": side.flag.as_ref().map(|stored| stored.deleted),
        "lastChange": last_change,
    })
}
