//! Settings: Flagr's `FLAGR_*` variables where Flagr has the setting (so Bunting is a drop-in),
//! `BUNTING_*` for our own. Read once at start-up, validated, then passed explicitly.
//! `docs/configuration.md` lists every setting; keep the two in step.
//!
//! A leaf: the settings are plain types that `http`, `evaluation` and `delivery` consume, so
//! this module imports nothing from them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use bunting_core::secret::Secret;
use bunting_core::token::Role;
use bunting_core::webhook::retry::{RetrySchedule, parse_duration};
use bunting_store::dsn::{self, DsnError};
use bunting_store::{DatabaseUrl, SecretKey};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::VerifyingKey;
use rsa::pkcs8::DecodePublicKey;
use sha2::Sha256;

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
    /// `FLAGR_JWT_AUTH_ENABLED`: tokens required and verified; their user claim is the actor.
    pub jwt: Option<JwtAuth>,
}

/// The signing algorithms Bunting verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Hs256,
    Hs512,
    /// The secret is a PEM public key.
    Rs256,
}

impl JwtAlgorithm {
    /// The name a token's `alg` header gives it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Hs512 => "HS512",
            JwtAlgorithm::Rs256 => "RS256",
        }
    }
}

/// `FLAGR_JWT_AUTH_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAuth {
    pub secret: Secret,
    pub algorithm: JwtAlgorithm,
    /// `_COOKIE_TOKEN_NAME`: the cookie read before the `Authorization` header.
    pub cookie_name: String,
    /// `_WHITELIST_PATHS`: path prefixes served without a token.
    pub whitelist_paths: Vec<String>,
    /// `_EXACT_WHITELIST_PATHS`: paths served without a token when matched exactly (in Flagr,
    /// only when refusing with 401).
    pub exact_whitelist_paths: Vec<String>,
    /// `_NO_TOKEN_STATUS_CODE`: 307 redirects to `redirect_url`; 401 refuses.
    pub no_token_status: u16,
    /// `_NO_TOKEN_REDIRECT_URL`.
    pub redirect_url: String,
    /// `_USER_CLAIM`: the claim naming the user.
    pub user_claim: String,
}

/// The RS256 verifying key in `pem`: a public key as `PUBLIC KEY` (SubjectPublicKeyInfo) or
/// `RSA PUBLIC KEY` (PKCS #1), the two forms Flagr reads. Line breaks written as `\n` (a key
/// put on one line of an environment file) are read as line breaks. Start-up checks the
/// setting with it; the JWT middleware reads the key it verifies with through it.
pub(crate) fn rsa_public_key(pem: &str) -> Result<VerifyingKey<Sha256>, String> {
    let pem = pem.trim().replace("\\n", "\n");
    let key = rsa::PublicKey::from_public_key_pem(&pem)
        .or_else(|_| rsa::PublicKey::from_pkcs1_pem(&pem))
        .map_err(|error| format!("not a PEM RSA public key ({error})"))?;
    Ok(VerifyingKey::new(key))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: Secret,
    /// Path prefixes served without credentials.
    pub whitelist_paths: Vec<String>,
    /// Paths served without credentials when matched exactly.
    pub exact_whitelist_paths: Vec<String>,
}

/// How webhook deliveries are made.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `BUNTING_WEBHOOK_RETRY_SCHEDULE`: the waits before each attempt.
    pub retry_schedule: RetrySchedule,
    /// `BUNTING_WEBHOOK_CONCURRENCY`: deliveries in flight at once, over all webhooks.
    pub concurrency: usize,
    /// `BUNTING_WEBHOOK_CONCURRENCY_PER_WEBHOOK`: deliveries in flight to one webhook, so one
    /// slow receiver cannot take every slot.
    pub concurrency_per_webhook: usize,
    /// `BUNTING_WEBHOOK_DENY_PRIVATE`: also refuse loopback and private addresses.
    pub deny_private: bool,
    /// `BUNTING_WEBHOOK_RETENTION`: how long finished deliveries stay in the log.
    pub retention: Duration,
    /// `BUNTING_WEBHOOK_SECRET_OVERLAP`: how long a rotated-out secret keeps signing.
    pub secret_overlap: Duration,
    /// `BUNTING_WEBHOOK_POLL_INTERVAL`: how often the dispatcher looks for due deliveries it was
    /// not told about (retries coming due, other instances' changes).
    pub poll_interval: Duration,
    /// `BUNTING_WEBHOOK_DISABLE_AFTER`: a webhook whose every attempt has failed for this long
    /// is disabled.
    pub disable_after: Duration,
    /// Flagr's single legacy notification webhook (`FLAGR_NOTIFICATION_*`).
    pub legacy: Option<LegacyNotification>,
    /// `BUNTING_PUBLIC_URL`: where users reach the UI, for links in Slack messages.
    pub public_url: Option<String>,
}

/// `FLAGR_NOTIFICATION_WEBHOOK_*`: Flagr's notifier, kept working on the durable machinery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyNotification {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub timeout_seconds: u32,
    pub detailed: bool,
    pub retry_schedule: RetrySchedule,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            retry_schedule: RetrySchedule::default(),
            concurrency: 64,
            concurrency_per_webhook: 16,
            deny_private: false,
            retention: Duration::from_secs(30 * 24 * 3600),
            secret_overlap: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(1),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            legacy: None,
            public_url: None,
        }
    }
}

/// Where flags live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A database (`sqlite3` or `postgres`): flags are managed through the API.
    Database(DatabaseUrl),
    /// Eval-only mode, `FLAGR_DB_DBDRIVER=json_file`: flags in Flagr's eval-cache JSON format,
    /// read from this file and re-read every refresh interval.
    JsonFile(PathBuf),
    /// Eval-only mode, `FLAGR_DB_DBDRIVER=json_http`: the same format fetched from this URL.
    JsonHttp(String),
}

/// Where the key that seals webhook secrets at rest comes from.
#[derive(Debug, Clone)]
pub enum SecretKeySource {
    /// `BUNTING_SECRET_KEY`: the key itself, standard base64 of 32 bytes.
    Key(SecretKey),
    /// `BUNTING_SECRET_KEY_FILE`: a file holding the key the same way.
    File(PathBuf),
}

