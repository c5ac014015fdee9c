//! Bunting's persistence. Each public method of [`Store`] is one transaction; no sqlx type
//! leaves this crate.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any` driver: the SQL is
//! written once in the dialect both accept, and [`Backend`] names the few places that differ
//! (row locking). The behavioural tests run against both backends.
//!
//! Layout:
//! - [`connect`](connect()): pool set-up per backend (`pool`).
//! - `migrations`: the append-only schema history.
//! - `flags`: flag mutations (read, apply a core command, write, append the change event) and reads.
//! - `changes`: reads of the change log (history, Flagr's snapshots).

mod changes;
mod flags;
mod migrations;
mod pool;

pub use changes::{ChangeQuery, SortOrder};
pub use pool::{Backend, DatabaseUrl, connect};

use sqlx::AnyPool;

/// The environment every flag belongs to until environments can be managed.
pub const DEFAULT_ENVIRONMENT: EnvironmentId = 1;

pub type EnvironmentId = i64;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The command was refused by a domain rule (unknown id, invalid value).
    #[error(transparent)]
    Mutation(#[from] bunting_core::mutation::MutationError),
    /// A unique value (a flag key) is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The database failed or held data this version cannot read.
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Database(format!("stored document is not valid: {error}"))
    }
}

/// The database behind the server.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for checked-out connections to return.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
