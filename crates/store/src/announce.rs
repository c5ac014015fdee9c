//! Change announcements between instances sharing a PostgreSQL database: each change's
//! transaction sends `NOTIFY bunting_changes` (delivered only if it commits, and only then), and
//! a [`ChangeListener`] holds a `LISTEN` connection that wakes its owner when one arrives.
//!
//! An announcement is a wake-up, never the change itself: whoever wakes reads the change log,
//! which stays the one source of truth. Announcements can be lost (a dropped connection, a
//! listener that is restarting), so readers keep polling the log as well. SQLite databases
//! belong to one process and announce nothing; MySQL has no notifications, so instances on it
//! learn of each other's changes by polling alone.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{Any, Transaction};

use crate::pool::DatabaseUrl;
use crate::{Backend, Store, StoreError, codec};

/// The channel every instance announces on and listens to.
const CHANNEL: &str = "bunting_changes";

/// The first wait before listening again after a failure, doubled after each failure up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Announces change `seq` when the transaction commits (PostgreSQL holds a transaction's
/// notifications until its commit and drops them on rollback).
pub(crate) async fn announce(tx: &mut Transaction<'static, Any>, backend: Backend, seq: i64) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        codec::query(backend, "SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(seq.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// A listener for changes announced by any instance on this database (this one included);
    /// `None` on SQLite and MySQL, which announce nothing. It connects on first use.
    pub fn change_listener(&self) -> Option<ChangeListener> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Some(ChangeListener {
                url: url.clone(),
                listener: None,
                failing: false,
                backoff: FIRST_BACKOFF,
            }),
            DatabaseUrl::Sqlite(_) | DatabaseUrl::Mysql(_) => None,
        }
    }
}

/// A `LISTEN` connection of its own, reconnecting with backoff when it fails.
pub struct ChangeListener {
    url: String,
    listener: Option<PgListener>,
    /// Whether the last attempt failed: a failure is logged once, not at every retry.
    failing: bool,
    backoff: Duration,
}

impl ChangeListener {
    /// Completes when a change may have been committed since the last call: a change was
    /// announced, or the listener has just (re)connected, so announcements made while it was
    /// not listening may have been missed. Never fails: while the database cannot be reached
    /// it retries, with growing waits, and the caller's poll of the change log carries on.
    pub async fn changed(&mut self) {
        loop {
            let Some(listener) = &mut self.listener else {
                match self.connect().await {
                    Ok(listener) => {
                        if self.failing {
                            tracing::info!("listening for change announcements again");
                        }
                        self.failing = false;
                        self.backoff = FIRST_BACKOFF;
                        self.listener = Some(listener);
                        return;
                    }
                    Err(error) => self.failed(error).await,
                }
                continue;
            };
            match listener.try_recv().await {
                // An announcement, or `None`: the connection was lost and has been replaced, and
                // what was announced in between was not heard.
                Ok(_) => return,
                Err(error) => {
                    self.listener = None;
                    self.failed(error).await;
                }
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    /// Logs the first of a run of failures, then waits before the next attempt.
    async fn failed(&mut self, error: sqlx::Error) {
        if !self.failing {
            tracing::warn!(
                %error,
                "cannot listen for change announcements; other instances' changes are seen at the next poll \
                 of the change log until listening works again"
            );
            self.failing = true;
        }
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}
