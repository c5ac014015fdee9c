//! Sealing secrets at rest: webhook signing secrets and URL passwords are stored encrypted with
//! an authenticated cipher (XChaCha20-Poly1305) under a 256-bit key the operator keeps outside
//! the database. A sealed value reads `sealed:v1:` followed by the standard base64 of a random
//! 24-byte nonce and the ciphertext with its tag, so a plain value an older version stored is
//! told apart from a sealed one, and a future format can take `v2`.
//!
//! Only this module touches the cipher; the store seals on the way in and opens on the way out,
//! so everything above it handles [`Secret`]s. Where the key comes from is the server's business.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bunting_core::secret::Secret;
use chacha20poly1305::aead::{Aead, Generate, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// What every sealed value starts with.
const PREFIX: &str = "sealed:";
/// The format this version writes: XChaCha20-Poly1305, nonce first, base64.
const V1: &str = "sealed:v1:";
const NONCE_BYTES: usize = 24;
const KEY_BYTES: usize = 32;

/// A 256-bit key, written as standard base64 (44 characters, e.g. `openssl rand -base64 32`).
/// Never printed.
#[derive(Clone)]
pub struct SecretKey(Key);

impl SecretKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> SecretKey {
        SecretKey(Key::generate())
    }

    /// Reads a key written as standard base64 of 32 bytes; surrounding whitespace (a file's
    /// final newline) is ignored. The error never quotes the text.
    pub fn parse(text: &str) -> Result<SecretKey, KeyError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| KeyError::NotBase64)?;
        let bytes: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| KeyError::Length(bytes.len()))?;
        Ok(SecretKey(Key::from(bytes)))
    }

    /// The key as [`parse`](SecretKey::parse) reads it, for writing a generated key to a file.
    pub fn encode(&self) -> String {
        STANDARD.encode(self.0.as_slice())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the secret key is not standard base64; generate one with `openssl rand -base64 32`")]
    NotBase64,
    #[error("the secret key is {0} bytes long, and must be 32 (256 bits); generate one with `openssl rand -base64 32`")]
    Length(usize),
}

/// Seals and opens values under one key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

/// Why a stored value cannot be opened. None of the messages quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OpenError {
    #[error(
        "it was sealed with another key than the one configured, or it was altered (the wrong key, \
         or a damaged value)"
    )]
    WrongKey,
    #[error("it is sealed in a format this version does not know ({0}); it was written by a newer Bunting")]
    UnknownFormat(String),
    #[error("it is not a well-formed sealed value")]
    Malformed,
}

impl Sealer {
    pub fn new(key: &SecretKey) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&key.0),
        }
    }

    /// `plain` sealed under a fresh random nonce: sealing the same value twice gives two
    /// different texts.
    pub(crate) fn seal(&self, plain: &str) -> String {
        let nonce = XNonce::generate();
        // Encrypting into a Vec fails only for a message longer than the cipher's limit of
        // 256 GiB; our values are a few hundred bytes.
        let sealed = self.cipher.encrypt(&nonce, plain.as_bytes()).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{V1}{}", STANDARD.encode(bytes))
    }

    /// The secret in a stored value: sealed, opened with this key; or plain, as a version
    /// before sealing stored it (start-up seals those, see [`is_sealed`]).
    pub(crate) fn open(&self, stored: &str) -> Result<Secret, OpenError> {
        if !is_sealed(stored) {
            return Ok(Secret::new(stored));
        }
        let Some(encoded) = stored.strip_prefix(V1) else {
            let format = stored[PREFIX.len()..].split(':').next().unwrap_or_default();
            return Err(OpenError::UnknownFormat(format.chars().take(10).collect()));
        };
        let bytes = STANDARD.decode(encoded).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        let plain = self.cipher.decrypt(&nonce, sealed).map_err(|_| OpenError::WrongKey)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| OpenError::Malformed)
    }
}

/// Whether `stored` is a sealed value (of any format version) rather than a plain one.
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(&SecretKey::generate())
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_only() {
        let sealer = sealer();
        let sealed = sealer.seal("whsec_c2VjcmV0");
        assert!(sealed.starts_with("sealed:v1:"), "{sealed}");
        assert!(!sealed.contains("whsec_c2VjcmV0"));
        assert_eq!(sealer.open(&sealed).unwrap().expose(), "whsec_c2VjcmV0");
        assert_ne!(sealer.seal("whsec_c2VjcmV0"), sealed, "a fresh nonce every time");
        assert_eq!(self::sealer().open(&sealed), Err(OpenError::WrongKey));
    }

    #[test]
    fn tampering_is_detected() {
        let sealer = sealer();
        let sealed = sealer.seal("hunter2");
        let mut bytes = STANDARD.decode(&sealed[V1.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("{V1}{}", STANDARD.encode(&bytes));
        assert_eq!(sealer.open(&altered), Err(OpenError::WrongKey));
        assert_eq!(sealer.open("sealed:v1:!!"), Err(OpenError::Malformed));
        assert_eq!(sealer.open("sealed:v1:YWJj"), Err(OpenError::Malformed));
        assert_eq!(
            sealer.open("sealed:v9:YWJj"),
            Err(OpenError::UnknownFormat("v9".into()))
        );
    }

    #[test]
    fn plain_values_are_recognised() {
        let sealer = sealer();
        assert!(!is_sealed("whsec_abc"));
        assert!(is_sealed(&sealer.seal("")));
        assert_eq!(sealer.open("whsec_abc").unwrap().expose(), "whsec_abc");
    }

    #[test]
    fn keys_are_base64_of_32_bytes() {
        let key = SecretKey::generate();
        let text = key.encode();
        assert_eq!(text.len(), 44);
        let again = SecretKey::parse(&format!("{text}\n")).unwrap();
        let sealed = Sealer::new(&key).seal("x");
        assert_eq!(Sealer::new(&again).open(&sealed).unwrap().expose(), "x");
        assert_eq!(SecretKey::parse("not base64!").unwrap_err(), KeyError::NotBase64);
        assert_eq!(SecretKey::parse("YWJj").unwrap_err(), KeyError::Length(3));
        assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
    }
}
