//! The readable sentence for one event of a change ("Flag checkout enabled", "Segment 3 of
//! checkout: rollout 20% → 50%"), derived from the event type and the objects before and after.
//! One function, so the audit stream, chat messages and Sentry's log all say the same thing.

use crate::change::{ChangeEvent, ComponentType, Event, EventType};
use crate::flag::{Constraint, Flag, Id, Segment};

/// The sentence for `event`, one of `change`'s events. Never fails: when the flag documents do
/// not say more (an unreadable or missing document), the sentence names the object by id.
pub fn sentence(change: &ChangeEvent, event: &Event) -> String {
    let component = &event.component;
    if component.kind == ComponentType::Webhook {
        let id = component.id.unwrap_or_default();
        return format!("Webhook {id} {}", verb(event.kind));
    }

    let before = flag(change.previous.as_deref());
    let after = flag(change.current.as_deref());
    let key = change
        .flag_key
        .clone()
        .unwrap_or_else(|| format!("{}", change.flag_id.unwrap_or_default()));
    let id = component.id.unwrap_or_default();
    match event.kind {
        EventType::FlagUpdated if component.kind == ComponentType::Tag => {
            let tag = component.key.as_deref().unwrap_or_default();
            let attached = after.as_ref().is_some_and(|flag| flag.tags.iter().any(|t| t.id == id));
            if attached {
                format!("Tag {tag} added to {key}")
            } else {
                format!("Tag {tag} removed from {key}")
            }
        }
        EventType::FlagUpdated => match (&before, &after) {
            (Some(before), Some(after)) if before.key != after.key => {
                format!("Flag {} renamed to {}", before.key, after.key)
            }
            _ => format!("Flag {key} updated"),
        },
        EventType::FlagCreated
        | EventType::FlagDeleted
        | EventType::FlagEnabled
        | EventType::FlagDisabled
        | EventType::FlagRestored => format!("Flag {key} {}", verb(event.kind)),
        EventType::SegmentRolloutPercentUpdated => {
            let percent = |flag: &Option<Flag>| {
                segment(flag, id).map_or_else(|| "?".to_owned(), |s| s.rollout_percent.to_string())
            };
            format!(
                "Segment {id} of {key}: rollout {}% → {}%",
                percent(&before),
                percent(&after)
            )
        }
        EventType::SegmentCreated | EventType::SegmentUpdated | EventType::SegmentDeleted => {
            format!("Segment {id} of {key} {}", verb(event.kind))
        }
        EventType::VariantAttachmentUpdated => {
            let variant = component.key.as_deref().unwrap_or_default();
            format!("Variant {variant} of {key}: attachment updated")
        }
        EventType::VariantUpdated => {
            let variant_key = |flag: &Option<Flag>| {
                flag.as_ref()
                    .and_then(|flag| flag.variants.iter().find(|v| v.id == id))
                    .map(|v| v.key.clone())
            };
            match (variant_key(&before), variant_key(&after)) {
                (Some(old), Some(new)) if old != new => format!("Variant {old} of {key} renamed to {new}"),
                _ => format!(
                    "Variant {} of {key} updated",
                    component.key.as_deref().unwrap_or_default()
                ),
            }
        }
        EventType::VariantCreated | EventType::VariantDeleted => {
            let variant = component.key.as_deref().unwrap_or_default();
            format!("Variant {variant} of {key} {}", verb(event.kind))
        }
        EventType::ConstraintCreated | EventType::ConstraintUpdated | EventType::ConstraintDeleted => {
            // A deleted constraint is only in the flag before; the others read best as they are now.
            let found = if event.kind == EventType::ConstraintDeleted {
                constraint(&before, id)
            } else {
                constraint(&after, id)
            };
            match found {
                Some((segment_id, c)) => format!(
                    "Segment {segment_id} of {key}: constraint {} {} {} {}",
                    c.property,
                    c.operator,
                    c.value,
                    verb(event.kind)
                ),
                None => format!("Constraint {id} of {key} {}", verb(event.kind)),
            }
        }
        EventType::DistributionUpdated => match changed_distribution(&before, &after) {
            Some(segment) => {
                let shares: Vec<String> = segment
                    .distributions
                    .iter()
                    .map(|d| format!("{} {}%", d.variant_key, d.percent))
                    .collect();
                format!("Segment {} of {key}: distribution {}", segment.id, shares.join(", "))
            }
            None => format!("Distribution of {key} updated"),
        },
        EventType::WebhookCreated | EventType::WebhookUpdated | EventType::WebhookDeleted => {
            format!("Webhook {id} {}", verb(event.kind))
        }
        EventType::EnvironmentCreated | EventType::EnvironmentUpdated | EventType::EnvironmentDeleted => {
            format!(
                "Environment {} {}",
                component.key.as_deref().unwrap_or_default(),
                verb(event.kind)
            )
        }
        EventType::TokenCreated | EventType::TokenRevoked => format!(
            "Token {} {}",
            component.key.as_deref().unwrap_or_default(),
            verb(event.kind)
        ),
    }
}

