use bunting::config::PrometheusSettings;
use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_on};

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

#[tokio::test]
async fn a_regex_that_does_not_compile_is_refused_on_create_and_update() {
    let app = spawn_app().await;
    let (flag, segment, _, _) = app.flag_with_split("regex").await;
    let path = format!("/flags/{flag}/segments/{segment}/constraints");
    for operator in ["EREG", "NEREG"] {
        let message = app
            .post(
                &path,
                json!({"property": "code", "operator": operator, "value": "\"(\""}),
            )
            .await
            .error(400);
        assert!(
            message.contains(r#"invalid regular expression "(": unclosed group"#),
            "{message}"
        );
    }
    let good = app
        .post(
            &path,
            json!({"property": "code", "operator": "EREG", "value": "\"^a\""}),
        )
        .await
        .ok();
    let message = app
        .put(
            &format!("{path}/{}", good["id"]),
            json!({"property": "code", "operator": "EREG", "value": "\"a**\""}),
        )
        .await
        .error(400);
    assert!(message.contains("invalid regular expression"), "{message}");
    assert_eq!(app.get(&path).await.ok(), json!([good]), "nothing stored");
}

#[tokio::test]
async fn constraints_that_can_never_match_are_accepted_and_explained() {
    let app = spawn_app().await;
    let (flag, segment, _, _) = app.flag_with_split("never").await;
    app.put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let path = format!("/flags/{flag}/segments/{segment}/constraints");
    let country = app
        .post(
            &path,
            json!({"property": "country", "operator": "IN", "value": "\"DE\""}),
        )
        .await
        .ok();
    let age = app
        .post(&path, json!({"property": "age", "operator": "GT", "value": "\"abc\""}))
        .await
        .ok();
    let problems = app.get(&format!("/constraint_problems?flag_id={flag}")).await.ok();
    assert_eq!(
        problems,
        json!([
            {
                "flagID": flag, "flagKey": "never", "segmentID": segment, "constraintID": country["id"],
                "severity": "warning",
                "message": "can never match: IN needs a JSON list of strings or of numbers, such as [\"a\",\"b\"] or [1,2], but the value is a string"
            },
            {
                "flagID": flag, "flagKey": "never", "segmentID": segment, "constraintID": age["id"],
                "severity": "warning",
                "message": "can never match: GT compares numbers (with a number in the context), but the value is a string"
            }
        ])
    );
    let result = app
        .post(
            "/evaluation",
            json!({"flagID": flag, "entityID": "e", "entityContext": {"country": "DE", "age": 30}, "enableDebug": true}),
        )
        .await
        .ok();
    let msg = result["evalDebugLog"]["segmentDebugLogs"][0]["msg"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        msg.contains(&format!(
            "constraint {} (country IN \"DE\") can never match: IN needs",
            country["id"]
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("constraint {} (age GT \"abc\") can never match", age["id"])),
        "{msg}"
    );
    assert_eq!(app.get("/constraint_problems?flag_id=999").await.ok(), json!([]));
}

#[tokio::test]
async fn a_stored_regex_that_does_not_compile_is_surfaced_not_dropped_silently() {
    let writer = spawn_app().await;
    let (flag, segment, _, _) = writer.flag_with_split("legacy").await;
    writer
        .put(&format!("/flags/{flag}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    let path = format!("/flags/{flag}/segments/{segment}/constraints");
    let constraint = writer
        .post(
            &path,
            json!({"property": "code", "operator": "EREG", "value": "\"zz-legacy\""}),
        )
        .await
        .ok();
    // As an older version, which did not compile patterns on write, stored it.
    writer
        .execute_sql("UPDATE bunting_flags SET document = REPLACE(document, 'zz-legacy', '(')")
        .await;
    let app = spawn_app_on(&writer, |config| {
        config.prometheus = Some(PrometheusSettings {
            path: "/metrics".into(),
            latency_histogram: false,
        })
    })
    .await;
    assert_eq!(
        app.get(&path).await.ok()[0]["value"],
        "\"(\"",
        "the stored value is read back"
    );
    let problems = app.get("/constraint_problems").await.ok();
    assert_eq!(problems[0]["constraintID"], constraint["id"]);
    assert_eq!(problems[0]["severity"], "error");
    assert_eq!(
        problems[0]["message"],
        "does not compile: invalid regular expression \"(\": unclosed group"
    );
    let metrics = app.send(app.client.get(format!("{}/metrics", app.base))).await;
    let text = metrics.body.as_str().unwrap().to_owned();
    assert!(
        text.lines()
            .any(|line| line == r#"bunting_flags_with_invalid_constraints{environment="production"} 1"#),
        "{text}"
    );
    // The flag still evaluates; only that segment never matches, and the debug log says why.
    let result = app
        .post(
            "/evaluation",
            json!({"flagID": flag, "entityID": "e", "entityContext": {"code": "("}, "enableDebug": true}),
        )
        .await
        .ok();
    assert_eq!(result["flagKey"], "legacy");
    let msg = result["evalDebugLog"]["segmentDebugLogs"][0]["msg"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains("does not compile: invalid regular expression"), "{msg}");
}
