//! Managing webhooks and reading their delivery logs: every change to a webhook is one store
//! transaction recorded in the change log; test sends and redeliveries wake the dispatcher.

use std::sync::Arc;
use std::time::Duration;

use bunting_core::flag::Id;
use bunting_core::secret::Secret;
use bunting_core::webhook::config::{
    ConfiguredWebhook, NewWebhook, Webhook, WebhookCommand, WebhookPatch, webhook_not_found,
};
use bunting_core::webhook::signature::generate_secret;
use bunting_store::{EnvironmentId, RedeliverError, Store, StoreError};

use super::{DispatcherHandle, ServiceError, origin};
use crate::clock::Clock;
use crate::config::LegacyNotification;

/// The actor recorded when Bunting changes a webhook itself (disabling it after a 410).
const SYSTEM_ACTOR: &str = "bunting";

pub(crate) use bunting_store::{Attempt, Delivery, DeliveryQuery, DeliveryStatus, WebhookSummary};

#[derive(Clone)]
pub(crate) struct WebhookService {
    store: Store,
    /// The environment every call reads and changes.
    environment: EnvironmentId,
    clock: Arc<dyn Clock>,
    dispatcher: DispatcherHandle,
    /// How long a rotated-out secret keeps signing.
    secret_overlap: Duration,
}

impl WebhookService {
    pub(crate) fn new(
        store: Store,
        environment: EnvironmentId,
        clock: Arc<dyn Clock>,
        dispatcher: DispatcherHandle,
        secret_overlap: Duration,
    ) -> WebhookService {
        WebhookService {
            store,
            environment,
            clock,
            dispatcher,
            secret_overlap,
        }
    }

    /// The same service, managing environment `environment`'s webhooks.
    pub(crate) fn in_environment(&self, environment: EnvironmentId) -> WebhookService {
        WebhookService {
            environment,
            ..self.clone()
        }
    }

    pub(crate) async fn list(&self) -> Result<Vec<WebhookSummary>, ServiceError> {
        Ok(self.store.webhooks(self.environment).await?)
    }

    pub(crate) async fn get(&self, id: Id) -> Result<WebhookSummary, ServiceError> {
        let found = self.store.webhook_summary(self.environment, id).await?;
        found.ok_or_else(|| StoreError::from(webhook_not_found(id)).into())
    }

    /// Refuses with not-found unless webhook `id` exists, before reading or changing its log.
    async fn exists(&self, id: Id) -> Result<(), ServiceError> {
        match self.store.webhook(self.environment, id).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::from(webhook_not_found(id)).into()),
        }
    }

    pub(crate) async fn create(&self, actor: &str, new: NewWebhook) -> Result<Webhook, ServiceError> {
        self.change(actor, None, WebhookCommand::Create(new)).await
    }

    pub(crate) async fn update(&self, actor: &str, id: Id, patch: WebhookPatch) -> Result<Webhook, ServiceError> {
        self.change(actor, Some(id), WebhookCommand::Update(patch)).await
    }

    pub(crate) async fn delete(&self, actor: &str, id: Id) -> Result<(), ServiceError> {
        self.change(actor, Some(id), WebhookCommand::Delete).await.map(drop)
    }

    /// Stops calling a webhook that Bunting gave up on (it answered 410 Gone, or every attempt
    /// has failed for too long), recorded as a change by Bunting itself, in whichever
    /// environment the webhook belongs to.
    pub(crate) async fn disable(&self, id: Id, reason: &str) -> Result<Webhook, ServiceError> {
        let environment = self
            .store
            .webhook_environment(id)
            .await?
            .ok_or_else(|| StoreError::from(webhook_not_found(id)))?;
        let command = WebhookCommand::Disable {
            reason: reason.to_owned(),
        };
        self.in_environment(environment)
            .change(SYSTEM_ACTOR, Some(id), command)
            .await
    }

    /// Gives the webhook a new random secret, returned here once and never again; the old one
    /// keeps signing for the configured overlap.
    pub(crate) async fn rotate_secret(&self, actor: &str, id: Id) -> Result<(Webhook, String), ServiceError> {
        let secret = generate_secret(&rand::random());
        let overlap_until = self.clock.now() + self.secret_overlap;
        let command = WebhookCommand::RotateSecret {
            secret: Secret::new(secret.clone()),
            overlap_until,
        };
        Ok((self.change(actor, Some(id), command).await?, secret))
    }

    /// Sends a `webhook.test` event to one webhook; returns the delivery's id.
    pub(crate) async fn send_test(&self, actor: &str, id: Id) -> Result<Delivery, ServiceError> {
        self.exists(id).await?;
        let delivery = self.store.enqueue_test_delivery(id, actor, self.clock.now()).await?;
        self.dispatcher.wake();
        Ok(delivery)
    }

    pub(crate) async fn deliveries(&self, id: Id, query: &DeliveryQuery) -> Result<Vec<Delivery>, ServiceError> {
        self.exists(id).await?;
        Ok(self.store.deliveries(id, query).await?)
    }

    pub(crate) async fn delivery(&self, id: Id, delivery_id: &str) -> Result<(Delivery, Vec<Attempt>), ServiceError> {
        self.exists(id).await?;
        let found = self.store.delivery(id, delivery_id).await?;
        found.ok_or_else(|| StoreError::from(RedeliverError::NotFound(delivery_id.to_owned())).into())
    }

    /// Attempts a delivery again now, under the same delivery id; returns it as it stands
    /// before the attempt.
    pub(crate) async fn redeliver(&self, id: Id, delivery_id: &str) -> Result<Delivery, ServiceError> {
        self.exists(id).await?;
        let delivery = self.store.redeliver(id, delivery_id, self.clock.now()).await?;
        self.dispatcher.wake();
        Ok(delivery)
    }

    /// Brings the webhook `FLAGR_NOTIFICATION_WEBHOOK_*` configures in line with the settings:
    /// created or updated when notifications are on, disabled (its log kept) when they are off.
    pub(crate) async fn sync_configured(&self, legacy: Option<&LegacyNotification>) -> Result<(), ServiceError> {
        let existing = self.store.configured_webhook_id(self.environment).await?;
        let configured = match (legacy, existing) {
            (Some(legacy), _) => ConfiguredWebhook {
                url: legacy.url.clone(),
                headers: legacy.headers.clone(),
                timeout_seconds: legacy.timeout_seconds,
                enabled: true,
                detailed: legacy.detailed,
            },
            (None, Some(id)) => {
                let Some(current) = self.store.webhook(self.environment, id).await? else {
                    return Ok(());
                };
                ConfiguredWebhook {
                    url: current.url,
                    headers: current.headers,
                    timeout_seconds: current.timeout_seconds,
                    enabled: false,
                    detailed: false,
                }
            }
            (None, None) => return Ok(()),
        };
        self.change("config", existing, WebhookCommand::Configure(configured))
            .await
            .map(drop)
    }

    async fn change(&self, actor: &str, id: Option<Id>, command: WebhookCommand) -> Result<Webhook, ServiceError> {
        let outcome = self
            .store
            .mutate_webhook(self.environment, id, command, &origin(&*self.clock, actor))
            .await?;
        if outcome.changed() {
            self.dispatcher.wake();
        }
        Ok(outcome.after)
    }
}
