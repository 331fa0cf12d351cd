//! The language and zone of people without accounts, given in the API's participant input
//! (issue 12): kept on their address-book entry, used by their mails and their link's page; a
//! language or zone the server does not know is refused on its field, and nothing is written.

use domain::Locale;
use reqwest::StatusCode;
use serde_json::json;
use store::SessionFilter;
use testkit::{Backend, both_backends};

use crate::booking_support::{Api, future_monday, paris, problem_fields};
use crate::helpers::TestApp;
use crate::mail::cast;
use crate::mailkit::*;

both_backends!(a_participant_booked_in_english_in_montreal_gets_an_english_invitation_in_that_zone);

async fn sessions_in_store(app: &TestApp) -> usize {
    app.store()
        .list_sessions(&SessionFilter {
            include_cancelled: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

async fn a_participant_booked_in_english_in_montreal_gets_an_english_invitation_in_that_zone(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let api = Api::new(&app, &people.manager.id).await;
    let starts_at = paris(future_monday(), 9, 0);
    let booking = |learners: serde_json::Value| {
        json!({
            "title": "Atelier tableur", "starts_at": starts_at, "time_zone": "Europe/Paris",
            "duration_minutes": 90, "trainers": ["theo@example.org"], "learners": learners
        })
    };

    // Refused on the field, whatever else is right; nothing written (no session, no entry).
    for (learner, field) in [
        (
            json!({ "name": "Claire Martin", "email": "claire@example.ca", "locale": "de" }),
            "learners.locale",
        ),
        (
            json!({ "name": "Claire Martin", "email": "claire@example.ca", "time_zone": "Mars/Olympus" }),
            "learners.time_zone",
        ),
        (
            json!({ "name": "Claire Martin", "email": "claire@example.ca", "time_zone": "+05:00" }),
            "learners.time_zone",
        ),
    ] {
        let (status, problem) = api.post("/sessions", &booking(json!([learner]))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem_fields(&problem), [field], "{problem}");
        assert_eq!(sessions_in_store(&app).await, 0);
        assert!(
            app.store()
                .contact_by_email("claire@example.ca")
                .await
                .unwrap()
                .is_none()
        );
    }
    let (status, problem) = api
        .post(
            "/sessions",
            &booking(json!([
                { "name": "Claire Martin", "email": "claire@example.ca", "locale": "en", "time_zone": "America/Montreal" },
                { "name": "Zoé Lefèvre", "email": "zoe@example.org" },
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let id = problem["sessions"][0]["id"].as_str().unwrap().to_owned();
    let detail = app.store().session(&id).await.unwrap().unwrap();
    let contact = app
        .store()
        .contact_by_email("claire@example.ca")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (contact.locale.as_deref(), contact.time_zone.as_deref()),
        (Some("en"), Some("America/Montreal"))
    );

    // Claire's invitation is in English with times in Montreal; Zoé's stays French in Paris.
    smtp.wait_for(3).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    let start = detail.session.starts_at;
    let claire = one_to(
        &mails,
        "claire@example.ca",
        &format!(
            "Invitation: Atelier tableur — {}",
            i18n::format_short(start, "America/Montreal", Locale::En)
        ),
    );
    assert_eq!(claire.content_language.as_deref(), Some("en"));
    let text = claire.text();
    assert!(text.contains("(America/Montreal)"), "{text}");
    assert!(!text.contains("Europe/Paris") && !text.contains("Bonjour"), "{text}");
    let zoe = one_to(
        &mails,
        "zoe@example.org",
        &format!(
            "Convocation : Atelier tableur — {}",
            i18n::format_short(start, "Europe/Paris", Locale::Fr)
        ),
    );
    assert_eq!(zoe.content_language.as_deref(), Some("fr"));

    // Her link's page speaks English too (no cookie, no Accept-Language).
    let page = app.browser().get(&link_of(&app, &detail, "claire@example.ca")).await;
    assert!(page.contains("lang=\"en\""), "{}", page.body);

    // Replacing the participants without a language keeps hers; with one, it changes.
    let (status, problem) = api
        .put(
            &format!("/sessions/{id}/participants"),
            &json!({
                "trainers": ["theo@example.org"],
                "learners": [{ "email": "claire@example.ca" }, { "email": "yann@example.org", "locale": "xx" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["learners.locale"], "{problem}");
    let (status, problem) = api
        .put(
            &format!("/sessions/{id}/participants"),
            &json!({
                "trainers": ["theo@example.org"],
                "learners": [{ "email": "claire@example.ca" }, { "email": "zoe@example.org", "time_zone": "Europe/London" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{problem}");
    let contact = app
        .store()
        .contact_by_email("claire@example.ca")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (contact.locale.as_deref(), contact.time_zone.as_deref()),
        (Some("en"), Some("America/Montreal"))
    );
    let zoe = app.store().contact_by_email("zoe@example.org").await.unwrap().unwrap();
    assert_eq!(
        (zoe.locale.as_deref(), zoe.time_zone.as_deref()),
        (None, Some("Europe/London"))
    );
    assert!(
        app.store()
            .contact_by_email("yann@example.org")
            .await
            .unwrap()
            .is_none()
    );

    // The document states both fields of a participant.
    let (_, doc) = api.get("/openapi.json").await;
    let person = &doc["components"]["schemas"]["PersonInput"]["properties"];
    assert!(
        person["locale"].is_object() && person["time_zone"].is_object(),
        "{person}"
    );
}
