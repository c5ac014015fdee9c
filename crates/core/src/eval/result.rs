//! Flagr's evaluation request and result shapes (`flagr-spec.md` §1.7), and the evaluation of
//! one request against one (possibly missing) flag (§3.2).
//!
//! The serde attributes are the wire contract: Flagr's go-swagger models print fields in
//! alphabetical order and omit zero values, except that `evalContext` and `evalDebugLog` are
//! always present and `segmentDebugLogs` is `null` when debugging is off. Deserialization
//! treats `null` like an absent field, as Go does.
//!
//! Must not touch: the segment walk (that is [`super::compiled`]), flag lookup, the clock and
//! the random source (both come in through [`EvalEnv`]).

use std::borrow::Cow;
use std::collections::HashSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::compiled::CompiledFlag;
use crate::flag::{Attachment, Id};

/// What the caller supplies so evaluation stays pure.
pub struct EvalEnv<'a> {
    /// `FLAGR_EVAL_DEBUG_ENABLED`: debug logs appear only when this and the request's
    /// `enableDebug` are both on.
    pub debug_enabled: bool,
    /// The evaluation time, already formatted as RFC 3339 UTC with whole seconds.
    pub timestamp: &'a str,
    /// A non-negative 31-bit random number (Go's `rand.Int31`), asked for once per evaluation
    /// of a request without an entity id.
    pub random: &'a mut dyn FnMut() -> u32,
}

/// How `flagTags` select flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TagsOperator {
    /// Flags with at least one of the tags (also when the operator is absent).
    #[default]
    Any,
    /// Flags with every tag.
    All,
}

/// The evaluation request (`evalContext`), echoed back in each result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalContext {
    /// Ask for `segmentDebugLogs` (honoured only when the server allows debugging).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub enable_debug: bool,
    /// Any JSON; constraints can only match an object. `null` reads as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_context: Option<Value>,
    /// The entity's sticky identity; generated when empty.
    #[serde(
        rename = "entityID",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub entity_id: String,
    /// Replaced by the flag's entity type when the flag has one.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub entity_type: String,
    /// The flag to evaluate; looked up before `flagKey`.
    #[serde(
        rename = "flagID",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub flag_id: Id,
    /// The flag to evaluate when `flagID` finds nothing.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub flag_key: String,
    /// Used by batch evaluation only; a single evaluation ignores it.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub flag_tags: Vec<String>,
    /// How `flagTags` combine; `ANY` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag_tags_operator: Option<TagsOperator>,
}

/// Where a result came from; evaluations are always `evaluation`, exposures reuse the shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordSource {
    #[default]
    /// A result of the evaluation API.
    Evaluation,
    /// An impression a client reported.
    Exposure,
}

/// One evaluation result (`evalResult`), owning its parts: what batch evaluation and OFREP
/// keep. It is encoded through [`EvalResultRef`], so both have one wire form.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalResult {
    /// Whether the flag records its evaluations.
    #[serde(default, deserialize_with = "nullable")]
    pub data_records_enabled: bool,
    /// The request as evaluated: generated entity id and the flag's entity type included.
    #[serde(default)]
    pub eval_context: EvalContext,
    /// The blank-result message and, when debugging, the segment log.
    #[serde(default)]
    pub eval_debug_log: EvalDebugLog,
    /// The flag (the requested id for an unknown flag).
    #[serde(rename = "flagID", default, deserialize_with = "nullable")]
    pub flag_id: Id,
    /// The flag's key (the requested key for an unknown flag).
    #[serde(default, deserialize_with = "nullable")]
    pub flag_key: String,
    /// The flag's latest snapshot id.
    #[serde(rename = "flagSnapshotID", default, deserialize_with = "nullable")]
    pub flag_snapshot_id: i64,
    /// The flag's tag values.
    #[serde(default, deserialize_with = "nullable")]
    pub flag_tags: Vec<String>,
    /// Always `evaluation` for evaluation results.
    #[serde(default)]
    pub record_source: Option<RecordSource>,
    /// The segment that produced the variant; 0 when none did.
    #[serde(rename = "segmentID", default, deserialize_with = "nullable")]
    pub segment_id: Id,
    /// When the evaluation ran, RFC 3339 UTC in whole seconds.
    #[serde(default, deserialize_with = "nullable")]
    pub timestamp: String,
    /// The chosen variant's attachment; absent when no variant was chosen.
    #[serde(default)]
    pub variant_attachment: Option<Attachment>,
    /// The chosen variant; 0 when none.
    #[serde(rename = "variantID", default, deserialize_with = "nullable")]
    pub variant_id: Id,
    /// The chosen variant's key.
    #[serde(default, deserialize_with = "nullable")]
    pub variant_key: String,
}

