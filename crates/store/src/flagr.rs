//! Adopting a database Flagr wrote (issue 11): Flagr's rows are read, never written, and brought
//! into Bunting's tables in the migration's transaction, which creates those tables.
//!
//! Flagr's rows become the eval-cache JSON Flagr would export (`{"Flags":[...]}`), which
//! `bunting_core::eval::import` maps to Bunting's flags: one mapping from Flagr's shape, shared
//! with `bunting import`. Every id is kept (bucketing is salted with the flag id), soft-deleted
//! flags come over as deleted (their keys stay reserved), and each `flag_snapshots` row becomes
//! the change event of the same sequence, so Flagr's snapshot ids carry on.
//!
//! `bunting import --from-flagr-db` adopts again through the same reading and mapping
//! ([`AdoptionPlan`]), writing each changed flag as a mutation does (change log, webhooks).
//!
//! Must not touch: Flagr's tables (a user can go back to Flagr), and Bunting's migrations.

use std::collections::BTreeMap;
use std::fmt;

use bunting_core::change::{ChangeEvent, ComponentType, Event, EventType};
use bunting_core::flag::{Flag, Id, StoredFlag};
use bunting_core::mutation::{Origin, Outcome};
use serde_json::{Map, Value, json};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::codec::{self, micros};
use crate::flags::fetch_flag;
use crate::{Backend, DEFAULT_ENVIRONMENT, Store, StoreError, changes, counters, outbox};

/// The tables that make a database Flagr's (`flagr-spec.md` §2).
pub(crate) const TABLES: [&str; 9] = [
    "flags",
    "segments",
    "variants",
    "constraints",
    "distributions",
    "tags",
    "flags_tags",
    "flag_snapshots",
    "flag_entity_types",
];

/// What an adoption brought over.
#[derive(Debug)]
pub(crate) struct Adoption {
    flags: usize,
    deleted: usize,
    snapshots: usize,
}

impl fmt::Display for Adoption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} flags ({} of them deleted) and {} snapshots",
            self.flags, self.deleted, self.snapshots
        )
    }
}

/// Flagr's tables read and mapped to Bunting's flags: what an adoption brings over. Reading it
/// writes nothing, so it is also the dry run (`bunting migrate --from-flagr --dry-run`).
pub struct AdoptionPlan {
    rows: FlagrRows,
    flags: Vec<Flag>,
    /// Unix microseconds of each soft-deleted flag's deletion.
    deleted: BTreeMap<Id, i64>,
    /// Flagr's snapshots as change events.
    history: Vec<ChangeEvent>,
}

impl AdoptionPlan {
    /// Reads Flagr's tables; refuses a flag Flagr's loader would refuse.
    pub(crate) async fn read(tx: &mut Transaction<'static, Any>) -> Result<AdoptionPlan, StoreError> {
        let rows = FlagrRows::read(tx).await?;
        let deleted = rows
            .flags
            .iter()
            .filter_map(|row| Some((row.id, row.deleted_at?)))
            .collect();
        let document = json!({ "Flags": rows.flags.iter().map(|row| rows.flag_json(row)).collect::<Vec<_>>() });
        let flags = load(&document)?;
        let history = history(&rows.snapshots)?;
        Ok(AdoptionPlan {
            rows,
            flags,
            deleted,
            history,
        })
    }

    fn is_deleted(&self, flag: &Flag) -> bool {
        self.deleted.contains_key(&flag.id)
    }

    /// Flagr's flag row's `snapshot_id` (0 when Flagr never snapshotted it).
    fn snapshot_id(&self, flag: &Flag) -> i64 {
        self.rows
            .flags
            .iter()
            .find(|row| row.id == flag.id)
            .map_or(0, |row| row.snapshot_id)
    }
}

