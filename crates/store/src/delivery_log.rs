//! The delivery log as users read it: a webhook's deliveries and one delivery with its body and
//! every attempt.

use bunting_core::flag::Id;
use bunting_core::webhook::retry::ErrorClass;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

use crate::codec;
use crate::codec::from_micros;
use crate::{Backend, Store, StoreError};

bunting_core::named! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Waiting for its next attempt (or in flight).
        Pending => "pending",
        /// A receiver answered 2xx.
        Delivered => "delivered",
        /// Every attempt failed; kept, and can be redelivered.
        Failed => "failed",
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

pub(crate) const DELIVERY_COLUMNS: &str = "id, webhook_id, event, event_id, change_seq, flag_id, flag_key, status, attempts, \
                                next_attempt_at, created_at, finished_at, last_status_code, last_error_class";
pub(crate) const ATTEMPT_COLUMNS: &str = "delivery_id, number, started_at, duration_micros, status_code, error_class, error, \
                               response_body, request_headers, next_attempt_at";
impl Store {
    /// A webhook's deliveries, newest first.
    pub async fn deliveries(&self, webhook_id: Id, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        // Each optional filter is bound twice, as each placeholder appears once (MySQL binds by
        // position).
        let status = query.status.map(DeliveryStatus::name);
        let rows = codec::query(
            self.backend,
            format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
                 AND ($2 IS NULL OR status = $3) AND ($4 IS NULL OR event = $5) \
                 AND ($6 IS NULL OR flag_key = $7) \
                 ORDER BY created_at DESC, id DESC LIMIT $8 OFFSET $9"
            ),
        )
        .bind(webhook_id)
        .bind(status)
        .bind(status)
        .bind(query.event.as_deref())
        .bind(query.event.as_deref())
        .bind(query.flag_key.as_deref())
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
            codec::query(self.backend, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
        }
        let row = codec::query(
            self.backend,
            format!(
                "SELECT {DELIVERY_COLUMNS}, (SELECT body FROM webhook_messages m WHERE m.id = message_id) AS body \
                 FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2"
            ),
        )
        .bind(webhook_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let delivery = delivery(&row, true)?;
        let attempts = codec::query(
            self.backend,
            format!("SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE delivery_id = $1 ORDER BY number"),
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(attempt)
        .collect::<Result<_, _>>()?;
        tx.commit().await?;
        Ok(Some((delivery, attempts)))
    }
}

/// A delivery as the transaction that just wrote it sees it.
pub(crate) async fn delivery_in(tx: &mut Transaction<'static, Any>, id: &str) -> Result<Delivery, StoreError> {
    let row = codec::query(
        Backend::of(tx),
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"),
    )
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
            .ok_or_else(|| StoreError::unreadable(format!("unknown delivery status {status}")))?,
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
        ErrorClass::from_name(&name).ok_or_else(|| StoreError::unreadable(format!("unknown error class {name}")))
    })
    .transpose()
}
