//! Webhook delivery policy as pure functions: which events exist, which a webhook receives, how
//! a delivery is signed, when a failed attempt is retried, and which addresses may be called.
//!
//! The server's dispatcher does the I/O (HTTP, DNS, the clock, the RNG) and asks this module
//! every question of policy, passing time, random bytes and jitter samples in as values. Nothing
//! here stores, schedules or sends anything.
//!
//! - [`catalogue`]: every event a webhook can receive, described and grouped.
//! - [`config`]: a webhook's settings and every change to them.
//! - [`filter`]: a webhook's event subscription (`flag.*`, `*`, exact names).
//! - [`payload`]: the bodies deliveries carry.
//! - [`integrations`]: bodies in Flagsmith's, Slack's and Sentry's formats.
//! - [`sentence`]: the readable sentence for an event ("Flag checkout enabled").
//! - [`signature`]: `X-Flagr-Signature` and Standard Webhooks signatures, secrets, rotation.
//! - [`retry`]: the retry schedule and the decision after each attempt.
//! - [`address`]: which resolved IP addresses a delivery may connect to (SSRF policy).
//! - [`url_password`]: a password in a webhook URL, masked wherever the URL is shown.

pub mod address;
pub mod catalogue;
pub mod config;
pub mod filter;
pub mod integrations;
pub mod payload;
pub mod retry;
pub mod sentence;
pub mod signature;
pub mod url_password;