/// The dry run's listing: every flag with its id and key, then the counts.
impl fmt::Display for AdoptionPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.flags.iter().filter(|flag| !self.is_deleted(flag)).count();
        writeln!(
            f,
            "Adopting Flagr's database would bring over {} flags ({live} live, {} deleted):",
            self.flags.len(),
            self.flags.len() - live
        )?;
        for flag in &self.flags {
            let state = if self.is_deleted(flag) { "deleted" } else { "live" };
            writeln!(f, "  {state:<7} id {:<6} key {}", flag.id, flag.key)?;
        }
        let segments = self.flags.iter().flat_map(|flag| &flag.segments);
        let count = |of: fn(&bunting_core::flag::Segment) -> usize| segments.clone().map(of).sum::<usize>();
        writeln!(
            f,
            "with {} segments, {} variants, {} constraints, {} distributions, {} tags, {} entity \
             types, and {} snapshots (as change events).",
            segments.clone().count(),
            self.flags.iter().map(|flag| flag.variants.len()).sum::<usize>(),
            count(|segment| segment.constraints.len()),
            count(|segment| segment.distributions.len()),
            self.rows.tags.len(),
            self.rows.entity_types.len(),
            self.history.len(),
        )?;
        write!(f, "This was a dry run: nothing was written.")
    }
}

