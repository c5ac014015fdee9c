//! A webhook's configuration and every change to it, as pure functions like flag mutations:
//! a command applied to the current webhook gives the next one and the change event types, or
//! a validation error that says what to fix.
//!
//! The public view ([`Webhook::public_json`]) never carries a secret (nor the password of the
//! URL); it is what the API returns and what the change log records, so secrets never reach the
//! audit trail or webhook payloads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use time::OffsetDateTime;
use url::Url;

use super::address;
use super::filter::EventFilter;
use super::signature::SECRET_PREFIX;
use super::url_password;
use crate::change::{ChangeEvent, ComponentType, Event, EventType, rfc3339};
use crate::flag::Id;
use crate::mutation::Origin;
use crate::secret::Secret;

/// The per-attempt timeout when none is given (the seed's 10 s).
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 10;
/// Limits on the per-attempt timeout: long timeouts tie up delivery slots.
pub const TIMEOUT_SECONDS_RANGE: std::ops::RangeInclusive<u32> = 1..=30;
const MAX_URL_LENGTH: usize = 2048;
const MAX_DESCRIPTION_LENGTH: usize = 1000;

crate::named! {
    /// The body a webhook receives.
    pub enum PayloadFormat {
        /// Bunting's event payload: one delivery per event, signed.
        Bunting => "bunting",
        /// Flagr's legacy notification (`FLAGR_NOTIFICATION_WEBHOOK_*`): one per change, unsigned.
        FlagrNotification => "flagr_notification",
        /// The same with the flag before and after (`FLAGR_NOTIFICATION_DETAILED_DIFF_ENABLED`).
        FlagrNotificationDetailed => "flagr_notification_detailed",
        /// Flagsmith's environment webhook: `FLAG_UPDATED` with the feature state before and after.
        Flagsmith => "flagsmith",
        /// Flagsmith's audit-log webhook: one record with a readable sentence per event.
        FlagsmithAudit => "flagsmith_audit",
        /// A Slack or Mattermost incoming-webhook message.
        Slack => "slack",
        /// Sentry's generic feature-flag change tracking.
        Sentry => "sentry",
    }
}

impl PayloadFormat {
    /// The formats a webhook may be given through the API; Flagr's notification formats belong
    /// to the webhook `FLAGR_NOTIFICATION_WEBHOOK_*` configures.
    pub const SETTABLE: [PayloadFormat; 5] = [
        PayloadFormat::Bunting,
        PayloadFormat::Flagsmith,
        PayloadFormat::FlagsmithAudit,
        PayloadFormat::Slack,
        PayloadFormat::Sentry,
    ];

    /// The settable format called `name`, or an error listing them.
    pub fn settable(name: &str) -> Result<PayloadFormat, WebhookError> {
        PayloadFormat::from_name(name)
            .filter(|format| PayloadFormat::SETTABLE.contains(format))
            .ok_or_else(|| {
                let names: Vec<&str> = PayloadFormat::SETTABLE.iter().map(|format| format.name()).collect();
                WebhookError::Invalid(format!("format {name:?} is not one of {}", names.join(", ")))
            })
    }
}

/// A secret that was replaced by a rotation and still signs deliveries until `expires_at`, so
/// receivers can switch to the new one without losing a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub secret: Secret,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Id,
    pub url: String,
    pub description: String,
    /// The subscription patterns, normalised by [`EventFilter::parse`].
    pub events: Vec<String>,
    pub enabled: bool,
    pub timeout_seconds: u32,
    pub secret: Option<Secret>,
    pub previous_secret: Option<PreviousSecret>,
    /// Why Bunting disabled the webhook itself (a `410 Gone`); cleared when it is re-enabled.
    pub disabled_reason: Option<String>,
    pub format: PayloadFormat,
    /// Extra request headers (the legacy notifier's `FLAGR_NOTIFICATION_WEBHOOK_HEADERS`).
    pub headers: Vec<(String, String)>,
    /// Set for the webhook that `FLAGR_NOTIFICATION_WEBHOOK_*` configures: the API may not change it.
    pub managed_by_config: bool,
    /// Receives the changes of every environment, not only its own (audit streams).
    pub all_environments: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What `POST /webhooks` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub secret: Option<Secret>,
    pub enabled: bool,
    pub timeout_seconds: u32,
    pub format: PayloadFormat,
    pub all_environments: bool,
}

