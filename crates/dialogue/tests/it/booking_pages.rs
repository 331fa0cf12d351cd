//! Booking through the pages, as a manager and a trainer do it: the session form (single and
//! recurring, people by rows and pasted lists), the session page, the agenda, the calendar, the
//! dashboard, the archives; and every "bad input" rule of the issue, each with its message and
//! nothing written.

use domain::Role;
use jiff::SignedDuration;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::booking_support::*;
use crate::helpers::{TestApp, html_unescape};

both_backends!(
    a_manager_books_a_session_and_everyone_concerned_sees_it,
    every_bad_input_is_explained_and_changes_nothing,
    english_messages_for_english_speakers,
    a_repeated_hour_is_asked_about_not_guessed,
    pasted_lists_are_merged_and_each_bad_line_is_reported,
    a_weekly_series_stays_at_nine_across_both_clock_changes,
    occurrences_move_and_cancel_alone_or_with_the_following,
    ended_sessions_are_archived_and_read_only,
    trainers_book_for_themselves_only_and_only_when_allowed,
    trainers_edit_the_participants_of_their_sessions,
    a_conflict_names_the_other_session,
    courses_give_their_defaults_to_new_sessions,
    the_dashboard_highlights_what_starts_soon_or_is_in_progress,
    the_agenda_filters_and_pages_and_the_calendar_goes_by_week,
);

async fn a_manager_books_a_session_and_everyone_concerned_sees_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let monday = future_monday();
    let title = "Sécurité <script>alert(1)</script> — 表計算 🎓";
    let mut fields = form(title, monday, "09:30", 90, "theo@example.org");
    for (name, email) in [("Léa Martin", "lea@example.org"), ("Max 李", "max@example.org")] {
        add(&mut fields, "learner_name", name);
        add(&mut fields, "learner_email", email);
    }
    add(&mut fields, "moderator_name", "Zoé Externe");
    add(&mut fields, "moderator_email", "zoe@partner.example");
    set(&mut fields, "notes", "Apportez un casque.\n<b>Merci</b>");
    let page = book(&manager, &fields).await;
    let id = session_id(&page);
    assert!(page.contains("Séance réservée."), "{}", errors_of(&page));
    // Escaped, intact.
    assert!(
        page.contains("Sécurité &#60;script&#62;alert(1)&#60;/script&#62; — 表計算 🎓"),
        "the title is shown as text"
    );
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(!page.contains("<b>Merci</b>"));
    assert!(page.contains("Max 李") && page.contains("Zoé Externe") && page.contains("Léa Martin"));
    assert!(page.contains("09:30–11:00"), "local time in the viewer's zone");
    assert!(page.contains("Europe/Paris"));
    // Grouped by role, the moderator marked external.
    let trainers = page.body.find("id=\"role-trainer\"").unwrap();
    let moderators = page.body.find("id=\"role-moderator\"").unwrap();
    let learners = page.body.find("id=\"role-learner\"").unwrap();
    assert!(trainers < moderators && moderators < learners);
    assert!(page.contains("Externe"));
    // Stored as said.
    let stored = app.store().session(&id).await.unwrap().unwrap();
    assert_eq!(stored.session.title, title);
    assert_eq!(stored.session.duration_minutes(), 90);
    assert_eq!(stored.participants.len(), 4);
    // The agenda, the calendar of that week and the dashboard show it.
    let agenda = manager.get(&format!("/sessions?from={monday}")).await;
    assert!(agenda.contains(&format!("/sessions/{id}")), "agenda");
    let week = manager.get(&format!("/calendar?date={monday}")).await;
    assert_eq!(week.status, StatusCode::OK);
    assert!(week.contains(&format!("data-session=\"{id}\"")), "calendar");
    assert!(week.contains("09:30–11:00"));
    // The trainer sees it on their dashboard and calendar; another trainer does not, and its
    // id gives them nothing.
    let theo_browser = app.browser();
    theo_browser.login(&theo.email, crate::helpers::PASSWORD).await;
    let home = theo_browser.get("/").await;
    assert!(home.contains("Mes séances") && home.contains(&format!("/sessions/{id}")));
    let ana = app.browser();
    ana.login("ana@example.org", crate::helpers::PASSWORD).await;
    assert!(!ana.get("/").await.contains(&format!("/sessions/{id}")));
    assert!(!ana.get(&format!("/calendar?date={monday}")).await.contains(&id));
    assert!(!ana.get(&format!("/sessions?from={monday}")).await.contains(&id));
    assert_eq!(ana.get(&format!("/sessions/{id}")).await.status, StatusCode::NOT_FOUND);
    // Room name: generated, ASCII slug plus randomness.
    assert!(
        stored.session.room.starts_with("securite-script-alert-1-script"),
        "{}",
        stored.session.room
    );
}

