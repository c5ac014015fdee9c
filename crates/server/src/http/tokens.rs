//! API tokens (a Bunting extension): create (the secret is in that answer only), list, revoke;
//! and `GET /me`, who the caller is and what they may do, for the UI.

use axum::extract::State;
use axum::routing::{delete, get};
use axum::{Json, Router, middleware};
use bunting_core::token::{NewToken, Role, Scope, Token};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::access::Access;
use super::error::{ApiError, schema_violation_as_bad_request};
use super::identity::Actor;
use super::input::{JsonBody, PathIds};

const FIELDS: &[&str] = &["name", "role", "environments", "expiresAt"];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{tokenID}", delete(revoke_token))
        .route("/me", get(me))
        .layer(middleware::map_response(schema_violation_as_bad_request))
}

async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<Value>>, ApiError> {
    let tokens = state.tokens.list().await?;
    Ok(Json(tokens.iter().map(token_json).collect()))
}

async fn create_token(
    State(state): State<AppState>,
    Actor(actor): Actor,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.required()?;
    body.only(FIELDS)?;
    let role = body.string("role", 1)?;
    let new = NewToken {
        name: body.string("name", 1)?,
        role: Role::from_name(&role).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "role must be one of evaluator, viewer, editor, admin; not {role:?}"
            ))
        })?,
        scope: match body.strings("environments")? {
            None => Scope::All,
            Some(keys) => Scope::Only(keys),
        },
        expires_at: body
            .optional_string("expiresAt")?
            .map(|text| {
                OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
                    ApiError::BadRequest(format!(
                        "expiresAt must be an RFC 3339 time such as 2027-01-01T00:00:00Z, not {text:?}"
                    ))
                })
            })
            .transpose()?,
    };
    let (token, secret) = state.tokens.create(&new, &actor).await?;
    let mut answer = token_json(&token);
    answer["token"] = Value::String(secret);
    Ok(Json(answer))
}

async fn revoke_token(
    State(state): State<AppState>,
    ids: PathIds,
    Actor(actor): Actor,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(token_json(
        &state.tokens.revoke(ids.get("tokenID"), &actor).await?,
    )))
}

/// Who the caller is and what they may do.
async fn me(access: Access, Actor(actor): Actor) -> Json<Value> {
    Json(match access {
        Access::Open => json!({
            "authentication": "none",
            "name": actor,
            "role": Role::Admin,
            "environments": null,
        }),
        Access::Granted { role, scope, .. } => json!({
            "authentication": "tokens",
            "name": actor,
            "role": role,
            "environments": match scope {
                Scope::All => None,
                Scope::Only(keys) => Some(keys),
            },
        }),
    })
}

fn token_json(token: &Token) -> Value {
    serde_json::to_value(token.json()).unwrap_or(Value::Null)
}
