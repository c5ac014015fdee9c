use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_a_400_that_says_why() {
    let app = spawn_app().await;
    for body in ["{", "not json", "{\"description\": }"] {
        let reply = app.raw(Method::POST, "/flags", body).await;
        assert_eq!(reply.status, 400, "{body}");
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.starts_with("parsing body body from \"\" failed, because"),
            "{message}"
        );
        assert_eq!(reply.body["code"], 400);
    }
    assert_eq!(
        app.raw(Method::POST, "/flags", "[1]").await.error(400),
        "parsing body body from \"\" failed, because body in body must be of type object: \"array\"",
        "a body that is not an object does not decode"
    );
    assert_eq!(
        app.raw(Method::POST, "/flags", "").await.error(422),
        "body in body is required"
    );
    assert_eq!(
        app.raw(Method::POST, "/flags", "null").await.error(422),
        "body in body is required"
    );
    assert_eq!(app.get("/flags").await.ok(), json!([]), "nothing was created");
}

#[tokio::test]
async fn wrong_types_fail_decoding_with_400_and_schema_errors_are_422() {
    let app = spawn_app().await;
    // Flagr's server decodes the body into typed structs first: a wrong type is a parse error.
    let reply = app.post("/flags", json!({"description": 5})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"code": 400, "message": "parsing body body from \"\" failed, because description in body must be of type string: \"integer\""})
    );
    let reply = app.post("/flags", json!({"key": "k"})).await;
    assert_eq!(
        reply.body,
        json!({"code": 602, "message": "description in body is required"})
    );
    let reply = app.post("/flags", json!({"description": ""})).await;
    assert_eq!(
        reply.body,
        json!({"code": 604, "message": "description in body should be at least 1 chars long"})
    );
}

#[tokio::test]
async fn path_ids_must_be_positive_integers() {
    let app = spawn_app().await;
    let reply = app.get("/flags/abc").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["message"], "flagID in path must be of type int64: \"abc\"");
    assert_eq!(
        app.get("/flags/0").await.error(422),
        "flagID in path should be greater than or equal to 1"
    );
    assert_eq!(
        app.get("/flags/-3").await.error(422),
        "flagID in path should be greater than or equal to 1"
    );
    assert_eq!(app.get("/flags/99999999999999999999").await.status, 422);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_like_flagrs_router() {
    let app = spawn_app().await;
    let reply = app.get("/nothing/here").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["message"], "path /api/v1/nothing/here was not found");
    let reply = app.request(Method::PATCH, "/flags", Some(json!({}))).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.body["message"], "method PATCH is not allowed, but [GET,POST] are");
    let allow = reply.headers.get("allow").unwrap().to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
}

#[tokio::test]
async fn static_routes_win_over_ids() {
    let app = spawn_app().await;
    assert_eq!(app.get("/flags/entity_types").await.ok(), json!([]));
    assert_eq!(app.get("/flags/snapshots/max_id").await.ok(), json!({"maxID": 0}));
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_the_server_keeps_serving() {
    let app = spawn_app_with(|config| config.max_body_bytes = 4096).await;
    let huge = "x".repeat(10_000);
    let reply = app.post("/flags", json!({"description": huge})).await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("BUNTING_MAX_BODY_BYTES"),
        "{}",
        reply.body
    );
    assert_eq!(app.get("/health").await.ok(), json!({"status": "OK"}));
    assert_eq!(app.get("/flags").await.ok(), json!([]));
}

#[tokio::test]
async fn the_api_is_served_under_the_web_prefix() {
    let app = spawn_app_with(|config| config.web_prefix = "/flagr".into()).await;
    let reply = app
        .send(app.client.get(format!("{}/flagr/api/v1/health", app.base)))
        .await;
    assert_eq!(reply.body, json!({"status": "OK"}));
    assert_eq!(app.get("/health").await.status, 404);
}

