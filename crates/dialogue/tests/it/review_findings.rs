//! Review findings of issue 10 that concern who may put whom on a session (4) and what a
//! refusal may reveal (5), over the API on both backends.

use domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::booking_support::*;
use crate::helpers::TestApp;

both_backends!(
    trainers_put_no_other_trainer_on_a_session,
    a_trainers_moderators_are_external_whatever_their_address,
    what_one_request_and_one_hour_may_cause_is_bounded,
);

fn body(start: &str, trainers: &[&str]) -> Value {
    json!({
        "title": "Atelier",
        "starts_at": start,
        "time_zone": "Europe/Paris",
        "duration_minutes": 60,
        "trainers": trainers,
    })
}

/// Finding 4: a trainer could book another trainer as co-trainer, who then could neither leave
/// nor cancel and whose time was taken. Only managers and admins put other trainers on a
/// session; a trainer can neither add nor remove one.
async fn trainers_put_no_other_trainer_on_a_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let as_theo = Api::new(&app, &theo.id).await;
    let as_manager = Api::new(&app, &manager.id).await;
    let start = paris(future_monday(), 9, 0);

    let (status, problem) = as_theo
        .post("/sessions", &body(&start, &["theo@example.org", "ana@example.org"]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "trainers", "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("gestionnaires"),
        "{problem}"
    );
    // Ana's time is untouched: the manager books her at that hour.
    let (status, _) = as_manager.post("/sessions", &body(&start, &["ana@example.org"])).await;
    assert_eq!(status, StatusCode::CREATED);

    // Alone, Théo books; he cannot add Ana afterwards either.
    let later = paris(future_monday(), 14, 0);
    let (status, booked) = as_theo.post("/sessions", &body(&later, &["theo@example.org"])).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let id = booked["sessions"][0]["id"].as_str().unwrap().to_owned();
    let (status, problem) = as_theo
        .put(
            &format!("/sessions/{id}/participants"),
            &json!({ "trainers": ["theo@example.org", "ana@example.org"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // A manager adds Ana; Théo may then staff the session but not remove her.
    let (status, _) = as_manager
        .put(
            &format!("/sessions/{id}/participants"),
            &json!({ "trainers": ["theo@example.org", "ana@example.org"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = as_theo
        .put(
            &format!("/sessions/{id}/participants"),
            &json!({ "trainers": ["theo@example.org"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, changed) = as_theo
        .put(
            &format!("/sessions/{id}/participants"),
            &json!({
                "trainers": ["theo@example.org", "ana@example.org"],
                "learners": [{ "name": "Léa", "email": "lea@example.org" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
}

/// Finding 5: refusals told a trainer which addresses have accounts, and their roles. A
/// trainer's moderators are now external whatever their address: no account is looked up, none
/// is booked (so no other account's sessions can conflict and be named), and the refusals a
/// trainer can meet name only their own sessions.
async fn a_trainers_moderators_are_external_whatever_their_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    app.user("root@example.org", Role::Admin).await;
    app.user("ana@example.org", Role::Trainer).await;
    let as_theo = Api::new(&app, &theo.id).await;
    let as_manager = Api::new(&app, &manager.id).await;
    let start = paris(future_monday(), 9, 0);
    // The admin moderates "Secret board meeting" (Ana teaches it) at that hour.
    let mut busy = body(&start, &["ana@example.org"]);
    busy["title"] = json!("Secret board meeting");
    busy["moderators"] = json!([{ "name": "Root", "email": "root@example.org" }]);
    let (status, admin_session) = as_manager.post("/sessions", &busy).await;
    assert_eq!(status, StatusCode::CREATED, "{admin_session}");
    let moderator = admin_session["sessions"][0]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "root@example.org")
        .unwrap()
        .clone();
    assert_eq!(
        moderator["account"], true,
        "a manager's moderator with an account is that account"
    );

    // Théo, at another hour, names the admin's address as moderator.
    let later = paris(future_monday(), 14, 0);
    let mut mine = body(&later, &["theo@example.org"]);
    mine["moderators"] = json!([{ "name": "Someone", "email": "root@example.org" }]);
    let (status, booked) = as_theo.post("/sessions", &mine).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let external = booked["sessions"][0]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "root@example.org")
        .unwrap()
        .clone();
    assert_eq!(external["account"], false, "{external}");
    assert_eq!(external["name"], "Someone", "nothing of the account shows");

    // At the admin's hour: no conflict is looked for on the admin's account, so nothing of
    // their session (nor that the address is an admin's) comes back.
    let mut clash = body(&start, &["theo@example.org"]);
    clash["moderators"] = json!([{ "name": "Someone", "email": "root@example.org" }]);
    let (status, answer) = as_theo.post("/sessions", &clash).await;
    let text = answer.to_string();
    assert!(!text.contains("Secret board meeting"), "{text}");
    assert!(!text.contains("Administrat"), "{text}");
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

fn learners(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({ "name": format!("Learner {i}"), "email": format!("l{i}@example.org") }))
            .collect(),
    )
}

/// Finding 2: one trainer request could book 500 daily occurrences × 210 people (105,000
/// participations and invitations, 18 s holding SQLite's writer). One request and one account
/// per hour are bounded; the refusal says why and how to proceed, and nothing is written.
async fn what_one_request_and_one_hour_may_cause_is_bounded(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_BOOKING_MAX_PARTICIPATIONS_PER_REQUEST", "40"),
            ("DIALOGUE_BOOKING_MAX_PARTICIPATIONS_PER_HOUR", "60"),
        ],
    )
    .await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let as_theo = Api::new(&app, &theo.id).await;
    let start = paris(future_monday(), 9, 0);

    // 10 daily occurrences × 5 people = 50 > 40.
    let mut series = body(&start, &["theo@example.org"]);
    series["recurrence"] = json!("FREQ=DAILY;COUNT=10");
    series["learners"] = learners(4);
    let (status, problem) = as_theo.post("/sessions", &series).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let text = problem.to_string();
    assert!(text.contains("50 participations") && text.contains("40"), "{text}");
    let (_, listed) = as_theo.get("/sessions").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "nothing written");

    // 8 × 5 = 40: booked. Then 4 × 5 = 20 more: 60 in the hour, still allowed.
    series["recurrence"] = json!("FREQ=DAILY;COUNT=8");
    let (status, booked) = as_theo.post("/sessions", &series).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let later = paris(future_monday(), 14, 0);
    let mut more = body(&later, &["theo@example.org"]);
    more["recurrence"] = json!("FREQ=DAILY;COUNT=4");
    more["learners"] = learners(4);
    let (status, answer) = as_theo.post("/sessions", &more).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // One more learner on one session: over the hour's budget, said as such (429).
    let id = answer["sessions"][0]["id"].as_str().unwrap().to_owned();
    let mut people = json!({ "trainers": ["theo@example.org"], "learners": learners(5) });
    let (status, problem) = as_theo.put(&format!("/sessions/{id}/participants"), &people).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(problem.to_string().contains("par heure"), "{problem}");
    let (_, read) = as_theo.get(&format!("/sessions/{id}")).await;
    assert_eq!(read["participants"].as_array().unwrap().len(), 5, "unchanged");
    // An hour later the budget is there again.
    app.clock.advance(jiff::SignedDuration::from_mins(61));
    let (status, _) = as_theo.put(&format!("/sessions/{id}/participants"), &people).await;
    assert_eq!(status, StatusCode::OK);
    // A change of the following occurrences counts what it adds, all together: 8 sessions × 14
    // newcomers = 112 > 40.
    people["learners"] = learners(19);
    people["scope"] = json!("following");
    let first = booked["sessions"][0]["id"].as_str().unwrap();
    let (status, problem) = as_theo.put(&format!("/sessions/{first}/participants"), &people).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}
