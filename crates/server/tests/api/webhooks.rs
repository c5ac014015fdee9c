//! Managing webhooks: CRUD, validation, the write-only secret, rotation, the catalogue, and
//! changes to webhooks in the change log.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn webhooks_are_created_read_updated_and_deleted() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/webhooks",
            json!({"url": "https://hooks.example.com/flags", "events": ["flag.*", "segment.created"], "secret": "s3cret", "description": "ops"}),
        )
        .await
        .ok();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["url"], "https://hooks.example.com/flags");
    assert_eq!(created["events"], json!(["flag.*", "segment.created"]));
    assert_eq!(created["enabled"], true);
    assert_eq!(created["timeoutSeconds"], 10);
    assert_eq!(created["hasSecret"], true);
    assert_eq!(created["managedBy"], "api");
    assert!(created.get("secret").is_none(), "the secret is write-only: {created}");

    let read = app.get(&format!("/webhooks/{id}")).await.ok();
    assert_eq!(read["pendingDeliveries"], 0);
    assert_eq!(read["lastDelivery"], Value::Null);
    assert!(!read.to_string().contains("s3cret"));
    assert_eq!(app.get("/webhooks").await.ok().as_array().unwrap().len(), 1);

    let updated = app
        .put(
            &format!("/webhooks/{id}"),
            json!({"events": "flag.created, flag.deleted", "enabled": false, "timeoutSeconds": 3}),
        )
        .await
        .ok();
    assert_eq!(
        updated["events"],
        json!(["flag.created", "flag.deleted"]),
        "a comma-separated string is accepted"
    );
    assert_eq!(
        (updated["enabled"].clone(), updated["timeoutSeconds"].clone()),
        (json!(false), json!(3))
    );
    assert_eq!(updated["hasSecret"], true, "an absent secret is kept");
    let unsigned = app.put(&format!("/webhooks/{id}"), json!({"secret": null})).await.ok();
    assert_eq!(unsigned["hasSecret"], false);

    let reply = app.delete(&format!("/webhooks/{id}")).await;
    assert_eq!((reply.status.as_u16(), reply.body), (200, Value::Null));
    assert_eq!(
        app.get(&format!("/webhooks/{id}")).await.error(404),
        format!("unable to find webhook {id}")
    );
    assert_eq!(app.delete(&format!("/webhooks/{id}")).await.status, 404);
}

