//! Webhooks (a Bunting extension, under Flagr's conventions): the event catalogue, webhook
//! management, secret rotation, test sends, and each webhook's delivery log with redelivery.

use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use bunting_core::change::rfc3339;
use bunting_core::secret::Secret;
use bunting_core::webhook::catalogue::{CATALOGUE, EventInfo};
use bunting_core::webhook::config::{DEFAULT_TIMEOUT_SECONDS, NewWebhook, PayloadFormat, WebhookPatch};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::access::Access;
use super::environment::Env;
use super::error::{ApiError, code, schema_violation_as_bad_request};
use super::identity::Actor;
use super::input::{JsonBody, Object, PathIds, QueryParams, one_of};
use super::{AppState, empty_ok};
use crate::service::webhooks::{Attempt, Delivery, DeliveryQuery, DeliveryStatus, WebhookSummary};

const FIELDS: &[&str] = &[
    "url",
    "events",
    "secret",
    "description",
    "enabled",
    "timeoutSeconds",
    "format",
    "allEnvironments",
];
/// The delivery log's page size, default and largest.
const DEFAULT_DELIVERIES: i64 = 50;
const MAX_DELIVERIES: i64 = 500;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook_events", get(list_webhook_events))
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route(
            "/webhooks/{webhookID}",
            get(get_webhook).put(put_webhook).delete(delete_webhook),
        )
        .route("/webhooks/{webhookID}/secret/rotate", post(rotate_secret))
        .route("/webhooks/{webhookID}/test", post(send_test))
        .route("/webhooks/{webhookID}/deliveries", get(list_deliveries))
        .route("/webhooks/{webhookID}/deliveries/{deliveryID}", get(get_delivery))
        .route(
            "/webhooks/{webhookID}/deliveries/{deliveryID}/redeliver",
            post(redeliver),
        )
        .layer(middleware::map_response(schema_violation_as_bad_request))
}

/// Refuses a caller limited to some environments a change to a webhook that receives every
/// environment's events: it could send them anywhere.
async fn require_own_environment(state: &AppState, access: &Access, id: i64) -> Result<(), ApiError> {
    if matches!(access, Access::Open) {
        return Ok(());
    }
    if state.webhooks.get(id).await?.webhook.all_environments {
        access.require_all_environments("changing a webhook for every environment")?;
    }
    Ok(())
}

async fn list_webhook_events() -> Json<&'static [EventInfo]> {
    Json(CATALOGUE)
}

async fn list_webhooks(Env(state): Env<AppState>) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(state.webhooks.list().await?.iter().map(summary_json).collect()))
}

async fn get_webhook(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Value>, ApiError> {
    Ok(Json(summary_json(&state.webhooks.get(ids.get("webhookID")).await?)))
}

async fn create_webhook(
    Env(state): Env<AppState>,
    Actor(actor): Actor,
    access: Access,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.required()?;
    body.only(FIELDS)?;
    if body.optional_bool("allEnvironments")? == Some(true) {
        access.require_all_environments("a webhook for every environment")?;
    }
    let new = NewWebhook {
        url: body.string("url", 1)?,
        events: body
            .strings("events")?
            .ok_or_else(|| ApiError::validation(code::REQUIRED, "events in body is required"))?,
        description: body.optional_string("description")?.unwrap_or_default(),
        secret: body.optional_string("secret")?.map(Secret::new),
        enabled: body.optional_bool("enabled")?.unwrap_or(true),
        timeout_seconds: timeout(&body)?.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        format: format(&body)?.unwrap_or(PayloadFormat::Bunting),
        all_environments: body.optional_bool("allEnvironments")?.unwrap_or(false),
    };
    let webhook = state.webhooks.create(&actor, new).await?;
    Ok(Json(webhook.public_json()))
}

async fn put_webhook(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    access: Access,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.required()?;
    body.only(FIELDS)?;
    if body.optional_bool("allEnvironments")? == Some(true) {
        access.require_all_environments("a webhook for every environment")?;
    }
    require_own_environment(&state, &access, ids.get("webhookID")).await?;
    let patch = WebhookPatch {
        url: body.optional_string("url")?,
        events: body.strings("events")?,
        description: body.optional_string("description")?,
        // An explicit null (or "") removes the secret; an absent field keeps it.
        secret: if body.is_null("secret") {
            Some(None)
        } else {
            body.optional_string("secret")?
                .map(|secret| Some(secret).filter(|secret| !secret.is_empty()).map(Secret::new))
        },
        enabled: body.optional_bool("enabled")?,
        timeout_seconds: timeout(&body)?,
        format: format(&body)?,
        all_environments: body.optional_bool("allEnvironments")?,
    };
    let webhook = state.webhooks.update(&actor, ids.get("webhookID"), patch).await?;
    Ok(Json(webhook.public_json()))
}

async fn delete_webhook(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    access: Access,
) -> Result<StatusCode, ApiError> {
    require_own_environment(&state, &access, ids.get("webhookID")).await?;
    state.webhooks.delete(&actor, ids.get("webhookID")).await?;
    Ok(empty_ok())
}

async fn rotate_secret(
    Env(state): Env<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
    access: Access,
) -> Result<Json<Value>, ApiError> {
    require_own_environment(&state, &access, ids.get("webhookID")).await?;
    let (webhook, secret) = state.webhooks.rotate_secret(&actor, ids.get("webhookID")).await?;
    let mut json = webhook.public_json();
    json["secret"] = Value::from(secret);
    Ok(Json(json))
}

async fn send_test(Env(state): Env<AppState>, ids: PathIds, Actor(actor): Actor) -> Result<Json<Value>, ApiError> {
    let webhook_id = ids.get("webhookID");
    let delivery = state.webhooks.send_test(&actor, webhook_id).await?;
    Ok(Json(delivery_json(&delivery)))
}

async fn list_deliveries(
    Env(state): Env<AppState>,
    ids: PathIds,
    query: QueryParams,
) -> Result<Json<Vec<Value>>, ApiError> {
    let status = query
        .string("status")
        .map(|status| {
            one_of("status", status, &["pending", "delivered", "failed"])?;
            Ok::<_, ApiError>(DeliveryStatus::from_name(status))
        })
        .transpose()?
        .flatten();
    let limit = query.count("limit")?.unwrap_or(DEFAULT_DELIVERIES);
    if limit > MAX_DELIVERIES {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} is too large; ask for at most {MAX_DELIVERIES}"
        )));
    }
    let filter = DeliveryQuery {
        status,
        event: query.string("event").map(str::to_owned),
        flag_key: query.string("flagKey").map(str::to_owned),
        limit,
        offset: query.count("offset")?.unwrap_or(0),
    };
    let deliveries = state.webhooks.deliveries(ids.get("webhookID"), &filter).await?;
    Ok(Json(deliveries.iter().map(delivery_json).collect()))
}

