//! The server's log lines as a test can read them: one subscriber for the whole test binary
//! keeps every `warn` and `error` line of the `bunting` crates as JSON. Tests run side by side,
//! so a test picks its own lines out by values only it has (a delivery id).

use std::io::Write;
use std::sync::{Mutex, Once};

use serde_json::Value;

static LINES: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Captured;

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LINES.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (once per test binary).
pub(crate) fn capture() {
    static START: Once = Once::new();
    START.call_once(|| {
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter("bunting=warn")
            .with_writer(|| Captured)
            .init();
    });
}

/// Every line captured so far whose fields satisfy `wanted`.
pub(crate) fn lines(wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
    let text = String::from_utf8_lossy(&LINES.lock().unwrap()).into_owned();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| wanted(line))
        .collect()
}
