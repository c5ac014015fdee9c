//! The `bunting` binary: `serve` (the default), `migrate`, `import`, `secrets rotate` and
//! `token create`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bunting::config::{LogSettings, SecretKeySource, Storage};
use bunting::secret_key;
use bunting::{Application, Config};
use bunting_store::{DatabaseUrl, Sealer};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Bunting: a Flagr-compatible feature-flag server with webhooks you can trust.
///
/// Configured with Flagr's environment variables (FLAGR_DB_DBDRIVER, FLAGR_DB_DBCONNECTIONSTR,
/// HOST, PORT, ...) and BUNTING_* for Bunting's own settings; see docs/configuration.md.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on (overrides HOST).
    #[arg(long, global = true)]
    host: Option<String>,
    /// Port to listen on (overrides PORT).
    #[arg(long, global = true)]
    port: Option<u16>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate {
        /// Adopt Flagr's database (as start-up does), refusing any other kind of database.
        #[arg(long)]
        from_flagr: bool,
        /// With --from-flagr: print what adopting would bring over, and write nothing.
        #[arg(long, requires = "from_flagr")]
        dry_run: bool,
    },
    /// Load flags from a Flagr eval-cache JSON file (Flagr's or Bunting's
    /// /api/v1/export/eval_cache/json) into the database, keeping their ids so bucketing is
    /// unchanged, and exit. With --from-flagr-db, adopt the Flagr database Bunting runs on again.
    Import {
        /// The JSON file, `{"Flags": [...]}`.
        #[arg(required_unless_present = "from_flagr_db", conflicts_with = "from_flagr_db")]
        file: Option<PathBuf>,
        /// Replace Bunting's flags with Flagr's as they are now in the database Bunting adopted.
        #[arg(long)]
        from_flagr_db: bool,
        /// With --from-flagr-db: replace them even when flags were changed in Bunting since the
        /// adoption (those changes are lost).
        #[arg(long, requires = "from_flagr_db")]
        force: bool,
        /// The environment to load the file into (its key); the default environment otherwise.
        #[arg(long, conflicts_with = "from_flagr_db")]
        environment: Option<String>,
    },
    /// Manage the key that seals webhook secrets in the database.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Manage API tokens (used when BUNTING_AUTH=tokens; see docs/security.md).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token, print its secret once on standard output and exit. The database keeps
    /// only a hash of it: store it now. Recorded in the change log like a token made through the API.
    Create {
        /// What the token is allowed: evaluator, viewer, editor or admin.
        #[arg(long)]
        role: String,
        /// Who or what uses the token; the actor of its changes. Default: the role and the time.
        #[arg(long)]
        name: Option<String>,
        /// The environment keys the token may act in, comma-separated; every environment if absent.
        #[arg(long, value_delimiter = ',')]
        environments: Option<Vec<String>>,
        /// When the token stops working, RFC 3339 (2027-01-01T00:00:00Z); never if absent.
        #[arg(long)]
        expires_at: Option<String>,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Seal every webhook secret again under a new key, in one transaction, and exit. The
    /// current key comes from the usual settings (BUNTING_SECRET_KEY, BUNTING_SECRET_KEY_FILE
    /// or the key file beside a SQLite database). Stop every instance first, and start them with
    /// the new key afterwards (see docs/operations.md).
    Rotate {
        /// A file holding the new key, standard base64 of 32 bytes (`openssl rand -base64 32`).
        #[arg(long)]
        new_key_file: PathBuf,
    },
}

