//! A course's attendance end to end: two sessions of a course, events posted as event_sync
//! sends them, the per-learner totals of the API and the course page (with a date range),
//! who may read them, the course CSV and PDF sheet, and the certificates of completion read
//! back with poppler, qpdf and Python's zipfile.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{AuditEntry, CourseInput, NewSessions, People, SessionDetail, User};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::{PASSWORD, TestApp};
use crate::jitsi_support::*;

both_backends!(
    totals_per_learner_over_the_course,
    course_routes_by_role,
    course_exports_and_certificates,
    a_persons_export_as_zip_holds_their_certificate_and_calendar,
    a_session_over_several_days_on_both_sheets,
    certificates_state_the_nature_and_print_the_signatory,
);

const MIN: i64 = 60;
const TITLE: &str = "Comptabilité pour débutants";

fn paris_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Paris").unwrap()
}

fn day(days_ahead: i64) -> Date {
    Timestamp::now()
        .to_zoned(paris_zone())
        .date()
        .checked_add(days_ahead.days())
        .unwrap()
}

fn at(date: Date, hour: i8) -> Timestamp {
    date.to_datetime(Time::new(hour, 0, 0, 0).unwrap())
        .to_zoned(paris_zone())
        .unwrap()
        .timestamp()
}

fn person(name: &str, email: &str) -> domain::booking::Person {
    domain::booking::Person {
        name: domain::DisplayName::parse(name).unwrap(),
        email: domain::Email::parse(email).unwrap(),
    }
}

/// A course with two sessions: day 2 from 11:00 to 14:00 (Théo), day 3 from 09:00 to 10:00
/// (Théo and Otto); Léa and Max learners of both, Gaby a guest of the first.
struct Fixture {
    app: TestApp,
    meet: Server,
    manager: User,
    admin: User,
    theo: User,
    otto: User,
    ugo: User,
    course_id: String,
    first: SessionDetail,
    second: SessionDetail,
}

async fn book(
    app: &TestApp,
    course: &str,
    trainers: &[&User],
    creator: &User,
    start: Timestamp,
    minutes: i64,
    guests: bool,
) -> SessionDetail {
    let new = NewSessions {
        course_id: Some(course.to_owned()),
        title: TITLE.into(),
        notes: String::new(),
        time_zone: "Europe/Paris".into(),
        times: vec![(start, start + SignedDuration::from_mins(minutes))],
        rrule: None,
        people: People {
            trainers: trainers
                .iter()
                .map(|t| domain::Email::parse(&t.email).unwrap())
                .collect(),
            moderators: vec![],
            learners: vec![
                person("Léa Martin", "lea@example.org"),
                person("Max Durand", "max@example.org"),
            ],
            guests: if guests {
                vec![person("Gaby Guest", "gaby@elsewhere.example")]
            } else {
                vec![]
            },
            external_moderators_only: false,
            ..Default::default()
        },
        created_by: creator.id.clone(),
        jitsi_server_id: None,
    };
    app.store()
        .book_sessions(
            &new,
            Timestamp::now(),
            &AuditEntry::new("session.book", None, "test", None),
        )
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

async fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, &[]).await
}

async fn fixture_with(backend: Backend, env: &[(&str, &str)]) -> Fixture {
    let app = TestApp::spawn_with(backend, env).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let manager = app.user("marie@example.org", domain::Role::Manager).await;
    let admin = app.user("ada@example.org", domain::Role::Admin).await;
    let theo = app.user("theo@example.org", domain::Role::Trainer).await;
    let otto = app.user("otto@example.org", domain::Role::Trainer).await;
    let ugo = app.user("ugo@example.org", domain::Role::Trainer).await;
    let course = app
        .store()
        .create_course(
            &CourseInput {
                title: TITLE.into(),
                code: None,
                description: String::new(),
                default_duration_minutes: 180,
                owner_id: manager.id.clone(),
                action_nature: Default::default(),
                trainer_ids: vec![theo.id.clone()],
                learners: vec![],
            },
            Timestamp::now(),
            &AuditEntry::new("course.create", None, "test", None),
        )
        .await
        .unwrap();
    let course_id = course.course.id.clone();
    let first = book(&app, &course_id, &[&theo], &manager, at(day(2), 11), 180, true).await;
    let second = book(&app, &course_id, &[&theo, &otto], &manager, at(day(3), 9), 60, false).await;
    Fixture {
        app,
        meet,
        manager,
        admin,
        theo,
        otto,
        ugo,
        course_id,
        first,
        second,
    }
}

