use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn ids(segments: &Value) -> Vec<i64> {
    segments
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn segments_are_created_at_rank_999_updated_and_deleted() {
    let app = spawn_app().await;
    let flag = app.create_flag("segmented").await["id"].as_i64().unwrap();
    let segment = app
        .post(
            &format!("/flags/{flag}/segments"),
            json!({"description": "beta users", "rolloutPercent": 30}),
        )
        .await
        .ok();
    assert_eq!(segment["description"], "beta users");
    assert_eq!(segment["rolloutPercent"], 30);
    assert_eq!(segment["rank"], 999);
    assert_eq!(segment["constraints"], json!([]));
    assert_eq!(segment["distributions"], json!([]));
    let id = segment["id"].as_i64().unwrap();

    let updated = app
        .put(
            &format!("/flags/{flag}/segments/{id}"),
            json!({"description": "gamma", "rolloutPercent": 100}),
        )
        .await
        .ok();
    assert_eq!(
        (updated["description"].clone(), updated["rolloutPercent"].clone()),
        (json!("gamma"), json!(100))
    );
    assert_eq!(app.get(&format!("/flags/{flag}/segments")).await.ok()[0], updated);

    let reply = app.delete(&format!("/flags/{flag}/segments/{id}")).await;
    assert_eq!((reply.status.as_u16(), reply.body), (200, Value::Null));
    assert_eq!(app.get(&format!("/flags/{flag}/segments")).await.ok(), json!([]));
    assert_eq!(app.get(&format!("/flags/{flag}")).await.ok()["segments"], json!([]));
}

#[tokio::test]
async fn segment_input_is_validated() {
    let app = spawn_app().await;
    let flag = app.create_flag("validated").await["id"].as_i64().unwrap();
    let path = format!("/flags/{flag}/segments");
    assert_eq!(
        app.post(&path, json!({"description": "d", "rolloutPercent": 101}))
            .await
            .error(422),
        "rolloutPercent in body should be less than or equal to 100"
    );
    assert_eq!(
        app.post(&path, json!({"description": "d", "rolloutPercent": -1}))
            .await
            .error(422),
        "rolloutPercent in body should be greater than or equal to 0"
    );
    assert_eq!(
        app.post(&path, json!({"description": "d"})).await.error(422),
        "rolloutPercent in body is required"
    );
    assert_eq!(
        app.post(&path, json!({"description": "", "rolloutPercent": 5}))
            .await
            .error(422),
        "description in body should be at least 1 chars long"
    );
    assert_eq!(
        app.post(&path, json!({"description": "d", "rolloutPercent": "5"}))
            .await
            .error(400),
        "parsing body body from \"\" failed, because rolloutPercent in body must be of type integer: \"string\""
    );
    assert_eq!(
        app.post(&path, json!({"description": "d", "rolloutPercent": 5.5}))
            .await
            .error(400),
        "parsing body body from \"\" failed, because rolloutPercent in body must be of type integer: \"number\""
    );
    assert_eq!(
        app.post("/flags/999/segments", json!({"description": "d", "rolloutPercent": 5}))
            .await
            .status,
        404
    );
    assert_eq!(
        app.put(
            &format!("{path}/4242"),
            json!({"description": "d", "rolloutPercent": 5})
        )
        .await
        .error(404),
        format!("unable to find segment 4242 in flag {flag}")
    );
    assert_eq!(app.delete(&format!("{path}/4242")).await.status, 404);
    assert_eq!(app.get(&path).await.ok(), json!([]));
}

#[tokio::test]
async fn reorder_ranks_listed_segments_from_zero() {
    let app = spawn_app().await;
    let flag = app.create_flag("ordered").await["id"].as_i64().unwrap();
    let mut created = Vec::new();
    for name in ["first", "second", "third"] {
        let segment = app
            .post(
                &format!("/flags/{flag}/segments"),
                json!({"description": name, "rolloutPercent": 100}),
            )
            .await
            .ok();
        created.push(segment["id"].as_i64().unwrap());
    }
    let (a, b, c) = (created[0], created[1], created[2]);
    assert_eq!(ids(&app.get(&format!("/flags/{flag}/segments")).await.ok()), [a, b, c]);

    let reply = app
        .put(
            &format!("/flags/{flag}/segments/reorder"),
            json!({"segmentIDs": [c, a]}),
        )
        .await;
    assert_eq!((reply.status.as_u16(), reply.body), (200, Value::Null));
    let segments = app.get(&format!("/flags/{flag}/segments")).await.ok();
    assert_eq!(ids(&segments), [c, a, b]);
    let ranks: Vec<i64> = segments
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rank"].as_i64().unwrap())
        .collect();
    assert_eq!(ranks, [0, 1, 999]);

    let path = format!("/flags/{flag}/segments/reorder");
    assert_eq!(app.put(&path, json!({"segmentIDs": [a, 4242]})).await.status, 404);
    assert_eq!(
        app.put(&path, json!({"segmentIDs": []})).await.error(422),
        "segmentIDs in body should have at least 1 items"
    );
    assert_eq!(
        app.put(&path, json!({})).await.error(422),
        "segmentIDs in body is required"
    );
    assert_eq!(
        app.put(&path, json!({"segmentIDs": [0]})).await.error(422),
        "segmentIDs.0 in body should be greater than or equal to 1"
    );
    assert_eq!(
        ids(&app.get(&format!("/flags/{flag}/segments")).await.ok()),
        [c, a, b],
        "failed reorders change nothing"
    );
}

#[tokio::test]
async fn segments_of_another_flag_are_not_reachable() {
    let app = spawn_app().await;
    let (owner, segment, _, _) = app.flag_with_split("owner").await;
    let other = app.create_flag("other").await["id"].as_i64().unwrap();
    assert_eq!(
        app.put(
            &format!("/flags/{other}/segments/{segment}"),
            json!({"description": "x", "rolloutPercent": 1})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/flags/{other}/segments/{segment}")).await.status,
        404
    );
    assert_eq!(
        app.put(
            &format!("/flags/{other}/segments/reorder"),
            json!({"segmentIDs": [segment]})
        )
        .await
        .status,
        404
    );
    let untouched = app.get(&format!("/flags/{owner}/segments")).await.ok();
    assert_eq!(untouched[0]["description"], "everyone");
}
