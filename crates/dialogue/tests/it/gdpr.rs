//! A person's data and retention, over HTTP on both backends: the export holds every row about
//! the person and none about others; erasure refuses while their signatures are within their
//! retention, then (forced by an admin) leaves their address and name in no column of any
//! table, keeps other people's data and every evidence chain verifiable; who may do it; and the
//! retention job, dry and for real, at instants inside and past each period.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{Participant, ParticipantRole, SessionDetail, User};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::TestApp;
use crate::jitsi_support::*;

both_backends!(
    export_holds_every_row_about_the_person_and_none_about_others,
    erasure_leaves_the_person_nowhere_and_others_and_chains_intact,
    gdpr_routes_by_role,
    retention_keeps_evidence_within_its_period_then_removes_it,
    personal_room_visits_are_exported_and_guest_names_erased,
);

const LEA: &str = "lea@example.org";
const LEA_NAME: &str = "Léa Martin";
const MAX: &str = "max@example.org";
const MIN: i64 = 60;

fn paris(days_ahead: i64, hour: i8, minute: i8) -> Timestamp {
    let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let date: Date = Timestamp::now()
        .to_zoned(zone.clone())
        .date()
        .checked_add(days_ahead.days())
        .unwrap();
    date.to_datetime(Time::new(hour, minute, 0, 0).unwrap())
        .to_zoned(zone)
        .unwrap()
        .timestamp()
}

struct Fixture {
    app: TestApp,
    admin: User,
    manager: User,
    trainer: User,
    detail: SessionDetail,
    lea: Participant,
    max: Participant,
    /// The Jitsi server's API secret (Prosody's reservations and events).
    secret: String,
}

async fn post_event(app: &TestApp, secret: &str, path: &str, body: &Value) {
    let r = testkit::client()
        .post(format!("{}/jitsi/events/{path}", app.url))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {secret}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}: {body}");
}

fn occupant_event(room: &str, kind: &str, p: &Participant, jid: &str, joined: i64, left: Option<i64>) -> Value {
    let mut occupant = json!({"occupant_jid": jid, "joined_at": joined, "name": p.name, "email": p.email, "id": p.id});
    if let Some(left) = left {
        occupant["left_at"] = json!(left);
    }
    json!({"event_name": kind, "room_name": room, "room_jid": format!("{room}@conference.meet.example.org"),
        "is_breakout": false, "occupant": occupant})
}

/// A session 11:00–14:00 Paris two days ahead; Léa and Max connect, then, an hour after the
/// end, both sign the morning from their links.
async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let admin = app.user("ada@example.org", domain::Role::Admin).await;
    let manager = app.user("marie@example.org", domain::Role::Manager).await;
    let trainer = app.user("theo@example.org", domain::Role::Trainer).await;
    let start = paris(2, 11, 0);
    let detail = book_at(&app, &trainer, &manager, start, 180, "Europe/Paris").await;
    let lea = detail.participants.iter().find(|p| p.email == LEA).unwrap().clone();
    let max = detail.participants.iter().find(|p| p.email == MAX).unwrap().clone();
    let (room, t) = (detail.session.room.clone(), start.as_second());
    for (p, jid) in [(&lea, "a1b2@meet/x1"), (&max, "c3d4@meet/x2")] {
        post_event(
            &app,
            &meet.api_secret,
            "occupant/joined",
            &occupant_event(&room, "muc-occupant-joined", p, jid, t, None),
        )
        .await;
        post_event(
            &app,
            &meet.api_secret,
            "occupant/left",
            &occupant_event(&room, "muc-occupant-left", p, jid, t, Some(t + 150 * MIN)),
        )
        .await;
    }
    app.clock
        .freeze_at(detail.session.ends_at + SignedDuration::from_mins(60));
    let date = start.to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap()).date();
    let morning = format!("{date}:morning");
    for p in [&lea, &max] {
        let r = app
            .browser()
            .post_raw(
                &format!("{}/sign", link(&app, p)),
                &[("half_day", &morning), ("name", &p.name)],
            )
            .await;
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{} signs: {}",
            p.name,
            r.text().await.unwrap()
        );
    }
    Fixture {
        app,
        admin,
        manager,
        trainer,
        detail,
        lea,
        max,
        secret: meet.api_secret,
    }
}

