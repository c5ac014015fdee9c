//! Keeping the evaluation cache fresh with changes this instance did not make.
//!
//! With a database, every instance follows the change log: it asks for the flags changed after
//! the last sequence it applied when another instance announces a change (PostgreSQL) and each
//! refresh interval in any case, so instances sharing a PostgreSQL database converge at once,
//! or within one interval when an announcement is lost. (Its own changes it applies at once,
//! after commit.) How long other instances' changes took to arrive is a metric.
//! In eval-only mode the flag file or URL is read again each interval and, when its content
//! changed and it still validates, replaces every flag; a file that no longer validates keeps
//! the flags of the last good one, as in Flagr.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bunting_core::eval::import;
use bunting_core::flag::StoredFlag;
use bunting_store::{ChangeStamp, EnvironmentId, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::cache::Applied;
use super::{EvalCache, EvalCaches};
use crate::clock::Clock;
use crate::config::Storage;
use crate::metrics::Metrics;
use crate::periodic::{FirstRound, Rounds};
use crate::service::changes::ChangeWakeups;

/// Follows the change log into every environment's evaluation cache.
pub(crate) struct StoreFollower {
    pub(crate) store: Store,
    pub(crate) caches: Arc<EvalCaches>,
    /// Other instances' change announcements, which start a read before the interval is up.
    pub(crate) wakeups: ChangeWakeups,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: Option<Arc<Metrics>>,
}

impl StoreFollower {
    /// Reads the log when a change is announced and at least every `interval`, until `shutdown`.
    pub(crate) async fn run(self, interval: Duration, shutdown: watch::Receiver<bool>) {
        let mut rounds = Rounds::every(interval, FirstRound::AfterInterval, shutdown);
        loop {
            tokio::select! {
                more = rounds.next() => if !more { return },
                () = self.wakeups.notified() => {}
            }
            self.catch_up().await;
        }
    }

    async fn catch_up(&self) {
        for (environment, cache) in self.caches.all() {
            if let Err(error) = self.catch_up_environment(environment, &cache).await {
                tracing::warn!(%error, environment, "cannot read flag changes; evaluation keeps the flags it has");
            }
        }
    }

    async fn catch_up_environment(&self, environment: EnvironmentId, cache: &EvalCache) -> Result<(), StoreError> {
        let since = self.store.changes_since(environment, cache.log_seq()).await?;
        // The flags are read only from the first change the cache lacks: an instance woken by
        // the announcement of its own change reads none.
        let flags = match cache.first_missing(&since.changes) {
            Some(first) => {
                self.store
                    .flags_changed_between(environment, first - 1, since.seq)
                    .await?
            }
            None => Vec::new(),
        };
        let applied = cache.apply(flags, Some(since.seq));
        if let Some(metrics) = &self.metrics {
            let now = self.clock.now();
            for made in newly_served(&since.changes, &applied) {
                // Instances' clocks may disagree a little; a change is never seen before it is made.
                metrics.record_propagation(Duration::try_from(now - made).unwrap_or_default());
            }
        }
        Ok(())
    }
}

/// When each change evaluation now serves for the first time was made: the changes of the
/// flags just applied that are newer than the versions they replaced. A change this instance
/// made (applied at its commit) or one superseded before this read is not among them.
fn newly_served(changes: &[ChangeStamp], applied: &[Applied]) -> Vec<OffsetDateTime> {
    changes
        .iter()
        .filter(|change| {
            applied
                .iter()
                .any(|flag| flag.flag_id == change.flag_id && change.seq > flag.replaced)
        })
        .map(|change| change.occurred_at)
        .collect()
}

/// Reads the eval-only flag source: the whole file or response body.
pub(crate) async fn fetch(source: &Storage, client: &reqwest::Client) -> anyhow::Result<String> {
    match source {
        Storage::JsonFile(path) => tokio::fs::read_to_string(path)
            .await
            .with_context(|| format!("reading the flag file {}", path.display())),
        Storage::JsonHttp(url) => {
            let response = client
                .get(url)
                .send()
                .await
                .with_context(|| format!("fetching flags from {url}"))?;
            let status = response.status();
            anyhow::ensure!(status.is_success(), "fetching flags from {url}: HTTP {status}");
            response
                .text()
                .await
                .with_context(|| format!("reading flags from {url}"))
        }
        Storage::Database(_) => anyhow::bail!("a database is not a flag file"),
    }
}

/// Reads and validates the eval-only flag source; the start-up load, which must succeed.
pub(crate) async fn load_json(source: &Storage, client: &reqwest::Client) -> anyhow::Result<(String, Vec<StoredFlag>)> {
    let text = fetch(source, client).await?;
    let flags = parse(&text)?;
    Ok((text, flags))
}

fn parse(text: &str) -> anyhow::Result<Vec<StoredFlag>> {
    let imported = import(text).map_err(|error| anyhow::anyhow!("the flags do not validate: {error}"))?;
    for warning in &imported.warnings {
        tracing::warn!(%warning, "flag file");
    }
    Ok(imported.flags)
}

/// Re-reads the eval-only flag source every `interval` into `cache` until `shutdown`.
pub(crate) async fn follow_json(
    source: Storage,
    client: reqwest::Client,
    mut last: String,
    cache: Arc<EvalCache>,
    interval: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let mut rounds = Rounds::every(interval, FirstRound::AfterInterval, shutdown);
    while rounds.next().await {
        let text = match fetch(&source, &client).await {
            Ok(text) if text == last => continue,
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot read the flag source; keeping the last good flags"
                );
                continue;
            }
        };
        match parse(&text) {
            Ok(flags) => {
                tracing::info!(flags = flags.len(), "flag source changed; reloaded");
                cache.replace(flags, 0);
                last = text;
            }
            Err(error) => tracing::error!(
                error = format!("{error:#}"),
                "flag source is invalid; keeping the last good flags"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn only_changes_newer_than_the_replaced_version_are_newly_served() {
        let at = |second: u8| datetime!(2026-12-01 00:00:00 UTC).replace_second(second).unwrap();
        let change = |seq, flag_id| ChangeStamp {
            seq,
            flag_id,
            occurred_at: at(seq as u8),
        };
        // Flag 1 was at version 2 (this instance's own change), flag 2 is new to the cache,
        // flag 3 was not applied (its version here is already the newest).
        let changes = [change(2, 1), change(3, 1), change(4, 2), change(5, 3)];
        let applied = [
            Applied {
                flag_id: 1,
                replaced: 2,
            },
            Applied {
                flag_id: 2,
                replaced: 0,
            },
        ];
        assert_eq!(newly_served(&changes, &applied), [at(3), at(4)]);
    }
}