impl Serialize for EvalResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EvalResultRef::from(self).serialize(serializer)
    }
}

/// An evaluation result that borrows what the flag already holds (its key, tags, the variant's
/// key and attachment) and the evaluation time, instead of copying them: a single evaluation is
/// encoded straight from it into the response. Its serde attributes are the wire contract of
/// every result: fields in alphabetical order, zero values omitted, except that `evalContext`
/// and `evalDebugLog` are always present.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalResultRef<'a> {
    /// As in [`EvalResult::data_records_enabled`].
    #[serde(skip_serializing_if = "is_false")]
    pub data_records_enabled: bool,
    /// The request as evaluated; owned when the evaluation produced it.
    pub eval_context: Cow<'a, EvalContext>,
    /// As in [`EvalResult::eval_debug_log`]; owned when the evaluation produced it.
    pub eval_debug_log: Cow<'a, EvalDebugLog>,
    /// As in [`EvalResult::flag_id`].
    #[serde(rename = "flagID", skip_serializing_if = "is_zero")]
    pub flag_id: Id,
    /// The flag's key, or a copy of the requested key for an unknown flag (the request is
    /// owned by this result, so it cannot be borrowed from).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub flag_key: Cow<'a, str>,
    /// As in [`EvalResult::flag_snapshot_id`].
    #[serde(rename = "flagSnapshotID", skip_serializing_if = "is_zero")]
    pub flag_snapshot_id: i64,
    /// As in [`EvalResult::flag_tags`].
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub flag_tags: &'a [String],
    /// As in [`EvalResult::record_source`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_source: Option<RecordSource>,
    /// As in [`EvalResult::segment_id`].
    #[serde(rename = "segmentID", skip_serializing_if = "is_zero")]
    pub segment_id: Id,
    /// As in [`EvalResult::timestamp`].
    #[serde(skip_serializing_if = "str::is_empty")]
    pub timestamp: &'a str,
    /// As in [`EvalResult::variant_attachment`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_attachment: Option<&'a Attachment>,
    /// As in [`EvalResult::variant_id`].
    #[serde(rename = "variantID", skip_serializing_if = "is_zero")]
    pub variant_id: Id,
    /// As in [`EvalResult::variant_key`].
    #[serde(skip_serializing_if = "str::is_empty")]
    pub variant_key: &'a str,
}

impl<'a> From<&'a EvalResult> for EvalResultRef<'a> {
    fn from(result: &'a EvalResult) -> Self {
        EvalResultRef {
            data_records_enabled: result.data_records_enabled,
            eval_context: Cow::Borrowed(&result.eval_context),
            eval_debug_log: Cow::Borrowed(&result.eval_debug_log),
            flag_id: result.flag_id,
            flag_key: Cow::Borrowed(&result.flag_key),
            flag_snapshot_id: result.flag_snapshot_id,
            flag_tags: &result.flag_tags,
            record_source: result.record_source,
            segment_id: result.segment_id,
            timestamp: &result.timestamp,
            variant_attachment: result.variant_attachment.as_ref(),
            variant_id: result.variant_id,
            variant_key: &result.variant_key,
        }
    }
}