#[tokio::test]
async fn bad_webhooks_are_refused_with_what_to_fix() {
    let app = spawn_app().await;
    let create = |body: Value| app.post("/webhooks", body);
    let message = create(json!({"url": "https://h.example", "events": ["flag.created", "flag.exploded", "nope.*"]}))
        .await
        .error(400);
    assert!(
        message.contains("\"flag.exploded\"") && message.contains("\"nope.*\""),
        "{message}"
    );
    assert!(!message.contains("\"flag.created\""), "{message}");
    assert!(
        create(json!({"url": "ftp://h.example", "events": ["*"]}))
            .await
            .error(400)
            .contains("http://")
    );
    assert!(
        create(json!({"url": "https://", "events": ["*"]}))
            .await
            .error(400)
            .contains("no host")
    );
    assert!(
        create(json!({"url": "https://h.example", "events": []}))
            .await
            .error(400)
            .contains("at least one event")
    );
    assert!(
        create(json!({"url": "https://h.example", "events": ["*"], "timeoutSeconds": 31}))
            .await
            .error(400)
            .contains("between 1 and 30")
    );
    assert!(
        create(json!({"url": "https://h.example", "events": ["*"], "timeoutSeconds": 0}))
            .await
            .error(400)
            .contains("between 1 and 30")
    );
    // Bunting's own routes answer a body of the wrong shape with 400, like every other refusal.
    assert_eq!(
        create(json!({"events": ["*"]})).await.error(400),
        "url in body is required"
    );
    assert_eq!(
        create(json!({"url": "", "events": ["*"]})).await.error(400),
        "url in body should be at least 1 chars long"
    );
    assert_eq!(
        create(json!({"url": 7, "events": ["*"]})).await.error(400),
        "parsing body body from \"\" failed, because url in body must be of type string: \"integer\""
    );
    assert_eq!(
        create(json!({"url": "https://h.example"})).await.error(400),
        "events in body is required"
    );
    assert_eq!(
        create(json!({"url": "https://h.example", "events": [1]}))
            .await
            .error(400),
        "parsing body body from \"\" failed, because events in body must be of type array of strings: \"array\""
    );
    assert_eq!(
        create(json!({"url": "https://h.example", "events": ["*"], "timeoutSeconds": -1}))
            .await
            .error(400),
        "timeoutSeconds in body should be greater than or equal to 0"
    );
    assert_eq!(
        app.raw(reqwest::Method::POST, "/webhooks", "").await.error(400),
        "body in body is required"
    );
    assert_eq!(
        app.get("/webhooks/0").await.error(400),
        "webhookID in path should be greater than or equal to 1"
    );
    assert_eq!(
        app.put("/webhooks/x", json!({})).await.error(400),
        "webhookID in path must be of type int64: \"x\""
    );
    let message = create(json!({"url": "https://h.example", "events": ["*"], "event": "flag.created"}))
        .await
        .error(400);
    assert!(message.starts_with("unknown fields: event;"), "{message}");
    assert_eq!(app.get("/webhooks").await.ok(), json!([]), "nothing was created");
    assert_eq!(app.max_id().await, 0, "refused requests record no change");
    assert_eq!(app.put("/webhooks/77", json!({"enabled": true})).await.status, 404);
}

#[tokio::test]
async fn urls_and_secrets_that_could_never_work_are_refused_when_set() {
    let app = spawn_app().await;
    let create = |url: &str| app.post("/webhooks", json!({"url": url, "events": ["*"]}));
    for (url, why) in [
        ("http://[::1", "invalid IPv6 address"),
        ("http://h.example:99999/", "invalid port number"),
        ("http://h.example:-1/", "invalid port number"),
        ("http://%00/", "not a valid URL"),
        ("http://h.example\u{0}/", "must not contain the NUL character"),
        ("http://h.example/\nx", "control characters"),
        // Literal addresses that are never delivered to, however they are spelt.
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("http://2852039166/", "169.254.169.254"),
        ("http://0xA9FEA9FE/", "169.254.169.254"),
        ("http://0251.0376.0251.0376/", "169.254.169.254"),
        ("http://169.254.43518/", "169.254.169.254"),
        ("http://100.100.100.200/latest/meta-data", "cloud metadata"),
        ("http://192.0.0.192/opc/v2/instance/", "cloud metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data", "cloud metadata"),
        ("http://[::ffff:100.100.100.200]/", "cloud metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/", "cloud metadata"),
        ("http://169.254.0.1/", "link-local"),
        ("http://0.0.0.0:8080/", "unspecified"),
    ] {
        let message = create(url).await.error(400);
        assert!(message.contains(why), "{url}: {message}");
    }
    let message = app
        .post(
            "/webhooks",
            json!({"url": "https://h.example", "events": ["*"], "secret": "whsec_not-base64"}),
        )
        .await
        .error(400);
    assert!(message.contains("base64"), "{message}");
    assert!(!message.contains("not-base64"), "the secret is never echoed: {message}");
    assert_eq!(app.get("/webhooks").await.ok(), json!([]), "nothing was created");

    // The same checks guard an update, and a refused update changes nothing.
    let id = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/hook", "events": ["*"], "enabled": false}))
        .await;
    let path = format!("/webhooks/{id}");
    for url in [
        "http://h.example:99999/",
        "http://2852039166/",
        "http://[fd00:ec2::254]/",
    ] {
        app.put(&path, json!({"url": url})).await.error(400);
    }
    app.put(&path, json!({"secret": "whsec_%%%"})).await.error(400);
    let unchanged = app.get(&path).await.ok();
    assert_eq!(
        (unchanged["url"].as_str(), unchanged["hasSecret"].as_bool()),
        (Some("http://127.0.0.1:9/hook"), Some(false))
    );
    let updated = app
        .put(&path, json!({"url": "http://[::1]:9/hook", "secret": "whsec_YWJj"}))
        .await
        .ok();
    assert_eq!(
        updated["url"], "http://[::1]:9/hook",
        "loopback is the server's deny_private call"
    );
}

