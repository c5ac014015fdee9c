//! `spawn_app`: the real application on port 0 with its own database, and a small client.

use std::sync::{Arc, Once};

use bunting::clock::{Clock, ManualClock, SystemClock};
use bunting::config::{SecretKeySource, Storage};
use bunting::{Application, Config, DispatcherHandle};
use bunting_store::{DatabaseUrl, SecretKey};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Executor;

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    /// The database the app runs on, dropped with it; `None` for a server started elsewhere.
    database: Option<TestDatabase>,
    /// The webhook dispatcher of a server started in this process.
    deliveries: Option<DispatcherHandle>,
    /// How to stop a server started in this process, and the task serving it.
    server: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

/// A fresh database for one test: a SQLite file in a temporary directory, or a database created
/// for the test on the PostgreSQL server of `TEST_POSTGRES_URL` or the MySQL/MariaDB server of
/// `TEST_MYSQL_URL` when one is set (dropped at the end).
pub(crate) struct TestDatabase {
    pub(crate) url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    /// The server's URL for administration, and the database created on it.
    server: Option<(String, String)>,
}

/// A response: status and JSON body (`Value::Null` for an empty body).
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: reqwest::header::HeaderMap,
}

impl Reply {
    #[track_caller]
    pub(crate) fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "unexpected status; body: {}", self.body);
        self.body
    }

    #[track_caller]
    pub(crate) fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// The `message` of an error body.
    #[track_caller]
    pub(crate) fn error(self, status: u16) -> String {
        let body = self.expect(status);
        body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {body}"))
            .to_owned()
    }
}

pub(crate) fn backend_name() -> &'static str {
    match server_admin_url() {
        Some(url) if url.starts_with("mysql:") => "mysql",
        Some(_) => "postgres",
        None => "sqlite",
    }
}

/// The database server the tests create their databases on: `TEST_POSTGRES_URL`, or
/// `TEST_MYSQL_URL` (`mysql://root@127.0.0.1:3306/test`).
fn server_admin_url() -> Option<String> {
    ["TEST_POSTGRES_URL", "TEST_MYSQL_URL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()))
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server after `adjust` has changed its configuration.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    start(Arc::new(SystemClock), adjust).await
}

/// Starts the server on a clock the test moves.
pub(crate) async fn spawn_app_with_clock(clock: Arc<ManualClock>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    start(clock, adjust).await
}

async fn start(clock: Arc<dyn Clock>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let database = test_database().await;
    let mut app = start_on(&database.url, clock, adjust).await;
    app.database = Some(database);
    app
}

/// A second instance on the database of `other`, as several servers share one PostgreSQL.
pub(crate) async fn spawn_app_on(other: &TestApp, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let database = other
        .database
        .as_ref()
        .expect("the first instance owns a test database");
    start_on(&database.url, Arc::new(SystemClock), adjust).await
}

/// A server on a database the test holds (one the real binary has written, say).
pub(crate) async fn spawn_app_on_database(database: &DatabaseUrl) -> TestApp {
    start_on(database, Arc::new(SystemClock), |_| {}).await
}

/// The key that seals webhook secrets in every test that does not choose its own.
pub(crate) const TEST_SECRET_KEY: &str = "DBBXUt2r1kWG8N9/ecRZsdMOk8YZYcjYL5YGOVbuhO0=";

/// The environment that points the real `bunting` binary at `database`, with the tests' key.
pub(crate) fn database_env(database: &DatabaseUrl) -> [(&'static str, String); 3] {
    let (driver, connection) = match database {
        DatabaseUrl::Sqlite(path) => ("sqlite3", path.clone()),
        DatabaseUrl::Postgres(url) => ("postgres", url.clone()),
        DatabaseUrl::Mysql(dsn) => ("mysql", go_dsn(dsn)),
    };
    [
        ("FLAGR_DB_DBDRIVER", driver.to_owned()),
        ("FLAGR_DB_DBCONNECTIONSTR", connection),
        ("BUNTING_SECRET_KEY", TEST_SECRET_KEY.to_owned()),
    ]
}

/// The tests' key as configuration.
pub(crate) fn test_secret_key() -> SecretKeySource {
    SecretKeySource::Key(SecretKey::parse(TEST_SECRET_KEY).expect("the test key is a key"))
}

async fn start_on(database: &DatabaseUrl, clock: Arc<dyn Clock>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    start_with(Config::for_database(database.clone()), clock, adjust).await
}

/// Starts the server in eval-only mode, reading flags from `storage` (a file or a URL).
pub(crate) async fn spawn_eval_only(storage: Storage, adjust: impl FnOnce(&mut Config)) -> TestApp {
    start_with(Config::for_storage(storage), Arc::new(SystemClock), adjust).await
}

async fn start_with(mut config: Config, clock: Arc<dyn Clock>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    config.secret_key = Some(test_secret_key());
    adjust(&mut config);
    let app = Application::build_with_clock(config, clock)
        .await
        .expect("the application starts");
    let base = format!("http://{}", app.local_addr());
    let deliveries = app.deliveries();
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    // Stopped by `TestApp::stop`; a server whose TestApp is dropped serves on to the test's end.
    let serving = tokio::spawn(app.run_until_stopped(async move {
        if stopping.await.is_err() {
            std::future::pending::<()>().await;
        }
    }));
    TestApp {
        base,
        client: reqwest::Client::new(),
        database: None,
        deliveries,
        server: Some((stop, serving)),
    }
}

pub(crate) async fn test_database() -> TestDatabase {
    static ANNOUNCE: Once = Once::new();
    ANNOUNCE.call_once(|| eprintln!("API tests run against {}", backend_name()));
    match server_admin_url() {
        Some(admin) => {
            let name = format!("bunting_test_{}", uuid_like());
            let url = create_server_database(&admin, &name).await;
            TestDatabase {
                url,
                _dir: None,
                server: Some((admin, name)),
            }
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("bunting.sqlite").to_string_lossy().into_owned();
            TestDatabase {
                url: DatabaseUrl::Sqlite(path),
                _dir: Some(dir),
                server: None,
            }
        }
    }
}

/// A connection to the database, outside any server.
async fn connection(database: &DatabaseUrl) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match database {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{path}?mode=rwc"),
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Mysql(dsn) => dsn.url(),
    };
    <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("the test database accepts connections")
}

/// Runs `sql` (statements separated by `;`) on the database, outside any server.
pub(crate) async fn execute_sql_on(database: &DatabaseUrl, sql: &str) {
    connection(database)
        .await
        .execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .expect("the statement runs");
}

/// The rows `sql` selects as they are stored, every column read as text (`None` for NULL).
pub(crate) async fn query_text_on(database: &DatabaseUrl, sql: &str) -> Vec<Vec<Option<String>>> {
    use sqlx::Row;
    let rows = connection(database)
        .await
        .fetch_all(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .expect("the query runs");
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|column| row.get::<Option<String>, _>(column))
                .collect()
        })
        .collect()
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{}_{}", std::process::id(), nanos)
}

