//! Prometheus metrics: Flagr's series under Flagr's names and labels (with the environment
//! added), Bunting's webhook delivery series, and nothing at all unless
//! `FLAGR_PROMETHEUS_ENABLED` is on.

use bunting::config::{BasicAuth, PrometheusSettings};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::receiver::Receiver;

fn prometheus(path: &str, latency_histogram: bool) -> Option<PrometheusSettings> {
    Some(PrometheusSettings {
        path: path.into(),
        latency_histogram,
    })
}

/// The scrape's text, after checking it is served as Prometheus text.
async fn scrape(app: &TestApp, path: &str) -> String {
    let reply = app.send(app.client.get(format!("{}{path}", app.base))).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        reply.headers
    );
    reply.body.as_str().unwrap().to_owned()
}

/// The value of the one series line that starts with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

#[tokio::test]
async fn there_are_no_metrics_unless_turned_on() {
    let app = spawn_app().await;
    let reply = app.send(app.client.get(format!("{}/metrics", app.base))).await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn evaluations_and_requests_are_counted_as_flagr_counts_them() {
    let app = spawn_app_with(|config| config.prometheus = prometheus("/metrics", false)).await;
    let flag = app
        .post(
            "/flags",
            json!({"description": "d", "key": "counted", "template": "simple_boolean_flag"}),
        )
        .await
        .ok();
    let flag_id = flag["id"].as_i64().unwrap();
    let variant = flag["variants"][0]["id"].as_i64().unwrap();
    let evaluate = |body| app.post("/evaluation", body);
    // Disabled: a blank result, which Flagr does not count.
    evaluate(json!({"flagID": flag_id, "entityID": "a", "entityType": "user"}))
        .await
        .ok();
    app.put(&format!("/flags/{flag_id}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    for entity in ["a", "b"] {
        let result = evaluate(json!({"flagID": flag_id, "entityID": entity, "entityType": "user"}))
            .await
            .ok();
        assert_eq!(result["variantKey"], "on");
    }
    // Unknown: not counted either.
    evaluate(json!({"flagID": 999, "entityID": "a"})).await.ok();
    let batch = json!({"entities": [{"entityID": "c"}], "flagIDs": [flag_id]});
    app.post("/evaluation/batch", batch).await.ok();

    let text = scrape(&app, "/metrics").await;
    assert!(text.contains("# TYPE flagr_eval_results counter\n"), "{text}");
    let series = format!(
        r#"flagr_eval_results{{EntityType="user",FlagID="{flag_id}",FlagKey="counted",VariantID="{variant}",VariantKey="on",environment="production"}}"#
    );
    assert_eq!(value(&text, &series), Some(2.0), "{text}");
    let untyped = series.replace(r#"EntityType="user""#, r#"EntityType="null""#);
    assert_eq!(value(&text, &untyped), Some(1.0), "the batch result: {text}");
    assert!(
        !text.contains(r#"FlagID="999""#),
        "unknown flags are not counted: {text}"
    );
    let evaluations = r#"flagr_requests_total{status="200",path="/api/v1/evaluation",method="POST"}"#;
    assert_eq!(value(&text, evaluations), Some(4.0), "{text}");
    let created = r#"flagr_requests_total{status="200",path="/api/v1/flags",method="POST"}"#;
    assert_eq!(value(&text, created), Some(1.0), "{text}");
    assert!(
        !text.contains("flagr_requests_buckets"),
        "no histogram unless asked: {text}"
    );
    assert!(
        !text.contains(r#"path="/metrics""#),
        "the scrape counts nothing: {text}"
    );
}

#[tokio::test]
async fn the_scrape_sits_at_the_root_outside_the_prefix_and_any_authentication() {
    let app = spawn_app_with(|config| {
        config.web_prefix = "/flagr".into();
        config.prometheus = prometheus("/internal/metrics", true);
        config.identity.basic_auth = Some(BasicAuth {
            username: "admin".into(),
            password: "s3cret".into(),
            whitelist_paths: vec![],
            exact_whitelist_paths: vec![],
        });
    })
    .await;
    let health = app.client.get(format!("{}/flagr/api/v1/health", app.base));
    assert_eq!(app.send(health).await.status, 401);

    let text = scrape(&app, "/internal/metrics").await;
    let unauthorized = r#"flagr_requests_total{status="401",path="/flagr/api/v1/health",method="GET"}"#;
    assert_eq!(value(&text, unauthorized), Some(1.0), "{text}");
    assert!(text.contains("# TYPE flagr_requests_buckets histogram\n"), "{text}");
    let labels = r#"{status="401",path="/flagr/api/v1/health",method="GET""#;
    assert_eq!(
        value(&text, &format!(r#"flagr_requests_buckets_bucket{labels},le="+Inf"}}"#)),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, &format!("flagr_requests_buckets_count{labels}}}")),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn webhook_attempts_and_the_delivery_backlog_are_exported() {
    let app = spawn_app_with(|config| config.prometheus = prometheus("/metrics", false)).await;
    let receiver = Receiver::start().await;
    let webhook = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.created"]}))
        .await;
    app.create_flag("watched").await;
    app.delivery_where(webhook, |delivery| delivery["status"] == "delivered")
        .await;

    let text = scrape(&app, "/metrics").await;
    let attempts = format!(
        r#"bunting_webhook_attempts_total{{webhook_id="{webhook}",result="delivered",environment="production"}}"#
    );
    assert_eq!(value(&text, &attempts), Some(1.0), "{text}");
    let pending =
        format!(r#"bunting_webhook_deliveries{{webhook_id="{webhook}",status="pending",environment="production"}}"#);
    assert_eq!(value(&text, &pending), Some(0.0), "{text}");
    let failed =
        format!(r#"bunting_webhook_deliveries{{webhook_id="{webhook}",status="failed",environment="production"}}"#);
    assert_eq!(value(&text, &failed), Some(0.0), "{text}");
}

/// The same flag key enabled in two environments, each with its own `on` variant.
async fn enabled_in(app: &TestApp, key: &str) -> (i64, i64) {
    let flag = app
        .post(
            "/flags",
            json!({"description": "d", "key": key, "template": "simple_boolean_flag"}),
        )
        .await
        .ok();
    let id = flag["id"].as_i64().unwrap();
    app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    (id, flag["variants"][0]["id"].as_i64().unwrap())
}

#[tokio::test]
async fn each_environment_has_its_own_series_labelled_with_its_key() {
    // The default environment's label is its key, whatever that is.
    let app = spawn_app_with(|config| {
        config.prometheus = prometheus("/metrics", false);
        config.default_environment = Some("live".into());
    })
    .await;
    app.post("/environments", json!({"key": "staging"})).await.ok();
    let staging = app.environment("staging");
    let (flag, variant) = enabled_in(&app, "checkout").await;
    let (staging_flag, staging_variant) = enabled_in(&staging, "checkout").await;
    let request = |entity: &str| json!({"flagKey": "checkout", "entityID": entity, "entityType": "user"});
    for entity in ["a", "b", "c"] {
        app.post("/evaluation", request(entity)).await.ok();
    }
    // In staging by base path, by header, and through OFREP under its base path.
    staging.post("/evaluation", request("a")).await.ok();
    let by_header = app
        .client
        .post(format!("{}/api/v1/evaluation", app.base))
        .header("X-Bunting-Environment", "staging")
        .json(&request("b"));
    assert_eq!(app.send(by_header).await.ok()["variantKey"], "on");
    let ofrep = app
        .client
        .post(format!(
            "{}/environments/staging/ofrep/v1/evaluate/flags/checkout",
            app.base
        ))
        .json(&json!({"context": {"targetingKey": "c"}}));
    assert_eq!(app.send(ofrep).await.ok()["variant"], "on");
    // Also named by its key under its own base path: still the default environment's series.
    app.environment("live").post("/evaluation", request("d")).await.ok();

    let text = scrape(&app, "/metrics").await;
    let series = |flag: i64, variant: i64, environment: &str| {
        format!(
            r#"flagr_eval_results{{EntityType="user",FlagID="{flag}",FlagKey="checkout",VariantID="{variant}",VariantKey="on",environment="{environment}"}}"#
        )
    };
    assert_eq!(value(&text, &series(flag, variant, "live")), Some(4.0), "{text}");
    let untyped =
        series(staging_flag, staging_variant, "staging").replace(r#"EntityType="user""#, r#"EntityType="null""#);
    assert_eq!(
        value(&text, &series(staging_flag, staging_variant, "staging")),
        Some(2.0),
        "{text}"
    );
    assert_eq!(value(&text, &untyped), Some(1.0), "OFREP's evaluation: {text}");
    assert!(!text.contains(r#"environment="production""#), "{text}");
    for environment in ["live", "staging"] {
        let gauge = format!(r#"bunting_flags_with_invalid_constraints{{environment="{environment}"}}"#);
        assert_eq!(value(&text, &gauge), Some(0.0), "{text}");
    }
}

#[tokio::test]
async fn webhook_series_name_the_webhooks_environment() {
    let app = spawn_app_with(|config| config.prometheus = prometheus("/metrics", false)).await;
    app.post("/environments", json!({"key": "staging"})).await.ok();
    let staging = app.environment("staging");
    let receiver = Receiver::start().await;
    let subscribe = json!({"url": receiver.url, "events": ["flag.created"]});
    let production_webhook = app.create_webhook(subscribe.clone()).await;
    let staging_webhook = staging.create_webhook(subscribe).await;
    staging.create_flag("watched").await;
    staging
        .delivery_where(staging_webhook, |delivery| delivery["status"] == "delivered")
        .await;
    app.settle().await;

    let text = scrape(&app, "/metrics").await;
    let attempts = |webhook: i64, environment: &str| {
        format!(
            r#"bunting_webhook_attempts_total{{webhook_id="{webhook}",result="delivered",environment="{environment}"}}"#
        )
    };
    assert_eq!(value(&text, &attempts(staging_webhook, "staging")), Some(1.0), "{text}");
    assert!(
        !text.contains(&format!(
            r#"bunting_webhook_attempts_total{{webhook_id="{production_webhook}""#
        )),
        "production's webhook heard nothing: {text}"
    );
    // Every environment's webhooks have their backlog, not only the default environment's.
    for (webhook, environment) in [(production_webhook, "production"), (staging_webhook, "staging")] {
        let pending = format!(
            r#"bunting_webhook_deliveries{{webhook_id="{webhook}",status="pending",environment="{environment}"}}"#
        );
        assert_eq!(value(&text, &pending), Some(0.0), "{text}");
    }
}
