//! Promoting a flag from one environment to another: the target takes the source's whole
//! configuration (enabled, description, notes, entity type, data records, tags, variants, and
//! segments with their constraints and distributions) under the same flag id. The change is
//! described by the same events a manual edit fires, so the target's webhooks hear a promotion
//! exactly as they would hear someone making those edits by hand.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::change::{ComponentType, Event, EventType};
use crate::constraint;
use crate::flag::{Attachment, Flag, Id, Segment, StoredFlag};
use crate::mutation::{MutationError, Origin, Outcome};

crate::named! {
    /// What a promotion does to the target's flag.
    pub enum PromotionAction {
        Create => "create",
        Update => "update",
        Unchanged => "unchanged",
    }
}

/// One flag's promotion: what it does and, unless nothing changes, the outcome to write.
#[derive(Debug, Clone)]
pub struct PromotedFlag {
    pub action: PromotionAction,
    pub outcome: Outcome,
}

/// The target's flag after taking `source`'s configuration; `target` is the target's flag with
/// the same key, if it has one. The outcome's snapshot id is left for the caller to stamp, and
/// the tags keep the source's ids until the caller maps them to the target's.
pub fn promote(
    source: &Flag,
    target: Option<&StoredFlag>,
    origin: &Origin,
    at: OffsetDateTime,
) -> Result<PromotedFlag, MutationError> {
    let refuse = |reason: String| MutationError::Invalid(format!("cannot promote flag {}: {reason}", source.key));
    if let Some(target) = target {
        if target.deleted {
            return Err(refuse(
                "it is deleted in the target environment; restore it there first".into(),
            ));
        }
        if target.flag.id != source.id {
            return Err(refuse(format!(
                "it is flag {} in the target environment and flag {} in the source; a key keeps one id in every \
                 environment",
                target.flag.id, source.id
            )));
        }
    }
    for segment in &source.segments {
        for c in &segment.constraints {
            constraint::compile(&c.property, &c.operator, &c.value).map_err(|error| {
                refuse(format!(
                    "constraint {} ({} {} {}) of segment {} does not compile: {error}",
                    c.id, c.property, c.operator, c.value, segment.id
                ))
            })?;
        }
    }
    let mut after = source.clone();
    after.updated_by = origin.actor.clone();
    after.updated_at = at;
    if let Some(target) = target {
        after.created_by = target.flag.created_by.clone();
    }
    let (action, events) = match target {
        None => {
            let mut events = vec![flag_event(EventType::FlagCreated, &after)];
            if after.enabled {
                events.push(flag_event(EventType::FlagEnabled, &after));
            }
            (PromotionAction::Create, events)
        }
        Some(target) => {
            let events = differences(&target.flag, &after);
            let action = if events.is_empty() {
                PromotionAction::Unchanged
            } else {
                PromotionAction::Update
            };
            (action, events)
        }
    };
    Ok(PromotedFlag {
        action,
        outcome: Outcome {
            before: target.cloned(),
            after: StoredFlag {
                flag: after,
                deleted: false,
                snapshot_id: target.map_or(0, |target| target.snapshot_id),
            },
            events,
        },
    })
}

fn flag_event(kind: EventType, flag: &Flag) -> Event {
    Event::new(kind, ComponentType::Flag, Some(flag.id), Some(&flag.key))
}

/// The events a manual edit from `before` to `after` would have fired, in Flagr's terms.
fn differences(before: &Flag, after: &Flag) -> Vec<Event> {
    let mut events = Vec::new();
    if before.enabled != after.enabled {
        let kind = if after.enabled {
            EventType::FlagEnabled
        } else {
            EventType::FlagDisabled
        };
        events.push(flag_event(kind, after));
    }
    let tag_values = |flag: &Flag| -> Vec<String> {
        let mut values: Vec<String> = flag.tags.iter().map(|tag| tag.value.clone()).collect();
        values.sort();
        values
    };
    if before.description != after.description
        || before.notes != after.notes
        || before.entity_type != after.entity_type
        || before.data_records_enabled != after.data_records_enabled
        || tag_values(before) != tag_values(after)
    {
        events.push(flag_event(EventType::FlagUpdated, after));
    }
    let (old, new) = (variants(before), variants(after));
    for (id, (key, attachment)) in &new {
        let variant = |kind| Event::new(kind, ComponentType::Variant, Some(*id), Some(key));
        match old.get(id) {
            None => events.push(variant(EventType::VariantCreated)),
            Some((old_key, old_attachment)) => {
                if old_key != key {
                    events.push(variant(EventType::VariantUpdated));
                }
                if old_attachment != attachment {
                    events.push(variant(EventType::VariantAttachmentUpdated));
                }
            }
        }
    }
    for (id, (key, _)) in &old {
        if !new.contains_key(id) {
            events.push(Event::new(
                EventType::VariantDeleted,
                ComponentType::Variant,
                Some(*id),
                Some(key),
            ));
        }
    }
    let segments = |flag: &Flag| -> BTreeMap<Id, Segment> {
        flag.segments
            .iter()
            .map(|segment| (segment.id, segment.clone()))
            .collect()
    };
    let (old, new) = (segments(before), segments(after));
    for (id, segment) in &new {
        match old.get(id) {
            None => events.push(segment_event(EventType::SegmentCreated, *id)),
            Some(previous) => segment_differences(previous, segment, &mut events),
        }
    }
    for id in old.keys() {
        if !new.contains_key(id) {
            events.push(segment_event(EventType::SegmentDeleted, *id));
        }
    }
    events
}

fn variants(flag: &Flag) -> BTreeMap<Id, (&str, &Attachment)> {
    flag.variants
        .iter()
        .map(|variant| (variant.id, (variant.key.as_str(), &variant.attachment)))
        .collect()
}

fn segment_event(kind: EventType, id: Id) -> Event {
    Event::new(kind, ComponentType::Segment, Some(id), None)
}

fn segment_differences(before: &Segment, after: &Segment, events: &mut Vec<Event>) {
    if before.description != after.description || before.rank != after.rank {
        events.push(segment_event(EventType::SegmentUpdated, after.id));
    }
    if before.rollout_percent != after.rollout_percent {
        events.push(segment_event(EventType::SegmentRolloutPercentUpdated, after.id));
    }
    let constraint = |kind, id| Event::new(kind, ComponentType::Constraint, Some(id), None);
    for c in &after.constraints {
        match before.constraints.iter().find(|old| old.id == c.id) {
            None => events.push(constraint(EventType::ConstraintCreated, c.id)),
            Some(old) if old != c => events.push(constraint(EventType::ConstraintUpdated, c.id)),
            Some(_) => {}
        }
    }
    for old in &before.constraints {
        if !after.constraints.iter().any(|c| c.id == old.id) {
            events.push(constraint(EventType::ConstraintDeleted, old.id));
        }
    }
    if before.distributions != after.distributions {
        events.push(Event::new(
            EventType::DistributionUpdated,
            ComponentType::Distribution,
            None,
            None,
        ));
    }
}

#[cfg(test)]
mod tests;
