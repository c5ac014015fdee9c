//! The bare durable outbox: the reference `bench/webhooks.sh` runs beside `webhook_bench`, so
//! issue 14's delivery targets have their reference measured in the same run. It does the least
//! a durable outbox must on the same database, HTTP client, receiver and signatures as Bunting,
//! and nothing more: no flags, change log, payload building or attempt log.
//!
//! Each event is one transaction: its 2 KB body and one delivery row per webhook. The dispatcher
//! leases up to 128 due rows per claim, sends each with Bunting's two signatures (at most
//! `--concurrency` in flight), and marks up to 256 sent rows done per transaction.
//!
//! Modes: `--prefill N` writes N events first, then drains them (`--producers 0`); otherwise
//! `--producers` write events as fast as they can for `--seconds` while the dispatcher sends.
//!
//! Usage: `cargo run --release --example outbox_ceiling -- [--postgres URL] [--producers 4]
//!         [--fanout 10] [--prefill 0] [--seconds 10] [--concurrency 64]`

// A benchmark tool stops loudly when something it relies on is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use bunting_core::webhook::signature::{flagr_signature_header, standard_signature_header};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};
use tokio::sync::{Semaphore, mpsc};

const CLAIM: i64 = 128;
const COMPLETE: usize = 256;
const SECRET: &str = "whsec_benchkey00000000";

struct Options {
    postgres: Option<String>,
    producers: usize,
    fanout: usize,
    prefill: usize,
    seconds: u64,
    concurrency: usize,
}

