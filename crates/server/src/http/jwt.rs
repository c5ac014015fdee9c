//! Flagr's JWT auth (`FLAGR_JWT_AUTH_*`): requests outside the whitelists need a valid token,
//! taken from the configured cookie first, then an `Authorization: Bearer` header. A valid
//! token's user claim becomes the request's actor. Tokens are HMAC-signed with the secret
//! (HS256, HS512) or RSA-signed and checked with the PEM public key the secret holds (RS256),
//! as Flagr accepts them.
//!
//! Verified here rather than with `jsonwebtoken` (checked for issue 16): its RustCrypto backend
//! brings 18 crates we do not use (Ed25519, P-256, P-384 among them), its clock cannot be set
//! by tests, and it accepts a token at the second it expires.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use serde_json::Value;
use sha2::Sha256;

use super::access::TokenCaller;
use super::identity::cookie_value;
use crate::config::{JwtAlgorithm, JwtAuth, rsa_public_key};

/// The user a verified token names, left in the request for the actor.
#[derive(Debug, Clone)]
pub(crate) struct JwtSubject(pub(crate) String);

/// The settings with the RS256 key parsed once, when the router is built.
pub(crate) struct JwtVerifier {
    auth: JwtAuth,
    /// `None` for the HMAC algorithms, and for a key that does not parse (start-up refuses
    /// one, so that only happens to an unchecked configuration): every RS256 token then fails.
    rsa_key: Option<VerifyingKey<Sha256>>,
}

pub(crate) async fn require_jwt(
    State(verifier): State<Arc<JwtVerifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    let auth = &verifier.auth;
    let path = request.uri().path();
    let refusing = auth.no_token_status == 401;
    let whitelisted = auth
        .whitelist_paths
        .iter()
        .any(|prefix| path.starts_with(prefix.as_str()))
        || (refusing && auth.exact_whitelist_paths.iter().any(|exact| exact == path));
    // An API token authenticated the request already; it carries no JWT.
    if request.extensions().get::<TokenCaller>().is_some() {
        return next.run(request).await;
    }
    match token(auth, request.headers()).and_then(|token| verifier.verify(&token, unix_now())) {
        Some(claims) => {
            let subject = claims
                .get(&auth.user_claim)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            request.extensions_mut().insert(JwtSubject(subject));
            next.run(request).await
        }
        None if whitelisted => next.run(request).await,
        None if refusing => {
            let realm = format!("Bearer realm=\"{}\"", auth.redirect_url);
            let mut response = (StatusCode::UNAUTHORIZED, "Not authorized").into_response();
            if let Ok(realm) = HeaderValue::from_str(&realm) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, realm);
            }
            response
        }
        None => {
            let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
            if let Ok(location) = HeaderValue::from_str(&auth.redirect_url) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

fn token(auth: &JwtAuth, headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, &auth.cookie_name).or_else(|| {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        value.strip_prefix("Bearer ").map(|token| token.trim().to_owned())
    })
}

impl JwtVerifier {
    pub(crate) fn new(auth: JwtAuth) -> JwtVerifier {
        let rsa_key = match auth.algorithm {
            JwtAlgorithm::Rs256 => rsa_public_key(auth.secret.expose()).ok(),
            JwtAlgorithm::Hs256 | JwtAlgorithm::Hs512 => None,
        };
        JwtVerifier { auth, rsa_key }
    }

    /// The claims of a token signed with the configured secret or key and algorithm, and not
    /// expired or not yet valid at `now`.
    fn verify(&self, token: &str, now: i64) -> Option<serde_json::Map<String, Value>> {
        let auth = &self.auth;
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
        let header_json: Value = serde_json::from_slice(&decode(header)?).ok()?;
        // The algorithm is the server's choice, never the token's: "none" or a swapped algorithm
        // fail.
        if header_json.get("alg")?.as_str()? != auth.algorithm.name() {
            return None;
        }
        let signed = format!("{header}.{payload}");
        let signature = decode(signature)?;
        let valid = match auth.algorithm {
            JwtAlgorithm::Hs256 => verify_mac::<hmac::Hmac<sha2::Sha256>>(auth.secret.expose(), &signed, &signature),
            JwtAlgorithm::Hs512 => verify_mac::<hmac::Hmac<sha2::Sha512>>(auth.secret.expose(), &signed, &signature),
            JwtAlgorithm::Rs256 => self.rsa_key.as_ref().is_some_and(|key| {
                Signature::try_from(signature.as_slice())
                    .is_ok_and(|signature| key.verify(signed.as_bytes(), &signature).is_ok())
            }),
        };
        if !valid {
            return None;
        }
        let claims: serde_json::Map<String, Value> = serde_json::from_slice(&decode(payload)?).ok()?;
        let expired = claims.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp <= now);
        let early = claims.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now);
        (!expired && !early).then_some(claims)
    }
}

