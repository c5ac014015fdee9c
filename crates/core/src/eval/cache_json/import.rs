//! Loading Flagr's eval-cache JSON the way Flagr's eval-only drivers do (`flagr-spec.md` §4):
//! decode with the rules of Go's `encoding/json`, drop deleted flags, assign missing ids, link
//! distributions to variants by key, then run the checks of Flagr's `ValidateFlags`.
//!
//! Go's decoding rules kept here: member names match field names case-insensitively; members
//! apply in document order, so a later spelling of a field wins; unknown members are ignored;
//! `null` leaves a field as it was (and empties a list); a value of the wrong type fails the
//! load. Go stops at the first wrong type; this reports every one.
//!
//! Must not touch: I/O and the refresh loop (the caller brings the text), the snapshot (the
//! caller builds it from the flags).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

use crate::constraint;
use crate::flag::{Attachment, Constraint, Distribution, Flag, Id, Segment, StoredFlag, Tag, Variant};

/// Go's zero `time.Time`: the `updatedAt` of a flag whose file gives no `UpdatedAt`.
const GO_ZERO_TIME: OffsetDateTime = datetime!(0001-01-01 0:00 UTC);

/// A flag file that loads.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The live flags in id order, children in Bunting's orders, `snapshot_id` from
    /// `SnapshotID` (0 when absent). None is deleted.
    pub flags: Vec<StoredFlag>,
    /// What does not block the load: Flagr's validation warnings (a flag without variants or
    /// segments, a segment without distributions) and a document without a `Flags` member.
    pub warnings: Vec<String>,
}

/// A flag file that does not load, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid flag file: {}", .errors.join("; "))]
pub struct ImportError {
    /// Each says where it is: a JSON path such as `Flags[2].Segments[0].Rank` for a value Go's
    /// decoder rejects, or the flag, segment and child for a validation error, as in
    /// `flag "checkout" (id 3), segment 7: distributions sum to 90, not 100`.
    pub errors: Vec<String>,
    /// The warnings found before the errors stopped the load, as in [`Imported::warnings`].
    pub warnings: Vec<String>,
}

/// Reads a flag file in Flagr's eval-cache format, `{"Flags":[...]}` (the `Flags` member
/// under any capitalization), as Flagr's `json_file` and `json_http` drivers load it:
///
/// 1. Decode as Go does (see the module documentation); `Attachment` must be an object or
///    `null` (read as `{}`).
/// 2. Drop flags whose `DeletedAt` is a time.
/// 3. Give every object without an id (or with id 0) the next id of a per-type counter that
///    starts above the largest id the file gives that type.
/// 4. Link each distribution without a `VariantID` to its flag's variant named by
///    `VariantKey`.
/// 5. Validate: an empty flag or variant key, a duplicate flag key, id or (within a flag)
///    variant key, a percent above 100, distributions that do not sum to 100, a distribution
///    naming an unknown variant key or no variant at all, or a constraint that does not compile
///    is an error; a flag without variants or segments, or a segment without distributions, is
///    a warning.
pub fn import(text: &str) -> Result<Imported, ImportError> {
    let mut problems = Problems::default();
    let decoded = decode_document(text, &mut problems);
    if !problems.errors.is_empty() {
        // Checking half-decoded flags would only add noise.
        return Err(problems.into_error());
    }
    let mut flags: Vec<DecodedFlag> = decoded.into_iter().filter(|decoded| !decoded.deleted).collect();
    assign_ids(&mut flags, &mut problems);
    for decoded in &mut flags {
        link_distributions(&mut decoded.flag);
        decoded.flag.sort_children();
    }
    validate(&flags, &mut problems);
    if !problems.errors.is_empty() {
        return Err(problems.into_error());
    }
    let mut flags: Vec<StoredFlag> = flags
        .into_iter()
        .map(|decoded| StoredFlag {
            flag: decoded.flag,
            deleted: false,
            snapshot_id: decoded.snapshot_id,
        })
        .collect();
    flags.sort_by_key(|stored| stored.flag.id);
    Ok(Imported {
        flags,
        warnings: problems.warnings,
    })
}

