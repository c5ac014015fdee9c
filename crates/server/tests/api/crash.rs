//! Durability across a crash: the real `bunting` binary is killed with SIGKILL while deliveries
//! are in flight, or while concurrent writers change flags, restarted on the same database, and
//! every answered change and every delivery still arrives, repeats carrying the delivery id of
//! the first try.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bunting_store::DatabaseUrl;
use serde_json::json;

use crate::helpers::{TestApp, database_env, test_database};
use crate::receiver::{Receiver, Reply};

/// The binary, started on `database`, and the base URL it printed.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    /// Starts the binary with `env` added to its environment.
    pub(crate) fn start(database: &DatabaseUrl, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bunting"))
            .envs(database_env(database))
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("BUNTING_WEBHOOK_POLL_INTERVAL", "100ms")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the server prints its address").unwrap();
            if let Some(at) = line.find("http://") {
                let address = line[at..].split_whitespace().next().unwrap_or_default();
                break address.trim_end_matches('/').to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, base }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_killed_server_delivers_everything_after_restart() {
    let database = test_database().await;
    let receiver = Receiver::start().await;
    // The first deliveries hang, so the kill finds them in flight.
    receiver.always(Reply::status(200).after(Duration::from_secs(30)));

    let server = Server::start(&database.url, &[]);
    let app = TestApp::at(&server.base);
    app.post(
        "/webhooks",
        json!({"url": receiver.url, "events": ["flag.*"], "timeoutSeconds": 2}),
    )
    .await
    .ok();
    let mut flags = Vec::new();
    for n in 0..10 {
        flags.push(app.create_flag(&format!("crash-{n}")).await["id"].as_i64().unwrap());
    }
    let in_flight = receiver.wait_for(1).await;
    server.kill();
    let received_before_restart = receiver.received().len();

    receiver.always(Reply::status(200));
    let server = Server::start(&database.url, &[]);
    let app = TestApp::at(&server.base);
    // Every delivery completes after the restart; those the kill interrupted are repeated.
    for _ in 0..300 {
        let webhook = app.get("/webhooks").await.ok()[0].clone();
        if webhook["pendingDeliveries"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after_restart = &receiver.received()[received_before_restart..];
    let all_ids: HashSet<String> = receiver
        .received()
        .iter()
        .map(|request| request.header("x-flagr-delivery").to_owned())
        .collect();
    assert_eq!(
        all_ids.len(),
        flags.len(),
        "one delivery id per change, however often it was sent"
    );
    for interrupted in &in_flight {
        let id = interrupted.header("x-flagr-delivery");
        assert!(
            after_restart
                .iter()
                .any(|request| request.header("x-flagr-delivery") == id),
            "{id} was sent again"
        );
    }
    let deliveries = app.get("/webhooks/1/deliveries?limit=100").await.ok();
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), flags.len());
    assert!(
        deliveries.iter().all(|delivery| delivery["status"] == "delivered"),
        "{deliveries:?}"
    );
    drop(server);
}

/// Concurrent changes commit together (group commit), and each is answered only once its group
/// has committed: killed with SIGKILL while four writers change a flag, the server has lost none
/// of the changes it answered, and after the restart each of them reaches both webhooks.
#[tokio::test]
async fn a_server_killed_under_concurrent_writes_keeps_every_change_it_answered() {
    let database = test_database().await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(200));
    let server = Server::start(&database.url, &[]);
    let app = TestApp::at(&server.base);
    for _ in 0..2 {
        app.post("/webhooks", json!({"url": receiver.url, "events": ["flag.updated"]}))
            .await
            .ok();
    }
    let flag = app.create_flag("written-at-the-kill").await["id"].as_i64().unwrap();

    let answered = Arc::new(AtomicUsize::new(0));
    let url = format!("{}/api/v1/flags/{flag}", server.base);
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (url, answered) = (url.clone(), answered.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut descriptions = Vec::new();
                for change in 0.. {
                    let description = format!("writer {writer}, change {change}");
                    match client
                        .put(&url)
                        .json(&json!({ "description": description }))
                        .send()
                        .await
                    {
                        Ok(reply) if reply.status() == 200 => {
                            descriptions.push(description);
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(reply) => panic!("a change was refused: {}", reply.status()),
                        // The server is gone; a change without an answer may or may not be made.
                        Err(_) => break,
                    }
                }
                descriptions
            })
        })
        .collect();
    while answered.load(Ordering::Relaxed) < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let mut descriptions = Vec::new();
    for writer in writers {
        descriptions.extend(writer.await.unwrap());
    }

    let server = Server::start(&database.url, &[]);
    let app = TestApp::at(&server.base);
    let logged: HashSet<String> = app
        .get(&format!("/changes?flag_id={flag}&limit=1000"))
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["data"]["description"].as_str().unwrap().to_owned())
        .collect();
    for description in &descriptions {
        assert!(
            logged.contains(description),
            "the answered change \"{description}\" is in the log"
        );
    }
    // Every logged update (answered or not) reaches both webhooks, once per delivery id.
    let updates = logged.len() - 1;
    for _ in 0..300 {
        let webhooks = app.get("/webhooks").await.ok();
        if webhooks
            .as_array()
            .unwrap()
            .iter()
            .all(|webhook| webhook["pendingDeliveries"] == 0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut received: HashMap<String, HashSet<String>> = HashMap::new();
    for request in receiver.received() {
        let description = request.json()["data"]["description"].as_str().unwrap().to_owned();
        received
            .entry(description)
            .or_default()
            .insert(request.header("x-flagr-delivery").to_owned());
    }
    for description in &descriptions {
        assert_eq!(
            received.get(description).map(HashSet::len),
            Some(2),
            "\"{description}\" reached both webhooks"
        );
    }
    assert_eq!(
        received.len(),
        updates,
        "every logged update was delivered, and nothing else"
    );
    drop(server);
}
