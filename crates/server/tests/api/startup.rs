//! Start-up of the real `bunting` binary: instances starting together on a fresh database, a busy
//! port, and what the start-up log says.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use bunting_store::DatabaseUrl;
use sqlx::{AnyConnection, Connection, Executor};

use crate::helpers::{TestApp, backend_name, database_env, test_database};

/// The binary on `database`, listening on a port of the system's choice, its output captured.
pub(crate) fn bunting(database: &DatabaseUrl, command: &str) -> Command {
    let mut bunting = Command::new(env!("CARGO_BIN_EXE_bunting"));
    bunting
        .envs(database_env(database))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .arg(command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    bunting
}

/// A `serve` process that printed its address, with the log lines up to that point.
pub(crate) struct Serving {
    child: Child,
    pub(crate) base: String,
    pub(crate) log: Vec<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the log of a `serve` process until it prints the address it serves on; if it exits
/// first, says how it failed.
pub(crate) fn until_serving(mut child: Child) -> Result<Serving, String> {
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let mut log = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        if let Some(at) = line.find("http://") {
            let address = line[at..].split_whitespace().next().unwrap_or_default();
            let base = address.trim_end_matches('/').to_owned();
            log.push(line);
            // Keep draining the log so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(Serving { child, base, log });
        }
        log.push(line);
    }
    let status = child.wait().expect("the process ends");
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr);
    Err(format!(
        "serve exited with {status}\nstdout:\n{}\nstderr:\n{stderr}",
        log.join("\n")
    ))
}

pub(crate) fn describe(output: &Output) -> String {
    format!(
        "exited with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An instance that started a moment earlier and holds up everyone else's migrations: on
/// PostgreSQL caught half-way through creating the migrations table (an uncommitted
/// `CREATE TABLE` that everyone else's must wait for), on MySQL holding the migration lock.
struct HeadStart {
    holding: AnyConnection,
    /// Reads who waits; inside `holding`'s transaction the activity view is a snapshot.
    watcher: AnyConnection,
    mysql: bool,
}

impl HeadStart {
    async fn begin(database: &DatabaseUrl) -> Option<HeadStart> {
        let (url, mysql) = match database {
            DatabaseUrl::Postgres(url) => (url.clone(), false),
            DatabaseUrl::Mysql(dsn) => (dsn.url(), true),
            DatabaseUrl::Sqlite(_) => return None,
        };
        let mut holding = AnyConnection::connect(&url).await.unwrap();
        if mysql {
            holding
                .execute("SELECT GET_LOCK(CONCAT('bunting migrations ', MD5(DATABASE())), 0)")
                .await
                .unwrap();
        } else {
            holding.execute("BEGIN").await.unwrap();
            holding
                .execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)")
                .await
                .unwrap();
        }
        let watcher = AnyConnection::connect(&url).await.unwrap();
        Some(HeadStart {
            holding,
            watcher,
            mysql,
        })
    }

    /// Gives up its head start once `instances` sessions wait for a lock (behind it, or behind
    /// each other), so they all go on at the same moment.
    async fn give_up_when_waited_for(mut self, instances: i64) {
        let waiting = if self.mysql {
            "SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND state = 'User lock'"
        } else {
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        };
        for _ in 0..300 {
            let waiting: i64 = sqlx::query_scalar(waiting).fetch_one(&mut self.watcher).await.unwrap();
            if waiting >= instances {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let give_up = if self.mysql {
            "SELECT RELEASE_LOCK(CONCAT('bunting migrations ', MD5(DATABASE())))"
        } else {
            "ROLLBACK"
        };
        self.holding.execute(give_up).await.unwrap();
    }
}

/// Two `migrate` and two `serve` processes on one fresh database all succeed. On PostgreSQL and
/// MySQL they are held back by a [`HeadStart`] and let go together; on SQLite they just start
/// at once.
#[tokio::test]
async fn instances_starting_together_on_a_fresh_database_all_start() {
    let database = test_database().await;
    let head_start = HeadStart::begin(&database.url).await;
    let children: Vec<(&str, Child)> = ["migrate", "serve", "migrate", "serve"]
        .into_iter()
        .map(|command| {
            let child = bunting(&database.url, command).spawn().expect("the binary starts");
            (command, child)
        })
        .collect();
    if let Some(head_start) = head_start {
        head_start.give_up_when_waited_for(4).await;
    }
    let mut failures = Vec::new();
    let mut servers = Vec::new();
    for (command, child) in children {
        let outcome = tokio::task::spawn_blocking(move || match command {
            "serve" => until_serving(child).map(Some),
            _ => {
                let output = child.wait_with_output().expect("the process ends");
                if output.status.success() {
                    Ok(None)
                } else {
                    Err(format!("migrate {}", describe(&output)))
                }
            }
        })
        .await
        .unwrap();
        match outcome {
            Ok(Some(server)) => servers.push(server),
            Ok(None) => {}
            Err(failure) => failures.push(failure),
        }
    }
    assert!(
        failures.is_empty(),
        "on {}, {} of 4 instances failed:\n{}",
        backend_name(),
        failures.len(),
        failures.join("\n\n")
    );
    for server in &servers {
        TestApp::at(&server.base).get("/health").await.ok();
    }
}

#[tokio::test]
async fn a_busy_port_is_named_and_leaves_no_database_behind() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bunting.sqlite");
    let database = DatabaseUrl::Sqlite(path.to_string_lossy().into_owned());

    let output = bunting(&database, "serve")
        .env("PORT", port.to_string())
        // A user-facing error reads the same with backtraces switched on.
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the binary runs");

    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("port {port} on 127.0.0.1 is in use")),
        "{}",
        describe(&output)
    );
    assert!(!stderr.contains("backtrace"), "{}", describe(&output));
    assert!(
        !path.exists(),
        "the database file was created before the port was bound"
    );
}

