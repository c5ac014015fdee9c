//! The delivery queue: the dispatcher's side of the delivery rows. Due rows are claimed with a
//! lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has a single writer), sent outside any
//! transaction, and their attempts recorded in batches: the single SQLite writer is shared with
//! every flag change, so fewer, larger transactions matter. Also manual redelivery and pruning.

use bunting_core::flag::Id;
use bunting_core::webhook::config::Webhook;
use bunting_core::webhook::retry::ErrorClass;
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec;
use crate::codec::{Field, from_micros, json_rows, micros, storable, update_from};
use crate::delivery_log::{ATTEMPT_COLUMNS, Attempt, Delivery, DeliveryStatus, delivery_in};
use crate::webhooks::{self, WEBHOOK_COLUMNS};
use crate::{Backend, Store, StoreError, retrying_deadlocks};

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

/// The fields of [`attempt_row`], as `record_attempts` reads them back.
const ATTEMPT_FIELDS: &[(&str, Field)] = &[
    ("delivery_id", Field::Text),
    ("number", Field::Integer),
    ("started_at", Field::Integer),
    ("duration_micros", Field::Integer),
    ("status_code", Field::Integer),
    ("error_class", Field::Text),
    ("error", Field::Text),
    ("response_body", Field::Text),
    ("request_headers", Field::Text),
    ("next_attempt_at", Field::Integer),
    ("status", Field::Text),
    ("finished_at", Field::Integer),
];

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

/// What a claim reads of each delivery it leases.
const CLAIMED_COLUMNS: &str = "id, webhook_id, event, attempts, attempt_limit, \
    (SELECT body FROM webhook_messages m WHERE m.id = webhook_deliveries.message_id) AS body";

/// The ids of the deliveries due at the bound time, for each `(webhook, room)` up to `room` of
/// that webhook's, locked on the backends with row locks; each webhook's share is its own index
/// range scan with a limit. Three placeholders per webhook, numbered from `first`.
fn due_deliveries(backend: Backend, rooms: &[(Id, usize)], first: usize) -> String {
    let lock = match backend {
        Backend::Postgres | Backend::Mysql => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let per_webhook: Vec<String> = (0..rooms.len())
        .map(|index| {
            let webhook = first + index * 3;
            let (now, room) = (webhook + 1, webhook + 2);
            format!(
                "SELECT id FROM (SELECT id FROM webhook_deliveries WHERE webhook_id = ${webhook} \
                 AND status = 'pending' AND next_attempt_at <= ${now} ORDER BY next_attempt_at LIMIT ${room} {lock}) \
                 AS webhook_{index}"
            )
        })
        .collect();
    per_webhook.join(" UNION ALL ")
}

/// Binds [`due_deliveries`]' placeholders.
fn bind_rooms<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    rooms: &[(Id, usize)],
    now: OffsetDateTime,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for (webhook, room) in rooms {
        query = query
            .bind(*webhook)
            .bind(micros(now))
            .bind(i64::try_from(*room).unwrap_or(i64::MAX));
    }
    query
}

