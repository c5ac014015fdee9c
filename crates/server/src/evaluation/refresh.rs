//! Keeping the evaluation cache fresh with changes this instance did not make.
//!
//! With a database, every instance follows the change log: each refresh interval it asks for
//! the flags changed after the last sequence it applied, so instances sharing a PostgreSQL
//! database converge within one interval. (Its own changes it applies at once, after commit.)
//! In eval-only mode the flag file or URL is read again each interval and, when its content
//! changed and it still validates, replaces every flag; a file that no longer validates keeps
//! the flags of the last good one, as in Flagr.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bunting_core::eval::import;
use bunting_core::flag::StoredFlag;
use bunting_store::Store;
use tokio::sync::watch;

use super::{EvalCache, EvalCaches};
use crate::config::Storage;
use crate::periodic::{FirstRound, Rounds};

/// Follows the change log into every environment's cache until `shutdown`.
pub(crate) async fn follow_store(
    store: Store,
    caches: Arc<EvalCaches>,
    interval: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let mut rounds = Rounds::every(interval, FirstRound::AfterInterval, shutdown);
    while rounds.next().await {
        for (environment, cache) in caches.all() {
            match store.flags_changed_since(environment, cache.log_seq()).await {
                Ok((flags, seq)) => cache.apply(flags, Some(seq)),
                Err(error) => tracing::warn!(%error, "cannot read flag changes; evaluation keeps the flags it has"),
            }
        }
    }
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
