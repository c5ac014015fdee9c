//! The webhook delivery log, which is also the delivery queue.
//!
//! Deliveries are enqueued inside the transaction of the change that causes them (one per
//! enabled webhook and matching event), so nothing is lost between a commit and a send. The
//! dispatcher claims due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has a
//! single writer), sends outside any transaction, and records attempts in batches: the single
//! SQLite writer is shared with every flag change, so fewer, larger transactions matter.

use bunting_core::change::ChangeEvent;
use bunting_core::flag::Id;
use bunting_core::webhook::config::{PayloadFormat, Webhook};
use bunting_core::webhook::filter::EventFilter;
use bunting_core::webhook::payload;
use bunting_core::webhook::retry::ErrorClass;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use time::OffsetDateTime;

use crate::changes::{from_micros, micros};
use crate::webhooks::{self, WEBHOOK_COLUMNS};
use crate::{Backend, Store, StoreError};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in flight).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Every attempt failed; kept, and can be redelivered.
    Failed,
}

impl DeliveryStatus {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn from_name(name: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.name() == name)
    }
}

/// A delivery as the log lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: Id,
    pub event: String,
    pub event_id: Option<String>,
    pub change_seq: Option<i64>,
    pub flag_id: Option<Id>,
    pub flag_key: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub last_status_code: Option<i64>,
    pub last_error_class: Option<ErrorClass>,
    /// Set only when one delivery is read with its attempts.
    pub body: Option<String>,
}

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub number: i64,
    pub started_at: OffsetDateTime,
    pub duration_micros: i64,
    pub status_code: Option<i64>,
    pub error_class: Option<ErrorClass>,
    pub error: Option<String>,
    pub response_body: Option<String>,
    /// JSON object of the headers sent.
    pub request_headers: String,
    pub next_attempt_at: Option<OffsetDateTime>,
}

/// Filters of the delivery list, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    pub event: Option<String>,
    pub flag_key: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// A delivery the dispatcher has leased and must now attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub id: String,
    pub webhook_id: Id,
    pub event: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// A manual redelivery allows exactly one more attempt.
    pub attempt_limit: Option<i64>,
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(OffsetDateTime),
    Failed,
}

/// An attempt to record, with the step it leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub webhook_id: Id,
    pub delivery_id: String,
    pub attempt: Attempt,
    pub next: NextStep,
}

/// Why a redelivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedeliverError {
    #[error("unable to find delivery {0}")]
    NotFound(String),
    #[error("delivery {0} is being attempted right now; wait for the attempt to finish")]
    InFlight(String),
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event, event_id, change_seq, flag_id, flag_key, status, attempts, \
                                next_attempt_at, created_at, finished_at, last_status_code, last_error_class";
