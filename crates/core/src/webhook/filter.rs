//! A webhook's event subscription: the patterns it was given, validated against the
//! [catalogue](super::catalogue), and the rule deciding which events it receives.
//!
//! Owns pattern syntax and matching only; which webhooks exist and how a subscription is stored
//! belong to the store and the server.

use thiserror::Error;

use super::catalogue::{CATALOGUE, TEST_EVENT};

/// Why a subscription was refused. The API answers it as a 400 with this message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error("subscribe to at least one event; use * for all")]
    Empty,
    /// Every entry that names no event, as given.
    #[error(
        "unknown events: {}; use names from GET /api/v1/webhook_events, \
         a group glob such as flag.*, or * for all",
        quoted(.0)
    )]
    Unknown(Vec<String>),
}

fn quoted(entries: &[String]) -> String {
    entries
        .iter()
        .map(|entry| format!("\"{entry}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The events one webhook receives.
///
/// A pattern is one of:
/// - an exact event name from the catalogue (`flag.created`);
/// - a prefix glob ending in `.*` (`flag.*`, `segment.*`, `variant.attachment.*`), matching every
///   name that starts with the text before the `*`, so `segment.*` covers
///   `segment.rollout_percent.updated`;
/// - `*`: every flag-related event (flag, segment, variant, constraint, distribution). It does
///   not include `webhook.*` and `environment.*` events: a webhook about flags must not start
///   receiving administrative changes (webhooks carry other endpoints' settings) without
///   asking. Subscribe to those by name or with `webhook.*` / `environment.*`.
///
/// A pattern must match at least one catalogued event, so typos are caught when the webhook is
/// saved rather than silently never firing. [`TEST_EVENT`] always matches: a test delivery is
/// addressed to one webhook and must reach it whatever it subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    patterns: Vec<String>,
}

impl EventFilter {
    /// Parses patterns as a list, where each entry may itself be a comma-separated list
    /// (`["flag.created, flag.deleted"]` equals `["flag.created", "flag.deleted"]`). Entries are
    /// trimmed, empty ones skipped and duplicates dropped, keeping the user's order.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<EventFilter, FilterError> {
        let mut patterns: Vec<String> = Vec::new();
        for piece in entries.iter().flat_map(|entry| entry.as_ref().split(',')) {
            let piece = piece.trim();
            if !piece.is_empty() && !patterns.iter().any(|kept| kept == piece) {
                patterns.push(piece.to_owned());
            }
        }
        if patterns.is_empty() {
            return Err(FilterError::Empty);
        }
        let unknown: Vec<String> = patterns
            .iter()
            .filter(|pattern| !CATALOGUE.iter().any(|info| pattern_matches(pattern, info.name)))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(FilterError::Unknown(unknown));
        }
        Ok(EventFilter { patterns })
    }

    /// The patterns for display and storage: as the user gave them, trimmed and deduplicated.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether a webhook with this filter receives the event.
    pub fn matches(&self, event_name: &str) -> bool {
        event_name == TEST_EVENT || self.patterns.iter().any(|pattern| pattern_matches(pattern, event_name))
    }
}

/// Events that `*` leaves out; they must be asked for by name or with their group's glob.
const EXPLICIT_ONLY_PREFIXES: [&str; 2] = ["webhook.", "environment."];

fn pattern_matches(pattern: &str, event_name: &str) -> bool {
    if pattern == "*" {
        return !EXPLICIT_ONLY_PREFIXES
            .iter()
            .any(|prefix| event_name.starts_with(prefix));
    }
    match pattern.strip_suffix(".*") {
        // Keep the dot, so `flag.*` cannot match a hypothetical `flagship.created`.
        Some(group) => event_name.strip_prefix(group).is_some_and(|rest| rest.starts_with('.')),
        None => pattern == event_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> EventFilter {
        EventFilter::parse(patterns).unwrap()
    }

    #[test]
    fn matching_rules() {
        let cases: &[(&[&str], &str, bool)] = &[
            (&["flag.created"], "flag.created", true),
            (&["flag.created"], "flag.deleted", false),
            (&["flag.*"], "flag.enabled", true),
            (&["flag.*"], "segment.created", false),
            (&["segment.*"], "segment.rollout_percent.updated", true),
            (&["variant.attachment.*"], "variant.attachment.updated", true),
            (&["variant.attachment.*"], "variant.updated", false),
            (&["*"], "flag.created", true),
            (&["*"], "distribution.updated", true),
            (&["*"], "constraint.deleted", true),
            (&["*"], "webhook.created", false),
            (&["*"], "webhook.deleted", false),
            (&["webhook.*"], "webhook.updated", true),
            (&["webhook.*"], "flag.created", false),
            (&["*", "webhook.created"], "webhook.created", true),
            (&["*", "webhook.created"], "webhook.updated", false),
            // A test delivery reaches the webhook it is sent to, whatever it subscribes to.
            (&["flag.created"], TEST_EVENT, true),
            (&["*"], TEST_EVENT, true),
        ];
        for (patterns, event, expected) in cases {
            assert_eq!(filter(patterns).matches(event), *expected, "{patterns:?} vs {event}");
        }
    }

    #[test]
    fn star_covers_every_flag_related_event_and_no_webhook_or_environment_change() {
        let star = filter(&["*"]);
        for info in CATALOGUE {
            let flag_related = !info.name.starts_with("webhook.") && !info.name.starts_with("environment.");
            assert_eq!(
                star.matches(info.name),
                flag_related || info.name == TEST_EVENT,
                "{}",
                info.name
            );
        }
    }

    #[test]
    fn accepts_one_comma_separated_string() {
        let parsed = filter(&["flag.created, flag.deleted"]);
        assert_eq!(parsed, filter(&["flag.created", "flag.deleted"]));
        assert_eq!(parsed.patterns(), ["flag.created", "flag.deleted"]);
    }

    #[test]
    fn keeps_patterns_trimmed_deduplicated_in_order() {
        let parsed = filter(&[" segment.* ", "flag.created,segment.*", "", "flag.created ,"]);
        assert_eq!(parsed.patterns(), ["segment.*", "flag.created"]);
    }

    #[test]
    fn refuses_an_empty_subscription() {
        for empty in [&[][..], &[""], &[" , ,"]] {
            let error = EventFilter::parse(empty).unwrap_err();
            assert_eq!(error, FilterError::Empty);
            assert_eq!(error.to_string(), "subscribe to at least one event; use * for all");
        }
    }

    #[test]
    fn names_every_unknown_entry() {
        let error = EventFilter::parse(&["flag.created", "flag.exploded", "nothing.*"]).unwrap_err();
        assert_eq!(
            error,
            FilterError::Unknown(vec!["flag.exploded".into(), "nothing.*".into()])
        );
        assert_eq!(
            error.to_string(),
            "unknown events: \"flag.exploded\", \"nothing.*\"; use names from \
             GET /api/v1/webhook_events, a group glob such as flag.*, or * for all"
        );
    }

    #[test]
    fn refuses_patterns_that_match_nothing() {
        for bad in [
            "flag*",
            "fla.*",
            ".*",
            "**",
            "*.created",
            "flag.created.*",
            "FLAG.CREATED",
            "flag.",
        ] {
            assert_eq!(
                EventFilter::parse(&[bad]),
                Err(FilterError::Unknown(vec![bad.to_owned()])),
                "{bad}"
            );
        }
    }

    #[test]
    fn accepts_every_catalogued_name() {
        for info in CATALOGUE {
            assert!(filter(&[info.name]).matches(info.name), "{}", info.name);
        }
    }
}
