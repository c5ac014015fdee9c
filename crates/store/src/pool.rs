//! Opening the database: which backend a connection string names, and the pool settings each
//! needs (SQLite: one writer and a few readers, WAL, a busy timeout; PostgreSQL and MySQL: a small
//! pool).

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool};

use crate::dsn::MysqlDsn;
use crate::migrations::Expect;
use crate::{Sealer, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MySQL's dialect, as MariaDB (10.6 and later) speaks it.
    Mysql,
}

impl Backend {
    /// The backend a connection talks to, for code that holds a connection but not the store.
    pub(crate) fn of(connection: &AnyConnection) -> Backend {
        match connection.backend_name() {
            "PostgreSQL" => Backend::Postgres,
            "MySQL" => Backend::Mysql,
            _ => Backend::Sqlite,
        }
    }

    /// The end of an INSERT that leaves a row whose key is taken as it is. MySQL has no
    /// `ON CONFLICT`; its `INSERT IGNORE` would ignore other errors too, so a duplicate key sets
    /// `column` to itself instead.
    pub(crate) fn on_conflict_do_nothing(self, column: &str) -> String {
        match self {
            Backend::Sqlite | Backend::Postgres => "ON CONFLICT DO NOTHING".to_owned(),
            Backend::Mysql => format!("ON DUPLICATE KEY UPDATE {column} = {column}"),
        }
    }
}

/// A validated database location. Printed (`Display` and `Debug`) without secrets: a
/// PostgreSQL URL's user, password and parameters are left out.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file path, or `:memory:`.
    Sqlite(String),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
    /// A MySQL or MariaDB database, from Flagr's Go DSN (boxed: it is several times the size of
    /// the others).
    Mysql(Box<MysqlDsn>),
}

impl DatabaseUrl {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Mysql(_) => Backend::Mysql,
        }
    }

    fn is_memory(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(path) if path == ":memory:" || path.starts_with("file::memory:"))
    }

    /// The path of a SQLite database file; `None` in memory and on PostgreSQL or MySQL.
    pub fn sqlite_file(&self) -> Option<&str> {
        match self {
            DatabaseUrl::Sqlite(_) if self.is_memory() => None,
            DatabaseUrl::Sqlite(path) => Some(
                path.strip_prefix("sqlite://")
                    .or_else(|| path.strip_prefix("sqlite:"))
                    .unwrap_or(path),
            ),
            DatabaseUrl::Postgres(_) | DatabaseUrl::Mysql(_) => None,
        }
    }

    /// The URL sqlx opens; a SQLite file is created when missing unless `access` only inspects.
    fn sqlx_url(&self, access: Access) -> String {
        match (self, self.sqlite_file()) {
            (DatabaseUrl::Postgres(url), _) => url.clone(),
            (DatabaseUrl::Mysql(dsn), _) => dsn.url(),
            (DatabaseUrl::Sqlite(_), None) => "sqlite::memory:".to_owned(),
            (DatabaseUrl::Sqlite(_), Some(path)) => {
                let mode = if access == Access::Inspect { "ro" } else { "rwc" };
                format!("sqlite://{path}?mode={mode}")
            }
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(_) if self.is_memory() => f.write_str("in-memory SQLite database"),
            DatabaseUrl::Sqlite(path) => write!(f, "SQLite database {path}"),
            DatabaseUrl::Postgres(url) => write!(f, "PostgreSQL database {}", postgres_location(url)),
            DatabaseUrl::Mysql(dsn) => write!(f, "{dsn}"),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Where a PostgreSQL URL points, `host:port/database`: without the user and password before the
/// `@`, and without the parameters after the `?`, which may name a password too.
fn postgres_location(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split_once('?').map_or(rest, |(location, _)| location);
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    // A socket directory and a database name may be percent-encoded; shown as written.
    let decode = |part: &str| percent_decode_str(part).decode_utf8_lossy().into_owned();
    format!("{}/{}", decode(host), decode(database))
}

fn install_drivers() {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
}

/// Opens the pools and brings the schema up to date; webhook secrets are sealed with `sealer`.
pub async fn connect(url: &DatabaseUrl, sealer: Sealer) -> Result<Store, StoreError> {
    connect_expecting(url, Expect::Usable, sealer).await
}

/// [`connect`](connect()), refusing a database that is not what `expect` says.
pub async fn connect_expecting(url: &DatabaseUrl, expect: Expect, sealer: Sealer) -> Result<Store, StoreError> {
    install_drivers();

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
        Backend::Postgres | Backend::Mysql => {
            let options = AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10));
            open(url, options, Access::ReadWrite).await?
        }
    };
    tracing::info!("opened the {url}");
    let mut store = Store {
        reads: pool.clone(),
        pool,
        backend,
        url: url.clone(),
        first_delivery_delay: Duration::ZERO,
        public_url: None,
        sealer,
        group: Default::default(),
    };
    store.migrate_expecting(expect).await?;
    // In WAL mode SQLite readers never wait for the writer, so reads (the API's lists, the
    // dispatcher's look at what is due) get connections of their own instead of queueing behind
    // every flag change and delivery record. An in-memory database exists only on its one
    // connection; PostgreSQL's and MySQL's pools already read in parallel.
    if backend == Backend::Sqlite && !url.is_memory() {
        let options = AnyPoolOptions::new().max_connections(READ_CONNECTIONS);
        store.reads = open(url, options, Access::ReadOnly).await?;
    }
    Ok(store)
}

