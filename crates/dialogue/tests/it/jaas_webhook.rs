//! Presence on 8x8 JaaS servers, which send no event_sync: JaaS webhooks posted to
//! `/jitsi/jaas/{server id}/webhook` as JaaS sends them (JSON body, `X-Jaas-Signature:
//! t=…,v1=…` computed here by Python's `hmac`, an implementation independent of Dialogue's),
//! turned into the same attendance figures as Prosody's events; replays, repeats, stale, forged
//! and foreign deliveries.

use std::io::Write;
use std::process::{Command, Stdio};

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{SessionDetail, User};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::TestApp;
use crate::jitsi_support::*;

both_backends!(
    signed_joins_and_leaves_become_attendance,
    forged_stale_and_foreign_deliveries_are_refused,
);

const APP: &str = "vpaas-magic-cookie-0123456789abcdef";
const WEBHOOK_SECRET: &str = "whsec-test-only-0f1e2d3c4b5a";
const MIN: i64 = 60;

/// `base64(HMAC-SHA256(secret, t + "." + body))` by Python's `hmac`.
fn python_signature(secret: &str, t: i64, body: &str) -> String {
    let script = "import base64,hashlib,hmac,json,sys\n\
        r=json.load(sys.stdin)\n\
        m=(str(r['t'])+'.'+r['body']).encode()\n\
        print(base64.b64encode(hmac.new(r['secret'].encode(),m,hashlib.sha256).digest()).decode())";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed (apt-get install -y python3)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!({"secret": secret, "t": t, "body": body}).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A date two days ahead, at `hour:00` in Paris.
fn paris(days_ahead: i64, hour: i8) -> Timestamp {
    let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let date: Date = Timestamp::now()
        .to_zoned(zone.clone())
        .date()
        .checked_add(days_ahead.days())
        .unwrap();
    date.to_datetime(Time::new(hour, 0, 0, 0).unwrap())
        .to_zoned(zone)
        .unwrap()
        .timestamp()
}

/// A JaaS participant event as JaaS serialises it (times in milliseconds).
fn participant_event(key: &str, kind: &str, room: &str, user_id: &str, jid: &str, at: i64) -> String {
    json!({
        "idempotencyKey": key,
        "customerId": "c0ffee00-1111-2222-3333-444455556666",
        "appId": APP,
        "eventType": kind,
        "sessionId": "9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0",
        "timestamp": at * 1000 + 123,
        "fqn": format!("{APP}/{room}"),
        "data": {
            "moderator": "false", "name": "Léa Martin", "group": "", "email": "lea@example.org",
            "id": user_id, "participantJid": jid, "participantId": "a1b2c3d4", "avatar": "",
            "isBreakout": false, "disconnectReason": if kind == "PARTICIPANT_LEFT" { "left" } else { "" }
        }
    })
    .to_string()
}

struct Fixture {
    app: TestApp,
    manager: User,
    admin_token: String,
    server_id: String,
    detail: SessionDetail,
    start: i64,
}

async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::spawn(backend).await;
    // The clock stands still at the real now: the signatures' `t` is read from it.
    app.clock.freeze_at(Timestamp::now());
    let admin = app.user("root@example.org", domain::Role::Admin).await;
    let admin_token = token_for(&app, &admin.id).await;
    // The JaaS server, set up through the API with its webhook secret.
    let r = testkit::client()
        .post(format!("{}/api/v1/jitsi-servers", app.url))
        .bearer_auth(&admin_token)
        .json(
            &json!({"name": "8x8", "token_mode": "jaas", "app_id": APP, "key_id": "4f4910",
            "private_key": PKCS8, "webhook_secret": WEBHOOK_SECRET}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let server: Value = r.json().await.unwrap();
    let server_id = server["id"].as_str().unwrap().to_owned();
    let (manager, trainer) = (
        app.user("marie@example.org", domain::Role::Manager).await,
        app.user("theo@example.org", domain::Role::Trainer).await,
    );
    let start = paris(2, 9);
    let detail = book_at(&app, &trainer, &manager, start, 120, "Europe/Paris").await;
    Fixture {
        app,
        manager,
        admin_token,
        server_id,
        detail,
        start: start.as_second(),
    }
}

impl Fixture {
    fn now(&self) -> i64 {
        self.app.clock.now().as_second()
    }

    /// Posts `body` to `server`'s webhook with `signature` as `X-Jaas-Signature` (none: `None`).
    async fn post_to(&self, server: &str, signature: Option<String>, body: &str) -> (StatusCode, Value) {
        let mut r = testkit::client()
            .post(format!("{}/jitsi/jaas/{server}/webhook", self.app.url))
            .header("content-type", "application/json")
            .header("user-agent", "JaaS-Webhooks/1.0");
        if let Some(s) = signature {
            r = r.header("X-Jaas-Signature", s);
        }
        let r = r.body(body.to_owned()).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Posts `body` signed now with the server's secret.
    async fn post(&self, body: &str) -> (StatusCode, Value) {
        let t = self.now();
        let header = format!("t={t},v1={}", python_signature(WEBHOOK_SECRET, t, body));
        self.post_to(&self.server_id, Some(header), body).await
    }

    async fn events(&self) -> i64 {
        self.app
            .store()
            .jitsi_event_count(Some(&self.detail.session.id))
            .await
            .unwrap()
    }

    async fn events_without_session(&self) -> i64 {
        self.app.store().jitsi_event_count(None).await.unwrap()
    }

    /// Léa's figures on the session's attendance API, as its manager reads them.
    async fn lea(&self) -> Value {
        let token = token_for(&self.app, &self.manager.id).await;
        let r = testkit::client()
            .get(format!(
                "{}/api/v1/sessions/{}/attendance",
                self.app.url, self.detail.session.id
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        let id = &learner(&self.detail).id;
        body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["participant_id"] == id.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {body}"))
    }
}

async fn signed_joins_and_leaves_become_attendance(backend: Backend) {
    let f = fixture(backend).await;
    let room = f.detail.session.room.clone();
    let lea = learner(&f.detail).id.clone();
    let t = f.start;

    // The server shows where its webhooks go and that a secret is set, never the secret.
    let r = testkit::client()
        .get(format!("{}/api/v1/jitsi-servers/{}", f.app.url, f.server_id))
        .bearer_auth(&f.admin_token)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(!text.contains(WEBHOOK_SECRET), "{text}");
    let server: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(server["has_webhook_secret"], true);
    assert_eq!(
        server["webhook_url"],
        format!("{}/jitsi/jaas/{}/webhook", f.app.url, f.server_id)
    );

    // Two connections of Léa's, one joining late and leaving last, delivered out of order.
    let join_a = participant_event("k-join-a", "PARTICIPANT_JOINED", &room, &lea, "lea@8x8.vc/a", t);
    let left_a = participant_event(
        "k-left-a",
        "PARTICIPANT_LEFT",
        &room,
        &lea,
        "lea@8x8.vc/a",
        t + 60 * MIN,
    );
    let join_b = participant_event(
        "k-join-b",
        "PARTICIPANT_JOINED",
        &room,
        &lea,
        "lea@8x8.vc/b",
        t + 30 * MIN,
    );
    let left_b = participant_event(
        "k-left-b",
        "PARTICIPANT_LEFT",
        &room,
        &lea,
        "lea@8x8.vc/b",
        t + 90 * MIN,
    );
    for body in [&left_a, &join_a, &join_b, &left_b] {
        assert_eq!(f.post(body).await, (StatusCode::OK, json!({"stored": 1})), "{body}");
    }
    assert_eq!(f.events().await, 4);

    // After the session: 90 minutes of 120, the two devices counted once.
    f.app.clock.freeze_at(Timestamp::from_second(t + 300 * MIN).unwrap());
    let figures = f.lea().await;
    assert_eq!(figures["present_minutes"], 90, "{figures}");
    assert_eq!(figures["connections"], 2, "{figures}");
    assert_eq!(figures["first_join"], Timestamp::from_second(t).unwrap().to_string());
    assert_eq!(
        figures["last_leave"],
        Timestamp::from_second(t + 90 * MIN).unwrap().to_string()
    );

    // JaaS delivering again, or someone replaying a delivery (signed anew or as captured):
    // answered 200, stored once, counted once.
    assert_eq!(f.post(&join_a).await, (StatusCode::OK, json!({"stored": 0})));
    let t_now = f.now();
    let captured = format!("t={t_now},v1={}", python_signature(WEBHOOK_SECRET, t_now, &left_b));
    for _ in 0..2 {
        assert_eq!(
            f.post_to(&f.server_id, Some(captured.clone()), &left_b).await,
            (StatusCode::OK, json!({"stored": 0}))
        );
    }
    assert_eq!(f.events().await, 4);
    assert_eq!(f.lea().await["present_minutes"], 90);

    // Verified but of no use to attendance: another event type, a room that is no session.
    let recording = join_a
        .replace("PARTICIPANT_JOINED", "RECORDING_UPLOADED")
        .replace("k-join-a", "k-rec");
    assert_eq!(
        f.post(&recording).await,
        (StatusCode::OK, json!({"stored": 0, "ignored": true}))
    );
    let elsewhere = participant_event(
        "k-else",
        "PARTICIPANT_JOINED",
        "someone-elses-room",
        &lea,
        "x@8x8.vc/1",
        t,
    );
    assert_eq!(
        f.post(&elsewhere).await,
        (StatusCode::OK, json!({"stored": 0, "ignored": true}))
    );
    assert_eq!((f.events().await, f.events_without_session().await), (4, 0));
}

async fn forged_stale_and_foreign_deliveries_are_refused(backend: Backend) {
    let f = fixture(backend).await;
    let room = f.detail.session.room.clone();
    let lea = learner(&f.detail).id.clone();
    let join = participant_event("k-join", "PARTICIPANT_JOINED", &room, &lea, "lea@8x8.vc/a", f.start);
    let now = f.now();
    let nothing_stored = || async { (f.events().await, f.events_without_session().await) };

    // Forged: another secret, a body changed after signing, no signature, a v0 signature.
    let other = format!("t={now},v1={}", python_signature("not-the-secret", now, &join));
    let (status, body) = f.post_to(&f.server_id, Some(other), &join).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().unwrap().contains("X-Jaas-Signature"), "{body}");
    let right = python_signature(WEBHOOK_SECRET, now, &join);
    let changed = join.replace("lea@8x8.vc/a", "lea@8x8.vc/z");
    for (header, body) in [
        (Some(format!("t={now},v1={right}")), changed.as_str()),
        (None, join.as_str()),
        (Some(format!("t={now},v0={right}")), join.as_str()),
        (Some(format!("t={},v1={right}", now + 1)), join.as_str()),
    ] {
        assert_eq!(
            f.post_to(&f.server_id, header.clone(), body).await.0,
            StatusCode::UNAUTHORIZED,
            "{header:?}"
        );
    }
    assert_eq!(nothing_stored().await, (0, 0));

    // Stale: a delivery signed more than five minutes ago (captured and replayed later).
    let captured = format!("t={now},v1={right}");
    f.app.clock.advance(SignedDuration::from_secs(301));
    assert_eq!(
        f.post_to(&f.server_id, Some(captured.clone()), &join).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(nothing_stored().await, (0, 0));
    // …while the same one within the tolerance passes.
    f.app.clock.advance(SignedDuration::from_secs(-2));
    assert_eq!(
        f.post_to(&f.server_id, Some(captured), &join).await,
        (StatusCode::OK, json!({"stored": 1}))
    );
    assert_eq!(nothing_stored().await, (1, 0));

    // Another JaaS app's event, signed with this endpoint's secret: refused.
    let foreign_app = "vpaas-magic-cookie-ffffffffffffffff";
    let foreign = participant_event("k-foreign", "PARTICIPANT_JOINED", &room, &lea, "x@8x8.vc/f", f.start)
        .replace(APP, foreign_app);
    let (status, body) = f.post(&foreign).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(nothing_stored().await, (1, 0));

    // Bad bodies, properly signed: 400 with a message.
    for bad in [
        "not json".to_owned(),
        join.replace("\"idempotencyKey\":\"k-join\",", ""),
        join.replace(&format!("/{room}"), "/Not A Room"),
    ] {
        let (status, body) = f.post(&bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    assert_eq!(nothing_stored().await, (1, 0));

    // No such JaaS endpoint: an unknown id, a server that is not JaaS, a JaaS one without a
    // webhook secret.
    let hs = server(&f.app, hs256("Meet", "https://meet.example.org")).await;
    let bare = server(&f.app, jaas("Bare JaaS")).await;
    let t = f.now();
    let header = format!("t={t},v1={}", python_signature(WEBHOOK_SECRET, t, &join));
    for id in ["no-such-server", hs.id.as_str(), bare.id.as_str()] {
        let (status, body) = f.post_to(id, Some(header.clone()), &join).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
    }

    // The secret is JaaS's only: refused on an HS256 server, with its field named.
    let r = testkit::client()
        .patch(format!("{}/api/v1/jitsi-servers/{}", f.app.url, hs.id))
        .bearer_auth(&f.admin_token)
        .json(&json!({"webhook_secret": WEBHOOK_SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "webhook_secret", "{problem}");
    assert_eq!(nothing_stored().await, (1, 0));
}
