//! The schema history: append-only, applied in order at start-up and by `bunting migrate`.
//! Never edit an applied migration; add a new one.
//!
//! Before anything is written the database is told apart: empty, Bunting's, Flagr's (adopted in
//! the same transaction, see `flagr`; on MySQL, which commits each `CREATE` on its own, in one
//! transaction after Bunting's tables are created), or something else, which is refused with
//! nothing written.

use std::borrow::Cow;

use sqlx::{Any, Row, Transaction};

use crate::codec;
use crate::{Backend, Store, StoreError, flagr};

struct Migration {
    version: i64,
    name: &'static str,
    /// The statements, for SQLite and PostgreSQL, and for MySQL unless `mysql` says otherwise.
    sql: &'static str,
    mysql: OnMysql,
}

/// What a migration runs on MySQL.
enum OnMysql {
    /// The shared statements, which MySQL takes as they are.
    Same,
    /// Statements in MySQL's dialect.
    Own(&'static str),
    /// Nothing: MySQL's first migration created the schema the earlier migrations reach.
    InBaseline,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
        mysql: OnMysql::Own(include_str!("../migrations/mysql/0001_init.sql")),
    },
    Migration {
        version: 2,
        name: "webhooks",
        sql: include_str!("../migrations/0002_webhooks.sql"),
        mysql: OnMysql::InBaseline,
    },
    Migration {
        version: 3,
        name: "webhook_failing_since",
        sql: include_str!("../migrations/0003_webhook_failing_since.sql"),
        mysql: OnMysql::InBaseline,
    },
    Migration {
        version: 4,
        name: "flag_tables_renamed",
        sql: include_str!("../migrations/0004_flag_tables_renamed.sql"),
        mysql: OnMysql::InBaseline,
    },
    Migration {
        version: 5,
        name: "flagr_adoption",
        sql: include_str!("../migrations/0005_flagr_adoption.sql"),
        mysql: OnMysql::InBaseline,
    },
    Migration {
        version: 6,
        name: "flagr_adoption_change_seq",
        sql: include_str!("../migrations/0006_flagr_adoption_change_seq.sql"),
        mysql: OnMysql::InBaseline,
    },
    Migration {
        version: 7,
        name: "environments",
        sql: include_str!("../migrations/0007_environments.sql"),
        mysql: OnMysql::InBaseline,
    },
    Migration {
        version: 8,
        name: "webhook_url_password",
        sql: include_str!("../migrations/0008_webhook_url_password.sql"),
        mysql: OnMysql::Same,
    },
    Migration {
        version: 9,
        name: "webhook_all_environments",
        sql: include_str!("../migrations/0009_webhook_all_environments.sql"),
        mysql: OnMysql::Same,
    },
    Migration {
        version: 10,
        name: "api_tokens",
        sql: include_str!("../migrations/0010_api_tokens.sql"),
        mysql: OnMysql::Same,
    },
];

/// Takes MySQL's migration lock for this database, waiting up to a minute: 1 when taken. Lock
/// names are the server's, so the name is the database's.
const MYSQL_MIGRATION_LOCK: &str = "SELECT GET_LOCK(CONCAT('bunting migrations ', MD5(DATABASE())), 60)";
const MYSQL_MIGRATION_UNLOCK: &str = "SELECT RELEASE_LOCK(CONCAT('bunting migrations ', MD5(DATABASE())))";

/// The migration that renames Bunting's `flags` and `tags` tables.
const RENAMING: i64 = 4;

/// What a database holds before migrating.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Empty,
    Bunting,
    Flagr,
    /// Tables of neither, named.
    Other(Vec<String>),
}

/// What migrating must find (`bunting migrate` or `bunting migrate --from-flagr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Any database Bunting can use: empty, its own, or Flagr's (adopted).
    Usable,
    /// Flagr's, adopted now or before; anything else is refused with nothing written.
    Flagr,
}

fn classify(tables: &[String]) -> Found {
    let has = |name: &str| tables.iter().any(|table| table == name);
    if tables.is_empty() {
        Found::Empty
    } else if has("schema_migrations") {
        Found::Bunting
    } else if flagr::TABLES.iter().all(|table| has(table)) {
        Found::Flagr
    } else {
        Found::Other(tables.to_vec())
    }
}

