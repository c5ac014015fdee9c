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
    /// Applies every migration the database has not seen, each in its own transaction.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&self.pool)
            .await?;
        for migration in MIGRATIONS {
            let mut tx = self.pool.begin().await?;
            if self.backend == Backend::Postgres {
                // Instances starting together must not apply the same migration twice.
                sqlx::query("SELECT pg_advisory_xact_lock(7246661)")
                    .execute(&mut *tx)
                    .await?;
            }
            let applied = sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>("n")?;
            if applied > 0 {
                continue;
            }
            sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(migration.name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version = migration.version, name = migration.name, "applied migration");
        }
        Ok(())
    }
}
