//! `GET /export/eval_cache/json`: the flags evaluation serves, in Flagr's eval-cache format
//! (`{"Flags":[...]}` with Go field names), which is also the file format of eval-only mode.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bunting_core::eval::{ExportFilter, TagsOperator, export};

use super::environment::Env;
use super::error::{ApiError, code};
use super::input::{QueryParams, one_of};
use crate::evaluation::Evaluator;

pub(super) fn router() -> Router<Evaluator> {
    Router::new().route("/export/eval_cache/json", get(export_eval_cache))
}

async fn export_eval_cache(Env(evaluator): Env<Evaluator>, query: QueryParams) -> Result<Response, ApiError> {
    let list = |name: &str| -> Vec<String> {
        query
            .string(name)
            .map(|text| {
                text.split(',')
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let ids = list("ids")
        .iter()
        .map(|id| {
            id.parse().map_err(|_| {
                ApiError::validation(
                    code::INVALID_TYPE,
                    format!("ids in query must be a list of int64: \"{id}\""),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let tags_operator = match query.string("tagsOperator") {
        None => TagsOperator::Any,
        Some(operator) => {
            one_of("tagsOperator", operator, &["ANY", "ALL"])?;
            if operator == "ALL" {
                TagsOperator::All
            } else {
                TagsOperator::Any
            }
        }
    };
    let filter = ExportFilter {
        ids,
        keys: list("keys"),
        enabled: query.bool("enabled")?,
        tags: list("tags"),
        tags_operator,
    };
    let snapshot = evaluator.cache().snapshot();
    // Serialized from the typed document: a JSON value would sort Go's fields alphabetically.
    let body = serde_json::to_string(&export(snapshot.flags(), &filter))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
