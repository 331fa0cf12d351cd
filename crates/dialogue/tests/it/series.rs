//! A series is one calendar event per person: the booking story of a training secretary, over a
//! real SMTP server, each calendar expanded by every parser of the suite (Python's `ical`,
//! libical, khal, and Thunderbird's ical.js applying the messages in the order they came).

use jiff::SignedDuration;
use jiff::civil::time;
use reqwest::StatusCode;
use store::{Rsvp, SessionDetail};
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;
use crate::mail::cast;
use crate::mailkit::*;

both_backends!(a_booked_series_is_one_event_moved_and_cancelled_by_occurrence);
both_backends!(cancelling_this_and_the_following_is_one_message);

const LEARNERS: [&str; 3] = ["zoe@example.org", "ingrid@example.net", "yann@example.org"];

fn starts(sessions: &[SessionDetail]) -> Vec<String> {
    sessions.iter().map(|d| d.session.starts_at.to_string()).collect()
}

/// The value of the first `NAME` line (unfolded) of each VEVENT of `ics`.
pub(crate) fn event_values(ics: &str, name: &str) -> Vec<String> {
    let mut inside = false;
    let mut found = Vec::new();
    for line in unfold(ics).lines() {
        match line {
            "BEGIN:VEVENT" => inside = true,
            "END:VEVENT" => inside = false,
            l if inside && (l.starts_with(&format!("{name};")) || l.starts_with(&format!("{name}:"))) => {
                found.push(l.to_owned());
            }
            _ => {}
        }
    }
    found
}

// ---- Checks shared with the browser story (`browser.rs`) ----

/// The one invitation to the whole series `email` received (subject starting with `subject`):
/// a REQUEST holding one event with `rrule`, which the strict parsers read and which expands to
/// exactly `booked` (UTC instants) in Python's `ical`, ical.js and khal (libical reads its first
/// start). Returns its calendar, the series' UID and what khal shows of it (local start and
/// end of each occurrence, in `zone`).
pub(crate) fn series_invitation_to(
    mails: &[Mail],
    email: &str,
    subject: &str,
    rrule: &str,
    booked: &[String],
    zone: &str,
) -> (String, String, Vec<String>) {
    let mail = one_to(mails, email, subject);
    let part = mail.inline_calendar().unwrap();
    assert_eq!(part.method.as_deref(), Some("REQUEST"));
    let ics = part.text.clone();
    assert_eq!(event_values(&ics, "UID").len(), 1, "one event: {ics}");
    assert_eq!(event_values(&ics, "RRULE"), [format!("RRULE:{rrule}")]);
    let parsed = parse_calendar(&ics);
    assert_eq!(parsed.ical["method"], "REQUEST");
    assert_eq!(parsed.libical_starts(), booked[..1]);
    assert_eq!(parsed.ical_occurrences(), booked, "{email}: Python's ical");
    assert_eq!(icaljs_occurrences(&[&ics]), booked, "{email}: ical.js");
    let shown = khal_imported(&ics, zone, in_days(0, zone));
    assert_eq!(shown.len(), booked.len(), "{email}: khal {shown:?}");
    let uid = parsed.ical["events"][0]["uid"].as_str().unwrap().to_owned();
    (ics, uid, shown)
}

/// The one update of a single occurrence `email` received: that occurrence alone (a
/// `RECURRENCE-ID`, no rule) of the series `uid`, starting at `moved`; applied after `before`
/// (what they received earlier, in order), ical.js lands on `expected`. Returns its calendar.
pub(crate) fn occurrence_update_to(
    mails: &[Mail],
    email: &str,
    subject: &str,
    uid: &str,
    before: &[&str],
    moved: &str,
    expected: &[String],
) -> String {
    let mail = one_to(mails, email, subject);
    let ics = mail.inline_calendar().unwrap().text.clone();
    assert_eq!(
        event_values(&ics, "RECURRENCE-ID").len(),
        1,
        "the override alone: {ics}"
    );
    assert!(event_values(&ics, "RRULE").is_empty(), "{ics}");
    let parsed = parse_calendar(&ics);
    assert_eq!(parsed.ical["events"][0]["uid"], uid);
    assert_eq!(parsed.libical_starts(), [moved.to_owned()]);
    let mut applied = before.to_vec();
    applied.push(&ics);
    assert_eq!(
        icaljs_occurrences(&applied),
        expected,
        "{email}: ical.js after the update"
    );
    ics
}

