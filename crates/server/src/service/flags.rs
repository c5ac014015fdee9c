//! Changing and reading flags.
//!
//! Every change goes through [`FlagService::mutate`] or [`FlagService::attach_tag`], which stamp
//! who and when, and hand the command to the store's single transaction.

use std::sync::Arc;

use bunting_core::flag::{Id, StoredFlag};
use bunting_core::mutation::{Command, Origin, Outcome};
use bunting_core::validation::{RANDOM_KEY_ALPHABET, RANDOM_KEY_SUFFIX_LENGTH};
use bunting_store::{DEFAULT_ENVIRONMENT, Store, StoreError};
use rand::Rng;

use crate::clock::Clock;

#[derive(Clone)]
pub(crate) struct FlagService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl FlagService {
    pub(crate) fn new(store: Store, clock: Arc<dyn Clock>) -> FlagService {
        FlagService { store, clock }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    fn origin(&self, actor: &str) -> Origin {
        Origin {
            actor: actor.to_owned(),
            at: self.clock.now(),
            event_id: uuid::Uuid::new_v4().to_string(),
            random_key: random_key(),
        }
    }

    pub(crate) async fn mutate(
        &self,
        actor: &str,
        flag_id: Option<Id>,
        command: Command,
    ) -> Result<Outcome, StoreError> {
        self.store
            .mutate(DEFAULT_ENVIRONMENT, flag_id, command, &self.origin(actor))
            .await
    }

    pub(crate) async fn attach_tag(
        &self,
        actor: &str,
        flag_id: Id,
        value: &str,
    ) -> Result<Outcome, StoreError> {
        self.store
            .attach_tag(DEFAULT_ENVIRONMENT, flag_id, value, &self.origin(actor))
            .await
    }

    /// A flag that is not soft-deleted.
    pub(crate) async fn live_flag(&self, id: Id) -> Result<Option<StoredFlag>, StoreError> {
        Ok(self
            .store
            .flag(DEFAULT_ENVIRONMENT, id)
            .await?
            .filter(|flag| !flag.deleted))
    }

    /// A flag whether deleted or not, for the child listings that Flagr answers either way.
    pub(crate) async fn any_flag(&self, id: Id) -> Result<Option<StoredFlag>, StoreError> {
        self.store.flag(DEFAULT_ENVIRONMENT, id).await
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
