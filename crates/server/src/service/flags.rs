//! Changing and reading flags.
//!
//! Every change goes through [`FlagService::mutate`] or [`FlagService::attach_tag`], which stamp
//! who and when, hand the command to the store's single transaction, and after a commit update
//! the evaluation cache and wake the webhook dispatcher. Reads (flags, tags, entity types, the
//! change log) are answered here too, so the HTTP layer never reaches the store.

use std::sync::Arc;

use bunting_core::change::ChangeEvent;
use bunting_core::flag::{Flag, Id, StoredFlag, Tag};
use bunting_core::mutation::{Command, Outcome};
pub(crate) use bunting_store::FlagFilter;
use bunting_store::{ChangeQuery, EnvironmentId, Store};
use tokio::sync::watch;

use super::{DispatcherHandle, ServiceError, origin};
use crate::clock::Clock;
use crate::evaluation::EvalCache;

#[derive(Clone)]
pub(crate) struct FlagService {
    store: Store,
    /// The environment every call reads and changes.
    environment: EnvironmentId,
    clock: Arc<dyn Clock>,
    dispatcher: DispatcherHandle,
    cache: Arc<EvalCache>,
}

impl FlagService {
    pub(crate) fn new(
        store: Store,
        environment: EnvironmentId,
        clock: Arc<dyn Clock>,
        dispatcher: DispatcherHandle,
        cache: Arc<EvalCache>,
    ) -> FlagService {
        FlagService {
            store,
            environment,
            clock,
            dispatcher,
            cache,
        }
    }

    /// The same service, reading and changing environment `environment` with its cache.
    pub(crate) fn in_environment(&self, environment: EnvironmentId, cache: Arc<EvalCache>) -> FlagService {
        FlagService {
            environment,
            cache,
            ..self.clone()
        }
    }

    pub(crate) fn environment(&self) -> EnvironmentId {
        self.environment
    }

    pub(crate) async fn mutate(
        &self,
        actor: &str,
        flag_id: Option<Id>,
        command: Command,
    ) -> Result<Outcome, ServiceError> {
        let outcome = self
            .store
            .mutate(self.environment, flag_id, command, &origin(&*self.clock, actor))
            .await?;
        self.committed(&outcome);
        Ok(outcome)
    }

    pub(crate) async fn attach_tag(&self, actor: &str, flag_id: Id, value: &str) -> Result<Outcome, ServiceError> {
        let outcome = self
            .store
            .attach_tag(self.environment, flag_id, value, &origin(&*self.clock, actor))
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
    pub(crate) async fn live_flag(&self, id: Id) -> Result<Option<StoredFlag>, ServiceError> {
        Ok(self
            .store
            .flag(self.environment, id)
            .await?
            .filter(|flag| !flag.deleted))
    }

    /// A flag whether deleted or not, for the child listings that Flagr answers either way.
    pub(crate) async fn any_flag(&self, id: Id) -> Result<Option<StoredFlag>, ServiceError> {
        Ok(self.store.flag(self.environment, id).await?)
    }

    /// Every live flag, ordered by id.
    pub(crate) async fn live_flags(&self) -> Result<Vec<StoredFlag>, ServiceError> {
        Ok(self.store.flags(self.environment, false).await?)
    }

    /// The flags `filter` selects, ordered by id: Flagr's `GET /flags`.
    pub(crate) async fn find(&self, filter: &FlagFilter) -> Result<Vec<Flag>, ServiceError> {
        let flags = self.store.find_flags(self.environment, filter).await?;
        Ok(flags.into_iter().map(|stored| stored.flag).collect())
    }

    /// Every entity type flags have used, sorted.
    pub(crate) async fn entity_types(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.store.entity_types(self.environment).await?)
    }

    /// Tags, optionally those whose value contains `value_like` (any case).
    pub(crate) async fn tags(
        &self,
        value_like: Option<&str>,
        limit: Option<i64>,
        offset: i64,
    ) -> Result<Vec<Tag>, ServiceError> {
        Ok(self.store.tags(self.environment, value_like, limit, offset).await?)
    }

    /// A page of the change log. A flag's changes are this environment's: a flag id is the
    /// same in every environment that has its key.
    pub(crate) async fn changes(&self, query: &ChangeQuery) -> Result<Vec<ChangeEvent>, ServiceError> {
        if query.flag_id.is_some() {
            let scoped = ChangeQuery {
                environment: Some(self.environment),
                ..query.clone()
            };
            return Ok(self.store.changes(&scoped).await?);
        }
        Ok(self.store.changes(query).await?)
    }

    /// Every live flag and the change sequence they reflect, read together.
    pub(crate) async fn live_flags_at_seq(&self) -> Result<(Vec<StoredFlag>, i64), ServiceError> {
        Ok(self.store.live_flags_at_seq(self.environment).await?)
    }

    /// Sees a change whenever this instance learns of a change, its own or another's.
    pub(crate) fn change_notifications(&self) -> watch::Receiver<()> {
        self.cache.subscribe()
    }

    /// The latest change's sequence, 0 before the first.
    pub(crate) async fn max_change_seq(&self) -> Result<i64, ServiceError> {
        Ok(self.store.max_change_seq().await?)
    }
}
