//! Building the application: open the store, bind the listener, wire the router. `main` and the
//! integration tests both go through [`Application::build`], so there is one wiring path.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::http::{self, AppState};
use crate::service::flags::FlagService;

/// A server bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: bunting_store::Store,
    local_addr: SocketAddr,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let store = bunting_store::connect(&config.database)
            .await
            .context("opening the database")?;
        let state = AppState {
            flags: FlagService::new(store.clone(), clock),
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
            local_addr,
        })
    }

    /// The bound address; with port 0 in the configuration, the port the OS chose.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish and closes the
    /// database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        self.store.close().await;
        Ok(())
    }
}
