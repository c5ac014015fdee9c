//! The change log: appended to by every mutation, read for flag history and Flagr's snapshots.

use bunting_core::change::{Component, ComponentType, EventType};
use bunting_core::flag::{Flag, Id};
use bunting_core::mutation::{Origin, Outcome};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use time::OffsetDateTime;

use crate::flags::{join_event_types, micros};
use crate::{EnvironmentId, Store, StoreError};

/// One change event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    /// Global, gap-free within committed changes, commit-ordered.
    pub seq: i64,
    pub event_id: String,
    pub occurred_at: OffsetDateTime,
    pub actor: String,
    pub environment_id: EnvironmentId,
    pub flag_id: Option<Id>,
    pub flag_key: Option<String>,
    pub event_types: Vec<EventType>,
    pub component: Option<Component>,
    pub previous: Option<Flag>,
    pub current: Option<Flag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

const CHANGE_COLUMNS: &str = "seq, event_id, occurred_at, actor, environment_id, flag_id, flag_key, event_types, \
                              component_type, component_id, component_key, previous, current";

/// Appends the change event of `outcome`; `current_document` is the already serialized flag after.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    environment: EnvironmentId,
    outcome: &Outcome,
    origin: &Origin,
    current_document: Option<&str>,
) -> Result<(), StoreError> {
    let previous = outcome
        .before
        .as_ref()
        .map(|before| serde_json::to_string(&before.flag))
        .transpose()?;
    let flag = &outcome.after.flag;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO change_events ({CHANGE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )))
    .bind(outcome.after.snapshot_id)
    .bind(&origin.event_id)
    .bind(micros(origin.at))
    .bind(&origin.actor)
    .bind(environment)
    .bind(flag.id)
    .bind(&flag.key)
    .bind(join_event_types(&outcome.event_types))
    .bind(outcome.component.kind.name())
    .bind(outcome.component.id)
    .bind(outcome.component.key.as_deref())
    .bind(previous)
    .bind(current_document)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The latest change sequence, 0 before the first change (Flagr's snapshot `max_id`).
    pub async fn max_change_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT change_seq FROM id_counters WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("change_seq")?)
    }

    /// The changes of one flag, newest or oldest first.
    pub async fn flag_changes(
        &self,
        flag_id: Id,
        order: SortOrder,
        limit: Option<i64>,
        offset: i64,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        let direction = match order {
            SortOrder::Ascending => "ASC",
            SortOrder::Descending => "DESC",
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CHANGE_COLUMNS} FROM change_events WHERE flag_id = $1 ORDER BY seq {direction} LIMIT $2 OFFSET $3"
        )))
        .bind(flag_id)
        .bind(limit.unwrap_or(i64::MAX))
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(change_record).collect()
    }
}

fn change_record(row: &AnyRow) -> Result<ChangeRecord, StoreError> {
    let occurred_at: i64 = row.try_get("occurred_at")?;
    let occurred_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(occurred_at) * 1_000)
        .map_err(|error| StoreError::Database(format!("bad change time: {error}")))?;
    let event_types: String = row.try_get("event_types")?;
    let event_types = event_types
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| {
            EventType::from_name(name)
                .ok_or_else(|| StoreError::Database(format!("unknown event type {name}")))
        })
        .collect::<Result<_, _>>()?;
    let component = row
        .try_get::<Option<String>, _>("component_type")?
        .map(|kind| -> Result<Component, StoreError> {
            Ok(Component {
                kind: ComponentType::from_name(&kind).ok_or_else(|| {
                    StoreError::Database(format!("unknown component type {kind}"))
                })?,
                id: row.try_get("component_id")?,
                key: row.try_get("component_key")?,
            })
        })
        .transpose()?;
    let document = |column: &str| -> Result<Option<Flag>, StoreError> {
        let text: Option<String> = row.try_get(column)?;
        Ok(text.map(|text| serde_json::from_str(&text)).transpose()?)
    };
    Ok(ChangeRecord {
        seq: row.try_get("seq")?,
        event_id: row.try_get("event_id")?,
        occurred_at,
        actor: row.try_get("actor")?,
        environment_id: row.try_get("environment_id")?,
        flag_id: row.try_get("flag_id")?,
        flag_key: row.try_get("flag_key")?,
        event_types,
        component,
        previous: document("previous")?,
        current: document("current")?,
    })
}
