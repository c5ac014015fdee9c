use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn variants_are_created_renamed_and_deleted() {
    let app = spawn_app().await;
    let flag = app.create_flag("colors").await["id"].as_i64().unwrap();
    let path = format!("/flags/{flag}/variants");
    let plain = app.post(&path, json!({"key": "red"})).await.ok();
    assert_eq!(plain["key"], "red");
    assert_eq!(plain["attachment"], json!({}));
    let with_attachment = app
        .post(
            &path,
            json!({"key": "blue", "attachment": {"hex": "#00f", "n": [1, 2]}}),
        )
        .await
        .ok();
    assert_eq!(with_attachment["attachment"], json!({"hex": "#00f", "n": [1, 2]}));
    let listed = app.get(&path).await.ok();
    assert_eq!(listed, json!([plain, with_attachment]));

    let blue = with_attachment["id"].as_i64().unwrap();
    let renamed = app.put(&format!("{path}/{blue}"), json!({"key": "navy"})).await.ok();
    assert_eq!(renamed["key"], "navy");
    assert_eq!(
        renamed["attachment"],
        json!({"hex": "#00f", "n": [1, 2]}),
        "a missing attachment keeps the old one"
    );
    let reattached = app
        .put(&format!("{path}/{blue}"), json!({"key": "navy", "attachment": {}}))
        .await
        .ok();
    assert_eq!(reattached["attachment"], json!({}));

    let reply = app.delete(&format!("{path}/{blue}")).await;
    assert_eq!((reply.status.as_u16(), reply.body), (200, Value::Null));
    assert_eq!(app.get(&path).await.ok(), json!([plain]));
}

#[tokio::test]
async fn variant_input_is_validated() {
    let app = spawn_app().await;
    let flag = app.create_flag("checked").await["id"].as_i64().unwrap();
    let path = format!("/flags/{flag}/variants");
    assert!(
        app.post(&path, json!({"key": "has space"}))
            .await
            .error(400)
            .contains("should have the format")
    );
    assert_eq!(app.post(&path, json!({})).await.error(422), "key in body is required");
    assert_eq!(app.post("/flags/999/variants", json!({"key": "k"})).await.status, 404);
    assert_eq!(
        app.put(&format!("{path}/4242"), json!({"key": "k"})).await.error(404),
        format!("unable to find variant 4242 in flag {flag}")
    );
    assert_eq!(app.delete(&format!("{path}/4242")).await.status, 404);
    assert_eq!(app.get(&path).await.ok(), json!([]));
}

#[tokio::test]
async fn distributions_replace_the_segment_split() {
    let app = spawn_app().await;
    let (flag, segment, control, treatment) = app.flag_with_split("split").await;
    let path = format!("/flags/{flag}/segments/{segment}/distributions");
    let first = app.get(&path).await.ok();
    assert_eq!(first.as_array().unwrap().len(), 2);
    assert_eq!(first[0]["variantID"], control);
    assert_eq!(first[0]["percent"], 50);

    let replaced = app
        .put(
            &path,
            json!({"distributions": [
                {"variantID": treatment, "variantKey": "treatment", "percent": 40},
                {"variantID": control, "variantKey": "control", "percent": 60}
            ]}),
        )
        .await
        .ok();
    let by_variant: Vec<(i64, i64)> = replaced
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["variantID"].as_i64().unwrap(), d["percent"].as_i64().unwrap()))
        .collect();
    assert_eq!(by_variant, [(control, 60), (treatment, 40)], "ordered by variant id");
    assert_ne!(
        replaced[0]["id"], first[0]["id"],
        "Flagr replaces the rows, so ids change"
    );
    assert_eq!(app.get(&path).await.ok(), replaced);
    assert_eq!(
        app.get(&format!("/flags/{flag}")).await.ok()["segments"][0]["distributions"],
        replaced
    );
}

