//! The eval-cache export and eval-only mode: a server with no database serving evaluation from
//! a flag file (`json_file`) or URL (`json_http`) in Flagr's export format, re-read while it runs.

use std::time::Duration;

use bunting::config::{PrometheusSettings, Storage};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with, spawn_eval_only};
use crate::receiver::{Receiver, Reply};

/// Two enabled flags (`web-flag` tagged web, `both` tagged web and mobile) and a disabled one.
async fn flags(app: &TestApp) -> (i64, i64, i64) {
    let mut ids = Vec::new();
    for key in ["web-flag", "both", "off"] {
        let flag = app.create_boolean_flag(key).await;
        ids.push(flag["id"].as_i64().unwrap());
    }
    for (id, tag) in [(ids[0], "web"), (ids[1], "web"), (ids[1], "mobile")] {
        app.post(&format!("/flags/{id}/tags"), json!({"value": tag})).await.ok();
    }
    for id in &ids[..2] {
        app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
            .await
            .ok();
    }
    (ids[0], ids[1], ids[2])
}

fn keys(export: &Value) -> Vec<&str> {
    export["Flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["Key"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_export_has_go_field_names_and_flagrs_filters() {
    let app = spawn_app().await;
    let (web, both, _) = flags(&app).await;
    let export = app.get("/export/eval_cache/json").await.ok();
    assert_eq!(keys(&export), ["web-flag", "both", "off"]);
    let flag = &export["Flags"][1];
    assert_eq!(flag["ID"], both);
    assert_eq!(flag["Enabled"], true);
    assert_eq!(flag["Segments"][0]["Distributions"][0]["VariantKey"], "on");
    assert_eq!(flag["Variants"][0]["Key"], "on");
    assert!(flag["SnapshotID"].as_i64().unwrap() > 0);
    assert_eq!(flag["Tags"].as_array().unwrap().len(), 2);

    assert_eq!(
        keys(
            &app.get(&format!("/export/eval_cache/json?ids={web},{both}&keys=off"))
                .await
                .ok()
        ),
        ["web-flag", "both"]
    );
    assert_eq!(
        keys(&app.get("/export/eval_cache/json?keys=off&enabled=true").await.ok()),
        ["off"],
        "keys override enabled"
    );
    assert_eq!(
        keys(&app.get("/export/eval_cache/json?enabled=false").await.ok()),
        ["off"]
    );
    assert_eq!(
        keys(&app.get("/export/eval_cache/json?tags=web,mobile").await.ok()),
        ["web-flag", "both"]
    );
    assert_eq!(
        keys(
            &app.get("/export/eval_cache/json?tags=web,mobile&tagsOperator=ALL")
                .await
                .ok()
        ),
        ["both"]
    );
    assert_eq!(app.get("/export/eval_cache/json?ids=x").await.status, 422);
    assert_eq!(app.get("/export/eval_cache/json?tagsOperator=SOME").await.status, 422);
}

#[tokio::test]
async fn a_flag_file_serves_the_same_evaluations_and_nothing_else() {
    let source = spawn_app().await;
    let (web, both, off) = flags(&source).await;
    let export = source
        .send(
            source
                .client
                .get(format!("{}/api/v1/export/eval_cache/json", source.base)),
        )
        .await
        .ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    std::fs::write(&file, export.to_string()).unwrap();

    let app = spawn_eval_only(Storage::JsonFile(file.clone()), |config| {
        config.evaluation.refresh_interval = Duration::from_millis(50);
    })
    .await;
    for (flag, entity) in [(web, "a"), (both, "b"), (off, "c"), (999, "d")] {
        let request = json!({"flagID": flag, "entityID": entity});
        let from_file = app.post("/evaluation", request.clone()).await.ok();
        let from_database = source.post("/evaluation", request).await.ok();
        for field in ["variantKey", "segmentID", "flagSnapshotID", "evalDebugLog"] {
            assert_eq!(from_file[field], from_database[field], "flag {flag}: {field}");
        }
    }
    assert_eq!(app.get("/health").await.ok(), json!({"status": "OK"}));
    assert_eq!(
        keys(&app.get("/export/eval_cache/json").await.ok()),
        ["web-flag", "both", "off"]
    );
    for (method, path) in [
        (Method::GET, "/flags"),
        (Method::POST, "/flags"),
        (Method::GET, "/webhooks"),
    ] {
        let reply = app.request(method, path, Some(json!({"description": "x"}))).await;
        assert_eq!(reply.status, 501, "{path}");
        assert!(
            reply.body["message"].as_str().unwrap().contains("eval-only mode"),
            "{}",
            reply.body
        );
    }

    // The file is re-read: a change shows; a broken file keeps the last good flags.
    let mut changed = export.clone();
    changed["Flags"][0]["Enabled"] = json!(false);
    std::fs::write(&file, changed.to_string()).unwrap();
    let disabled = format!("flagID {web} is not enabled");
    let mut reloaded = false;
    for _ in 0..100 {
        let result = app.post("/evaluation", json!({"flagID": web})).await.ok();
        if result["evalDebugLog"]["msg"] == disabled {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reloaded, "the changed file was picked up");
    std::fs::write(&file, "{\"Flags\": [{\"Key\": \"\"}]}").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let result = app.post("/evaluation", json!({"flagID": web})).await.ok();
    assert_eq!(
        result["evalDebugLog"]["msg"], disabled,
        "an invalid file keeps the last good flags"
    );
}

/// A flag file holding one enabled flag, `banner`, that gives every entity `blue`.
fn banner_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let file = dir.path().join("flags.json");
    let flags = json!({"flags": [{
        "key": "banner", "enabled": true,
        "variants": [{"key": "blue"}],
        "segments": [{"rank": 0, "rolloutPercent": 100,
            "distributions": [{"variantKey": "blue", "percent": 100}]}]
    }]});
    std::fs::write(&file, flags.to_string()).unwrap();
    file
}

#[tokio::test]
async fn the_file_is_one_environment_served_under_its_base_path_too() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_eval_only(Storage::JsonFile(banner_file(&dir)), |config| {
        config.prometheus = Some(PrometheusSettings {
            path: "/metrics".into(),
            latency_histogram: false,
        });
    })
    .await;
    // A Flagr client given the environment's base path works unchanged...
    let production = app.environment("production");
    let request = json!({"flagKey": "banner", "entityID": "u", "entityType": "user"});
    assert_eq!(
        production.post("/evaluation", request.clone()).await.ok()["variantKey"],
        "blue"
    );
    let batch = json!({"entities": [{"entityID": "u"}], "flagKeys": ["banner"]});
    let results = production.post("/evaluation/batch", batch).await.ok();
    assert_eq!(results["evaluationResults"][0]["variantKey"], "blue");
    assert_eq!(keys(&production.get("/export/eval_cache/json").await.ok()), ["banner"]);
    // ...and so does an OFREP provider, and a client naming it by header.
    for path in [
        "/environments/production/ofrep/v1/evaluate/flags/banner",
        "/environments/production/api/v1/ofrep/v1/evaluate/flags/banner",
    ] {
        let ofrep = app
            .client
            .post(format!("{}{path}", app.base))
            .json(&json!({"context": {"targetingKey": "u"}}));
        assert_eq!(app.send(ofrep).await.ok()["variant"], "blue", "{path}");
    }
    let by_header = app
        .client
        .post(format!("{}/api/v1/evaluation", app.base))
        .header("X-Bunting-Environment", "production")
        .json(&request);
    assert_eq!(app.send(by_header).await.ok()["variantKey"], "blue");
    // The unprefixed routes serve the same environment.
    assert_eq!(
        app.post("/evaluation", request.clone()).await.ok()["variantKey"],
        "blue"
    );

    // Any other environment is missing, and the answer says which one this instance serves.
    let elsewhere = app.environment("staging").post("/evaluation", request.clone()).await;
    let message = elsewhere.error(404);
    assert!(message.contains("\"staging\""), "{message}");
    assert!(
        message.contains("serves one environment, \"production\"") && message.contains("BUNTING_EVAL_ONLY_ENVIRONMENT"),
        "{message}"
    );
    let ofrep = app
        .client
        .post(format!(
            "{}/environments/staging/ofrep/v1/evaluate/flags/banner",
            app.base
        ))
        .json(&json!({"context": {"targetingKey": "u"}}));
    assert_eq!(app.send(ofrep).await.status, 404);
    let by_header = app
        .client
        .post(format!("{}/api/v1/evaluation", app.base))
        .header("X-Bunting-Environment", "staging")
        .json(&request);
    assert_eq!(app.send(by_header).await.status, 404);

    // Every evaluation counts as the environment's.
    let text = app
        .send(app.client.get(format!("{}/metrics", app.base)))
        .await
        .body
        .as_str()
        .unwrap()
        .to_owned();
    let series = r#"flagr_eval_results{EntityType="user",FlagID="1",FlagKey="banner",VariantID="1",VariantKey="blue",environment="production"} 3"#;
    assert!(text.lines().any(|line| line == series), "{text}");
    assert!(!text.contains(r#"environment="staging""#), "{text}");
}

#[tokio::test]
async fn the_environment_eval_only_mode_serves_is_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_eval_only(Storage::JsonFile(banner_file(&dir)), |config| {
        config.eval_only_environment = Some("edge".into());
    })
    .await;
    let request = json!({"flagKey": "banner", "entityID": "u"});
    let edge = app.environment("edge");
    assert_eq!(
        edge.post("/evaluation", request.clone()).await.ok()["variantKey"],
        "blue"
    );
    let message = app
        .environment("production")
        .post("/evaluation", request)
        .await
        .error(404);
    assert!(message.contains("serves one environment, \"edge\""), "{message}");
    assert!(message.contains("/environments/edge/"), "{message}");
    // Management under the base path is still not available, as at the unprefixed routes.
    let flags = edge.get("/flags").await;
    assert_eq!(flags.status, 501);
}

#[tokio::test]
async fn a_flagr_style_file_with_lowercase_names_and_no_ids_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    let flags = json!({"flags": [{
        "key": "from-file", "enabled": true,
        "variants": [{"key": "blue"}, {"key": "green"}],
        "segments": [{"rank": 0, "rolloutPercent": 100,
            "constraints": [{"property": "country", "operator": "EQ", "value": "\"NZ\""}],
            "distributions": [{"variantKey": "blue", "percent": 100}]}]
    }]});
    std::fs::write(&file, flags.to_string()).unwrap();
    let app = spawn_eval_only(Storage::JsonFile(file), |_| {}).await;
    let result = app
        .post(
            "/evaluation",
            json!({"flagKey": "from-file", "entityContext": {"country": "NZ"}}),
        )
        .await
        .ok();
    assert_eq!(result["variantKey"], "blue");
    assert_eq!(result["flagID"], 1, "ids are assigned");
}

