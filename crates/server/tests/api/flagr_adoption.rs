//! Adopting Flagr's database in place (issue 11): a database holding Flagr's schema is brought
//! into Bunting's tables at start-up, with every id, deleted flag and snapshot; Flagr's tables
//! stay exactly as they were; a restart does not adopt again; a database of a third kind is
//! refused with nothing written. On each backend the suite runs on (SQLite, and PostgreSQL and
//! MySQL/MariaDB when `TEST_POSTGRES_URL`/`TEST_MYSQL_URL` are set). Fixtures: `tests/data/flagr/`.

use bunting::Config;
use bunting::config::Storage;
use bunting_store::DatabaseUrl;
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::{TestApp, execute_sql_on, spawn_app_on_database, spawn_eval_only, test_database, test_secret_key};
use crate::startup::{bunting, describe, until_serving};

const COUNTRIES: [&str; 4] = ["NZ", "FR", "DE", "US"];
const DATA: &str = include_str!("../data/flagr/data.sql");
const FLAGR_TABLES: [&str; 10] = [
    "flags",
    "segments",
    "variants",
    "constraints",
    "distributions",
    "tags",
    "flags_tags",
    "flag_snapshots",
    "flag_entity_types",
    "users",
];

fn schema(database: &DatabaseUrl) -> &'static str {
    match database {
        DatabaseUrl::Sqlite(_) => include_str!("../data/flagr/schema_sqlite.sql"),
        DatabaseUrl::Postgres(_) => include_str!("../data/flagr/schema_postgres.sql"),
        DatabaseUrl::Mysql(_) => include_str!("../data/flagr/schema_mysql.sql"),
    }
}

/// Flagr's rows (`data.sql`, written with UTC offsets and backslashes as SQLite and PostgreSQL
/// take them) as Flagr's Go driver leaves them in MySQL: DATETIME holds no offset (the driver
/// writes UTC), and a backslash is not an escape.
fn flagr_sql(database: &DatabaseUrl, sql: &str) -> String {
    match database {
        DatabaseUrl::Mysql(_) => format!(
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES');\n{}",
            sql.replace("+00:00'", "'")
        ),
        DatabaseUrl::Sqlite(_) | DatabaseUrl::Postgres(_) => sql.to_owned(),
    }
}

async fn execute_flagr_sql(database: &DatabaseUrl, sql: &str) {
    execute_sql_on(database, &flagr_sql(database, sql)).await;
}

async fn connect(database: &DatabaseUrl) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match database {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Mysql(dsn) => dsn.url(),
    };
    sqlx::AnyConnection::connect(&url).await.unwrap()
}

/// Every row of Flagr's tables as text, to compare before and after.
async fn flagr_dump(database: &DatabaseUrl) -> Vec<String> {
    let mut connection = connect(database).await;
    let mut dump = Vec::new();
    for table in FLAGR_TABLES {
        let query = match database {
            DatabaseUrl::Postgres(_) => format!("SELECT CAST(t.* AS TEXT) AS r FROM {table} t ORDER BY 1"),
            DatabaseUrl::Mysql(_) => {
                let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(column_name AS CHAR) AS name FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
                )))
                .fetch_all(&mut connection)
                .await
                .unwrap()
                .iter()
                .map(|row| format!("QUOTE(`{}`)", row.get::<String, _>("name")))
                .collect();
                format!(
                    "SELECT CONCAT_WS('|', {}) AS r FROM {table} ORDER BY 1",
                    columns.join(", ")
                )
            }
            DatabaseUrl::Sqlite(_) => {
                let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(&mut connection)
                .await
                .unwrap()
                .iter()
                .map(|row| format!("quote({})", row.get::<String, _>("name")))
                .collect();
                format!("SELECT {} AS r FROM {table} ORDER BY 1", columns.join(" || '|' || "))
            }
        };
        for row in sqlx::query(sqlx::AssertSqlSafe(query))
            .fetch_all(&mut connection)
            .await
            .unwrap()
        {
            dump.push(format!("{table}: {}", row.get::<String, _>("r")));
        }
    }
    dump
}

