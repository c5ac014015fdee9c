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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bunting_core::flag::Id;
use bunting_core::webhook::config::Webhook;
use bunting_core::webhook::retry::{Decision, ErrorClass, RetrySchedule, classify_response, parse_retry_after};
use bunting_store::{Attempt, AttemptRecord, Backend, ClaimedDelivery, NextStep, Store};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::client::{AttemptOutcome, DeliveryClient, OutboundRequest};
use super::headers::attempt_headers;
use crate::clock::Clock;
use crate::config::WebhookSettings;
use crate::error_chain::chain;
use crate::metrics::Metrics;
use crate::service::DispatcherHandle;
use crate::service::webhooks::WebhookService;

/// A lease outlives the attempt's timeout by this much, so a slow but live sender is never
/// overtaken by a second one.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// The most attempts recorded in one transaction.
const MAX_BATCH: usize = 256;
/// The most recording transactions under way at once: SQLite has one writer, so a second would
/// only queue (and split batches); PostgreSQL and MySQL commit two at once on separate
/// connections.
fn max_recording(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres | Backend::Mysql => 2,
    }
}
pub(crate) struct Dispatcher {
    store: Store,
    client: DeliveryClient,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
    wake: DispatcherHandle,
    recorder: Recorder,
}

/// What a claiming round found.
struct Round {
    /// How long to wait before the next round, unless woken.
    wait: Duration,
    /// Whether deliveries were due now (and so may still be going out).
    due_now: bool,
}

/// An attempt that finished, on its way to being recorded.
struct Finished {
    record: AttemptRecord,
    event: String,
    /// Set when the receiver answered 410 Gone: why the webhook is being disabled.
    disable: Option<String>,
}

