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

/// The story in a real browser, with a real SMTP server: a manager books a weekly series
/// of four sessions with three learners (two typed in rows, one pasted) and an external
/// moderator, finds it in the calendar, moves week 3 alone and cancels week 4 with a message;
/// each learner receives exactly one invitation (one event with a rule), one update (week 3's
/// override alone) and one cancellation (week 4's), and every file expands to the booked
/// instants in every parser of the suite (the checks of `series.rs`). Then the trainer logs in
/// and sees exactly their sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_books_a_series_and_the_trainer_sees_exactly_theirs() {
    use crate::booking_support::future_monday;
    use crate::mailkit::{Smtp, spawn, wait_delivered};
    use crate::series::{occurrence_cancellation_to, occurrence_update_to, series_invitation_to};

    let smtp = Smtp::start().await;
    let app = spawn(Backend::Sqlite, &smtp.env()).await;
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
    smtp.wait_for(1).await;
    wait_delivered(&app).await;
    let before = smtp.count();
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
    browser
        .find("#learners_paste")
        .await
        .fill("Yann Le Gall <yann@example.org>")
        .await;
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
    assert!(
        text.contains("Zoé Externe")
            && text.contains("Léa Martin")
            && text.contains("Max Dupont")
            && text.contains("Yann Le Gall")
    );
    let occurrences: Vec<String> = {
        let mut out = Vec::new();
        for link in browser.find_all("#session-series a").await {
            out.push(link.attribute("href").await.unwrap());
        }
        out
    };
    assert_eq!(occurrences.len(), 3, "the three other occurrences are listed");
    let id_of = |href: &str| href.trim_start_matches("/sessions/").to_owned();
    let (week3, week4) = (id_of(&occurrences[1]), id_of(&occurrences[2]));
    let series_id = app
        .store()
        .session(&first)
        .await
        .unwrap()
        .unwrap()
        .session
        .series_id
        .expect("booked as a series");
    let (series, sessions) = app.store().series_occurrences(&series_id).await.unwrap().unwrap();
    let booked: Vec<String> = sessions.iter().map(|o| o.session.starts_at.to_string()).collect();
    assert_eq!(booked.len(), 4);

    // Exactly one invitation each (the trainer, the moderator, three learners), for the series.
    const LEARNERS: [&str; 3] = ["lea@example.org", "max@example.org", "yann@example.org"];
    smtp.wait_for(before + 5).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(
        mails.len(),
        before + 5,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let mut received = Vec::new();
    for email in LEARNERS {
        let (ics, uid, shown) = series_invitation_to(
            &mails,
            email,
            "Convocation : Anglais des affaires 🇬🇧 — 4 séances à partir du ",
            &series.rrule,
            &booked,
            "Europe/Paris",
        );
        assert_eq!(uid, series.uid, "the series' own UID");
        assert!(shown.iter().all(|l| l.contains(" 09:00 ")), "{shown:?}");
        received.push((email, vec![ics]));
    }

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
    // Week 3 moves to 15:00, alone, from its edit form.
    browser.goto(&format!("{}{}", app.url, occurrences[1])).await;
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
    let moved = app.store().session(&week3).await.unwrap().unwrap().session.starts_at;
    assert_eq!(
        moved,
        sessions[2].session.starts_at + jiff::SignedDuration::from_hours(6)
    );
    let mut expected = booked.clone();
    expected[2] = moved.to_string();
    // One update each, carrying week 3 alone.
    smtp.wait_for(before + 10).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), before + 10);
    for (email, files) in &mut received {
        let before: Vec<&str> = files.iter().map(String::as_str).collect();
        let update = occurrence_update_to(
            &mails,
            email,
            "Modification : Anglais des affaires",
            &series.uid,
            &before,
            &moved.to_string(),
            &expected,
        );
        files.push(update);
    }

    // Week 4 cancelled after the confirmation page, with a message for the participants.
    browser.goto(&format!("{}{}", app.url, occurrences[2])).await;
    browser.find("#session-actions a.danger").await.click().await;
    browser.wait_for_url(wait, |u| u.ends_with("/cancel")).await;
    assert!(browser.text().await.contains("Annuler cette séance ?"));
    browser
        .find("#message")
        .await
        .fill("Le formateur est en déplacement ce jour-là.")
        .await;
    browser.find("form.card button.danger").await.click().await;
    browser
        .wait_for_url(wait, |u| u.contains("notice=session_cancelled"))
        .await;
    assert!(browser.text().await.contains("Annulée"));
    expected.pop();
    // One cancellation each, of week 4 alone, with the message.
    smtp.wait_for(before + 15).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), before + 15);
    for (email, files) in &received {
        let before: Vec<&str> = files.iter().map(String::as_str).collect();
        let (mail, _) = occurrence_cancellation_to(
            &mails,
            email,
            "Annulation : Anglais des affaires",
            &series.uid,
            &before,
            &expected,
        );
        assert!(
            mail.text().contains("> Le formateur est en déplacement ce jour-là."),
            "{}",
            mail.text()
        );
    }
    assert_eq!(
        app.store().session(&week4).await.unwrap().unwrap().session.status,
        store::SessionStatus::Cancelled
    );
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
    let third = occurrences[1].clone();
    let mut expected = vec![format!("/sessions/{first}"), second, third.clone()];
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected, "exactly Théo's scheduled sessions");
    browser.goto(&format!("{}/calendar?date={monday}", app.url)).await;
    let week = browser.source().await;
    assert!(week.contains(&first) && !week.contains(&ana_session));
    browser.goto(&format!("{}/sessions/{ana_session}", app.url)).await;
    assert!(browser.text().await.contains("Cette page n’existe pas"));
    // The moved occurrence shows its new time to him as well.
    browser.goto(&format!("{}{third}", app.url)).await;
    assert!(browser.text().await.contains("15:00–16:30"));
}