async fn create_server_database(admin: &str, name: &str) -> DatabaseUrl {
    sqlx::any::install_default_drivers();
    let mut connection = <sqlx::AnyConnection as sqlx::Connection>::connect(admin)
        .await
        .expect("the test database server answers");
    connection
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("creating the test database");
    let (base, _) = admin.rsplit_once('/').expect("the test server URL ends in /database");
    match base.strip_prefix("mysql://") {
        // Flagr's form of the connection string, as a Flagr user's setting would hold it.
        Some(server) => {
            let (user, address) = server.rsplit_once('@').expect("TEST_MYSQL_URL names a user");
            let dsn = bunting_store::dsn::mysql(&format!("{user}@tcp({address})/{name}"))
                .expect("TEST_MYSQL_URL reads as a MySQL DSN");
            DatabaseUrl::Mysql(Box::new(dsn))
        }
        None => DatabaseUrl::Postgres(format!("{base}/{name}")),
    }
}

/// The Go DSN (Flagr's `FLAGR_DB_DBCONNECTIONSTR`) of a MySQL test database.
fn go_dsn(dsn: &bunting_store::dsn::MysqlDsn) -> String {
    let password = dsn
        .password
        .as_ref()
        .map(|password| format!(":{}", password.expose()))
        .unwrap_or_default();
    let address = match &dsn.address {
        bunting_store::dsn::MysqlAddress::Tcp { host, port } => format!("tcp({host}:{port})"),
        bunting_store::dsn::MysqlAddress::Unix(path) => format!("unix({path})"),
    };
    format!("{}{password}@{address}/{}", dsn.user, dsn.database)
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.server.take() else {
            return;
        };
        let mysql = admin.starts_with("mysql:");
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let Ok(mut connection) = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await else {
                    return;
                };
                // The server may still hold connections (this thread blocks its runtime): PostgreSQL
                // drops the database regardless; MySQL's connections are ended first.
                let drop = if mysql {
                    let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT CAST(id AS SIGNED) FROM information_schema.processlist WHERE db = '{name}'"
                    )))
                    .fetch_all(&mut connection)
                    .await
                    .unwrap_or_default();
                    for id in ids {
                        let _ = connection.execute(sqlx::AssertSqlSafe(format!("KILL {id}"))).await;
                    }
                    format!("DROP DATABASE IF EXISTS {name}")
                } else {
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                };
                let _ = connection.execute(sqlx::AssertSqlSafe(drop)).await;
            });
        });
        let _ = dropped.join();
    }
}

impl TestApp {
    /// A client for a server started elsewhere (the real binary, say).
    pub(crate) fn at(base: &str) -> TestApp {
        TestApp {
            base: base.to_owned(),
            client: reqwest::Client::new(),
            database: None,
            deliveries: None,
            server: None,
        }
    }

