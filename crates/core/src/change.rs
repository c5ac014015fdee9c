//! What counts as a change and how it is described: event types and the changed component.
//!
//! Event names are those of the webhooks seed (`flag.created`, `segment.rollout_percent.updated`,
//! ...) plus documented extensions (`flag.restored`, `webhook.created`/`updated`/`deleted`: changes
//! to webhooks are recorded in the change log too). Must not know who stores or sends events.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::flag::Id;

/// One kind of change. A single mutation may represent several (a segment update that changes
/// both its description and its rollout is `segment.updated` and `segment.rollout_percent.updated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "flag.created")]
    FlagCreated,
    #[serde(rename = "flag.updated")]
    FlagUpdated,
    #[serde(rename = "flag.deleted")]
    FlagDeleted,
    #[serde(rename = "flag.enabled")]
    FlagEnabled,
    #[serde(rename = "flag.disabled")]
    FlagDisabled,
    /// Extension: a soft-deleted flag was restored.
    #[serde(rename = "flag.restored")]
    FlagRestored,
    #[serde(rename = "segment.created")]
    SegmentCreated,
    #[serde(rename = "segment.updated")]
    SegmentUpdated,
    #[serde(rename = "segment.deleted")]
    SegmentDeleted,
    #[serde(rename = "segment.rollout_percent.updated")]
    SegmentRolloutPercentUpdated,
    #[serde(rename = "variant.created")]
    VariantCreated,
    #[serde(rename = "variant.updated")]
    VariantUpdated,
    #[serde(rename = "variant.deleted")]
    VariantDeleted,
    #[serde(rename = "variant.attachment.updated")]
    VariantAttachmentUpdated,
    #[serde(rename = "constraint.created")]
    ConstraintCreated,
    #[serde(rename = "constraint.updated")]
    ConstraintUpdated,
    #[serde(rename = "constraint.deleted")]
    ConstraintDeleted,
    #[serde(rename = "distribution.updated")]
    DistributionUpdated,
    /// Extension: a webhook was created.
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    /// Extension: a webhook's settings changed (URL, events, secret, enabled state, ...).
    #[serde(rename = "webhook.updated")]
    WebhookUpdated,
    /// Extension: a webhook was deleted.
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
}

impl EventType {
    pub const ALL: [EventType; 21] = [
        EventType::FlagCreated,
        EventType::FlagUpdated,
        EventType::FlagDeleted,
        EventType::FlagEnabled,
        EventType::FlagDisabled,
        EventType::FlagRestored,
        EventType::SegmentCreated,
        EventType::SegmentUpdated,
        EventType::SegmentDeleted,
        EventType::SegmentRolloutPercentUpdated,
        EventType::VariantCreated,
        EventType::VariantUpdated,
        EventType::VariantDeleted,
        EventType::VariantAttachmentUpdated,
        EventType::ConstraintCreated,
        EventType::ConstraintUpdated,
        EventType::ConstraintDeleted,
        EventType::DistributionUpdated,
        EventType::WebhookCreated,
        EventType::WebhookUpdated,
        EventType::WebhookDeleted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::FlagCreated => "flag.created",
            EventType::FlagUpdated => "flag.updated",
            EventType::FlagDeleted => "flag.deleted",
            EventType::FlagEnabled => "flag.enabled",
            EventType::FlagDisabled => "flag.disabled",
            EventType::FlagRestored => "flag.restored",
            EventType::SegmentCreated => "segment.created",
            EventType::SegmentUpdated => "segment.updated",
            EventType::SegmentDeleted => "segment.deleted",
            EventType::SegmentRolloutPercentUpdated => "segment.rollout_percent.updated",
            EventType::VariantCreated => "variant.created",
            EventType::VariantUpdated => "variant.updated",
            EventType::VariantDeleted => "variant.deleted",
            EventType::VariantAttachmentUpdated => "variant.attachment.updated",
            EventType::ConstraintCreated => "constraint.created",
            EventType::ConstraintUpdated => "constraint.updated",
            EventType::ConstraintDeleted => "constraint.deleted",
            EventType::DistributionUpdated => "distribution.updated",
            EventType::WebhookCreated => "webhook.created",
            EventType::WebhookUpdated => "webhook.updated",
            EventType::WebhookDeleted => "webhook.deleted",
        }
    }

    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|event| event.name() == name)
    }
}

/// The kind of object a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentType {
    Flag,
    Tag,
    Segment,
    Variant,
    Constraint,
    Distribution,
    Webhook,
}

impl ComponentType {
    pub fn name(self) -> &'static str {
        match self {
            ComponentType::Flag => "flag",
            ComponentType::Tag => "tag",
            ComponentType::Segment => "segment",
            ComponentType::Variant => "variant",
            ComponentType::Constraint => "constraint",
            ComponentType::Distribution => "distribution",
            ComponentType::Webhook => "webhook",
        }
    }

    pub fn from_name(name: &str) -> Option<ComponentType> {
        [
            ComponentType::Flag,
            ComponentType::Tag,
            ComponentType::Segment,
            ComponentType::Variant,
            ComponentType::Constraint,
            ComponentType::Distribution,
            ComponentType::Webhook,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }
}

