use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_change_adds_one_snapshot_of_the_whole_flag() {
    let app = spawn_app().await;
    assert_eq!(app.max_id().await, 0);
    let id = app.create_flag("snap").await["id"].as_i64().unwrap();
    assert_eq!(app.max_id().await, 1);
    app.put(&format!("/flags/{id}"), json!({"description": "second"}))
        .await
        .ok();
    app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    app.delete(&format!("/flags/{id}")).await.ok();
    app.put(&format!("/flags/{id}/restore"), json!(null)).await.ok();
    assert_eq!(app.max_id().await, 5);

    let snapshots = app.get(&format!("/flags/{id}/snapshots")).await.ok();
    let ids: Vec<i64> = snapshots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [5, 4, 3, 2, 1], "newest first by default");
    let oldest = &snapshots[4];
    assert_eq!(oldest["flag"]["description"], "snap flag");
    assert_eq!(snapshots[3]["flag"]["description"], "second");
    assert_eq!(snapshots[2]["flag"]["enabled"], true);
    let updated_at = oldest["updatedAt"].as_str().unwrap();
    assert!(
        updated_at.ends_with('Z') && updated_at.len() == "2026-01-01T00:00:00Z".len(),
        "{updated_at}"
    );
    assert_eq!(
        oldest["updatedBy"], "anonymous",
        "no identity configured: the change is anonymous's, never nobody's"
    );

    let ascending = app
        .get(&format!("/flags/{id}/snapshots?sort=ASC&limit=2&offset=1"))
        .await
        .ok();
    let ids: Vec<i64> = ascending
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3]);
    assert_eq!(
        app.get(&format!("/flags/{id}/snapshots?sort=sideways")).await.status,
        422
    );
    assert_eq!(app.get("/flags/999/snapshots").await.ok(), json!([]));
}

#[tokio::test]
async fn duplicate_snapshots_the_clone_only() {
    let app = spawn_app().await;
    let source = app.create_flag("original").await["id"].as_i64().unwrap();
    let clone = app.post(&format!("/flags/{source}/duplicate"), json!({})).await.ok()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.get(&format!("/flags/{source}/snapshots"))
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let clone_snapshots = app.get(&format!("/flags/{clone}/snapshots")).await.ok();
    assert_eq!(clone_snapshots.as_array().unwrap().len(), 1);
    assert_eq!(clone_snapshots[0]["flag"]["description"], "original flag (cloned)");
    assert_eq!(app.max_id().await, 2);
}

#[tokio::test]
async fn the_actor_comes_from_the_configured_user_header() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.identity.user_header = Some("X-Email".into());
    })
    .await;
    let request = app
        .client
        .post(format!("{}/api/v1/flags", app.base))
        .header("X-Email", "alice@example.com")
        .json(&json!({"description": "d", "key": "owned"}));
    let flag = app.send(request).await.ok();
    assert_eq!(flag["createdBy"], "alice@example.com");
    assert_eq!(flag["updatedBy"], "alice@example.com");
    let snapshots = app.get(&format!("/flags/{}/snapshots", flag["id"])).await.ok();
    assert_eq!(snapshots[0]["updatedBy"], "alice@example.com");
}
