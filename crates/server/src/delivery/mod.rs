//! Webhook delivery: the dispatcher that claims due deliveries from the store, sends them and
//! records every attempt, and the outbound HTTP client it sends with. Policy (signatures, retry
//! decisions, the address rules) comes from `bunting_core::webhook`; this module does the I/O.
//! It reaches storage only through the store and never through the HTTP layer.

mod client;
mod dispatcher;
mod headers;
mod retention;

pub(crate) use dispatcher::Dispatcher;
pub(crate) use retention::prune_periodically;
