//! Hearing about changes other instances commit: the store's change announcements (PostgreSQL's
//! LISTEN/NOTIFY) relayed as wake-ups for the change-log follower. A wake-up only says "read the
//! change log now"; the log says what changed, and the follower's poll still runs in case an
//! announcement is lost.

use std::sync::Arc;

use bunting_store::Store;
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, watch};

#[derive(Clone, Default)]
pub(crate) struct ChangeWakeups {
    wake: Arc<Notify>,
}

impl ChangeWakeups {
    /// Relays `store`'s change announcements until `shutdown`; returns at once on a database
    /// that makes none (SQLite).
    pub(crate) async fn relay(self, store: Store, mut shutdown: watch::Receiver<bool>) {
        let Some(mut listener) = store.change_listener() else {
            return;
        };
        loop {
            tokio::select! {
                () = listener.changed() => self.wake.notify_one(),
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Completes at the next announcement, or at once if one came since the last wait: several
    /// announcements during one read of the log wake the follower once more, not once each.
    pub(crate) fn notified(&self) -> Notified<'_> {
        self.wake.notified()
    }
}