#[derive(Default)]
struct Problems {
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl Problems {
    fn error(&mut self, at: impl fmt::Display, message: impl fmt::Display) {
        self.errors.push(format!("{at}: {message}"));
    }

    fn warning(&mut self, at: impl fmt::Display, message: impl fmt::Display) {
        self.warnings.push(format!("{at}: {message}"));
    }

    fn into_error(self) -> ImportError {
        ImportError {
            errors: self.errors,
            warnings: self.warnings,
        }
    }
}

/// A flag as the file gives it, before ids are assigned.
struct DecodedFlag {
    flag: Flag,
    snapshot_id: i64,
    deleted: bool,
}

// ---------------------------------------------------------------------------------------------
// Decoding with Go's rules.

fn decode_document(text: &str, problems: &mut Problems) -> Vec<DecodedFlag> {
    let root: &RawValue = match serde_json::from_str(text) {
        Ok(root) => root,
        Err(error) => {
            problems.errors.push(format!("not valid JSON: {error}"));
            return vec![];
        }
    };
    let mut decoder = Decoder { problems };
    let Some(members) = decoder.object(&Path::Document, root) else {
        return vec![];
    };
    let mut flags = None;
    for (name, value) in &members {
        if fold(name) == "flags" {
            flags = Some(decoder.list(&Path::Member(&Path::Document, name), value, Decoder::flag));
        }
    }
    flags.unwrap_or_else(|| {
        // Go loads such a document as no flags at all, which is more likely a mistake.
        problems.warning(Path::Document, "no Flags member, so no flags");
        vec![]
    })
}

/// Where a value sits in the document; printed only when something is wrong there.
enum Path<'p> {
    Document,
    Member(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Document => f.write_str("the document"),
            Path::Member(Path::Document, name) => f.write_str(name),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// The JSON type of a raw value, from its first character (serde_json has checked the syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonType {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    fn of(raw: &RawValue) -> JsonType {
        match raw.get().trim_start().bytes().next() {
            Some(b'n') => JsonType::Null,
            Some(b't' | b'f') => JsonType::Boolean,
            Some(b'"') => JsonType::String,
            Some(b'[') => JsonType::Array,
            Some(b'{') => JsonType::Object,
            _ => JsonType::Number,
        }
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "a boolean",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        }
    }
}

/// Go's field-name matching: ASCII letters match either case, and so do the two non-ASCII
/// letters that fold onto ASCII ones: long s (U+017F) and the Kelvin sign (U+212A).
fn fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'ſ' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A JSON object's members in document order, values not yet decoded, because Go applies
/// members in order and decodes each by the type of the field it names.
struct Members<'t>(Vec<(String, &'t RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = vec![];
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}

struct Decoder<'p> {
    problems: &'p mut Problems,
}

