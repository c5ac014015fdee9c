//! Settings: Flagr's `FLAGR_*` variables where Flagr has the setting (so Bunting is a drop-in),
//! `BUNTING_*` for our own. Read once at start-up, validated, then passed explicitly.
//! `docs/configuration.md` lists every setting; keep the two in step.

use std::net::IpAddr;

use anyhow::{Context, bail};
use bunting_store::DatabaseUrl;

/// Who made a change, taken from the identity sources Flagr supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityConfig {
    /// `FLAGR_HEADER_AUTH_ENABLED` with `FLAGR_HEADER_AUTH_USER_FIELD`: the header naming the user.
    pub user_header: Option<String>,
    /// `FLAGR_COOKIE_AUTH_ENABLED`: the cookie holding a JWT and the claim naming the user
    /// (read without verification, as Flagr does: an upstream proxy vouches for it).
    pub user_cookie: Option<(String, String)>,
    /// `FLAGR_BASIC_AUTH_ENABLED`: HTTP basic auth, enforced; the user name is the actor.
    pub basic_auth: Option<BasicAuth>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
    /// Path prefixes served without credentials.
    pub whitelist_paths: Vec<String>,
    /// Paths served without credentials when matched exactly.
    pub exact_whitelist_paths: Vec<String>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub database: DatabaseUrl,
    /// `FLAGR_WEB_PREFIX`: a path prefix for everything served, e.g. `/flagr`.
    pub web_prefix: String,
    pub identity: IdentityConfig,
    /// `BUNTING_MAX_BODY_BYTES`: the largest request body accepted.
    pub max_body_bytes: usize,
}

impl Config {
    /// A configuration for tests and embedding: SQLite at `database`, port 0, defaults elsewhere.
    pub fn for_database(database: DatabaseUrl) -> Config {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            database,
            web_prefix: String::new(),
            identity: IdentityConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Reads the configuration from variables looked up by `var` (the process environment in
    /// `main`, a map in tests).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let flag = |name: &str, default: bool| -> anyhow::Result<bool> {
            match get(name) {
                None => Ok(default),
                Some(value) => parse_bool(&value)
                    .with_context(|| format!("{name} must be true or false, not {value:?}")),
            }
        };
        let host = match get("HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(host) if host == "localhost" => IpAddr::from([127, 0, 0, 1]),
            Some(host) => host
                .parse()
                .with_context(|| format!("HOST must be an IP address, not {host:?}"))?,
        };
        let port = match get("PORT") {
            None => DEFAULT_PORT,
            Some(port) => port
                .parse()
                .with_context(|| format!("PORT must be a port number, not {port:?}"))?,
        };
        let driver = get("FLAGR_DB_DBDRIVER").unwrap_or_else(|| "sqlite3".to_owned());
        let connection = get("FLAGR_DB_DBCONNECTIONSTR");
        let database = match driver.as_str() {
            "sqlite3" | "sqlite" => {
                DatabaseUrl::Sqlite(connection.unwrap_or_else(|| "bunting.sqlite".to_owned()))
            }
            "postgres" | "postgresql" => {
                let url = connection.context("FLAGR_DB_DBCONNECTIONSTR must hold a postgres:// URL when FLAGR_DB_DBDRIVER=postgres")?;
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    bail!(
                        "FLAGR_DB_DBCONNECTIONSTR must be a postgres:// URL when FLAGR_DB_DBDRIVER=postgres"
                    );
                }
                DatabaseUrl::Postgres(url)
            }
            other => bail!(
                "FLAGR_DB_DBDRIVER={other} is not supported; use sqlite3 (the default) or postgres"
            ),
        };
        let mut web_prefix = get("FLAGR_WEB_PREFIX")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        if !web_prefix.is_empty() && !web_prefix.starts_with('/') {
            web_prefix.insert(0, '/');
        }
        if flag("FLAGR_JWT_AUTH_ENABLED", false)? {
            bail!(
                "FLAGR_JWT_AUTH_ENABLED is not supported yet; Bunting refuses to start rather than serve without the protection you asked for"
            );
        }
        let identity = IdentityConfig {
            user_header: flag("FLAGR_HEADER_AUTH_ENABLED", false)?.then(|| {
                get("FLAGR_HEADER_AUTH_USER_FIELD").unwrap_or_else(|| "X-Email".to_owned())
            }),
            user_cookie: flag("FLAGR_COOKIE_AUTH_ENABLED", false)?.then(|| {
                (
                    get("FLAGR_COOKIE_AUTH_USER_FIELD")
                        .unwrap_or_else(|| "CF_Authorization".to_owned()),
                    get("FLAGR_COOKIE_AUTH_USER_FIELD_JWT_CLAIM")
                        .unwrap_or_else(|| "email".to_owned()),
                )
            }),
            basic_auth: if flag("FLAGR_BASIC_AUTH_ENABLED", false)? {
                Some(BasicAuth {
                    username: get("FLAGR_BASIC_AUTH_USERNAME")
                        .context("FLAGR_BASIC_AUTH_USERNAME is required with basic auth")?,
                    password: get("FLAGR_BASIC_AUTH_PASSWORD")
                        .context("FLAGR_BASIC_AUTH_PASSWORD is required with basic auth")?,
                    whitelist_paths: list(
                        get("FLAGR_BASIC_AUTH_WHITELIST_PATHS")
                            .as_deref()
                            .unwrap_or(
                                "/api/v1/health,/api/v1/flags,/api/v1/evaluation,/api/v1/exposures",
                            ),
                    ),
                    exact_whitelist_paths: list(
                        get("FLAGR_BASIC_AUTH_EXACT_WHITELIST_PATHS")
                            .as_deref()
                            .unwrap_or(""),
                    ),
                })
            } else {
                None
            },
        };
        let max_body_bytes = match get("BUNTING_MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(value) => value.parse().with_context(|| {
                format!("BUNTING_MAX_BODY_BYTES must be a byte count, not {value:?}")
            })?,
        };
        Ok(Config {
            host,
            port,
            database,
            web_prefix,
            identity,
            max_body_bytes,
        })
    }
}

