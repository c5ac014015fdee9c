use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn create_returns_a_disabled_fully_loaded_flag() {
    let app = spawn_app().await;
    let flag = app
        .post(
            "/flags",
            json!({"description": "New checkout", "key": "checkout", "enabled": true}),
        )
        .await
        .ok();
    assert_eq!(flag["key"], "checkout");
    assert_eq!(flag["description"], "New checkout");
    assert_eq!(flag["enabled"], false);
    assert_eq!(flag["dataRecordsEnabled"], false);
    assert_eq!(flag["segments"], json!([]));
    assert_eq!(flag["variants"], json!([]));
    assert_eq!(flag["tags"], json!([]));
    assert!(flag.get("entityType").is_none() && flag.get("notes").is_none());
    let updated_at = flag["updatedAt"].as_str().unwrap();
    assert_eq!(updated_at.len(), "2026-11-22T10:00:00.123Z".len(), "{updated_at}");
    let fetched = app.get(&format!("/flags/{}", flag["id"])).await.ok();
    assert_eq!(fetched, flag);
}

#[tokio::test]
async fn empty_key_gets_a_random_flagr_key() {
    let app = spawn_app().await;
    let flag = app.post("/flags", json!({"description": "no key"})).await.ok();
    let key = flag["key"].as_str().unwrap();
    assert_eq!(key.len(), 17);
    assert!(key.starts_with('k'));
    assert!(bunting_core::validation::is_random_key(key), "{key}");
}

#[tokio::test]
async fn boolean_template_creates_on_variant_and_full_rollout() {
    let app = spawn_app().await;
    let flag = app
        .post(
            "/flags",
            json!({"description": "kill switch", "template": "simple_boolean_flag"}),
        )
        .await
        .ok();
    assert_eq!(flag["variants"][0]["key"], "on");
    assert_eq!(flag["variants"][0]["attachment"], json!({}));
    let segment = &flag["segments"][0];
    assert_eq!(segment["rank"], 999);
    assert_eq!(segment["rolloutPercent"], 100);
    assert_eq!(segment["distributions"][0]["percent"], 100);
    assert_eq!(segment["distributions"][0]["variantKey"], "on");
    let message = app
        .post("/flags", json!({"description": "x", "template": "fancy"}))
        .await
        .error(400);
    assert_eq!(message, "unknown value for template: fancy");
}

#[tokio::test]
async fn keys_are_validated_and_unique_even_after_delete() {
    let app = spawn_app().await;
    let message = app
        .post("/flags", json!({"description": "d", "key": "has space"}))
        .await
        .error(400);
    assert!(
        message.starts_with(
            "cannot create flag. cannot create flag due to invalid key. reason: key:has space should have the format"
        ),
        "{message}"
    );
    let long = "k".repeat(64);
    let message = app
        .post("/flags", json!({"description": "d", "key": long}))
        .await
        .error(400);
    assert!(message.contains("cannot be longer than 63"), "{message}");
    let flag = app.create_flag("taken").await;
    assert_eq!(
        app.post("/flags", json!({"description": "d", "key": "taken"}))
            .await
            .error(400),
        "cannot create flag. flag key already exists"
    );
    app.delete(&format!("/flags/{}", flag["id"])).await.ok();
    assert_eq!(
        app.post("/flags", json!({"description": "d", "key": "taken"}))
            .await
            .error(400),
        "cannot create flag. flag key already exists"
    );
}

