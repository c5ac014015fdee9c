//! Flagr's constraint language (`flagr-spec.md` §3.3), compiled once and evaluated against an
//! entity context without allocating.
//!
//! Flagr turns a constraint into the text `({property} op value)` and hands it to the
//! zhouzhuojie/conditions library (v0.2.6), which decides both what a write may store and how a
//! stored constraint evaluates. So this module does the same: it builds the same text and parses
//! it with the library's tokenizer and grammar (`scanner`, `parser`), and evaluates with
//! its typing rules (`expr`). Odd inputs therefore behave as in Flagr too — a value may even
//! extend the expression — and users' assignments do not move.
//!
//! Layout: `scanner` (Go's text/scanner) → `parser` (the library's grammar) → `expr`
//! (compiled tree and evaluation), with `path` for property references, `number` for number
//! literals and equality, `regex` for Go's regex dialect and `gofmt` for Go-style message
//! text.
//!
//! Must not touch: segments, flags or HTTP; the caller decides what a match means.

mod expr;
pub(crate) mod gofmt;
mod number;
mod parser;
mod path;
mod regex;
mod scanner;

use std::fmt;

use serde_json::{Map, Value};

use crate::flag::Constraint;
use expr::Node;
pub use regex::RegexCache;

/// Every operator Flagr accepts, with the library's spelling.
const OPERATORS: [(&str, &str); 12] = [
    ("EQ", "=="),
    ("NEQ", "!="),
    ("LT", "<"),
    ("LTE", "<="),
    ("GT", ">"),
    ("GTE", ">="),
    ("EREG", "=~"),
    ("NEREG", "!~"),
    ("IN", "IN"),
    ("NOTIN", "NOT IN"),
    ("CONTAINS", "CONTAINS"),
    ("NOTCONTAINS", "NOT CONTAINS"),
];

/// Why a constraint does not compile. Flagr answers such a write with 400.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConstraintError {
    /// Property, operator or value is the empty string.
    #[error("empty property, operator or value: {property}/{operator}/{value}")]
    Empty {
        /// As written.
        property: String,
        /// As written.
        operator: String,
        /// As written.
        value: String,
    },
    /// Not one of the twelve operators.
    #[error("not supported operator: {0}")]
    UnsupportedOperator(String),
    /// A bare word where an operand belongs, nearly always a string without its quotes.
    #[error("unquoted string: {0}")]
    UnquotedString(String),
    /// A `{...}` that is not a property path.
    #[error("invalid property reference: {{{0}}}")]
    InvalidProperty(String),
    /// An opening parenthesis without its closing one (often a value that swallowed it).
    #[error("missing )")]
    MissingParen,
    /// What the parser met where it did not fit: a quoted token, or "end of value".
    #[error("unexpected {0}")]
    Unexpected(String),
    /// A regex literal, array or property reference that runs to the end of the text.
    #[error("unterminated {0}")]
    Unterminated(&'static str),
    /// A string literal too short to have both quotes.
    #[error("invalid string literal: {0}")]
    InvalidString(String),
    /// Number syntax Go's `strconv.ParseFloat` rejects, or out of range.
    #[error("invalid number: {0}")]
    InvalidNumber(String),
    /// A regular expression Go's `regexp` rejects.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern as the constraint gives it.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// Not JSON, empty, or neither all strings nor all numbers.
    #[error("invalid array {text}: {reason}")]
    InvalidArray {
        /// The array as the parser read it.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a constraint could not be evaluated against a context. For Flagr every one of these
/// means "no match" — for negated operators too, so `NEQ` on a missing property is no match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// A key on the property path is absent.
    #[error("property not found in the entity context")]
    Missing,
    /// The property, or a value on its path, is `null`.
    #[error("null value in the entity context")]
    Null,
    /// A path step into a scalar, a key into an array or an index into an object.
    #[error("cannot look inside a value that is neither an object nor an array")]
    NotTraversable,
    /// An array index past either end.
    #[error("array index out of bounds")]
    IndexOutOfBounds,
    /// An object, or an array of something other than strings or numbers.
    #[error("context value is an object or another unsupported type")]
    UnsupportedValue,
    /// An empty array, which has no element type.
    #[error("empty array in the entity context")]
    EmptyArray,
    /// An array mixing strings and numbers.
    #[error("the items in the array are not all the same type")]
    MixedArray,
    /// Operands of kinds the operator does not compare (no coercion: `"5"` is not `5`).
    #[error("operand types do not fit the operator")]
    TypeMismatch,
    /// A logical operator or the whole expression met a non-boolean.
    #[error("operand is not a boolean")]
    NotBoolean,
    /// A pattern Go's regexp rejects. Writes refuse one; a constraint stored before they did
    /// never matches.
    #[error("invalid regular expression")]
    InvalidRegex,
}

/// A compiled constraint expression: one constraint, or a segment's constraints joined with
/// `AND` as Flagr evaluates them.
#[derive(Debug, Clone)]
pub struct CompiledConstraint {
    root: Node,
}

impl CompiledConstraint {
    /// Evaluates against an entity context. An error means "no match" to Flagr.
    pub fn matches(&self, context: &Map<String, Value>) -> Result<bool, MatchError> {
        self.root.matches(context)
    }
}

/// The expression as the conditions library prints it, which Flagr's debug logs quote.
impl fmt::Display for CompiledConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

/// What is wrong with a stored constraint, as [`check`] finds it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// It does not compile. Writes refuse it, so it was stored by an older version; where its
    /// segment still compiles as a whole it never matches, else its flag is left out of
    /// evaluation.
    #[error("does not compile: {0}")]
    Invalid(ConstraintError),
    /// It compiles, but evaluating it fails whatever the context (`country IN "DE"`: `IN`
    /// needs a list), so it never matches. Flagr accepts such a write, and so do we.
    #[error("can never match: {0}")]
    NeverMatches(String),
}

