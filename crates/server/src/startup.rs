//! Building the application: bind the port, open the storage, load the evaluation cache, wire services, router
//! and background tasks. `main` and the integration tests both go through
//! [`Application::build`], so there is one wiring path.
//!
//! With a database the server manages flags and webhooks, and runs the webhook dispatcher, the
//! delivery-log pruner, the change-log follower and (on PostgreSQL) the listener for other
//! instances' change announcements beside the HTTP server. In eval-only mode
//! (`json_file`/`json_http`) it serves evaluation from the flag file and re-reads it.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use bunting_core::token::{NewToken, Role, Scope};
use bunting_store::{DEFAULT_ENVIRONMENT, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::{Clock, SystemClock};
use crate::config::{AuthSettings, Config, DEFAULT_EVAL_ONLY_ENVIRONMENT, IdentityConfig, Storage};
use crate::delivery::{Dispatcher, prune_periodically};
use crate::evaluation::{EvalCache, EvalCaches, Evaluator, StoreFollower, follow_json, load_json};
use crate::http::Scrape;
use crate::http::{self, AccessPolicy, AppState, StreamContext, Surface};
use crate::metrics::Metrics;
use crate::secret_key;
use crate::service::DispatcherHandle;
use crate::service::changes::ChangeWakeups;
use crate::service::environments::EnvironmentService;
use crate::service::flags::FlagService;
use crate::service::tokens::TokenService;
use crate::service::webhooks::WebhookService;

/// A server bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    local_addr: SocketAddr,
    cache: Arc<EvalCache>,
    config: Config,
    clock: Arc<dyn Clock>,
    background: Background,
    /// Tells live change streams the server is stopping.
    streams_stop: watch::Sender<bool>,
}

/// What runs beside the HTTP server.
enum Background {
    Managed {
        store: Store,
        /// Follows environments created and deleted through other instances.
        environments: Box<EnvironmentService>,
        dispatcher: Box<Dispatcher>,
        deliveries: DispatcherHandle,
        follower: Box<StoreFollower>,
    },
    EvalOnly {
        client: reqwest::Client,
        last: String,
    },
}

