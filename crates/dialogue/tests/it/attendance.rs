//! Attendance end to end: events posted to the Prosody event endpoint exactly as jitsi-contrib's
//! event_sync sends them (two devices at once, a breakout room, duplicates, out of order, a
//! leave that never comes), the figures the API and the session page show, corrections,
//! exports read back with poppler and qpdf, signatures and their evidence chain.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{ParticipantRole, SessionDetail, User};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::TestApp;
use crate::jitsi_support::*;

both_backends!(
    figures_from_event_sync_deliveries,
    attendance_routes_by_role,
    corrections_sit_beside_the_measure,
    signatures_exports_and_tampering,
);

const UA: &str = "Prosody (0.12.4; posix)";
const MIN: i64 = 60;

/// A date two days ahead, at `hour:minute` in Paris.
fn paris(days_ahead: i64, hour: i8, minute: i8) -> Timestamp {
    let today = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date();
    let date: Date = today.checked_add(days_ahead.days()).unwrap();
    date.to_datetime(Time::new(hour, minute, 0, 0).unwrap())
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
}

/// A session from 11:00 to 14:00 Paris time (a morning of 120 minutes and an afternoon of 60,
/// with noon at 13:00), with its manager and trainer, on an HS256 server.
struct Fixture {
    app: TestApp,
    meet: Server,
    manager: User,
    trainer: User,
    detail: SessionDetail,
    start: i64,
}

async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let manager = app.user("marie@example.org", domain::Role::Manager).await;
    let trainer = app.user("theo@example.org", domain::Role::Trainer).await;
    let start = paris(2, 11, 0);
    let detail = book_at(&app, &trainer, &manager, start, 180, "Europe/Paris").await;
    Fixture {
        app,
        meet,
        manager,
        trainer,
        detail,
        start: start.as_second(),
    }
}

async fn post_event(app: &TestApp, secret: &str, path: &str, body: &Value) {
    let r = testkit::client()
        .post(format!("{}/jitsi/events/{path}", app.url))
        .header("user-agent", UA)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {secret}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}: {body}");
}

/// An occupant as mod_event_sync_component serialises it.
fn occupant(jid: &str, id: Option<&str>, name: &str, joined: i64, left: Option<i64>) -> Value {
    let mut o = json!({"occupant_jid": jid, "joined_at": joined, "name": name,
        "email": format!("{}@example.org", name.to_lowercase().replace(' ', "."))});
    if let Some(id) = id {
        o["id"] = json!(id);
    }
    if let Some(left) = left {
        o["left_at"] = json!(left);
    }
    o
}

fn event(room: &str, name: &str, breakout: Option<&str>, occupant: Value) -> Value {
    let mut v = json!({"event_name": name, "room_name": room,
        "room_jid": format!("{room}@conference.meet.example.org"), "is_breakout": breakout.is_some(),
        "occupant": occupant});
    if let Some(b) = breakout {
        v["breakout_room_id"] = json!(b);
    }
    v
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = testkit::client()
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn participant<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == id)
        .unwrap_or_else(|| panic!("{id} in {body}"))
}