/// The test database's URL with a password, which trust authentication ignores.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user, host) = rest.split_once('@').expect("TEST_POSTGRES_URL names a user");
    let user = user.split(':').next().unwrap_or_default();
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test]
async fn the_start_up_log_names_the_database_without_secrets_or_colours() {
    let database = test_database().await;
    let (url, expected) = match &database.url {
        DatabaseUrl::Sqlite(path) => (database.url.clone(), path.clone()),
        DatabaseUrl::Postgres(url) => {
            let name = url.rsplit('/').next().unwrap().to_owned();
            (
                DatabaseUrl::Postgres(with_password(url, "s3cret")),
                format!("127.0.0.1:5432/{name}"),
            )
        }
        // MySQL checks passwords, so this one keeps none; its DSN's secrets are tested apart.
        DatabaseUrl::Mysql(dsn) => (database.url.clone(), format!("127.0.0.1:3306/{}", dsn.database)),
    };
    let server = until_serving(bunting(&url, "serve").spawn().expect("the binary starts")).unwrap();
    let log = server.log.join("\n");
    assert!(log.contains(&expected), "the log names {expected}:\n{log}");
    assert!(!log.contains("s3cret"), "the log shows the password:\n{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log that is not a terminal:\n{log}"
    );
}

/// The test database written as Flagr's deployments write it: libpq's `key=value` form with a
/// quoted password (which trust authentication ignores) for PostgreSQL, a `file:` URI with
/// go-sqlite3 parameters for SQLite, the Go driver's DSN with its common parameters for MySQL
/// (without the password, which MySQL checks). Also what the log must name.
fn in_flagrs_form(database: &DatabaseUrl, password: &str) -> (String, String) {
    match database {
        DatabaseUrl::Sqlite(path) => (format!("file:{path}?cache=shared&_busy_timeout=5000"), path.clone()),
        DatabaseUrl::Postgres(url) => {
            let (_, rest) = url.split_once("://").expect("a URL");
            let (user, rest) = rest.split_once('@').expect("TEST_POSTGRES_URL names a user");
            let (address, name) = rest.split_once('/').expect("a database name");
            let (host, port) = address.split_once(':').unwrap_or((address, "5432"));
            (
                format!("host={host} port={port} user={user} password='{password}' dbname={name} sslmode=disable"),
                format!("{host}:{port}/{name}"),
            )
        }
        DatabaseUrl::Mysql(dsn) => {
            let [_, (_, connection), _] = database_env(database);
            (
                format!("{connection}?parseTime=true&charset=utf8mb4,utf8&loc=Local&timeout=5s"),
                format!("127.0.0.1:3306/{}", dsn.database),
            )
        }
    }
}

#[tokio::test]
async fn flagrs_connection_string_serves_and_its_password_stays_out_of_the_log() {
    let database = test_database().await;
    let password = "s3 cret's";
    let (connection, expected) = in_flagrs_form(&database.url, &password.replace('\'', "\\'"));
    let mut command = bunting(&database.url, "serve");
    command.env("FLAGR_DB_DBCONNECTIONSTR", &connection);
    let server = until_serving(command.spawn().expect("the binary starts")).unwrap();
    let log = server.log.join("\n");
    assert!(log.contains(&expected), "the log names {expected}:\n{log}");
    assert!(!log.contains("s3 cret"), "the log shows the password:\n{log}");

    // The database is the test's: what the server writes, a server on the same database reads.
    let flag = TestApp::at(&server.base).create_flag("from_flagrs_setting").await;
    let other = crate::helpers::spawn_app_on_database(&database.url).await;
    other.get(&format!("/flags/{}", flag["id"])).await.ok();
}

#[test]
fn an_unreadable_mysql_dsn_is_named_without_its_password_or_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = DatabaseUrl::Sqlite("unused.sqlite".to_owned());
    let start = |connection: &str| {
        bunting(&database, "serve")
            .env("FLAGR_DB_DBDRIVER", "mysql")
            .env("FLAGR_DB_DBCONNECTIONSTR", connection)
            .current_dir(dir.path())
            .output()
            .expect("the binary runs")
    };

    let unreadable = start("flagr:s3cret@tcp(127.0.0.1:3306/flagr");
    assert_eq!(unreadable.status.code(), Some(1), "{}", describe(&unreadable));
    assert!(
        String::from_utf8_lossy(&unreadable.stderr).contains("\"tcp(127.0.0.1:3306\" misses its closing parenthesis"),
        "{}",
        describe(&unreadable)
    );

    assert!(!describe(&unreadable).contains("s3cret"), "{}", describe(&unreadable));
    let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(created.is_empty(), "files were created: {created:?}");
}

#[test]
fn a_misspelt_postgres_setting_is_named_at_start_up() {
    let database = DatabaseUrl::Postgres("postgres://unused@127.0.0.1:5432/unused".to_owned());
    let output = bunting(&database, "serve")
        .env(
            "FLAGR_DB_DBCONNECTIONSTR",
            "host=127.0.0.1 user=flagr password=s3cret dbname=flagr sslmod=disable",
        )
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FLAGR_DB_DBCONNECTIONSTR: in key=value form, \"sslmod\" is not a connection setting"),
        "{}",
        describe(&output)
    );
    assert!(!describe(&output).contains("s3cret"), "{}", describe(&output));
}
