//! The dispatcher: one task that claims due deliveries, sends each in its own task, and records
//! finished attempts in batches.
//!
//! Each round it asks the store which enabled webhooks have pending deliveries and when the
//! earliest is due, claims for every webhook as many due deliveries as that webhook's and the
//! global concurrency limits leave room for (so one slow receiver cannot take every slot), and
//! records everything that finished since the last round in one transaction. It sleeps until
//! the next delivery is due, a change wakes it ([`DispatcherHandle::wake`]), an attempt
//! finishes, or the poll interval passes (retries written by other instances).
//!
//! Durability comes from the store, not from this task: a claim leases rows and moves their due
//! time to the lease's end, so a delivery whose sender died (a crash, `kill -9`) is due again
//! when the lease runs out and is sent again with the same delivery id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bunting_core::flag::Id;
use bunting_core::webhook::config::{Webhook, WebhookCommand};
use bunting_core::webhook::retry::{Decision, ErrorClass, RetrySchedule, classify_response, parse_retry_after};
use bunting_store::{Attempt, AttemptRecord, ClaimedDelivery, DEFAULT_ENVIRONMENT, NextStep, Store};
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, watch};

use super::client::{AttemptReport, DeliveryClient, OutboundRequest};
use super::headers::attempt_headers;
use crate::clock::Clock;
use crate::config::WebhookSettings;
use crate::service::origin;

/// A lease outlives the attempt's timeout by this much, so a slow but live sender is never
/// overtaken by a second one.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// The actor recorded when Bunting changes a webhook itself (disabling it after a 410).
const SYSTEM_ACTOR: &str = "bunting";

/// Wakes the dispatcher after a change that may have enqueued deliveries.
#[derive(Clone)]
pub(crate) struct DispatcherHandle {
    wake: Arc<Notify>,
}

impl DispatcherHandle {
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}

pub(crate) struct Dispatcher {
    store: Store,
    client: DeliveryClient,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
    wake: Arc<Notify>,
}

/// An attempt that finished, on its way to being recorded.
struct Finished {
    webhook_id: Id,
    record: AttemptRecord,
    /// Set when the receiver answered 410 Gone: why the webhook is being disabled.
    disable: Option<String>,
}

impl Dispatcher {
    pub(crate) fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: WebhookSettings,
    ) -> anyhow::Result<(Dispatcher, DispatcherHandle)> {
        let wake = Arc::new(Notify::new());
        let client = DeliveryClient::new(settings.deny_private)?;
        let handle = DispatcherHandle { wake: wake.clone() };
        Ok((
            Dispatcher {
                store,
                client,
                clock,
                settings,
                wake,
            },
            handle,
        ))
    }

    /// Runs until `shutdown` turns true, then stops claiming, lets attempts in flight finish
    /// and records them.
    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let (done, mut finished) = mpsc::unbounded_channel::<Finished>();
        let mut in_flight: HashMap<Id, usize> = HashMap::new();
        let mut stopping = false;
        let mut batch = Vec::new();
        loop {
            while let Ok(one) = finished.try_recv() {
                batch.push(one);
            }
            self.record(std::mem::take(&mut batch), &mut in_flight).await;
            if stopping && in_flight.is_empty() {
                return;
            }
            let next_round = if stopping {
                self.settings.poll_interval
            } else {
                self.claim_and_send(&mut in_flight, &done).await
            };
            tokio::select! {
                () = self.wake.notified() => {}
                Some(one) = finished.recv() => batch.push(one),
                () = tokio::time::sleep(next_round) => {}
                _ = shutdown.changed(), if !stopping => stopping = true,
            }
        }
    }

    /// Claims and starts what the limits allow; returns how long to wait before the next round.
    async fn claim_and_send(
        &self,
        in_flight: &mut HashMap<Id, usize>,
        done: &mpsc::UnboundedSender<Finished>,
    ) -> Duration {
        let mut wait = self.settings.poll_interval;
        let pending = match self.store.webhooks_with_pending_deliveries().await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "cannot read due deliveries; retrying at the next poll");
                return wait;
            }
        };
        let now = self.clock.now();
        for (webhook, due) in pending {
            if due > now {
                wait = wait.min(Duration::try_from(due - now).unwrap_or_default());
                continue;
            }
            let busy = in_flight.get(&webhook.id).copied().unwrap_or(0);
            let total: usize = in_flight.values().sum();
            let room = self
                .settings
                .concurrency_per_webhook
                .saturating_sub(busy)
                .min(self.settings.concurrency.saturating_sub(total));
            if room == 0 {
                continue;
            }
            let lease_until = now + Duration::from_secs(u64::from(webhook.timeout_seconds)) + LEASE_MARGIN;
            let claimed = match self
                .store
                .claim_due_deliveries(webhook.id, now, lease_until, room)
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, webhook_id = webhook.id, "cannot claim deliveries");
                    continue;
                }
            };
            if claimed.len() == room {
                // There may be more due: come straight back once a slot frees (or at once).
                wait = Duration::ZERO;
            }
            *in_flight.entry(webhook.id).or_default() += claimed.len();
            let webhook = Arc::new(webhook);
            for delivery in claimed {
                let attempt = AttemptTask {
                    client: self.client.clone(),
                    clock: self.clock.clone(),
                    schedule: self.schedule_for(&webhook),
                    webhook: webhook.clone(),
                    delivery,
                };
                let done = done.clone();
                tokio::spawn(async move {
                    // The receiver only goes away at shutdown, after every sender has reported.
                    let _ = done.send(attempt.run().await);
                });
            }
        }
        wait
    }

    fn schedule_for(&self, webhook: &Webhook) -> RetrySchedule {
        match &self.settings.legacy {
            Some(legacy) if webhook.managed_by_config => legacy.retry_schedule.clone(),
            _ => self.settings.retry_schedule.clone(),
        }
    }

    /// Disables webhooks that answered 410, then records finished attempts in one transaction,
    /// so whoever sees the failed delivery also sees its webhook disabled.
    async fn record(&self, batch: Vec<Finished>, in_flight: &mut HashMap<Id, usize>) {
        if batch.is_empty() {
            return;
        }
        for finished in &batch {
            if let Some(reason) = &finished.disable {
                self.disable(finished.webhook_id, reason.clone()).await;
            }
        }
        let records: Vec<AttemptRecord> = batch.iter().map(|finished| finished.record.clone()).collect();
        if let Err(error) = self.store.record_attempts(&records).await {
            // The leases run out and the deliveries are attempted again: nothing is lost.
            tracing::error!(%error, attempts = records.len(), "cannot record delivery attempts; they will be retried");
        }
        for finished in &batch {
            if let Some(count) = in_flight.get_mut(&finished.webhook_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    in_flight.remove(&finished.webhook_id);
                }
            }
        }
    }

    /// Stops calling a webhook whose receiver answered 410 Gone, as a recorded change.
    async fn disable(&self, webhook_id: Id, reason: String) {
        let command = WebhookCommand::Disable { reason };
        let origin = origin(&*self.clock, SYSTEM_ACTOR);
        match self
            .store
            .mutate_webhook(DEFAULT_ENVIRONMENT, Some(webhook_id), command, &origin)
            .await
        {
            Ok(_) => tracing::warn!(webhook_id, "receiver answered 410 Gone; webhook disabled"),
            Err(error) => tracing::error!(%error, webhook_id, "cannot disable webhook after 410"),
        }
    }
}

