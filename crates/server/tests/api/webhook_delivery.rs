//! How deliveries are made: signatures, retries on the schedule (timed with a clock the test
//! moves), Retry-After, 410, redirects, timeouts, refused addresses, the delivery log,
//! redelivery, test sends, and that a slow receiver never slows a write.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bunting::clock::ManualClock;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

use crate::crash::Server;
use crate::helpers::{TestApp, spawn_app, spawn_app_on, spawn_app_with, spawn_app_with_clock, test_database};
use crate::receiver::{Receiver, Reply};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

pub(crate) fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn time(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        value.as_str().unwrap_or_else(|| panic!("not a time: {value}")),
        &Rfc3339,
    )
    .unwrap()
}

fn attempts(delivery: &Value) -> usize {
    delivery["attempts"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn both_signatures_verify_with_the_secret_and_fail_without_it() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    app.create_webhook(json!({"url": receiver.url, "events": ["flag.created"], "secret": secret}))
        .await;
    app.create_flag("signed").await;
    let request = &receiver.wait_for(1).await[0];
    let body = request.body.as_bytes();

    // X-Flagr-Signature: hex HMAC-SHA256 of the raw body keyed with the secret's bytes.
    assert_eq!(request.header("x-flagr-signature"), hex(&hmac(secret.as_bytes(), body)));
    assert_ne!(request.header("x-flagr-signature"), hex(&hmac(b"wrong secret", body)));

    // Standard Webhooks: v1,base64(HMAC(base64-decoded whsec_ key, "id.timestamp.body")).
    let (id, timestamp) = (request.header("webhook-id"), request.header("webhook-timestamp"));
    assert_eq!(id, request.header("x-flagr-delivery"));
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body].concat();
    assert_eq!(
        request.header("webhook-signature"),
        format!("v1,{}", STANDARD.encode(hmac(&key, &signed)))
    );
    assert_ne!(
        request.header("webhook-signature"),
        format!("v1,{}", STANDARD.encode(hmac(b"wrong", &signed)))
    );
    let sent_at = timestamp.parse::<i64>().unwrap();
    assert!(
        (OffsetDateTime::now_utc().unix_timestamp() - sent_at).abs() < 60,
        "the timestamp is the attempt's"
    );
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_alongside_the_new_one() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.created"], "secret": "old-secret"}))
        .await;
    let new_secret = app
        .post(&format!("/webhooks/{id}/secret/rotate"), json!(null))
        .await
        .ok()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_flag("rotating").await;
    let request = &receiver.wait_for(1).await[0];
    let body = request.body.as_bytes();
    let signatures: Vec<&str> = request.header("x-flagr-signature").split(',').collect();
    assert_eq!(
        signatures,
        [hex(&hmac(new_secret.as_bytes(), body)), hex(&hmac(b"old-secret", body))]
    );
    assert_eq!(
        request.header("webhook-signature").split(' ').count(),
        2,
        "{}",
        request.header("webhook-signature")
    );
}

