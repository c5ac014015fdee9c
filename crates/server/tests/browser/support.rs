//! What the browser tests stand on: the real server in-process on port 0 with its own SQLite
//! file (as the API tests start it), a webhook receiver on port 0 that records what it gets,
//! a small JSON client for arranging and checking state through the API, the one way the tests
//! wait for something ([`keep_trying`]), and XPath builders that find controls the way a user
//! does — by their visible label or text.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use base64::Engine;
use bunting::{Application, Config};
use bunting_store::DatabaseUrl;
use serde_json::Value;

pub(crate) struct Server {
    /// `http://127.0.0.1:<port>`
    pub(crate) base: String,
    client: reqwest::Client,
    /// The `Authorization` header the API helpers send, if any.
    authorization: Option<String>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    /// Starts the server with the configuration `configure` leaves (auth, identity sources…).
    pub(crate) async fn start_with(configure: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bunting.sqlite").to_string_lossy().into_owned();
        let mut config = Config::for_database(DatabaseUrl::Sqlite(file));
        configure(&mut config);
        let app = Application::build(config).await.expect("the application starts");
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        Server {
            base,
            client: reqwest::Client::new(),
            authorization: None,
            _dir: dir,
        }
    }

    /// Sends the API token `secret` with every later API helper request.
    pub(crate) fn use_token(&mut self, secret: &str) {
        self.authorization = Some(format!("Bearer {secret}"));
    }

    /// Sends HTTP basic-auth credentials with every later API helper request.
    pub(crate) fn use_basic_auth(&mut self, user: &str, password: &str) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization = Some(format!("Basic {encoded}"));
    }

    /// The UI's address for a hash route such as `#/flags/1`.
    pub(crate) fn page(&self, route: &str) -> String {
        format!("{}/{route}", self.base)
    }

    /// Sends a JSON request to `/api/v1{path}`; returns the JSON answer, panicking unless 200.
    pub(crate) async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.send(method, format!("{}/api/v1{path}", self.base), body).await
    }

    /// As [`Server::api`], under the base path of the environment `key`.
    pub(crate) async fn env_api(&self, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/environments/{key}/api/v1{path}", self.base);
        self.send(method, url, body).await
    }

    async fn send(&self, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
        let mut request = self.client.request(method, url.as_str());
        if let Some(authorization) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        self.api(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        self.api(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> Value {
        self.api(reqwest::Method::PUT, path, Some(body)).await
    }
}

/// A webhook receiver answering 200 with a small JSON body, keeping every body it got.
pub(crate) struct Receiver {
    pub(crate) url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
        let app = axum::Router::new().fallback(receive).with_state(bodies.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/flags", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, bodies }
    }

    pub(crate) fn received(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn receive(State(bodies): State<Arc<Mutex<Vec<String>>>>, body: Bytes) -> &'static str {
    bodies.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
    r#"{"received": true}"#
}

/// How long the tests wait for something to happen before they give up.
const PATIENCE: Duration = Duration::from_secs(15);

/// Runs `attempt` every 100 ms until it succeeds, and returns its value; or, once
/// [`PATIENCE`] has run out, its last error. Every wait of the browser tests goes through here.
pub(crate) async fn keep_trying<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = tokio::time::Instant::now();
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if started.elapsed() >= PATIENCE => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Waits until `check` holds.
pub(crate) async fn until<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let held = keep_trying(|| async { if check().await { Ok(()) } else { Err(()) } }).await;
    assert!(held.is_ok(), "gave up waiting until {what}");
}

/// Where a screenshot of the UI goes: with `BUNTING_UI_SCREENSHOTS=1`, the README's copy in
/// `docs/ui/<name>.png`; otherwise cargo's scratch directory, so test runs leave the tree clean.
pub(crate) fn screenshot_path(name: &str) -> PathBuf {
    let folder = if std::env::var_os("BUNTING_UI_SCREENSHOTS").is_some() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")
    };
    folder.join(format!("{name}.png"))
}

/// A button by its visible text.
pub(crate) fn button(text: &str) -> String {
    format!("//button[normalize-space()={}]", literal(text))
}

/// The control a visible label names, inside `scope` (an XPath; "" for the whole page).
pub(crate) fn field(scope: &str, label: &str) -> String {
    format!(
        "{scope}//*[@id={scope}//label[normalize-space()={}]/@for]",
        literal(label)
    )
}

/// An XPath string literal for `text` (which must not hold both quote kinds).
pub(crate) fn literal(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}
