//! Bodies in other tools' formats, so their receivers need no glue code: Flagsmith's environment
//! webhook (`FLAG_UPDATED` with feature states before and after), Flagsmith's audit-log record,
//! a Slack/Mattermost message, and Sentry's generic flag change-tracking log. Each is mapped
//! from the change alone (plus the environment's key and the UI's public URL), field by field as
//! `docs/webhooks.md` documents.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::sentence::sentence;
use crate::change::{ChangeEvent, ComponentType, Event, EventType, identified, rfc3339};
use crate::flag::{Flag, Id};

/// Bunting has one project in one organisation; Flagsmith's bodies name both, so they are this.
const PROJECT_ID: Id = 1;
const PROJECT_NAME: &str = "Bunting";
const ORGANISATION_ID: Id = 1;

/// What the bodies need beyond the change.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The key of the change's environment (`production` for the default one).
    pub environment_key: &'a str,
    /// Where the UI is served (`BUNTING_PUBLIC_URL`), for links; `None` sends no links.
    pub public_url: Option<&'a str>,
}

#[derive(Serialize)]
struct FlagsmithEvent {
    data: FlagsmithData,
    event_type: &'static str,
}

#[derive(Serialize)]
struct FlagsmithData {
    changed_by: String,
    new_state: Option<FeatureState>,
    previous_state: Option<FeatureState>,
    timestamp: String,
}

/// A Flagsmith feature state: the flag's state in the change's environment. Bunting has no
/// identity overrides and sends the flag-level state, so the override fields are null.
#[derive(Serialize)]
struct FeatureState {
    enabled: bool,
    environment: Id,
    feature: Feature,
    feature_segment: Option<Value>,
    feature_state_value: Option<Value>,
    id: Id,
    identity: Option<Value>,
    identity_identifier: Option<String>,
}

#[derive(Serialize)]
struct Feature {
    created_date: String,
    default_enabled: bool,
    description: Option<String>,
    id: Id,
    initial_value: Option<String>,
    name: String,
    project: Id,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn feature_state(flag: Flag, environment: Id) -> FeatureState {
    // A flag whose variants carry attachments hands out values: Flagsmith calls that remote config.
    let kind = if flag.variants.iter().any(|variant| !variant.attachment.is_empty()) {
        "CONFIG"
    } else {
        "FLAG"
    };
    FeatureState {
        enabled: flag.enabled,
        environment,
        feature: Feature {
            // Flags record no creation time; their last update is it on a create.
            created_date: rfc3339(flag.updated_at),
            default_enabled: flag.enabled,
            description: Some(flag.description).filter(|description| !description.is_empty()),
            id: flag.id,
            initial_value: None,
            name: flag.key,
            project: PROJECT_ID,
            kind,
        },
        feature_segment: None,
        feature_state_value: None,
        id: flag.id,
        identity: None,
        identity_identifier: None,
    }
}

fn read_flag(json: Option<&str>) -> Result<Option<Flag>, serde_json::Error> {
    json.map(serde_json::from_str).transpose()
}

/// Flagsmith's environment webhook body for a flag change: `FLAG_UPDATED` with the feature state
/// before (null on create) and after; `FLAG_DELETED` with a null `new_state` when the flag was
/// deleted. `None` for changes that are not about a flag (webhook changes).
pub fn flagsmith_body(change: &ChangeEvent) -> Result<Option<String>, serde_json::Error> {
    if change.flag_id.is_none() {
        return Ok(None);
    }
    let deleted = change.events.iter().any(|event| event.kind == EventType::FlagDeleted);
    let state =
        |json| Ok::<_, serde_json::Error>(read_flag(json)?.map(|flag| feature_state(flag, change.environment_id)));
    let body = FlagsmithEvent {
        data: FlagsmithData {
            changed_by: change.actor.clone(),
            new_state: if deleted {
                None
            } else {
                state(change.current.as_deref())?
            },
            previous_state: if deleted {
                state(change.current.as_deref())?
            } else {
                state(change.previous.as_deref())?
            },
            timestamp: rfc3339(change.occurred_at),
        },
        event_type: if deleted { "FLAG_DELETED" } else { "FLAG_UPDATED" },
    };
    serde_json::to_string(&body).map(Some)
}

#[derive(Serialize)]
struct AuditRecord<'a> {
    created_date: String,
    log: String,
    author: Option<Author<'a>>,
    environment: AuditEnvironment<'a>,
    project: Project,
    related_object_id: Option<Id>,
    related_object_type: &'static str,
}

