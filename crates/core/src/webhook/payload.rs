//! Delivery bodies: Bunting's event payload (the seed's fields plus id, sequence, actor,
//! component and previous), the test event, and Flagr's legacy notification. Bodies are built
//! once, when the delivery is enqueued, and sent byte for byte on every attempt, so a retry or a
//! redelivery carries exactly what was signed and logged the first time.

use serde::Serialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::catalogue::TEST_EVENT;
use crate::change::{ChangeEvent, Component, ComponentType, Event, EventType, raw, rfc3339};
use crate::environment::EnvironmentLabel;
use crate::flag::{Id, Tag};

#[derive(Serialize)]
struct EventPayload<'a> {
    id: &'a str,
    event: &'a str,
    sequence: i64,
    environment: &'a EnvironmentLabel,
    flag_id: Option<Id>,
    flag_key: Option<&'a str>,
    timestamp: String,
    actor: &'a str,
    component: Option<&'a Component>,
    data: Option<&'a RawValue>,
    previous: Option<&'a RawValue>,
}

/// The body for `event` (one of `change`'s events), under the event id `id`.
pub fn event_body(
    change: &ChangeEvent,
    event: &Event,
    id: &str,
    environment: &EnvironmentLabel,
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&EventPayload {
        id,
        event: event.kind.name(),
        sequence: change.seq,
        environment,
        flag_id: change.flag_id,
        flag_key: change.flag_key.as_deref(),
        timestamp: rfc3339(change.occurred_at),
        actor: &change.actor,
        component: Some(&event.component),
        data: raw(change.current.as_deref())?,
        previous: raw(change.previous.as_deref())?,
    })
}

/// The body of a `webhook.test` delivery to `webhook`: the event payload's shape, with sequence 0
/// (older than any change, so receivers that drop stale events drop it) and a message as data.
pub fn test_body(
    webhook_id: Id,
    id: &str,
    actor: &str,
    at: OffsetDateTime,
    environment: &EnvironmentLabel,
) -> Result<String, serde_json::Error> {
    let data = serde_json::to_string(&serde_json::json!({
        "message": "This is a test delivery from Bunting. Verify its signature like any other event."
    }))?;
    serde_json::to_string(&EventPayload {
        id,
        event: TEST_EVENT,
        sequence: 0,
        environment,
        flag_id: None,
        flag_key: None,
        timestamp: rfc3339(at),
        actor,
        component: Some(&Component::new(ComponentType::Webhook, Some(webhook_id), None)),
        data: raw(Some(&data))?,
        previous: None,
    })
}

/// Flagr's notification (`flagr-spec.md` §6): one per change, with Flagr's operation names.
#[derive(Serialize)]
struct FlagrNotification<'a> {
    operation: &'static str,
    flag_id: Option<Id>,
    flag_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pre_value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_value: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    user: &'a str,
    timestamp: String,
}

/// The legacy notification for a flag change; `None` for changes Flagr does not notify about
/// (changes to webhooks). With `detailed`, the flag before and after ride along as JSON text in
/// `pre_value`/`post_value`, as Flagr's `FLAGR_NOTIFICATION_DETAILED_DIFF_ENABLED` sends them.
pub fn flagr_notification_body(change: &ChangeEvent, detailed: bool) -> Result<Option<String>, serde_json::Error> {
    let Some(first) = change.events.first() else {
        return Ok(None);
    };
    let component = &first.component;
    let (operation, component_type) = match (component.kind, first.kind) {
        (ComponentType::Webhook | ComponentType::Token, _) => return Ok(None),
        (ComponentType::Flag, EventType::FlagCreated) => ("create", "flag"),
        (ComponentType::Flag, EventType::FlagDeleted) => ("delete", "flag"),
        (ComponentType::Flag, EventType::FlagRestored) => ("restore", "flag"),
        (ComponentType::Flag, _) => ("update", "flag"),
        (ComponentType::Tag, _) if tag_attached(change, component.id)? => ("create", "tag"),
        (ComponentType::Tag, _) => ("delete", "tag"),
        (kind, event) => {
            let name = event.name();
            let operation = if name.ends_with(".created") {
                "create"
            } else if name.ends_with(".deleted") {
                "delete"
            } else {
                "update"
            };
            (operation, kind.name())
        }
    };
    // Flagr names the component by key only for flags, variant creates/updates and tag creates.
    let component_key = match (component.kind, operation) {
        (ComponentType::Flag, _) | (ComponentType::Variant, "create" | "update") | (ComponentType::Tag, "create") => {
            component.key.as_deref()
        }
        _ => None,
    };
    let body = FlagrNotification {
        operation,
        flag_id: change.flag_id,
        flag_key: change.flag_key.as_deref(),
        component_type: Some(component_type),
        // A change that touched several objects (a reorder) names none, as Flagr sends 0.
        component_id: component
            .id
            .filter(|_| change.events.iter().all(|event| event.component == *component)),
        component_key,
        pre_value: if detailed { change.previous.as_deref() } else { None },
        post_value: if detailed { change.current.as_deref() } else { None },
        user: change.identified_actor().unwrap_or_default(),
        timestamp: change.occurred_at.format(&Rfc3339).unwrap_or_default(),
    };
    serde_json::to_string(&body).map(Some)
}

