//! Mail over a real SMTP server (aiosmtpd), read back by Python's e-mail parser: invitations in
//! each person's language and zone with their own link and an `.ics` the strict parsers accept;
//! updates, cancellations, people added and removed; reminders; answers from the mail's links;
//! the file transport of a new install.

use std::collections::BTreeSet;

use domain::{DisplayName, Email, Locale, Role};
use jiff::civil::time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use store::{AuditEntry, MailKind, NewUser, OutboxStatus, Rsvp, SessionDetail, User};
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;
use crate::mailkit::*;

/// An account with a language and zone of its own.
pub async fn account(app: &TestApp, email: &str, name: &str, role: Role, locale: Locale, zone: &str) -> User {
    let hash = service::crypto::hash_password(crate::helpers::PASSWORD).unwrap();
    let new = NewUser {
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse(name).unwrap(),
        role,
        locale,
        time_zone: zone.into(),
        password_hash: Some(hash),
        auth_source: "local".into(),
        external_id: None,
    };
    app.store()
        .create_user(
            &new,
            jiff::Timestamp::now(),
            &AuditEntry::new("user.create", None, "test", None),
        )
        .await
        .unwrap()
}

/// A manager, a French trainer, an English co-host account, two learners and a guest: a
/// session three days ahead at 09:00 in Paris, 90 minutes.
pub struct Cast {
    pub manager: User,
    pub trainer: User,
    pub cohost: User,
}

pub async fn cast(app: &TestApp) -> Cast {
    Cast {
        manager: account(
            app,
            "manon@example.org",
            "Manon Girard",
            Role::Manager,
            Locale::Fr,
            "Europe/Paris",
        )
        .await,
        trainer: account(
            app,
            "theo@example.org",
            "Théo Dupré",
            Role::Trainer,
            Locale::Fr,
            "Europe/Paris",
        )
        .await,
        cohost: account(
            app,
            "ada@example.com",
            "Ada Lovelace",
            Role::Trainer,
            Locale::En,
            "America/New_York",
        )
        .await,
    }
}

pub const TITLE: &str = "Tableur avancé — « révisions »";

pub fn session_request(days: i64) -> domain::booking::SessionRequest {
    let mut r = request(
        TITLE,
        in_days(days, "Europe/Paris"),
        time(9, 0, 0, 0),
        "Europe/Paris",
        90,
    );
    r.notes = "Apportez un casque.\nLa salle ouvre 5 minutes avant.".into();
    r.trainers = vec!["theo@example.org".into()];
    r.moderators = vec![person("Ada Lovelace", "ada@example.com")];
    r.learners = vec![
        person("Zoé Lefèvre", "zoe@example.org"),
        person("Ingrid Müller", "ingrid@example.net"),
    ];
    r.guests = vec![person("Grégoire \"Greg\" O'Neil", "greg@guest.example")];
    r
}

fn hm(at: Timestamp, zone: &str) -> String {
    let z = at.to_zoned(TimeZone::get(zone).unwrap());
    format!("{:02}:{:02}", z.hour(), z.minute())
}

fn short(at: Timestamp, zone: &str, locale: Locale) -> String {
    i18n::format_short(at, zone, locale)
}

pub const EVERYONE: [&str; 5] = [
    "theo@example.org",
    "ada@example.com",
    "zoe@example.org",
    "ingrid@example.net",
    "greg@guest.example",
];

both_backends!(
    invitations_reach_each_person_in_their_language_with_their_own_link,
    changes_send_updates_cancellations_and_invitations,
    reminders_come_before_the_session_except_for_those_who_declined,
    answers_are_given_from_the_links_of_the_mail,
    two_instances_share_one_outbox_and_send_each_message_once,
    a_reissued_link_is_mailed_to_its_owner_alone,
);