/// mimalloc: evaluation allocates small, short-lived values per request, and mimalloc serves
/// those faster and with less fragmentation than the system allocator (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs the command; a failure is printed as one line of reasons, `error: what: why`, and exits
/// with status 1. (Returning the error from `main` would print its debug form, with a stack
/// backtrace whenever RUST_BACKTRACE is set.)
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let logs = LogSettings::from_env(|name| std::env::var(name).ok())?;
    let filter =
        EnvFilter::try_new(&logs.filter).with_context(|| format!("RUST_LOG={} is not a log filter", logs.filter))?;
    let cli = Cli::parse();
    // `token create` prints the secret on standard output, for `TOKEN=$(bunting token create …)`;
    // its log lines go to standard error.
    let (writer, terminal) = if matches!(cli.command, Some(Command::Token(_))) {
        (BoxMakeWriter::new(std::io::stderr), std::io::stderr().is_terminal())
    } else {
        (BoxMakeWriter::new(std::io::stdout), std::io::stdout().is_terminal())
    };
    // Colour codes only for a person at a terminal, not in files and log collectors.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(terminal);
    if logs.json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    let mut config = Config::from_env(|name| std::env::var(name).ok())?;
    if let Some(host) = cli.host {
        config.host = if host == "localhost" {
            [127, 0, 0, 1].into()
        } else {
            host.parse().context("--host must be an IP address")?
        };
    }
    if let Some(port) = cli.port {
        config.port = port;
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate { from_flagr, dry_run } => migrate(&config, from_flagr, dry_run).await?,
        Command::Import {
            from_flagr_db: true,
            force,
            ..
        } => readopt(&config, force).await?,
        Command::Import {
            file: Some(file),
            environment,
            ..
        } => import(&config, &file, environment.as_deref()).await?,
        Command::Secrets(SecretsCommand::Rotate { new_key_file }) => rotate(&config, &new_key_file).await?,
        Command::Token(TokenCommand::Create {
            role,
            name,
            environments,
            expires_at,
        }) => create_token(&config, &role, name, environments, expires_at.as_deref()).await?,
        Command::Import { file: None, .. } => anyhow::bail!("bunting import needs a file or --from-flagr-db"),
        Command::Serve => {
            let (prefix, ui_enabled) = (config.web_prefix.clone(), config.ui_enabled);
            let app = Application::build(config).await?;
            let base = format!("http://{}{prefix}", app.local_addr());
            tracing::info!("Bunting is serving on {base}/");
            if ui_enabled {
                tracing::info!("the web UI is at {base}/ and the API at {base}/api/v1");
            }
            app.run_until_stopped(shutdown_signal()).await?;
            tracing::info!("stopped");
        }
    }
    Ok(())
}

/// `bunting migrate`, with `--from-flagr` refusing a database that is not Flagr's, and with
/// `--dry-run` printing what adopting it would bring over instead.
async fn migrate(config: &bunting::Config, from_flagr: bool, dry_run: bool) -> anyhow::Result<()> {
    let Storage::Database(url) = &config.storage else {
        anyhow::bail!("there is no database to migrate: FLAGR_DB_DBDRIVER selects eval-only mode");
    };
    if dry_run {
        let plan = bunting_store::preview_flagr_adoption(url)
            .await
            .context("looking at Flagr's database")?;
        println!("{plan}");
        return Ok(());
    }
    let expect = if from_flagr {
        bunting_store::Expect::Flagr
    } else {
        bunting_store::Expect::Usable
    };
    bunting_store::connect_expecting(url, expect, sealer(config.secret_key.as_ref(), url)?)
        .await
        .context("migrating the database")?
        .close()
        .await;
    tracing::info!("database is up to date");
    Ok(())
}

/// `bunting import --from-flagr-db`: Flagr's flags as they are now replace Bunting's, in one
/// transaction.
async fn readopt(config: &bunting::Config, force: bool) -> anyhow::Result<()> {
    let Storage::Database(url) = &config.storage else {
        anyhow::bail!("there is no Flagr database to adopt: FLAGR_DB_DBDRIVER selects eval-only mode");
    };
    let store = bunting_store::connect(url, sealer(config.secret_key.as_ref(), url)?)
        .await
        .context("opening the database")?;
    let readoption = store.readopt_flagr(force).await;
    store.close().await;
    let readoption = readoption.context("adopting Flagr's database again")?;
    tracing::info!("adopted Flagr's database again: {readoption}");
    Ok(())
}

