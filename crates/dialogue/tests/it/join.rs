//! Joining over HTTP: personal links and staff joins inside the booked window (edges to the
//! second, across DST changes, a session moved while someone waits), the pages before and
//! after, tokens read back by PyJWT for every kind of server, links re-issued.

use domain::Role;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{AuditEntry, ParticipantRole, SessionUpdate};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::TestApp;
use crate::jitsi_support::*;

both_backends!(
    hs256_tokens_from_the_server_verify_with_pyjwt,
    rs256_tokens_from_the_server_verify_with_pyjwt,
    jaas_tokens_from_the_server_verify_with_pyjwt,
    the_window_opens_and_closes_to_the_second,
    windows_hold_across_dst_changes,
    a_session_moved_while_someone_waits,
    cancelled_sessions_and_unknown_links,
    staff_join_from_their_account,
    links_are_reissued_from_the_room_page_and_the_api,
    the_waiting_page_speaks_the_viewers_zone_and_language,
);

const MIN: SignedDuration = SignedDuration::from_mins(1);
const SEC: SignedDuration = SignedDuration::from_secs(1);

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", app.url)).send().await.unwrap()
}

fn features(v: &[(&str, bool)]) -> Value {
    Value::Object(v.iter().map(|(k, b)| ((*k).to_owned(), Value::Bool(*b))).collect())
}

async fn hs256_tokens_from_the_server_verify_with_pyjwt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut change = hs256("Meet", "https://meet.example.org");
    change.lobby = Some(true);
    server(&app, change).await;
    // Starts in two minutes (real time: PyJWT checks nbf and exp against the clock).
    let start = minutes_from_now(2);
    let (_, _, detail) = people_and_session(&app, start, 60).await;
    let closes = (detail.session.ends_at + 10 * MIN).as_second();
    let room = detail.session.room.clone();
    let participant_features = features(&[
        ("create-polls", false),
        ("file-upload", false),
        ("flip", true),
        ("livestreaming", false),
        ("outbound-call", false),
        ("recording", false),
        ("send-groupchat", true),
        ("transcription", false),
    ]);
    let moderator_features = features(&[
        ("create-polls", true),
        ("file-upload", true),
        ("flip", true),
        ("livestreaming", false),
        ("outbound-call", false),
        ("recording", true),
        ("send-groupchat", true),
        ("transcription", false),
    ]);
    for (role, moderator) in [
        (ParticipantRole::Learner, false),
        (ParticipantRole::Guest, false),
        (ParticipantRole::Trainer, true),
        (ParticipantRole::Moderator, true),
    ] {
        let p = with_role(&detail, role);
        let r = get(&app, &link(&app, p)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{role:?}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let url = location(&r);
        assert!(
            url.starts_with(&format!("https://meet.example.org/{room}#jwt=ey")),
            "{url}"
        );
        let out = pyjwt(&token_of(&url), "HS256", APP_SECRET, "dialogue").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out["header"], json!({"alg": "HS256", "typ": "JWT"}));
        let c = &out["claims"];
        let iat = c["iat"].as_i64().unwrap();
        assert!((iat - Timestamp::now().as_second()).abs() < 60, "iat is now");
        let mut user = json!({"id": p.id, "name": p.name, "email": p.email, "moderator": moderator});
        if moderator {
            // The lobby is on: moderators walk past it, nobody else does.
            user["lobby_bypass"] = json!(true);
        }
        assert_eq!(
            *c,
            json!({
                "iss": "dialogue", "aud": "jitsi", "sub": "meet.example.org", "room": room,
                "iat": iat, "nbf": iat - 60, "exp": closes,
                "context": {
                    "user": user,
                    "features": if moderator { &moderator_features } else { &participant_features },
                }
            }),
            "{role:?}"
        );
        // The signature is really checked.
        let err = pyjwt(
            &token_of(&url),
            "HS256",
            "another-secret-of-at-least-32-characters",
            "dialogue",
        )
        .unwrap_err();
        assert!(err.contains("InvalidSignatureError"), "{err}");
    }
}

