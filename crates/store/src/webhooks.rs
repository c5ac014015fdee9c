//! Webhook configuration: changes (one transaction each, recorded in the change log like flag
//! changes) and reads with delivery statistics.

use bunting_core::flag::Id;
use bunting_core::mutation::Origin;
use bunting_core::secret::Secret;
use bunting_core::webhook::config::{self, PayloadFormat, PreviousSecret, Webhook, WebhookCommand, WebhookOutcome};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::codec;
use crate::codec::{from_micros, micros};
use crate::{Backend, EnvironmentId, Store, StoreError, counters, retrying_deadlocks};
use crate::{Sealer, changes, outbox, secrets};

pub(crate) const WEBHOOK_COLUMNS: &str = "id, url, description, events, enabled, timeout_seconds, secret, previous_secret, \
                               previous_secret_expires_at, disabled_reason, format, headers, managed_by_config, \
                               created_at, updated_at, url_password, all_environments";

/// A webhook with what its delivery log says about it, for lists and dashboards.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSummary {
    pub webhook: Webhook,
    pub pending_deliveries: i64,
    pub failed_deliveries: i64,
    /// The newest delivery's status (`pending`, `delivered`, `failed`), if any.
    pub last_delivery_status: Option<String>,
    pub last_delivery_at: Option<time::OffsetDateTime>,
}

