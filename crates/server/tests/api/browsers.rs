//! What browsers may do from other origins: evaluation keeps Flagr's permissive CORS, while
//! management answers other origins only when `FLAGR_CORS_ALLOWED_ORIGINS` lists them
//! explicitly, and refuses their writes with a 403 that says how to allow them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app_with};

const FOREIGN: &str = "https://evil.example";
const LISTED: &str = "https://admin.example";

/// Where a request comes from.
#[derive(Debug, Clone, Copy)]
enum From {
    Foreign,
    Listed,
    SameOrigin,
    NoOrigin,
}

async fn send(app: &TestApp, method: Method, path: &str, body: Option<Value>, from: From) -> Reply {
    let mut request = app.client.request(method, format!("{}/api/v1{path}", app.base));
    let origin = match from {
        From::Foreign => Some(FOREIGN.to_owned()),
        From::Listed => Some(LISTED.to_owned()),
        From::SameOrigin => Some(app.base.clone()),
        From::NoOrigin => None,
    };
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

async fn preflight(app: &TestApp, path: &str, from: From) -> Reply {
    let origin = if matches!(from, From::Listed) { LISTED } else { FOREIGN };
    app.send(
        app.client
            .request(Method::OPTIONS, format!("{}/api/v1{path}", app.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type"),
    )
    .await
}

/// The CORS answer: the reflected origin and whether credentials are allowed.
fn cors(reply: &Reply) -> (Option<&str>, bool) {
    let header = |name| reply.headers.get(name).and_then(|value| value.to_str().ok());
    (
        header("access-control-allow-origin"),
        header("access-control-allow-credentials") == Some("true"),
    )
}

async fn listing_app() -> TestApp {
    spawn_app_with(|config| {
        let cors = config.cors.as_mut().expect("CORS is on by default");
        cors.allowed_origins = vec!["*".into(), LISTED.into()];
    })
    .await
}

#[tokio::test]
async fn evaluation_answers_every_origin_as_flagr_does() {
    let app = listing_app().await;
    let body = json!({"flagKey": "missing", "entityContext": {}});
    for from in [From::Foreign, From::Listed, From::SameOrigin, From::NoOrigin] {
        let reply = send(&app, Method::POST, "/evaluation", Some(body.clone()), from).await;
        assert_eq!(reply.status, 200, "{from:?}: {}", reply.body);
        match from {
            From::Foreign => assert_eq!(cors(&reply), (Some(FOREIGN), true)),
            From::Listed => assert_eq!(cors(&reply), (Some(LISTED), true)),
            From::SameOrigin | From::NoOrigin => {}
        }
    }
    for (path, from) in [
        ("/evaluation", From::Foreign),
        ("/evaluation/batch", From::Foreign),
        ("/ofrep/v1/evaluate/flags", From::Foreign),
        ("/evaluation", From::Listed),
    ] {
        let reply = preflight(&app, path, from).await;
        assert_eq!(reply.status, 204, "{path} {from:?}");
        assert!(cors(&reply).1, "{path} {from:?}");
    }
    let health = send(&app, Method::GET, "/health", None, From::Foreign).await;
    assert_eq!(cors(&health), (Some(FOREIGN), true));
}

#[tokio::test]
async fn management_answers_only_its_own_origin_and_listed_ones() {
    let app = listing_app().await;
    let flag = |key: &str| json!({"key": key, "description": key});

    // A foreign page: its write is refused and changes nothing, its preflight too, and a read
    // gets no CORS answer, so the browser keeps the response from the page.
    let refused = send(&app, Method::POST, "/flags", Some(flag("foreign")), From::Foreign).await;
    assert_eq!(cors(&refused), (None, false));
    let message = refused.error(403);
    for part in [FOREIGN, "FLAGR_CORS_ALLOWED_ORIGINS", "\"*\" does not count"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    let reply = preflight(&app, "/webhooks", From::Foreign).await;
    assert_eq!((reply.status.as_u16(), cors(&reply)), (403, (None, false)));
    let read = send(&app, Method::GET, "/flags", None, From::Foreign).await;
    assert_eq!((read.status.as_u16(), cors(&read)), (200, (None, false)));
    assert_eq!(read.body, json!([]), "the refused write created nothing");

    // A listed origin: Flagr's CORS, credentials included.
    let reply = preflight(&app, "/webhooks", From::Listed).await;
    assert_eq!((reply.status.as_u16(), cors(&reply)), (204, (Some(LISTED), true)));
    let listed = send(&app, Method::POST, "/flags", Some(flag("listed")), From::Listed).await;
    assert_eq!(cors(&listed), (Some(LISTED), true));
    let id = listed.ok()["id"].as_i64().unwrap();

    // The UI's own origin, and clients that are not browsers.
    for (from, key) in [(From::SameOrigin, "same"), (From::NoOrigin, "no-origin")] {
        let reply = send(&app, Method::POST, "/flags", Some(flag(key)), from).await;
        assert_eq!(cors(&reply), (None, false), "{from:?}");
        reply.ok();
    }
    let deleted = send(&app, Method::DELETE, &format!("/flags/{id}"), None, From::Foreign).await;
    deleted.error(403);
    assert_eq!(app.get("/flags").await.ok().as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_wildcard_does_not_open_management_and_fetch_metadata_counts() {
    // The default list is Flagr's `*`.
    let app = spawn_app_with(|config| config.webhooks.public_url = Some("https://flags.example.com/ui".into())).await;
    let create = |request: reqwest::RequestBuilder| {
        request.json(&json!({"url": "https://hooks.example.com/x", "events": ["*"]}))
    };
    let url = format!("{}/api/v1/webhooks", app.base);
    let reply = app.send(create(app.client.post(&url).header("Origin", FOREIGN))).await;
    reply.error(403);
    let reply = app
        .send(create(app.client.post(&url).header("Sec-Fetch-Site", "cross-site")))
        .await;
    assert!(reply.error(403).contains("FLAGR_CORS_ALLOWED_ORIGINS"));
    let reply = app.send(create(app.client.post(&url).header("Origin", "null"))).await;
    reply.error(403);
    // The public URL's origin is Bunting's own, as behind a proxy that rewrites Host.
    let reply = app
        .send(create(
            app.client.post(&url).header("Origin", "https://flags.example.com"),
        ))
        .await;
    reply.ok();
    let reply = app
        .send(create(app.client.post(&url).header("Sec-Fetch-Site", "same-origin")))
        .await;
    reply.ok();
}
