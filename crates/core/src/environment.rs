//! Environments: named sets of flags on one server (staging, production), each serving the whole
//! Flagr API under its own base path. Creating, renaming and deleting one are changes like any
//! other, recorded in the change log with who made them.

use serde::Serialize;
use time::OffsetDateTime;

use crate::change::{ChangeEvent, ComponentType, Event, EventType, rfc3339};
use crate::flag::Id;
use crate::mutation::Origin;
use crate::validation::check_key;

const MAX_NAME_LENGTH: usize = 200;
const MAX_DESCRIPTION_LENGTH: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub id: Id,
    /// Follows the flag-key rules; it appears in URLs (`/environments/{key}/api/v1/…`).
    pub key: String,
    pub name: String,
    pub description: String,
    pub created_at: OffsetDateTime,
    /// The environment the unprefixed Flagr API serves; it cannot be deleted.
    pub default: bool,
}

/// How change-log entries and webhook payloads name the environment a change came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvironmentLabel {
    pub key: String,
    pub name: String,
}

/// The API's (and the change log's) view of an environment.
#[derive(Debug, Serialize)]
pub struct EnvironmentJson<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    pub default: bool,
}

impl Environment {
    pub fn json(&self) -> EnvironmentJson<'_> {
        EnvironmentJson {
            key: &self.key,
            name: &self.name,
            description: &self.description,
            created_at: rfc3339(self.created_at),
            default: self.default,
        }
    }

    /// The change event recording `event` on this environment, `before` it where it existed.
    pub fn change_event(
        &self,
        event: EventType,
        before: Option<&Environment>,
        seq: i64,
        origin: &Origin,
    ) -> ChangeEvent {
        let text = |environment: &Environment| serde_json::to_string(&environment.json()).unwrap_or_default();
        ChangeEvent {
            seq,
            event_id: origin.event_id.clone(),
            occurred_at: origin.at,
            actor: origin.actor.clone(),
            environment_id: self.id,
            flag_id: None,
            flag_key: None,
            events: vec![Event::new(
                event,
                ComponentType::Environment,
                Some(self.id),
                Some(&self.key),
            )],
            previous: before.map(text),
            current: Some(text(self)),
        }
    }
}

/// What a new environment or an update sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentFields {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Checks a new environment's key: the flag-key rules without `/`, since it is one segment of
/// a path (`/environments/{key}/api/v1/…`).
pub fn check_environment_key(key: &str) -> Result<(), String> {
    if key.contains('/') {
        return Err(format!("environment key {key:?} is not valid: it must not contain '/'"));
    }
    check_key(key).map_err(|reason| format!("environment key {key:?} is not valid: {reason}"))
}

/// Checks the name and description an environment is given.
pub fn check_fields(fields: &EnvironmentFields) -> Result<(), String> {
    if let Some(name) = &fields.name {
        if name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        if name.chars().count() > MAX_NAME_LENGTH {
            return Err(format!("name must be at most {MAX_NAME_LENGTH} characters"));
        }
    }
    if let Some(description) = &fields.description
        && description.chars().count() > MAX_DESCRIPTION_LENGTH
    {
        return Err(format!(
            "description must be at most {MAX_DESCRIPTION_LENGTH} characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_flag_key_rules() {
        assert!(check_environment_key("staging").is_ok());
        assert!(check_environment_key("eu-west.prod").is_ok());
        assert!(check_environment_key("eu-west/prod").unwrap_err().contains("'/'"));
        let error = check_environment_key("has space").unwrap_err();
        assert!(error.contains("\"has space\""), "{error}");
        assert!(check_environment_key("").is_err());
    }

    #[test]
    fn names_must_say_something() {
        let blank = EnvironmentFields {
            name: Some("  ".into()),
            description: None,
        };
        assert_eq!(check_fields(&blank).unwrap_err(), "name must not be empty");
        let long = EnvironmentFields {
            name: None,
            description: Some("x".repeat(1001)),
        };
        assert!(check_fields(&long).unwrap_err().contains("1000"));
        assert!(check_fields(&EnvironmentFields::default()).is_ok());
    }
}