fn named<'a>(detail: &'a SessionDetail, name: &str) -> &'a store::Participant {
    detail.participants.iter().find(|p| p.name == name).unwrap()
}

async fn post_event(app: &TestApp, secret: &str, path: &str, body: &Value) {
    let r = testkit::client()
        .post(format!("{}/jitsi/events/{path}", app.url))
        .header("user-agent", "Prosody (0.12.4; posix)")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {secret}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}: {body}");
}

/// A connection of `p` to `detail`'s room, from `from` to `until` seconds after its start.
async fn connect(f: &Fixture, detail: &SessionDetail, p: &store::Participant, from: i64, until: i64) {
    let t = detail.session.starts_at.as_second();
    let room = &detail.session.room;
    let jid = format!("{}@meet/{from}", p.id);
    let occupant = |left: Option<i64>| {
        let mut o = json!({"occupant_jid": jid, "id": p.id, "name": p.name, "joined_at": t + from});
        if let Some(l) = left {
            o["left_at"] = json!(l);
        }
        o
    };
    for (path, name, o) in [
        ("occupant/joined", "muc-occupant-joined", occupant(None)),
        ("occupant/left", "muc-occupant-left", occupant(Some(t + until))),
    ] {
        let body = json!({"event_name": name, "room_name": room,
            "room_jid": format!("{room}@conference.meet.example.org"), "is_breakout": false, "occupant": o});
        post_event(&f.app, &f.meet.api_secret, path, &body).await;
    }
}

/// Léa: 120 of 180 minutes, then the whole hour; Max: nothing, then 30 minutes. The clock
/// stops the day after the second session.
async fn scenario(f: &Fixture) {
    connect(f, &f.first, named(&f.first, "Léa Martin"), 0, 120 * MIN).await;
    connect(f, &f.second, named(&f.second, "Léa Martin"), -5 * MIN, 65 * MIN).await;
    connect(f, &f.second, named(&f.second, "Max Durand"), 10 * MIN, 40 * MIN).await;
    f.app.clock.freeze_at(at(day(4), 12));
}

/// The number of images in a PDF, and `pdfimages -list`'s table of them.
fn pdf_images(pdf: &std::path::Path) -> (usize, String) {
    let out = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(pdf)
        .output()
        .expect("pdfimages (apt-get install -y poppler-utils)");
    let list = String::from_utf8(out.stdout).unwrap();
    let count = list.lines().skip(2).filter(|l| l.contains("image")).count();
    (count, list)
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    testkit::client()
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = get(app, token, path).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn learner<'a>(body: &'a Value, email: &str) -> &'a Value {
    body["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["email"] == email)
        .unwrap_or_else(|| panic!("{email} in {body}"))
}

