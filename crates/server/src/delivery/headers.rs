//! The headers of one attempt: content type, event and delivery ids, the webhook's own headers,
//! and the signatures (`X-Flagr-Signature`, Standard Webhooks' `webhook-*`) computed for this
//! attempt's timestamp, plus Flagsmith's or Sentry's signature header for those formats. Also the record of what was sent, for the delivery log: signatures are
//! shown, secrets never exist in it, and configured header values are redacted because they
//! often carry credentials.

use bunting_core::webhook::config::{PayloadFormat, Webhook};
use bunting_core::webhook::signature::{flagr_signature, flagr_signature_header, standard_signature_header};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// What the delivery log shows in place of a configured header's value.
const REDACTED: &str = "(configured value, not logged)";

/// The request headers, and the JSON object the delivery log records for them.
pub(crate) fn attempt_headers(
    webhook: &Webhook,
    delivery_id: &str,
    event: &str,
    body: &str,
    now: OffsetDateTime,
) -> (HeaderMap, String) {
    let mut sent: Vec<(String, String)> = vec![
        ("content-type".into(), "application/json".into()),
        (
            "user-agent".into(),
            concat!("Bunting/", env!("CARGO_PKG_VERSION")).into(),
        ),
        ("x-flagr-event".into(), event.into()),
        ("x-flagr-delivery".into(), delivery_id.into()),
    ];
    if let Some((current, previous)) = webhook.signing_secrets(now) {
        let timestamp = now.unix_timestamp();
        sent.push((
            "x-flagr-signature".into(),
            flagr_signature_header(current, &previous, body.as_bytes()),
        ));
        sent.push(("webhook-id".into(), delivery_id.into()));
        sent.push(("webhook-timestamp".into(), timestamp.to_string()));
        sent.push((
            "webhook-signature".into(),
            standard_signature_header(current, &previous, delivery_id, timestamp, body.as_bytes()),
        ));
        // Flagsmith's and Sentry's receivers verify one hex signature with the one secret they
        // know: the current secret's, also during a rotation.
        let foreign = match webhook.format {
            PayloadFormat::Flagsmith | PayloadFormat::FlagsmithAudit => Some("x-flagsmith-signature"),
            PayloadFormat::Sentry => Some("x-sentry-signature"),
            _ => None,
        };
        if let Some(name) = foreign {
            sent.push((name.into(), flagr_signature(current, body.as_bytes())));
        }
    }
    let mut headers = HeaderMap::new();
    let mut logged = Map::new();
    for (name, value) in &sent {
        insert(&mut headers, name, value);
        logged.insert(name.clone(), Value::from(value.as_str()));
    }
    for (name, value) in &webhook.headers {
        if insert(&mut headers, name, value) {
            logged.insert(name.to_ascii_lowercase(), Value::from(REDACTED));
        }
    }
    (headers, Value::Object(logged).to_string())
}

/// Adds a header; a name or value that is not valid HTTP is skipped (configured headers are
/// checked at start-up, so this only guards against the impossible).
fn insert(headers: &mut HeaderMap, name: &str, value: &str) -> bool {
    match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        (Ok(name), Ok(value)) => {
            headers.insert(name, value);
            true
        }
        _ => {
            tracing::warn!(header = name, "skipping a header that is not valid HTTP");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bunting_core::secret::Secret;
    use bunting_core::webhook::config::PreviousSecret;
    use bunting_core::webhook::signature::{standard_signature, verify_flagr_signature};
    use time::macros::datetime;

    fn webhook(secret: Option<&str>) -> Webhook {
        Webhook {
            id: 1,
            url: "http://127.0.0.1:9/hook".into(),
            description: String::new(),
            events: vec!["*".into()],
            enabled: true,
            timeout_seconds: 10,
            secret: secret.map(Secret::from),
            previous_secret: None,
            disabled_reason: None,
            format: PayloadFormat::Bunting,
            headers: vec![("Authorization".into(), "Bearer hunter2".into())],
            managed_by_config: false,
            all_environments: false,
            created_at: datetime!(2026-12-01 0:00 UTC),
            updated_at: datetime!(2026-12-01 0:00 UTC),
        }
    }

    #[test]
    fn signed_attempts_carry_both_signatures_and_the_log_hides_configured_values() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let (headers, logged) = attempt_headers(&webhook(Some("s3cret")), "d-1", "flag.updated", "{}", now);
        assert!(verify_flagr_signature(
            "s3cret",
            b"{}",
            headers["x-flagr-signature"].to_str().unwrap()
        ));
        assert_eq!(headers["webhook-id"], "d-1");
        assert_eq!(headers["webhook-timestamp"], now.unix_timestamp().to_string());
        assert_eq!(
            headers["webhook-signature"],
            standard_signature("s3cret", "d-1", now.unix_timestamp(), b"{}")
        );
        assert_eq!(headers["authorization"], "Bearer hunter2");
        assert!(!logged.contains("hunter2") && !logged.contains("s3cret"), "{logged}");
        assert!(logged.contains("x-flagr-signature"), "{logged}");
    }

    #[test]
    fn rotation_signs_with_both_secrets_until_the_overlap_ends() {
        let mut rotating = webhook(Some("new"));
        rotating.previous_secret = Some(PreviousSecret {
            secret: "old".into(),
            expires_at: datetime!(2026-12-02 0:00 UTC),
        });
        let during = datetime!(2026-12-01 10:00 UTC);
        let (headers, _) = attempt_headers(&rotating, "d-1", "flag.updated", "{}", during);
        let signature = headers["x-flagr-signature"].to_str().unwrap();
        assert!(verify_flagr_signature("old", b"{}", signature) && verify_flagr_signature("new", b"{}", signature));
        assert_eq!(headers["webhook-signature"].to_str().unwrap().split(' ').count(), 2);
        let (after, _) = attempt_headers(&rotating, "d-1", "flag.updated", "{}", datetime!(2026-12-02 0:00 UTC));
        assert!(!verify_flagr_signature(
            "old",
            b"{}",
            after["x-flagr-signature"].to_str().unwrap()
        ));
    }

    #[test]
    fn flagsmith_and_sentry_formats_carry_their_signature_header() {
        let now = datetime!(2026-12-01 10:00 UTC);
        for (format, name) in [
            (PayloadFormat::Flagsmith, "x-flagsmith-signature"),
            (PayloadFormat::FlagsmithAudit, "x-flagsmith-signature"),
            (PayloadFormat::Sentry, "x-sentry-signature"),
        ] {
            let mut signed = webhook(Some("s3cret"));
            signed.format = format;
            let (headers, _) = attempt_headers(&signed, "d-1", "flag.updated", "{}", now);
            assert_eq!(headers[name], flagr_signature("s3cret", b"{}"), "{format}");
            assert!(headers.get("x-flagr-signature").is_some());
        }
        let (bunting, _) = attempt_headers(&webhook(Some("s3cret")), "d-1", "flag.updated", "{}", now);
        assert!(bunting.get("x-flagsmith-signature").is_none() && bunting.get("x-sentry-signature").is_none());
    }

    #[test]
    fn unsigned_webhooks_send_no_signature_headers() {
        let (headers, _) = attempt_headers(
            &webhook(None),
            "d-1",
            "flag.updated",
            "{}",
            datetime!(2026-12-01 0:00 UTC),
        );
        assert!(headers.get("x-flagr-signature").is_none() && headers.get("webhook-signature").is_none());
        assert_eq!(headers["x-flagr-delivery"], "d-1");
    }
}
