//! The flag document: a flag with its tags, variants, segments, constraints and distributions.
//!
//! The JSON form of [`Flag`] is exactly Flagr's `GET /api/v1/flags/{id}` body. That form is part of
//! the domain, not only of the HTTP layer: the change log records the flag before and after every
//! mutation in it, webhooks carry it as `data`/`previous`, and Flagr's snapshots expose it. So the
//! serde attributes here are the documented contract and must not change with an internal rename.
//!
//! Must not touch: storage, HTTP, the clock (times come in as values).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Flag ids, like every other id here, are Flagr's positive int64 ids.
pub type Id = i64;

/// A flag with everything it owns, in Flagr's orderings: segments by (rank, id), variants by id,
/// tags by id, constraints in creation order, distributions by variant id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    pub id: Id,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    pub description: String,
    pub enabled: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    pub data_records_enabled: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub updated_by: String,
    /// RFC 3339 with milliseconds, as Flagr's go-openapi DateTime prints it.
    #[serde(with = "millis_rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub id: Id,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub id: Id,
    pub key: String,
    /// Always a JSON object (`{}` when none was given).
    pub attachment: Attachment,
}

/// A variant's attachment: a JSON object, held as the exact text it serializes to.
///
/// Every flag in the evaluation snapshot holds its attachments for as long as it lives, and
/// as a parsed map each one took about 0.6 KB (a B-tree node plus every key and value on its
/// own); as text it is one allocation of its JSON length. The text is the map's own compact
/// serialization (keys in sorted order, as `serde_json::Map` without `preserve_order` prints
/// them), made when the attachment is read, so it serializes to the same bytes as the map did,
/// and two attachments are equal exactly when their texts are.
#[derive(Debug, Clone)]
pub struct Attachment(Box<RawValue>);

impl Attachment {
    /// The attachment as a JSON object, parsed from its text.
    pub fn to_map(&self) -> Map<String, Value> {
        // The text was printed from a map, so it always parses back into one.
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.0.get() == "{}"
    }
}

impl From<Map<String, Value>> for Attachment {
    // A map of JSON values (string keys) always prints, and prints valid JSON.
    #[allow(clippy::expect_used)]
    fn from(map: Map<String, Value>) -> Self {
        Attachment(serde_json::value::to_raw_value(&map).expect("a JSON map prints as JSON"))
    }
}

impl Default for Attachment {
    fn default() -> Self {
        Attachment::from(Map::new())
    }
}

impl PartialEq for Attachment {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for Attachment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Read through a map whatever the input's key order and spacing, so the text is always the
/// map's own serialization.
impl<'de> Deserialize<'de> for Attachment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Attachment::from)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub id: Id,
    pub description: String,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    #[serde(default)]
    pub distributions: Vec<Distribution>,
    pub rank: i64,
    pub rollout_percent: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    pub id: Id,
    pub property: String,
    pub operator: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    pub id: Id,
    pub percent: i64,
    #[serde(rename = "variantID")]
    pub variant_id: Id,
    pub variant_key: String,
}

/// Which children a response carries. Flagr answers some routes with a partly loaded flag
/// (restore: tags only; `/enabled`: nothing), and clients compare against that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    Everything,
    TagsOnly,
    Nothing,
}

impl Flag {
    /// The flag as a route that loads only part of it returns it.
    pub fn loaded(&self, loaded: Loaded) -> Flag {
        let mut flag = self.clone();
        if loaded != Loaded::Everything {
            flag.segments.clear();
            flag.variants.clear();
        }
        if loaded == Loaded::Nothing {
            flag.tags.clear();
        }
        flag
    }

    pub fn segment(&self, id: Id) -> Option<&Segment> {
        self.segments.iter().find(|segment| segment.id == id)
    }

    pub fn variant(&self, id: Id) -> Option<&Variant> {
        self.variants.iter().find(|variant| variant.id == id)
    }

    /// Restores Flagr's orderings after a change; every mutation ends with it so that two equal
    /// flags always serialize to the same JSON.
    pub(crate) fn sort_children(&mut self) {
        self.segments.sort_by_key(|segment| (segment.rank, segment.id));
        self.variants.sort_by_key(|variant| variant.id);
        self.tags.sort_by_key(|tag| tag.id);
        for segment in &mut self.segments {
            segment
                .distributions
                .sort_by_key(|distribution| distribution.variant_id);
        }
    }
}

/// A flag as stored: the document plus what Flagr keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFlag {
    pub flag: Flag,
    /// Soft-deleted flags keep their key reserved and can be restored.
    pub deleted: bool,
    /// The change-log sequence of the latest change to this flag (Flagr's `snapshot_id`).
    pub snapshot_id: i64,
}

/// Serde for Flagr's flag `updatedAt`: RFC 3339 in UTC with exactly three fraction digits.
mod millis_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description};

    pub(super) fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        let text = at
            .to_offset(time::UtcOffset::UTC)
            .format(&format)
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn flag() -> Flag {
        Flag {
            id: 1,
            key: String::new(),
            description: "d".into(),
            enabled: false,
            tags: vec![],
            segments: vec![],
            variants: vec![],
            data_records_enabled: false,
            entity_type: String::new(),
            notes: String::new(),
            created_by: String::new(),
            updated_by: String::new(),
            updated_at: datetime!(2026-01-02 03:04:05.6789 UTC),
        }
    }

    #[test]
    fn json_omits_empty_strings_and_keeps_arrays() {
        let json = serde_json::to_value(flag()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": 1, "description": "d", "enabled": false, "tags": [], "segments": [],
                "variants": [], "dataRecordsEnabled": false,
                "updatedAt": "2026-01-02T03:04:05.678Z"
            })
        );
    }

    #[test]
    fn attachments_print_as_the_map_did() {
        // Key order, spacing and escapes of the input are not kept: the text is the map's own.
        let input = r#"{"size": "large", "color": "bl\u0075e", "n": [1, 2.50, {"b": null, "a": true}]}"#;
        let attachment: Attachment = serde_json::from_str(input).unwrap();
        let map: Map<String, Value> = serde_json::from_str(input).unwrap();
        assert_eq!(
            serde_json::to_string(&attachment).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(serde_json::to_value(&attachment).unwrap(), Value::Object(map.clone()));
        assert_eq!(attachment.to_map(), map);
        assert_eq!(attachment, Attachment::from(map));
        assert!(!attachment.is_empty());
        assert!(Attachment::default().is_empty());
        assert!(serde_json::from_str::<Attachment>("[1]").is_err());
    }

    #[test]
    fn json_round_trips() {
        let mut original = flag();
        original.key = "k".into();
        original.updated_at = datetime!(2026-01-02 03:04:05.678 UTC);
        let text = serde_json::to_string(&original).unwrap();
        assert_eq!(serde_json::from_str::<Flag>(&text).unwrap(), original);
    }
}
