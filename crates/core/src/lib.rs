//! Bunting's pure domain. No I/O, no async, no clock reads, no randomness: everything that
//! varies (time, actor, ids, random keys) comes in as a value, so every rule here is testable
//! with plain unit tests.
//!
//! Layout:
//! - [`flag`]: the flag document, in exactly the JSON shape Flagr's API returns.
//! - [`validation`]: Flagr's key and tag rules.
//! - [`mutation`]: every command that changes a flag, applied as a pure function.
//! - [`change`]: event types and the changed component that describe a mutation.
//! - [`environment`]: environments, their rules and their change events.
//! - [`constraint`]: Flagr's constraint language, compiled once and evaluated against a context.
//! - [`eval`]: the evaluation engine: CRC32 bucketing, distribution and rollout, the segment
//!   walk, Flagr's evaluation request and result shapes, and the snapshot of all flags that
//!   serves single and batch evaluations.
//! - [`ofrep`]: the OpenFeature Remote Evaluation Protocol over Flagr's evaluation: request
//!   context in, OFREP value, reason and variant out.
//! - [`promotion`]: copying a flag's configuration from one environment to another.
//! - [`named!`]: names for field-less enums, one table for both directions.
//! - [`secret`]: values that must never be printed.
//! - [`token`]: API tokens, their roles and environment scopes.
//! - [`webhook`]: webhook delivery policy: event catalogue, subscriptions, signatures, retries
//!   and the SSRF address policy.

pub mod change;
pub mod constraint;
pub mod environment;
pub mod eval;
pub mod flag;
pub mod mutation;
mod names;
pub mod ofrep;
pub mod promotion;
pub mod secret;
pub mod token;
pub mod validation;
pub mod webhook;

/// For [`named!`]: the serde its expansions implement, whatever the calling crate imports.
#[doc(hidden)]
pub use serde as __serde;
