//! Webhook secrets at rest: the signing secret, the previous secret during a rotation, and the
//! password of the URL (its own column, the URL keeping a masked copy) are written sealed and
//! opened when read, with the [`Sealer`] the store was opened with (`sealing` holds the cipher).
//!
//! Two passes over every stored secret, each one transaction under the counters lock that
//! every mutation takes: at start-up, [`Store::seal_secrets`] seals what a version before
//! sealing left in the clear and proves the configured key opens the rest; `bunting secrets
//! rotate` runs [`Store::reseal_secrets`] to put everything under a new key.

use bunting_core::secret::Secret;
use bunting_core::webhook::url_password;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::codec;
use crate::sealing::{OpenError, Sealer, is_sealed};
use crate::{Backend, Store, StoreError, counters};

/// The stored secret in `column` of a webhook row, opened.
pub(crate) fn open_column(sealer: &Sealer, row: &AnyRow, column: &str) -> Result<Option<Secret>, StoreError> {
    let Some(stored) = row.try_get::<Option<String>, _>(column)? else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    sealer
        .open(&stored)
        .map(Some)
        .map_err(|error| cannot_open(id, column, &error))
}

/// The URL a webhook row stands for: the stored (masked) URL with its password put back.
pub(crate) fn url(sealer: &Sealer, row: &AnyRow) -> Result<String, StoreError> {
    let url: String = row.try_get("url")?;
    Ok(match open_column(sealer, row, "url_password")? {
        Some(password) => url_password::join(&url, &password),
        None => url,
    })
}

/// The columns a webhook's URL is stored in: the URL with its password masked, and the
/// password sealed.
pub(crate) fn seal_url(sealer: &Sealer, url: &str) -> (String, Option<String>) {
    let (masked, password) = url_password::split(url);
    (masked, password.map(|password| sealer.seal(password.expose())))
}

fn cannot_open(id: i64, column: &str, error: &OpenError) -> StoreError {
    StoreError::sealing(format!(
        "the {} of webhook {id} cannot be opened: {error}",
        what(column)
    ))
}

fn what(column: &str) -> &'static str {
    match column {
        "secret" => "signing secret",
        "previous_secret" => "previous signing secret",
        _ => "URL password",
    }
}

/// What a pass over the stored secrets did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Webhooks with at least one secret (or URL password).
    pub webhooks: usize,
    /// Values written anew: sealed for the first time, or sealed again under a new key.
    pub sealed: usize,
}

/// One webhook's secret columns as stored.
struct Stored {
    id: i64,
    url: String,
    columns: [(&'static str, Option<String>); 3],
}

const SECRET_COLUMNS: [&str; 3] = ["secret", "previous_secret", "url_password"];

impl Store {
    /// Seals every secret still stored in the clear (a database written before sealing, or by
    /// an older instance beside this one), moving a URL's password to its own column, and checks
    /// that the configured key opens every sealed one: a wrong key stops start-up here, with
    /// which secret could not be opened, instead of failing deliveries later.
    pub async fn seal_secrets(&self) -> Result<SealReport, StoreError> {
        self.rewrite_secrets(|stored| match self.sealer.open(stored) {
            Ok(secret) if !is_sealed(stored) => Ok(Some(self.sealer.seal(secret.expose()))),
            Ok(_) => Ok(None),
            Err(error) => Err(error),
        })
        .await
    }

    /// Seals every secret again under `new`, in one transaction: each is opened with the key
    /// the store was opened with, or is already sealed under `new` (a second run after the
    /// switch) and left as it is.
    pub async fn reseal_secrets(&self, new: &Sealer) -> Result<SealReport, StoreError> {
        self.rewrite_secrets(|stored| match self.sealer.open(stored) {
            Ok(secret) => Ok(Some(new.seal(secret.expose()))),
            Err(error) => match new.open(stored) {
                Ok(_) => Ok(None),
                Err(_) => Err(error),
            },
        })
        .await
    }

    /// Reads every webhook's secrets under the counters lock, gives each stored value to
    /// `rewrite` (a new stored value, `None` to keep it, or why it cannot be opened), and writes
    /// what changed, all in one transaction.
    async fn rewrite_secrets(
        &self,
        rewrite: impl Fn(&str) -> Result<Option<String>, OpenError>,
    ) -> Result<SealReport, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Every mutation takes this lock first: no webhook changes under the pass.
        counters::lock(&mut tx).await?;
        let rows = codec::query(
            self.backend,
            "SELECT id, url, secret, previous_secret, url_password FROM webhooks ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut report = SealReport::default();
        for row in &rows {
            let mut stored = Stored {
                id: row.try_get("id")?,
                url: row.try_get("url")?,
                columns: SECRET_COLUMNS.map(|column| (column, None)),
            };
            for (column, value) in &mut stored.columns {
                *value = row.try_get(*column)?;
            }
            let mut changed = false;
            // A URL stored with its password in it, from before the password had a column.
            if stored.columns[2].1.is_none() {
                let (masked, password) = url_password::split(&stored.url);
                if let Some(password) = password {
                    stored.url = masked;
                    stored.columns[2].1 = Some(password.expose().to_owned());
                    changed = true;
                }
            }
            if stored.columns.iter().all(|(_, value)| value.is_none()) {
                continue;
            }
            report.webhooks += 1;
            for (column, value) in &mut stored.columns {
                let Some(current) = value.as_deref() else { continue };
                match rewrite(current) {
                    Ok(Some(rewritten)) => {
                        *value = Some(rewritten);
                        report.sealed += 1;
                        changed = true;
                    }
                    Ok(None) => {}
                    Err(error) => return Err(cannot_open(stored.id, column, &error)),
                }
            }
            if changed {
                write(&mut tx, &stored).await?;
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}

async fn write(tx: &mut Transaction<'static, Any>, stored: &Stored) -> Result<(), StoreError> {
    let [secret, previous, password] = &stored.columns;
    codec::query(
        Backend::of(tx),
        "UPDATE webhooks SET url = $1, secret = $2, previous_secret = $3, url_password = $4 WHERE id = $5",
    )
    .bind(&stored.url)
    .bind(secret.1.as_deref())
    .bind(previous.1.as_deref())
    .bind(password.1.as_deref())
    .bind(stored.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