async fn get_delivery(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Value>, ApiError> {
    let (delivery, attempts) = state
        .webhooks
        .delivery(ids.get("webhookID"), ids.text("deliveryID"))
        .await?;
    let mut json = delivery_json(&delivery);
    json["body"] = Value::from(delivery.body.unwrap_or_default());
    json["attempts"] = attempts.iter().map(attempt_json).collect();
    Ok(Json(json))
}

async fn redeliver(Env(state): Env<AppState>, ids: PathIds) -> Result<Json<Value>, ApiError> {
    let (webhook_id, delivery_id) = (ids.get("webhookID"), ids.text("deliveryID"));
    let delivery = state.webhooks.redeliver(webhook_id, delivery_id).await?;
    Ok(Json(delivery_json(&delivery)))
}

fn timeout(body: &Object) -> Result<Option<u32>, ApiError> {
    // The range rule (1–30) is the domain's; here only the type is checked.
    let seconds = body.optional_integer("timeoutSeconds", 0, i64::from(u32::MAX))?;
    Ok(seconds.map(|seconds| u32::try_from(seconds).unwrap_or(u32::MAX)))
}

/// The body format, one of those the API may set.
fn format(body: &Object) -> Result<Option<PayloadFormat>, ApiError> {
    body.optional_string("format")?
        .map(|name| PayloadFormat::settable(&name).map_err(|error| ApiError::BadRequest(error.to_string())))
        .transpose()
}

/// A webhook with what its delivery log says, as lists and reads return it.
fn summary_json(summary: &WebhookSummary) -> Value {
    let mut json = summary.webhook.public_json();
    json["pendingDeliveries"] = Value::from(summary.pending_deliveries);
    json["failedDeliveries"] = Value::from(summary.failed_deliveries);
    json["lastDelivery"] = match (&summary.last_delivery_status, summary.last_delivery_at) {
        (Some(status), Some(at)) => json!({ "status": status, "createdAt": rfc3339(at) }),
        _ => Value::Null,
    };
    json
}

fn time_json(at: Option<OffsetDateTime>) -> Value {
    at.map_or(Value::Null, |at| Value::from(rfc3339(at)))
}

fn delivery_json(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id,
        "webhookID": delivery.webhook_id,
        "event": delivery.event,
        "eventID": delivery.event_id,
        "sequence": delivery.change_seq,
        "flagID": delivery.flag_id,
        "flagKey": delivery.flag_key,
        "status": delivery.status.name(),
        "attemptCount": delivery.attempts,
        "nextAttemptAt": time_json(delivery.next_attempt_at),
        "createdAt": rfc3339(delivery.created_at),
        "finishedAt": time_json(delivery.finished_at),
        "lastStatusCode": delivery.last_status_code,
        "lastErrorClass": delivery.last_error_class.map(|class| class.name()),
    })
}

fn attempt_json(attempt: &Attempt) -> Value {
    let headers: Value = serde_json::from_str(&attempt.request_headers).unwrap_or(Value::Null);
    json!({
        "number": attempt.number,
        "startedAt": rfc3339(attempt.started_at),
        // Milliseconds with microsecond precision: readable, and exact enough for latency.
        "durationMs": attempt.duration_micros as f64 / 1000.0,
        "statusCode": attempt.status_code,
        "errorClass": attempt.error_class.map(|class| class.name()),
        "error": attempt.error,
        "responseBody": attempt.response_body,
        "requestHeaders": headers,
        "nextAttemptAt": time_json(attempt.next_attempt_at),
    })
}