async fn totals_per_learner_over_the_course(backend: Backend) {
    let f = fixture(backend).await;
    scenario(&f).await;
    let token = token_for(&f.app, &f.manager.id).await;
    let path = format!("/api/v1/courses/{}/attendance", f.course_id);
    let (status, body) = get_json(&f.app, &token, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["learners"].as_array().unwrap().len(), 3, "Léa, Max, Gaby: {body}");
    let lea = learner(&body, "lea@example.org");
    assert_eq!(lea["sessions"], 2);
    assert_eq!(lea["planned_minutes"], 240);
    assert_eq!(
        lea["attended_minutes"], 180,
        "120 + 60 (the minutes outside not counted): {lea}"
    );
    assert_eq!(lea["planned_hours"], 4.0);
    assert_eq!(lea["attended_hours"], 3.0);
    assert_eq!(lea["rate_percent"], 75);
    assert_eq!(lea["half_days"], 3, "a morning and an afternoon, then a morning");
    assert!(lea["contact_id"].is_string());
    assert_eq!(lea["learner"], lea["contact_id"]);
    let max = learner(&body, "max@example.org");
    assert_eq!(max["attended_minutes"], 30);
    assert_eq!(max["rate_percent"], 13);
    let gaby = learner(&body, "gaby@elsewhere.example");
    assert_eq!(gaby["sessions"], 1);
    assert_eq!(gaby["planned_minutes"], 180);
    assert_eq!(gaby["attended_minutes"], 0);

    // The course's events, read packed in one row per session (JSON built by the database),
    // are each session's own as read one by one: a guest without a participant, with quotes
    // and accents in their name, in a breakout room, and a leave that never came included.
    let room = &f.second.session.room;
    let guest = json!({"occupant_jid": "g1@meet/x", "name": "Zoë \"la\" Invitée\\", "joined_at":
        f.second.session.starts_at.as_second() + 300});
    let body = json!({"event_name": "muc-occupant-joined", "room_name": room,
        "room_jid": format!("{room}@conference.meet.example.org"), "is_breakout": true,
        "breakout_room_id": "br-1", "occupant": guest});
    post_event(&f.app, &f.meet.api_secret, "occupant/joined", &body).await;
    let rows = f
        .app
        .store()
        .course_attendance_rows(
            &f.course_id,
            f.first.session.starts_at,
            f.second.session.starts_at,
            false,
        )
        .await
        .unwrap();
    for s in [&f.first, &f.second] {
        let own = f.app.store().presence_events(&s.session.id).await.unwrap();
        assert!(own.len() >= 2, "{own:?}");
        assert_eq!(rows.events[&s.session.id], own);
    }
    assert!(
        rows.events[&f.second.session.id]
            .iter()
            .any(|e| e.participant_id.is_none()
                && e.breakout_room_id == "br-1"
                && e.occupant_name.as_deref() == Some("Zoë \"la\" Invitée\\")),
        "the guest's event is among them"
    );

    // A correction on a session shows in the course's totals.
    let max_first = named(&f.first, "Max Durand").id.clone();
    let r = testkit::client()
        .post(format!(
            "{}/api/v1/sessions/{}/attendance/corrections",
            f.app.url, f.first.session.id
        ))
        .bearer_auth(&token)
        .json(
            &json!({"participant_id": max_first, "date": day(2).to_string(), "half": "morning",
            "minutes": 90, "reason": "suivi par téléphone"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, body) = get_json(&f.app, &token, &path).await;
    assert_eq!(learner(&body, "max@example.org")["attended_minutes"], 120);

    // Within dates: the first day only, then the second only.
    let (status, body) = get_json(&f.app, &token, &format!("{path}?from={}&to={}", day(2), day(2))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["from"], day(2).to_string());
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(body["sessions"][0]["session_id"], f.first.session.id.as_str());
    assert_eq!(learner(&body, "lea@example.org")["rate_percent"], 67);
    let (_, body) = get_json(&f.app, &token, &format!("{path}?from={}", day(3))).await;
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(learner(&body, "lea@example.org")["attended_minutes"], 60);
    assert_eq!(
        body["learners"].as_array().unwrap().len(),
        2,
        "Gaby was not invited then"
    );
    // Bad dates are refused with the field named, in the caller's language.
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("to=", "to"),
        (&*format!("from={}&to={}", day(3), day(2)), "to"),
    ] {
        let r = testkit::client()
            .get(format!("{}{path}?{query}", f.app.url))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{query}: {problem}"
        );
    }

    // The course page shows the table to its manager, in hours.
    let browser = f.app.browser();
    browser.login(&f.manager.email, PASSWORD).await;
    let page = browser.get(&format!("/courses/{}", f.course_id)).await;
    assert!(page.contains("Assiduité sur la formation"), "{}", page.body);
    assert!(
        page.contains("4 h 00") && page.contains("3 h 00") && page.contains("75 %"),
        "{}",
        page.body
    );
    assert!(page.contains(&format!("/courses/{}/certificates.zip", f.course_id)));
    // Its trainer reads the course's own attendance page (no certificates there), linked
    // from each session's attendance.
    let browser = f.app.browser();
    browser.login(&f.theo.email, PASSWORD).await;
    let page = browser
        .get(&format!("/sessions/{}/attendance", f.first.session.id))
        .await;
    assert!(
        page.contains(&format!("href=\"/courses/{}/attendance\"", f.course_id)),
        "{}",
        page.body
    );
    let page = browser
        .get(&format!("/courses/{}/attendance?from=&to=", f.course_id))
        .await;
    assert_eq!(page.status, StatusCode::OK, "the form's empty dates: no bound");
    assert!(page.contains("3 h 00") && page.contains("75 %"), "{}", page.body);
    assert!(!page.contains("certificates.zip"), "{}", page.body);
}