/// Brings Flagr's flags, tags, entity types and snapshots into Bunting's freshly created
/// tables, and records the adoption.
pub(crate) async fn adopt(tx: &mut Transaction<'static, Any>) -> Result<Adoption, StoreError> {
    let plan = AdoptionPlan::read(tx).await?;
    insert_tags(tx, &plan.rows.tags).await?;
    for flag in &plan.flags {
        codec::query(
            Backend::of(tx),
            "INSERT INTO bunting_flags (id, environment_id, key, deleted_at, snapshot_id, document) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(flag.id)
        .bind(DEFAULT_ENVIRONMENT)
        .bind(&flag.key)
        .bind(plan.deleted.get(&flag.id).copied())
        .bind(plan.snapshot_id(flag))
        .bind(serde_json::to_string(flag)?)
        .execute(&mut **tx)
        .await?;
    }
    insert_entity_types(tx, &plan).await?;
    for event in &plan.history {
        changes::append(tx, event).await?;
    }
    let counters = &plan.rows.largest_ids;
    codec::query(
        Backend::of(tx),
        "UPDATE id_counters SET change_seq = $1, flag_id = $2, tag_id = $3, segment_id = $4, \
         variant_id = $5, constraint_id = $6, distribution_id = $7 WHERE id = 1",
    )
    .bind(counters[&"flag_snapshots"])
    .bind(counters[&"flags"])
    .bind(counters[&"tags"])
    .bind(counters[&"segments"])
    .bind(counters[&"variants"])
    .bind(counters[&"constraints"])
    .bind(counters[&"distributions"])
    .execute(&mut **tx)
    .await?;
    codec::query(
        Backend::of(tx),
        "INSERT INTO flagr_adoption (id, adopted_at, fingerprint, change_seq) VALUES (1, $1, $2, $3)",
    )
    .bind(micros(OffsetDateTime::now_utc()))
    .bind(fingerprint(tx).await?)
    .bind(counters[&"flag_snapshots"])
    .execute(&mut **tx)
    .await?;
    Ok(Adoption {
        flags: plan.flags.len(),
        deleted: plan.deleted.len(),
        snapshots: plan.history.len(),
    })
}

/// Flagr's live tags, with their ids.
async fn insert_tags(tx: &mut Transaction<'static, Any>, tags: &[(Id, String)]) -> Result<(), StoreError> {
    for (id, value) in tags {
        codec::query(
            Backend::of(tx),
            "INSERT INTO bunting_tags (id, environment_id, value) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(DEFAULT_ENVIRONMENT)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Flagr's entity types and those its flags use.
async fn insert_entity_types(tx: &mut Transaction<'static, Any>, plan: &AdoptionPlan) -> Result<(), StoreError> {
    let used = plan.flags.iter().map(|flag| flag.entity_type.as_str());
    let known = plan.rows.entity_types.iter().map(String::as_str);
    for key in known.chain(used).filter(|key| !key.is_empty()) {
        codec::query(
            Backend::of(tx),
            format!(
                "INSERT INTO entity_types (environment_id, key) VALUES ($1, $2) {}",
                Backend::of(tx).on_conflict_do_nothing("key")
            ),
        )
        .bind(DEFAULT_ENVIRONMENT)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What a re-adoption changed.
#[derive(Debug)]
pub struct Readoption {
    created: usize,
    updated: usize,
    removed: usize,
    unchanged: usize,
}

impl fmt::Display for Readoption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} flags created, {} updated (deletions and restores included), {} removed, {} unchanged",
            self.created, self.updated, self.removed, self.unchanged
        )
    }
}

/// Who re-adoption changes are recorded as, like `bunting import`'s.
const ACTOR: &str = "import";

impl Store {
    /// Adopts Flagr's tables again (`bunting import --from-flagr-db`): in one transaction,
    /// Bunting's flags and tags become what an adoption of Flagr's tables as they are now
    /// gives. Each flag that changes is recorded in the change log (webhooks fire), flags that
    /// are not Flagr's are recorded as deleted and removed, so their ids and keys are free for
    /// Flagr's. Refuses, writing nothing, when flags were changed in Bunting since the adoption,
    /// unless `force`: those changes would be lost.
    pub async fn readopt_flagr(&self, force: bool) -> Result<Readoption, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let Some(adoption) = codec::query(self.backend, "SELECT change_seq FROM flagr_adoption WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(StoreError::Invalid(
                "this database was not adopted from Flagr, so there is nothing to adopt again; \
                 nothing was written"
                    .to_owned(),
            ));
        };
        let adopted_seq: i64 = adoption.try_get("change_seq")?;
        let changed_in_bunting: Vec<String> = codec::query(
            self.backend,
            "SELECT DISTINCT flag_key FROM change_events \
             WHERE seq > $1 AND flag_key IS NOT NULL ORDER BY flag_key",
        )
        .bind(adopted_seq)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("flag_key"))
        .collect::<Result<_, _>>()?;
        if !changed_in_bunting.is_empty() && !force {
            return Err(StoreError::Invalid(format!(
                "flags were changed in Bunting since it adopted Flagr's database ({}); adopting \
                 again replaces them with Flagr's, so nothing was written. Run it with --force to \
                 replace them",
                changed_in_bunting.join(", ")
            )));
        }
        let plan = AdoptionPlan::read(&mut tx).await?;
        let mut outcome = Readoption {
            created: 0,
            updated: 0,
            removed: 0,
            unchanged: 0,
        };
        let now = OffsetDateTime::now_utc();
        // Flags that are not Flagr's first, so that Flagr's can take their keys.
        for id in self.flag_ids(&mut tx).await? {
            if plan.flags.iter().any(|flag| flag.id == id) {
                continue;
            }
            let Some(before) = fetch_flag(Backend::of(&tx), &mut *tx, DEFAULT_ENVIRONMENT, id).await? else {
                continue;
            };
            if !before.deleted {
                let after = StoredFlag {
                    flag: before.flag.clone(),
                    deleted: true,
                    snapshot_id: ids.next_change(),
                };
                self.record(&mut tx, Some(before), after, EventType::FlagDeleted, now)
                    .await?;
            }
            codec::query(
                self.backend,
                "DELETE FROM bunting_flags WHERE id = $1 AND environment_id = $2",
            )
            .bind(id)
            .bind(DEFAULT_ENVIRONMENT)
            .execute(&mut *tx)
            .await?;
            outcome.removed += 1;
        }
        for flag in &plan.flags {
            let deleted = plan.is_deleted(flag);
            let before = fetch_flag(Backend::of(&tx), &mut *tx, DEFAULT_ENVIRONMENT, flag.id).await?;
            let kind = match &before {
                None => EventType::FlagCreated,
                Some(before) if before.deleted == deleted && before.flag == *flag => {
                    outcome.unchanged += 1;
                    continue;
                }
                Some(before) if deleted && !before.deleted => EventType::FlagDeleted,
                Some(before) if !deleted && before.deleted => EventType::FlagRestored,
                Some(_) => EventType::FlagUpdated,
            };
            if kind == EventType::FlagCreated {
                outcome.created += 1;
            } else {
                outcome.updated += 1;
            }
            let after = StoredFlag {
                flag: flag.clone(),
                deleted,
                snapshot_id: ids.next_change(),
            };
            self.record(&mut tx, before, after, kind, now).await?;
        }
        codec::query(self.backend, "DELETE FROM bunting_tags WHERE environment_id = $1")
            .bind(DEFAULT_ENVIRONMENT)
            .execute(&mut *tx)
            .await?;
        insert_tags(&mut tx, &plan.rows.tags).await?;
        insert_entity_types(&mut tx, &plan).await?;
        // New ids carry on after both Bunting's and Flagr's largest.
        let largest = &plan.rows.largest_ids;
        ids.flag = ids.flag.max(largest[&"flags"]);
        ids.tag = ids.tag.max(largest[&"tags"]);
        ids.segment = ids.segment.max(largest[&"segments"]);
        ids.variant = ids.variant.max(largest[&"variants"]);
        ids.constraint = ids.constraint.max(largest[&"constraints"]);
        ids.distribution = ids.distribution.max(largest[&"distributions"]);
        counters::write(&mut tx, &ids).await?;
        codec::query(
            self.backend,
            "UPDATE flagr_adoption SET adopted_at = $1, fingerprint = $2, change_seq = $3 WHERE id = 1",
        )
        .bind(micros(now))
        .bind(fingerprint(&mut tx).await?)
        .bind(ids.change)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn flag_ids(&self, tx: &mut Transaction<'static, Any>) -> Result<Vec<Id>, StoreError> {
        let rows = codec::query(
            self.backend,
            "SELECT id FROM bunting_flags WHERE environment_id = $1 ORDER BY id",
        )
        .bind(DEFAULT_ENVIRONMENT)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    /// Writes a flag Flagr changed (created when there is no `before`) and records the change,
    /// as a mutation would.
    async fn record(
        &self,
        tx: &mut Transaction<'static, Any>,
        before: Option<StoredFlag>,
        after: StoredFlag,
        kind: EventType,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let creates = before.is_none();
        let event = Event::new(kind, ComponentType::Flag, Some(after.flag.id), Some(&after.flag.key));
        let outcome = Outcome {
            before,
            after,
            events: vec![event],
        };
        let origin = Origin {
            actor: ACTOR.to_owned(),
            at,
            event_id: uuid::Uuid::now_v7().to_string(),
            random_key: String::new(),
        };
        self.write(
            tx,
            &mut outbox::Targets::default(),
            DEFAULT_ENVIRONMENT,
            &outcome,
            &origin,
            creates,
        )
        .await
        .map(drop)
    }
}