#[tokio::test]
async fn basic_auth_guards_what_flagr_guards() {
    let app = spawn_app_with(|config| {
        config.identity.basic_auth = Some(bunting::config::BasicAuth {
            username: "admin".into(),
            password: "s3cret".into(),
            whitelist_paths: vec!["/api/v1/health".into()],
            exact_whitelist_paths: vec![],
        });
    })
    .await;
    assert_eq!(app.get("/health").await.status, 200);
    let reply = app.get("/tags").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.headers.get("www-authenticate").unwrap(),
        "Basic realm=\"you shall not pass\""
    );
    let created = app
        .send(
            app.client
                .post(format!("{}/api/v1/flags", app.base))
                .basic_auth("admin", Some("s3cret"))
                .json(&json!({"description": "d"})),
        )
        .await
        .ok();
    assert_eq!(created["createdBy"], "admin");
    let wrong = app
        .send(
            app.client
                .get(format!("{}/api/v1/tags", app.base))
                .basic_auth("admin", Some("nope")),
        )
        .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn browsers_get_flagrs_cors_answers() {
    let app = spawn_app_with(|config| {
        config.identity.basic_auth = Some(bunting::config::BasicAuth {
            username: "admin".into(),
            password: "s3cret".into(),
            whitelist_paths: vec![],
            exact_whitelist_paths: vec![],
        });
    })
    .await;
    let preflight = app
        .send(
            app.client
                .request(Method::OPTIONS, format!("{}/api/v1/evaluation", app.base))
                .header("Origin", "https://shop.example.com")
                .header("Access-Control-Request-Method", "POST"),
        )
        .await;
    assert_eq!(preflight.status, 204, "a preflight is answered before basic auth");
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://shop.example.com"
    );
    assert_eq!(preflight.headers["access-control-allow-credentials"], "true");
    assert!(
        preflight.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        preflight.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Content-Type")
    );
    let request = app
        .client
        .get(format!("{}/api/v1/health", app.base))
        .header("Origin", "https://shop.example.com")
        .basic_auth("admin", Some("s3cret"));
    let reply = app.send(request).await;
    assert_eq!(reply.headers["access-control-allow-origin"], "https://shop.example.com");
    assert_eq!(reply.headers["access-control-expose-headers"], "WWW-Authenticate");

    let closed = spawn_app_with(|config| config.cors = None).await;
    let reply = closed
        .send(
            closed
                .client
                .get(format!("{}/api/v1/health", closed.base))
                .header("Origin", "https://x"),
        )
        .await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn nul_in_text_is_refused_with_a_400_on_every_backend() {
    // PostgreSQL cannot store NUL in text (it answered 500 where SQLite stored it): text that is
    // stored or used as a filter is refused alike everywhere.
    let app = spawn_app().await;
    let flag = app.create_flag("nul").await["id"].as_i64().unwrap();
    let segment = app
        .post(
            &format!("/flags/{flag}/segments"),
            json!({"description": "all", "rolloutPercent": 100}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let webhook = app
        .create_webhook(json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}))
        .await;
    let changes_before = app.max_id().await;
    let bodies = [
        (
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["*"], "description": "a\u{0}b"}),
        ),
        (
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["*"], "secret": "s\u{0}"}),
        ),
        (
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["flag.\u{0}"]}),
        ),
        ("/flags", json!({"description": "d\u{0}", "key": "other"})),
        (&format!("/flags/{flag}/tags"), json!({"value": "t\u{0}"})),
        (&format!("/flags/{flag}/variants"), json!({"key": "v\u{0}"})),
        (
            &format!("/flags/{flag}/segments/{segment}/constraints"),
            json!({"property": "country", "operator": "EQ", "value": "\"\u{0}\""}),
        ),
    ];
    for (path, body) in bodies {
        let message = app.post(path, body.clone()).await.error(400);
        assert!(message.contains("NUL"), "{path} {body}: {message}");
    }
    let message = app
        .put(&format!("/webhooks/{webhook}"), json!({"description": "\u{0}"}))
        .await
        .error(400);
    assert!(message.starts_with("description in body must not contain"), "{message}");
    for path in [
        "/tags?value_like=%00".to_owned(),
        "/flags?description_like=%00".to_owned(),
        format!("/webhooks/{webhook}/deliveries?event=%00"),
        format!("/webhooks/{webhook}/deliveries?flagKey=%00"),
        format!("/webhooks/{webhook}/deliveries/%00"),
        format!("/webhooks/{webhook}/deliveries/%00/redeliver"),
    ] {
        let reply = if path.ends_with("redeliver") {
            app.post(&path, json!(null)).await
        } else {
            app.get(&path).await
        };
        let message = reply.error(400);
        assert!(
            message.contains("must not contain the NUL character"),
            "{path}: {message}"
        );
    }
    assert_eq!(app.max_id().await, changes_before, "nothing was written");

    // An attachment is a JSON object stored whole: NUL in it is kept as sent.
    let variant = app
        .post(
            &format!("/flags/{flag}/variants"),
            json!({"key": "on", "attachment": {"note": "a\u{0}b"}}),
        )
        .await
        .ok();
    assert_eq!(variant["attachment"]["note"], "a\u{0}b");
    let stored = app.get(&format!("/flags/{flag}")).await.ok();
    assert_eq!(stored["variants"][0]["attachment"]["note"], "a\u{0}b");
}

#[tokio::test]
async fn a_500_says_nothing_to_the_client_and_its_log_line_names_the_request() {
    crate::logs::capture();
    let app = spawn_app().await;
    // A database this version cannot read: the entity types' table is gone.
    app.execute_sql("DROP TABLE entity_types").await;
    let request_id = format!("test-{}", uuid::Uuid::new_v4().simple());
    let reply = app
        .send(
            app.client
                .get(format!("{}/api/v1/flags/entity_types", app.base))
                .header("X-Request-Id", &request_id),
        )
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, json!({"message": "internal server error"}), "no internals");
    assert_eq!(
        reply.headers["x-request-id"],
        request_id.as_str(),
        "the client's id comes back"
    );

    let logged = crate::logs::lines(|line| line["span"]["request_id"] == request_id.as_str());
    assert_eq!(logged.len(), 1, "{logged:?}");
    let line = &logged[0];
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["route"], "/api/v1/flags/entity_types");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("entity_types"),
        "the database's own error is kept: {error}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let first = app.get("/flags").await;
    let second = app.get("/nowhere").await;
    let ids: Vec<&str> = [&first, &second]
        .iter()
        .map(|reply| reply.headers["x-request-id"].to_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| id.len() == 32), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    let unusable = "x".repeat(200);
    let reply = app
        .send(
            app.client
                .get(format!("{}/api/v1/flags", app.base))
                .header("X-Request-Id", &unusable),
        )
        .await;
    assert_ne!(
        reply.headers["x-request-id"],
        unusable.as_str(),
        "an id too long to log is replaced"
    );
}