/// What a change touched. `id` is absent where a change spans several objects of the type
/// (a segment reorder, a distribution replacement); `key` is set where the object has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: ComponentType,
    pub id: Option<Id>,
    pub key: Option<String>,
}

impl Component {
    pub fn new(kind: ComponentType, id: Option<Id>, key: Option<&str>) -> Component {
        Component {
            kind,
            id,
            key: key.map(str::to_owned),
        }
    }
}

/// One thing a change did: its event type and the object it touched. A change can do several
/// (a segment update of description and rollout; a reorder moving several segments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "event")]
    pub kind: EventType,
    pub component: Component,
}

impl Event {
    pub fn new(kind: EventType, component_type: ComponentType, id: Option<Id>, key: Option<&str>) -> Event {
        Event {
            kind,
            component: Component::new(component_type, id, key),
        }
    }
}

/// One entry of the change log: a single mutation, with everything a reader downstream needs
/// (history, Flagr's snapshots, webhook payloads, other instances' caches).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// Global, commit-ordered, gap-free among committed changes.
    pub seq: i64,
    /// A UUID naming the change.
    pub event_id: String,
    pub occurred_at: OffsetDateTime,
    /// Who made the change; empty when no identity source is configured (as Flagr's `updatedBy`).
    pub actor: String,
    pub environment_id: i64,
    pub flag_id: Option<Id>,
    pub flag_key: Option<String>,
    /// What happened, in order; never empty (a mutation that changes nothing records nothing).
    pub events: Vec<Event>,
    /// The object before and after the change as JSON text (for flags, exactly the body of
    /// `GET /api/v1/flags/{id}`); `None` before a create.
    pub previous: Option<String>,
    pub current: Option<String>,
}

impl ChangeEvent {
    /// The change as the change-log API shows it. Field names follow the webhook payload so
    /// that one parser serves both.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&ChangeJson {
            id: &self.event_id,
            sequence: self.seq,
            events: &self.events,
            flag_id: self.flag_id,
            flag_key: self.flag_key.as_deref(),
            timestamp: rfc3339(self.occurred_at),
            actor: &self.actor,
            data: raw(self.current.as_deref())?,
            previous: raw(self.previous.as_deref())?,
        })
    }
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    id: &'a str,
    sequence: i64,
    events: &'a [Event],
    flag_id: Option<Id>,
    flag_key: Option<&'a str>,
    timestamp: String,
    actor: &'a str,
    data: Option<&'a RawValue>,
    previous: Option<&'a RawValue>,
}

/// Embeds stored JSON text as it is, without re-serializing it.
pub fn raw(text: Option<&str>) -> Result<Option<&RawValue>, serde_json::Error> {
    text.map(serde_json::from_str).transpose()
}

/// RFC 3339 in UTC, as every timestamp Bunting adds (change log, webhook payloads) is written.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for event in EventType::ALL {
            assert_eq!(EventType::from_name(event.name()), Some(event));
            assert_eq!(serde_json::to_value(event).unwrap(), event.name());
        }
        assert_eq!(EventType::from_name("flag.exploded"), None);
    }

    #[test]
    fn event_names_are_unique_and_deserialize() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|event| event.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        for event in EventType::ALL {
            let parsed: EventType = serde_json::from_value(event.name().into()).unwrap();
            assert_eq!(parsed, event);
        }
    }

    #[test]
    fn webhook_changes_are_change_events() {
        for (event, name) in [
            (EventType::WebhookCreated, "webhook.created"),
            (EventType::WebhookUpdated, "webhook.updated"),
            (EventType::WebhookDeleted, "webhook.deleted"),
        ] {
            assert!(EventType::ALL.contains(&event), "{name}");
            assert_eq!(event.name(), name);
        }
        // A test delivery is not a change: it never enters the change log.
        assert_eq!(EventType::from_name("webhook.test"), None);
    }

    #[test]
    fn component_names_round_trip_and_match_serde() {
        for (kind, name) in [
            (ComponentType::Flag, "flag"),
            (ComponentType::Tag, "tag"),
            (ComponentType::Segment, "segment"),
            (ComponentType::Variant, "variant"),
            (ComponentType::Constraint, "constraint"),
            (ComponentType::Distribution, "distribution"),
            (ComponentType::Webhook, "webhook"),
        ] {
            assert_eq!(kind.name(), name);
            assert_eq!(ComponentType::from_name(name), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            let parsed: ComponentType = serde_json::from_value(name.into()).unwrap();
            assert_eq!(parsed, kind);
        }
        assert_eq!(ComponentType::from_name("webhooks"), None);
    }
}