/// What `PUT /webhooks/{id}` asks for; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// `Some(None)` removes the secret; deliveries are then unsigned.
    pub secret: Option<Option<Secret>>,
    pub enabled: Option<bool>,
    pub timeout_seconds: Option<u32>,
    pub format: Option<PayloadFormat>,
    pub all_environments: Option<bool>,
}

/// The settings of the webhook `FLAGR_NOTIFICATION_WEBHOOK_*` configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredWebhook {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub timeout_seconds: u32,
    pub enabled: bool,
    /// Send the flag before and after with each notification.
    pub detailed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookCommand {
    Create(NewWebhook),
    Update(WebhookPatch),
    Delete,
    /// Replace the secret; the old one keeps signing until `overlap_until`.
    RotateSecret {
        secret: Secret,
        overlap_until: OffsetDateTime,
    },
    /// Bunting stops calling a receiver that answered `410 Gone`.
    Disable {
        reason: String,
    },
    /// Create or bring in line the configuration-managed webhook.
    Configure(ConfiguredWebhook),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
}

/// The result of a command: the webhook before and after (`None` before a create, after a
/// delete the webhook as it was), and what happened; empty when nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOutcome {
    pub before: Option<Webhook>,
    pub after: Webhook,
    pub events: Vec<Event>,
}

impl WebhookOutcome {
    pub fn changed(&self) -> bool {
        !self.events.is_empty()
    }

    pub fn deleted(&self) -> bool {
        self.events.iter().any(|event| event.kind == EventType::WebhookDeleted)
    }

    /// The change event that records this outcome as change `seq`: the webhook's public view
    /// before and after, never its secret.
    pub fn change_event(&self, seq: i64, environment_id: i64, origin: &Origin) -> ChangeEvent {
        ChangeEvent {
            seq,
            event_id: origin.event_id.clone(),
            occurred_at: origin.at,
            actor: origin.actor.clone(),
            environment_id,
            flag_id: None,
            flag_key: None,
            events: self.events.clone(),
            previous: self.before.as_ref().map(|before| before.public_json().to_string()),
            current: Some(self.after.public_json().to_string()),
        }
    }
}

pub fn webhook_not_found(id: Id) -> WebhookError {
    WebhookError::NotFound(format!("unable to find webhook {id}"))
}

/// Applies `command` to `current` (`None` for a create, or a `Configure` with no webhook yet).
/// `next_id` is called only when a webhook is created.
pub fn apply(
    current: Option<&Webhook>,
    command: WebhookCommand,
    next_id: impl FnOnce() -> Id,
    at: OffsetDateTime,
) -> Result<WebhookOutcome, WebhookError> {
    if let Some(webhook) = current
        && webhook.managed_by_config
        && !matches!(command, WebhookCommand::Configure(_) | WebhookCommand::Disable { .. })
    {
        return Err(WebhookError::Invalid(format!(
            "webhook {} is configured by FLAGR_NOTIFICATION_WEBHOOK_*; change those settings instead",
            webhook.id
        )));
    }
    let (mut after, event_types) = match (current, command) {
        (None, WebhookCommand::Create(new)) => (create(new, next_id(), at)?, vec![EventType::WebhookCreated]),
        (None, WebhookCommand::Configure(configured)) => {
            let mut webhook = blank(next_id(), at);
            configure(&mut webhook, configured)?;
            (webhook, vec![EventType::WebhookCreated])
        }
        (None, _) => return Err(WebhookError::NotFound("unable to find the webhook".into())),
        (Some(webhook), command) => {
            let mut next = webhook.clone();
            let event = change_existing(&mut next, command)?;
            let changed = event == EventType::WebhookDeleted || next != *webhook;
            (next, if changed { vec![event] } else { Vec::new() })
        }
    };
    if !event_types.is_empty() {
        after.updated_at = at;
    }
    let events = event_types
        .into_iter()
        .map(|kind| Event::new(kind, ComponentType::Webhook, Some(after.id), None))
        .collect();
    Ok(WebhookOutcome {
        before: current.cloned(),
        after,
        events,
    })
}

