//! Webhook secrets at rest: signing secrets and URL passwords are sealed in the database (the
//! tests read the raw rows), never shown by the API or the change log, and still used by
//! deliveries; plain values an earlier version stored are sealed at start-up; a wrong key or
//! no key on PostgreSQL stops start-up with a clear message; `bunting secrets rotate` moves
//! every secret to a new key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bunting::config::SecretKeySource;
use bunting_store::SecretKey;
use serde_json::json;

use crate::helpers::{TestApp, query_text_on, spawn_app, spawn_app_on, test_secret_key};
use crate::logs;
use crate::receiver::{Received, Receiver};
use crate::startup::{bunting, describe};
use crate::webhook_delivery::{hex, hmac};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const PASSWORD: &str = "pa55-w0rd-only-here";

/// The receiver's URL with a user and [`PASSWORD`] in it.
fn with_password(receiver: &Receiver) -> String {
    receiver.url.replacen("http://", &format!("http://bot:{PASSWORD}@"), 1)
}

fn masked(receiver: &Receiver) -> String {
    receiver.url.replacen("http://", "http://bot:***@", 1)
}

/// Asserts a delivery carried the URL's password and a signature made with `secret`.
#[track_caller]
fn assert_authentic(request: &Received, secret: &str) {
    let basic = format!("Basic {}", STANDARD.encode(format!("bot:{PASSWORD}")));
    assert_eq!(
        request.header("authorization"),
        basic,
        "the URL's password reaches the receiver"
    );
    let signatures = request.header("x-flagr-signature");
    let expected = hex(&hmac(secret.as_bytes(), request.body.as_bytes()));
    assert!(
        signatures.split(',').any(|signature| signature == expected),
        "{signatures}"
    );
}

/// The webhooks table's secret columns as stored, and every text the change log and the
/// delivery bodies hold.
async fn stored(app: &TestApp) -> (Vec<Vec<Option<String>>>, String) {
    let database = app.database_url();
    let webhooks = query_text_on(
        database,
        "SELECT url, secret, previous_secret, url_password FROM webhooks ORDER BY id",
    )
    .await;
    let mut history = String::new();
    for sql in [
        "SELECT previous, current FROM change_events",
        "SELECT body, body FROM webhook_messages",
    ] {
        for row in query_text_on(database, sql).await {
            history.extend(row.into_iter().flatten());
        }
    }
    (webhooks, history)
}

/// No secret in the clear anywhere in the rows; each secret column sealed.
#[track_caller]
fn assert_sealed(webhooks: &[Vec<Option<String>>], history: &str, secrets: &[&str]) {
    let everything = format!("{webhooks:?}{history}");
    for secret in secrets {
        assert!(
            !everything.contains(secret),
            "{secret} is stored in the clear: {everything}"
        );
    }
    for row in webhooks {
        for value in row[1..].iter().flatten() {
            assert!(value.starts_with("sealed:v1:"), "{value}");
        }
    }
}

#[tokio::test]
async fn secrets_and_url_passwords_are_sealed_shown_masked_and_still_delivered() {
    logs::capture();
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let created = app
        .post(
            "/webhooks",
            json!({"url": with_password(&receiver), "events": ["flag.*", "webhook.*"], "secret": SECRET}),
        )
        .await
        .ok();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["url"], masked(&receiver));
    // A client sends the URL back as it read it, masked: the password is kept.
    let updated = app
        .put(
            &format!("/webhooks/{id}"),
            json!({"url": masked(&receiver), "description": "ops"}),
        )
        .await
        .ok();
    assert_eq!(updated["url"], masked(&receiver));
    let rotated = app.post(&format!("/webhooks/{id}/secret/rotate"), json!({})).await.ok();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();

    app.create_flag("sealed").await;
    app.settle().await;
    let flag_delivery = receiver
        .wait_for(1)
        .await
        .into_iter()
        .find(|request| request.event() == "flag.created")
        .expect("the flag's delivery arrives");
    assert_authentic(&flag_delivery, &new_secret);
    assert_authentic(&flag_delivery, SECRET);

    let listed = app.get("/webhooks").await.ok().to_string();
    let changes = app.get("/changes?limit=100").await.ok().to_string();
    for shown in [&listed, &changes] {
        assert!(!shown.contains(PASSWORD) && !shown.contains(SECRET), "{shown}");
    }
    assert!(changes.contains(&masked(&receiver)), "{changes}");

    let (webhooks, history) = stored(&app).await;
    assert_sealed(&webhooks, &history, &[PASSWORD, SECRET, &new_secret]);
    assert_eq!(webhooks[0][0].as_deref(), Some(masked(&receiver).as_str()));
    assert!(webhooks[0][3].is_some(), "the password has a column of its own");
    assert!(logs::lines(|line| line.to_string().contains(PASSWORD)).is_empty());
}

