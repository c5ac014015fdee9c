use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn constraints_are_created_updated_listed_and_deleted() {
    let app = spawn_app().await;
    let (flag, segment, _, _) = app.flag_with_split("targeted").await;
    let path = format!("/flags/{flag}/segments/{segment}/constraints");
    let state = app
        .post(&path, json!({"property": "state", "operator": "EQ", "value": "\"CA\""}))
        .await
        .ok();
    assert_eq!(
        (
            state["property"].clone(),
            state["operator"].clone(),
            state["value"].clone()
        ),
        (json!("state"), json!("EQ"), json!("\"CA\""))
    );
    let age = app
        .post(&path, json!({"property": "age", "operator": "GTE", "value": "18"}))
        .await
        .ok();
    assert_eq!(
        app.get(&path).await.ok(),
        json!([state, age]),
        "listed in creation order"
    );

    let id = state["id"].as_i64().unwrap();
    let updated = app
        .put(
            &format!("{path}/{id}"),
            json!({"property": "state", "operator": "NEQ", "value": "\"NY\""}),
        )
        .await
        .ok();
    assert_eq!(
        (
            updated["id"].as_i64(),
            updated["operator"].clone(),
            updated["value"].clone()
        ),
        (Some(id), json!("NEQ"), json!("\"NY\""))
    );
    assert_eq!(app.get(&path).await.ok()[0], updated);

    let reply = app.delete(&format!("{path}/{id}")).await;
    assert_eq!((reply.status.as_u16(), reply.body), (200, Value::Null));
    assert_eq!(app.get(&path).await.ok(), json!([age]));
    assert_eq!(
        app.get(&format!("/flags/{flag}")).await.ok()["segments"][0]["constraints"],
        json!([age])
    );
}

#[tokio::test]
async fn writes_accept_flagrs_seed_values() {
    let app = spawn_app().await;
    let (flag, segment, _, _) = app.flag_with_split("seeds").await;
    let path = format!("/flags/{flag}/segments/{segment}/constraints");
    let accepted = [
        ("email", "EREG", r#"".+@company\\.com""#),
        ("phone", "EREG", r#""^\\+1[0-9]{10}$""#),
        ("path", "NEREG", r#""^/admin""#),
        ("cidr", "IN", r#"["10.0.0.0/8","192.168.0.0/16"]"#),
        ("plan", "NOTIN", r#"["free"]"#),
        ("score", "LT", "4.5"),
        ("level", "LTE", "-3"),
        ("beta", "EQ", "true"),
        ("roles", "CONTAINS", r#""admin""#),
        ("roles", "NOTCONTAINS", r#""guest""#),
        ("user.address.country", "EQ", r#""NZ""#),
        ("@ts", "GT", "0"),
    ];
    for (property, operator, value) in accepted {
        let reply = app
            .post(
                &path,
                json!({"property": property, "operator": operator, "value": value}),
            )
            .await;
        assert_eq!(reply.status, 200, "{property} {operator} {value}: {}", reply.body);
    }
}

#[tokio::test]
async fn values_that_do_not_compile_are_refused_with_a_hint() {
    let app = spawn_app().await;
    let (flag, segment, _, _) = app.flag_with_split("refused").await;
    let path = format!("/flags/{flag}/segments/{segment}/constraints");
    for (operator, value) in [("EQ", "CA"), ("LIKE", "\"CA\""), ("IN", "[]"), ("IN", "[\"a\", 1]")] {
        let message = app
            .post(
                &path,
                json!({"property": "state", "operator": operator, "value": value}),
            )
            .await
            .error(400);
        assert!(message.contains("Hint"), "{operator} {value}: {message}");
    }
    assert_eq!(
        app.post(&path, json!({"property": "state", "operator": "EQ"}))
            .await
            .error(422),
        "value in body is required"
    );
    assert_eq!(
        app.post(&path, json!({"property": "", "operator": "EQ", "value": "1"}))
            .await
            .error(422),
        "property in body should be at least 1 chars long"
    );
    let good = app
        .post(&path, json!({"property": "state", "operator": "EQ", "value": "\"CA\""}))
        .await
        .ok();
    let id = good["id"].as_i64().unwrap();
    assert_eq!(
        app.put(
            &format!("{path}/{id}"),
            json!({"property": "state", "operator": "EQ", "value": "CA"})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        app.get(&path).await.ok(),
        json!([good]),
        "a refused update leaves the constraint as it was"
    );
    assert_eq!(
        app.put(
            &format!("{path}/4242"),
            json!({"property": "s", "operator": "EQ", "value": "1"})
        )
        .await
        .error(404),
        format!("unable to find constraint 4242 in segment {segment}")
    );
    assert_eq!(app.delete(&format!("{path}/4242")).await.status, 404);
    assert_eq!(
        app.post(
            &format!("/flags/{flag}/segments/4242/constraints"),
            json!({"property": "s", "operator": "EQ", "value": "1"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get(&format!("/flags/{flag}/segments/4242/constraints")).await.ok(),
        json!([])
    );
}
