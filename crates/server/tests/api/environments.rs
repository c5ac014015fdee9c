//! Environments: managing them, the whole Flagr API under each one's base path, one id per
//! flag key across environments, and webhooks that hear only their environment.

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, execute_sql_on, spawn_app, spawn_app_on, spawn_app_on_database, spawn_app_with, test_database,
};
use crate::receiver::{Receiver, Reply};

async fn create_environment(app: &TestApp, key: &str) -> Value {
    app.post("/environments", json!({"key": key, "name": format!("{key} env")}))
        .await
        .ok()
}

fn keys(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["key"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn environments_are_created_listed_renamed_and_deleted_with_the_changes_recorded() {
    let app = spawn_app().await;
    let list = app.get("/environments").await.ok();
    assert_eq!(keys(&list), ["production"]);
    assert_eq!(list[0]["default"], true);

    let staging = create_environment(&app, "staging").await;
    assert_eq!(staging["name"], "staging env");
    assert_eq!(staging["default"], false);
    assert_eq!(keys(&app.get("/environments").await.ok()), ["production", "staging"]);
    let renamed = app
        .put(
            "/environments/staging",
            json!({"name": "Staging", "description": "pre-production"}),
        )
        .await
        .ok();
    assert_eq!(
        (renamed["name"].as_str(), renamed["description"].as_str()),
        (Some("Staging"), Some("pre-production"))
    );
    assert_eq!(app.get("/environments/staging").await.ok()["name"], "Staging");

    // Bad input says what to fix.
    let taken = app.post("/environments", json!({"key": "staging"})).await.error(400);
    assert!(taken.contains("already taken"), "{taken}");
    for key in ["has space", "a/b", ""] {
        let message = app.post("/environments", json!({"key": key})).await.error(400);
        assert!(message.contains("key"), "{key}: {message}");
    }
    let blank = app.put("/environments/staging", json!({"name": " "})).await.error(400);
    assert_eq!(blank, "name must not be empty");
    let unknown = app.get("/environments/nowhere").await.error(404);
    assert!(unknown.contains("nowhere"), "{unknown}");
    let default = app.delete("/environments/production").await.error(400);
    assert!(default.contains("default environment"), "{default}");

    // A deletion with live flags needs force; then the key is free again.
    let staging_api = app.environment("staging");
    staging_api.create_flag("checkout").await;
    let refused = app.delete("/environments/staging").await.error(409);
    assert!(
        refused.contains("1 live flag") && refused.contains("force=true"),
        "{refused}"
    );
    app.delete("/environments/staging?force=true").await.ok();
    assert_eq!(keys(&app.get("/environments").await.ok()), ["production"]);
    let gone = staging_api.get("/flags").await.error(404);
    assert!(gone.contains("staging"), "{gone}");
    create_environment(&app, "staging").await;
    assert_eq!(app.environment("staging").get("/flags").await.ok(), json!([]));

    let changes = app.get("/changes?order=asc").await.ok();
    let recorded: Vec<&str> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["events"][0]["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        recorded,
        [
            "environment.created",
            "environment.updated",
            "flag.created",
            "environment.deleted",
            "environment.created"
        ]
    );
    assert_eq!(changes[1]["previous"]["name"], "staging env");
    // Every entry names its environment, a deleted one by the key it had.
    assert_eq!(changes[0]["environment"], json!({"key": "staging", "name": "Staging"}));
    assert_eq!(changes[2]["environment"], json!({"key": "staging", "name": "Staging"}));
    assert_eq!(
        changes[4]["environment"],
        json!({"key": "staging", "name": "staging env"})
    );
    // An environment's base path (or ?environment=) shows only its changes.
    let scoped = app.environment("staging").get("/changes").await.ok();
    assert_eq!(scoped.as_array().unwrap().len(), 1, "{scoped}");
    let by_header = app
        .send(
            app.client
                .get(format!("{}/api/v1/changes", app.base))
                .header("X-Bunting-Environment", "staging"),
        )
        .await
        .ok();
    assert_eq!(by_header, scoped);
    let filtered = app.get("/changes?environment=production").await.ok();
    assert_eq!(filtered, json!([]));
    assert_eq!(changes[1]["data"]["name"], "Staging");
}

#[tokio::test]
async fn the_same_flag_key_has_one_id_and_evaluates_independently_in_each_environment() {
    let app = spawn_app().await;
    create_environment(&app, "staging").await;
    let staging = app.environment("staging");
    let (flag, segment, control, treatment) = app.flag_with_split("checkout").await;
    let (staging_flag, staging_segment, staging_control, staging_treatment) = staging.flag_with_split("checkout").await;
    // Same flag and variant ids, so an entity lands in the same bucket in both.
    assert_eq!(
        (staging_flag, staging_control, staging_treatment),
        (flag, control, treatment)
    );
    assert_ne!(staging_segment, segment);

    // Only staging is enabled: production answers with no variant.
    staging
        .put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let request = json!({"entityID": "user-42", "flagKey": "checkout", "entityContext": {}});
    let in_production = app.post("/evaluation", request.clone()).await.ok();
    let in_staging = staging.post("/evaluation", request.clone()).await.ok();
    assert_eq!(in_production["variantKey"], Value::Null);
    let staged_variant = in_staging["variantKey"].as_str().unwrap().to_owned();
    // The header selects an environment too, for clients whose base URL cannot change.
    let by_header = app
        .send(
            app.client
                .post(format!("{}/api/v1/evaluation", app.base))
                .header("X-Bunting-Environment", "staging")
                .json(&request),
        )
        .await
        .ok();
    assert_eq!(by_header["variantKey"], staged_variant);
    // OFREP providers given the environment's base path evaluate its flags.
    let ofrep = app
        .send(
            app.client
                .post(format!(
                    "{}/environments/staging/ofrep/v1/evaluate/flags/checkout",
                    app.base
                ))
                .json(&json!({"context": {"targetingKey": "user-42"}})),
        )
        .await
        .ok();
    assert_eq!(ofrep["variant"], staged_variant);

    // Enabled in both, the same entity gets the same variant in both.
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    for entity in 0..50 {
        let request = json!({"entityID": format!("user-{entity}"), "flagKey": "checkout", "entityContext": {}});
        let here = app.post("/evaluation", request.clone()).await.ok();
        let there = staging.post("/evaluation", request).await.ok();
        assert_eq!(here["variantKey"], there["variantKey"], "entity {entity}");
    }

    // Changes in one environment leave the other as it was.
    staging
        .put(&format!("/flags/{flag}"), json!({"description": "staged copy"}))
        .await
        .ok();
    assert_eq!(
        app.get(&format!("/flags/{flag}")).await.ok()["description"],
        "checkout flag"
    );
    // Each environment's history is its own, though the flag id is the same.
    let snapshots = format!("/flags/{flag}/snapshots");
    let production_history = app.get(&snapshots).await.ok();
    let staging_history = staging.get(&snapshots).await.ok();
    assert_eq!(production_history[0]["flag"]["description"], "checkout flag");
    assert_eq!(staging_history[0]["flag"]["description"], "staged copy");

    // A flag only staging has is not in production's list, export or tags.
    staging.create_flag("staging-only").await;
    let production_keys: Vec<String> = app
        .get("/flags")
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(production_keys, ["checkout"]);
    let export = staging.get("/export/eval_cache/json").await.ok();
    assert_eq!(export["Flags"].as_array().unwrap().len(), 2);
    // The default environment is reachable under its base path too.
    assert_eq!(
        app.environment("production")
            .get("/flags")
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_key_keeps_one_id_a_rename_cannot_break_that() {
    let app = spawn_app().await;
    create_environment(&app, "staging").await;
    let staging = app.environment("staging");
    let first = app.create_flag("first").await["id"].as_i64().unwrap();
    let second = staging.create_flag("second").await["id"].as_i64().unwrap();
    assert_ne!(first, second);
    // Renaming staging's flag to a key production gives another id is refused.
    let refused = staging
        .put(&format!("/flags/{second}"), json!({"key": "first"}))
        .await
        .error(400);
    assert!(
        refused.contains(&format!("flag {first} in another environment")),
        "{refused}"
    );
    // Unknown environments are named.
    let unknown = app.environment("nowhere").get("/flags").await.error(404);
    assert!(unknown.contains("\"nowhere\""), "{unknown}");
}

#[tokio::test]
async fn a_webhook_hears_only_its_own_environment() {
    let app = spawn_app().await;
    create_environment(&app, "staging").await;
    let staging = app.environment("staging");
    let production_receiver = Receiver::start().await;
    let staging_receiver = Receiver::start().await;
    app.create_webhook(json!({"url": production_receiver.url, "events": ["flag.created"]}))
        .await;
    staging
        .create_webhook(json!({"url": staging_receiver.url, "events": ["flag.created"]}))
        .await;
    assert_eq!(app.get("/webhooks").await.ok().as_array().unwrap().len(), 1);
    assert_eq!(staging.get("/webhooks").await.ok().as_array().unwrap().len(), 1);

    app.create_flag("in-production").await;
    staging.create_flag("in-staging").await;
    app.settle().await;
    let heard = |receiver: &Receiver| -> Vec<String> {
        receiver
            .received()
            .iter()
            .map(|received| {
                let body: Value = serde_json::from_str(&received.body).unwrap();
                format!(
                    "{} in {}",
                    body["flag_key"].as_str().unwrap(),
                    body["environment"]["key"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(heard(&production_receiver), ["in-production in production"]);
    assert_eq!(heard(&staging_receiver), ["in-staging in staging"]);
}

#[tokio::test]
async fn a_webhook_of_another_environment_that_answers_gone_is_disabled_there() {
    let app = spawn_app().await;
    create_environment(&app, "staging").await;
    let staging = app.environment("staging");
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(410));
    let id = staging
        .create_webhook(json!({"url": receiver.url, "events": ["flag.*"]}))
        .await;
    staging.create_flag("gone").await;
    app.settle().await;
    let disabled = staging.get(&format!("/webhooks/{id}")).await.ok();
    assert_eq!(disabled["enabled"], false, "{disabled}");
    let change = &staging.get("/changes?limit=1").await.ok()[0];
    assert_eq!(change["events"][0]["event"], "webhook.updated");
    assert_eq!(change["actor"], "bunting");
}

fn actions(answer: &Value) -> Vec<(String, String)> {
    answer["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| {
            (
                flag["key"].as_str().unwrap().to_owned(),
                flag["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn promotion_copies_flags_between_environments_all_or_nothing_after_a_dry_run() {
    let app = spawn_app().await;
    create_environment(&app, "staging").await;
    let staging = app.environment("staging");
    let (flag, segment, _, _) = staging.flag_with_split("checkout").await;
    staging
        .post(&format!("/flags/{flag}/tags"), json!({"value": "web"}))
        .await
        .ok();
    staging
        .put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"url": receiver.url, "events": ["flag.created"]}))
        .await;
    let changes_before = app.max_id().await;

    // The dry run says what would happen and writes nothing.
    let promote = json!({"from": "staging", "flags": ["checkout"], "dryRun": true});
    let dry = app.post("/environments/production/promote", promote).await.ok();
    assert_eq!(dry["dryRun"], true);
    assert_eq!(actions(&dry), [("checkout".to_owned(), "create".to_owned())]);
    let sentences: Vec<&str> = dry["flags"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["sentence"].as_str().unwrap())
        .collect();
    assert_eq!(sentences, ["Flag checkout created", "Flag checkout enabled"]);
    assert_eq!(app.get("/flags").await.ok(), json!([]));
    assert_eq!(app.max_id().await, changes_before);

    // The real call: production has the flag as staging has it, same ids, its own tag.
    let done = app
        .post(
            "/environments/production/promote",
            json!({"from": "staging", "flags": ["checkout"]}),
        )
        .await
        .ok();
    assert_eq!(actions(&done), [("checkout".to_owned(), "create".to_owned())]);
    let promoted = app.get(&format!("/flags/{flag}")).await.ok();
    let source = staging.get(&format!("/flags/{flag}")).await.ok();
    for field in ["key", "enabled", "segments", "variants", "description"] {
        assert_eq!(promoted[field], source[field], "{field}");
    }
    assert_eq!(promoted["tags"][0]["value"], "web");
    let request = json!({"entityID": "user-7", "flagKey": "checkout", "entityContext": {}});
    assert_eq!(
        app.post("/evaluation", request.clone()).await.ok()["variantKey"],
        staging.post("/evaluation", request).await.ok()["variantKey"]
    );
    app.settle().await;
    assert_eq!(receiver.received().len(), 1, "production's webhook heard the promotion");
    let change = &app.environment("production").get("/changes?limit=1").await.ok()[0];
    assert_eq!(change["events"][0]["event"], "flag.created");
    assert_eq!(change["events"][1]["event"], "flag.enabled");
    assert_eq!(change["environment"]["key"], "production");

    // A change in staging promotes as the events a manual edit fires; again, nothing changes.
    staging
        .put(
            &format!("/flags/{flag}/segments/{segment}"),
            json!({"description": "everyone", "rolloutPercent": 30}),
        )
        .await
        .ok();
    let by_tag = json!({"from": "staging", "tags": ["web"], "dryRun": true});
    let dry = app.post("/environments/production/promote", by_tag).await.ok();
    assert_eq!(actions(&dry), [("checkout".to_owned(), "update".to_owned())]);
    assert_eq!(
        dry["flags"][0]["changes"][0]["event"],
        "segment.rollout_percent.updated"
    );
    assert_eq!(
        dry["flags"][0]["changes"][0]["sentence"],
        format!("Segment {segment} of checkout: rollout 100% → 30%")
    );
    app.post(
        "/environments/production/promote",
        json!({"from": "staging", "all": true}),
    )
    .await
    .ok();
    let again = app
        .post(
            "/environments/production/promote",
            json!({"from": "staging", "all": true}),
        )
        .await
        .ok();
    assert_eq!(actions(&again), [("checkout".to_owned(), "unchanged".to_owned())]);
    assert_eq!(again["flags"][0]["changes"], json!([]));

    // All or nothing: one flag that cannot be promoted leaves every flag as it was.
    let gone = staging.create_flag("gone").await["id"].as_i64().unwrap();
    app.create_flag("gone").await;
    app.delete(&format!("/flags/{gone}")).await.ok();
    staging
        .put(&format!("/flags/{flag}/enabled"), json!({"enabled": false}))
        .await
        .ok();
    let seq = app.max_id().await;
    let refused = app
        .post(
            "/environments/production/promote",
            json!({"from": "staging", "all": true}),
        )
        .await
        .error(400);
    assert!(
        refused.contains("gone") && refused.contains("restore it there first"),
        "{refused}"
    );
    assert_eq!(app.get(&format!("/flags/{flag}")).await.ok()["enabled"], true);
    assert_eq!(app.max_id().await, seq);
}

#[tokio::test]
async fn promotion_requests_that_cannot_work_say_what_to_fix() {
    let app = spawn_app().await;
    create_environment(&app, "staging").await;
    app.environment("staging").create_flag("checkout").await;
    let promote = |body: Value| {
        let app = &app;
        async move { app.post("/environments/production/promote", body).await }
    };
    let both = promote(json!({"from": "staging", "flags": ["checkout"], "all": true}))
        .await
        .error(400);
    assert!(both.contains("exactly one of"), "{both}");
    let missing = promote(json!({"from": "staging", "flags": ["nope"]})).await.error(400);
    assert!(missing.contains("no live flag nope"), "{missing}");
    let itself = promote(json!({"from": "production", "all": true})).await.error(400);
    assert!(itself.contains("same environment"), "{itself}");
    let unknown = promote(json!({"from": "nowhere", "all": true})).await.error(404);
    assert!(unknown.contains("nowhere"), "{unknown}");
    let nothing = promote(json!({"from": "staging", "tags": ["none"]})).await.error(400);
    assert!(nothing.contains("nothing to promote"), "{nothing}");
}

#[tokio::test]
async fn a_flag_is_compared_across_environments_and_an_environment_is_cloned_with_its_flags() {
    let app = spawn_app().await;
    let staging = {
        create_environment(&app, "staging").await;
        app.environment("staging")
    };
    let (flag, segment, _, _) = staging.flag_with_split("checkout").await;
    app.post(
        "/environments/production/promote",
        json!({"from": "staging", "all": true}),
    )
    .await
    .ok();
    staging
        .put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    create_environment(&app, "empty").await;

    let compared = app.get("/compare/checkout").await.ok();
    let sides = compared["environments"].as_array().unwrap();
    let side = |key: &str| {
        sides
            .iter()
            .find(|side| side["environment"]["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(side("production")["flag"]["enabled"], false);
    assert_eq!(side("staging")["flag"]["enabled"], true);
    assert_eq!(side("staging")["lastChange"]["events"], json!(["flag.enabled"]));
    assert_eq!(side("empty")["flag"], Value::Null);
    assert_eq!(side("production")["flag"]["segments"][0]["id"], segment);

    let difference = app.get("/compare/checkout?from=staging&to=production").await.ok();
    assert_eq!(difference["difference"]["action"], "update");
    assert_eq!(
        difference["difference"]["changes"][0]["sentence"],
        "Flag checkout enabled"
    );
    assert_eq!(
        app.get("/flags").await.ok()[0]["enabled"],
        false,
        "a difference writes nothing"
    );
    let missing = app.get("/compare/nowhere").await.error(404);
    assert!(missing.contains("nowhere"), "{missing}");
    let half = app.get("/compare/checkout?from=staging").await.error(400);
    assert!(half.contains("both from and to"), "{half}");

    // A clone starts with the source's flags, same ids, each recorded as a change.
    app.post("/environments", json!({"key": "qa", "cloneFrom": "staging"}))
        .await
        .ok();
    let qa = app.environment("qa");
    let cloned = qa.get(&format!("/flags/{flag}")).await.ok();
    assert_eq!(cloned["enabled"], true);
    assert_eq!(cloned["key"], "checkout");
    let recorded = qa.get("/changes?order=asc").await.ok();
    let events: Vec<&str> = recorded
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["events"][0]["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["environment.created", "flag.created"]);
    let unknown = app
        .post("/environments", json!({"key": "qa2", "cloneFrom": "nowhere"}))
        .await
        .error(404);
    assert!(unknown.contains("nowhere"), "{unknown}");
}

#[tokio::test]
async fn a_webhook_for_all_environments_hears_every_environment() {
    let app = spawn_app().await;
    create_environment(&app, "staging").await;
    let staging = app.environment("staging");
    let audit = Receiver::start().await;
    let created = app
        .post(
            "/webhooks",
            json!({"url": audit.url, "events": ["*"], "format": "flagsmith_audit", "allEnvironments": true}),
        )
        .await
        .ok();
    assert_eq!(created["allEnvironments"], true);
    let own_only = Receiver::start().await;
    app.create_webhook(json!({"url": own_only.url, "events": ["flag.created"]}))
        .await;

    app.create_flag("in-production").await;
    staging.create_flag("in-staging").await;
    app.put("/environments/staging", json!({"name": "Staging"})).await.ok();
    app.settle().await;
    let records: Vec<(String, String)> = audit
        .received()
        .iter()
        .map(|received| {
            let record: Value = serde_json::from_str(&received.body).unwrap();
            (
                record["environment"]["name"].as_str().unwrap().to_owned(),
                record["log"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        records.contains(&("production".into(), "Flag in-production created".into())),
        "{records:?}"
    );
    assert!(
        records.contains(&("staging".into(), "Flag in-staging created".into())),
        "{records:?}"
    );
    assert!(
        records.contains(&("staging".into(), "Environment staging updated".into())),
        "{records:?}"
    );
    assert_eq!(
        own_only.received().len(),
        1,
        "a webhook without allEnvironments hears only its own"
    );

    let narrowed = app
        .put(
            &format!("/webhooks/{}", created["id"]),
            json!({"allEnvironments": false}),
        )
        .await
        .ok();
    assert_eq!(narrowed["allEnvironments"], false);
}

#[tokio::test]
async fn another_instance_follows_environments_created_and_deleted_elsewhere() {
    let first = spawn_app().await;
    let second = spawn_app_on(&first, |config| {
        config.evaluation.refresh_interval = std::time::Duration::from_millis(50);
    })
    .await;
    create_environment(&first, "staging").await;
    first.environment("staging").create_flag("checkout").await;
    // The second instance resolves an environment it has not seen by asking the database.
    let request = json!({"entityID": "u", "flagKey": "checkout", "entityContext": {}});
    let evaluated = second
        .environment("staging")
        .post("/evaluation", request.clone())
        .await
        .ok();
    assert_eq!(evaluated["flagKey"], "checkout");

    first.delete("/environments/staging?force=true").await.ok();
    for _ in 0..100 {
        let reply = second.environment("staging").post("/evaluation", request.clone()).await;
        if reply.status == 404 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the second instance still serves a deleted environment");
}

/// The schema the previous release (migrations 1 to 6) left, with a flag, a webhook with a
/// plain secret and a pending delivery in it, as that release wrote them.
const PREVIOUS_RELEASE: [&str; 6] = [
    include_str!("../../../store/migrations/0001_init.sql"),
    include_str!("../../../store/migrations/0002_webhooks.sql"),
    include_str!("../../../store/migrations/0003_webhook_failing_since.sql"),
    include_str!("../../../store/migrations/0004_flag_tables_renamed.sql"),
    include_str!("../../../store/migrations/0005_flagr_adoption.sql"),
    include_str!("../../../store/migrations/0006_flagr_adoption_change_seq.sql"),
];

#[tokio::test]
async fn a_database_of_the_previous_release_keeps_everything_in_the_default_environment() {
    let database = test_database().await;
    // MySQL support came after that release: there is no MySQL database it could have written.
    if matches!(database.url, bunting_store::DatabaseUrl::Mysql(_)) {
        return;
    }
    execute_sql_on(
        &database.url,
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    )
    .await;
    for (version, sql) in (1..).zip(PREVIOUS_RELEASE) {
        execute_sql_on(&database.url, sql).await;
        execute_sql_on(
            &database.url,
            &format!("INSERT INTO schema_migrations (version, name) VALUES ({version}, 'previous')"),
        )
        .await;
    }
    let document = json!({"id": 5, "key": "legacy", "description": "kept", "enabled": true, "tags": [],
        "segments": [], "variants": [], "dataRecordsEnabled": false, "updatedAt": "2026-11-30T10:00:00.000Z"});
    let future = 4_102_444_800_000_000_i64; // 2100: the delivery stays pending through the test
    execute_sql_on(
        &database.url,
        &format!(
            "UPDATE id_counters SET change_seq = 1, flag_id = 5, webhook_id = 1;
             INSERT INTO bunting_flags (id, environment_id, key, deleted_at, snapshot_id, document)
               VALUES (5, 1, 'legacy', NULL, 1, '{document}');
             INSERT INTO change_events (seq, event_id, occurred_at, actor, environment_id, flag_id, flag_key, events, previous, current)
               VALUES (1, 'e1', 1764496800000000, 'alice', 1, 5, 'legacy',
                       '[{{\"event\":\"flag.created\",\"component\":{{\"type\":\"flag\",\"id\":5,\"key\":\"legacy\"}}}}]', NULL, '{document}');
             INSERT INTO webhooks (id, environment_id, url, description, events, enabled, timeout_seconds, secret,
                                   format, headers, managed_by_config, created_at, updated_at)
               VALUES (1, 1, 'http://127.0.0.1:9/hook', 'ops', '[\"*\"]', 1, 10, 'plain-secret', 'bunting', '[]', 0,
                       1764496800000000, 1764496800000000);
             INSERT INTO webhook_messages (id, body, created_at) VALUES ('m1', '{{}}', 1764496800000000);
             INSERT INTO webhook_deliveries (id, webhook_id, event, event_id, change_seq, flag_id, flag_key, message_id,
                                             status, attempts, next_attempt_at, created_at)
               VALUES ('d1', 1, 'flag.created', 'm1', 1, 5, 'legacy', 'm1', 'pending', 0, {future}, 1764496800000000)"
        ),
    )
    .await;

    let app = spawn_app_on_database(&database.url).await;
    let environments = app.get("/environments").await.ok();
    assert_eq!(keys(&environments), ["production"]);
    assert_eq!(environments[0]["default"], true);
    let flag = app.get("/flags/5").await.ok();
    assert_eq!(
        (flag["key"].as_str(), flag["description"].as_str()),
        (Some("legacy"), Some("kept"))
    );
    let under_base_path = app.environment("production").get("/flags/5").await.ok();
    assert_eq!(under_base_path["key"], "legacy");
    assert_eq!(app.get("/flags/5/snapshots").await.ok().as_array().unwrap().len(), 1);
    let webhook = app.get("/webhooks/1").await.ok();
    assert_eq!(
        (webhook["hasSecret"].as_bool(), webhook["pendingDeliveries"].as_i64()),
        (Some(true), Some(1))
    );
    let delivery = app.get("/webhooks/1/deliveries/d1").await.ok();
    assert_eq!(delivery["status"], "pending");
    // New flags go on from the counters the old release left.
    assert_eq!(app.create_flag("next").await["id"], 6);
}

#[tokio::test]
async fn the_default_environment_is_named_at_first_start_only() {
    let app = spawn_app_with(|config| config.default_environment = Some("live".into())).await;
    assert_eq!(keys(&app.get("/environments").await.ok()), ["live"]);
    app.create_flag("checkout").await;
    assert_eq!(app.environment("live").get("/flags").await.ok()[0]["key"], "checkout");
    // A database with changes keeps the name it has.
    let later = spawn_app_on(&app, |config| config.default_environment = Some("prod".into())).await;
    assert_eq!(keys(&later.get("/environments").await.ok()), ["live"]);
}
