//! Propagation and live-stream benchmark client, run by `bench/propagation.sh` against real
//! servers (release builds, separate processes).
//!
//! `across A B`: instances A and B share one database. A flag's `on` variant gets attachment
//! `{"n": i}` through A, one change at a time with 20–80 ms between changes, `--changes` times.
//! For each change it reports the time from A's write response to (1) B's evaluation serving
//! it (B's `POST /api/v1/evaluation` is asked every millisecond or so) and (2) B's change
//! stream delivering its event.
//!
//! `fanout URL PID`: `--streams` concurrent change streams on one server, the server's resident
//! memory (from `/proc/PID/status`) before and after they open, and for each of `--changes`
//! changes the time from the write response to its event on every stream.
//!
//! Usage: `propagation_bench across A_URL B_URL [--changes 1000]`
//!        `propagation_bench fanout URL PID [--streams 1000] [--changes 200]`

// A benchmark tool stops loudly when something it relies on is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

/// When each change (by its `n`) was first seen.
type Seen = Arc<Mutex<HashMap<i64, Instant>>>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str, default: usize| {
        args.iter()
            .position(|arg| arg == name)
            .map_or(default, |at| args[at + 1].parse().expect("a number"))
    };
    match args.first().map(String::as_str) {
        Some("across") => across(&args[1], &args[2], option("--changes", 1000)).await,
        Some("fanout") => {
            let pid = args[2].parse().expect("a process id");
            fanout(&args[1], pid, option("--streams", 1000), option("--changes", 200)).await;
        }
        _ => panic!("usage: propagation_bench across A B | fanout URL PID"),
    }
}

#[derive(Clone, Copy)]
struct Flag {
    id: i64,
    variant: i64,
}

