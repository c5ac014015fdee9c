//! A minimal W3C WebDriver client on reqwest + serde_json: starts `chromedriver`, opens a
//! headless Chromium session, and offers what the tests need — navigate, find by XPath (waiting),
//! click, type, read text, properties and visibility, run a script, set the time zone, step
//! into frames, take screenshots. A test runs inside [`with_browser`], which skips it when Chromium is not
//! installed and always ends the session.

use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::keep_trying;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The page while the UI runs an action (it marks the body `aria-busy`).
const BUSY: &str = "/html/body[@aria-busy='true']";
pub(crate) const WIDTH: u64 = 1280;
pub(crate) const HEIGHT: u64 = 900;

/// One browser at a time: the machines running this have few cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Runs `test` with a fresh browser, or prints `SKIPPED` when Chromium or chromedriver is
/// missing. The session is closed and chromedriver stopped whether the test passes or panics;
/// on a panic the page is saved as a screenshot first.
pub(crate) async fn with_browser<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for binary in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(binary).exists() {
            eprintln!("SKIPPED: {name} needs {binary} (apt-get install chromium chromium-driver)");
            return;
        }
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let browser = Browser::start().await;
    let outcome = tokio::spawn(test(browser.clone())).await;
    let console = browser.console().await;
    if let Err(error) = outcome {
        let shot = std::env::temp_dir().join(format!("bunting-browser-{name}.png"));
        browser.screenshot(&shot).await;
        eprintln!(
            "{name} failed at {}; the page is in {}",
            browser.url().await,
            shot.display()
        );
        eprintln!("browser console:\n{}", console.join("\n"));
        browser.quit().await;
        std::panic::resume_unwind(error.into_panic());
    }
    browser.quit().await;
    // The UI must not throw: any script error fails the test. (A failed request the test
    // provoked on purpose is logged too; those are the server's answers, not script errors.)
    let errors: Vec<&String> = console
        .iter()
        .filter(|line| line.contains("SEVERE") && !line.contains("Failed to load resource"))
        .collect();
    assert!(errors.is_empty(), "{name}: the page logged errors: {errors:?}");
}