#[tokio::test]
async fn plain_secrets_an_earlier_version_stored_are_sealed_at_start_up() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let id = app
        .create_webhook(json!({"url": receiver.url, "events": ["flag.created"], "secret": "placeholder"}))
        .await;
    // The row as a version before sealing wrote it: secret and password in the clear.
    app.execute_sql(&format!(
        "UPDATE webhooks SET secret = '{SECRET}', previous_secret = 'old-plain', \
         previous_secret_expires_at = 4102444800000000, url = '{}', url_password = NULL WHERE id = {id}",
        with_password(&receiver)
    ))
    .await;

    let upgraded = spawn_app_on(&app, |_| {}).await;
    let (webhooks, history) = stored(&app).await;
    assert_sealed(&webhooks, &history, &[PASSWORD, SECRET, "old-plain"]);
    assert_eq!(webhooks[0][0].as_deref(), Some(masked(&receiver).as_str()));

    upgraded.create_flag("after-upgrade").await;
    upgraded.settle().await;
    let request = &receiver.wait_for(1).await[0];
    assert_authentic(request, SECRET);
    assert_authentic(request, "old-plain");
    assert_eq!(
        upgraded.get(&format!("/webhooks/{id}")).await.ok()["url"],
        masked(&receiver)
    );
}

#[tokio::test]
async fn a_wrong_key_stops_start_up_naming_the_secret_it_cannot_open() {
    let app = spawn_app().await;
    let id = app
        .create_webhook(json!({"url": "https://hooks.example.com/x", "events": ["*"], "secret": SECRET}))
        .await;
    let mut config = bunting::Config::for_database(app.database_url().clone());
    config.secret_key = Some(SecretKeySource::Key(SecretKey::generate()));
    let error = bunting::Application::build(config)
        .await
        .err()
        .expect("start-up refuses the key");
    let message = format!("{error:#}");
    for part in [
        "BUNTING_SECRET_KEY",
        &format!("signing secret of webhook {id} cannot be opened"),
        "sealed with another key",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
}

#[tokio::test]
async fn postgres_without_a_key_is_refused_saying_how_to_set_one() {
    // The key is looked for before the database is opened, so no server need answer here.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bunting"))
        .env_remove("BUNTING_SECRET_KEY")
        .env_remove("BUNTING_SECRET_KEY_FILE")
        .env("FLAGR_DB_DBDRIVER", "postgres")
        .env("FLAGR_DB_DBCONNECTIONSTR", "postgres://nobody@127.0.0.1:9/none")
        .env("PORT", "0")
        .env("RUST_BACKTRACE", "1")
        .arg("serve")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in [
        "error: ",
        "BUNTING_SECRET_KEY",
        "BUNTING_SECRET_KEY_FILE",
        "openssl rand -base64 32",
    ] {
        assert!(stderr.contains(part), "{part}: {}", describe(&output));
    }
    assert!(!stderr.contains("backtrace"), "{}", describe(&output));
}

#[tokio::test]
async fn rotation_seals_every_secret_under_the_new_key() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    app.create_webhook(json!({"url": with_password(&receiver), "events": ["flag.created"], "secret": SECRET}))
        .await;
    let (before, _) = stored(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let new_key = SecretKey::generate();
    let new_key_file = dir.path().join("new.key");
    std::fs::write(&new_key_file, format!("{}\n", new_key.encode())).unwrap();
    let rotate = || {
        bunting(app.database_url(), "secrets")
            .args(["rotate", "--new-key-file"])
            .arg(&new_key_file)
            .output()
            .expect("the binary runs")
    };

    let output = rotate();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("sealed 2 secrets of 1 webhooks"),
        "{}",
        describe(&output)
    );
    let (after, history) = stored(&app).await;
    assert_sealed(&after, &history, &[PASSWORD, SECRET]);
    assert_ne!(after, before);
    let again = rotate();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("sealed 0 secrets"),
        "a second run finds everything under the new key: {}",
        describe(&again)
    );

    // The old key no longer opens them; the new one does, and deliveries are signed as before.
    let mut old = bunting::Config::for_database(app.database_url().clone());
    old.secret_key = Some(test_secret_key());
    let refused = bunting::Application::build(old)
        .await
        .err()
        .expect("the old key is refused");
    assert!(format!("{refused:#}").contains("cannot be opened"), "{refused:#}");
    let switched = spawn_app_on(&app, |config| {
        config.secret_key = Some(SecretKeySource::File(new_key_file.clone()));
    })
    .await;
    switched.create_flag("rotated").await;
    switched.settle().await;
    assert_authentic(&receiver.wait_for(1).await[0], SECRET);
}
