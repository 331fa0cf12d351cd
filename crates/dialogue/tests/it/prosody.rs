//! The endpoints Prosody calls, with requests shaped exactly as its modules send them:
//! `mod_reservations` (form-encoded POST, GET and DELETE of `/conference/<id>`, its retries)
//! and `mod_event_sync_component` (JSON events, repeated and out of order).

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{AuditEntry, ParticipantRole};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::TestApp;
use crate::jitsi_support::*;

both_backends!(
    reservations_follow_the_booked_window,
    reservation_requests_are_checked_and_authenticated,
    events_are_stored_once_whatever_the_order,
    bad_events_are_refused_and_nothing_is_stored,
);

const MIN: SignedDuration = SignedDuration::from_mins(1);
const UA: &str = "Prosody (0.12.4; posix)";

/// `http.formencode{name, start_time, mail_owner}` as mod_reservations builds it.
fn reservation_body(room: &str, start: Timestamp, owner: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("name", room)
        .append_pair("start_time", &jitsi::format_java_date(start.as_second()))
        .append_pair("mail_owner", owner)
        .finish()
}

async fn reserve(app: &TestApp, secret: &str, body: &str) -> reqwest::Response {
    testkit::client()
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("user-agent", UA)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {secret}"))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn conference(app: &TestApp, method: reqwest::Method, secret: &str, id: &str) -> reqwest::Response {
    testkit::client()
        .request(method, format!("{}/jitsi/reservations/conference/{id}", app.url))
        .header("user-agent", UA)
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap()
}

async fn message(r: reqwest::Response) -> String {
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
        .to_owned()
}