impl Dispatcher {
    pub(crate) fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: WebhookSettings,
        metrics: Option<Arc<Metrics>>,
        wake: DispatcherHandle,
        webhooks: WebhookService,
    ) -> anyhow::Result<Dispatcher> {
        let client = DeliveryClient::new(settings.deny_private)?;
        let recorder = Recorder {
            store: store.clone(),
            webhooks,
            clock: clock.clone(),
            metrics,
            webhook_environments: Arc::default(),
            disable_after: settings.disable_after,
            failure_log: Arc::new(Mutex::new(FailureLog::default())),
        };
        Ok(Dispatcher {
            store,
            client,
            clock,
            settings,
            wake,
            recorder,
        })
    }

    /// Runs until `shutdown` turns true, then stops claiming, lets attempts in flight finish
    /// and records them.
    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let (done, mut finished) = mpsc::unbounded_channel::<Finished>();
        let mut in_flight: HashMap<Id, usize> = HashMap::new();
        // Recording runs beside claiming and sending, so the next attempts need not wait for the
        // last ones' transaction (PostgreSQL takes both at once on separate connections).
        let mut recording: JoinSet<()> = JoinSet::new();
        let max_recording = max_recording(self.store.backend());
        let mut stopping = false;
        // Finished attempts not being recorded yet. While a recording transaction is under way
        // the next attempts gather here, so under load the database takes fewer, larger
        // transactions (which matters on SQLite's single writer) without any attempt waiting
        // for a timer.
        let mut batch: Vec<Finished> = Vec::new();
        // Callers of `DispatcherHandle::settled`, told once a round finds nothing left to do.
        let mut settling: Vec<oneshot::Sender<()>> = Vec::new();
        loop {
            settling.extend(self.wake.take_settling());
            while let Ok(one) = finished.try_recv() {
                release(&mut in_flight, one.record.webhook_id);
                batch.push(one);
            }
            while recording.try_join_next().is_some() {}
            while !batch.is_empty() && recording.len() < max_recording {
                let part: Vec<Finished> = batch.drain(..batch.len().min(MAX_BATCH)).collect();
                let recorder = self.recorder.clone();
                recording.spawn(async move { recorder.record(part).await });
            }
            // A finished but unrecorded delivery is not claimed again: its lease keeps it from
            // being due. While a whole batch waits to be recorded, the database is what holds
            // things up, and claiming more would only add to the wait.
            let round = if stopping || batch.len() >= MAX_BATCH {
                Round {
                    wait: self.settings.poll_interval,
                    due_now: !stopping,
                }
            } else {
                self.claim_and_send(&mut in_flight, &done).await
            };
            let idle = in_flight.is_empty() && batch.is_empty();
            if stopping && idle {
                while recording.join_next().await.is_some() {}
                return;
            }
            if !round.due_now && idle && recording.is_empty() {
                for settled in settling.drain(..) {
                    let _ = settled.send(());
                }
            }
            tokio::select! {
                () = self.wake.notified() => {}
                Some(one) = finished.recv() => {
                    release(&mut in_flight, one.record.webhook_id);
                    batch.push(one);
                }
                // A recording that ends makes room for the next batch (and may settle things).
                Some(_) = recording.join_next(), if !recording.is_empty() => {}
                () = tokio::time::sleep(round.wait) => {}
                _ = shutdown.changed(), if !stopping => stopping = true,
            }
        }
    }

    /// Claims and starts what the limits allow.
    async fn claim_and_send(
        &self,
        in_flight: &mut HashMap<Id, usize>,
        done: &mpsc::UnboundedSender<Finished>,
    ) -> Round {
        let mut wait = self.settings.poll_interval;
        // Until the store has answered, nobody can say that nothing is due.
        let unknown = |wait| Round { wait, due_now: true };
        let pending = match self.store.webhooks_with_pending_deliveries().await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "cannot read due deliveries; retrying at the next poll");
                return unknown(wait);
            }
        };
        let now = self.clock.now();
        let due: Vec<Webhook> = pending
            .into_iter()
            .filter_map(|(webhook, due)| {
                if due > now {
                    wait = wait.min(Duration::try_from(due - now).unwrap_or_default());
                    return None;
                }
                Some(webhook)
            })
            .collect();
        // The free slots are shared evenly among the webhooks with due deliveries, each also
        // held to its own limit, so a webhook with a large backlog cannot crowd out the others.
        let free = self.settings.concurrency.saturating_sub(in_flight.values().sum());
        let share = free.div_ceil(due.len().max(1));
        let rooms: Vec<(Id, usize)> = due
            .iter()
            .map(|webhook| {
                let busy = in_flight.get(&webhook.id).copied().unwrap_or(0);
                (
                    webhook.id,
                    self.settings.concurrency_per_webhook.saturating_sub(busy).min(share),
                )
            })
            .filter(|&(_, room)| room > 0)
            .collect();
        let Some(longest) = due.iter().map(|webhook| webhook.timeout_seconds).max() else {
            return Round { wait, due_now: false };
        };
        let lease_until = now + Duration::from_secs(u64::from(longest)) + LEASE_MARGIN;
        let claimed = match self.store.claim_due_deliveries(&rooms, now, lease_until).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(
                    error = chain(&error),
                    "cannot claim deliveries; retrying at the next poll"
                );
                return unknown(wait);
            }
        };
        if claimed.len() == rooms.iter().map(|(_, room)| room).sum::<usize>() && !claimed.is_empty() {
            // There may be more due: come straight back once a slot frees (or at once).
            wait = Duration::ZERO;
        }
        let webhooks: HashMap<Id, Arc<Webhook>> =
            due.into_iter().map(|webhook| (webhook.id, Arc::new(webhook))).collect();
        for delivery in claimed {
            let Some(webhook) = webhooks.get(&delivery.webhook_id) else {
                continue;
            };
            *in_flight.entry(webhook.id).or_default() += 1;
            let attempt = AttemptTask {
                client: self.client.clone(),
                clock: self.clock.clone(),
                schedule: self.schedule_for(webhook),
                webhook: webhook.clone(),
                delivery,
            };
            let done = done.clone();
            tokio::spawn(async move {
                // The receiver only goes away at shutdown, after every sender has reported.
                let _ = done.send(attempt.run().await);
            });
        }
        Round { wait, due_now: true }
    }

    fn schedule_for(&self, webhook: &Webhook) -> RetrySchedule {
        match &self.settings.legacy {
            Some(legacy) if webhook.managed_by_config => legacy.retry_schedule.clone(),
            _ => self.settings.retry_schedule.clone(),
        }
    }
}

/// An attempt is no longer in flight once it finished, whether or not it is recorded yet.
fn release(in_flight: &mut HashMap<Id, usize>, webhook_id: Id) {
    if let Some(count) = in_flight.get_mut(&webhook_id) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            in_flight.remove(&webhook_id);
        }
    }
}

