//! Integration tests through the real HTTP API: a real server on port 0 with a fresh database
//! per test (SQLite by default; PostgreSQL when `TEST_POSTGRES_URL` is set, MySQL/MariaDB when
//! `TEST_MYSQL_URL` is), and a real HTTP receiver on port 0 as the webhook target.

// A test that cannot go on should stop loudly: helpers unwrap as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod logs;
mod receiver;

mod auth;
mod browsers;
mod change_log;
mod change_stream;
mod constraints;
mod crash;
mod environments;
mod errors;
mod eval_only;
mod evaluation;
mod flagr_adoption;
mod flags;
mod import;
mod metrics;
mod ofrep;
mod openapi;
mod propagation;
mod receivers;
mod secrets_at_rest;
mod segments;
mod snapshots;
mod startup;
mod tags;
mod tokens;
mod variants_and_distributions;
mod webhook_delivery;
mod webhook_events;
mod webhook_formats;
mod webhooks;