async fn reservations_follow_the_booked_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut change = hs256("Meet", "https://meet.example.org");
    change.lobby = Some(true);
    change.max_occupants = Some(Some(12));
    let meet = server(&app, change).await;
    let start = minutes_from_now(24 * 60);
    let (_, _, detail) = people_and_session(&app, start, 60).await;
    let room = detail.session.room.clone();
    let owner = "f3b0c1d2@meet.example.org";
    // Too early (before the moderators' opening): refused with a message Jitsi Meet shows.
    app.clock.freeze_at(start - 16 * MIN);
    let r = reserve(&app, &meet.api_secret, &reservation_body(&room, app.clock.now(), owner)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = message(r).await;
    assert!(text.starts_with("Trop tôt"), "in the server's default language: {text}");
    // Inside the window: 200 with the exact shape, and the duration up to the window's end.
    let asked = start - 15 * MIN;
    app.clock.freeze_at(asked);
    let r = reserve(&app, &meet.api_secret, &reservation_body(&room, asked, owner)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let first: Value = r.json().await.unwrap();
    let id = first["id"].as_str().unwrap().to_owned();
    let closes = detail.session.ends_at + 10 * MIN;
    assert_eq!(
        first,
        json!({
            "id": id, "name": room, "start_time": jitsi::format_java_date(asked.as_second()),
            "duration": closes.as_second() - asked.as_second(), "mail_owner": owner,
            "max_occupants": 12, "lobby": true,
        })
    );
    // Prosody asks again (a retry after a lost answer, or a restart): 409 with the id, then the
    // GET it makes answers the same shape.
    let r = reserve(&app, &meet.api_secret, &reservation_body(&room, asked + MIN, owner)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let conflict: Value = r.json().await.unwrap();
    assert_eq!(conflict, json!({"conflict_id": id}));
    let r = conference(&app, reqwest::Method::GET, &meet.api_secret, &id).await;
    assert_eq!(r.status(), StatusCode::OK);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again, first);
    // The session is moved 30 minutes later while the room lives: the duration follows.
    let later = start + 30 * MIN;
    app.store()
        .update_sessions(
            &[store::SessionUpdate {
                id: detail.session.id.clone(),
                times: Some((later, later + 60 * MIN)),
                ..Default::default()
            }],
            app.clock.now(),
            &AuditEntry::new("session.update", None, "test", None),
        )
        .await
        .unwrap();
    app.clock.freeze_at(later - 10 * MIN);
    let moved: Value = conference(&app, reqwest::Method::GET, &meet.api_secret, &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["duration"], (later + 70 * MIN).as_second() - asked.as_second());
    // The room is destroyed: DELETE (fire and forget, repeated), then a new room may be reserved.
    let r = conference(&app, reqwest::Method::DELETE, &meet.api_secret, &id).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        conference(&app, reqwest::Method::DELETE, &meet.api_secret, &id)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        conference(&app, reqwest::Method::GET, &meet.api_secret, &id)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let r = reserve(&app, &meet.api_secret, &reservation_body(&room, app.clock.now(), owner)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second: Value = r.json().await.unwrap();
    assert_ne!(second["id"], first["id"]);
    // Over: refused, and the live reservation's GET too.
    app.clock.freeze_at(later + 70 * MIN);
    let r = conference(
        &app,
        reqwest::Method::GET,
        &meet.api_secret,
        second["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = reserve(&app, &meet.api_secret, &reservation_body(&room, app.clock.now(), owner)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(message(r).await, "Cette séance est terminée.");
}

async fn reservation_requests_are_checked_and_authenticated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let other = server(&app, hs256("Other", "https://other.example.org")).await;
    // A server whose secrets were sealed by another installation's key (a restored backup):
    // it does not open here, and must not take the others' reservations down with it.
    let foreign_id = store::new_id();
    let foreign = service::jitsi_servers::prepare(
        &service::jitsi_servers::Sealer::new(&[7; 32]),
        &foreign_id,
        None,
        &hs256("Foreign", "https://foreign.example.org"),
    )
    .unwrap();
    app.store()
        .create_jitsi_server(
            &foreign_id,
            &foreign.input,
            jiff::Timestamp::now(),
            &AuditEntry::new("test", None, "test", None),
        )
        .await
        .unwrap();
    let start = minutes_from_now(60);
    let (manager, _, detail) = people_and_session(&app, start, 60).await;
    let room = detail.session.room.clone();
    app.clock.freeze_at(start - 10 * MIN);
    let now = app.clock.now();
    let good = reservation_body(&room, now, "x@meet.example.org");
    // Wrong, missing or malformed secrets: 401 with a message, nothing stored.
    for auth in [
        Some("Bearer nope"),
        Some(format!("Bearer {}x", meet.api_secret).as_str()),
        Some(format!("Basic {}", meet.api_secret).as_str()),
        None,
    ] {
        let mut r = testkit::client()
            .post(format!("{}/jitsi/reservations/conference", app.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(good.clone());
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert!(message(r).await.contains("Authorization: Bearer"));
    }
    // Bad bodies: 400 with a message naming what is wrong.
    let bad_time = format!("name={room}&start_time=yesterday&mail_owner=x%40y");
    let missing = format!("name={room}&start_time=2026-01-01T00%3A00%3A00.000Z");
    let twice = format!("{good}&name={room}");
    for (body, expected) in [
        (missing.as_str(), "mail_owner"),
        ("start_time=2026-01-01T00%3A00%3A00.000Z&mail_owner=x%40y", "name"),
        (bad_time.as_str(), "yesterday"),
        (twice.as_str(), "name"),
        (
            "name=caf%C3%A9&start_time=2026-01-01T00%3A00%3A00.000Z&mail_owner=x",
            "café",
        ),
        (
            "name=Room%20One&start_time=2026-01-01T00%3A00%3A00.000Z&mail_owner=x",
            "Room One",
        ),
        ("name=abc%2&start_time=x&mail_owner=x", "mal formée"),
        (
            "name=abc&start_time=2026-01-01T00%3A00%3A00.000Z&mail_owner=%FF",
            "mal formée",
        ),
    ] {
        let r = reserve(&app, &meet.api_secret, body).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = message(r).await;
        assert!(text.contains(expected), "{body}: {text}");
    }
    // JSON instead of a form: 415.
    let r = testkit::client()
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", meet.api_secret))
        .body(json!({"name": room}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Rooms that are not ours, or another server's: 403.
    let r = reserve(&app, &meet.api_secret, &reservation_body("some-other-room", now, "x@y")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(message(r).await, "Cette salle ne correspond à aucune séance réservée.");
    let r = reserve(&app, &other.api_secret, &good).await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the session is pinned to the other server"
    );
    let r = reserve(
        &app,
        &meet.api_secret,
        &reservation_body(&format!("[acme]{room}"), now, "x@y"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no tenant on this server");
    // None of that stored anything: the first real request creates the reservation.
    let r = reserve(&app, &meet.api_secret, &good).await;
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    // Another server cannot read or delete it; odd ids are 404.
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        assert_eq!(
            conference(&app, method.clone(), &other.api_secret, &id).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            conference(&app, method.clone(), &meet.api_secret, "no%20such")
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            conference(&app, method, "wrong", &id).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        conference(&app, reqwest::Method::GET, &meet.api_secret, &id)
            .await
            .status(),
        StatusCode::OK
    );
    // Cancelled: the GET that follows a 409 refuses, and so does a new POST.
    app.store()
        .cancel_sessions(
            std::slice::from_ref(&detail.session.id),
            None,
            now,
            &AuditEntry::new("session.cancel", Some(&manager.id), &manager.email, None),
        )
        .await
        .unwrap();
    let r = conference(&app, reqwest::Method::GET, &meet.api_secret, &id).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(message(r).await, "Cette séance a été annulée.");
}

async fn post_event(app: &TestApp, secret: &str, path: &str, body: &Value) -> reqwest::Response {
    testkit::client()
        .post(format!("{}/jitsi/events/{path}", app.url))
        .header("user-agent", UA)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {secret}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn occupant(jid: &str, id: Option<&str>, name: Option<&str>, joined: i64, left: Option<i64>) -> Value {
    let mut o = json!({"occupant_jid": jid, "joined_at": joined});
    if let Some(id) = id {
        o["id"] = json!(id);
    }
    if let Some(name) = name {
        o["name"] = json!(name);
        o["email"] = json!(format!("{}@example.org", name.to_lowercase().replace(' ', ".")));
    }
    if let Some(left) = left {
        o["left_at"] = json!(left);
    }
    o
}

async fn events_are_stored_once_whatever_the_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let start = minutes_from_now(30);
    let (manager, _, detail) = people_and_session(&app, start, 60).await;
    let room = detail.session.room.clone();
    let jid = format!("{room}@conference.meet.example.org");
    let lea = learner(&detail).clone();
    let theo = with_role(&detail, ParticipantRole::Trainer).clone();
    let t0 = start.as_second() - 600;
    app.clock.freeze_at(Timestamp::from_second(t0 + 1800).unwrap());
    let base = |name: &str| json!({"event_name": name, "room_name": room, "room_jid": jid, "is_breakout": false});
    let with = |mut v: Value, key: &str, value: Value| {
        v[key] = value;
        v
    };
    let created = with(base("muc-room-created"), "created_at", json!(t0));
    let theo_joined = with(
        base("muc-occupant-joined"),
        "occupant",
        occupant("theo@meet.example.org/a1", Some(&theo.id), Some("Theo"), t0 + 5, None),
    );
    let lea_left = with(
        base("muc-occupant-left"),
        "occupant",
        occupant(
            "lea@meet.example.org/b1",
            Some(&lea.id),
            Some("Lea"),
            t0 + 60,
            Some(t0 + 900),
        ),
    );
    let lea_joined = with(
        base("muc-occupant-joined"),
        "occupant",
        occupant("lea@meet.example.org/b1", Some(&lea.id), Some("Lea"), t0 + 60, None),
    );
    // Someone without a token (no id, no name), still in the room.
    let anonymous = with(
        base("muc-occupant-joined"),
        "occupant",
        occupant("8c1e@guest.meet.example.org/x", None, None, t0 + 120, None),
    );
    // Léa comes back on a new connection, into a breakout room.
    let mut breakout = with(
        base("muc-occupant-joined"),
        "occupant",
        occupant("lea@meet.example.org/b2", Some(&lea.id), Some("Lea"), t0 + 1000, None),
    );
    breakout["is_breakout"] = json!(true);
    breakout["breakout_room_id"] = json!("b1c2d3");
    // Out of order (the leave before the join), with retries and duplicates.
    let deliveries = [
        ("occupant/left", &lea_left),
        ("room/created", &created),
        ("occupant/joined", &theo_joined),
        ("occupant/left", &lea_left),
        ("occupant/joined", &lea_joined),
        ("occupant/joined", &theo_joined),
        ("occupant/joined", &anonymous),
        ("occupant/joined", &breakout),
        ("room/created", &created),
    ];
    let mut stored = 0;
    for (path, body) in deliveries {
        let r = post_event(&app, &meet.api_secret, path, body).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        stored += r.json::<Value>().await.unwrap()["stored"].as_i64().unwrap();
    }
    assert_eq!(stored, 6, "each event once");
    assert_eq!(
        app.store().jitsi_event_count(Some(&detail.session.id)).await.unwrap(),
        6
    );
    // Who is in the room now, and who came: the API (for LMS and reports) and the room page.
    let token = token_for(&app, &manager.id).await;
    let presence: Value = testkit::client()
        .get(format!("{}/api/v1/sessions/{}/presence", app.url, detail.session.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(presence["in_room"], 3, "{presence}");
    let find = |pid: &str| {
        presence["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["participant_id"] == pid)
            .cloned()
            .unwrap_or_else(|| panic!("{pid} in {presence}"))
    };
    let l = find(&lea.id);
    assert_eq!(l["name"], "Léa Martin", "the participant's name");
    assert_eq!(l["role"], "learner");
    assert_eq!(l["connections"], 2);
    assert_eq!(l["present"], true, "in the breakout room");
    assert_eq!(l["total_seconds"], (900 - 60) + (1800 - 1000));
    assert_eq!(find(&theo.id)["role"], "trainer");
    assert!(
        presence["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["participant_id"].is_null() && a["occupant_id"].is_null() && a["present"] == true),
        "the join without a token is kept, unattributed"
    );
    let browser = app.browser();
    browser.login(&manager.email, crate::helpers::PASSWORD).await;
    let page = browser.get(&format!("/sessions/{}/room", detail.session.id)).await;
    assert!(page.contains("Dans la salle en ce moment : 3"), "{}", page.body);
    assert!(page.contains("Léa Martin") && page.contains("sans jeton"));
    // The room is destroyed (Prosody lists every occupant; an empty Lua table would be `{}`):
    // those never seen leaving are out, and the list adds nothing already known.
    let destroyed = json!({
        "event_name": "muc-room-destroyed", "room_name": room, "room_jid": jid, "is_breakout": false,
        "created_at": t0, "destroyed_at": t0 + 1500,
        "all_occupants": [
            occupant("theo@meet.example.org/a1", Some(&theo.id), Some("Theo"), t0 + 5, None),
            occupant("lea@meet.example.org/b1", Some(&lea.id), Some("Lea"), t0 + 60, Some(t0 + 900)),
            occupant("max@meet.example.org/c1", None, Some("Max Durand"), t0 + 200, Some(t0 + 400)),
        ],
    });
    let r = post_event(&app, &meet.api_secret, "room/destroyed", &destroyed).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["stored"],
        3,
        "the destroy, and Max's join and leave"
    );
    let r = post_event(&app, &meet.api_secret, "room/destroyed", &destroyed).await;
    assert_eq!(r.json::<Value>().await.unwrap()["stored"], 0);
    let presence = domain::presence::compute_presence(
        &app.store().presence_events(&detail.session.id).await.unwrap(),
        app.clock.now(),
    );
    assert_eq!(presence.in_room().count(), 0);
    let theo_row = presence
        .attendees
        .iter()
        .find(|a| a.participant_id.as_deref() == Some(theo.id.as_str()))
        .unwrap();
    assert_eq!(theo_row.total_seconds, 1495);
    assert!(
        presence
            .attendees
            .iter()
            .any(|a| a.name.as_deref() == Some("Max Durand"))
    );
    // Events of a room that is no session of ours are kept, unlinked.
    let stray = with(base("muc-room-created"), "room_name", json!("adhoc-room"));
    let stray = with(stray, "created_at", json!(t0));
    assert_eq!(
        post_event(&app, &meet.api_secret, "room/created", &stray)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.store().jitsi_event_count(None).await.unwrap(), 1);
    // An empty all_occupants, as Prosody's util.json writes it.
    let empty = json!({"event_name": "muc-room-destroyed", "room_name": "adhoc-room", "created_at": t0, "destroyed_at": t0 + 10, "all_occupants": {}});
    assert_eq!(
        post_event(&app, &meet.api_secret, "room/destroyed", &empty)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn bad_events_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let (_, _, detail) = people_and_session(&app, minutes_from_now(30), 60).await;
    let room = detail.session.room.clone();
    let good = json!({"event_name": "muc-occupant-joined", "room_name": room,
                      "occupant": {"occupant_jid": "a@b/c", "joined_at": 1_900_000_000, "id": "x"}});
    // Wrong secret.
    assert_eq!(
        post_event(&app, "wrong", "occupant/joined", &good).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Unknown path.
    let r = post_event(&app, &meet.api_secret, "occupant/kicked", &good).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(message(r).await, "Événement inconnu.");
    // Missing fields, wrong event name, bad room names, not JSON.
    let cases = [
        json!({"event_name": "muc-occupant-joined", "room_name": room}),
        json!({"event_name": "muc-occupant-joined", "room_name": room, "occupant": {"joined_at": 1}}),
        json!({"event_name": "muc-room-created", "room_name": room, "occupant": {"occupant_jid": "a", "joined_at": 1}}),
        json!({"event_name": "muc-occupant-joined", "occupant": {"occupant_jid": "a", "joined_at": 1}}),
        json!({"event_name": "muc-occupant-joined", "room_name": "Salle%20A", "occupant": {"occupant_jid": "a", "joined_at": 1}}),
        json!({"event_name": "muc-occupant-joined", "room_name": "café", "occupant": {"occupant_jid": "a", "joined_at": 1}}),
        json!([1, 2, 3]),
    ];
    for body in &cases {
        let r = post_event(&app, &meet.api_secret, "occupant/joined", body).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(!message(r).await.is_empty());
    }
    let r = testkit::client()
        .post(format!("{}/jitsi/events/occupant/joined", app.url))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", meet.api_secret))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(message(r).await, "Requête mal formée.");
    let r = testkit::client()
        .post(format!("{}/jitsi/events/occupant/joined", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {}", meet.api_secret))
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        app.store().jitsi_event_count(Some(&detail.session.id)).await.unwrap(),
        0
    );
    assert_eq!(app.store().jitsi_event_count(None).await.unwrap(), 0);
    assert_eq!(
        post_event(&app, &meet.api_secret, "occupant/joined", &good)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.store().jitsi_event_count(Some(&detail.session.id)).await.unwrap(),
        1
    );
}
