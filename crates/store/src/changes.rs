//! The change log: appended to by every mutation, read for flag history, Flagr's snapshots, the
//! audit log and other instances' caches.

use crate::codec;
use crate::codec::{from_micros, micros};
use crate::{Backend, Store, StoreError, counters, outbox};
use bunting_core::change::ChangeEvent;
use bunting_core::flag::Id;
use bunting_core::mutation::IdCounters;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Ascending,
    #[default]
    Descending,
}

/// Which changes to read. Sequences bound the page, so a reader can walk the log either way
/// without offsets that shift while new changes arrive.
#[derive(Debug, Clone, Default)]
pub struct ChangeQuery {
    /// Only this environment's changes.
    pub environment: Option<crate::EnvironmentId>,
    pub flag_id: Option<Id>,
    /// Only changes to the flag with this key.
    pub flag_key: Option<String>,
    /// Only changes made by this actor.
    pub actor: Option<String>,
    /// Only changes with an event of this name, or of this group (`flag.*`).
    pub event: Option<String>,
    /// Only changes made at or after this time...
    pub since: Option<OffsetDateTime>,
    /// ...and before this one.
    pub until: Option<OffsetDateTime>,
    /// Only changes with a larger sequence.
    pub after_seq: Option<i64>,
    /// Only changes with a smaller sequence.
    pub before_seq: Option<i64>,
    pub order: SortOrder,
    pub limit: Option<i64>,
    pub offset: i64,
}

const CHANGE_COLUMNS: &str =
    "seq, event_id, occurred_at, actor, environment_id, flag_id, flag_key, events, previous, current";

/// Appends `event` to the log, in the mutation's transaction.
/// Records a change that is not a flag's (an environment's, a token's): appends it, enqueues its
/// deliveries and stores the counters it advanced, under the counters lock the caller holds.
pub(crate) async fn record(
    tx: &mut Transaction<'static, Any>,
    store: &Store,
    change: &ChangeEvent,
    ids: &IdCounters,
) -> Result<(), StoreError> {
    append(tx, change).await?;
    outbox::enqueue(
        tx,
        &mut outbox::Targets::default(),
        change,
        store.first_attempt_at(change.occurred_at),
        store.public_url.as_deref(),
    )
    .await?;
    counters::write(tx, ids).await
}

pub(crate) async fn append(tx: &mut Transaction<'static, Any>, event: &ChangeEvent) -> Result<(), StoreError> {
    codec::query(
        Backend::of(tx),
        format!("INSERT INTO change_events ({CHANGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
    )
    .bind(event.seq)
    .bind(&event.event_id)
    .bind(micros(event.occurred_at))
    .bind(&event.actor)
    .bind(event.environment_id)
    .bind(event.flag_id)
    .bind(event.flag_key.as_deref())
    .bind(serde_json::to_string(&event.events)?)
    .bind(event.previous.as_deref())
    .bind(event.current.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The latest change sequence, 0 before the first change (Flagr's snapshot `max_id`).
    pub async fn max_change_seq(&self) -> Result<i64, StoreError> {
        let row = codec::query(self.backend, "SELECT change_seq FROM id_counters WHERE id = 1")
            .fetch_one(&self.reads)
            .await?;
        Ok(row.try_get("change_seq")?)
    }

    /// Changes matching `query`, in its order.
    pub async fn changes(&self, query: &ChangeQuery) -> Result<Vec<ChangeEvent>, StoreError> {
        let direction = match query.order {
            SortOrder::Ascending => "ASC",
            SortOrder::Descending => "DESC",
        };
        // Each optional filter is bound twice and each placeholder appears once, in order, the
        // form every backend binds alike.
        let event = query.event.as_deref().map(event_pattern);
        let rows = codec::query(
            self.backend,
            format!(
                "SELECT {CHANGE_COLUMNS} FROM change_events \
                 WHERE ($1 IS NULL OR flag_id = $2) AND seq > $3 AND seq < $4 \
                 AND ($5 IS NULL OR environment_id = $6) \
                 AND ($7 IS NULL OR flag_key = $8) AND ($9 IS NULL OR actor = $10) \
                 AND ($11 IS NULL OR events LIKE $12 ESCAPE '!') \
                 AND occurred_at >= $13 AND occurred_at < $14 \
                 ORDER BY seq {direction} LIMIT $15 OFFSET $16"
            ),
        )
        .bind(query.flag_id)
        .bind(query.flag_id)
        .bind(query.after_seq.unwrap_or(0))
        .bind(query.before_seq.unwrap_or(i64::MAX))
        .bind(query.environment)
        .bind(query.environment)
        .bind(query.flag_key.as_deref())
        .bind(query.flag_key.as_deref())
        .bind(query.actor.as_deref())
        .bind(query.actor.as_deref())
        .bind(event.as_deref())
        .bind(event.as_deref())
        .bind(query.since.map_or(i64::MIN, micros))
        .bind(query.until.map_or(i64::MAX, micros))
        .bind(query.limit.unwrap_or(i64::MAX))
        .bind(query.offset)
        .fetch_all(&self.reads)
        .await?;
        rows.iter().map(change_event).collect()
    }
}

fn change_event(row: &AnyRow) -> Result<ChangeEvent, StoreError> {
    Ok(ChangeEvent {
        seq: row.try_get("seq")?,
        event_id: row.try_get("event_id")?,
        occurred_at: from_micros(row.try_get("occurred_at")?)?,
        actor: row.try_get("actor")?,
        environment_id: row.try_get("environment_id")?,
        flag_id: row.try_get("flag_id")?,
        flag_key: row.try_get("flag_key")?,
        events: serde_json::from_str(&row.try_get::<String, _>("events")?)?,
        previous: row.try_get("previous")?,
        current: row.try_get("current")?,
    })
}

/// The `LIKE` pattern finding `event` (a name, or a group as `flag.*`) in the stored events
/// (`[{"event":"flag.enabled",...}]`), with `!` escaping the wildcards event names can hold.
fn event_pattern(event: &str) -> String {
    let escape = |text: &str| text.replace('!', "!!").replace('%', "!%").replace('_', "!_");
    match event.strip_suffix(".*") {
        Some(group) => format!("%\"event\":\"{}.%", escape(group)),
        None => format!("%\"event\":\"{}\"%", escape(event)),
    }
}