async fn rs256_tokens_from_the_server_verify_with_pyjwt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Default", "https://meet.example.org")).await;
    let rs = server(&app, rs256("RSA")).await;
    let (_, _, detail) = people_and_session(&app, minutes_from_now(2), 45).await;
    app.store()
        .set_session_jitsi_server(
            &detail.session.id,
            Some(&rs.id),
            jiff::Timestamp::now(),
            &AuditEntry::new("t", None, "t", None),
        )
        .await
        .unwrap();
    let p = learner(&detail);
    let r = get(&app, &link(&app, p)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let url = location(&r);
    let room = &detail.session.room;
    assert!(
        url.starts_with(&format!("https://meet.example.org/acme/{room}#jwt=")),
        "{url}"
    );
    // The public key, from where Prosody's asap_key_server fetches it.
    let key_path = format!("/jitsi/asap/{}", jitsi::asap_key_path("dialogue-2026"));
    let key = get(&app, &key_path).await;
    assert_eq!(key.status(), StatusCode::OK);
    let pem = key.text().await.unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    assert!(!pem.contains("PRIVATE"));
    let out = pyjwt(&token_of(&url), "RS256", &pem, "dialogue-rs").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out["header"],
        json!({"alg": "RS256", "typ": "JWT", "kid": "dialogue-2026"})
    );
    let c = &out["claims"];
    assert_eq!(c["sub"], "acme", "the tenant is the subject");
    assert_eq!(c["room"], room.as_str());
    assert_eq!(c["aud"], "jitsi");
    assert_eq!(c["exp"], (detail.session.ends_at + 10 * MIN).as_second());
    assert_eq!(c["nbf"], c["iat"].as_i64().unwrap() - 60);
    assert_eq!(c["context"]["user"]["id"], p.id.as_str());
    assert_eq!(c["context"]["user"]["moderator"], false);
    // Another kid's file does not exist; an HS256 key would not verify it.
    assert_eq!(get(&app, "/jitsi/asap/0000.pem").await.status(), StatusCode::NOT_FOUND);
    assert!(pyjwt(&token_of(&url), "HS256", APP_SECRET, "dialogue-rs").is_err());
}

