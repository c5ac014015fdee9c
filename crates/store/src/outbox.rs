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
use time::OffsetDateTime;

use crate::codec;
use crate::codec::{micros, placeholders};
use crate::delivery_log::{Delivery, DeliveryStatus, delivery_in};
use crate::{Backend, Store, StoreError, environments};

/// Rows per multi-row INSERT: keeps statements well under both backends' parameter limits.
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

/// The messages of one change, each built the first time a webhook needs it.
struct Messages<'c> {
    change: &'c ChangeEvent,
    /// Where the UI is served, for links in chat messages.
    public_url: Option<&'c str>,
    /// The change's environment, read when a format first needs it.
    environment: Option<EnvironmentLabel>,
    built: Vec<Message>,
    index: HashMap<MessageKey, Option<usize>>,
}

impl Messages<'_> {
    /// The message `key` names, the same for every webhook receiving it; `None` when the format
    /// has nothing to say about this change (Flagr and Flagsmith say nothing of webhook changes).
    async fn get(&mut self, tx: &mut Transaction<'static, Any>, key: MessageKey) -> Result<Option<usize>, StoreError> {
        if let Some(&built) = self.index.get(&key) {
            return Ok(built);
        }
        let change = self.change;
        let id = uuid::Uuid::new_v4().to_string();
        let body = match key {
            (PayloadFormat::Bunting, Some(event)) => {
                let environment = self.environment(tx).await?;
                Some(payload::event_body(change, &change.events[event], &id, environment)?)
            }
            (PayloadFormat::FlagrNotification, _) => payload::flagr_notification_body(change, false)?,
            (PayloadFormat::FlagrNotificationDetailed, _) => payload::flagr_notification_body(change, true)?,
            (PayloadFormat::Flagsmith, _) => integrations::flagsmith_body(change)?,
            (PayloadFormat::FlagsmithAudit, Some(event)) => {
                let context = self.context(tx).await?;
                Some(integrations::flagsmith_audit_body(
                    change,
                    &change.events[event],
                    context,
                )?)
            }
            (PayloadFormat::Slack, _) => {
                let context = self.context(tx).await?;
                Some(integrations::slack_body(change, context)?)
            }
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

    async fn environment(&mut self, tx: &mut Transaction<'static, Any>) -> Result<&EnvironmentLabel, StoreError> {
        let environment = match self.environment.take() {
            Some(environment) => environment,
            None => environments::label(tx, self.change.environment_id).await?,
        };
        Ok(self.environment.insert(environment))
    }

    async fn context(&mut self, tx: &mut Transaction<'static, Any>) -> Result<Context<'_>, StoreError> {
        let public_url = self.public_url;
        Ok(Context {
            environment_key: &self.environment(tx).await?.key,
            public_url,
        })
    }
}

/// Enqueues one delivery per enabled webhook of the change's environment (or of every environment) and matching event
/// (one per change for the formats that describe a whole change: Flagr's notification,
/// Flagsmith's `FLAG_UPDATED`, Slack and Sentry). Each body is stored once, however many
/// webhooks receive it.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    change: &ChangeEvent,
    first_attempt_at: OffsetDateTime,
    public_url: Option<&str>,
) -> Result<(), StoreError> {
    let rows = codec::query(
        Backend::of(tx),
        "SELECT id, events, format FROM webhooks WHERE (environment_id = $1 OR all_environments = 1) AND enabled = 1",
    )
    .bind(change.environment_id)
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut messages = Messages {
        change,
        public_url,
        environment: None,
        built: Vec::new(),
        index: HashMap::new(),
    };
    let mut deliveries = Vec::new();
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
        // An audit stream is complete: for it `*` covers the webhook events too.
        let everything = format == PayloadFormat::FlagsmithAudit && patterns.iter().any(|pattern| pattern == "*");
        let matching: Vec<usize> = (0..change.events.len())
            .filter(|&index| everything || filter.matches(change.events[index].kind.name()))
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
            let Some(message) = messages.get(tx, key).await? else {
                continue;
            };
            deliveries.push(NewDelivery {
                id: uuid::Uuid::new_v4().to_string(),
                webhook_id,
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
        let id = uuid::Uuid::new_v4().to_string();
        let event_id = uuid::Uuid::new_v4().to_string();
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
