//! Building the application: open the store, bind the listener, wire services, router and the
//! webhook dispatcher. `main` and the integration tests both go through [`Application::build`],
//! so there is one wiring path.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::delivery::{Dispatcher, prune_periodically};
use crate::http::{self, AppState};
use crate::service::flags::FlagService;
use crate::service::webhooks::WebhookService;

/// A server bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: bunting_store::Store,
    dispatcher: Dispatcher,
    clock: Arc<dyn Clock>,
    config: Config,
    local_addr: SocketAddr,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds the application with the clock tests control.
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let store = bunting_store::connect(&config.database)
            .await
            .context("opening the database")?
            .with_first_delivery_delay(config.webhooks.retry_schedule.first_attempt_delay());
        let (dispatcher, wake) = Dispatcher::new(store.clone(), clock.clone(), config.webhooks.clone())?;
        let webhooks = WebhookService::new(
            store.clone(),
            clock.clone(),
            wake.clone(),
            config.webhooks.secret_overlap,
        );
        webhooks
            .sync_configured(config.webhooks.legacy.as_ref())
            .await
            .context("applying FLAGR_NOTIFICATION_WEBHOOK_* settings")?;
        let state = AppState {
            flags: FlagService::new(store.clone(), clock.clone(), wake),
            webhooks,
            identity: config.identity.clone(),
        };
        let router = http::router(state, &config.web_prefix, config.max_body_bytes);
        let address = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        let local_addr = listener.local_addr()?;
        Ok(Application {
            listener,
            router,
            store,
            dispatcher,
            clock,
            config,
            local_addr,
        })
    }

    /// The bound address; with port 0 in the configuration, the port the OS chose.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves and delivers until `shutdown` completes; then lets in-flight requests and delivery
    /// attempts finish, records them, and closes the database.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let dispatcher = tokio::spawn(self.dispatcher.run(stopped.clone()));
        let pruner = tokio::spawn(prune_periodically(
            self.store.clone(),
            self.clock.clone(),
            self.config.webhooks.retention,
            stopped,
        ));
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        // Every receiver is still alive until the tasks below return, so this cannot fail.
        let _ = stop.send(true);
        let _ = dispatcher.await;
        let _ = pruner.await;
        self.store.close().await;
        served.context("serving HTTP")
    }
}