/// A fresh form for `theo@example.org`, three weeks ahead at 10:00 for an hour.
fn base() -> Vec<(String, String)> {
    form("Atelier", future_monday(), "10:00", 60, "theo@example.org")
}

async fn every_bad_input_is_explained_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_BOOKING_MAX_PARTICIPANTS", "3")]).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    app.user("paul@example.org", Role::Manager).await;
    let year = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year() + 1;
    let gap_day = last_sunday(year, 3);
    let yesterday = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .yesterday()
        .unwrap();
    type Change = Box<dyn Fn(&mut Vec<(String, String)>)>;
    let cases: Vec<(&str, Change, &str, StatusCode)> = vec![
        (
            "start in the past",
            Box::new(move |f| set(f, "date", &yesterday.to_string())),
            "La séance commencerait dans le passé",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "duration too short",
            Box::new(|f| set(f, "duration", "5")),
            "Une durée de 5 minutes n’est pas possible : entre 15 et 720 minutes.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "duration too long",
            Box::new(|f| set(f, "duration", "721")),
            "Une durée de 721 minutes n’est pas possible",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "duration not a number",
            Box::new(|f| set(f, "duration", "une heure")),
            "Indiquez une durée en minutes.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown time zone",
            Box::new(|f| set(f, "time_zone", "Europe/Atlantis")),
            "« Europe/Atlantis » n’est pas un fuseau horaire connu",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a local time that does not exist",
            Box::new(move |f| {
                set(f, "date", &gap_day.to_string());
                set(f, "time", "02:30");
            }),
            "02:30 n’existe pas dans le fuseau Europe/Paris : ce jour-là les horloges passent de 02:00 à 03:00",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a recurrence that ends before it starts",
            Box::new(move |f| {
                set(f, "repeat", "weekly");
                set(f, "end", "until");
                set(f, "until", &yesterday.to_string());
            }),
            "La répétition se termine avant la première séance.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "more than two years of occurrences",
            Box::new(|f| {
                set(f, "repeat", "weekly");
                set(f, "end", "count");
                set(f, "count", "120");
            }),
            "La répétition est trop longue : au plus 2 ans et 500 séances.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a recurrence without an end",
            Box::new(|f| {
                set(f, "repeat", "daily");
                set(f, "end", "never");
            }),
            "Indiquez la fin de la répétition",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "too many participants",
            Box::new(|f| {
                for i in 0..4 {
                    add(f, "learner_name", "");
                    add(f, "learner_email", &format!("l{i}@example.org"));
                }
            }),
            "4 participant·es et invité·es : 3 au plus.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "an invalid email",
            Box::new(|f| {
                add(f, "learner_name", "Léa");
                add(f, "learner_email", "lea-at-example.org");
            }),
            "« lea-at-example.org » n’est pas une adresse e-mail valide.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "the same person twice",
            Box::new(|f| {
                add(f, "learner_name", "Léa");
                add(f, "learner_email", "lea@example.org");
                add(f, "guest_name", "Léa encore");
                add(f, "guest_email", "LEA@example.org");
            }),
            "figure plusieurs fois : une personne n’a qu’un rôle par séance.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a trainer who is not a trainer",
            Box::new(|f| set(f, "trainer", "paul@example.org")),
            "paul@example.org est un compte « Responsable de formation », pas un·e formateur·rice.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a trainer without an account",
            Box::new(|f| set(f, "trainer", "nobody@example.org")),
            "Aucun compte actif n’a l’adresse nobody@example.org",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no trainer at all",
            Box::new(|f| f.retain(|(k, _)| k != "trainer")),
            "Une séance a besoin d’au moins un·e formateur·rice.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "an over-long title",
            Box::new(|f| set(f, "title", &"é".repeat(201))),
            "Le titre dépasse 200 caractères.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "over-long notes",
            Box::new(|f| set(f, "notes", &"n".repeat(5001))),
            "Les informations pour les participant·es dépassent 5000 caractères.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "an over-long name",
            Box::new(|f| {
                add(f, "learner_name", &"N".repeat(101));
                add(f, "learner_email", "n@example.org");
            }),
            "Le nom dépasse 100 caractères.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "an empty title",
            Box::new(|f| set(f, "title", "   ")),
            "Indiquez un titre.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (what, change, message, status) in cases {
        let mut fields = base();
        change(&mut fields);
        let page = book(&manager, &fields).await;
        assert_eq!(page.status, status, "{what}: {}", errors_of(&page));
        assert!(page.redirects.is_empty(), "{what}: redirected");
        let text = html_unescape(&page.body);
        assert!(
            text.contains(message),
            "{what}: expected «{message}» in\n{}",
            errors_of(&page)
        );
        // The form comes back as typed.
        assert!(page.contains("name=\"title\""), "{what}: the form is shown again");
    }
    let all = app
        .store()
        .list_sessions(&store::SessionFilter {
            include_cancelled: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(all.is_empty(), "nothing was booked: {all:?}");
    assert!(
        app.store().search_contacts("", 50).await.unwrap().is_empty(),
        "not even the address book changed"
    );
}

async fn english_messages_for_english_speakers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, user) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let profile = store::ProfileUpdate {
        email: domain::Email::parse(&user.email).unwrap(),
        display_name: domain::DisplayName::parse(&user.display_name).unwrap(),
        locale: domain::Locale::En,
        time_zone: "America/New_York".into(),
    };
    app.store()
        .update_profile(
            &user.id,
            &profile,
            jiff::Timestamp::now(),
            &store::AuditEntry::new("t", None, "t", None),
        )
        .await
        .unwrap();
    let mut fields = base();
    set(&mut fields, "duration", "5");
    let page = book(&manager, &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html_unescape(&page.body).contains("A duration of 5 minutes is not possible"),
        "{}",
        errors_of(&page)
    );
    // Booked, it is shown in the viewer's zone (New York) with the session's zone as well.
    let page = book(&manager, &base()).await;
    session_id(&page);
    assert!(page.contains("Session booked."));
    assert!(page.contains("America/New_York") && page.contains("Europe/Paris"));
    assert!(page.contains("04:00–05:00"), "10:00 in Paris is 04:00 in New York");
}