/// One attempt of one delivery, run in its own task.
struct AttemptTask {
    client: DeliveryClient,
    clock: Arc<dyn Clock>,
    schedule: RetrySchedule,
    webhook: Arc<Webhook>,
    delivery: ClaimedDelivery,
}

impl AttemptTask {
    async fn run(self) -> Finished {
        let started_at = self.clock.now();
        let (headers, logged_headers) = attempt_headers(
            &self.webhook,
            &self.delivery.id,
            &self.delivery.event,
            &self.delivery.body,
            started_at,
        );
        let report = self
            .client
            .send(OutboundRequest {
                url: &self.webhook.url,
                headers,
                body: self.delivery.body.clone(),
                timeout: Duration::from_secs(u64::from(self.webhook.timeout_seconds)),
            })
            .await;
        let finished_at = self.clock.now();
        let number = self.delivery.attempts + 1;
        let decision = self.decide(&report, number, finished_at);
        let next = match decision {
            Decision::Delivered => NextStep::Delivered,
            Decision::RetryAfter(wait) => NextStep::RetryAt(finished_at + wait),
            Decision::Failed | Decision::DisableWebhook => NextStep::Failed,
        };
        let disable = (decision == Decision::DisableWebhook).then(|| {
            format!(
                "the receiver answered 410 Gone at {}",
                bunting_core::change::rfc3339(finished_at)
            )
        });
        let (error_class, error) = match &report.failure {
            Some((failure, detail)) => (Some(failure.class()), Some(detail.clone())),
            None if decision == Decision::Delivered => (None, None),
            None => (
                Some(ErrorClass::HttpStatus),
                report.status.map(|status| format!("HTTP {status}")),
            ),
        };
        let attempt = Attempt {
            number,
            started_at,
            duration_micros: i64::try_from(report.duration.as_micros()).unwrap_or(i64::MAX),
            status_code: report.status.map(i64::from),
            error_class,
            error,
            response_body: report.response_excerpt,
            request_headers: logged_headers,
            next_attempt_at: match next {
                NextStep::RetryAt(at) => Some(at),
                NextStep::Delivered | NextStep::Failed => None,
            },
        };
        Finished {
            webhook_id: self.webhook.id,
            record: AttemptRecord {
                delivery_id: self.delivery.id,
                attempt,
                next,
            },
            disable,
        }
    }

    fn decide(&self, report: &AttemptReport, number: i64, now: OffsetDateTime) -> Decision {
        let result = match (&report.failure, report.status) {
            (Some((failure, _)), _) => Err(*failure),
            (None, Some(status)) => {
                let retry_after = report
                    .retry_after
                    .as_deref()
                    .and_then(|value| parse_retry_after(value, now));
                classify_response(status, retry_after)
            }
            (None, None) => Ok(()),
        };
        let made = usize::try_from(number).unwrap_or(usize::MAX);
        let decision = self.schedule.decide(made, result, rand::random_range(-1.0..=1.0));
        // A manual redelivery is exactly one attempt: it does not restart the schedule.
        match (decision, self.delivery.attempt_limit) {
            (Decision::RetryAfter(_), Some(limit)) if number >= limit => Decision::Failed,
            _ => decision,
        }
    }
}