#[tokio::test]
async fn failed_attempts_are_retried_on_the_schedule_then_the_delivery_fails() {
    let start = datetime!(2026-12-01 12:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let app = spawn_app_with_clock(clock.clone(), |config| {
        config.webhooks.retry_schedule = "0s,5s,5m".parse().unwrap();
        config.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500).with_body("down for maintenance"));
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.created"]}))
        .await;
    app.create_flag("retried").await;

    let first = app.delivery_where(id, |delivery| attempts(delivery) == 1).await;
    assert_eq!(first["status"], "pending");
    let attempt = &first["attempts"][0];
    assert_eq!(
        (attempt["statusCode"].clone(), attempt["errorClass"].clone()),
        (json!(500), json!("http_status"))
    );
    assert_eq!(attempt["responseBody"], "down for maintenance");
    assert_eq!(time(&attempt["startedAt"]), start, "attempted at once");
    let wait = time(&attempt["nextAttemptAt"]) - start;
    assert!(
        wait >= time::Duration::seconds(4) && wait <= time::Duration::seconds(6),
        "5 s ± 20 %: {wait}"
    );
    assert_eq!(first["nextAttemptAt"], attempt["nextAttemptAt"]);

    app.settle().await;
    receiver.assert_at_most(1);
    clock.advance(Duration::from_secs(6));
    let second = app.delivery_where(id, |delivery| attempts(delivery) == 2).await;
    let wait = time(&second["attempts"][1]["nextAttemptAt"]) - time(&second["attempts"][1]["startedAt"]);
    assert!(
        wait >= time::Duration::seconds(240) && wait <= time::Duration::seconds(360),
        "5 min ± 20 %: {wait}"
    );

    clock.advance(Duration::from_secs(361));
    let last = app.delivery_where(id, |delivery| attempts(delivery) == 3).await;
    assert_eq!(last["status"], "failed", "three attempts, the whole schedule");
    assert_eq!(last["nextAttemptAt"], Value::Null);
    assert_eq!(last["attempts"][2]["nextAttemptAt"], Value::Null);
    clock.advance(Duration::from_secs(86_400));
    app.settle().await;
    receiver.assert_at_most(3);
    assert_eq!(app.get(&format!("/webhooks/{id}")).await.ok()["failedDeliveries"], 1);

    // A redelivery is one more attempt, now, under the same delivery id.
    receiver.always(Reply::status(204));
    let delivery_id = last["id"].as_str().unwrap();
    let redelivered = app
        .post(
            &format!("/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
            json!(null),
        )
        .await
        .ok();
    assert_eq!(redelivered["status"], "pending");
    let done = app
        .delivery_where(id, |delivery| delivery["status"] == "delivered")
        .await;
    assert_eq!(attempts(&done), 4);
    assert_eq!(done["lastStatusCode"], 204);
    let ids: Vec<String> = receiver
        .wait_for(4)
        .await
        .iter()
        .map(|request| request.header("x-flagr-delivery").to_owned())
        .collect();
    assert!(
        ids.iter().all(|seen| seen == delivery_id),
        "every attempt carries the same delivery id: {ids:?}"
    );
}

#[tokio::test]
async fn throttling_and_retry_after_set_the_wait() {
    let start = datetime!(2026-12-01 12:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let app = spawn_app_with_clock(clock.clone(), |config| {
        config.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let throttled = Receiver::start().await;
    throttled.always(Reply::status(429));
    let asked = Receiver::start().await;
    asked.always(Reply::status(503).with_header("retry-after", "8"));
    let throttled_id = app
        .create_webhook(json!({"url": throttled.url, "events": ["flag.created"]}))
        .await;
    let asked_id = app
        .create_webhook(json!({"url": asked.url, "events": ["flag.created"]}))
        .await;
    app.create_flag("busy").await;

    let delivery = app
        .delivery_where(throttled_id, |delivery| attempts(delivery) == 1)
        .await;
    let wait = time(&delivery["nextAttemptAt"]) - start;
    assert!(
        wait >= time::Duration::seconds(60) && wait <= time::Duration::seconds(72),
        "429 waits at least 60 s: {wait}"
    );
    let delivery = app.delivery_where(asked_id, |delivery| attempts(delivery) == 1).await;
    assert_eq!(
        time(&delivery["nextAttemptAt"]) - start,
        time::Duration::seconds(8),
        "Retry-After 8 within [5 s, 10 s]"
    );
}

#[tokio::test]
async fn gone_disables_the_webhook_and_says_so_in_the_change_log() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(410));
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.*"]}))
        .await;
    let flag = app.create_flag("gone").await["id"].as_i64().unwrap();
    let delivery = app.delivery_where(id, |delivery| delivery["status"] == "failed").await;
    assert_eq!(attempts(&delivery), 1, "no retries after 410");
    let disabled = app.get(&format!("/webhooks/{id}")).await.ok();
    assert_eq!(disabled["enabled"], false);
    assert!(
        disabled["disabledReason"].as_str().unwrap().contains("410"),
        "{disabled}"
    );
    let change = &app.get("/changes?limit=1").await.ok()[0];
    assert_eq!(change["events"][0]["event"], "webhook.updated");
    assert_eq!(change["actor"], "bunting");
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    app.settle().await;
    receiver.assert_at_most(1);
    let enabled = app.put(&format!("/webhooks/{id}"), json!({"enabled": true})).await.ok();
    assert_eq!(enabled.get("disabledReason"), None, "re-enabling clears the reason");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let app = spawn_app().await;
    let elsewhere = Receiver::start().await;
    let redirecting = Receiver::start().await;
    redirecting.always(Reply::status(307).with_header("location", &elsewhere.url));
    let id = app
        .create_webhook(json!({"url": redirecting.url, "events": ["flag.created"]}))
        .await;
    app.create_flag("redirected").await;
    let delivery = app.delivery_where(id, |delivery| attempts(delivery) == 1).await;
    assert_eq!(delivery["attempts"][0]["statusCode"], 307);
    assert_eq!(delivery["attempts"][0]["errorClass"], "http_status");
    assert_eq!(delivery["status"], "pending", "a redirect is a failure to retry");
    app.settle().await;
    elsewhere.assert_at_most(0);
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_is_a_timeout() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200).after(Duration::from_secs(5)));
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.created"], "timeoutSeconds": 1}))
        .await;
    app.create_flag("slow").await;
    let delivery = app.delivery_where(id, |delivery| attempts(delivery) == 1).await;
    let attempt = &delivery["attempts"][0];
    assert_eq!(attempt["errorClass"], "timeout");
    assert_eq!(attempt["statusCode"], Value::Null);
    let took = attempt["durationMs"].as_f64().unwrap();
    assert!(
        (900.0..4000.0).contains(&took),
        "gave up after the 1 s timeout, not the receiver's 5 s: {took}"
    );
}

#[tokio::test]
async fn cloud_metadata_and_link_local_addresses_are_refused_before_connecting() {
    // Such URLs are refused when a webhook is created or updated, so these rows stand for
    // webhooks stored by an older release. Each address is refused before any connection is
    // attempted, however it is spelt; the receiver stands in for them until the rows are changed.
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let refused = [
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://2852039166/", "169.254.169.254"),
        ("http://0xA9FEA9FE/", "169.254.169.254"),
        ("http://169.254.43518/", "169.254.169.254"),
        ("http://100.100.100.200/latest/meta-data", "100.100.100.200"),
        ("http://192.0.0.192/opc/v2/instance/", "192.0.0.192"),
        ("http://[fd00:ec2::254]/latest/meta-data", "fd00:ec2::254"),
        ("http://[::ffff:100.100.100.200]/", "::ffff:100.100.100.200"),
        ("http://[64:ff9b::c000:c0]/", "64:ff9b::c000:c0"),
        ("http://169.254.0.1/", "169.254.0.1"),
    ];
    let mut webhooks = Vec::new();
    for (url, address) in refused {
        let id = app
            .create_webhook(json!({"url": receiver.url, "events": ["flag.created"]}))
            .await;
        app.execute_sql(&format!("UPDATE webhooks SET url = '{url}' WHERE id = {id}"))
            .await;
        webhooks.push((id, address));
    }
    app.create_flag("ssrf").await;
    for (id, address) in webhooks {
        let delivery = app.delivery_where(id, |delivery| attempts(delivery) == 1).await;
        let attempt = &delivery["attempts"][0];
        assert_eq!(attempt["errorClass"], "blocked", "{address}: {attempt}");
        assert_eq!(
            attempt["responseBody"],
            Value::Null,
            "nothing is read from a refused destination"
        );
        let error = attempt["error"].as_str().unwrap();
        assert!(error.contains(&format!("{address} is refused")), "{error}");
    }
    app.settle().await;
    receiver.assert_at_most(0);
}

#[tokio::test]
async fn denying_private_addresses_also_refuses_loopback_names() {
    let app = spawn_app_with(|config| config.webhooks.deny_private = true).await;
    let receiver = Receiver::start().await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let id = app
        .create_webhook(json!({"url": by_name, "events": ["flag.created"]}))
        .await;
    app.create_flag("private").await;
    let delivery = app.delivery_where(id, |delivery| attempts(delivery) == 1).await;
    assert_eq!(delivery["attempts"][0]["errorClass"], "blocked", "{delivery}");
    app.settle().await;
    receiver.assert_at_most(0);
}

#[tokio::test]
async fn a_proxy_in_the_environment_is_not_used_for_deliveries() {
    // A proxy is handed the host name unresolved, so the address policy could not judge where a
    // delivery goes. The real binary runs with every proxy variable pointing at a listener that
    // only counts connections, and with private destinations denied.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let proxied = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&proxied);
    tokio::spawn(async move {
        while let Ok((_connection, _)) = proxy.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut env = vec![
        ("BUNTING_WEBHOOK_DENY_PRIVATE", "true"),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        env.push((name, proxy_url.as_str()));
    }
    let database = test_database().await;
    let server = Server::start(&database.url, &env);
    let app = TestApp::at(&server.base);
    let receiver = Receiver::start().await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let id = app
        .create_webhook(json!({"url": by_name, "events": ["flag.created"], "timeoutSeconds": 2}))
        .await;
    app.create_flag("proxied").await;
    let delivery = app.delivery_where(id, |delivery| attempts(delivery) == 1).await;
    let attempt = &delivery["attempts"][0];
    assert_eq!(attempt["errorClass"], "blocked", "{attempt}");
    assert!(attempt["error"].as_str().unwrap().contains("localhost"), "{attempt}");
    assert_eq!(proxied.load(Ordering::SeqCst), 0, "nothing went through the proxy");
    receiver.assert_at_most(0);
}

#[tokio::test]
async fn a_slow_receiver_never_slows_a_write() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200).after(Duration::from_secs(30)));
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["*"], "timeoutSeconds": 30}))
        .await;
    let flag = app.create_flag("busy").await["id"].as_i64().unwrap();
    receiver.wait_for(1).await;
    // While the first delivery hangs for 30 s, twenty more writes go through...
    for n in 0..20 {
        app.put(&format!("/flags/{flag}"), json!({"description": format!("write {n}")}))
            .await
            .ok();
    }
    // ...and every one of them is logged while no attempt has finished yet.
    let deliveries = app.get(&format!("/webhooks/{id}/deliveries?limit=100")).await.ok();
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 21);
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery["status"] == "pending" && delivery["attemptCount"] == 0)
    );
}

