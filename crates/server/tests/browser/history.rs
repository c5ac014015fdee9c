//! The History tab and the times the UI shows: older changes load on demand, the button for them
//! is there only while there are more, and every time says which time zone it is in.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, UtcOffset};

use crate::support::{Server, button};
use crate::webdriver::{Browser, with_browser};

const CHANGES: &str = "//ol[contains(@class, 'changes')]";

/// How many changes the History tab lists now.
async fn listed(browser: &Browser) -> u64 {
    let count = browser
        .execute("return document.querySelectorAll('article.change').length")
        .await;
    count.as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_changes_load_on_demand_and_only_while_there_are_more() {
    with_browser("history-pages", |browser| async move {
        let server = Server::start().await;
        let flag = server
            .post("/flags", json!({"description": "Busy flag", "key": "busy"}))
            .await;
        let flag_path = format!("/flags/{}", flag["id"]);
        let change = |n: usize| {
            let (server, flag_path) = (&server, &flag_path);
            async move {
                server
                    .put(flag_path, json!({"description": format!("Busy flag {n}")}))
                    .await;
            }
        };
        // Exactly one page (the tab shows 20 at a time): nothing older, so no button.
        for n in 1..20 {
            change(n).await;
        }
        let history = server.page(&format!("#{flag_path}/history"));
        browser.goto(&history).await;
        browser.wait_for_text(CHANGES, "flag.created").await;
        assert_eq!(listed(&browser).await, 20);
        let more = browser.find(&button("Load older changes")).await;
        assert!(
            !more.displayed().await,
            "every change is listed: there is nothing older"
        );

        // Five more: the first page ends before the flag was created; the button fetches the rest
        // and goes away.
        for n in 20..25 {
            change(n).await;
        }
        browser.goto(&server.page("#/")).await;
        browser.goto(&history).await;
        browser.wait_for_text(CHANGES, "Busy flag 24").await;
        assert_eq!(listed(&browser).await, 20);
        let more = browser.find(&button("Load older changes")).await;
        assert!(more.displayed().await, "older changes exist");
        more.click().await;
        browser.wait_for_text(CHANGES, "flag.created").await;
        assert_eq!(listed(&browser).await, 25);
        assert!(!more.displayed().await, "nothing older is left");
    })
    .await;
}

/// `at` as the UI should show it in a zone `offset` from UTC.
fn shown(at: &Value, offset: UtcOffset) -> String {
    let at = OffsetDateTime::parse(at.as_str().unwrap(), &Rfc3339)
        .unwrap()
        .to_offset(offset);
    let local = at
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
        .unwrap();
    let zone = if offset.is_utc() {
        "UTC".to_owned()
    } else {
        let (hours, minutes, _) = offset.as_hms();
        format!(
            "UTC{}{:02}:{:02}",
            if hours < 0 { '-' } else { '+' },
            hours.abs(),
            minutes.abs()
        )
    };
    format!("{local} {zone}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_say_their_time_zone() {
    with_browser("time-zones", |browser| async move {
        let server = Server::start().await;
        let flag = server
            .post("/flags", json!({"description": "Checkout", "key": "checkout"}))
            .await;
        let updated = &flag["updatedAt"];
        let page = server.page(&format!("#/flags/{}", flag["id"]));
        let updated_time = "//div[contains(@class, 'flag-title')]//time";

        // Two zones without daylight saving time, so the offsets hold all year.
        for (zone, offset) in [("Asia/Kolkata", offset!(+5:30)), ("UTC", offset!(UTC))] {
            browser.time_zone(zone).await;
            browser.goto(&server.page("#/")).await;
            browser.goto(&page).await;
            let expected = shown(updated, offset);
            let text = browser.wait_for_text(updated_time, &expected).await;
            assert_eq!(text, expected, "in {zone}");
        }
    })
    .await;
}
