//! The OpenFeature Remote Evaluation Protocol (OFREP, `open-feature/protocol`
//! `service/openapi.yaml`) over Flagr's evaluation: reading an OFREP request into Flagr's
//! evaluation context, and turning Flagr's result into an OFREP evaluation. Bucketing stays
//! Flagr's: the `targetingKey` is the entity id, so a user gets the same variant through OFREP
//! as through `/api/v1/evaluation`.
//!
//! How a result becomes an OFREP value (documented in `docs/api.md`):
//! - a disabled flag: reason `DISABLED`, no value (the caller's code default);
//! - no variant (no segment matched, or the rollout left the entity out): reason `DEFAULT`, no
//!   value;
//! - a variant whose attachment is exactly `{"value": X}`: `X`, whatever its JSON type;
//! - otherwise, on a boolean flag (every variant key is on/off/true/false): `true` for
//!   on/true, `false` for off/false;
//! - otherwise a non-empty attachment: the attachment as an object;
//! - otherwise the variant key as a string.
//!
//! Must not touch: HTTP (status codes, headers, bodies are the server's), the clock.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::eval::{EvalContext, EvalResult};
use crate::flag::{Attachment, Flag};

/// The attachment key whose value alone is the flag's typed value.
pub const VALUE_ATTACHMENT_KEY: &str = "value";

/// OFREP's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The body is not a JSON object.
    ParseError,
    /// The context has no `targetingKey`.
    TargetingKeyMissing,
    /// The context is not an object, or its `targetingKey` is not a string.
    InvalidContext,
    /// Anything else that keeps the request from being evaluated.
    General,
    /// No flag has this key (404).
    FlagNotFound,
}

/// Why a request cannot be evaluated, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub details: String,
}

impl Refusal {
    fn new(code: ErrorCode, details: impl Into<String>) -> Refusal {
        Refusal {
            code,
            details: details.into(),
        }
    }
}

/// OFREP's reasons, as Bunting gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The segment had no constraints and gives every entity the same variant.
    Static,
    /// A segment with constraints matched.
    TargetingMatch,
    /// A segment without constraints split entities between variants (or by rollout).
    Split,
    /// The flag is disabled.
    Disabled,
    /// No variant: no segment matched, or the rollout left the entity out.
    Default,
}

/// One successful OFREP evaluation (`evaluationSuccess`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub key: String,
    /// Absent means "use the code default" (OFREP ADR-0006).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Flagr's ids: `flagID`, `flagSnapshotID`, and `segmentID`/`variantID` when a variant was
    /// chosen.
    pub metadata: Map<String, Value>,
}

/// The evaluation context of an OFREP request body (`{"context": {...}}`) for `flag_key`:
/// `targetingKey` becomes the entity id, every other attribute the entity context. An absent
/// body or context reads as an empty context.
pub fn context(body: Option<&Value>, flag_key: &str) -> Result<EvalContext, Refusal> {
    let attributes = match body {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(body)) => match body.get("context") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(context)) => context.clone(),
            Some(_) => {
                return Err(Refusal::new(
                    ErrorCode::InvalidContext,
                    "context must be a JSON object of attributes with a targetingKey",
                ));
            }
        },
        Some(_) => {
            return Err(Refusal::new(
                ErrorCode::ParseError,
                r#"the body must be a JSON object: {"context": {"targetingKey": "...", ...}}"#,
            ));
        }
    };
    let mut entity_context = attributes;
    let entity_id = match entity_context.remove("targetingKey") {
        Some(Value::String(key)) if !key.is_empty() => key,
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(Refusal::new(
                ErrorCode::TargetingKeyMissing,
                "context.targetingKey is required: it is the entity id Flagr buckets on",
            ));
        }
        Some(_) => {
            return Err(Refusal::new(
                ErrorCode::InvalidContext,
                "context.targetingKey must be a string",
            ));
        }
    };
    Ok(EvalContext {
        entity_id,
        entity_context: Some(Value::Object(entity_context)),
        flag_key: flag_key.to_owned(),
        ..EvalContext::default()
    })
}

/// The refusal for a key no flag has.
pub fn not_found(key: &str) -> Refusal {
    Refusal::new(ErrorCode::FlagNotFound, format!("no flag has the key {key:?}"))
}