impl EvalResultRef<'_> {
    /// The result owning its parts.
    pub fn into_owned(self) -> EvalResult {
        EvalResult {
            data_records_enabled: self.data_records_enabled,
            eval_context: self.eval_context.into_owned(),
            eval_debug_log: self.eval_debug_log.into_owned(),
            flag_id: self.flag_id,
            flag_key: self.flag_key.into_owned(),
            flag_snapshot_id: self.flag_snapshot_id,
            flag_tags: self.flag_tags.to_vec(),
            record_source: self.record_source,
            segment_id: self.segment_id,
            timestamp: self.timestamp.to_owned(),
            variant_attachment: self.variant_attachment.cloned(),
            variant_id: self.variant_id,
            variant_key: self.variant_key.to_owned(),
        }
    }

    /// As [`EvalResult::reached_segments`].
    pub fn reached_segments(&self) -> bool {
        self.eval_debug_log.msg.is_empty()
    }
}

/// Why a result is what it is; always an object in the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalDebugLog {
    /// Why a result is blank (flag missing, disabled or without segments); empty otherwise.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// One entry per segment visited when debugging; `null` otherwise.
    #[serde(default)]
    pub segment_debug_logs: Option<Vec<SegmentDebugLog>>,
}

/// What happened in one segment, when debugging.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentDebugLog {
    /// Flagr's message: why the segment was skipped, or its rollout.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// The segment.
    #[serde(
        rename = "segmentID",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub segment_id: Id,
}

/// One entity of a batch request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationEntity {
    /// As in [`EvalContext::entity_context`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_context: Option<Value>,
    /// As in [`EvalContext::entity_id`].
    #[serde(
        rename = "entityID",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub entity_id: String,
    /// As in [`EvalContext::entity_type`].
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub entity_type: String,
}

/// The batch request (`evaluationBatchRequest`). Schema rules (at least one entity, ids ≥ 1,
/// non-empty lists when present) are the HTTP layer's, which answers them with 422.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationBatchRequest {
    /// Debug logs for every result (honoured only when the server allows debugging).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub enable_debug: bool,
    /// Evaluated in order, each against every selected flag.
    #[serde(default, deserialize_with = "nullable")]
    pub entities: Vec<EvaluationEntity>,
    /// Flags by id, evaluated after the tag selection.
    #[serde(
        rename = "flagIDs",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flag_ids: Vec<Id>,
    /// Flags by key, evaluated after the flag ids.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub flag_keys: Vec<String>,
    /// Flags by tag, evaluated first for each entity.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub flag_tags: Vec<String>,
    /// How `flagTags` combine; `ANY` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag_tags_operator: Option<TagsOperator>,
}

impl EvaluationBatchRequest {
    /// The flag ids to evaluate: deduplicated, keeping the first occurrence.
    pub fn unique_flag_ids(&self) -> Vec<Id> {
        let mut seen = HashSet::with_capacity(self.flag_ids.len());
        self.flag_ids.iter().copied().filter(|id| seen.insert(*id)).collect()
    }

    /// The flag keys to evaluate: deduplicated, keeping the first occurrence.
    pub fn unique_flag_keys(&self) -> Vec<&str> {
        let mut seen = HashSet::with_capacity(self.flag_keys.len());
        self.flag_keys
            .iter()
            .map(String::as_str)
            .filter(|key| seen.insert(*key))
            .collect()
    }

    /// How many evaluations Flagr counts against `FLAGR_EVAL_BATCH_SIZE`: entities × (unique
    /// flag ids + unique flag keys + 1 if any tags).
    pub fn evaluation_count(&self) -> usize {
        let per_entity =
            self.unique_flag_ids().len() + self.unique_flag_keys().len() + usize::from(!self.flag_tags.is_empty());
        self.entities.len() * per_entity
    }
}

/// The batch response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationBatchResponse {
    /// Entity by entity: tag results, then flag ids, then flag keys.
    pub evaluation_results: Vec<EvalResult>,
}