/// An enabled boolean flag whose `on` variant everyone gets.
async fn create_flag(client: &reqwest::Client, base: &str, key: &str) -> Flag {
    let flag: Value = client
        .post(format!("{base}/api/v1/flags"))
        .json(&json!({"description": key, "key": key, "template": "simple_boolean_flag"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = flag["id"].as_i64().expect("the flag is created");
    let variant = flag["variants"][0]["id"].as_i64().unwrap();
    client
        .put(format!("{base}/api/v1/flags/{id}/enabled"))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    Flag { id, variant }
}

/// Change `n`: the variant's attachment becomes `{"n": n}`. Returns when the response is read.
async fn change(client: &reqwest::Client, base: &str, flag: &Flag, n: i64) -> Instant {
    let response = client
        .put(format!("{base}/api/v1/flags/{}/variants/{}", flag.id, flag.variant))
        .json(&json!({"key": "on", "attachment": {"n": n}}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.bytes().await.unwrap();
    Instant::now()
}

/// The `n` evaluation gives for the flag (0 before the first change).
async fn evaluated_n(client: &reqwest::Client, base: &str, flag: &Flag) -> Option<i64> {
    let result: Value = client
        .post(format!("{base}/api/v1/evaluation"))
        .json(&json!({"flagID": flag.id, "entityID": "bench"}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    result["variantKey"].as_str()?;
    Some(result["variantAttachment"]["n"].as_i64().unwrap_or(0))
}

/// Opens a change stream of the flag `key` (the live tail).
async fn open_stream(client: &reqwest::Client, base: &str, key: &str) -> reqwest::Response {
    let response = client
        .get(format!("{base}/api/v1/changes/stream?flag_keys={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

/// Reads a stream to its end, calling `arrived` with each change's `n` as its event arrives.
async fn read_stream(mut response: reqwest::Response, mut arrived: impl FnMut(i64)) {
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            for data in block.lines().filter_map(|line| line.strip_prefix("data: ")) {
                let change: Value = serde_json::from_str(data).unwrap_or_default();
                if let Some(n) = change["data"]["variants"][0]["attachment"]["n"].as_i64() {
                    arrived(n);
                }
            }
        }
    }
}

/// 20–80 ms: changes arrive at random points of a poller's interval.
fn pause() -> Duration {
    Duration::from_millis(rand::rng().random_range(20..=80))
}

async fn across(a: &str, b: &str, changes: usize) {
    let client = reqwest::Client::new();
    let key = format!("across{}", rand::rng().random_range(0..1_000_000));
    let flag = create_flag(&client, a, &key).await;
    // B serves the flag (at its next poll when it does not listen).
    while evaluated_n(&client, b, &flag).await.is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let streamed: Seen = Arc::default();
    let stream = open_stream(&client, b, &key).await;
    tokio::spawn(read_stream(stream, {
        let streamed = streamed.clone();
        move |n| {
            streamed.lock().unwrap().entry(n).or_insert_with(Instant::now);
        }
    }));

    let last = changes as i64;
    let served: Seen = Arc::default();
    let poller = tokio::spawn({
        let (client, b, served) = (client.clone(), b.to_owned(), served.clone());
        async move {
            let mut seen = 0;
            while seen < last {
                if let Some(n) = evaluated_n(&client, &b, &flag).await
                    && n > seen
                {
                    let now = Instant::now();
                    let mut served = served.lock().unwrap();
                    for earlier in seen + 1..=n {
                        served.insert(earlier, now);
                    }
                    seen = n;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });

    let mut responded = Vec::with_capacity(changes);
    for n in 1..=last {
        responded.push(change(&client, a, &flag, n).await);
        tokio::time::sleep(pause()).await;
    }
    tokio::time::timeout(Duration::from_secs(60), poller)
        .await
        .expect("B serves the last change")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !streamed.lock().unwrap().contains_key(&last) {
        assert!(Instant::now() < deadline, "B's stream delivers the last change");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("{changes} changes through A, one at a time, 20-80 ms apart");
    report(
        "A's write response -> B's evaluation serves it",
        &lags(&responded, &served),
    );
    report(
        "A's write response -> B's stream delivers it",
        &lags(&responded, &streamed),
    );
}

/// For change `n` (1-based), the time from `responded[n - 1]` to `seen[n]`; 0 when seen first.
fn lags(responded: &[Instant], seen: &Seen) -> Vec<Duration> {
    let seen = seen.lock().unwrap();
    let mut lags: Vec<Duration> = responded
        .iter()
        .zip(1..)
        .map(|(at, n)| {
            seen.get(&n)
                .expect("every change is seen")
                .saturating_duration_since(*at)
        })
        .collect();
    lags.sort();
    lags
}

fn report(what: &str, sorted: &[Duration]) {
    let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let ms = |duration: Duration| format!("{:.1} ms", duration.as_secs_f64() * 1000.0);
    println!(
        "  {what}: p50 {}  p90 {}  p99 {}  max {}  (n = {})",
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(at(1.0)),
        sorted.len()
    );
}

/// The server's resident memory now and at its peak, from `/proc/PID/status`.
fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches(" kB").parse::<f64>().ok())
            .map_or("?".to_owned(), |kib| format!("{:.1} MiB", kib / 1024.0))
    };
    format!("RSS {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

async fn fanout(base: &str, pid: u32, streams: usize, changes: usize) {
    let client = reqwest::Client::new();
    let key = format!("fanout{}", rand::rng().random_range(0..1_000_000));
    let flag = create_flag(&client, base, &key).await;
    println!("server before the streams: {}", memory(pid));

    // Per change: how many streams have it, and when each got it.
    let arrivals: Arc<Mutex<HashMap<i64, Vec<Instant>>>> = Arc::default();
    let opened = Instant::now();
    for _ in 0..streams {
        let response = open_stream(&client, base, &key).await;
        let arrivals = arrivals.clone();
        tokio::spawn(read_stream(response, move |n| {
            arrivals.lock().unwrap().entry(n).or_default().push(Instant::now());
        }));
    }
    println!(
        "{streams} streams open in {:.1} s; server: {}",
        opened.elapsed().as_secs_f64(),
        memory(pid)
    );

    let mut all = Vec::new();
    let mut each = Vec::new();
    for n in 1..=changes as i64 {
        let responded = change(&client, base, &flag, n).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let times = loop {
            let everywhere = {
                let mut arrivals = arrivals.lock().unwrap();
                let complete = arrivals.get(&n).is_some_and(|times| times.len() == streams);
                complete.then(|| arrivals.remove(&n)).flatten()
            };
            if let Some(times) = everywhere {
                break times;
            }
            assert!(Instant::now() < deadline, "change {n} reaches every stream");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        each.extend(times.iter().map(|at| at.saturating_duration_since(responded)));
        all.push(times.iter().max().unwrap().saturating_duration_since(responded));
        tokio::time::sleep(pause()).await;
    }
    all.sort();
    each.sort();
    println!("{changes} changes, one at a time, 20-80 ms apart, each to {streams} streams");
    report("write response -> event on every stream", &all);
    report("write response -> event on one stream", &each);
    println!("server after the changes: {}", memory(pid));
}
