//! The event catalogue: every event a webhook can receive, with a one-line description of exactly
//! when it fires and the object group it belongs to. It backs `GET /api/v1/webhook_events` and the
//! UI's grouped checklist, and it is the list [`super::filter`] validates subscriptions against.
//!
//! Owns names and descriptions only; when an event fires is decided by [`crate::mutation`], and the
//! descriptions here must follow it.

use serde::Serialize;

/// The object an event is about: the part of its name before the first dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventGroup {
    Flag,
    Segment,
    Variant,
    Constraint,
    Distribution,
    Webhook,
    Environment,
    Token,
}

/// One event of the catalogue, serialised as `{"name", "group", "description"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EventInfo {
    pub name: &'static str,
    pub group: EventGroup,
    pub description: &'static str,
}

/// The event of a test delivery. It is not a change, so it never enters the change log; it is
/// sent to one webhook on request and always reaches it, whatever that webhook subscribes to.
pub const TEST_EVENT: &str = "webhook.test";

const fn event(name: &'static str, group: EventGroup, description: &'static str) -> EventInfo {
    EventInfo {
        name,
        group,
        description,
    }
}

/// Every event, grouped in display order: flag, segment, variant, constraint, distribution,
/// webhook. The change events are exactly [`crate::change::EventType::ALL`]; the one other entry
/// is [`TEST_EVENT`].
pub const CATALOGUE: &[EventInfo] = &[
    event("flag.created", EventGroup::Flag, "a flag was created or duplicated"),
    event(
        "flag.updated",
        EventGroup::Flag,
        "a flag's key, description, notes, entity type, data-records setting or tags changed",
    ),
    event(
        "flag.deleted",
        EventGroup::Flag,
        "a flag was deleted (it can be restored)",
    ),
    event(
        "flag.enabled",
        EventGroup::Flag,
        "the flag was switched on (only when its state flips)",
    ),
    event(
        "flag.disabled",
        EventGroup::Flag,
        "the flag was switched off (only when its state flips)",
    ),
    event("flag.restored", EventGroup::Flag, "a deleted flag was restored"),
    event("segment.created", EventGroup::Segment, "a segment was added to a flag"),
    event(
        "segment.updated",
        EventGroup::Segment,
        "a segment's description or rank changed (reorder updates each segment whose rank changed)",
    ),
    event("segment.deleted", EventGroup::Segment, "a segment was deleted"),
    event(
        "segment.rollout_percent.updated",
        EventGroup::Segment,
        "a segment's rollout percent changed",
    ),
    event("variant.created", EventGroup::Variant, "a variant was added to a flag"),
    event("variant.updated", EventGroup::Variant, "a variant's key changed"),
    event("variant.deleted", EventGroup::Variant, "a variant was deleted"),
    event(
        "variant.attachment.updated",
        EventGroup::Variant,
        "a variant's attachment changed",
    ),
    event(
        "constraint.created",
        EventGroup::Constraint,
        "a constraint was added to a segment",
    ),
    event(
        "constraint.updated",
        EventGroup::Constraint,
        "a constraint's property, operator or value changed",
    ),
    event("constraint.deleted", EventGroup::Constraint, "a constraint was deleted"),
    event(
        "distribution.updated",
        EventGroup::Distribution,
        "a segment's distribution was replaced with a different one",
    ),
    event("webhook.created", EventGroup::Webhook, "a webhook was created"),
    event("webhook.updated", EventGroup::Webhook, "a webhook's settings changed"),
    event("webhook.deleted", EventGroup::Webhook, "a webhook was deleted"),
    event(
        TEST_EVENT,
        EventGroup::Webhook,
        "a test delivery was requested; it reaches only the webhook it is sent to, \
         whatever that webhook subscribes to",
    ),
    event(
        "environment.created",
        EventGroup::Environment,
        "an environment was created",
    ),
    event(
        "environment.updated",
        EventGroup::Environment,
        "an environment's name or description changed",
    ),
    event(
        "environment.deleted",
        EventGroup::Environment,
        "an environment was deleted, with its flags and webhooks",
    ),
    event("token.created", EventGroup::Token, "an API token was created"),
    event("token.revoked", EventGroup::Token, "an API token was revoked"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::EventType;

    #[test]
    fn holds_every_change_event_and_the_test_event_once() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|event| event.name()).collect();
        names.push(TEST_EVENT);
        names.sort_unstable();
        let mut catalogued: Vec<&str> = CATALOGUE.iter().map(|info| info.name).collect();
        catalogued.sort_unstable();
        assert_eq!(catalogued, names);
    }

    #[test]
    fn group_is_the_name_prefix() {
        for info in CATALOGUE {
            let group = serde_json::to_value(info.group).unwrap();
            let prefix = info.name.split('.').next().unwrap();
            assert_eq!(group, prefix, "{}", info.name);
        }
    }

    #[test]
    fn groups_are_contiguous_for_the_checklist() {
        let mut seen: Vec<EventGroup> = Vec::new();
        for info in CATALOGUE {
            if seen.last() != Some(&info.group) {
                assert!(!seen.contains(&info.group), "{} is out of place", info.name);
                seen.push(info.group);
            }
        }
        assert_eq!(seen.len(), 8);
    }

    #[test]
    fn every_event_is_described() {
        for info in CATALOGUE {
            assert!(!info.description.is_empty(), "{}", info.name);
            assert!(!info.description.ends_with('.'), "{}", info.name);
        }
    }

    #[test]
    fn serialises_for_the_api() {
        let json = serde_json::to_value(CATALOGUE[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "flag.created",
                "group": "flag",
                "description": "a flag was created or duplicated",
            })
        );
    }
}