/// Posts the session's events: Léa on two devices (overlapping), Max without a leave and
/// also in a breakout room, the trainer from before the start to after the end; out of order
/// and with duplicates.
async fn post_scenario(f: &Fixture) {
    let room = &f.detail.session.room;
    let t = f.start;
    let lea = learner(&f.detail);
    let max = f.detail.participants.iter().find(|p| p.name == "Max Durand").unwrap();
    let theo = with_role(&f.detail, ParticipantRole::Trainer);
    let secret = &f.meet.api_secret;
    let lea_a_join = event(
        room,
        "muc-occupant-joined",
        None,
        occupant("lea@meet/a", Some(&lea.id), "Lea", t, None),
    );
    let lea_a_left = event(
        room,
        "muc-occupant-left",
        None,
        occupant("lea@meet/a", Some(&lea.id), "Lea", t, Some(t + 60 * MIN)),
    );
    let lea_b_join = event(
        room,
        "muc-occupant-joined",
        None,
        occupant("lea@meet/b", Some(&lea.id), "Lea", t + 30 * MIN, None),
    );
    let lea_b_left = event(
        room,
        "muc-occupant-left",
        None,
        occupant("lea@meet/b", Some(&lea.id), "Lea", t + 30 * MIN, Some(t + 130 * MIN)),
    );
    let max_join = event(
        room,
        "muc-occupant-joined",
        None,
        occupant("max@meet/c", Some(&max.id), "Max", t + 10 * MIN, None),
    );
    let max_breakout = event(
        room,
        "muc-occupant-joined",
        Some("br-1"),
        occupant("max@meet/d", Some(&max.id), "Max", t + 20 * MIN, None),
    );
    let max_breakout_left = event(
        room,
        "muc-occupant-left",
        Some("br-1"),
        occupant("max@meet/d", Some(&max.id), "Max", t + 20 * MIN, Some(t + 50 * MIN)),
    );
    let theo_join = event(
        room,
        "muc-occupant-joined",
        None,
        occupant("theo@meet/e", Some(&theo.id), "Theo", t - 5 * MIN, None),
    );
    let theo_left = event(
        room,
        "muc-occupant-left",
        None,
        occupant("theo@meet/e", Some(&theo.id), "Theo", t - 5 * MIN, Some(t + 185 * MIN)),
    );
    let anonymous = event(
        room,
        "muc-occupant-joined",
        None,
        json!({"occupant_jid": "x@guest/1", "joined_at": t + 5 * MIN}),
    );
    for (path, body) in [
        ("occupant/left", &lea_b_left),
        ("occupant/left", &lea_a_left),
        ("occupant/joined", &max_join),
        ("occupant/joined", &lea_a_join),
        ("occupant/left", &max_breakout_left),
        ("occupant/joined", &theo_join),
        ("occupant/joined", &lea_b_join),
        ("occupant/left", &lea_a_left),
        ("occupant/joined", &max_breakout),
        ("occupant/left", &theo_left),
        ("occupant/joined", &max_join),
        ("occupant/joined", &anonymous),
    ] {
        post_event(&f.app, secret, path, body).await;
    }
}

