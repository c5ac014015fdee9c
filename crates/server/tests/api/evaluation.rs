//! Evaluation through HTTP: Flagr's results for every operator, blank results, batches, the
//! GET forms and their limits, built-in context, read-your-writes, and another instance
//! picking up changes from the shared database.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_on, spawn_app_with};

/// A flag with one 100 % segment holding `constraints`, variant `on` at 100 %, enabled.
async fn targeted_flag(app: &TestApp, key: &str, constraints: &[(&str, &str, &str)]) -> i64 {
    let flag = app.create_boolean_flag(key).await;
    let id = flag["id"].as_i64().unwrap();
    let segment = flag["segments"][0]["id"].as_i64().unwrap();
    for (property, operator, value) in constraints {
        app.post(
            &format!("/flags/{id}/segments/{segment}/constraints"),
            json!({"property": property, "operator": operator, "value": value}),
        )
        .await
        .ok();
    }
    app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    id
}

async fn evaluate(app: &TestApp, body: Value) -> Value {
    app.post("/evaluation", body).await.ok()
}

/// The variant `flag` gives an entity with `context`, if any.
async fn variant(app: &TestApp, flag: i64, context: Value) -> Option<String> {
    let result = evaluate(
        app,
        json!({"flagID": flag, "entityID": "user-1", "entityContext": context}),
    )
    .await;
    result["variantKey"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn every_operator_matches_misses_and_treats_type_errors_as_no_match() {
    let app = spawn_app().await;
    // (operator, value, matching context value, non-matching value, wrongly typed value)
    let cases: &[(&str, &str, Value, Value, Value)] = &[
        ("EQ", "\"CA\"", json!("CA"), json!("NY"), json!(1)),
        ("NEQ", "\"CA\"", json!("NY"), json!("CA"), json!(1)),
        ("LT", "18", json!(17), json!(18), json!("17")),
        ("LTE", "18", json!(18), json!(19), json!("18")),
        ("GT", "18", json!(19), json!(18), json!("19")),
        ("GTE", "18", json!(18), json!(17), json!(true)),
        (
            "EREG",
            // The pattern text is kept verbatim (Flagr rewrites it to /.../), so one backslash.
            "\".+@company\\.com\"",
            json!("ann@company.com"),
            json!("ann@example.com"),
            json!(5),
        ),
        ("NEREG", "\"^/admin\"", json!("/home"), json!("/admin/users"), json!(5)),
        ("IN", "[\"CA\",\"NY\"]", json!("NY"), json!("TX"), json!(1)),
        ("NOTIN", "[1,2]", json!(3), json!(2), json!("3")),
        (
            "CONTAINS",
            "\"beta\"",
            json!(["alpha", "beta"]),
            json!(["alpha"]),
            json!("beta"),
        ),
        (
            "NOTCONTAINS",
            "\"beta\"",
            json!(["alpha"]),
            json!(["beta"]),
            json!("alpha"),
        ),
    ];
    for (operator, value, matching, missing, wrong_type) in cases {
        let flag = targeted_flag(
            &app,
            &format!("op-{}", operator.to_lowercase()),
            &[("p", operator, value)],
        )
        .await;
        assert_eq!(
            variant(&app, flag, json!({"p": matching})).await.as_deref(),
            Some("on"),
            "{operator} matches"
        );
        assert_eq!(
            variant(&app, flag, json!({"p": missing})).await,
            None,
            "{operator} misses"
        );
        assert_eq!(
            variant(&app, flag, json!({"p": wrong_type})).await,
            None,
            "{operator}: a type error is no match"
        );
        assert_eq!(
            variant(&app, flag, json!({})).await,
            None,
            "{operator}: a missing property is no match"
        );
    }
}

#[tokio::test]
async fn paths_at_keys_and_anded_constraints() {
    let app = spawn_app().await;
    let flag = targeted_flag(
        &app,
        "nested",
        &[
            ("user.address.country", "EQ", "\"NZ\""),
            ("roles[0]", "EQ", "\"admin\""),
            ("age", "GTE", "21"),
        ],
    )
    .await;
    let context = json!({"user": {"address": {"country": "NZ"}}, "roles": ["admin", "dev"], "age": 30});
    assert_eq!(variant(&app, flag, context.clone()).await.as_deref(), Some("on"));
    let mut too_young = context.clone();
    too_young["age"] = json!(20);
    assert_eq!(variant(&app, flag, too_young).await, None, "constraints are ANDed");
    // A stored pattern that does not compile: constraints::a_stored_regex_that_does_not_compile_*.
}

#[tokio::test]
async fn results_have_flagrs_shape_and_buckets() {
    let app = spawn_app().await;
    let (flag, segment, control, treatment) = app.flag_with_split("bucketed").await;
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    // crc32("1" ++ "123") % 1000 = 352 with flag 1: below 500, so the first variant (by id).
    assert_eq!(flag, 1);
    let result = evaluate(
        &app,
        json!({"flagID": 1, "entityID": "123", "entityType": "user", "entityContext": {}}),
    )
    .await;
    assert_eq!(result["variantID"], control);
    assert_eq!(result["variantKey"], "control");
    assert_eq!(result["segmentID"], segment);
    assert_eq!(result["flagKey"], "bucketed");
    assert_eq!(result["flagSnapshotID"], app.max_id().await);
    assert_eq!(
        result["evalContext"],
        json!({"entityID": "123", "entityType": "user", "entityContext": {}, "flagID": 1})
    );
    assert_eq!(
        result["evalDebugLog"],
        json!({"segmentDebugLogs": null}),
        "always an object"
    );
    assert!(result["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(result.get("variantAttachment").is_none() || result["variantAttachment"] == json!({}));
    // crc32("1" ++ "user-1") % 1000 = 935: the second variant.
    let result = evaluate(&app, json!({"flagID": 1, "entityID": "user-1"})).await;
    assert_eq!(result["variantID"], treatment);
    let by_key = evaluate(&app, json!({"flagKey": "bucketed", "entityID": "user-1"})).await;
    assert_eq!(by_key["variantID"], treatment, "lookup by key");
}

#[tokio::test]
async fn blank_results_say_why_with_200() {
    let app = spawn_app().await;
    let disabled = app
        .post(
            "/flags",
            json!({"description": "d", "key": "off", "template": "simple_boolean_flag"}),
        )
        .await
        .ok();
    let bare = app.create_flag("bare").await;
    app.put(&format!("/flags/{}/enabled", bare["id"]), json!({"enabled": true}))
        .await
        .ok();
    let cases = [
        (json!({"flagID": 999}), "flagID 999 not found or deleted".to_owned()),
        (json!({"flagKey": "nope"}), "flagID 0 not found or deleted".to_owned()),
        (json!(null), "flagID 0 not found or deleted".to_owned()),
        (
            json!({"flagID": disabled["id"]}),
            format!("flagID {} is not enabled", disabled["id"]),
        ),
        (
            json!({"flagID": bare["id"]}),
            format!("flagID {} has no segments", bare["id"]),
        ),
    ];
    for (request, message) in cases {
        let result = evaluate(&app, request.clone()).await;
        assert_eq!(result["evalDebugLog"]["msg"], message, "{request}");
        assert!(result.get("variantKey").is_none(), "{result}");
    }
    app.delete(&format!("/flags/{}", bare["id"])).await.ok();
    let result = evaluate(&app, json!({"flagID": bare["id"]})).await;
    assert_eq!(
        result["evalDebugLog"]["msg"],
        format!("flagID {} not found or deleted", bare["id"]),
        "deleted flags vanish"
    );
}

#[tokio::test]
async fn rollout_misses_stop_the_walk_and_debug_logs_explain() {
    let app = spawn_app().await;
    let flag = targeted_flag(&app, "holdout", &[]).await;
    let segment = app.get(&format!("/flags/{flag}")).await.ok()["segments"][0]["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("/flags/{flag}/segments/{segment}"),
        json!({"description": "nobody", "rolloutPercent": 0}),
    )
    .await
    .ok();
    let fallback = app
        .post(
            &format!("/flags/{flag}/segments"),
            json!({"description": "everyone", "rolloutPercent": 100}),
        )
        .await
        .ok();
    let variant_id = app.get(&format!("/flags/{flag}")).await.ok()["variants"][0]["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("/flags/{flag}/segments/{}/distributions", fallback["id"]),
        json!({"distributions": [{"variantID": variant_id, "variantKey": "on", "percent": 100}]}),
    )
    .await
    .ok();
    let result = evaluate(&app, json!({"flagID": flag, "entityID": "u", "enableDebug": true})).await;
    assert!(
        result.get("variantKey").is_none(),
        "the first segment matched; its rollout miss is final"
    );
    let logs = result["evalDebugLog"]["segmentDebugLogs"].as_array().unwrap();
    assert_eq!(logs.len(), 1);
    assert!(
        logs[0]["msg"]
            .as_str()
            .unwrap()
            .starts_with("matched all constraints. rollout no."),
        "{logs:?}"
    );
}

#[tokio::test]
async fn an_empty_entity_id_is_generated_and_the_flag_entity_type_wins() {
    let app = spawn_app().await;
    let flag = targeted_flag(&app, "typed", &[]).await;
    app.put(&format!("/flags/{flag}"), json!({"entityType": "account"}))
        .await
        .ok();
    let result = evaluate(&app, json!({"flagID": flag, "entityType": "user"})).await;
    let entity_id = result["evalContext"]["entityID"].as_str().unwrap();
    assert!(entity_id.starts_with("randomly_generated_"), "{entity_id}");
    assert_eq!(result["evalContext"]["entityType"], "account");
}

#[tokio::test]
async fn a_change_is_visible_to_evaluation_as_soon_as_the_write_returns() {
    let app = spawn_app().await;
    let flag = targeted_flag(&app, "fresh", &[]).await;
    for enabled in [false, true, false] {
        app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": enabled}))
            .await
            .ok();
        let result = evaluate(&app, json!({"flagID": flag, "entityID": "u"})).await;
        assert_eq!(
            result.get("variantKey").is_some(),
            enabled,
            "no wait: the write's own instance sees it"
        );
    }
}

#[tokio::test]
async fn batches_are_entity_major_tags_then_ids_then_keys() {
    let app = spawn_app().await;
    let a = targeted_flag(&app, "a", &[]).await;
    let b = targeted_flag(&app, "b", &[]).await;
    let c = targeted_flag(&app, "c", &[]).await;
    app.post(&format!("/flags/{a}/tags"), json!({"value": "web"}))
        .await
        .ok();
    app.post(&format!("/flags/{c}/tags"), json!({"value": "web"}))
        .await
        .ok();
    app.post(&format!("/flags/{c}/tags"), json!({"value": "mobile"}))
        .await
        .ok();
    let request = json!({
        "entities": [{"entityID": "e1"}, {"entityID": "e2", "entityContext": {"x": 1}}],
        "flagIDs": [b, b, 999],
        "flagKeys": ["c"],
        "flagTags": ["web"],
    });
    let results = app.post("/evaluation/batch", request).await.ok()["evaluationResults"]
        .as_array()
        .unwrap()
        .clone();
    let order: Vec<(String, i64)> = results
        .iter()
        .map(|result| {
            (
                result["evalContext"]["entityID"].as_str().unwrap().to_owned(),
                result["flagID"].as_i64().unwrap(),
            )
        })
        .collect();
    let e = |id: &str, flag: i64| (id.to_owned(), flag);
    assert_eq!(
        order,
        [
            e("e1", a),
            e("e1", c),
            e("e1", b),
            e("e1", 999),
            e("e1", c),
            e("e2", a),
            e("e2", c),
            e("e2", b),
            e("e2", 999),
            e("e2", c)
        ]
    );
    assert_eq!(results[0]["evalContext"]["flagTags"], json!(["web"]));
    assert_eq!(results[3]["evalDebugLog"]["msg"], "flagID 999 not found or deleted");

    let all = json!({"entities": [{"entityID": "e"}], "flagTags": ["web", "mobile"], "flagTagsOperator": "ALL"});
    let results = app.post("/evaluation/batch", all).await.ok()["evaluationResults"].clone();
    assert_eq!(results.as_array().unwrap().len(), 1);
    assert_eq!(results[0]["flagID"], c);
    let unknown = json!({"entities": [{"entityID": "e"}], "flagTags": ["web", "nope"], "flagTagsOperator": "ALL"});
    assert_eq!(
        app.post("/evaluation/batch", unknown).await.ok()["evaluationResults"],
        json!([])
    );
}

#[tokio::test]
async fn bad_requests_get_flagrs_status_codes() {
    let app = spawn_app_with(|config| config.evaluation.batch_size = 3).await;
    assert_eq!(app.post("/evaluation", json!({"flagID": -1})).await.status, 422);
    assert_eq!(app.post("/evaluation", json!({"flagID": "one"})).await.status, 422);
    assert_eq!(app.raw(Method::POST, "/evaluation", "").await.status, 422);
    assert_eq!(app.raw(Method::POST, "/evaluation", "{").await.status, 400);
    assert_eq!(
        app.post("/evaluation/batch", json!({"flagIDs": [1]})).await.error(422),
        "entities in body is required"
    );
    assert_eq!(
        app.post("/evaluation/batch", json!({"entities": [], "flagIDs": [1]}))
            .await
            .status,
        422
    );
    assert_eq!(app.post("/evaluation/batch", json!(null)).await.status, 422);
    assert_eq!(
        app.post("/evaluation/batch", json!({"entities": [{}], "flagIDs": [0]}))
            .await
            .status,
        422
    );
    assert_eq!(
        app.post("/evaluation/batch", json!({"entities": [{}], "flagKeys": [""]}))
            .await
            .status,
        422
    );
    assert_eq!(
        app.post(
            "/evaluation/batch",
            json!({"entities": [{}], "flagTags": ["t"], "flagTagsOperator": "SOME"})
        )
        .await
        .status,
        422
    );
    let too_big = json!({"entities": [{}, {}], "flagIDs": [1, 2]});
    assert_eq!(
        app.post("/evaluation/batch", too_big).await.error(400),
        "batch evaluation size 4 exceeds maximum allowed size of 3"
    );
}

#[tokio::test]
async fn an_evaluation_request_must_be_an_object() {
    // serde reads a struct from an array of its fields too; a request is an object.
    let app = spawn_app().await;
    let message = app.raw(Method::POST, "/evaluation", "[null, null]").await.error(422);
    assert!(message.contains("expected an object"), "{message}");
    let message = app.get("/evaluation?json=%5Bnull%2Cnull%5D").await.error(400);
    assert!(message.starts_with("json is not valid evalContext"), "{message}");
    assert_eq!(app.post("/evaluation", json!(null)).await.status, 200);
}

#[tokio::test]
async fn get_evaluation_equals_post_and_limits_its_query() {
    let app = spawn_app().await;
    let flag = targeted_flag(&app, "got", &[("state", "EQ", "\"CA\"")]).await;
    let context = json!({"flagID": flag, "entityID": "u", "entityContext": {"state": "CA"}});
    let encoded = |value: &Value| format!("json={}", urlencoding(&value.to_string()));
    let get = app.get(&format!("/evaluation?{}", encoded(&context))).await.ok();
    let post = evaluate(&app, context.clone()).await;
    assert_eq!(
        (get["variantKey"].clone(), get["evalContext"].clone()),
        (post["variantKey"].clone(), post["evalContext"].clone())
    );
    let batch = json!({"entities": [{"entityID": "u", "entityContext": {"state": "CA"}}], "flagKeys": ["got"]});
    let results = app.get(&format!("/evaluation/batch?{}", encoded(&batch))).await.ok();
    assert_eq!(results["evaluationResults"][0]["variantKey"], "on");

    assert_eq!(app.get("/evaluation").await.status, 422);
    assert_eq!(app.get("/evaluation?json=").await.status, 422);
    for bad in ["not-json", "%7B", "%22x%22"] {
        let message = app.get(&format!("/evaluation?json={bad}")).await.error(400);
        assert!(message.starts_with("json is not valid evalContext"), "{message}");
    }
    let message = app
        .get(&format!("/evaluation?{}", encoded(&json!({"flagID": -1}))))
        .await
        .error(400);
    assert!(message.starts_with("json is not valid evalContext"), "{message}");
    let message = app
        .get(&format!("/evaluation/batch?{}", encoded(&json!({"flagIDs": [1]}))))
        .await
        .error(400);
    assert!(
        message.starts_with("json is not valid evaluationBatchRequest"),
        "{message}"
    );

    // The query may be 8192 bytes, not one more.
    let padding = |total: usize| {
        let base = encoded(&json!({"flagID": flag, "entityID": ""}));
        let entity = "x".repeat(total - base.len());
        encoded(&json!({"flagID": flag, "entityID": entity}))
    };
    assert_eq!(padding(8192).len(), 8192);
    assert_eq!(app.get(&format!("/evaluation?{}", padding(8192))).await.status, 200);
    let message = app.get(&format!("/evaluation?{}", padding(8193))).await.error(400);
    assert_eq!(
        message,
        "GET evaluation query length 8193 exceeds maximum of 8192; use POST"
    );
}

/// Percent-encodes a query value (every byte outside the unreserved set).
fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn built_in_context_adds_time_and_header_keys() {
    let app = spawn_app_with(|config| {
        config.evaluation.injected_context = Some(bunting::config::InjectedContext {
            headers: vec!["X-Environment".into()],
            header_prefixes: vec![],
        });
    })
    .await;
    let flag = targeted_flag(
        &app,
        "staging-only",
        &[("@http_x_environment", "EQ", "\"staging\""), ("@ts", "GTE", "0")],
    )
    .await;
    let request = |environment: &'static str| {
        app.client
            .post(format!("{}/api/v1/evaluation", app.base))
            .header("X-Environment", environment)
            .json(&json!({"flagID": flag, "entityID": "u"}))
    };
    let staging = app.send(request("staging")).await.ok();
    assert_eq!(staging["variantKey"], "on");
    assert_eq!(
        staging["evalContext"]["entityContext"]["@http_x_environment"], "staging",
        "injected keys are echoed"
    );
    assert!(staging["evalContext"]["entityContext"]["@ts_hour"].is_f64());
    assert!(app.send(request("production")).await.ok().get("variantKey").is_none());
}

#[tokio::test]
async fn another_instance_sees_changes_within_the_refresh_interval() {
    let writer = spawn_app().await;
    let reader = spawn_app_on(&writer, |config| {
        config.evaluation.refresh_interval = Duration::from_millis(100)
    })
    .await;
    let flag = targeted_flag(&writer, "shared", &[]).await;
    assert!(
        eventually(|| async { variant(&reader, flag, json!({})).await.is_some() }).await,
        "the second instance picks up the flag from the shared database"
    );
    writer
        .put(&format!("/flags/{flag}/enabled"), json!({"enabled": false}))
        .await
        .ok();
    assert!(
        eventually(|| async { variant(&reader, flag, json!({})).await.is_none() }).await,
        "and the change after it"
    );
}

/// Whether `check` holds within 5 s, asking every 20 ms.
async fn eventually<F: std::future::Future<Output = bool>>(check: impl Fn() -> F) -> bool {
    for _ in 0..250 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn exposures_are_checked_like_flagrs_with_recording_off() {
    let app = spawn_app().await;
    let (flag, _, control, _) = app.flag_with_split("seen").await;
    let other = app.create_flag("other").await["id"].as_i64().unwrap();
    let rows = json!({"exposures": [
        {"entityID": "u1", "flagID": flag, "variantID": control},
        {"entityID": "", "flagID": flag},
        {"entityID": "u3"},
        {"entityID": "u4", "flagKey": "missing"},
        {"entityID": "u5", "flagID": flag, "flagKey": "other"},
        {"entityID": "u6", "flagKey": "seen", "variantID": 4242},
        {"entityID": "u7", "flagID": flag, "variantID": control, "variantKey": "treatment"},
        {"entityID": "u8", "flagID": other, "timestamp": "2026-12-01T10:00:00Z"},
    ]});
    let reply = app.post("/exposures", rows).await.ok();
    assert_eq!(
        reply["loggedCount"], 0,
        "Bunting records nothing, as Flagr with recording off"
    );
    assert_eq!(reply["message"], "Exposures logged successfully");
    let errors: Vec<(i64, &str)> = reply["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| (error["index"].as_i64().unwrap(), error["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (1, "entityID is required"),
            (2, "flagID or flagKey is required"),
            (3, "flag not found"),
            (4, "flagID and flagKey refer to different flags"),
            (5, "variantID 4242 not found on flag"),
            (6, "variantID and variantKey refer to different variants"),
        ]
    );
    assert_eq!(app.post("/exposures", json!({"exposures": []})).await.status, 422);
    for (field, value) in [
        ("flagSnapshotID", json!("7")),
        ("flagSnapshotID", json!(-9.3e18)),
        ("entityType", json!(1)),
    ] {
        let row = json!({"exposures": [{"entityID": "u1", "flagID": 1, field: value}]});
        // Flagr decodes the body into typed structs first: a wrong type is a parse error.
        let message = app.post("/exposures", row).await.error(400);
        assert!(
            message.contains(&format!("because exposures.0.{field} in body must be of type")),
            "{message}"
        );
    }
    assert_eq!(
        app.post("/exposures", json!({"exposures": [{"flagID": flag}]}))
            .await
            .status,
        422,
        "entityID is required"
    );
    let too_many: Vec<Value> = (0..101)
        .map(|n| json!({"entityID": format!("u{n}"), "flagID": flag}))
        .collect();
    assert_eq!(app.post("/exposures", json!({"exposures": too_many})).await.status, 400);
    assert_eq!(app.get("/datar/summary").await.status, 501);
}

#[tokio::test]
async fn the_exposure_batch_size_is_configurable() {
    let app = spawn_app_with(|config| config.evaluation.exposure_batch_size = 2).await;
    let rows: Vec<Value> = (0..3)
        .map(|n| json!({"entityID": format!("u{n}"), "flagID": 1}))
        .collect();
    assert_eq!(
        app.post("/exposures", json!({"exposures": rows})).await.error(400),
        "exposures batch size 3 exceeds maximum allowed size of 2"
    );
}
