//! The compiled expression and its evaluation against an entity context, with the conditions
//! library's strict typing: no coercion, a type mismatch is an error (never `false`), negated
//! operators fail exactly where their positive forms fail, `CONTAINS` is array membership.
//!
//! Everything that can be prepared is prepared at compile time — regexes compiled, string lists
//! indexed — and evaluation only borrows from the tree and the context, so it never allocates
//! (except for a regex whose pattern comes from the context, which only an injected value can
//! write).
//!
//! The same typing rules also say, ahead of any context, when a condition can never match
//! (`always_fails`), which writes still accept as Flagr does but people should be told.
//!
//! Must not touch: syntax (that is [`super::parser`]); what a match means for a segment.

use std::fmt::{self, Write};
use std::sync::Arc;

use regex::Regex;
use serde_json::{Map, Value};

use super::MatchError;
use super::gofmt::{write_float, write_quoted};
use super::number::float_equal;
use super::parser::{Ast, Compare, Op};
use super::path::Path;
use super::regex::{self as go_regex, RegexCache};

/// A compiled expression node.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// Kept only so messages print the expression as written.
    Paren(Box<Node>),
    Logic(Box<Logic>),
    Regex(Box<RegexMatch>),
    Compare(Box<Comparison>),
    Var(Path),
    Str(Box<str>),
    Num(f64),
    Bool(bool),
    Strs(StrList),
    Nums(Box<[f64]>),
}

#[derive(Debug, Clone)]
pub(super) struct Logic {
    and: bool,
    lhs: Node,
    rhs: Node,
}

#[derive(Debug, Clone)]
pub(super) struct RegexMatch {
    negated: bool,
    lhs: Node,
    rhs: Node,
    /// Compiled once when the pattern is a literal — always, for Flagr's own constraints.
    literal: Option<Result<Arc<Regex>, String>>,
}

#[derive(Debug, Clone)]
pub(super) struct Comparison {
    op: Compare,
    lhs: Node,
    rhs: Node,
}

/// A string array literal: the items in written order (for messages) and a sorted copy, so
/// membership is a binary search.
#[derive(Debug, Clone)]
pub(super) struct StrList {
    items: Box<[Box<str>]>,
    sorted: Box<[Box<str>]>,
}

impl StrList {
    fn new(items: Vec<String>) -> Self {
        let items: Box<[Box<str>]> = items.into_iter().map(String::into_boxed_str).collect();
        let mut sorted = items.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        StrList {
            items,
            sorted: sorted.into(),
        }
    }

    fn contains(&self, needle: &str) -> bool {
        self.sorted.binary_search_by(|item| (**item).cmp(needle)).is_ok()
    }
}

