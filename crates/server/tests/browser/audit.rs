//! The Audit log page: every environment's changes in one list, each entry in its environment's
//! colour, filtered by environment, opening to its before → after diff; older entries load on
//! demand.

use reqwest::Method;
use serde_json::json;

use crate::support::{Server, button, field, screenshot_path, until};
use crate::webdriver::{Browser, with_browser};

const ENTRY: &str = "//details[contains(@class, 'audit-entry')]";

/// How many entries the page lists now, and how many of them are in `environment`.
async fn listed(browser: &Browser, environment: &str) -> (u64, u64) {
    let script = format!(
        "const all = [...document.querySelectorAll('details.audit-entry')]; \
         return [all.length, all.filter((e) => e.dataset.environment === '{environment}').length]"
    );
    let counts = browser.execute(&script).await;
    (counts[0].as_u64().unwrap(), counts[1].as_u64().unwrap())
}

/// A server with changes in two environments: "checkout" created and enabled in production,
/// "search-ranking" created and renamed in staging.
async fn two_environments() -> Server {
    let server = Server::start().await;
    server
        .post("/environments", json!({"key": "staging", "name": "Staging"}))
        .await;
    let checkout = server
        .post("/flags", json!({"description": "New checkout page", "key": "checkout"}))
        .await;
    server
        .put(&format!("/flags/{}/enabled", checkout["id"]), json!({"enabled": true}))
        .await;
    let search = json!({"description": "Search ranking", "key": "search-ranking"});
    let search = server.env_api("staging", Method::POST, "/flags", Some(search)).await;
    let rename = json!({"description": "Search ranking v2"});
    let path = format!("/flags/{}", search["id"]);
    server.env_api("staging", Method::PUT, &path, Some(rename)).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_every_environment_filters_by_one_and_opens_an_entry_to_its_diff() {
    with_browser("audit-log", |browser| async move {
        let server = two_environments().await;

        // From the top bar: both environments' changes, newest first, each in its colour.
        browser.goto(&server.page("#/")).await;
        browser.find("//nav//a[normalize-space()='Audit log']").await.click().await;
        browser.wait_for_text("//h1", "Audit log").await;
        let newest = format!("({ENTRY})[1]");
        let line = browser.wait_for_text(&newest, "flag.updated").await;
        assert!(line.contains("search-ranking") && line.contains("anonymous"), "{line}");
        browser
            .find(&format!("{newest}//span[contains(@class, 'env-chip')][@data-environment='staging']"))
            .await;
        browser
            .find(&format!("{ENTRY}[@data-environment='production']//span[contains(@class, 'env-chip')][contains(@class, 'env-default')]"))
            .await;
        let (all, production) = listed(&browser, "production").await;
        let (_, staging) = listed(&browser, "staging").await;
        assert!(production >= 2 && staging >= 2, "{all} entries: {production} in production, {staging} in staging");

        // An entry opens to what it changed.
        let diff = format!("{newest}//table[contains(@class, 'diff')]");
        assert!(!browser.find(&diff).await.displayed().await, "closed until asked");
        browser.find(&format!("{newest}/summary")).await.click().await;
        let shown = browser.wait_for_text(&diff, "Search ranking v2").await;
        assert!(shown.contains("description") && shown.contains("Search ranking"), "{shown}");
        browser.screenshot(&screenshot_path("audit")).await;

        // Only staging's changes.
        // (The filter's own Environment select, not the top bar's switcher.)
        let select = field("//form[@aria-label='Filter changes']", "Environment");
        browser
            .find(&format!("{select}/option[@value='staging']"))
            .await
            .click()
            .await;
        browser.find(&button("Filter")).await.click().await;
        until("only staging's changes are listed", || async {
            let (all, staging) = listed(&browser, "staging").await;
            all > 0 && all == staging
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_changes_load_on_demand() {
    with_browser("audit-pages", |browser| async move {
        let server = Server::start().await;
        let flag = server
            .post("/flags", json!({"description": "Busy flag", "key": "busy"}))
            .await;
        // A page is 50 entries: the flag's creation is the 51st newest.
        for n in 1..=50 {
            server
                .put(
                    &format!("/flags/{}", flag["id"]),
                    json!({"description": format!("Busy flag {n}")}),
                )
                .await;
        }
        browser.goto(&server.page("#/audit")).await;
        browser.find(ENTRY).await;
        assert_eq!(listed(&browser, "production").await, (50, 50));
        let more = browser.find(&button("Load older changes")).await;
        assert!(more.displayed().await, "older changes exist");
        more.click().await;
        browser
            .wait_for_text(&format!("({ENTRY})[last()]"), "flag.created")
            .await;
        assert_eq!(listed(&browser, "production").await, (51, 51));
        assert!(!more.displayed().await, "nothing older is left");
    })
    .await;
}

/// Sets the filter's `id` control to `value` and applies the filter; waits until the list shows
/// `expected` (each entry's events and flag key, newest first) or says nothing matches.
async fn filter_by(browser: &Browser, settings: &[(&str, &str)], expected: &[&str]) {
    for (id, value) in settings {
        // A script sets the value: typing into a datetime-local input depends on the locale.
        browser
            .execute(&format!("document.getElementById('{id}').value = '{value}'"))
            .await;
    }
    browser.find(&button("Filter")).await.click().await;
    let script = "return [...document.querySelectorAll('details.audit-entry > summary')] \
                  .map((s) => [...s.querySelectorAll('.events code, .flag-key')].map((e) => e.textContent).join(' '))";
    until(&format!("the list shows {expected:?}"), || async {
        browser.execute(script).await == json!(expected)
    })
    .await;
    if expected.is_empty() {
        browser
            .find("//p[not(@hidden)][normalize-space()='No changes match these filters.']")
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_flag_key_actor_event_and_time() {
    with_browser("audit-filters", |browser| async move {
        let server = two_environments().await;
        browser.goto(&server.page("#/audit")).await;
        browser.find(ENTRY).await;

        let checkout = ["flag.enabled checkout", "flag.created checkout"];
        filter_by(&browser, &[("audit-flag-key", "checkout")], &checkout).await;
        filter_by(&browser, &[("audit-event", "flag.enabled")], &checkout[..1]).await;
        filter_by(
            &browser,
            &[("audit-flag-key", ""), ("audit-event", "flag.*")],
            &[
                "flag.updated search-ranking",
                "flag.created search-ranking",
                "flag.enabled checkout",
                "flag.created checkout",
            ],
        )
        .await;
        // Nobody is named without an identity source: no change is alice's.
        filter_by(&browser, &[("audit-actor", "alice@example.com")], &[]).await;
        filter_by(
            &browser,
            &[("audit-actor", "")],
            &[
                "flag.updated search-ranking",
                "flag.created search-ranking",
                "flag.enabled checkout",
                "flag.created checkout",
            ],
        )
        .await;

        // The time range, in the browser's local time: everything was made today.
        let year_2000 = [
            ("audit-since", "2000-01-01T00:00:00"),
            ("audit-until", "2001-01-01T00:00:00"),
        ];
        filter_by(&browser, &year_2000, &[]).await;
        let until_2100 = [
            ("audit-since", "2000-01-01T00:00:00"),
            ("audit-until", "2100-01-01T00:00:00"),
        ];
        filter_by(
            &browser,
            &until_2100,
            &[
                "flag.updated search-ranking",
                "flag.created search-ranking",
                "flag.enabled checkout",
                "flag.created checkout",
            ],
        )
        .await;
    })
    .await;
}
