//! Flag mutations and flag reads.
//!
//! A mutation locks the id counters, reads the flag, applies the core command, checks what only
//! the database can check (key uniqueness), writes the document, registers the entity type,
//! appends the change event with its deliveries, stores the counters and commits — in one
//! transaction with the mutations requested at the same time (`group_commit`). A command that
//! changes nothing writes nothing.

use bunting_core::change::{ChangeEvent, ComponentType, Event, EventType};
use bunting_core::flag::{Id, StoredFlag, Tag};
use bunting_core::mutation::{self, Command, IdCounters, Origin, Outcome, SharedIds};
use futures_util::TryStreamExt;
use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

use crate::announce::announce;
use crate::codec;
use crate::codec::{from_micros, micros};
use crate::counters;
use crate::group_commit::Request;
use crate::{Backend, EnvironmentId, Store, StoreError, retrying_deadlocks};
use crate::{changes, outbox};

pub(crate) const FLAG_COLUMNS: &str = "id, deleted_at, snapshot_id, document";

/// The change log after a sequence, as a cache following it needs it.
#[derive(Debug)]
pub struct ChangesSince {
    /// The environment's flag changes, oldest first.
    pub changes: Vec<ChangeStamp>,
    /// The latest sequence read (of any environment): the next read starts after it.
    pub seq: i64,
}

/// Flagr's filters on `GET /flags`; `None` and empty filter nothing.
#[derive(Debug, Default, Clone)]
pub struct FlagFilter {
    /// Only soft-deleted flags instead of live ones.
    pub deleted: bool,
    pub enabled: Option<bool>,
    /// The exact description.
    pub description: Option<String>,
    /// A substring of the description, any case.
    pub description_like: Option<String>,
    /// The exact key (compared byte for byte on every backend).
    pub key: Option<String>,
    /// Flags carrying any of these tags.
    pub tags: Vec<String>,
    pub limit: Option<i64>,
    pub offset: i64,
}

impl FlagFilter {
    /// Whether a filter needs what only the flag's document holds.
    fn reads_documents(&self) -> bool {
        self.enabled.is_some() || self.description.is_some() || self.description_like.is_some() || !self.tags.is_empty()
    }

    /// Whether the document filters select a flag; `description_like` is given lowercased.
    fn selects(&self, flag: &Listed, description_like: Option<&str>) -> bool {
        self.enabled.is_none_or(|enabled| flag.enabled == enabled)
            && self
                .description
                .as_ref()
                .is_none_or(|description| flag.description == *description)
            && description_like.is_none_or(|like| flag.description.to_lowercase().contains(like))
            && (self.tags.is_empty() || flag.tags.iter().any(|tag| self.tags.contains(&tag.value)))
    }
}

/// What the document filters of [`FlagFilter`] read of a flag, parsed without the rest of it.
#[derive(Deserialize)]
struct Listed {
    description: String,
    enabled: bool,
    #[serde(default)]
    tags: Vec<ListedTag>,
}

#[derive(Deserialize)]
struct ListedTag {
    value: String,
}

/// Which flag a change changed, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeStamp {
    pub seq: i64,
    pub flag_id: Id,
    pub occurred_at: OffsetDateTime,
}

impl Store {
    /// Applies `command` to flag `flag_id` (`None` for a create) and records the change, in a
    /// transaction shared with the changes requested at the same time (`group_commit`).
    pub async fn mutate(
        &self,
        environment: EnvironmentId,
        flag_id: Option<Id>,
        command: Command,
        origin: &Origin,
    ) -> Result<Outcome, StoreError> {
        self.mutate_in_group(Request {
            environment,
            flag_id,
            command,
            origin: origin.clone(),
        })
        .await
    }

