//! Promoting flags from one environment to another in one transaction: every promoted flag is
//! its own change event in the target (with its webhook deliveries), and nothing is written when
//! any flag cannot be promoted. A dry run takes the same path and rolls back, so what it reports
//! is exactly what the real call would write.

use bunting_core::change::ChangeEvent;
use bunting_core::flag::StoredFlag;
use bunting_core::mutation::{IdCounters, Origin};
use bunting_core::promotion::{self, PromotionAction};
use sqlx::{Any, Transaction};

use crate::codec;
use crate::flags::{FLAG_COLUMNS, fetch_flag, stored_flag, tag_for};
use crate::{Backend, EnvironmentId, Store, StoreError, counters, outbox};

/// Which of the source's live flags to promote.
#[derive(Debug, Clone)]
pub enum PromotionSelection {
    Keys(Vec<String>),
    /// Flags carrying any of these tags.
    Tags(Vec<String>),
    All,
}

/// One flag's promotion: what it did (or would do) and the change it recorded.
#[derive(Debug, Clone)]
pub struct Promotion {
    pub action: PromotionAction,
    pub after: StoredFlag,
    /// `None` when the target already had the source's configuration.
    pub change: Option<ChangeEvent>,
}

impl Store {
    pub async fn promote(
        &self,
        source: EnvironmentId,
        target: EnvironmentId,
        selection: &PromotionSelection,
        dry_run: bool,
        origin: &Origin,
    ) -> Result<Vec<Promotion>, StoreError> {
        if source == target {
            return Err(StoreError::Invalid(
                "the source and the target are the same environment".into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let promotions = self
            .promote_in(&mut tx, &mut ids, source, target, selection, origin)
            .await?;
        if dry_run {
            tx.rollback().await?;
        } else {
            counters::write(&mut tx, &ids).await?;
            tx.commit().await?;
        }
        Ok(promotions)
    }

    /// Promotes inside `tx`, under the counters lock `ids` holds.
    pub(crate) async fn promote_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        ids: &mut IdCounters,
        source: EnvironmentId,
        target: EnvironmentId,
        selection: &PromotionSelection,
        origin: &Origin,
    ) -> Result<Vec<Promotion>, StoreError> {
        let selected = selected(tx, source, selection).await?;
        let mut promotions = Vec::with_capacity(selected.len());
        let mut targets = outbox::Targets::default();
        for source_flag in selected {
            let existing = by_key(tx, target, &source_flag.flag.key).await?;
            if existing.is_none()
                && let Some(other) = fetch_flag(self.backend, &mut **tx, target, source_flag.flag.id).await?
            {
                return Err(StoreError::Invalid(format!(
                    "cannot promote flag {}: its id {} is flag \"{}\" in the target environment",
                    source_flag.flag.key, source_flag.flag.id, other.flag.key
                )));
            }
            let promoted = promotion::promote(&source_flag.flag, existing.as_ref(), origin, origin.at)?;
            let mut outcome = promoted.outcome;
            if promoted.action == PromotionAction::Unchanged {
                promotions.push(Promotion {
                    action: promoted.action,
                    after: outcome.after,
                    change: None,
                });
                continue;
            }
            let flag = &mut outcome.after.flag;
            for tag in &mut flag.tags {
                *tag = tag_for(tx, target, &tag.value, ids).await?;
            }
            flag.tags.sort_by_key(|tag| tag.id);
            outcome.after.snapshot_id = ids.next_change();
            // Each flag is its own change, with its own event id.
            let flag_origin = Origin {
                event_id: uuid::Uuid::now_v7().to_string(),
                ..origin.clone()
            };
            let creates = promoted.action == PromotionAction::Create;
            let change = self
                .write(tx, &mut targets, target, &outcome, &flag_origin, creates)
                .await?;
            promotions.push(Promotion {
                action: promoted.action,
                after: outcome.after,
                change: Some(change),
            });
        }
        Ok(promotions)
    }
}

/// The source's live flags `selection` names, by id; a named key the source lacks is refused.
async fn selected(
    tx: &mut Transaction<'static, Any>,
    source: EnvironmentId,
    selection: &PromotionSelection,
) -> Result<Vec<StoredFlag>, StoreError> {
    let rows = codec::query(
        Backend::of(tx),
        format!(
            "SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE environment_id = $1 AND deleted_at IS NULL ORDER BY id"
        ),
    )
    .bind(source)
    .fetch_all(&mut **tx)
    .await?;
    let live: Vec<StoredFlag> = rows.iter().map(stored_flag).collect::<Result<_, _>>()?;
    let chosen: Vec<StoredFlag> = match selection {
        PromotionSelection::All => live,
        PromotionSelection::Keys(keys) => {
            let missing: Vec<&str> = keys
                .iter()
                .filter(|key| !live.iter().any(|stored| &stored.flag.key == *key))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "the source environment has no live flag {}",
                    missing.join(", ")
                )));
            }
            live.into_iter()
                .filter(|stored| keys.contains(&stored.flag.key))
                .collect()
        }
        PromotionSelection::Tags(tags) => live
            .into_iter()
            .filter(|stored| stored.flag.tags.iter().any(|tag| tags.contains(&tag.value)))
            .collect(),
    };
    // Promoting every flag of an empty environment does nothing; a selection that matches
    // nothing is a mistake worth saying.
    if chosen.is_empty() && !matches!(selection, PromotionSelection::All) {
        return Err(StoreError::Invalid(
            "nothing to promote: the selection matches no live flag of the source environment".into(),
        ));
    }
    Ok(chosen)
}

async fn by_key(
    tx: &mut Transaction<'static, Any>,
    environment: EnvironmentId,
    key: &str,
) -> Result<Option<StoredFlag>, StoreError> {
    let row = codec::query(
        Backend::of(tx),
        format!("SELECT {FLAG_COLUMNS} FROM bunting_flags WHERE environment_id = $1 AND key = $2"),
    )
    .bind(environment)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(stored_flag).transpose()
}
