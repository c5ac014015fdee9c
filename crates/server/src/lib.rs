//! The Bunting server: configuration, start-up, the HTTP API and the use cases behind it.
//!
//! Layout:
//! - [`config`]: every setting, from `FLAGR_*`/`BUNTING_*` variables.
//! - [`startup`]: [`Application::build`] wires store, services and router; `main` and the tests use it.
//! - `http`: routes, one file per Flagr resource; input parsing and error mapping.
//! - `service`: use cases; each change goes through one store transaction.
//! - `delivery`: the webhook dispatcher and its outbound HTTP client.
//! - `evaluation`: the in-memory snapshot evaluation reads, and what keeps it fresh.
//! - `ui`: the embedded web UI served at `/`.
//! - `metrics`: the Prometheus metrics, when `FLAGR_PROMETHEUS_ENABLED` is on.
//! - [`clock`]: time as a dependency.
//! - [`secret_key`]: the key that seals webhook secrets at rest, configured or generated.

pub mod clock;
pub mod config;
mod delivery;
mod error_chain;
mod evaluation;
mod http;
mod metrics;
mod periodic;
pub mod secret_key;
mod service;
pub mod startup;
mod ui;

pub use config::Config;
pub use service::DispatcherHandle;
pub use startup::Application;