#[tokio::test]
async fn the_delivery_log_shows_what_was_sent_and_what_came_back() {
    // The failed first delivery must stay failed-and-waiting for the length of the test.
    let app = spawn_app_with(|config| config.webhooks.retry_schedule = "0s,1h".parse().unwrap()).await;
    let receiver = Receiver::start().await;
    receiver.then(Reply::status(500).with_body(&"x".repeat(10_000)));
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.*"], "secret": "hunter2"}))
        .await;
    let flag = app.create_flag("logged").await["id"].as_i64().unwrap();
    // The creation's delivery takes the 500 before the next change exists: sent together, the
    // two deliveries could reach the receiver in either order.
    let failed = app
        .delivery_where(id, |delivery| delivery["lastErrorClass"] == "http_status")
        .await;
    assert_eq!(failed["event"], "flag.created");
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let received = receiver.wait_for(2).await;

    assert_eq!(
        failed["attempts"][0]["responseBody"].as_str().unwrap().len(),
        4096,
        "4 KiB of the response"
    );
    let enabled = app
        .delivery_where(id, |delivery| {
            delivery["event"] == "flag.enabled" && delivery["status"] == "delivered"
        })
        .await;
    let sent = received
        .iter()
        .find(|request| request.event() == "flag.enabled")
        .unwrap();
    assert_eq!(enabled["body"], sent.body, "the log holds the exact body sent");
    assert_eq!(enabled["flagKey"], "logged");
    assert_eq!(enabled["sequence"], app.max_id().await);
    let headers = &enabled["attempts"][0]["requestHeaders"];
    assert_eq!(headers["x-flagr-signature"], sent.header("x-flagr-signature"));
    assert_eq!(headers["x-flagr-delivery"], enabled["id"]);
    assert!(!enabled.to_string().contains("hunter2"), "the secret is never logged");
    assert_eq!(enabled["attempts"][0]["statusCode"], 200);
    assert!(enabled["attempts"][0]["durationMs"].as_f64().unwrap() > 0.0);

    let path = format!("/webhooks/{id}/deliveries");
    let listed = |query: &'static str| {
        let app = &app;
        let path = path.clone();
        async move { app.get(&format!("{path}{query}")).await.ok().as_array().unwrap().len() }
    };
    assert_eq!(listed("").await, 2);
    assert_eq!(listed("?event=flag.enabled").await, 1);
    assert_eq!(listed("?flagKey=logged&status=delivered").await, 1);
    assert_eq!(listed("?flagKey=other").await, 0);
    assert_eq!(listed("?limit=1").await, 1);
    assert_eq!(
        app.get(&format!("{path}?status=lost")).await.error(400),
        "status in query should be one of [\"pending\", \"delivered\", \"failed\"]"
    );
    assert_eq!(app.get(&format!("{path}?limit=many")).await.status, 400);
    assert_eq!(app.get(&format!("{path}/no-such-delivery")).await.status, 404);
    assert_eq!(app.get("/webhooks/99/deliveries").await.status, 404);
    assert_eq!(
        app.post(&format!("{path}/no-such-delivery/redeliver"), json!(null))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_test_event_reaches_the_webhook_whatever_it_subscribes_to() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["constraint.deleted"], "secret": "s"}))
        .await;
    let delivery = app.post(&format!("/webhooks/{id}/test"), json!(null)).await.ok();
    assert_eq!(delivery["event"], "webhook.test");
    assert_eq!(
        delivery["status"], "pending",
        "as enqueued, whatever the dispatcher does next"
    );
    let request = &receiver.wait_for(1).await[0];
    assert_eq!(request.event(), "webhook.test");
    assert_eq!(request.header("x-flagr-delivery"), delivery["id"]);
    assert_eq!(
        request.json()["component"],
        json!({"type": "webhook", "id": id, "key": null})
    );
    assert_eq!(
        request.header("x-flagr-signature"),
        hex(&hmac(b"s", request.body.as_bytes()))
    );
    app.delivery_where(id, |delivery| delivery["status"] == "delivered")
        .await;
    assert_eq!(app.post("/webhooks/99/test", json!(null)).await.status, 404);
}

