//! The outbox: the webhook deliveries a change causes, written in the change's own transaction
//! (one per enabled webhook and matching event, or one per change for the formats that describe a
//! whole change), so nothing is lost between a commit and a send. Each body is stored once,
//! however many webhooks receive it. Also the test deliveries a user asks for.

use bunting_core::change::ChangeEvent;
use bunting_core::environment::EnvironmentLabel;
use bunting_core::flag::Id;
use bunting_core::webhook::config::PayloadFormat;
use bunting_core::webhook::filter::EventFilter;
use bunting_core::webhook::integrations::{self, Context};
use bunting_core::webhook::payload;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use time::OffsetDateTime;

use crate::codec;
use crate::codec::{micros, placeholders};
use crate::delivery_log::{Delivery, DeliveryStatus, delivery_in};
use crate::{Backend, EnvironmentId, Store, StoreError, environments};

/// Rows per multi-row INSERT: keeps statements well under both backends' parameter limits.
///
/// Delivery and message ids are UUIDv7s: ordered by time, new rows go to the end of their
/// indexes instead of a random page each, which on SQLite cut the pages a change's commit writes
/// (a change with 10 deliveries committed in 0.95 ms instead of 1.6 ms).
const ROWS_PER_INSERT: usize = 200;

struct NewDelivery {
    id: String,
    webhook_id: Id,
    event: &'static str,
    event_id: Option<String>,
    /// Index into the messages enqueued with it.
    message: usize,
}

/// A body to enqueue, with the id it is stored under.
struct Message {
    id: String,
    body: String,
}

/// Which message of a change: its format, and for per-event formats the event's index.
type MessageKey = (PayloadFormat, Option<usize>);

/// The enabled webhooks of each environment and the environments' labels, read once per
/// transaction: the changes a transaction records together (a group of concurrent flag changes,
/// an import) share one read. Nothing in a transaction that records changes alters webhooks
/// or environments after it has read them, so what was read stays true until the commit.
#[derive(Default)]
pub(crate) struct Targets {
    webhooks: HashMap<EnvironmentId, Vec<Target>>,
    labels: HashMap<EnvironmentId, EnvironmentLabel>,
}

/// An enabled webhook as the outbox needs it.
struct Target {
    webhook_id: Id,
    filter: EventFilter,
    format: PayloadFormat,
    /// An audit stream is complete: for it `*` covers the webhook events too.
    everything: bool,
}

impl Targets {
    /// The enabled webhooks of `environment` and of every environment, with the environment's
    /// label when there are any.
    async fn of(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        environment: EnvironmentId,
    ) -> Result<Option<(&[Target], &EnvironmentLabel)>, StoreError> {
        if let Entry::Vacant(unread) = self.webhooks.entry(environment) {
            unread.insert(read_targets(tx, environment).await?);
        }
        let none = self.webhooks.get(&environment).is_none_or(Vec::is_empty);
        if none {
            return Ok(None);
        }
        if let Entry::Vacant(unread) = self.labels.entry(environment) {
            unread.insert(environments::label(tx, environment).await?);
        }
        Ok(self
            .webhooks
            .get(&environment)
            .zip(self.labels.get(&environment))
            .map(|(webhooks, label)| (webhooks.as_slice(), label)))
    }
}

async fn read_targets(
    tx: &mut Transaction<'static, Any>,
    environment: EnvironmentId,
) -> Result<Vec<Target>, StoreError> {
    let rows = codec::query(
        Backend::of(tx),
        "SELECT id, events, format FROM webhooks WHERE (environment_id = $1 OR all_environments = 1) AND enabled = 1",
    )
    .bind(environment)
    .fetch_all(&mut **tx)
    .await?;
    let mut targets = Vec::with_capacity(rows.len());
    for row in &rows {
        let webhook_id: Id = row.try_get("id")?;
        let patterns: Vec<String> = serde_json::from_str(&row.try_get::<String, _>("events")?)?;
        let Ok(filter) = EventFilter::parse(&patterns) else {
            tracing::warn!(webhook_id, "stored subscription no longer parses; skipping the webhook");
            continue;
        };
        let format: String = row.try_get("format")?;
        let Some(format) = PayloadFormat::from_name(&format) else {
            return Err(StoreError::unreadable(format!("unknown payload format {format}")));
        };
        targets.push(Target {
            webhook_id,
            filter,
            format,
            everything: format == PayloadFormat::FlagsmithAudit && patterns.iter().any(|pattern| pattern == "*"),
        });
    }
    Ok(targets)
}