impl Decoder<'_> {
    fn flag(&mut self, path: &Path<'_>, raw: &RawValue) -> Option<DecodedFlag> {
        let members = self.object(path, raw)?;
        let mut flag = blank_flag();
        let mut snapshot_id = 0;
        let mut deleted = false;
        for (name, value) in &members {
            let at = Path::Member(path, name);
            match fold(name).as_str() {
                "id" => self.uint(&at, value, &mut flag.id),
                "createdat" => {
                    // Bunting keeps no creation time; Go still rejects a malformed one.
                    self.time(&at, value);
                }
                "updatedat" => {
                    if let Some(time) = self.time(&at, value) {
                        flag.updated_at = time;
                    }
                }
                // gorm's soft delete: `null` is live, any time is deleted.
                "deletedat" => deleted = self.time(&at, value).is_some(),
                "key" => self.string(&at, value, &mut flag.key),
                "description" => self.string(&at, value, &mut flag.description),
                "createdby" => self.string(&at, value, &mut flag.created_by),
                "updatedby" => self.string(&at, value, &mut flag.updated_by),
                "enabled" => self.boolean(&at, value, &mut flag.enabled),
                "segments" => flag.segments = self.list(&at, value, Decoder::segment),
                "variants" => flag.variants = self.list(&at, value, Decoder::variant),
                "tags" => flag.tags = self.list(&at, value, Decoder::tag),
                "snapshotid" => self.uint(&at, value, &mut snapshot_id),
                "notes" => self.string(&at, value, &mut flag.notes),
                "datarecordsenabled" => self.boolean(&at, value, &mut flag.data_records_enabled),
                "entitytype" => self.string(&at, value, &mut flag.entity_type),
                _ => {}
            }
        }
        Some(DecodedFlag {
            flag,
            snapshot_id,
            deleted,
        })
    }

    fn segment(&mut self, path: &Path<'_>, raw: &RawValue) -> Option<Segment> {
        let members = self.object(path, raw)?;
        let mut segment = Segment {
            id: 0,
            description: String::new(),
            constraints: vec![],
            distributions: vec![],
            rank: 0,
            rollout_percent: 0,
        };
        for (name, value) in &members {
            let at = Path::Member(path, name);
            match fold(name).as_str() {
                "id" => self.uint(&at, value, &mut segment.id),
                // Children keep no times, and their soft delete is not looked at: Flagr's
                // exports hold live children only.
                "createdat" | "updatedat" | "deletedat" => {
                    self.time(&at, value);
                }
                // The parent's id is implied by nesting.
                "flagid" => self.uint(&at, value, &mut 0),
                "description" => self.string(&at, value, &mut segment.description),
                "rank" => self.uint(&at, value, &mut segment.rank),
                "rolloutpercent" => self.uint(&at, value, &mut segment.rollout_percent),
                "constraints" => segment.constraints = self.list(&at, value, Decoder::constraint),
                "distributions" => segment.distributions = self.list(&at, value, Decoder::distribution),
                _ => {}
            }
        }
        Some(segment)
    }

    fn constraint(&mut self, path: &Path<'_>, raw: &RawValue) -> Option<Constraint> {
        let members = self.object(path, raw)?;
        let mut constraint = Constraint {
            id: 0,
            property: String::new(),
            operator: String::new(),
            value: String::new(),
        };
        for (name, value) in &members {
            let at = Path::Member(path, name);
            match fold(name).as_str() {
                "id" => self.uint(&at, value, &mut constraint.id),
                "createdat" | "updatedat" | "deletedat" => {
                    self.time(&at, value);
                }
                "segmentid" => self.uint(&at, value, &mut 0),
                "property" => self.string(&at, value, &mut constraint.property),
                "operator" => self.string(&at, value, &mut constraint.operator),
                "value" => self.string(&at, value, &mut constraint.value),
                _ => {}
            }
        }
        Some(constraint)
    }

    fn distribution(&mut self, path: &Path<'_>, raw: &RawValue) -> Option<Distribution> {
        let members = self.object(path, raw)?;
        let mut distribution = Distribution {
            id: 0,
            percent: 0,
            variant_id: 0,
            variant_key: String::new(),
        };
        for (name, value) in &members {
            let at = Path::Member(path, name);
            match fold(name).as_str() {
                "id" => self.uint(&at, value, &mut distribution.id),
                "createdat" | "updatedat" | "deletedat" => {
                    self.time(&at, value);
                }
                "segmentid" => self.uint(&at, value, &mut 0),
                "variantid" => self.uint(&at, value, &mut distribution.variant_id),
                "variantkey" => self.string(&at, value, &mut distribution.variant_key),
                "percent" => self.uint(&at, value, &mut distribution.percent),
                _ => {}
            }
        }
        Some(distribution)
    }

    fn variant(&mut self, path: &Path<'_>, raw: &RawValue) -> Option<Variant> {
        let members = self.object(path, raw)?;
        let mut variant = Variant {
            id: 0,
            key: String::new(),
            attachment: Attachment::default(),
        };
        let mut attachment = Map::new();
        for (name, value) in &members {
            let at = Path::Member(path, name);
            match fold(name).as_str() {
                "id" => self.uint(&at, value, &mut variant.id),
                "createdat" | "updatedat" | "deletedat" => {
                    self.time(&at, value);
                }
                "flagid" => self.uint(&at, value, &mut 0),
                "key" => self.string(&at, value, &mut variant.key),
                "attachment" => self.attachment(&at, value, &mut attachment),
                _ => {}
            }
        }
        variant.attachment = attachment.into();
        Some(variant)
    }

    fn tag(&mut self, path: &Path<'_>, raw: &RawValue) -> Option<Tag> {
        let members = self.object(path, raw)?;
        let mut tag = Tag {
            id: 0,
            value: String::new(),
        };
        for (name, value) in &members {
            let at = Path::Member(path, name);
            match fold(name).as_str() {
                "id" => self.uint(&at, value, &mut tag.id),
                "createdat" | "updatedat" | "deletedat" => {
                    self.time(&at, value);
                }
                "value" => self.string(&at, value, &mut tag.value),
                // `Flags` (the tag's flags, always null in exports) is ignored.
                _ => {}
            }
        }
        Some(tag)
    }

    /// An object's members; `null` gives none, as Go leaves a struct blank for it.
    fn object<'t>(&mut self, path: &Path<'_>, raw: &'t RawValue) -> Option<Vec<(String, &'t RawValue)>> {
        match JsonType::of(raw) {
            JsonType::Null => Some(vec![]),
            JsonType::Object => match serde_json::from_str::<Members<'t>>(raw.get()) {
                Ok(Members(members)) => Some(members),
                Err(error) => {
                    self.problems.error(path, error);
                    None
                }
            },
            found => {
                self.mismatch(path, "an object", found);
                None
            }
        }
    }

    /// An array, each element decoded by `item`; `null` is an empty list, as Go's nil slice.
    fn list<T>(
        &mut self,
        path: &Path<'_>,
        raw: &RawValue,
        mut item: impl FnMut(&mut Self, &Path<'_>, &RawValue) -> Option<T>,
    ) -> Vec<T> {
        let items: Vec<&RawValue> = match JsonType::of(raw) {
            JsonType::Null => return vec![],
            JsonType::Array => match serde_json::from_str(raw.get()) {
                Ok(items) => items,
                Err(error) => {
                    self.problems.error(path, error);
                    return vec![];
                }
            },
            found => {
                self.mismatch(path, "an array", found);
                return vec![];
            }
        };
        items
            .into_iter()
            .enumerate()
            .filter_map(|(index, raw)| item(self, &Path::Index(path, index), raw))
            .collect()
    }

    fn string(&mut self, path: &Path<'_>, raw: &RawValue, into: &mut String) {
        match JsonType::of(raw) {
            JsonType::Null => {}
            JsonType::String => match serde_json::from_str(raw.get()) {
                Ok(text) => *into = text,
                Err(error) => self.problems.error(path, error),
            },
            found => self.mismatch(path, "a string", found),
        }
    }

    fn boolean(&mut self, path: &Path<'_>, raw: &RawValue, into: &mut bool) {
        match JsonType::of(raw) {
            JsonType::Null => {}
            JsonType::Boolean => *into = raw.get().trim() == "true",
            found => self.mismatch(path, "a boolean", found),
        }
    }

    /// Go's `uint` fields (ids, rank, percents): an integer literal, not negative, no fraction
    /// or exponent. Bunting keeps them as `i64`, so they must also fit one.
    fn uint(&mut self, path: &Path<'_>, raw: &RawValue, into: &mut i64) {
        match JsonType::of(raw) {
            JsonType::Null => {}
            JsonType::Number => {
                let text = raw.get().trim();
                // `-0` parses as an i64 but not as Go's uint.
                match text.parse::<i64>() {
                    Ok(number) if !text.starts_with('-') => *into = number,
                    _ => self.problems.error(
                        path,
                        format_args!("expected an integer from 0 to {}, found {text}", i64::MAX),
                    ),
                }
            }
            found => self.mismatch(path, "a non-negative integer", found),
        }
    }

    /// A Go `time.Time` (RFC 3339 text); `None` for `null` and for an error.
    fn time(&mut self, path: &Path<'_>, raw: &RawValue) -> Option<OffsetDateTime> {
        match JsonType::of(raw) {
            JsonType::Null => None,
            JsonType::String => {
                let text: String = match serde_json::from_str(raw.get()) {
                    Ok(text) => text,
                    Err(error) => {
                        self.problems.error(path, error);
                        return None;
                    }
                };
                match OffsetDateTime::parse(&text, &Rfc3339) {
                    Ok(at) => Some(at),
                    Err(error) => {
                        self.problems
                            .error(path, format_args!("expected an RFC 3339 time, found {text:?}: {error}"));
                        None
                    }
                }
            }
            found => {
                self.mismatch(path, "an RFC 3339 time string", found);
                None
            }
        }
    }

    /// Go's `map[string]interface{}`: members of an object add to the map, `null` empties it.
    fn attachment(&mut self, path: &Path<'_>, raw: &RawValue, into: &mut Map<String, Value>) {
        match JsonType::of(raw) {
            JsonType::Null => into.clear(),
            JsonType::Object => match serde_json::from_str::<Map<String, Value>>(raw.get()) {
                Ok(members) => into.extend(members),
                Err(error) => self.problems.error(path, error),
            },
            found => self.mismatch(path, "an object", found),
        }
    }

    fn mismatch(&mut self, path: &Path<'_>, expected: &str, found: JsonType) {
        self.problems
            .error(path, format_args!("expected {expected}, found {}", found.name()));
    }
}