async fn post_json(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = testkit::client()
        .post(format!("{}{path}", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let r = testkit::client()
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|row| row[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn export_holds_every_row_about_the_person_and_none_about_others(backend: Backend) {
    let f = fixture(backend).await;
    let token = token_for(&f.app, &f.manager.id).await;
    let (status, data) = post_json(
        &f.app,
        &token,
        "/api/v1/gdpr/export",
        json!({"email": " LEA@Example.org "}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!(data["email"], LEA);
    assert!(data["account"].is_null());
    assert_eq!(ids(&data["participations"], "id"), vec![f.lea.id.clone()]);
    assert_eq!(data["participations"][0]["session_title"], f.detail.session.title);
    assert_eq!(data["participations"][0]["name"], LEA_NAME);
    // Her invitation (and nobody else's mail), her connections, her signature.
    let mail = data["mail"].as_array().unwrap();
    assert!(!mail.is_empty(), "{data}");
    assert!(
        mail.iter()
            .all(|m| m["recipient_email"] == LEA && m["participant_id"] == f.lea.id.as_str())
    );
    let events = data["jitsi_events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{data}");
    assert!(
        events
            .iter()
            .all(|e| e["participant_id"] == f.lea.id.as_str() && e["occupant_email"] == LEA)
    );
    let signatures = data["attendance_signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1);
    assert_eq!(signatures[0]["display_name"], LEA_NAME);
    assert_eq!(signatures[0]["content"], LEA_NAME);
    // Every row the database holds about her is there: compare with the store's own counts.
    let in_db = f.app.store().person_data(LEA, Timestamp::now()).await.unwrap().unwrap();
    for key in [
        "participations",
        "mail",
        "jitsi_events",
        "attendance_signatures",
        "contacts",
        "reminders",
    ] {
        assert_eq!(
            in_db[key].as_array().unwrap().len(),
            data[key].as_array().unwrap().len(),
            "{key}"
        );
    }
    let text = data.to_string().to_lowercase();
    for other in [MAX, "max durand", "gaby", "camille", &f.max.id] {
        assert!(!text.contains(&other.to_lowercase()), "{other} in Léa's export: {data}");
    }
    // The export is audited.
    let log = f.app.store().audit_log(20, None).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "gdpr.export" && e.actor_label == f.manager.email)
    );
    // Nobody by that address: a clear 422, in the caller's language.
    let (status, problem) = post_json(
        &f.app,
        &token,
        "/api/v1/gdpr/export",
        json!({"email": "nobody@example.org"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"].as_str().unwrap().contains("nobody@example.org"),
        "{problem}"
    );
}

async fn attendance_minutes(app: &TestApp, token: &str, session: &str, participant: &str) -> Value {
    let body = get_json(app, token, &format!("/api/v1/sessions/{session}/attendance")).await;
    body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == participant)
        .cloned()
        .unwrap_or_else(|| panic!("{participant} in {body}"))
}

async fn erasure_leaves_the_person_nowhere_and_others_and_chains_intact(backend: Backend) {
    let f = fixture(backend).await;
    let session = f.detail.session.id.clone();
    let manager = token_for(&f.app, &f.manager.id).await;
    let admin = token_for(&f.app, &f.admin.id).await;
    let before = attendance_minutes(&f.app, &manager, &session, &f.lea.id).await;
    let max_before = attendance_minutes(&f.app, &manager, &session, &f.max.id).await;

    // Her signature is attendance evidence within its retention: refused, nothing written.
    let (status, problem) = post_json(&f.app, &manager, "/api/v1/gdpr/erase", json!({"email": LEA})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("1 demi-journée"),
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["field"], "force");
    assert!(!f.app.db.find_text(LEA).await.unwrap().is_empty());
    // Forcing is an admin's.
    let (status, problem) = post_json(
        &f.app,
        &manager,
        "/api/v1/gdpr/erase",
        json!({"email": LEA, "force": true}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        f.app
            .db
            .find_text(LEA_NAME)
            .await
            .unwrap()
            .contains(&"attendance_signatures.display_name".to_owned())
    );

    let (status, counts) = post_json(
        &f.app,
        &admin,
        "/api/v1/gdpr/erase",
        json!({"email": LEA, "force": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts["participants"], 1);
    assert_eq!(counts["signatures"], 1);
    assert_eq!(counts["sealed_again"], 1);
    assert!(
        counts["mail"].as_u64().unwrap() >= 1 && counts["jitsi_events"] == 2,
        "{counts}"
    );

    // Her address and name are in no column of any table.
    for needle in [LEA, LEA_NAME, "lea@"] {
        let hits = f.app.db.find_text(needle).await.unwrap();
        assert!(hits.is_empty(), "{needle:?} still in {hits:?}");
    }
    // The chain verifies (sealed again), the figures are unchanged, Max is untouched.
    let check = get_json(
        &f.app,
        &manager,
        &format!("/api/v1/sessions/{session}/attendance/verify"),
    )
    .await;
    assert_eq!(check["intact"], true, "{check}");
    assert_eq!(check["records"], 2, "{check}");
    let after = attendance_minutes(&f.app, &manager, &session, &f.lea.id).await;
    assert_eq!(after["present_minutes"], before["present_minutes"]);
    assert_eq!(after["signed_half_days"], before["signed_half_days"]);
    assert_eq!(
        attendance_minutes(&f.app, &manager, &session, &f.max.id).await,
        max_before
    );
    let detail = f.app.store().session(&session).await.unwrap().unwrap();
    let max = detail.participants.iter().find(|p| p.id == f.max.id).unwrap();
    assert_eq!((max.name.as_str(), max.email.as_str()), ("Max Durand", MAX));
    let (status, max_data) = post_json(&f.app, &manager, "/api/v1/gdpr/export", json!({"email": MAX})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(max_data["attendance_signatures"][0]["display_name"], "Max Durand");
    assert_eq!(max_data["jitsi_events"].as_array().unwrap().len(), 2);
    // The erasure is audited without naming her; she is gone for a second request.
    let log = f.app.store().audit_log(50, None).await.unwrap();
    let entry = log.iter().find(|e| e.action == "gdpr.erase").expect("audited");
    assert_eq!(entry.actor_label, f.admin.email);
    assert!(
        entry.detail.as_deref().unwrap().contains("\"forced\":true"),
        "{entry:?}"
    );
    // Her signing is still in the log, but neither who nor from where.
    let signed: Vec<_> = log.iter().filter(|e| e.action == "attendance.sign").collect();
    assert_eq!(signed.len(), 2, "{signed:?}");
    assert!(signed.iter().any(|e| e.actor_label == MAX && e.ip.is_some()));
    assert!(
        signed
            .iter()
            .any(|e| e.actor_label == store::ERASED_NAME && e.ip.is_none()),
        "{signed:?}"
    );
    let (status, _) = post_json(&f.app, &admin, "/api/v1/gdpr/export", json!({"email": LEA})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // An account's address is not erased here.
    let (status, problem) = post_json(
        &f.app,
        &admin,
        "/api/v1/gdpr/erase",
        json!({"email": f.trainer.email, "force": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(!f.app.db.find_text(&f.trainer.email).await.unwrap().is_empty());
}

async fn gdpr_routes_by_role(backend: Backend) {
    let f = fixture(backend).await;
    let trainer = token_for(&f.app, &f.trainer.id).await;
    for (path, body) in [
        ("/api/v1/gdpr/export", json!({"email": LEA})),
        ("/api/v1/gdpr/erase", json!({"email": LEA, "force": true})),
    ] {
        let (status, problem) = post_json(&f.app, &trainer, path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        let r = testkit::client()
            .post(format!("{}{path}", f.app.url))
            .json(&json!({"email": LEA}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let manager = token_for(&f.app, &f.manager.id).await;
    let (status, _) = post_json(
        &f.app,
        &manager,
        "/api/v1/gdpr/export",
        json!({"email": "not an address"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post_json(&f.app, &manager, "/api/v1/gdpr/erase", json!({"email": LEA, "whom": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!f.app.db.find_text(LEA_NAME).await.unwrap().is_empty());

    // The pages: a trainer is refused, a manager exports a JSON file, an admin forces.
    let theo = f.app.browser();
    theo.login(&f.trainer.email, crate::helpers::PASSWORD).await;
    assert_eq!(theo.get("/gdpr").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        theo.post_raw("/gdpr/erase", &[("email", LEA)]).await.status(),
        StatusCode::FORBIDDEN
    );
    let marie = f.app.browser();
    marie.login(&f.manager.email, crate::helpers::PASSWORD).await;
    let page = marie.get("/gdpr").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.contains("Durées de conservation") && page.contains("1098 jours"),
        "{}",
        page.body
    );
    assert!(!page.contains("name=\"force\""), "managers cannot force");
    let r = marie.post_raw("/gdpr/export", &[("email", LEA)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let data: Value = r.json().await.unwrap();
    assert_eq!(data["participations"][0]["id"], f.lea.id.as_str());
    let r = marie.post_raw("/gdpr/erase", &[("email", LEA)]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("demi-journée"));
    let ada = f.app.browser();
    ada.login(&f.admin.email, crate::helpers::PASSWORD).await;
    assert!(ada.get("/gdpr").await.contains("name=\"force\""));
    let r = ada.post_raw("/gdpr/erase", &[("email", LEA), ("force", "1")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("ont été effacées") || text.contains("was erased"),
        "{text}"
    );
    assert!(f.app.db.find_text(LEA).await.unwrap().is_empty());
}

async fn count(app: &TestApp, what: &str) -> u64 {
    let data = app.store().person_data(MAX, Timestamp::now()).await.unwrap();
    data.map_or(0, |d| d[what].as_array().map_or(0, |a| a.len() as u64))
}

async fn retention_keeps_evidence_within_its_period_then_removes_it(backend: Backend) {
    let f = fixture(backend).await;
    let svc = f.app.state.service();
    let session = f.detail.session.id.clone();
    let token = token_for(&f.app, &f.manager.id).await;
    let max_minutes = attendance_minutes(&f.app, &token, &session, &f.max.id).await["present_minutes"].clone();
    let end = f.detail.session.ends_at;

    // The room was reserved by a host whose XMPP address names them (a secure domain's
    // account), then destroyed: that address goes with the events' details.
    let start = f.detail.session.starts_at;
    f.app.clock.freeze_at(start);
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", &f.detail.session.room)
        .append_pair("start_time", &jitsi::format_java_date(start.as_second()))
        .append_pair("mail_owner", "max.durand@meet.example.org")
        .finish();
    let reservations = format!("{}/jitsi/reservations/conference", f.app.url);
    let r = testkit::client()
        .post(&reservations)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {}", f.secret))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let reservation: Value = r.json().await.unwrap();
    let r = testkit::client()
        .delete(format!("{reservations}/{}", reservation["id"].as_str().unwrap()))
        .header("authorization", format!("Bearer {}", f.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!f.app.db.find_text("max.durand@meet").await.unwrap().is_empty());

    // A day after: nothing is past its period.
    f.app.clock.freeze_at(end + SignedDuration::from_hours(24));
    let counts = service::retention::run(svc, true).await.unwrap();
    assert_eq!(counts.total(), 0, "{counts:?}");

    // 100 days after: mail and event details go; the evidence stays, verifiable, and counts.
    f.app.clock.freeze_at(end + SignedDuration::from_hours(24 * 100));
    let dry = service::retention::run(svc, true).await.unwrap();
    assert!(dry.mail > 0 && dry.jitsi_events_anonymised >= 4, "{dry:?}");
    assert_eq!(dry.reservations_anonymised, 1, "{dry:?}");
    assert_eq!((dry.evidence_sessions, dry.signatures), (0, 0), "{dry:?}");
    assert!(count(&f.app, "mail").await > 0, "a dry run changes nothing");
    let done = service::retention::run(svc, false).await.unwrap();
    assert_eq!(
        (done.mail, done.jitsi_events_anonymised, done.reservations_anonymised),
        (dry.mail, dry.jitsi_events_anonymised, 1)
    );
    assert_eq!(count(&f.app, "mail").await, 0);
    assert!(
        f.app.db.find_text("max.durand@meet").await.unwrap().is_empty(),
        "the room's creator forgotten"
    );
    assert!(
        f.app.db.find_text("\"email\":\"max@").await.unwrap().is_empty(),
        "event payloads emptied"
    );
    assert_eq!(count(&f.app, "attendance_signatures").await, 1);
    let max_data = f.app.store().person_data(MAX, Timestamp::now()).await.unwrap().unwrap();
    let events = max_data["jitsi_events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "the rows stay, by participant");
    assert!(
        events
            .iter()
            .all(|e| e["occupant_email"].is_null() && e["occupant_name"].is_null() && e["payload"] == json!({}))
    );
    let check = get_json(&f.app, &token, &format!("/api/v1/sessions/{session}/attendance/verify")).await;
    assert_eq!(
        (check["intact"].clone(), check["records"].clone()),
        (json!(true), json!(2))
    );
    assert_eq!(
        attendance_minutes(&f.app, &token, &session, &f.max.id).await["present_minutes"],
        max_minutes,
        "the connection times stay"
    );
    assert_eq!(
        service::retention::run(svc, false).await.unwrap().total(),
        0,
        "idempotent"
    );

    // Three years (of 366 days) after, less a day: still kept.
    f.app
        .clock
        .freeze_at(end + SignedDuration::from_hours(24 * (3 * 366 - 1)));
    let dry = service::retention::run(svc, true).await.unwrap();
    assert_eq!((dry.evidence_sessions, dry.signatures), (0, 0), "{dry:?}");
    // Past it: the whole chain goes with its seal, participants are anonymised.
    f.app
        .clock
        .freeze_at(end + SignedDuration::from_hours(24 * (3 * 366 + 1)));
    let dry = service::retention::run(svc, true).await.unwrap();
    assert_eq!((dry.evidence_sessions, dry.signatures), (1, 2), "{dry:?}");
    let done = service::retention::run(svc, false).await.unwrap();
    assert_eq!((done.evidence_sessions, done.signatures), (1, 2), "{done:?}");
    assert_eq!(done.participants_anonymised, dry.participants_anonymised);
    assert!(done.participants_anonymised >= 4, "{done:?}");
    let check = get_json(&f.app, &token, &format!("/api/v1/sessions/{session}/attendance/verify")).await;
    assert_eq!(
        (check["intact"].clone(), check["records"].clone()),
        (json!(true), json!(0)),
        "{check}"
    );
    for needle in [MAX, "Max Durand", LEA, LEA_NAME] {
        assert!(f.app.db.find_text(needle).await.unwrap().is_empty(), "{needle}");
    }
    // The trainer's account and the session stay.
    let detail = f.app.store().session(&session).await.unwrap().unwrap();
    assert!(
        detail
            .participants
            .iter()
            .any(|p| p.role == ParticipantRole::Trainer && p.user_id.is_some())
    );
    assert_eq!(
        service::retention::run(svc, false).await.unwrap().total(),
        0,
        "idempotent"
    );
}

both_backends!(the_retention_command_says_what_would_go_then_removes_it);

const BIN: &str = env!("CARGO_BIN_EXE_dialogue");

fn run_binary(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("DIALOGUE_CONFIG", "").env("DIALOGUE_LOG_LEVEL", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn the_retention_command_says_what_would_go_then_removes_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // An audit entry of 1970: long past the 12 months of [retention] audit_months.
    app.db
        .execute("INSERT INTO audit_log (at, actor_label, action) VALUES (0, 'someone@example.org', 'test.old')")
        .await
        .unwrap();
    let data = app.data_dir.display().to_string();
    let env = [
        ("DIALOGUE_DATABASE_URL", app.db.url.as_str()),
        ("DIALOGUE_DATA_DIR", data.as_str()),
    ];
    let json_of = |out: &str| -> Value { serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}")) };

    let (code, out, err) = run_binary(&env, &["retention", "--dry-run", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let dry = json_of(&out);
    assert_eq!(
        (dry["dry_run"].clone(), dry["audit_entries"].clone()),
        (json!(true), json!(1)),
        "{dry}"
    );
    assert_eq!(dry["signatures"], 0);
    let (code, out, _) = run_binary(&env, &["retention", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("dry run, nothing changed") && out.contains("1  audit entries (kept 372 days)"),
        "{out}"
    );
    assert!(out.contains("kept 1098 days after the session"), "{out}");

    let (code, out, err) = run_binary(&env, &["retention"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed or anonymised"), "{out}");
    let (_, out, _) = run_binary(&env, &["retention", "--dry-run", "--format", "json"]);
    assert_eq!(json_of(&out)["audit_entries"], 0, "{out}");
    assert!(app.db.find_text("someone@example.org").await.unwrap().is_empty());

    // A bad period stops the command with the key, the value and what is expected.
    let mut bad = env.to_vec();
    bad.push(("DIALOGUE_RETENTION_ATTENDANCE_YEARS", "0"));
    let (code, _, err) = run_binary(&bad, &["retention", "--dry-run"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("retention.attendance_years") && err.contains("a whole number of years from 1 to 30"),
        "{err}"
    );
}

/// A personal room's visits: its owner's export holds the room and who came (guests too); a
/// guest who typed the name Dialogue knows a person under (no address in the event) finds that
/// visit in the person's export, and erasure anonymises it, leaving the other guests' visits.
async fn personal_room_visits_are_exported_and_guest_names_erased(backend: Backend) {
    let f = fixture(backend).await;
    let meet = f.app.store().list_jitsi_servers().await.unwrap().remove(0);
    let secret = f
        .app
        .state
        .service()
        .jitsi()
        .sealer()
        .open(&meet.id, "api_secret", &meet.api_secret_enc)
        .unwrap();
    let theo_token = token_for(&f.app, &f.trainer.id).await;
    let r = testkit::client()
        .put(format!("{}/api/v1/me/room", f.app.url))
        .bearer_auth(&theo_token)
        .json(&json!({"guests": "wait"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let room: Value = r.json().await.unwrap();
    let name = room["room"].as_str().unwrap().to_owned();
    let t = f.detail.session.ends_at.as_second();
    let occupant = |jid: &str, id: &str, who: &str| {
        json!({"event_name": "muc-occupant-joined", "room_name": name,
            "room_jid": format!("{name}@conference.meet.example.org"), "is_breakout": false,
            "occupant": {"occupant_jid": jid, "joined_at": t, "id": id, "name": who}})
    };
    for (jid, id, who) in [
        ("g1@guest.meet.example.org/a", "guest-1", "  léa   Martin "),
        ("g2@guest.meet.example.org/b", "guest-2", "Max Durand"),
        ("g3@guest.meet.example.org/c", "guest-3", "Zoé Invitée"),
    ] {
        post_event(&f.app, &secret, "occupant/joined", &occupant(jid, id, who)).await;
    }

    // The owner's export: the room and its visits, guests included.
    let admin = token_for(&f.app, &f.admin.id).await;
    let (status, theo) = post_json(&f.app, &admin, "/api/v1/gdpr/export", json!({"email": f.trainer.email})).await;
    assert_eq!(status, StatusCode::OK, "{theo}");
    assert_eq!(theo["personal_room"]["room"], name.as_str(), "{theo}");
    let visits = ids(&theo["personal_room_visits"], "occupant_name");
    assert_eq!(visits.len(), 3, "{theo}");
    assert!(visits.iter().any(|v| v.contains("Martin")), "{visits:?}");

    // Léa's export: her visit as a guest under her name, nobody else's.
    let (status, lea) = post_json(&f.app, &admin, "/api/v1/gdpr/export", json!({"email": LEA})).await;
    assert_eq!(status, StatusCode::OK, "{lea}");
    let as_guest = lea["personal_room_guest_visits"].as_array().unwrap();
    assert_eq!(as_guest.len(), 1, "{lea}");
    assert_eq!(as_guest[0]["room"], name.as_str());
    assert_eq!(as_guest[0]["owner"], f.trainer.display_name.as_str());
    assert!(!lea.to_string().contains("Max Durand"), "{lea}");

    // Erased: that visit loses her name; the other guests keep theirs.
    let (status, counts) = post_json(
        &f.app,
        &admin,
        "/api/v1/gdpr/erase",
        json!({"email": LEA, "force": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        counts["jitsi_events"], 3,
        "her two session events and her visit: {counts}"
    );
    assert!(f.app.db.find_text("léa   Martin").await.unwrap().is_empty());
    let (_, theo) = post_json(&f.app, &admin, "/api/v1/gdpr/export", json!({"email": f.trainer.email})).await;
    let visits = ids(&theo["personal_room_visits"], "occupant_name");
    assert_eq!(visits.len(), 3, "the visit stays, without a name: {theo}");
    assert!(!visits.iter().any(|v| v.contains("Martin")), "{visits:?}");
    assert!(visits.contains(&"Max Durand".to_owned()) && visits.contains(&"Zoé Invitée".to_owned()));
}
