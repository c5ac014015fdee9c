//! A flag prepared for evaluation, and the segment walk (`flagr-spec.md` §3.2 step 6).
//!
//! Everything is prepared once per flag version: constraints compiled, distributions
//! accumulated, variants indexed, the flag id printed for bucketing. The walk then borrows only,
//! so assigning a variant allocates nothing; the debug variant runs the same walk with a
//! [`Trace`] that writes Flagr's segment messages.
//!
//! Must not touch: request/response shapes (that is [`super::result`]), flag lookup.

use serde_json::{Map, Value};

use super::bucket::{DistributionArray, Rollout};
use super::debug::DebugTrace;
use super::problems::{ConstraintProblem, segment_problems};
use super::result::SegmentDebugLog;
use crate::constraint::{self, CompiledConstraint, ConstraintError, MatchError, RegexCache};
use crate::flag::{Flag, Id, Segment, Tag, Variant};

/// A stored constraint that does not compile, which keeps its flag out of evaluation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "flag {flag_id}, segment {segment_id}{}: {source}",
    .constraint_id.map(|id| format!(", constraint {id}")).unwrap_or_default()
)]
pub struct CompileError {
    /// The flag left out of the snapshot.
    pub flag_id: Id,
    /// The segment whose constraints do not compile.
    pub segment_id: Id,
    /// The first constraint that fails on its own; `None` when only the segment's joined
    /// expression fails.
    pub constraint_id: Option<Id>,
    /// Why it does not compile.
    pub source: ConstraintError,
}

/// The outcome of the segment walk for one entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assignment<'f> {
    /// The segment that produced a variant; `None` whenever no variant was chosen, even when a
    /// segment matched.
    pub segment_id: Option<Id>,
    /// The chosen variant's id; `None` when no variant was chosen.
    pub variant_id: Option<Id>,
    /// The chosen variant; `None` also when a distribution names a variant the flag no longer
    /// has, in which case Flagr still reports the id.
    pub variant: Option<&'f Variant>,
}

impl Assignment<'_> {
    const NONE: Self = Assignment {
        segment_id: None,
        variant_id: None,
        variant: None,
    };
}

/// A flag prepared for evaluation; cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct CompiledFlag {
    flag: Flag,
    snapshot_id: i64,
    /// The decimal flag id, which salts the bucket.
    salt: Box<str>,
    tag_values: Vec<String>,
    /// In Flagr's order: rank, then id.
    segments: Box<[CompiledSegment]>,
    /// Variant ids with their position in `flag.variants`, sorted by id.
    variant_index: Box<[(Id, usize)]>,
}

#[derive(Debug, Clone)]
pub(super) struct CompiledSegment {
    pub(super) id: Id,
    pub(super) rollout_percent: i64,
    /// `None` when the segment has no constraints, so every entity matches it.
    constraints: Option<CompiledConstraint>,
    pub(super) distribution: DistributionArray,
    /// Its constraints that can never match, which the debug trace names; nearly always empty.
    pub(super) problems: Box<[ConstraintProblem]>,
}

/// Why a segment was passed over, for the debug trace.
pub(super) enum Skip<'a> {
    /// The segment has constraints but the entity context is not a JSON object.
    InvalidContext(&'a Value),
    NoMatch(&'a CompiledConstraint, &'a Map<String, Value>),
    Error(MatchError),
}

/// Observes the segment walk. The unit type observes nothing and compiles away.
pub(super) trait Trace {
    fn skipped(&mut self, segment: &CompiledSegment, why: Skip<'_>);
    fn matched(&mut self, segment: &CompiledSegment, rollout: Rollout);
}

impl Trace for () {
    fn skipped(&mut self, _: &CompiledSegment, _: Skip<'_>) {}
    fn matched(&mut self, _: &CompiledSegment, _: Rollout) {}
}

impl CompiledFlag {
    /// Prepares a flag; `snapshot_id` is the flag's latest snapshot (`StoredFlag::snapshot_id`),
    /// which results report as `flagSnapshotID`.
    pub fn new(flag: Flag, snapshot_id: i64) -> Result<Self, CompileError> {
        Self::with_regexes(flag, snapshot_id, &mut RegexCache::default())
    }

    /// [`CompiledFlag::new`], sharing compiled regexes with the other flags compiled with the
    /// same cache.
    pub fn with_regexes(flag: Flag, snapshot_id: i64, regexes: &mut RegexCache) -> Result<Self, CompileError> {
        // Flagr's orders, whatever order the document came in.
        let mut ordered: Vec<&Segment> = flag.segments.iter().collect();
        ordered.sort_by_key(|segment| (segment.rank, segment.id));
        let segments = ordered
            .into_iter()
            .map(|segment| compile_segment(flag.id, segment, regexes))
            .collect::<Result<_, _>>()?;
        let mut tags: Vec<&Tag> = flag.tags.iter().collect();
        tags.sort_by_key(|tag| tag.id);
        let mut variant_index: Vec<(Id, usize)> = flag
            .variants
            .iter()
            .enumerate()
            .map(|(position, variant)| (variant.id, position))
            .collect();
        variant_index.sort_unstable();
        Ok(CompiledFlag {
            salt: flag.id.to_string().into(),
            tag_values: tags.into_iter().map(|tag| tag.value.clone()).collect(),
            segments,
            variant_index: variant_index.into(),
            snapshot_id,
            flag,
        })
    }

