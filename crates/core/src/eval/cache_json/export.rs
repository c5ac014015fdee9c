//! `GET /export/eval_cache/json`: flags as Flagr's Go entities print them, and the filters
//! Flagr applies to the export.
//!
//! Must not touch: query parameter parsing (the caller fills an [`ExportFilter`]).

use serde::{Serialize, Serializer, ser::SerializeStruct};
use time::{OffsetDateTime, UtcOffset};

use crate::eval::{CompiledFlag, TagsOperator};
use crate::flag::{Constraint, Distribution, Flag, Id, Segment, Tag, Variant};

/// Which flags an export holds: Flagr's query parameters, already parsed. The default selects
/// every flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// `ids`: when any are given, exactly the flags with these ids; every other field is
    /// ignored.
    pub ids: Vec<Id>,
    /// `keys`: when any are given (and no ids), exactly the flags with these keys; `enabled`
    /// and the tags are ignored.
    pub keys: Vec<String>,
    /// `enabled`: only flags in this state.
    pub enabled: Option<bool>,
    /// `tags`: only flags carrying any (or, with [`TagsOperator::All`], every) one of these tag
    /// values.
    pub tags: Vec<String>,
    /// `tagsOperator`: how `tags` combine; `ANY` when absent.
    pub tags_operator: TagsOperator,
}

impl ExportFilter {
    /// Whether the export includes this flag: `ids` override everything, `keys` override the
    /// rest, and otherwise `enabled` and the tags must both hold.
    pub fn matches(&self, flag: &Flag) -> bool {
        if !self.ids.is_empty() {
            return self.ids.contains(&flag.id);
        }
        if !self.keys.is_empty() {
            return self.keys.contains(&flag.key);
        }
        let has_tag = |value: &String| flag.tags.iter().any(|tag| &tag.value == value);
        let tags_match = self.tags.is_empty()
            || match self.tags_operator {
                TagsOperator::Any => self.tags.iter().any(has_tag),
                TagsOperator::All => self.tags.iter().all(has_tag),
            };
        self.enabled.is_none_or(|enabled| enabled == flag.enabled) && tags_match
    }
}

/// The export document, `{"Flags":[...]}`; serialize it (e.g. with `serde_json`) for Flagr's
/// text. It is a typed value rather than a `serde_json::Value` because a `Value` prints members
/// in alphabetical order, while Flagr prints Go's field order.
#[derive(Debug, Clone)]
pub struct EvalCacheJson<'a> {
    /// In flag id order.
    flags: Vec<ExportedFlag<'a>>,
}

#[derive(Debug, Clone)]
struct ExportedFlag<'a> {
    flag: &'a Flag,
    snapshot_id: i64,
    /// The flag's `updatedAt` as Go prints a time, shared by every object of the flag.
    time: String,
}

/// The flags `filter` selects, in flag id order (Flagr's order is Go's map order, which is
/// unspecified), as Flagr's eval-cache JSON.
///
/// Bunting keeps no creation or update times for a flag's children, nor a creation time for
/// the flag, so every object's `CreatedAt` and `UpdatedAt` is the flag's `updatedAt` (RFC 3339
/// in UTC with Go's trimmed fraction), and `DeletedAt` is always `null`: only live flags and
/// children are exported.
pub fn export<'a>(flags: impl IntoIterator<Item = &'a CompiledFlag>, filter: &ExportFilter) -> EvalCacheJson<'a> {
    let mut selected: Vec<ExportedFlag<'a>> = flags
        .into_iter()
        .filter(|compiled| filter.matches(compiled.flag()))
        .map(|compiled| ExportedFlag {
            flag: compiled.flag(),
            snapshot_id: compiled.snapshot_id(),
            time: go_time(compiled.flag().updated_at),
        })
        .collect();
    selected.sort_by_key(|exported| exported.flag.id);
    EvalCacheJson { flags: selected }
}

impl Serialize for EvalCacheJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The Go-shaped views borrow each flag's time text, so they are built here.
        let flags: Vec<GoFlag<'_>> = self.flags.iter().map(GoFlag::new).collect();
        let mut document = serializer.serialize_struct("EvalCacheJSON", 1)?;
        document.serialize_field("Flags", &flags)?;
        document.end()
    }
}

