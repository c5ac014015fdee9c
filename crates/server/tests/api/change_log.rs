//! The change log's central property: exactly one change event per successful mutation, with
//! the right event types, component, actor and before/after; none for a no-op or a failure.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Runs `request` and asserts the log grew by one change with `events`; returns that change.
async fn one_change(
    app: &TestApp,
    request: impl std::future::Future<Output = crate::helpers::Reply>,
    events: &[&str],
) -> Value {
    let before = app.max_id().await;
    let reply = request.await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(app.max_id().await, before + 1, "one change for {events:?}");
    let change = app.get("/changes?limit=1").await.ok()[0].clone();
    assert_eq!(change["sequence"], before + 1);
    assert_eq!(names(&change), events);
    change
}

fn names(change: &Value) -> Vec<&str> {
    change["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event"].as_str().unwrap())
        .collect()
}

/// The component of the change's first event.
fn component(change: &Value) -> &Value {
    &change["events"][0]["component"]
}

/// Runs `request` and asserts it changed nothing in the log; returns its status.
async fn no_change(app: &TestApp, request: impl std::future::Future<Output = crate::helpers::Reply>) -> u16 {
    let before = app.max_id().await;
    let status = request.await.status.as_u16();
    assert_eq!(app.max_id().await, before, "no change expected (status {status})");
    status
}