async fn jaas_tokens_from_the_server_verify_with_pyjwt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    let jaas_server = server(&app, jaas("8x8")).await;
    let (_, _, detail) = people_and_session(&app, minutes_from_now(2), 30).await;
    // The public key, as the API shows it to be uploaded in the JaaS console.
    let token = token_for(&app, &admin.id).await;
    let shown: Value = testkit::client()
        .get(format!("{}/api/v1/jitsi-servers/{}", app.url, jaas_server.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pem = shown["public_key"].as_str().unwrap().to_owned();
    for (role, moderator) in [(ParticipantRole::Learner, "false"), (ParticipantRole::Trainer, "true")] {
        let p = with_role(&detail, role);
        let r = get(&app, &link(&app, p)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let url = location(&r);
        assert!(
            url.starts_with(&format!(
                "https://8x8.vc/vpaas-magic-cookie-0123456789abcdef/{}#jwt=",
                detail.session.room
            )),
            "{url}"
        );
        let out = pyjwt(&token_of(&url), "RS256", &pem, "chat").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out["header"],
            json!({"alg": "RS256", "typ": "JWT", "kid": "vpaas-magic-cookie-0123456789abcdef/4f4910"})
        );
        let c = &out["claims"];
        assert_eq!(c["aud"], "jitsi");
        assert_eq!(c["iss"], "chat");
        assert_eq!(c["sub"], "vpaas-magic-cookie-0123456789abcdef");
        let kid = out["header"]["kid"].as_str().unwrap();
        assert_eq!(kid.split('/').next(), c["sub"].as_str(), "kid prefix = sub");
        assert_eq!(c["room"], detail.session.room.as_str());
        assert_eq!(c["exp"], (detail.session.ends_at + 10 * MIN).as_second());
        assert_eq!(c["context"]["user"]["moderator"], moderator, "a string, as JaaS wants");
        assert_eq!(c["context"]["user"]["id"], p.id.as_str());
        let f = &c["context"]["features"];
        for base in ["livestreaming", "recording", "transcription", "outbound-call"] {
            assert!(f[base].is_string(), "{base} in {f}");
        }
        assert!(c.get("iat").is_none());
    }
}

/// Joins `path` at the frozen instant `at`.
async fn at(app: &TestApp, at: Timestamp, path: &str) -> reqwest::Response {
    app.clock.freeze_at(at);
    get(app, path).await
}

async fn the_window_opens_and_closes_to_the_second(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let start = minutes_from_now(24 * 60);
    let (_, _, detail) = people_and_session(&app, start, 60).await;
    let end = detail.session.ends_at;
    let closes = end + 10 * MIN;
    let lea = link(&app, learner(&detail));
    // Learners: from 5 minutes before the start…
    let r = at(&app, start - 5 * MIN - SEC, &lea).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("dialogue_csrf=") && cookie.contains("HttpOnly"),
        "pages get their CSRF cookie: {cookie}"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().await.unwrap();
    assert!(body.contains("data-countdown=\"1\""), "one second to go");
    assert!(body.contains("Salle d’attente") || body.contains("Rust pour les équipes"));
    let r = at(&app, start - 5 * MIN, &lea).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "open at the first second");
    assert!(r.headers().get("set-cookie").is_none(), "the way in sets nothing");
    assert_eq!(
        r.headers()["referrer-policy"],
        "same-origin",
        "Jitsi gets no Referer naming the link"
    );
    let (_, claims) = decode_unverified(&token_of(&location(&r)));
    assert_eq!(claims["nbf"], (start - 5 * MIN).as_second() - 60);
    assert_eq!(
        claims["exp"],
        closes.as_second(),
        "valid until the window closes, never later"
    );
    // …to 10 minutes after the end.
    let r = at(&app, closes - SEC, &lea).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "still open one second before closing"
    );
    let (_, claims) = decode_unverified(&token_of(&location(&r)));
    assert_eq!(claims["exp"], closes.as_second());
    let r = at(&app, closes, &lea).await;
    assert_eq!(r.status(), StatusCode::GONE, "closed at the closing second");
    assert!(r.headers().get("location").is_none(), "never a redirect into the room");
    assert!(r.text().await.unwrap().contains("Séance terminée"));
    // Moderators (trainers, external co-moderators): from 15 minutes before; learners not yet.
    for role in [ParticipantRole::Trainer, ParticipantRole::Moderator] {
        let path = link(&app, with_role(&detail, role));
        assert_eq!(
            at(&app, start - 15 * MIN - SEC, &path).await.status(),
            StatusCode::OK,
            "{role:?}"
        );
        let r = at(&app, start - 15 * MIN, &path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{role:?}");
        let (_, claims) = decode_unverified(&token_of(&location(&r)));
        assert_eq!(claims["context"]["user"]["moderator"], true);
        assert_eq!(at(&app, closes, &path).await.status(), StatusCode::GONE);
    }
    assert_eq!(at(&app, start - 15 * MIN, &lea).await.status(), StatusCode::OK);
}

async fn windows_hold_across_dst_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let trainer = app.user("theo@example.org", Role::Trainer).await;
    // Spring: Paris jumps from 02:00 to 03:00 on 2030-03-31. A session at 03:10 (CEST) opens to
    // moderators 15 real minutes before: 01:55 CET on the wall clock.
    let spring: Timestamp = "2030-03-31T03:10:00+02:00[Europe/Paris]"
        .parse::<jiff::Zoned>()
        .unwrap()
        .timestamp();
    let detail = book_at(&app, &trainer, &manager, spring, 60, "Europe/Paris").await;
    let opens = spring - 15 * MIN;
    assert_eq!(
        opens
            .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
            .to_string(),
        "2030-03-31T01:55:00+01:00[Europe/Paris]",
        "the test really crosses the change"
    );
    let theo = link(&app, with_role(&detail, ParticipantRole::Trainer));
    let r = at(&app, opens - SEC, &theo).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("dimanche 31 mars 2030 à 03:10 (Europe/Paris)"), "{page}");
    assert!(
        page.contains("dimanche 31 mars 2030 à 01:55 (Europe/Paris)"),
        "opening, before the jump"
    );
    assert_eq!(at(&app, opens, &theo).await.status(), StatusCode::SEE_OTHER);
    // Autumn: Paris goes back from 03:00 to 02:00 on 2030-10-27. From 02:40 CEST to 02:50 CET is
    // 70 real minutes; the grace runs 10 real minutes after that.
    let autumn_start: Timestamp = "2030-10-27T00:40:00Z".parse().unwrap();
    let autumn = book_at(&app, &trainer, &manager, autumn_start, 70, "Europe/Paris").await;
    let end = autumn.session.ends_at;
    assert_eq!(
        end.to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
            .to_string(),
        "2030-10-27T02:50:00+01:00[Europe/Paris]"
    );
    let lea = link(&app, learner(&autumn));
    let closes = end + 10 * MIN;
    let r = at(&app, closes - SEC, &lea).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, claims) = decode_unverified(&token_of(&location(&r)));
    assert_eq!(claims["exp"], closes.as_second());
    assert_eq!(at(&app, closes, &lea).await.status(), StatusCode::GONE);
    let r = at(&app, autumn_start - 5 * MIN - SEC, &lea).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("à 02:40 (Europe/Paris)"));
}