async fn figures_from_event_sync_deliveries(backend: Backend) {
    let f = fixture(backend).await;
    post_scenario(&f).await;
    // Two hours after the end: Max's connection that never left is capped at end + grace.
    f.app
        .clock
        .freeze_at(Timestamp::from_second(f.start + 300 * MIN).unwrap());
    let token = token_for(&f.app, &f.manager.id).await;
    let (status, body) = get_json(
        &f.app,
        &token,
        &format!("/api/v1/sessions/{}/attendance", f.detail.session.id),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["planned_minutes"], 180);
    assert_eq!(
        body["half_days"],
        json!([
            {"date": body["half_days"][0]["date"], "half": "morning", "planned_minutes": 120},
            {"date": body["half_days"][0]["date"], "half": "afternoon", "planned_minutes": 60},
        ])
    );
    let lea = participant(&body, &learner(&f.detail).id);
    assert_eq!(lea["connections"], 2);
    assert_eq!(lea["present_minutes"], 130, "two devices counted once: {lea}");
    assert_eq!(lea["attended_minutes"], 130);
    assert_eq!(lea["rate_percent"], 72);
    assert_eq!(lea["half_days"][0]["present_minutes"], 120);
    assert_eq!(lea["half_days"][1]["present_minutes"], 10);
    assert_eq!(lea["first_join"], Timestamp::from_second(f.start).unwrap().to_string());
    assert_eq!(
        lea["last_leave"],
        Timestamp::from_second(f.start + 130 * MIN).unwrap().to_string()
    );
    assert_eq!(lea["in_room"], false);
    let max = f.detail.participants.iter().find(|p| p.name == "Max Durand").unwrap();
    let max = participant(&body, &max.id);
    assert_eq!(max["connections"], 2, "the main room and a breakout room");
    assert_eq!(max["present_minutes"], 170, "from 11:10 to the end: {max}");
    assert_eq!(max["outside_minutes"], 10, "the grace after the end, not counted");
    assert_eq!(
        max["last_leave"],
        Timestamp::from_second(f.start + 190 * MIN).unwrap().to_string(),
        "a leave that never came: end + 10 min of grace"
    );
    let theo = participant(&body, &with_role(&f.detail, ParticipantRole::Trainer).id);
    assert_eq!(theo["present_minutes"], 180);
    assert_eq!(theo["outside_minutes"], 10);
    assert_eq!(theo["role"], "trainer");
    let gaby = participant(&body, &with_role(&f.detail, ParticipantRole::Guest).id);
    assert_eq!(gaby["present_minutes"], 0);
    assert!(gaby["first_join"].is_null());
    assert_eq!(
        body["others"].as_array().unwrap().len(),
        1,
        "the connection without a token"
    );
    assert_eq!(body["others"][0]["kind"], "jid");

    // While the session runs, Max is still in the room.
    f.app
        .clock
        .freeze_at(Timestamp::from_second(f.start + 100 * MIN).unwrap());
    let (_, body) = get_json(
        &f.app,
        &token,
        &format!("/api/v1/sessions/{}/attendance", f.detail.session.id),
    )
    .await;
    let max_id = &f
        .detail
        .participants
        .iter()
        .find(|p| p.name == "Max Durand")
        .unwrap()
        .id;
    assert_eq!(participant(&body, max_id)["in_room"], true);
    assert_eq!(participant(&body, max_id)["present_minutes"], 90);

    // The session page shows the table.
    f.app
        .clock
        .freeze_at(Timestamp::from_second(f.start + 300 * MIN).unwrap());
    let browser = f.app.browser();
    browser.login(&f.trainer.email, crate::helpers::PASSWORD).await;
    let page = browser.get(&format!("/sessions/{}", f.detail.session.id)).await;
    assert!(page.contains("Présence et émargement"), "{}", page.body);
    assert!(page.contains("130 min") && page.contains("72 %"), "{}", page.body);
}

async fn attendance_routes_by_role(backend: Backend) {
    let f = fixture(backend).await;
    let admin = f.app.user("ada@example.org", domain::Role::Admin).await;
    let other = f.app.user("otto@example.org", domain::Role::Trainer).await;
    let id = &f.detail.session.id;
    let lea = learner(&f.detail).id.clone();
    let date = Timestamp::from_second(f.start)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date()
        .to_string();
    let correction =
        json!({"participant_id": lea, "date": date, "half": "morning", "minutes": 30, "reason": "par téléphone"});
    for (who, user, read, write) in [
        ("admin", Some(&admin), StatusCode::OK, StatusCode::CREATED),
        ("manager", Some(&f.manager), StatusCode::OK, StatusCode::CREATED),
        ("its trainer", Some(&f.trainer), StatusCode::OK, StatusCode::CREATED),
        (
            "another trainer",
            Some(&other),
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
        ),
        ("nobody", None, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
    ] {
        let token = match user {
            Some(u) => token_for(&f.app, &u.id).await,
            None => "not-a-token".to_owned(),
        };
        for path in ["attendance", "attendance/verify", "attendance.csv", "attendance.pdf"] {
            let r = testkit::client()
                .get(format!("{}/api/v1/sessions/{id}/{path}", f.app.url))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), read, "{who} GET {path}");
        }
        let r = testkit::client()
            .post(format!("{}/api/v1/sessions/{id}/attendance/corrections", f.app.url))
            .bearer_auth(&token)
            .json(&correction)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), write, "{who} POST a correction");
    }
    // The pages: the same people, and a login for nobody.
    for (user, expected) in [
        (&admin, StatusCode::OK),
        (&f.manager, StatusCode::OK),
        (&f.trainer, StatusCode::OK),
        (&other, StatusCode::NOT_FOUND),
    ] {
        let browser = f.app.browser();
        browser.login(&user.email, crate::helpers::PASSWORD).await;
        for path in ["attendance", "attendance.csv", "attendance.pdf"] {
            let r = browser.get_raw(&format!("/sessions/{id}/{path}")).await;
            assert_eq!(r.status(), expected, "{} GET /sessions/{{id}}/{path}", user.email);
        }
        let r = browser
            .post_raw(
                &format!("/sessions/{id}/attendance/corrections"),
                &[
                    ("participant_id", &lea),
                    ("half_day", &format!("{date}:morning")),
                    ("minutes", "40"),
                    ("reason", "coupure"),
                ],
            )
            .await;
        let expected_post = if expected == StatusCode::OK {
            StatusCode::SEE_OTHER
        } else {
            expected
        };
        assert_eq!(r.status(), expected_post, "{} POST a correction form", user.email);
    }
    let anonymous = f.app.browser();
    let r = anonymous.get_raw(&format!("/sessions/{id}/attendance.csv")).await;
    assert!(
        r.status() == StatusCode::SEE_OTHER || r.status() == StatusCode::UNAUTHORIZED,
        "{}",
        r.status()
    );
    let r = anonymous.get_raw(&format!("/sessions/{id}/attendance")).await;
    assert_ne!(r.status(), StatusCode::OK);
}