impl Store {
    /// Applies `command` to webhook `id` (`None` for a create) and records the change. Enabling
    /// a disabled webhook or giving it a new URL starts its failure count afresh.
    pub async fn mutate_webhook(
        &self,
        environment: EnvironmentId,
        id: Option<Id>,
        command: WebhookCommand,
        origin: &Origin,
    ) -> Result<WebhookOutcome, StoreError> {
        retrying_deadlocks(|| async {
            let mut tx = self.pool.begin().await?;
            let mut ids = counters::lock(&mut tx).await?;
            let current = match id {
                Some(id) => Some(
                    fetch(self.backend, &mut *tx, environment, id, &self.sealer)
                        .await?
                        .ok_or_else(|| config::webhook_not_found(id))?,
                ),
                None => None,
            };
            let outcome = config::apply(current.as_ref(), command.clone(), || ids.next_webhook(), origin.at)?;
            if !outcome.changed() {
                return Ok(outcome);
            }
            let after = &outcome.after;
            if outcome.deleted() {
                codec::query(self.backend, "DELETE FROM webhooks WHERE id = $1")
                    .bind(after.id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                save(&mut tx, environment, after, &self.sealer).await?;
            }
            let event = outcome.change_event(ids.next_change(), environment, origin);
            changes::append(&mut tx, &event).await?;
            outbox::enqueue(
                &mut tx,
                &mut outbox::Targets::default(),
                &event,
                self.first_attempt_at(origin.at),
                self.public_url.as_deref(),
            )
            .await?;
            counters::write(&mut tx, &ids).await?;
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    /// The environment webhook `id` belongs to, for callers that act on any webhook (the
    /// dispatcher disabling one).
    pub async fn webhook_environment(&self, id: Id) -> Result<Option<EnvironmentId>, StoreError> {
        Ok(
            codec::query_scalar(self.backend, "SELECT environment_id FROM webhooks WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.reads)
                .await?,
        )
    }

    pub async fn webhook(&self, environment: EnvironmentId, id: Id) -> Result<Option<Webhook>, StoreError> {
        fetch(self.backend, &self.reads, environment, id, &self.sealer).await
    }

    /// The webhook `FLAGR_NOTIFICATION_WEBHOOK_*` configures, if one was ever configured.
    pub async fn configured_webhook_id(&self, environment: EnvironmentId) -> Result<Option<Id>, StoreError> {
        let row = codec::query(
            self.backend,
            "SELECT id FROM webhooks WHERE environment_id = $1 AND managed_by_config = 1",
        )
        .bind(environment)
        .fetch_optional(&self.reads)
        .await?;
        Ok(row.map(|row| row.try_get("id")).transpose()?)
    }

    /// Every webhook of the environment by id, with delivery statistics.
    pub async fn webhooks(&self, environment: EnvironmentId) -> Result<Vec<WebhookSummary>, StoreError> {
        self.summaries(environment, None).await
    }

    /// One webhook with its delivery statistics.
    pub async fn webhook_summary(
        &self,
        environment: EnvironmentId,
        id: Id,
    ) -> Result<Option<WebhookSummary>, StoreError> {
        Ok(self.summaries(environment, Some(id)).await?.pop())
    }

    /// The environment's webhooks with delivery statistics, or only webhook `id`.
    async fn summaries(&self, environment: EnvironmentId, id: Option<Id>) -> Result<Vec<WebhookSummary>, StoreError> {
        let only = if id.is_some() { "AND w.id = $2" } else { "" };
        let query = format!(
            "SELECT {WEBHOOK_COLUMNS}, \
             (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') \
             AS pending_deliveries, \
             (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'failed') \
             AS failed_deliveries, \
             (SELECT d.status FROM webhook_deliveries d WHERE d.webhook_id = w.id \
             ORDER BY d.created_at DESC, d.id DESC LIMIT 1) AS last_delivery_status, \
             (SELECT MAX(d.created_at) FROM webhook_deliveries d WHERE d.webhook_id = w.id) AS last_delivery_at \
             FROM webhooks w WHERE environment_id = $1 {only} ORDER BY id"
        );
        let mut query = codec::query(self.backend, query).bind(environment);
        if let Some(id) = id {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.reads).await?;
        rows.iter()
            .map(|row| {
                Ok(WebhookSummary {
                    webhook: webhook(row, &self.sealer)?,
                    pending_deliveries: row.try_get("pending_deliveries")?,
                    failed_deliveries: row.try_get("failed_deliveries")?,
                    last_delivery_status: row.try_get("last_delivery_status")?,
                    last_delivery_at: row
                        .try_get::<Option<i64>, _>("last_delivery_at")?
                        .map(from_micros)
                        .transpose()?,
                })
            })
            .collect()
    }
}

async fn fetch<'e, E>(
    backend: Backend,
    executor: E,
    environment: EnvironmentId,
    id: Id,
    sealer: &Sealer,
) -> Result<Option<Webhook>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = codec::query(
        backend,
        format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND environment_id = $2"),
    )
    .bind(id)
    .bind(environment)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(|row| webhook(row, sealer)).transpose()
}

/// The columns a webhook's change rewrites (all but its id and creation time).
const REWRITTEN: [&str; 15] = [
    "url",
    "description",
    "events",
    "enabled",
    "timeout_seconds",
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "disabled_reason",
    "format",
    "headers",
    "managed_by_config",
    "updated_at",
    "url_password",
    "all_environments",
];

/// Writes a webhook, new or changed. Every column is rewritten, so one statement serves both.
/// Secrets are written sealed, and the URL with its password masked (see `secrets`).
async fn save(
    tx: &mut Transaction<'static, Any>,
    environment: EnvironmentId,
    webhook: &Webhook,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    let previous = webhook.previous_secret.as_ref();
    let seal = |secret: &Secret| sealer.seal(secret.expose());
    let (url, url_password) = secrets::seal_url(sealer, &webhook.url);
    let backend = Backend::of(tx);
    // The failing run is forgotten when the webhook is re-enabled or pointed elsewhere.
    let upsert = match backend {
        Backend::Sqlite | Backend::Postgres => format!(
            "ON CONFLICT (id) DO UPDATE SET {}, failing_since = CASE WHEN (excluded.enabled = 1 AND \
             webhooks.enabled = 0) OR excluded.url <> webhooks.url THEN NULL ELSE webhooks.failing_since END",
            REWRITTEN
                .map(|column| format!("{column} = excluded.{column}"))
                .join(", ")
        ),
        // MySQL assigns left to right, each assignment seeing the ones before it: failing_since
        // comes first, while `enabled` and `url` still hold the stored values.
        Backend::Mysql => format!(
            "ON DUPLICATE KEY UPDATE failing_since = CASE WHEN (VALUES(enabled) = 1 AND enabled = 0) \
             OR VALUES(url) <> url THEN NULL ELSE failing_since END, {}",
            REWRITTEN
                .map(|column| format!("{column} = VALUES({column})"))
                .join(", ")
        ),
    };
    codec::query(
        backend,
        format!(
            "INSERT INTO webhooks ({WEBHOOK_COLUMNS}, environment_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) {upsert}"
        ),
    )
    .bind(webhook.id)
    .bind(url)
    .bind(&webhook.description)
    .bind(serde_json::to_string(&webhook.events)?)
    .bind(i64::from(webhook.enabled))
    .bind(i64::from(webhook.timeout_seconds))
    .bind(webhook.secret.as_ref().map(seal))
    .bind(previous.map(|previous| seal(&previous.secret)))
    .bind(previous.map(|previous| micros(previous.expires_at)))
    .bind(webhook.disabled_reason.as_deref())
    .bind(webhook.format.name())
    .bind(serde_json::to_string(&webhook.headers)?)
    .bind(i64::from(webhook.managed_by_config))
    .bind(micros(webhook.created_at))
    .bind(micros(webhook.updated_at))
    .bind(url_password)
    .bind(i64::from(webhook.all_environments))
    .bind(environment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The webhook a row holds, its secrets opened.
pub(crate) fn webhook(row: &AnyRow, sealer: &Sealer) -> Result<Webhook, StoreError> {
    let previous_secret = match (
        secrets::open_column(sealer, row, "previous_secret")?,
        row.try_get::<Option<i64>, _>("previous_secret_expires_at")?,
    ) {
        (Some(secret), Some(expires_at)) => Some(PreviousSecret {
            secret,
            expires_at: from_micros(expires_at)?,
        }),
        _ => None,
    };
    let format: String = row.try_get("format")?;
    let timeout: i64 = row.try_get("timeout_seconds")?;
    Ok(Webhook {
        id: row.try_get("id")?,
        url: secrets::url(sealer, row)?,
        description: row.try_get("description")?,
        events: serde_json::from_str(&row.try_get::<String, _>("events")?)?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        timeout_seconds: u32::try_from(timeout)
            .map_err(|_| StoreError::unreadable(format!("stored timeout {timeout} is out of range")))?,
        secret: secrets::open_column(sealer, row, "secret")?,
        previous_secret,
        disabled_reason: row.try_get("disabled_reason")?,
        format: PayloadFormat::from_name(&format)
            .ok_or_else(|| StoreError::unreadable(format!("unknown payload format {format}")))?,
        headers: serde_json::from_str(&row.try_get::<String, _>("headers")?)?,
        managed_by_config: row.try_get::<i64, _>("managed_by_config")? != 0,
        all_environments: row.try_get::<i64, _>("all_environments")? != 0,
        created_at: from_micros(row.try_get("created_at")?)?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}
