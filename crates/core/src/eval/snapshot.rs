//! The evaluation snapshot: every non-deleted flag compiled and indexed by id, key and tag —
//! Flagr's eval cache (`flagr-spec.md` §4) as an immutable value — with Flagr's lookup (§3.1)
//! and batch evaluation (§3.5).
//!
//! A snapshot never changes; after a write the caller derives a new one with
//! [`EvalSnapshot::updated`] and swaps it in. That shares the compiled form of every flag the
//! write did not touch, so an update after one write compiles one flag.
//!
//! Must not touch: storage and HTTP (flags come in as values, results go out as values).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::compiled::{CompileError, CompiledFlag};
use super::problems::Severity;
use super::result::{
    EvalContext, EvalEnv, EvalResult, EvaluationBatchRequest, EvaluationEntity, TagsOperator, evaluate,
};
use crate::constraint::RegexCache;
use crate::flag::{Id, StoredFlag};

/// All evaluable flags at one point in time.
#[derive(Debug, Clone, Default)]
pub struct EvalSnapshot {
    /// Sorted by id, so every index list below is sorted too.
    flags: Vec<Arc<CompiledFlag>>,
    by_id: HashMap<Id, usize>,
    by_key: HashMap<String, usize>,
    by_tag: HashMap<String, Vec<usize>>,
    /// Every regex compiled so far, so that updates share them with the flags already built.
    regexes: RegexCache,
    /// The flags left out because their constraints do not compile.
    left_out: BTreeSet<Id>,
}

impl EvalSnapshot {
    /// Compiles the non-deleted flags. A flag whose constraints do not compile is left out and
    /// reported; the rest of the snapshot is still built.
    pub fn build(flags: Vec<StoredFlag>) -> (EvalSnapshot, Vec<CompileError>) {
        EvalSnapshot::default().updated(flags)
    }

    /// This snapshot with `changed` flags replaced, added or (when deleted) removed; every
    /// other flag is shared, not recompiled. A changed flag whose constraints do not compile is
    /// left out and reported.
    pub fn updated(&self, changed: Vec<StoredFlag>) -> (EvalSnapshot, Vec<CompileError>) {
        let mut by_id: HashMap<Id, Arc<CompiledFlag>> =
            self.flags.iter().map(|flag| (flag.id(), Arc::clone(flag))).collect();
        let mut errors = vec![];
        let mut regexes = self.regexes.clone();
        let mut left_out = self.left_out.clone();
        for stored in changed {
            by_id.remove(&stored.flag.id);
            left_out.remove(&stored.flag.id);
            if stored.deleted {
                continue;
            }
            match CompiledFlag::with_regexes(stored.flag, stored.snapshot_id, &mut regexes) {
                Ok(flag) => {
                    by_id.insert(flag.id(), Arc::new(flag));
                }
                Err(error) => {
                    left_out.insert(error.flag_id);
                    errors.push(error);
                }
            }
        }
        let mut flags: Vec<Arc<CompiledFlag>> = by_id.into_values().collect();
        flags.sort_by_key(|flag| flag.id());
        (EvalSnapshot::index(flags, regexes, left_out), errors)
    }

    /// How many flags hold a constraint that does not compile (stored before writes refused
    /// it): those left out of evaluation, and those evaluated with that segment never matching.
    pub fn flags_with_invalid_constraints(&self) -> usize {
        let evaluated = self
            .flags
            .iter()
            .filter(|flag| flag.problems().any(|problem| problem.severity() == Severity::Error))
            .count();
        self.left_out.len() + evaluated
    }

    fn index(flags: Vec<Arc<CompiledFlag>>, regexes: RegexCache, left_out: BTreeSet<Id>) -> EvalSnapshot {
        let mut by_id = HashMap::with_capacity(flags.len());
        let mut by_key = HashMap::with_capacity(flags.len());
        let mut by_tag: HashMap<String, Vec<usize>> = HashMap::new();
        for (position, flag) in flags.iter().enumerate() {
            by_id.insert(flag.id(), position);
            if !flag.flag().key.is_empty() {
                by_key.insert(flag.flag().key.clone(), position);
            }
            for tag in flag.tag_values() {
                let positions = by_tag.entry(tag.clone()).or_default();
                // Flags list a tag once; guard against a duplicate anyway.
                if positions.last() != Some(&position) {
                    positions.push(position);
                }
            }
        }
        EvalSnapshot {
            flags,
            by_id,
            by_key,
            by_tag,
            regexes,
            left_out,
        }
    }

    /// The flag with this id.
    pub fn get(&self, id: Id) -> Option<&CompiledFlag> {
        self.by_id.get(&id).map(|&position| &*self.flags[position])
    }

