//! API tokens: making them (the secret is shown once and only its hash kept), revoking them,
//! and telling who presents one. Lookups are remembered for a few seconds, so a request does not
//! cost a database read; a revocation through this instance takes effect at once, through
//! another instance within [`REMEMBERED_FOR`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bunting_core::flag::Id;
use bunting_core::token::{self, NewToken, Token, Unusable};
use bunting_store::Store;
use time::OffsetDateTime;

use super::{ServiceError, origin};
use crate::clock::Clock;

/// How long a looked-up token is trusted without reading it again.
pub(crate) const REMEMBERED_FOR: Duration = Duration::from_secs(5);
/// How often a token's `lastUsedAt` is written while it is in use.
const LAST_USE_PRECISION: Duration = Duration::from_secs(60);

/// Why a presented secret does not authenticate a request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("this token is not known: it may have been mistyped or deleted with its database")]
    Unknown,
    #[error("{0}")]
    Unusable(Unusable),
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

#[derive(Clone)]
pub(crate) struct TokenService {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Tokens by the hash of their secret, with when they were read and when their use was
    /// last written.
    remembered: Arc<Mutex<HashMap<String, Remembered>>>,
}

struct Remembered {
    token: Token,
    read_at: Instant,
    use_written_at: Option<Instant>,
}

impl TokenService {
    pub(crate) fn new(store: Store, clock: Arc<dyn Clock>) -> TokenService {
        TokenService {
            store,
            clock,
            remembered: Arc::default(),
        }
    }

    pub(crate) async fn list(&self) -> Result<Vec<Token>, ServiceError> {
        Ok(self.store.tokens().await?)
    }

    /// Makes a token; returns it with its secret, which is not kept and cannot be shown again.
    pub(crate) async fn create(&self, new: &NewToken, actor: &str) -> Result<(Token, String), ServiceError> {
        let secret = token::token_secret(&rand::random());
        let created = self
            .store
            .create_token(new, &token::token_hash(&secret), &origin(self.clock.as_ref(), actor))
            .await?;
        Ok((created, secret))
    }

    /// Makes the token `secret` unless a token with that secret exists (even revoked: an
    /// operator who revoked the bootstrap token does not get it back at the next start).
    pub(crate) async fn ensure(&self, new: &NewToken, secret: &str, actor: &str) -> Result<bool, ServiceError> {
        let hash = token::token_hash(secret);
        if self.store.token_by_hash(&hash).await?.is_some() {
            return Ok(false);
        }
        self.store
            .create_token(new, &hash, &origin(self.clock.as_ref(), actor))
            .await?;
        Ok(true)
    }

    pub(crate) async fn revoke(&self, id: Id, actor: &str) -> Result<Token, ServiceError> {
        let revoked = self.store.revoke_token(id, &origin(self.clock.as_ref(), actor)).await?;
        self.lock().retain(|_, remembered| remembered.token.id != id);
        Ok(revoked)
    }

    /// The token `secret` belongs to, if it may be used now.
    pub(crate) async fn authenticate(&self, secret: &str) -> Result<Token, Refusal> {
        let hash = token::token_hash(secret);
        let now = self.clock.now();
        let fresh = self
            .lock()
            .get(&hash)
            .filter(|remembered| remembered.read_at.elapsed() < REMEMBERED_FOR)
            .map(|remembered| remembered.token.clone());
        let token = match fresh {
            Some(token) => token,
            None => {
                let token = self
                    .store
                    .token_by_hash(&hash)
                    .await
                    .map_err(ServiceError::from)?
                    .ok_or(Refusal::Unknown)?;
                let mut remembered = self.lock();
                let use_written_at = remembered.get(&hash).and_then(|old| old.use_written_at);
                remembered.insert(
                    hash.clone(),
                    Remembered {
                        token: token.clone(),
                        read_at: Instant::now(),
                        use_written_at,
                    },
                );
                token
            }
        };
        token.usable_at(now).map_err(Refusal::Unusable)?;
        self.note_use(&hash, &token, now);
        Ok(token)
    }

    /// Writes that the token was used, at most once a minute per token and off the request's
    /// path: a failure to write it costs the request nothing.
    fn note_use(&self, hash: &str, token: &Token, now: OffsetDateTime) {
        {
            let mut remembered = self.lock();
            let Some(entry) = remembered.get_mut(hash) else {
                return;
            };
            if entry
                .use_written_at
                .is_some_and(|written| written.elapsed() < LAST_USE_PRECISION)
            {
                return;
            }
            entry.use_written_at = Some(Instant::now());
        }
        let store = self.store.clone();
        let id = token.id;
        tokio::spawn(async move {
            if let Err(error) = store.touch_token(id, now).await {
                tracing::warn!(token = id, error = %error, "could not record when a token was last used");
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remembered>> {
        self.remembered.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