/// Applies a command to an existing webhook in place and names the change; the caller decides
/// whether anything changed by comparing before and after.
fn change_existing(webhook: &mut Webhook, command: WebhookCommand) -> Result<EventType, WebhookError> {
    match command {
        WebhookCommand::Create(_) => Err(WebhookError::Invalid(
            "a webhook cannot be created over an existing one".into(),
        )),
        WebhookCommand::Update(patch) => {
            update(webhook, patch)?;
            Ok(EventType::WebhookUpdated)
        }
        WebhookCommand::Delete => Ok(EventType::WebhookDeleted),
        WebhookCommand::RotateSecret { secret, overlap_until } => {
            let old = webhook.secret.replace(check_secret(secret)?);
            webhook.previous_secret = old.map(|secret| PreviousSecret {
                secret,
                expires_at: overlap_until,
            });
            Ok(EventType::WebhookUpdated)
        }
        WebhookCommand::Disable { reason } => {
            webhook.enabled = false;
            webhook.disabled_reason = Some(reason);
            Ok(EventType::WebhookUpdated)
        }
        WebhookCommand::Configure(configured) => {
            configure(webhook, configured)?;
            Ok(EventType::WebhookUpdated)
        }
    }
}

fn blank(id: Id, at: OffsetDateTime) -> Webhook {
    Webhook {
        id,
        url: String::new(),
        description: String::new(),
        events: Vec::new(),
        enabled: true,
        timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
        secret: None,
        previous_secret: None,
        disabled_reason: None,
        format: PayloadFormat::Bunting,
        headers: Vec::new(),
        managed_by_config: false,
        all_environments: false,
        created_at: at,
        updated_at: at,
    }
}

fn create(new: NewWebhook, id: Id, at: OffsetDateTime) -> Result<Webhook, WebhookError> {
    let mut webhook = blank(id, at);
    update(
        &mut webhook,
        WebhookPatch {
            url: Some(new.url),
            events: Some(new.events),
            description: Some(new.description),
            secret: Some(new.secret),
            enabled: Some(new.enabled),
            timeout_seconds: Some(new.timeout_seconds),
            format: Some(new.format),
            all_environments: Some(new.all_environments),
        },
    )?;
    Ok(webhook)
}

fn update(webhook: &mut Webhook, patch: WebhookPatch) -> Result<(), WebhookError> {
    if let Some(url) = patch.url {
        // A client that read the webhook sends its URL back masked: the URL is unchanged.
        if !url_password::is_masked_copy(url.trim(), &webhook.url) {
            webhook.url = check_url(url)?;
        }
    }
    if let Some(events) = patch.events {
        let filter = EventFilter::parse(&events).map_err(|error| WebhookError::Invalid(error.to_string()))?;
        webhook.events = filter.patterns().to_vec();
    }
    if let Some(description) = patch.description {
        if description.chars().count() > MAX_DESCRIPTION_LENGTH {
            return Err(WebhookError::Invalid(format!(
                "description is {} characters long; keep it to {MAX_DESCRIPTION_LENGTH}",
                description.chars().count()
            )));
        }
        webhook.description = description;
    }
    if let Some(secret) = patch.secret {
        webhook.secret = secret.map(check_secret).transpose()?;
        // A secret set by hand replaces the old one at once; only rotation keeps an overlap.
        webhook.previous_secret = None;
    }
    if let Some(enabled) = patch.enabled {
        if enabled {
            webhook.disabled_reason = None;
        }
        webhook.enabled = enabled;
    }
    if let Some(timeout) = patch.timeout_seconds {
        webhook.timeout_seconds = check_timeout(timeout)?;
    }
    if let Some(format) = patch.format {
        webhook.format = PayloadFormat::settable(format.name())?;
    }
    if let Some(all_environments) = patch.all_environments {
        webhook.all_environments = all_environments;
    }
    Ok(())
}