async fn corrections_sit_beside_the_measure(backend: Backend) {
    let f = fixture(backend).await;
    post_scenario(&f).await;
    f.app
        .clock
        .freeze_at(Timestamp::from_second(f.start + 300 * MIN).unwrap());
    let token = token_for(&f.app, &f.trainer.id).await;
    let id = &f.detail.session.id;
    let lea = learner(&f.detail).id.clone();
    let date = Timestamp::from_second(f.start)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date()
        .to_string();
    let post = |body: Value| {
        let url = format!("{}/api/v1/sessions/{id}/attendance/corrections", f.app.url);
        let token = token.clone();
        async move {
            let r = testkit::client()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    // Refused, nothing stored: no reason, too many minutes, a half-day the session does not
    // cover, someone who is not a participant.
    for (body, field) in [
        (
            json!({"participant_id": lea, "date": date, "half": "afternoon", "minutes": 60, "reason": "  "}),
            "reason",
        ),
        (
            json!({"participant_id": lea, "date": date, "half": "afternoon", "minutes": 61, "reason": "x"}),
            "minutes",
        ),
        (
            json!({"participant_id": lea, "date": "2001-01-01", "half": "afternoon", "minutes": 1, "reason": "x"}),
            "half_day",
        ),
        (
            json!({"participant_id": lea, "date": date, "half": "evening", "minutes": 1, "reason": "x"}),
            "half_day",
        ),
        (
            json!({"participant_id": "nobody", "date": date, "half": "afternoon", "minutes": 1, "reason": "x"}),
            "participant_id",
        ),
    ] {
        let (status, problem) = post(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {problem}");
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field} in {problem}"
        );
    }
    assert!(f.app.store().corrections(id).await.unwrap().is_empty());
    // Léa followed the afternoon by phone.
    let (status, c) = post(
        json!({"participant_id": lea, "date": date, "half": "afternoon", "minutes": 60,
        "reason": "Coupure réseau, suivi par téléphone"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["by"], f.trainer.email);
    let (_, body) = get_json(&f.app, &token, &format!("/api/v1/sessions/{id}/attendance")).await;
    let l = participant(&body, &lea);
    assert_eq!(l["present_minutes"], 130, "the measure is kept");
    assert_eq!(l["attended_minutes"], 180, "120 measured in the morning + 60 corrected");
    assert_eq!(l["rate_percent"], 100);
    assert_eq!(l["corrected"], true);
    assert_eq!(l["half_days"][1]["present_minutes"], 10);
    assert_eq!(l["half_days"][1]["attended_minutes"], 60);
    assert_eq!(
        l["half_days"][1]["correction"]["reason"],
        "Coupure réseau, suivi par téléphone"
    );
    // Audited, by whom and about whom.
    let log = f.app.store().audit_log(50, None).await.unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "attendance.correct")
        .expect("an audit entry");
    assert_eq!(entry.actor_label, f.trainer.email);
    assert_eq!(entry.target_id.as_deref(), Some(lea.as_str()));
    assert!(entry.detail.as_deref().unwrap().contains("téléphone"));
    // A later correction applies; the earlier one stays on record.
    let (status, _) =
        post(json!({"participant_id": lea, "date": date, "half": "afternoon", "minutes": 45, "reason": "revu"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = get_json(&f.app, &token, &format!("/api/v1/sessions/{id}/attendance")).await;
    assert_eq!(participant(&body, &lea)["attended_minutes"], 165);
    assert_eq!(f.app.store().corrections(id).await.unwrap().len(), 2);
    // In English, the refusal explains itself too.
    let r = testkit::client()
        .post(format!("{}/api/v1/sessions/{id}/attendance/corrections", f.app.url))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({"participant_id": lea, "date": date, "half": "afternoon", "minutes": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    assert!(problem.to_string().contains("Give the reason"), "{problem}");
    let _ = SignedDuration::ZERO;
}

/// Runs one SQL statement on the test database with its own command-line client.
fn sql(app: &TestApp, statement: &str) {
    let out = match app.db.url.strip_prefix("sqlite:") {
        Some(file) => std::process::Command::new("sqlite3").arg(file).arg(statement).output(),
        None => std::process::Command::new("psql")
            .arg(&app.db.url)
            .args(["-v", "ON_ERROR_STOP=1", "-c", statement])
            .output(),
    }
    .expect("sqlite3 and psql (apt-get install -y sqlite3 postgresql-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `dialogue attendance verify SESSION` on the test's database and secret key.
fn verify_cli(app: &TestApp, session: &str) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dialogue"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("DIALOGUE_CONFIG", "")
        .env("DIALOGUE_DATABASE_URL", &app.db.url)
        .env("DIALOGUE_DATA_DIR", app.data_dir.display().to_string())
        .args(["attendance", "verify", session])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = testkit::temp_dir("pdf");
    let file = dir.join("sheet.pdf");
    std::fs::write(&file, pdf).unwrap();
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
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (apt-get install -y poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

async fn signatures_exports_and_tampering(backend: Backend) {
    let f = fixture(backend).await;
    post_scenario(&f).await;
    f.app
        .clock
        .freeze_at(Timestamp::from_second(f.start + 300 * MIN).unwrap());
    let id = f.detail.session.id.clone();
    let lea = learner(&f.detail).clone();
    let gaby = with_role(&f.detail, ParticipantRole::Guest).clone();
    let date = Timestamp::from_second(f.start)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date()
        .to_string();
    let morning = format!("{date}:morning");

    // Léa signs the morning from her personal link, typing her name (no JavaScript needed).
    let learner_browser = f.app.browser();
    let sign_path = format!("{}/sign", link(&f.app, &lea));
    // Her link, once the session is over, says where: the room is closed, the sheet is not.
    let closed = learner_browser.get_raw(&link(&f.app, &lea)).await;
    assert_eq!(closed.status(), StatusCode::GONE);
    let closed = closed.text().await.unwrap();
    assert!(
        closed.contains(&format!("href=\"{sign_path}\"")) && closed.contains("Signer la feuille d’émargement"),
        "{closed}"
    );
    // A day after the end ([attendance] sign_after_minutes) the sheet is closed too: no link.
    f.app
        .clock
        .freeze_at(f.detail.session.ends_at + jiff::SignedDuration::from_mins(24 * 60 + 1));
    let late = learner_browser.get_raw(&link(&f.app, &lea)).await;
    assert_eq!(late.status(), StatusCode::GONE);
    assert!(
        !late.text().await.unwrap().contains("/sign"),
        "no signing after the sheet closed"
    );
    f.app
        .clock
        .freeze_at(Timestamp::from_second(f.start + 300 * MIN).unwrap());
    let page = learner_browser.get(&sign_path).await;
    assert!(
        page.contains(&morning) && page.contains(&format!("{date}:afternoon")),
        "{}",
        page.body
    );
    let r = learner_browser
        .post_raw(&sign_path, &[("half_day", &morning), ("name", "Léa Martin")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = learner_browser
        .post_raw(&sign_path, &[("half_day", &morning), ("name", "Léa Martin")])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "signed once only");
    let r = learner_browser
        .post_raw(
            &sign_path,
            &[("half_day", &format!("{date}:afternoon")), ("name", "  ")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a name is required");
    // Gaby never came: nothing to sign.
    let gaby_browser = f.app.browser();
    let gaby_path = format!("{}/sign", link(&f.app, &gaby));
    let r = gaby_browser
        .post_raw(&gaby_path, &[("half_day", &morning), ("name", "Gaby Guest")])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        gaby_browser
            .get(&gaby_path)
            .await
            .contains("Aucune demi-journée à signer")
    );
    // The trainer signs the morning too.
    let trainer_browser = f.app.browser();
    trainer_browser.login(&f.trainer.email, crate::helpers::PASSWORD).await;
    let r = trainer_browser
        .post_raw(
            &format!("/sessions/{id}/attendance/sign"),
            &[("half_day", &morning), ("name", "Théo Formateur")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let token = token_for(&f.app, &f.manager.id).await;
    let (_, body) = get_json(&f.app, &token, &format!("/api/v1/sessions/{id}/attendance")).await;
    assert_eq!(participant(&body, &lea.id)["signed_half_days"], 1);
    assert!(participant(&body, &lea.id)["half_days"][0]["signed_at"].is_string());
    let (_, check) = get_json(&f.app, &token, &format!("/api/v1/sessions/{id}/attendance/verify")).await;
    assert_eq!(check["intact"], true, "{check}");
    assert_eq!(check["records"], 2);
    let (ok, out, err) = verify_cli(&f.app, &id);
    assert!(ok, "{out}{err}");
    assert!(out.contains("2 signature(s), chain intact"), "{out}");

    // Exports: the CSV for spreadsheets, the PDF sheet read back.
    let r = testkit::client()
        .get(format!("{}/api/v1/sessions/{id}/attendance.csv", f.app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.bytes().await.unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "a byte order mark");
    let csv = String::from_utf8(csv[3..].to_vec()).unwrap();
    let line = csv
        .lines()
        .find(|l| l.contains("Léa Martin") && l.contains("120"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(line.contains(';') && line.contains("lea@example.org"), "{line}");
    let pdf = trainer_browser.get_raw(&format!("/sessions/{id}/attendance.pdf")).await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let text = pdftotext(&pdf.bytes().await.unwrap());
    assert!(text.contains("Feuille d’émargement"), "{text}");
    assert!(text.contains("Léa Martin") && text.contains("Max Durand"), "{text}");
    assert!(text.contains("120"), "Léa's morning minutes: {text}");
    assert!(text.contains(&id), "the session id for verification: {text}");

    // Someone changes Léa's signature in the database: verify names that record.
    sql(
        &f.app,
        &format!(
            "UPDATE attendance_signatures SET display_name = 'Quelqu''un d''autre' WHERE session_id = '{id}' AND seq = 0"
        ),
    );
    let (_, check) = get_json(&f.app, &token, &format!("/api/v1/sessions/{id}/attendance/verify")).await;
    assert_eq!(check["intact"], false, "{check}");
    assert_eq!(check["record_index"], 0);
    assert!(check["problem"].as_str().unwrap().contains("display_name"), "{check}");
    let (ok, out, err) = verify_cli(&f.app, &id);
    assert!(!ok, "{out}");
    assert!(
        err.contains("signature record 1") && err.contains("display_name"),
        "{err}"
    );
    // Put back, then the last record removed: the stored seal says so.
    sql(
        &f.app,
        &format!("UPDATE attendance_signatures SET display_name = 'Léa Martin' WHERE session_id = '{id}' AND seq = 0"),
    );
    assert!(verify_cli(&f.app, &id).0);
    sql(
        &f.app,
        &format!("DELETE FROM attendance_signatures WHERE session_id = '{id}' AND seq = 1"),
    );
    let (ok, _, err) = verify_cli(&f.app, &id);
    assert!(!ok && err.contains("1 record(s) but 2 were sealed"), "{err}");
}
