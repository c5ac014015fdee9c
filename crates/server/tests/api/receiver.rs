//! A real webhook receiver on port 0: records every request it gets and answers as the test
//! tells it (a queue of scripted replies, then a default), so delivery behaviour is tested over
//! real HTTP with no mocks of our own components.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::Notify;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }

    pub(crate) fn event(&self) -> String {
        self.json()["event"].as_str().unwrap_or_default().to_owned()
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub(crate) fn with_body(mut self, body: &str) -> Reply {
        self.body = body.as_bytes().to_vec();
        self
    }

    /// A body that need not be text.
    pub(crate) fn with_bytes(mut self, body: Vec<u8>) -> Reply {
        self.body = body;
        self
    }

    pub(crate) fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Script {
    next: VecDeque<Reply>,
    default: Option<Reply>,
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
    arrived: Arc<Notify>,
}

pub(crate) struct Receiver {
    pub(crate) url: String,
    shared: Shared,
}

impl Receiver {
    /// A receiver answering 200 until told otherwise.
    pub(crate) async fn start() -> Receiver {
        let shared = Shared {
            received: Arc::default(),
            script: Arc::default(),
            arrived: Arc::new(Notify::new()),
        };
        let app = axum::Router::new().fallback(receive).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, shared }
    }

    /// Answers every request not scripted by [`Receiver::then`] with `reply`.
    pub(crate) fn always(&self, reply: Reply) {
        self.shared.script.lock().unwrap().default = Some(reply);
    }

    /// Answers the next request with `reply` (scripted replies are used in order).
    pub(crate) fn then(&self, reply: Reply) {
        self.shared.script.lock().unwrap().next.push_back(reply);
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived (at most 20 s), and returns them all.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let arrived = self.shared.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "expected {count} requests, got {}: {:?}",
                    received.len(),
                    events(&received)
                );
            }
        }
    }

    /// Asserts that at most `count` requests arrived (after `TestApp::settle`, nothing more is
    /// on its way).
    #[track_caller]
    pub(crate) fn assert_at_most(&self, count: usize) {
        let received = self.received();
        assert!(
            received.len() <= count,
            "expected at most {count} requests, got {:?}",
            events(&received)
        );
    }
}

fn events(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|request| request.header("x-flagr-event").to_owned())
        .collect()
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let reply = {
        let mut script = shared.script.lock().unwrap();
        script
            .next
            .pop_front()
            .or_else(|| script.default.clone())
            .unwrap_or_else(|| Reply::status(200))
    };
    shared.received.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    shared.arrived.notify_waiters();
    tokio::time::sleep(reply.delay).await;
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}
