//! How a delivery is signed: the legacy `X-Flagr-Signature` (hex HMAC-SHA256 of the body, as
//! Flagr's webhooks document) and the Standard Webhooks `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`), both from the same secret, plus
//! secret generation and a verifier receivers can mirror.
//!
//! Owns the byte-exact formats only. Choosing the message id and timestamp, drawing random bytes,
//! storing secrets and deciding when an old secret stops being valid belong to the dispatcher.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of a Standard Webhooks symmetric secret; the rest is the base64 key.
pub const SECRET_PREFIX: &str = "whsec_";

fn keyed(key: &[u8]) -> HmacSha256 {
    // `new_from_slice` can only fail for primitives with a fixed key length; HMAC takes a key of
    // any length (RFC 2104 hashes long keys and pads short ones), so no input reaches this arm.
    let Ok(mac) = HmacSha256::new_from_slice(key) else {
        unreachable!("HMAC-SHA256 accepts keys of any length")
    };
    mac
}

/// The `X-Flagr-Signature` value: lowercase hex HMAC-SHA256 of the raw body, keyed with the
/// secret's UTF-8 bytes exactly as stored. A `whsec_` secret is not decoded here, so existing
/// Flagr receivers verify with the string they were given.
pub fn flagr_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = keyed(secret.as_bytes());
    mac.update(body);
    to_hex(&mac.finalize().into_bytes())
}