impl Background {
    /// The webhook dispatcher's handle, when there is a database.
    fn deliveries(&self) -> Option<&DispatcherHandle> {
        match self {
            Background::Managed { deliveries, .. } => Some(deliveries),
            Background::EvalOnly { .. } => None,
        }
    }
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds the application with the clock tests control.
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        // The port first: when it is taken, start-up stops before creating or migrating a database.
        let listener = bind(SocketAddr::new(config.host, config.port)).await?;
        let local_addr = listener.local_addr()?;
        let metrics = config
            .prometheus
            .as_ref()
            .map(|settings| Arc::new(Metrics::new(settings.latency_histogram)));
        let (streams_stop, streams_stopping) = watch::channel(false);
        let (management, access, environment_key, cache, background) = match &config.storage {
            Storage::Database(url) => {
                // The default environment: what the unprefixed routes serve. Requests for another are
                // bound to it by the HTTP layer (`http::environment`).
                let environment = DEFAULT_ENVIRONMENT;
                let key = secret_key::load(config.secret_key.as_ref(), url)?;
                let store = bunting_store::connect(url, key.sealer)
                    .await
                    .context("opening the database")?
                    .with_first_delivery_delay(config.webhooks.retry_schedule.first_attempt_delay())
                    .with_public_url(config.webhooks.public_url.clone());
                seal_secrets(&store, &key.origin).await?;
                if let Some(wanted) = &config.default_environment {
                    let named = store.name_default_environment(wanted).await?;
                    if &named != wanted {
                        tracing::warn!(
                            default_environment = named,
                            "BUNTING_DEFAULT_ENVIRONMENT={wanted} names the default environment only on a new \
                             database; this one keeps \"{named}\""
                        );
                    }
                }
                let caches = Arc::new(EvalCaches::default());
                let wake = DispatcherHandle::default();
                let environments =
                    EnvironmentService::new(store.clone(), clock.clone(), caches.clone(), wake.clone()).await?;
                if config.eval_only_environment.is_some() {
                    tracing::warn!(
                        "BUNTING_EVAL_ONLY_ENVIRONMENT applies only to eval-only mode (FLAGR_DB_DBDRIVER=json_file \
                         or json_http); with a database the environments are the database's, and it is ignored"
                    );
                }
                let default_key = environments
                    .list()
                    .await?
                    .into_iter()
                    .find(|listed| listed.default)
                    .map(|listed| listed.key)
                    .context("the database has no default environment")?;
                let cache = environments.cache(environment).await?;
                let environments_service = environments.clone();
                let webhooks = WebhookService::new(
                    store.clone(),
                    environment,
                    clock.clone(),
                    wake.clone(),
                    config.webhooks.secret_overlap,
                );
                let dispatcher = Dispatcher::new(
                    store.clone(),
                    clock.clone(),
                    config.webhooks.clone(),
                    metrics.clone(),
                    wake.clone(),
                    webhooks.clone(),
                )?;
                webhooks
                    .sync_configured(config.webhooks.legacy.as_ref())
                    .await
                    .context("applying FLAGR_NOTIFICATION_WEBHOOK_* settings")?;
                let tokens = TokenService::new(store.clone(), clock.clone());
                let access = match &config.auth {
                    Some(settings) => Some(Arc::new(
                        access_policy(settings, &config.identity, default_key.clone(), &tokens).await?,
                    )),
                    None => None,
                };
                let state = AppState {
                    flags: FlagService::new(store.clone(), environment, clock.clone(), wake.clone(), cache.clone()),
                    webhooks,
                    environments: environments.clone(),
                    tokens,
                    identity: Arc::new(config.identity.clone()),
                    stream: StreamContext {
                        settings: config.stream.clone(),
                        shutdown: streams_stopping,
                    },
                };
                let follower = StoreFollower {
                    store: store.clone(),
                    caches,
                    wakeups: ChangeWakeups::default(),
                    clock: clock.clone(),
                    metrics: metrics.clone(),
                };
                (
                    Some(state),
                    access,
                    default_key,
                    cache,
                    Background::Managed {
                        store,
                        environments: Box::new(environments_service),
                        dispatcher: Box::new(dispatcher),
                        deliveries: wake,
                        follower: Box::new(follower),
                    },
                )
            }
            source => {
                let client = eval_only_client(&config)?;
                let (last, flags) = load_json(source, &client)
                    .await
                    .context("loading flags for eval-only mode")?;
                let served = config
                    .eval_only_environment
                    .clone()
                    .unwrap_or_else(|| DEFAULT_EVAL_ONLY_ENVIRONMENT.to_owned());
                (
                    None,
                    None,
                    served,
                    Arc::new(EvalCache::new(flags, 0)),
                    Background::EvalOnly { client, last },
                )
            }
        };
        if let Some(metrics) = &metrics {
            metrics.reserve_environment(&environment_key);
        }
        let environments = management.as_ref().map(|state| state.environments.clone());
        let evaluator = Evaluator::new(
            &environment_key,
            cache.clone(),
            environments,
            clock.clone(),
            config.evaluation.clone(),
            metrics.clone(),
        );
        let scrape = match (&config.prometheus, &metrics) {
            (Some(settings), Some(metrics)) => Some((
                settings.path.clone(),
                Scrape {
                    metrics: metrics.clone(),
                    evaluator: evaluator.clone(),
                    webhooks: management.as_ref().map(|state| state.webhooks.clone()),
                },
            )),
            _ => None,
        };
        let router = http::router(Surface {
            management,
            evaluator,
            identity: config.identity.clone(),
            web_prefix: config.web_prefix.clone(),
            ui_enabled: config.ui_enabled,
            cors: config.cors.clone(),
            public_url: config.webhooks.public_url.clone(),
            max_body_bytes: config.max_body_bytes,
            metrics: scrape,
            access,
        });
        Ok(Application {
            listener,
            router,
            local_addr,
            cache,
            config,
            clock,
            background,
            streams_stop,
        })
    }

    /// The webhook dispatcher's handle (none in eval-only mode), to wait until deliveries settle.
    pub fn deliveries(&self) -> Option<DispatcherHandle> {
        self.background.deliveries().cloned()
    }

    /// The bound address; with port 0 in the configuration, the port the OS chose.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes; then lets in-flight requests and delivery attempts
    /// finish, records them, stops the background tasks and closes the database.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let interval = self.config.evaluation.refresh_interval;
        let (tasks, store): (Vec<JoinHandle<()>>, Option<Store>) = match self.background {
            Background::Managed {
                store,
                environments,
                dispatcher,
                follower,
                ..
            } => {
                let mut tasks = Vec::new();
                if self.config.evaluation.listen {
                    tasks.push(tokio::spawn(
                        follower.wakeups.clone().relay(store.clone(), stopped.clone()),
                    ));
                }
                tasks.extend([
                    tokio::spawn(dispatcher.run(stopped.clone())),
                    tokio::spawn(prune_periodically(
                        store.clone(),
                        self.clock.clone(),
                        self.config.webhooks.retention,
                        stopped.clone(),
                    )),
                    tokio::spawn(environments.follow(interval, stopped.clone())),
                    tokio::spawn(follower.run(interval, stopped)),
                ]);
                (tasks, Some(store))
            }
            Background::EvalOnly { client, last } => {
                let source = self.config.storage.clone();
                (
                    vec![tokio::spawn(follow_json(
                        source,
                        client,
                        last,
                        self.cache.clone(),
                        interval,
                        stopped,
                    ))],
                    None,
                )
            }
        };
        let streams_stop = self.streams_stop;
        // Live change streams never end by themselves: they are told first, so that graceful
        // shutdown does not wait for them.
        let shutdown = async move {
            shutdown.await;
            streams_stop.send_replace(true);
        };
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        // Every receiver is alive until the tasks below return, so sending cannot fail.
        let _ = stop.send(true);
        for task in tasks {
            let _ = task.await;
        }
        if let Some(store) = store {
            store.close().await;
        }
        served.context("serving HTTP")
    }
}

