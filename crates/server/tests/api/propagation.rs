//! Changes made through one instance reaching another on the same database: at once on
//! PostgreSQL (the database announces each commit), at the refresh interval otherwise, and the
//! metric of how long it took.

use std::time::Duration;

use bunting::config::PrometheusSettings;
use serde_json::json;

use crate::change_stream::Sse;
use crate::helpers::{TestApp, backend_name, spawn_app, spawn_app_on};

/// A refresh interval no test waits for: a change that arrives sooner was announced.
const NEVER: Duration = Duration::from_secs(30);

fn on_postgres(test: &str) -> bool {
    let postgres = backend_name() == "postgres";
    if !postgres {
        eprintln!("{test}: SKIPPED, PostgreSQL only (set TEST_POSTGRES_URL)");
    }
    postgres
}

/// The variant `app` gives `flag` for one user, if any.
async fn variant(app: &TestApp, flag: i64) -> Option<String> {
    let result = app
        .post("/evaluation", json!({"flagID": flag, "entityID": "user-1"}))
        .await
        .ok();
    result["variantKey"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn on_postgres_another_instance_serves_and_streams_a_change_at_once() {
    if !on_postgres("on_postgres_another_instance_serves_and_streams_a_change_at_once") {
        return;
    }
    let a = spawn_app().await;
    let b = spawn_app_on(&a, |config| config.evaluation.refresh_interval = NEVER).await;
    let mut stream = Sse::open(&b, "", None).await;
    let flag = a.create_boolean_flag("announced").await["id"].as_i64().unwrap();
    a.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    // `next` waits 10 s at most, a third of B's refresh interval.
    for expected in ["flag.created", "flag.enabled"] {
        let event = stream.next().await.unwrap();
        assert_eq!(event.event, expected);
        assert_eq!(event.json()["flag_id"], flag);
    }
    // The stream reads the log itself, so it may be a moment ahead of B's evaluation.
    let served = async {
        while variant(&b, flag).await.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("B's evaluation serves the change well before its refresh interval");
}

#[tokio::test]
async fn on_postgres_an_instance_not_listening_waits_for_its_refresh() {
    if !on_postgres("on_postgres_an_instance_not_listening_waits_for_its_refresh") {
        return;
    }
    let a = spawn_app().await;
    let b = spawn_app_on(&a, |config| {
        config.evaluation.refresh_interval = NEVER;
        config.evaluation.listen = false;
    })
    .await;
    let listening = spawn_app_on(&a, |config| config.evaluation.refresh_interval = NEVER).await;
    let flag = a.create_boolean_flag("unheard").await["id"].as_i64().unwrap();
    a.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let heard = async {
        while variant(&listening, flag).await.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), heard)
        .await
        .expect("a listening instance serves the change");
    assert_eq!(
        variant(&b, flag).await,
        None,
        "an instance with BUNTING_EVALCACHE_LISTEN=false has not read the change log yet"
    );
}

#[tokio::test]
async fn propagation_lag_counts_changes_made_through_other_instances() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a, |config| {
        config.evaluation.refresh_interval = Duration::from_millis(50);
        config.prometheus = Some(PrometheusSettings {
            path: "/metrics".into(),
            latency_histogram: false,
        });
    })
    .await;
    let count = || async {
        let reply = b.send(b.client.get(format!("{}/metrics", b.base))).await;
        let text = reply.body.as_str().unwrap().to_owned();
        let count = text
            .lines()
            .find_map(|line| line.strip_prefix("bunting_change_propagation_seconds_count "))
            .map_or(0, |value| value.parse::<u64>().unwrap());
        (count, text)
    };
    assert_eq!(count().await.0, 0, "nothing propagated yet");

    let first = a.create_flag("from-a").await["id"].as_i64().unwrap();
    let text = eventually(|| async {
        let (count, text) = count().await;
        (count == 1).then_some(text)
    })
    .await;
    assert!(
        text.contains("# TYPE bunting_change_propagation_seconds histogram\n"),
        "{text}"
    );
    assert!(
        text.contains("bunting_change_propagation_seconds_bucket{le=\"+Inf\"} 1\n"),
        "{text}"
    );
    assert!(b.get(&format!("/flags/{first}")).await.status.is_success());

    // B's own change is served from its commit, not propagated; A's next one is.
    b.put(&format!("/flags/{first}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    a.create_flag("from-a-again").await;
    eventually(|| async { (count().await.0 >= 2).then_some(()) }).await;
    assert_eq!(count().await.0, 2, "{}", count().await.1);
}

/// The value `check` gives within 5 s, asking every 20 ms.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(check: impl Fn() -> F) -> T {
    for _ in 0..250 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not within 5 s");
}