fn blank_flag() -> Flag {
    Flag {
        id: 0,
        key: String::new(),
        description: String::new(),
        enabled: false,
        tags: vec![],
        segments: vec![],
        variants: vec![],
        data_records_enabled: false,
        entity_type: String::new(),
        notes: String::new(),
        created_by: String::new(),
        updated_by: String::new(),
        updated_at: GO_ZERO_TIME,
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and links.

/// One of Flagr's per-type id counters: it starts at the largest id the file gives that type
/// anywhere, and hands the next ids, in file order, to objects without one (id 0).
struct Counter {
    kind: &'static str,
    last: Id,
    exhausted: bool,
}

impl Counter {
    fn new(kind: &'static str) -> Self {
        Counter {
            kind,
            last: 0,
            exhausted: false,
        }
    }

    fn see(&mut self, id: &mut Id) {
        self.last = self.last.max(*id);
    }

    fn fill(&mut self, id: &mut Id) {
        if *id != 0 {
            return;
        }
        match self.last.checked_add(1) {
            Some(next) => {
                self.last = next;
                *id = next;
            }
            None => self.exhausted = true,
        }
    }
}

struct Counters {
    flag: Counter,
    segment: Counter,
    constraint: Counter,
    distribution: Counter,
    variant: Counter,
    tag: Counter,
}

impl Counters {
    /// Runs `step` on every id, each with its type's counter, in file order.
    fn each(&mut self, flags: &mut [DecodedFlag], step: fn(&mut Counter, &mut Id)) {
        for decoded in flags {
            let flag = &mut decoded.flag;
            step(&mut self.flag, &mut flag.id);
            for segment in &mut flag.segments {
                step(&mut self.segment, &mut segment.id);
                for constraint in &mut segment.constraints {
                    step(&mut self.constraint, &mut constraint.id);
                }
                for distribution in &mut segment.distributions {
                    step(&mut self.distribution, &mut distribution.id);
                }
            }
            for variant in &mut flag.variants {
                step(&mut self.variant, &mut variant.id);
            }
            for tag in &mut flag.tags {
                step(&mut self.tag, &mut tag.id);
            }
        }
    }
}

fn assign_ids(flags: &mut [DecodedFlag], problems: &mut Problems) {
    let mut counters = Counters {
        flag: Counter::new("flag"),
        segment: Counter::new("segment"),
        constraint: Counter::new("constraint"),
        distribution: Counter::new("distribution"),
        variant: Counter::new("variant"),
        tag: Counter::new("tag"),
    };
    counters.each(flags, Counter::see);
    counters.each(flags, Counter::fill);
    let Counters {
        flag,
        segment,
        constraint,
        distribution,
        variant,
        tag,
    } = counters;
    for counter in [flag, segment, constraint, distribution, variant, tag] {
        if counter.exhausted {
            problems.errors.push(format!(
                "cannot assign {} ids: the file already uses the largest possible one",
                counter.kind
            ));
        }
    }
}

/// A distribution may name its variant by `VariantKey` alone; an explicit `VariantID` wins.
fn link_distributions(flag: &mut Flag) {
    for segment in &mut flag.segments {
        for distribution in &mut segment.distributions {
            if distribution.variant_id == 0
                && !distribution.variant_key.is_empty()
                && let Some(variant) = flag
                    .variants
                    .iter()
                    .find(|variant| variant.key == distribution.variant_key)
            {
                distribution.variant_id = variant.id;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Flagr's ValidateFlags.

fn validate(flags: &[DecodedFlag], problems: &mut Problems) {
    let mut by_key: BTreeMap<&str, Vec<Id>> = BTreeMap::new();
    let mut by_id: BTreeMap<Id, Vec<String>> = BTreeMap::new();
    for DecodedFlag { flag, .. } in flags {
        validate_flag(flag, problems);
        if !flag.key.is_empty() {
            by_key.entry(&flag.key).or_default().push(flag.id);
        }
        by_id.entry(flag.id).or_default().push(format!("{:?}", flag.key));
    }
    for (key, ids) in by_key {
        if ids.len() > 1 {
            problems
                .errors
                .push(format!("duplicate flag key {key:?}: flags {}", join(&ids)));
        }
    }
    // Flagr would keep the last such flag under the id; Bunting's index needs ids unique.
    for (id, keys) in by_id {
        if keys.len() > 1 {
            problems
                .errors
                .push(format!("duplicate flag id {id}: flags {}", keys.join(", ")));
        }
    }
}

fn validate_flag(flag: &Flag, problems: &mut Problems) {
    let label = if flag.key.is_empty() {
        format!("flag (id {})", flag.id)
    } else {
        format!("flag {:?} (id {})", flag.key, flag.id)
    };
    if flag.key.is_empty() {
        problems.error(&label, "empty key");
    }
    if flag.variants.is_empty() {
        problems.warning(&label, "no variants");
    }
    let mut variant_keys: BTreeMap<&str, Vec<Id>> = BTreeMap::new();
    let mut variant_ids: BTreeMap<Id, usize> = BTreeMap::new();
    for variant in &flag.variants {
        if variant.key.is_empty() {
            problems.error(format_args!("{label}, variant {}", variant.id), "empty key");
        } else {
            variant_keys.entry(&variant.key).or_default().push(variant.id);
        }
        *variant_ids.entry(variant.id).or_default() += 1;
    }
    for (key, ids) in variant_keys {
        if ids.len() > 1 {
            problems.error(
                &label,
                format_args!("duplicate variant key {key:?}: variants {}", join(&ids)),
            );
        }
    }
    // Distributions name variants by id, so an id must name one variant.
    for (id, count) in variant_ids {
        if count > 1 {
            problems.error(&label, format_args!("duplicate variant id {id}"));
        }
    }
    if flag.segments.is_empty() {
        problems.warning(&label, "no segments");
    }
    for segment in &flag.segments {
        validate_segment(&format!("{label}, segment {}", segment.id), flag, segment, problems);
    }
}

fn validate_segment(label: &str, flag: &Flag, segment: &Segment, problems: &mut Problems) {
    for constraint in &segment.constraints {
        let Constraint {
            id,
            property,
            operator,
            value,
        } = constraint;
        if let Err(error) = constraint::compile(property, operator, value) {
            problems.error(
                format_args!("{label}, constraint {id}"),
                format_args!("{property:?} {operator} {value:?} is invalid: {error}"),
            );
        }
    }
    if segment.distributions.is_empty() {
        problems.warning(label, "no distributions");
        return;
    }
    let mut sum: i64 = 0;
    for distribution in &segment.distributions {
        let at = format!("{label}, distribution {}", distribution.id);
        sum = sum.saturating_add(distribution.percent);
        if distribution.percent > 100 {
            problems.error(&at, format_args!("percent {} is above 100", distribution.percent));
        }
        if distribution.variant_key.is_empty() {
            if distribution.variant_id == 0 {
                problems.error(&at, "names no variant: no VariantKey or VariantID");
            }
        } else if !flag
            .variants
            .iter()
            .any(|variant| variant.key == distribution.variant_key)
        {
            problems.error(&at, format_args!("unknown variant key {:?}", distribution.variant_key));
        }
    }
    if sum != 100 {
        problems.error(label, format_args!("distributions sum to {sum}, not 100"));
    }
}

fn join(ids: &[Id]) -> String {
    ids.iter().map(Id::to_string).collect::<Vec<_>>().join(", ")
}