fn configure(webhook: &mut Webhook, configured: ConfiguredWebhook) -> Result<(), WebhookError> {
    webhook.url = check_url(configured.url)?;
    webhook.events = vec!["*".to_owned()];
    webhook.description = "Flagr notification webhook (FLAGR_NOTIFICATION_WEBHOOK_*)".to_owned();
    webhook.enabled = configured.enabled;
    webhook.timeout_seconds = check_timeout(configured.timeout_seconds)?;
    webhook.secret = None;
    webhook.previous_secret = None;
    webhook.format = if configured.detailed {
        PayloadFormat::FlagrNotificationDetailed
    } else {
        PayloadFormat::FlagrNotification
    };
    webhook.headers = configured.headers;
    webhook.managed_by_config = true;
    Ok(())
}

/// Checks a webhook URL when it is set, so that one that can never be delivered to is refused
/// with what to fix instead of failing every attempt for a day. It is parsed exactly as the
/// delivery client will parse it (WHATWG URL parsing, the `url` crate reqwest uses), and a literal
/// address in a range that is always refused is refused now; host names are judged at connect
/// time, when they are resolved, and private addresses there, as `deny_private` is the server's
/// setting and may change. The URL is kept as written.
fn check_url(url: String) -> Result<String, WebhookError> {
    let url = url.trim().to_owned();
    let invalid = |why: &str| WebhookError::Invalid(format!("url {url:?} {why}"));
    if url.len() > MAX_URL_LENGTH {
        return Err(invalid(&format!("is longer than {MAX_URL_LENGTH} characters")));
    }
    // The parser would drop tabs and newlines silently; a URL that carries them is a mistake.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains spaces or control characters"));
    }
    let parsed = match Url::parse(&url) {
        Ok(parsed) => parsed,
        Err(url::ParseError::EmptyHost) => return Err(invalid("has no host")),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(invalid("must start with http:// or https://"));
        }
        Err(error) => return Err(invalid(&format!("is not a valid URL: {error}"))),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host"));
    }
    if parsed.password().is_some() && !url_password::locatable(&url) {
        return Err(WebhookError::Invalid(
            "url has a password; write it as https://user:password@host/… so that Bunting can keep it secret".into(),
        ));
    }
    if parsed.port() == Some(0) {
        return Err(invalid("has port 0, which cannot be connected to"));
    }
    if let Some(ip) = address::literal_ip(&parsed)
        && let Err(reason) = address::check(ip, false)
    {
        return Err(invalid(&format!(
            "points at {ip}, where deliveries are never sent: {reason}"
        )));
    }
    Ok(url)
}

fn check_timeout(seconds: u32) -> Result<u32, WebhookError> {
    if TIMEOUT_SECONDS_RANGE.contains(&seconds) {
        return Ok(seconds);
    }
    Err(WebhookError::Invalid(format!(
        "timeoutSeconds must be between {} and {}, not {seconds}",
        TIMEOUT_SECONDS_RANGE.start(),
        TIMEOUT_SECONDS_RANGE.end()
    )))
}

fn check_secret(secret: Secret) -> Result<Secret, WebhookError> {
    if secret.expose().is_empty() {
        return Err(WebhookError::Invalid(
            "secret must not be empty; send null to remove it".into(),
        ));
    }
    if secret.expose().len() > 256 {
        return Err(WebhookError::Invalid("secret is longer than 256 bytes".into()));
    }
    // A `whsec_` secret is a Standard Webhooks key, which receivers' libraries base64-decode; one
    // that does not decode would have receivers and Bunting disagree on the key. The message
    // never quotes the secret.
    if let Some(key) = secret.expose().strip_prefix(SECRET_PREFIX)
        && !STANDARD.decode(key).is_ok_and(|key| !key.is_empty())
    {
        return Err(WebhookError::Invalid(format!(
            "secret starts with {SECRET_PREFIX}, so the rest must be a non-empty standard base64 \
             key (A-Z, a-z, 0-9, + and /, padded with =), and it is not; \
             drop the prefix to use the secret as it is"
        )));
    }
    Ok(secret)
}

/// The webhook as the API shows it and the change log records it: no secret, only whether one
/// is set and until when a rotated-out one still signs, and the URL's password masked.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicWebhook<'a> {
    id: Id,
    url: &'a str,
    description: &'a str,
    events: &'a [String],
    enabled: bool,
    timeout_seconds: u32,
    has_secret: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_secret_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<&'a str>,
    format: PayloadFormat,
    managed_by: &'static str,
    all_environments: bool,
    created_at: String,
    updated_at: String,
}