/// A value during evaluation, borrowed from the tree or the context. One flat enum keeps it
/// small: it is returned by value at every node.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    StrList(&'a StrList),
    NumList(&'a [f64]),
    /// A context array already checked to hold only strings.
    StrArray(&'a [Value]),
    /// A context array already checked to hold only numbers.
    NumArray(&'a [Value]),
}

impl Node {
    /// Compiles a parsed expression.
    pub(super) fn compile(ast: Ast, regexes: &mut RegexCache) -> Node {
        match ast {
            Ast::Paren(inner) => Node::Paren(Box::new(Node::compile(*inner, regexes))),
            Ast::Binary { op, lhs, rhs } => {
                let literal_pattern = match op {
                    Op::Regex { .. } => string_literal(&rhs).map(|pattern| regexes.compile(pattern)),
                    _ => None,
                };
                let (lhs, rhs) = (Node::compile(*lhs, regexes), Node::compile(*rhs, regexes));
                match op {
                    Op::And | Op::Or => Node::Logic(Box::new(Logic {
                        and: op == Op::And,
                        lhs,
                        rhs,
                    })),
                    Op::Regex { negated } => Node::Regex(Box::new(RegexMatch {
                        negated,
                        lhs,
                        rhs,
                        literal: literal_pattern,
                    })),
                    Op::Compare(op) => Node::Compare(Box::new(Comparison { op, lhs, rhs })),
                }
            }
            Ast::Var(path) => Node::Var(path),
            Ast::Str(s) => Node::Str(s.into()),
            Ast::Num(n) => Node::Num(n),
            Ast::Bool(b) => Node::Bool(b),
            Ast::Strs(items) => Node::Strs(StrList::new(items)),
            Ast::Nums(items) => Node::Nums(items.into()),
        }
    }

    /// The library's `Evaluate`: the expression must produce a boolean.
    pub(super) fn matches(&self, context: &Map<String, Value>) -> Result<bool, MatchError> {
        truth(self.eval(context)?)
    }

    /// Why evaluating this condition fails (so never matches) whatever the context, when it
    /// does: operands no context value can give the kinds their operator needs, or a regex
    /// that does not compile. `None` when some context may match, as far as typing tells.
    pub(super) fn always_fails(&self) -> Option<String> {
        match self {
            Node::Paren(inner) => inner.always_fails(),
            // AND fails when either side always fails (the right one is reached whenever the
            // left one is true); OR only when its left side does, since a true left side
            // decides without the right one.
            Node::Logic(logic) if logic.and => logic.lhs.always_fails().or_else(|| logic.rhs.always_fails()),
            Node::Logic(logic) => logic.lhs.always_fails(),
            Node::Regex(regex) => regex.always_fails(),
            Node::Compare(comparison) => comparison.always_fails(),
            Node::Var(_) | Node::Bool(_) => None,
            Node::Str(_) | Node::Num(_) | Node::Strs(_) | Node::Nums(_) => {
                Some(format!("{self} is a value, not a condition"))
            }
        }
    }

    /// The first regex literal in the expression that does not compile: its pattern and why.
    pub(super) fn invalid_regex(&self) -> Option<(String, String)> {
        match self {
            Node::Paren(inner) => inner.invalid_regex(),
            Node::Logic(logic) => logic.lhs.invalid_regex().or_else(|| logic.rhs.invalid_regex()),
            Node::Compare(comparison) => comparison
                .lhs
                .invalid_regex()
                .or_else(|| comparison.rhs.invalid_regex()),
            Node::Regex(regex) => match (&regex.literal, regex.rhs.literal()) {
                (Some(Err(reason)), Some(Val::Str(pattern))) => Some((pattern.to_owned(), reason.clone())),
                _ => regex.lhs.invalid_regex(),
            },
            _ => None,
        }
    }

    /// The values this operand can take: the literal itself, a boolean for a condition, any
    /// kind for a property.
    fn possible_values(&self) -> Vec<Val<'_>> {
        match self {
            Node::Paren(inner) => inner.possible_values(),
            Node::Var(_) => ANY_CONTEXT_VALUE.to_vec(),
            Node::Logic(_) | Node::Regex(_) | Node::Compare(_) => vec![Val::Bool(true), Val::Bool(false)],
            literal => literal.literal().into_iter().collect(),
        }
    }

    /// The value of a literal, through parentheses.
    fn literal(&self) -> Option<Val<'_>> {
        Some(match self {
            Node::Paren(inner) => return inner.literal(),
            Node::Str(s) => Val::Str(s),
            Node::Num(n) => Val::Num(*n),
            Node::Bool(b) => Val::Bool(*b),
            Node::Strs(list) => Val::StrList(list),
            Node::Nums(list) => Val::NumList(list),
            _ => return None,
        })
    }

    fn eval<'a>(&'a self, context: &'a Map<String, Value>) -> Result<Val<'a>, MatchError> {
        Ok(match self {
            Node::Paren(inner) => inner.eval(context)?,
            Node::Logic(logic) => Val::Bool(logic.eval(context)?),
            Node::Regex(regex) => Val::Bool(regex.eval(context)?),
            Node::Compare(comparison) => Val::Bool(comparison.eval(context)?),
            Node::Var(path) => from_json(path.resolve(context)?)?,
            Node::Str(s) => Val::Str(s),
            Node::Num(n) => Val::Num(*n),
            Node::Bool(b) => Val::Bool(*b),
            Node::Strs(list) => Val::StrList(list),
            Node::Nums(list) => Val::NumList(list),
        })
    }
}

impl Logic {
    /// AND and OR short-circuit; each side that is evaluated must be a boolean.
    fn eval(&self, context: &Map<String, Value>) -> Result<bool, MatchError> {
        let left = truth(self.lhs.eval(context)?)?;
        if left != self.and {
            return Ok(left);
        }
        truth(self.rhs.eval(context)?)
    }
}

impl RegexMatch {
    /// Both sides must be strings; Go's RE2 semantics, unanchored.
    fn eval(&self, context: &Map<String, Value>) -> Result<bool, MatchError> {
        let Val::Str(text) = self.lhs.eval(context)? else {
            return Err(MatchError::TypeMismatch);
        };
        let matched = match &self.literal {
            Some(compiled) => compiled.as_ref().map_err(|_| MatchError::InvalidRegex)?.is_match(text),
            None => {
                let Val::Str(pattern) = self.rhs.eval(context)? else {
                    return Err(MatchError::TypeMismatch);
                };
                go_regex::compile(pattern)
                    .map_err(|_| MatchError::InvalidRegex)?
                    .is_match(text)
            }
        };
        Ok(matched != self.negated)
    }