async fn tables(database: &DatabaseUrl) -> Vec<String> {
    let query = match database {
        DatabaseUrl::Sqlite(_) => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        DatabaseUrl::Postgres(_) => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY name"
        }
        DatabaseUrl::Mysql(_) => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY name"
        }
    };
    let mut connection = connect(database).await;
    sqlx::query(query)
        .fetch_all(&mut connection)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("name"))
        .collect()
}

/// Each entity's (segment, variant, attachment) for both flags, from one batch evaluation.
async fn assignments(app: &TestApp) -> Vec<Value> {
    let entities: Vec<Value> = (0..300)
        .map(|n| {
            json!({"entityID": format!("user-{n}"), "entityContext": {
                "country": COUNTRIES[n % 4],
                "age": n % 80,
                "email": if n % 5 == 0 { "blocked@example.com".to_owned() } else { format!("u{n}@example.com") },
                // CONTAINS is array membership in Flagr.
                "tier": if n % 2 == 0 { json!(["gold", "beta"]) } else { json!(["silver"]) },
            }})
        })
        .collect();
    let results = app
        .post("/evaluation/batch", json!({"entities": entities, "flagIDs": [3, 7]}))
        .await
        .ok()["evaluationResults"]
        .clone();
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            json!([
                result["evalContext"]["entityID"],
                result["flagID"],
                result["segmentID"],
                result["variantID"],
                result["variantKey"],
                result["variantAttachment"]
            ])
        })
        .collect()
}