#[tokio::test]
async fn every_flag_mutation_records_exactly_one_change() {
    let app = spawn_app().await;
    let created = one_change(
        &app,
        app.post("/flags", json!({"description": "d", "key": "logged"})),
        &["flag.created"],
    )
    .await;
    let flag = created["flag_id"].as_i64().unwrap();
    assert_eq!(created["flag_key"], "logged");
    assert_eq!(created["previous"], Value::Null);
    assert_eq!(created["data"]["key"], "logged");
    assert_eq!(
        created["events"][0]["component"],
        json!({"type": "flag", "id": flag, "key": "logged"})
    );
    assert_eq!(
        created["actor"], "anonymous",
        "nobody identified is anonymous, never empty"
    );
    assert!(created["id"].as_str().unwrap().len() >= 32);
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));

    let f = format!("/flags/{flag}");
    let updated = one_change(&app, app.put(&f, json!({"description": "changed"})), &["flag.updated"]).await;
    assert_eq!(updated["previous"]["description"], "d");
    assert_eq!(updated["data"]["description"], "changed");
    assert_eq!(
        updated["data"],
        app.get(&f).await.ok(),
        "data is exactly what GET returns"
    );
    assert_eq!(
        no_change(&app, app.put(&f, json!({"description": "changed"}))).await,
        200
    );

    one_change(
        &app,
        app.put(&format!("{f}/enabled"), json!({"enabled": true})),
        &["flag.enabled"],
    )
    .await;
    assert_eq!(
        no_change(&app, app.put(&format!("{f}/enabled"), json!({"enabled": true}))).await,
        200
    );
    one_change(
        &app,
        app.put(&format!("{f}/enabled"), json!({"enabled": false})),
        &["flag.disabled"],
    )
    .await;

    let tagged = one_change(
        &app,
        app.post(&format!("{f}/tags"), json!({"value": "team"})),
        &["flag.updated"],
    )
    .await;
    assert_eq!(component(&tagged)["type"], "tag");
    assert_eq!(
        no_change(&app, app.post(&format!("{f}/tags"), json!({"value": "team"}))).await,
        200
    );
    let tag = component(&tagged)["id"].as_i64().unwrap();
    one_change(&app, app.delete(&format!("{f}/tags/{tag}")), &["flag.updated"]).await;

    let variant = one_change(
        &app,
        app.post(&format!("{f}/variants"), json!({"key": "on"})),
        &["variant.created"],
    )
    .await;
    let variant_id = variant["events"][0]["component"]["id"].as_i64().unwrap();
    assert_eq!(
        variant["events"][0]["component"],
        json!({"type": "variant", "id": variant_id, "key": "on"})
    );
    let v = format!("{f}/variants/{variant_id}");
    one_change(&app, app.put(&v, json!({"key": "enabled"})), &["variant.updated"]).await;
    one_change(
        &app,
        app.put(&v, json!({"key": "enabled", "attachment": {"a": 1}})),
        &["variant.attachment.updated"],
    )
    .await;
    one_change(
        &app,
        app.put(&v, json!({"key": "on", "attachment": {"a": 2}})),
        &["variant.updated", "variant.attachment.updated"],
    )
    .await;
    assert_eq!(no_change(&app, app.put(&v, json!({"key": "on"}))).await, 200);

    let segment = one_change(
        &app,
        app.post(
            &format!("{f}/segments"),
            json!({"description": "all", "rolloutPercent": 50}),
        ),
        &["segment.created"],
    )
    .await;
    let segment_id = component(&segment)["id"].as_i64().unwrap();
    let s = format!("{f}/segments/{segment_id}");
    one_change(
        &app,
        app.put(&s, json!({"description": "all", "rolloutPercent": 60})),
        &["segment.rollout_percent.updated"],
    )
    .await;
    one_change(
        &app,
        app.put(&s, json!({"description": "everyone", "rolloutPercent": 60})),
        &["segment.updated"],
    )
    .await;
    one_change(
        &app,
        app.put(&s, json!({"description": "all", "rolloutPercent": 70})),
        &["segment.updated", "segment.rollout_percent.updated"],
    )
    .await;
    assert_eq!(
        no_change(&app, app.put(&s, json!({"description": "all", "rolloutPercent": 70}))).await,
        200
    );

    let distribution = json!({"distributions": [{"variantID": variant_id, "variantKey": "on", "percent": 100}]});
    one_change(
        &app,
        app.put(&format!("{s}/distributions"), distribution.clone()),
        &["distribution.updated"],
    )
    .await;
    assert_eq!(
        no_change(&app, app.put(&format!("{s}/distributions"), distribution)).await,
        200
    );

    let constraint = one_change(
        &app,
        app.post(
            &format!("{s}/constraints"),
            json!({"property": "a", "operator": "EQ", "value": "1"}),
        ),
        &["constraint.created"],
    )
    .await;
    let c = format!("{s}/constraints/{}", component(&constraint)["id"]);
    one_change(
        &app,
        app.put(&c, json!({"property": "a", "operator": "EQ", "value": "2"})),
        &["constraint.updated"],
    )
    .await;
    one_change(&app, app.delete(&c), &["constraint.deleted"]).await;

    let second = app
        .post(
            &format!("{f}/segments"),
            json!({"description": "second", "rolloutPercent": 1}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let reorder_path = format!("{f}/segments/reorder");
    let reorder = app.put(&reorder_path, json!({"segmentIDs": [second, segment_id]}));
    let reordered = one_change(&app, reorder, &["segment.updated", "segment.updated"]).await;
    assert_eq!(
        reordered["events"][0]["component"]["id"], second,
        "one event per segment whose rank changed"
    );
    assert_eq!(reordered["events"][1]["component"]["id"], segment_id);
    assert_eq!(
        no_change(
            &app,
            app.put(
                &format!("{f}/segments/reorder"),
                json!({"segmentIDs": [second, segment_id]})
            )
        )
        .await,
        200
    );
    one_change(
        &app,
        app.delete(&format!("{f}/segments/{second}")),
        &["segment.deleted"],
    )
    .await;

    // Variant deletion: the distribution still holds it, so first move the split away.
    let other = app.post(&format!("{f}/variants"), json!({"key": "off"})).await.ok()["id"]
        .as_i64()
        .unwrap();
    let moved = json!({"distributions": [{"variantID": other, "variantKey": "off", "percent": 100}, {"variantID": variant_id, "variantKey": "on", "percent": 0}]});
    one_change(
        &app,
        app.put(&format!("{s}/distributions"), moved),
        &["distribution.updated"],
    )
    .await;
    one_change(&app, app.delete(&v), &["variant.deleted"]).await;

    let duplicated = one_change(
        &app,
        app.post(&format!("{f}/duplicate"), json!({"key": "copy"})),
        &["flag.created"],
    )
    .await;
    assert_eq!(duplicated["flag_key"], "copy");
    assert_ne!(duplicated["flag_id"], flag);
    let deleted = one_change(&app, app.delete(&f), &["flag.deleted"]).await;
    assert_eq!(deleted["data"]["key"], "logged", "a delete carries the flag as deleted");
    one_change(&app, app.put(&format!("{f}/restore"), json!(null)), &["flag.restored"]).await;
    assert_eq!(
        no_change(&app, app.put(&format!("{f}/restore"), json!(null))).await,
        200
    );
}

#[tokio::test]
async fn failed_requests_record_nothing() {
    let app = spawn_app().await;
    let (flag, segment, control, _) = app.flag_with_split("guarded").await;
    let f = format!("/flags/{flag}");
    let s = format!("{f}/segments/{segment}");
    assert_eq!(
        no_change(&app, app.post("/flags", json!({"description": "d", "key": "guarded"}))).await,
        400
    );
    assert_eq!(
        no_change(&app, app.post("/flags", json!({"description": "d", "key": "bad key"}))).await,
        400
    );
    assert_eq!(no_change(&app, app.post("/flags", json!({"key": "x"}))).await, 422);
    assert_eq!(no_change(&app, app.raw(Method::POST, "/flags", "{")).await, 400);
    assert_eq!(
        no_change(&app, app.put("/flags/999", json!({"description": "x"}))).await,
        404
    );
    assert_eq!(
        no_change(&app, app.post(&format!("{f}/tags"), json!({"value": "bad#tag"}))).await,
        400
    );
    assert_eq!(
        no_change(&app, app.post("/flags/999/tags", json!({"value": "ok"}))).await,
        404
    );
    assert_eq!(
        no_change(&app, app.delete(&format!("{f}/variants/{control}"))).await,
        400
    );
    assert_eq!(
        no_change(
            &app,
            app.put(&format!("{s}/distributions"), json!({"distributions": []}))
        )
        .await,
        400
    );
    assert_eq!(
        no_change(
            &app,
            app.post(
                &format!("{s}/constraints"),
                json!({"property": "a", "operator": "EQ", "value": "unquoted"})
            )
        )
        .await,
        400
    );
    assert_eq!(
        no_change(
            &app,
            app.put(&format!("{f}/segments/reorder"), json!({"segmentIDs": [4242]}))
        )
        .await,
        404
    );
    assert_eq!(
        app.get("/tags").await.ok(),
        json!([]),
        "no tag row is left behind by a failed attach"
    );
}

#[tokio::test]
async fn the_log_pages_by_sequence_and_filters_by_flag() {
    let app = spawn_app().await;
    let a = app.create_flag("a").await["id"].as_i64().unwrap();
    let b = app.create_flag("b").await["id"].as_i64().unwrap();
    app.put(&format!("/flags/{a}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let sequences = |changes: Value| -> Vec<i64> {
        changes
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sequence"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(sequences(app.get("/changes").await.ok()), [3, 2, 1]);
    assert_eq!(sequences(app.get("/changes?order=asc&after=1").await.ok()), [2, 3]);
    assert_eq!(sequences(app.get("/changes?before=3&limit=1").await.ok()), [2]);
    assert_eq!(sequences(app.get(&format!("/changes?flag_id={a}")).await.ok()), [3, 1]);
    assert_eq!(sequences(app.get(&format!("/changes?flag_id={b}")).await.ok()), [2]);
    // Bunting's own route: every refusal is a 400 with a message.
    assert_eq!(
        app.get("/changes?order=up").await.error(400),
        "order in query should be one of [\"asc\", \"desc\"]"
    );
    assert_eq!(app.get("/changes?limit=5000").await.status, 400);
    assert_eq!(
        app.get("/changes?flag_id=0").await.error(400),
        "flag_id in query should be greater than or equal to 1"
    );
    assert_eq!(app.get("/changes?after=x").await.status, 400);
}

#[tokio::test]
async fn the_log_filters_by_flag_key_actor_event_and_time() {
    let app = crate::helpers::spawn_app_with(|config| config.identity.user_header = Some("X-Email".into())).await;
    let as_user = |user: &str, flag: i64, enabled: bool| {
        app.client
            .put(format!("{}/api/v1/flags/{flag}/enabled", app.base))
            .header("X-Email", user)
            .json(&json!({"enabled": enabled}))
    };
    let checkout = app.create_flag("checkout").await["id"].as_i64().unwrap();
    let search = app.create_flag("search_v2").await["id"].as_i64().unwrap();
    app.send(as_user("alice@example.com", checkout, true)).await.ok();
    app.send(as_user("bob@example.com", search, true)).await.ok();
    let sequences = |path: &str| {
        let app = &app;
        let path = path.to_owned();
        async move {
            app.get(&path)
                .await
                .ok()
                .as_array()
                .unwrap()
                .iter()
                .map(|change| change["sequence"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(sequences("/changes?flag_key=search_v2&order=asc").await, [2, 4]);
    assert_eq!(sequences("/changes?actor=alice@example.com").await, [3]);
    assert_eq!(sequences("/changes?event=flag.enabled").await, [4, 3]);
    assert_eq!(sequences("/changes?event=flag.*&actor=bob@example.com").await, [4]);
    // `_` in a key or an event name is matched as itself, not as a wildcard.
    assert_eq!(sequences("/changes?flag_key=search_v2").await, [4, 2]);
    let now = time::OffsetDateTime::now_utc();
    let later = (now + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let earlier = (now - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(sequences(&format!("/changes?since={later}")).await, Vec::<i64>::new());
    assert_eq!(
        sequences(&format!("/changes?since={earlier}&until={later}"))
            .await
            .len(),
        4
    );
    for (query, says) in [
        ("event=flag.exploded", "flag.exploded"),
        ("event=*", "one event name"),
        ("since=yesterday", "RFC 3339"),
    ] {
        let message = app.get(&format!("/changes?{query}")).await.error(400);
        assert!(message.contains(says), "{query}: {message}");
    }
}