const ATTEMPT_COLUMNS: &str = "delivery_id, number, started_at, duration_micros, status_code, error_class, error, \
                               response_body, request_headers, next_attempt_at";
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
pub(crate) async fn enqueue_for_change(
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
            None => return Err(StoreError::Database(format!("unknown payload format {format}"))),
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

/// Text as both backends can store it. PostgreSQL refuses NUL in `text` and in `jsonb`
/// strings; what a receiver sends may hold anything, so NUL is shown as U+FFFD, as invalid
/// UTF-8 already is.
fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn finished_micros(attempt: &Attempt) -> i64 {
    micros(attempt.started_at) + attempt.duration_micros
}

/// One attempt and where it leaves its delivery, as a row of `record_attempts`' batch.
fn attempt_row(record: &AttemptRecord) -> serde_json::Value {
    let attempt = &record.attempt;
    let finished_at = finished_micros(attempt);
    let (status, finished_at) = match record.next {
        NextStep::Delivered => (DeliveryStatus::Delivered, Some(finished_at)),
        NextStep::RetryAt(_) => (DeliveryStatus::Pending, None),
        NextStep::Failed => (DeliveryStatus::Failed, Some(finished_at)),
    };
    serde_json::json!({
        "delivery_id": record.delivery_id,
        "number": attempt.number,
        "started_at": micros(attempt.started_at),
        "duration_micros": attempt.duration_micros,
        "status_code": attempt.status_code,
        "error_class": attempt.error_class.map(ErrorClass::name),
        "error": attempt.error.as_deref().map(storable),
        "response_body": attempt.response_body.as_deref().map(storable),
        "request_headers": storable(&attempt.request_headers),
        "next_attempt_at": attempt.next_attempt_at.map(micros),
        "status": status.name(),
        "finished_at": finished_at,
    })
}

/// For each webhook of the batch, where its run of failed attempts stands after it, as rows of
/// `record_attempts`' second batch: `reset` when an attempt succeeded, `since` the start of the
/// failures after the last success (none when the last attempt succeeded).
fn failure_runs(records: &[AttemptRecord]) -> Vec<serde_json::Value> {
    let mut ordered: Vec<&AttemptRecord> = records.iter().collect();
    ordered.sort_by_key(|record| finished_micros(&record.attempt));
    let mut runs: std::collections::BTreeMap<Id, (bool, Option<i64>)> = std::collections::BTreeMap::new();
    for record in ordered {
        let (reset, since) = runs.entry(record.webhook_id).or_default();
        if record.next == NextStep::Delivered {
            (*reset, *since) = (true, None);
        } else if since.is_none() {
            *since = Some(micros(record.attempt.started_at));
        }
    }
    runs.into_iter()
        .map(|(webhook_id, (reset, since))| {
            serde_json::json!({"webhook_id": webhook_id, "reset": i64::from(reset), "since": since})
        })
        .collect()
}

/// `rows` groups of `columns` numbered placeholders for a multi-row INSERT: `($1, $2), ($3, $4)`.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let numbers: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", numbers.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
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

    /// Every enabled webhook with pending deliveries, and when its earliest one is due.
    pub async fn webhooks_with_pending_deliveries(&self) -> Result<Vec<(Webhook, OffsetDateTime)>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM (SELECT {WEBHOOK_COLUMNS}, \
               (SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d \
                WHERE d.webhook_id = w.id AND d.status = 'pending') AS due \
             FROM webhooks w WHERE w.enabled = 1) AS webhooks_due WHERE due IS NOT NULL"
        )))
        .fetch_all(&self.reads)
        .await?;
        rows.iter()
            .map(|row| Ok((webhooks::webhook(row)?, from_micros(row.try_get("due")?)?)))
            .collect()
    }

    /// Leases due deliveries until `lease_until`, oldest due first: for each `(webhook, room)`,
    /// up to `room` of that webhook's, all in one statement (a round trip per webhook would
    /// queue behind every flag change on SQLite's single writer). The lease end also becomes their
    /// next attempt time, so a delivery whose sender died comes due again when the lease runs
    /// out, with no separate recovery.
    pub async fn claim_due_deliveries(
        &self,
        rooms: &[(Id, usize)],
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // Each webhook's share is its own index range scan with a limit.
        let per_webhook: Vec<String> = (0..rooms.len())
            .map(|index| {
                let (webhook, room) = (index * 2 + 3, index * 2 + 4);
                format!(
                    "SELECT id FROM (SELECT id FROM webhook_deliveries WHERE webhook_id = ${webhook} \
                     AND status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT ${room} {lock}) \
                     AS webhook_{index}"
                )
            })
            .collect();
        let mut query = sqlx::query(AssertSqlSafe(format!(
            "UPDATE webhook_deliveries SET leased_until = $1, next_attempt_at = $1 WHERE id IN ({}) \
             RETURNING id, webhook_id, event, attempts, attempt_limit, \
               (SELECT body FROM webhook_messages m WHERE m.id = webhook_deliveries.message_id) AS body",
            per_webhook.join(" UNION ALL ")
        )))
        .bind(micros(lease_until))
        .bind(micros(now));
        for (webhook, room) in rooms {
            query = query.bind(*webhook).bind(i64::try_from(*room).unwrap_or(i64::MAX));
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedDelivery {
                    id: row.try_get("id")?,
                    webhook_id: row.try_get("webhook_id")?,
                    event: row.try_get("event")?,
                    body: row.try_get("body")?,
                    attempts: row.try_get("attempts")?,
                    attempt_limit: row.try_get("attempt_limit")?,
                })
            })
            .collect()
    }

    /// Records attempts, moves their deliveries on and keeps each webhook's run of failures, all
    /// in one transaction. Returns the enabled webhooks of the batch that have failed every
    /// attempt since before `failing_cutoff`, with when their failures began.
    pub async fn record_attempts(
        &self,
        records: &[AttemptRecord],
        failing_cutoff: OffsetDateTime,
    ) -> Result<Vec<(Id, OffsetDateTime)>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        // The whole batch travels as one JSON parameter of two fixed statements: they are
        // prepared once, whatever the batch size, and bind one value instead of thousands. On
        // SQLite, jsonb_each hands out each row in binary form, so reading its fields does not
        // parse text again (half the cost of json_each here).
        let rows: Vec<serde_json::Value> = records.iter().map(attempt_row).collect();
        let rows = serde_json::Value::Array(rows).to_string();
        let source = match self.backend {
            Backend::Sqlite => "jsonb_each($1) AS batch",
            Backend::Postgres => "jsonb_array_elements($1::jsonb) AS batch(value)",
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS}) SELECT value ->> 'delivery_id', \
             CAST(value ->> 'number' AS BIGINT), CAST(value ->> 'started_at' AS BIGINT), \
             CAST(value ->> 'duration_micros' AS BIGINT), CAST(value ->> 'status_code' AS BIGINT), \
             value ->> 'error_class', value ->> 'error', value ->> 'response_body', value ->> 'request_headers', \
             CAST(value ->> 'next_attempt_at' AS BIGINT) FROM {source}"
        )))
        .bind(&rows)
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE webhook_deliveries SET status = batch.status, attempts = attempts + 1, \
             next_attempt_at = batch.next_attempt_at, leased_until = NULL, finished_at = batch.finished_at, \
             last_status_code = batch.status_code, last_error_class = batch.error_class \
             FROM (SELECT value ->> 'delivery_id' AS id, value ->> 'status' AS status, \
               CAST(value ->> 'next_attempt_at' AS BIGINT) AS next_attempt_at, \
               CAST(value ->> 'finished_at' AS BIGINT) AS finished_at, \
               CAST(value ->> 'status_code' AS BIGINT) AS status_code, value ->> 'error_class' AS error_class \
               FROM {source}) AS batch \
             WHERE webhook_deliveries.id = batch.id"
        )))
        .bind(&rows)
        .execute(&mut *tx)
        .await?;
        let runs = serde_json::Value::Array(failure_runs(records)).to_string();
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE webhooks SET failing_since = CASE WHEN batch.reset = 1 THEN batch.since \
               ELSE COALESCE(webhooks.failing_since, batch.since) END \
             FROM (SELECT CAST(value ->> 'webhook_id' AS BIGINT) AS id, CAST(value ->> 'reset' AS BIGINT) AS reset, \
               CAST(value ->> 'since' AS BIGINT) AS since FROM {source}) AS batch \
             WHERE webhooks.id = batch.id"
        )))
        .bind(&runs)
        .execute(&mut *tx)
        .await?;
        let failing = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, failing_since FROM webhooks WHERE enabled = 1 AND failing_since <= $2 \
             AND id IN (SELECT CAST(value ->> 'webhook_id' AS BIGINT) FROM {source})"
        )))
        .bind(&runs)
        .bind(micros(failing_cutoff))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, from_micros(row.try_get("failing_since")?)?)))
        .collect::<Result<_, StoreError>>()?;
        tx.commit().await?;
        Ok(failing)
    }

    /// Finishes a pending delivery whose attempt could not be recorded: failed, with the error
    /// class `unrecorded`, so it is not sent again and again. It stays redeliverable.
    pub async fn set_delivery_aside(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, leased_until = NULL, \
             finished_at = $2, last_error_class = $3 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(micros(at))
        .bind(ErrorClass::Unrecorded.name())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A webhook's deliveries, newest first.
    pub async fn deliveries(&self, webhook_id: Id, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
             AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR event = $3) AND ($4 IS NULL OR flag_key = $4) \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
        )))
        .bind(webhook_id)
        .bind(query.status.map(DeliveryStatus::name))
        .bind(query.event.as_deref())
        .bind(query.flag_key.as_deref())
        .bind(query.limit)
        .bind(query.offset)
        .fetch_all(&self.reads)
        .await?;
        rows.iter().map(|row| delivery(row, false)).collect()
    }

    /// One delivery with its body and every attempt, oldest attempt first.
    pub async fn delivery(&self, webhook_id: Id, id: &str) -> Result<Option<(Delivery, Vec<Attempt>)>, StoreError> {
        // One snapshot for both reads, so the delivery and its attempts always agree.
        let mut tx = self.reads.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS}, (SELECT body FROM webhook_messages m WHERE m.id = message_id) AS body \
             FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2"
        )))
        .bind(webhook_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let delivery = delivery(&row, true)?;
        let attempts = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE delivery_id = $1 ORDER BY number"
        )))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(attempt)
        .collect::<Result<_, _>>()?;
        tx.commit().await?;
        Ok(Some((delivery, attempts)))
    }

    /// Makes a delivery due now, keeping its id. A finished delivery gets exactly one more
    /// attempt; a pending one simply stops waiting for its scheduled retry. Returns the delivery
    /// as this left it (a dispatcher may attempt it the moment the transaction commits).
    pub async fn redeliver(&self, webhook_id: Id, id: &str, now: OffsetDateTime) -> Result<Delivery, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT status, leased_until FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2")
            .bind(webhook_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| RedeliverError::NotFound(id.to_owned()))?;
        let leased_until: Option<i64> = row.try_get("leased_until")?;
        if leased_until.is_some_and(|until| until > micros(now)) {
            return Err(RedeliverError::InFlight(id.to_owned()).into());
        }
        let finished = row.try_get::<String, _>("status")? != DeliveryStatus::Pending.name();
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, leased_until = NULL, \
             finished_at = NULL, attempt_limit = CASE WHEN $2 = 1 THEN attempts + 1 ELSE attempt_limit END \
             WHERE id = $3",
        )
        .bind(micros(now))
        .bind(i64::from(finished))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let redelivered = delivery_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(redelivered)
    }

    /// Deletes finished deliveries (with their attempts, and bodies no delivery uses any more)
    /// that finished before `cutoff`. Pending deliveries are never pruned: nothing unfinished is
    /// lost to retention.
    pub async fn prune_deliveries(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        // Attempts go first: SQLite enforces the cascade only with foreign keys on, and explicit
        // deletes keep both backends alike.
        let cutoff = micros(cutoff);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Also the bodies of deliveries deleted with their webhook.
        sqlx::query(
            "DELETE FROM webhook_messages WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

/// A delivery as the transaction that just wrote it sees it.
async fn delivery_in(tx: &mut Transaction<'static, Any>, id: &str) -> Result<Delivery, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    delivery(&row, false)
}

fn delivery(row: &AnyRow, with_body: bool) -> Result<Delivery, StoreError> {
    let status: String = row.try_get("status")?;
    let optional_time = |column: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        row.try_get::<Option<i64>, _>(column)?.map(from_micros).transpose()
    };
    Ok(Delivery {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        event: row.try_get("event")?,
        event_id: row.try_get("event_id")?,
        change_seq: row.try_get("change_seq")?,
        flag_id: row.try_get("flag_id")?,
        flag_key: row.try_get("flag_key")?,
        status: DeliveryStatus::from_name(&status)
            .ok_or_else(|| StoreError::Database(format!("unknown delivery status {status}")))?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: optional_time("next_attempt_at")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        finished_at: optional_time("finished_at")?,
        last_status_code: row.try_get("last_status_code")?,
        last_error_class: error_class(row.try_get("last_error_class")?)?,
        body: if with_body { Some(row.try_get("body")?) } else { None },
    })
}

fn attempt(row: &AnyRow) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        number: row.try_get("number")?,
        started_at: from_micros(row.try_get("started_at")?)?,
        duration_micros: row.try_get("duration_micros")?,
        status_code: row.try_get("status_code")?,
        error_class: error_class(row.try_get("error_class")?)?,
        error: row.try_get("error")?,
        response_body: row.try_get("response_body")?,
        request_headers: row.try_get("request_headers")?,
        next_attempt_at: row
            .try_get::<Option<i64>, _>("next_attempt_at")?
            .map(from_micros)
            .transpose()?,
    })
}

fn error_class(name: Option<String>) -> Result<Option<ErrorClass>, StoreError> {
    name.map(|name| {
        ErrorClass::from_name(&name).ok_or_else(|| StoreError::Database(format!("unknown error class {name}")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_every_row() {
        assert_eq!(super::placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::placeholders(1, 1), "($1)");
    }
}
