//! Flagr's `segmentDebugLogs` messages, written by a [`Trace`] over the segment walk.
//!
//! The prefixes are Flagr's; the Go renderings they embed (`%+v` of the context and of the
//! distribution, `spew.Sdump` of a non-object context) are reproduced closely enough to read
//! the same, but nothing depends on them. A skipped segment's message also names its
//! constraints that can never match, after Flagr's text.
//!
//! Must not touch: the decision itself — the walk is identical with and without this trace.

use std::fmt::{self, Write};

use serde_json::Value;

use super::bucket::Rollout;
use super::compiled::{CompiledSegment, Skip, Trace};
use super::result::SegmentDebugLog;
use crate::constraint::gofmt::{GoMap, write_float, write_quoted};

/// Collects one message per segment visited.
#[derive(Debug, Default)]
pub(super) struct DebugTrace {
    logs: Vec<SegmentDebugLog>,
}

impl DebugTrace {
    pub(super) fn into_logs(self) -> Vec<SegmentDebugLog> {
        self.logs
    }

    fn log(&mut self, segment: &CompiledSegment, msg: String) {
        self.logs.push(SegmentDebugLog {
            msg,
            segment_id: segment.id,
        });
    }
}

impl Trace for DebugTrace {
    fn skipped(&mut self, segment: &CompiledSegment, why: Skip<'_>) {
        let msg = match why {
            Skip::InvalidContext(context) => format!(
                "constraints are present in the segment_id {}, but got invalid entity_context: {}.",
                segment.id,
                spew_dump(context)
            ),
            Skip::NoMatch(constraints, fields) => format!(
                "constraint not match. constraint: {constraints}, entity_context: {}.",
                GoMap(fields)
            ),
            Skip::Error(error) => error.to_string(),
        };
        self.log(segment, with_problems(msg, segment));
    }

    fn matched(&mut self, segment: &CompiledSegment, rollout: Rollout) {
        let msg = format!("matched all constraints. {}", rollout_message(segment, rollout));
        self.log(segment, msg);
    }
}

/// Flagr's message for a skipped segment, followed by each of its constraints that can never
/// match, so the log says which one to fix (`...; constraint 7 (country IN "DE") can never
/// match: ...`). Segments without such constraints keep Flagr's message as it is.
fn with_problems(mut msg: String, segment: &CompiledSegment) -> String {
    for problem in &segment.problems {
        let _ = write!(msg, "; {problem}");
    }
    msg
}

/// Flagr's `Rollout` message, with the `%+v` of its `DistributionDebugLog` when it bucketed.
fn rollout_message(segment: &CompiledSegment, rollout: Rollout) -> String {
    match rollout {
        Rollout::EmptyEntityId => "rollout no. empty entityID".to_owned(),
        Rollout::ZeroPercent => "rollout no. 0% rolloutPercent".to_owned(),
        Rollout::NoDistribution => "rollout no. there's no distribution set".to_owned(),
        Rollout::Bucketed {
            bucket,
            variant_id,
            assigned,
        } => {
            let list = |items: &[i64]| items.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
            format!(
                "rollout {}. {{BucketNum:{bucket} DistributionArray:{{VariantIDs:[{}] \
                 PercentsAccumulated:[{}]}} VariantID:{} RolloutPercent:{}}}",
                if assigned { "yes" } else { "no" },
                list(&segment.distribution.variant_ids),
                list(&segment.distribution.accumulated),
                variant_id.unwrap_or(0),
                segment.rollout_percent,
            )
        }
    }
}

/// `spew.Sdump` of a decoded JSON value, as Flagr prints a context that is not an object.
fn spew_dump(value: &Value) -> String {
    format!("{}\n", Spew { value, depth: 0 })
}

struct Spew<'v> {
    value: &'v Value,
    depth: usize,
}

impl fmt::Display for Spew<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Value::Null => f.write_str("(interface {}) <nil>"),
            Value::Bool(b) => write!(f, "(bool) {b}"),
            Value::Number(n) => {
                f.write_str("(float64) ")?;
                write_float(f, n.as_f64().unwrap_or(f64::NAN))
            }
            Value::String(s) => spew_string(f, s),
            Value::Array(items) => {
                // encoding/json grows decoded slices by appending: capacity is a power of two.
                let capacity = if items.is_empty() {
                    0
                } else {
                    items.len().next_power_of_two()
                };
                write!(f, "([]interface {{}}) (len={} cap={capacity}) {{", items.len())?;
                self.children(f, items.iter().map(|item| (None, item)))
            }
            Value::Object(fields) => {
                write!(f, "(map[string]interface {{}}) (len={}) {{", fields.len())?;
                let mut entries: Vec<_> = fields.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                self.children(f, entries.into_iter().map(|(key, value)| (Some(key), value)))
            }
        }
    }
}

impl<'v> Spew<'v> {
    fn children(
        &self,
        f: &mut fmt::Formatter<'_>,
        children: impl ExactSizeIterator<Item = (Option<&'v String>, &'v Value)>,
    ) -> fmt::Result {
        let count = children.len();
        let indent = " ".repeat(self.depth + 1);
        f.write_char('\n')?;
        for (i, (key, value)) in children.enumerate() {
            f.write_str(&indent)?;
            if let Some(key) = key {
                spew_string(f, key)?;
                f.write_str(": ")?;
            }
            let child = Spew {
                value,
                depth: self.depth + 1,
            };
            write!(f, "{child}{}", if i + 1 < count { ",\n" } else { "\n" })?;
        }
        write!(f, "{}}}", &indent[1..])
    }
}

fn spew_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "(string) (len={}) ", s.len())?;
    write_quoted(f, s)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn spew_dumps_scalars_and_arrays() {
        assert_eq!(spew_dump(&Value::Null), "(interface {}) <nil>\n");
        assert_eq!(spew_dump(&json!("abc")), "(string) (len=3) \"abc\"\n");
        assert_eq!(spew_dump(&json!(5)), "(float64) 5\n");
        assert_eq!(
            spew_dump(&json!([1, "a"])),
            "([]interface {}) (len=2 cap=2) {\n (float64) 1,\n (string) (len=1) \"a\"\n}\n"
        );
    }
}