fn ids(flags: &Value) -> Vec<i64> {
    flags
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_flagr_database_is_adopted_once_with_its_tables_left_as_they_were() {
    let database = flagr_database().await;
    let before = flagr_dump(&database.url).await;
    assert_eq!(before.len(), 48, "every row of Flagr's tables is compared");

    let app = spawn_app_on_database(&database.url).await;
    assert_eq!(ids(&app.get("/flags").await.ok()), [3, 7]);
    assert_eq!(ids(&app.get("/flags?deleted=true").await.ok()), [4]);
    let checkout = app.get("/flags/3").await.ok();
    assert_eq!(checkout["key"], "checkout");
    assert_eq!(checkout["enabled"], true);
    assert_eq!(checkout["notes"], "# notes");
    assert_eq!(checkout["dataRecordsEnabled"], true);
    assert_eq!(
        checkout["tags"],
        json!([{"id": 1, "value": "web"}, {"id": 2, "value": "mobile"}])
    );
    let segments: Vec<(i64, usize, usize)> = checkout["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| {
            (
                segment["id"].as_i64().unwrap(),
                segment["constraints"].as_array().unwrap().len(),
                segment["distributions"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(segments, [(9, 1, 1), (12, 6, 1), (10, 5, 2)]);
    assert_eq!(
        checkout["variants"][0]["attachment"],
        json!({"color": "blue", "size": 2})
    );
    assert_eq!(checkout["variants"].as_array().unwrap().len(), 2);
    let mut types = app.get("/flags/entity_types").await.ok();
    types.as_array_mut().unwrap().sort_by_key(|value| value.to_string());
    assert_eq!(types, json!(["account", "device", "user"]));
    // The deleted flag's key stays reserved.
    app.post("/flags", json!({"key": "banner", "description": "again"}))
        .await
        .expect(400);
    // Flagr's snapshots continue: their count, ids, times and actors.
    let snapshots = app.get("/flags/3/snapshots").await.ok();
    let snapshot_ids: Vec<i64> = ids(&snapshots);
    assert_eq!(snapshot_ids, [5, 2, 1]);
    assert_eq!(snapshots[0]["updatedBy"], "bob@example.com");
    assert_eq!(snapshots[0]["flag"]["notes"], "# notes");
    assert_eq!(app.get("/flags/4/snapshots").await.ok().as_array().unwrap().len(), 2);

    // Evaluation as Flagr's export of the same flags evaluates.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    std::fs::write(&file, include_str!("../data/flagr/flags.json")).unwrap();
    let flagr = spawn_eval_only(Storage::JsonFile(file), |_| {}).await;
    app.put("/flags/7/enabled", json!({"enabled": false})).await.ok();
    let adopted = assignments(&app).await;
    assert_eq!(adopted, assignments(&flagr).await);
    // Every live segment of checkout matches someone (so every operator is exercised), and some
    // entities match none.
    let segments_hit: std::collections::BTreeSet<String> = adopted.iter().map(|row| row[2].to_string()).collect();
    assert_eq!(
        segments_hit,
        ["10", "12", "9", "null"].map(str::to_owned).into(),
        "the fixture exercises every segment"
    );
    app.stop().await;

    // A restart does not adopt again, and new changes carry on from Flagr's ids.
    let again = spawn_app_on_database(&database.url).await;
    assert_eq!(ids(&again.get("/flags/3/snapshots").await.ok()), [5, 2, 1]);
    let created = again
        .post("/flags", json!({"key": "fresh", "description": "new"}))
        .await
        .ok();
    assert_eq!(created["id"], 8);
    assert_eq!(flagr_dump(&database.url).await, before);
}

#[tokio::test]
async fn a_database_of_a_third_kind_is_refused_with_nothing_written() {
    let database = test_database().await;
    execute_sql_on(
        &database.url,
        "CREATE TABLE invoices (id BIGINT PRIMARY KEY, total BIGINT)",
    )
    .await;
    let mut config = Config::for_database(database.url.clone());
    config.secret_key = Some(test_secret_key());
    let error = bunting::Application::build(config)
        .await
        .err()
        .expect("start-up refuses the database");
    let message = format!("{error:#}");
    assert!(
        message.contains("neither empty, nor Bunting's, nor Flagr's"),
        "{message}"
    );
    assert!(message.contains("invoices"), "{message}");
    assert_eq!(tables(&database.url).await, ["invoices"]);
}

/// A Flagr database with the fixture's rows.
async fn flagr_database() -> crate::helpers::TestDatabase {
    let database = test_database().await;
    execute_sql_on(&database.url, schema(&database.url)).await;
    execute_flagr_sql(&database.url, DATA).await;
    database
}

/// Flagr at work after the adoption: a new flag, and a segment's rollout changed.
const FLAGR_WRITES: &str = "\
INSERT INTO flags VALUES (8, '2024-02-01 00:00:00+00:00', '2024-02-01 00:00:00+00:00', NULL, 'fresh', \
 'new in Flagr', 'ann@example.com', 'ann@example.com', true, 0, '', false, 'user');
UPDATE segments SET rollout_percent = 30, updated_at = '2024-02-01 00:00:00+00:00' WHERE id = 10";

const FLAGR_WROTE: &str = "Flagr wrote to its tables in this database after Bunting adopted them";

/// The log of the real binary serving `database` up to the line with its address.
fn start_up_log(database: &DatabaseUrl) -> String {
    let server = until_serving(bunting(database, "serve").spawn().expect("the binary starts")).unwrap();
    server.log.join("\n")
}

/// Runs the binary with `args` to its end; its stdout, or the test fails with its output.
fn run(database: &DatabaseUrl, args: &[&str]) -> Result<String, String> {
    let output = bunting(database, args[0])
        .args(&args[1..])
        .output()
        .expect("the binary runs");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(describe(&output))
    }
}

fn segment_rollouts(flag: &Value) -> Vec<(i64, i64)> {
    flag["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| {
            (
                segment["id"].as_i64().unwrap(),
                segment["rolloutPercent"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_flagr_write_after_the_adoption_is_reported_then_adopted_again_on_request() {
    let database = flagr_database().await;
    let first = start_up_log(&database.url);
    assert!(first.contains("adopted Flagr's database"), "{first}");
    assert!(!first.contains(FLAGR_WROTE), "{first}");

    execute_flagr_sql(&database.url, FLAGR_WRITES).await;
    let warned = start_up_log(&database.url);
    assert!(warned.contains(FLAGR_WROTE), "{warned}");
    assert!(
        warned.contains("Run `bunting import --from-flagr-db` to adopt them again"),
        "{warned}"
    );

    let output = run(&database.url, &["import", "--from-flagr-db"]).unwrap();
    assert!(
        output.contains("1 flags created, 1 updated (deletions and restores included), 0 removed, 2 unchanged"),
        "{output}"
    );
    let app = spawn_app_on_database(&database.url).await;
    assert_eq!(ids(&app.get("/flags").await.ok()), [3, 7, 8]);
    assert_eq!(ids(&app.get("/flags?deleted=true").await.ok()), [4]);
    assert_eq!(app.get("/flags/8").await.ok()["key"], "fresh");
    assert_eq!(
        segment_rollouts(&app.get("/flags/3").await.ok()),
        [(9, 100), (12, 100), (10, 30)]
    );
    // Each change is in the change log (so webhooks hear of it), after Flagr's snapshots.
    let snapshots = app.get("/flags/3/snapshots").await.ok();
    assert_eq!(ids(&snapshots)[1..], [5, 2, 1]);
    assert_eq!(snapshots[0]["updatedBy"], "import");
    assert_eq!(app.get("/flags/8/snapshots").await.ok().as_array().unwrap().len(), 1);
    app.stop().await;

    let after = start_up_log(&database.url);
    assert!(!after.contains(FLAGR_WROTE), "{after}");
    // Nothing new in Flagr's tables: adopting again changes nothing.
    let again = run(&database.url, &["import", "--from-flagr-db"]).unwrap();
    assert!(again.contains("0 flags created, 0 updated"), "{again}");
}

#[tokio::test]
async fn adopting_again_refuses_to_lose_changes_made_in_bunting_unless_forced() {
    let database = flagr_database().await;
    let app = spawn_app_on_database(&database.url).await;
    assert_eq!(app.create_flag("made_in_bunting").await["id"], 8);
    assert_eq!(app.create_flag("also_in_bunting").await["id"], 9);
    execute_flagr_sql(&database.url, FLAGR_WRITES).await;

    let refused = run(&database.url, &["import", "--from-flagr-db"]).unwrap_err();
    assert!(
        refused.contains(
            "flags were changed in Bunting since it adopted Flagr's database (also_in_bunting, made_in_bunting)"
        ) && refused.contains("--force"),
        "{refused}"
    );
    assert_eq!(ids(&app.get("/flags").await.ok()), [3, 7, 8, 9]);
    assert_eq!(app.get("/flags/8").await.ok()["key"], "made_in_bunting");

    let output = run(&database.url, &["import", "--from-flagr-db", "--force"]).unwrap();
    assert!(output.contains("0 flags created, 2 updated"), "{output}");
    assert!(output.contains("1 removed"), "{output}");
    assert_eq!(ids(&app.get("/flags").await.ok()), [3, 7, 8]);
    assert_eq!(app.get("/flags/8").await.ok()["key"], "fresh");
    app.get("/flags/9").await.expect(404);
    // The removed flag's key is free again.
    app.create_flag("also_in_bunting").await;
}

#[tokio::test]
async fn migrate_from_flagr_dry_run_lists_what_it_would_bring_and_writes_nothing() {
    let database = flagr_database().await;
    let file = |database: &DatabaseUrl| match database {
        DatabaseUrl::Sqlite(path) => Some(std::fs::read(path).unwrap()),
        DatabaseUrl::Postgres(_) | DatabaseUrl::Mysql(_) => None,
    };
    let (bytes, rows, before) = (
        file(&database.url),
        flagr_dump(&database.url).await,
        tables(&database.url).await,
    );

    let output = run(&database.url, &["migrate", "--from-flagr", "--dry-run"]).unwrap();
    for line in [
        "would bring over 3 flags (2 live, 1 deleted)",
        "live    id 3      key checkout",
        "deleted id 4      key banner",
        "live    id 7      key pricing",
        "with 4 segments, 4 variants, 12 constraints, 5 distributions, 2 tags, 3 entity types, and 6 snapshots",
        "nothing was written",
    ] {
        assert!(output.contains(line), "{line:?} missing from:\n{output}");
    }
    assert_eq!(tables(&database.url).await, before, "no table was created");
    assert_eq!(flagr_dump(&database.url).await, rows);
    assert_eq!(file(&database.url), bytes, "the SQLite file changed");

    // Without --dry-run it adopts, as start-up does; a second run has nothing to adopt.
    run(&database.url, &["migrate", "--from-flagr"]).unwrap();
    assert!(tables(&database.url).await.contains(&"bunting_flags".to_owned()));
    let again = run(&database.url, &["migrate", "--from-flagr"]).unwrap();
    assert!(again.contains("Bunting adopted this Flagr database already"), "{again}");
    let dry = run(&database.url, &["migrate", "--from-flagr", "--dry-run"]).unwrap_err();
    assert!(
        dry.contains("Bunting adopted this Flagr database already; `bunting import --from-flagr-db` adopts it again"),
        "{dry}"
    );
    let app = spawn_app_on_database(&database.url).await;
    assert_eq!(ids(&app.get("/flags").await.ok()), [3, 7]);
}

#[tokio::test]
async fn migrate_from_flagr_refuses_a_database_that_is_not_flagrs_with_nothing_written() {
    let database = test_database().await;
    for args in [
        &["migrate", "--from-flagr"][..],
        &["migrate", "--from-flagr", "--dry-run"],
    ] {
        let refused = run(&database.url, args).unwrap_err();
        assert!(
            refused.contains("this is not Flagr's database (it is empty; Flagr's has the tables flags, segments"),
            "{refused}"
        );
        assert!(tables(&database.url).await.is_empty(), "{args:?} wrote tables");
    }
    // Bunting's own database, never adopted from Flagr.
    spawn_app_on_database(&database.url).await.stop().await;
    let refused = run(&database.url, &["migrate", "--from-flagr"]).unwrap_err();
    assert!(
        refused.contains("it is Bunting's, and was not adopted from Flagr"),
        "{refused}"
    );
    let refused = run(&database.url, &["import", "--from-flagr-db"]).unwrap_err();
    assert!(refused.contains("was not adopted from Flagr"), "{refused}");
}

#[tokio::test]
async fn a_flagr_snapshot_that_cannot_be_read_stops_the_adoption_with_nothing_written() {
    let database = flagr_database().await;
    execute_sql_on(
        &database.url,
        "UPDATE flag_snapshots SET flag = 'not json' WHERE id = 2",
    )
    .await;
    let (rows, before) = (flagr_dump(&database.url).await, tables(&database.url).await);
    let mut config = Config::for_database(database.url.clone());
    config.secret_key = Some(test_secret_key());
    let error = bunting::Application::build(config)
        .await
        .err()
        .expect("start-up refuses the adoption");
    let message = format!("{error:#}");
    assert!(
        message
            .contains("cannot adopt Flagr's database: flag_snapshots row 2 (of flag 3) does not hold a flag as JSON"),
        "{message}"
    );
    assert!(message.contains("nothing was written"), "{message}");
    let refused = run(&database.url, &["migrate", "--from-flagr", "--dry-run"]).unwrap_err();
    assert!(refused.contains("flag_snapshots row 2"), "{refused}");
    // Not even Bunting's tables (which MySQL would commit on their own).
    assert_eq!(tables(&database.url).await, before);
    assert_eq!(flagr_dump(&database.url).await, rows);
}

#[tokio::test]
async fn an_adoption_interrupted_after_buntings_tables_were_created_is_completed_at_the_next_start() {
    let database = flagr_database().await;
    let before = flagr_dump(&database.url).await;
    // The real binary, which exits: a server started in this process would keep its connections
    // (and SQLite's locks) open beside the binaries this test starts next.
    run(&database.url, &["migrate"]).unwrap();
    // What a failed adoption leaves on MySQL, which commits each CREATE on its own while the
    // adoption's one transaction is rolled back: Bunting's tables, empty, and no adoption recorded.
    execute_sql_on(
        &database.url,
        "DELETE FROM change_events; DELETE FROM bunting_flags; DELETE FROM bunting_tags; \
         DELETE FROM entity_types; DELETE FROM flagr_adoption",
    )
    .await;

    let log = start_up_log(&database.url);
    assert!(
        log.contains("adopted Flagr's database: 3 flags (1 of them deleted) and 6 snapshots"),
        "{log}"
    );
    // Adopted once more only because nothing was: now it is recorded, and a restart leaves it.
    let again = start_up_log(&database.url);
    assert!(!again.contains("adopted Flagr's database"), "{again}");
    let app = spawn_app_on_database(&database.url).await;
    assert_eq!(ids(&app.get("/flags").await.ok()), [3, 7]);
    assert_eq!(ids(&app.get("/flags?deleted=true").await.ok()), [4]);
    assert_eq!(ids(&app.get("/flags/3/snapshots").await.ok()), [5, 2, 1]);
    assert_eq!(app.create_flag("fresh").await["id"], 8);
    assert_eq!(flagr_dump(&database.url).await, before);
}