fn options() -> Options {
    let mut options = Options {
        postgres: None,
        producers: 4,
        fanout: 10,
        prefill: 0,
        seconds: 10,
        concurrency: 64,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let number = || {
            value
                .parse::<usize>()
                .unwrap_or_else(|_| panic!("{} needs a number", pair[0]))
        };
        match pair[0].as_str() {
            "--postgres" => options.postgres = Some(value.clone()),
            "--producers" => options.producers = number(),
            "--fanout" => options.fanout = number(),
            "--prefill" => options.prefill = number(),
            "--seconds" => options.seconds = number() as u64,
            "--concurrency" => options.concurrency = number(),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

async fn receive(State(received): State<Arc<AtomicU64>>, body: Bytes) -> StatusCode {
    // As webhook_bench's receiver does, so both leave the same work on the shared cores.
    let _: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    received.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

/// One event: its body and a delivery row per webhook, in one transaction.
async fn write_event(pool: &AnyPool, ids: &AtomicI64, body: &str, fanout: usize) {
    let mut tx = pool.begin().await.unwrap();
    let body_id = ids.fetch_add(1, Ordering::Relaxed);
    sqlx::query("INSERT INTO bodies (id, body) VALUES ($1, $2)")
        .bind(body_id)
        .bind(body)
        .execute(&mut *tx)
        .await
        .unwrap();
    let rows: Vec<String> = (0..fanout).map(|index| format!("(${}, $1, 0, 0)", index + 2)).collect();
    let statement = format!(
        "INSERT INTO deliveries (id, body_id, status, leased_until) VALUES {}",
        rows.join(", ")
    );
    let mut insert = sqlx::query(AssertSqlSafe(statement.as_str())).bind(body_id);
    for _ in 0..fanout {
        insert = insert.bind(ids.fetch_add(1, Ordering::Relaxed));
    }
    insert.execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

/// Marks sent deliveries done, up to [`COMPLETE`] per transaction, as they come in.
async fn complete(pool: AnyPool, mut sent: mpsc::UnboundedReceiver<i64>, done: Arc<AtomicU64>) {
    let mut batch = Vec::new();
    while let Some(id) = sent.recv().await {
        batch.push(id);
        while batch.len() < COMPLETE
            && let Ok(id) = sent.try_recv()
        {
            batch.push(id);
        }
        let listed: Vec<String> = (1..=batch.len()).map(|n| format!("${n}")).collect();
        let statement = format!("UPDATE deliveries SET status = 1 WHERE id IN ({})", listed.join(", "));
        let mut query = sqlx::query(AssertSqlSafe(statement.as_str()));
        for id in &batch {
            query = query.bind(*id);
        }
        query.execute(&pool).await.unwrap();
        done.fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options();
    sqlx::any::install_default_drivers();
    let scratch = tempfile::tempdir()?;
    let (url, backend, lock) = match &options.postgres {
        Some(url) => (url.clone(), "PostgreSQL", "FOR UPDATE SKIP LOCKED"),
        None => (
            format!("sqlite://{}?mode=rwc", scratch.path().join("outbox.sqlite").display()),
            "SQLite",
            "",
        ),
    };
    let sqlite = options.postgres.is_none();
    // SQLite has one writer, so one connection; PostgreSQL commits several at once.
    let pool = AnyPoolOptions::new()
        .max_connections(if sqlite { 1 } else { 8 })
        .test_before_acquire(false)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if sqlite {
                    connection.execute("PRAGMA journal_mode = WAL").await?;
                    connection.execute("PRAGMA synchronous = NORMAL").await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    pool.execute("DROP TABLE IF EXISTS deliveries").await?;
    pool.execute("DROP TABLE IF EXISTS bodies").await?;
    pool.execute("CREATE TABLE bodies (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        .await?;
    pool.execute(
        "CREATE TABLE deliveries (id BIGINT PRIMARY KEY, body_id BIGINT NOT NULL, status BIGINT NOT NULL, \
         leased_until BIGINT NOT NULL)",
    )
    .await?;
    pool.execute("CREATE INDEX deliveries_due ON deliveries (status, id)")
        .await?;

    let received = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_url = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new().fallback(receive).with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A body of Bunting's payload size.
    let body = serde_json::json!({"type": "flag.updated", "data": {"description": "x".repeat(1900)}}).to_string();
    let ids = Arc::new(AtomicI64::new(1));
    for _ in 0..options.prefill {
        write_event(&pool, &ids, &body, options.fanout).await;
    }
    println!(
        "bare outbox on {backend}: {} producer(s), {} deliveries per event, {} prefilled events, {} s",
        options.producers, options.fanout, options.prefill, options.seconds
    );

    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let events = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..options.producers)
        .map(|_| {
            let (pool, ids, events, body) = (pool.clone(), ids.clone(), events.clone(), body.clone());
            let fanout = options.fanout;
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    write_event(&pool, &ids, &body, fanout).await;
                    events.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let done = Arc::new(AtomicU64::new(0));
    let (sent, to_complete) = mpsc::unbounded_channel();
    tokio::spawn(complete(pool.clone(), to_complete, done.clone()));
    let client = reqwest::Client::new();
    let slots = Arc::new(Semaphore::new(options.concurrency));
    let claim = format!(
        "UPDATE deliveries SET leased_until = $1 WHERE id IN (SELECT id FROM deliveries WHERE status = 0 \
         AND leased_until < $2 ORDER BY id LIMIT {CLAIM} {lock}) \
         RETURNING id, (SELECT body FROM bodies WHERE bodies.id = deliveries.body_id) AS body"
    );
    let mut window = None;
    loop {
        let producing = producers.iter().any(|producer| !producer.is_finished());
        if !producing && window.is_none() {
            window = Some((started.elapsed(), received.load(Ordering::Relaxed)));
        }
        let now = started.elapsed().as_micros() as i64 + 1;
        let rows = sqlx::query(AssertSqlSafe(claim.as_str()))
            .bind(now + 60_000_000)
            .bind(now)
            .fetch_all(&pool)
            .await?;
        if rows.is_empty() {
            let written = ids.load(Ordering::Relaxed) as u64 - 1;
            let expected = written - written / (options.fanout as u64 + 1);
            if !producing && done.load(Ordering::Relaxed) >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        for row in rows {
            let permit = slots.clone().acquire_owned().await?;
            let (id, body): (i64, String) = (row.try_get("id")?, row.try_get("body")?);
            let (client, url, sent) = (client.clone(), receiver_url.clone(), sent.clone());
            tokio::spawn(async move {
                let delivery_id = id.to_string();
                let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
                client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(
                        "x-flagr-signature",
                        flagr_signature_header(SECRET, &[], body.as_bytes()),
                    )
                    .header("webhook-id", &delivery_id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header(
                        "webhook-signature",
                        standard_signature_header(SECRET, &[], &delivery_id, timestamp, body.as_bytes()),
                    )
                    .body(body)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .unwrap();
                sent.send(id).unwrap();
                drop(permit);
            });
        }
    }
    let total = started.elapsed();
    let (window, in_window) = window.unwrap_or((total, 0));
    let events = events.load(Ordering::Relaxed);
    if options.producers > 0 {
        println!(
            "events: {events} in {:.1} s = {:.0} events/s; deliveries received during it: {in_window} = {:.0}/s",
            window.as_secs_f64(),
            events as f64 / window.as_secs_f64(),
            in_window as f64 / window.as_secs_f64()
        );
    }
    let delivered = done.load(Ordering::Relaxed);
    println!(
        "all {delivered} deliveries sent and marked done in {:.2} s = {:.0} deliveries/s",
        total.as_secs_f64(),
        delivered as f64 / total.as_secs_f64()
    );
    Ok(())
}
