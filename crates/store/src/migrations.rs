//! The schema history: append-only, applied in order at start-up and by `bunting migrate`.
//! Never edit an applied migration; add a new one.
//!
//! Before anything is written the database is told apart: empty, Bunting's, Flagr's (adopted in
//! the same transaction, see `flagr`), or something else, which is refused with nothing written.

use std::borrow::Cow;

use sqlx::{Any, Row, Transaction};

use crate::{Backend, Store, StoreError, flagr};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "webhooks",
        sql: include_str!("../migrations/0002_webhooks.sql"),
    },
    Migration {
        version: 3,
        name: "webhook_failing_since",
        sql: include_str!("../migrations/0003_webhook_failing_since.sql"),
    },
    Migration {
        version: 4,
        name: "flag_tables_renamed",
        sql: include_str!("../migrations/0004_flag_tables_renamed.sql"),
    },
    Migration {
        version: 5,
        name: "flagr_adoption",
        sql: include_str!("../migrations/0005_flagr_adoption.sql"),
    },
];

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
fn statements(migration: &Migration, beside_flagr: bool) -> Option<Cow<'static, str>> {
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

/// The tables of the database (PostgreSQL: of the current schema).
async fn tables(tx: &mut Transaction<'static, Any>, backend: Backend) -> Result<Vec<String>, StoreError> {
    let query = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY name"
        }
    };
    let rows = sqlx::query(query).fetch_all(&mut **tx).await?;
    rows.iter().map(|row| Ok(row.try_get("name")?)).collect()
}

impl Store {
    /// Applies every migration the database has not seen, all in one transaction that holds the
    /// migration lock from its first statement: instances starting together take turns, and each
    /// finds the schema as the one before it left it (creating the migrations table included).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = match self.backend {
            // The write lock at once, not at the first write: by then another process may have
            // migrated, and a transaction that read before that write cannot write any more.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7246661)")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
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
        let beside_flagr = found == Found::Flagr;
        if beside_flagr {
            tracing::info!("this database holds Flagr's tables: adopting them, which leaves them as they are");
        }
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
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
            if let Some(sql) = statements(migration, beside_flagr) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.into_owned()))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(migration.name)
                .execute(&mut *tx)
                .await?;
        }
        let adopted = match found {
            Found::Flagr => Some(flagr::adopt(&mut tx).await?),
            Found::Bunting
                if flagr::TABLES
                    .iter()
                    .all(|flagr| tables.iter().any(|table| table == flagr)) =>
            {
                flagr::check_unchanged(&mut tx).await?;
                None
            }
            Found::Bunting | Found::Empty | Found::Other(_) => None,
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
