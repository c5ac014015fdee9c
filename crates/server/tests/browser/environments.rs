//! Environments in the UI: the top bar's switcher (the current environment always on screen in
//! its colour, the default one marked), the list's per-environment states, a flag the chosen
//! environment lacks, switching with unsaved work (asked first, as leaving is), comparing a flag
//! across environments, promoting it from staging to production with the dry run shown before
//! anything is written (and a refused promotion in the server's words), and a webhook that hears
//! every environment.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, button, field, screenshot_path};
use crate::webdriver::{Browser, with_browser};

const SWITCHER: &str = "//div[@id='environment-switcher']";

/// Picks an environment in the top bar's switcher, as a user does.
async fn switch_to(browser: &Browser, key: &str) {
    let option = format!("//select[@id='environment-select']/option[@value='{key}']");
    browser.find(&option).await.click().await;
    browser.find(&format!("{SWITCHER}[@data-environment='{key}']")).await;
}

/// The switcher's colour: the hue it is tinted with, and whether it is marked as the default.
async fn switcher_colour(browser: &Browser) -> (Value, bool) {
    let script = "const s = document.getElementById('environment-switcher'); \
                  return [s.style.getPropertyValue('--env-hue'), s.classList.contains('env-default')]";
    let colour = browser.execute(script).await;
    (colour[0].clone(), colour[1] == json!(true))
}

