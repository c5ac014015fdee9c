//! Use cases: each takes what the HTTP layer parsed, calls the store once and does what must
//! follow a committed change (wake the dispatcher). `changes` relays other instances' change
//! announcements to the evaluation cache's follower. Must not build HTTP responses. The HTTP
//! layer reaches the store only through here: the store's query types it needs are re-exported
//! and store errors become [`ServiceError`].

pub(crate) mod changes;
pub(crate) mod environments;
pub(crate) mod flags;
pub(crate) mod tokens;
pub(crate) mod webhooks;

use std::sync::{Arc, Mutex};

use bunting_core::mutation::Origin;
use bunting_core::validation::{RANDOM_KEY_ALPHABET, RANDOM_KEY_SUFFIX_LENGTH};
use bunting_store::{DatabaseError, StoreError};
use rand::Rng;
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, oneshot};

use crate::clock::Clock;

pub(crate) use bunting_store::{ChangeQuery, SortOrder};

/// Why a service call failed: each case is one kind of answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    /// The object asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the object's state forbids it now.
    #[error("{0}")]
    Conflict(String),
    /// The request was refused by a domain rule.
    #[error("{0}")]
    Invalid(String),
    /// The database failed; the source chain says how.
    #[error(transparent)]
    Internal(DatabaseError),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(message) => ServiceError::NotFound(message),
            StoreError::Conflict(message) => ServiceError::Conflict(message),
            StoreError::Invalid(message) => ServiceError::Invalid(message),
            StoreError::Database(error) => ServiceError::Internal(error),
        }
    }
}

/// Wakes the webhook dispatcher after a change that may have enqueued deliveries, and lets a
/// caller wait until it has settled. It lives with the services that wake it rather than in
/// `delivery`, so the dispatcher can change webhooks through the webhook service without an
/// import circle.
#[derive(Clone, Default)]
pub struct DispatcherHandle {
    wake: Arc<Notify>,
    /// Callers of [`DispatcherHandle::settled`], until the dispatcher takes them.
    settling: Arc<Mutex<Vec<oneshot::Sender<()>>>>,
}

impl DispatcherHandle {
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Completes at the next [`DispatcherHandle::wake`], or at once if one came since the last.
    pub(crate) fn notified(&self) -> Notified<'_> {
        self.wake.notified()
    }

    /// Waits until every delivery due now has been attempted and its attempt recorded, with
    /// nothing in flight: a dispatcher round settles the question, so a test (or an operator's
    /// tool) can tell "nothing more will be sent now" without waiting and hoping. Never
    /// completes if no dispatcher runs.
    pub async fn settled(&self) {
        let (settled, waiting) = oneshot::channel();
        if let Ok(mut settling) = self.settling.lock() {
            settling.push(settled);
        }
        self.wake();
        let _ = waiting.await;
    }

    /// The callers waiting to hear that all is settled, for the dispatcher to answer.
    pub(crate) fn take_settling(&self) -> Vec<oneshot::Sender<()>> {
        self.settling
            .lock()
            .map(|mut settling| std::mem::take(&mut *settling))
            .unwrap_or_default()
    }
}

/// Who is making a change and when, with the ids a change needs. The event id is a UUIDv7, so
/// the change log's index of them grows at its end (see `outbox` in the store).
pub(crate) fn origin(clock: &dyn Clock, actor: &str) -> Origin {
    Origin {
        actor: actor.to_owned(),
        at: clock.now(),
        event_id: uuid::Uuid::now_v7().to_string(),
        random_key: random_key(),
    }
}

/// Flagr's generated key: `k` and 16 characters that cannot be misread.
fn random_key() -> String {
    let mut rng = rand::rng();
    let suffix: String = (0..RANDOM_KEY_SUFFIX_LENGTH)
        .map(|_| char::from(RANDOM_KEY_ALPHABET[rng.random_range(0..RANDOM_KEY_ALPHABET.len())]))
        .collect();
    format!("k{suffix}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_keys_have_flagr_shape() {
        let key = super::random_key();
        assert!(bunting_core::validation::is_random_key(&key), "{key}");
        assert_ne!(key, super::random_key());
    }
}
