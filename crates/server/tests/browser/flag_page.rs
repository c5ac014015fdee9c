//! The flag page's promises: a segment order changed with the move buttons is not lost without
//! a warning when the user leaves (inside the app or by reloading), and the data-records setting
//! says what it does in Bunting.

use serde_json::json;

use crate::support::{Server, button};
use crate::webdriver::{Browser, with_browser};

const SEGMENT: &str = "(//article[@data-segment])[1]";
const ORDER_BAR: &str = "//div[contains(@class, 'order-bar')]";
const HISTORY_TAB: &str = "//nav[@aria-label='Flag views']//a[normalize-space()='History']";

/// Whether the page asks the browser to confirm before it unloads (it cancels `beforeunload`).
async fn asks_before_unload(browser: &Browser) -> bool {
    let script = "const event = new Event('beforeunload', {cancelable: true}); \
                  window.dispatchEvent(event); return event.defaultPrevented";
    browser.execute(script).await == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_an_unsaved_segment_order_asks_first() {
    with_browser("unsaved-order", |browser| async move {
        let server = Server::start().await;
        let flag = server
            .post("/flags", json!({"description": "Checkout", "key": "checkout"}))
            .await;
        let segments_path = format!("/flags/{}/segments", flag["id"]);
        let first = json!({"description": "Californians", "rolloutPercent": 100});
        let first_id = server.post(&segments_path, first).await["id"].clone();
        let second = json!({"description": "Everyone else", "rolloutPercent": 10});
        server.post(&segments_path, second).await;
        let page = server.page(&format!("#/flags/{}", flag["id"]));
        browser.goto(&page).await;
        browser
            .find("//button[@aria-label='Move segment 2 up']")
            .await
            .click()
            .await;
        browser.wait_for_text(SEGMENT, "Everyone else").await;
        browser.find(ORDER_BAR).await;

        // Another tab of the app: the page asks, and staying keeps the unsaved order.
        browser.find(HISTORY_TAB).await.click().await;
        let question = "//dialog[@open]";
        browser.wait_for_text(question, "segment order is not saved").await;
        browser
            .find(&format!("{question}{}", button("Cancel")))
            .await
            .click()
            .await;
        assert_eq!(browser.url().await, page, "the user stayed");
        browser.wait_for_text(SEGMENT, "Everyone else").await;
        browser.find(ORDER_BAR).await;

        // Reloading, closing the tab or going to another site: the page tells the browser to
        // ask. (Headless Chromium leaves its own "leave site?" dialog out, so the test asks the
        // page what the browser would: whether it cancels `beforeunload`.)
        assert!(asks_before_unload(&browser).await, "unsaved: the browser must ask");

        // Leaving on purpose: the order is dropped, the server's is untouched.
        browser.find(HISTORY_TAB).await.click().await;
        browser
            .find(&format!("{question}{}", button("Leave without saving")))
            .await
            .click()
            .await;
        browser
            .wait_for_text("//ol[contains(@class, 'changes')]", "segment.created")
            .await;
        assert_eq!(browser.url().await, format!("{page}/history"));
        assert_eq!(server.get(&segments_path).await[0]["id"], first_id);

        // Back on the page the server's order shows, and nothing is asked any more.
        browser.goto(&page).await;
        browser.wait_for_text(SEGMENT, "Californians").await;
        assert!(!asks_before_unload(&browser).await, "nothing unsaved: nothing to ask");
        browser.find(HISTORY_TAB).await.click().await;
        browser
            .wait_for_text("//ol[contains(@class, 'changes')]", "segment.created")
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_records_setting_says_bunting_records_nothing() {
    with_browser("data-records", |browser| async move {
        let server = Server::start().await;
        let flag = server
            .post("/flags", json!({"description": "Checkout", "key": "checkout"}))
            .await;
        browser.goto(&server.page(&format!("#/flags/{}", flag["id"]))).await;
        let setting = browser
            .wait_for_text("//label[@for='flag-data-records']/..", "records nothing")
            .await;
        assert!(
            !setting.contains("Record evaluations") && !setting.contains("configured data recorder"),
            "it must not promise a recorder Bunting does not have: {setting}"
        );
        assert!(setting.contains("dataRecordsEnabled"), "{setting}");
    })
    .await;
}
