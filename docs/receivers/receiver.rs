//! A Bunting webhook receiver in Rust: axum, with the `hmac`, `sha2` and `base64` crates.
//!
//! Verifies both signatures Bunting sends, answers 204 when they are valid and 401 when not.
//! Mount `router(secret)` in your axum application (`axum::serve(listener, router(secret))`).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Whether `signature` is the HMAC-SHA256 of `message` under `key`, compared in constant time.
fn signed_by(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(signature).is_ok()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// X-Flagr-Signature: hex HMAC-SHA256 of the raw body, keyed with the secret's bytes. During a
/// secret rotation the header lists several signatures separated by commas.
pub fn verify_flagr_signature(secret: &str, body: &[u8], header: &str) -> bool {
    header
        .split(',')
        .filter_map(|given| from_hex(given.trim()))
        .any(|given| signed_by(secret.as_bytes(), body, &given))
}

/// Standard Webhooks: `webhook-signature` holds space-separated `v1,<base64>` entries, each an
/// HMAC-SHA256 of `id.timestamp.body`. A `whsec_` secret's key is its base64-decoded rest.
pub fn verify_standard_signature(secret: &str, id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    let Ok(sent) = timestamp.parse::<i64>() else {
        return false;
    };
    if (now - sent).abs() > TOLERANCE_SECONDS {
        return false; // too old or from the future: a replay
    }
    let key = match secret.strip_prefix("whsec_").map(|rest| STANDARD.decode(rest)) {
        Some(Ok(decoded)) => decoded,
        _ => secret.as_bytes().to_vec(),
    };
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body].concat();
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|given| STANDARD.decode(given).ok())
        .any(|given| signed_by(&key, &signed, &given))
}

/// The receiving route.
pub fn router(secret: String) -> Router {
    Router::new()
        .route("/", post(receive))
        .route("/hook", post(receive))
        .with_state(secret)
}

async fn receive(State(secret): State<String>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    };
    let valid = verify_flagr_signature(&secret, &body, header("x-flagr-signature"))
        && verify_standard_signature(
            &secret,
            header("webhook-id"),
            header("webhook-timestamp"),
            &body,
            header("webhook-signature"),
        );
    if !valid {
        return StatusCode::UNAUTHORIZED;
    }
    // Deliveries are at least once: drop repeats by X-Flagr-Delivery (or the event "id"), and
    // drop an update older than one already applied by "sequence".
    StatusCode::NO_CONTENT
}