/// `FLAGR_CORS_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSettings {
    /// `FLAGR_CORS_ALLOWED_ORIGINS`; `*` allows any origin.
    pub allowed_origins: Vec<String>,
    /// `FLAGR_CORS_ALLOWED_HEADERS`.
    pub allowed_headers: Vec<String>,
    /// `FLAGR_CORS_ALLOWED_METHODS`.
    pub allowed_methods: Vec<String>,
    /// `FLAGR_CORS_EXPOSED_HEADERS`.
    pub exposed_headers: Vec<String>,
    /// `FLAGR_CORS_ALLOW_CREDENTIALS`.
    pub allow_credentials: bool,
    /// `FLAGR_CORS_MAX_AGE`, in seconds.
    pub max_age: u64,
}

impl Default for CorsSettings {
    fn default() -> CorsSettings {
        let list = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
        CorsSettings {
            allowed_origins: list(&["*"]),
            allowed_headers: list(&[
                "Origin",
                "Accept",
                "Content-Type",
                "X-Requested-With",
                "Authorization",
                "Time_Zone",
            ]),
            allowed_methods: list(&["GET", "POST", "PUT", "DELETE", "PATCH"]),
            exposed_headers: list(&["WWW-Authenticate"]),
            allow_credentials: true,
            max_age: 600,
        }
    }
}

/// `FLAGR_INJECTED_CONTEXT_*`: which headers become context keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InjectedContext {
    /// `FLAGR_INJECTED_CONTEXT_HTTP_HEADERS`: header names, matched case-insensitively.
    pub headers: Vec<String>,
    /// `FLAGR_INJECTED_CONTEXT_HTTP_HEADER_PREFIXES`: headers starting with any of these.
    pub header_prefixes: Vec<String>,
}

/// How evaluation behaves.
#[derive(Debug, Clone)]
pub struct EvalSettings {
    /// `FLAGR_EVAL_DEBUG_ENABLED`: whether `enableDebug` requests get segment debug logs.
    pub debug_enabled: bool,
    /// `FLAGR_EVAL_BATCH_SIZE`: the most evaluations one batch request may ask for; 0 is no limit.
    pub batch_size: usize,
    /// `FLAGR_EVAL_GET_MAX_URL_BYTES`: the longest query a GET evaluation accepts; 0 is no limit.
    pub get_max_url_bytes: usize,
    /// `FLAGR_EVALCACHE_REFRESHINTERVAL`: how often changes made elsewhere (other instances, the
    /// flag file) are picked up. This instance's own changes are visible at once.
    pub refresh_interval: Duration,
    /// `BUNTING_EVALCACHE_LISTEN`: on PostgreSQL, whether other instances' changes are picked up
    /// as soon as the database announces them (LISTEN/NOTIFY) rather than at the next refresh.
    pub listen: bool,
    /// `FLAGR_EVALCACHE_REFRESHTIMEOUT`: the longest a refresh may take (a `json_http` fetch).
    pub refresh_timeout: Duration,
    /// `FLAGR_INJECTED_CONTEXT_ENABLED`: the built-in context keys, when on.
    pub injected_context: Option<InjectedContext>,
    /// `FLAGR_EXPOSURE_BATCH_SIZE`: the most rows one `POST /exposures` may carry.
    pub exposure_batch_size: usize,
}

impl Default for EvalSettings {
    fn default() -> EvalSettings {
        EvalSettings {
            debug_enabled: true,
            batch_size: 0,
            get_max_url_bytes: 8192,
            refresh_interval: Duration::from_secs(1),
            listen: true,
            refresh_timeout: Duration::from_secs(59),
            injected_context: None,
            exposure_batch_size: 100,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub storage: Storage,
    /// `FLAGR_WEB_PREFIX`: a path prefix for everything served, e.g. `/flagr`.
    pub web_prefix: String,
    /// `FLAGR_UI_ENABLED`: serve the web UI at the root (under the prefix).
    pub ui_enabled: bool,
    /// `FLAGR_CORS_*`; `None` when `FLAGR_CORS_ENABLED=false`.
    pub cors: Option<CorsSettings>,
    pub identity: IdentityConfig,
    /// `BUNTING_MAX_BODY_BYTES`: the largest request body accepted.
    pub max_body_bytes: usize,
    /// `BUNTING_SECRET_KEY` or `BUNTING_SECRET_KEY_FILE`; `None` for neither (a key is then
    /// generated beside a SQLite database, and PostgreSQL is refused; see `secret_key`).
    pub secret_key: Option<SecretKeySource>,
    /// `BUNTING_DEFAULT_ENVIRONMENT`: the key the default environment gets on a new database
    /// (`production` when unset); a database that already has changes keeps its own.
    pub default_environment: Option<String>,
    /// `BUNTING_EVAL_ONLY_ENVIRONMENT`: in eval-only mode, the key of the one environment the
    /// flag file holds ([`DEFAULT_EVAL_ONLY_ENVIRONMENT`] when unset), served at the unprefixed
    /// routes and at `/environments/{key}/`. Unused with a database.
    pub eval_only_environment: Option<String>,
    /// `BUNTING_EVAL_ONLY_TOKEN`: with `json_http`, sent as `Authorization: Bearer` when fetching
    /// the flags, for a source Bunting with `BUNTING_AUTH=tokens` (a viewer token will do).
    pub eval_only_token: Option<Secret>,
    pub webhooks: WebhookSettings,
    pub evaluation: EvalSettings,
    /// `FLAGR_PROMETHEUS_*`; `None` unless `FLAGR_PROMETHEUS_ENABLED=true`.
    pub prometheus: Option<PrometheusSettings>,
    /// `BUNTING_STREAM_*`: the live change stream.
    pub stream: StreamSettings,
    /// `BUNTING_AUTH=tokens`: API tokens with roles; `None` when off.
    pub auth: Option<AuthSettings>,
}

/// Who may do what when `BUNTING_AUTH=tokens` (see `docs/security.md`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `BUNTING_AUTH_IDENTITY_ROLE`: the role of a user Flagr's identity sources vouch for (JWT,
    /// basic auth, header, cookie) who presents no token; `None` (`none`) for no role.
    pub identity_role: Option<Role>,
    /// `BUNTING_AUTH_ANONYMOUS_ROLE`: the role of a request with neither, such as `evaluator`
    /// to leave evaluation open; `None` (`none`, the default) answers it 401.
    pub anonymous_role: Option<Role>,
    /// `BUNTING_BOOTSTRAP_ADMIN_TOKEN`: an admin token created at start-up unless one with this
    /// secret exists, for a first deployment without the CLI.
    pub bootstrap_admin_token: Option<Secret>,
}

/// How `GET /api/v1/changes/stream` treats its connections.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// `BUNTING_STREAM_HEARTBEAT`: how long a quiet stream waits before a comment line, so
    /// proxies keep the connection.
    pub heartbeat: Duration,
    /// `BUNTING_STREAM_MAX_LAG`: how many changes a stream may fall behind the change log...
    pub max_lag: i64,
    /// `BUNTING_STREAM_MAX_BEHIND`: ...for longer than this before it is cut off with its
    /// resume point.
    pub max_behind: Duration,
}

