//! Changing and reading flags.
//!
//! Every change goes through [`FlagService::mutate`] or [`FlagService::attach_tag`], which stamp
//! who and when, hand the command to the store's single transaction, and after a commit update
//! the evaluation cache and wake the webhook dispatcher.

use std::sync::Arc;

use bunting_core::flag::{Id, StoredFlag};
use bunting_core::mutation::{Command, Outcome};
use bunting_store::{DEFAULT_ENVIRONMENT, Store, StoreError};

use super::DispatcherHandle;
use super::origin;
use crate::clock::Clock;
use crate::evaluation::EvalCache;

#[derive(Clone)]
pub(crate) struct FlagService {
    store: Store,
    clock: Arc<dyn Clock>,
    dispatcher: DispatcherHandle,
    cache: Arc<EvalCache>,
}

impl FlagService {
    pub(crate) fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        dispatcher: DispatcherHandle,
        cache: Arc<EvalCache>,
    ) -> FlagService {
        FlagService {
            store,
            clock,
            dispatcher,
            cache,
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) async fn mutate(
        &self,
        actor: &str,
        flag_id: Option<Id>,
        command: Command,
    ) -> Result<Outcome, StoreError> {
        let outcome = self
            .store
            .mutate(DEFAULT_ENVIRONMENT, flag_id, command, &origin(&*self.clock, actor))
            .await?;
        self.committed(&outcome);
        Ok(outcome)
    }

    pub(crate) async fn attach_tag(&self, actor: &str, flag_id: Id, value: &str) -> Result<Outcome, StoreError> {
        let outcome = self
            .store
            .attach_tag(DEFAULT_ENVIRONMENT, flag_id, value, &origin(&*self.clock, actor))
            .await?;
        self.committed(&outcome);
        Ok(outcome)
    }

    /// What follows a committed change: evaluation sees it before the write returns (read your
    /// writes), and the dispatcher sends its deliveries.
    fn committed(&self, outcome: &Outcome) {
        if outcome.changed() {
            self.cache.apply(vec![outcome.after.clone()], None);
            self.dispatcher.wake();
        }
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
