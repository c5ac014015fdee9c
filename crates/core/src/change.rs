//! What counts as a change and how it is described: event types and the changed component.
//!
//! Event names are those of the webhooks seed (`flag.created`, `segment.rollout_percent.updated`,
//! ...) plus documented extensions (`flag.restored`, `webhook.created`/`updated`/`deleted`: changes
//! to webhooks are recorded in the change log too). Must not know who stores or sends events.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::environment::EnvironmentLabel;
use crate::flag::Id;

crate::named! {
    /// One kind of change. A single mutation may represent several (a segment update that changes
    /// both its description and its rollout is `segment.updated` and `segment.rollout_percent.updated`).
    pub enum EventType {
        FlagCreated => "flag.created",
        FlagUpdated => "flag.updated",
        FlagDeleted => "flag.deleted",
        FlagEnabled => "flag.enabled",
        FlagDisabled => "flag.disabled",
        /// Extension: a soft-deleted flag was restored.
        FlagRestored => "flag.restored",
        SegmentCreated => "segment.created",
        SegmentUpdated => "segment.updated",
        SegmentDeleted => "segment.deleted",
        SegmentRolloutPercentUpdated => "segment.rollout_percent.updated",
        VariantCreated => "variant.created",
        VariantUpdated => "variant.updated",
        VariantDeleted => "variant.deleted",
        VariantAttachmentUpdated => "variant.attachment.updated",
        ConstraintCreated => "constraint.created",
        ConstraintUpdated => "constraint.updated",
        ConstraintDeleted => "constraint.deleted",
        DistributionUpdated => "distribution.updated",
        /// Extension: a webhook was created.
        WebhookCreated => "webhook.created",
        /// Extension: a webhook's settings changed (URL, events, secret, enabled state, ...).
        WebhookUpdated => "webhook.updated",
        /// Extension: a webhook was deleted.
        WebhookDeleted => "webhook.deleted",
        /// Extension: an environment was created (empty or as a clone of another).
        EnvironmentCreated => "environment.created",
        /// Extension: an environment's name or description changed.
        EnvironmentUpdated => "environment.updated",
        /// Extension: an environment was deleted, with its flags and webhooks.
        EnvironmentDeleted => "environment.deleted",
        /// Extension: an API token was created.
        TokenCreated => "token.created",
        /// Extension: an API token was revoked.
        TokenRevoked => "token.revoked",
    }
}

crate::named! {
    /// The kind of object a change touched.
    pub enum ComponentType {
        Flag => "flag",
        Tag => "tag",
        Segment => "segment",
        Variant => "variant",
        Constraint => "constraint",
        Distribution => "distribution",
        Webhook => "webhook",
        Environment => "environment",
        Token => "token",
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
    /// Who made the change: a token's name, an identity's user, or [`ANONYMOUS`]. (Empty in
    /// changes recorded before Bunting named anonymous callers.)
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

/// The actor of a change nobody identified.
pub const ANONYMOUS: &str = "anonymous";

/// `actor`, unless it names nobody (empty, or [`ANONYMOUS`]).
pub fn identified(actor: &str) -> Option<&str> {
    Some(actor).filter(|actor| !actor.is_empty() && *actor != ANONYMOUS)
}

impl ChangeEvent {
    /// Who made the change, when someone was identified.
    pub fn identified_actor(&self) -> Option<&str> {
        identified(&self.actor)
    }

    /// The change as the change-log API shows it, in `environment`. Field names follow the
    /// webhook payload so that one parser serves both.
    pub fn to_json(&self, environment: &EnvironmentLabel) -> Result<String, serde_json::Error> {
        serde_json::to_string(&ChangeJson {
            id: &self.event_id,
            sequence: self.seq,
            environment,
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
    environment: &'a EnvironmentLabel,
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