impl Default for StreamSettings {
    fn default() -> StreamSettings {
        StreamSettings {
            heartbeat: Duration::from_secs(15),
            max_lag: 10_000,
            max_behind: Duration::from_secs(30),
        }
    }
}

/// Where and how the Prometheus metrics are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusSettings {
    /// `FLAGR_PROMETHEUS_PATH`: the scrape path, at the root (outside `FLAGR_WEB_PREFIX`).
    pub path: String,
    /// `FLAGR_PROMETHEUS_INCLUDE_LATENCY_HISTOGRAM`: also time requests.
    pub latency_histogram: bool,
}

/// How the server logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `RUST_LOG` when set, else Flagr's `FLAGR_LOGRUS_LEVEL` (`info` by default).
    pub filter: String,
    /// `FLAGR_LOGRUS_FORMAT=json`: one JSON object per line instead of text.
    pub json: bool,
}

impl LogSettings {
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<LogSettings> {
        let env = Env(&var);
        let filter = match (env.get("RUST_LOG"), env.get("FLAGR_LOGRUS_LEVEL")) {
            (Some(filter), _) => filter,
            (None, None) => "info".to_owned(),
            (None, Some(level)) => match level.to_ascii_lowercase().as_str() {
                "panic" | "fatal" | "error" => "error",
                "warn" | "warning" => "warn",
                "info" => "info",
                "debug" => "debug",
                "trace" => "trace",
                _ => bail!("FLAGR_LOGRUS_LEVEL={level} is not a level; use error, warn, info, debug or trace"),
            }
            .to_owned(),
        };
        let json = match env.get("FLAGR_LOGRUS_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => bail!("FLAGR_LOGRUS_FORMAT={other} is not a format; use text or json"),
        };
        Ok(LogSettings { filter, json })
    }
}

/// The environment eval-only mode serves unless `BUNTING_EVAL_ONLY_ENVIRONMENT` names another:
/// the default environment's key on a new database.
pub const DEFAULT_EVAL_ONLY_ENVIRONMENT: &str = "production";

/// Flagr's documented port.
pub const DEFAULT_PORT: u16 = 18000;
/// Flag documents are small; 1 MiB leaves room for large attachments and batch requests.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

impl Config {
    /// A configuration for tests and embedding: the given database, port 0, defaults elsewhere.
    pub fn for_database(database: DatabaseUrl) -> Config {
        Config::for_storage(Storage::Database(database))
    }

    /// A configuration for tests and embedding: the given storage, port 0, defaults elsewhere.
    pub fn for_storage(storage: Storage) -> Config {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            storage,
            web_prefix: String::new(),
            ui_enabled: true,
            cors: Some(CorsSettings::default()),
            identity: IdentityConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            secret_key: None,
            default_environment: None,
            eval_only_environment: None,
            eval_only_token: None,
            webhooks: WebhookSettings::default(),
            evaluation: EvalSettings::default(),
            prometheus: None,
            stream: StreamSettings::default(),
            auth: None,
        }
    }

    /// Reads the configuration from variables looked up by `var` (the process environment in
    /// `main`, a map in tests).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let env = Env(&var);
        let host = match env.get("HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(host) if host == "localhost" => IpAddr::from([127, 0, 0, 1]),
            Some(host) => host
                .parse()
                .with_context(|| format!("HOST must be an IP address, not {host:?}"))?,
        };
        let mut web_prefix = env
            .get("FLAGR_WEB_PREFIX")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        if !web_prefix.is_empty() && !web_prefix.starts_with('/') {
            web_prefix.insert(0, '/');
        }
        let prometheus = prometheus(&env)?;
        if let Some(settings) = &prometheus
            && (settings.path == "/" || settings.path.starts_with(&format!("{web_prefix}/api/")))
        {
            bail!(
                "FLAGR_PROMETHEUS_PATH={} would hide the UI or API; choose a path of its own, such as /metrics",
                settings.path
            );
        }
        Ok(Config {
            host,
            port: env.parse("PORT", DEFAULT_PORT, "a port number")?,
            storage: storage(&env)?,
            web_prefix,
            ui_enabled: env.bool("FLAGR_UI_ENABLED", true)?,
            cors: cors(&env)?,
            identity: identity(&env)?,
            max_body_bytes: env.parse("BUNTING_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, "a byte count")?,
            secret_key: secret_key(&env)?,
            default_environment: environment_key(&env, "BUNTING_DEFAULT_ENVIRONMENT")?,
            eval_only_environment: environment_key(&env, "BUNTING_EVAL_ONLY_ENVIRONMENT")?,
            eval_only_token: env
                .get("BUNTING_EVAL_ONLY_TOKEN")
                .map(|token| Secret::new(token.trim())),
            webhooks: webhooks(&env)?,
            evaluation: evaluation(&env)?,
            prometheus,
            stream: stream(&env)?,
            auth: auth(&env)?,
        })
        .and_then(Config::checked)
    }

    /// Refuses settings that cannot work together.
    fn checked(self) -> anyhow::Result<Config> {
        if self.eval_only_token.is_some() && !matches!(self.storage, Storage::JsonHttp(_)) {
            bail!(
                "BUNTING_EVAL_ONLY_TOKEN is for fetching flags over HTTP (FLAGR_DB_DBDRIVER=json_http); this server \
                 does not fetch them"
            );
        }
        if self.auth.is_some() && !matches!(self.storage, Storage::Database(_)) {
            bail!(
                "BUNTING_AUTH=tokens needs a database to keep tokens in; eval-only mode (json_file, json_http) has \
                 none: put the eval-only instance behind your own gateway instead"
            );
        }
        Ok(self)
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            identity_role: Some(Role::Viewer),
            anonymous_role: None,
            bootstrap_admin_token: None,
        }
    }
}

