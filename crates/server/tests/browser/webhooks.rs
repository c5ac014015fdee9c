//! Wiring a webhook in the UI: create it pointing at a receiver, change a flag, find the
//! delivery in the log, read exactly what was sent, redeliver it and see the second attempt;
//! then a test event and a secret rotation, whose secret is shown once.

use serde_json::json;

use crate::support::{Receiver, Server, button, field, screenshot_path, until};
use crate::webdriver::with_browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_made_in_the_ui_shows_its_deliveries_and_redelivers() {
    with_browser("webhook", |browser| async move {
        let server = Server::start().await;
        let receiver = Receiver::start().await;
        let flag = json!({"description": "New checkout page", "key": "checkout", "template": "simple_boolean_flag"});
        let flag_id = server.post("/flags", flag).await["id"].as_i64().unwrap();

        browser.goto(&server.page("#/webhooks")).await;
        browser.find("//a[normalize-space()='New webhook']").await.click().await;
        browser.find(&field("", "URL")).await.type_text(&receiver.url).await;
        browser
            .find(&field("", "Description"))
            .await
            .type_text("Deploy notifier")
            .await;
        let all_flag_events = browser.find("//input[@id='events-all']").await;
        assert_eq!(
            all_flag_events.property("checked").await,
            json!(true),
            "new webhooks start on *"
        );
        // A group glob covers its events: they are shown ticked and cannot be changed alone.
        let group = browser.find(&field("", "Every webhook event webhook.*")).await;
        group.click().await;
        let deleted = browser.find("//input[@id='event-webhook-deleted']").await;
        assert_eq!(deleted.property("disabled").await, json!(true));
        group.click().await;
        assert_eq!(deleted.property("disabled").await, json!(false));
        browser
            .find(&field("", "Signing secret (optional)"))
            .await
            .type_text("a-long-shared-secret")
            .await;
        browser.find(&button("Create webhook")).await.click().await;
        browser.wait_for_text("//h1", &receiver.url).await;
        let webhook = &server.get("/webhooks").await[0];
        assert_eq!(webhook["events"], json!(["*"]));
        assert_eq!(webhook["hasSecret"], json!(true));
        let webhook_page = browser.url().await;

        // A flag change is delivered and shows in the log.
        server
            .put(&format!("/flags/{flag_id}/enabled"), json!({"enabled": true}))
            .await;
        browser.find(&button("Refresh")).await.click().await;
        let row = "//tr[.//code[normalize-space()='flag.enabled']]";
        browser.wait_for_text(row, "delivered").await;
        browser.find(&format!("{row}//a")).await.click().await;

        // The delivery: the exact body, the signed headers, the attempt.
        browser.wait_for_text("//h1", "flag.enabled").await;
        browser.wait_for_text("//article[@data-attempt='1']", "HTTP 200").await;
        browser.wait_for_text("//article[@data-attempt='1']", "received").await;
        let body = "//section[.//h2[normalize-space()='Request body']]//pre";
        browser.wait_for_text(body, r#""event": "flag.enabled""#).await;
        browser
            .wait_for_text(
                "//section[.//h2[normalize-space()='Headers sent']]",
                "webhook-signature",
            )
            .await;
        browser.find(&button("Redeliver")).await.click().await;
        browser.wait_for_text("//article[@data-attempt='2']", "HTTP 200").await;
        browser.wait_for_text("//*[@id='delivery-status']", "delivered").await;
        assert_eq!(receiver.received().len(), 2, "the event and its redelivery");
        assert_eq!(
            receiver.received()[0],
            receiver.received()[1],
            "a redelivery sends the same body"
        );
        browser.screenshot(&screenshot_path("delivery")).await;

        // A test event shows up by itself (the log refreshes while it is pending).
        browser.goto(&webhook_page).await;
        browser.find(&button("Send test event")).await.click().await;
        browser
            .wait_for_text("//tr[.//code[normalize-space()='webhook.test']]", "delivered")
            .await;
        until("the test event arrives", || async { receiver.received().len() == 3 }).await;

        // Rotating the secret asks first, then shows the new secret once.
        browser.find(&button("Rotate secret")).await.click().await;
        browser
            .find(&format!("//dialog[@open]{}", button("Rotate secret")))
            .await
            .click()
            .await;
        let secret = browser.find("//input[@id='new-secret']").await;
        let value = secret.property("value").await;
        assert!(value.as_str().unwrap().starts_with("whsec_"), "{value}");
        browser
            .wait_for_text("//div[contains(@class, 'secret')]", "will not be shown again")
            .await;
        browser.screenshot(&screenshot_path("webhook")).await;

        browser.goto(&server.page("#/webhooks")).await;
        browser.wait_for_text("//table", "delivered").await;
        browser.screenshot(&screenshot_path("webhooks")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_objection_shows_at_the_field_it_is_about() {
    with_browser("webhook-field-errors", |browser| async move {
        let server = Server::start().await;
        browser.goto(&server.page("#/webhooks/new")).await;
        let form_error = "//form[contains(@class, 'webhook-form')]/p[@role='alert']";
        let url_error = "//div[contains(@class, 'field')][.//input[@id='webhook-url']]//p[@role='alert']";
        let url = browser.find(&field("", "URL")).await;
        // A URL the browser accepts but the server refuses (refused before any connection).
        url.type_text("ftp://127.0.0.1/hooks").await;
        browser.find(&button("Create webhook")).await.click().await;
        browser
            .wait_for_text(url_error, "must start with http:// or https://")
            .await;
        assert_eq!(url.property("ariaInvalid").await, json!("true"));
        let described_by = browser
            .execute("return document.getElementById('webhook-url').getAttribute('aria-describedby')")
            .await;
        assert!(
            described_by.as_str().unwrap().contains("webhook-url-error"),
            "a screen reader reads the error with the field: {described_by}"
        );
        assert!(
            !browser.find(form_error).await.displayed().await,
            "not repeated at the bottom of the form"
        );

        // Fixed, the next objection (an unknown event) moves to the events, the URL's goes.
        url.replace_text("http://127.0.0.1:9/hooks").await;
        browser
            .find(&field("", "Other patterns"))
            .await
            .type_text("flag.renamed")
            .await;
        browser.find(&button("Create webhook")).await.click().await;
        browser
            .wait_for_text(
                "//div[contains(@class, 'field')][.//input[@id='events-other']]//p[@role='alert']",
                "unknown events",
            )
            .await;
        assert!(!browser.find(url_error).await.displayed().await);
        assert_eq!(url.property("ariaInvalid").await, json!(null));
        assert_eq!(server.get("/webhooks").await, json!([]));
    })
    .await;
}
