//! The booking API over HTTP with bearer tokens, on both backends: the issue's fields, problem
//! details per field in the caller's language, the same permissions as the pages, the
//! concurrent-conflict rule, and an OpenAPI document that matches the router.

use domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::booking_support::*;
use crate::helpers::TestApp;

both_backends!(
    booking_answers_201_with_the_issues_fields,
    errors_are_problem_details_per_field_in_the_callers_language,
    of_many_parallel_conflicting_bookings_exactly_one_wins,
    the_openapi_document_matches_the_router,
    sessions_change_and_cancel_this_one_or_the_following,
    lists_filter_and_page,
    trainers_see_and_book_only_their_own,
    courses_are_created_read_changed_and_archived,
);

fn session_body(title: &str, starts_at: &str, trainer: &str) -> Value {
    json!({
        "title": title,
        "starts_at": starts_at,
        "time_zone": "Europe/Paris",
        "duration_minutes": 90,
        "trainers": [trainer],
        "moderators": [{ "name": "Zoé Externe", "email": "zoe@partner.example" }],
        "learners": [
            { "name": "Léa", "email": "lea@example.org" },
            { "name": "Max 李", "email": "max@example.org" }
        ]
    })
}

async fn booking_answers_201_with_the_issues_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager.id).await;
    let monday = future_monday();
    let start = paris(monday, 9, 0);
    let response = api
        .request(Method::POST, "/sessions")
        .json(&session_body("Atelier <b>RGPD</b> 🔐", &start, "theo@example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(location, format!("/api/v1/sessions/{}", s["id"].as_str().unwrap()));
    let at: jiff::Timestamp = start.parse().unwrap();
    assert_eq!(s["starts_at"], at.to_string(), "UTC");
    assert!(s["starts_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(s["time_zone"], "Europe/Paris");
    assert_eq!(s["title"], "Atelier <b>RGPD</b> 🔐");
    assert_eq!(s["duration_minutes"], 90);
    assert_eq!(s["status"], "scheduled");
    let room = s["room"].as_str().unwrap();
    assert!(
        room.starts_with("atelier-b-rgpd-b-")
            && room
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "{room}"
    );
    let people: Vec<(String, String, String)> = s["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p["id"].as_str().is_some_and(|id| !id.is_empty()));
            (
                p["role"].as_str().unwrap().to_owned(),
                p["email"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        people,
        [
            ("trainer".into(), "theo@example.org".into(), "trainer theo".into()),
            ("moderator".into(), "zoe@partner.example".into(), "Zoé Externe".into()),
            ("learner".into(), "lea@example.org".into(), "Léa".into()),
            ("learner".into(), "max@example.org".into(), "Max 李".into()),
        ]
    );
    // Read back the same.
    let (status, read) = api.get(location.trim_start_matches("/api/v1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["id"], s["id"]);
    assert_eq!(read["participants"], s["participants"]);
    // A series: every occurrence answered, each with its own room.
    let mut series = session_body("Série", &paris(monday, 14, 0), "theo@example.org");
    series["recurrence"] = json!("FREQ=WEEKLY;BYDAY=MO;COUNT=3");
    let (status, body) = api.post("/sessions", &series).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let rooms: std::collections::BTreeSet<&str> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["room"].as_str().unwrap())
        .collect();
    assert_eq!(rooms.len(), 3);
    // A local start (no offset) is read in the zone.
    let mut local = session_body("Local", &format!("{monday}T17:00:00"), "theo@example.org");
    local["learners"] = json!([]);
    local["moderators"] = json!([]);
    let (status, body) = api.post("/sessions", &local).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["sessions"][0]["local_start"], format!("{monday}T17:00:00"));
    // GET /me still tells who holds the token.
    let (_, me) = api.get("/me").await;
    assert_eq!(
        (me["email"].as_str(), me["role"].as_str()),
        (Some("marie@example.org"), Some("manager"))
    );
}

async fn errors_are_problem_details_per_field_in_the_callers_language(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_BOOKING_MAX_PARTICIPANTS", "2")]).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    app.user("paul@example.org", Role::Manager).await;
    let fr = Api::new(&app, &manager.id).await;
    let en = fr.clone().speaking("en");
    let good = session_body("Atelier", &paris(future_monday(), 9, 0), "theo@example.org");
    let with = |changes: &[(&str, Value)]| {
        let mut b = good.clone();
        for (k, v) in changes {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(*k);
            } else {
                b[*k] = v.clone();
            }
        }
        b
    };
    let year = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year() + 1;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            with(&[("starts_at", json!("2020-01-06T09:00:00+01:00"))]),
            422,
            "starts_at",
            "dans le passé",
        ),
        (
            with(&[("starts_at", json!("9999-12-30T09:00:00Z"))]),
            422,
            "starts_at",
            "dans plus de 10 ans",
        ),
        (
            with(&[("starts_at", json!("lundi prochain"))]),
            422,
            "starts_at",
            "n’est pas une date et heure RFC 3339",
        ),
        (
            with(&[("starts_at", Value::Null)]),
            422,
            "starts_at",
            "Ce champ est obligatoire.",
        ),
        (
            with(&[("duration_minutes", json!(3))]),
            422,
            "duration_minutes",
            "Une durée de 3 minutes",
        ),
        (
            with(&[("time_zone", json!("Mars/Olympus"))]),
            422,
            "time_zone",
            "« Mars/Olympus » n’est pas un fuseau horaire connu",
        ),
        (
            with(&[("starts_at", json!(format!("{}T02:30:00", last_sunday(year, 3))))]),
            422,
            "starts_at",
            "n’existe pas dans le fuseau Europe/Paris",
        ),
        (
            with(&[("starts_at", json!(format!("{}T02:30:00", last_sunday(year, 10))))]),
            422,
            "starts_at",
            "existe deux fois",
        ),
        (
            with(&[("recurrence", json!("FREQ=YEARLY;COUNT=2"))]),
            422,
            "recurrence",
            "« FREQ=YEARLY » n’est pas pris en charge",
        ),
        (
            with(&[("recurrence", json!("FREQ=DAILY;COUNT=900"))]),
            422,
            "recurrence",
            "trop longue",
        ),
        (
            with(&[("recurrence", json!("FREQ=DAILY;UNTIL=20200101"))]),
            422,
            "recurrence",
            "se termine avant la première séance",
        ),
        (
            with(&[("recurrence", json!("FREQ=WEEKLY"))]),
            422,
            "recurrence",
            "Indiquez la fin de la répétition",
        ),
        (
            with(&[(
                "learners",
                json!([{"email": "a@example.org"}, {"email": "b@example.org"}, {"email": "c@example.org"}]),
            )]),
            422,
            "learners",
            "3 participant·es et invité·es : 2 au plus.",
        ),
        (
            with(&[("learners", json!([{"name": "X", "email": "pas-une-adresse"}]))]),
            422,
            "learners",
            "« pas-une-adresse » n’est pas une adresse e-mail valide.",
        ),
        (
            with(&[("guests", json!([{"name": "Léa bis", "email": "LEA@example.org"}]))]),
            422,
            "participants",
            "figure plusieurs fois",
        ),
        (
            with(&[("trainers", json!(["paul@example.org"]))]),
            422,
            "trainers",
            "pas un·e formateur·rice",
        ),
        (
            with(&[("trainers", json!([]))]),
            422,
            "trainers",
            "au moins un·e formateur·rice",
        ),
        (
            with(&[("title", json!("x".repeat(201)))]),
            422,
            "title",
            "Le titre dépasse 200 caractères.",
        ),
        (
            with(&[("notes", json!("x".repeat(5001)))]),
            422,
            "notes",
            "dépassent 5000 caractères",
        ),
        (
            with(&[("course_id", json!("nope"))]),
            422,
            "course_id",
            "Cette formation n’existe pas.",
        ),
        (
            with(&[("duration_minutes", json!("90"))]),
            400,
            "",
            "n’est pas le JSON attendu",
        ),
    ];
    for (body, status, field, message) in cases {
        let (got, problem) = fr.post("/sessions", &body).await;
        assert_eq!(got.as_u16(), status, "{field} {message}: {problem}");
        assert_eq!(problem["status"], status);
        assert!(problem["type"].as_str().unwrap().starts_with("/api/v1/problems/"));
        let all = problem.to_string();
        assert!(all.contains(message), "expected «{message}» in {problem}");
        if !field.is_empty() {
            assert!(
                problem_fields(&problem).contains(&field.to_owned()),
                "field {field} in {problem}"
            );
        }
    }
    // Not JSON at all, with the right content type: still a problem.
    let r = fr
        .request(Method::POST, "/sessions")
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Every problem at once, in English when asked.
    let (status, problem) = en
        .post(
            "/sessions",
            &with(&[("duration_minutes", json!(3)), ("time_zone", json!("Nowhere/City"))]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["title"], "Invalid request");
    let fields = problem_fields(&problem);
    assert!(
        fields.contains(&"duration_minutes".into()) && fields.contains(&"time_zone".into()),
        "{problem}"
    );
    assert!(problem.to_string().contains("A duration of 3 minutes is not possible"));
    // Nothing was written by any of them.
    assert!(app.store().list_sessions(&Default::default()).await.unwrap().is_empty());
    assert!(app.store().search_contacts("", 50).await.unwrap().is_empty());
}

async fn of_many_parallel_conflicting_bookings_exactly_one_wins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager.id).await;
    let monday = future_monday();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let api = api.clone();
        // Each overlaps all the others: starts spread over 19 minutes, each lasting 90.
        let body = session_body(
            &format!("Tentative {i}"),
            &paris(monday, 9, i as i8),
            "theo@example.org",
        );
        tasks.push(tokio::spawn(async move { api.post("/sessions", &body).await }));
    }
    let mut won = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => won.push(body["sessions"][0]["id"].as_str().unwrap().to_owned()),
            StatusCode::CONFLICT => {
                assert!(body.to_string().contains("anime déjà « Tentative"), "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((won.len(), refused), (1, 19));
    let stored = app.store().list_sessions(&Default::default()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].session.id, won[0]);
}

async fn the_openapi_document_matches_the_router(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // An admin: every documented route is open to them.
    let admin = app.user("root@example.org", Role::Admin).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &admin.id).await;
    let (status, server) = api
        .post(
            "/jitsi-servers",
            &json!({
                "name": "Meet", "base_url": "https://meet.example.org", "domain": "meet.example.org",
                "token_mode": "hs256", "app_id": "dialogue",
                "app_secret": crate::jitsi_support::APP_SECRET, "default": true
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    let server = server["id"].as_str().unwrap().to_owned();
    let (_, course) = api.post("/courses", &json!({ "title": "Doc" })).await;
    let course = course["id"].as_str().unwrap().to_owned();
    // The session belongs to the course, so that its attendance routes have a learner.
    let mut body = session_body("Doc", &paris(future_monday(), 9, 0), "theo@example.org");
    body["course_id"] = json!(course);
    let (_, booked) = api.post("/sessions", &body).await;
    let session = booked["sessions"][0]["id"].as_str().unwrap().to_owned();
    let participant = booked["sessions"][0]["participants"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let learner = "lea@example.org";
    let (_, contact) = api
        .post("/contacts", &json!({ "name": "Doc", "email": "doc@example.org" }))
        .await;
    let contact = contact["id"].as_str().unwrap().to_owned();
    // The admin's personal room, for `/me/room`.
    let (status, _) = api.put("/me/room", &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = testkit::get(format!("{}/api/v1/openapi.json", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let methods = ["get", "post", "put", "patch", "delete"];
    // Every documented path and method answers (something other than 404 or 405); every other
    // method of a documented path answers 405.
    for (path, item) in paths {
        let concrete = path
            .replace("/sessions/{id}", &format!("/sessions/{session}"))
            .replace("/courses/{id}", &format!("/courses/{course}"))
            .replace("/contacts/{id}", &format!("/contacts/{contact}"))
            .replace("/jitsi-servers/{id}", &format!("/jitsi-servers/{server}"))
            .replace("/jitsi-logins/{server_id}", &format!("/jitsi-logins/{server}"))
            .replace(
                "/participants/{participant_id}",
                &format!("/participants/{participant}"),
            )
            // A learner of the course (by email): a certificate of nobody (404) is not what
            // this checks.
            .replace("/learners/{learner}", &format!("/learners/{learner}"));
        assert!(!concrete.contains('{'), "a parameter the test does not know: {path}");
        for method in methods {
            let documented = item.get(method).is_some();
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = api.request(m, &concrete).json(&json!({})).send().await.unwrap();
            let status = r.status();
            if documented {
                assert!(
                    status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but answers {status}"
                );
                // Each answer's status is one the document lists.
                let listed = item[method]["responses"].get(status.as_str()).is_some();
                assert!(listed, "{method} {path} answered {status}, not documented");
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is not documented"
                );
            }
        }
    }
    // Every route of the API is documented.
    for (path, _) in web::api::documented_routes() {
        assert!(paths.contains_key(path), "{path} is routed but not documented");
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/").skip(1) {
        let target = &piece[..piece.find('"').unwrap()];
        let mut node = &doc;
        for part in target.split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "dangling $ref #/{target}");
    }
}

async fn sessions_change_and_cancel_this_one_or_the_following(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager.id).await;
    let monday = future_monday();
    let mut body = session_body("Série", &paris(monday, 9, 0), "theo@example.org");
    body["recurrence"] = json!("FREQ=WEEKLY;COUNT=4");
    let (_, booked) = api.post("/sessions", &body).await;
    let ids: Vec<String> = booked["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    // Move the second to 11:00, alone, with a new title.
    let (status, changed) = api
        .patch(
            &format!("/sessions/{}", ids[1]),
            &json!({ "starts_at": paris(monday.checked_add(jiff::Span::new().weeks(1)).unwrap(), 11, 0), "title": "Déplacée" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(changed["sessions"][0]["title"], "Déplacée");
    assert!(
        changed["sessions"][0]["local_start"]
            .as_str()
            .unwrap()
            .ends_with("T11:00:00")
    );
    // Moved to the far future (the last days the calendar can represent): refused, unchanged.
    let (status, problem) = api
        .patch(
            &format!("/sessions/{}", ids[1]),
            &json!({ "starts_at": "9999-12-30T09:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (_, still) = api.get(&format!("/sessions/{}", ids[1])).await;
    assert_eq!(still["starts_at"], changed["sessions"][0]["starts_at"]);
    // From the third on: 75 minutes.
    let (_, changed) = api
        .patch(
            &format!("/sessions/{}", ids[2]),
            &json!({ "duration_minutes": 75, "scope": "following" }),
        )
        .await;
    let durations: Vec<i64> = changed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["duration_minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(durations, [75, 75]);
    let (_, first) = api.get(&format!("/sessions/{}", ids[0])).await;
    assert_eq!(
        (first["duration_minutes"].as_i64(), first["title"].as_str()),
        (Some(90), Some("Série"))
    );
    // Participants replaced: Ana joins as a trainer, Max leaves; Léa keeps her participant id.
    let lea_before: String = first["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "lea@example.org")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, people) = api
        .put(
            &format!("/sessions/{}/participants", ids[0]),
            &json!({ "trainers": ["theo@example.org", "ana@example.org"], "learners": [{ "name": "Léa", "email": "lea@example.org" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{people}");
    let p = people["sessions"][0]["participants"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    assert!(
        p.iter()
            .any(|x| x["email"] == "lea@example.org" && x["id"] == lea_before.as_str())
    );
    // A message for the participants longer than notes may be is refused and cancels nothing.
    let (status, problem) = api
        .post(
            &format!("/sessions/{}/cancel", ids[2]),
            &json!({ "scope": "following", "message": "x".repeat(5001) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "message", "{problem}");
    let (_, still) = api.get(&format!("/sessions/{}", ids[2])).await;
    assert_eq!(still["status"], "scheduled");
    // Cancel from the third on, with a word for the participants.
    let (status, cancelled) = api
        .post(
            &format!("/sessions/{}/cancel", ids[2]),
            &json!({ "scope": "following", "message": "Formatrice absente." }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        cancelled["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "cancelled")
    );
    assert_eq!(cancelled["sessions"].as_array().unwrap().len(), 2);
    // A cancelled one cannot be moved: 409.
    let (status, problem) = api
        .patch(&format!("/sessions/{}", ids[3]), &json!({ "title": "x" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    // A running one keeps its start but may be lengthened (not moved, not ended already).
    let starts: jiff::Timestamp = first["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(starts.duration_since(app.state.now()) + jiff::SignedDuration::from_mins(30));
    let (status, longer) = api
        .patch(&format!("/sessions/{}", ids[0]), &json!({ "duration_minutes": 120 }))
        .await;
    assert_eq!(status, StatusCode::OK, "a running session is extended: {longer}");
    assert_eq!(longer["sessions"][0]["duration_minutes"], 120);
    let (status, problem) = api
        .patch(&format!("/sessions/{}", ids[0]), &json!({ "duration_minutes": 15 }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["duration_minutes"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("déjà terminée"),
        "{problem}"
    );
    let (status, _) = api
        .patch(
            &format!("/sessions/{}", ids[0]),
            &json!({ "starts_at": starts.checked_sub(jiff::SignedDuration::from_hours(1)).unwrap().to_string() }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a start cannot move into the past"
    );
    // An ended one is read-only.
    let (_, first) = api.get(&format!("/sessions/{}", ids[0])).await;
    let ends: jiff::Timestamp = first["ends_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(ends.duration_since(app.state.now()) + jiff::SignedDuration::from_mins(1));
    let (status, problem) = api
        .patch(&format!("/sessions/{}", ids[0]), &json!({ "title": "Trop tard" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(problem["detail"].as_str().unwrap().contains("terminée"), "{problem}");
    let (status, _) = api.post(&format!("/sessions/{}/cancel", ids[0]), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, after) = api.get(&format!("/sessions/{}", ids[0])).await;
    assert_eq!(
        (after["title"].as_str(), after["ended"].as_bool()),
        (Some("Série"), Some(true))
    );
}

async fn lists_filter_and_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager.id).await;
    let (_, course) = api.post("/courses", &json!({ "title": "Cours" })).await;
    let course = course["id"].as_str().unwrap().to_owned();
    let monday = future_monday();
    for (i, trainer) in [
        "theo@example.org",
        "ana@example.org",
        "theo@example.org",
        "theo@example.org",
    ]
    .iter()
    .enumerate()
    {
        let day = monday.checked_add(jiff::Span::new().days(i as i64)).unwrap();
        let mut body = session_body(&format!("S{i}"), &paris(day, 9, 0), trainer);
        if i == 3 {
            body["course_id"] = json!(course);
        }
        let (status, b) = api.post("/sessions", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
    }
    let titles = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = api.get("/sessions").await;
    assert_eq!(titles(&all), ["S0", "S1", "S2", "S3"]);
    assert_eq!(all["items"][0]["trainers"], json!(["trainer theo"]));
    assert_eq!(all["items"][0]["attendees"], 2);
    let (_, theirs) = api.get("/sessions?trainer=theo@example.org").await;
    assert_eq!(titles(&theirs), ["S0", "S2", "S3"]);
    let (_, by_id) = api.get(&format!("/sessions?trainer={}", theo.id)).await;
    assert_eq!(titles(&by_id), ["S0", "S2", "S3"]);
    let (_, of_course) = api.get(&format!("/sessions?course={course}")).await;
    assert_eq!(titles(&of_course), ["S3"]);
    let day1 = monday.checked_add(jiff::Span::new().days(1)).unwrap();
    let day2 = monday.checked_add(jiff::Span::new().days(2)).unwrap();
    let (_, range) = api.get(&format!("/sessions?from={day1}&to={day2}")).await;
    assert_eq!(
        titles(&range),
        ["S1", "S2"],
        "dates: from midnight to the end of the day"
    );
    let from = paris(day1, 10, 0).replace('+', "%2B");
    let (_, instants) = api.get(&format!("/sessions?from={from}")).await;
    assert_eq!(
        titles(&instants),
        ["S1", "S2", "S3"],
        "S1 is still in progress at 10:00"
    );
    let (_, page1) = api.get("/sessions?limit=3").await;
    assert_eq!((titles(&page1).len(), page1["next_offset"].as_i64()), (3, Some(3)));
    let (_, page2) = api.get("/sessions?limit=3&offset=3").await;
    assert_eq!(titles(&page2), ["S3"]);
    assert!(page2["next_offset"].is_null());
    for bad in [
        "limit=0x10",
        "offset=-1",
        "from=demain",
        "trainer=nobody@example.org",
        "limit=1000",
    ] {
        let (status, problem) = api.get(&format!("/sessions?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
        assert_eq!(problem_fields(&problem).len(), 1, "{bad}: {problem}");
    }
}

async fn trainers_see_and_book_only_their_own(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let ana = app.user("ana@example.org", Role::Trainer).await;
    let staff = Api::new(&app, &manager.id).await;
    let theo_api = Api::new(&app, &theo.id).await;
    let ana_api = Api::new(&app, &ana.id).await;
    let monday = future_monday();
    let (_, theirs) = staff
        .post(
            "/sessions",
            &session_body("De Théo", &paris(monday, 9, 0), "theo@example.org"),
        )
        .await;
    let theirs = theirs["sessions"][0]["id"].as_str().unwrap().to_owned();
    let (_, course) = staff.post("/courses", &json!({ "title": "Cours" })).await;
    let course = course["id"].as_str().unwrap().to_owned();
    // Ana: Théo's session does not exist for her, whatever she tries.
    for (method, path) in [
        (Method::GET, format!("/sessions/{theirs}")),
        (Method::PATCH, format!("/sessions/{theirs}")),
        (Method::PUT, format!("/sessions/{theirs}/participants")),
        (Method::POST, format!("/sessions/{theirs}/cancel")),
        (Method::GET, format!("/courses/{course}")),
        (Method::PATCH, format!("/courses/{course}")),
    ] {
        let (status, problem) = ana_api
            .send(
                method.clone(),
                &path,
                &json!({ "trainers": ["ana@example.org"], "title": "x" }),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {problem}");
    }
    let (_, list) = ana_api.get("/sessions").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = ana_api.get("/sessions?trainer=theo@example.org").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "a trainer lists only their own"
    );
    let (status, list) = ana_api.get("/sessions?trainer=nobody@example.org").await;
    assert_eq!(
        (status, list["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "an unknown address answers like a known one: {list}"
    );
    assert_eq!(ana_api.get("/courses").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        ana_api.post("/courses", &json!({ "title": "x" })).await.0,
        StatusCode::FORBIDDEN
    );
    // Théo sees his, may change its participants, not its time (he did not book it).
    assert_eq!(theo_api.get(&format!("/sessions/{theirs}")).await.0, StatusCode::OK);
    let (status, _) = theo_api
        .put(
            &format!("/sessions/{theirs}/participants"),
            &json!({ "trainers": ["theo@example.org"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = theo_api
        .patch(&format!("/sessions/{theirs}"), &json!({ "title": "Renamed" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // He books for himself (trainers default to himself) but not for Ana.
    let mut own = session_body("Par Théo", &paris(monday, 15, 0), "theo@example.org");
    own.as_object_mut().unwrap().remove("trainers");
    let (status, body) = theo_api.post("/sessions", &own).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let own_id = body["sessions"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = theo_api
        .patch(&format!("/sessions/{own_id}"), &json!({ "title": "Renamed" }))
        .await;
    assert_eq!(status, StatusCode::OK, "his own booking he may move");
    let (status, problem) = theo_api
        .patch(&format!("/sessions/{own_id}"), &json!({ "course_id": null }))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nor attach nor detach a course: {problem}"
    );
    let (status, problem) = theo_api
        .post(
            "/sessions",
            &session_body("Pour Ana", &paris(monday, 18, 0), "ana@example.org"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem_fields(&problem), ["trainers"]);
    let mut with_course = session_body("Avec cours", &paris(monday, 20, 0), "theo@example.org");
    with_course["course_id"] = json!(course);
    let (status, problem) = theo_api.post("/sessions", &with_course).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a course id names nothing to a trainer: {problem}"
    );
    // A series Théo booked and teaches, whose third occurrence the manager gives to Ana: "this
    // and following" from the first does not reach the one he no longer teaches (while the
    // same change on the first alone he may make).
    let mut series = session_body("Série de Théo", &paris(monday, 11, 0), "theo@example.org");
    series["recurrence"] = json!("FREQ=WEEKLY;COUNT=3");
    let (status, body) = theo_api.post("/sessions", &series).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ids: Vec<String> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let (status, _) = staff
        .put(
            &format!("/sessions/{}/participants", ids[2]),
            &json!({ "trainers": ["ana@example.org"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/sessions/{}/participants", ids[0]),
            json!({ "trainers": ["theo@example.org"], "scope": "following" }),
        ),
        (
            Method::POST,
            format!("/sessions/{}/cancel", ids[0]),
            json!({ "scope": "following" }),
        ),
    ] {
        let (status, problem) = theo_api.send(method.clone(), &path, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {problem}");
    }
    let third = app.store().session(&ids[2]).await.unwrap().unwrap();
    assert_eq!(third.session.status, store::SessionStatus::Scheduled);
    let trainers: Vec<&str> = third
        .with_role(store::ParticipantRole::Trainer)
        .map(|p| p.email.as_str())
        .collect();
    assert_eq!(trainers, ["ana@example.org"], "the third occurrence is untouched");
    let first = app.store().session(&ids[0]).await.unwrap().unwrap();
    assert_eq!(first.participants.len(), 4, "nothing changed on the first either");
    let (status, problem) = theo_api
        .send(
            Method::POST,
            &format!("/sessions/{}/cancel", ids[0]),
            &json!({ "scope": "this" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{problem}");
    drop(app);

    let app = TestApp::spawn_with(backend, &[("DIALOGUE_BOOKING_TRAINERS_CAN_BOOK", "false")]).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let theo_api = Api::new(&app, &theo.id).await.speaking("en");
    let (status, problem) = theo_api
        .post(
            "/sessions",
            &session_body("Non", &paris(monday, 9, 0), "theo@example.org"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem["type"], "/api/v1/problems/forbidden");
    assert!(app.store().list_sessions(&Default::default()).await.unwrap().is_empty());
}

async fn courses_are_created_read_changed_and_archived(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    app.user("theo@example.org", Role::Trainer).await;
    app.user("paul@example.org", Role::Manager).await;
    let api = Api::new(&app, &admin.id).await;
    let (status, course) = api
        .post(
            "/courses",
            &json!({
                "title": "Excel avancé 📊",
                "code": "XL-201",
                "description": "Deux jours",
                "default_duration_minutes": 180,
                "trainers": ["theo@example.org"],
                "learners": [{ "name": "Léa", "email": "lea@example.org" }, { "email": "LEA@example.org" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{course}");
    let id = course["id"].as_str().unwrap().to_owned();
    assert_eq!(course["trainers"][0]["email"], "theo@example.org");
    assert_eq!(course["learners"].as_array().unwrap().len(), 1);
    assert_eq!(course["owner_id"], admin.id.as_str());
    // Its defaults fill a booking.
    let (status, booked) = api
        .post(
            "/sessions",
            &json!({ "course_id": id, "starts_at": paris(future_monday(), 9, 0), "time_zone": "Europe/Paris" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let s = &booked["sessions"][0];
    assert_eq!(
        (s["title"].as_str(), s["duration_minutes"].as_i64()),
        (Some("Excel avancé 📊"), Some(180))
    );
    assert_eq!(s["course_id"], id.as_str());
    assert_eq!(s["participants"].as_array().unwrap().len(), 2, "theo and Léa");
    // Errors per field.
    let (status, problem) = api
        .post("/courses", &json!({ "title": "Autre", "code": "XL-201" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem_fields(&problem), ["code"]);
    let (status, problem) = api
        .post(
            "/courses",
            &json!({ "title": "", "default_duration_minutes": 1, "code": "a b", "trainers": ["paul@example.org"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = problem_fields(&problem);
    for f in ["title", "default_duration_minutes", "code"] {
        assert!(fields.contains(&f.to_owned()), "{f}: {problem}");
    }
    let (status, problem) = api
        .post("/courses", &json!({ "title": "T", "trainers": ["paul@example.org"] }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&problem), ["trainers"]);
    // Change and archive.
    let (status, changed) = api
        .patch(
            &format!("/courses/{id}"),
            &json!({ "title": "Excel expert", "code": null }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["title"].as_str(), changed["code"].is_null()),
        (Some("Excel expert"), true)
    );
    assert_eq!(
        changed["learners"].as_array().unwrap().len(),
        1,
        "what is not given stays"
    );
    let (_, archived) = api.patch(&format!("/courses/{id}"), &json!({ "archived": true })).await;
    assert_eq!(archived["archived"], true);
    let (_, list) = api.get("/courses").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = api.get("/courses?archived=true").await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    let (status, _) = api.get("/courses/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