fn auth(env: &Env<'_>) -> anyhow::Result<Option<AuthSettings>> {
    let mode = env.get("BUNTING_AUTH").unwrap_or_else(|| "none".into());
    let role = |name: &str, default: Option<Role>| -> anyhow::Result<Option<Role>> {
        match env.get(name).map(|value| value.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(value) if value == "none" => Ok(None),
            Some(value) => Role::from_name(&value).map(Some).with_context(|| {
                format!("{name} must be one of none, evaluator, viewer, editor, admin; not {value:?}")
            }),
        }
    };
    match mode.trim().to_ascii_lowercase().as_str() {
        "none" => {
            for name in [
                "BUNTING_AUTH_IDENTITY_ROLE",
                "BUNTING_AUTH_ANONYMOUS_ROLE",
                "BUNTING_BOOTSTRAP_ADMIN_TOKEN",
            ] {
                if env.get(name).is_some() {
                    bail!("{name} is set but BUNTING_AUTH is not: set BUNTING_AUTH=tokens to turn tokens on");
                }
            }
            Ok(None)
        }
        "tokens" => {
            let defaults = AuthSettings::default();
            let bootstrap_admin_token = env
                .get("BUNTING_BOOTSTRAP_ADMIN_TOKEN")
                .map(|secret| secret.trim().to_owned());
            if let Some(secret) = &bootstrap_admin_token
                && (!bunting_core::token::looks_like_token(secret) || secret.len() < MIN_BOOTSTRAP_TOKEN_LENGTH)
            {
                bail!(
                    "BUNTING_BOOTSTRAP_ADMIN_TOKEN must start with bnt_ and be at least {MIN_BOOTSTRAP_TOKEN_LENGTH} \
                     characters, such as bnt_ followed by the output of `openssl rand -hex 32`"
                );
            }
            Ok(Some(AuthSettings {
                identity_role: role("BUNTING_AUTH_IDENTITY_ROLE", defaults.identity_role)?,
                anonymous_role: role("BUNTING_AUTH_ANONYMOUS_ROLE", defaults.anonymous_role)?,
                bootstrap_admin_token: bootstrap_admin_token.map(Secret::new),
            }))
        }
        other => bail!("BUNTING_AUTH must be none or tokens, not {other:?}"),
    }
}

/// A bootstrap token is `bnt_` and at least 32 more characters: as much entropy as a generated one
/// has, if the operator drew it at random.
const MIN_BOOTSTRAP_TOKEN_LENGTH: usize = 36;

fn secret_key(env: &Env<'_>) -> anyhow::Result<Option<SecretKeySource>> {
    match (env.get("BUNTING_SECRET_KEY"), env.get("BUNTING_SECRET_KEY_FILE")) {
        (Some(_), Some(_)) => bail!("set BUNTING_SECRET_KEY or BUNTING_SECRET_KEY_FILE, not both"),
        (Some(key), None) => Ok(Some(SecretKeySource::Key(
            SecretKey::parse(&key).context("BUNTING_SECRET_KEY is not a usable key")?,
        ))),
        (None, Some(file)) => Ok(Some(SecretKeySource::File(PathBuf::from(file)))),
        (None, None) => Ok(None),
    }
}

/// An environment key named by variable `name`, checked as environment keys are.
fn environment_key(env: &Env<'_>, name: &str) -> anyhow::Result<Option<String>> {
    let Some(key) = env.get(name) else {
        return Ok(None);
    };
    bunting_core::environment::check_environment_key(&key).map_err(|reason| anyhow::anyhow!("{name}: {reason}"))?;
    Ok(Some(key))
}

fn stream(env: &Env<'_>) -> anyhow::Result<StreamSettings> {
    let defaults = StreamSettings::default();
    Ok(StreamSettings {
        heartbeat: env
            .duration("BUNTING_STREAM_HEARTBEAT", defaults.heartbeat)?
            .max(Duration::from_millis(100)),
        max_lag: env.parse("BUNTING_STREAM_MAX_LAG", defaults.max_lag, "a number of changes")?,
        max_behind: env.duration("BUNTING_STREAM_MAX_BEHIND", defaults.max_behind)?,
    })
}

fn prometheus(env: &Env<'_>) -> anyhow::Result<Option<PrometheusSettings>> {
    if !env.bool("FLAGR_PROMETHEUS_ENABLED", false)? {
        return Ok(None);
    }
    let path = env
        .get("FLAGR_PROMETHEUS_PATH")
        .unwrap_or_else(|| "/metrics".to_owned());
    if !path.starts_with('/') {
        bail!("FLAGR_PROMETHEUS_PATH must be a path starting with /, not {path:?}");
    }
    Ok(Some(PrometheusSettings {
        path,
        latency_histogram: env.bool("FLAGR_PROMETHEUS_INCLUDE_LATENCY_HISTOGRAM", false)?,
    }))
}

fn storage(env: &Env<'_>) -> anyhow::Result<Storage> {
    let connection = env.get("FLAGR_DB_DBCONNECTIONSTR");
    let driver = env.get("FLAGR_DB_DBDRIVER").unwrap_or_else(|| "sqlite3".to_owned());
    let storage = match driver.as_str() {
        "sqlite3" | "sqlite" => {
            Storage::Database(dsn::sqlite(connection.as_deref().unwrap_or("bunting.sqlite")).map_err(connection_error)?)
        }
        "postgres" | "postgresql" => {
            let connection = connection.context(
                "FLAGR_DB_DBCONNECTIONSTR must hold a postgres:// URL or key=value settings when FLAGR_DB_DBDRIVER=postgres",
            )?;
            Storage::Database(dsn::postgres(&connection).map_err(connection_error)?)
        }
        "mysql" => {
            let connection =
                connection.context("FLAGR_DB_DBCONNECTIONSTR must hold a MySQL DSN when FLAGR_DB_DBDRIVER=mysql")?;
            Storage::Database(DatabaseUrl::Mysql(Box::new(
                dsn::mysql(&connection).map_err(connection_error)?,
            )))
        }
        "json_file" => Storage::JsonFile(
            connection
                .context("FLAGR_DB_DBCONNECTIONSTR must name the flag file when FLAGR_DB_DBDRIVER=json_file")?
                .into(),
        ),
        "json_http" => Storage::JsonHttp(
            connection
                .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
                .context("FLAGR_DB_DBCONNECTIONSTR must hold an http(s):// URL when FLAGR_DB_DBDRIVER=json_http")?,
        ),
        other => bail!(
            "FLAGR_DB_DBDRIVER={other} is not supported; use sqlite3 (the default), postgres, mysql, json_file or json_http"
        ),
    };
    if env.bool("FLAGR_EVAL_ONLY_MODE", false)? && matches!(storage, Storage::Database(_)) {
        bail!(
            "FLAGR_EVAL_ONLY_MODE needs FLAGR_DB_DBDRIVER=json_file or json_http: a database is managed, not only read"
        );
    }
    Ok(storage)
}

