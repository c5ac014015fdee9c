//! API tokens: created and revoked as changes recorded in the change log (in the default
//! environment, since a token belongs to none), looked up by the hash of their secret. The
//! secret itself never reaches the database.

use bunting_core::change::EventType;
use bunting_core::flag::Id;
use bunting_core::mutation::Origin;
use bunting_core::token::{self, NewToken, Role, Scope, Token};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::codec;
use crate::codec::{from_micros, micros};
use crate::{DEFAULT_ENVIRONMENT, Store, StoreError, changes, counters};

const COLUMNS: &str = "id, name, role, environments, created_by, created_at, expires_at, last_used_at, revoked_at";

impl Store {
    /// Every token, revoked ones included, newest first.
    pub async fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        let rows = codec::query(
            self.backend,
            format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id DESC"),
        )
        .fetch_all(&self.reads)
        .await?;
        rows.iter().map(token_from).collect()
    }

    /// The token whose secret hashes to `secret_hash`, revoked or expired ones included.
    pub async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<Token>, StoreError> {
        let row = codec::query(
            self.backend,
            format!("SELECT {COLUMNS} FROM api_tokens WHERE secret_hash = $1"),
        )
        .bind(secret_hash)
        .fetch_optional(&self.reads)
        .await?;
        row.as_ref().map(token_from).transpose()
    }

    /// Stores a new token under the hash of its secret. Its environments must exist, and its
    /// name must not be another live token's (the name is the actor of its changes).
    pub async fn create_token(&self, new: &NewToken, secret_hash: &str, origin: &Origin) -> Result<Token, StoreError> {
        token::check_new_token(new, origin.at).map_err(StoreError::Invalid)?;
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let taken: i64 = codec::query_scalar(
            self.backend,
            "SELECT COUNT(*) FROM api_tokens WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(&new.name)
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Err(StoreError::Invalid(format!(
                "a live token is already named {:?}; choose another name or revoke that token first",
                new.name
            )));
        }
        if let Scope::Only(keys) = &new.scope {
            for key in keys {
                let live: i64 = codec::query_scalar(
                    self.backend,
                    "SELECT COUNT(*) FROM environments WHERE key = $1 AND deleted_at IS NULL",
                )
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
                if live == 0 {
                    return Err(StoreError::Invalid(format!(
                        "environment {key:?} does not exist; list existing environment keys"
                    )));
                }
            }
        }
        // Under the counters lock, so two creates cannot take the same id.
        let id: Id = codec::query_scalar(self.backend, "SELECT COALESCE(MAX(id), 0) + 1 FROM api_tokens")
            .fetch_one(&mut *tx)
            .await?;
        let created = Token {
            id,
            name: new.name.clone(),
            role: new.role,
            scope: new.scope.clone(),
            created_by: origin.actor.clone(),
            created_at: origin.at,
            expires_at: new.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let environments = match &created.scope {
            Scope::All => None,
            Scope::Only(keys) => Some(serde_json::to_string(keys)?),
        };
        codec::query(
            self.backend,
            "INSERT INTO api_tokens (id, name, role, environments, secret_hash, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(created.id)
        .bind(&created.name)
        .bind(created.role.name())
        .bind(environments)
        .bind(secret_hash)
        .bind(&created.created_by)
        .bind(micros(created.created_at))
        .bind(created.expires_at.map(micros))
        .execute(&mut *tx)
        .await?;
        let change = created.change_event(
            EventType::TokenCreated,
            None,
            DEFAULT_ENVIRONMENT,
            ids.next_change(),
            origin,
        );
        changes::record(&mut tx, self, &change, &ids).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Revokes token `id`; revoking a revoked token changes nothing and records nothing.
    pub async fn revoke_token(&self, id: Id, origin: &Origin) -> Result<Token, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = counters::lock(&mut tx).await?;
        let row = codec::query(self.backend, format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(token_from).transpose()? else {
            return Err(StoreError::NotFound(format!("unable to find token {id}")));
        };
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        codec::query(self.backend, "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(micros(origin.at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = Token {
            revoked_at: Some(origin.at),
            ..before.clone()
        };
        let change = after.change_event(
            EventType::TokenRevoked,
            Some(&before),
            DEFAULT_ENVIRONMENT,
            ids.next_change(),
            origin,
        );
        changes::record(&mut tx, self, &change, &ids).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Notes that token `id` was used at `at`. Bookkeeping, not a change: nothing is recorded.
    pub async fn touch_token(&self, id: Id, at: OffsetDateTime) -> Result<(), StoreError> {
        codec::query(self.backend, "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(micros(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn token_from(row: &AnyRow) -> Result<Token, StoreError> {
    let role: String = row.try_get("role")?;
    let environments: Option<String> = row.try_get("environments")?;
    let time = |column: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        row.try_get::<Option<i64>, _>(column)?.map(from_micros).transpose()
    };
    Ok(Token {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::from_name(&role).ok_or_else(|| StoreError::unreadable(format!("token role {role:?}")))?,
        scope: match environments {
            None => Scope::All,
            Some(keys) => Scope::Only(serde_json::from_str(&keys)?),
        },
        created_by: row.try_get("created_by")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        expires_at: time("expires_at")?,
        last_used_at: time("last_used_at")?,
        revoked_at: time("revoked_at")?,
    })
}
