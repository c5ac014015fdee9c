//! Environments: managing them, resolving the key in a request's base path to one, and the
//! evaluation cache of each. Environment keys are resolved from memory; a key this instance
//! has not seen (created through another instance) is looked up in the database once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bunting_core::change::ChangeEvent;
use bunting_core::environment::{Environment, EnvironmentFields, EnvironmentLabel};
use bunting_core::flag::StoredFlag;
use bunting_store::{ChangeQuery, EnvironmentId, SortOrder, Store};

pub(crate) use bunting_store::{Promotion, PromotionSelection};

use super::{DispatcherHandle, ServiceError, origin};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::evaluation::{EvalCache, EvalCaches};
use crate::periodic::{FirstRound, Rounds};

#[derive(Clone)]
pub(crate) struct EnvironmentService {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Live environments by key, as last read.
    known: Arc<RwLock<HashMap<String, EnvironmentId>>>,
    caches: Arc<EvalCaches>,
    dispatcher: DispatcherHandle,
}

impl EnvironmentService {
    pub(crate) async fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        caches: Arc<EvalCaches>,
        dispatcher: DispatcherHandle,
    ) -> Result<EnvironmentService, ServiceError> {
        let service = EnvironmentService {
            store,
            clock,
            known: Arc::default(),
            caches,
            dispatcher,
        };
        service.list().await?;
        Ok(service)
    }

    /// The live environments, the default first; refreshes what this instance knows.
    pub(crate) async fn list(&self) -> Result<Vec<Environment>, ServiceError> {
        let environments = self.store.environments().await?;
        let by_key = environments
            .iter()
            .map(|environment| (environment.key.clone(), environment.id))
            .collect();
        *self.known.write().unwrap_or_else(std::sync::PoisonError::into_inner) = by_key;
        Ok(environments)
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Environment, ServiceError> {
        self.list()
            .await?
            .into_iter()
            .find(|environment| environment.key == key)
            .ok_or_else(|| unknown(key))
    }

    /// Keeps this instance's view of the environments current with changes made through other
    /// instances, every `interval` until `shutdown`: a deleted environment stops being served
    /// and its evaluation cache is dropped.
    pub(crate) async fn follow(self, interval: Duration, shutdown: watch::Receiver<bool>) {
        let mut rounds = Rounds::every(interval, FirstRound::AfterInterval, shutdown);
        while rounds.next().await {
            match self.list().await {
                Ok(live) => {
                    for (id, _) in self.caches.all() {
                        if !live.iter().any(|environment| environment.id == id) {
                            self.caches.remove(id);
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot read the environments; serving the ones known"),
            }
        }
    }

    /// The id of the live environment `key`.
    pub(crate) async fn resolve(&self, key: &str) -> Result<EnvironmentId, ServiceError> {
        if let Some(id) = self.known_id(key) {
            return Ok(id);
        }
        self.list().await?;
        self.known_id(key).ok_or_else(|| unknown(key))
    }

    fn known_id(&self, key: &str) -> Option<EnvironmentId> {
        self.known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .copied()
    }

    /// How the change log names each environment, deleted ones included; read each time, so a
    /// rename through another instance shows at once.
    pub(crate) async fn labels(&self) -> Result<HashMap<EnvironmentId, EnvironmentLabel>, ServiceError> {
        Ok(self.store.environment_labels().await?.into_iter().collect())
    }

    /// The evaluation cache of `environment`, loaded from the database the first time.
    pub(crate) async fn cache(&self, environment: EnvironmentId) -> Result<Arc<EvalCache>, ServiceError> {
        if let Some(cache) = self.caches.get(environment) {
            return Ok(cache);
        }
        // The sequence first: a change racing the load is applied again by the follower, never missed.
        let seq = self.store.max_change_seq().await?;
        let flags = self.store.flags(environment, false).await?;
        Ok(self.caches.insert(environment, EvalCache::new(flags, seq)))
    }

    /// The evaluation cache of `environment` if this instance has loaded it (served a request
    /// for it), without loading it.
    pub(crate) fn loaded_cache(&self, environment: EnvironmentId) -> Option<Arc<EvalCache>> {
        self.caches.get(environment)
    }

    /// Creates an environment, empty or as a copy of `clone_from`'s flags.
    pub(crate) async fn create(
        &self,
        actor: &str,
        key: &str,
        fields: EnvironmentFields,
        clone_from: Option<&str>,
    ) -> Result<Environment, ServiceError> {
        let source = match clone_from {
            Some(from) => Some(self.resolve(from).await?),
            None => None,
        };
        let created = self
            .store
            .create_environment(key, fields, source, &origin(&*self.clock, actor))
            .await?;
        self.list().await?;
        self.dispatcher.wake();
        Ok(created)
    }

    pub(crate) async fn update(
        &self,
        actor: &str,
        key: &str,
        fields: EnvironmentFields,
    ) -> Result<Environment, ServiceError> {
        let id = self.resolve(key).await?;
        Ok(self
            .store
            .update_environment(id, fields, &origin(&*self.clock, actor))
            .await?)
    }

    pub(crate) async fn delete(&self, actor: &str, key: &str, force: bool) -> Result<Environment, ServiceError> {
        let id = self.resolve(key).await?;
        let deleted = self
            .store
            .delete_environment(id, force, &origin(&*self.clock, actor))
            .await?;
        self.list().await?;
        self.caches.remove(id);
        Ok(deleted)
    }

    /// Flag `key` in every live environment, side by side.
    pub(crate) async fn compare(&self, key: &str) -> Result<Vec<Compared>, ServiceError> {
        let mut compared = Vec::new();
        for environment in self.list().await? {
            let flag = self.store.flag_by_key(environment.id, key).await?;
            let last_change = match &flag {
                Some(stored) => self
                    .store
                    .changes(&ChangeQuery {
                        environment: Some(environment.id),
                        flag_id: Some(stored.flag.id),
                        order: SortOrder::Descending,
                        limit: Some(1),
                        ..ChangeQuery::default()
                    })
                    .await?
                    .pop(),
                None => None,
            };
            compared.push(Compared {
                environment,
                flag,
                last_change,
            });
        }
        if compared.iter().all(|side| side.flag.is_none()) {
            return Err(ServiceError::NotFound(format!(
                "no environment has a flag with key {key:?}"
            )));
        }
        Ok(compared)
    }

    /// Promotes the flags `selection` names from environment `from` to `to`, all or nothing;
    /// with `dry_run` reports what it would do and writes nothing.
    pub(crate) async fn promote(
        &self,
        actor: &str,
        from: &str,
        to: &str,
        selection: &PromotionSelection,
        dry_run: bool,
    ) -> Result<Vec<Promotion>, ServiceError> {
        let (source, target) = (self.resolve(from).await?, self.resolve(to).await?);
        let promotions = self
            .store
            .promote(source, target, selection, dry_run, &origin(&*self.clock, actor))
            .await?;
        let written: Vec<_> = promotions
            .iter()
            .filter(|promotion| promotion.change.is_some())
            .map(|promotion| promotion.after.clone())
            .collect();
        if !dry_run && !written.is_empty() {
            // Read your writes, as for any change: the target's evaluation sees them now.
            self.cache(target).await?.apply(written, None);
            self.dispatcher.wake();
        }
        Ok(promotions)
    }
}

/// One environment's side of a comparison: its flag with the key, if it has one, and the
/// flag's latest change.
pub(crate) struct Compared {
    pub(crate) environment: Environment,
    pub(crate) flag: Option<StoredFlag>,
    pub(crate) last_change: Option<ChangeEvent>,
}

fn unknown(key: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "unable to find environment {key:?}; GET /api/v1/environments lists them"
    ))
}