async fn course_routes_by_role(backend: Backend) {
    let f = fixture(backend).await;
    scenario(&f).await;
    let id = &f.course_id;
    // Léa's address-book entry names her in the certificate's path.
    let lea = named(&f.first, "Léa Martin").contact_id.clone().unwrap();
    let reads = ["attendance", "attendance.csv", "attendance.pdf"];
    let issues = ["certificates.zip", &*format!("learners/{lea}/certificate.pdf")];
    for (who, user, read, issue) in [
        ("admin", Some(&f.admin), StatusCode::OK, StatusCode::OK),
        ("manager", Some(&f.manager), StatusCode::OK, StatusCode::OK),
        ("its trainer", Some(&f.theo), StatusCode::OK, StatusCode::NOT_FOUND),
        (
            "a trainer of one session",
            Some(&f.otto),
            StatusCode::OK,
            StatusCode::NOT_FOUND,
        ),
        (
            "another trainer",
            Some(&f.ugo),
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
        ),
        ("nobody", None, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
    ] {
        let token = match user {
            Some(u) => token_for(&f.app, &u.id).await,
            None => "not-a-token".to_owned(),
        };
        for path in reads {
            let r = get(&f.app, &token, &format!("/api/v1/courses/{id}/{path}")).await;
            assert_eq!(r.status(), read, "{who} GET {path}");
        }
        for path in issues {
            let r = get(&f.app, &token, &format!("/api/v1/courses/{id}/{path}")).await;
            assert_eq!(r.status(), issue, "{who} GET {path}");
        }
    }
    // A trainer of one session of the course sees that session only.
    let token = token_for(&f.app, &f.otto.id).await;
    let (_, body) = get_json(&f.app, &token, &format!("/api/v1/courses/{id}/attendance")).await;
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["sessions"][0]["session_id"], f.second.session.id.as_str());
    assert_eq!(learner(&body, "lea@example.org")["planned_minutes"], 60);
    // An unknown course, an unknown learner: not found.
    let token = token_for(&f.app, &f.manager.id).await;
    let r = get(&f.app, &token, "/api/v1/courses/nope/attendance").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{id}/learners/nobody/certificate.pdf"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The pages: the same people.
    for (user, read, issue) in [
        (&f.admin, StatusCode::OK, StatusCode::OK),
        (&f.manager, StatusCode::OK, StatusCode::OK),
        (&f.theo, StatusCode::OK, StatusCode::NOT_FOUND),
        (&f.ugo, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
    ] {
        let browser = f.app.browser();
        browser.login(&user.email, PASSWORD).await;
        for path in reads {
            let r = browser.get_raw(&format!("/courses/{id}/{path}")).await;
            assert_eq!(r.status(), read, "{} GET /courses/{{id}}/{path}", user.email);
        }
        for path in issues {
            let r = browser.get_raw(&format!("/courses/{id}/{path}")).await;
            assert_eq!(r.status(), issue, "{} GET /courses/{{id}}/{path}", user.email);
        }
    }
    let anonymous = f.app.browser();
    let r = anonymous.get_raw(&format!("/courses/{id}/attendance.csv")).await;
    assert_ne!(r.status(), StatusCode::OK);
}

fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let file = testkit::temp_dir("course-attendance").join(name);
    std::fs::write(&file, bytes).unwrap();
    file
}

