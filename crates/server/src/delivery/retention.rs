//! Retention: finished deliveries older than `BUNTING_WEBHOOK_RETENTION` are pruned in the
//! background, hourly and once at start-up. Pending deliveries are never pruned.

use std::sync::Arc;
use std::time::Duration;

use bunting_store::Store;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::periodic::{FirstRound, Rounds};

const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub(crate) async fn prune_periodically(
    store: Store,
    clock: Arc<dyn Clock>,
    retention: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let mut rounds = Rounds::every(PRUNE_EVERY, FirstRound::Now, shutdown);
    while rounds.next().await {
        match store.prune_deliveries(clock.now() - retention).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned finished deliveries past retention"),
            Err(error) => tracing::warn!(%error, "cannot prune the delivery log; trying again later"),
        }
    }
}