/// Go's `time.Time` JSON form: RFC 3339 with up to nine fraction digits, trailing zeros (and a
/// zero fraction) dropped. Printed in UTC, as the time Bunting keeps.
fn go_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if at.nanosecond() != 0 {
        let fraction = format!("{:09}", at.nanosecond());
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

// The Go entities (`openflagr/flagr:pkg/entity`), field for field in Go's declaration order;
// `gorm.Model` contributes `ID`, `CreatedAt`, `UpdatedAt` and `DeletedAt` to each.

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoFlag<'a> {
    #[serde(rename = "ID")]
    id: Id,
    created_at: &'a str,
    updated_at: &'a str,
    /// Always `null`.
    deleted_at: (),
    key: &'a str,
    description: &'a str,
    created_by: &'a str,
    updated_by: &'a str,
    enabled: bool,
    segments: Vec<GoSegment<'a>>,
    variants: Vec<GoVariant<'a>>,
    tags: Vec<GoTag<'a>>,
    #[serde(rename = "SnapshotID")]
    snapshot_id: i64,
    notes: &'a str,
    data_records_enabled: bool,
    entity_type: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoSegment<'a> {
    #[serde(rename = "ID")]
    id: Id,
    created_at: &'a str,
    updated_at: &'a str,
    deleted_at: (),
    #[serde(rename = "FlagID")]
    flag_id: Id,
    description: &'a str,
    rank: i64,
    rollout_percent: i64,
    constraints: Vec<GoConstraint<'a>>,
    distributions: Vec<GoDistribution<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoConstraint<'a> {
    #[serde(rename = "ID")]
    id: Id,
    created_at: &'a str,
    updated_at: &'a str,
    deleted_at: (),
    #[serde(rename = "SegmentID")]
    segment_id: Id,
    property: &'a str,
    operator: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoDistribution<'a> {
    #[serde(rename = "ID")]
    id: Id,
    created_at: &'a str,
    updated_at: &'a str,
    deleted_at: (),
    #[serde(rename = "SegmentID")]
    segment_id: Id,
    #[serde(rename = "VariantID")]
    variant_id: Id,
    variant_key: &'a str,
    percent: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoVariant<'a> {
    #[serde(rename = "ID")]
    id: Id,
    created_at: &'a str,
    updated_at: &'a str,
    deleted_at: (),
    #[serde(rename = "FlagID")]
    flag_id: Id,
    key: &'a str,
    attachment: &'a crate::flag::Attachment,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoTag<'a> {
    #[serde(rename = "ID")]
    id: Id,
    created_at: &'a str,
    updated_at: &'a str,
    deleted_at: (),
    value: &'a str,
    /// Go's many-to-many back reference, never loaded in the eval cache: always `null`.
    flags: (),
}

impl<'a> GoFlag<'a> {
    fn new(exported: &'a ExportedFlag<'a>) -> Self {
        let flag = exported.flag;
        let time = exported.time.as_str();
        GoFlag {
            id: flag.id,
            created_at: time,
            updated_at: time,
            deleted_at: (),
            key: &flag.key,
            description: &flag.description,
            created_by: &flag.created_by,
            updated_by: &flag.updated_by,
            enabled: flag.enabled,
            segments: flag
                .segments
                .iter()
                .map(|segment| GoSegment::new(segment, flag.id, time))
                .collect(),
            variants: flag
                .variants
                .iter()
                .map(|variant| GoVariant::new(variant, flag.id, time))
                .collect(),
            tags: flag.tags.iter().map(|tag| GoTag::new(tag, time)).collect(),
            snapshot_id: exported.snapshot_id,
            notes: &flag.notes,
            data_records_enabled: flag.data_records_enabled,
            entity_type: &flag.entity_type,
        }
    }
}

impl<'a> GoSegment<'a> {
    fn new(segment: &'a Segment, flag_id: Id, time: &'a str) -> Self {
        GoSegment {
            id: segment.id,
            created_at: time,
            updated_at: time,
            deleted_at: (),
            flag_id,
            description: &segment.description,
            rank: segment.rank,
            rollout_percent: segment.rollout_percent,
            constraints: segment
                .constraints
                .iter()
                .map(|constraint| GoConstraint::new(constraint, segment.id, time))
                .collect(),
            distributions: segment
                .distributions
                .iter()
                .map(|distribution| GoDistribution::new(distribution, segment.id, time))
                .collect(),
        }
    }
}

impl<'a> GoConstraint<'a> {
    fn new(constraint: &'a Constraint, segment_id: Id, time: &'a str) -> Self {
        GoConstraint {
            id: constraint.id,
            created_at: time,
            updated_at: time,
            deleted_at: (),
            segment_id,
            property: &constraint.property,
            operator: &constraint.operator,
            value: &constraint.value,
        }
    }
}

impl<'a> GoDistribution<'a> {
    fn new(distribution: &'a Distribution, segment_id: Id, time: &'a str) -> Self {
        GoDistribution {
            id: distribution.id,
            created_at: time,
            updated_at: time,
            deleted_at: (),
            segment_id,
            variant_id: distribution.variant_id,
            variant_key: &distribution.variant_key,
            percent: distribution.percent,
        }
    }
}

impl<'a> GoVariant<'a> {
    fn new(variant: &'a Variant, flag_id: Id, time: &'a str) -> Self {
        GoVariant {
            id: variant.id,
            created_at: time,
            updated_at: time,
            deleted_at: (),
            flag_id,
            key: &variant.key,
            attachment: &variant.attachment,
        }
    }
}

impl<'a> GoTag<'a> {
    fn new(tag: &'a Tag, time: &'a str) -> Self {
        GoTag {
            id: tag.id,
            created_at: time,
            updated_at: time,
            deleted_at: (),
            value: &tag.value,
            flags: (),
        }
    }
}