/// Says so when Flagr's tables changed since Bunting adopted them: the flags served are then
/// older than Flagr's.
pub(crate) async fn check_unchanged(tx: &mut Transaction<'static, Any>) -> Result<(), StoreError> {
    let Some(row) = codec::query(Backend::of(tx), "SELECT fingerprint FROM flagr_adoption WHERE id = 1")
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(());
    };
    let adopted: String = row.try_get("fingerprint")?;
    if fingerprint(tx).await? != adopted {
        tracing::warn!(
            "Flagr wrote to its tables in this database after Bunting adopted them; Bunting serves \
             the flags as they were at the adoption. Run `bunting import --from-flagr-db` to \
             adopt them again"
        );
    }
    Ok(())
}

/// The eval-cache JSON document as Bunting's flags, with Flagr's load errors refused.
fn load(document: &Value) -> Result<Vec<Flag>, StoreError> {
    let imported = bunting_core::eval::import(&document.to_string())
        .map_err(|error| StoreError::Invalid(format!("cannot adopt Flagr's database: {error}")))?;
    for warning in &imported.warnings {
        tracing::warn!("adopting Flagr's database: {warning}");
    }
    Ok(imported.flags.into_iter().map(|stored| stored.flag).collect())
}

/// Each snapshot as the change event of its id: its time, its `updated_by` as the actor, its
/// flag (as Bunting's flag document) as the state, and the flag's previous snapshot as the
/// state before. Made while reading, so that a snapshot that cannot be read stops the adoption
/// before anything is written (on MySQL, before Bunting's tables are created).
fn history(snapshots: &[SnapshotRow]) -> Result<Vec<ChangeEvent>, StoreError> {
    let mut latest: BTreeMap<Id, String> = BTreeMap::new();
    let mut events = Vec::new();
    for snapshot in snapshots {
        let mut flag: Value = serde_json::from_str(&snapshot.flag).map_err(|error| {
            StoreError::Invalid(format!(
                "cannot adopt Flagr's database: flag_snapshots row {} (of flag {}) does not hold a flag as \
                 JSON ({error}); nothing was written",
                snapshot.id, snapshot.flag_id
            ))
        })?;
        // Deleted flags are snapshotted too; the change event says so by its type, not the state.
        if let Value::Object(members) = &mut flag {
            members.retain(|name, _| !name.eq_ignore_ascii_case("deletedat"));
        }
        let state = load(&json!({ "Flags": [flag] }))?;
        let Some(state) = state.first() else {
            continue;
        };
        let document = serde_json::to_string(state)?;
        let previous = latest.insert(snapshot.flag_id, document.clone());
        let kind = if previous.is_none() {
            EventType::FlagCreated
        } else {
            EventType::FlagUpdated
        };
        let event = ChangeEvent {
            seq: snapshot.id,
            event_id: uuid::Uuid::now_v7().to_string(),
            occurred_at: snapshot.created_at,
            actor: snapshot.updated_by.clone(),
            environment_id: DEFAULT_ENVIRONMENT,
            flag_id: Some(snapshot.flag_id),
            flag_key: Some(state.key.clone()),
            events: vec![Event::new(kind, ComponentType::Flag, Some(state.id), Some(&state.key))],
            previous,
            current: Some(document),
        };
        events.push(event);
    }
    Ok(events)
}