#[tokio::test]
async fn distributions_must_sum_to_100_and_name_the_flags_variants() {
    let app = spawn_app().await;
    let (flag, segment, control, treatment) = app.flag_with_split("strict").await;
    let path = format!("/flags/{flag}/segments/{segment}/distributions");
    let put = |distributions: Value| json!({ "distributions": distributions });
    let message = app
        .put(
            &path,
            put(json!([{"variantID": control, "variantKey": "control", "percent": 60}])),
        )
        .await
        .error(400);
    assert_eq!(message, "the sum of distributions' percent 60 is not 100");
    assert_eq!(
        app.put(&path, put(json!([]))).await.error(400),
        "the sum of distributions' percent 0 is not 100"
    );
    let message = app
        .put(
            &path,
            put(json!([{"variantID": control, "variantKey": "treatment", "percent": 100}])),
        )
        .await
        .error(400);
    assert!(message.contains("does not match"), "{message}");
    let message = app
        .put(
            &path,
            put(json!([{"variantID": 4242, "variantKey": "x", "percent": 100}])),
        )
        .await
        .error(400);
    assert!(message.contains("4242"), "{message}");
    assert_eq!(
        app.put(
            &path,
            put(json!([{"variantID": control, "variantKey": "control", "percent": 101}]))
        )
        .await
        .error(422),
        "distributions.0.percent in body should be less than or equal to 100"
    );
    assert_eq!(
        app.put(&path, put(json!([{"variantID": control, "variantKey": "control"}])))
            .await
            .error(422),
        "distributions.0.percent in body is required"
    );
    assert_eq!(
        app.put(&path, json!({})).await.error(422),
        "distributions in body is required"
    );
    assert_eq!(
        app.put(
            &format!("/flags/{flag}/segments/4242/distributions"),
            put(json!([{"variantID": control, "variantKey": "control", "percent": 100}]))
        )
        .await
        .status,
        404
    );
    let unchanged = app.get(&path).await.ok();
    let percents: Vec<i64> = unchanged
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["percent"].as_i64().unwrap())
        .collect();
    assert_eq!(percents, [50, 50], "failed requests change nothing");
    let _ = treatment;
}

#[tokio::test]
async fn variant_delete_is_blocked_by_a_non_zero_distribution_and_rename_syncs_keys() {
    let app = spawn_app().await;
    let (flag, segment, control, treatment) = app.flag_with_split("guarded").await;
    let message = app
        .delete(&format!("/flags/{flag}/variants/{control}"))
        .await
        .error(400);
    assert!(
        message.starts_with(&format!("error deleting variant {control}. distribution")),
        "{message}"
    );
    assert!(message.ends_with("still has non-zero distribution 50"), "{message}");

    app.put(
        &format!("/flags/{flag}/variants/{treatment}"),
        json!({"key": "challenger"}),
    )
    .await
    .ok();
    let distributions = app
        .get(&format!("/flags/{flag}/segments/{segment}/distributions"))
        .await
        .ok();
    assert_eq!(distributions[1]["variantKey"], "challenger");

    app.put(
        &format!("/flags/{flag}/segments/{segment}/distributions"),
        json!({"distributions": [
            {"variantID": control, "variantKey": "control", "percent": 100},
            {"variantID": treatment, "variantKey": "challenger", "percent": 0}
        ]}),
    )
    .await
    .ok();
    app.delete(&format!("/flags/{flag}/variants/{treatment}")).await.ok();
    let distributions = app
        .get(&format!("/flags/{flag}/segments/{segment}/distributions"))
        .await
        .ok();
    assert_eq!(
        distributions.as_array().unwrap().len(),
        1,
        "zero-percent distributions go with their variant"
    );
    assert_eq!(distributions[0]["variantID"], control);
}

#[tokio::test]
async fn an_attachment_that_is_not_an_object_is_a_400_on_create_and_update() {
    let app = spawn_app().await;
    let flag = app.create_flag("attached").await["id"].as_i64().unwrap();
    let path = format!("/flags/{flag}/variants");
    let variant = app
        .post(&path, json!({"key": "kept", "attachment": {"color": "blue"}}))
        .await
        .ok();
    let variant_path = format!("{path}/{}", variant["id"]);
    for attachment in [json!("{}"), json!([1]), json!(5), json!(true)] {
        for reply in [
            app.post(&path, json!({"key": "k", "attachment": attachment})).await,
            app.put(&variant_path, json!({"key": "kept", "attachment": attachment}))
                .await,
        ] {
            assert_eq!(reply.status, 400, "{attachment}: {}", reply.body);
            let message = reply.body["message"].as_str().unwrap();
            assert!(
                message.starts_with("make sure JSON is properly formatted into key/value pairs."),
                "{message}"
            );
            assert_eq!(reply.body.get("code"), None, "a handler error, not a framework one");
        }
    }
    assert_eq!(app.get(&path).await.ok(), json!([variant]), "nothing changed");
}
