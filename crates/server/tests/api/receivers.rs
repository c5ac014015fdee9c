//! The receiver examples of `docs/webhooks.md` (docs/receivers/), run against real deliveries:
//! each must accept a delivery signed with its secret (204) and refuse one signed with another
//! (401). The Rust example runs in-process; Python, Node.js and Go run when the machine has them,
//! and say so when it does not.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

// The example's items are public for readers who copy it into their own crate.
#[allow(unreachable_pub)]
#[path = "../../../../docs/receivers/receiver.rs"]
mod rust_receiver;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/receivers")
        .join(name)
}

/// A receiver example running as a child process, killed when dropped.
struct Example(Child);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program args...` with the secret and port 0; returns it and the URL it listens on,
/// or `None` when the program is not installed.
fn start(program: &str, args: &[&str]) -> Option<(Example, String)> {
    let mut child = Command::new(program)
        .args(args)
        .env("BUNTING_WEBHOOK_SECRET", SECRET)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut lines = BufReader::new(child.stdout.take()?).lines();
    let port = loop {
        let line = lines.next()?.ok()?;
        if let Some(port) = line.strip_prefix("listening on ") {
            break port.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Some((Example(child), format!("http://127.0.0.1:{port}/hook")))
}

/// A delivery signed with the receiver's secret is accepted; one signed with another is refused.
async fn check(app: &TestApp, url: &str, name: &str) {
    let good = app
        .create_webhook(json!({"url": url, "events": ["flag.created"], "secret": SECRET}))
        .await;
    let bad = app
        .create_webhook(json!({"url": url, "events": ["flag.created"], "secret": "whsec_bm90IHRoZSBzZWNyZXQ="}))
        .await;
    app.create_flag(&format!("verified-by-{name}")).await;
    let accepted = app
        .delivery_where(good, |delivery| delivery["lastStatusCode"].is_i64())
        .await;
    assert_eq!(
        accepted["lastStatusCode"], 204,
        "{name} accepts a valid delivery: {accepted}"
    );
    assert_eq!(accepted["status"], "delivered");
    let refused = app
        .delivery_where(bad, |delivery| delivery["lastStatusCode"].is_i64())
        .await;
    assert_eq!(
        refused["lastStatusCode"], 401,
        "{name} refuses a wrongly signed delivery: {refused}"
    );
}

#[tokio::test]
async fn the_rust_example_verifies_real_deliveries() {
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, rust_receiver::router(SECRET.to_owned())).await });
    check(&app, &url, "rust").await;
}

/// Compiles the Go example; `None` without a Go toolchain. (`go run` would leave the compiled
/// receiver running when the test stops it.)
fn build_go_example(out: &std::path::Path) -> Option<PathBuf> {
    let binary = out.join("receiver");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(example("receiver.go"))
        .env("GOCACHE", out.join("cache"))
        .env("GOPATH", out.join("path"))
        .env("GO111MODULE", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .ok()?;
    assert!(built.success(), "the Go receiver example compiles");
    Some(binary)
}

#[tokio::test]
async fn the_python_node_and_go_examples_verify_real_deliveries() {
    let scratch = tempfile::tempdir().unwrap();
    let python = example("receiver.py").to_string_lossy().into_owned();
    let node = example("receiver.js").to_string_lossy().into_owned();
    let go = build_go_example(scratch.path()).map(|binary| binary.to_string_lossy().into_owned());
    let examples = [
        ("python", Some(("python3".to_owned(), vec![python]))),
        ("node", Some(("node".to_owned(), vec![node]))),
        ("go", go.map(|binary| (binary, vec![]))),
    ];
    for (name, command) in examples {
        let started = command.and_then(|(program, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            start(&program, &args)
        });
        let Some((_receiver, url)) = started else {
            eprintln!("SKIPPED: the {name} receiver example (its toolchain is not installed)");
            continue;
        };
        let app = spawn_app().await;
        check(&app, &url, name).await;
    }
}