async fn a_repeated_hour_is_asked_about_not_guessed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let year = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year() + 1;
    let day = last_sunday(year, 10);
    let mut fields = form("Nuit blanche", day, "02:30", 30, "theo@example.org");
    // With an unreadable pasted line too: both problems are said at once.
    set(&mut fields, "learners_paste", "pas une adresse");
    let page = book(&manager, &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = html_unescape(&page.body);
    assert!(
        text.contains("Ligne 1 (« pas une adresse »)") && text.contains("existe deux fois"),
        "{}",
        errors_of(&page)
    );
    set(&mut fields, "learners_paste", "");
    let page = book(&manager, &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = html_unescape(&page.body);
    assert!(
        text.contains(&format!("{day} 02:30 existe deux fois dans le fuseau Europe/Paris")),
        "{}",
        errors_of(&page)
    );
    assert!(
        page.contains("name=\"ambiguity\" value=\"earlier\"") && page.contains("name=\"ambiguity\" value=\"later\"")
    );
    assert!(text.contains("UTC+02:00") && text.contains("UTC+01:00"));
    set(&mut fields, "ambiguity", "later");
    let page = book(&manager, &fields).await;
    let id = session_id(&page);
    let stored = app.store().session(&id).await.unwrap().unwrap();
    let expected: jiff::Timestamp = format!("{day}T01:30:00Z").parse().unwrap();
    assert_eq!(stored.session.starts_at, expected, "02:30 the second time is 01:30 UTC");
    // Moving a session to a repeated hour asks the same question.
    let other = session_id(&book(&manager, &form("Autre", day, "10:00", 30, "theo@example.org")).await);
    let mut edit = vec![
        ("title", "Autre".to_owned()),
        ("notes", String::new()),
        ("date", day.to_string()),
        ("time", "02:15".to_owned()),
        ("duration", "30".to_owned()),
    ];
    let pairs = |fields: &[(&'static str, String)]| -> Vec<(String, String)> {
        fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    };
    let page = post(&manager, &format!("/sessions/{other}/edit"), &pairs(&edit)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("name=\"ambiguity\" value=\"earlier\""),
        "{}",
        errors_of(&page)
    );
    edit.push(("ambiguity", "earlier".to_owned()));
    let page = post(&manager, &format!("/sessions/{other}/edit"), &pairs(&edit)).await;
    assert!(page.contains("Séance modifiée."), "{}", errors_of(&page));
    let moved = app.store().session(&other).await.unwrap().unwrap().session.starts_at;
    assert_eq!(
        moved,
        format!("{day}T00:15:00Z").parse::<jiff::Timestamp>().unwrap(),
        "the first 02:15 is 00:15 UTC"
    );
}

async fn pasted_lists_are_merged_and_each_bad_line_is_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let mut fields = base();
    add(&mut fields, "learner_name", "Léa Martin");
    add(&mut fields, "learner_email", "lea@example.org");
    set(
        &mut fields,
        "learners_paste",
        "LEA@example.org\nMax Dupont <max@example.org>\npas une adresse\nAnne, anne@example.org\nmax@example.org\nbob@nowhere",
    );
    let page = book(&manager, &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = html_unescape(&page.body);
    assert!(text.contains("Ligne 3 (« pas une adresse »)"), "{}", errors_of(&page));
    assert!(
        app.store().list_sessions(&Default::default()).await.unwrap().is_empty(),
        "nothing booked while a line is unreadable"
    );
    assert!(text.contains("Ligne 6 (« bob@nowhere »)"));
    assert!(!text.contains("Ligne 1 ") && !text.contains("Ligne 5 "));
    // The pasted text comes back for correction.
    assert!(text.contains("Max Dupont <max@example.org>"));
    set(
        &mut fields,
        "learners_paste",
        "LEA@example.org\nMax Dupont <max@example.org>\nAnne, anne@example.org\nmax@example.org",
    );
    let page = book(&manager, &fields).await;
    let id = session_id(&page);
    let stored = app.store().session(&id).await.unwrap().unwrap();
    let learners: Vec<(&str, &str)> = stored
        .with_role(store::ParticipantRole::Learner)
        .map(|p| (p.name.as_str(), p.email.as_str()))
        .collect();
    assert_eq!(learners.len(), 3, "{learners:?}");
    assert!(
        learners.contains(&("Léa Martin", "lea@example.org")),
        "the row's name is kept"
    );
    assert!(learners.contains(&("Max Dupont", "max@example.org")));
    assert!(learners.contains(&("Anne", "anne@example.org")));
}

async fn a_weekly_series_stays_at_nine_across_both_clock_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let first = october_monday();
    let mut fields = form("Anglais", first, "09:00", 60, "theo@example.org");
    set(&mut fields, "repeat", "weekly");
    add(&mut fields, "weekday", "MO");
    set(&mut fields, "end", "count");
    set(&mut fields, "count", "30");
    let page = book(&manager, &fields).await;
    let id = session_id(&page);
    let series_id = app
        .store()
        .session(&id)
        .await
        .unwrap()
        .unwrap()
        .session
        .series_id
        .unwrap();
    let sessions = app
        .store()
        .series_sessions(&series_id, jiff::Timestamp::MIN)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 30);
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let october_change = last_sunday(first.year(), 10);
    let march_change = last_sunday(first.year() + 1, 3);
    let mut seen = [false; 3];
    for s in &sessions {
        let local = s.starts_at.to_zoned(paris.clone());
        assert_eq!((local.hour(), local.minute()), (9, 0), "{}", s.starts_at);
        assert_eq!(local.weekday(), jiff::civil::Weekday::Monday);
        let utc_hour = s.starts_at.to_zoned(jiff::tz::TimeZone::UTC).hour();
        let date = local.date();
        let expected = if date < october_change || date > march_change {
            7
        } else {
            8
        };
        assert_eq!(utc_hour, expected, "{date}: 09:00 Paris is {expected}:00 UTC");
        seen[if date < october_change {
            0
        } else if date < march_change {
            1
        } else {
            2
        }] = true;
    }
    assert_eq!(seen, [true; 3], "the series spans both changes");
    // On the pages: 09:00 before, between and after the changes.
    for s in [&sessions[0], &sessions[10], &sessions[29]] {
        let page = manager.get(&format!("/sessions/{}", s.id)).await;
        assert!(page.contains("09:00–10:00"), "{}", s.starts_at);
    }
    // In the API: UTC instants, and 09:00 on the clocks of the session's zone.
    let api = Api::new(&app, &manager_user.id).await;
    for s in [&sessions[0], &sessions[10], &sessions[29]] {
        let (status, json) = api.get(&format!("/sessions/{}", s.id)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["time_zone"], "Europe/Paris");
        assert!(json["local_start"].as_str().unwrap().ends_with("T09:00:00"), "{json}");
        assert_eq!(json["starts_at"], s.starts_at.to_string());
        assert!(json["starts_at"].as_str().unwrap().ends_with('Z'));
    }
}