/// The messages of one change, each built the first time a webhook needs it.
struct Messages<'c> {
    change: &'c ChangeEvent,
    /// Where the UI is served, for links in chat messages.
    public_url: Option<&'c str>,
    built: Vec<Message>,
    index: HashMap<MessageKey, Option<usize>>,
}

impl Messages<'_> {
    /// The message `key` names, the same for every webhook receiving it; `None` when the format
    /// has nothing to say about this change (Flagr and Flagsmith say nothing of webhook changes).
    fn get(&mut self, environment: &EnvironmentLabel, key: MessageKey) -> Result<Option<usize>, StoreError> {
        if let Some(&built) = self.index.get(&key) {
            return Ok(built);
        }
        let change = self.change;
        let id = uuid::Uuid::now_v7().to_string();
        let context = Context {
            environment_key: &environment.key,
            public_url: self.public_url,
        };
        let body = match key {
            (PayloadFormat::Bunting, Some(event)) => {
                Some(payload::event_body(change, &change.events[event], &id, environment)?)
            }
            (PayloadFormat::FlagrNotification, _) => payload::flagr_notification_body(change, false)?,
            (PayloadFormat::FlagrNotificationDetailed, _) => payload::flagr_notification_body(change, true)?,
            (PayloadFormat::Flagsmith, _) => integrations::flagsmith_body(change)?,
            (PayloadFormat::FlagsmithAudit, Some(event)) => Some(integrations::flagsmith_audit_body(
                change,
                &change.events[event],
                context,
            )?),
            (PayloadFormat::Slack, _) => Some(integrations::slack_body(change, context)?),
            (PayloadFormat::Sentry, _) => integrations::sentry_body(change)?,
            (PayloadFormat::Bunting | PayloadFormat::FlagsmithAudit, None) => None,
        };
        let built = body.map(|body| {
            self.built.push(Message { id, body });
            self.built.len() - 1
        });
        self.index.insert(key, built);
        Ok(built)
    }
}

/// Enqueues one delivery per enabled webhook of the change's environment (or of every environment) and matching event
/// (one per change for the formats that describe a whole change: Flagr's notification,
/// Flagsmith's `FLAG_UPDATED`, Slack and Sentry). Each body is stored once, however many
/// webhooks receive it.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    targets: &mut Targets,
    change: &ChangeEvent,
    first_attempt_at: OffsetDateTime,
    public_url: Option<&str>,
) -> Result<(), StoreError> {
    let Some((webhooks, environment)) = targets.of(tx, change.environment_id).await? else {
        return Ok(());
    };
    let mut messages = Messages {
        change,
        public_url,
        built: Vec::new(),
        index: HashMap::new(),
    };
    let mut deliveries = Vec::new();
    for target in webhooks {
        let format = target.format;
        let matching: Vec<usize> = (0..change.events.len())
            .filter(|&index| target.everything || target.filter.matches(change.events[index].kind.name()))
            .collect();
        let per_event = matches!(format, PayloadFormat::Bunting | PayloadFormat::FlagsmithAudit);
        // Per-event formats get one delivery per matching event; the others one per change,
        // named by its first matching event.
        let sends: Vec<(usize, MessageKey)> = if per_event {
            matching.iter().map(|&index| (index, (format, Some(index)))).collect()
        } else {
            matching
                .first()
                .map(|&index| (index, (format, None)))
                .into_iter()
                .collect()
        };
        for (index, key) in sends {
            let Some(message) = messages.get(environment, key)? else {
                continue;
            };
            deliveries.push(NewDelivery {
                id: uuid::Uuid::now_v7().to_string(),
                webhook_id: target.webhook_id,
                event: change.events[index].kind.name(),
                // Bunting's payload carries its message id as the event id.
                event_id: (format == PayloadFormat::Bunting).then(|| messages.built[message].id.clone()),
                message,
            });
        }
    }
    insert(tx, &messages.built, &deliveries, change, first_attempt_at).await
}