/// The calendar's week and month views in a real browser, at 1280 px and at 320 px: laid out by
/// the stylesheet under the CSP (sessions placed on the time grid, the month as seven columns),
/// and no sideways scrolling at 320 px (the month stacks its days as a list). Screenshots are
/// saved for a person to look at (their folder is printed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_lays_out_at_1280_and_320_pixels() {
    use crate::booking_support::{book, form, future_monday, session_id};

    let app = TestApp::spawn(Backend::Sqlite).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let monday = future_monday();
    let day = |n: i64| monday.checked_add(jiff::Span::new().days(n)).unwrap();
    let mut ids = Vec::new();
    for (date, time, minutes, title) in [
        (day(0), "09:00", 90, "Anglais des affaires"),
        (day(0), "09:30", 60, "Tableur avancé"),
        (
            day(1),
            "14:00",
            120,
            "Sécurité au travail — une séance au titre assez long",
        ),
        (day(3), "07:30", 45, "Réveil"),
        (day(4), "20:00", 150, "Soirée"),
    ] {
        let mut fields = form(title, date, time, minutes, "theo@example.org");
        if title == "Tableur avancé" {
            // Another trainer would conflict-free overlap; the same trainer is refused, so a
            // second trainer account teaches it.
            app.user("ana@example.org", Role::Trainer).await;
            fields.retain(|(k, _)| k != "trainer");
            fields.push(("trainer".into(), "ana@example.org".into()));
        }
        ids.push(session_id(&book(&manager, &fields).await));
    }
    let browser = Browser::start().await;
    browser.goto(&format!("{}/login", app.url)).await;
    browser.find("#email").await.fill("marie@example.org").await;
    browser.find("#password").await.fill(PASSWORD).await;
    browser.find("form.card button[type=submit]").await.click().await;
    browser.wait_for_url(Duration::from_secs(5), |u| u.ends_with('/')).await;
    let shots = testkit::temp_dir("calendar-screenshots");
    eprintln!("calendar screenshots in {}", shots.display());
    let overflow = "return document.documentElement.scrollWidth - window.innerWidth;";
    let rect = |css: &str| {
        format!(
            "const r = document.querySelector(\"{css}\").getBoundingClientRect(); return [r.left, r.top, r.width, r.height];"
        )
    };
    for width in [1280u32, 320] {
        browser.set_window_size(width, 1000).await;
        // The week: the 09:00 session sits an hour and a half above its end, beside the overlapping one.
        browser
            .goto(&format!("{}/calendar?view=week&date={monday}", app.url))
            .await;
        browser.screenshot(&shots.join(format!("week-{width}.png"))).await;
        let first = browser
            .execute(
                &rect(&format!("li.event[data-session='{}']", ids[0])),
                serde_json::json!([]),
            )
            .await;
        let second = browser
            .execute(
                &rect(&format!("li.event[data-session='{}']", ids[1])),
                serde_json::json!([]),
            )
            .await;
        let n = |v: &serde_json::Value, i: usize| v[i].as_f64().unwrap();
        if width == 1280 {
            // 90 minutes are 6 rows, 60 minutes 4: heights in that ratio, side by side, the later lower.
            let ratio = n(&first, 3) / n(&second, 3);
            assert!((ratio - 1.5).abs() < 0.15, "heights {first} {second}");
            assert!(
                n(&second, 0) > n(&first, 0) + n(&first, 2) - 2.0,
                "side by side: {first} {second}"
            );
            assert!(n(&second, 1) > n(&first, 1), "09:30 below 09:00: {first} {second}");
        } else {
            // Stacked: the days as a list, nothing wider than the screen.
            let week_overflow = browser.execute(overflow, serde_json::json!([])).await;
            assert!(
                week_overflow.as_f64().unwrap() <= 0.0,
                "week at 320 px scrolls sideways by {week_overflow}"
            );
        }
        browser
            .goto(&format!("{}/calendar?view=month&date={monday}", app.url))
            .await;
        browser.screenshot(&shots.join(format!("month-{width}.png"))).await;
        let scroll = browser.execute(overflow, serde_json::json!([])).await;
        assert!(
            scroll.as_f64().unwrap() <= 0.0,
            "month at {width} px scrolls sideways by {scroll}"
        );
        let cell = browser
            .execute(&rect(&format!("td[data-date='{monday}']")), serde_json::json!([]))
            .await;
        let next = browser
            .execute(&rect(&format!("td[data-date='{}']", day(1))), serde_json::json!([]))
            .await;
        if width == 1280 {
            assert!(
                (n(&cell, 1) - n(&next, 1)).abs() < 1.0 && n(&next, 0) > n(&cell, 0),
                "a row of days: {cell} {next}"
            );
        } else {
            assert!(
                n(&next, 1) > n(&cell, 1) && n(&cell, 2) <= 320.0,
                "days stacked: {cell} {next}"
            );
            let label = browser
                .find(&format!("td[data-date='{monday}'] .day-label"))
                .await
                .text()
                .await;
            assert!(
                label.starts_with("lundi"),
                "the full date is shown on small screens: {label}"
            );
        }
    }
}