/// The example body under "The test event" in docs/webhooks.md.
fn documented_test_event() -> Value {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/webhooks.md")).unwrap();
    let example = docs
        .split_once("<!-- webhook.test example")
        .and_then(|(_, after)| after.split_once("```json\n"))
        .and_then(|(_, after)| after.split_once("```"))
        .map(|(example, _)| example)
        .expect("docs/webhooks.md has the webhook.test example");
    serde_json::from_str(example).unwrap()
}

fn keys(object: &Value) -> Vec<&String> {
    object.as_object().unwrap().keys().collect()
}

#[tokio::test]
async fn the_test_event_is_sent_as_documented() {
    let documented = documented_test_event();
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let id = app.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    app.post(&format!("/webhooks/{id}/test"), json!(null)).await.ok();
    let sent = receiver.wait_for(1).await[0].json();
    assert_eq!(keys(&sent), keys(&documented), "{sent}");
    for fixed in ["event", "sequence", "flag_id", "flag_key", "data", "previous"] {
        assert_eq!(sent[fixed], documented[fixed], "{fixed}");
    }
    assert_eq!(keys(&sent["component"]), keys(&documented["component"]));
    assert_eq!(sent["component"]["type"], documented["component"]["type"]);
    assert_eq!(sent["component"]["key"], documented["component"]["key"]);
    assert_eq!(sent["component"]["id"], id, "the webhook tested");
    for text in ["id", "actor", "timestamp"] {
        assert!(sent[text].is_string() && documented[text].is_string(), "{text}");
    }
    time(&sent["timestamp"]);
    time(&documented["timestamp"]);
}