/// Who made the change, as far as Bunting knows: the actor is one string, an e-mail address or a
/// user name; Bunting has no user ids.
#[derive(Serialize)]
struct Author<'a> {
    id: Option<Id>,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
}

#[derive(Serialize)]
struct AuditEnvironment<'a> {
    id: Id,
    name: &'a str,
}

#[derive(Serialize)]
struct Project {
    id: Id,
    name: &'static str,
    organisation: Id,
}

fn author(actor: &str) -> Option<Author<'_>> {
    let actor = identified(actor)?;
    let (email, first_name) = if actor.contains('@') { (actor, "") } else { ("", actor) };
    Some(Author {
        id: None,
        email,
        first_name,
        last_name: "",
    })
}

/// Flagsmith's name for the kind of object an event is about.
fn related_object_type(kind: ComponentType) -> &'static str {
    match kind {
        ComponentType::Flag | ComponentType::Tag => "FEATURE",
        ComponentType::Segment => "SEGMENT",
        ComponentType::Variant => "VARIANT",
        ComponentType::Constraint => "CONSTRAINT",
        ComponentType::Distribution => "DISTRIBUTION",
        ComponentType::Webhook => "WEBHOOK",
        ComponentType::Environment => "ENVIRONMENT",
        ComponentType::Token => "TOKEN",
    }
}

/// When, by whom and where something happened, for an audit record.
struct Occurrence<'a> {
    at: OffsetDateTime,
    actor: &'a str,
    environment_id: Id,
}

fn audit_record(
    occurrence: Occurrence<'_>,
    context: Context<'_>,
    log: String,
    related: (Option<Id>, &'static str),
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&AuditRecord {
        created_date: rfc3339(occurrence.at),
        log,
        author: author(occurrence.actor),
        environment: AuditEnvironment {
            id: occurrence.environment_id,
            name: context.environment_key,
        },
        project: Project {
            id: PROJECT_ID,
            name: PROJECT_NAME,
            organisation: ORGANISATION_ID,
        },
        related_object_id: related.0,
        related_object_type: related.1,
    })
}

/// Flagsmith's audit-log record for one event of a change.
pub fn flagsmith_audit_body(
    change: &ChangeEvent,
    event: &Event,
    context: Context<'_>,
) -> Result<String, serde_json::Error> {
    let component = &event.component;
    // A tag belongs to its flag, and a distribution has no id of its own: both are the feature's.
    let related_id = match component.kind {
        ComponentType::Tag | ComponentType::Distribution => change.flag_id,
        _ => component.id,
    };
    let occurrence = Occurrence {
        at: change.occurred_at,
        actor: &change.actor,
        environment_id: change.environment_id,
    };
    audit_record(
        occurrence,
        context,
        sentence(change, event),
        (related_id, related_object_type(component.kind)),
    )
}

/// An audit record for a `webhook.test` delivery to webhook `webhook_id` of environment
/// `environment_id`, requested by `actor` at `at`.
pub fn flagsmith_audit_test_body(
    webhook_id: Id,
    environment_id: Id,
    actor: &str,
    at: OffsetDateTime,
    context: Context<'_>,
) -> Result<String, serde_json::Error> {
    let occurrence = Occurrence {
        at,
        actor,
        environment_id,
    };
    audit_record(
        occurrence,
        context,
        test_sentence(webhook_id),
        (Some(webhook_id), "WEBHOOK"),
    )
}

/// What a test delivery says in the formats that carry a sentence.
pub fn test_sentence(webhook_id: Id) -> String {
    format!("Test delivery from Bunting to webhook {webhook_id}")
}

/// A Slack or Mattermost incoming-webhook message: every event of the change as a sentence, one
/// a line, and a link to the flag in the UI when the public URL is known.
pub fn slack_body(change: &ChangeEvent, context: Context<'_>) -> Result<String, serde_json::Error> {
    let mut lines: Vec<String> = change
        .events
        .iter()
        .map(|event| slack_escape(&sentence(change, event)))
        .collect();
    if let (Some(base), Some(id)) = (context.public_url, change.flag_id) {
        let label = slack_escape(change.flag_key.as_deref().unwrap_or("flag"));
        lines.push(format!("<{}/#/flags/{id}|Open {label}>", base.trim_end_matches('/')));
    }
    if let Some(actor) = change.identified_actor() {
        lines.push(format!("by {}", slack_escape(actor)));
    }
    slack_text(&lines.join("\n"))
}