/// chromedriver, stopped when the last handle goes.
struct Driver {
    process: Child,
    /// The browser profile, deleted with the driver.
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A WebDriver session (cheap to clone).
#[derive(Clone)]
pub(crate) struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`
    session: String,
    _driver: Arc<Driver>,
}

/// An element of the current page.
pub(crate) struct Element {
    browser: Browser,
    id: String,
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let profile = tempfile::tempdir().unwrap();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { process, profile };
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let status = format!("{base}/status");
        keep_trying(|| http.get(&status).send())
            .await
            .expect("chromedriver starts");
        let user_data_dir = format!("--user-data-dir={}", driver.profile.path().display());
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", format!("--window-size={WIDTH},{HEIGHT}"), user_data_dir,
                ],
            },
        }}});
        let reply: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"));
        Browser {
            http,
            session: format!("{base}/session/{id}"),
            _driver: Arc::new(driver),
        }
    }

    /// Sends a command; returns its `value`, or panics with WebDriver's error.
    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body)
            .await
            .unwrap_or_else(|error| panic!("WebDriver {path}: {error}"))
    }

    async fn try_command(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|error| error.to_string())?;
        let ok = response.status().is_success();
        let reply: Value = response.json().await.map_err(|error| error.to_string())?;
        if ok {
            Ok(reply["value"].clone())
        } else {
            Err(format!("{} {}", reply["value"]["error"], reply["value"]["message"]))
        }
    }

    async fn quit(&self) {
        let _ = self.http.delete(&self.session).send().await;
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub(crate) async fn url(&self) -> String {
        self.try_command(Method::GET, "/url", None)
            .await
            .map(|url| url.as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    }

    /// The first element matching `xpath`, waiting for it to appear and for the page to finish
    /// what it is doing (see [`BUSY`]), so the element found is not about to be replaced by a
    /// re-render.
    #[track_caller]
    pub(crate) fn find<'a>(&'a self, xpath: &'a str) -> impl Future<Output = Element> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            keep_trying(|| async {
                if self.find_now(BUSY).await.is_ok() {
                    return Err("the page stayed busy".to_owned());
                }
                self.find_now(xpath).await
            })
            .await
            .unwrap_or_else(|last| panic!("{caller}: nothing matches {xpath} ({last})"))
        }
    }

    async fn find_now(&self, xpath: &str) -> Result<Element, String> {
        let found = self
            .try_command(
                Method::POST,
                "/element",
                Some(json!({"using": "xpath", "value": xpath})),
            )
            .await?;
        let id = found[ELEMENT].as_str().ok_or("no element reference")?;
        Ok(Element {
            browser: self.clone(),
            id: id.to_owned(),
        })
    }

    /// Waits until `xpath` matches an element whose text contains `text`; returns the text.
    #[track_caller]
    pub(crate) fn wait_for_text<'a>(&'a self, xpath: &'a str, text: &'a str) -> impl Future<Output = String> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            keep_trying(|| async {
                // The element may be replaced between finding and reading it: then look again.
                let seen = self.find_now(xpath).await?.try_text().await?;
                if seen.contains(text) {
                    Ok(seen)
                } else {
                    Err(format!("last seen: {seen:?}"))
                }
            })
            .await
            .unwrap_or_else(|last| panic!("{caller}: {xpath} never showed {text:?}; {last}"))
        }
    }

    /// Saves the whole page (the window grown to fit it, up to a limit) as a PNG.
    pub(crate) async fn screenshot(&self, path: &Path) {
        // The window is taller than the page's viewport by the browser's own bars.
        let script = "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight";
        let height = self
            .try_execute(script)
            .await
            .ok()
            .and_then(|height| height.as_u64())
            .unwrap_or(HEIGHT)
            .clamp(HEIGHT, 3200);
        self.resize(WIDTH, height).await;
        let shot = self.try_command(Method::GET, "/screenshot", None).await;
        self.resize(WIDTH, HEIGHT).await;
        let Ok(Value::String(png)) = shot else {
            eprintln!("no screenshot for {}", path.display());
            return;
        };
        let bytes = base64::engine::general_purpose::STANDARD.decode(png).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Runs `script` (a function body) in the page; returns what it returns.
    pub(crate) async fn execute(&self, script: &str) -> Value {
        self.try_execute(script)
            .await
            .unwrap_or_else(|error| panic!("WebDriver script {script:?}: {error}"))
    }

    async fn try_execute(&self, script: &str) -> Result<Value, String> {
        self.try_command(
            Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Makes the page keep time in `zone` (an IANA name such as `Asia/Kolkata`), whatever the
    /// machine's zone is, through the DevTools command chromedriver passes on.
    pub(crate) async fn time_zone(&self, zone: &str) {
        self.command(
            Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setTimezoneOverride", "params": {"timezoneId": zone}})),
        )
        .await;
    }

    /// Makes later commands act inside the `<iframe>` `frame`, until [`Browser::leave_frame`].
    pub(crate) async fn enter_frame(&self, frame: &Element) {
        self.command(Method::POST, "/frame", Some(json!({"id": {ELEMENT: frame.id}})))
            .await;
    }

    /// Makes later commands act in the page around the current frame again.
    pub(crate) async fn leave_frame(&self) {
        self.command(Method::POST, "/frame/parent", Some(json!({}))).await;
    }

    pub(crate) async fn resize(&self, width: u64, height: u64) {
        let _ = self
            .try_command(
                Method::POST,
                "/window/rect",
                Some(json!({"width": width, "height": height})),
            )
            .await;
    }

    /// Messages the page logged (errors, warnings) since the last call.
    pub(crate) async fn console(&self) -> Vec<String> {
        self.try_command(Method::POST, "/se/log", Some(json!({"type": "browser"})))
            .await
            .ok()
            .and_then(|entries| entries.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|entry| format!("{} {}", entry["level"], entry["message"]))
            .collect()
    }
}

impl Element {
    /// Sends a command about this element (`action` such as `/click`).
    async fn command(&self, method: Method, action: &str, body: Option<Value>) -> Value {
        self.browser.command(method, &self.path(action), body).await
    }

    fn path(&self, action: &str) -> String {
        format!("/element/{}{action}", self.id)
    }

    async fn try_text(&self) -> Result<String, String> {
        match self.browser.try_command(Method::GET, &self.path("/text"), None).await? {
            Value::String(text) => Ok(text),
            other => Err(format!("text is not a string: {other}")),
        }
    }

    pub(crate) async fn click(&self) {
        self.command(Method::POST, "/click", Some(json!({}))).await;
    }

    /// Types `text` at the end of the field's value.
    pub(crate) async fn type_text(&self, text: &str) {
        self.command(Method::POST, "/value", Some(json!({ "text": text })))
            .await;
    }

    /// Replaces the field's value with `text`, as a user selecting all and typing would.
    pub(crate) async fn replace_text(&self, text: &str) {
        self.command(Method::POST, "/clear", Some(json!({}))).await;
        self.type_text(text).await;
    }

    /// Whether the element is shown (not `display: none`, not inside something hidden).
    pub(crate) async fn displayed(&self) -> bool {
        self.command(Method::GET, "/displayed", None).await == json!(true)
    }

    /// A DOM property (`value`, `checked`, `disabled`...).
    pub(crate) async fn property(&self, name: &str) -> Value {
        self.command(Method::GET, &format!("/property/{name}"), None).await
    }
}