/// Writes finished attempts to the store.
#[derive(Clone)]
struct Recorder {
    store: Store,
    /// Disables webhooks, as any other change to one is made.
    webhooks: WebhookService,
    clock: Arc<dyn Clock>,
    metrics: Option<Arc<Metrics>>,
    /// The key of each webhook's environment, for the metrics' `environment` label: a webhook
    /// never moves and an environment's key never changes, so each is read once.
    webhook_environments: Arc<Mutex<HashMap<Id, String>>>,
    disable_after: Duration,
    failure_log: Arc<Mutex<FailureLog>>,
}

impl Recorder {
    /// Counts and logs the attempts, disables webhooks that answered 410, then records the
    /// attempts in one transaction, so whoever sees the failed delivery also sees its webhook
    /// disabled. Webhooks that have now failed for longer than `disable_after` are disabled too.
    async fn record(&self, batch: Vec<Finished>) {
        for finished in &batch {
            if let Some(reason) = &finished.disable {
                self.disable(finished.record.webhook_id, reason.clone()).await;
            }
            if let Some(metrics) = &self.metrics {
                let webhook_id = finished.record.webhook_id;
                let environment = self.environment_of(webhook_id).await;
                metrics.record_attempt(&environment, webhook_id, finished.record.attempt.error_class);
            }
            self.log_failure(finished);
        }
        let records: Vec<AttemptRecord> = batch.into_iter().map(|finished| finished.record).collect();
        let failing_cutoff = self.clock.now() - self.disable_after;
        let failing = match self.store.record_attempts(&records, failing_cutoff).await {
            Ok(failing) => failing,
            Err(error) => {
                // One attempt that cannot be written must not hold back the others.
                tracing::warn!(
                    error = chain(&error),
                    attempts = records.len(),
                    "cannot record a batch of delivery attempts; recording them one by one"
                );
                let mut failing = Vec::new();
                for record in &records {
                    failing.extend(self.record_alone(record, failing_cutoff).await);
                }
                failing
            }
        };
        for (webhook_id, since) in failing {
            let reason = format!(
                "every delivery attempt has failed since {} (BUNTING_WEBHOOK_DISABLE_AFTER)",
                bunting_core::change::rfc3339(since)
            );
            self.disable(webhook_id, reason).await;
        }
    }

    /// The key of webhook `webhook_id`'s environment; empty (the metrics' `null`) when it
    /// cannot be read, as for a webhook deleted since its delivery was claimed.
    async fn environment_of(&self, webhook_id: Id) -> String {
        let known = self
            .webhook_environments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&webhook_id)
            .cloned();
        if let Some(key) = known {
            return key;
        }
        let read = async {
            let Some(environment) = self.store.webhook_environment(webhook_id).await? else {
                return Ok(None);
            };
            let labels = self.store.environment_labels().await?;
            Ok::<_, bunting_store::StoreError>(
                labels
                    .into_iter()
                    .find(|(id, _)| *id == environment)
                    .map(|(_, label)| label.key),
            )
        };
        match read.await {
            Ok(Some(key)) => {
                self.webhook_environments
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(webhook_id, key.clone());
                key
            }
            Ok(None) => String::new(),
            Err(error) => {
                tracing::warn!(%error, webhook_id, "cannot read the webhook's environment for metrics");
                String::new()
            }
        }
    }

    /// Records one attempt; one that cannot be recorded is set aside rather than left to be
    /// sent again each time its lease runs out, without end.
    async fn record_alone(&self, record: &AttemptRecord, failing_cutoff: OffsetDateTime) -> Vec<(Id, OffsetDateTime)> {
        let error = match self
            .store
            .record_attempts(std::slice::from_ref(record), failing_cutoff)
            .await
        {
            Ok(failing) => return failing,
            Err(error) => error,
        };
        let delivery_id = record.delivery_id.as_str();
        match self.store.set_delivery_aside(delivery_id, self.clock.now()).await {
            Ok(()) => tracing::error!(
                error = chain(&error),
                webhook_id = record.webhook_id,
                delivery_id,
                "cannot record a delivery attempt; the delivery is set aside as failed (error class \"unrecorded\") \
                 and is not sent again until it is redelivered"
            ),
            // The database is unavailable: the lease runs out and the delivery is sent again.
            Err(set_aside) => tracing::error!(
                error = chain(&error),
                set_aside = chain(&set_aside),
                webhook_id = record.webhook_id,
                delivery_id,
                "cannot record a delivery attempt nor set the delivery aside; it will be attempted again"
            ),
        }
        Vec::new()
    }

    /// Logs a failed attempt at `warn`, at most once per webhook per [`FAILURE_LOG_INTERVAL`],
    /// so a dead receiver cannot flood the log.
    fn log_failure(&self, finished: &Finished) {
        let record = &finished.record;
        let Some(class) = record.attempt.error_class else {
            return;
        };
        let now = self.clock.now();
        let Some(suppressed) = self
            .failure_log
            .lock()
            .map_or(Some(0), |mut log| log.admit(record.webhook_id, now))
        else {
            return;
        };
        let outcome = match (&record.attempt.error, record.attempt.status_code) {
            (Some(error), _) => format!("{class}: {error}"),
            (None, Some(status)) => format!("{class}: HTTP {status}"),
            (None, None) => class.to_string(),
        };
        let next_attempt = match record.next {
            NextStep::RetryAt(at) => bunting_core::change::rfc3339(at),
            NextStep::Delivered | NextStep::Failed => "none: the delivery has failed".to_owned(),
        };
        tracing::warn!(
            webhook_id = record.webhook_id,
            delivery_id = record.delivery_id,
            event = finished.event,
            outcome,
            next_attempt,
            suppressed,
            "webhook delivery attempt failed"
        );
    }

    /// Stops calling a webhook, as a recorded change.
    async fn disable(&self, webhook_id: Id, reason: String) {
        match self.webhooks.disable(webhook_id, &reason).await {
            Ok(_) => tracing::warn!(webhook_id, reason, "webhook disabled"),
            Err(error) => tracing::error!(%error, webhook_id, reason, "cannot disable webhook"),
        }
    }
}