#[tokio::test]
async fn put_updates_present_fields_and_ignores_enabled() {
    let app = spawn_app().await;
    let id = app.create_flag("put_me").await["id"].as_i64().unwrap();
    let flag = app
        .put(
            &format!("/flags/{id}"),
            json!({"description": "changed", "dataRecordsEnabled": true, "entityType": "user", "notes": "# Notes", "enabled": true}),
        )
        .await
        .ok();
    assert_eq!(flag["description"], "changed");
    assert_eq!(flag["dataRecordsEnabled"], true);
    assert_eq!(flag["entityType"], "user");
    assert_eq!(flag["notes"], "# Notes");
    assert_eq!(flag["enabled"], false);
    assert_eq!(flag["key"], "put_me");
    assert_eq!(app.get("/flags/entity_types").await.ok(), json!(["user"]));

    let renamed = app.put(&format!("/flags/{id}"), json!({"key": ""})).await.ok();
    assert!(bunting_core::validation::is_random_key(
        renamed["key"].as_str().unwrap()
    ));
    app.create_flag("other").await;
    assert!(
        app.put(&format!("/flags/{id}"), json!({"key": "other"}))
            .await
            .error(400)
            .contains("already exists")
    );
    assert!(
        app.put(&format!("/flags/{id}"), json!({"key": "bad key"}))
            .await
            .error(400)
            .contains("should have the format")
    );
    assert!(
        app.put(&format!("/flags/{id}"), json!({"entityType": "bad type"}))
            .await
            .error(400)
            .contains("entityType")
    );
    let message = app
        .put(&format!("/flags/{id}"), json!({"description": ""}))
        .await
        .error(422);
    assert_eq!(message, "description in body should be at least 1 chars long");
    assert_eq!(
        app.put("/flags/999", json!({"description": "x"})).await.error(404),
        "unable to find flag 999 in the database"
    );
}

#[tokio::test]
async fn enabled_switch_returns_flag_without_children() {
    let app = spawn_app().await;
    let id = app
        .post("/flags", json!({"description": "d", "template": "simple_boolean_flag"}))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    app.post(&format!("/flags/{id}/tags"), json!({"value": "team"}))
        .await
        .ok();
    let flag = app
        .put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
        .await
        .ok();
    assert_eq!(flag["enabled"], true);
    assert_eq!(
        (flag["segments"].clone(), flag["variants"].clone(), flag["tags"].clone()),
        (json!([]), json!([]), json!([]))
    );
    assert_eq!(app.get(&format!("/flags/{id}")).await.ok()["enabled"], true);
    assert_eq!(
        app.put(&format!("/flags/{id}/enabled"), json!({})).await.error(422),
        "enabled in body is required"
    );
    assert_eq!(
        app.put(&format!("/flags/{id}/enabled"), json!({"enabled": "yes"}))
            .await
            .error(400),
        "parsing body body from \"\" failed, because enabled in body must be of type boolean: \"string\""
    );
}