/// What Flagr's tables hold, summed up so that a later write shows: per table the row count and
/// the latest update and soft delete.
async fn fingerprint(tx: &mut Transaction<'static, Any>) -> Result<String, StoreError> {
    let backend = Backend::of(tx);
    let mut parts = Vec::new();
    for table in TABLES {
        let times = if table == "flags_tags" {
            "'' AS updated, '' AS deleted".to_owned()
        } else {
            format!(
                "COALESCE(MAX({}), '') AS updated, COALESCE(MAX({}), '') AS deleted",
                printed(backend, "updated_at"),
                printed(backend, "deleted_at")
            )
        };
        let row = codec::query(
            backend,
            format!("SELECT {} AS n, {times} FROM {table}", integer(backend, "COUNT(*)")),
        )
        .fetch_one(&mut **tx)
        .await?;
        let (n, updated, deleted): (i64, String, String) =
            (row.try_get("n")?, row.try_get("updated")?, row.try_get("deleted")?);
        parts.push(format!("{table}:{n}:{updated}:{deleted}"));
    }
    Ok(parts.join(";"))
}

struct FlagRow {
    id: Id,
    key: String,
    description: String,
    created_by: String,
    updated_by: String,
    enabled: bool,
    snapshot_id: i64,
    notes: String,
    data_records_enabled: bool,
    entity_type: String,
    updated_at: Option<OffsetDateTime>,
    /// Unix microseconds of the soft delete.
    deleted_at: Option<i64>,
}

struct SnapshotRow {
    id: i64,
    flag_id: Id,
    updated_by: String,
    flag: String,
    created_at: OffsetDateTime,
}

/// Flagr's rows: flags deleted or not, and their live children in Flagr's orders.
struct FlagrRows {
    flags: Vec<FlagRow>,
    /// Per flag id.
    segments: BTreeMap<Id, Vec<Value>>,
    variants: BTreeMap<Id, Vec<Value>>,
    flag_tags: BTreeMap<Id, Vec<Value>>,
    /// Per segment id.
    constraints: BTreeMap<Id, Vec<Value>>,
    distributions: BTreeMap<Id, Vec<Value>>,
    /// Live tags: (id, value).
    tags: Vec<(Id, String)>,
    entity_types: Vec<String>,
    snapshots: Vec<SnapshotRow>,
    /// The largest id per table, soft-deleted rows included, so new ids never reuse one.
    largest_ids: BTreeMap<&'static str, i64>,
}

