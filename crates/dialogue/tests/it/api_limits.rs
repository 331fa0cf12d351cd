//! The limits of the API, stated by its document and enforced by the server (issue 10, findings 1
//! and 9), on both backends: any number is an answer (never a panic), what the document forbids
//! is refused with a problem per field, a change that changes nothing is refused, the document
//! states this server's configured limits, and text with a NUL character reaches no database.

use domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::booking_support::*;
use crate::helpers::TestApp;

both_backends!(
    durations_of_any_size_are_refused_never_a_panic,
    what_the_document_forbids_is_refused,
    a_change_that_changes_nothing_is_refused,
    the_document_states_the_configured_limits,
    text_with_a_nul_character_is_refused_on_every_database,
);

/// The numbers of finding 1: the first that overflows a duration in seconds, and the extremes.
const HUGE: [i64; 4] = [153_722_867_280_912_931, i64::MAX, i64::MIN, -153_722_867_280_912_931];

fn booking(starts_at: &str, minutes: Value) -> Value {
    json!({
        "title": "Durée", "starts_at": starts_at, "time_zone": "Europe/Paris",
        "duration_minutes": minutes, "trainers": ["theo@example.org"]
    })
}

async fn durations_of_any_size_are_refused_never_a_panic(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager.id).await;
    let start = paris(future_monday(), 9, 0);
    let (status, booked) = api.post("/sessions", &booking(&start, json!(60))).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let session = booked["sessions"][0]["id"].as_str().unwrap().to_owned();
    let (_, course) = api.post("/courses", &json!({ "title": "Cours" })).await;
    let course = course["id"].as_str().unwrap().to_owned();
    for minutes in HUGE {
        let (status, problem) = api.post("/sessions", &booking(&start, json!(minutes))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{minutes}: {problem}");
        assert_eq!(problem_fields(&problem), ["duration_minutes"], "{minutes}: {problem}");
        for scope in ["this", "following"] {
            let (status, problem) = api
                .patch(
                    &format!("/sessions/{session}"),
                    &json!({ "duration_minutes": minutes, "scope": scope }),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{minutes}: {problem}");
            assert_eq!(problem_fields(&problem), ["duration_minutes"], "{minutes}: {problem}");
        }
        let (status, problem) = api
            .post(
                "/courses",
                &json!({ "title": "Cours", "default_duration_minutes": minutes }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{minutes}: {problem}");
        assert_eq!(problem_fields(&problem), ["default_duration_minutes"], "{problem}");
        let (status, problem) = api
            .patch(
                &format!("/courses/{course}"),
                &json!({ "default_duration_minutes": minutes }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{minutes}: {problem}");
    }
    let (_, still) = api.get(&format!("/sessions/{session}")).await;
    assert_eq!(still["duration_minutes"], 60, "nothing changed");
    // The pages read the same numbers through the same rules.
    let (browser, _) = app.logged_in("paul@example.org", Role::Manager).await;
    let mut fields = form("Durée", future_monday(), "11:00", 60, "theo@example.org");
    set(&mut fields, "duration", "153722867280912931");
    let page = book(&browser, &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", errors_of(&page));
    assert!(errors_of(&page).contains("153722867280912931"), "{}", errors_of(&page));
    let page = browser
        .post("/courses", &[("title", "Cours"), ("duration", "9223372036854775807")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", errors_of(&page));
}

async fn what_the_document_forbids_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager.id).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=", "limit"),
        ("limit=%201", "limit"),
        ("offset=-1", "offset"),
        ("offset=9223372036854775808", "offset"),
        ("include_cancelled=maybe", "include_cancelled"),
        ("include_cancelled=1", "include_cancelled"),
        ("include_cancelled=", "include_cancelled"),
    ] {
        let (status, problem) = api.get(&format!("/sessions?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {problem}");
        assert_eq!(problem_fields(&problem), [field], "{query}: {problem}");
    }
    // Bodies are objects: serde would read a struct from an array of its fields, the document
    // does not (found by fuzzing: `[]` cancelled a session).
    let (_, booked) = api
        .post("/sessions", &booking(&paris(future_monday(), 18, 0), json!(30)))
        .await;
    let session = booked["sessions"][0]["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (Method::POST, format!("/sessions/{session}/cancel"), json!([])),
        (
            Method::POST,
            format!("/sessions/{session}/cancel"),
            json!(["following"]),
        ),
        (Method::PUT, format!("/sessions/{session}/participants"), json!([])),
        (Method::PATCH, format!("/sessions/{session}"), json!(["Titre"])),
        (Method::POST, "/courses".to_owned(), json!(["Cours"])),
        (Method::POST, "/sessions".to_owned(), json!("texte")),
    ] {
        let (status, problem) = api.send(method.clone(), &path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path} {body}: {problem}");
    }
    let (_, still) = api.get(&format!("/sessions/{session}")).await;
    assert_eq!(still["status"], "scheduled");
    // Lengths count the text as sent, as the document's maxLength does (the rules trim it).
    let long = |n: usize| format!("{} ", "é".repeat(n - 1));
    let mut body = booking(&paris(future_monday(), 19, 0), json!(30));
    body["title"] = json!(long(201));
    let (status, problem) = api.post("/sessions", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["title"]);
    let (status, problem) = api
        .patch(&format!("/sessions/{session}"), &json!({ "notes": long(5001) }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["notes"]);
    let (status, problem) = api
        .post(
            "/courses",
            &json!({ "title": "Cours", "description": long(5001), "code": long(41) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["code", "description"]);
    let (status, problem) = api.get("/courses?archived=yes").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["archived"]);
    // The edges are accepted; an offset as large as can be has no next page.
    for query in [
        "limit=1",
        "limit=200&offset=0",
        "include_cancelled=true&offset=9223372036854775807",
    ] {
        let (status, page) = api.get(&format!("/sessions?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
    }
    for i in 0..2 {
        let start = paris(future_monday(), 9 + i, 0);
        let (status, booked) = api.post("/sessions", &booking(&start, json!(30))).await;
        assert_eq!(status, StatusCode::CREATED, "{booked}");
    }
    let (_, page) = api.get(&format!("/sessions?limit=1&offset={}", i64::MAX - 1)).await;
    assert_eq!(
        (page["items"].as_array().map(Vec::len), &page["next_offset"]),
        (Some(0), &Value::Null)
    );
    let (_, page) = api.get("/sessions?limit=1").await;
    assert_eq!(page["next_offset"], 1);
    // Dates at the edges of the calendar bound the list as any other.
    for (query, count) in [
        ("to=-009999-01-01", 0),
        ("from=-009999-01-01", 3),
        ("to=9999-12-31", 3),
        ("from=9999-12-31", 0),
    ] {
        let (status, page) = api.get(&format!("/sessions?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(count), "{query}: {page}");
    }
}

async fn a_change_that_changes_nothing_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &admin.id).await.speaking("en");
    let (_, booked) = api
        .post("/sessions", &booking(&paris(future_monday(), 9, 0), json!(60)))
        .await;
    let session = format!("/sessions/{}", booked["sessions"][0]["id"].as_str().unwrap());
    let (_, course) = api.post("/courses", &json!({ "title": "Cours" })).await;
    let course = format!("/courses/{}", course["id"].as_str().unwrap());
    let (status, server) = api
        .post(
            "/jitsi-servers",
            &json!({
                "name": "Meet", "base_url": "https://meet.example.org", "domain": "meet.example.org",
                "token_mode": "hs256", "app_id": "dialogue", "app_secret": crate::jitsi_support::APP_SECRET
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    let server = format!("/jitsi-servers/{}", server["id"].as_str().unwrap());
    for (path, body) in [
        (&session, None),
        (&session, Some(json!({}))),
        (&session, Some(json!({ "scope": "following" }))),
        (&session, Some(json!({ "title": null, "ambiguity": "later" }))),
        (&course, None),
        (&course, Some(json!({}))),
        (&server, Some(json!({}))),
    ] {
        let mut request = api.request(Method::PATCH, path);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let problem: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body:?}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .starts_with("The request changes nothing"),
            "{problem}"
        );
    }
    // Through the API a secret is its exact value: blank does not keep the current one (as the
    // page's empty field does), and spaces around it are not trimmed away (found by fuzzing:
    // "api_secret": "" was accepted though the document says 32 to 200 characters).
    for (field, value) in [
        ("api_secret", ""),
        ("api_secret", " 0123456789abcdef0123456789abcdef"),
        ("app_secret", ""),
        ("app_secret", "0123456789abcdef0123456789abcdef "),
        ("private_key", " "),
        ("name", &format!("{} ", "M".repeat(80))),
    ] {
        let (status, problem) = api.patch(&server, &json!({ field: value })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field} {value:?}: {problem}");
        assert_eq!(problem_fields(&problem), [field], "{field} {value:?}: {problem}");
    }
    let (status, problem) = api
        .post(
            "/jitsi-servers",
            &json!({
                "name": "Other", "base_url": "https://other.example.org", "domain": "other.example.org",
                "token_mode": "hs256", "app_id": "dialogue", "app_secret": ""
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["app_secret"], "said once: {problem}");
    // A change of one field is one: clearing the course, renaming the server.
    let (status, changed) = api.patch(&session, &json!({ "course_id": null })).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (status, changed) = api.patch(&server, &json!({ "name": "Meet 2" })).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
}

async fn the_document_states_the_configured_limits(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_BOOKING_MIN_DURATION_MINUTES", "30"),
            ("DIALOGUE_BOOKING_MAX_DURATION_MINUTES", "240"),
            ("DIALOGUE_BOOKING_MAX_PARTICIPANTS", "12"),
            ("DIALOGUE_BOOKING_MAX_MODERATORS", "3"),
        ],
    )
    .await;
    let doc: Value = testkit::get(format!("{}/api/v1/openapi.json", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("NewSession", "duration_minutes"),
        ("SessionChange", "duration_minutes"),
        ("CourseInput", "default_duration_minutes"),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert_eq!(
            (&property["minimum"], &property["maximum"]),
            (&json!(30), &json!(240)),
            "{schema}"
        );
    }
    assert_eq!(schemas["NewSession"]["properties"]["learners"]["maxItems"], 12);
    assert_eq!(schemas["ParticipantsInput"]["properties"]["moderators"]["maxItems"], 3);
    // And the server holds to them.
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager.id).await;
    let start = paris(future_monday(), 9, 0);
    for (minutes, expected) in [
        (29, StatusCode::UNPROCESSABLE_ENTITY),
        (241, StatusCode::UNPROCESSABLE_ENTITY),
        (240, StatusCode::CREATED),
    ] {
        let (status, answer) = api.post("/sessions", &booking(&start, json!(minutes))).await;
        assert_eq!(status, expected, "{minutes}: {answer}");
    }
}

async fn text_with_a_nul_character_is_refused_on_every_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &admin.id).await;
    for path in [
        "/sessions/%00",
        "/sessions/a%00b/presence",
        "/courses/%00",
        "/jitsi-servers/%00",
    ] {
        let (status, problem) = api.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {problem}");
    }
    for (query, field) in [("course=%00", "course"), ("trainer=theo%00@example.org", "trainer")] {
        let (status, problem) = api.get(&format!("/sessions?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {problem}");
        assert_eq!(problem_fields(&problem), [field], "{query}: {problem}");
    }
    let start = paris(future_monday(), 9, 0);
    for (field, value) in [
        ("course_id", json!("\u{0}")),
        ("jitsi_server_id", json!("x\u{0}")),
        ("guests", json!([{ "name": "Zoé", "email": "zoe\u{0}@example.org" }])),
    ] {
        let mut body = booking(&start, json!(60));
        body[field] = value;
        let (status, problem) = api.post("/sessions", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(field), "{problem}");
    }
    let (status, booked) = api.post("/sessions", &booking(&start, json!(60))).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let session = booked["sessions"][0]["id"].as_str().unwrap();
    let (status, problem) = api
        .patch(&format!("/sessions/{session}"), &json!({ "course_id": "\u{0}" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = api
        .post(
            &format!("/sessions/{session}/cancel"),
            &json!({ "scope": "this", "x": "\u{0}" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = api.get(&format!("/sessions/{session}")).await;
    assert_eq!(status, StatusCode::OK, "still there, not cancelled");
}
