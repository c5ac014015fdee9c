//! API tokens and roles: who may do what, in which environments. A token is a random secret the
//! server keeps only as a hash; it carries one fixed role and is scoped to every environment or a
//! list. Creating and revoking one are changes like any other, recorded with who made them.
//! The routes each role may call are the HTTP layer's table; the order of roles is here.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::change::{ChangeEvent, ComponentType, Event, EventType, rfc3339};
use crate::flag::Id;
use crate::mutation::Origin;
use crate::webhook::signature::to_hex;

/// What every token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "bnt_";
const MAX_NAME_LENGTH: usize = 100;

crate::named! {
    /// A token's role. Each includes everything the ones before it may do.
    pub enum Role {
        /// Evaluation (Flagr's and OFREP) and exposure recording: the key an application ships with.
        Evaluator => "evaluator",
        /// Reads everything but secrets: flags, history, the change log and stream, webhooks
        /// and their deliveries.
        Viewer => "viewer",
        /// Changes flags and their parts, promotes them, and manages its environments' webhooks.
        Editor => "editor",
        /// Everything, tokens and environments included.
        Admin => "admin",
    }
}

impl Role {
    /// Whether this role may do what `needed` may.
    pub fn includes(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }

    fn rank(self) -> usize {
        Role::ALL.iter().position(|role| *role == self).unwrap_or(0)
    }
}

/// The environments a token may act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Environment keys.
    Only(Vec<String>),
}

impl Scope {
    pub fn covers(&self, environment_key: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(keys) => keys.iter().any(|key| key == environment_key),
        }
    }
}

/// A stored token: everything but its secret, which is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: Id,
    /// Unique among live tokens; the actor of every change made with the token.
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Why a presented token does not authenticate a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    Revoked(OffsetDateTime),
    Expired(OffsetDateTime),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Revoked(at) => write!(f, "this token was revoked at {}", rfc3339(*at)),
            Unusable::Expired(at) => write!(f, "this token expired at {}", rfc3339(*at)),
        }
    }
}

/// The API's (and the change log's) view of a token: never its secret or hash.
#[derive(Debug, Serialize)]
pub struct TokenJson<'a> {
    pub id: Id,
    pub name: &'a str,
    pub role: Role,
    /// `null` for every environment.
    pub environments: Option<&'a [String]>,
    #[serde(rename = "createdBy")]
    pub created_by: &'a str,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "expiresAt")]
    pub expires_at: Option<String>,
    #[serde(rename = "lastUsedAt")]
    pub last_used_at: Option<String>,
    #[serde(rename = "revokedAt")]
    pub revoked_at: Option<String>,
}

impl Token {
    /// Whether the token authenticates a request made at `now`.
    pub fn usable_at(&self, now: OffsetDateTime) -> Result<(), Unusable> {
        if let Some(at) = self.revoked_at {
            return Err(Unusable::Revoked(at));
        }
        match self.expires_at {
            Some(at) if at <= now => Err(Unusable::Expired(at)),
            _ => Ok(()),
        }
    }

    pub fn json(&self) -> TokenJson<'_> {
        TokenJson {
            id: self.id,
            name: &self.name,
            role: self.role,
            environments: match &self.scope {
                Scope::All => None,
                Scope::Only(keys) => Some(keys),
            },
            created_by: &self.created_by,
            created_at: rfc3339(self.created_at),
            expires_at: self.expires_at.map(rfc3339),
            last_used_at: self.last_used_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
        }
    }

    /// The change event recording `event` on this token, `before` it where it existed. Tokens
    /// belong to no environment; their changes are recorded in `environment_id` (the default).
    pub fn change_event(
        &self,
        event: EventType,
        before: Option<&Token>,
        environment_id: Id,
        seq: i64,
        origin: &Origin,
    ) -> ChangeEvent {
        // `last_used_at` is bookkeeping, not configuration: the log shows the token without it.
        let text = |token: &Token| {
            let token = Token {
                last_used_at: None,
                ..token.clone()
            };
            serde_json::to_string(&token.json()).unwrap_or_default()
        };
        ChangeEvent {
            seq,
            event_id: origin.event_id.clone(),
            occurred_at: origin.at,
            actor: origin.actor.clone(),
            environment_id,
            flag_id: None,
            flag_key: None,
            events: vec![Event::new(event, ComponentType::Token, Some(self.id), Some(&self.name))],
            previous: before.map(text),
            current: Some(text(self)),
        }
    }
}

/// What a new token is given; its secret is made by the caller and only its hash stored.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub expires_at: Option<OffsetDateTime>,
}

