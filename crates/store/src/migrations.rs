//! The schema history: append-only, applied in order at start-up and by `bunting migrate`.
//! Never edit an applied migration; add a new one.

use sqlx::Row;

use crate::{Backend, Store, StoreError};

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
];

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
            sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(migration.name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        for migration in pending {
            tracing::info!(version = migration.version, name = migration.name, "applied migration");
        }
        Ok(())
    }
}