async fn a_session_moved_while_someone_waits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let start = minutes_from_now(2 * 24 * 60);
    let (_, _, detail) = people_and_session(&app, start, 60).await;
    let lea = link(&app, learner(&detail));
    let r = at(&app, start - 10 * MIN, &lea).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("data-countdown=\"300\""));
    // Moved an hour later while Léa waits: at the old opening she still waits, for the new time.
    let later = start + SignedDuration::from_hours(1);
    app.store()
        .update_sessions(
            &[SessionUpdate {
                id: detail.session.id.clone(),
                times: Some((later, later + 60 * MIN)),
                ..Default::default()
            }],
            app.clock.now(),
            &AuditEntry::new("session.update", None, "test", None),
        )
        .await
        .unwrap();
    let r = at(&app, start - 5 * MIN, &lea).await;
    assert_eq!(r.status(), StatusCode::OK, "the old window is gone");
    assert!(r.text().await.unwrap().contains("data-countdown=\"3600\""));
    assert_eq!(at(&app, later - 5 * MIN - SEC, &lea).await.status(), StatusCode::OK);
    assert_eq!(at(&app, later - 5 * MIN, &lea).await.status(), StatusCode::SEE_OTHER);
    // Moved earlier, to right now: her next refresh enters.
    let now = app.clock.now();
    let sooner = Timestamp::from_second(now.as_second() + 120).unwrap();
    app.store()
        .update_sessions(
            &[SessionUpdate {
                id: detail.session.id.clone(),
                times: Some((sooner, sooner + 30 * MIN)),
                ..Default::default()
            }],
            now,
            &AuditEntry::new("session.update", None, "test", None),
        )
        .await
        .unwrap();
    let r = get(&app, &lea).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, claims) = decode_unverified(&token_of(&location(&r)));
    assert_eq!(
        claims["exp"],
        (sooner + 40 * MIN).as_second(),
        "the new end, not the old"
    );
}

async fn cancelled_sessions_and_unknown_links(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let start = minutes_from_now(2);
    let (manager, _, detail) = people_and_session(&app, start, 60).await;
    let lea = link(&app, learner(&detail));
    // No Jitsi server at all: the room cannot open, and the page says why (never a bad token).
    let r = get(&app, &lea).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().await.unwrap().contains("Aucun serveur Jitsi"));
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    assert_eq!(
        get(&app, &lea).await.status(),
        StatusCode::SEE_OTHER,
        "the default server, at join time"
    );
    // Unknown, malformed, percent-encoded keys: 404 with no detail.
    let unknown = format!("/j/{}", "A".repeat(43));
    let encoded = format!("/j/{}%2F", &lea[3..lea.len() - 1]);
    for path in [unknown.as_str(), "/j/short", encoded.as_str(), "/j/"] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("Rust pour"), "no detail about any session");
    }
    // Cancelled: a page that says so, 410, for everyone.
    app.store()
        .cancel_sessions(
            std::slice::from_ref(&detail.session.id),
            None,
            app.clock.now(),
            &AuditEntry::new("session.cancel", Some(&manager.id), &manager.email, None),
        )
        .await
        .unwrap();
    for p in &detail.participants {
        let r = get(&app, &link(&app, p)).await;
        assert_eq!(r.status(), StatusCode::GONE);
        assert!(r.headers().get("location").is_none());
        let body = r.text().await.unwrap();
        assert!(body.contains("Séance annulée") && body.contains("Rust pour les équipes"));
    }
}