fn qpdf_and_text(pdf: &[u8]) -> String {
    let file = scratch("doc.pdf", pdf);
    let qpdf = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .expect("qpdf (apt-get install -y qpdf)");
    assert!(
        qpdf.status.success(),
        "qpdf --check: {}",
        String::from_utf8_lossy(&qpdf.stdout)
    );
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (apt-get install -y poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

async fn course_exports_and_certificates(backend: Backend) {
    let f = fixture(backend).await;
    scenario(&f).await;
    let id = &f.course_id;
    let token = token_for(&f.app, &f.manager.id).await;

    // The CSV: the session CSV's format, every session's rows.
    let r = get(&f.app, &token, &format!("/api/v1/courses/{id}/attendance.csv")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.bytes().await.unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "a byte order mark");
    let csv = String::from_utf8(csv[3..].to_vec()).unwrap();
    let lea_rows: Vec<&str> = csv.lines().filter(|l| l.contains("Léa Martin")).collect();
    assert_eq!(lea_rows.len(), 3, "two half-days, then one: {csv}");
    assert!(
        lea_rows
            .iter()
            .all(|l| l.contains(';') && l.contains("lea@example.org"))
    );
    assert!(
        csv.contains(&day(3).to_string()) || csv.contains(&day(3).strftime("%d/%m/%Y").to_string()),
        "{csv}"
    );
    // Within dates: the second day's rows only.
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{id}/attendance.csv?from={}", day(3)),
    )
    .await;
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains("Léa Martin")).count(), 1, "{csv}");

    // The PDF sheet over both sessions.
    let r = get(&f.app, &token, &format!("/api/v1/courses/{id}/attendance.pdf")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = qpdf_and_text(&r.bytes().await.unwrap());
    assert!(text.contains(TITLE), "{text}");
    assert!(
        text.contains(&f.first.session.id) && text.contains(&f.second.session.id),
        "both sessions with their seals: {text}"
    );
    assert!(text.contains("Léa Martin") && text.contains("Gaby Guest"), "{text}");
    // A period without sessions: said plainly.
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{id}/attendance.pdf?from=2001-01-01&to=2001-01-02"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Léa's certificate: her name, the course, the hours attended.
    let lea = named(&f.first, "Léa Martin").contact_id.clone().unwrap();
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{id}/learners/{lea}/certificate.pdf"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let text = qpdf_and_text(&r.bytes().await.unwrap());
    assert!(text.contains("CERTIFICAT DE RÉALISATION"), "{text}");
    assert!(text.contains("Léa Martin") && text.contains(TITLE), "{text}");
    assert!(text.contains("3 h 00"), "180 minutes attended: {text}");
    // Over the second day only: one hour.
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{id}/learners/{lea}/certificate.pdf?from={}", day(3)),
    )
    .await;
    let text = qpdf_and_text(&r.bytes().await.unwrap());
    assert!(text.contains("1 h 00") && !text.contains("3 h 00"), "{text}");
    // In English.
    let r = testkit::client()
        .get(format!(
            "{}/api/v1/courses/{id}/learners/{lea}/certificate.pdf",
            f.app.url
        ))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let text = qpdf_and_text(&r.bytes().await.unwrap());
    assert!(text.to_lowercase().contains("certificate"), "{text}");

    // Every certificate in one ZIP, read back by Python's zipfile.
    let browser = f.app.browser();
    browser.login(&f.manager.email, PASSWORD).await;
    let r = browser.get_raw(&format!("/courses/{id}/certificates.zip")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let zip = scratch("certificates.zip", &r.bytes().await.unwrap());
    let out_dir = zip.with_file_name("out");
    let script = "import json, sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  assert z.testzip() is None\n\
                  z.extractall(sys.argv[2])\n\
                  print(json.dumps(sorted(z.namelist())))\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, zip.to_str().unwrap(), out_dir.to_str().unwrap()])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(names, ["Gaby Guest.pdf", "Léa Martin.pdf", "Max Durand.pdf"]);
    let max = qpdf_and_text(&std::fs::read(out_dir.join("Max Durand.pdf")).unwrap());
    assert!(max.contains("Max Durand") && max.contains("0 h 30"), "{max}");
}