/// Text columns GORM may have left NULL read as empty, as Flagr reads them.
fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?.unwrap_or_default())
}

fn number(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.unwrap_or_default())
}

/// A time as the backend prints it ([`printed`]): `2024-01-02 03:04:05.123+00` on PostgreSQL,
/// Go's `2024-01-02 03:04:05.123456789+00:00` in SQLite, `2024-01-02 03:04:05.123` on MySQL.
fn time_column(row: &AnyRow, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    let Some(printed) = row.try_get::<Option<String>, _>(column)? else {
        return Ok(None);
    };
    parse_time(&printed)
        .map(Some)
        .ok_or_else(|| StoreError::unreadable(format!("Flagr's {column} {printed:?} is not a time")))
}

fn parse_time(printed: &str) -> Option<OffsetDateTime> {
    let text = printed.trim().replacen(' ', "T", 1);
    if text.ends_with('Z') {
        return OffsetDateTime::parse(&text, &Rfc3339).ok();
    }
    // A time without an offset is UTC: MySQL's DATETIME holds none, and Flagr's Go driver
    // writes UTC there (its `loc` parameter's default).
    let Some(sign) = text.rfind(['+', '-']).filter(|&at| at > 10) else {
        return OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339).ok();
    };
    let offset: String = text[sign + 1..].chars().filter(char::is_ascii_digit).collect();
    let offset = match offset.len() {
        2 => format!("{offset}:00"),
        4 => format!("{}:{}", &offset[..2], &offset[2..]),
        _ => return None,
    };
    OffsetDateTime::parse(&format!("{}{offset}", &text[..=sign]), &Rfc3339).ok()
}

const LIVE: &str = "deleted_at IS NULL";

/// `expr` cast to a 64-bit integer, in the backend's form: Flagr's ids and numbers are unsigned
/// on MySQL, and its booleans are whatever each backend has.
fn integer(backend: Backend, expr: &str) -> String {
    match backend {
        Backend::Sqlite | Backend::Postgres => format!("CAST({expr} AS BIGINT)"),
        Backend::Mysql => format!("CAST({expr} AS SIGNED)"),
    }
}

/// `expr` as text, in the backend's form (times as the backend prints them, see [`parse_time`]).
fn printed(backend: Backend, expr: &str) -> String {
    match backend {
        Backend::Sqlite | Backend::Postgres => format!("CAST({expr} AS TEXT)"),
        Backend::Mysql => format!("CAST({expr} AS CHAR)"),
    }
}