impl Webhook {
    /// The secrets that sign a delivery at `now`: the current one first, then a rotated-out one
    /// whose overlap has not ended.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> Option<(&str, Vec<&str>)> {
        let current = self.secret.as_ref()?.expose();
        let previous = self
            .previous_secret
            .iter()
            .filter(|previous| previous.expires_at > now)
            .map(|previous| previous.secret.expose())
            .collect();
        Some((current, previous))
    }

    pub fn public_json(&self) -> serde_json::Value {
        // Serializing a struct of strings, numbers and a unit enum cannot fail.
        serde_json::to_value(PublicWebhook {
            id: self.id,
            url: &url_password::masked(&self.url),
            description: &self.description,
            events: &self.events,
            enabled: self.enabled,
            timeout_seconds: self.timeout_seconds,
            has_secret: self.secret.is_some(),
            previous_secret_expires_at: self
                .previous_secret
                .as_ref()
                .map(|previous| rfc3339(previous.expires_at)),
            disabled_reason: self.disabled_reason.as_deref(),
            format: self.format,
            managed_by: if self.managed_by_config { "config" } else { "api" },
            all_environments: self.all_environments,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn new_webhook() -> NewWebhook {
        NewWebhook {
            url: "https://hooks.example.com/flags".into(),
            events: vec!["flag.*".into()],
            description: "ops".into(),
            secret: Some("whsec_YWJj".into()),
            enabled: true,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            format: PayloadFormat::Bunting,
            all_environments: false,
        }
    }

    fn created() -> Webhook {
        apply(None, WebhookCommand::Create(new_webhook()), || 7, AT)
            .unwrap()
            .after
    }

    #[test]
    fn create_validates_and_records_created() {
        let outcome = apply(None, WebhookCommand::Create(new_webhook()), || 7, AT).unwrap();
        assert_eq!(
            outcome.events,
            vec![Event::new(
                EventType::WebhookCreated,
                ComponentType::Webhook,
                Some(7),
                None
            )]
        );
        assert_eq!(outcome.after.id, 7);
        assert_eq!(outcome.after.events, vec!["flag.*"]);
        for (url, why) in [
            ("ftp://x", "http"),
            ("hooks.example.com", "http"),
            ("https://", "no host"),
            ("https://:80/x", "no host"),
            ("https://a b", "spaces"),
            ("http://h.example/\tx", "control characters"),
            ("http://[::1", "invalid IPv6 address"),
            ("http://h.example:99999/", "invalid port number"),
            ("http://h.example:-1/", "invalid port number"),
            ("http://h.example:0/", "port 0"),
            ("http://%00/", "not a valid URL"),
            ("http://exa mple.com/", "spaces"),
            ("http://ex%20ample.com/", "not a valid URL"),
            ("http://999.1.1.1/", "invalid IPv4 address"),
            ("mailto:x@h.example", "http://"),
            // Literal addresses in always-refused ranges, in any spelling.
            ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
            ("http://2852039166/", "169.254.169.254"),
            ("http://0xA9FEA9FE/", "169.254.169.254"),
            ("http://0251.0376.0251.0376/", "169.254.169.254"),
            ("http://169.254.43518/", "169.254.169.254"),
            ("http://100.100.100.200/", "cloud metadata"),
            ("http://192.0.0.192/", "cloud metadata"),
            ("http://[fd00:ec2::254]/", "cloud metadata"),
            ("http://[fd20:ce::254]/", "cloud metadata"),
            ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
            ("http://[64:ff9b::100.100.100.200]/", "cloud metadata"),
            ("http://169.254.0.1/", "link-local"),
            ("http://[fe80::1]/", "link-local"),
            ("http://0/", "unspecified"),
            ("http://[::]:8080/", "unspecified"),
            ("http://224.0.0.1/", "multicast"),
            ("http://255.255.255.255/", "broadcast"),
        ] {
            let mut new = new_webhook();
            new.url = url.into();
            let error = apply(None, WebhookCommand::Create(new), || 1, AT)
                .unwrap_err()
                .to_string();
            assert!(error.contains(why), "{url}: {error}");
        }
        let mut new = new_webhook();
        new.timeout_seconds = 31;
        assert!(
            apply(None, WebhookCommand::Create(new), || 1, AT)
                .unwrap_err()
                .to_string()
                .contains("timeoutSeconds")
        );
        let mut new = new_webhook();
        new.events = vec!["flag.exploded".into()];
        assert!(
            apply(None, WebhookCommand::Create(new), || 1, AT)
                .unwrap_err()
                .to_string()
                .contains("flag.exploded")
        );
    }

    #[test]
    fn only_the_api_formats_can_be_set() {
        let mut new = new_webhook();
        new.format = PayloadFormat::Slack;
        assert_eq!(created_with(new).unwrap().format, PayloadFormat::Slack);
        for legacy in [
            PayloadFormat::FlagrNotification,
            PayloadFormat::FlagrNotificationDetailed,
        ] {
            let mut new = new_webhook();
            new.format = legacy;
            let error = created_with(new).unwrap_err().to_string();
            assert!(
                error.contains("bunting, flagsmith, flagsmith_audit, slack, sentry"),
                "{error}"
            );
        }
        assert!(PayloadFormat::settable("nope").is_err());
    }

    fn created_with(new: NewWebhook) -> Result<Webhook, WebhookError> {
        apply(None, WebhookCommand::Create(new), || 1, AT).map(|outcome| outcome.after)
    }

    #[test]
    fn usable_urls_are_kept_as_written() {
        // Private and loopback literals pass here: whether they are refused is the server's
        // `deny_private` setting, applied when delivering.
        for url in [
            "https://hooks.example.com",
            "HTTP://Hooks.Example.com:8080/a?b=c#d",
            "http://127.0.0.1:3000/hook",
            "http://10.0.0.7/hook",
            "http://[::1]:8080/",
            "https://user:pass@hooks.example.com/x",
            "https://bücher.example/hook",
            "  https://hooks.example.com/padded  ",
        ] {
            let mut new = new_webhook();
            new.url = url.into();
            let created = apply(None, WebhookCommand::Create(new), || 1, AT).unwrap().after;
            assert_eq!(created.url, url.trim(), "{url}");
        }
    }

    #[test]
    fn a_whsec_secret_must_carry_a_base64_key() {
        let with_secret = |secret: &str| {
            let mut new = new_webhook();
            new.secret = Some(secret.into());
            apply(None, WebhookCommand::Create(new), || 1, AT)
        };
        for key in ["abc", "", "not base64!", "YWJj=", "YW-j"] {
            let secret = format!("whsec_{key}");
            let error = with_secret(&secret).unwrap_err().to_string();
            assert!(error.contains("base64"), "{secret}: {error}");
            assert!(
                key.is_empty() || !error.contains(key),
                "the key is never quoted: {error}"
            );
        }
        for secret in ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_YWI=", "s3cret", "abc"] {
            assert!(with_secret(secret).is_ok(), "{secret}");
        }
        let webhook = created();
        let rotate = WebhookCommand::RotateSecret {
            secret: "whsec_abc".into(),
            overlap_until: AT,
        };
        assert!(apply(Some(&webhook), rotate, || 0, AT).is_err());
    }

    #[test]
    fn a_url_password_is_masked_and_kept_when_sent_back_masked() {
        let mut new = new_webhook();
        new.url = "https://bot:pa55@hooks.example.com/x".into();
        let webhook = created_with(new).unwrap();
        assert_eq!(webhook.url, "https://bot:pa55@hooks.example.com/x");
        assert_eq!(webhook.public_json()["url"], "https://bot:***@hooks.example.com/x");
        let sent_back = WebhookPatch {
            url: Some("https://bot:***@hooks.example.com/x".into()),
            ..WebhookPatch::default()
        };
        let outcome = apply(Some(&webhook), WebhookCommand::Update(sent_back), || 0, AT).unwrap();
        assert!(!outcome.changed());
        let moved = WebhookPatch {
            url: Some("https://bot:***@elsewhere.example/x".into()),
            ..WebhookPatch::default()
        };
        let moved = apply(Some(&webhook), WebhookCommand::Update(moved), || 0, AT).unwrap();
        assert_eq!(
            moved.after.url, "https://bot:***@elsewhere.example/x",
            "the password stays behind"
        );
        let mut new = new_webhook();
        new.url = "http:bot:pa55@hooks.example.com/x".into();
        assert!(
            created_with(new)
                .unwrap_err()
                .to_string()
                .contains("user:password@host")
        );
    }

    #[test]
    fn an_update_that_changes_nothing_is_a_no_op() {
        let webhook = created();
        let same = WebhookPatch {
            description: Some("ops".into()),
            ..WebhookPatch::default()
        };
        assert!(
            !apply(Some(&webhook), WebhookCommand::Update(same), || 0, AT)
                .unwrap()
                .changed()
        );
        let other = WebhookPatch {
            enabled: Some(false),
            ..WebhookPatch::default()
        };
        let outcome = apply(Some(&webhook), WebhookCommand::Update(other), || 0, AT).unwrap();
        assert_eq!(outcome.events[0].kind, EventType::WebhookUpdated);
        assert!(!outcome.after.enabled);
    }

    #[test]
    fn rotation_keeps_the_old_secret_signing_until_the_overlap_ends() {
        let webhook = created();
        let until = datetime!(2026-12-02 10:00 UTC);
        let rotated = apply(
            Some(&webhook),
            WebhookCommand::RotateSecret {
                secret: "whsec_bmV3".into(),
                overlap_until: until,
            },
            || 0,
            AT,
        )
        .unwrap()
        .after;
        assert_eq!(rotated.signing_secrets(AT), Some(("whsec_bmV3", vec!["whsec_YWJj"])));
        assert_eq!(rotated.signing_secrets(until), Some(("whsec_bmV3", vec![])));
        let cleared = WebhookPatch {
            secret: Some(None),
            ..WebhookPatch::default()
        };
        let unsigned = apply(Some(&rotated), WebhookCommand::Update(cleared), || 0, AT)
            .unwrap()
            .after;
        assert_eq!(unsigned.signing_secrets(AT), None);
    }

    #[test]
    fn the_public_view_never_carries_a_secret() {
        let webhook = created();
        let json = webhook.public_json();
        assert_eq!(json["hasSecret"], true);
        assert!(!json.to_string().contains("whsec_YWJj"), "{json}");
        assert_eq!(json["managedBy"], "api");
        assert_eq!(json["timeoutSeconds"], 10);
    }

    #[test]
    fn disabling_for_gone_records_why_and_enabling_clears_it() {
        let webhook = created();
        let disabled = apply(
            Some(&webhook),
            WebhookCommand::Disable {
                reason: "410 Gone".into(),
            },
            || 0,
            AT,
        )
        .unwrap()
        .after;
        assert_eq!(
            (disabled.enabled, disabled.disabled_reason.as_deref()),
            (false, Some("410 Gone"))
        );
        let enable = WebhookPatch {
            enabled: Some(true),
            ..WebhookPatch::default()
        };
        let enabled = apply(Some(&disabled), WebhookCommand::Update(enable), || 0, AT)
            .unwrap()
            .after;
        assert_eq!((enabled.enabled, enabled.disabled_reason), (true, None));
    }

    #[test]
    fn the_configured_webhook_is_not_changed_through_the_api() {
        let configured = ConfiguredWebhook {
            url: "http://notify.internal/hook".into(),
            headers: vec![("X-Team".into(), "flags".into())],
            timeout_seconds: 10,
            enabled: true,
            detailed: false,
        };
        let webhook = apply(None, WebhookCommand::Configure(configured.clone()), || 3, AT)
            .unwrap()
            .after;
        assert_eq!(webhook.format, PayloadFormat::FlagrNotification);
        let patch = WebhookPatch {
            enabled: Some(false),
            ..WebhookPatch::default()
        };
        assert!(apply(Some(&webhook), WebhookCommand::Update(patch), || 0, AT).is_err());
        assert!(apply(Some(&webhook), WebhookCommand::Delete, || 0, AT).is_err());
        assert!(
            !apply(Some(&webhook), WebhookCommand::Configure(configured), || 0, AT)
                .unwrap()
                .changed()
        );
    }
}