/// A Slack message saying `text` as it is (already escaped).
pub fn slack_text(text: &str) -> Result<String, serde_json::Error> {
    serde_json::to_string(&serde_json::json!({ "text": text }))
}

/// Slack's mrkdwn escaping: the three characters it reads as markup.
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[derive(Serialize)]
struct SentryLog<'a> {
    data: [SentryEntry<'a>; 1],
    meta: SentryMeta,
}

#[derive(Serialize)]
struct SentryEntry<'a> {
    action: &'static str,
    flag: &'a str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<SentryActor<'a>>,
    change_id: i64,
}

#[derive(Serialize)]
struct SentryActor<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct SentryMeta {
    version: u32,
}

/// Sentry's generic change-tracking body for a flag change: one entry, `created`, `deleted` or
/// `updated`, under the change's sequence number. `None` for changes that are not about a flag.
pub fn sentry_body(change: &ChangeEvent) -> Result<Option<String>, serde_json::Error> {
    let Some(flag) = change.flag_key.as_deref() else {
        return Ok(None);
    };
    let has = |kind| change.events.iter().any(|event| event.kind == kind);
    let action = if has(EventType::FlagCreated) {
        "created"
    } else if has(EventType::FlagDeleted) {
        "deleted"
    } else {
        "updated"
    };
    let created_by = change.identified_actor().map(|actor| SentryActor {
        id: actor,
        kind: if actor.contains('@') { "email" } else { "name" },
    });
    serde_json::to_string(&SentryLog {
        data: [SentryEntry {
            action,
            flag,
            created_at: rfc3339(change.occurred_at),
            created_by,
            change_id: change.seq,
        }],
        meta: SentryMeta { version: 1 },
    })
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Component;
    use serde::Deserialize;
    use time::macros::datetime;

    const CONTEXT: Context<'static> = Context {
        environment_key: "production",
        public_url: Some("https://flags.example.com/"),
    };

    fn flag_json(enabled: bool) -> String {
        serde_json::json!({
            "id": 7, "key": "checkout", "description": "", "enabled": enabled, "dataRecordsEnabled": false,
            "updatedAt": "2026-12-01T10:00:00.000Z", "tags": [], "segments": [],
            "variants": [{"id": 4, "key": "on", "attachment": {"color": "blue"}}]
        })
        .to_string()
    }

    fn change(kind: EventType, previous: Option<String>, current: Option<String>) -> ChangeEvent {
        ChangeEvent {
            seq: 42,
            event_id: "c".into(),
            occurred_at: datetime!(2026-12-01 10:15:30.5 UTC),
            actor: "alice@example.com".into(),
            environment_id: 1,
            flag_id: Some(7),
            flag_key: Some("checkout".into()),
            events: vec![Event::new(kind, ComponentType::Flag, Some(7), Some("checkout"))],
            previous,
            current,
        }
    }

    // The seed's `FLAG_UPDATED` example, field for field, refusing anything it does not have.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SeedEvent {
        data: SeedData,
        event_type: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SeedData {
        #[allow(dead_code)]
        changed_by: String,
        new_state: Option<SeedState>,
        previous_state: Option<SeedState>,
        #[allow(dead_code)]
        timestamp: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct SeedState {
        enabled: bool,
        environment: i64,
        feature: SeedFeature,
        feature_segment: Option<Value>,
        feature_state_value: Option<Value>,
        id: i64,
        identity: Option<Value>,
        identity_identifier: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct SeedFeature {
        created_date: String,
        default_enabled: bool,
        description: Option<String>,
        id: i64,
        initial_value: Option<String>,
        name: String,
        project: i64,
        #[serde(rename = "type")]
        kind: String,
    }

    #[test]
    fn flagsmith_bodies_parse_as_the_seeds_example() {
        let enabled = change(EventType::FlagEnabled, Some(flag_json(false)), Some(flag_json(true)));
        let body: SeedEvent = serde_json::from_str(&flagsmith_body(&enabled).unwrap().unwrap()).unwrap();
        assert_eq!(body.event_type, "FLAG_UPDATED");
        let (new, old) = (body.data.new_state.unwrap(), body.data.previous_state.unwrap());
        assert!(new.enabled && !old.enabled);
        assert_eq!(
            (new.feature.name.as_str(), new.feature.kind.as_str(), new.id),
            ("checkout", "CONFIG", 7)
        );
        assert_eq!(new.environment, 1);
        let created = change(EventType::FlagCreated, None, Some(flag_json(false)));
        let body: SeedEvent = serde_json::from_str(&flagsmith_body(&created).unwrap().unwrap()).unwrap();
        assert!(body.data.previous_state.is_none() && body.data.new_state.is_some());
        let deleted = change(EventType::FlagDeleted, Some(flag_json(true)), Some(flag_json(true)));
        let body: SeedEvent = serde_json::from_str(&flagsmith_body(&deleted).unwrap().unwrap()).unwrap();
        assert_eq!(body.event_type, "FLAG_DELETED");
        assert!(body.data.new_state.is_none() && body.data.previous_state.is_some());
        let mut webhook = created.clone();
        webhook.flag_id = None;
        assert_eq!(flagsmith_body(&webhook).unwrap(), None);
    }

    #[test]
    fn audit_records_carry_the_sentence_and_the_related_object() {
        let enabled = change(EventType::FlagEnabled, Some(flag_json(false)), Some(flag_json(true)));
        let body: Value =
            serde_json::from_str(&flagsmith_audit_body(&enabled, &enabled.events[0], CONTEXT).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "created_date": "2026-12-01T10:15:30.5Z",
                "log": "Flag checkout enabled",
                "author": {"id": null, "email": "alice@example.com", "first_name": "", "last_name": ""},
                "environment": {"id": 1, "name": "production"},
                "project": {"id": 1, "name": "Bunting", "organisation": 1},
                "related_object_id": 7,
                "related_object_type": "FEATURE"
            })
        );
        let segment = Event {
            kind: EventType::SegmentDeleted,
            component: Component::new(ComponentType::Segment, Some(3), None),
        };
        let body: Value = serde_json::from_str(&flagsmith_audit_body(&enabled, &segment, CONTEXT).unwrap()).unwrap();
        assert_eq!(
            (body["related_object_id"].as_i64(), body["related_object_type"].as_str()),
            (Some(3), Some("SEGMENT"))
        );
        let mut anonymous = enabled.clone();
        anonymous.actor = "bob".into();
        let body: Value =
            serde_json::from_str(&flagsmith_audit_body(&anonymous, &anonymous.events[0], CONTEXT).unwrap()).unwrap();
        assert_eq!(body["author"]["first_name"], "bob");
        anonymous.actor = String::new();
        let body: Value =
            serde_json::from_str(&flagsmith_audit_body(&anonymous, &anonymous.events[0], CONTEXT).unwrap()).unwrap();
        assert_eq!(body["author"], Value::Null);
    }

    #[test]
    fn slack_messages_say_what_changed_and_link_to_the_flag() {
        let enabled = change(EventType::FlagEnabled, Some(flag_json(false)), Some(flag_json(true)));
        let body: Value = serde_json::from_str(&slack_body(&enabled, CONTEXT).unwrap()).unwrap();
        assert_eq!(
            body["text"],
            "Flag checkout enabled\n<https://flags.example.com/#/flags/7|Open checkout>\nby alice@example.com"
        );
        let unlinked = Context {
            public_url: None,
            ..CONTEXT
        };
        let body: Value = serde_json::from_str(&slack_body(&enabled, unlinked).unwrap()).unwrap();
        assert_eq!(body["text"], "Flag checkout enabled\nby alice@example.com");
        assert_eq!(slack_escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }

    #[test]
    fn sentry_logs_use_the_generic_format() {
        let created = change(EventType::FlagCreated, None, Some(flag_json(false)));
        let body: Value = serde_json::from_str(&sentry_body(&created).unwrap().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "data": [{
                    "action": "created", "flag": "checkout", "created_at": "2026-12-01T10:15:30.5Z",
                    "created_by": {"id": "alice@example.com", "type": "email"}, "change_id": 42
                }],
                "meta": {"version": 1}
            })
        );
        let mut enabled = change(EventType::FlagEnabled, Some(flag_json(false)), Some(flag_json(true)));
        enabled.actor = String::new();
        let body: Value = serde_json::from_str(&sentry_body(&enabled).unwrap().unwrap()).unwrap();
        assert_eq!(body["data"][0]["action"], "updated");
        assert!(body["data"][0].get("created_by").is_none());
    }
}