fn connection_error(error: DsnError) -> anyhow::Error {
    anyhow::anyhow!("FLAGR_DB_DBCONNECTIONSTR: {error}")
}

fn jwt(env: &Env<'_>) -> anyhow::Result<Option<JwtAuth>> {
    if !env.bool("FLAGR_JWT_AUTH_ENABLED", false)? {
        return Ok(None);
    }
    let algorithm = match env.get("FLAGR_JWT_AUTH_SIGNING_METHOD").as_deref().unwrap_or("HS256") {
        "HS256" => JwtAlgorithm::Hs256,
        "HS512" => JwtAlgorithm::Hs512,
        "RS256" => JwtAlgorithm::Rs256,
        other => bail!(
            "FLAGR_JWT_AUTH_SIGNING_METHOD={other} is not supported; use HS256, HS512 or RS256 (Bunting refuses to \
             start rather than serve without the protection you asked for)"
        ),
    };
    let secret = env
        .get("FLAGR_JWT_AUTH_SECRET")
        .context("FLAGR_JWT_AUTH_SECRET is required with JWT auth")?;
    if algorithm == JwtAlgorithm::Rs256
        && let Err(problem) = rsa_public_key(&secret)
    {
        bail!("FLAGR_JWT_AUTH_SECRET must hold the PEM public key with RS256: {problem}");
    }
    let no_token_status = env.parse("FLAGR_JWT_AUTH_NO_TOKEN_STATUS_CODE", 307_u16, "307 or 401")?;
    if no_token_status != 307 && no_token_status != 401 {
        bail!("FLAGR_JWT_AUTH_NO_TOKEN_STATUS_CODE must be 307 or 401, not {no_token_status}");
    }
    Ok(Some(JwtAuth {
        secret: Secret::new(secret),
        algorithm,
        cookie_name: env
            .get("FLAGR_JWT_AUTH_COOKIE_TOKEN_NAME")
            .unwrap_or_else(|| "access_token".to_owned()),
        whitelist_paths: list(
            env.get("FLAGR_JWT_AUTH_WHITELIST_PATHS")
                .as_deref()
                .unwrap_or("/api/v1/health,/api/v1/evaluation,/api/v1/exposures,/static"),
        ),
        // Flagr's default is "" and "/", which a comma-separated list cannot spell; "/" covers both.
        exact_whitelist_paths: list(
            env.get("FLAGR_JWT_AUTH_EXACT_WHITELIST_PATHS")
                .as_deref()
                .unwrap_or("/"),
        ),
        no_token_status,
        redirect_url: env
            .get("FLAGR_JWT_AUTH_NO_TOKEN_REDIRECT_URL")
            .unwrap_or_else(|| "http://localhost:8080".to_owned()),
        user_claim: env.get("FLAGR_JWT_AUTH_USER_CLAIM").unwrap_or_else(|| "sub".to_owned()),
    }))
}

fn cors(env: &Env<'_>) -> anyhow::Result<Option<CorsSettings>> {
    if !env.bool("FLAGR_CORS_ENABLED", true)? {
        return Ok(None);
    }
    let defaults = CorsSettings::default();
    let list_or = |name: &str, default: Vec<String>| env.get(name).map_or(default, |value| list(&value));
    Ok(Some(CorsSettings {
        allowed_origins: list_or("FLAGR_CORS_ALLOWED_ORIGINS", defaults.allowed_origins),
        allowed_headers: list_or("FLAGR_CORS_ALLOWED_HEADERS", defaults.allowed_headers),
        allowed_methods: list_or("FLAGR_CORS_ALLOWED_METHODS", defaults.allowed_methods),
        exposed_headers: list_or("FLAGR_CORS_EXPOSED_HEADERS", defaults.exposed_headers),
        allow_credentials: env.bool("FLAGR_CORS_ALLOW_CREDENTIALS", defaults.allow_credentials)?,
        max_age: env.parse("FLAGR_CORS_MAX_AGE", defaults.max_age, "a number of seconds")?,
    }))
}

fn evaluation(env: &Env<'_>) -> anyhow::Result<EvalSettings> {
    let defaults = EvalSettings::default();
    let injected_context = env
        .bool("FLAGR_INJECTED_CONTEXT_ENABLED", false)?
        .then(|| InjectedContext {
            headers: list(env.get("FLAGR_INJECTED_CONTEXT_HTTP_HEADERS").as_deref().unwrap_or("")),
            header_prefixes: list(
                env.get("FLAGR_INJECTED_CONTEXT_HTTP_HEADER_PREFIXES")
                    .as_deref()
                    .unwrap_or(""),
            ),
        });
    Ok(EvalSettings {
        debug_enabled: env.bool("FLAGR_EVAL_DEBUG_ENABLED", defaults.debug_enabled)?,
        batch_size: env.parse("FLAGR_EVAL_BATCH_SIZE", defaults.batch_size, "a number of evaluations")?,
        get_max_url_bytes: env.parse(
            "FLAGR_EVAL_GET_MAX_URL_BYTES",
            defaults.get_max_url_bytes,
            "a byte count",
        )?,
        refresh_interval: env
            .duration("FLAGR_EVALCACHE_REFRESHINTERVAL", defaults.refresh_interval)?
            .max(Duration::from_millis(10)),
        listen: env.bool("BUNTING_EVALCACHE_LISTEN", defaults.listen)?,
        refresh_timeout: env.duration("FLAGR_EVALCACHE_REFRESHTIMEOUT", defaults.refresh_timeout)?,
        injected_context,
        exposure_batch_size: match env.parse(
            "FLAGR_EXPOSURE_BATCH_SIZE",
            defaults.exposure_batch_size,
            "a row count",
        )? {
            0 => bail!("FLAGR_EXPOSURE_BATCH_SIZE must be at least 1"),
            size => size,
        },
    })
}