    /// A client for environment `key` of this server: the same API under its base path
    /// (`/environments/{key}/api/v1`).
    pub(crate) fn environment(&self, key: &str) -> TestApp {
        TestApp {
            base: format!("{}/environments/{key}", self.base),
            client: self.client.clone(),
            database: None,
            deliveries: self.deliveries.clone(),
            server: None,
        }
    }

    /// Stops a server started in this process and waits until it has closed its database
    /// connections, so another process can have the database (SQLite's locks) to itself.
    pub(crate) async fn stop(mut self) {
        let (stop, serving) = self.server.take().expect("a server started in this process");
        let _ = stop.send(());
        serving
            .await
            .expect("the server task ends")
            .expect("the server stops cleanly");
    }

    /// A client of this server that sends `Authorization: Bearer {secret}` with every request.
    pub(crate) fn bearer(&self, secret: &str) -> TestApp {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {secret}").parse().expect("a token is a header value"),
        );
        TestApp {
            base: self.base.clone(),
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .expect("a client"),
            database: None,
            deliveries: self.deliveries.clone(),
            server: None,
        }
    }

    /// Runs `sql` straight on the app's database, bypassing every check of the API: data as an
    /// older version may have left it.
    pub(crate) async fn execute_sql(&self, sql: &str) {
        execute_sql_on(self.database_url(), sql).await;
    }

    /// The database of a server started by [`spawn_app`] and its kin.
    pub(crate) fn database_url(&self) -> &DatabaseUrl {
        &self.database.as_ref().expect("the app owns a test database").url
    }

    pub(crate) async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}/api/v1{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body, headers }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// Sends `body` as raw bytes, for malformed input.
    pub(crate) async fn raw(&self, method: Method, path: &str, body: &str) -> Reply {
        let request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        self.send(request).await
    }

    /// A flag made from Flagr's `simple_boolean_flag` template (variant `on` at 100 % in one
    /// segment), not yet enabled.
    pub(crate) async fn create_boolean_flag(&self, key: &str) -> Value {
        self.post(
            "/flags",
            serde_json::json!({ "description": key, "key": key, "template": "simple_boolean_flag" }),
        )
        .await
        .ok()
    }

    pub(crate) async fn create_flag(&self, key: &str) -> Value {
        self.post(
            "/flags",
            serde_json::json!({ "description": format!("{key} flag"), "key": key }),
        )
        .await
        .ok()
    }

    pub(crate) async fn max_id(&self) -> i64 {
        self.get("/flags/snapshots/max_id").await.ok()["maxID"]
            .as_i64()
            .unwrap()
    }

    /// A flag with variants `control`/`treatment`, one segment at 100 % and a 50/50 split.
    /// Returns (flag id, segment id, control id, treatment id).
    pub(crate) async fn flag_with_split(&self, key: &str) -> (i64, i64, i64, i64) {
        let flag = self.create_flag(key).await["id"].as_i64().unwrap();
        let control = self
            .post(
                &format!("/flags/{flag}/variants"),
                serde_json::json!({"key": "control"}),
            )
            .await
            .ok();
        let treatment = self
            .post(
                &format!("/flags/{flag}/variants"),
                serde_json::json!({"key": "treatment"}),
            )
            .await
            .ok();
        let segment = self
            .post(
                &format!("/flags/{flag}/segments"),
                serde_json::json!({"description": "everyone", "rolloutPercent": 100}),
            )
            .await
            .ok();
        let (control, treatment, segment) = (
            control["id"].as_i64().unwrap(),
            treatment["id"].as_i64().unwrap(),
            segment["id"].as_i64().unwrap(),
        );
        self.put(
            &format!("/flags/{flag}/segments/{segment}/distributions"),
            serde_json::json!({"distributions": [
                {"variantID": control, "variantKey": "control", "percent": 50},
                {"variantID": treatment, "variantKey": "treatment", "percent": 50}
            ]}),
        )
        .await
        .ok();
        (flag, segment, control, treatment)
    }

    /// Waits until every delivery due now (on the app's clock) has been attempted and recorded:
    /// after it, a receiver has had everything it is going to get for now.
    pub(crate) async fn settle(&self) {
        self.deliveries
            .as_ref()
            .expect("settling needs a server started in this process")
            .settled()
            .await;
    }

    /// Creates a webhook from `body`; returns its id.
    pub(crate) async fn create_webhook(&self, body: Value) -> i64 {
        self.post("/webhooks", body).await.ok()["id"].as_i64().unwrap()
    }

    /// Polls the delivery log until a delivery of `webhook` satisfies `done`; returns its detail.
    pub(crate) async fn delivery_where(&self, webhook: i64, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..400 {
            let deliveries = self.get(&format!("/webhooks/{webhook}/deliveries")).await.ok();
            for delivery in deliveries.as_array().unwrap() {
                let id = delivery["id"].as_str().unwrap();
                let detail = self.get(&format!("/webhooks/{webhook}/deliveries/{id}")).await.ok();
                if done(&detail) {
                    return detail;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no delivery of webhook {webhook} reached the expected state");
    }
}