/// The session form's clock-change messages — a start in the repeated autumn hour asks which
/// one, one in the skipped spring hour (or a weekly series whose later session falls in it) is
/// refused — are said once, across the whole row under the date, time and duration, at 1280
/// and 320 px (issue 12: they were cramped in the date column and shown twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_change_messages_span_the_date_row_once() {
    use crate::booking_support::last_sunday;

    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let year = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year() + 1;
    let autumn = last_sunday(year, 10);
    let spring = last_sunday(year, 3);
    let week_before = |d: jiff::civil::Date| d.checked_sub(jiff::Span::new().days(7)).unwrap();
    let browser = Browser::start().await;
    browser.goto(&format!("{}/login", app.url)).await;
    browser.find("#email").await.fill("marie@example.org").await;
    browser.find("#password").await.fill(PASSWORD).await;
    browser.find("form.card button[type=submit]").await.click().await;
    browser.wait_for_url(Duration::from_secs(5), |u| u.ends_with('/')).await;
    let shots = testkit::temp_dir("clock-change-screenshots");
    eprintln!("clock-change screenshots in {}", shots.display());
    // What is booked (the first date, a weekly series of 3 or one session), and words of the
    // message it must show.
    let cases = [
        ("autumn", autumn, false, "existe deux fois"),
        ("autumn-series", autumn, true, "existe deux fois"),
        ("spring", spring, false, "n’existe pas"),
        ("spring-series", week_before(spring), true, "heure sautée"),
    ];
    for width in [1280u32, 320] {
        browser.set_window_size(width, 1000).await;
        for (name, date, series, words) in &cases {
            browser.goto(&format!("{}/sessions/new", app.url)).await;
            browser
                .execute(
                    "const f = document.getElementById('form');\
                     f.querySelector('#title').value = 'Nuit blanche';\
                     f.querySelector('#date').value = arguments[0];\
                     f.querySelector('#time').value = '02:30';\
                     f.querySelector('#duration').value = '30';\
                     f.querySelector('#time_zone').value = 'Europe/Paris';\
                     f.querySelector('input[name=trainer][value=\"theo@example.org\"]').checked = true;\
                     if (arguments[1]) { f.querySelector('#repeat').value = 'weekly';\
                       f.querySelector('#end-count').checked = true; f.querySelector('#count').value = '3'; }\
                     f.noValidate = true; f.querySelector('button[name=book]').click();",
                    serde_json::json!([date.to_string(), series]),
                )
                .await;
            browser.wait_for("#form-errors", Duration::from_secs(10)).await;
            browser.screenshot(&shots.join(format!("{name}-{width}.png"))).await;
            // In the form (the list of problems on top aside): the elements saying it, and the
            // box of the one that does (the question's, for the repeated hour) beside the
            // content box of the date, time and duration grid.
            let found = browser
                .execute(
                    "const form = document.getElementById('form');\
                     const says = Array.from(form.querySelectorAll('p, legend, li'))\
                       .filter(e => e.textContent.includes(arguments[0]));\
                     const grid = document.getElementById('start');\
                     const g = grid.getBoundingClientRect(), cs = getComputedStyle(grid);\
                     const px = v => parseFloat(v) || 0;\
                     const inner = g.width - px(cs.paddingLeft) - px(cs.paddingRight)\
                       - px(cs.borderLeftWidth) - px(cs.borderRightWidth);\
                     const box = says.length ? (says[0].closest('fieldset.question') || says[0]) : null;\
                     return [says.length, box ? box.getBoundingClientRect().width : 0, inner,\
                             box ? grid.contains(box) : false,\
                             box ? box.getBoundingClientRect().top > document.getElementById('date').getBoundingClientRect().bottom : false];",
                    serde_json::json!([words]),
                )
                .await;
            assert_eq!(found[0], 1, "{name} at {width} px: said {} times in the form", found[0]);
            let (box_width, grid_width) = (found[1].as_f64().unwrap(), found[2].as_f64().unwrap());
            assert!(
                (box_width - grid_width).abs() < 1.0,
                "{name} at {width} px: the message is {box_width} px wide, the row {grid_width} px"
            );
            assert_eq!(
                found[3], true,
                "{name} at {width} px: the message is not with the date and time"
            );
            assert_eq!(
                found[4], true,
                "{name} at {width} px: the message is not under the date"
            );
        }
    }
}