    /// The flag document this was compiled from.
    pub fn flag(&self) -> &Flag {
        &self.flag
    }

    /// The flag's id.
    pub fn id(&self) -> Id {
        self.flag.id
    }

    /// The flag's latest snapshot id, reported as `flagSnapshotID`.
    pub fn snapshot_id(&self) -> i64 {
        self.snapshot_id
    }

    /// The flag's tag values in tag-id order, reported as `flagTags`.
    pub fn tag_values(&self) -> &[String] {
        &self.tag_values
    }

    /// Walks the segments for one entity and returns the assignment, allocating nothing.
    /// `context` is the request's `entityContext` (`Value::Null` when absent). Flag-level
    /// checks (enabled, has segments, entity id substitution) are the caller's, as in Flagr.
    pub fn assign(&self, entity_id: &str, context: &Value) -> Assignment<'_> {
        self.walk(entity_id, context, &mut ())
    }

    /// [`CompiledFlag::assign`], plus Flagr's `segmentDebugLogs`: one message per segment
    /// visited.
    pub fn assign_debug(&self, entity_id: &str, context: &Value) -> (Assignment<'_>, Vec<SegmentDebugLog>) {
        let mut trace = DebugTrace::default();
        let assignment = self.walk(entity_id, context, &mut trace);
        (assignment, trace.into_logs())
    }

    /// Segments in order; constrained segments need an object context and all their
    /// constraints (an evaluation error is no match); the first segment that matches decides,
    /// even when its rollout yields nothing.
    fn walk(&self, entity_id: &str, context: &Value, trace: &mut impl Trace) -> Assignment<'_> {
        for segment in &self.segments {
            if let Some(constraints) = &segment.constraints {
                let Value::Object(fields) = context else {
                    trace.skipped(segment, Skip::InvalidContext(context));
                    continue;
                };
                match constraints.matches(fields) {
                    Ok(true) => {}
                    Ok(false) => {
                        trace.skipped(segment, Skip::NoMatch(constraints, fields));
                        continue;
                    }
                    Err(error) => {
                        trace.skipped(segment, Skip::Error(error));
                        continue;
                    }
                }
            }
            let rollout = segment
                .distribution
                .rollout(self.salt.as_bytes(), entity_id, segment.rollout_percent);
            trace.matched(segment, rollout);
            return match rollout.variant_id() {
                Some(variant_id) => Assignment {
                    segment_id: Some(segment.id),
                    variant_id: Some(variant_id),
                    variant: self.variant(variant_id),
                },
                None => Assignment::NONE,
            };
        }
        Assignment::NONE
    }

    fn variant(&self, id: Id) -> Option<&Variant> {
        let at = self
            .variant_index
            .binary_search_by_key(&id, |&(variant_id, _)| variant_id)
            .ok()?;
        self.flag.variants.get(self.variant_index[at].1)
    }

    pub(super) fn has_segments(&self) -> bool {
        !self.segments.is_empty()
    }

    /// What can never work in the flag's constraints (see [`super::problems`]), segment by
    /// segment in evaluation order.
    pub fn problems(&self) -> impl Iterator<Item = &ConstraintProblem> {
        self.segments.iter().flat_map(|segment| segment.problems.iter())
    }
}

fn compile_segment(flag_id: Id, segment: &Segment, regexes: &mut RegexCache) -> Result<CompiledSegment, CompileError> {
    let constraints = if segment.constraints.is_empty() {
        None
    } else {
        Some(
            constraint::compile_all(&segment.constraints, regexes).map_err(|joined| {
                // Name the culprit when one constraint fails on its own.
                let culprit = segment.constraints.iter().find_map(|c| {
                    constraint::compile(&c.property, &c.operator, &c.value)
                        .err()
                        .map(|error| (c.id, error))
                });
                let (constraint_id, source) = match culprit {
                    Some((id, error)) => (Some(id), error),
                    None => (None, joined),
                };
                CompileError {
                    flag_id,
                    segment_id: segment.id,
                    constraint_id,
                    source,
                }
            })?,
        )
    };
    Ok(CompiledSegment {
        id: segment.id,
        rollout_percent: segment.rollout_percent,
        constraints,
        distribution: DistributionArray::new(&segment.distributions),
        problems: segment_problems(segment, regexes).into(),
    })
}