/// Flagr's `result` of evaluating `flag`, as OFREP's evaluation of `key`.
pub fn evaluation(key: &str, flag: &Flag, result: &EvalResult) -> Evaluation {
    let mut metadata = Map::new();
    metadata.insert("flagID".into(), flag.id.into());
    metadata.insert("flagSnapshotID".into(), result.flag_snapshot_id.into());
    let blank = |reason| Evaluation {
        key: key.to_owned(),
        value: None,
        reason,
        variant: None,
        metadata: metadata.clone(),
    };
    if !flag.enabled {
        return blank(Reason::Disabled);
    }
    if result.variant_id == 0 {
        return blank(Reason::Default);
    }
    metadata.insert("segmentID".into(), result.segment_id.into());
    metadata.insert("variantID".into(), result.variant_id.into());
    let attachment = result
        .variant_attachment
        .as_ref()
        .map(Attachment::to_map)
        .unwrap_or_default();
    Evaluation {
        key: key.to_owned(),
        value: Some(value(flag, &result.variant_key, &attachment)),
        reason: reason(flag, result.segment_id),
        variant: Some(result.variant_key.clone()),
        metadata,
    }
}

/// The OFREP value of a chosen variant (the rules are in the module header).
pub fn value(flag: &Flag, variant_key: &str, attachment: &Map<String, Value>) -> Value {
    if attachment.len() == 1
        && let Some(value) = attachment.get(VALUE_ATTACHMENT_KEY)
    {
        return value.clone();
    }
    if is_boolean(flag)
        && let Some(on) = boolean_key(variant_key)
    {
        return Value::Bool(on);
    }
    if !attachment.is_empty() {
        return Value::Object(attachment.clone());
    }
    Value::String(variant_key.to_owned())
}

/// A boolean flag: it has variants, and every variant key reads as a boolean (Flagr's
/// `simple_boolean_flag` has the one variant `on`).
pub fn is_boolean(flag: &Flag) -> bool {
    !flag.variants.is_empty() && flag.variants.iter().all(|variant| boolean_key(&variant.key).is_some())
}

fn boolean_key(key: &str) -> Option<bool> {
    match key.to_ascii_lowercase().as_str() {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        _ => None,
    }
}

