//! Bunting's persistence. Each public method of [`Store`] is one transaction (flag changes made
//! at the same time may share one, see `group_commit`); no sqlx type leaves this crate.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any` driver: the SQL is
//! written once in the dialect both accept, and [`Backend`] names the few places that differ
//! (row locking). The behavioural tests run against both backends.
//!
//! Layout:
//! - [`connect`](connect()): pool set-up per backend (`pool`).
//! - `migrations`: the append-only schema history.
//! - `flags`: flag mutations (read, apply a core command, write, append the change event) and reads.
//! - `flagr`: adopting a database Flagr wrote: its rows brought into Bunting's tables, its
//!   tables left as they are; adopting them again on request, and the dry run's listing.
//! - `changes`: the change log: appending in a mutation's transaction, and reads (history,
//!   Flagr's snapshots).
//! - `environments`: environments: reads and changes (create, rename, delete with their flags).
//! - `promotion`: promoting flags between environments, all or nothing, with a dry run.
//! - `webhooks`: webhook configuration changes and reads.
//! - `sealing`: the cipher that seals secrets at rest; `secrets`: sealing and opening them at
//!   the store's boundary, the start-up pass and re-sealing under a new key.
//! - `group_commit`: concurrent flag changes committed in one transaction, each with its own
//!   change event and answer.
//! - `outbox`: the deliveries a change causes, enqueued in its transaction.
//! - `queue`: the dispatcher's claims, attempt records, redelivery and pruning.
//! - `delivery_log`: the delivery log as users read it.
//! - `announce`: PostgreSQL's change announcements (NOTIFY at commit, LISTEN by other instances).
//! - `codec`: times, text and placeholders as both backends take them.

mod announce;
mod changes;
mod codec;
mod counters;
mod delivery_log;
pub mod dsn;
mod environments;
mod flagr;
mod flags;
mod group_commit;
mod migrations;
mod outbox;
mod pool;
mod promotion;
mod queue;
mod sealing;
mod secrets;
mod tokens;
mod webhooks;

pub use announce::ChangeListener;
pub use changes::{ChangeQuery, SortOrder};
pub use delivery_log::{Attempt, Delivery, DeliveryQuery, DeliveryStatus};
pub use flagr::{AdoptionPlan, Readoption};
pub use flags::{ChangeStamp, ChangesSince, FlagFilter};
pub use migrations::{Expect, preview_flagr_adoption};
pub use pool::{Backend, DatabaseUrl, connect, connect_expecting};
pub use promotion::{Promotion, PromotionSelection};
pub use queue::{AttemptRecord, ClaimedDelivery, NextStep, RedeliverError};
pub use sealing::{KeyError, Sealer, SecretKey};
pub use secrets::SealReport;
pub use webhooks::WebhookSummary;

use std::time::Duration;

use bunting_core::mutation::MutationError;
use bunting_core::webhook::config::WebhookError;
use sqlx::AnyPool;
use time::OffsetDateTime;

/// The default environment: the one the unprefixed Flagr API serves, and the only one before
/// environments could be managed.
pub const DEFAULT_ENVIRONMENT: EnvironmentId = 1;

pub type EnvironmentId = i64;

/// Why a store call failed. Each case is one kind of answer: not found, conflict, invalid, or
/// the database failing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object named does not exist (an unknown flag, segment, webhook or delivery id).
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the object's state forbids it now (a delivery being attempted).
    #[error("{0}")]
    Conflict(String),
    /// A domain rule refused the command (an invalid value, a flag key already taken).
    #[error("{0}")]
    Invalid(String),
    /// The database failed or held data this version cannot read.
    #[error(transparent)]
    Database(#[from] DatabaseError),
}

impl StoreError {
    /// The database gave up the transaction to break a deadlock (SQLSTATE 40001 on MySQL and
    /// PostgreSQL serialization, 40P01 on PostgreSQL): nothing of it was committed, and the same
    /// transaction again is expected to succeed.
    fn is_deadlock(&self) -> bool {
        match self {
            StoreError::Database(DatabaseError(Cause::Sqlx(sqlx::Error::Database(error)))) => {
                matches!(error.code().as_deref(), Some("40001" | "40P01"))
            }
            _ => false,
        }
    }