/// The past-tense verb an event type's name ends with.
fn verb(kind: EventType) -> &'static str {
    let name = kind.name();
    match name.rsplit('.').next().unwrap_or(name) {
        "created" => "created",
        "deleted" => "deleted",
        "enabled" => "enabled",
        "disabled" => "disabled",
        "restored" => "restored",
        "revoked" => "revoked",
        _ => "updated",
    }
}

fn flag(json: Option<&str>) -> Option<Flag> {
    json.and_then(|json| serde_json::from_str(json).ok())
}

fn segment(flag: &Option<Flag>, id: Id) -> Option<&Segment> {
    flag.as_ref()?.segments.iter().find(|segment| segment.id == id)
}

fn constraint(flag: &Option<Flag>, id: Id) -> Option<(Id, &Constraint)> {
    flag.as_ref()?
        .segments
        .iter()
        .find_map(|segment| segment.constraints.iter().find(|c| c.id == id).map(|c| (segment.id, c)))
}

/// The segment (after the change) whose distribution differs from before.
fn changed_distribution<'a>(before: &Option<Flag>, after: &'a Option<Flag>) -> Option<&'a Segment> {
    after
        .as_ref()?
        .segments
        .iter()
        .find(|segment| self::segment(before, segment.id).is_none_or(|old| old.distributions != segment.distributions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Component;
    use serde_json::json;
    use time::macros::datetime;

    fn flag_json(enabled: bool, rollout: i64, variant_key: &str) -> String {
        json!({
            "id": 7, "key": "checkout", "description": "", "enabled": enabled, "dataRecordsEnabled": false,
            "updatedAt": "2026-12-01T10:00:00.000Z",
            "tags": [{"id": 9, "value": "web"}],
            "variants": [{"id": 4, "key": variant_key, "attachment": {}}],
            "segments": [{"id": 3, "description": "all", "rank": 0, "rolloutPercent": rollout,
                "constraints": [{"id": 11, "property": "country", "operator": "EQ", "value": "\"NL\""}],
                "distributions": [{"id": 1, "percent": rollout, "variantID": 4, "variantKey": variant_key}]}]
        })
        .to_string()
    }

    fn say(kind: EventType, component: Component, before: Option<String>, after: Option<String>) -> String {
        let event = Event { kind, component };
        let change = ChangeEvent {
            seq: 1,
            event_id: "c".into(),
            occurred_at: datetime!(2026-12-01 10:00 UTC),
            actor: String::new(),
            environment_id: 1,
            flag_id: Some(7),
            flag_key: Some("checkout".into()),
            events: vec![event.clone()],
            previous: before,
            current: after,
        };
        sentence(&change, &event)
    }

    #[test]
    fn sentences_name_what_changed() {
        let flag = |kind| Component::new(kind, Some(7), Some("checkout"));
        let (off, on) = (Some(flag_json(false, 20, "on")), Some(flag_json(true, 50, "on")));
        let cases = [
            (
                EventType::FlagEnabled,
                flag(ComponentType::Flag),
                "Flag checkout enabled",
            ),
            (
                EventType::FlagCreated,
                flag(ComponentType::Flag),
                "Flag checkout created",
            ),
            (
                EventType::SegmentRolloutPercentUpdated,
                Component::new(ComponentType::Segment, Some(3), None),
                "Segment 3 of checkout: rollout 20% → 50%",
            ),
            (
                EventType::ConstraintUpdated,
                Component::new(ComponentType::Constraint, Some(11), None),
                "Segment 3 of checkout: constraint country EQ \"NL\" updated",
            ),
            (
                EventType::DistributionUpdated,
                Component::new(ComponentType::Distribution, None, None),
                "Segment 3 of checkout: distribution on 50%",
            ),
            (
                EventType::VariantAttachmentUpdated,
                Component::new(ComponentType::Variant, Some(4), Some("on")),
                "Variant on of checkout: attachment updated",
            ),
            (
                EventType::FlagUpdated,
                Component::new(ComponentType::Tag, Some(9), Some("web")),
                "Tag web added to checkout",
            ),
            (
                EventType::WebhookDeleted,
                Component::new(ComponentType::Webhook, Some(2), None),
                "Webhook 2 deleted",
            ),
        ];
        for (kind, component, expected) in cases {
            assert_eq!(say(kind, component, off.clone(), on.clone()), expected);
        }
        let renamed = say(
            EventType::VariantUpdated,
            Component::new(ComponentType::Variant, Some(4), Some("green")),
            Some(flag_json(true, 50, "on")),
            Some(flag_json(true, 50, "green")),
        );
        assert_eq!(renamed, "Variant on of checkout renamed to green");
        let unreadable = say(
            EventType::ConstraintDeleted,
            Component::new(ComponentType::Constraint, Some(12), None),
            None,
            None,
        );
        assert_eq!(unreadable, "Constraint 12 of checkout deleted");
    }
}
