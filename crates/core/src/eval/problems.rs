//! What can never work in a flag's stored constraints, for people to fix: constraints that do
//! not compile (stored before writes refused them) and constraints that can never match
//! (accepted, as Flagr accepts them). One check serves the evaluation debug log, the report
//! when the evaluation snapshot is built and the API the UI reads.
//!
//! Must not touch: the decision itself — evaluation behaves the same with or without these.

use std::fmt;

use serde::Serialize;

use crate::constraint::{self, Problem, RegexCache};
use crate::flag::{Constraint, Flag, Id, Segment};

/// One problem in one segment's constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstraintProblem {
    pub segment_id: Id,
    /// `None` when every constraint compiles alone but the segment's joined expression does not.
    pub constraint_id: Option<Id>,
    /// The constraint as written, `property OPERATOR value`; empty for the segment.
    pub constraint: String,
    pub problem: Problem,
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stored data this version refuses to write: the segment never matches, or the flag is
    /// left out of evaluation.
    Error,
    /// Accepted, but the constraint can never match.
    Warning,
}

impl ConstraintProblem {
    fn of(segment: &Segment, constraint: &Constraint, problem: Problem) -> ConstraintProblem {
        ConstraintProblem {
            segment_id: segment.id,
            constraint_id: Some(constraint.id),
            constraint: format!("{} {} {}", constraint.property, constraint.operator, constraint.value),
            problem,
        }
    }

    pub fn severity(&self) -> Severity {
        match self.problem {
            Problem::Invalid(_) => Severity::Error,
            Problem::NeverMatches(_) => Severity::Warning,
        }
    }
}

/// `constraint 7 (country IN "DE") can never match: ...`, or `the segment's constraints ...`.
impl fmt::Display for ConstraintProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.constraint_id {
            Some(id) => write!(f, "constraint {id} ({}) {}", self.constraint, self.problem),
            None => write!(f, "the segment's constraints together {}", self.problem),
        }
    }
}

/// Each constraint of `segment` checked on its own, in order.
pub(super) fn segment_problems(segment: &Segment, regexes: &mut RegexCache) -> Vec<ConstraintProblem> {
    segment
        .constraints
        .iter()
        .filter_map(|c| {
            constraint::check(&c.property, &c.operator, &c.value, regexes)
                .map(|problem| ConstraintProblem::of(segment, c, problem))
        })
        .collect()
}

/// Every problem of a flag's constraints, segment by segment in the flag's order: each
/// constraint on its own, then a segment whose constraints compile one by one but not joined
/// (which leaves the flag out of evaluation).
pub fn check_flag(flag: &Flag) -> Vec<ConstraintProblem> {
    let mut regexes = RegexCache::default();
    let mut problems = Vec::new();
    for segment in &flag.segments {
        let found = segment_problems(segment, &mut regexes);
        let any_invalid = found.iter().any(|p| p.severity() == Severity::Error);
        problems.extend(found);
        if any_invalid || segment.constraints.is_empty() {
            continue;
        }
        if let Err(error) = constraint::compile_all(&segment.constraints, &mut regexes) {
            problems.push(ConstraintProblem {
                segment_id: segment.id,
                constraint_id: None,
                constraint: String::new(),
                problem: Problem::Invalid(error),
            });
        }
    }
    problems
}
