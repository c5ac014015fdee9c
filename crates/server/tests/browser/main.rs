//! Browser tests of the web UI: the real server in-process, driven through headless Chromium
//! with chromedriver's W3C WebDriver protocol, doing what a newcomer would — create a flag with
//! targeting and see it evaluate, wire a webhook and watch its deliveries. Each test prints
//! `SKIPPED` and passes when /usr/bin/chromium or /usr/bin/chromedriver is missing. With
//! `BUNTING_UI_SCREENSHOTS=1` they also refresh the README's screenshots in docs/ui/.

// A test that cannot go on should stop loudly: helpers unwrap as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod webdriver;

mod audit;
mod cross_origin;
mod environments;
mod flag_page;
mod flags;
mod history;
mod signin;
mod webhooks;