/// Whether a tag change attached the tag (it is on the flag afterwards) rather than detached it.
fn tag_attached(change: &ChangeEvent, tag_id: Option<Id>) -> Result<bool, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Tagged {
        tags: Vec<Tag>,
    }
    let Some(current) = change.current.as_deref() else {
        return Ok(false);
    };
    let flag: Tagged = serde_json::from_str(current)?;
    Ok(flag.tags.iter().any(|tag| Some(tag.id) == tag_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use time::macros::datetime;

    fn change(kinds: Vec<EventType>, component: Component) -> ChangeEvent {
        ChangeEvent {
            seq: 42,
            event_id: "change-1".into(),
            occurred_at: datetime!(2026-12-01 10:15:30.5 UTC),
            actor: "alice@example.com".into(),
            environment_id: 1,
            flag_id: Some(7),
            flag_key: Some("checkout".into()),
            events: kinds
                .into_iter()
                .map(|kind| Event {
                    kind,
                    component: component.clone(),
                })
                .collect(),
            previous: Some(r#"{"id":7,"key":"checkout","enabled":false,"tags":[]}"#.into()),
            current: Some(r#"{"id":7,"key":"checkout","enabled":true,"tags":[]}"#.into()),
        }
    }

    #[test]
    fn event_body_has_the_seed_fields_and_ours() {
        let change = change(
            vec![EventType::FlagEnabled],
            Component::new(ComponentType::Flag, Some(7), Some("checkout")),
        );
        let staging = EnvironmentLabel {
            key: "staging".into(),
            name: "Staging".into(),
        };
        let body: Value =
            serde_json::from_str(&event_body(&change, &change.events[0], "evt-1", &staging).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "evt-1", "event": "flag.enabled", "sequence": 42,
                "environment": {"key": "staging", "name": "Staging"}, "flag_id": 7, "flag_key": "checkout",
                "timestamp": "2026-12-01T10:15:30.5Z", "actor": "alice@example.com",
                "component": {"type": "flag", "id": 7, "key": "checkout"},
                "data": {"id": 7, "key": "checkout", "enabled": true, "tags": []},
                "previous": {"id": 7, "key": "checkout", "enabled": false, "tags": []}
            })
        );
    }

    #[test]
    fn test_body_is_shaped_like_an_event() {
        let production = EnvironmentLabel {
            key: "production".into(),
            name: "production".into(),
        };
        let body: Value =
            serde_json::from_str(&test_body(3, "evt-t", "bob", datetime!(2026-12-01 10:00 UTC), &production).unwrap())
                .unwrap();
        assert_eq!(body["event"], "webhook.test");
        assert_eq!(body["sequence"], 0);
        assert_eq!(body["component"], json!({"type": "webhook", "id": 3, "key": null}));
        assert!(body["data"]["message"].is_string());
    }

    #[test]
    fn flagr_notifications_use_flagrs_operations() {
        let cases = [
            (
                EventType::FlagCreated,
                ComponentType::Flag,
                Some("checkout"),
                "create",
                "flag",
                Some("checkout"),
            ),
            (
                EventType::FlagEnabled,
                ComponentType::Flag,
                Some("checkout"),
                "update",
                "flag",
                Some("checkout"),
            ),
            (
                EventType::FlagRestored,
                ComponentType::Flag,
                Some("checkout"),
                "restore",
                "flag",
                Some("checkout"),
            ),
            (
                EventType::SegmentRolloutPercentUpdated,
                ComponentType::Segment,
                None,
                "update",
                "segment",
                None,
            ),
            (
                EventType::VariantCreated,
                ComponentType::Variant,
                Some("on"),
                "create",
                "variant",
                Some("on"),
            ),
            (
                EventType::VariantDeleted,
                ComponentType::Variant,
                Some("on"),
                "delete",
                "variant",
                None,
            ),
            (
                EventType::DistributionUpdated,
                ComponentType::Distribution,
                None,
                "update",
                "distribution",
                None,
            ),
            (
                EventType::FlagUpdated,
                ComponentType::Tag,
                Some("web"),
                "delete",
                "tag",
                None,
            ),
        ];
        for (event, kind, key, operation, component_type, component_key) in cases {
            let change = change(vec![event], Component::new(kind, Some(5), key));
            let body: Value = serde_json::from_str(&flagr_notification_body(&change, false).unwrap().unwrap()).unwrap();
            assert_eq!(body["operation"], operation, "{event:?}");
            assert_eq!(body["component_type"], component_type, "{event:?}");
            assert_eq!(
                body.get("component_key").and_then(Value::as_str),
                component_key,
                "{event:?}"
            );
            assert_eq!(body["user"], "alice@example.com");
            assert!(body.get("pre_value").is_none());
        }
        let mut attached = change(
            vec![EventType::FlagUpdated],
            Component::new(ComponentType::Tag, Some(5), Some("web")),
        );
        attached.current = Some(r#"{"id":7,"tags":[{"id":5,"value":"web"}]}"#.into());
        let body: Value = serde_json::from_str(&flagr_notification_body(&attached, true).unwrap().unwrap()).unwrap();
        assert_eq!(
            (body["operation"].as_str(), body["component_key"].as_str()),
            (Some("create"), Some("web"))
        );
        assert!(body["post_value"].as_str().unwrap().contains("\"web\""));
        let webhook_change = change(
            vec![EventType::WebhookCreated],
            Component::new(ComponentType::Webhook, Some(1), None),
        );
        assert_eq!(flagr_notification_body(&webhook_change, false).unwrap(), None);
    }
}