async fn occurrences_move_and_cancel_alone_or_with_the_following(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let monday = future_monday();
    let mut fields = form("Série", monday, "14:00", 60, "theo@example.org");
    set(&mut fields, "repeat", "weekly");
    set(&mut fields, "end", "count");
    set(&mut fields, "count", "5");
    let page = book(&manager, &fields).await;
    let first = session_id(&page);
    let series = app
        .store()
        .session(&first)
        .await
        .unwrap()
        .unwrap()
        .session
        .series_id
        .unwrap();
    let ids: Vec<String> = app
        .store()
        .series_sessions(&series, jiff::Timestamp::MIN)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids.len(), 5);
    // The page lists the series.
    for id in &ids[1..] {
        assert!(page.contains(&format!("/sessions/{id}")));
    }
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let local = |id: &str| {
        let app = &app;
        let id = id.to_owned();
        let paris = paris.clone();
        async move {
            let s = app.store().session(&id).await.unwrap().unwrap().session;
            (s.starts_at.to_zoned(paris).datetime(), s.status)
        }
    };
    // Move the second one to Tuesday, alone.
    let edit = manager.get(&format!("/sessions/{}/edit", ids[1])).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.contains("name=\"scope\""), "a series asks which occurrences");
    let tuesday = monday.checked_add(jiff::Span::new().days(8)).unwrap();
    let page = manager
        .post(
            &format!("/sessions/{}/edit", ids[1]),
            &[
                ("title", "Série"),
                ("notes", ""),
                ("course_id", ""),
                ("date", &tuesday.to_string()),
                ("time", "14:00"),
                ("duration", "60"),
                ("scope", "this"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", errors_of(&page));
    assert!(page.contains("Séance modifiée."));
    assert_eq!(local(&ids[1]).await.0.date(), tuesday);
    assert_eq!(local(&ids[2]).await.0.date().weekday(), jiff::civil::Weekday::Monday);
    // From the third on, at 16:30 and for 90 minutes.
    manager
        .post(
            &format!("/sessions/{}/edit", ids[2]),
            &[
                ("title", "Série"),
                ("notes", ""),
                ("course_id", ""),
                ("date", &local(&ids[2]).await.0.date().to_string()),
                ("time", "16:30"),
                ("duration", "90"),
                ("scope", "following"),
            ],
        )
        .await;
    for (i, id) in ids.iter().enumerate() {
        let (at, _) = local(id).await;
        let expected = if i >= 2 { (16, 30) } else { (14, 0) };
        assert_eq!((at.hour(), at.minute()), expected, "occurrence {i}");
    }
    assert_eq!(local(&ids[1]).await.0.date(), tuesday, "the moved one stays moved");
    // Cancel the first alone, after the confirmation page.
    let confirm = manager.get(&format!("/sessions/{}/cancel", ids[0])).await;
    assert!(confirm.contains("Annuler cette séance ?") && confirm.contains("value=\"following\""));
    let page = manager
        .post(&format!("/sessions/{}/cancel", ids[0]), &[("scope", "this")])
        .await;
    assert!(page.contains("Séance annulée."));
    // Then the fourth and the following.
    manager
        .post(&format!("/sessions/{}/cancel", ids[3]), &[("scope", "following")])
        .await;
    let statuses: Vec<store::SessionStatus> = {
        let mut out = Vec::new();
        for id in &ids {
            out.push(local(id).await.1);
        }
        out
    };
    use store::SessionStatus::*;
    assert_eq!(statuses, [Cancelled, Scheduled, Scheduled, Cancelled, Cancelled]);
    // A cancelled session can no longer be changed.
    let page = manager.get(&format!("/sessions/{}/edit", ids[0])).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(html_unescape(&page.body).contains("Cette séance est annulée"));
    // The audit log says it in words, with what changed: the move alone, then the times and
    // duration of the following three.
    let (admin, _) = app.logged_in("ada@example.org", Role::Admin).await;
    let log = html_unescape(&admin.get("/audit").await.body);
    for words in [
        "Séance(s) modifiée(s)",
        "Séance(s) annulée(s)",
        "Séance(s) réservée(s)",
        "<code class=\"muted\">session.update</code>",
        "séances : 3",
        "modifié : horaire",
    ] {
        assert!(log.contains(words), "{words} in {log}");
    }
    assert!(!log.contains("\"changed\""), "no JSON: {log}");
}

async fn ended_sessions_are_archived_and_read_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let page = book(&manager, &base()).await;
    let id = session_id(&page);
    assert!(page.contains(&format!("/sessions/{id}/edit")));
    // Later it is over (and the manager logs in again).
    let ends = app.store().session(&id).await.unwrap().unwrap().session.ends_at;
    app.clock
        .advance(ends.duration_since(app.state.now()) + SignedDuration::from_hours(24));
    manager.login("marie@example.org", crate::helpers::PASSWORD).await;
    let page = manager.get(&format!("/sessions/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Terminée") && page.contains("elle est archivée"));
    assert!(
        !page.contains(&format!("/sessions/{id}/edit")),
        "no actions on an ended session"
    );
    for path in ["edit", "participants", "cancel"] {
        let get = manager.get(&format!("/sessions/{id}/{path}")).await;
        assert_eq!(get.status, StatusCode::CONFLICT, "GET {path}");
        assert!(html_unescape(&get.body).contains("Cette séance est terminée : elle est archivée"));
    }
    let before = app.store().session(&id).await.unwrap().unwrap();
    let tomorrow = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let posts: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "edit",
            vec![
                ("title", "Changé".into()),
                ("date", tomorrow.to_string()),
                ("time", "10:00".into()),
                ("duration", "60".into()),
            ],
        ),
        ("participants", vec![("trainer", "theo@example.org".into())]),
        ("cancel", vec![("scope", "this".into())]),
    ];
    for (path, fields) in posts {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = manager.post(&format!("/sessions/{id}/{path}"), &fields).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "POST {path}");
    }
    assert_eq!(
        app.store().session(&id).await.unwrap().unwrap(),
        before,
        "nothing changed"
    );
    // It is in the archives, not in the agenda; the most recent first.
    let archives = manager.get("/archives").await;
    assert!(archives.contains(&format!("/sessions/{id}")));
    let older = app
        .store()
        .book_sessions(
            &store::NewSessions {
                course_id: None,
                title: "Plus ancienne".into(),
                notes: String::new(),
                time_zone: "Europe/Paris".into(),
                times: vec![(
                    before.session.starts_at - SignedDuration::from_hours(48),
                    before.session.starts_at - SignedDuration::from_hours(47),
                )],
                rrule: None,
                people: store::People {
                    trainers: vec![domain::Email::parse("theo@example.org").unwrap()],
                    ..Default::default()
                },
                created_by: before.session.created_by.clone().unwrap(),
                jitsi_server_id: None,
            },
            jiff::Timestamp::now(),
            &store::AuditEntry::new("t", None, "t", None),
        )
        .await
        .unwrap()[0]
        .session
        .id
        .clone();
    let archives = manager.get("/archives").await;
    let (newer_at, older_at) = (
        archives.body.find(&format!("/sessions/{id}")).unwrap(),
        archives.body.find(&format!("/sessions/{older}")).unwrap(),
    );
    assert!(newer_at < older_at, "newest first");
    assert!(!manager.get("/sessions").await.contains(&format!("/sessions/{id}")));
}

