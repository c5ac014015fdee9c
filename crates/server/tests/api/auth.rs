//! Flagr's JWT auth: tokens required outside the whitelists, verified, and their user claim
//! recorded as the actor of every change.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bunting::config::{JwtAlgorithm, JwtAuth};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

fn token(secret: &str, claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

async fn protected(no_token_status: u16) -> TestApp {
    spawn_app_with(move |config| {
        config.identity.jwt = Some(JwtAuth {
            secret: "jwt-secret".into(),
            algorithm: JwtAlgorithm::Hs256,
            cookie_name: "access_token".into(),
            whitelist_paths: vec!["/api/v1/health".into(), "/api/v1/evaluation".into()],
            exact_whitelist_paths: vec!["/".into()],
            no_token_status,
            redirect_url: "https://login.example.com".into(),
            user_claim: "sub".into(),
        });
    })
    .await
}

#[tokio::test]
async fn rs256_tokens_are_checked_with_the_configured_public_key() {
    let app = spawn_app_with(|config| {
        config.identity.jwt = Some(JwtAuth {
            secret: include_str!("../data/rs256_public.pem").into(),
            algorithm: JwtAlgorithm::Rs256,
            cookie_name: "access_token".into(),
            whitelist_paths: vec![],
            exact_whitelist_paths: vec![],
            no_token_status: 401,
            redirect_url: "https://login.example.com".into(),
            user_claim: "sub".into(),
        });
    })
    .await;
    let url = format!("{}/api/v1/flags", app.base);
    let carol = include_str!("../data/rs256_token.txt").trim();
    let created = app
        .send(
            app.client
                .post(&url)
                .bearer_auth(carol)
                .json(&json!({"description": "d"})),
        )
        .await
        .ok();
    assert_eq!(created["createdBy"], "carol@example.com");
    let expired = include_str!("../data/rs256_expired_token.txt").trim();
    assert_eq!(app.send(app.client.get(&url).bearer_auth(expired)).await.status, 401);
    let hmac = token("jwt-secret", json!({"sub": "mallory"}));
    assert_eq!(app.send(app.client.get(&url).bearer_auth(hmac)).await.status, 401);
}

#[tokio::test]
async fn a_valid_token_is_required_and_names_the_actor() {
    let app = protected(401).await;
    let url = format!("{}/api/v1/flags", app.base);
    let refused = app.send(app.client.get(&url)).await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.headers["www-authenticate"],
        "Bearer realm=\"https://login.example.com\""
    );
    let forged = token("not-the-secret", json!({"sub": "mallory"}));
    assert_eq!(app.send(app.client.get(&url).bearer_auth(forged)).await.status, 401);
    let expired = token("jwt-secret", json!({"sub": "alice", "exp": 1_000_000_000}));
    assert_eq!(app.send(app.client.get(&url).bearer_auth(expired)).await.status, 401);
    assert_eq!(app.get("/health").await.status, 200, "whitelisted");
    assert_eq!(
        app.post("/evaluation", json!({"flagID": 1})).await.status,
        200,
        "whitelisted"
    );

    let alice = token(
        "jwt-secret",
        json!({"sub": "alice@example.com", "exp": 4_000_000_000_i64}),
    );
    let created = app
        .send(
            app.client
                .post(&url)
                .bearer_auth(&alice)
                .json(&json!({"description": "d"})),
        )
        .await
        .ok();
    assert_eq!(created["createdBy"], "alice@example.com");
    let bob = token("jwt-secret", json!({"sub": "bob@example.com"}));
    let cookie = app
        .client
        .put(format!("{url}/{}", created["id"]))
        .header("Cookie", format!("access_token={bob}"))
        .json(&json!({"description": "changed"}));
    assert_eq!(
        app.send(cookie).await.ok()["updatedBy"],
        "bob@example.com",
        "the cookie is read first"
    );
}

#[tokio::test]
async fn without_a_token_browsers_are_redirected_by_default() {
    let app = protected(307).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reply = app.send(client.get(format!("{}/api/v1/flags", app.base))).await;
    assert_eq!(reply.status, 307);
    assert_eq!(reply.headers["location"], "https://login.example.com");
}
