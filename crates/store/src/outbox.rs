//! The outbox: the webhook deliveries a change causes, written in the change's own transaction
//! (one per enabled webhook and matching event; one per change for Flagr's notification format,
//! which has no event types), so nothing is lost between a commit and a send. Each event's body
//! is stored once, however many webhooks receive it. Also the test deliveries a user asks for.

use bunting_core::change::ChangeEvent;
use bunting_core::flag::Id;
use bunting_core::webhook::config::PayloadFormat;
use bunting_core::webhook::filter::EventFilter;
use bunting_core::webhook::payload;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use time::OffsetDateTime;

use crate::codec::{micros, placeholders};
use crate::delivery_log::{Delivery, DeliveryStatus, delivery_in};
use crate::{Store, StoreError};

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

/// The messages of one change, each built the first time a webhook needs it.
struct Messages<'c> {
    change: &'c ChangeEvent,
    built: Vec<Message>,
    /// For each of the change's events, its message in `built`.
    events: Vec<Option<usize>>,
    /// Flagr's notification for the change, plain and detailed.
    notifications: [Option<usize>; 2],
}

impl Messages<'_> {
    /// The message of the change's `index`-th event; the same for every webhook receiving it.
    fn event(&mut self, index: usize) -> Result<usize, StoreError> {
        if let Some(built) = self.events[index] {
            return Ok(built);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let body = payload::event_body(self.change, &self.change.events[index], &id)?;
        self.built.push(Message { id, body });
        self.events[index] = Some(self.built.len() - 1);
        Ok(self.built.len() - 1)
    }

    /// Flagr's notification for the change, if Flagr would send one.
    fn notification(&mut self, detailed: bool) -> Result<Option<usize>, StoreError> {
        let slot = usize::from(detailed);
        if let Some(built) = self.notifications[slot] {
            return Ok(Some(built));
        }
        let Some(body) = payload::flagr_notification_body(self.change, detailed)? else {
            return Ok(None);
        };
        self.built.push(Message {
            id: uuid::Uuid::new_v4().to_string(),
            body,
        });
        self.notifications[slot] = Some(self.built.len() - 1);
        Ok(Some(self.built.len() - 1))
    }
}

/// Enqueues one delivery per enabled webhook of the change's environment and matching event
/// (one per change for Flagr's notification format, which has no event types). Each event's
/// body is stored once, however many webhooks receive it.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    change: &ChangeEvent,
    first_attempt_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT id, events, format FROM webhooks WHERE environment_id = $1 AND enabled = 1")
        .bind(change.environment_id)
        .fetch_all(&mut **tx)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut messages = Messages {
        change,
        built: Vec::new(),
        events: vec![None; change.events.len()],
        notifications: [None; 2],
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
        let matching: Vec<usize> = (0..change.events.len())
            .filter(|&index| filter.matches(change.events[index].kind.name()))
            .collect();
        match PayloadFormat::from_name(&format) {
            Some(PayloadFormat::Bunting) => {
                for index in matching {
                    let message = messages.event(index)?;
                    deliveries.push(NewDelivery {
                        id: uuid::Uuid::new_v4().to_string(),
                        webhook_id,
                        event: change.events[index].kind.name(),
                        event_id: Some(messages.built[message].id.clone()),
                        message,
                    });
                }
            }
            Some(format @ (PayloadFormat::FlagrNotification | PayloadFormat::FlagrNotificationDetailed)) => {
                let detailed = format == PayloadFormat::FlagrNotificationDetailed;
                if let Some(&index) = matching.first()
                    && let Some(message) = messages.notification(detailed)?
                {
                    deliveries.push(NewDelivery {
                        id: uuid::Uuid::new_v4().to_string(),
                        webhook_id,
                        event: change.events[index].kind.name(),
                        event_id: None,
                        message,
                    });
                }
            }
            None => return Err(StoreError::unreadable(format!("unknown payload format {format}"))),
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
        let sql = format!(
            "INSERT INTO webhook_messages (id, body, created_at) VALUES {}",
            placeholders(chunk.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
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
        let sql = format!(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, event_id, change_seq, flag_id, flag_key, \
             message_id, status, attempts, next_attempt_at, created_at) VALUES {}",
            placeholders(chunk.len(), 12)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
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
        let body = payload::test_body(webhook_id, &event_id, actor, at)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO webhook_messages (id, body, created_at) VALUES ($1, $2, $3)")
            .bind(&event_id)
            .bind(&body)
            .bind(micros(at))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, event_id, message_id, status, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4, 'pending', 0, $5, $5)",
        )
        .bind(&id)
        .bind(webhook_id)
        .bind(bunting_core::webhook::catalogue::TEST_EVENT)
        .bind(&event_id)
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
        let enqueued = delivery_in(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(enqueued)
    }
}