/// The GDPR export as a ZIP (API `?format=zip` and the page's second button): the JSON, the
/// calendar of the person's sessions with their own links, the certificate of each course
/// they attended, and their excerpt of each attended session's signed attendance sheet (PDF
/// and CSV: their rows only, their signature and its time, the seal), read back with Python's
/// zipfile and icalendar, qpdf and pdftotext.
async fn a_persons_export_as_zip_holds_their_certificate_and_calendar(backend: Backend) {
    let f = fixture(backend).await;
    scenario(&f).await;
    // Léa signs the second session's morning from her link, at 10:17 that day; Max too.
    let (day2, day3) = (day(2).to_string(), day(3).to_string());
    f.app.clock.freeze_at(at(day(3), 10) + SignedDuration::from_mins(17));
    // Max draws his signature (the course sheet prints it; the course's figures are read
    // without the pictures and must still count it).
    let drawing = {
        use base64::Engine as _;
        let png = testkit::temp_dir("drawn").join("max.png");
        signature_png(&png);
        let bytes = std::fs::read(&png).unwrap();
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    };
    for (name, drawn) in [("Léa Martin", ""), ("Max Durand", drawing.as_str())] {
        let p = named(&f.second, name);
        let r = f
            .app
            .browser()
            .post_raw(
                &format!("{}/sign", link(&f.app, p)),
                &[
                    ("half_day", &format!("{day3}:morning")),
                    ("name", name),
                    ("drawing", drawn),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name} signs");
    }
    f.app.clock.freeze_at(at(day(4), 12));
    let token = token_for(&f.app, &f.manager.id).await;
    let export = |query: &'static str, token: String| {
        let url = format!("{}/api/v1/gdpr/export{query}", f.app.url);
        async move {
            testkit::client()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"email": "Lea@Example.org"}))
                .send()
                .await
                .unwrap()
        }
    };
    let r = export("?format=zip", token.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("personal-data.zip")
    );
    let zip = scratch("personal-data.zip", &r.bytes().await.unwrap());
    let out_dir = zip.with_file_name("export");
    let script = "import json, sys, zipfile, icalendar\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  assert z.testzip() is None\n\
                  z.extractall(sys.argv[2])\n\
                  cal = icalendar.Calendar.from_ical(z.read('sessions.ics'))\n\
                  events = [(str(e['SUMMARY']), e['DTSTART'].dt.isoformat(), str(e.get('URL', ''))) for e in cal.walk('VEVENT')]\n\
                  print(json.dumps({'names': sorted(z.namelist()), 'events': sorted(events)}))\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, zip.to_str().unwrap(), out_dir.to_str().unwrap()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{} (python3 -m pip install icalendar)",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sheet = |date: &str, ext: &str| format!("Feuille d’émargement - {TITLE} - {date}.{ext}");
    assert_eq!(
        read["names"],
        json!([
            format!("Certificat de réalisation - {TITLE}.pdf"),
            sheet(&day2, "csv"),
            sheet(&day2, "pdf"),
            sheet(&day3, "csv"),
            sheet(&day3, "pdf"),
            "personal-data.json",
            "sessions.ics"
        ])
    );
    // Her excerpt of the signed sheet of the second session: her row, her typed signature
    // and its time, the seal and how to verify it; nobody else's row.
    let text = qpdf_and_text(&std::fs::read(out_dir.join(sheet(&day3, "pdf"))).unwrap());
    assert!(text.contains("Léa Martin") && text.contains("10:17"), "{text}");
    assert!(
        text.contains(&format!("dialogue attendance verify {}", f.second.session.id)),
        "{text}"
    );
    assert!(!text.contains("Max Durand") && !text.contains("Gaby Guest"), "{text}");
    // The first session: attended, never signed; still only her.
    let text = qpdf_and_text(&std::fs::read(out_dir.join(sheet(&day2, "pdf"))).unwrap());
    assert!(
        text.contains("Léa Martin") && text.contains(&format!("dialogue attendance verify {}", f.first.session.id)),
        "{text}"
    );
    assert!(!text.contains("Max Durand") && !text.contains("Gaby Guest"), "{text}");
    // The same rows as CSV: hers alone, with the signing time.
    let csv = std::fs::read_to_string(out_dir.join(sheet(&day3, "csv"))).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(
        rows[0].contains("Léa Martin") && rows[0].contains(&format!("{day3} 10:17")),
        "{csv}"
    );
    assert!(!csv.contains("Max Durand") && !csv.contains("max@example.org"), "{csv}");
    // The JSON is the API's document.
    let data: Value = serde_json::from_slice(&std::fs::read(out_dir.join("personal-data.json")).unwrap()).unwrap();
    assert_eq!(data["email"], "lea@example.org");
    assert_eq!(data["participations"].as_array().unwrap().len(), 2);
    // Her two sessions, each with her own link.
    let events = read["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{read}");
    let ics = std::fs::read_to_string(out_dir.join("sessions.ics")).unwrap();
    for detail in [&f.first, &f.second] {
        let lea = named(detail, "Léa Martin");
        let key = f.app.store().join_key(&lea.id, lea.link_version).unwrap();
        assert!(ics.replace("\r\n ", "").contains(&format!("/j/{key}")), "{ics}");
        let max = named(detail, "Max Durand");
        let other = f.app.store().join_key(&max.id, max.link_version).unwrap();
        assert!(!ics.replace("\r\n ", "").contains(&other), "{ics}");
    }
    // Her certificate: her name, the course, the three hours she attended.
    let pdf = std::fs::read(out_dir.join(format!("Certificat de réalisation - {TITLE}.pdf"))).unwrap();
    let text = qpdf_and_text(&pdf);
    assert!(text.contains("Léa Martin") && text.contains(TITLE), "{text}");
    assert!(text.contains("3 h 00") && !text.contains("Max Durand"), "{text}");
    // JSON stays the default; an unknown format is refused in the caller's language.
    let r = export("", token.clone()).await;
    assert_eq!(r.headers()["content-type"], "application/json");
    let r = export("?format=pdf", token.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    assert!(problem.to_string().contains("json ou zip"), "{problem}");
    // Trainers may not export.
    let theo = token_for(&f.app, &f.theo.id).await;
    assert_eq!(export("?format=zip", theo).await.status(), StatusCode::FORBIDDEN);
    // The page's ZIP button.
    let browser = f.app.browser();
    browser.login(&f.manager.email, PASSWORD).await;
    assert!(browser.get("/gdpr").await.contains("name=\"format\" value=\"zip\""));
    let r = browser
        .post_raw("/gdpr/export", &[("email", "lea@example.org"), ("format", "zip")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let zip = scratch("page.zip", &r.bytes().await.unwrap());
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, zipfile; print(json.dumps(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))",
            zip.to_str().unwrap(),
        ])
        .output()
        .expect("python3");
    let names: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(names.as_array().unwrap().len(), 7, "{names}");
    // Each export is audited.
    let log = f.app.store().audit_log(50, None).await.unwrap();
    assert!(log.iter().filter(|e| e.action == "gdpr.export").count() >= 3);

    // The course's sheet prints the one drawing; its CSV, read without the pictures, still
    // has Max's signature time.
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{}/attendance.pdf", f.course_id),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let sheet = scratch("course-sheet.pdf", &r.bytes().await.unwrap());
    let (count, images) = pdf_images(&sheet);
    assert_eq!(count, 1, "Max's drawing: {images}");
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{}/attendance.csv", f.course_id),
    )
    .await;
    let csv = r.text().await.unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains("Max Durand") && l.contains(&day3) && l.contains("10:17")),
        "{csv}"
    );
}

