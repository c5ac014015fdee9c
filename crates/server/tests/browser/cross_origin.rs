//! A hostile page cannot ride the operator's session (see `src/http/cors.rs`). Bunting runs with
//! Flagr's basic auth at `http://127.0.0.1:<port>`; the browser signs in there, proves its
//! session works by creating a webhook from Bunting's own page, then opens a page served by a
//! second server at `http://localhost:<other port>` — another origin, and another site — whose
//! script POSTs a webhook with `credentials: "include"` and whose form POSTs one as a simple
//! request. Neither creates anything: the fetch's preflight is refused, so the fetch fails, and the
//! form's POST is answered 403 with the reason, which the test reads inside the frame.

use bunting::config::BasicAuth;
use bunting_core::secret::Secret;
use serde_json::{Value, json};

use crate::support::{Server, until};
use crate::webdriver::with_browser;

const USER: &str = "operator";
const PASSWORD: &str = "correct-horse";

/// The hostile page: it runs as soon as it loads, keeping the fetch's outcome in
/// `window.outcome`, and posts the form into a frame the test can look into.
fn hostile_page(bunting: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><title>Win a prize</title></head><body>
<p>Nothing to see here.</p>
<form id="simple" method="POST" action="{bunting}/api/v1/webhooks" enctype="text/plain" target="sink">
  <input name='{{"url": "http://127.0.0.1:9/from-the-form", "events": ["*"], "x": "' value='"}}'>
</form>
<iframe name="sink" id="sink"></iframe>
<script>
  window.outcome = "pending";
  fetch("{bunting}/api/v1/webhooks", {{
    method: "POST",
    credentials: "include",
    headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{url: "http://127.0.0.1:9/from-the-fetch", events: ["*"]}}),
  }}).then(
    (response) => {{ window.outcome = "answered " + response.status; }},
    (error) => {{ window.outcome = "failed: " + error.message; }},
  );
  document.getElementById("simple").submit();
</script>
</body></html>"#
    )
}

/// Serves `page` at every path of `http://localhost:<port>/` (bound to 127.0.0.1 only).
async fn serve_hostile_page(page: String) -> String {
    let app = axum::Router::new().fallback(move || {
        let page = page.clone();
        async move { axum::response::Html(page) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://localhost:{port}/")
}

async fn webhook_count(server: &Server) -> usize {
    server.get("/webhooks").await.as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_cannot_create_a_webhook_with_the_operators_session() {
    with_browser("cross-origin", |browser| async move {
        let mut server = Server::start_with(|config| {
            config.identity.basic_auth = Some(BasicAuth {
                username: USER.to_owned(),
                password: Secret::new(PASSWORD),
                whitelist_paths: Vec::new(),
                exact_whitelist_paths: Vec::new(),
            });
        })
        .await;
        server.use_basic_auth(USER, PASSWORD);

        // The operator's session: credentials given once, in the address, as a user would type
        // them at the browser's prompt; the browser keeps them for Bunting's origin.
        let origin = server.base.strip_prefix("http://").unwrap();
        browser.goto(&format!("http://{USER}:{PASSWORD}@{origin}/")).await;
        browser.wait_for_text("//h1", "Flags").await;
        // It works from Bunting's own page: the same request the hostile page will send.
        let own = browser
            .execute(&format!(
                "return fetch('{}/api/v1/webhooks', {{method: 'POST', credentials: 'include', \
                 headers: {{'Content-Type': 'application/json'}}, \
                 body: JSON.stringify({{url: 'http://127.0.0.1:9/from-bunting', events: ['*']}})}})\
                 .then((response) => response.status);",
                server.base
            ))
            .await;
        assert_eq!(own, json!(200), "the operator's session creates webhooks");
        assert_eq!(webhook_count(&server).await, 1);

        let hostile = serve_hostile_page(hostile_page(&server.base)).await;
        assert!(hostile.starts_with("http://localhost:") && !hostile.contains(origin));
        browser.goto(&hostile).await;
        until("the hostile fetch settles", || async {
            browser.execute("return window.outcome;").await != json!("pending")
        })
        .await;
        let outcome = browser.execute("return window.outcome;").await;
        assert_eq!(
            outcome,
            json!("failed: Failed to fetch"),
            "the browser refuses the fetch after its preflight"
        );

        // The form's simple request reached Bunting and was refused, saying why.
        let frame = browser.find("//iframe[@id='sink']").await;
        browser.enter_frame(&frame).await;
        let refusal = browser.wait_for_text("//body", "refused").await;
        assert!(
            refusal.contains(hostile.trim_end_matches('/')),
            "the refusal names the page's origin: {refusal}"
        );
        browser.leave_frame().await;

        assert_eq!(
            webhook_count(&server).await,
            1,
            "nothing was created from the other origin"
        );
        let urls: Vec<Value> = server
            .get("/webhooks")
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["url"].clone())
            .collect();
        assert_eq!(urls, vec![json!("http://127.0.0.1:9/from-bunting")]);

        // What the browser said about the fetch (drained here: these are expected refusals).
        let console = browser.console().await.join("\n");
        assert!(console.contains("blocked by CORS policy"), "{console}");
    })
    .await;
}