    /// Makes `requests` in one transaction, in order, each seeing the ones before it; fails
    /// as a whole when any of them fails.
    pub(crate) async fn mutate_all(&self, requests: &[&Request]) -> Result<Vec<Outcome>, StoreError> {
        retrying_deadlocks(|| async {
            let mut tx = self.pool.begin().await?;
            let mut ids = counters::lock(&mut tx).await?;
            let mut targets = outbox::Targets::default();
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                let outcome = self.mutate_in(&mut tx, &mut targets, request, &mut ids).await?;
                outcomes.push(outcome);
            }
            if outcomes.iter().any(Outcome::changed) {
                counters::write(&mut tx, &ids).await?;
                tx.commit().await?;
            }
            Ok(outcomes)
        })
        .await
    }

    /// Attaches the tag `value` to a flag, creating the environment's tag if it is new.
    pub async fn attach_tag(
        &self,
        environment: EnvironmentId,
        flag_id: Id,
        value: &str,
        origin: &Origin,
    ) -> Result<Outcome, StoreError> {
        mutation::check_tag(value)?;
        retrying_deadlocks(|| async {
            let mut tx = self.pool.begin().await?;
            let mut ids = counters::lock(&mut tx).await?;
            let tag = tag_for(&mut tx, environment, value, &mut ids).await?;
            let request = Request {
                environment,
                flag_id: Some(flag_id),
                command: Command::AttachTag(tag),
                origin: origin.clone(),
            };
            let outcome = self
                .mutate_in(&mut tx, &mut outbox::Targets::default(), &request, &mut ids)
                .await?;
            // A new tag row is worth keeping only with the change that uses it.
            if outcome.changed() {
                counters::write(&mut tx, &ids).await?;
                tx.commit().await?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn mutate_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        targets: &mut outbox::Targets,
        request: &Request,
        ids: &mut IdCounters,
    ) -> Result<Outcome, StoreError> {
        let Request {
            environment,
            flag_id,
            command,
            origin,
        } = request;
        let (environment, flag_id, command) = (*environment, *flag_id, command.clone());
        let current = match flag_id {
            Some(id) => Some(
                fetch_flag(Backend::of(tx), &mut **tx, environment, id)
                    .await?
                    .ok_or_else(|| mutation::flag_not_found(id))?,
            ),
            None => None,
        };
        let verb = command.verb();
        let creates = command.creates_flag();
        let shared = shared_ids(tx, environment, flag_id, &command).await?;
        if creates
            && let Some(id) = shared.flag
            && let Some(here) = fetch_flag(Backend::of(tx), &mut **tx, environment, id).await?
        {
            return Err(StoreError::Invalid(format!(
                "cannot {verb} flag. its key is flag {id} in other environments, and flag {id} is \"{}\" here; \
                 a key keeps one id in every environment",
                here.flag.key
            )));
        }
        let outcome = mutation::apply(current.as_ref(), command, ids, &shared, origin)?;
        if !outcome.changed() {
            return Ok(outcome);
        }
        let after = &outcome.after;
        let key_changed = outcome
            .before
            .as_ref()
            .is_none_or(|before| before.flag.key != after.flag.key);
        // Invalid, not Conflict: Flagr answers a taken key with 400, and so does Bunting.
        if key_changed && key_taken(Backend::of(tx), &mut **tx, environment, &after.flag.key).await? {
            return Err(StoreError::Invalid(format!(
                "cannot {verb} flag. flag key already exists"
            )));
        }
        if key_changed
            && let Some(other) = id_elsewhere(Backend::of(tx), &mut **tx, environment, &after.flag.key).await?
            && other != after.flag.id
        {
            return Err(StoreError::Invalid(format!(
                "cannot {verb} flag. flag key {} is flag {other} in another environment; a key keeps one id in every \
                 environment",
                after.flag.key
            )));
        }
        self.write(tx, targets, environment, &outcome, origin, creates).await?;
        Ok(outcome)
    }

    /// Writes a changed flag (a new row when `creates`), registers its entity type, and records
    /// the change with its webhook deliveries; returns the change recorded.
    pub(crate) async fn write(
        &self,
        tx: &mut Transaction<'static, Any>,
        targets: &mut outbox::Targets,
        environment: EnvironmentId,
        outcome: &Outcome,
        origin: &Origin,
        creates: bool,
    ) -> Result<ChangeEvent, StoreError> {
        let after = &outcome.after;
        let document = serde_json::to_string(&after.flag)?;
        let deleted_at = after.deleted.then(|| micros(origin.at));
        let statement = if creates {
            "INSERT INTO bunting_flags (key, deleted_at, snapshot_id, document, id, environment_id) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        } else {
            "UPDATE bunting_flags SET key = $1, deleted_at = $2, snapshot_id = $3, document = $4 \
             WHERE id = $5 AND environment_id = $6"
        };
        codec::query(self.backend, statement)
            .bind(&after.flag.key)
            .bind(deleted_at)
            .bind(after.snapshot_id)
            .bind(&document)
            .bind(after.flag.id)
            .bind(environment)
            .execute(&mut **tx)
            .await?;
        // An entity type is registered when a flag takes it on; Flagr keeps it after that.
        let entity_type_is_new = outcome
            .before
            .as_ref()
            .is_none_or(|before| before.flag.entity_type != after.flag.entity_type);
        if entity_type_is_new && !after.flag.entity_type.is_empty() {
            register_entity_type(tx, environment, &after.flag.entity_type).await?;
        }
        let event = outcome.change_event(environment, origin, document)?;
        changes::append(tx, &event).await?;
        announce(tx, self.backend, event.seq).await?;
        outbox::enqueue(
            tx,
            targets,
            &event,
            self.first_attempt_at(origin.at),
            self.public_url.as_deref(),
        )
        .await?;
        Ok(event)
    }

    /// Loads flags exported from Flagr or Bunting, keeping every id: bucketing is salted with the
    /// flag id, so users keep their variants. One transaction; each flag is recorded as
    /// `flag.created` by `actor`. Refuses, naming them all, flags whose id or key is taken.
    pub async fn import_flags(
        &self,
        environment: EnvironmentId,
        flags: Vec<StoredFlag>,
        actor: &str,
        at: time::OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let mut taken = Vec::new();
        for stored in &flags {
            let flag = &stored.flag;
            if let Some(existing) = fetch_flag(self.backend, &mut *tx, environment, flag.id).await? {
                taken.push(format!("id {} is flag \"{}\"", flag.id, existing.flag.key));
            } else if key_taken(self.backend, &mut *tx, environment, &flag.key).await? {
                taken.push(format!("key \"{}\" is taken", flag.key));
            } else if let Some(other) = id_elsewhere(self.backend, &mut *tx, environment, &flag.key).await?
                && other != flag.id
            {
                // A key keeps one id in every environment (bucketing is salted with it).
                taken.push(format!(
                    "key \"{}\" is flag {other} in another environment, not {}",
                    flag.key, flag.id
                ));
            }
        }
        if !taken.is_empty() {
            return Err(StoreError::Invalid(format!(
                "cannot import into a database that already holds these flags: {}",
                taken.join("; ")
            )));
        }
        let count = flags.len();
        let mut targets = outbox::Targets::default();
        for stored in flags {
            let mut flag = stored.flag;
            for tag in &mut flag.tags {
                *tag = tag_for(&mut tx, environment, &tag.value, &mut ids).await?;
            }
            flag.tags.sort_by_key(|tag| tag.id);
            ids.cover(&flag);
            let origin = Origin {
                actor: actor.to_owned(),
                at,
                event_id: uuid::Uuid::new_v4().to_string(),
                random_key: String::new(),
            };
            let event = Event::new(
                EventType::FlagCreated,
                ComponentType::Flag,
                Some(flag.id),
                Some(&flag.key),
            );
            let after = StoredFlag {
                flag,
                deleted: false,
                snapshot_id: ids.next_change(),
            };
            let outcome = Outcome {
                before: None,
                after,
                events: vec![event],
            };
            self.write(&mut tx, &mut targets, environment, &outcome, &origin, true)
                .await?;
        }
        counters::write(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(count)
    }

    /// A flag, live or soft-deleted.
    pub async fn flag(&self, environment: EnvironmentId, id: Id) -> Result<Option<StoredFlag>, StoreError> {
        fetch_flag(self.backend, &self.reads, environment, id).await
    }

    /// The flag with `key`, live or soft-deleted.
    pub async fn flag_by_key(&self, environment: EnvironmentId, key: &str) -> Result<Option<StoredFlag>, StoreError> {
        let row = codec::query(
            self.backend,
            format!("SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE environment_id = $1 AND key = $2"),
        )
        .bind(environment)
        .bind(key)
        .fetch_optional(&self.reads)
        .await?;
        row.as_ref().map(stored_flag).transpose()
    }

    /// Live flags, or with `deleted` only the soft-deleted ones, ordered by id.
    pub async fn flags(&self, environment: EnvironmentId, deleted: bool) -> Result<Vec<StoredFlag>, StoreError> {
        let condition = if deleted {
            "deleted_at IS NOT NULL"
        } else {
            "deleted_at IS NULL"
        };
        let rows = codec::query(
            self.backend,
            format!("SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE environment_id = $1 AND {condition} ORDER BY id"),
        )
        .bind(environment)
        .fetch_all(&self.reads)
        .await?;
        rows.iter().map(stored_flag).collect()
    }

    /// The flags `filter` selects, ordered by id: Flagr's `GET /flags`. Only the flags returned
    /// are parsed. Deletion, key, limit and offset are applied by the database; the filters on
    /// what only the document holds (enabled, description, tags) are applied to the rows as
    /// they stream in, each parsed only as far as those fields, and the page is counted here.
    pub async fn find_flags(
        &self,
        environment: EnvironmentId,
        filter: &FlagFilter,
    ) -> Result<Vec<StoredFlag>, StoreError> {
        let condition = if filter.deleted {
            "deleted_at IS NOT NULL"
        } else {
            "deleted_at IS NULL"
        };
        let mut statement =
            format!("SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE environment_id = $1 AND {condition}");
        let mut placeholders = 1;
        if filter.key.is_some() {
            placeholders += 1;
            statement.push_str(&format!(" AND key = ${placeholders}"));
        }
        statement.push_str(" ORDER BY id");
        let in_database = !filter.reads_documents();
        if in_database {
            statement.push_str(&format!(" LIMIT ${} OFFSET ${}", placeholders + 1, placeholders + 2));
        }
        let mut query = codec::query(self.backend, statement).bind(environment);
        if let Some(key) = &filter.key {
            query = query.bind(key.clone());
        }
        let limit = filter.limit.unwrap_or(i64::MAX);
        if in_database {
            let rows = query.bind(limit).bind(filter.offset).fetch_all(&self.reads).await?;
            return rows.iter().map(stored_flag).collect();
        }
        let mut found = Vec::new();
        if limit == 0 {
            return Ok(found);
        }
        let description_like = filter.description_like.as_deref().map(str::to_lowercase);
        let mut skip = filter.offset;
        let mut rows = query.fetch(&self.reads);
        while let Some(row) = rows.try_next().await? {
            let document: &str = row.try_get("document")?;
            let listed: Listed = serde_json::from_str(document)?;
            if !filter.selects(&listed, description_like.as_deref()) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(stored_flag(&row)?);
            if i64::try_from(found.len()).is_ok_and(|count| count >= limit) {
                break;
            }
        }
        Ok(found)
    }

    /// Live flags ordered by id and the change sequence they reflect, read from one database
    /// snapshot, so a reader can follow the change log from exactly that sequence.
    pub async fn live_flags_at_seq(&self, environment: EnvironmentId) -> Result<(Vec<StoredFlag>, i64), StoreError> {
        // PostgreSQL's default isolation gives each statement its own snapshot; a SQLite read
        // transaction, and MySQL's (repeatable read), keep the one its first read took.
        let begin = match self.backend {
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Backend::Sqlite => "BEGIN",
            Backend::Mysql => "START TRANSACTION READ ONLY",
        };
        let mut tx = self.reads.begin_with(begin).await?;
        let seq: i64 = codec::query(self.backend, "SELECT change_seq FROM id_counters WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get("change_seq")?;
        let rows = codec::query(
            self.backend,
            format!(
                "SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE environment_id = $1 AND deleted_at IS NULL ORDER BY id"
            ),
        )
        .bind(environment)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((rows.iter().map(stored_flag).collect::<Result<_, _>>()?, seq))
    }

    /// The changes after sequence `after`, for caches following the log: each change of the
    /// environment's flags, and the latest sequence read. Sequences are commit-ordered, so a
    /// reader that resumes from the returned sequence misses nothing.
    pub async fn changes_since(&self, environment: EnvironmentId, after: i64) -> Result<ChangesSince, StoreError> {
        let rows = codec::query(
            self.backend,
            "SELECT seq, environment_id, flag_id, occurred_at FROM change_events WHERE seq > $1 ORDER BY seq",
        )
        .bind(after)
        .fetch_all(&self.reads)
        .await?;
        let mut since = ChangesSince {
            changes: Vec::new(),
            seq: after,
        };
        for row in &rows {
            since.seq = row.try_get("seq")?;
            let flag_id: Option<Id> = row.try_get("flag_id")?;
            let Some(flag_id) = flag_id else { continue };
            if row.try_get::<EnvironmentId, _>("environment_id")? == environment {
                since.changes.push(ChangeStamp {
                    seq: since.seq,
                    flag_id,
                    occurred_at: from_micros(row.try_get("occurred_at")?)?,
                });
            }
        }
        Ok(since)
    }

    /// The environment's flags (deleted ones included) changed after sequence `after` up to
    /// `through`, as they are now.
    pub async fn flags_changed_between(
        &self,
        environment: EnvironmentId,
        after: i64,
        through: i64,
    ) -> Result<Vec<StoredFlag>, StoreError> {
        let rows = codec::query(
            self.backend,
            format!(
                "SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE environment_id = $1 AND id IN \
                 (SELECT flag_id FROM change_events WHERE seq > $2 AND seq <= $3)"
            ),
        )
        .bind(environment)
        .bind(after)
        .bind(through)
        .fetch_all(&self.reads)
        .await?;
        rows.iter().map(stored_flag).collect()
    }

    /// The environment's tags, optionally those whose value contains `value_like` (any case).
    pub async fn tags(
        &self,
        environment: EnvironmentId,
        value_like: Option<&str>,
        limit: Option<i64>,
        offset: i64,
    ) -> Result<Vec<Tag>, StoreError> {
        let pattern = format!("%{}%", value_like.unwrap_or("").to_lowercase());
        let rows = codec::query(
            self.backend,
            "SELECT id, value FROM bunting_tags WHERE environment_id = $1 AND LOWER(value) LIKE $2 \
             ORDER BY id LIMIT $3 OFFSET $4",
        )
        .bind(environment)
        .bind(pattern)
        .bind(limit.unwrap_or(i64::MAX))
        .bind(offset)
        .fetch_all(&self.reads)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Tag {
                    id: row.try_get("id")?,
                    value: row.try_get("value")?,
                })
            })
            .collect()
    }

    /// Every entity type flags of the environment have used, sorted.
    pub async fn entity_types(&self, environment: EnvironmentId) -> Result<Vec<String>, StoreError> {
        let rows = codec::query(
            self.backend,
            "SELECT key FROM entity_types WHERE environment_id = $1 ORDER BY key",
        )
        .bind(environment)
        .fetch_all(&self.reads)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("key")?)).collect()
    }
}