/// One connection that cannot write, and leaves even a SQLite file's journal mode as it is: for
/// looking at a database without changing it.
pub(crate) async fn open_for_reading_only(url: &DatabaseUrl) -> Result<AnyPool, StoreError> {
    install_drivers();
    open(url, AnyPoolOptions::new().max_connections(1), Access::Inspect).await
}

/// Connections for reads on a SQLite file: one per core of the machines we size for.
const READ_CONNECTIONS: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
    /// Read-only, and the SQLite file is neither created nor switched to WAL.
    Inspect,
}

async fn open(url: &DatabaseUrl, options: AnyPoolOptions, access: Access) -> Result<AnyPool, StoreError> {
    let backend = url.backend();
    let in_memory = url.is_memory();
    let session_variables = match url {
        DatabaseUrl::Mysql(dsn) => dsn.session_variables.clone(),
        _ => Vec::new(),
    };
    // A ping before every acquire costs a round trip per transaction; broken connections
    // surface as errors on use instead.
    let options = options.test_before_acquire(false).after_connect(move |connection, _| {
        let session_variables = session_variables.clone();
        Box::pin(async move {
            if backend == Backend::Sqlite {
                if !in_memory && access != Access::Inspect {
                    connection.execute("PRAGMA journal_mode = WAL").await?;
                }
                connection.execute("PRAGMA busy_timeout = 5000").await?;
                connection.execute("PRAGMA synchronous = NORMAL").await?;
                connection.execute("PRAGMA foreign_keys = ON").await?;
                if access != Access::ReadWrite {
                    connection.execute("PRAGMA query_only = ON").await?;
                }
            }
            if backend == Backend::Mysql {
                // The Go driver sets the DSN's parameters it does not know as session variables,
                // written as given (`time_zone=%27UTC%27`); so does Bunting.
                for (name, value) in &session_variables {
                    connection
                        .execute(sqlx::AssertSqlSafe(format!("SET {name} = {value}")))
                        .await?;
                }
                if access != Access::ReadWrite {
                    connection.execute("SET SESSION TRANSACTION READ ONLY").await?;
                }
            }
            Ok(())
        })
    });
    options
        .connect(&url.sqlx_url(access))
        .await
        .map_err(|source| StoreError::opening(url.to_string(), source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_prints_without_its_secrets() {
        let cases = [
            (
                "postgres://bunting:s3cret@db.internal:5432/flags",
                "db.internal:5432/flags",
            ),
            (
                "postgresql://db.internal/flags?sslmode=require&password=s3cret",
                "db.internal/flags",
            ),
            ("postgres://user@127.0.0.1:5432/flags", "127.0.0.1:5432/flags"),
            (
                "postgres://u:p@%2Fvar%2Frun%2Fpostgresql/my%20flags",
                "/var/run/postgresql/my flags",
            ),
        ];
        for (url, location) in cases {
            let url = DatabaseUrl::Postgres(url.to_owned());
            assert_eq!(url.to_string(), format!("PostgreSQL database {location}"));
            assert_eq!(
                format!("{url:?}"),
                format!("DatabaseUrl(PostgreSQL database {location})")
            );
        }
    }

    #[test]
    fn a_sqlite_database_prints_its_path() {
        assert_eq!(
            DatabaseUrl::Sqlite("/var/lib/bunting/bunting.sqlite".to_owned()).to_string(),
            "SQLite database /var/lib/bunting/bunting.sqlite"
        );
        assert_eq!(
            DatabaseUrl::Sqlite(":memory:".to_owned()).to_string(),
            "in-memory SQLite database"
        );
    }
}