fn identity(env: &Env<'_>) -> anyhow::Result<IdentityConfig> {
    let basic_auth = if env.bool("FLAGR_BASIC_AUTH_ENABLED", false)? {
        Some(BasicAuth {
            username: env
                .get("FLAGR_BASIC_AUTH_USERNAME")
                .context("FLAGR_BASIC_AUTH_USERNAME is required with basic auth")?,
            password: Secret::new(
                env.get("FLAGR_BASIC_AUTH_PASSWORD")
                    .context("FLAGR_BASIC_AUTH_PASSWORD is required with basic auth")?,
            ),
            whitelist_paths: list(
                env.get("FLAGR_BASIC_AUTH_WHITELIST_PATHS")
                    .as_deref()
                    .unwrap_or("/api/v1/health,/api/v1/flags,/api/v1/evaluation,/api/v1/exposures"),
            ),
            exact_whitelist_paths: list(
                env.get("FLAGR_BASIC_AUTH_EXACT_WHITELIST_PATHS")
                    .as_deref()
                    .unwrap_or(""),
            ),
        })
    } else {
        None
    };
    Ok(IdentityConfig {
        jwt: jwt(env)?,
        user_header: env.bool("FLAGR_HEADER_AUTH_ENABLED", false)?.then(|| {
            env.get("FLAGR_HEADER_AUTH_USER_FIELD")
                .unwrap_or_else(|| "X-Email".to_owned())
        }),
        user_cookie: env.bool("FLAGR_COOKIE_AUTH_ENABLED", false)?.then(|| {
            (
                env.get("FLAGR_COOKIE_AUTH_USER_FIELD")
                    .unwrap_or_else(|| "CF_Authorization".to_owned()),
                env.get("FLAGR_COOKIE_AUTH_USER_FIELD_JWT_CLAIM")
                    .unwrap_or_else(|| "email".to_owned()),
            )
        }),
        basic_auth,
    })
}

fn webhooks(env: &Env<'_>) -> anyhow::Result<WebhookSettings> {
    let defaults = WebhookSettings::default();
    let retry_schedule = match env.get("BUNTING_WEBHOOK_RETRY_SCHEDULE") {
        None => defaults.retry_schedule,
        Some(text) => text
            .parse()
            .map_err(|error| anyhow::anyhow!("BUNTING_WEBHOOK_RETRY_SCHEDULE: {error}"))?,
    };
    let positive = |name: &str, default: usize| -> anyhow::Result<usize> {
        let value = env.parse(name, default, "a positive number")?;
        if value == 0 {
            bail!("{name} must be at least 1");
        }
        Ok(value)
    };
    Ok(WebhookSettings {
        retry_schedule,
        concurrency: positive("BUNTING_WEBHOOK_CONCURRENCY", defaults.concurrency)?,
        concurrency_per_webhook: positive(
            "BUNTING_WEBHOOK_CONCURRENCY_PER_WEBHOOK",
            defaults.concurrency_per_webhook,
        )?,
        deny_private: env.bool("BUNTING_WEBHOOK_DENY_PRIVATE", defaults.deny_private)?,
        retention: env.duration("BUNTING_WEBHOOK_RETENTION", defaults.retention)?,
        secret_overlap: env.duration("BUNTING_WEBHOOK_SECRET_OVERLAP", defaults.secret_overlap)?,
        poll_interval: env
            .duration("BUNTING_WEBHOOK_POLL_INTERVAL", defaults.poll_interval)?
            .max(Duration::from_millis(10)),
        disable_after: env.duration("BUNTING_WEBHOOK_DISABLE_AFTER", defaults.disable_after)?,
        legacy: legacy_notification(env)?,
        public_url: public_url(env)?,
    })
}

fn public_url(env: &Env<'_>) -> anyhow::Result<Option<String>> {
    let Some(url) = env.get("BUNTING_PUBLIC_URL").filter(|url| !url.trim().is_empty()) else {
        return Ok(None);
    };
    let url = url.trim().trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) || reqwest::Url::parse(&url).is_err() {
        bail!("BUNTING_PUBLIC_URL must be an http:// or https:// URL, such as https://flags.example.com, not {url:?}");
    }
    Ok(Some(url))
}

