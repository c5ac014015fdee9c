//! `GET /api/v1/openapi.json`: the document parses, is OpenAPI 3.1, and names exactly the routes
//! and methods the router serves, so the two cannot drift apart silently. (CI also fuzzes the
//! server against it with schemathesis: `.ci/schemathesis`.)

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH];

/// Every path the HTTP modules register with `.route("...")`, read from their source: the
/// router itself cannot list its routes.
fn registered_paths() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut paths = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for call in source.split(".route(").skip(1) {
            let call = call.trim_start();
            // `.route(&path, ...)` is the metrics scrape, outside the API and configurable.
            if let Some(literal) = call.strip_prefix('"') {
                paths.insert(literal[..literal.find('"').unwrap()].to_owned());
            }
        }
    }
    paths
}

async fn document(app: &TestApp) -> Value {
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.headers["content-type"], "application/json");
    let document = reply.ok();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );
    document
}

/// The path with each `{param}` replaced by a value of its type.
fn concrete(path: &str) -> String {
    path.replace("{deliveryID}", "5f0c8a52-3f3e-4f8e-9d0a-7f5c2b1e9a10")
        .split('/')
        .map(|segment| if segment.starts_with('{') { "1" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_document_names_every_route_the_router_serves_and_no_other() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert_eq!(document["servers"][0]["url"], "/api/v1");
    let paths = document["paths"].as_object().unwrap();
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(documented, registered_paths());

    for (path, item) in paths {
        for method in METHODS {
            // A live stream never ends by itself: ask for one that ends at once (a resume
            // point the log never had).
            let target = match path.as_str() {
                "/changes/stream" => format!("{}?after=999999", concrete(path)),
                _ => concrete(path),
            };
            let reply = app.raw(method.clone(), &target, "").await;
            let served = reply.status != 405;
            let named = item.get(method.as_str().to_lowercase()).is_some();
            assert_eq!(served, named, "{method} {path}: {} {}", reply.status, reply.body);
            if served {
                let message = reply.body["message"].as_str().unwrap_or_default();
                assert!(!message.contains("was not found"), "{method} {path}: {message}");
            }
        }
    }
}

#[tokio::test]
async fn under_a_web_prefix_the_document_points_clients_at_it() {
    let app = spawn_app_with(|config| config.web_prefix = "/flagr".into()).await;
    let document = document(&TestApp::at(&format!("{}/flagr", app.base))).await;
    assert_eq!(document["servers"][0]["url"], "/flagr/api/v1");
}

/// The enums that name event types, event groups and component types list every one the server
/// sends (schemathesis found a group the document did not name).
#[tokio::test]
async fn the_documents_enums_name_every_event_and_group() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let enum_of = |pointer: &str| -> BTreeSet<String> {
        document
            .pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{pointer} is an enum"))
            .iter()
            .map(|value| value.as_str().unwrap().to_owned())
            .collect()
    };
    let groups = enum_of(
        "/paths/~1webhook_events/get/responses/200/content/application~1json/schema/items/properties/group/enum",
    );
    let events = enum_of("/components/schemas/eventType/enum");
    let catalogue = app.get("/webhook_events").await.ok();
    for event in catalogue.as_array().unwrap() {
        let group = event["group"].as_str().unwrap();
        assert!(groups.contains(group), "group {group} is not in the document");
        let name = event["name"].as_str().unwrap();
        assert!(
            events.contains(name) || name == "webhook.test",
            "event {name} is not in the document"
        );
    }
    let components = enum_of("/components/schemas/component/properties/type/enum");
    assert!(
        components.contains("token") && components.contains("environment"),
        "{components:?}"
    );
}
