//! Webhook delivery benchmark: real flag changes through the HTTP API, delivered by the durable
//! dispatcher to a local receiver, everything in one process on the same cores (as
//! `delivery-ceiling.md` measured the bare outbox).
//!
//! Producers change a flag's description as fast as they can (or at `--rate` changes/s); each
//! change fans out to `--webhooks` webhooks. It reports changes/s, deliveries/s received over
//! the run, and change-to-receiver latency (from the change's `timestamp`, taken just before its
//! transaction, to arrival), then waits until every delivery is logged as delivered.
//!
//! With `--backlog` (first) the deliveries wait while the producers run, then are released at
//! once: that measures how fast the dispatcher drains a backlog (after a receiver outage).
//!
//! Usage: `cargo run --release --example webhook_bench -- [--backlog] [--postgres URL | --mysql DSN]
//!         [--webhooks 10]
//!         [--producers 4] [--rate 0 (as fast as possible)] [--seconds 10] [--concurrency 64]`

// A benchmark tool stops loudly when something it relies on is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use bunting::clock::ManualClock;
use bunting::config::{SecretKeySource, Storage};
use bunting::{Application, Config};
use bunting_store::{DatabaseUrl, SecretKey};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Options {
    postgres: Option<String>,
    /// Flagr's Go DSN for MySQL/MariaDB (`root:@tcp(127.0.0.1:3306)/bunting_bench`).
    mysql: Option<String>,
    webhooks: usize,
    producers: usize,
    rate: u64,
    seconds: u64,
    concurrency: usize,
    backlog: bool,
}

