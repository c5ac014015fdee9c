//! Signing in with an API token (`BUNTING_AUTH=tokens`): the UI asks for a token, shows the
//! server's refusal of a wrong one, keeps a good one for the browser session only and names who
//! is signed in with which role; an admin creates a flag, a viewer sees the flags without the
//! controls the role may not use, and a revoked token sends the user back to the sign-in screen.

use bunting::config::AuthSettings;
use bunting_core::secret::Secret;
use serde_json::{Value, json};

use crate::support::{Server, button, field, keep_trying, screenshot_path};
use crate::webdriver::{Browser, with_browser};

const BOOTSTRAP: &str = "bnt_bootstrap-secret-for-browser-tests-0123456789";
const SIGN_IN: &str = "//h1[normalize-space()='Sign in']";
const WHO: &str = "//*[@id='who']";

/// The server with API tokens on, its API helpers acting as the bootstrap admin.
async fn server_with_tokens() -> Server {
    let mut server = Server::start_with(|config| {
        config.auth = Some(AuthSettings {
            bootstrap_admin_token: Some(Secret::new(BOOTSTRAP)),
            ..AuthSettings::default()
        });
    })
    .await;
    server.use_token(BOOTSTRAP);
    server
}

/// Creates a token; answers its id and secret.
async fn token(server: &Server, name: &str, role: &str) -> (i64, String) {
    let created = server.post("/tokens", json!({"name": name, "role": role})).await;
    (
        created["id"].as_i64().unwrap(),
        created["token"].as_str().unwrap().to_owned(),
    )
}

async fn sign_in(browser: &Browser, secret: &str) {
    let input = browser.find(&field("", "API token")).await;
    input.replace_text(secret).await;
    browser.find(&button("Sign in")).await.click().await;
}

/// What the tab keeps: the token in sessionStorage, and how many localStorage entries exist.
async fn stored(browser: &Browser) -> Value {
    browser
        .execute("return [sessionStorage.getItem('bunting.token'), localStorage.length];")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_with_a_token_and_creates_a_flag() {
    with_browser("signin-admin", |browser| async move {
        let server = server_with_tokens().await;
        let (_, secret) = token(&server, "alice", "admin").await;

        browser.goto(&server.page("")).await;
        browser.find(SIGN_IN).await;
        // Signed out, the top bar offers no way into the app.
        assert!(!browser.find("//nav[@aria-label='Main']").await.displayed().await);
        browser.screenshot(&screenshot_path("signin")).await;

        // A token the server does not know: its own words, and nothing kept.
        sign_in(&browser, "bnt_not-a-token-anyone-made-0123456789abcdef").await;
        browser
            .wait_for_text("//main//p[@role='alert']", "this token is not known")
            .await;
        assert_eq!(stored(&browser).await, json!([null, 0]));

        sign_in(&browser, &secret).await;
        let who = browser.wait_for_text(WHO, "alice").await;
        assert!(who.contains("admin") && who.contains("Sign out"), "{who}");
        assert!(browser.find("//nav[@aria-label='Main']").await.displayed().await);
        // Kept for this browser session only.
        assert_eq!(stored(&browser).await, json!([secret, 0]));

        browser
            .find(&field("", "Description"))
            .await
            .type_text("Dark mode")
            .await;
        browser
            .find(&field("", "Key (optional)"))
            .await
            .type_text("dark-mode")
            .await;
        browser.find(&button("Create boolean flag")).await.click().await;
        browser.wait_for_text("//h1", "dark-mode").await;
        let flags = server.get("/flags?key=dark-mode").await;
        assert_eq!(flags[0]["updatedBy"], "alice", "{flags}");

        // Signing out forgets the token.
        browser.find(&button("Sign out")).await.click().await;
        browser.find(SIGN_IN).await;
        assert_eq!(stored(&browser).await, json!([null, 0]));
        assert!(
            !browser.find(WHO).await.displayed().await,
            "nobody is named once signed out"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_without_controls_until_the_token_is_revoked() {
    with_browser("signin-viewer", |browser| async move {
        let server = server_with_tokens().await;
        let flag = server
            .post("/flags", json!({"description": "Checkout", "key": "checkout", "template": "simple_boolean_flag"}))
            .await;
        let (viewer_id, secret) = token(&server, "victor", "viewer").await;

        browser.goto(&server.page("")).await;
        sign_in(&browser, &secret).await;
        let who = browser.wait_for_text(WHO, "victor").await;
        assert!(who.contains("viewer"), "{who}");

        // The list, without the form that creates flags.
        browser.find("//td/a[normalize-space()='checkout']").await;
        let buttons = browser
            .execute("return [...document.querySelectorAll('main button, main input')].map((e) => e.textContent || e.id);")
            .await;
        assert_eq!(buttons, json!(["flag-search"]), "only the search is there to use");

        // The flag reads, locked: no enable switch to use, no delete, no new variant or segment.
        browser
            .find("//td/a[normalize-space()='checkout']")
            .await
            .click()
            .await;
        browser.wait_for_text("//h1", "checkout").await;
        // Locked by the fieldset around them (their own `disabled` stays false).
        let locked = browser
            .execute("return ['flag-enabled', 'flag-key', 'flag-description'].map((id) => document.getElementById(id).matches(':disabled'));")
            .await;
        assert_eq!(locked, json!([true, true, true]));
        assert_eq!(
            browser.find("//*[@id='flag-key']").await.property("value").await,
            json!("checkout")
        );
        let shown = browser
            .execute(
                "return [...document.querySelectorAll('main button')].filter((b) => b.offsetParent !== null).map((b) => b.textContent);",
            )
            .await;
        assert_eq!(shown, json!([]), "no button is shown to a viewer");
        let forms = browser
            .execute("return document.querySelectorAll(\"form[aria-label='New variant'], form[aria-label='New segment']\").length;")
            .await;
        assert_eq!(forms, json!(0));

        // Webhooks: no way to make one.
        browser.goto(&server.page("#/webhooks")).await;
        browser.wait_for_text("//h1", "Webhooks").await;
        let new_webhook = browser
            .execute("return document.querySelectorAll(\"a[href='#/webhooks/new']\").length;")
            .await;
        assert_eq!(new_webhook, json!(0));

        // Revoked: the next request the UI makes is refused, and the sign-in screen says why.
        // (The server trusts a token it read for a few seconds, so keep moving until it notices.)
        server
            .api(reqwest::Method::DELETE, &format!("/tokens/{viewer_id}"), None)
            .await;
        let hashes = [format!("#/flags/{}", flag["id"]), "#/webhooks".to_owned()];
        let mut turn = 0;
        let screen = keep_trying(|| {
            turn += 1;
            let hash = hashes[turn % 2].clone();
            let browser = browser.clone();
            async move {
                browser.execute(&format!("location.hash = '{hash}';")).await;
                let signed_out = browser.execute("return document.body.hasAttribute('data-signed-out');").await;
                if signed_out == json!(true) { Ok(()) } else { Err(()) }
            }
        })
        .await;
        assert!(screen.is_ok(), "the revoked token kept working");
        browser.find(SIGN_IN).await;
        browser.wait_for_text("//main//p[@role='alert']", "revoked").await;
        assert_eq!(stored(&browser).await, json!([null, 0]));
    })
    .await;
}
