//! The body formats a webhook can choose (`flagsmith`, `flagsmith_audit`, `slack`, `sentry`):
//! what a real receiver gets for real changes, checked against the Flagsmith seed's examples
//! (copied into `fixtures/`) key by key, and the formats' own signature headers.

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::receiver::{Received, Receiver};

const SECRET: &str = "s3cret";
const SEED_FLAG_UPDATED: &str = include_str!("fixtures/flagsmith_flag_updated.json");
const SEED_AUDIT_LOG: &str = include_str!("fixtures/flagsmith_audit_log.json");

fn hex_hmac(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Asserts `body` has exactly the seed's keys at every level where both are objects. A value the
/// seed shows as null may be an object here (the audit record's `environment`) and the other way
/// round (a state that does not exist).
fn assert_shaped_like(seed: &Value, body: &Value, path: &str) {
    let (Some(seed), Some(body)) = (seed.as_object(), body.as_object()) else {
        return;
    };
    let mut seed_keys: Vec<&String> = seed.keys().collect();
    let mut body_keys: Vec<&String> = body.keys().collect();
    seed_keys.sort();
    body_keys.sort();
    assert_eq!(body_keys, seed_keys, "keys at {path}");
    for (key, value) in seed {
        let (seed_kind, body_kind) = (kind(value), kind(&body[key]));
        assert!(
            seed_kind == body_kind || seed_kind == "null" || body_kind == "null",
            "{path}.{key}: the seed has a {seed_kind}, the body a {body_kind}"
        );
        assert_shaped_like(value, &body[key], &format!("{path}.{key}"));
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

async fn subscribe(app: &TestApp, receiver: &Receiver, format: &str) -> i64 {
    app.create_webhook(json!({"url": receiver.url, "events": ["*"], "secret": SECRET, "format": format}))
        .await
}

fn by_event<'a>(received: &'a [Received], event: &str) -> &'a Received {
    received
        .iter()
        .find(|request| request.header("x-flagr-event") == event)
        .unwrap_or_else(|| panic!("no {event} delivery among {received:?}"))
}

#[tokio::test]
async fn flagsmith_bodies_match_the_seeds_flag_updated_and_are_signed_as_flagsmith_signs() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let webhook = subscribe(&app, &receiver, "flagsmith").await;
    assert_eq!(
        app.get(&format!("/webhooks/{webhook}")).await.ok()["format"],
        "flagsmith"
    );
    let flag = app.create_flag("checkout").await["id"].as_i64().unwrap();
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let received = receiver.wait_for(2).await;
    let seed: Value = serde_json::from_str(SEED_FLAG_UPDATED).unwrap();

    let created = by_event(&received, "flag.created");
    let body = created.json();
    assert_shaped_like(&seed, &body, "");
    assert_eq!(body["event_type"], "FLAG_UPDATED");
    assert_eq!(body["data"]["previous_state"], Value::Null, "null on create");
    assert_eq!(body["data"]["new_state"]["feature"]["name"], "checkout");

    let enabled = by_event(&received, "flag.enabled");
    let body = enabled.json();
    assert_shaped_like(&seed, &body, "");
    let data = &body["data"];
    assert_eq!(
        (&data["previous_state"]["enabled"], &data["new_state"]["enabled"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(data["new_state"]["environment"], 1);
    assert_eq!(data["new_state"]["feature"]["id"], flag);
    assert_eq!(data["new_state"]["feature"]["type"], "FLAG");

    for request in [created, enabled] {
        assert_eq!(
            request.header("x-flagsmith-signature"),
            hex_hmac(request.body.as_bytes())
        );
        // Ours are there too.
        assert_eq!(request.header("x-flagr-signature"), hex_hmac(request.body.as_bytes()));
        assert!(!request.header("webhook-signature").is_empty());
    }
}

#[tokio::test]
async fn audit_records_match_the_seeds_example_and_cover_webhook_changes() {
    let app = spawn_app_with(|config| config.identity.user_header = Some("X-Email".into())).await;
    let receiver = Receiver::start().await;
    let audit = subscribe(&app, &receiver, "flagsmith_audit").await;
    let flag = app.create_flag("checkout").await["id"].as_i64().unwrap();
    let segment = app
        .post(
            &format!("/flags/{flag}/segments"),
            json!({"description": "everyone", "rolloutPercent": 20}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let request = app
        .client
        .put(format!("{}/api/v1/flags/{flag}/segments/{segment}", app.base))
        .header("X-Email", "alice@example.com")
        .json(&json!({"description": "everyone", "rolloutPercent": 50}));
    app.send(request).await.ok();
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let other = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.deleted"]}))
        .await;
    // Its own creation, flag.created, segment.created, the rollout, flag.enabled, the other webhook.
    let received = receiver.wait_for(6).await;
    let seed: Value = serde_json::from_str(SEED_AUDIT_LOG).unwrap();
    for request in &received {
        assert_shaped_like(&seed, &request.json(), "");
        assert_eq!(
            request.header("x-flagsmith-signature"),
            hex_hmac(request.body.as_bytes())
        );
    }

    let rollout = by_event(&received, "segment.rollout_percent.updated").json();
    assert_eq!(
        rollout["log"],
        format!("Segment {segment} of checkout: rollout 20% → 50%")
    );
    assert_eq!(
        rollout["author"],
        json!({"id": null, "email": "alice@example.com", "first_name": "", "last_name": ""})
    );
    assert_eq!(
        (&rollout["related_object_id"], &rollout["related_object_type"]),
        (&json!(segment), &json!("SEGMENT"))
    );
    assert_eq!(rollout["environment"], json!({"id": 1, "name": "production"}));
    assert_eq!(
        rollout["project"],
        json!({"id": 1, "name": "Bunting", "organisation": 1})
    );

    let enabled = by_event(&received, "flag.enabled").json();
    assert_eq!(enabled["log"], "Flag checkout enabled");
    assert_eq!(enabled["author"], Value::Null, "no identity on that request");
    assert_eq!(
        (&enabled["related_object_id"], &enabled["related_object_type"]),
        (&json!(flag), &json!("FEATURE"))
    );

    // `*` on an audit webhook covers the webhook events too, its own creation included.
    let mut logs: Vec<Value> = received
        .iter()
        .filter(|request| request.header("x-flagr-event") == "webhook.created")
        .map(|request| request.json()["log"].clone())
        .collect();
    logs.sort_by_key(Value::to_string);
    assert_eq!(
        logs,
        [
            json!(format!("Webhook {audit} created")),
            json!(format!("Webhook {other} created"))
        ]
    );
}

#[tokio::test]
async fn slack_messages_carry_the_sentence_and_a_link_when_the_public_url_is_set() {
    let app = spawn_app_with(|config| config.webhooks.public_url = Some("https://flags.example.com".into())).await;
    let receiver = Receiver::start().await;
    let webhook = subscribe(&app, &receiver, "slack").await;
    let flag = app.create_flag("checkout").await["id"].as_i64().unwrap();
    let received = receiver.wait_for(1).await;
    assert_eq!(
        received[0].json(),
        json!({"text": format!("Flag checkout created\n<https://flags.example.com/#/flags/{flag}|Open checkout>")})
    );
    // A test send is a message too, so Slack accepts it.
    app.post(&format!("/webhooks/{webhook}/test"), json!({})).await.ok();
    let received = receiver.wait_for(2).await;
    assert_eq!(
        received[1].json(),
        json!({"text": format!("Test delivery from Bunting to webhook {webhook}")})
    );

    let unlinked = spawn_app().await;
    let receiver = Receiver::start().await;
    subscribe(&unlinked, &receiver, "slack").await;
    unlinked.create_flag("checkout").await;
    assert_eq!(
        receiver.wait_for(1).await[0].json(),
        json!({"text": "Flag checkout created"})
    );
}

#[tokio::test]
async fn sentry_logs_use_the_generic_format_and_its_signature_header() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver, "sentry").await;
    let flag = app.create_flag("checkout").await["id"].as_i64().unwrap();
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let received = receiver.wait_for(2).await;
    let created = by_event(&received, "flag.created");
    let body = created.json();
    assert_eq!(body["meta"], json!({"version": 1}));
    let entry = &body["data"][0];
    assert_eq!(
        (&entry["action"], &entry["flag"]),
        (&json!("created"), &json!("checkout"))
    );
    assert!(entry["change_id"].is_i64() && entry["created_at"].is_string());
    assert_eq!(
        by_event(&received, "flag.enabled").json()["data"][0]["action"],
        "updated"
    );
    assert_eq!(created.header("x-sentry-signature"), hex_hmac(created.body.as_bytes()));
}

#[tokio::test]
async fn the_format_is_set_through_the_api_and_only_to_the_api_formats() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let webhook = app.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    assert_eq!(app.get(&format!("/webhooks/{webhook}")).await.ok()["format"], "bunting");
    let updated = app
        .put(&format!("/webhooks/{webhook}"), json!({"format": "sentry"}))
        .await
        .ok();
    assert_eq!(updated["format"], "sentry");
    for format in ["flagr_notification", "flagr_notification_detailed", "nope"] {
        let error = app
            .post(
                "/webhooks",
                json!({"url": receiver.url, "events": ["*"], "format": format}),
            )
            .await
            .error(400);
        assert!(
            error.contains("bunting, flagsmith, flagsmith_audit, slack, sentry"),
            "{error}"
        );
    }
    let error = app
        .put(&format!("/webhooks/{webhook}"), json!({"format": 3}))
        .await
        .error(400);
    assert!(error.contains("format"), "{error}");
}