/// Evaluates one request against its flag (`None` when lookup found nothing), Flagr's
/// `EvalFlagWithContext`: the three blank results with their messages, then the entity id
/// substitution, the flag's entity type, and the segment walk.
pub fn evaluate(flag: Option<&CompiledFlag>, context: EvalContext, env: &mut EvalEnv<'_>) -> EvalResult {
    evaluate_ref(flag, context, env).into_owned()
}

/// [`evaluate`], with a result that borrows the flag's parts and the evaluation time instead of
/// copying them, for a caller that only encodes it.
pub fn evaluate_ref<'a, 'e: 'a>(
    flag: Option<&'a CompiledFlag>,
    mut context: EvalContext,
    env: &mut EvalEnv<'e>,
) -> EvalResultRef<'a> {
    let Some(flag) = flag else {
        let msg = format!("flagID {} not found or deleted", context.flag_id);
        return EvalResultRef {
            flag_id: context.flag_id,
            flag_key: Cow::Owned(context.flag_key.clone()),
            ..blank(context, msg, env.timestamp)
        };
    };
    if !flag.flag().enabled {
        let msg = format!("flagID {} is not enabled", flag.id());
        return blank_for(flag, context, msg, env.timestamp);
    }
    if !flag.has_segments() {
        let msg = format!("flagID {} has no segments", flag.id());
        return blank_for(flag, context, msg, env.timestamp);
    }
    if context.entity_id.is_empty() {
        context.entity_id = format!("randomly_generated_{}", (env.random)());
    }
    if !flag.flag().entity_type.is_empty() {
        context.entity_type.clone_from(&flag.flag().entity_type);
    }
    let entity_context = context.entity_context.as_ref().unwrap_or(&Value::Null);
    let (assignment, segment_logs) = if env.debug_enabled && context.enable_debug {
        let (assignment, logs) = flag.assign_debug(&context.entity_id, entity_context);
        (assignment, Some(logs))
    } else {
        (flag.assign(&context.entity_id, entity_context), None)
    };
    let mut result = blank_for(flag, context, String::new(), env.timestamp);
    result.eval_debug_log.to_mut().segment_debug_logs = segment_logs;
    result.segment_id = assignment.segment_id.unwrap_or(0);
    result.variant_id = assignment.variant_id.unwrap_or(0);
    if let Some(variant) = assignment.variant {
        result.variant_key = &variant.key;
        result.variant_attachment = Some(&variant.attachment);
    }
    result
}

impl EvalResult {
    /// Whether the evaluation reached the segment walk: the flag exists, is enabled and has
    /// segments. Only these results are recorded (logs, metrics, data records), as in Flagr;
    /// every other result is blank and says why in `evalDebugLog.msg`.
    pub fn reached_segments(&self) -> bool {
        self.eval_debug_log.msg.is_empty()
    }
}

/// Flagr's `BlankResult` for a flag that exists.
fn blank_for<'a>(flag: &'a CompiledFlag, context: EvalContext, msg: String, timestamp: &'a str) -> EvalResultRef<'a> {
    EvalResultRef {
        data_records_enabled: flag.flag().data_records_enabled,
        flag_id: flag.id(),
        flag_key: Cow::Borrowed(&flag.flag().key),
        flag_snapshot_id: flag.snapshot_id(),
        flag_tags: flag.tag_values(),
        ..blank(context, msg, timestamp)
    }
}

fn blank(context: EvalContext, msg: String, timestamp: &str) -> EvalResultRef<'_> {
    EvalResultRef {
        data_records_enabled: false,
        eval_context: Cow::Owned(context),
        eval_debug_log: Cow::Owned(EvalDebugLog {
            msg,
            segment_debug_logs: None,
        }),
        flag_id: 0,
        flag_key: Cow::Borrowed(""),
        flag_snapshot_id: 0,
        flag_tags: &[],
        record_source: Some(RecordSource::Evaluation),
        segment_id: 0,
        timestamp,
        variant_attachment: None,
        variant_id: 0,
        variant_key: "",
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Go leaves a field at its zero value when the JSON says `null`; serde would reject it.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