pub(crate) async fn fetch_flag<'e, E>(
    backend: Backend,
    executor: E,
    environment: EnvironmentId,
    id: Id,
) -> Result<Option<StoredFlag>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = codec::query(
        backend,
        format!("SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE id = $1 AND environment_id = $2"),
    )
    .bind(id)
    .bind(environment)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(stored_flag).transpose()
}

async fn key_taken<'e, E>(
    backend: Backend,
    executor: E,
    environment: EnvironmentId,
    key: &str,
) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = codec::query(
        backend,
        "SELECT COUNT(*) AS n FROM bunting_flags WHERE environment_id = $1 AND key = $2",
    )
    .bind(environment)
    .bind(key)
    .fetch_one(executor)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// The id `key` has in the other environments, if any has it.
async fn id_elsewhere<'e, E>(
    backend: Backend,
    executor: E,
    environment: EnvironmentId,
    key: &str,
) -> Result<Option<Id>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = codec::query(
        backend,
        "SELECT id FROM bunting_flags WHERE key = $1 AND environment_id <> $2 LIMIT 1",
    )
    .bind(key)
    .bind(environment)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|row| row.try_get("id")).transpose()?)
}

/// The ids a command that creates a flag or a variant must reuse: those its key has in the
/// other environments.
async fn shared_ids(
    tx: &mut sqlx::AnyConnection,
    environment: EnvironmentId,
    flag_id: Option<Id>,
    command: &Command,
) -> Result<SharedIds, StoreError> {
    let flag = match command {
        Command::CreateFlag { key, .. } | Command::DuplicateFlag { key, .. } if !key.is_empty() => {
            id_elsewhere(Backend::of(tx), &mut *tx, environment, key).await?
        }
        Command::CreateVariant { .. } => flag_id,
        _ => return Ok(SharedIds::default()),
    };
    let Some(id) = flag else {
        return Ok(SharedIds::default());
    };
    let rows = codec::query(
        Backend::of(tx),
        format!(
            "SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE id = $1 AND environment_id <> $2 ORDER BY environment_id"
        ),
    )
    .bind(id)
    .bind(environment)
    .fetch_all(&mut *tx)
    .await?;
    let mut variants: Vec<(String, Id)> = Vec::new();
    for row in &rows {
        for variant in stored_flag(row)?.flag.variants {
            if !variants.iter().any(|(key, _)| *key == variant.key) {
                variants.push((variant.key, variant.id));
            }
        }
    }
    let flag = command.creates_flag().then_some(id);
    Ok(SharedIds { flag, variants })
}

