//! A newcomer's first flag, built entirely in the UI: two variants (an invalid attachment is
//! refused in the browser), a segment, a constraint (the server's validation error shows next
//! to it), a 50/50 split that can only be saved at 100 %; then it evaluates through the API and
//! in the Evaluate tab, and the History tab shows the change. Also the list: search, restore.

use serde_json::{Value, json};

use crate::support::{Server, button, field, screenshot_path, until};
use crate::webdriver::with_browser;

const NEW_VARIANT: &str = "//form[@aria-label='New variant']";
const SEGMENT: &str = "(//article[@data-segment])[1]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_built_in_the_ui_evaluates_through_the_api() {
    with_browser("flag", |browser| async move {
        let server = Server::start().await;
        browser.goto(&server.page("")).await;
        browser
            .find(&field("", "Description"))
            .await
            .type_text("New checkout page")
            .await;
        browser
            .find(&field("", "Key (optional)"))
            .await
            .type_text("checkout")
            .await;
        browser.find(&button("Create empty flag")).await.click().await;
        browser.wait_for_text("//h1", "checkout").await;
        let flag_id = server.get("/flags?key=checkout").await[0]["id"].as_i64().unwrap();

        // Variants; the attachment must be a JSON object before the form can be sent.
        browser
            .find(&field(NEW_VARIANT, "Key"))
            .await
            .type_text("control")
            .await;
        let attachment = browser.find(&field(NEW_VARIANT, "Attachment (JSON object)")).await;
        let add_variant = browser.find(&format!("{NEW_VARIANT}{}", button("Add variant"))).await;
        let problem = "//*[@id='new-variant-attachment-problem']";
        attachment.replace_text(r#"{"color": "#).await;
        browser.wait_for_text(problem, "not valid JSON").await;
        assert_eq!(add_variant.property("disabled").await, json!(true));
        attachment.replace_text("[1, 2]").await;
        browser.wait_for_text(problem, "must be a JSON object").await;
        assert_eq!(add_variant.property("disabled").await, json!(true));
        attachment.replace_text(r#"{"color": "blue"}"#).await;
        assert_eq!(add_variant.property("disabled").await, json!(false));
        add_variant.click().await;
        browser.find("//form[@data-variant='control']").await;
        browser
            .find(&field(NEW_VARIANT, "Key"))
            .await
            .type_text("treatment")
            .await;
        browser
            .find(&format!("{NEW_VARIANT}{}", button("Add variant")))
            .await
            .click()
            .await;
        browser.find("//form[@data-variant='treatment']").await;
        let flag = server.get(&format!("/flags/{flag_id}")).await;
        assert_eq!(flag["variants"][0]["attachment"], json!({"color": "blue"}));

        // A segment.
        let new_segment = "//form[@aria-label='New segment']";
        browser
            .find(&field(new_segment, "Description"))
            .await
            .type_text("Californians")
            .await;
        browser
            .find(&format!("{new_segment}{}", button("Add segment")))
            .await
            .click()
            .await;
        browser.wait_for_text(SEGMENT, "Californians").await;

        // A constraint: the value syntax is explained, and an unquoted string is refused by the
        // server with its message shown inside this constraint's form.
        let new_constraint = format!("{SEGMENT}//form[@aria-label='New constraint']");
        browser
            .find(&field(&new_constraint, "Property"))
            .await
            .type_text("state")
            .await;
        let operator = field(&new_constraint, "Operator");
        browser
            .find(&format!("{operator}/option[@value='EQ']"))
            .await
            .click()
            .await;
        browser
            .wait_for_text(
                &format!("{new_constraint}//small[contains(@id, 'value-help')]"),
                r#""CA""#,
            )
            .await;
        let value = browser.find(&field(&new_constraint, "Value")).await;
        value.type_text("CA").await;
        browser
            .find(&format!("{new_constraint}{}", button("Add constraint")))
            .await
            .click()
            .await;
        browser
            .wait_for_text(&format!("{new_constraint}//p[@role='alert']"), "unquoted")
            .await;
        value.replace_text(r#""CA""#).await;
        browser
            .find(&format!("{new_constraint}{}", button("Add constraint")))
            .await
            .click()
            .await;
        browser
            .find(&format!(
                "{SEGMENT}//form[starts-with(@aria-label, 'Constraint state EQ')]"
            ))
            .await;

        // The distribution: saved only when it totals 100 %.
        let distribution = format!("{SEGMENT}//form[contains(@class, 'distribution')]");
        let total = format!("{distribution}//p[contains(@class, 'total')]");
        let save = browser
            .find(&format!("{distribution}{}", button("Save distribution")))
            .await;
        browser.wait_for_text(&total, "Total 0%").await;
        assert_eq!(save.property("disabled").await, json!(true));
        browser
            .find(&field(&distribution, "control"))
            .await
            .replace_text("50")
            .await;
        browser.wait_for_text(&total, "Total 50%").await;
        assert_eq!(save.property("disabled").await, json!(true));
        browser
            .find(&field(&distribution, "treatment"))
            .await
            .replace_text("50")
            .await;
        browser.wait_for_text(&total, "Total 100%").await;
        assert_eq!(save.property("disabled").await, json!(false));
        save.click().await;
        let flag_path = format!("/flags/{flag_id}");
        until("the split is saved", || async {
            server.get(&flag_path).await["segments"][0]["distributions"]
                .as_array()
                .map(Vec::len)
                == Some(2)
        })
        .await;

        browser.find("//input[@id='flag-enabled']").await.click().await;
        until("the flag is on", || async {
            server.get(&flag_path).await["enabled"] == json!(true)
        })
        .await;
        let switch = browser.find("//input[@id='flag-enabled']").await;
        assert_eq!(switch.property("checked").await, json!(true));
        browser.screenshot(&screenshot_path("flag")).await;

        // It evaluates through the API: a Californian gets one of the two variants, others none.
        let segment_id = server.get(&flag_path).await["segments"][0]["id"].clone();
        let evaluate = |state: &'static str| {
            let server = &server;
            async move {
                let context = json!({"flagID": flag_id, "entityID": "user-1", "entityType": "user",
                                     "entityContext": {"state": state}, "enableDebug": true});
                server.post("/evaluation", context).await
            }
        };
        let matching = evaluate("CA").await;
        let variant = matching["variantKey"].as_str().unwrap_or_default().to_owned();
        assert!(["control", "treatment"].contains(&variant.as_str()), "{matching}");
        assert_eq!(matching["segmentID"], segment_id, "{matching}");
        assert_eq!(evaluate("NY").await.get("variantKey"), None);

        // And in the Evaluate tab, whose context is prefilled from the constraint.
        browser
            .find("//nav[@aria-label='Flag views']//a[normalize-space()='Evaluate']")
            .await
            .click()
            .await;
        let context = browser.find(&field("", "Context (JSON)")).await;
        let prefilled: Value = serde_json::from_str(context.property("value").await.as_str().unwrap()).unwrap();
        assert_eq!(prefilled, json!({"state": "CA"}));
        browser.find(&button("Evaluate")).await.click().await;
        browser.wait_for_text("//*[@id='eval-segment']", "Californians").await;
        browser.wait_for_text("//*[@id='eval-variant']", &variant).await;
        browser.wait_for_text("//*[@id='eval-debug-log']", "matched").await;
        browser.screenshot(&screenshot_path("evaluate")).await;

        // A rollout change, then the History tab shows who changed what, before and after.
        browser
            .find("//nav[@aria-label='Flag views']//a[normalize-space()='Configuration']")
            .await
            .click()
            .await;
        browser
            .find(&field(SEGMENT, "Rollout %"))
            .await
            .replace_text("80")
            .await;
        browser
            .find(&format!("{SEGMENT}{}", button("Save segment")))
            .await
            .click()
            .await;
        until("the rollout is saved", || async {
            server.get(&flag_path).await["segments"][0]["rolloutPercent"] == json!(80)
        })
        .await;
        browser
            .find("//nav[@aria-label='Flag views']//a[normalize-space()='History']")
            .await
            .click()
            .await;
        let latest = "(//article[contains(@class, 'change')])[1]";
        browser.wait_for_text(latest, "segment.rollout_percent.updated").await;
        let diff = browser
            .wait_for_text(&format!("{latest}//table"), "rolloutPercent")
            .await;
        assert!(diff.contains("100") && diff.contains("80"), "{diff}");
        browser
            .wait_for_text("//ol[contains(@class, 'changes')]", "distribution.updated")
            .await;
        browser.screenshot(&screenshot_path("history")).await;

        // Segments are reordered with the move buttons, then saved in one go.
        let segments_path = format!("/flags/{flag_id}/segments");
        let everyone = json!({"description": "Everyone else", "rolloutPercent": 10});
        let everyone_id = server.post(&segments_path, everyone).await["id"].clone();
        browser.goto(&server.page(&format!("#/flags/{flag_id}"))).await;
        browser
            .find("//button[@aria-label='Move segment 2 up']")
            .await
            .click()
            .await;
        browser.wait_for_text(SEGMENT, "Everyone else").await;
        browser.find(&button("Save order")).await.click().await;
        until("the new order is saved", || async {
            server.get(&segments_path).await[0]["id"] == everyone_id
        })
        .await;

        // The list: more flags, a search, and a deleted flag restored.
        let search_flag = json!({"description": "Search ranking v2", "key": "search-ranking"});
        let search_id = server.post("/flags", search_flag).await["id"].as_i64().unwrap();
        server
            .post(&format!("/flags/{search_id}/tags"), json!({"value": "search"}))
            .await;
        let banner =
            json!({"description": "Holiday banner", "key": "holiday-banner", "template": "simple_boolean_flag"});
        let banner_id = server.post("/flags", banner).await["id"].as_i64().unwrap();
        server
            .api(reqwest::Method::DELETE, &format!("/flags/{banner_id}"), None)
            .await;
        browser.goto(&server.page("#/")).await;
        let search = browser.find(&field("", "Search")).await;
        search.type_text("search").await;
        browser.wait_for_text("//p[@aria-live='polite']", "1 of 2 flags").await;
        search.replace_text("").await;
        browser
            .find("//details[contains(@class, 'deleted')]/summary")
            .await
            .click()
            .await;
        browser
            .find("//button[@aria-label='Restore holiday-banner']")
            .await
            .click()
            .await;
        browser.wait_for_text("//h1", "holiday-banner").await;
        browser.goto(&server.page("#/")).await;
        browser.wait_for_text("//p[@aria-live='polite']", "3 of 3 flags").await;
        browser.screenshot(&screenshot_path("flags-list")).await;
    })
    .await;
}

/// A constraint Flagr accepts but that can never match (`IN` without a list) is marked in the
/// flag list and explained at the constraint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constraint_that_can_never_match_is_marked_in_the_list_and_at_the_constraint() {
    with_browser("never-matching-constraint", |browser| async move {
        let server = Server::start().await;
        let flag = server
            .post("/flags", json!({"description": "Germany only", "key": "germany"}))
            .await;
        let flag_id = flag["id"].as_i64().unwrap();
        let segment = server
            .post(
                &format!("/flags/{flag_id}/segments"),
                json!({"description": "Germans", "rolloutPercent": 100}),
            )
            .await;
        let constraint = server
            .post(
                &format!("/flags/{flag_id}/segments/{}/constraints", segment["id"]),
                json!({"property": "country", "operator": "IN", "value": "\"DE\""}),
            )
            .await;

        browser.goto(&server.page("")).await;
        browser
            .wait_for_text(
                "//tr[.//a[text()='germany']]//span[contains(@class, 'constraint-problems')]",
                "1 constraint never matches",
            )
            .await;

        browser.goto(&server.page(&format!("#/flags/{flag_id}"))).await;
        let slot = format!("//*[@id='constraint-{}-problem']", constraint["id"]);
        browser
            .wait_for_text(&slot, "Warning: this constraint can never match: IN needs a JSON list")
            .await;
        browser
            .wait_for_text(
                "//*[@id='constraint-problems']",
                "1 constraint of this flag can never match",
            )
            .await;
    })
    .await;
}