/// Flagr's documented port.
pub const DEFAULT_PORT: u16 = 18000;
/// Flag documents are small; 1 MiB leaves room for large attachments and batch requests.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_env(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_are_sqlite_on_localhost_18000() {
        let config = config(&[]).unwrap();
        assert_eq!(config.port, 18000);
        assert_eq!(config.host, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(
            config.database,
            DatabaseUrl::Sqlite("bunting.sqlite".into())
        );
        assert_eq!(config.identity, IdentityConfig::default());
    }

    #[test]
    fn postgres_needs_a_postgres_url() {
        assert!(config(&[("FLAGR_DB_DBDRIVER", "postgres")]).is_err());
        assert!(
            config(&[
                ("FLAGR_DB_DBDRIVER", "postgres"),
                ("FLAGR_DB_DBCONNECTIONSTR", "mysql://x")
            ])
            .is_err()
        );
        let ok = config(&[
            ("FLAGR_DB_DBDRIVER", "postgres"),
            ("FLAGR_DB_DBCONNECTIONSTR", "postgres://u@h/db"),
        ])
        .unwrap();
        assert_eq!(
            ok.database,
            DatabaseUrl::Postgres("postgres://u@h/db".into())
        );
    }

    #[test]
    fn bad_values_say_what_to_fix() {
        let error = config(&[("PORT", "eighty")]).unwrap_err().to_string();
        assert!(error.contains("PORT"), "{error}");
        assert!(config(&[("FLAGR_DB_DBDRIVER", "mysql")]).is_err());
        assert!(config(&[("FLAGR_JWT_AUTH_ENABLED", "true")]).is_err());
    }

    #[test]
    fn identity_sources_follow_flagr_defaults() {
        let config = config(&[
            ("FLAGR_HEADER_AUTH_ENABLED", "true"),
            ("FLAGR_WEB_PREFIX", "flagr/"),
        ])
        .unwrap();
        assert_eq!(config.identity.user_header.as_deref(), Some("X-Email"));
        assert_eq!(config.web_prefix, "/flagr");
    }
}