/// How often one webhook's failed attempts may be logged.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// When each webhook's last failure was logged, and how many were left out since.
#[derive(Default)]
struct FailureLog {
    webhooks: HashMap<Id, (OffsetDateTime, u64)>,
}

impl FailureLog {
    /// Whether a failure of `webhook_id` at `now` is logged: `Some(failures left out since the
    /// last line)` if so, `None` (counting it) if one was logged less than the interval ago.
    fn admit(&mut self, webhook_id: Id, now: OffsetDateTime) -> Option<u64> {
        match self.webhooks.get_mut(&webhook_id) {
            Some((logged_at, suppressed)) if now - *logged_at < FAILURE_LOG_INTERVAL => {
                *suppressed += 1;
                None
            }
            Some((logged_at, suppressed)) => {
                *logged_at = now;
                Some(std::mem::take(suppressed))
            }
            None => {
                self.webhooks.insert(webhook_id, (now, 0));
                Some(0)
            }
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
        let decision = self.decide(&report.outcome, number, finished_at);
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
        let (status_code, error_class, error, response_body) = match report.outcome {
            AttemptOutcome::NoAnswer(failure, detail) => (None, Some(failure.class()), Some(detail), None),
            AttemptOutcome::Answered { status, excerpt, .. } => {
                let failed = decision != Decision::Delivered;
                (
                    Some(i64::from(status)),
                    failed.then_some(ErrorClass::HttpStatus),
                    failed.then(|| format!("HTTP {status}")),
                    Some(excerpt),
                )
            }
        };
        let attempt = Attempt {
            number,
            started_at,
            duration_micros: i64::try_from(report.duration.as_micros()).unwrap_or(i64::MAX),
            status_code,
            error_class,
            error,
            response_body,
            request_headers: logged_headers,
            next_attempt_at: match next {
                NextStep::RetryAt(at) => Some(at),
                NextStep::Delivered | NextStep::Failed => None,
            },
        };
        Finished {
            record: AttemptRecord {
                webhook_id: self.webhook.id,
                delivery_id: self.delivery.id,
                attempt,
                next,
            },
            event: self.delivery.event,
            disable,
        }
    }

    fn decide(&self, outcome: &AttemptOutcome, number: i64, now: OffsetDateTime) -> Decision {
        let result = match outcome {
            AttemptOutcome::NoAnswer(failure, _) => Err(*failure),
            AttemptOutcome::Answered {
                status, retry_after, ..
            } => {
                let retry_after = retry_after.as_deref().and_then(|value| parse_retry_after(value, now));
                classify_response(*status, retry_after)
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::service::origin;
    use bunting_core::mutation::Command;
    use bunting_core::webhook::config::{NewWebhook, PayloadFormat, WebhookCommand};
    use bunting_store::{DEFAULT_ENVIRONMENT, DatabaseUrl, DeliveryStatus};
    use time::macros::datetime;

    fn attempt(number: i64, at: OffsetDateTime, status_code: i64) -> Attempt {
        Attempt {
            number,
            started_at: at,
            duration_micros: 1_000,
            status_code: Some(status_code),
            error_class: None,
            error: None,
            response_body: Some(String::new()),
            request_headers: "{}".to_owned(),
            next_attempt_at: None,
        }
    }

    #[tokio::test]
    async fn an_attempt_that_cannot_be_recorded_is_set_aside_and_holds_back_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bunting.sqlite").display().to_string();
        let sealer = bunting_store::Sealer::new(&bunting_store::SecretKey::generate());
        let store = bunting_store::connect(&DatabaseUrl::Sqlite(path), sealer)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let now = datetime!(2026-12-01 12:00 UTC);
        let clock = Arc::new(ManualClock::new(now));
        for port in [9, 10] {
            let webhook = NewWebhook {
                url: format!("http://127.0.0.1:{port}/hook"),
                events: vec!["*".to_owned()],
                description: String::new(),
                secret: None,
                enabled: true,
                timeout_seconds: 10,
                format: PayloadFormat::Bunting,
                all_environments: false,
            };
            let command = WebhookCommand::Create(webhook);
            let origin = origin(&*clock, "test");
            store
                .mutate_webhook(DEFAULT_ENVIRONMENT, None, command, &origin)
                .await
                .unwrap();
        }
        let command = Command::CreateFlag {
            key: "poison".to_owned(),
            description: "poison".to_owned(),
            template: None,
        };
        let origin = origin(&*clock, "test");
        store.mutate(DEFAULT_ENVIRONMENT, None, command, &origin).await.unwrap();
        let claimed = store
            .claim_due_deliveries(&[(1, 10), (2, 10)], now, now + Duration::from_secs(15))
            .await
            .unwrap();
        let [first, second] = &claimed[..] else {
            panic!("{claimed:?}")
        };
        let record = |delivery: &ClaimedDelivery| AttemptRecord {
            webhook_id: delivery.webhook_id,
            delivery_id: delivery.id.clone(),
            attempt: attempt(1, now, 200),
            next: NextStep::Delivered,
        };
        // The second delivery's first attempt is already recorded, so recording it again breaks
        // the attempts' primary key: a batch holding it cannot be written.
        store.record_attempts(&[record(second)], now).await.unwrap();
        store.redeliver(second.webhook_id, &second.id, now).await.unwrap();

        let recorder = Recorder {
            store: store.clone(),
            webhooks: WebhookService::new(
                store.clone(),
                DEFAULT_ENVIRONMENT,
                clock.clone(),
                DispatcherHandle::default(),
                Duration::ZERO,
            ),
            clock,
            metrics: None,
            webhook_environments: Arc::default(),
            disable_after: Duration::from_secs(3600),
            failure_log: Arc::default(),
        };
        let finished = |delivery: &ClaimedDelivery| Finished {
            record: record(delivery),
            event: delivery.event.clone(),
            disable: None,
        };
        recorder.record(vec![finished(first), finished(second)]).await;

        let (delivered, _) = store.delivery(first.webhook_id, &first.id).await.unwrap().unwrap();
        assert_eq!(
            delivered.status,
            DeliveryStatus::Delivered,
            "recorded despite its batch-mate"
        );
        let (set_aside, _) = store.delivery(second.webhook_id, &second.id).await.unwrap().unwrap();
        assert_eq!(set_aside.status, DeliveryStatus::Failed, "not left to be sent again");
        assert_eq!(set_aside.last_error_class, Some(ErrorClass::Unrecorded));
    }

    #[test]
    fn failures_are_logged_once_a_minute_per_webhook_with_a_count_of_the_rest() {
        let mut log = FailureLog::default();
        let start = datetime!(2026-12-01 12:00 UTC);
        assert_eq!(log.admit(1, start), Some(0));
        assert_eq!(log.admit(1, start + Duration::from_secs(10)), None);
        assert_eq!(log.admit(2, start + Duration::from_secs(10)), Some(0), "per webhook");
        assert_eq!(log.admit(1, start + Duration::from_secs(59)), None);
        assert_eq!(log.admit(1, start + Duration::from_secs(60)), Some(2));
        assert_eq!(log.admit(1, start + Duration::from_secs(61)), None);
    }
}
