//! Who is making a request: the actor recorded on every change (Flagr's `updatedBy`), and the
//! basic-auth gate. Sources, first that applies: a verified JWT's user claim (see `jwt`), the
//! basic-auth user, the configured user header, the configured cookie's JWT claim; otherwise the
//! actor is `anonymous`. With `BUNTING_AUTH=tokens` an API token comes first (see `access`).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use bunting_core::change::ANONYMOUS;

use super::AppState;
use super::access::TokenCaller;
use super::jwt::JwtSubject;
use crate::config::{BasicAuth, IdentityConfig};

/// The actor of a request.
pub(crate) struct Actor(pub(crate) String);

impl FromRequestParts<AppState> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(TokenCaller(token)) = parts.extensions.get::<TokenCaller>() {
            return Ok(Actor(token.name.clone()));
        }
        // A verified JWT's claim comes first, as in Flagr.
        if let Some(JwtSubject(subject)) = parts.extensions.get::<JwtSubject>() {
            return Ok(Actor(subject.clone()));
        }
        Ok(Actor(
            actor(&state.identity, &parts.headers)
                .filter(|actor| !actor.is_empty())
                .unwrap_or_else(|| ANONYMOUS.to_owned()),
        ))
    }
}

/// The user Flagr's identity sources vouch for: a verified JWT's claim, basic-auth credentials
/// that match, or the header or cookie an upstream proxy sets. Unlike [`actor`], unchecked
/// basic-auth credentials (on a whitelisted path) do not count.
pub(crate) fn authenticated_user(
    identity: &IdentityConfig,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> Option<String> {
    if let Some(JwtSubject(subject)) = extensions.get::<JwtSubject>() {
        return Some(subject.clone());
    }
    if let Some(auth) = &identity.basic_auth
        && credentials_match(auth, headers)
    {
        return basic_credentials(headers).map(|(user, _)| user);
    }
    let proxied = IdentityConfig {
        basic_auth: None,
        ..identity.clone()
    };
    actor(&proxied, headers).filter(|user| !user.is_empty())
}

fn actor(identity: &IdentityConfig, headers: &HeaderMap) -> Option<String> {
    if identity.basic_auth.is_some()
        && let Some((user, _)) = basic_credentials(headers)
    {
        return Some(user);
    }
    if let Some(name) = &identity.user_header
        && let Some(value) = headers.get(name).and_then(|value| value.to_str().ok())
    {
        return Some(value.to_owned());
    }
    if let Some((cookie, claim)) = &identity.user_cookie {
        return cookie_value(headers, cookie).and_then(|token| unverified_claim(&token, claim));
    }
    None
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

pub(super) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A string claim of a JWT's payload, read without checking the signature (Flagr's cookie auth
/// is identity only: the proxy in front has verified the token).
fn unverified_claim(token: &str, claim: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(claim)?.as_str().map(str::to_owned)
}

/// Refuses requests without the configured basic-auth credentials, except on whitelisted paths
/// and requests an API token authenticated.
pub(crate) async fn require_basic_auth(State(auth): State<Arc<BasicAuth>>, request: Request, next: Next) -> Response {
    let has_token = request.extensions().get::<TokenCaller>().is_some();
    if has_token || is_whitelisted(&auth, request.uri().path()) || credentials_match(&auth, request.headers()) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"you shall not pass\"")],
        "Not authorized",
    )
        .into_response()
}

fn is_whitelisted(auth: &BasicAuth, path: &str) -> bool {
    auth.exact_whitelist_paths.iter().any(|exact| exact == path)
        || auth
            .whitelist_paths
            .iter()
            .any(|prefix| path.starts_with(prefix.as_str()))
}

fn credentials_match(auth: &BasicAuth, headers: &HeaderMap) -> bool {
    basic_credentials(headers).is_some_and(|(user, password)| {
        // Compare both in full, whatever the first result, so timing does not tell which differed.
        let user_ok = constant_time_eq(user.as_bytes(), auth.username.as_bytes());
        let password_ok = constant_time_eq(password.as_bytes(), auth.password.expose().as_bytes());
        user_ok & password_ok
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn header_identity() {
        let identity = IdentityConfig {
            user_header: Some("X-Email".into()),
            ..Default::default()
        };
        assert_eq!(
            actor(&identity, &headers(&[("x-email", "a@b.c")])).as_deref(),
            Some("a@b.c")
        );
        assert_eq!(actor(&identity, &headers(&[])), None);
        assert_eq!(
            actor(&IdentityConfig::default(), &headers(&[("x-email", "a@b.c")])),
            None
        );
    }

    #[test]
    fn cookie_identity_reads_the_claim() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"email":"carol@example.com"}"#);
        let token = format!("e30.{payload}.sig");
        let identity = IdentityConfig {
            user_cookie: Some(("CF_Authorization".into(), "email".into())),
            ..Default::default()
        };
        let cookie = format!("other=1; CF_Authorization={token}");
        assert_eq!(
            actor(&identity, &headers(&[("cookie", &cookie)])).as_deref(),
            Some("carol@example.com")
        );
    }

    #[test]
    fn basic_auth_user_is_the_actor_and_credentials_are_checked() {
        let auth = BasicAuth {
            username: "admin".into(),
            password: "s3cret".into(),
            whitelist_paths: vec!["/api/v1/health".into()],
            exact_whitelist_paths: vec![],
        };
        let good = headers(&[("authorization", &format!("Basic {}", STANDARD.encode("admin:s3cret")))]);
        let bad = headers(&[("authorization", &format!("Basic {}", STANDARD.encode("admin:nope")))]);
        assert!(credentials_match(&auth, &good));
        assert!(!credentials_match(&auth, &bad));
        assert!(is_whitelisted(&auth, "/api/v1/health"));
        assert!(!is_whitelisted(&auth, "/api/v1/tags"));
        let identity = IdentityConfig {
            basic_auth: Some(auth),
            ..Default::default()
        };
        assert_eq!(actor(&identity, &good).as_deref(), Some("admin"));
    }
}