#[tokio::test]
async fn flagr_notification_settings_keep_working() {
    let receiver = Receiver::start().await;
    let url = receiver.url.clone();
    let app = spawn_app_with(move |config| {
        config.webhooks.legacy = Some(bunting::config::LegacyNotification {
            url,
            headers: vec![("X-Team".into(), "flags".into())],
            timeout_seconds: 10,
            detailed: false,
            retry_schedule: bunting_core::webhook::retry::RetrySchedule::default(),
        });
    })
    .await;
    let flag = app.create_flag("legacy").await["id"].as_i64().unwrap();
    let segment = app
        .post(
            &format!("/flags/{flag}/segments"),
            json!({"description": "s", "rolloutPercent": 5}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let received = receiver.wait_for(2).await;
    let mut bodies: Vec<Value> = received.iter().map(|request| request.json()).collect();
    bodies.sort_by_key(|body| body["component_type"].as_str().unwrap_or_default().to_owned());
    assert_eq!(bodies[0]["operation"], "create");
    assert_eq!(bodies[0]["component_type"], "flag");
    assert_eq!(bodies[0]["component_key"], "legacy");
    assert_eq!(bodies[0]["flag_key"], "legacy");
    assert_eq!(bodies[1]["component_type"], "segment");
    assert_eq!(bodies[1]["component_id"], segment);
    assert!(bodies[0].get("event").is_none(), "Flagr's shape, not Bunting's");
    assert_eq!(received[0].header("x-team"), "flags");

    let listed = app.get("/webhooks").await.ok();
    assert_eq!(listed[0]["managedBy"], "config");
    let id = listed[0]["id"].as_i64().unwrap();
    assert!(
        app.put(&format!("/webhooks/{id}"), json!({"enabled": false}))
            .await
            .error(400)
            .contains("FLAGR_NOTIFICATION")
    );
    let logged = app
        .delivery_where(id, |delivery| delivery["status"] == "delivered")
        .await;
    assert_eq!(
        logged["attempts"][0]["requestHeaders"]["x-team"],
        "(configured value, not logged)"
    );
}

#[tokio::test]
async fn replies_with_nul_bytes_invalid_utf8_or_10_mb_are_recorded_once_and_not_sent_again() {
    // PostgreSQL refuses NUL in text: recording such a reply used to fail the whole batch, and
    // every delivery in it was sent again each time its lease ran out.
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-01 12:00 UTC)));
    let app = spawn_app_with_clock(clock.clone(), |config| {
        config.webhooks.retry_schedule = "0s,1h".parse().unwrap();
        config.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let replies = [
        Reply::status(500).with_bytes(b"bad\0news\0".to_vec()),
        Reply::status(200).with_bytes(vec![b'o', b'k', 0xff, 0xfe, 0]),
        Reply::status(200).with_bytes(vec![b'x'; 10 * 1024 * 1024]),
    ];
    let mut webhooks = Vec::new();
    for reply in replies {
        let receiver = Receiver::start().await;
        receiver.always(reply);
        let id = app
            .create_webhook(json!({"url": receiver.url, "events": ["flag.created"]}))
            .await;
        webhooks.push((id, receiver));
    }
    app.create_flag("poison").await;

    let mut recorded = Vec::new();
    for (id, _) in &webhooks {
        recorded.push(app.delivery_where(*id, |delivery| attempts(delivery) == 1).await);
    }
    let response = |index: usize| {
        recorded[index]["attempts"][0]["responseBody"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(recorded[0]["status"], "pending", "a 500 waits for its retry");
    assert_eq!(response(0), "bad\u{FFFD}news\u{FFFD}", "NUL is shown as U+FFFD");
    assert_eq!(recorded[1]["status"], "delivered");
    assert_eq!(response(1), "ok\u{FFFD}\u{FFFD}\u{FFFD}", "invalid UTF-8 and NUL alike");
    assert_eq!(recorded[2]["status"], "delivered");
    assert_eq!(response(2).len(), 4096, "4 KiB of a 10 MB reply");

    // Well past every lease, but before the 500's retry: nobody is sent anything again.
    clock.advance(Duration::from_secs(60));
    app.settle().await;
    for (_, receiver) in &webhooks {
        receiver.assert_at_most(1);
    }
    for (id, _) in &webhooks {
        let delivery = app.delivery_where(*id, |_| true).await;
        assert_eq!(attempts(&delivery), 1, "{delivery}");
    }
}

/// Waits until `count` of the webhook's deliveries have had an attempt recorded.
async fn wait_for_attempted(app: &crate::helpers::TestApp, webhook: i64, count: usize) {
    for _ in 0..400 {
        let deliveries = app.get(&format!("/webhooks/{webhook}/deliveries")).await.ok();
        let attempted = deliveries
            .as_array()
            .unwrap()
            .iter()
            .filter(|delivery| delivery["attemptCount"].as_i64() > Some(0))
            .count();
        if attempted >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {count} deliveries of webhook {webhook} were attempted");
}

#[tokio::test]
async fn a_webhook_that_fails_every_attempt_for_too_long_is_disabled() {
    let start = datetime!(2026-12-01 12:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let app = spawn_app_with_clock(clock.clone(), |config| {
        // Retries fall far beyond the test: every attempt comes from a new change.
        config.webhooks.retry_schedule = "0s,1d".parse().unwrap();
        config.webhooks.poll_interval = Duration::from_millis(20);
        config.webhooks.disable_after = Duration::from_secs(3600);
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(503));
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.*"]}))
        .await;
    let flag = app.create_flag("flaky").await["id"].as_i64().unwrap();
    let mut attempted = 1;
    wait_for_attempted(&app, id, attempted).await;
    let webhook = || async { app.get(&format!("/webhooks/{id}")).await.ok() };
    let mut enabled = false;
    let mut change = || {
        enabled = !enabled;
        attempted += 1;
        let app = &app;
        let done = attempted;
        async move {
            app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": enabled}))
                .await
                .ok();
            wait_for_attempted(app, id, done).await;
            // Disabling follows the recording of the attempt that crossed the line.
            app.settle().await;
        }
    };

    clock.advance(Duration::from_secs(50 * 60));
    change().await;
    assert_eq!(
        webhook().await["enabled"],
        true,
        "failing for 50 minutes of the allowed hour"
    );
    clock.advance(Duration::from_secs(20 * 60));
    change().await;
    let disabled = webhook().await;
    assert_eq!(disabled["enabled"], false, "failing for 70 minutes: {disabled}");
    assert_eq!(
        disabled["disabledReason"],
        "every delivery attempt has failed since 2026-12-01T12:00:00Z (BUNTING_WEBHOOK_DISABLE_AFTER)"
    );
    let recorded = &app.get("/changes?limit=1").await.ok()[0];
    assert_eq!(recorded["events"][0]["event"], "webhook.updated");
    assert_eq!(recorded["actor"], "bunting");

    // Re-enabling starts the count afresh, and so does a success.
    app.put(&format!("/webhooks/{id}"), json!({"enabled": true})).await.ok();
    change().await;
    assert_eq!(webhook().await["enabled"], true, "re-enabled, failing for no time");
    clock.advance(Duration::from_secs(50 * 60));
    receiver.then(Reply::status(200));
    change().await;
    clock.advance(Duration::from_secs(50 * 60));
    change().await;
    assert_eq!(
        webhook().await["enabled"],
        true,
        "100 minutes since re-enabling, but only 50 since the last success"
    );
}

#[tokio::test]
async fn failed_attempts_are_logged_at_most_once_a_minute_per_webhook() {
    crate::logs::capture();
    let start = datetime!(2026-12-01 12:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let app = spawn_app_with_clock(clock.clone(), |config| {
        config.webhooks.retry_schedule = "0s,1d".parse().unwrap();
        config.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.created"]}))
        .await;
    for key in ["one", "two", "three"] {
        app.create_flag(key).await;
    }
    wait_for_attempted(&app, id, 3).await;
    clock.advance(Duration::from_secs(60));
    app.create_flag("four").await;
    wait_for_attempted(&app, id, 4).await;

    let deliveries: Vec<String> = app
        .get(&format!("/webhooks/{id}/deliveries"))
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|delivery| delivery["id"].as_str().unwrap().to_owned())
        .collect();
    let logged = crate::logs::lines(|line| {
        line["message"] == "webhook delivery attempt failed"
            && deliveries.iter().any(|id| line["delivery_id"] == id.as_str())
    });
    assert_eq!(logged.len(), 2, "one line, then one a minute later: {logged:?}");
    let first = &logged[0];
    assert_eq!(first["level"], "WARN");
    assert_eq!(first["webhook_id"], id);
    assert_eq!(first["event"], "flag.created");
    assert_eq!(first["outcome"], "http_status: HTTP 500");
    let next = time(&first["next_attempt"]) - start;
    assert!(
        next >= time::Duration::hours(19),
        "the retry, a day ± 20 % away: {next}"
    );
    assert_eq!(first["suppressed"], 0);
    assert_eq!(logged[1]["suppressed"], 2, "the two failures left out in between");
}

#[tokio::test]
async fn two_instances_on_one_database_send_every_delivery_exactly_once() {
    // Each instance's dispatcher claims from the same queue: a lease (and on PostgreSQL a
    // skipped row lock) keeps the other from sending what one has claimed.
    let first = spawn_app_with(|config| config.webhooks.poll_interval = Duration::from_millis(10)).await;
    let second = spawn_app_on(&first, |config| {
        config.webhooks.poll_interval = Duration::from_millis(10)
    })
    .await;
    let receiver = Receiver::start().await;
    for _ in 0..2 {
        first
            .create_webhook(json!({"url": receiver.url, "events": ["flag.created"]}))
            .await;
    }
    let flags = 60;
    for index in 0..flags {
        let app = if index % 2 == 0 { &first } else { &second };
        app.create_flag(&format!("shared-{index}")).await;
    }
    receiver.wait_for(2 * flags).await;
    first.settle().await;
    second.settle().await;
    let mut ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|request| request.header("x-flagr-delivery").to_owned())
        .collect();
    assert_eq!(ids.len(), 2 * flags, "one request per delivery");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2 * flags, "no delivery sent twice");
}

/// Changes made by several writers at once while the dispatcher records attempts for many
/// webhooks: every change is answered 200 and every delivery is delivered, none set aside. On
/// MariaDB, InnoDB deadlocked a change's new deliveries (which lock their webhook's row through
/// the foreign key) against the recording of attempts (which wrote those rows every batch): flag
/// writes failed with 500 and delivered deliveries were set aside as `unrecorded`.
#[tokio::test]
async fn concurrent_changes_and_recorded_attempts_never_fail_each_other() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let mut webhooks = Vec::new();
    for _ in 0..10 {
        webhooks.push(
            app.create_webhook(json!({"url": receiver.url, "events": ["flag.*"]}))
                .await,
        );
    }
    let writers = (0..4).map(|writer| {
        let client = TestApp::at(&app.base);
        async move {
            let flag = client.create_flag(&format!("busy-{writer}")).await["id"]
                .as_i64()
                .unwrap();
            let mut statuses = Vec::new();
            for change in 0..40 {
                let reply = client
                    .put(
                        &format!("/flags/{flag}"),
                        json!({"description": format!("change {change}")}),
                    )
                    .await;
                statuses.push((reply.status.as_u16(), reply.body.to_string()));
            }
            statuses
        }
    });
    let refused: Vec<(u16, String)> = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .flatten()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert!(refused.is_empty(), "changes refused: {refused:?}");
    app.settle().await;
    for webhook in webhooks {
        let summary = app.get(&format!("/webhooks/{webhook}")).await.ok();
        assert_eq!(summary["failedDeliveries"], 0, "{summary}");
        assert_eq!(summary["pendingDeliveries"], 0, "{summary}");
    }
}