#[tokio::test]
async fn the_catalogue_lists_every_event_with_a_description() {
    let app = spawn_app().await;
    let catalogue = app.get("/webhook_events").await.ok();
    let names: Vec<&str> = catalogue
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["name"].as_str().unwrap())
        .collect();
    for seed_event in [
        "flag.created",
        "flag.updated",
        "flag.deleted",
        "flag.enabled",
        "flag.disabled",
        "segment.created",
        "segment.updated",
        "segment.deleted",
        "segment.rollout_percent.updated",
        "variant.created",
        "variant.updated",
        "variant.deleted",
        "variant.attachment.updated",
        "constraint.created",
        "constraint.updated",
        "constraint.deleted",
        "distribution.updated",
        "flag.restored",
        "webhook.created",
        "webhook.updated",
        "webhook.deleted",
        "webhook.test",
    ] {
        assert!(names.contains(&seed_event), "{seed_event} missing from {names:?}");
    }
    for event in catalogue.as_array().unwrap() {
        assert!(!event["description"].as_str().unwrap().is_empty(), "{event}");
        assert!(event["group"].is_string(), "{event}");
    }
}

#[tokio::test]
async fn rotation_returns_the_new_secret_once_and_keeps_the_old_one_for_the_overlap() {
    let app = spawn_app().await;
    let id = app
        .post(
            "/webhooks",
            json!({"url": "https://h.example", "events": ["*"], "secret": "old"}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let rotated = app
        .post(&format!("/webhooks/{id}/secret/rotate"), json!(null))
        .await
        .ok();
    let secret = rotated["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 30, "{secret}");
    assert!(rotated["previousSecretExpiresAt"].is_string(), "{rotated}");
    let read = app.get(&format!("/webhooks/{id}")).await.ok();
    assert!(read.get("secret").is_none() && !read.to_string().contains(secret));
    assert_eq!(app.post("/webhooks/77/secret/rotate", json!(null)).await.status, 404);
}

#[tokio::test]
async fn webhook_changes_are_in_the_change_log_without_secrets() {
    let app = spawn_app().await;
    let id = app
        .post(
            "/webhooks",
            json!({"url": "https://h.example", "events": ["*"], "secret": "hunter2"}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    app.put(&format!("/webhooks/{id}"), json!({"description": "renamed"}))
        .await
        .ok();
    app.put(&format!("/webhooks/{id}"), json!({"description": "renamed"}))
        .await
        .ok();
    app.delete(&format!("/webhooks/{id}")).await.ok();
    let changes = app.get("/changes?order=asc").await.ok();
    let events: Vec<&Value> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|change| &change["events"][0]["event"])
        .collect();
    assert_eq!(
        events,
        [
            &json!("webhook.created"),
            &json!("webhook.updated"),
            &json!("webhook.deleted")
        ],
        "the no-op update records nothing"
    );
    assert_eq!(
        changes[0]["events"][0]["component"],
        json!({"type": "webhook", "id": id, "key": null})
    );
    assert_eq!(changes[0]["flag_id"], Value::Null);
    assert_eq!(changes[1]["previous"]["description"], "");
    assert_eq!(changes[1]["data"]["description"], "renamed");
    assert!(
        !changes.to_string().contains("hunter2"),
        "secrets never reach the change log"
    );
}