fn verify_mac<M: Mac + KeyInit>(secret: &str, signed: &str, signature: &[u8]) -> bool {
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(signed.as_bytes());
    mac.verify_slice(signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A public key made with `openssl genrsa 2048` (in both PEM forms), and tokens signed with
    /// its private half by `openssl dgst -sha256 -sign` for `{"sub":"carol@example.com"}`,
    /// expiring in 2100 and in 2001. The HTTP tests use the same files.
    const RS256_PUBLIC_KEY: &str = include_str!("../../tests/data/rs256_public.pem");
    const RS256_PUBLIC_KEY_PKCS1: &str = include_str!("../../tests/data/rs256_public_pkcs1.pem");
    const RS256_TOKEN: &str = include_str!("../../tests/data/rs256_token.txt");
    const RS256_EXPIRED: &str = include_str!("../../tests/data/rs256_expired_token.txt");

    fn auth(algorithm: JwtAlgorithm) -> JwtAuth {
        JwtAuth {
            secret: "s3cret".into(),
            algorithm,
            cookie_name: "access_token".into(),
            whitelist_paths: vec![],
            exact_whitelist_paths: vec![],
            no_token_status: 401,
            redirect_url: String::new(),
            user_claim: "sub".into(),
        }
    }

    fn check(auth: JwtAuth, token: &str, now: i64) -> Option<serde_json::Map<String, Value>> {
        JwtVerifier::new(auth).verify(token, now)
    }

    /// A token signed as a JWT library would sign it.
    fn sign(algorithm: &str, secret: &str, claims: &Value) -> String {
        fn mac<M: Mac + KeyInit>(secret: &str, signed: &str) -> Vec<u8> {
            let mut mac = <M as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(signed.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        let header = URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": algorithm, "typ": "JWT"}).to_string());
        let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = match algorithm {
            "HS512" => mac::<hmac::Hmac<sha2::Sha512>>(secret, &signed),
            _ => mac::<hmac::Hmac<sha2::Sha256>>(secret, &signed),
        };
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[test]
    fn only_tokens_signed_with_the_secret_and_algorithm_pass() {
        let claims = serde_json::json!({"sub": "alice", "exp": 2_000_000_000});
        let good = sign("HS256", "s3cret", &claims);
        assert_eq!(
            check(auth(JwtAlgorithm::Hs256), &good, 1_800_000_000).unwrap()["sub"],
            "alice"
        );
        assert!(
            check(
                auth(JwtAlgorithm::Hs256),
                &sign("HS256", "wrong", &claims),
                1_800_000_000
            )
            .is_none()
        );
        assert!(
            check(auth(JwtAlgorithm::Hs512), &good, 1_800_000_000).is_none(),
            "the algorithm is ours to pick"
        );
        let long = sign("HS512", "s3cret", &claims);
        assert!(check(auth(JwtAlgorithm::Hs512), &long, 1_800_000_000).is_some());
        assert!(
            check(auth(JwtAlgorithm::Hs256), &good, 2_000_000_000).is_none(),
            "expired"
        );
        let early = sign(
            "HS256",
            "s3cret",
            &serde_json::json!({"sub": "a", "nbf": 1_900_000_000}),
        );
        assert!(
            check(auth(JwtAlgorithm::Hs256), &early, 1_800_000_000).is_none(),
            "not yet valid"
        );
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert!(check(auth(JwtAlgorithm::Hs256), &unsigned, 0).is_none());
    }

    #[test]
    fn rs256_tokens_are_checked_with_the_public_key() {
        let rs256 = |pem: &str| JwtAuth {
            secret: pem.into(),
            ..auth(JwtAlgorithm::Rs256)
        };
        let now = 1_800_000_000;
        for pem in [RS256_PUBLIC_KEY, RS256_PUBLIC_KEY_PKCS1] {
            assert_eq!(
                check(rs256(pem), RS256_TOKEN.trim(), now).unwrap()["sub"],
                "carol@example.com"
            );
        }
        let on_one_line = RS256_PUBLIC_KEY.trim().replace('\n', "\\n");
        assert!(
            check(rs256(&on_one_line), RS256_TOKEN.trim(), now).is_some(),
            "\\n read as line breaks"
        );
        assert!(
            check(rs256(RS256_PUBLIC_KEY), RS256_EXPIRED.trim(), now).is_none(),
            "expired"
        );
        let (signed, _) = RS256_TOKEN.trim().rsplit_once('.').unwrap();
        let (_, signature) = RS256_EXPIRED.trim().rsplit_once('.').unwrap();
        let spliced = format!("{signed}.{signature}");
        assert!(
            check(rs256(RS256_PUBLIC_KEY), &spliced, now).is_none(),
            "another token's signature"
        );
        // The classic confusion: an HMAC token keyed with the public key text itself.
        let confused = sign("HS256", RS256_PUBLIC_KEY, &serde_json::json!({"sub": "mallory"}));
        assert!(
            check(rs256(RS256_PUBLIC_KEY), &confused, now).is_none(),
            "the algorithm is ours"
        );
        assert!(rsa_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err());
    }
}
