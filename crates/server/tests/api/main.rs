//! Integration tests through the real HTTP API: a real server on port 0 with a fresh database
//! per test (SQLite by default; PostgreSQL when `TEST_POSTGRES_URL` is set).

mod helpers;

mod change_log;
mod constraints;
mod errors;
mod flags;
mod segments;
mod snapshots;
mod tags;
mod variants_and_distributions;