/// Seals what an earlier version stored in the clear, and proves the key opens every stored
/// secret: with the wrong key start-up stops here, naming the secret that would not open.
async fn seal_secrets(store: &Store, key_origin: &str) -> anyhow::Result<()> {
    let report = store
        .seal_secrets()
        .await
        .with_context(|| format!("checking that {key_origin} opens the webhook secrets stored in the database"))?;
    if report.sealed > 0 {
        tracing::info!(
            sealed = report.sealed,
            "sealed webhook secrets that were stored in the clear (written before sealing)"
        );
    }
    Ok(())
}

/// Binds the listening socket, saying plainly when another process has the port.
async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.map_err(|error| match error.kind() {
        ErrorKind::AddrInUse => anyhow!(
            "port {} on {} is in use by another process; stop it, or choose another port with PORT or --port",
            address.port(),
            address.ip()
        ),
        _ => anyhow!("cannot listen on {address}: {error}"),
    })
}

/// Who may do what with tokens on; makes the bootstrap admin token first if one is configured.
async fn access_policy(
    settings: &AuthSettings,
    identity: &IdentityConfig,
    default_environment: String,
    tokens: &TokenService,
) -> anyhow::Result<AccessPolicy> {
    if let Some(secret) = &settings.bootstrap_admin_token {
        let admin = NewToken {
            name: BOOTSTRAP_TOKEN_NAME.to_owned(),
            role: Role::Admin,
            scope: Scope::All,
            expires_at: None,
        };
        let created = tokens
            .ensure(&admin, secret.expose(), "BUNTING_BOOTSTRAP_ADMIN_TOKEN")
            .await
            .context("creating the BUNTING_BOOTSTRAP_ADMIN_TOKEN admin token")?;
        if created {
            tracing::info!(
                name = BOOTSTRAP_TOKEN_NAME,
                "created an admin token from BUNTING_BOOTSTRAP_ADMIN_TOKEN; create named tokens with it, then revoke it"
            );
        }
    }
    Ok(AccessPolicy {
        tokens: tokens.clone(),
        settings: settings.clone(),
        identity: Arc::new(identity.clone()),
        default_environment,
    })
}

/// The name of the token `BUNTING_BOOTSTRAP_ADMIN_TOKEN` makes.
const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap-admin";

/// The client eval-only mode fetches its flags with, carrying `BUNTING_EVAL_ONLY_TOKEN`.
fn eval_only_client(config: &Config) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &config.eval_only_token {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .context("BUNTING_EVAL_ONLY_TOKEN must be a token such as bnt_…, printable and on one line")?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    Ok(reqwest::Client::builder()
        .timeout(config.evaluation.refresh_timeout)
        .default_headers(headers)
        .build()?)
}