    /// Stored data this version cannot read.
    pub(crate) fn unreadable(what: String) -> StoreError {
        DatabaseError(Cause::Unreadable(what)).into()
    }

    /// A stored secret cannot be opened with the configured key.
    pub(crate) fn sealing(what: String) -> StoreError {
        DatabaseError(Cause::Sealed(what)).into()
    }

    /// The database could not be opened.
    pub(crate) fn opening(what: String, source: sqlx::Error) -> StoreError {
        DatabaseError(Cause::Open { what, source }).into()
    }
}

/// The database failing, with what failed as its `source()`; opaque so that no sqlx type
/// leaves this crate.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DatabaseError(Cause);

#[derive(Debug, thiserror::Error)]
enum Cause {
    #[error("database error")]
    Sqlx(#[source] sqlx::Error),
    #[error("cannot open the {what}")]
    Open {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored document is not valid")]
    Document(#[source] serde_json::Error),
    #[error("database error: {0}")]
    Unreadable(String),
    #[error("{0}")]
    Sealed(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        DatabaseError(Cause::Sqlx(error)).into()
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        DatabaseError(Cause::Document(error)).into()
    }
}

impl From<MutationError> for StoreError {
    fn from(error: MutationError) -> Self {
        match error {
            MutationError::NotFound(message) => StoreError::NotFound(message),
            MutationError::Invalid(message) => StoreError::Invalid(message),
        }
    }
}

impl From<WebhookError> for StoreError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::NotFound(message) => StoreError::NotFound(message),
            WebhookError::Invalid(message) => StoreError::Invalid(message),
        }
    }
}

impl From<RedeliverError> for StoreError {
    fn from(error: RedeliverError) -> Self {
        match error {
            RedeliverError::NotFound(_) => StoreError::NotFound(error.to_string()),
            RedeliverError::InFlight(_) => StoreError::Conflict(error.to_string()),
        }
    }
}

/// How many times a write is tried when the database ends it to break a deadlock.
const DEADLOCK_TRIES: usize = 3;

/// Runs the write transaction `attempt` again when the database chose it as a deadlock's victim.
/// On MySQL, InnoDB's gap locks can make a change's outbox rows and the dispatcher's claims wait
/// on each other; the database then ends one of them, and the user should not see a 500 for it.
async fn retrying_deadlocks<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if error.is_deadlock() && tries < DEADLOCK_TRIES => {
                tracing::debug!(tries, "write transaction ended to break a deadlock; trying again");
                tries += 1;
            }
            result => return result,
        }
    }
}

/// The database behind the server.
#[derive(Debug, Clone)]
pub struct Store {
    /// Every write, and reads that must be consistent with one (inside a mutation).
    pool: AnyPool,
    /// Reads outside any write; the same pool except on a SQLite file, where readers run beside
    /// the single writer.
    reads: AnyPool,
    backend: Backend,
    /// Where the database is, for connections outside the pools (a change listener's).
    url: DatabaseUrl,
    /// How long after a change its webhook deliveries become due (the retry schedule's first
    /// entry; zero by default).
    first_delivery_delay: Duration,
    /// Where the UI is served (`BUNTING_PUBLIC_URL`), for links in webhook messages.
    public_url: Option<String>,
    /// Seals webhook secrets on the way in and opens them on the way out.
    sealer: Sealer,
    /// Flag changes waiting to commit together.
    group: std::sync::Arc<group_commit::GroupCommit>,
}

impl Store {
    /// Sets how long after a change its webhook deliveries become due.
    pub fn with_first_delivery_delay(mut self, delay: Duration) -> Store {
        self.first_delivery_delay = delay;
        self
    }

    /// Links in webhook messages (Slack) point at the UI served at `url`.
    pub fn with_public_url(mut self, url: Option<String>) -> Store {
        self.public_url = url;
        self
    }

    fn first_attempt_at(&self, changed_at: OffsetDateTime) -> OffsetDateTime {
        changed_at + self.first_delivery_delay
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for checked-out connections to return.
    pub async fn close(&self) {
        self.pool.close().await;
        self.reads.close().await;
    }
}
