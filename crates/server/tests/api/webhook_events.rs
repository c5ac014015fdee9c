//! Which events fire, exactly when: every mutation of the API against a receiver subscribed to
//! everything, with the payload each event carries.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::receiver::{Received, Receiver};

/// The received events ordered by change sequence, as (sequence, event) pairs.
fn timeline(received: &[Received]) -> Vec<(i64, String)> {
    let mut events: Vec<(i64, String)> = received
        .iter()
        .map(|request| (request.json()["sequence"].as_i64().unwrap(), request.event()))
        .collect();
    events.sort();
    events
}

async fn subscribe(app: &TestApp, receiver: &Receiver, events: Value) -> i64 {
    app.post("/webhooks", json!({"url": receiver.url, "events": events}))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn every_mutation_fires_exactly_its_events() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver, json!(["*"])).await;
    let base = app.max_id().await;

    let flag = app
        .post("/flags", json!({"description": "d", "key": "watched"}))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let f = format!("/flags/{flag}");
    app.put(&f, json!({"description": "changed"})).await.ok();
    app.put(&f, json!({"description": "changed"})).await.ok(); // no-op: nothing fires
    app.put(&format!("{f}/enabled"), json!({"enabled": true})).await.ok();
    app.put(&format!("{f}/enabled"), json!({"enabled": true})).await.ok(); // no flip: nothing fires
    app.put(&format!("{f}/enabled"), json!({"enabled": false})).await.ok();
    let tag = app.post(&format!("{f}/tags"), json!({"value": "team"})).await.ok()["id"]
        .as_i64()
        .unwrap();
    app.delete(&format!("{f}/tags/{tag}")).await.ok();
    let on = app.post(&format!("{f}/variants"), json!({"key": "on"})).await.ok()["id"]
        .as_i64()
        .unwrap();
    let off = app.post(&format!("{f}/variants"), json!({"key": "off"})).await.ok()["id"]
        .as_i64()
        .unwrap();
    app.put(&format!("{f}/variants/{on}"), json!({"key": "enabled"}))
        .await
        .ok();
    app.put(
        &format!("{f}/variants/{on}"),
        json!({"key": "enabled", "attachment": {"color": "red"}}),
    )
    .await
    .ok();
    app.put(
        &format!("{f}/variants/{on}"),
        json!({"key": "on", "attachment": {"color": "blue"}}),
    )
    .await
    .ok();
    let segment = app
        .post(
            &format!("{f}/segments"),
            json!({"description": "all", "rolloutPercent": 10}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let other = app
        .post(
            &format!("{f}/segments"),
            json!({"description": "rest", "rolloutPercent": 10}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let s = format!("{f}/segments/{segment}");
    app.put(&s, json!({"description": "all", "rolloutPercent": 50}))
        .await
        .ok();
    app.put(&s, json!({"description": "everyone", "rolloutPercent": 50}))
        .await
        .ok();
    app.put(&s, json!({"description": "all", "rolloutPercent": 60}))
        .await
        .ok();
    app.put(
        &format!("{f}/segments/reorder"),
        json!({"segmentIDs": [other, segment]}),
    )
    .await
    .ok();
    let constraint = app
        .post(
            &format!("{s}/constraints"),
            json!({"property": "country", "operator": "EQ", "value": "\"NZ\""}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("{s}/constraints/{constraint}"),
        json!({"property": "country", "operator": "EQ", "value": "\"AU\""}),
    )
    .await
    .ok();
    app.delete(&format!("{s}/constraints/{constraint}")).await.ok();
    let split = json!({"distributions": [{"variantID": on, "variantKey": "on", "percent": 100}, {"variantID": off, "variantKey": "off", "percent": 0}]});
    app.put(&format!("{s}/distributions"), split.clone()).await.ok();
    app.put(&format!("{s}/distributions"), split).await.ok(); // the same split: nothing fires
    app.delete(&format!("{f}/variants/{off}")).await.ok();
    app.delete(&format!("{f}/segments/{other}")).await.ok();
    app.post(&format!("{f}/duplicate"), json!({"key": "copy"})).await.ok();
    app.delete(&f).await.ok();
    app.put(&format!("{f}/restore"), json!(null)).await.ok();
    // Failed requests fire nothing.
    app.post("/flags", json!({"description": "d", "key": "watched"}))
        .await
        .error(400);
    app.delete(&format!("{f}/variants/{on}")).await.error(400);

    // One entry per change, in order; a change may fire several events.
    let expected: Vec<&[&str]> = vec![
        &["flag.created"],
        &["flag.updated"],
        &["flag.enabled"],
        &["flag.disabled"],
        &["flag.updated"], // tag attached
        &["flag.updated"], // tag detached
        &["variant.created"],
        &["variant.created"],
        &["variant.updated"],
        &["variant.attachment.updated"],
        &["variant.attachment.updated", "variant.updated"],
        &["segment.created"],
        &["segment.created"],
        &["segment.rollout_percent.updated"],
        &["segment.updated"],
        &["segment.rollout_percent.updated", "segment.updated"],
        &["segment.updated", "segment.updated"], // reorder: both segments' ranks changed
        &["constraint.created"],
        &["constraint.updated"],
        &["constraint.deleted"],
        &["distribution.updated"],
        &["variant.deleted"],
        &["segment.deleted"],
        &["flag.created"], // duplicate
        &["flag.deleted"],
        &["flag.restored"],
    ];
    let expected: Vec<(i64, String)> = expected
        .iter()
        .zip(base + 1..)
        .flat_map(|(events, sequence)| events.iter().map(move |event| (sequence, (*event).to_owned())))
        .collect();
    let received = receiver.wait_for(expected.len()).await;
    app.settle().await;
    receiver.assert_at_most(expected.len());
    assert_eq!(timeline(&received), expected);
}
#[tokio::test]
async fn the_payload_carries_the_flag_before_and_after_with_who_and_what() {
    let app = spawn_app_with(|config| config.identity.user_header = Some("X-Email".into())).await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver, json!(["segment.*"])).await;
    let (flag, segment, _, _) = app.flag_with_split("payload").await;
    let before = app.get(&format!("/flags/{flag}")).await.ok();
    let request = app
        .client
        .put(format!("{}/api/v1/flags/{flag}/segments/{segment}", app.base))
        .header("X-Email", "alice@example.com")
        .json(&json!({"description": "beta testers", "rolloutPercent": 25}));
    app.send(request).await.ok();
    let after = app.get(&format!("/flags/{flag}")).await.ok();

    // segment.created from the setup, then the two events of the update.
    let received = receiver.wait_for(3).await;
    let rollout = received
        .iter()
        .find(|request| request.event() == "segment.rollout_percent.updated")
        .unwrap();
    let updated = received
        .iter()
        .find(|request| request.event() == "segment.updated")
        .unwrap();
    let body = rollout.json();
    assert_eq!(rollout.header("x-flagr-event"), "segment.rollout_percent.updated");
    assert_eq!(rollout.header("content-type"), "application/json");
    assert!(
        rollout.header("user-agent").starts_with("Bunting/"),
        "{}",
        rollout.header("user-agent")
    );
    assert_eq!(rollout.header("x-flagr-delivery").len(), 36);
    assert_eq!(body["flag_id"], flag);
    assert_eq!(body["flag_key"], "payload");
    assert_eq!(body["actor"], "alice@example.com");
    assert_eq!(
        body["component"],
        json!({"type": "segment", "id": segment, "key": null})
    );
    assert_eq!(
        body["data"], after,
        "data is the flag exactly as GET returns it after the change"
    );
    assert_eq!(body["previous"], before);
    assert_eq!(body["sequence"], app.max_id().await);
    let timestamp = body["timestamp"].as_str().unwrap();
    assert!(timestamp.ends_with('Z'));
    assert!(time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339).is_ok());
    assert_ne!(
        rollout.header("x-flagr-delivery"),
        updated.header("x-flagr-delivery"),
        "each event is its own delivery"
    );
    assert_ne!(body["id"], updated.json()["id"], "each event has its own id");
    assert_eq!(body["sequence"], updated.json()["sequence"], "one change, one sequence");
}

#[tokio::test]
async fn subscriptions_select_events_and_webhook_events_need_asking_for() {
    let app = spawn_app().await;
    let flags_only = Receiver::start().await;
    let rollouts_only = Receiver::start().await;
    let everything = Receiver::start().await;
    let admin = Receiver::start().await;
    subscribe(&app, &admin, json!(["webhook.*"])).await;
    subscribe(&app, &flags_only, json!(["flag.*"])).await;
    subscribe(&app, &rollouts_only, json!(["segment.rollout_percent.updated"])).await;
    subscribe(&app, &everything, json!(["*"])).await;
    let flag = app.create_flag("selective").await["id"].as_i64().unwrap();
    let segments = format!("/flags/{flag}/segments");
    let segment = app
        .post(&segments, json!({"description": "s", "rolloutPercent": 1}))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("{segments}/{segment}"),
        json!({"description": "s", "rolloutPercent": 2}),
    )
    .await
    .ok();
    let silent = Receiver::start().await;
    let disabled = subscribe(&app, &silent, json!(["*"])).await;
    app.put(&format!("/webhooks/{disabled}"), json!({"enabled": false}))
        .await
        .ok();
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();

    let flag_events: Vec<String> = timeline(&flags_only.wait_for(2).await)
        .into_iter()
        .map(|(_, event)| event)
        .collect();
    assert_eq!(flag_events, ["flag.created", "flag.enabled"]);
    assert_eq!(
        rollouts_only.wait_for(1).await[0].event(),
        "segment.rollout_percent.updated"
    );
    let all: Vec<String> = timeline(&everything.wait_for(4).await)
        .into_iter()
        .map(|(_, event)| event)
        .collect();
    assert_eq!(
        all,
        [
            "flag.created",
            "segment.created",
            "segment.rollout_percent.updated",
            "flag.enabled"
        ]
    );
    let admin_events: Vec<String> = timeline(&admin.wait_for(6).await)
        .into_iter()
        .map(|(_, event)| event)
        .collect();
    assert_eq!(
        admin_events,
        [
            "webhook.created",
            "webhook.created",
            "webhook.created",
            "webhook.created",
            "webhook.created",
            "webhook.updated"
        ],
        "the admin webhook hears about webhooks (its own creation included), and only about webhooks"
    );
    app.settle().await;
    for receiver in [&flags_only, &rollouts_only, &everything] {
        assert!(
            receiver
                .received()
                .iter()
                .all(|request| !request.event().starts_with("webhook."))
        );
    }
    assert!(silent.received().is_empty(), "a disabled webhook receives nothing");
}
