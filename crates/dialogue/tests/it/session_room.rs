//! Where booking, joining and mail meet: the session page (join, answers, who came), the join
//! buttons of the dashboard and the agenda, the waiting page's answer links, and the booking
//! API's personal links and server choice.

use domain::Role;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::booking_support::{Api, problem_fields};
use crate::helpers::TestApp;
use crate::jitsi_support::*;

both_backends!(
    the_api_gives_those_who_manage_personal_links_and_pins_servers,
    the_session_page_joins_shows_answers_and_who_came,
);

const MIN: SignedDuration = SignedDuration::from_mins(1);

fn booking(start: &str, trainer: &str) -> Value {
    json!({
        "title": "Atelier Jitsi",
        "starts_at": start,
        "time_zone": "Europe/Paris",
        "duration_minutes": 60,
        "trainers": [trainer],
        "moderators": [{ "name": "Zoé Externe", "email": "zoe@partner.example" }],
        "learners": [{ "name": "Léa", "email": "lea@example.org" }]
    })
}

/// The properties the OpenAPI document (derived from the API's types) gives a schema.
fn documented(schema: &str) -> Vec<String> {
    let doc = web::api::openapi::document(&Default::default()).unwrap();
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

async fn the_api_gives_those_who_manage_personal_links_and_pins_servers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let other = server(&app, hs256("Other", "https://other.example.org")).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let ana = app.user("ana@example.org", Role::Trainer).await;
    let staff = Api::new(&app, &manager.id).await;
    let start = minutes_from_now(120).to_string();

    // Pinned to the other server on booking; every participant carries a link that opens.
    let mut body = booking(&start, "theo@example.org");
    body["jitsi_server_id"] = json!(other.id);
    let (status, booked) = staff.post("/sessions", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let session = &booked["sessions"][0];
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(session["jitsi_server_id"], json!(other.id));
    assert_eq!(
        app.store().session_jitsi_server(&id).await.unwrap().as_deref(),
        Some(other.id.as_str())
    );
    let people = session["participants"].as_array().unwrap();
    assert_eq!(people.len(), 3);
    let keys = documented("Participant");
    for p in people {
        let url = p["join_url"].as_str().unwrap_or_else(|| panic!("no join_url: {p}"));
        assert!(url.starts_with(&format!("{}/j/", app.url)), "{url}");
        for k in p.as_object().unwrap().keys() {
            assert!(keys.contains(k), "{k} is answered but not documented");
        }
        let page = client().get(url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "the waiting page of {url}");
    }
    for k in session.as_object().unwrap().keys() {
        assert!(documented("Session").contains(k), "{k} is answered but not documented");
    }

    // Its trainer manages its people: he reads the links too; another trainer sees nothing.
    let (status, read) = Api::new(&app, &theo.id).await.get(&format!("/sessions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read["participants"][0]["join_url"].is_string(), "{read}");
    assert_eq!(read["jitsi_server_id"], json!(other.id));
    let (status, _) = Api::new(&app, &ana.id).await.get(&format!("/sessions/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without a choice: the default server (the first one created here).
    let (status, booked) = staff
        .post(
            "/sessions",
            &booking(&minutes_from_now(300).to_string(), "theo@example.org"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert_eq!(booked["sessions"][0]["jitsi_server_id"], json!(meet.id));

    // An unknown server, or a trainer choosing one: refused on its field, nothing booked.
    let before = app.store().list_sessions(&Default::default()).await.unwrap().len();
    let mut unknown = booking(&minutes_from_now(500).to_string(), "theo@example.org");
    unknown["jitsi_server_id"] = json!("no-such-server");
    let (status, problem) = staff.post("/sessions", &unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["jitsi_server_id"]);
    let mut chosen = booking(&minutes_from_now(500).to_string(), "theo@example.org");
    chosen["jitsi_server_id"] = json!(other.id);
    let (status, problem) = Api::new(&app, &theo.id).await.post("/sessions", &chosen).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["jitsi_server_id"]);
    assert_eq!(
        app.store().list_sessions(&Default::default()).await.unwrap().len(),
        before
    );

    // Cancelled: the links are gone from the answer (they lead nowhere now).
    let (status, cancelled) = staff
        .send(Method::POST, &format!("/sessions/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let (_, read) = staff.get(&format!("/sessions/{id}")).await;
    assert!(read["participants"][0].get("join_url").is_none(), "{read}");
}

async fn the_session_page_joins_shows_answers_and_who_came(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    // Ten minutes before the first session: the staff's window (15 minutes) is open, the
    // learners' (5 minutes) not yet. (Frozen before logging in: the login lives on this clock.)
    let soon_start = minutes_from_now(24 * 60);
    app.clock.freeze_at(soon_start - 10 * MIN);
    let (browser, manager) = app.logged_in("marie@example.org", Role::Manager).await;
    let trainer = app.user("theo@example.org", Role::Trainer).await;
    let soon = book_at(&app, &trainer, &manager, soon_start, 60, "Europe/Paris").await;
    let later = book_at(&app, &trainer, &manager, soon_start + 48 * 60 * MIN, 60, "Europe/Paris").await;
    let join = format!("/sessions/{}/join", soon.session.id);
    let page = browser.get(&format!("/sessions/{}", soon.session.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        join.as_str(),
        "Entrer dans la salle",
        "Réponses aux convocations",
        "Présence",
        &format!("/sessions/{}/room", soon.session.id),
    ] {
        assert!(
            page.contains(expected),
            "{expected} missing from the session page: {}",
            page.body
        );
    }
    assert!(!page.contains("La salle ouvre aux animateur·rices"), "already open");
    // The dashboard and the agenda offer to enter the open one only.
    for path in ["/", "/sessions"] {
        let list = browser.get(path).await;
        assert!(list.contains(&join), "{path} offers no join");
        assert!(
            !list.contains(&format!("/sessions/{}/join", later.session.id)),
            "{path} offers to join a session days away"
        );
    }
    // The later one says when its room opens.
    let page = browser.get(&format!("/sessions/{}", later.session.id)).await;
    assert!(page.contains("La salle ouvre aux animateur·rices"));
    // A learner declines from the waiting page; the session page counts it.
    let guest = app.browser();
    let lea = link(&app, learner(&soon));
    let waiting = guest.get(&lea).await;
    assert_eq!(waiting.status, StatusCode::OK);
    assert!(
        waiting.contains(&format!("{lea}/rsvp?answer=declined")),
        "{}",
        waiting.body
    );
    // (The later session's: this one's window is open to trainers, who would be let in.)
    let trainer_waiting = guest
        .get(&link(&app, with_role(&later, store::ParticipantRole::Trainer)))
        .await;
    assert_eq!(trainer_waiting.status, StatusCode::OK);
    assert!(!trainer_waiting.contains("/rsvp?answer="), "trainers are not asked");
    let answered = guest.post(&format!("{lea}/rsvp"), &[("answer", "declined")]).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    let page = browser.get(&format!("/sessions/{}", soon.session.id)).await;
    assert!(
        page.contains("Ont décliné : 1"),
        "the decline is counted: {}",
        page.body
    );
    // Cancelled: no way in from the session page.
    app.store()
        .cancel_sessions(
            std::slice::from_ref(&soon.session.id),
            None,
            app.clock.now(),
            &store::AuditEntry::new("session.cancel", Some(&manager.id), &manager.email, None),
        )
        .await
        .unwrap();
    let page = browser.get(&format!("/sessions/{}", soon.session.id)).await;
    assert!(!page.contains(&join));
}