async fn trainers_book_for_themselves_only_and_only_when_allowed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (theo, _) = app.logged_in("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let form_page = theo.get("/sessions/new").await;
    assert_eq!(form_page.status, StatusCode::OK);
    assert!(
        form_page.contains("value=\"theo@example.org\" checked"),
        "themself ticked"
    );
    assert!(!form_page.contains("name=\"course_id\""), "no courses for trainers");
    let page = book(&theo, &base()).await;
    session_id(&page);
    let mut other = form("Pour Ana", future_monday(), "15:00", 60, "ana@example.org");
    let page = book(&theo, &other).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(html_unescape(&page.body).contains("Vous ne pouvez réserver que des séances que vous animez"));
    // Themself and another trainer: another trainer's time is the planners' to give.
    add(&mut other, "trainer", "theo@example.org");
    let page = book(&theo, &other).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(html_unescape(&page.body).contains("Seul·es les gestionnaires et les administrateur·rices placent"));
    assert!(
        !form_page.contains("value=\"ana@example.org\""),
        "other trainers are not offered"
    );
    drop(app);

    let app = TestApp::spawn_with(backend, &[("DIALOGUE_BOOKING_TRAINERS_CAN_BOOK", "false")]).await;
    let (theo, _) = app.logged_in("theo@example.org", Role::Trainer).await;
    assert_eq!(theo.get("/sessions/new").await.status, StatusCode::FORBIDDEN);
    assert_eq!(book(&theo, &base()).await.status, StatusCode::FORBIDDEN);
    assert!(!theo.get("/sessions").await.contains("href=\"/sessions/new\""));
    assert!(!theo.get("/").await.contains("href=\"/sessions/new\""));
    assert!(app.store().list_sessions(&Default::default()).await.unwrap().is_empty());
    // A manager still books for them, and they see it.
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let id = session_id(&book(&manager, &base()).await);
    let page = theo.get(&format!("/sessions/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.contains(&format!("/sessions/{id}/edit")), "not theirs to move");
    assert!(
        page.contains(&format!("/sessions/{id}/participants")),
        "but theirs to staff"
    );
}

async fn trainers_edit_the_participants_of_their_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let (theo, _) = app.logged_in("theo@example.org", Role::Trainer).await;
    let (ana, _) = app.logged_in("ana@example.org", Role::Trainer).await;
    let id = session_id(&book(&manager, &base()).await);
    let editor = theo.get(&format!("/sessions/{id}/participants")).await;
    assert_eq!(editor.status, StatusCode::OK);
    let page = theo
        .post(
            &format!("/sessions/{id}/participants"),
            &[
                ("trainer", "theo@example.org"),
                ("learner_name", "Nour 🌟"),
                ("learner_email", "nour@example.org"),
                ("guests_paste", "Invitée <invitee@elsewhere.example>"),
            ],
        )
        .await;
    assert!(page.contains("Participant·es enregistré·es."), "{}", errors_of(&page));
    assert!(page.contains("Nour 🌟") && page.contains("invitee@elsewhere.example"));
    // Another trainer: the session does not exist for them.
    assert_eq!(
        ana.get(&format!("/sessions/{id}/participants")).await.status,
        StatusCode::NOT_FOUND
    );
    let refused = ana
        .post(
            &format!("/sessions/{id}/participants"),
            &[("trainer", "ana@example.org")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // The trainer cannot move or cancel a session they did not book.
    assert_eq!(
        theo.get(&format!("/sessions/{id}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        theo.post(&format!("/sessions/{id}/cancel"), &[("scope", "this")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let s = app.store().session(&id).await.unwrap().unwrap();
    assert_eq!(s.session.status, store::SessionStatus::Scheduled);
    assert_eq!(s.participants.len(), 3);
}

async fn a_conflict_names_the_other_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let monday = future_monday();
    session_id(
        &book(
            &manager,
            &form("Premier atelier", monday, "10:00", 60, "theo@example.org"),
        )
        .await,
    );
    let page = book(
        &manager,
        &form("Second atelier", monday, "10:30", 60, "theo@example.org"),
    )
    .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    let text = html_unescape(&page.body);
    assert!(
        text.contains("theo@example.org anime déjà « Premier atelier » à ce moment-là"),
        "{}",
        errors_of(&page)
    );
    assert_eq!(app.store().list_sessions(&Default::default()).await.unwrap().len(), 1);
    // Back to back is fine.
    session_id(
        &book(
            &manager,
            &form("Second atelier", monday, "11:00", 60, "theo@example.org"),
        )
        .await,
    );
}

async fn courses_give_their_defaults_to_new_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let page = manager
        .post(
            "/courses",
            &[
                ("title", "Gestion de projet 📋"),
                ("code", "GP-101"),
                ("description", "Trois jours"),
                ("duration", "120"),
                ("trainer", "theo@example.org"),
                ("learner_name", "Léa"),
                ("learner_email", "lea@example.org"),
                ("learners_paste", "max@example.org\nLEA@example.org"),
            ],
        )
        .await;
    assert!(page.contains("Formation créée."), "{}", errors_of(&page));
    let course_id = page.path.trim_start_matches("/courses/").to_owned();
    assert!(page.contains("Gestion de projet 📋") && page.contains("GP-101"));
    let detail = app.store().course(&course_id).await.unwrap().unwrap();
    assert_eq!(detail.learners.len(), 2, "duplicates merged");
    // The same code twice is refused, with nothing created.
    let again = manager
        .post(
            "/courses",
            &[("title", "Autre"), ("code", "GP-101"), ("duration", "60")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(html_unescape(&again.body).contains("Une formation utilise déjà la référence GP-101."));
    assert_eq!(app.store().list_courses(true).await.unwrap().len(), 1);
    // The new-session form takes the course's defaults.
    let form_page = manager.get(&format!("/sessions/new?course={course_id}")).await;
    assert!(form_page.contains("value=\"Gestion de projet 📋\""));
    assert!(form_page.contains("name=\"duration\" type=\"number\"") && form_page.contains("value=\"120\""));
    assert!(form_page.contains("value=\"theo@example.org\" checked"));
    assert!(form_page.contains("value=\"lea@example.org\"") && form_page.contains("value=\"max@example.org\""));
    // Booked with the course and an empty title: the course's title; its learners attend.
    let mut fields = base();
    set(&mut fields, "course_id", &course_id);
    set(&mut fields, "title", "");
    add(&mut fields, "learner_name", "Léa");
    add(&mut fields, "learner_email", "lea@example.org");
    let id = session_id(&book(&manager, &fields).await);
    let s = app.store().session(&id).await.unwrap().unwrap();
    assert_eq!(s.session.title, "Gestion de projet 📋");
    assert_eq!(s.session.course_id.as_deref(), Some(course_id.as_str()));
    let course_page = manager.get(&format!("/courses/{course_id}")).await;
    assert!(course_page.contains(&format!("/sessions/{id}")));
    // Edit, archive, unarchive.
    let page = manager
        .post(
            &format!("/courses/{course_id}"),
            &[
                ("title", "Gestion de projet avancée"),
                ("code", "GP-201"),
                ("duration", "90"),
                ("trainer", "theo@example.org"),
            ],
        )
        .await;
    assert!(page.contains("Formation enregistrée."), "{}", errors_of(&page));
    assert!(page.contains("GP-201"));
    let page = manager.post(&format!("/courses/{course_id}/archive"), &[]).await;
    assert!(page.contains("Formation archivée."));
    assert!(!manager.get("/courses").await.contains(&course_id));
    assert!(manager.get("/courses?archived=1").await.contains(&course_id));
    assert!(
        !manager.get("/sessions/new").await.contains(&course_id),
        "archived: not offered"
    );
    manager.post(&format!("/courses/{course_id}/unarchive"), &[]).await;
    assert!(manager.get("/courses").await.contains(&course_id));
}

async fn the_dashboard_highlights_what_starts_soon_or_is_in_progress(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let (theo, _) = app.logged_in("theo@example.org", Role::Trainer).await;
    // In 40 minutes (whole minutes, Paris time), and another in three weeks.
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let soon = (app.state.now() + SignedDuration::from_mins(40)).to_zoned(paris);
    let time = format!("{:02}:{:02}", soon.hour(), soon.minute());
    let soon_id = session_id(
        &book(
            &manager,
            &form("Bientôt là", soon.date(), &time, 60, "theo@example.org"),
        )
        .await,
    );
    let later_id = session_id(&book(&manager, &base()).await);
    let home = theo.get("/").await;
    let card = |page: &crate::helpers::Page, id: &str| {
        let at = page.body.find(&format!("data-session=\"{id}\"")).expect("listed");
        let start = page.body[..at].rfind("<li").unwrap();
        let end = at + page.body[at..].find("</li>").unwrap();
        page.body[start..end].to_owned()
    };
    let soon_card = card(&home, &soon_id);
    assert!(
        soon_card.contains("session-card soon") && soon_card.contains("Bientôt"),
        "{soon_card}"
    );
    let later_card = card(&home, &later_id);
    assert!(
        !later_card.contains(" soon") && !later_card.contains("badge"),
        "{later_card}"
    );
    // An hour later it is in progress, still highlighted.
    app.clock.advance(SignedDuration::from_mins(60));
    theo.login("theo@example.org", crate::helpers::PASSWORD).await;
    let home = theo.get("/").await;
    let card = card(&home, &soon_id);
    assert!(
        card.contains("session-card soon") && card.contains("En cours"),
        "{card}"
    );
}

async fn the_agenda_filters_and_pages_and_the_calendar_goes_by_week(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager_user.id).await;
    let (_, course) = api
        .post("/courses", &serde_json::json!({ "title": "Cours filtré" }))
        .await;
    let course = course["id"].as_str().unwrap().to_owned();
    let monday = future_monday();
    // 55 daily sessions for Théo, 1 for Ana (in the course).
    let mut series = form("Quotidienne", monday, "08:00", 30, "theo@example.org");
    set(&mut series, "repeat", "daily");
    set(&mut series, "count", "55");
    session_id(&book(&manager, &series).await);
    let mut ana = form("Celle d’Ana", monday, "18:00", 30, "ana@example.org");
    set(&mut ana, "course_id", &course);
    let ana_id = session_id(&book(&manager, &ana).await);
    let count = |page: &crate::helpers::Page| page.body.matches("<tr").count() - 1;
    let first = manager.get("/sessions").await;
    assert_eq!(count(&first), 50, "a page of 50");
    assert!(first.contains("rel=\"next\"") && !first.contains("rel=\"prev\""));
    let second = manager.get("/sessions?page=2").await;
    assert_eq!(count(&second), 6);
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));
    let of_ana = manager
        .get(&format!(
            "/sessions?trainer={}",
            app.store().user_by_email("ana@example.org").await.unwrap().unwrap().id
        ))
        .await;
    assert_eq!(count(&of_ana), 1);
    assert!(of_ana.contains(&ana_id));
    let of_course = manager.get(&format!("/sessions?course={course}")).await;
    assert_eq!(count(&of_course), 1);
    assert!(of_course.contains("Cours filtré"));
    let day3 = monday.checked_add(jiff::Span::new().days(2)).unwrap();
    let window = manager.get(&format!("/sessions?from={monday}&to={day3}")).await;
    assert_eq!(count(&window), 4, "three days of Théo's and Ana's one");
    let bad = manager.get("/sessions?from=demain").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html_unescape(&bad.body).contains("Indiquez une date (AAAA-MM-JJ)."));
    // A trainer's filters cannot show someone else's sessions.
    let theo_browser = app.browser();
    theo_browser.login(&theo.email, crate::helpers::PASSWORD).await;
    let mine = theo_browser
        .get(&format!("/sessions?trainer={}&course={course}&from={monday}", theo.id))
        .await;
    assert!(!mine.contains(&ana_id) && !mine.contains("name=\"trainer\""));
    // The calendar, by ISO week, with its neighbours.
    let week = crate::calendar_week(monday);
    let page = manager.get(&format!("/calendar?week={week}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("class=\"event").count(),
        8,
        "seven of Théo's and Ana's"
    );
    let next = monday.checked_add(jiff::Span::new().weeks(1)).unwrap();
    assert!(html_unescape(&page.body).contains(&format!("/calendar?view=week&date={next}")));
    let bad = manager.get("/calendar?week=2026-W99").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html_unescape(&bad.body).contains("Indiquez une semaine de la forme 2026-W43."));
}
