//! What counts as a change and how it is described: event types and the changed component.
//!
//! Event names are those of the webhooks seed (`flag.created`, `segment.rollout_percent.updated`,
//! ...) plus documented extensions (`flag.restored`). Must not know who stores or sends events.

use serde::{Deserialize, Serialize};

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
}

impl EventType {
    pub const ALL: [EventType; 18] = [
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
        }
    }

    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|event| event.name() == name)
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
}