    /// Why the match fails for every context, as [`Comparison::always_fails`] decides it.
    fn always_fails(&self) -> Option<String> {
        let name = if self.negated { "NEREG" } else { "EREG" };
        if let Some(Err(reason)) = &self.literal {
            return Some(format!("the regular expression does not compile: {reason}"));
        }
        let can_be_string = |node: &Node| node.possible_values().iter().any(|value| matches!(value, Val::Str(_)));
        if can_be_string(&self.lhs) && can_be_string(&self.rhs) {
            return None;
        }
        Some(format!(
            "{name} needs a regular expression in double quotes, but the value is {}",
            operand_kind(&self.rhs, &self.lhs)
        ))
    }
}

impl Comparison {
    fn eval(&self, context: &Map<String, Value>) -> Result<bool, MatchError> {
        let left = self.lhs.eval(context)?;
        let right = self.rhs.eval(context)?;
        compare(self.op, left, right)
    }

    /// Why the comparison fails for every context: no value a property could hold gives its
    /// operands kinds the operator accepts. Decided by running [`compare`] itself on one value
    /// of each kind, so it follows the evaluation's typing rules exactly.
    fn always_fails(&self) -> Option<String> {
        let (lefts, rights) = (self.lhs.possible_values(), self.rhs.possible_values());
        let some_fit = lefts
            .iter()
            .any(|&left| rights.iter().any(|&right| compare(self.op, left, right).is_ok()));
        if some_fit {
            return None;
        }
        let (name, needs) = match self.op {
            Compare::Eq | Compare::Neq => (
                if self.op == Compare::Eq { "EQ" } else { "NEQ" },
                "compares a string, number or boolean with a context value of the same kind",
            ),
            Compare::Lt => ("LT", NEEDS_NUMBERS),
            Compare::Lte => ("LTE", NEEDS_NUMBERS),
            Compare::Gt => ("GT", NEEDS_NUMBERS),
            Compare::Gte => ("GTE", NEEDS_NUMBERS),
            Compare::In => ("IN", NEEDS_LIST),
            Compare::NotIn => ("NOTIN", NEEDS_LIST),
            Compare::Contains => ("CONTAINS", NEEDS_ITEM),
            Compare::NotContains => ("NOTCONTAINS", NEEDS_ITEM),
            Compare::Xor => ("XOR", "compares booleans"),
            Compare::Nand => ("NAND", "compares booleans"),
        };
        Some(format!(
            "{name} {needs}, but the value is {}",
            operand_kind(&self.rhs, &self.lhs)
        ))
    }
}

const NEEDS_NUMBERS: &str = "compares numbers (with a number in the context)";
const NEEDS_LIST: &str = "needs a JSON list of strings or of numbers, such as [\"a\",\"b\"] or [1,2]";
const NEEDS_ITEM: &str = "needs one string or number to look for in a list in the context";

/// The operator applied to evaluated operands.
fn compare(op: Compare, left: Val<'_>, right: Val<'_>) -> Result<bool, MatchError> {
    match op {
        Compare::Eq => equal(left, right),
        Compare::Neq => equal(left, right).map(|equal| !equal),
        Compare::Lt => numbers(left, right).map(|(a, b)| a < b),
        Compare::Lte => numbers(left, right).map(|(a, b)| a < b || float_equal(a, b)),
        Compare::Gt => numbers(left, right).map(|(a, b)| a > b),
        Compare::Gte => numbers(left, right).map(|(a, b)| a > b || float_equal(a, b)),
        Compare::Xor => booleans(left, right).map(|(a, b)| a != b),
        Compare::Nand => booleans(left, right).map(|(a, b)| !(a && b)),
        Compare::In => member(left, right),
        Compare::NotIn => member(left, right).map(|found| !found),
        Compare::Contains => member(right, left),
        Compare::NotContains => member(right, left).map(|found| !found),
    }
}

/// One value of each kind a context property can hold as an operand (arrays only in the two
/// kinds evaluation accepts; their items do not matter to typing).
const ANY_CONTEXT_VALUE: [Val<'static>; 5] = [
    Val::Str(""),
    Val::Num(0.0),
    Val::Bool(false),
    Val::StrArray(&[]),
    Val::NumArray(&[]),
];

/// What the literal operand is, for messages: the preferred side when it is a literal, else
/// the other.
fn operand_kind(preferred: &Node, other: &Node) -> &'static str {
    match preferred.literal().or_else(|| other.literal()) {
        Some(Val::Str(_)) => "a string",
        Some(Val::Num(_)) => "a number",
        Some(Val::Bool(_)) => "a boolean",
        Some(Val::StrList(_)) => "a list of strings",
        Some(Val::NumList(_)) => "a list of numbers",
        Some(Val::StrArray(_) | Val::NumArray(_)) | None => "an expression",
    }
}

fn truth(value: Val<'_>) -> Result<bool, MatchError> {
    match value {
        Val::Bool(b) => Ok(b),
        _ => Err(MatchError::NotBoolean),
    }
}

