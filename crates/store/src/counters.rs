//! The id counters row: the last id handed out per table and the change-log sequence. Every
//! mutation locks it first, which serialises writers, so change sequences become visible in
//! commit order and a reader that has seen sequence N never later finds a smaller one appear.

use bunting_core::mutation::IdCounters;
use sqlx::{Any, Row, Transaction};

use crate::codec;
use crate::{Backend, StoreError};

const COLUMNS: &str = "change_seq, flag_id, tag_id, segment_id, variant_id, constraint_id, distribution_id, webhook_id";

/// Takes the counters row lock and reads the counters, in one statement: on PostgreSQL the
/// update holds the row lock until commit; on SQLite a write first makes this transaction the
/// writer at once, so another process waits on the busy timeout instead of failing a
/// read-to-write upgrade. MySQL has no `UPDATE … RETURNING`; a locking read holds the same row
/// lock, and reads the latest committed row whatever the transaction's snapshot.
pub(crate) async fn lock(tx: &mut Transaction<'static, Any>) -> Result<IdCounters, StoreError> {
    let backend = Backend::of(tx);
    let statement = match backend {
        Backend::Sqlite | Backend::Postgres => {
            format!("UPDATE id_counters SET change_seq = change_seq WHERE id = 1 RETURNING {COLUMNS}")
        }
        Backend::Mysql => format!("SELECT {COLUMNS} FROM id_counters WHERE id = 1 FOR UPDATE"),
    };
    let row = codec::query(backend, statement).fetch_one(&mut **tx).await?;
    Ok(IdCounters {
        change: row.try_get("change_seq")?,
        flag: row.try_get("flag_id")?,
        tag: row.try_get("tag_id")?,
        segment: row.try_get("segment_id")?,
        variant: row.try_get("variant_id")?,
        constraint: row.try_get("constraint_id")?,
        distribution: row.try_get("distribution_id")?,
        webhook: row.try_get("webhook_id")?,
    })
}

/// Stores the counters a mutation advanced, under the lock [`lock`] took.
pub(crate) async fn write(tx: &mut Transaction<'static, Any>, ids: &IdCounters) -> Result<(), StoreError> {
    codec::query(
        Backend::of(tx),
        "UPDATE id_counters SET change_seq = $1, flag_id = $2, tag_id = $3, segment_id = $4, \
         variant_id = $5, constraint_id = $6, distribution_id = $7, webhook_id = $8 WHERE id = 1",
    )
    .bind(ids.change)
    .bind(ids.flag)
    .bind(ids.tag)
    .bind(ids.segment)
    .bind(ids.variant)
    .bind(ids.constraint)
    .bind(ids.distribution)
    .bind(ids.webhook)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