/// Checks a new token's fields at `now`.
pub fn check_new_token(token: &NewToken, now: OffsetDateTime) -> Result<(), String> {
    let name = token.name.trim();
    if name.is_empty() {
        return Err("a token needs a name (who or what uses it, such as \"ci-deploy\")".into());
    }
    if name.len() != token.name.len() {
        return Err(format!("token name {:?} must not start or end with spaces", token.name));
    }
    if token.name.chars().count() > MAX_NAME_LENGTH {
        return Err(format!("a token name is at most {MAX_NAME_LENGTH} characters"));
    }
    if token.name.chars().any(char::is_control) {
        return Err("a token name must not contain control characters".into());
    }
    if let Scope::Only(keys) = &token.scope
        && keys.is_empty()
    {
        return Err(
            "environments is empty: list the environment keys the token may act in, or leave it out for every \
             environment"
                .into(),
        );
    }
    if let Some(at) = token.expires_at
        && at <= now
    {
        return Err(format!("expiresAt {} is not in the future", rfc3339(at)));
    }
    Ok(())
}

/// Whether `presented` has the shape of a token (so a Flagr JWT in the same header is not one).
pub fn looks_like_token(presented: &str) -> bool {
    presented.starts_with(TOKEN_PREFIX)
}

/// A token's secret from 32 random bytes: the prefix, then the bytes in base64url.
pub fn token_secret(random: &[u8; 32]) -> String {
    use base64::Engine;
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    )
}

/// What the server keeps of a token: SHA-256 of its secret, in hex. A slow hash would add
/// nothing: the secret has 256 random bits.
pub fn token_hash(secret: &str) -> String {
    to_hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn token() -> Token {
        Token {
            id: 1,
            name: "ci".into(),
            role: Role::Editor,
            scope: Scope::Only(vec!["staging".into()]),
            created_by: "admin".into(),
            created_at: datetime!(2026-01-01 0:00 UTC),
            expires_at: Some(datetime!(2026-02-01 0:00 UTC)),
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn each_role_includes_the_ones_before_it() {
        assert!(Role::Admin.includes(Role::Editor));
        assert!(Role::Editor.includes(Role::Viewer));
        assert!(Role::Viewer.includes(Role::Evaluator));
        assert!(Role::Viewer.includes(Role::Viewer));
        assert!(!Role::Evaluator.includes(Role::Viewer));
        assert!(!Role::Editor.includes(Role::Admin));
    }

    #[test]
    fn a_token_is_usable_until_it_expires_or_is_revoked() {
        let mut token = token();
        assert_eq!(token.usable_at(datetime!(2026-01-15 0:00 UTC)), Ok(()));
        assert_eq!(
            token.usable_at(datetime!(2026-02-01 0:00 UTC)),
            Err(Unusable::Expired(datetime!(2026-02-01 0:00 UTC)))
        );
        token.revoked_at = Some(datetime!(2026-01-10 0:00 UTC));
        let refused = token.usable_at(datetime!(2026-01-15 0:00 UTC)).unwrap_err();
        assert_eq!(refused.to_string(), "this token was revoked at 2026-01-10T00:00:00Z");
    }

    #[test]
    fn scopes_cover_their_environments() {
        assert!(Scope::All.covers("production"));
        assert!(token().scope.covers("staging"));
        assert!(!token().scope.covers("production"));
    }

    #[test]
    fn secrets_are_prefixed_and_only_their_hash_is_kept() {
        let secret = token_secret(&[7; 32]);
        assert!(looks_like_token(&secret));
        assert_eq!(secret.len(), TOKEN_PREFIX.len() + 43);
        let hash = token_hash(&secret);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&secret[TOKEN_PREFIX.len()..]));
        assert_ne!(token_hash(&token_secret(&[8; 32])), hash);
    }

    #[test]
    fn new_tokens_are_checked() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let new = |name: &str, scope: Scope, expires_at| NewToken {
            name: name.into(),
            role: Role::Viewer,
            scope,
            expires_at,
        };
        assert_eq!(check_new_token(&new("ci", Scope::All, None), now), Ok(()));
        assert!(
            check_new_token(&new("", Scope::All, None), now)
                .unwrap_err()
                .contains("needs a name")
        );
        assert!(check_new_token(&new(" ci", Scope::All, None), now).is_err());
        assert!(check_new_token(&new("a\u{0}b", Scope::All, None), now).is_err());
        assert!(check_new_token(&new(&"x".repeat(101), Scope::All, None), now).is_err());
        assert!(
            check_new_token(&new("ci", Scope::Only(vec![]), None), now)
                .unwrap_err()
                .contains("environments is empty")
        );
        assert!(
            check_new_token(&new("ci", Scope::All, Some(now)), now)
                .unwrap_err()
                .contains("not in the future")
        );
    }

    #[test]
    fn the_change_log_never_holds_the_last_use() {
        let mut token = token();
        token.last_used_at = Some(datetime!(2026-01-02 0:00 UTC));
        let origin = Origin {
            actor: "admin".into(),
            at: datetime!(2026-01-03 0:00 UTC),
            event_id: "e".into(),
            random_key: String::new(),
        };
        let change = token.change_event(EventType::TokenCreated, None, 1, 5, &origin);
        let current: serde_json::Value = serde_json::from_str(change.current.as_deref().unwrap()).unwrap();
        assert_eq!(current["lastUsedAt"], serde_json::Value::Null);
        assert_eq!(current["environments"], serde_json::json!(["staging"]));
        assert_eq!(change.events[0].component.key.as_deref(), Some("ci"));
    }
}