/// Compiles one constraint, accepting and rejecting exactly what Flagr's write path does:
/// the expression must parse and its regular expressions must compile.
pub fn compile(property: &str, operator: &str, value: &str) -> Result<CompiledConstraint, ConstraintError> {
    compile_with(property, operator, value, &mut RegexCache::default())
}

fn compile_with(
    property: &str,
    operator: &str,
    value: &str,
    regexes: &mut RegexCache,
) -> Result<CompiledConstraint, ConstraintError> {
    let compiled = parse(&expression(property, operator, value)?, regexes)?;
    match compiled.root.invalid_regex() {
        Some((pattern, reason)) => Err(ConstraintError::InvalidRegex { pattern, reason }),
        None => Ok(compiled),
    }
}

/// What is wrong with one stored constraint, if anything: it does not compile, or it can never
/// match. `regexes` shares compiled patterns with the caller's other work.
pub fn check(property: &str, operator: &str, value: &str, regexes: &mut RegexCache) -> Option<Problem> {
    match compile_with(property, operator, value, regexes) {
        Err(error) => Some(Problem::Invalid(error)),
        Ok(compiled) => compiled.root.always_fails().map(Problem::NeverMatches),
    }
}

/// Compiles a segment's constraints the way Flagr's evaluation cache does: each constraint's
/// expression joined with ` AND ` and parsed as one. For well-formed constraints this is the
/// conjunction in order (short-circuiting); for values that reach outside their parentheses it
/// is whatever the joined text means, as in Flagr. A regular expression that does not compile
/// (stored before writes refused it) is no error here: that constraint never matches, so the
/// rest of the flag keeps evaluating.
pub fn compile_all(
    constraints: &[Constraint],
    regexes: &mut RegexCache,
) -> Result<CompiledConstraint, ConstraintError> {
    let parts = constraints
        .iter()
        .map(|c| expression(&c.property, &c.operator, &c.value))
        .collect::<Result<Vec<_>, _>>()?;
    parse(&parts.join(" AND "), regexes)
}

fn parse(text: &str, regexes: &mut RegexCache) -> Result<CompiledConstraint, ConstraintError> {
    Ok(CompiledConstraint {
        root: Node::compile(parser::parse(text)?, regexes),
    })
}

/// Flagr's `toExprStr`: `({property} op value)` with the value trimmed, and a quoted regex
/// pattern without `/` rewritten to the `/pattern/` literal so its backslashes stay verbatim.
fn expression(property: &str, operator: &str, value: &str) -> Result<String, ConstraintError> {
    if property.is_empty() || operator.is_empty() || value.is_empty() {
        return Err(ConstraintError::Empty {
            property: property.to_owned(),
            operator: operator.to_owned(),
            value: value.to_owned(),
        });
    }
    let symbol = OPERATORS
        .iter()
        .find(|(name, _)| *name == operator)
        .map(|(_, symbol)| symbol)
        .ok_or_else(|| ConstraintError::UnsupportedOperator(operator.to_owned()))?;
    let value = value.trim();
    let regex_pattern = matches!(operator, "EREG" | "NEREG")
        .then(|| value.strip_prefix('"')?.strip_suffix('"'))
        .flatten()
        .filter(|pattern| !pattern.contains('/'));
    Ok(match regex_pattern {
        Some(pattern) => format!("({{{property}}} {symbol} /{pattern}/)"),
        None => format!("({{{property}}} {symbol} {value})"),
    })
}

#[cfg(test)]
mod tests;