impl Store {
    /// Every enabled webhook with pending deliveries, and when its earliest one is due.
    pub async fn webhooks_with_pending_deliveries(&self) -> Result<Vec<(Webhook, OffsetDateTime)>, StoreError> {
        let rows = codec::query(
            self.backend,
            format!(
                "SELECT * FROM (SELECT {WEBHOOK_COLUMNS}, \
                 (SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d \
                 WHERE d.webhook_id = w.id AND d.status = 'pending') AS due \
                 FROM webhooks w WHERE w.enabled = 1) AS webhooks_due WHERE due IS NOT NULL"
            ),
        )
        .fetch_all(&self.reads)
        .await?;
        rows.iter()
            .map(|row| Ok((webhooks::webhook(row, &self.sealer)?, from_micros(row.try_get("due")?)?)))
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
        let backend = self.backend;
        let lease_until = micros(lease_until);
        let claim = |first| {
            format!(
                "UPDATE webhook_deliveries SET leased_until = $1, next_attempt_at = $2 WHERE id IN ({}) \
                 RETURNING {CLAIMED_COLUMNS}",
                due_deliveries(backend, rooms, first)
            )
        };
        let rows = match backend {
            Backend::Sqlite => {
                let query = codec::query(backend, claim(3)).bind(lease_until).bind(lease_until);
                bind_rooms(query, rooms, now).fetch_all(&self.pool).await?
            }
            // A claim need not wait for its WAL flush: one lost in a crash of the database
            // server leaves its deliveries due as they were, which is what a crash of Bunting
            // during the lease leads to anyway (they are sent again, with the same ids). Not
            // waiting takes a flush per claim off the disk every change's commit waits for.
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                codec::query(backend, "SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                let query = codec::query(backend, claim(3)).bind(lease_until).bind(lease_until);
                let rows = bind_rooms(query, rooms, now).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
            // No `UPDATE … RETURNING`: the due rows are locked first, then leased and read.
            // Tried again when InnoDB ends it to break a deadlock with a change's new deliveries.
            Backend::Mysql => {
                retrying_deadlocks(|| async {
                    let mut tx = self.pool.begin().await?;
                    let query = codec::query(backend, due_deliveries(backend, rooms, 1));
                    let ids: Vec<String> = bind_rooms(query, rooms, now)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|row| row.try_get("id"))
                        .collect::<Result<_, _>>()?;
                    if ids.is_empty() {
                        tx.commit().await?;
                        return Ok(Vec::new());
                    }
                    let listed = |first: usize| (first..first + ids.len()).map(|n| format!("${n}")).collect::<Vec<_>>();
                    let statement = format!(
                        "UPDATE webhook_deliveries SET leased_until = $1, next_attempt_at = $2 WHERE id IN ({})",
                        listed(3).join(", ")
                    );
                    let mut update = codec::query(backend, statement).bind(lease_until).bind(lease_until);
                    for id in &ids {
                        update = update.bind(id);
                    }
                    update.execute(&mut *tx).await?;
                    let statement = format!(
                        "SELECT {CLAIMED_COLUMNS} FROM webhook_deliveries WHERE id IN ({})",
                        listed(1).join(", ")
                    );
                    let mut select = codec::query(backend, statement);
                    for id in &ids {
                        select = select.bind(id);
                    }
                    let rows = select.fetch_all(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(rows)
                })
                .await?
            }
        };
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
        // The whole batch travels as one JSON parameter of fixed statements: they are prepared
        // once, whatever the batch size, and bind one value instead of thousands.
        let backend = self.backend;
        let rows: Vec<serde_json::Value> = records.iter().map(attempt_row).collect();
        let rows = serde_json::Value::Array(rows).to_string();
        let attempts = json_rows(backend, ATTEMPT_FIELDS);
        retrying_deadlocks(|| async {
            let mut tx = self.pool.begin().await?;
            codec::query(
                backend,
                format!("INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS}) SELECT {ATTEMPT_COLUMNS} FROM {attempts}"),
            )
            .bind(&rows)
            .execute(&mut *tx)
            .await?;
            let delivery_update = update_from(
                backend,
                "webhook_deliveries",
                &[
                    ("status", "batch.status"),
                    ("attempts", "webhook_deliveries.attempts + 1"),
                    ("next_attempt_at", "batch.next_attempt_at"),
                    ("leased_until", "NULL"),
                    ("finished_at", "batch.finished_at"),
                    ("last_status_code", "batch.status_code"),
                    ("last_error_class", "batch.error_class"),
                ],
                &attempts,
                "webhook_deliveries.id = batch.delivery_id",
            );
            codec::query(backend, delivery_update)
                .bind(&rows)
                .execute(&mut *tx)
                .await?;
            let runs = serde_json::Value::Array(failure_runs(records)).to_string();
            let run_rows = json_rows(
                backend,
                &[
                    ("webhook_id", Field::Integer),
                    ("reset", Field::Integer),
                    ("since", Field::Integer),
                ],
            );
            let run_update = update_from(
                backend,
                "webhooks",
                &[(
                    "failing_since",
                    "CASE WHEN batch.reset = 1 THEN batch.since ELSE COALESCE(webhooks.failing_since, batch.since) END",
                )],
                &run_rows,
                // Only rows whose run changes: a webhook's row is written when it starts or stops
                // failing, not at every attempt, so the rows a change's new deliveries lock through
                // their foreign key are rarely the ones written here (InnoDB deadlocked on them).
                "webhooks.id = batch.webhook_id AND ((batch.reset = 0 AND webhooks.failing_since IS NULL) \
                 OR (batch.reset = 1 AND ((webhooks.failing_since IS NULL) <> (batch.since IS NULL) \
                 OR webhooks.failing_since <> batch.since)))",
            );
            codec::query(backend, run_update).bind(&runs).execute(&mut *tx).await?;
            let failing = codec::query(
                backend,
                format!(
                    "SELECT id, failing_since FROM webhooks WHERE id IN (SELECT webhook_id FROM {run_rows}) \
                     AND enabled = 1 AND failing_since <= $2"
                ),
            )
            .bind(&runs)
            .bind(micros(failing_cutoff))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("id")?, from_micros(row.try_get("failing_since")?)?)))
            .collect::<Result<_, StoreError>>()?;
            tx.commit().await?;
            Ok(failing)
        })
        .await
    }

    /// Finishes a pending delivery whose attempt could not be recorded: failed, with the error
    /// class `unrecorded`, so it is not sent again and again. It stays redeliverable.
    pub async fn set_delivery_aside(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        codec::query(
            self.backend,
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, leased_until = NULL, \
             finished_at = $1, last_error_class = $2 WHERE id = $3 AND status = 'pending'",
        )
        .bind(micros(at))
        .bind(ErrorClass::Unrecorded.name())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Makes a delivery due now, keeping its id. A finished delivery gets exactly one more
    /// attempt; a pending one simply stops waiting for its scheduled retry. Returns the delivery
    /// as this left it (a dispatcher may attempt it the moment the transaction commits).
    pub async fn redeliver(&self, webhook_id: Id, id: &str, now: OffsetDateTime) -> Result<Delivery, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = codec::query(
            self.backend,
            "SELECT status, leased_until FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2",
        )
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
        codec::query(
            self.backend,
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
        codec::query(
            self.backend,
            "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        let deleted = codec::query(
            self.backend,
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Also the bodies of deliveries deleted with their webhook.
        codec::query(
            self.backend,
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