/// An evening-to-morning session, from day 5, 18:00, to day 6, 10:00 (Paris; sessions last
/// at most 24 hours): both sheets print it per calendar day, each day with its own half-day,
/// numbered as one session.
async fn a_session_over_several_days_on_both_sheets(backend: Backend) {
    let f = fixture(backend).await;
    let night = book(
        &f.app,
        &f.course_id,
        &[&f.theo],
        &f.manager,
        at(day(5), 18),
        16 * 60,
        false,
    )
    .await;
    // Léa: 18:00–20:00 on the first day, 09:00–10:00 on the second.
    let lea = named(&night, "Léa Martin");
    connect(&f, &night, lea, 0, 120 * MIN).await;
    connect(&f, &night, lea, 15 * 60 * MIN, 16 * 60 * MIN).await;
    f.app.clock.freeze_at(at(day(8), 12));
    let token = token_for(&f.app, &f.manager.id).await;

    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/sessions/{}/attendance.pdf", night.session.id),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "no longer refused");
    let text = qpdf_and_text(&r.bytes().await.unwrap());
    let first = text.find("jour 1 sur 2").unwrap_or_else(|| panic!("{text}"));
    let second = text.find("jour 2 sur 2").unwrap_or_else(|| panic!("{text}"));
    assert!(first < second, "{text}");
    assert!(!text.contains("séance 1 sur"), "one session, not two: {text}");
    let (day1, day2) = text.split_at(second);
    let long_day = |d: Date| format!("{} {}", d.day(), i18n_month(d.month()));
    assert!(day1.contains(&long_day(day(5))), "{day1}");
    assert!(day2.contains(&long_day(day(6))), "{day2}");
    // Each day its half-day and hours, and Léa's minutes on their own day.
    assert!(
        day1.contains("Après-midi 18:00–00:00") && !day1.contains("Matin"),
        "{day1}"
    );
    assert!(
        day2.contains("Matin 00:00–10:00") && !day2.contains("Après-midi"),
        "{day2}"
    );
    for part in [day1, day2] {
        assert!(part.contains(&night.session.id), "the seal on each day: {part}");
    }
    // pdftotext reads each row as name, planned, present.
    assert!(day1.contains("Léa Martin\n\n360\n\n120\n"), "{day1}");
    assert!(day2.contains("Léa Martin\n\n600\n\n60\n"), "{day2}");

    // The course sheet: three sessions, the night one over two days.
    let r = get(
        &f.app,
        &token,
        &format!("/api/v1/courses/{}/attendance.pdf", f.course_id),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = qpdf_and_text(&r.bytes().await.unwrap());
    assert!(text.contains("séance 3 sur 3"), "{text}");
    assert!(!text.contains("sur 4"), "{text}");
    assert!(text.contains("jour 1 sur 2") && text.contains("jour 2 sur 2"), "{text}");
}

/// The French month name as the documents print it.
fn i18n_month(month: i8) -> &'static str {
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ][month as usize - 1]
}