/// The statements of `migration` for this database; `None` when it has nothing to do. Beside
/// Flagr's tables the first migration creates Bunting's flag and tag tables under the names the
/// renaming migration gives them, as `flags` and `tags` are Flagr's, and the renaming is skipped.
fn statements(migration: &Migration, backend: Backend, beside_flagr: bool) -> Option<Cow<'static, str>> {
    if backend == Backend::Mysql {
        return match migration.mysql {
            OnMysql::Same => Some(Cow::Borrowed(migration.sql)),
            OnMysql::Own(sql) => Some(Cow::Borrowed(sql)),
            OnMysql::InBaseline => None,
        };
    }
    match migration.version {
        1 if beside_flagr => Some(Cow::Owned(
            migration
                .sql
                .replace("CREATE TABLE flags (", "CREATE TABLE bunting_flags (")
                .replace("CREATE TABLE tags (", "CREATE TABLE bunting_tags ("),
        )),
        RENAMING if beside_flagr => None,
        _ => Some(Cow::Borrowed(migration.sql)),
    }
}

/// Whether Flagr's tables sit beside Bunting's own: Bunting adopted them before, or (see
/// [`adoption_pending`]) created its tables to adopt them and has yet to.
fn beside_bunting(found: &Found, tables: &[String]) -> bool {
    *found == Found::Bunting
        && flagr::TABLES
            .iter()
            .all(|flagr| tables.iter().any(|table| table == flagr))
}

/// Whether Flagr's tables beside Bunting's are still to be adopted: no adoption is recorded and
/// Bunting holds no flag, tag or change. MySQL commits each `CREATE` on its own, so an adoption
/// that failed after creating Bunting's tables (its one transaction rolled back) leaves this; the
/// next start adopts.
async fn adoption_pending(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    found: &Found,
    tables: &[String],
) -> Result<bool, StoreError> {
    if !beside_bunting(found, tables) || !tables.iter().any(|table| table == "flagr_adoption") {
        return Ok(false);
    }
    for table in ["flagr_adoption", "bunting_flags", "bunting_tags", "change_events"] {
        let any = codec::query(backend, format!("SELECT 1 AS found FROM {table} LIMIT 1"))
            .fetch_optional(&mut **tx)
            .await?;
        if any.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Refuses a database that is neither Flagr's nor adopted from Flagr, saying what it is.
fn not_flagrs(found: &Found) -> StoreError {
    let what = match found {
        Found::Empty => "it is empty".to_owned(),
        Found::Bunting => "it is Bunting's, and was not adopted from Flagr".to_owned(),
        Found::Flagr => "it is".to_owned(),
        Found::Other(tables) => format!("it holds the tables {}", tables.join(", ")),
    };
    StoreError::Invalid(format!(
        "this is not Flagr's database ({what}; Flagr's has the tables {}); nothing was written",
        flagr::TABLES.join(", ")
    ))
}

/// What adopting Flagr's database would bring over, read in a read-only transaction that is
/// rolled back: nothing is written, not even Bunting's migrations table.
pub async fn preview_flagr_adoption(url: &crate::DatabaseUrl) -> Result<flagr::AdoptionPlan, StoreError> {
    let pool = crate::pool::open_for_reading_only(url).await?;
    let backend = url.backend();
    let mut tx = match backend {
        Backend::Sqlite => pool.begin().await?,
        Backend::Postgres => pool.begin_with("BEGIN READ ONLY").await?,
        Backend::Mysql => pool.begin_with("START TRANSACTION READ ONLY").await?,
    };
    let tables = tables(&mut tx, backend).await?;
    let found = classify(&tables);
    let plan = if found == Found::Flagr || adoption_pending(&mut tx, backend, &found, &tables).await? {
        flagr::AdoptionPlan::read(&mut tx).await
    } else if beside_bunting(&found, &tables) {
        Err(StoreError::Invalid(
            "Bunting adopted this Flagr database already; `bunting import --from-flagr-db` adopts it again".to_owned(),
        ))
    } else {
        Err(not_flagrs(&found))
    };
    tx.rollback().await?;
    pool.close().await;
    plan
}

/// The tables of the database (PostgreSQL: of the current schema; MySQL: of the current
/// database).
async fn tables(tx: &mut Transaction<'static, Any>, backend: Backend) -> Result<Vec<String>, StoreError> {
    let query = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY name"
        }
        Backend::Mysql => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY name"
        }
    };
    let rows = codec::query(backend, query).fetch_all(&mut **tx).await?;
    rows.iter().map(|row| Ok(row.try_get("name")?)).collect()
}

