use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn tags_are_attached_listed_and_detached() {
    let app = spawn_app().await;
    let a = app.create_flag("a").await["id"].as_i64().unwrap();
    let b = app.create_flag("b").await["id"].as_i64().unwrap();
    let web = app
        .post(&format!("/flags/{a}/tags"), json!({"value": "web team"}))
        .await
        .ok();
    assert_eq!(web["value"], "web team");
    let shared = app
        .post(&format!("/flags/{b}/tags"), json!({"value": "web team"}))
        .await
        .ok();
    assert_eq!(shared, web, "a tag value names one tag shared by flags");
    let mobile = app
        .post(&format!("/flags/{a}/tags"), json!({"value": "mobile"}))
        .await
        .ok();
    assert_eq!(app.get(&format!("/flags/{a}/tags")).await.ok(), json!([web, mobile]));
    assert_eq!(app.get(&format!("/flags/{a}")).await.ok()["tags"], json!([web, mobile]));
    assert_eq!(app.get("/tags").await.ok(), json!([web, mobile]));
    assert_eq!(app.get("/tags?value_like=MOB").await.ok(), json!([mobile]));
    assert_eq!(app.get("/tags?limit=1&offset=1").await.ok(), json!([mobile]));

    let reply = app.delete(&format!("/flags/{a}/tags/{}", web["id"])).await;
    assert_eq!((reply.status.as_u16(), reply.body), (200, Value::Null));
    assert_eq!(app.get(&format!("/flags/{a}/tags")).await.ok(), json!([mobile]));
    assert_eq!(
        app.get(&format!("/flags/{b}/tags")).await.ok(),
        json!([web]),
        "other flags keep the tag"
    );
    assert_eq!(app.get("/tags").await.ok(), json!([web, mobile]), "the tag row stays");
}

#[tokio::test]
async fn tag_input_is_validated() {
    let app = spawn_app().await;
    let flag = app.create_flag("tagged").await["id"].as_i64().unwrap();
    let path = format!("/flags/{flag}/tags");
    assert!(
        app.post(&path, json!({"value": "no#hash"}))
            .await
            .error(400)
            .contains("should have the format")
    );
    assert!(
        app.post(&path, json!({"value": "t".repeat(64)}))
            .await
            .error(400)
            .contains("cannot be longer than 63")
    );
    assert_eq!(
        app.post(&path, json!({"value": ""})).await.error(422),
        "value in body should be at least 1 chars long"
    );
    assert_eq!(app.post("/flags/999/tags", json!({"value": "x"})).await.status, 404);
    assert_eq!(app.delete(&format!("{path}/4242")).await.status, 404);
    assert_eq!(app.get("/flags/999/tags").await.ok(), json!([]));
    assert_eq!(
        app.get("/tags").await.ok(),
        json!([]),
        "refused tags leave no rows behind"
    );
}