#[tokio::test]
async fn delete_hides_the_flag_and_restore_brings_it_back() {
    let app = spawn_app().await;
    let id = app
        .post(
            "/flags",
            json!({"description": "d", "key": "gone", "template": "simple_boolean_flag"}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    app.post(&format!("/flags/{id}/tags"), json!({"value": "keep"}))
        .await
        .ok();
    let reply = app.delete(&format!("/flags/{id}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, serde_json::Value::Null);
    assert_eq!(
        app.get(&format!("/flags/{id}")).await.error(404),
        format!("unable to find flag {id} in the database")
    );
    assert_eq!(
        app.delete(&format!("/flags/{id}")).await.error(404),
        format!("unable to find flag {id} in the database")
    );
    assert_eq!(
        app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
            .await
            .status,
        404
    );
    assert_eq!(app.get("/flags").await.ok(), json!([]));
    let deleted = app.get("/flags?deleted=true").await.ok();
    assert_eq!(deleted.as_array().unwrap().len(), 1);

    let restored = app.put(&format!("/flags/{id}/restore"), json!(null)).await.ok();
    assert_eq!(restored["key"], "gone");
    assert_eq!(restored["tags"][0]["value"], "keep");
    assert_eq!(restored["segments"], json!([]));
    assert_eq!(restored["variants"], json!([]));
    let full = app.get(&format!("/flags/{id}")).await.ok();
    assert_eq!(full["segments"].as_array().unwrap().len(), 1);
    assert_eq!(app.put("/flags/4242/restore", json!(null)).await.status, 404);
}

#[tokio::test]
async fn duplicate_copies_everything_under_new_ids() {
    let app = spawn_app().await;
    let (id, segment, _, _) = app.flag_with_split("source").await;
    app.post(
        &format!("/flags/{id}/segments/{segment}/constraints"),
        json!({"property": "state", "operator": "EQ", "value": "\"CA\""}),
    )
    .await
    .ok();
    app.post(&format!("/flags/{id}/tags"), json!({"value": "shared"}))
        .await
        .ok();
    let source = app.get(&format!("/flags/{id}")).await.ok();
    let clone = app
        .request(Method::POST, &format!("/flags/{id}/duplicate"), None)
        .await
        .ok();
    assert_ne!(clone["id"], source["id"]);
    assert!(bunting_core::validation::is_random_key(clone["key"].as_str().unwrap()));
    assert_eq!(clone["description"], "source flag (cloned)");
    assert_eq!(clone["tags"], source["tags"]);
    assert_eq!(clone["segments"][0]["constraints"][0]["value"], "\"CA\"");
    assert_ne!(clone["segments"][0]["id"], source["segments"][0]["id"]);
    let clone_variants: Vec<i64> = clone["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    for distribution in clone["segments"][0]["distributions"].as_array().unwrap() {
        assert!(clone_variants.contains(&distribution["variantID"].as_i64().unwrap()));
    }
    let named = app
        .post(
            &format!("/flags/{id}/duplicate"),
            json!({"key": "copy", "description": "a copy"}),
        )
        .await
        .ok();
    assert_eq!(
        (named["key"].clone(), named["description"].clone()),
        (json!("copy"), json!("a copy"))
    );
    assert_eq!(
        app.post(&format!("/flags/{id}/duplicate"), json!({"key": "copy"}))
            .await
            .status,
        400
    );
    assert_eq!(
        app.post(&format!("/flags/{id}/duplicate"), json!({"key": " spaces invalid "}))
            .await
            .status,
        400
    );
    assert_eq!(app.post("/flags/999/duplicate", json!({})).await.status, 404);
    app.delete(&format!("/flags/{id}")).await.ok();
    assert_eq!(app.post(&format!("/flags/{id}/duplicate"), json!({})).await.status, 404);
}

#[tokio::test]
async fn list_filters_like_flagr() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/flags",
            json!({"description": "Checkout Redesign", "key": "a", "template": "simple_boolean_flag"}),
        )
        .await
        .ok();
    let b = app
        .post("/flags", json!({"description": "search", "key": "b"}))
        .await
        .ok();
    let c = app
        .post("/flags", json!({"description": "checkout v2", "key": "c"}))
        .await
        .ok();
    app.put(&format!("/flags/{}/enabled", b["id"]), json!({"enabled": true}))
        .await
        .ok();
    app.post(&format!("/flags/{}/tags", a["id"]), json!({"value": "web"}))
        .await
        .ok();
    app.post(&format!("/flags/{}/tags", c["id"]), json!({"value": "mobile"}))
        .await
        .ok();
    let keys = |flags: serde_json::Value| -> Vec<String> {
        flags
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys(app.get("/flags").await.ok()), ["a", "b", "c"]);
    assert_eq!(keys(app.get("/flags?enabled=true").await.ok()), ["b"]);
    assert_eq!(keys(app.get("/flags?enabled=false").await.ok()), ["a", "c"]);
    assert_eq!(keys(app.get("/flags?description=search").await.ok()), ["b"]);
    assert_eq!(keys(app.get("/flags?description_like=CHECKOUT").await.ok()), ["a", "c"]);
    assert_eq!(keys(app.get("/flags?key=c").await.ok()), ["c"]);
    assert_eq!(keys(app.get("/flags?tags=web,mobile").await.ok()), ["a", "c"]);
    assert_eq!(keys(app.get("/flags?limit=1&offset=1").await.ok()), ["b"]);
    let plain = app.get("/flags?key=a").await.ok();
    assert_eq!(plain[0]["segments"], json!([]));
    assert_eq!(plain[0]["tags"][0]["value"], "web");
    let preloaded = app.get("/flags?key=a&preload=true").await.ok();
    assert_eq!(preloaded[0]["segments"].as_array().unwrap().len(), 1);
    assert_eq!(preloaded[0]["variants"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/flags?enabled=maybe").await.error(422),
        "enabled in query must be of type boolean: \"maybe\""
    );
    assert_eq!(app.get("/flags?limit=-1").await.status, 422);
}

/// A page of a filtered list is that slice of the whole filtered list, in id order, with the same
/// flags as the whole list shows them, whichever filters pick it (the database applies some,
/// the server the others).
#[tokio::test]
async fn pages_of_filtered_lists_are_slices_of_the_whole_list() {
    let app = spawn_app().await;
    for n in 0..14 {
        let description = if n % 3 == 0 {
            format!("Checkout {n}")
        } else {
            format!("search {n}")
        };
        let flag = app
            .post("/flags", json!({"description": description, "key": format!("k{n:02}")}))
            .await
            .ok();
        let id = &flag["id"];
        if n % 2 == 0 {
            app.put(&format!("/flags/{id}/enabled"), json!({"enabled": true}))
                .await
                .ok();
        }
        if n % 4 == 1 {
            app.post(&format!("/flags/{id}/tags"), json!({"value": "web"}))
                .await
                .ok();
        }
        if n % 5 == 2 {
            app.post(&format!("/flags/{id}/tags"), json!({"value": "mobile"}))
                .await
                .ok();
        }
        if n % 7 == 6 {
            app.delete(&format!("/flags/{id}")).await.ok();
        }
    }
    let all = app.get("/flags").await.ok().as_array().unwrap().clone();
    let deleted = app.get("/flags?deleted=true").await.ok().as_array().unwrap().clone();
    assert_eq!(all.len(), 12);
    assert_eq!(deleted.len(), 2);
    let tagged = |flag: &serde_json::Value, values: &[&str]| {
        flag["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tag| values.contains(&tag["value"].as_str().unwrap()))
    };
    let description = |flag: &serde_json::Value| flag["description"].as_str().unwrap().to_owned();
    type Select = Box<dyn Fn(&serde_json::Value) -> bool>;
    let filters: Vec<(&str, &[serde_json::Value], Select)> = vec![
        ("", &all, Box::new(|_| true)),
        ("deleted=true", &deleted, Box::new(|_| true)),
        ("key=k03", &all, Box::new(|f| f["key"] == "k03")),
        ("key=k06&deleted=true", &deleted, Box::new(|f| f["key"] == "k06")),
        ("enabled=true", &all, Box::new(|f| f["enabled"] == true)),
        (
            "enabled=false&deleted=true",
            &deleted,
            Box::new(|f| f["enabled"] == false),
        ),
        (
            "description=search%204",
            &all,
            Box::new(move |f| description(f) == "search 4"),
        ),
        (
            "description_like=CHECK",
            &all,
            Box::new(move |f| description(f).to_lowercase().contains("check")),
        ),
        (
            "tags=web,mobile",
            &all,
            Box::new(move |f| tagged(f, &["web", "mobile"])),
        ),
        (
            "tags=web&enabled=false&description_like=Search",
            &all,
            Box::new(move |f| tagged(f, &["web"]) && f["enabled"] == false && description(f).contains("search")),
        ),
    ];
    for (filter, list, select) in &filters {
        let selected: Vec<_> = list.iter().filter(|flag| select(flag)).cloned().collect();
        assert!(!selected.is_empty(), "{filter} selects something");
        assert_eq!(
            app.get(&format!("/flags?{filter}")).await.ok(),
            json!(selected),
            "{filter}"
        );
        for (limit, offset) in [(1, 0), (2, 1), (3, selected.len() - 1), (5, selected.len()), (0, 0)] {
            let page: Vec<_> = selected.iter().skip(offset).take(limit).cloned().collect();
            assert_eq!(
                app.get(&format!("/flags?{filter}&limit={limit}&offset={offset}"))
                    .await
                    .ok(),
                json!(page),
                "{filter} limit {limit} offset {offset}"
            );
        }
        let rest: Vec<_> = selected.iter().skip(1).cloned().collect();
        assert_eq!(
            app.get(&format!("/flags?{filter}&offset=1")).await.ok(),
            json!(rest),
            "{filter} offset 1"
        );
    }
    let preloaded = app.get("/flags?preload=true").await.ok();
    assert_eq!(
        app.get("/flags?preload=true&tags=web&limit=1&offset=1").await.ok(),
        json!([preloaded
            .as_array()
            .unwrap()
            .iter()
            .filter(|flag| tagged(flag, &["web"]))
            .nth(1)
            .unwrap()])
    );
}

#[tokio::test]
async fn health_is_ok() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.ok(), json!({"status": "OK"}));
}