/// `bunting import`: all of the file's live flags in one transaction, or none of them, into the
/// default environment or the one named.
async fn import(config: &bunting::Config, file: &std::path::Path, environment: Option<&str>) -> anyhow::Result<()> {
    let Storage::Database(url) = &config.storage else {
        anyhow::bail!("there is no database to import into: FLAGR_DB_DBDRIVER selects eval-only mode");
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let imported = bunting_core::eval::import(&text)?;
    for warning in &imported.warnings {
        tracing::warn!("{warning}");
    }
    let store = bunting_store::connect(url, sealer(config.secret_key.as_ref(), url)?)
        .await
        .context("opening the database")?;
    // The store is closed whatever happens, so its connections do not outlive the command.
    let count = match environment_id(&store, environment).await {
        Ok(target) => store
            .import_flags(target, imported.flags, "import", time::OffsetDateTime::now_utc())
            .await
            .map_err(anyhow::Error::from),
        Err(error) => Err(error),
    };
    store.close().await;
    tracing::info!("imported {} flags from {}", count?, file.display());
    Ok(())
}

/// `bunting token create`: a token made in the database, its secret printed once.
async fn create_token(
    config: &bunting::Config,
    role: &str,
    name: Option<String>,
    environments: Option<Vec<String>>,
    expires_at: Option<&str>,
) -> anyhow::Result<()> {
    use bunting_core::token::{self, NewToken, Role, Scope};
    use time::format_description::well_known::Rfc3339;
    let Storage::Database(url) = &config.storage else {
        anyhow::bail!("there is no database to keep tokens in: FLAGR_DB_DBDRIVER selects eval-only mode");
    };
    let role = Role::from_name(role)
        .with_context(|| format!("--role must be one of evaluator, viewer, editor, admin; not {role:?}"))?;
    let now = time::OffsetDateTime::now_utc();
    let new = NewToken {
        name: name.unwrap_or_else(|| format!("{role} token from the CLI at {}", bunting_core::change::rfc3339(now))),
        role,
        scope: environments.map_or(Scope::All, Scope::Only),
        expires_at: expires_at
            .map(|text| {
                time::OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
                    format!("--expires-at must be an RFC 3339 time such as 2027-01-01T00:00:00Z, not {text:?}")
                })
            })
            .transpose()?,
    };
    let secret = token::token_secret(&rand::random());
    let origin = bunting_core::mutation::Origin {
        actor: "bunting token create".to_owned(),
        at: now,
        event_id: uuid::Uuid::now_v7().to_string(),
        random_key: String::new(),
    };
    let store = bunting_store::connect(url, sealer(config.secret_key.as_ref(), url)?)
        .await
        .context("opening the database")?;
    let created = store.create_token(&new, &token::token_hash(&secret), &origin).await;
    store.close().await;
    let created = created.context("creating the token")?;
    eprintln!(
        "created {} token {:?} (id {}); this is its secret, shown only now:",
        created.role, created.name, created.id
    );
    println!("{secret}");
    Ok(())
}

/// The id of the live environment `key` (the default environment for `None`), or an error
/// listing the environments there are.
async fn environment_id(
    store: &bunting_store::Store,
    key: Option<&str>,
) -> anyhow::Result<bunting_store::EnvironmentId> {
    let Some(key) = key else {
        return Ok(bunting_store::DEFAULT_ENVIRONMENT);
    };
    let environments = store.environments().await?;
    match environments.iter().find(|environment| environment.key == key) {
        Some(environment) => Ok(environment.id),
        None => {
            let keys: Vec<&str> = environments
                .iter()
                .map(|environment| environment.key.as_str())
                .collect();
            anyhow::bail!(
                "there is no environment {key:?} to import into; there are: {} (create one with POST /api/v1/environments)",
                keys.join(", ")
            )
        }
    }
}

/// The sealer for the configured key (the commands that do not touch secrets still open the
/// store with it, so that none of them can write one in the clear).
fn sealer(source: Option<&SecretKeySource>, url: &DatabaseUrl) -> anyhow::Result<Sealer> {
    Ok(secret_key::load(source, url)?.sealer)
}

/// `bunting secrets rotate`: every webhook secret opened with the current key and sealed under
/// the key in `new_key_file`, in one transaction. Running it again after the switch finds
/// everything sealed under the new key already and changes nothing.
async fn rotate(config: &bunting::Config, new_key_file: &std::path::Path) -> anyhow::Result<()> {
    let Storage::Database(url) = &config.storage else {
        anyhow::bail!("there are no secrets to seal: FLAGR_DB_DBDRIVER selects eval-only mode");
    };
    let new = secret_key::read_file(new_key_file).context("reading the new key")?;
    let current = secret_key::load(config.secret_key.as_ref(), url)?;
    let store = bunting_store::connect(url, current.sealer)
        .await
        .context("opening the database")?;
    let report = store.reseal_secrets(&Sealer::new(&new)).await;
    store.close().await;
    let report = report.with_context(|| format!("re-sealing the webhook secrets stored under {}", current.origin))?;
    println!(
        "sealed {} secrets of {} webhooks under the key in {}; start every instance with \
         BUNTING_SECRET_KEY_FILE={} (or that key in BUNTING_SECRET_KEY) from now on: {} no longer opens them",
        report.sealed,
        report.webhooks,
        new_key_file.display(),
        new_key_file.display(),
        current.origin
    );
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
