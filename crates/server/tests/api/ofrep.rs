//! OFREP (`/api/v1/ofrep/v1/evaluate/flags[/{key}]`): Flagr's flags evaluated through the
//! OpenFeature Remote Evaluation Protocol, with Flagr's bucketing, OFREP's values, reasons,
//! errors and status codes, and the bulk ETag. `sdk` runs the real OpenFeature SDKs against it.

mod sdk;

use bunting::config::Storage;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app, spawn_eval_only};

/// The flags every OFREP test evaluates, one per kind of answer:
/// - `new-checkout`: Flagr's boolean flag, on for everyone (STATIC `true`);
/// - `dark-mode`: Flagr's boolean flag, disabled (DISABLED, no value);
/// - `banner`: `orange` for country NL (TARGETING_MATCH), else `blue` (STATIC), strings;
/// - `max-items`: attachment `{"value": 25}` (a number);
/// - `theme`: attachment `{"color": "#000", "size": 2}` (an object);
/// - `experiment`: `control`/`treatment` 50/50 (SPLIT);
/// - `nl-only`: a variant for country NL only, so others get none (DEFAULT, no value).
pub(crate) async fn ofrep_flags(app: &TestApp) {
    for (key, enabled) in [("new-checkout", true), ("dark-mode", false)] {
        let flag = app.create_boolean_flag(key).await;
        let id = flag["id"].as_i64().unwrap();
        app.put(&format!("/flags/{id}/enabled"), json!({"enabled": enabled}))
            .await
            .ok();
    }
    let banner = one_variant_flag(app, "banner", "orange", json!({}), Some("NL")).await;
    add_segment(app, banner, "blue", json!({}), None).await;
    one_variant_flag(app, "max-items", "limited", json!({"value": 25}), None).await;
    one_variant_flag(app, "theme", "dark", json!({"color": "#000", "size": 2}), None).await;
    let (experiment, ..) = app.flag_with_split("experiment").await;
    app.put(&format!("/flags/{experiment}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    one_variant_flag(app, "nl-only", "dutch", json!({}), Some("NL")).await;
}

/// An enabled flag giving `variant` to everyone in `country` (everyone when `None`).
async fn one_variant_flag(app: &TestApp, key: &str, variant: &str, attachment: Value, country: Option<&str>) -> i64 {
    let id = app.create_flag(key).await["id"].as_i64().unwrap();
    app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    add_segment(app, id, variant, attachment, country).await;
    id
}

/// A variant and a segment (with a country constraint when given) that gives it 100 %.
async fn add_segment(app: &TestApp, flag: i64, variant: &str, attachment: Value, country: Option<&str>) {
    let variant_id = app
        .post(
            &format!("/flags/{flag}/variants"),
            json!({"key": variant, "attachment": attachment}),
        )
        .await
        .ok()["id"]
        .clone();
    let segment = app
        .post(
            &format!("/flags/{flag}/segments"),
            json!({"description": variant, "rolloutPercent": 100}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    if let Some(country) = country {
        app.post(
            &format!("/flags/{flag}/segments/{segment}/constraints"),
            json!({"property": "country", "operator": "EQ", "value": format!("\"{country}\"")}),
        )
        .await
        .ok();
    }
    app.put(
        &format!("/flags/{flag}/segments/{segment}/distributions"),
        json!({"distributions": [{"variantID": variant_id, "variantKey": variant, "percent": 100}]}),
    )
    .await
    .ok();
}

async fn evaluate(app: &TestApp, key: &str, context: Value) -> Reply {
    app.post(
        &format!("/ofrep/v1/evaluate/flags/{key}"),
        json!({ "context": context }),
    )
    .await
}

/// The evaluation without its metadata (Flagr's ids), which the tests check separately.
fn answer(reply: Reply) -> Value {
    let mut body = reply.ok();
    body.as_object_mut().unwrap().remove("metadata");
    body
}

#[tokio::test]
async fn each_kind_of_flag_gets_its_ofrep_value_reason_and_variant() {
    let app = spawn_app().await;
    ofrep_flags(&app).await;
    let user = json!({"targetingKey": "user-1", "country": "DE"});
    let cases = [
        (
            "new-checkout",
            json!({"key": "new-checkout", "value": true, "reason": "STATIC", "variant": "on"}),
        ),
        ("dark-mode", json!({"key": "dark-mode", "reason": "DISABLED"})),
        (
            "banner",
            json!({"key": "banner", "value": "blue", "reason": "STATIC", "variant": "blue"}),
        ),
        (
            "max-items",
            json!({"key": "max-items", "value": 25, "reason": "STATIC", "variant": "limited"}),
        ),
        (
            "theme",
            json!({"key": "theme", "value": {"color": "#000", "size": 2}, "reason": "STATIC", "variant": "dark"}),
        ),
        ("nl-only", json!({"key": "nl-only", "reason": "DEFAULT"})),
    ];
    for (key, expected) in cases {
        assert_eq!(answer(evaluate(&app, key, user.clone()).await), expected, "{key}");
    }
    // Served at the server's root too, where providers given the bare address look for it.
    let at_root = app
        .send(
            app.client
                .post(format!("{}/ofrep/v1/evaluate/flags/banner", app.base))
                .json(&json!({"context": user})),
        )
        .await;
    assert_eq!(
        answer(at_root),
        json!({"key": "banner", "value": "blue", "reason": "STATIC", "variant": "blue"})
    );
    let dutch = json!({"targetingKey": "user-1", "country": "NL"});
    assert_eq!(
        answer(evaluate(&app, "banner", dutch.clone()).await),
        json!({"key": "banner", "value": "orange", "reason": "TARGETING_MATCH", "variant": "orange"})
    );
    assert_eq!(
        answer(evaluate(&app, "nl-only", dutch).await),
        json!({"key": "nl-only", "value": "dutch", "reason": "TARGETING_MATCH", "variant": "dutch"})
    );
    let split = answer(evaluate(&app, "experiment", user).await);
    assert_eq!(split["reason"], "SPLIT");
    assert_eq!(split["value"], split["variant"]);
}

#[tokio::test]
async fn the_targeting_key_buckets_as_the_entity_id_of_flagrs_evaluation() {
    let app = spawn_app().await;
    ofrep_flags(&app).await;
    let flag = app.get("/flags?key=experiment").await.ok()[0].clone();
    let mut variants = std::collections::BTreeSet::new();
    for user in 0..40 {
        let entity = format!("user-{user}");
        let flagr = app
            .post(
                "/evaluation",
                json!({"flagKey": "experiment", "entityID": entity, "entityContext": {"plan": "pro"}}),
            )
            .await
            .ok();
        let ofrep = evaluate(&app, "experiment", json!({"targetingKey": entity, "plan": "pro"}))
            .await
            .ok();
        assert_eq!(ofrep["variant"], flagr["variantKey"], "{entity}");
        assert_eq!(
            ofrep["metadata"],
            json!({"flagID": flag["id"], "flagSnapshotID": flagr["flagSnapshotID"],
                   "segmentID": flagr["segmentID"], "variantID": flagr["variantID"]}),
            "{entity}"
        );
        variants.insert(ofrep["variant"].as_str().unwrap().to_owned());
    }
    assert_eq!(variants.len(), 2, "40 users land in both halves of the split");
}

#[tokio::test]
async fn requests_that_cannot_be_evaluated_get_ofreps_error_codes_and_statuses() {
    let app = spawn_app().await;
    ofrep_flags(&app).await;
    let path = "/ofrep/v1/evaluate/flags/banner";
    let cases = [
        ("{\"context\": {\"country\": \"NL\"}}", "TARGETING_KEY_MISSING"),
        ("{}", "TARGETING_KEY_MISSING"),
        ("", "TARGETING_KEY_MISSING"),
        ("{\"context\": {\"targetingKey\": 7}}", "INVALID_CONTEXT"),
        ("{\"context\": [\"u1\"]}", "INVALID_CONTEXT"),
        ("{\"context\": ", "PARSE_ERROR"),
        ("[1, 2]", "PARSE_ERROR"),
    ];
    for (body, code) in cases {
        let reply = app.raw(Method::POST, path, body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.body["key"], "banner", "{body}");
        assert_eq!(reply.body["errorCode"], code, "{body}");
        assert!(reply.body["errorDetails"].as_str().unwrap().len() > 10, "{body}");
    }
    let missing = evaluate(&app, "no-such-flag", json!({"targetingKey": "u1"})).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({"key": "no-such-flag", "errorCode": "FLAG_NOT_FOUND",
               "errorDetails": "no flag has the key \"no-such-flag\""})
    );

    let bulk = app.raw(Method::POST, "/ofrep/v1/evaluate/flags", "{}").await;
    assert_eq!(bulk.status, 400);
    assert_eq!(bulk.body["errorCode"], "TARGETING_KEY_MISSING");
    assert!(bulk.body.get("key").is_none());
}

async fn bulk(app: &TestApp, context: Value, if_none_match: Option<&str>) -> Reply {
    let mut request = app
        .client
        .post(format!("{}/api/v1/ofrep/v1/evaluate/flags", app.base))
        .json(&json!({ "context": context }));
    if let Some(etag) = if_none_match {
        request = request.header("if-none-match", etag);
    }
    app.send(request).await
}

#[tokio::test]
async fn bulk_evaluates_every_flag_with_an_etag_that_answers_304_until_something_changes() {
    let app = spawn_app().await;
    ofrep_flags(&app).await;
    let user = json!({"targetingKey": "user-1", "country": "NL"});
    let first = bulk(&app, user.clone(), None).await;
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let flags = first.ok()["flags"].as_array().unwrap().clone();
    let keys: Vec<&str> = flags.iter().map(|flag| flag["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "new-checkout",
            "dark-mode",
            "banner",
            "max-items",
            "theme",
            "experiment",
            "nl-only"
        ]
    );
    for flag in &flags {
        let key = flag["key"].as_str().unwrap();
        assert_eq!(flag, &evaluate(&app, key, user.clone()).await.ok(), "{key}");
    }

    let unchanged = bulk(&app, user.clone(), Some(&etag)).await;
    assert_eq!(unchanged.status, 304);
    assert_eq!(unchanged.headers["etag"].to_str().unwrap(), etag);
    assert_eq!(unchanged.body, Value::Null);
    let weak = bulk(&app, user.clone(), Some(&format!("\"other\", W/{etag}"))).await;
    assert_eq!(weak.status, 304, "a weak tag in a list matches too");

    let other_user = bulk(&app, json!({"targetingKey": "user-1", "country": "DE"}), Some(&etag)).await;
    assert_eq!(other_user.status, 200, "another context evaluates differently");

    let dark_mode = app.get("/flags?key=dark-mode").await.ok()[0]["id"].clone();
    app.put(&format!("/flags/{dark_mode}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let changed = bulk(&app, user, Some(&etag)).await;
    assert_eq!(changed.status, 200, "a changed flag changes the tag");
    assert_ne!(changed.headers["etag"].to_str().unwrap(), etag);
    assert_eq!(changed.ok()["flags"][1]["value"], true);
}

#[tokio::test]
async fn eval_only_mode_serves_ofrep_from_the_flag_file() {
    let source = spawn_app().await;
    ofrep_flags(&source).await;
    let export = source.get("/export/eval_cache/json").await.ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    std::fs::write(&file, export.to_string()).unwrap();
    let app = spawn_eval_only(Storage::JsonFile(file), |_| {}).await;
    let user = json!({"targetingKey": "user-7", "country": "NL"});
    for key in ["new-checkout", "dark-mode", "banner", "theme", "experiment", "nl-only"] {
        assert_eq!(
            evaluate(&app, key, user.clone()).await.ok(),
            evaluate(&source, key, user.clone()).await.ok(),
            "{key}"
        );
    }
    assert_eq!(
        bulk(&app, user.clone(), None).await.ok(),
        bulk(&source, user, None).await.ok()
    );
}