/// A 240×80 PNG with a dark stroke, written by Python's zlib (a signature as a scanner gives).
fn signature_png(path: &std::path::Path) {
    let script = "import struct,sys,zlib\n\
        w,h=240,80\n\
        rows=b''.join(b'\\x00'+b''.join(b'\\x10\\x10\\x40\\xff' if abs(y-h*x//w)<3 else b'\\x00\\x00\\x00\\x00' for x in range(w)) for y in range(h))\n\
        c=lambda t,d:struct.pack('>I',len(d))+t+d+struct.pack('>I',zlib.crc32(t+d))\n\
        open(sys.argv[1],'wb').write(b'\\x89PNG\\r\\n\\x1a\\n'+c(b'IHDR',struct.pack('>IIBBBBB',w,h,8,6,0,0,0))+c(b'IDAT',zlib.compress(rows))+c(b'IEND',b''))";
    let status = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .status()
        .expect("python3");
    assert!(status.success());
}

/// The nature of the action set on the course (API) is the one ticked on its certificates;
/// the signatory's image from `[organisation]` is printed on them.
async fn certificates_state_the_nature_and_print_the_signatory(backend: Backend) {
    let png = testkit::temp_dir("signatory").join("signature.png");
    signature_png(&png);
    let f = fixture_with(
        backend,
        &[
            ("DIALOGUE_ORGANISATION_SIGNATORY_IMAGE", png.to_str().unwrap()),
            ("DIALOGUE_ORGANISATION_SIGNATORY_NAME", "Inès Directrice"),
            ("DIALOGUE_ORGANISATION_SIGNATORY_ROLE", "Gérante"),
        ],
    )
    .await;
    scenario(&f).await;
    let id = &f.course_id;
    let token = token_for(&f.app, &f.manager.id).await;
    let lea = named(&f.first, "Léa Martin").contact_id.clone().unwrap();
    let certificate = |nature: &'static str| {
        let (app, token, id, lea) = (&f.app, token.clone(), id.clone(), lea.clone());
        async move {
            let r = get(
                app,
                &token,
                &format!("/api/v1/courses/{id}/learners/{lea}/certificate.pdf"),
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK, "{nature}");
            r.bytes().await.unwrap().to_vec()
        }
    };

    // By default: an action de formation.
    let (_, course) = get_json(&f.app, &token, &format!("/api/v1/courses/{id}")).await;
    assert_eq!(course["action_nature"], "training");
    let text = qpdf_and_text(&certificate("training").await);
    assert!(text.contains("☒ action de formation\n"), "{text}");
    assert!(text.contains("☐ action de validation des acquis"), "{text}");

    // Set to VAE through the API: that one is ticked.
    let patch = |body: Value| {
        testkit::client()
            .patch(format!("{}/api/v1/courses/{id}", f.app.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = patch(json!({"action_nature": "vae"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let course: Value = r.json().await.unwrap();
    assert_eq!(course["action_nature"], "vae");
    let pdf = certificate("vae").await;
    let text = qpdf_and_text(&pdf);
    assert!(
        text.contains("☒ action de validation des acquis de l’expérience (VAE)"),
        "{text}"
    );
    assert!(text.contains("☐ action de formation\n"), "{text}");
    assert!(text.contains("Inès Directrice") && text.contains("Gérante"), "{text}");

    // The signatory's image is on it.
    let file = scratch("certificate.pdf", &pdf);
    let (count, images) = pdf_images(&file);
    assert_eq!(count, 1, "the signature: {images}");

    // A nature the model does not list: refused with its field, nothing changed.
    let r = patch(json!({"action_nature": "seminar"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "action_nature", "{problem}");
    let (_, course) = get_json(&f.app, &token, &format!("/api/v1/courses/{id}")).await;
    assert_eq!(course["action_nature"], "vae");
}