/// The Jitsi server page at 1280 px (issue 12's newcomer's list): the features table keeps each
/// word on one line ("Participant·es", "livestreaming" were split in the card's narrow column),
/// badges such as "Par défaut" are one pill, and no input reaches past its card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jitsi_server_card_keeps_words_whole_and_inputs_inside() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("ada@example.org", Role::Admin).await;
    let server = crate::jitsi_support::server(
        &app,
        crate::jitsi_support::hs256(
            "Jitsi de la formation continue — serveur principal",
            "https://visio.formation-continue-exemple.fr/une-organisation-au-nom-long",
        ),
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/login", app.url)).await;
    browser.find("#email").await.fill("ada@example.org").await;
    browser.find("#password").await.fill(PASSWORD).await;
    browser.find("form.card button[type=submit]").await.click().await;
    browser.wait_for_url(Duration::from_secs(5), |u| u.ends_with('/')).await;
    browser.set_window_size(1280, 1000).await;
    // One line per word: a word split across lines has two boxes.
    let split = "const out = [];\
                 for (const e of document.querySelectorAll(arguments[0])) {\
                   const text = e.textContent.trim(); if (!text) continue;\
                   const r = document.createRange(); r.selectNodeContents(e);\
                   const lines = new Set(Array.from(r.getClientRects()).filter(b => b.width > 0).map(b => Math.round(b.top)));\
                   if (lines.size > 1) out.push(text);\
                 }\
                 return out;";
    for (path, cells) in [
        (
            format!("/jitsi-servers/{}", server.id),
            "fieldset table th, fieldset table code, .badge",
        ),
        (
            "/jitsi-servers/new".to_owned(),
            "fieldset table th, fieldset table code",
        ),
        ("/jitsi-servers".to_owned(), ".badge"),
    ] {
        browser.goto(&format!("{}{path}", app.url)).await;
        let broken = browser.execute(split, serde_json::json!([cells])).await;
        assert_eq!(broken, serde_json::json!([]), "{path}: split across lines");
        let outside = browser
            .execute(
                "const out = [];\
                 for (const i of document.querySelectorAll('.card input, .card select, .card textarea')) {\
                   const c = i.closest('.card').getBoundingClientRect(), r = i.getBoundingClientRect();\
                   if (r.width > 0 && (r.right > c.right + 0.5 || r.left < c.left - 0.5)) out.push(i.id || i.name);\
                 }\
                 return out;",
                serde_json::json!([]),
            )
            .await;
        assert_eq!(outside, serde_json::json!([]), "{path}: inputs past their card");
        // At 1280 px the features table fits its card: no scrolling inside it either.
        let hidden = browser
            .execute(
                "return Array.from(document.querySelectorAll('fieldset .table-wrap'))\
                   .map(w => w.scrollWidth - w.clientWidth).filter(d => d > 0);",
                serde_json::json!([]),
            )
            .await;
        assert_eq!(
            hidden,
            serde_json::json!([]),
            "{path}: the features table scrolls at 1280 px"
        );
    }
}