/// A flag with a segment "Everyone" serving "on" to 100%, off, in production.
async fn boolean_flag(server: &Server, key: &str, description: &str) -> i64 {
    let flag = json!({"description": description, "key": key, "template": "simple_boolean_flag"});
    server.post("/flags", flag).await["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_environment_shows_its_flags_in_its_colour() {
    with_browser("environment-switch", |browser| async move {
        let server = Server::start().await;
        server
            .post("/environments", json!({"key": "staging", "name": "Staging"}))
            .await;
        let checkout = boolean_flag(&server, "checkout", "New checkout page").await;
        server
            .put(&format!("/flags/{checkout}/enabled"), json!({"enabled": true}))
            .await;
        let search = json!({"description": "Search ranking v2", "key": "search-ranking"});
        server.env_api("staging", Method::POST, "/flags", Some(search)).await;

        // The default environment is on screen, tinted and marked as the default.
        browser.goto(&server.page("#/")).await;
        browser
            .find(&format!("{SWITCHER}[@data-environment='production']"))
            .await;
        let select = browser.find("//select[@id='environment-select']").await;
        assert_eq!(select.property("value").await, json!("production"));
        let (production_hue, default) = switcher_colour(&browser).await;
        assert!(default, "the default environment is marked");
        assert_ne!(production_hue, json!(""), "the switcher carries the environment's hue");
        browser
            .find("//div[@id='env-band'][contains(@class, 'env-default')]")
            .await;

        // Each flag's state in every environment, one labelled indicator each.
        let row = "//tr[.//a[normalize-space()='checkout']]";
        browser
            .find(&format!(
                "{row}//span[@data-environment='production'][contains(@class, 'env-on')][@title='On in production']"
            ))
            .await;
        browser
            .find(&format!(
                "{row}//span[@data-environment='staging'][contains(@class, 'env-none')][@title='Not in Staging']"
            ))
            .await;

        // Staging: its flags, its own colour, not marked as the default.
        switch_to(&browser, "staging").await;
        let list = "//table[.//caption[normalize-space()='Flags']]";
        let shown = browser.wait_for_text(list, "search-ranking").await;
        assert!(!shown.contains("checkout"), "production's flags are gone: {shown}");
        let (staging_hue, default) = switcher_colour(&browser).await;
        assert!(!default);
        assert_ne!(staging_hue, production_hue, "each environment has its colour");
        let staging_row = "//tr[.//a[normalize-space()='search-ranking']]";
        browser
            .find(&format!(
                "{staging_row}//span[@data-environment='staging'][contains(@class, 'env-off')]"
            ))
            .await;
        browser.screenshot(&screenshot_path("environments")).await;

        // The choice is kept for the session: a reload stays in staging.
        browser.goto(&server.page("#/")).await;
        browser.wait_for_text(list, "search-ranking").await;
        assert_eq!(
            browser
                .find("//select[@id='environment-select']")
                .await
                .property("value")
                .await,
            json!("staging")
        );

        // A flag staging does not have says so, with the way back.
        browser.goto(&server.page(&format!("#/flags/{checkout}"))).await;
        browser
            .wait_for_text("//h1", &format!("No flag {checkout} in Staging"))
            .await;
        browser
            .find("//a[normalize-space()='Go to the flags of Staging']")
            .await
            .click()
            .await;
        browser.wait_for_text(list, "search-ranking").await;

        // Staging deleted meanwhile: the UI says so and is back in production, where the flag is.
        server
            .api(Method::DELETE, "/environments/staging?force=true", None)
            .await;
        browser.goto(&server.page(&format!("#/flags/{checkout}"))).await;
        browser
            .wait_for_text("//div[@id='toasts']", "“staging” no longer exists")
            .await;
        browser
            .find(&format!("{SWITCHER}[@data-environment='production']"))
            .await;
        browser.wait_for_text("//h1", "checkout").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_is_compared_and_promoted_from_staging_to_production_after_its_dry_run() {
    with_browser("environment-promote", |browser| async move {
        let server = Server::start().await;
        let id = boolean_flag(&server, "checkout", "New checkout page").await;
        let clone = json!({"key": "staging", "name": "Staging", "cloneFrom": "production"});
        server.post("/environments", clone).await;
        let segment = server.get(&format!("/flags/{id}")).await["segments"][0]["id"].clone();
        let enable = json!({"enabled": true});
        server
            .env_api("staging", Method::PUT, &format!("/flags/{id}/enabled"), Some(enable))
            .await;
        let rollout = json!({"description": "Everyone", "rolloutPercent": 30});
        let segment_path = format!("/flags/{id}/segments/{segment}");
        server
            .env_api("staging", Method::PUT, &segment_path, Some(rollout))
            .await;

        browser.goto(&server.page("#/")).await;
        switch_to(&browser, "staging").await;
        browser.goto(&server.page(&format!("#/flags/{id}"))).await;
        browser
            .find("//nav[@aria-label='Flag views']//a[normalize-space()='Compare environments']")
            .await
            .click()
            .await;

        // Both environments side by side.
        let production_row = "//table[contains(@class, 'compare-table')]//tr[@data-environment='production']";
        let staging_row = "//table[contains(@class, 'compare-table')]//tr[@data-environment='staging']";
        browser.wait_for_text(production_row, "100% rollout").await;
        browser
            .find(&format!("{production_row}//span[contains(@class, 'badge-off')]"))
            .await;
        browser.wait_for_text(staging_row, "Everyone: 30% rollout").await;
        browser.wait_for_text(staging_row, "on 100%").await;
        browser.wait_for_text(staging_row, "you are here").await;
        browser
            .find(&format!("{staging_row}//span[contains(@class, 'badge-ok')]"))
            .await;

        // Promote to production: the dry run first, and nothing is written by it.
        let target = browser.find(&field("", "Target environment")).await;
        assert_eq!(
            target.property("value").await,
            json!("production"),
            "the default is offered first"
        );
        browser.find(&button("Show the changes")).await.click().await;
        let dry_run = "//div[contains(@class, 'promote-dry-run')]";
        browser.wait_for_text(dry_run, "Flag checkout enabled").await;
        browser.wait_for_text(dry_run, "rollout 100% → 30%").await;
        let production = server.get(&format!("/flags/{id}")).await;
        assert_eq!(production["enabled"], json!(false), "a dry run writes nothing");
        browser.screenshot(&screenshot_path("compare")).await;

        browser.find(&button("Promote to production")).await.click().await;
        browser
            .wait_for_text("//div[@role='status']", "Promoted checkout from Staging to production")
            .await;
        let production = server.get(&format!("/flags/{id}")).await;
        assert_eq!(production["enabled"], json!(true));
        assert_eq!(production["segments"][0]["rolloutPercent"], json!(30));
        // The comparison follows: production is on now.
        browser
            .find(&format!("{production_row}//span[contains(@class, 'badge-ok')]"))
            .await;

        // Promoting again: nothing left to do, and nothing to confirm.
        browser.find(&button("Show the changes")).await.click().await;
        browser
            .wait_for_text("//p[contains(@class, 'notice')]", "Nothing to promote")
            .await;

        // A promotion the server refuses (the flag is deleted in production) says why in the
        // server's words, and offers nothing to confirm.
        let body = json!({"description": "Holiday banner", "key": "banner"});
        let banner = server
            .env_api("staging", Method::POST, "/flags", Some(body.clone()))
            .await["id"]
            .as_i64()
            .unwrap();
        server.post("/flags", body).await;
        server.api(Method::DELETE, &format!("/flags/{banner}"), None).await;
        browser.goto(&server.page(&format!("#/flags/{banner}/compare"))).await;
        browser
            .find(&format!(
                "{production_row}//span[contains(@class, 'badge-warn')][normalize-space()='deleted']"
            ))
            .await;
        browser.find(&button("Show the changes")).await.click().await;
        let alert = "//section[.//h2[normalize-space()='Promote to…']]//p[@role='alert']";
        let refusal = browser.wait_for_text(alert, "banner").await;
        assert!(refusal.contains("deleted"), "the server's reason: {refusal}");
        assert!(
            !browser
                .find("//div[contains(@class, 'promote-preview')]")
                .await
                .displayed()
                .await,
            "nothing to confirm"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_shows_its_environment_and_can_hear_them_all() {
    with_browser("environment-webhook", |browser| async move {
        let server = Server::start().await;
        server
            .post("/environments", json!({"key": "staging", "name": "Staging"}))
            .await;
        browser.goto(&server.page("#/webhooks")).await;
        switch_to(&browser, "staging").await;
        browser.goto(&server.page("#/webhooks/new")).await;
        browser
            .find(&field("", "URL"))
            .await
            .type_text("http://127.0.0.1:9/audit")
            .await;
        let all = field("", "Hear every environment’s changes, not only Staging’s");
        browser.find(&all).await.click().await;
        browser.find(&button("Create webhook")).await.click().await;
        let status = "//p[contains(@class, 'status-line')]";
        browser.wait_for_text(status, "hears all environments").await;
        browser
            .find(&format!("{status}//span[@data-environment='staging']"))
            .await;

        let webhooks = server.env_api("staging", Method::GET, "/webhooks", None).await;
        assert_eq!(webhooks[0]["allEnvironments"], json!(true));
        assert_eq!(server.get("/webhooks").await, json!([]), "it belongs to staging");

        browser.goto(&server.page("#/webhooks")).await;
        browser.wait_for_text("//table", "all environments").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_with_unsaved_work_asks_first() {
    with_browser("environment-switch-unsaved", |browser| async move {
        let server = Server::start().await;
        server
            .post("/environments", json!({"key": "staging", "name": "Staging"}))
            .await;
        let id = boolean_flag(&server, "checkout", "New checkout page").await;
        let later = json!({"description": "Later", "rolloutPercent": 10});
        server.post(&format!("/flags/{id}/segments"), later).await;
        browser.goto(&server.page(&format!("#/flags/{id}"))).await;
        browser
            .find("//button[@aria-label='Move segment 2 up']")
            .await
            .click()
            .await;
        let order_bar = "//div[contains(@class, 'order-bar')]";
        browser.find(order_bar).await;

        // Staying: still production, the unsaved order still there.
        let option = "//select[@id='environment-select']/option[@value='staging']";
        browser.find(option).await.click().await;
        let question = "//dialog[@open]";
        browser.wait_for_text(question, "Switch without saving?").await;
        browser
            .find(&format!("{question}{}", button("Cancel")))
            .await
            .click()
            .await;
        browser.find(order_bar).await;
        let select = browser.find("//select[@id='environment-select']").await;
        assert_eq!(select.property("value").await, json!("production"));

        // Switching on purpose: staging, which has no such flag.
        browser.find(option).await.click().await;
        browser
            .find(&format!("{question}{}", button("Switch without saving")))
            .await
            .click()
            .await;
        browser.wait_for_text("//h1", &format!("No flag {id} in Staging")).await;
    })
    .await;
}