fn options() -> Options {
    let mut options = Options {
        postgres: None,
        mysql: None,
        webhooks: 10,
        producers: 4,
        rate: 0,
        seconds: 10,
        concurrency: 64,
        backlog: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut args = args.as_slice();
    if args.first().is_some_and(|first| first == "--backlog") {
        options.backlog = true;
        args = &args[1..];
    }
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let number = || value.parse().unwrap_or_else(|_| panic!("{} needs a number", pair[0]));
        match pair[0].as_str() {
            "--postgres" => options.postgres = Some(value.clone()),
            "--mysql" => options.mysql = Some(value.clone()),
            "--webhooks" => options.webhooks = number() as usize,
            "--producers" => options.producers = number() as usize,
            "--rate" => options.rate = number(),
            "--seconds" => options.seconds = number(),
            "--concurrency" => options.concurrency = number() as usize,
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// Arrivals at the receiver: (when, change-to-arrival latency).
type Arrivals = Arc<Mutex<Vec<(Instant, Duration)>>>;

async fn receive(State(arrivals): State<Arrivals>, body: Bytes) -> StatusCode {
    let arrived = OffsetDateTime::now_utc();
    let payload: Value = serde_json::from_slice(&body).unwrap_or_default();
    let changed = payload["timestamp"]
        .as_str()
        .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok());
    let latency = changed.map_or(Duration::ZERO, |changed| {
        Duration::try_from(arrived - changed).unwrap_or_default()
    });
    arrivals.lock().unwrap().push((Instant::now(), latency));
    StatusCode::NO_CONTENT
}

/// CPU time so far, in clock ticks (USER_HZ, 100 a second on Linux): busy ticks of the whole
/// machine (every core) and of this process (server, receiver and producers alike), so a
/// run can say whether the machine's cores were the limit and who used them.
#[derive(Clone, Copy)]
struct CpuTicks {
    machine_busy: u64,
    process: u64,
}

const TICKS_PER_SECOND: f64 = 100.0;

fn cpu_ticks() -> CpuTicks {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let machine: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let machine_busy =
        machine.iter().take(8).sum::<u64>() - machine.get(3).unwrap_or(&0) - machine.get(4).unwrap_or(&0);
    // Summed over the threads: the process's own line counts only its main thread here.
    let process = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // utime and stime are the 14th and 15th fields, the 12th and 13th after the
            // command's closing parenthesis.
            let after_command = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let fields: Vec<&str> = after_command.split_whitespace().collect();
            let ticks = |index: usize| {
                fields
                    .get(index)
                    .and_then(|field| field.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            ticks(11) + ticks(12)
        })
        .sum();
    CpuTicks { machine_busy, process }
}

/// How busy the machine's cores were between `from` and now, over `window`.
fn cpu_report(what: &str, from: CpuTicks, window: Duration, items: usize, per: &str) -> String {
    let to = cpu_ticks();
    let seconds = window.as_secs_f64();
    let machine = (to.machine_busy - from.machine_busy) as f64 / TICKS_PER_SECOND;
    let process = (to.process - from.process) as f64 / TICKS_PER_SECOND;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!(
        "CPU during {what}: {:.2} of {cores} cores busy ({:.2} this process, {:.2} the rest: database, other work); \
         {:.0} µs of CPU per {per}",
        machine / seconds,
        process / seconds,
        (machine - process) / seconds,
        machine * 1e6 / items.max(1) as f64
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The allocator the `bunting` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The server's warnings and errors (a batch of attempts that cannot be recorded, say) on
    // stderr, so that a run shows why deliveries failed; RUST_LOG chooses others.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = options();
    let scratch = tempfile::tempdir()?;
    let (database, backend) = match (&options.postgres, &options.mysql) {
        (Some(url), _) => (DatabaseUrl::Postgres(url.clone()), "PostgreSQL"),
        (None, Some(dsn)) => (DatabaseUrl::Mysql(Box::new(bunting_store::dsn::mysql(dsn)?)), "MariaDB"),
        (None, None) => (
            DatabaseUrl::Sqlite(scratch.path().join("bench.sqlite").to_string_lossy().into_owned()),
            "SQLite",
        ),
    };
    let arrivals: Arrivals = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_url = format!("http://{}/hook", receiver.local_addr()?);
    let app = axum::Router::new().fallback(receive).with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(receiver, app).await });

    let concurrency = options.concurrency;
    let mut config = Config::for_storage(Storage::Database(database));
    // A throwaway key: the benchmark's secrets live as long as its database.
    config.secret_key = Some(SecretKeySource::Key(SecretKey::generate()));
    config.webhooks.concurrency = concurrency;
    config.webhooks.concurrency_per_webhook = concurrency;
    // In backlog mode deliveries first wait an hour on a clock the benchmark moves, so the
    // producers build a backlog that the dispatcher then drains at full speed.
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let server = if options.backlog {
        config.webhooks.retry_schedule = "1h,5s".parse()?;
        config.webhooks.poll_interval = Duration::from_millis(20);
        Application::build_with_clock(config, clock.clone()).await?
    } else {
        Application::build(config).await?
    };
    let base = format!("http://{}/api/v1", server.local_addr());
    tokio::spawn(server.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let flag: Value = client
        .post(format!("{base}/flags"))
        .json(&json!({"description": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    let flag_id = flag["id"].as_i64().unwrap_or(1);
    for n in 0..options.webhooks {
        // A Standard Webhooks secret: 16 base64 characters after the prefix, a 12-byte key.
        let secret = format!("whsec_benchkey{n:08}");
        let webhook = json!({"url": receiver_url, "events": ["flag.updated"], "secret": secret});
        client
            .post(format!("{base}/webhooks"))
            .json(&webhook)
            .send()
            .await?
            .error_for_status()?;
    }

    println!(
        "{backend}: {} producer(s), {} webhook(s), rate {}, {} s",
        options.producers,
        options.webhooks,
        if options.rate == 0 {
            "as fast as possible".to_owned()
        } else {
            format!("{} changes/s", options.rate)
        },
        options.seconds
    );
    let started = Instant::now();
    let cpu_at_start = cpu_ticks();
    let deadline = started + Duration::from_secs(options.seconds);
    let per_producer_gap =
        (options.rate > 0).then(|| Duration::from_secs_f64(options.producers as f64 / options.rate as f64));
    let mut producers = Vec::new();
    for producer in 0..options.producers {
        let (client, base) = (client.clone(), base.clone());
        producers.push(tokio::spawn(async move {
            let mut changes = 0_u64;
            let mut next = Instant::now();
            while Instant::now() < deadline {
                let description = format!("change {producer}-{changes}");
                let reply = client
                    .put(format!("{base}/flags/{flag_id}"))
                    .json(&json!({"description": description}))
                    .send()
                    .await;
                if reply.is_ok_and(|reply| reply.status().is_success()) {
                    changes += 1;
                }
                if let Some(gap) = per_producer_gap {
                    next += gap;
                    tokio::time::sleep_until(next.into()).await;
                }
            }
            changes
        }));
    }
    let mut changes = 0;
    for producer in producers {
        changes += producer.await?;
    }
    let window = started.elapsed();
    let cpu_of_run = cpu_report("the run", cpu_at_start, window, changes as usize, "change");
    let expected = changes as usize * options.webhooks;
    let in_window = arrivals
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at <= started + window)
        .count();
    // Drain: every delivery must arrive, and the log must say so.
    let drain_started = Instant::now();
    let cpu_at_drain = cpu_ticks();
    if options.backlog {
        clock.advance(Duration::from_secs(3600));
    }
    while arrivals.lock().unwrap().len() < expected && drain_started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies: Vec<Duration> = arrivals.lock().unwrap().iter().map(|(_, latency)| *latency).collect();
    latencies.sort();
    let drained = drain_started.elapsed();
    let cpu_of_drain = cpu_report("the drain", cpu_at_drain, drained, expected, "delivery");
    // Attempts are recorded just after they arrive; give the log a moment to catch up.
    let (mut pending, mut failed) = (0, 0);
    for _ in 0..100 {
        let webhooks: Value = client.get(format!("{base}/webhooks")).send().await?.json().await?;
        let total = |field: &str| -> i64 {
            webhooks
                .as_array()
                .into_iter()
                .flatten()
                .map(|webhook| webhook[field].as_i64().unwrap_or(0))
                .sum()
        };
        (pending, failed) = (total("pendingDeliveries"), total("failedDeliveries"));
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let seconds = window.as_secs_f64();
    println!(
        "changes: {changes} in {seconds:.1} s = {:.0} changes/s",
        changes as f64 / seconds
    );
    println!(
        "deliveries received during the run: {in_window} = {:.0} deliveries/s; all {} of {expected} arrived {:.1} s after the run",
        in_window as f64 / seconds,
        latencies.len(),
        drained.as_secs_f64()
    );
    println!(
        "change-to-receiver latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        percentile(&latencies, 1.0).as_secs_f64() * 1000.0
    );
    if options.backlog {
        println!(
            "backlog of {expected} deliveries drained in {:.2} s = {:.0} deliveries/s",
            drained.as_secs_f64(),
            expected as f64 / drained.as_secs_f64()
        );
        println!("{cpu_of_drain}");
    }
    println!("{cpu_of_run}");
    println!("delivery log after the run: {pending} pending, {failed} failed");
    Ok(())
}