    /// Every flag, in id order.
    pub fn flags(&self) -> impl Iterator<Item = &CompiledFlag> {
        self.flags.iter().map(|flag| &**flag)
    }

    /// How many flags can be evaluated.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether no flag can be evaluated.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Flagr's lookup: the flag id (0 when absent) as text in the id index, then in the key
    /// index; only if nothing was found, the flag key in the id index, then the key index. So
    /// the id wins over the key, and a numeric-looking key can resolve by id.
    pub fn lookup(&self, flag_id: Id, flag_key: &str) -> Option<&CompiledFlag> {
        // The first step without printing the id, for the common case.
        self.get(flag_id)
            .or_else(|| self.find(&flag_id.to_string()))
            .or_else(|| self.find(flag_key))
    }

    /// One text looked up as Flagr's cache does: in the id index, which holds ids as decimal
    /// text (so only a canonical decimal finds an id), then in the key index.
    fn find(&self, text: &str) -> Option<&CompiledFlag> {
        canonical_id(text)
            .and_then(|id| self.get(id))
            .or_else(|| self.by_key.get(text).map(|&position| &*self.flags[position]))
    }

    /// The flags selected by tags, in id order: with `Any`, flags carrying at least one of the
    /// tags; with `All`, flags carrying every one (none when any tag is unknown).
    pub fn flags_by_tags(&self, tags: &[String], operator: TagsOperator) -> Vec<&CompiledFlag> {
        let positions: Vec<usize> = match operator {
            TagsOperator::Any => {
                let mut union: Vec<usize> = tags
                    .iter()
                    .filter_map(|tag| self.by_tag.get(tag))
                    .flatten()
                    .copied()
                    .collect();
                union.sort_unstable();
                union.dedup();
                union
            }
            TagsOperator::All => {
                let lists: Option<Vec<&Vec<usize>>> = tags.iter().map(|tag| self.by_tag.get(tag)).collect();
                match lists.as_deref() {
                    Some([first, rest @ ..]) => first
                        .iter()
                        .copied()
                        .filter(|position| rest.iter().all(|list| list.binary_search(position).is_ok()))
                        .collect(),
                    // No tags, or a tag no flag carries.
                    _ => vec![],
                }
            }
        };
        positions.into_iter().map(|position| &*self.flags[position]).collect()
    }

    /// `POST /evaluation`: lookup, then [`evaluate`]. `flagTags` is ignored, as in Flagr.
    pub fn evaluate(&self, context: EvalContext, env: &mut EvalEnv<'_>) -> EvalResult {
        let flag = self.lookup(context.flag_id, &context.flag_key);
        evaluate(flag, context, env)
    }

    /// `POST /evaluation/batch`: for each entity in order, the results for the tag selection
    /// (in flag id order), then for each flag id, then for each flag key — ids and keys
    /// deduplicated keeping the first occurrence. Unknown ids and keys give blank results;
    /// tags that select nothing give none.
    pub fn evaluate_batch(&self, request: &EvaluationBatchRequest, env: &mut EvalEnv<'_>) -> Vec<EvalResult> {
        let flag_ids = request.unique_flag_ids();
        let flag_keys = request.unique_flag_keys();
        let tagged = if request.flag_tags.is_empty() {
            vec![]
        } else {
            let operator = request.flag_tags_operator.unwrap_or_default();
            self.flags_by_tags(&request.flag_tags, operator)
        };
        let mut results = Vec::with_capacity(request.evaluation_count());
        for entity in &request.entities {
            for &flag in &tagged {
                let context = EvalContext {
                    flag_tags: request.flag_tags.clone(),
                    flag_tags_operator: request.flag_tags_operator,
                    ..batch_context(request, entity)
                };
                results.push(evaluate(Some(flag), context, env));
            }
            for &flag_id in &flag_ids {
                let context = EvalContext {
                    flag_id,
                    ..batch_context(request, entity)
                };
                results.push(self.evaluate(context, env));
            }
            for &flag_key in &flag_keys {
                let context = EvalContext {
                    flag_key: flag_key.to_owned(),
                    ..batch_context(request, entity)
                };
                results.push(self.evaluate(context, env));
            }
        }
        results
    }
}

/// The part of a batch evaluation context that comes from the entity and the request.
fn batch_context(request: &EvaluationBatchRequest, entity: &EvaluationEntity) -> EvalContext {
    EvalContext {
        enable_debug: request.enable_debug,
        entity_context: entity.entity_context.clone(),
        entity_id: entity.entity_id.clone(),
        entity_type: entity.entity_type.clone(),
        ..EvalContext::default()
    }
}

/// The id a text names in Flagr's id index, which is keyed by canonical decimal text.
fn canonical_id(text: &str) -> Option<Id> {
    let canonical = !text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit());
    canonical.then(|| text.parse().ok()).flatten()
}