/// Same kind on both sides (string, number or boolean), else an error.
fn equal(left: Val<'_>, right: Val<'_>) -> Result<bool, MatchError> {
    match (left, right) {
        (Val::Str(a), Val::Str(b)) => Ok(a == b),
        (Val::Num(a), Val::Num(b)) => Ok(float_equal(a, b)),
        (Val::Bool(a), Val::Bool(b)) => Ok(a == b),
        _ => Err(MatchError::TypeMismatch),
    }
}

fn numbers(left: Val<'_>, right: Val<'_>) -> Result<(f64, f64), MatchError> {
    match (left, right) {
        (Val::Num(a), Val::Num(b)) => Ok((a, b)),
        _ => Err(MatchError::TypeMismatch),
    }
}

fn booleans(left: Val<'_>, right: Val<'_>) -> Result<(bool, bool), MatchError> {
    match (left, right) {
        (Val::Bool(a), Val::Bool(b)) => Ok((a, b)),
        _ => Err(MatchError::TypeMismatch),
    }
}

/// Whether `item` is in `list`: a string needs a string array, a number a number array.
fn member(item: Val<'_>, list: Val<'_>) -> Result<bool, MatchError> {
    match (item, list) {
        (Val::Str(needle), Val::StrList(list)) => Ok(list.contains(needle)),
        (Val::Str(needle), Val::StrArray(items)) => Ok(items.iter().any(|item| item.as_str() == Some(needle))),
        (Val::Num(needle), Val::NumList(items)) => Ok(items.iter().any(|&item| float_equal(needle, item))),
        (Val::Num(needle), Val::NumArray(items)) => Ok(items
            .iter()
            .filter_map(Value::as_f64)
            .any(|item| float_equal(needle, item))),
        _ => Err(MatchError::TypeMismatch),
    }
}

/// A context value as the library converts it: scalars as they are; arrays only when non-empty
/// and all strings or all numbers; null and objects are errors.
fn from_json(value: &Value) -> Result<Val<'_>, MatchError> {
    match value {
        Value::Null => Err(MatchError::Null),
        Value::Bool(b) => Ok(Val::Bool(*b)),
        Value::Number(n) => n.as_f64().map(Val::Num).ok_or(MatchError::UnsupportedValue),
        Value::String(s) => Ok(Val::Str(s)),
        Value::Object(_) => Err(MatchError::UnsupportedValue),
        Value::Array(items) => match items.first() {
            None => Err(MatchError::EmptyArray),
            Some(Value::String(_)) if items.iter().all(Value::is_string) => Ok(Val::StrArray(items)),
            Some(Value::Number(_)) if items.iter().all(Value::is_number) => Ok(Val::NumArray(items)),
            Some(Value::String(_) | Value::Number(_)) => Err(MatchError::MixedArray),
            Some(_) => Err(MatchError::UnsupportedValue),
        },
    }
}

/// The string a node stands for when it is a literal, through parentheses.
fn string_literal(ast: &Ast) -> Option<&str> {
    match ast {
        Ast::Str(s) => Some(s),
        Ast::Paren(inner) => string_literal(inner),
        _ => None,
    }
}

/// The library's `String()`: operands and operators as written, parentheses kept, numbers with
/// three decimals, strings re-quoted, arrays as Go prints slices.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Paren(inner) => write!(f, "({inner})"),
            Node::Logic(logic) => {
                let op = if logic.and { Op::And } else { Op::Or };
                write!(f, "{} {} {}", logic.lhs, op.symbol(), logic.rhs)
            }
            Node::Regex(regex) => {
                let op = Op::Regex { negated: regex.negated };
                write!(f, "{} {} {}", regex.lhs, op.symbol(), regex.rhs)
            }
            Node::Compare(comparison) => write!(
                f,
                "{} {} {}",
                comparison.lhs,
                Op::Compare(comparison.op).symbol(),
                comparison.rhs
            ),
            Node::Var(path) => write!(f, "{path}"),
            Node::Str(s) => write_quoted(f, s),
            Node::Num(n) => write!(f, "{n:.3}"),
            Node::Bool(b) => write!(f, "{b}"),
            Node::Strs(list) => write_list(f, list.items.iter(), |f, item| f.write_str(item)),
            Node::Nums(items) => write_list(f, items.iter(), |f, &item| write_float(f, item)),
        }
    }
}

fn write_list<T>(
    f: &mut fmt::Formatter<'_>,
    items: impl Iterator<Item = T>,
    mut write_item: impl FnMut(&mut fmt::Formatter<'_>, T) -> fmt::Result,
) -> fmt::Result {
    f.write_char('[')?;
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        write_item(f, item)?;
    }
    f.write_char(']')
}