impl FlagrRows {
    async fn read(tx: &mut Transaction<'static, Any>) -> Result<FlagrRows, StoreError> {
        let backend = Backend::of(tx);
        let int = |expr: &str| integer(backend, expr);
        let mut flags = Vec::new();
        for row in fetch(
            tx,
            &format!(
                "SELECT {} AS id, key, description, created_by, updated_by, {} AS enabled, \
                 {} AS snapshot_id, notes, {} AS data_records_enabled, entity_type, \
                 {} AS updated_at, {} AS deleted_at FROM flags ORDER BY id",
                int("id"),
                int("CASE WHEN enabled THEN 1 ELSE 0 END"),
                int("snapshot_id"),
                int("CASE WHEN data_records_enabled THEN 1 ELSE 0 END"),
                printed(backend, "updated_at"),
                printed(backend, "deleted_at"),
            ),
        )
        .await?
        {
            flags.push(FlagRow {
                id: number(&row, "id")?,
                key: text(&row, "key")?,
                description: text(&row, "description")?,
                created_by: text(&row, "created_by")?,
                updated_by: text(&row, "updated_by")?,
                enabled: number(&row, "enabled")? == 1,
                snapshot_id: number(&row, "snapshot_id")?,
                notes: text(&row, "notes")?,
                data_records_enabled: number(&row, "data_records_enabled")? == 1,
                entity_type: text(&row, "entity_type")?,
                updated_at: time_column(&row, "updated_at")?,
                deleted_at: time_column(&row, "deleted_at")?.map(micros),
            });
        }
        let mut segments: BTreeMap<Id, Vec<Value>> = BTreeMap::new();
        for row in fetch(
            tx,
            &format!(
                "SELECT {} AS id, {} AS flag_id, description, {} AS rank, {} AS rollout_percent \
                 FROM segments WHERE {LIVE} ORDER BY rank, id",
                int("id"),
                int("flag_id"),
                int("rank"),
                int("rollout_percent"),
            ),
        )
        .await?
        {
            segments.entry(number(&row, "flag_id")?).or_default().push(json!({
                "ID": number(&row, "id")?,
                "Description": text(&row, "description")?,
                "Rank": number(&row, "rank")?,
                "RolloutPercent": number(&row, "rollout_percent")?,
            }));
        }
        let mut constraints: BTreeMap<Id, Vec<Value>> = BTreeMap::new();
        for row in fetch(
            tx,
            &format!(
                "SELECT {} AS id, {} AS segment_id, property, operator, value FROM constraints \
                 WHERE {LIVE} ORDER BY created_at, id",
                int("id"),
                int("segment_id"),
            ),
        )
        .await?
        {
            constraints.entry(number(&row, "segment_id")?).or_default().push(json!({
                "ID": number(&row, "id")?,
                "Property": text(&row, "property")?,
                "Operator": text(&row, "operator")?,
                "Value": text(&row, "value")?,
            }));
        }
        let mut distributions: BTreeMap<Id, Vec<Value>> = BTreeMap::new();
        for row in fetch(
            tx,
            &format!(
                "SELECT {} AS id, {} AS segment_id, {} AS variant_id, variant_key, {} AS percent \
                 FROM distributions WHERE {LIVE} ORDER BY variant_id, id",
                int("id"),
                int("segment_id"),
                int("variant_id"),
                int("percent"),
            ),
        )
        .await?
        {
            distributions
                .entry(number(&row, "segment_id")?)
                .or_default()
                .push(json!({
                    "ID": number(&row, "id")?,
                    "VariantID": number(&row, "variant_id")?,
                    "VariantKey": text(&row, "variant_key")?,
                    "Percent": number(&row, "percent")?,
                }));
        }
        let mut variants: BTreeMap<Id, Vec<Value>> = BTreeMap::new();
        for row in fetch(
            tx,
            &format!(
                "SELECT {} AS id, {} AS flag_id, key, attachment FROM variants WHERE {LIVE} ORDER BY id",
                int("id"),
                int("flag_id"),
            ),
        )
        .await?
        {
            let attachment = text(&row, "attachment")?;
            let attachment: Value = if attachment.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                serde_json::from_str(&attachment)?
            };
            variants.entry(number(&row, "flag_id")?).or_default().push(json!({
                "ID": number(&row, "id")?,
                "Key": text(&row, "key")?,
                "Attachment": attachment,
            }));
        }
        let mut flag_tags: BTreeMap<Id, Vec<Value>> = BTreeMap::new();
        for row in fetch(
            tx,
            &format!(
                "SELECT {} AS flag_id, {} AS id, tags.value FROM flags_tags \
                 JOIN tags ON tags.id = flags_tags.tag_id WHERE tags.deleted_at IS NULL ORDER BY tags.id",
                int("flags_tags.flag_id"),
                int("tags.id"),
            ),
        )
        .await?
        {
            flag_tags
                .entry(number(&row, "flag_id")?)
                .or_default()
                .push(json!({"ID": number(&row, "id")?, "Value": text(&row, "value")?}));
        }
        let mut tags = Vec::new();
        for row in fetch(
            tx,
            &format!("SELECT {} AS id, value FROM tags WHERE {LIVE} ORDER BY id", int("id")),
        )
        .await?
        {
            tags.push((number(&row, "id")?, text(&row, "value")?));
        }
        let mut entity_types = Vec::new();
        for row in fetch(
            tx,
            &format!("SELECT key FROM flag_entity_types WHERE {LIVE} ORDER BY key"),
        )
        .await?
        {
            entity_types.push(text(&row, "key")?);
        }
        let mut snapshots = Vec::new();
        for row in fetch(
            tx,
            &format!(
                "SELECT {} AS id, {} AS flag_id, updated_by, flag, {} AS created_at \
                 FROM flag_snapshots WHERE {LIVE} ORDER BY id",
                int("id"),
                int("flag_id"),
                printed(backend, "created_at"),
            ),
        )
        .await?
        {
            snapshots.push(SnapshotRow {
                id: number(&row, "id")?,
                flag_id: number(&row, "flag_id")?,
                updated_by: text(&row, "updated_by")?,
                flag: text(&row, "flag")?,
                created_at: time_column(&row, "created_at")?.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            });
        }
        let mut largest_ids = BTreeMap::new();
        for table in TABLES.into_iter().filter(|&table| table != "flags_tags") {
            let rows = fetch(
                tx,
                &format!("SELECT {} AS id FROM {table}", int("COALESCE(MAX(id), 0)")),
            )
            .await?;
            let largest = rows.first().map(|row| number(row, "id")).transpose()?;
            largest_ids.insert(table, largest.unwrap_or(0));
        }
        Ok(FlagrRows {
            flags,
            segments,
            variants,
            flag_tags,
            constraints,
            distributions,
            tags,
            entity_types,
            snapshots,
            largest_ids,
        })
    }

    /// A flag as Flagr's eval-cache export gives it (deleted or not; the caller keeps which).
    fn flag_json(&self, row: &FlagRow) -> Value {
        let children = |map: &BTreeMap<Id, Vec<Value>>, id: Id| map.get(&id).cloned().unwrap_or_default();
        let segments: Vec<Value> = children(&self.segments, row.id)
            .into_iter()
            .map(|mut segment| {
                let id = segment["ID"].as_i64().unwrap_or_default();
                segment["Constraints"] = Value::Array(children(&self.constraints, id));
                segment["Distributions"] = Value::Array(children(&self.distributions, id));
                segment
            })
            .collect();
        let updated_at = row
            .updated_at
            .and_then(|at| at.format(&Rfc3339).ok())
            .map_or(Value::Null, Value::String);
        json!({
            "ID": row.id,
            "Key": row.key,
            "Description": row.description,
            "CreatedBy": row.created_by,
            "UpdatedBy": row.updated_by,
            "Enabled": row.enabled,
            "SnapshotID": row.snapshot_id,
            "Notes": row.notes,
            "DataRecordsEnabled": row.data_records_enabled,
            "EntityType": row.entity_type,
            "UpdatedAt": updated_at,
            "Segments": segments,
            "Variants": children(&self.variants, row.id),
            "Tags": children(&self.flag_tags, row.id),
        })
    }
}

async fn fetch(tx: &mut Transaction<'static, Any>, query: &str) -> Result<Vec<AnyRow>, StoreError> {
    Ok(codec::query(Backend::of(tx), query).fetch_all(&mut **tx).await?)
}

#[cfg(test)]
mod tests {
    use super::parse_time;
    use time::macros::datetime;

    #[test]
    fn times_as_either_backend_prints_them() {
        assert_eq!(
            parse_time("2024-01-02 03:04:05+00"),
            Some(datetime!(2024-01-02 03:04:05 UTC))
        );
        assert_eq!(
            parse_time("2024-01-02 03:04:05.123456789+00:00"),
            Some(datetime!(2024-01-02 03:04:05.123456789 UTC))
        );
        assert_eq!(
            parse_time("2024-01-02 05:34:05.5+05:30"),
            Some(datetime!(2024-01-02 00:04:05.5 UTC))
        );
        assert_eq!(
            parse_time("2024-01-02T03:04:05Z"),
            Some(datetime!(2024-01-02 03:04:05 UTC))
        );
        assert_eq!(
            parse_time("2024-01-03 10:00:00.500"),
            Some(datetime!(2024-01-03 10:00:00.5 UTC))
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