async fn staff_join_from_their_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let start = minutes_from_now(10);
    let admin = app.user("root@example.org", Role::Admin).await;
    let (manager, trainer, detail) = people_and_session(&app, start, 60).await;
    let other = app.user("ana@example.org", Role::Trainer).await;
    let path = format!("/sessions/{}/join", detail.session.id);
    let theo_participant = with_role(&detail, ParticipantRole::Trainer);
    for (email, user, expected_id) in [
        ("root@example.org", &admin, admin.id.as_str()),
        ("marie@example.org", &manager, manager.id.as_str()),
        ("theo@example.org", &trainer, theo_participant.id.as_str()),
    ] {
        let browser = app.browser();
        browser.login(email, crate::helpers::PASSWORD).await;
        let r = browser.get_raw(&path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email}");
        let (_, claims) = decode_unverified(&token_of(&location(&r)));
        let u = &claims["context"]["user"];
        assert_eq!(u["moderator"], true, "{email} moderates");
        assert_eq!(
            u["id"], expected_id,
            "{email}: the participant when there is one, else the account"
        );
        assert_eq!(u["email"], user.email.as_str());
    }
    // A trainer of another session: as if it did not exist.
    let browser = app.browser();
    browser.login(&other.email, crate::helpers::PASSWORD).await;
    assert_eq!(browser.get_raw(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        browser
            .get_raw(&format!("/sessions/{}/room", detail.session.id))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Not logged in: to the login page.
    let r = get(&app, &path).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login?next="));
    // Before the moderators' window: the waiting page, which refreshes itself to this path.
    let early = book_at(
        &app,
        &trainer,
        &manager,
        start + SignedDuration::from_hours(5),
        30,
        "Europe/Paris",
    )
    .await;
    let browser = app.browser();
    browser.login("theo@example.org", crate::helpers::PASSWORD).await;
    let page = browser.get(&format!("/sessions/{}/join", early.session.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains(&format!("href=\"/sessions/{}/join\"", early.session.id)));
    assert!(!page.contains("calendar.ics"));
}

async fn links_are_reissued_from_the_room_page_and_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let (manager, trainer, detail) = people_and_session(&app, minutes_from_now(3), 60).await;
    let lea = learner(&detail).clone();
    let old = link(&app, &lea);
    // The trainer of the session sees every link on the room page and re-issues Léa's.
    let browser = app.browser();
    browser.login(&trainer.email, crate::helpers::PASSWORD).await;
    let room = browser.get(&format!("/sessions/{}/room", detail.session.id)).await;
    assert_eq!(room.status, StatusCode::OK);
    assert!(room.contains(&app.state.url(&old)), "the personal links are listed");
    assert!(room.contains("Personne n’est dans la salle"));
    let r = browser
        .post_raw(
            &format!("/sessions/{}/participants/{}/link", detail.session.id, lea.id),
            &[("next", &format!("/sessions/{}/room", detail.session.id))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        format!(
            "/sessions/{}/room?notice=link_reissued#link-{}",
            detail.session.id, lea.id
        )
    );
    assert_eq!(
        get(&app, &old).await.status(),
        StatusCode::NOT_FOUND,
        "the old link is dead"
    );
    let detail_now = app.store().session(&detail.session.id).await.unwrap().unwrap();
    let renewed = detail_now.participants.iter().find(|p| p.id == lea.id).unwrap();
    assert_eq!(renewed.link_version, lea.link_version + 1);
    let new = link(&app, renewed);
    assert_eq!(get(&app, &new).await.status(), StatusCode::SEE_OTHER);
    let room = browser
        .get(&format!("/sessions/{}/room?notice=link_reissued", detail.session.id))
        .await;
    assert!(room.contains("Nouveau lien émis") && room.contains(&app.state.url(&new)));
    // Without the CSRF token, or by another trainer: refused, nothing changed.
    let r = browser
        .post_bare(
            &format!("/sessions/{}/participants/{}/link", detail.session.id, lea.id),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let ana = app.user("ana@example.org", Role::Trainer).await;
    let other = app.browser();
    other.login(&ana.email, crate::helpers::PASSWORD).await;
    let r = other
        .post_raw(
            &format!("/sessions/{}/participants/{}/link", detail.session.id, lea.id),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, &new).await.status(),
        StatusCode::SEE_OTHER,
        "still the same link"
    );
    // The API: the manager re-issues and gets the new personal link to send.
    let token = token_for(&app, &manager.id).await;
    let api = testkit::client();
    let r = api
        .post(format!(
            "{}/api/v1/sessions/{}/participants/{}/link",
            app.url, detail.session.id, lea.id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["link_version"], lea.link_version + 2);
    let url = body["join_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/j/", app.url)), "{url}");
    assert_eq!(get(&app, &new).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(client().get(url).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    // web::join::join_url gives the same link (what the booking API puts in participants).
    let latest = app.store().session(&detail.session.id).await.unwrap().unwrap();
    let p = latest.participants.iter().find(|p| p.id == lea.id).unwrap();
    assert_eq!(service::links::join_url(app.state.service(), p), url);
    // A participant of another session, an unknown session, another trainer's token: 404.
    let ana_token = token_for(&app, &ana.id).await;
    for (session, participant, bearer) in [
        (detail.session.id.as_str(), "nobody", token.as_str()),
        ("nosuchsession", lea.id.as_str(), token.as_str()),
        (detail.session.id.as_str(), lea.id.as_str(), ana_token.as_str()),
    ] {
        let r = api
            .post(format!(
                "{}/api/v1/sessions/{session}/participants/{participant}/link",
                app.url
            ))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{session} {participant}");
    }
}

async fn the_waiting_page_speaks_the_viewers_zone_and_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let trainer = app.user("theo@example.org", Role::Trainer).await;
    // A session in New York; Théo's account is in Paris, Léa's zone is not known.
    let start: Timestamp = "2031-06-02T09:00:00-04:00[America/New_York]"
        .parse::<jiff::Zoned>()
        .unwrap()
        .timestamp();
    let detail = book_at(&app, &trainer, &manager, start, 90, "America/New_York").await;
    app.clock.freeze_at(start - SignedDuration::from_hours(2));
    let theo = get(&app, &link(&app, with_role(&detail, ParticipantRole::Trainer))).await;
    assert_eq!(theo.status(), StatusCode::OK);
    let page = theo.text().await.unwrap();
    assert!(page.contains("lundi 2 juin 2031 à 15:00 (Europe/Paris)"), "{page}");
    assert!(page.contains("Heure de la séance : lundi 2 juin 2031 à 09:00 (America/New_York)"));
    assert!(
        page.contains("Théo") || page.contains("trainer theo"),
        "the trainers are named"
    );
    assert!(
        page.contains("data-countdown=\"6300\""),
        "1 h 45 min to the moderators' opening"
    );
    assert!(page.contains("1 h 45 min"));
    assert!(
        !page.contains("<script>") && !page.contains("onclick"),
        "no inline script"
    );
    let lea_path = link(&app, learner(&detail));
    let lea = client()
        .get(format!("{}{lea_path}", app.url))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    let page = lea.text().await.unwrap();
    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains("Monday 2 June 2031") || page.contains("June"), "{page}");
    assert!(page.contains("(America/New_York)") && !page.contains("Session time:"));
    assert!(page.contains("Add to my calendar"));
    // The language switch comes back to the link, and the choice sticks.
    let switch = format!(
        "/lang/fr?next={}",
        form_urlencoded::byte_serialize(lea_path.as_bytes()).collect::<String>()
    );
    assert!(page.contains(&switch.replace('&', "&amp;")), "{page}");
    let browser = app.browser().speaking("en");
    let back = browser.get(&switch).await;
    assert_eq!(back.path, lea_path);
    assert!(back.contains("<html lang=\"fr\">") && back.contains("Ajouter à mon agenda"));
    // The calendar file: this session, this link, nobody else's address.
    let ics = get(&app, &format!("{lea_path}/calendar.ics")).await;
    assert_eq!(ics.status(), StatusCode::OK);
    assert_eq!(ics.headers()["content-type"], "text/calendar; charset=utf-8");
    let text = ics.text().await.unwrap();
    assert!(text.contains("METHOD:PUBLISH"), "{text}");
    assert!(text.contains("DTSTART;TZID=America/New_York:20310602T090000"), "{text}");
    let unfolded = text.replace("\r\n ", "");
    assert!(unfolded.contains(&format!("URL:{}{lea_path}", app.url)), "{unfolded}");
    assert!(!unfolded.contains("ATTENDEE") && !unfolded.contains("max@example.org"));
    // A strict parser reads it.
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, icalendar; c = icalendar.Calendar.from_ical(sys.stdin.read()); print(len(c.walk('VEVENT')))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with icalendar (python3 -m pip install icalendar)");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
}