/// The HMAC key of a Standard Webhooks signature: for a `whsec_` secret, the base64-decoded rest,
/// as the reference libraries do; if that is not valid base64, or for any other secret, the raw
/// bytes of the whole secret, so a Flagr-era secret can sign both headers.
fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// One Standard Webhooks signature entry: `v1,` then the base64 HMAC-SHA256 of
/// `"{message_id}.{timestamp}.{body}"`. The message id is the same on every retry; the timestamp
/// is the attempt's Unix seconds.
pub fn standard_signature(secret: &str, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = keyed(&standard_key(secret));
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one `v1,...` entry per valid secret, space-separated, the
/// current secret first. `previous` holds the old secrets still inside their rotation overlap;
/// the dispatcher leaves out any whose overlap has ended. Receivers accept any matching entry.
pub fn standard_signature_header(
    current: &str,
    previous: &[&str],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    std::iter::once(current)
        .chain(previous.iter().copied())
        .map(|secret| standard_signature(secret, message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `X-Flagr-Signature` header: the current secret's hex signature, followed by one per old
/// secret still inside its rotation overlap, comma-separated. Outside a rotation it is a single
/// signature, byte for byte what Flagr receivers expect.
pub fn flagr_signature_header(current: &str, previous: &[&str], body: &[u8]) -> String {
    std::iter::once(current)
        .chain(previous.iter().copied())
        .map(|secret| flagr_signature(secret, body))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether an `X-Flagr-Signature` header carries a valid signature of `body` under `secret`:
/// any of its comma-separated hex entries (either case) must match. Each comparison is constant
/// time, so a receiver learns nothing from how long a wrong guess takes.
pub fn verify_flagr_signature(secret: &str, body: &[u8], header: &str) -> bool {
    let mut mac = keyed(secret.as_bytes());
    mac.update(body);
    header
        .split(',')
        .filter_map(|entry| from_hex(entry.trim()))
        .any(|candidate| mac.clone().verify_slice(&candidate).is_ok())
}

/// A new secret: `whsec_` plus the standard base64 of 24 random bytes (the Standard Webhooks
/// minimum). The caller draws the bytes from a cryptographic RNG.
pub fn generate_secret(random: &[u8; 24]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random))
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Standard Webhooks test vector (webhook-systems.md §2, from the reference Rust library).
    const SW_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SW_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SW_TIMESTAMP: i64 = 1649367553;
    const SW_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SW_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const RFC4231_KEY: &str = "Jefe";
    const RFC4231_DATA: &[u8] = b"what do ya want for nothing?";
    const RFC4231_HMAC: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn standard_signature_matches_the_spec_vector() {
        assert_eq!(
            standard_signature(SW_SECRET, SW_ID, SW_TIMESTAMP, SW_BODY),
            SW_SIGNATURE
        );
    }

    #[test]
    fn standard_signature_covers_id_timestamp_and_body() {
        for (id, timestamp, body) in [
            ("msg_other", SW_TIMESTAMP, SW_BODY),
            (SW_ID, SW_TIMESTAMP + 1, SW_BODY),
            (SW_ID, SW_TIMESTAMP, &b"{}"[..]),
        ] {
            assert_ne!(standard_signature(SW_SECRET, id, timestamp, body), SW_SIGNATURE);
        }
    }

    #[test]
    fn flagr_signature_is_hex_hmac_of_the_body() {
        assert_eq!(flagr_signature(RFC4231_KEY, RFC4231_DATA), RFC4231_HMAC);
    }

    #[test]
    fn flagr_signature_keys_with_the_whole_secret_string() {
        // The `whsec_` prefix is part of the key here: Flagr receivers HMAC with the string.
        let raw = {
            let mut mac = keyed(SW_SECRET.as_bytes());
            mac.update(SW_BODY);
            to_hex(&mac.finalize().into_bytes())
        };
        assert_eq!(flagr_signature(SW_SECRET, SW_BODY), raw);
    }

    #[test]
    fn standard_key_rules() {
        let cases: &[(&str, &[u8])] = &[
            // `whsec_` + valid base64: the decoded bytes.
            ("whsec_SmVmZQ==", b"Jefe"),
            // `whsec_` + invalid base64: the whole secret's bytes.
            ("whsec_not base64!", b"whsec_not base64!"),
            // Any other secret: its raw bytes.
            ("Jefe", b"Jefe"),
            ("SmVmZQ==", b"SmVmZQ=="),
        ];
        for (secret, key) in cases {
            assert_eq!(standard_key(secret), *key, "{secret}");
        }
    }

    #[test]
    fn standard_signature_of_a_plain_secret_uses_its_bytes() {
        // "Jefe" and "whsec_" + base64("Jefe") are the same key.
        assert_eq!(
            standard_signature("Jefe", SW_ID, SW_TIMESTAMP, SW_BODY),
            standard_signature("whsec_SmVmZQ==", SW_ID, SW_TIMESTAMP, SW_BODY)
        );
    }

    #[test]
    fn rotation_headers_list_the_new_secret_first() {
        let old = "whsec_SmVmZQ==";
        assert_eq!(
            standard_signature_header(SW_SECRET, &[], SW_ID, SW_TIMESTAMP, SW_BODY),
            SW_SIGNATURE
        );
        assert_eq!(
            standard_signature_header(SW_SECRET, &[old], SW_ID, SW_TIMESTAMP, SW_BODY),
            format!(
                "{SW_SIGNATURE} {}",
                standard_signature(old, SW_ID, SW_TIMESTAMP, SW_BODY)
            )
        );
        assert_eq!(flagr_signature_header(RFC4231_KEY, &[], RFC4231_DATA), RFC4231_HMAC);
        assert_eq!(
            flagr_signature_header(RFC4231_KEY, &[old], RFC4231_DATA),
            format!("{RFC4231_HMAC},{}", flagr_signature(old, RFC4231_DATA))
        );
    }

    #[test]
    fn verifies_flagr_signatures() {
        let other = flagr_signature("other", RFC4231_DATA);
        let cases: &[(&str, bool)] = &[
            (RFC4231_HMAC, true),
            (&RFC4231_HMAC.to_uppercase(), true),
            (&format!(" {RFC4231_HMAC} "), true),
            // During rotation the header lists several signatures; one matching is enough.
            (&format!("{other},{RFC4231_HMAC}"), true),
            (&other, false),
            (&RFC4231_HMAC[..62], false),
            (&format!("{RFC4231_HMAC}00"), false),
            ("zz", false),
            ("", false),
        ];
        for (header, expected) in cases {
            assert_eq!(
                verify_flagr_signature(RFC4231_KEY, RFC4231_DATA, header),
                *expected,
                "{header}"
            );
        }
        assert!(!verify_flagr_signature(RFC4231_KEY, b"tampered", RFC4231_HMAC));
    }

    #[test]
    fn generated_secrets_are_whsec_base64_of_the_bytes() {
        let random: [u8; 24] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let secret = generate_secret(&random);
        assert_eq!(secret, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
        assert_eq!(standard_key(&secret), random);
        assert_eq!(generate_secret(&[0; 24]), "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    }

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }
}