impl Store {
    /// Applies every migration the database has not seen, all in one transaction that holds the
    /// migration lock from its first statement: instances starting together take turns, and each
    /// finds the schema as the one before it left it (creating the migrations table included).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrate_expecting(Expect::Usable).await
    }

    /// [`migrate`](Store::migrate), refusing with nothing written a database that is not what
    /// `expect` says.
    pub async fn migrate_expecting(&self, expect: Expect) -> Result<(), StoreError> {
        if self.backend != Backend::Mysql {
            return self.migrate_locked(expect).await;
        }
        // MySQL commits before and after every CREATE or ALTER, so no transaction can hold the
        // migration lock; a named lock, held by a connection of its own, does.
        let mut holder = self.pool.acquire().await?;
        let taken: Option<i64> = codec::query_scalar(self.backend, MYSQL_MIGRATION_LOCK)
            .fetch_one(&mut *holder)
            .await?;
        if taken != Some(1) {
            return Err(StoreError::Conflict(
                "another instance has been migrating this database for a minute; try again when it is done".to_owned(),
            ));
        }
        let migrated = self.migrate_locked(expect).await;
        codec::query(self.backend, MYSQL_MIGRATION_UNLOCK)
            .execute(&mut *holder)
            .await?;
        migrated
    }

    /// [`migrate_expecting`](Store::migrate_expecting) under the migration lock: SQLite's write
    /// lock and PostgreSQL's advisory lock are the migrating transaction's; MySQL's is taken
    /// before.
    async fn migrate_locked(&self, expect: Expect) -> Result<(), StoreError> {
        let mut tx = match self.backend {
            // The write lock at once, not at the first write: by then another process may have
            // migrated, and a transaction that read before that write cannot write any more.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                codec::query(self.backend, "SELECT pg_advisory_xact_lock(7246661)")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
            Backend::Mysql => self.pool.begin().await?,
        };
        let tables = tables(&mut tx, self.backend).await?;
        let found = classify(&tables);
        if let Found::Other(others) = &found {
            return Err(StoreError::Invalid(format!(
                "refusing to use this database: it is neither empty, nor Bunting's, nor Flagr's \
                 (it holds the tables {}); nothing was written. Point Bunting at an empty database, \
                 one of its own, or Flagr's",
                others.join(", ")
            )));
        }
        let pending = adoption_pending(&mut tx, self.backend, &found, &tables).await?;
        let adopted_before = beside_bunting(&found, &tables) && !pending;
        let adopting = found == Found::Flagr || pending;
        if expect == Expect::Flagr && !adopting && !adopted_before {
            return Err(not_flagrs(&found));
        }
        if expect == Expect::Flagr && adopted_before {
            tracing::info!(
                "Bunting adopted this Flagr database already; `bunting import --from-flagr-db` adopts it again"
            );
        }
        let beside_flagr = found == Found::Flagr;
        if adopting {
            tracing::info!("this database holds Flagr's tables: adopting them, which leaves them as they are");
        }
        if adopting && self.backend == Backend::Mysql {
            // MySQL commits each CREATE on its own, so Flagr's rows are read and checked before
            // the first: a flag Flagr's loader would refuse stops the adoption with nothing
            // written.
            flagr::AdoptionPlan::read(&mut tx).await?;
        }
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let applied: Vec<i64> = codec::query(self.backend, "SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get("version"))
            .collect::<Result<_, _>>()?;
        let pending: Vec<&Migration> = MIGRATIONS
            .iter()
            .filter(|migration| !applied.contains(&migration.version))
            .collect();
        for migration in &pending {
            if let Some(sql) = statements(migration, self.backend, beside_flagr) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.into_owned()))
                    .execute(&mut *tx)
                    .await?;
            }
            codec::query(
                self.backend,
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .execute(&mut *tx)
            .await?;
        }
        if adopting && self.backend == Backend::Mysql {
            // The migrations committed as they went: the adoption is a transaction of its own.
            tx.commit().await?;
            tx = self.pool.begin().await?;
        }
        let adopted = if adopting {
            match flagr::adopt(&mut tx).await {
                Ok(adoption) => Some(adoption),
                Err(error) if self.backend == Backend::Mysql => {
                    tracing::error!(
                        "adopting Flagr's tables failed, so nothing of Flagr's was brought over and Flagr's \
                         tables are as they were; Bunting's own tables were created (empty), as MySQL commits \
                         each CREATE on its own, and the next start adopts Flagr's tables again"
                    );
                    return Err(error);
                }
                Err(error) => return Err(error),
            }
        } else {
            if adopted_before {
                flagr::check_unchanged(&mut tx).await?;
            }
            None
        };
        tx.commit().await?;
        if let Some(adoption) = adopted {
            tracing::info!("adopted Flagr's database: {adoption}");
        }
        for migration in pending {
            tracing::info!(version = migration.version, name = migration.name, "applied migration");
        }
        Ok(())
    }
}