async fn invitations_reach_each_person_in_their_language_with_their_own_link(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let detail = book(&app, &people.manager, &session_request(3)).await.remove(0);
    let s = &detail.session;
    let mails = smtp.wait_for(5).await;
    let lines = wait_delivered(&app).await;
    assert_eq!(mails.len(), 5, "one invitation each, no more");
    assert!(
        lines
            .iter()
            .all(|l| l.message.status == OutboxStatus::Sent && l.message.attempts == 1)
    );
    let ids: BTreeSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), 5, "distinct Message-IDs");
    let links: Vec<String> = EVERYONE.iter().map(|e| link_of(&app, &detail, e)).collect();

    for (email, link) in EVERYONE.iter().zip(&links) {
        let english = *email == "ada@example.com";
        let prefix = if english { "Invitation: " } else { "Convocation : " };
        let mail = one_to(&mails, email, prefix);
        assert!(mail.defects.is_empty(), "{email}: {:?}", mail.defects);
        // Structure: text and HTML alternatives and the calendar as a third alternative (so
        // clients offer accept/decline), and the same calendar attached.
        assert_eq!(
            mail.shape(),
            "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)",
            "{email}"
        );
        let inline = mail.inline_calendar().unwrap();
        assert_eq!(inline.method.as_deref(), Some("REQUEST"));
        assert_eq!(inline.charset.as_deref(), Some("utf-8"));
        let attached = mail.attachment().unwrap();
        assert_eq!(
            attached.filename.as_deref(),
            Some(if english { "invitation.ics" } else { "convocation.ics" })
        );
        assert_eq!(attached.text, inline.text);
        // Headers: encoded words for non-ASCII text, decoded back to what was typed.
        let zone = if english { "America/New_York" } else { "Europe/Paris" };
        let locale = if english { Locale::En } else { Locale::Fr };
        assert_eq!(
            mail.subject,
            format!("{prefix}{TITLE} — {}", short(s.starts_at, zone, locale))
        );
        let subject_line = mail.headers.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(subject_line.contains("=?utf-8?b?"), "RFC 2047: {subject_line}");
        assert!(
            !subject_line.contains('é') && mail.headers.is_ascii(),
            "raw headers are ASCII"
        );
        assert_eq!(mail.from, "Formation Exemple <formation@example.org>");
        assert_eq!(
            mail.reply_to.as_deref(),
            Some("Secrétariat pédagogique <secretariat@example.org>")
        );
        assert_eq!(mail.to_addresses, [*email]);
        assert_eq!(mail.auto_submitted.as_deref(), Some("auto-generated"));
        assert_eq!(
            mail.content_language.as_deref(),
            Some(if english { "en" } else { "fr" })
        );
        assert!(mail.cc.is_none() && mail.bcc.is_none());
        // The person's own link, nobody else's, in text, HTML and calendar.
        let text = mail.text();
        let html = mail.html();
        let ics = unfold(&inline.text);
        assert!(
            text.contains(link.as_str()) && html.contains(link.as_str()),
            "{email}: {text}"
        );
        assert!(ics.contains(&format!("URL:{link}\r\n")), "{email}: {ics}");
        for other in links.iter().filter(|l| *l != link) {
            assert!(!text.contains(other.as_str()) && !ics.contains(other.as_str()));
        }
        // Times in the reader's zone, with the zone named.
        let hours = if english {
            format!("Time : {} to {} ({zone})", hm(s.starts_at, zone), hm(s.ends_at, zone))
        } else {
            format!("Horaire : de 09:00 à 10:30 ({zone})")
        };
        assert!(text.contains(&hours), "{email}: {text}");
        // The calendar: valid for every strict parser, at the session's instant, for this person.
        let parsed = parse_calendar(&inline.text);
        assert_eq!(parsed.libical_starts(), [s.starts_at.to_string()]);
        let event = &parsed.ical["events"][0];
        assert_eq!(event["start"], s.starts_at.to_string());
        assert_eq!(event["end"], s.ends_at.to_string());
        assert_eq!(event["uid"], s.uid.as_str());
        assert_eq!(event["url"], link.as_str());
        assert_eq!(parsed.ical["method"], "REQUEST");
        assert_eq!(event["organizer"]["email"], "formation@example.org");
        let attendees: BTreeSet<&str> = event["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["email"].as_str().unwrap())
            .collect();
        let mut expected = BTreeSet::from(["theo@example.org", *email]);
        expected.insert(email);
        assert_eq!(attendees, expected, "trainers and the reader only");
        assert!(ics.contains("DTSTART;TZID=Europe/Paris:") && ics.contains("BEGIN:VTIMEZONE"));
        assert!(ics.contains("BEGIN:VALARM"));
    }

    let zoe = one_to(&mails, "zoe@example.org", "Convocation");
    let text = zoe.text();
    for expected in [
        "Bonjour Zoé Lefèvre,",
        "Vous êtes convoqué·e à la séance « Tableur avancé — « révisions » ».",
        "Durée : 1 h 30",
        "Formateur·rices : Théo Dupré",
        "> Apportez un casque.\n> La salle ouvre 5 minutes avant.",
        "Contact : Formation Exemple — secretariat@example.org, 01 23 45 67 89",
        "5 minutes avant le début",
        "/rsvp?answer=accepted",
        "/rsvp?answer=declined",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(zoe.html().contains("<html lang=\"fr\">") && zoe.html().contains("Apportez un casque."));
    let ada = one_to(&mails, "ada@example.com", "Invitation");
    let text = ada.text();
    assert!(
        text.contains("Hello Ada Lovelace,\n\nYou are invited to co-host the session"),
        "{text}"
    );
    assert!(
        text.contains("15 minutes before the start"),
        "co-hosts enter earlier: {text}"
    );
    assert!(text.contains("Practical information"));
    let theo = one_to(&mails, "theo@example.org", "Convocation");
    assert!(theo.text().contains("Vous animez la séance"));
    assert!(!theo.text().contains("rsvp"), "trainers are not asked to answer");
    let greg = one_to(&mails, "greg@guest.example", "Convocation");
    assert_eq!(greg.to, ["\"Grégoire \\\"Greg\\\" O'Neil\" <greg@guest.example>"]);
    // The outbox keeps what was sent.
    let subjects: BTreeSet<String> = lines.iter().filter_map(|l| l.message.subject.clone()).collect();
    assert_eq!(subjects.len(), 2, "one subject per language: {subjects:?}");
    assert_eq!(detail.participants.len(), 5);
}

async fn changes_send_updates_cancellations_and_invitations(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let detail = book(&app, &people.manager, &session_request(4)).await.remove(0);
    let id = detail.session.id.clone();
    smtp.wait_for(5).await;
    wait_delivered(&app).await;
    let by = caller(&people.manager);
    let scope = service::booking::Scope::This;
    // A new title alone is not worth a message.
    let title_only = service::booking::DetailsChange {
        title: Some("Tableur avancé".into()),
        ..Default::default()
    };
    service::booking::change_details(app.state.service(), &by, &id, scope, &title_only)
        .await
        .unwrap();
    assert_eq!(outbox(&app).await.len(), 5);
    // An hour later and 30 minutes longer: an update to each, saying what changed.
    let later = service::booking::DetailsChange {
        time: Some(time(10, 0, 0, 0)),
        duration_minutes: Some(120),
        ..Default::default()
    };
    let moved = service::booking::change_details(app.state.service(), &by, &id, scope, &later)
        .await
        .unwrap()
        .remove(0);
    let mails = smtp.wait_for(10).await;
    for email in EVERYONE {
        let english = email == "ada@example.com";
        let mail = one_to(&mails, email, if english { "Changed: " } else { "Modification : " });
        assert_eq!(
            mail.shape(),
            "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)"
        );
        let text = mail.text();
        if english {
            assert!(text.contains("Date and time\n  Before : "), "{text}");
            assert!(text.contains("Duration\n  Before : 1 h 30 min\n  Now : 2 h"), "{text}");
        } else {
            assert!(text.contains(" à 09:00 (Europe/Paris)\n  Désormais : "), "{text}");
            assert!(text.contains(" à 10:00 (Europe/Paris)"), "{text}");
            assert!(text.contains("Durée\n  Avant : 1 h 30\n  Désormais : 2 h"), "{text}");
            assert!(text.contains("Horaire : de 10:00 à 12:00 (Europe/Paris)"), "{text}");
        }
        assert!(text.contains(&link_of(&app, &moved, email)), "the link is unchanged");
        let ics = &mail.inline_calendar().unwrap().text;
        let parsed = parse_calendar(ics);
        assert_eq!(parsed.ical["events"][0]["sequence"], 1, "a higher SEQUENCE");
        assert_eq!(parsed.libical_starts(), [moved.session.starts_at.to_string()]);
    }
    // Zoé leaves and Yann comes: a cancellation for her, an invitation for him only.
    let mut input = service::booking::PeopleInput {
        trainers: vec!["theo@example.org".into()],
        moderators: vec![person("Ada Lovelace", "ada@example.com")],
        learners: vec![
            person("Ingrid Müller", "ingrid@example.net"),
            person("Yann Le Gall", "yann@example.org"),
        ],
        guests: vec![person("Grégoire \"Greg\" O'Neil", "greg@guest.example")],
    };
    service::booking::set_people(app.state.service(), &by, &id, scope, &input)
        .await
        .unwrap();
    let mails = smtp.wait_for(12).await;
    let zoe = one_to(&mails, "zoe@example.org", "Désinscription : ");
    assert!(
        zoe.text()
            .contains("Vous ne participez plus à la séance « Tableur avancé »"),
        "{}",
        zoe.text()
    );
    assert!(!zoe.text().contains("/j/"), "no link any more");
    let cancel = zoe.inline_calendar().unwrap();
    assert_eq!(cancel.method.as_deref(), Some("CANCEL"));
    let parsed = parse_calendar(&cancel.text);
    assert_eq!(parsed.ical["method"], "CANCEL");
    assert_eq!(parsed.ical["events"][0]["status"], "CANCELLED");
    assert_eq!(parsed.ical["events"][0]["uid"], detail.session.uid.as_str());
    let yann = one_to(&mails, "yann@example.org", "Convocation : ");
    let after = app.store().session(&id).await.unwrap().unwrap();
    assert!(yann.text().contains(&link_of(&app, &after, "yann@example.org")));
    parse_calendar(&yann.inline_calendar().unwrap().text);
    // Ada has the same people and times: nothing new for her.
    assert_eq!(
        mails.iter().filter(|m| m.to_addresses == ["ada@example.com"]).count(),
        2
    );
    // Cancelled: everyone still invited hears it, with METHOD:CANCEL.
    service::booking::cancel(app.state.service(), &by, &id, scope, None)
        .await
        .unwrap();
    let mails = smtp.wait_for(17).await;
    wait_delivered(&app).await;
    assert_eq!(mails.len(), 17);
    for email in [
        "theo@example.org",
        "ada@example.com",
        "ingrid@example.net",
        "yann@example.org",
        "greg@guest.example",
    ] {
        let english = email == "ada@example.com";
        let mail = one_to(&mails, email, if english { "Cancelled: " } else { "Annulation : " });
        assert!(
            mail.text()
                .contains(if english { "is cancelled" } else { "est annulée" }),
            "{}",
            mail.text()
        );
        let part = mail.inline_calendar().unwrap();
        assert_eq!(part.method.as_deref(), Some("CANCEL"));
        assert_eq!(
            mail.attachment().unwrap().filename.as_deref(),
            Some(if english { "cancellation.ics" } else { "annulation.ics" })
        );
        let parsed = parse_calendar(&part.text);
        let event = &parsed.ical["events"][0];
        assert_eq!(event["status"], "CANCELLED");
        assert_eq!(event["sequence"], 2);
    }
    assert_eq!(
        mails.iter().filter(|m| m.to_addresses == ["zoe@example.org"]).count(),
        3
    );
    input.learners.clear();
    let refused = service::booking::set_people(app.state.service(), &by, &id, scope, &input).await;
    assert!(refused.is_err(), "a cancelled session's people cannot change");
}

async fn reminders_come_before_the_session_except_for_those_who_declined(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    // Starting in about three hours (Paris time, whole minutes): the day-before reminder is
    // already past; the hour-before one is due in about two hours.
    let start = Timestamp::from_second((Timestamp::now().as_second() / 60 + 180) * 60).unwrap();
    let local = start.to_zoned(TimeZone::get("Europe/Paris").unwrap());
    let mut r = session_request(0);
    r.start = domain::booking::StartSpec::Local {
        date: local.date(),
        time: local.time(),
        ambiguity: domain::localtime::Ambiguity::Earlier,
    };
    let detail = book(&app, &people.manager, &r).await.remove(0);
    smtp.wait_for(5).await;
    wait_delivered(&app).await;
    let reminders = app.store().session_reminders(&detail.session.id).await.unwrap();
    assert_eq!(reminders.len(), 5);
    assert!(reminders.iter().all(|(_, offset, _, _)| *offset == 60));
    // Zoé declines, from the link of her invitation.
    let link = link_of(&app, &detail, "zoe@example.org");
    let browser = app.browser();
    let page = browser.get(&format!("{link}/rsvp?answer=declined")).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = browser.post(&format!("{link}/rsvp"), &[("answer", "declined")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // An hour and a minute before the start.
    app.clock.advance(SignedDuration::from_mins(120));
    let mails = smtp.wait_for(9).await;
    let lines = wait_delivered(&app).await;
    let sent: Vec<_> = lines.iter().filter(|l| l.message.kind == MailKind::Reminder).collect();
    assert_eq!(sent.len(), 4, "everyone but Zoé");
    assert!(sent.iter().all(|l| l.message.recipient_email != "zoe@example.org"));
    for email in EVERYONE.iter().filter(|e| **e != "zoe@example.org") {
        let english = *email == "ada@example.com";
        let mail = one_to(&mails, email, if english { "Reminder: " } else { "Rappel : " });
        assert_eq!(mail.shape(), "multipart/alternative(text/plain,text/html)");
        assert!(mail.text().contains(&link_of(&app, &detail, email)));
        let when = i18n::format_datetime(
            detail.session.starts_at,
            if english { "America/New_York" } else { "Europe/Paris" },
            if english { Locale::En } else { Locale::Fr },
        );
        assert!(mail.text().contains(&when), "{}", mail.text());
    }
    // Each reminder once: time passing sends nothing more.
    app.clock.advance(SignedDuration::from_mins(30));
    app.store().wake_outbox();
    let lines = wait_delivered(&app).await;
    assert_eq!(lines.iter().filter(|l| l.message.kind == MailKind::Reminder).count(), 4);
    assert_eq!(smtp.count(), 9);
}

async fn answers_are_given_from_the_links_of_the_mail(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let detail = book(&app, &people.manager, &session_request(5)).await.remove(0);
    let mails = smtp.wait_for(5).await;
    let ingrid = one_to(&mails, "ingrid@example.net", "Convocation");
    let accept = ingrid
        .text()
        .lines()
        .find(|l| l.contains("answer=accepted"))
        .and_then(|l| l.split(" : ").nth(1))
        .unwrap()
        .to_owned();
    let link = link_of(&app, &detail, "ingrid@example.net");
    assert_eq!(accept, format!("{link}/rsvp?answer=accepted"));
    let rsvp_of =
        |detail: &SessionDetail, email: &str| detail.participants.iter().find(|p| p.email == email).unwrap().rsvp;
    // Opening the link (what a mail scanner does) changes nothing.
    let browser = app.browser().speaking("en");
    let page = browser.get(&accept).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Your answer: Tableur avancé"), "{}", page.body);
    assert!(page.contains("Confirm your answer"));
    assert!(page.contains("no answer yet"));
    let now = app.store().session(&detail.session.id).await.unwrap().unwrap();
    assert_eq!(rsvp_of(&now, "ingrid@example.net"), Rsvp::Pending);
    // A form post from elsewhere (no CSRF token) is refused.
    let forged = browser
        .post_bare(&format!("{link}/rsvp"), &[("answer", "accepted")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The button records the answer.
    let page = browser.post(&format!("{link}/rsvp"), &[("answer", "accepted")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.contains("Thank you, your answer is recorded: attending."),
        "{}",
        page.body
    );
    let now = app.store().session(&detail.session.id).await.unwrap().unwrap();
    assert_eq!(rsvp_of(&now, "ingrid@example.net"), Rsvp::Accepted);
    // In French by default; a bad answer is explained and changes nothing.
    let french = app.browser();
    let page = french.get(&format!("{link}/rsvp")).await;
    assert!(
        page.contains("Votre réponse actuelle") && page.contains("présent·e"),
        "{}",
        page.body
    );
    let bad = french.post(&format!("{link}/rsvp"), &[("answer", "maybe")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Choisissez"));
    let now = app.store().session(&detail.session.id).await.unwrap().unwrap();
    assert_eq!(rsvp_of(&now, "ingrid@example.net"), Rsvp::Accepted);
    // Another person's answer is theirs.
    let zoe = link_of(&app, &detail, "zoe@example.org");
    french.post(&format!("{zoe}/rsvp"), &[("answer", "declined")]).await;
    let now = app.store().session(&detail.session.id).await.unwrap().unwrap();
    assert_eq!(rsvp_of(&now, "zoe@example.org"), Rsvp::Declined);
    assert_eq!(rsvp_of(&now, "ingrid@example.net"), Rsvp::Accepted);
    let summary = service::rsvp::summary(&now);
    assert_eq!(
        (summary.counts.accepted, summary.counts.declined, summary.counts.pending),
        (1, 1, 2)
    );
    // Unknown links: 404, in the page's language.
    let page = french.get(&format!("{}/j/not-a-key/rsvp", app.url)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = french
        .post(&format!("{}/j/not-a-key/rsvp", app.url), &[("answer", "accepted")])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // The participant's own calendar file.
    let ics = testkit::get(format!("{link}/calendar.ics")).await.unwrap();
    assert_eq!(ics.status(), StatusCode::OK);
    assert_eq!(ics.headers()["content-type"], "text/calendar; charset=utf-8");
    let parsed = parse_calendar(&ics.text().await.unwrap());
    assert_eq!(parsed.ical["events"][0]["url"], link.as_str());
    assert_eq!(parsed.ical["method"], "PUBLISH");
    assert_eq!(
        testkit::get(format!("{}/j/nope/calendar.ics", app.url))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Cancelled: no more answers.
    service::booking::cancel(
        app.state.service(),
        &caller(&people.manager),
        &detail.session.id,
        service::booking::Scope::This,
        None,
    )
    .await
    .unwrap();
    let page = french.get(&format!("{link}/rsvp")).await;
    assert!(page.contains("Cette séance est annulée"), "{}", page.body);
    assert!(!page.contains("name=\"answer\""));
    let late = french.post(&format!("{link}/rsvp"), &[("answer", "declined")]).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    let now = app.store().session(&detail.session.id).await.unwrap().unwrap();
    assert_eq!(rsvp_of(&now, "ingrid@example.net"), Rsvp::Accepted);
}

/// Two instances on one database (as behind a load balancer): every message leaves once.
async fn two_instances_share_one_outbox_and_send_each_message_once(backend: Backend) {
    let smtp = Smtp::start().await;
    let mut env = smtp.env();
    env.push(("DIALOGUE_MAIL_CONCURRENCY".into(), "2".into()));
    let first = spawn(backend, &env).await;
    // The second instance: same database, same secret key (same data directory).
    let data = first.data_dir.display().to_string();
    let mut second_env: Vec<(&str, &str)> = vec![
        ("DIALOGUE_LISTEN", "127.0.0.1:0"),
        ("DIALOGUE_DATABASE_URL", &first.db.url),
        ("DIALOGUE_DATA_DIR", &data),
    ];
    second_env.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let config = crate::helpers::config_from_env(&second_env);
    let second = dialogue::Application::build(&config, service::Clock::system())
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let second = tokio::spawn(second.run_until(async move {
        let _ = stopped.await;
    }));
    let people = cast(&first).await;
    for day in 0..8 {
        let mut r = session_request(3 + day);
        r.moderators.clear();
        r.guests.clear();
        book(&first, &people.manager, &r).await;
    }
    let mails = smtp.wait_for(24).await;
    wait_delivered(&first).await;
    assert_eq!(mails.len(), 24);
    let ids: BTreeSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), 24, "no message was sent twice");
    let _ = stop.send(());
    second.await.unwrap().unwrap();
}

both_backends!(mail_is_written_as_files_when_no_server_is_configured);

async fn mail_is_written_as_files_when_no_server_is_configured(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let people = cast(&app).await;
    let detail = book(&app, &people.manager, &session_request(3)).await.remove(0);
    let lines = wait_delivered(&app).await;
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l.message.status == OutboxStatus::Sent));
    let dir = app.data_dir.join("outbox");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(
        names.iter().all(|n| n.ends_with(".eml") && !n.starts_with('.')),
        "no temporary file left: {names:?}"
    );
    let mails = read_mail(&dir);
    let zoe = one_to(&mails, "zoe@example.org", "Convocation");
    assert!(zoe.defects.is_empty());
    assert!(zoe.text().contains(&link_of(&app, &detail, "zoe@example.org")));
    assert_eq!(zoe.from, "Dialogue <dialogue@localhost>");
    parse_calendar(&zoe.inline_calendar().unwrap().text);
}

/// A manager re-issues Zoé's personal link: she alone gets an update carrying the new link,
/// the old one is nowhere in it, and her calendar keeps the session's SEQUENCE.
async fn a_reissued_link_is_mailed_to_its_owner_alone(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let detail = book(&app, &people.manager, &session_request(3)).await.remove(0);
    smtp.wait_for(5).await;
    wait_delivered(&app).await;
    let old = link_of(&app, &detail, "zoe@example.org");
    let zoe = detail
        .participants
        .iter()
        .find(|p| p.email == "zoe@example.org")
        .unwrap();
    app.store()
        .reissue_link(
            &detail.session.id,
            &zoe.id,
            app.state.now(),
            &AuditEntry::new("participant.link_reissue", None, "test", None),
        )
        .await
        .unwrap();
    let mails = smtp.wait_for(6).await;
    let now = app.store().session(&detail.session.id).await.unwrap().unwrap();
    let new = link_of(&app, &now, "zoe@example.org");
    assert_ne!(old, new);
    let mail = one_to(&mails, "zoe@example.org", "Modification : ");
    let text = mail.text();
    assert!(text.contains("Votre lien personnel a été renouvelé"), "{text}");
    assert!(text.contains(&new), "{text}");
    assert!(!text.contains(&old), "{text}");
    assert!(!mail.html().contains(&old));
    wait_delivered(&app).await;
    let others: Vec<&Mail> = mails.iter().filter(|m| m.subject.starts_with("Modification")).collect();
    assert_eq!(others.len(), 1, "only Zoé hears of her new link");
}