/// Why the segment gave the variant: targeting when it has constraints; static when it gives
/// everyone one variant; a split otherwise.
fn reason(flag: &Flag, segment_id: i64) -> Reason {
    let Some(segment) = flag.segments.iter().find(|segment| segment.id == segment_id) else {
        return Reason::Split;
    };
    if !segment.constraints.is_empty() {
        return Reason::TargetingMatch;
    }
    let one_variant = segment
        .distributions
        .iter()
        .any(|distribution| distribution.percent == 100);
    if one_variant && segment.rollout_percent == 100 {
        Reason::Static
    } else {
        Reason::Split
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flag(enabled: bool, variant_keys: &[&str], constraints: usize, percents: &[i64], rollout: i64) -> Flag {
        let variants: Vec<Value> = variant_keys
            .iter()
            .enumerate()
            .map(|(index, key)| json!({"id": index + 1, "key": key, "attachment": {}}))
            .collect();
        let constraints: Vec<Value> = (0..constraints)
            .map(|id| json!({"id": id + 1, "property": "country", "operator": "EQ", "value": "\"NL\""}))
            .collect();
        let distributions: Vec<Value> = percents
            .iter()
            .enumerate()
            .map(|(index, percent)| {
                json!({"id": index + 1, "percent": percent, "variantID": index + 1, "variantKey": variant_keys[index]})
            })
            .collect();
        serde_json::from_value(json!({
            "id": 7, "key": "f", "description": "d", "enabled": enabled, "dataRecordsEnabled": false,
            "updatedAt": "2026-12-01T00:00:00.000Z", "variants": variants,
            "segments": [{"id": 3, "description": "s", "rank": 0, "rolloutPercent": rollout,
                          "constraints": constraints, "distributions": distributions}]
        }))
        .unwrap()
    }

    fn result(variant_key: &str, attachment: Option<Value>) -> EvalResult {
        EvalResult {
            flag_id: 7,
            flag_snapshot_id: 11,
            segment_id: if variant_key.is_empty() { 0 } else { 3 },
            variant_id: if variant_key.is_empty() { 0 } else { 1 },
            variant_key: variant_key.into(),
            variant_attachment: attachment.map(|value| Attachment::from(value.as_object().unwrap().clone())),
            ..EvalResult::default()
        }
    }

    fn value_of(variant_keys: &[&str], chosen: &str, attachment: Value) -> Value {
        let flag = flag(true, variant_keys, 0, &[100], 100);
        value(&flag, chosen, attachment.as_object().unwrap())
    }

    #[test]
    fn the_targeting_key_is_the_entity_id_and_the_rest_the_entity_context() {
        let body = json!({"context": {"targetingKey": "u1", "country": "NL", "age": 3}});
        let context = context(Some(&body), "f").unwrap();
        assert_eq!(context.entity_id, "u1");
        assert_eq!(context.flag_key, "f");
        assert_eq!(context.entity_context, Some(json!({"country": "NL", "age": 3})));
    }

    #[test]
    fn requests_that_cannot_be_evaluated_say_which_error_and_why() {
        let code = |body: Option<Value>| context(body.as_ref(), "f").unwrap_err().code;
        assert_eq!(code(None), ErrorCode::TargetingKeyMissing);
        assert_eq!(code(Some(json!({}))), ErrorCode::TargetingKeyMissing);
        assert_eq!(
            code(Some(json!({"context": {"targetingKey": ""}}))),
            ErrorCode::TargetingKeyMissing
        );
        assert_eq!(
            code(Some(json!({"context": {"country": "NL"}}))),
            ErrorCode::TargetingKeyMissing
        );
        assert_eq!(
            code(Some(json!({"context": {"targetingKey": 5}}))),
            ErrorCode::InvalidContext
        );
        assert_eq!(code(Some(json!({"context": "u1"}))), ErrorCode::InvalidContext);
        assert_eq!(code(Some(json!([1]))), ErrorCode::ParseError);
    }

    #[test]
    fn a_sole_value_attachment_is_the_typed_value() {
        assert_eq!(value_of(&["a"], "a", json!({"value": 42})), json!(42));
        assert_eq!(value_of(&["a"], "a", json!({"value": 1.5})), json!(1.5));
        assert_eq!(value_of(&["a"], "a", json!({"value": "blue"})), json!("blue"));
        assert_eq!(value_of(&["on"], "on", json!({"value": false})), json!(false));
        assert_eq!(value_of(&["a"], "a", json!({"value": {"x": 1}})), json!({"x": 1}));
    }

    #[test]
    fn boolean_flags_give_booleans_other_attachments_objects_else_the_variant_key() {
        assert_eq!(value_of(&["on"], "on", json!({})), json!(true));
        assert_eq!(value_of(&["ON", "Off"], "Off", json!({})), json!(false));
        assert_eq!(value_of(&["true", "false"], "true", json!({"note": 1})), json!(true));
        assert_eq!(
            value_of(&["on", "beta"], "on", json!({})),
            json!("on"),
            "not a boolean flag"
        );
        assert_eq!(
            value_of(&["a"], "a", json!({"value": 1, "unit": "ms"})),
            json!({"value": 1, "unit": "ms"})
        );
        assert_eq!(value_of(&["red"], "red", json!({})), json!("red"));
    }

    #[test]
    fn reasons_follow_the_flag_and_the_segment() {
        let reason_of = |flag: &Flag, result: &EvalResult| evaluation("f", flag, result).reason;
        let chosen = result("a", None);
        assert_eq!(reason_of(&flag(true, &["a"], 0, &[100], 100), &chosen), Reason::Static);
        assert_eq!(reason_of(&flag(true, &["a"], 0, &[100], 50), &chosen), Reason::Split);
        assert_eq!(
            reason_of(&flag(true, &["a", "b"], 0, &[50, 50], 100), &chosen),
            Reason::Split
        );
        assert_eq!(
            reason_of(&flag(true, &["a"], 1, &[100], 100), &chosen),
            Reason::TargetingMatch
        );
        assert_eq!(
            reason_of(&flag(true, &["a"], 1, &[100], 100), &result("", None)),
            Reason::Default
        );
        assert_eq!(
            reason_of(&flag(false, &["a"], 0, &[100], 100), &result("", None)),
            Reason::Disabled
        );
    }

    #[test]
    fn blank_results_have_no_value_or_variant_and_name_the_flag() {
        let disabled = evaluation("f", &flag(false, &["a"], 0, &[100], 100), &result("", None));
        assert_eq!(
            serde_json::to_value(&disabled).unwrap(),
            json!({"key": "f", "reason": "DISABLED", "metadata": {"flagID": 7, "flagSnapshotID": 11}})
        );
        let chosen = evaluation(
            "f",
            &flag(true, &["a"], 1, &[100], 100),
            &result("a", Some(json!({"value": 2}))),
        );
        assert_eq!(
            serde_json::to_value(&chosen).unwrap(),
            json!({"key": "f", "value": 2, "reason": "TARGETING_MATCH", "variant": "a",
                   "metadata": {"flagID": 7, "flagSnapshotID": 11, "segmentID": 3, "variantID": 1}})
        );
    }
}
