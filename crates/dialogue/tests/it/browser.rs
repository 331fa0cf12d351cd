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

/// The story in a real browser: a manager books a weekly series with two learners and
/// an external moderator, finds it in the calendar, moves one occurrence and cancels another;
/// then the trainer logs in and sees exactly their sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_books_a_series_and_the_trainer_sees_exactly_theirs() {
    use crate::booking_support::future_monday;

    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let monday = future_monday();
    // Ana has a session the same week: Théo must not see it.
    let ana_start: jiff::Timestamp = crate::booking_support::paris(monday, 11, 0).parse().unwrap();
    let ana_session = app
        .store()
        .book_sessions(
            &store::NewSessions {
                course_id: None,
                title: "Séance d’Ana".into(),
                notes: String::new(),
                time_zone: "Europe/Paris".into(),
                times: vec![(ana_start, ana_start + jiff::SignedDuration::from_hours(1))],
                rrule: None,
                people: store::People {
                    trainers: vec![domain::Email::parse("ana@example.org").unwrap()],
                    ..Default::default()
                },
                created_by: app
                    .store()
                    .user_by_email("marie@example.org")
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
                jitsi_server_id: None,
            },
            jiff::Timestamp::now(),
            &store::AuditEntry::new("session.book", None, "test", None),
        )
        .await
        .unwrap()[0]
        .session
        .id
        .clone();
    let browser = Browser::start().await;
    let wait = Duration::from_secs(10);
    let log_in = |email: &'static str| {
        let browser = &browser;
        let url = format!("{}/login", app.url);
        async move {
            browser.goto(&url).await;
            browser.find("#email").await.fill(email).await;
            browser.find("#password").await.fill(PASSWORD).await;
            browser.find("form.card button[type=submit]").await.click().await;
            browser.wait_for_url(wait, |u| u.ends_with('/')).await;
        }
    };
    log_in("marie@example.org").await;
    browser.goto(&format!("{}/sessions/new", app.url)).await;
    browser.find("#title").await.fill("Anglais des affaires 🇬🇧").await;
    // Date and time inputs take the value directly (typing into them depends on the locale).
    browser
        .execute(
            "document.querySelector('#date').value = arguments[0]; document.querySelector('#time').value = '09:00';",
            serde_json::json!([monday.to_string()]),
        )
        .await;
    browser.find("#duration").await.fill("90").await;
    browser.find("#repeat").await.select("weekly").await;
    browser.find("#weekday-MO").await.click().await;
    browser.find("#count").await.fill("4").await;
    browser
        .find("input[name=trainer][value='theo@example.org']")
        .await
        .click()
        .await;
    browser.find("#learner-name-new-0").await.fill("Léa Martin").await;
    browser.find("#learner-email-new-0").await.fill("lea@example.org").await;
    browser.find("#learner-name-new-1").await.fill("Max Dupont").await;
    browser.find("#learner-email-new-1").await.fill("max@example.org").await;
    browser.find("#moderator-name-new-0").await.fill("Zoé Externe").await;
    browser
        .find("#moderator-email-new-0")
        .await
        .fill("zoe@partner.example")
        .await;
    // Enter in the title field books (the form's first submit button is its main action, not
    // "take the course's values" or "add rows").
    browser.find("#title").await.press_enter().await;
    let url = browser.wait_for_url(wait, |u| u.contains("notice=booked")).await;
    let first = url
        .split("/sessions/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let text = browser.text().await;
    assert!(
        text.contains("Séance réservée.") && text.contains("Anglais des affaires 🇬🇧"),
        "{text}"
    );
    assert!(text.contains("Zoé Externe") && text.contains("Léa Martin") && text.contains("Max Dupont"));
    let occurrences: Vec<String> = {
        let mut out = Vec::new();
        for link in browser.find_all("#session-series a").await {
            out.push(link.attribute("href").await.unwrap());
        }
        out
    };
    assert_eq!(occurrences.len(), 3, "the three other occurrences are listed");
    // The calendar of that week shows it on Monday at 09:00.
    browser.goto(&format!("{}/calendar?date={monday}", app.url)).await;
    let monday_cell = browser
        .find(&format!("li.day[data-date='{monday}']"))
        .await
        .text()
        .await;
    assert!(
        monday_cell.contains("09:00–10:30") && monday_cell.contains("Anglais des affaires"),
        "{monday_cell}"
    );
    // Move the second occurrence to 15:00, alone.
    browser.goto(&format!("{}{}", app.url, occurrences[0])).await;
    browser.find("#session-actions a[href$='/edit']").await.click().await;
    browser.wait_for_url(wait, |u| u.ends_with("/edit")).await;
    browser
        .execute(
            "document.querySelector('#time').value = '15:00';",
            serde_json::json!([]),
        )
        .await;
    browser.find("#scope-this").await.click().await;
    browser.find("form.card button[type=submit]").await.click().await;
    browser.wait_for_url(wait, |u| u.contains("notice=session_saved")).await;
    assert!(browser.text().await.contains("15:00–16:30"));
    // Cancel the third, after the confirmation page.
    browser.goto(&format!("{}{}", app.url, occurrences[1])).await;
    browser.find("#session-actions a.danger").await.click().await;
    browser.wait_for_url(wait, |u| u.ends_with("/cancel")).await;
    assert!(browser.text().await.contains("Annuler cette séance ?"));
    browser.find("form.card button.danger").await.click().await;
    browser
        .wait_for_url(wait, |u| u.contains("notice=session_cancelled"))
        .await;
    assert!(browser.text().await.contains("Annulée"));
    browser.find(".who button[type=submit]").await.click().await;
    browser.wait_for_url(wait, |u| u.contains("/login")).await;

    // Théo sees his three remaining sessions and nothing else.
    log_in("theo@example.org").await;
    let home = browser.source().await;
    assert!(home.contains("Mes séances"));
    browser.goto(&format!("{}/sessions?from={monday}", app.url)).await;
    let mut listed = Vec::new();
    for link in browser.find_all("table.sessions tbody a").await {
        listed.push(link.attribute("href").await.unwrap());
    }
    let second = occurrences[0].clone();
    let fourth = occurrences[2].clone();
    let mut expected = vec![format!("/sessions/{first}"), second.clone(), fourth];
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected, "exactly Théo's scheduled sessions");
    browser.goto(&format!("{}/calendar?date={monday}", app.url)).await;
    let week = browser.source().await;
    assert!(week.contains(&first) && !week.contains(&ana_session));
    browser.goto(&format!("{}/sessions/{ana_session}", app.url)).await;
    assert!(browser.text().await.contains("Cette page n’existe pas"));
    // The moved occurrence shows its new time to him as well.
    browser.goto(&format!("{}{second}", app.url)).await;
    assert!(browser.text().await.contains("15:00–16:30"));
}
