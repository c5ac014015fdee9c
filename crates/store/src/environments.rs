//! Environments: reads, and changes recorded in the change log like flag changes. A new
//! environment can start as a clone of another (its flags promoted in the same transaction). Deleting one
//! removes its flags, tags, entity types and webhooks (their pending deliveries with them) in
//! the transaction that records the deletion; the environment's row stays, because the change
//! log refers to it.

use bunting_core::change::EventType;
use bunting_core::environment::{self, Environment, EnvironmentFields, EnvironmentLabel};
use bunting_core::mutation::Origin;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::codec;
use crate::codec::{from_micros, micros};
use crate::{Backend, DEFAULT_ENVIRONMENT, EnvironmentId, PromotionSelection, Store, StoreError, changes, counters};

impl Store {
    /// The live environments, the default first, then by id.
    pub async fn environments(&self) -> Result<Vec<Environment>, StoreError> {
        let rows = codec::query(
            self.backend,
            "SELECT id, key, name, description, created_at FROM environments WHERE deleted_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.reads)
        .await?;
        rows.iter().map(environment_from).collect()
    }

    /// How payloads and the change log name each environment, deleted ones included.
    pub async fn environment_labels(&self) -> Result<Vec<(EnvironmentId, EnvironmentLabel)>, StoreError> {
        let rows = codec::query(self.backend, "SELECT id, key, name FROM environments")
            .fetch_all(&self.reads)
            .await?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get("key")?;
                Ok((
                    row.try_get("id")?,
                    EnvironmentLabel {
                        key: live_key(&key).to_owned(),
                        name: row.try_get("name")?,
                    },
                ))
            })
            .collect()
    }

    /// Gives the default environment the key `key` (and that name) on a database where nothing
    /// has changed yet; returns the default environment's key as it is afterwards.
    pub async fn name_default_environment(&self, key: &str) -> Result<String, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids = counters::lock(&mut tx).await?;
        if ids.change == 0 {
            codec::query(
                self.backend,
                "UPDATE environments SET key = $1, name = $2 WHERE id = $3",
            )
            .bind(key)
            .bind(key)
            .bind(DEFAULT_ENVIRONMENT)
            .execute(&mut *tx)
            .await?;
        }
        let current: String = codec::query_scalar(self.backend, "SELECT key FROM environments WHERE id = $1")
            .bind(DEFAULT_ENVIRONMENT)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(current)
    }

    /// Creates an environment: empty, or with `clone_from`'s flags (each its own change, as a
    /// promotion of every flag records it), in one transaction.
    pub async fn create_environment(
        &self,
        key: &str,
        fields: EnvironmentFields,
        clone_from: Option<EnvironmentId>,
        origin: &Origin,
    ) -> Result<Environment, StoreError> {
        environment::check_environment_key(key).map_err(StoreError::Invalid)?;
        environment::check_fields(&fields).map_err(StoreError::Invalid)?;
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let taken: i64 = codec::query_scalar(self.backend, "SELECT COUNT(*) FROM environments WHERE key = $1")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        if taken > 0 {
            return Err(StoreError::Invalid(format!("environment key {key:?} is already taken")));
        }
        // Under the counters lock, so two creates cannot take the same id.
        let id: i64 = codec::query_scalar(self.backend, "SELECT COALESCE(MAX(id), 0) + 1 FROM environments")
            .fetch_one(&mut *tx)
            .await?;
        let created = Environment {
            id,
            key: key.to_owned(),
            name: fields.name.unwrap_or_else(|| key.to_owned()),
            description: fields.description.unwrap_or_default(),
            created_at: origin.at,
            default: false,
        };
        codec::query(
            self.backend,
            "INSERT INTO environments (id, key, name, description, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(created.id)
        .bind(&created.key)
        .bind(&created.name)
        .bind(&created.description)
        .bind(micros(created.created_at))
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            self,
            &created,
            EventType::EnvironmentCreated,
            None,
            &mut ids,
            origin,
        )
        .await?;
        if let Some(source) = clone_from {
            self.promote_in(&mut tx, &mut ids, source, id, &PromotionSelection::All, origin)
                .await?;
            counters::write(&mut tx, &ids).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Changes an environment's name or description.
    pub async fn update_environment(
        &self,
        id: EnvironmentId,
        fields: EnvironmentFields,
        origin: &Origin,
    ) -> Result<Environment, StoreError> {
        environment::check_fields(&fields).map_err(StoreError::Invalid)?;
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let before = live(&mut tx, id).await?;
        let after = Environment {
            name: fields.name.unwrap_or_else(|| before.name.clone()),
            description: fields.description.unwrap_or_else(|| before.description.clone()),
            ..before.clone()
        };
        if after == before {
            return Ok(after);
        }
        codec::query(
            self.backend,
            "UPDATE environments SET name = $1, description = $2 WHERE id = $3",
        )
        .bind(&after.name)
        .bind(&after.description)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            self,
            &after,
            EventType::EnvironmentUpdated,
            Some(&before),
            &mut ids,
            origin,
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes an environment. One that still has live flags is refused unless `force`; the
    /// default environment always is.
    pub async fn delete_environment(
        &self,
        id: EnvironmentId,
        force: bool,
        origin: &Origin,
    ) -> Result<Environment, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let deleted = live(&mut tx, id).await?;
        if deleted.default {
            return Err(StoreError::Invalid(format!(
                "environment {:?} is the default environment (the unprefixed API) and cannot be deleted",
                deleted.key
            )));
        }
        let flags: i64 = codec::query_scalar(
            self.backend,
            "SELECT COUNT(*) FROM bunting_flags WHERE environment_id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if flags > 0 && !force {
            return Err(StoreError::Conflict(format!(
                "environment {:?} still has {flags} live flag(s); delete them first, or add ?force=true to delete \
                 the environment with its flags and webhooks",
                deleted.key
            )));
        }
        for table in ["bunting_flags", "bunting_tags", "entity_types", "webhooks"] {
            codec::query(self.backend, format!("DELETE FROM {table} WHERE environment_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // `~` is not allowed in keys, so the deleted environment's key is free for a new one.
        codec::query(
            self.backend,
            "UPDATE environments SET deleted_at = $1, key = $2 WHERE id = $3",
        )
        .bind(micros(origin.at))
        .bind(format!("{}~{id}", deleted.key))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            self,
            &deleted,
            EventType::EnvironmentDeleted,
            Some(&deleted),
            &mut ids,
            origin,
        )
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

/// How payloads name environment `id`: its key (as it was, for a deleted one) and name.
pub(crate) async fn label(
    tx: &mut Transaction<'static, Any>,
    id: EnvironmentId,
) -> Result<EnvironmentLabel, StoreError> {
    let row = codec::query(Backend::of(tx), "SELECT key, name FROM environments WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Err(StoreError::unreadable(format!("environment {id} does not exist")));
    };
    let key: String = row.try_get("key")?;
    Ok(EnvironmentLabel {
        key: live_key(&key).to_owned(),
        name: row.try_get("name")?,
    })
}

/// The key an environment had: a deleted one's key carries `~{id}` (see `delete_environment`).
fn live_key(stored: &str) -> &str {
    stored.split('~').next().unwrap_or(stored)
}

/// A live environment, or NotFound.
async fn live(tx: &mut Transaction<'static, Any>, id: EnvironmentId) -> Result<Environment, StoreError> {
    let row = codec::query(
        Backend::of(tx),
        "SELECT id, key, name, description, created_at FROM environments WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => environment_from(&row),
        None => Err(StoreError::NotFound(format!("unable to find environment {id}"))),
    }
}

/// Records `event` on `environment` in the change log.
async fn record(
    tx: &mut Transaction<'static, Any>,
    store: &Store,
    environment: &Environment,
    event: EventType,
    before: Option<&Environment>,
    ids: &mut bunting_core::mutation::IdCounters,
    origin: &Origin,
) -> Result<(), StoreError> {
    let change = environment.change_event(event, before, ids.next_change(), origin);
    changes::record(tx, store, &change, ids).await
}

fn environment_from(row: &AnyRow) -> Result<Environment, StoreError> {
    let id: i64 = row.try_get("id")?;
    Ok(Environment {
        id,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        default: id == DEFAULT_ENVIRONMENT,
    })
}
