//! Pages in a real browser (headless Chromium through WebDriver).

use std::time::Duration;

use domain::Role;
use testkit::Backend;
use testkit::browser::Browser;

use crate::helpers::{PASSWORD, TestApp};

/// A manager logs in through the real form; the script-free page works, the language is French,
/// and the CSP blocks nothing we ship (no console errors from our own assets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_and_out_in_a_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("marie@example.org", Role::Manager).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.url)).await;
    browser
        .wait_for_url(Duration::from_secs(5), |u| u.ends_with("/login"))
        .await;
    assert!(browser.text().await.contains("Connexion"));
    browser.find("#email").await.fill("marie@example.org").await;
    browser.find("#password").await.fill(PASSWORD).await;
    browser.find("form.card button[type=submit]").await.click().await;
    browser.wait_for_url(Duration::from_secs(5), |u| u.ends_with('/')).await;
    let text = browser.text().await;
    assert!(text.contains("Bonjour manager marie"), "{text}");
    // The stylesheet loaded under the CSP: the header is laid out by it.
    let display = browser
        .execute(
            "return getComputedStyle(document.querySelector('.site-header .bar')).display;",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(display, "flex");
    browser.find(".who button[type=submit]").await.click().await;
    browser
        .wait_for_url(Duration::from_secs(5), |u| u.contains("/login"))
        .await;
    assert!(browser.text().await.contains("Vous êtes déconnecté·e."));
}