/// The one cancellation of a single occurrence `email` received: a CANCEL of that occurrence
/// (`RECURRENCE-ID`) of the series `uid`, status cancelled; applied after `before`, ical.js
/// lands on `expected`. Returns the mail and its calendar.
pub(crate) fn occurrence_cancellation_to<'m>(
    mails: &'m [Mail],
    email: &str,
    subject: &str,
    uid: &str,
    before: &[&str],
    expected: &[String],
) -> (&'m Mail, String) {
    let mail = one_to(mails, email, subject);
    let part = mail.inline_calendar().unwrap();
    assert_eq!(part.method.as_deref(), Some("CANCEL"));
    let ics = part.text.clone();
    assert_eq!(event_values(&ics, "RECURRENCE-ID").len(), 1, "{ics}");
    let parsed = parse_calendar(&ics);
    assert_eq!(parsed.ical["events"][0]["uid"], uid);
    assert_eq!(parsed.ical["events"][0]["status"], "CANCELLED");
    let mut applied = before.to_vec();
    applied.push(&ics);
    assert_eq!(
        icaljs_occurrences(&applied),
        expected,
        "{email}: ical.js after the update and the cancellation"
    );
    (mail, ics)
}

async fn session(app: &TestApp, id: &str) -> SessionDetail {
    app.store().session(id).await.unwrap().unwrap()
}

