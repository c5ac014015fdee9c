//! Use cases: each takes what the HTTP layer parsed, calls the store once and does what must
//! follow a committed change (wake the dispatcher). Must not build HTTP responses.

pub(crate) mod flags;
pub(crate) mod webhooks;

use std::sync::{Arc, Mutex};

use bunting_core::mutation::Origin;
use bunting_core::validation::{RANDOM_KEY_ALPHABET, RANDOM_KEY_SUFFIX_LENGTH};
use rand::Rng;
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, oneshot};

use crate::clock::Clock;

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

/// Who is making a change and when, with the ids a change needs.
pub(crate) fn origin(clock: &dyn Clock, actor: &str) -> Origin {
    Origin {
        actor: actor.to_owned(),
        at: clock.now(),
        event_id: uuid::Uuid::new_v4().to_string(),
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
