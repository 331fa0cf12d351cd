//! What the Jitsi tests share: servers configured as an admin would (through the same
//! validation and sealing), sessions booked in the store, personal links, and tokens read back
//! by an independent JWT implementation (PyJWT).

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use domain::booking::Person;
use domain::{DisplayName, Email, Role};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use store::{AuditEntry, NewSessions, Participant, ParticipantRole, People, SessionDetail, User};

use crate::helpers::TestApp;

pub const PKCS8: &str = include_str!("../../../jitsi/tests/fixtures/test-only-rsa-2048-pkcs8.pem");
pub const APP_SECRET: &str = "test-only-app-secret-of-at-least-32-chars";

/// A configured server: its id and the bearer Prosody sends.
#[derive(Debug, Clone)]
pub struct Server {
    pub id: String,
    pub api_secret: String,
}

/// Creates a server from `change` as the admin pages and the API do.
pub async fn server(app: &TestApp, change: service::jitsi_servers::ServerChange) -> Server {
    let id = store::new_id();
    let prepared = service::jitsi_servers::prepare(app.state.service().jitsi().sealer(), &id, None, &change)
        .unwrap_or_else(|problems| panic!("server settings refused: {problems:?}"));
    app.store()
        .create_jitsi_server(
            &id,
            &prepared.input,
            jiff::Timestamp::now(),
            &AuditEntry::new("test", None, "test", None),
        )
        .await
        .unwrap();
    Server {
        id,
        api_secret: prepared.generated_api_secret.expect("a generated bearer"),
    }
}

/// A self-hosted HS256 server at `base_url` (the default one if it is the first).
pub fn hs256(name: &str, base_url: &str) -> service::jitsi_servers::ServerChange {
    service::jitsi_servers::ServerChange {
        name: Some(name.into()),
        base_url: Some(base_url.into()),
        domain: Some("meet.example.org".into()),
        token_mode: Some("hs256".into()),
        app_id: Some("dialogue".into()),
        app_secret: Some(APP_SECRET.into()),
        ..Default::default()
    }
}

pub fn rs256(name: &str) -> service::jitsi_servers::ServerChange {
    service::jitsi_servers::ServerChange {
        name: Some(name.into()),
        base_url: Some("https://meet.example.org".into()),
        domain: Some("meet.example.org".into()),
        tenant: Some("acme".into()),
        token_mode: Some("rs256".into()),
        app_id: Some("dialogue-rs".into()),
        key_id: Some("dialogue-2026".into()),
        private_key: Some(PKCS8.into()),
        ..Default::default()
    }
}

pub fn jaas(name: &str) -> service::jitsi_servers::ServerChange {
    service::jitsi_servers::ServerChange {
        name: Some(name.into()),
        token_mode: Some("jaas".into()),
        app_id: Some("vpaas-magic-cookie-0123456789abcdef".into()),
        key_id: Some("4f4910".into()),
        private_key: Some(PKCS8.into()),
        ..Default::default()
    }
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: DisplayName::parse(name).unwrap(),
        email: Email::parse(email).unwrap(),
    }
}

/// Books one session in `zone` from `start` for `minutes`, taught by `trainer` (an account),
/// with an external co-moderator, two learners and a guest.
pub async fn book_at(
    app: &TestApp,
    trainer: &User,
    creator: &User,
    start: Timestamp,
    minutes: i64,
    zone: &str,
) -> SessionDetail {
    let new = NewSessions {
        course_id: None,
        title: "Rust pour les équipes".into(),
        notes: String::new(),
        time_zone: zone.into(),
        times: vec![(start, start + SignedDuration::from_mins(minutes))],
        rrule: None,
        people: People {
            trainers: vec![Email::parse(&trainer.email).unwrap()],
            moderators: vec![person("Camille Co", "camille@partner.example")],
            learners: vec![
                person("Léa Martin", "lea@example.org"),
                person("Max Durand", "max@example.org"),
            ],
            guests: vec![person("Gaby Guest", "gaby@elsewhere.example")],
            external_moderators_only: false,
            ..Default::default()
        },
        created_by: creator.id.clone(),
        jitsi_server_id: None,
    };
    app.store()
        .book_sessions(
            &new,
            jiff::Timestamp::now(),
            &AuditEntry::new("session.book", None, "test", None),
        )
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

/// A manager and a trainer account, and a session of theirs starting at `start`.
pub async fn people_and_session(app: &TestApp, start: Timestamp, minutes: i64) -> (User, User, SessionDetail) {
    let manager = app.user("marie@example.org", Role::Manager).await;
    let trainer = app.user("theo@example.org", Role::Trainer).await;
    let detail = book_at(app, &trainer, &manager, start, minutes, "Europe/Paris").await;
    (manager, trainer, detail)
}

pub fn with_role(detail: &SessionDetail, role: ParticipantRole) -> &Participant {
    detail.participants.iter().find(|p| p.role == role).unwrap()
}

pub fn learner(detail: &SessionDetail) -> &Participant {
    with_role(detail, ParticipantRole::Learner)
}

/// `/j/<key>` of a participant (path only).
pub fn link(app: &TestApp, p: &Participant) -> String {
    format!("/j/{}", app.store().join_key(&p.id, p.link_version).unwrap())
}

/// A whole minute `minutes` from now (real time).
pub fn minutes_from_now(minutes: i64) -> Timestamp {
    let now = Timestamp::now().as_second() / 60 * 60;
    Timestamp::from_second(now + minutes * 60).unwrap()
}

/// The `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location in a {} answer", r.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The token of a room URL `…#jwt=<token>`.
pub fn token_of(url: &str) -> String {
    url.split_once("#jwt=")
        .unwrap_or_else(|| panic!("no #jwt= in {url}"))
        .1
        .to_owned()
}

/// Header and claims of a compact JWS, without checking anything (for instants the real clock
/// has not reached; PyJWT checks the rest).
pub fn decode_unverified(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let d = |s: &str| -> Value {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap()
    };
    (d(parts[0]), d(parts[1]))
}

const PYJWT_HINT: &str = "install PyJWT with: python3 -m pip install \"pyjwt[crypto]\" (Debian: apt-get install -y python3-jwt python3-cryptography)";

/// Verifies `token` with PyJWT (algorithm pinned, signature, exp/nbf against the real clock,
/// issuer, audience, required claims, typ). `Ok({header, claims})` or `Err(reason)`; panics,
/// never skips, when Python or PyJWT is missing.
pub fn pyjwt(token: &str, alg: &str, key: &str, issuer: &str) -> Result<Value, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../jitsi/tests/pyjwt_verify.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {PYJWT_HINT}"));
    let request = json!({"token": token, "alg": alg, "key": key, "issuer": issuer, "audience": "jitsi"});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => Ok(serde_json::from_slice(&out.stdout).unwrap()),
        Some(1) => Err(stderr),
        _ => panic!("pyjwt_verify.py failed: {stderr}\n{PYJWT_HINT}"),
    }
}

/// A client that does not follow redirects (to read where a join sends the browser).
pub fn client() -> reqwest::Client {
    testkit::http()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
