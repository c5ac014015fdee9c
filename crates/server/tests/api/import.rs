//! `bunting import`: flags exported from one server load into a fresh database with their ids,
//! so every entity keeps its variant; a database that already holds them is left untouched.

use std::process::{Command, Output};

use bunting_store::DatabaseUrl;
use serde_json::{Value, json};

use crate::helpers::{database_env, spawn_app, spawn_app_on_database, test_database};

fn run_import(database: &DatabaseUrl, file: &std::path::Path) -> Output {
    run_import_with(database, file, &[])
}

fn run_import_with(database: &DatabaseUrl, file: &std::path::Path, options: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bunting"))
        .envs(database_env(database))
        .env("RUST_LOG", "info")
        .arg("import")
        .arg(file)
        .args(options)
        .output()
        .expect("the binary runs")
}

/// Each entity's (flag, segment, variant) for every flag, from one batch evaluation.
async fn assignments(app: &crate::helpers::TestApp, flags: &[i64]) -> Vec<(String, Value, Value, Value)> {
    let entities: Vec<Value> = (0..200)
        .map(|n| json!({"entityID": format!("user-{n}"), "entityContext": {"country": if n % 3 == 0 { "NZ" } else { "FR" }}}))
        .collect();
    let results = app
        .post("/evaluation/batch", json!({"entities": entities, "flagIDs": flags}))
        .await
        .ok()["evaluationResults"]
        .clone();
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            (
                result["evalContext"]["entityID"].as_str().unwrap().to_owned(),
                result["flagID"].clone(),
                result["segmentID"].clone(),
                result["variantKey"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn imported_flags_keep_their_ids_and_evaluations() {
    let source = spawn_app().await;
    // Ids that a fresh database would not hand out, so keeping them is visible.
    source.create_flag("scratch").await;
    source.delete("/flags/1").await.ok();
    let (checkout, segment, ..) = source.flag_with_split("checkout").await;
    source
        .post(
            &format!("/flags/{checkout}/segments/{segment}/constraints"),
            json!({"property": "country", "operator": "EQ", "value": "\"NZ\""}),
        )
        .await
        .ok();
    source
        .post(&format!("/flags/{checkout}/tags"), json!({"value": "web"}))
        .await
        .ok();
    let (banner, ..) = source.flag_with_split("banner").await;
    for flag in [checkout, banner] {
        source
            .put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
            .await
            .ok();
    }
    let export = source.get("/export/eval_cache/json").await.ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    std::fs::write(&file, export.to_string()).unwrap();

    let target = test_database().await;
    let output = run_import(&target.url, &file);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("imported 2 flags"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let app = spawn_app_on_database(&target.url).await;
    for flag in [checkout, banner] {
        let (before, after) = (
            source.get(&format!("/flags/{flag}")).await.ok(),
            app.get(&format!("/flags/{flag}")).await.ok(),
        );
        for field in ["key", "enabled", "segments", "variants"] {
            assert_eq!(before[field], after[field], "{field} of flag {flag}");
        }
    }
    assert_eq!(
        app.get(&format!("/flags/{checkout}")).await.ok()["tags"][0]["value"],
        "web"
    );
    let expected = assignments(&source, &[checkout, banner]).await;
    assert!(expected.iter().any(|(.., variant)| variant == "treatment"));
    assert!(
        expected.iter().any(|(.., segment, _)| segment.is_null()),
        "the constraint excludes some"
    );
    assert_eq!(assignments(&app, &[checkout, banner]).await, expected);

    let changes = app.get("/changes").await.ok();
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert!(
        changes
            .iter()
            .all(|change| change["actor"] == "import" && change["events"][0]["event"] == "flag.created"),
        "{changes:?}"
    );
    let next = app.create_flag("after-import").await["id"].as_i64().unwrap();
    assert!(next > banner, "new ids start above the imported ones: {next}");
}

#[tokio::test]
async fn importing_over_existing_flags_changes_nothing() {
    let database = test_database().await;
    let app = spawn_app_on_database(&database.url).await;
    app.create_flag("taken").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    let flags = json!({"Flags": [
        {"ID": 1, "Key": "other"},
        {"ID": 7, "Key": "taken"},
        {"ID": 8, "Key": "fresh"}
    ]});
    std::fs::write(&file, flags.to_string()).unwrap();

    let output = run_import(&database.url, &file);
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("id 1 is flag \"taken\"") && errors.contains("key \"taken\" is taken"),
        "{errors}"
    );
    let keys: Vec<Value> = app
        .get("/flags")
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["key"].clone())
        .collect();
    assert_eq!(keys, ["taken"]);

    std::fs::write(&file, "{\"Flags\": [{\"ID\": 9}]}").unwrap();
    let output = run_import(&database.url, &file);
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("empty key"), "{errors}");
}

#[tokio::test]
async fn flags_import_into_a_named_environment_keeping_one_id_per_key() {
    let database = test_database().await;
    let app = spawn_app_on_database(&database.url).await;
    let taken = app.create_flag("taken").await["id"].as_i64().unwrap();
    app.post("/environments", json!({"key": "staging"})).await.ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");

    std::fs::write(
        &file,
        json!({"Flags": [{"ID": taken + 10, "Key": "taken"}]}).to_string(),
    )
    .unwrap();
    let output = run_import_with(&database.url, &file, &["--environment", "staging"]);
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains(&format!("is flag {taken} in another environment")),
        "{errors}"
    );

    let unknown = run_import_with(&database.url, &file, &["--environment", "nowhere"]);
    let errors = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        errors.contains("no environment \"nowhere\"") && errors.contains("production, staging"),
        "{errors}"
    );

    let flags = json!({"Flags": [{"ID": taken, "Key": "taken", "Enabled": true}, {"ID": 40, "Key": "fresh"}]});
    std::fs::write(&file, flags.to_string()).unwrap();
    let output = run_import_with(&database.url, &file, &["--environment", "staging"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let staging: Vec<(i64, String)> = app
        .environment("staging")
        .get("/flags")
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| (flag["id"].as_i64().unwrap(), flag["key"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(staging, [(taken, "taken".to_owned()), (40, "fresh".to_owned())]);
    assert_eq!(
        app.get("/flags").await.ok().as_array().unwrap().len(),
        1,
        "production is untouched"
    );
}
