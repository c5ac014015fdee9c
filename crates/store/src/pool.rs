//! Opening the database: which backend a connection string names, and the pool settings each
//! needs (SQLite: one writer and a few readers, WAL, a busy timeout; PostgreSQL: a small pool).

use std::sync::Once;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A validated database location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file path, or `:memory:`.
    Sqlite(String),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl DatabaseUrl {
    fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    fn is_memory(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(path) if path == ":memory:" || path.starts_with("file::memory:"))
    }

    fn sqlx_url(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(_) if self.is_memory() => "sqlite::memory:".to_owned(),
            DatabaseUrl::Sqlite(path) => {
                let path = path
                    .strip_prefix("sqlite://")
                    .or_else(|| path.strip_prefix("sqlite:"))
                    .unwrap_or(path);
                format!("sqlite://{path}?mode=rwc")
            }
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

/// Opens the pools and brings the schema up to date.
pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);

    let backend = url.backend();
    let pool = match backend {
        // SQLite allows one writer; one connection queues writers in-process instead of failing
        // them with SQLITE_BUSY, and keeps an in-memory database alive for the pool's lifetime.
        Backend::Sqlite => {
            let options = AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            open(url, options, Access::ReadWrite).await?
        }
        Backend::Postgres => {
            let options = AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10));
            open(url, options, Access::ReadWrite).await?
        }
    };
    let mut store = Store {
        reads: pool.clone(),
        pool,
        backend,
        first_delivery_delay: Duration::ZERO,
    };
    store.migrate().await?;
    // In WAL mode SQLite readers never wait for the writer, so reads (the API's lists, the
    // dispatcher's look at what is due) get connections of their own instead of queueing behind
    // every flag change and delivery record. An in-memory database exists only on its one
    // connection; PostgreSQL's pool already reads in parallel.
    if backend == Backend::Sqlite && !url.is_memory() {
        let options = AnyPoolOptions::new().max_connections(READ_CONNECTIONS);
        store.reads = open(url, options, Access::ReadOnly).await?;
    }
    Ok(store)
}

/// Connections for reads on a SQLite file: one per core of the machines we size for.
const READ_CONNECTIONS: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
}

async fn open(url: &DatabaseUrl, options: AnyPoolOptions, access: Access) -> Result<AnyPool, StoreError> {
    let backend = url.backend();
    let in_memory = url.is_memory();
    // A ping before every acquire costs a round trip per transaction; broken connections
    // surface as errors on use instead.
    let options = options.test_before_acquire(false).after_connect(move |connection, _| {
        Box::pin(async move {
            if backend == Backend::Sqlite {
                if !in_memory {
                    connection.execute("PRAGMA journal_mode = WAL").await?;
                }
                connection.execute("PRAGMA busy_timeout = 5000").await?;
                connection.execute("PRAGMA synchronous = NORMAL").await?;
                connection.execute("PRAGMA foreign_keys = ON").await?;
                if access == Access::ReadOnly {
                    connection.execute("PRAGMA query_only = ON").await?;
                }
            }
            Ok(())
        })
    });
    options
        .connect(&url.sqlx_url())
        .await
        .map_err(|error| StoreError::Database(format!("cannot open the {backend:?} database: {error}")))
}