async fn register_entity_type(
    tx: &mut Transaction<'static, Any>,
    environment: EnvironmentId,
    key: &str,
) -> Result<(), StoreError> {
    let backend = Backend::of(tx);
    codec::query(
        backend,
        format!(
            "INSERT INTO entity_types (environment_id, key) VALUES ($1, $2) {}",
            backend.on_conflict_do_nothing("key")
        ),
    )
    .bind(environment)
    .bind(key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) fn stored_flag(row: &AnyRow) -> Result<StoredFlag, StoreError> {
    let document: String = row.try_get("document")?;
    Ok(StoredFlag {
        flag: serde_json::from_str(&document)?,
        deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
        snapshot_id: row.try_get("snapshot_id")?,
    })
}

/// The environment's tag with this value, created (with the next tag id) when it is new.
pub(crate) async fn tag_for(
    tx: &mut Transaction<'static, Any>,
    environment: EnvironmentId,
    value: &str,
    ids: &mut IdCounters,
) -> Result<Tag, StoreError> {
    let existing = codec::query(
        Backend::of(tx),
        "SELECT id FROM bunting_tags WHERE environment_id = $1 AND value = $2",
    )
    .bind(environment)
    .bind(value)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = existing {
        return Ok(Tag {
            id: row.try_get("id")?,
            value: value.to_owned(),
        });
    }
    let tag = Tag {
        id: ids.next_tag(),
        value: value.to_owned(),
    };
    codec::query(
        Backend::of(tx),
        "INSERT INTO bunting_tags (id, environment_id, value) VALUES ($1, $2, $3)",
    )
    .bind(tag.id)
    .bind(environment)
    .bind(&tag.value)
    .execute(&mut **tx)
    .await?;
    Ok(tag)
}
