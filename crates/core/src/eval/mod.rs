//! The evaluation engine, bit-for-bit Flagr (`flagr-spec.md` §3, §4): results must match
//! Flagr's exactly, because existing users' sticky assignments must not move.
//!
//! Layout:
//! - `bucket`: CRC32 bucketing, cumulative distributions and the rollout rule.
//! - `compiled`: a flag prepared for evaluation, and the segment walk; allocation-free unless
//!   debugging.
//! - `debug`: Flagr's `segmentDebugLogs` messages, as a trace over the walk.
//! - `problems`: constraints that do not compile or can never match, for people to fix.
//! - `result`: the request and result shapes, and the evaluation of one request (blank
//!   results, entity id substitution, entity type override).
//! - `snapshot`: every non-deleted flag indexed by id, key and tag, with Flagr's lookup and
//!   batch evaluation; rebuilt after each write, reusing unchanged flags.
//!
//! Must not touch: I/O, the clock, randomness (the caller passes time and random numbers in
//! [`EvalEnv`]), HTTP status codes and request validation.

mod bucket;
mod cache_json;
mod compiled;
mod debug;
mod problems;
mod result;
mod snapshot;

pub use bucket::{TOTAL_BUCKETS, bucket};
pub use cache_json::{EvalCacheJson, ExportFilter, ImportError, Imported, export, import};
pub use compiled::{Assignment, CompileError, CompiledFlag};
pub use problems::{ConstraintProblem, Severity, check_flag};
pub use result::{
    EvalContext, EvalDebugLog, EvalEnv, EvalResult, EvalResultRef, EvaluationBatchRequest, EvaluationBatchResponse,
    EvaluationEntity, RecordSource, SegmentDebugLog, TagsOperator, evaluate, evaluate_ref,
};
pub use snapshot::EvalSnapshot;

#[cfg(test)]
mod tests;