#[tokio::test]
async fn flags_can_come_from_a_url() {
    let source = spawn_app().await;
    let (web, _, _) = flags(&source).await;
    let export = source.get("/export/eval_cache/json").await.ok();
    let server = Receiver::start().await;
    server.always(Reply::status(200).with_body(&export.to_string()));
    let app = spawn_eval_only(Storage::JsonHttp(server.url.clone()), |_| {}).await;
    let result = app
        .post("/evaluation", json!({"flagID": web, "entityID": "u"}))
        .await
        .ok();
    assert_eq!(result["variantKey"], "on");
}

#[tokio::test]
async fn a_missing_or_invalid_flag_file_stops_start_up_with_the_reason() {
    let missing = bunting::Config::for_storage(Storage::JsonFile("/nonexistent/flags.json".into()));
    let error = bunting::Application::build(missing).await.err().unwrap();
    assert!(format!("{error:#}").contains("/nonexistent/flags.json"), "{error:#}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    std::fs::write(&file, "{\"Flags\": [{\"Key\": \"a\"}, {\"Key\": \"a\"}]}").unwrap();
    let error = bunting::Application::build(bunting::Config::for_storage(Storage::JsonFile(file)))
        .await
        .err()
        .unwrap();
    assert!(format!("{error:#}").contains("duplicate"), "{error:#}");
}

#[tokio::test]
async fn flags_come_from_a_bunting_that_asks_for_a_token() {
    let bootstrap = "bnt_eval-only-source-admin-0123456789abcdef";
    let source = spawn_app_with(|config| {
        config.auth = Some(bunting::config::AuthSettings {
            bootstrap_admin_token: Some(bunting_core::secret::Secret::new(bootstrap)),
            ..Default::default()
        });
    })
    .await;
    let admin = source.bearer(bootstrap);
    let (web, _, _) = flags(&admin).await;
    let viewer = admin
        .post("/tokens", json!({"name": "edge", "role": "viewer"}))
        .await
        .ok();
    let export = Storage::JsonHttp(format!("{}/api/v1/export/eval_cache/json", source.base));

    let refused = bunting::Application::build(bunting::Config::for_storage(export.clone()))
        .await
        .err()
        .expect("without a token the export is refused");
    assert!(format!("{refused:#}").contains("HTTP 401"), "{refused:#}");

    let secret = viewer["token"].as_str().unwrap().to_owned();
    let app = spawn_eval_only(export, |config| {
        config.eval_only_token = Some(bunting_core::secret::Secret::new(secret));
    })
    .await;
    let result = app
        .post("/evaluation", json!({"flagID": web, "entityID": "u"}))
        .await
        .ok();
    assert_eq!(result["variantKey"], "on");
}