fn legacy_notification(env: &Env<'_>) -> anyhow::Result<Option<LegacyNotification>> {
    if !env.bool("FLAGR_NOTIFICATION_WEBHOOK_ENABLED", false)? {
        return Ok(None);
    }
    let Some(url) = env.get("FLAGR_NOTIFICATION_WEBHOOK_URL") else {
        // Flagr starts and drops every notification; say so instead of failing a working setup.
        tracing::warn!(
            "FLAGR_NOTIFICATION_WEBHOOK_ENABLED is set without FLAGR_NOTIFICATION_WEBHOOK_URL; no notifications will be sent"
        );
        return Ok(None);
    };
    let headers = list(env.get("FLAGR_NOTIFICATION_WEBHOOK_HEADERS").as_deref().unwrap_or(""))
        .into_iter()
        .map(|pair| {
            let (name, value) = pair
                .split_once(':')
                .with_context(|| format!("FLAGR_NOTIFICATION_WEBHOOK_HEADERS: {pair:?} is not \"Name: value\""))?;
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect::<anyhow::Result<_>>()?;
    let timeout = env.duration("FLAGR_NOTIFICATION_TIMEOUT", Duration::from_secs(10))?;
    let timeout_seconds = u32::try_from(timeout.as_secs().max(1)).unwrap_or(u32::MAX);
    Ok(Some(LegacyNotification {
        url,
        headers,
        timeout_seconds,
        detailed: env.bool("FLAGR_NOTIFICATION_DETAILED_DIFF_ENABLED", false)?,
        retry_schedule: RetrySchedule::flagr_notifier(
            env.parse("FLAGR_NOTIFICATION_MAX_RETRIES", 3, "a number of retries")?,
            env.duration("FLAGR_NOTIFICATION_RETRY_BASE", Duration::from_secs(1))?,
            env.duration("FLAGR_NOTIFICATION_RETRY_MAX", Duration::from_secs(10))?,
        ),
    }))
}

/// Typed reads of the variables; every error names the variable and what it should hold.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// A variable's value; set but blank counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    fn bool(&self, name: &str, default: bool) -> anyhow::Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => bail!("{name} must be true or false, not {value:?}"),
            },
        }
    }

    fn parse<T: FromStr>(&self, name: &str, default: T, what: &str) -> anyhow::Result<T> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .ok()
                .with_context(|| format!("{name} must be {what}, not {value:?}")),
        }
    }

    /// A duration such as `500ms`, `10s`, `5m`, `24h` or `30d`.
    fn duration(&self, name: &str, default: Duration) -> anyhow::Result<Duration> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => parse_duration(&value).map_err(|error| anyhow::anyhow!("{name}: {error}")),
        }
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
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_env(|name| vars.get(name).cloned())
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let config = config(&[
            ("FLAGR_DB_DBDRIVER", "postgres"),
            (
                "FLAGR_DB_DBCONNECTIONSTR",
                "postgres://flagr:db-pass-1@127.0.0.1:5432/flagr",
            ),
            ("FLAGR_JWT_AUTH_ENABLED", "true"),
            ("FLAGR_JWT_AUTH_SECRET", "jwt-secret-2"),
            ("FLAGR_BASIC_AUTH_ENABLED", "true"),
            ("FLAGR_BASIC_AUTH_USERNAME", "admin"),
            ("FLAGR_BASIC_AUTH_PASSWORD", "basic-pass-3"),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        for secret in ["db-pass-1", "jwt-secret-2", "basic-pass-3"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }

    #[test]
    fn defaults_are_sqlite_on_localhost_18000() {
        let config = config(&[]).unwrap();
        assert_eq!(config.port, 18000);
        assert_eq!(config.host, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(
            config.storage,
            Storage::Database(DatabaseUrl::Sqlite("bunting.sqlite".into()))
        );
        assert_eq!(config.evaluation.refresh_interval, Duration::from_secs(1));
        assert_eq!(config.evaluation.get_max_url_bytes, 8192);
        assert_eq!(config.identity, IdentityConfig::default());
        assert_eq!(config.webhooks.concurrency, 64);
        assert_eq!(config.webhooks.retry_schedule, RetrySchedule::default());
        assert_eq!(config.webhooks.legacy, None);
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
            ok.storage,
            Storage::Database(DatabaseUrl::Postgres("postgres://u@h/db".into()))
        );
    }

    #[test]
    fn postgres_takes_flagrs_key_value_form() {
        let ok = config(&[
            ("FLAGR_DB_DBDRIVER", "postgres"),
            (
                "FLAGR_DB_DBCONNECTIONSTR",
                "host=127.0.0.1 port=5432 user=flagr password=db-pass dbname=flagr sslmode=disable",
            ),
        ])
        .unwrap();
        assert_eq!(
            ok.storage,
            Storage::Database(DatabaseUrl::Postgres(
                "postgres://flagr:db-pass@127.0.0.1:5432/flagr?sslmode=disable".into()
            ))
        );
        let typo = config(&[
            ("FLAGR_DB_DBDRIVER", "postgres"),
            ("FLAGR_DB_DBCONNECTIONSTR", "host=h password=db-pass sslmod=disable"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            typo.starts_with("FLAGR_DB_DBCONNECTIONSTR: in key=value form, \"sslmod\" is not a connection setting"),
            "{typo}"
        );
        assert!(!typo.contains("db-pass"), "{typo}");
    }

    #[test]
    fn sqlite_takes_flagrs_file_uris() {
        let ok = config(&[("FLAGR_DB_DBCONNECTIONSTR", "file:/data/flagr.sqlite?cache=shared")]).unwrap();
        assert_eq!(
            ok.storage,
            Storage::Database(DatabaseUrl::Sqlite("/data/flagr.sqlite".into()))
        );
    }

    #[test]
    fn a_mysql_dsn_is_understood_and_shown_without_its_password() {
        let ok = config(&[
            ("FLAGR_DB_DBDRIVER", "mysql"),
            (
                "FLAGR_DB_DBCONNECTIONSTR",
                "root:db-pass@tcp(db:3306)/flagr?parseTime=true",
            ),
        ])
        .unwrap();
        let Storage::Database(database) = ok.storage else {
            panic!("a database: {:?}", ok.storage);
        };
        assert_eq!(database.to_string(), "MySQL database db:3306/flagr");
        assert!(!format!("{database:?}").contains("db-pass"));
        let unreadable = config(&[
            ("FLAGR_DB_DBDRIVER", "mysql"),
            ("FLAGR_DB_DBCONNECTIONSTR", "root:db-pass@tcp(db:3306/flagr"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            unreadable.contains("\"tcp(db:3306\" misses its closing parenthesis"),
            "{unreadable}"
        );
        assert!(!unreadable.contains("db-pass"), "{unreadable}");
    }

    #[test]
    fn bad_values_say_what_to_fix() {
        for (name, value) in [
            ("PORT", "eighty"),
            ("BUNTING_WEBHOOK_RETRY_SCHEDULE", "0s,5x"),
            ("BUNTING_WEBHOOK_CONCURRENCY", "0"),
            ("BUNTING_WEBHOOK_RETENTION", "forever"),
            ("BUNTING_WEBHOOK_DENY_PRIVATE", "maybe"),
            ("FLAGR_EXPOSURE_BATCH_SIZE", "0"),
            ("BUNTING_EVAL_ONLY_ENVIRONMENT", "a/b"),
        ] {
            let error = config(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{name}: {error}");
        }
        assert!(config(&[("FLAGR_DB_DBDRIVER", "mysql")]).is_err());
        assert!(
            config(&[("FLAGR_JWT_AUTH_ENABLED", "true")])
                .unwrap_err()
                .to_string()
                .contains("SECRET")
        );
        let not_a_key = config(&[
            ("FLAGR_JWT_AUTH_ENABLED", "true"),
            ("FLAGR_JWT_AUTH_SECRET", "k"),
            ("FLAGR_JWT_AUTH_SIGNING_METHOD", "RS256"),
        ]);
        assert!(not_a_key.unwrap_err().to_string().contains("PEM public key"));
        let es256 = config(&[
            ("FLAGR_JWT_AUTH_ENABLED", "true"),
            ("FLAGR_JWT_AUTH_SECRET", "k"),
            ("FLAGR_JWT_AUTH_SIGNING_METHOD", "ES256"),
        ]);
        assert!(es256.unwrap_err().to_string().contains("ES256"));
    }

    #[test]
    fn json_drivers_select_eval_only_mode() {
        let file = config(&[
            ("FLAGR_DB_DBDRIVER", "json_file"),
            ("FLAGR_DB_DBCONNECTIONSTR", "/etc/flags.json"),
        ])
        .unwrap();
        assert_eq!(file.storage, Storage::JsonFile("/etc/flags.json".into()));
        assert_eq!(
            file.eval_only_environment, None,
            "the default environment's key is used"
        );
        let named = config(&[
            ("FLAGR_DB_DBDRIVER", "json_file"),
            ("FLAGR_DB_DBCONNECTIONSTR", "/etc/flags.json"),
            ("BUNTING_EVAL_ONLY_ENVIRONMENT", "staging"),
        ])
        .unwrap();
        assert_eq!(named.eval_only_environment.as_deref(), Some("staging"));
        let url = config(&[
            ("FLAGR_DB_DBDRIVER", "json_http"),
            ("FLAGR_DB_DBCONNECTIONSTR", "https://cdn/flags.json"),
        ]);
        assert_eq!(url.unwrap().storage, Storage::JsonHttp("https://cdn/flags.json".into()));
        let with_token = config(&[
            ("FLAGR_DB_DBDRIVER", "json_http"),
            ("FLAGR_DB_DBCONNECTIONSTR", "https://cdn/flags.json"),
            ("BUNTING_EVAL_ONLY_TOKEN", "bnt_abc"),
        ]);
        assert_eq!(with_token.unwrap().eval_only_token.unwrap().expose(), "bnt_abc");
        let token_for_a_file = config(&[
            ("FLAGR_DB_DBDRIVER", "json_file"),
            ("FLAGR_DB_DBCONNECTIONSTR", "/etc/flags.json"),
            ("BUNTING_EVAL_ONLY_TOKEN", "bnt_abc"),
        ]);
        assert!(token_for_a_file.unwrap_err().to_string().contains("json_http"));
        let tokens_without_a_database = config(&[
            ("FLAGR_DB_DBDRIVER", "json_file"),
            ("FLAGR_DB_DBCONNECTIONSTR", "/etc/flags.json"),
            ("BUNTING_AUTH", "tokens"),
        ]);
        assert!(
            tokens_without_a_database
                .unwrap_err()
                .to_string()
                .contains("needs a database")
        );
        assert!(config(&[("FLAGR_DB_DBDRIVER", "json_file")]).is_err());
        assert!(
            config(&[("FLAGR_EVAL_ONLY_MODE", "true")])
                .unwrap_err()
                .to_string()
                .contains("json_file")
        );
        let injected = config(&[
            ("FLAGR_INJECTED_CONTEXT_ENABLED", "true"),
            ("FLAGR_INJECTED_CONTEXT_HTTP_HEADERS", "X-Environment,X-Tenant-ID"),
        ])
        .unwrap();
        assert_eq!(
            injected.evaluation.injected_context.unwrap().headers,
            ["X-Environment", "X-Tenant-ID"]
        );
    }

    #[test]
    fn identity_sources_follow_flagr_defaults() {
        let config = config(&[("FLAGR_HEADER_AUTH_ENABLED", "true"), ("FLAGR_WEB_PREFIX", "flagr/")]).unwrap();
        assert_eq!(config.identity.user_header.as_deref(), Some("X-Email"));
        assert_eq!(config.web_prefix, "/flagr");
    }

    #[test]
    fn prometheus_is_off_unless_turned_on() {
        assert_eq!(config(&[]).unwrap().prometheus, None);
        let on = config(&[("FLAGR_PROMETHEUS_ENABLED", "true")]).unwrap();
        assert_eq!(
            on.prometheus,
            Some(PrometheusSettings {
                path: "/metrics".into(),
                latency_histogram: false
            })
        );
        let relative = config(&[
            ("FLAGR_PROMETHEUS_ENABLED", "true"),
            ("FLAGR_PROMETHEUS_PATH", "metrics"),
        ]);
        assert!(relative.unwrap_err().to_string().contains("FLAGR_PROMETHEUS_PATH"));
        for path in ["/", "/api/v1/flags"] {
            let hiding = config(&[("FLAGR_PROMETHEUS_ENABLED", "true"), ("FLAGR_PROMETHEUS_PATH", path)]);
            assert!(hiding.unwrap_err().to_string().contains("hide"), "{path}");
        }
    }

    #[test]
    fn logging_follows_rust_log_then_flagrs_logrus_settings() {
        let logs = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect();
            LogSettings::from_env(|name| vars.get(name).cloned())
        };
        assert_eq!(
            logs(&[]).unwrap(),
            LogSettings {
                filter: "info".into(),
                json: false
            }
        );
        let flagr = logs(&[("FLAGR_LOGRUS_LEVEL", "warning"), ("FLAGR_LOGRUS_FORMAT", "json")]).unwrap();
        assert_eq!((flagr.filter.as_str(), flagr.json), ("warn", true));
        let both = logs(&[("FLAGR_LOGRUS_LEVEL", "error"), ("RUST_LOG", "bunting=debug")]).unwrap();
        assert_eq!(both.filter, "bunting=debug");
        assert!(logs(&[("FLAGR_LOGRUS_LEVEL", "loud")]).is_err());
        assert!(logs(&[("FLAGR_LOGRUS_FORMAT", "xml")]).is_err());
    }

    #[test]
    fn the_ui_is_on_unless_turned_off() {
        assert!(config(&[]).unwrap().ui_enabled);
        assert!(!config(&[("FLAGR_UI_ENABLED", "false")]).unwrap().ui_enabled);
    }

    #[test]
    fn flagr_notifications_keep_their_settings() {
        let config = config(&[
            ("FLAGR_NOTIFICATION_WEBHOOK_ENABLED", "true"),
            ("FLAGR_NOTIFICATION_WEBHOOK_URL", "http://notify.internal/hook"),
            (
                "FLAGR_NOTIFICATION_WEBHOOK_HEADERS",
                "Authorization: Bearer abc,X-Team: flags",
            ),
            ("FLAGR_NOTIFICATION_TIMEOUT", "5s"),
            ("FLAGR_NOTIFICATION_MAX_RETRIES", "2"),
        ])
        .unwrap();
        let legacy = config.webhooks.legacy.unwrap();
        assert_eq!(legacy.url, "http://notify.internal/hook");
        assert_eq!(
            legacy.headers,
            vec![
                ("Authorization".into(), "Bearer abc".into()),
                ("X-Team".into(), "flags".into())
            ]
        );
        assert_eq!(legacy.timeout_seconds, 5);
        assert_eq!(legacy.retry_schedule.attempts(), 3);
        let without_url = super::tests::config(&[("FLAGR_NOTIFICATION_WEBHOOK_ENABLED", "true")]).unwrap();
        assert_eq!(without_url.webhooks.legacy, None);
    }
}