async fn insert(
    tx: &mut Transaction<'static, Any>,
    messages: &[Message],
    deliveries: &[NewDelivery],
    change: &ChangeEvent,
    first_attempt_at: OffsetDateTime,
) -> Result<(), StoreError> {
    for chunk in messages.chunks(ROWS_PER_INSERT) {
        let statement = format!(
            "INSERT INTO webhook_messages (id, body, created_at) VALUES {}",
            placeholders(chunk.len(), 3)
        );
        let mut query = codec::query(Backend::of(tx), statement);
        for message in chunk {
            query = query
                .bind(&message.id)
                .bind(&message.body)
                .bind(micros(change.occurred_at));
        }
        query.execute(&mut **tx).await?;
    }
    let change_seq = (change.seq > 0).then_some(change.seq);
    for chunk in deliveries.chunks(ROWS_PER_INSERT) {
        let statement = format!(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, event_id, change_seq, flag_id, flag_key, \
             message_id, status, attempts, next_attempt_at, created_at) VALUES {}",
            placeholders(chunk.len(), 12)
        );
        let mut query = codec::query(Backend::of(tx), statement);
        for delivery in chunk {
            query = query
                .bind(&delivery.id)
                .bind(delivery.webhook_id)
                .bind(delivery.event)
                .bind(delivery.event_id.as_deref())
                .bind(change_seq)
                .bind(change.flag_id)
                .bind(change.flag_key.as_deref())
                .bind(&messages[delivery.message].id)
                .bind(DeliveryStatus::Pending.name())
                .bind(0_i64)
                .bind(micros(first_attempt_at))
                .bind(micros(change.occurred_at));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Enqueues a `webhook.test` delivery to one webhook, due at `at`; returns it as enqueued
    /// (a dispatcher may attempt it the moment the transaction commits).
    pub async fn enqueue_test_delivery(
        &self,
        webhook_id: Id,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Delivery, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let event_id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.pool.begin().await?;
        let row = codec::query(
            self.backend,
            "SELECT format, environment_id FROM webhooks WHERE id = $1",
        )
        .bind(webhook_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (format, environment_id) = match &row {
            Some(row) => (
                PayloadFormat::from_name(&row.try_get::<String, _>("format")?),
                row.try_get::<i64, _>("environment_id")?,
            ),
            None => return Err(bunting_core::webhook::config::webhook_not_found(webhook_id).into()),
        };
        // The formats read as sentences say the test in their own words; the others get
        // Bunting's test event, as Flagsmith and Sentry have no test message of their own.
        let body = match format {
            Some(PayloadFormat::Slack) => {
                integrations::slack_text(&integrations::slack_escape(&integrations::test_sentence(webhook_id)))?
            }
            Some(PayloadFormat::FlagsmithAudit) => {
                let environment = environments::label(&mut tx, environment_id).await?;
                let context = Context {
                    environment_key: &environment.key,
                    public_url: self.public_url.as_deref(),
                };
                integrations::flagsmith_audit_test_body(webhook_id, environment_id, actor, at, context)?
            }
            _ => {
                let environment = environments::label(&mut tx, environment_id).await?;
                payload::test_body(webhook_id, &event_id, actor, at, &environment)?
            }
        };
        codec::query(
            self.backend,
            "INSERT INTO webhook_messages (id, body, created_at) VALUES ($1, $2, $3)",
        )
        .bind(&event_id)
        .bind(&body)
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
        codec::query(
            self.backend,
            "INSERT INTO webhook_deliveries (id, webhook_id, event, event_id, message_id, status, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)",
        )
        .bind(&id)
        .bind(webhook_id)
        .bind(bunting_core::webhook::catalogue::TEST_EVENT)
        .bind(&event_id)
        .bind(&event_id)
        .bind(micros(at))
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
        let enqueued = delivery_in(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(enqueued)
    }
}