async fn a_booked_series_is_one_event_moved_and_cancelled_by_occurrence(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let mut r = request(
        "Atelier tableur",
        in_days(3, "Europe/Paris"),
        time(9, 0, 0, 0),
        "Europe/Paris",
        90,
    );
    r.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    r.trainers = vec!["theo@example.org".into()];
    r.learners = vec![
        person("Zoé Lefèvre", "zoe@example.org"),
        person("Ingrid Müller", "ingrid@example.net"),
        person("Yann Le Gall", "yann@example.org"),
    ];
    let sessions = book(&app, &people.manager, &r).await;
    assert_eq!(sessions.len(), 4);
    let booked = starts(&sessions);

    // Exactly one invitation each (the trainer and three learners), for the whole series.
    smtp.wait_for(4).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(
        mails.len(),
        4,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let mut invitations = Vec::new();
    let mut series_uid = String::new();
    for email in LEARNERS {
        let mail = one_to(&mails, email, "Convocation : Atelier tableur — 4 séances à partir du ");
        let text = mail.text();
        // Each session with the learner's own link, nobody else's.
        for d in &sessions {
            assert!(text.contains(&link_of(&app, d, email)), "{email}: {text}");
            for other in LEARNERS.iter().filter(|o| **o != email) {
                assert!(!text.contains(&link_of(&app, d, other)), "{email} sees {other}'s link");
            }
        }
        assert_eq!(text.matches("de 09:00 à 10:30 (Europe/Paris)").count(), 4, "{text}");
        // One answer for the series.
        let first = link_of(&app, &sessions[0], email);
        assert!(
            text.contains(&format!("{first}/rsvp?answer=accepted&scope=series")),
            "{text}"
        );
        let (ics, uid, shown) = series_invitation_to(
            &mails,
            email,
            "Convocation : Atelier tableur — 4 séances à partir du ",
            "FREQ=WEEKLY;COUNT=4",
            &booked,
            "Europe/Paris",
        );
        assert!(shown.iter().all(|l| l.contains(" 09:00 ")), "{shown:?}");
        assert!(
            sessions.iter().all(|d| d.session.uid != uid),
            "the series has its own UID"
        );
        if series_uid.is_empty() {
            series_uid = uid;
        } else {
            assert_eq!(series_uid, uid, "one UID for the series");
        }
        invitations.push((email, ics));
    }
    one_to(&mails, "theo@example.org", "Convocation : Atelier tableur — 4 séances");

    // Week 3 an hour and a half later: one message each, carrying that occurrence alone.
    let by = caller(&people.manager);
    let later = service::booking::DetailsChange {
        time: Some(time(10, 30, 0, 0)),
        ..Default::default()
    };
    let week3 = &sessions[2].session;
    service::booking::change_details(
        app.state.service(),
        &by,
        &week3.id,
        service::booking::Scope::This,
        &later,
    )
    .await
    .unwrap();
    smtp.wait_for(8).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 8);
    let moved = session(&app, &week3.id).await.session;
    assert_eq!(moved.starts_at, week3.starts_at + SignedDuration::from_mins(90));
    let mut expected = booked.clone();
    expected[2] = moved.starts_at.to_string();
    let mut updates = Vec::new();
    for (email, invitation) in &invitations {
        let ics = occurrence_update_to(
            &mails,
            email,
            "Modification : Atelier tableur",
            &series_uid,
            &[invitation],
            &moved.starts_at.to_string(),
            &expected,
        );
        let rid = event_values(&ics, "RECURRENCE-ID");
        assert!(rid[0].starts_with("RECURRENCE-ID;TZID=Europe/Paris:") && rid[0].ends_with("T090000"));
        updates.push(ics);
    }

    // Week 4 cancelled: one cancellation each, of that occurrence.
    let week4 = &sessions[3].session;
    service::booking::cancel(
        app.state.service(),
        &by,
        &week4.id,
        service::booking::Scope::This,
        Some("  La salle virtuelle est réservée ce jour-là.\nRendez-vous la semaine suivante.  "),
    )
    .await
    .unwrap();
    smtp.wait_for(12).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 12);
    expected.pop();
    for ((email, invitation), update) in invitations.iter().zip(&updates) {
        let (mail, _) = occurrence_cancellation_to(
            &mails,
            email,
            "Annulation : Atelier tableur",
            &series_uid,
            &[invitation, update],
            &expected,
        );
        assert!(
            mail.text().contains(
                "Message de l’organisme\n> La salle virtuelle est réservée ce jour-là.\n> Rendez-vous la semaine suivante."
            ),
            "the canceller's message, trimmed: {}",
            mail.text()
        );
    }

    // The trainer's feed shows the series the same way: the rule, week 3 as an override,
    // week 4 excluded; every parser lands on the booked instants.
    let token = crate::api::token_for(&app, &people.trainer.id).await;
    let me: serde_json::Value = testkit::client()
        .get(format!("{}/api/v1/me", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let feed = testkit::get(me["ical_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(event_values(&feed, "RRULE").len(), 1, "{feed}");
    assert_eq!(event_values(&feed, "RECURRENCE-ID").len(), 1, "{feed}");
    assert_eq!(event_values(&feed, "EXDATE").len(), 1, "{feed}");
    let parsed = parse_calendar(&feed);
    assert_eq!(parsed.ical_occurrences(), expected, "Python's ical");
    assert_eq!(icaljs_occurrences(&[&feed]), expected, "ical.js");
    let shown = khal_imported(&feed, "Europe/Paris", in_days(0, "Europe/Paris"));
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(shown[2].contains(" 10:30 "), "khal applies the override: {shown:?}");

    // One answer for the series: Zoé declines from her first link; it counts for each session
    // still ahead (the cancelled one keeps its answer), and she may change one alone later.
    let zoe_first = link_of(&app, &sessions[0], "zoe@example.org");
    let browser = app.browser();
    let page = browser
        .get(&format!("{zoe_first}/rsvp?answer=declined&scope=series"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("séances à venir de cette série"), "{}", page.body);
    let page = browser
        .post(
            &format!("{zoe_first}/rsvp"),
            &[("answer", "declined"), ("scope", "series")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Elle vaut pour chaque séance à venir"), "{}", page.body);
    let rsvp = |d: &SessionDetail, email: &str| d.participants.iter().find(|p| p.email == email).unwrap().rsvp;
    for (i, d) in sessions.iter().enumerate() {
        let now = session(&app, &d.session.id).await;
        let want = if i < 3 { Rsvp::Declined } else { Rsvp::Pending };
        assert_eq!(rsvp(&now, "zoe@example.org"), want, "week {}", i + 1);
        assert_eq!(rsvp(&now, "ingrid@example.net"), Rsvp::Pending, "hers only");
    }
    let zoe_second = link_of(&app, &sessions[1], "zoe@example.org");
    browser
        .post(&format!("{zoe_second}/rsvp"), &[("answer", "accepted")])
        .await;
    assert_eq!(
        rsvp(&session(&app, &sessions[1].session.id).await, "zoe@example.org"),
        Rsvp::Accepted
    );
    assert_eq!(
        rsvp(&session(&app, &sessions[2].session.id).await, "zoe@example.org"),
        Rsvp::Declined
    );

    // The calendar event carries the first session's link: once that session is over (and its
    // sheet no longer takes signatures), it leads on to the next one.
    app.clock
        .freeze_at(sessions[1].session.starts_at - SignedDuration::from_hours(24));
    let page = browser.get(&zoe_first).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.redirects.len(), 1, "{:?}", page.redirects);
    assert!(zoe_second.ends_with(&page.redirects[0]), "{:?}", page.redirects);
    // A cancelled session's link says so, and offers the next one.
    app.clock
        .freeze_at(sessions[2].session.ends_at + SignedDuration::from_hours(2 * 24));
    let page = browser.get(&link_of(&app, &sessions[3], "zoe@example.org")).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.redirects.is_empty());
    assert!(
        !page.contains("prochaine séance"),
        "nothing after the last one: {}",
        page.body
    );
}

both_backends!(one_session_then_the_series_is_one_event_and_back_to_one_session);

/// The people form of a session of the series: the trainer, Zoé, and (when `with_paul`) Paul.
fn people_of_the_series(with_paul: bool) -> service::booking::PeopleInput {
    let mut learners = vec![person("Zoé Lefèvre", "zoe@example.org")];
    if with_paul {
        learners.push(person("Paul Renard", "paul@example.org"));
    }
    service::booking::PeopleInput {
        trainers: vec!["theo@example.org".into()],
        learners,
        ..Default::default()
    }
}

/// Paul is invited to week 1 of a series alone (that session's own event, its own UID), then
/// added to weeks 2 to 4: his invitation to the series holds week 1 too, so week 1's own event
/// is withdrawn (a message saying he still takes part, not a cancellation of his session). Then
/// he is taken out of weeks 2 to 4 again: those occurrences leave the series' event, week 1
/// stays. After each step every calendar he received, applied in order (ical.js), gives exactly
/// the sessions he is in, once each; every file passes the strict parsers.
async fn one_session_then_the_series_is_one_event_and_back_to_one_session(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let mut r = request(
        "Atelier tableur",
        in_days(3, "Europe/Paris"),
        time(9, 0, 0, 0),
        "Europe/Paris",
        90,
    );
    r.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    r.trainers = vec!["theo@example.org".into()];
    r.learners = vec![person("Zoé Lefèvre", "zoe@example.org")];
    let sessions = book(&app, &people.manager, &r).await;
    let booked = starts(&sessions);
    smtp.wait_for(2).await;
    wait_delivered(&app).await;
    let by = caller(&people.manager);
    let paul = "paul@example.org";
    let to_paul = |mails: &[Mail]| -> Vec<Mail> {
        mails
            .iter()
            .filter(|m| m.to_addresses.iter().any(|a| a == paul))
            .cloned()
            .collect()
    };

    // Week 1 alone, from its people form: an invitation to that session, its own event.
    service::booking::set_people(
        app.state.service(),
        &by,
        &sessions[0].session.id,
        service::booking::Scope::This,
        &people_of_the_series(true),
    )
    .await
    .unwrap();
    smtp.wait_for(3).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(
        mails.len(),
        3,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let single = one_to(&mails, paul, "Convocation : Atelier tableur — ")
        .inline_calendar()
        .unwrap()
        .text
        .clone();
    assert!(event_values(&single, "RRULE").is_empty(), "{single}");
    assert_eq!(icaljs_occurrences(&[&single]), booked[..1]);

    // Weeks 2 to 4 as well, from week 2's form with "this and the following ones": one
    // invitation to the series (all four weeks) and week 1's own event withdrawn.
    service::booking::set_people(
        app.state.service(),
        &by,
        &sessions[1].session.id,
        service::booking::Scope::Following,
        &people_of_the_series(true),
    )
    .await
    .unwrap();
    smtp.wait_for(5).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    let his = to_paul(&mails);
    assert_eq!(
        his.len(),
        3,
        "nobody else hears of it: {:?}",
        mails.iter().map(|m| (&m.to_addresses, &m.subject)).collect::<Vec<_>>()
    );
    assert_eq!(mails.len(), 5);
    let series = one_to(&mails, paul, "Convocation : Atelier tableur — 4 séances à partir du ");
    let series_ics = series.inline_calendar().unwrap().text.clone();
    assert_eq!(event_values(&series_ics, "RRULE"), ["RRULE:FREQ=WEEKLY;COUNT=4"]);
    let parsed = parse_calendar(&series_ics);
    assert_eq!(
        parsed.ical_occurrences(),
        booked,
        "Python's ical: the series holds week 1"
    );
    let withdrawn = one_to(&mails, paul, "Agenda : Atelier tableur — ");
    let text = withdrawn.text();
    assert!(
        text.contains("fait désormais partie de votre convocation à la série")
            && text.contains("retire l’entrée séparée"),
        "{text}"
    );
    let part = withdrawn.inline_calendar().unwrap();
    assert_eq!(part.method.as_deref(), Some("CANCEL"));
    let withdrawal = part.text.clone();
    assert!(event_values(&withdrawal, "RECURRENCE-ID").is_empty(), "{withdrawal}");
    let parsed = parse_calendar(&withdrawal);
    assert_eq!(
        parsed.ical["events"][0]["uid"],
        sessions[0].session.uid.as_str(),
        "week 1's own event, not an occurrence of the series"
    );
    // In whichever order the two messages arrive: four sessions, week 1 once.
    assert_eq!(icaljs_occurrences(&[&single, &series_ics, &withdrawal]), booked);
    assert_eq!(icaljs_occurrences(&[&single, &withdrawal, &series_ics]), booked);
    let shown = khal_imported(&series_ics, "Europe/Paris", in_days(0, "Europe/Paris"));
    assert_eq!(shown.len(), 4, "khal: {shown:?}");

    // Out of weeks 2 to 4 again: each leaves the series' event alone; week 1 stays, once.
    service::booking::set_people(
        app.state.service(),
        &by,
        &sessions[1].session.id,
        service::booking::Scope::Following,
        &people_of_the_series(false),
    )
    .await
    .unwrap();
    smtp.wait_for(8).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 8);
    let his = to_paul(&mails);
    let removals: Vec<&Mail> = his
        .iter()
        .filter(|m| m.subject.starts_with("Désinscription : Atelier tableur"))
        .collect();
    assert_eq!(
        removals.len(),
        3,
        "{:?}",
        his.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let mut applied = vec![single.as_str(), series_ics.as_str(), withdrawal.as_str()];
    for m in &removals {
        let part = m.inline_calendar().unwrap();
        assert_eq!(part.method.as_deref(), Some("CANCEL"));
        assert_eq!(event_values(&part.text, "RECURRENCE-ID").len(), 1, "{}", part.text);
        let parsed = parse_calendar(&part.text);
        assert_eq!(parsed.ical["events"][0]["uid"], parsed_uid(&series_ics));
        applied.push(&part.text);
    }
    assert_eq!(icaljs_occurrences(&applied), booked[..1], "week 1 alone, once");
    // His link page still holds week 1.
    let detail = session(&app, &sessions[0].session.id).await;
    assert!(detail.participants.iter().any(|p| p.email == paul));
    // What the outbox says of the untouched ones: nothing left waiting, nothing failed.
    assert!(
        outbox(&app)
            .await
            .iter()
            .all(|l| l.message.status == store::OutboxStatus::Sent),
        "every message left"
    );
}

/// The UID of the first event of `ics`.
fn parsed_uid(ics: &str) -> String {
    event_values(ics, "UID")[0].trim_start_matches("UID:").to_owned()
}

/// Cancelling "this session and the following ones" of a 4-week series from week 2: each person
/// who holds the series as one event gets one message, not three: a CANCEL of the three
/// occurrences (`RECURRENCE-ID` each) listing their dates, which Python's `ical` reads and
/// after which ical.js keeps week 1 alone.
async fn cancelling_this_and_the_following_is_one_message(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let mut r = request(
        "Atelier tableur",
        in_days(3, "Europe/Paris"),
        time(9, 0, 0, 0),
        "Europe/Paris",
        90,
    );
    r.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    r.trainers = vec!["theo@example.org".into()];
    r.learners = vec![
        person("Zoé Lefèvre", "zoe@example.org"),
        person("Ingrid Müller", "ingrid@example.net"),
    ];
    let sessions = book(&app, &people.manager, &r).await;
    let booked = starts(&sessions);
    smtp.wait_for(3).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 3, "one invitation each");
    let everyone = ["theo@example.org", "zoe@example.org", "ingrid@example.net"];
    let invitations: Vec<String> = everyone
        .iter()
        .map(|email| {
            one_to(&mails, email, "Convocation : Atelier tableur — 4 séances")
                .inline_calendar()
                .unwrap()
                .text
                .clone()
        })
        .collect();
    let uid = parsed_uid(&invitations[0]);

    service::booking::cancel(
        app.state.service(),
        &caller(&people.manager),
        &sessions[1].session.id,
        service::booking::Scope::Following,
        Some("Le module est reporté au trimestre prochain."),
    )
    .await
    .unwrap();
    smtp.wait_for(6).await;
    wait_delivered(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mails = smtp.messages();
    assert_eq!(
        mails.len(),
        6,
        "one cancellation each: {:?}",
        mails.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );
    for (email, invitation) in everyone.iter().zip(&invitations) {
        let mail = one_to(&mails, email, "Annulation : Atelier tableur — 3 séances à partir du ");
        let text = mail.text();
        assert!(
            text.contains("Les 3 séances suivantes de « Atelier tableur » sont annulées"),
            "{text}"
        );
        assert_eq!(text.matches("– ").count(), 3, "three dates: {text}");
        assert!(text.contains("Le module est reporté au trimestre prochain."), "{text}");
        let part = mail.inline_calendar().unwrap();
        assert_eq!(part.method.as_deref(), Some("CANCEL"));
        let ics = part.text.clone();
        assert_eq!(event_values(&ics, "RECURRENCE-ID").len(), 3, "{ics}");
        assert!(event_values(&ics, "RRULE").is_empty(), "{ics}");
        let parsed = parse_calendar(&ics);
        let events = parsed.ical["events"].as_array().unwrap();
        assert_eq!(events.len(), 3, "{ics}");
        assert!(
            events
                .iter()
                .all(|e| e["uid"] == uid.as_str() && e["status"] == "CANCELLED"),
            "{ics}"
        );
        assert_eq!(
            icaljs_occurrences(&[invitation, &ics]),
            booked[..1],
            "{email}: ical.js keeps week 1 alone"
        );
    }
}
