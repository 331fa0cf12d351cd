//! Every booking route (pages and API) × every role: anonymous, the trainer who teaches the
//! sessions, another trainer, a manager, an admin. Each role gets its own server with the same
//! cast and walks the same requests in order; then what refused requests tried is checked
//! not to have happened.

use domain::booking::Person;
use domain::{DisplayName, Email, Role};
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use store::{AuditEntry, NewSessions, People, SessionStatus};
use testkit::{Backend, both_backends};

use crate::booking_support::{Api, future_monday, paris};
use crate::helpers::{PASSWORD, TestApp};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    /// Teaches S (booked by a manager) and O and E (booked by themself).
    Trainer,
    OtherTrainer,
    Manager,
    Admin,
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 200 on this very page.
    Ok,
    /// 201 on this very page (a token shown once).
    Created,
    /// Redirected to a page that answered 200.
    Done,
    Login,
    Forbidden,
    NotFound,
    /// 409: ended or cancelled.
    Conflict,
}

use Expect::*;

struct Cast {
    s: String,
    o: String,
    e: String,
    c: String,
    token: String,
}

/// (method, path, [anonymous, trainer, other trainer, manager, admin], form fields)
type Row = (
    &'static str,
    &'static str,
    [Expect; 5],
    &'static [(&'static str, &'static str)],
);

fn page_rows() -> Vec<Row> {
    vec![
        ("GET", "/sessions", [Login, Ok, Ok, Ok, Ok], &[]),
        (
            "GET",
            "/sessions?from=2020-01-01&cancelled=1",
            [Login, Ok, Ok, Ok, Ok],
            &[],
        ),
        ("GET", "/archives", [Login, Ok, Ok, Ok, Ok], &[]),
        ("GET", "/calendar", [Login, Ok, Ok, Ok, Ok], &[]),
        ("GET", "/calendar?week=2030-W10", [Login, Ok, Ok, Ok, Ok], &[]),
        ("GET", "/sessions/new", [Login, Ok, Ok, Ok, Ok], &[]),
        ("GET", "/sessions/new?course={c}", [Login, Ok, Ok, Ok, Ok], &[]),
        (
            "POST",
            "/sessions",
            [Login, Done, Forbidden, Done, Done],
            &[
                ("title", "Réservée"),
                ("date", "{slot_a}"),
                ("time", "08:00"),
                ("duration", "60"),
                ("time_zone", "Europe/Paris"),
                ("repeat", "none"),
                ("trainer", "t1@example.org"),
            ],
        ),
        ("GET", "/sessions/{s}", [Login, Ok, NotFound, Ok, Ok], &[]),
        ("GET", "/sessions/{e}", [Login, Ok, NotFound, Ok, Ok], &[]),
        (
            "GET",
            "/sessions/nonexistent",
            [Login, NotFound, NotFound, NotFound, NotFound],
            &[],
        ),
        ("GET", "/sessions/{s}/edit", [Login, Forbidden, NotFound, Ok, Ok], &[]),
        ("GET", "/sessions/{o}/edit", [Login, Ok, NotFound, Ok, Ok], &[]),
        (
            "GET",
            "/sessions/{e}/edit",
            [Login, Conflict, NotFound, Conflict, Conflict],
            &[],
        ),
        (
            "POST",
            "/sessions/{s}/edit",
            [Login, Forbidden, NotFound, Done, Done],
            &[
                ("title", "Renommée"),
                ("notes", "API"),
                ("date", "{s_date}"),
                ("time", "10:00"),
                ("duration", "60"),
            ],
        ),
        (
            "POST",
            "/sessions/{o}/edit",
            [Login, Done, NotFound, Done, Done],
            &[
                ("title", "O renommée"),
                ("date", "{o_date}"),
                ("time", "14:00"),
                ("duration", "60"),
            ],
        ),
        (
            "POST",
            "/sessions/{e}/edit",
            [Login, Conflict, NotFound, Conflict, Conflict],
            &[
                ("title", "Trop tard"),
                ("date", "{s_date}"),
                ("time", "10:00"),
                ("duration", "60"),
            ],
        ),
        ("GET", "/sessions/{s}/participants", [Login, Ok, NotFound, Ok, Ok], &[]),
        (
            "GET",
            "/sessions/{e}/participants",
            [Login, Conflict, NotFound, Conflict, Conflict],
            &[],
        ),
        (
            "POST",
            "/sessions/{s}/participants",
            [Login, Done, NotFound, Done, Done],
            &[
                ("trainer", "t1@example.org"),
                ("learner_name", "Nouvelle"),
                ("learner_email", "nouvelle@example.org"),
            ],
        ),
        (
            "POST",
            "/sessions/{e}/participants",
            [Login, Conflict, NotFound, Conflict, Conflict],
            &[("trainer", "t1@example.org")],
        ),
        ("GET", "/sessions/{s}/cancel", [Login, Forbidden, NotFound, Ok, Ok], &[]),
        ("GET", "/sessions/{o}/cancel", [Login, Ok, NotFound, Ok, Ok], &[]),
        (
            "POST",
            "/sessions/{e}/cancel",
            [Login, Conflict, NotFound, Conflict, Conflict],
            &[],
        ),
        (
            "POST",
            "/sessions/{o}/cancel",
            [Login, Done, NotFound, Done, Done],
            &[("scope", "this")],
        ),
        (
            "POST",
            "/sessions/{s}/cancel",
            [Login, Forbidden, NotFound, Done, Done],
            &[("scope", "this")],
        ),
        ("GET", "/courses", [Login, Forbidden, Forbidden, Ok, Ok], &[]),
        ("GET", "/courses?archived=1", [Login, Forbidden, Forbidden, Ok, Ok], &[]),
        ("GET", "/courses/new", [Login, Forbidden, Forbidden, Ok, Ok], &[]),
        (
            "POST",
            "/courses",
            [Login, Forbidden, Forbidden, Done, Done],
            &[("title", "Nouvelle formation"), ("duration", "60")],
        ),
        ("GET", "/courses/{c}", [Login, NotFound, NotFound, Ok, Ok], &[]),
        ("GET", "/courses/{c}/edit", [Login, NotFound, NotFound, Ok, Ok], &[]),
        (
            "POST",
            "/courses/{c}",
            [Login, NotFound, NotFound, Done, Done],
            &[("title", "Formation renommée"), ("duration", "90")],
        ),
        (
            "POST",
            "/courses/{c}/archive",
            [Login, NotFound, NotFound, Done, Done],
            &[],
        ),
        (
            "POST",
            "/courses/{c}/unarchive",
            [Login, NotFound, NotFound, Done, Done],
            &[],
        ),
        (
            "GET",
            "/courses/nonexistent",
            [Login, NotFound, NotFound, NotFound, NotFound],
            &[],
        ),
        (
            "POST",
            "/profile/tokens",
            [Login, Created, Created, Created, Created],
            &[("name", "Mon LMS")],
        ),
        (
            "POST",
            "/profile/tokens/{token}/revoke",
            [Login, NotFound, NotFound, NotFound, NotFound],
            &[],
        ),
    ]
}

/// (method, path, [statuses per role], JSON body)
type ApiRow = (&'static str, &'static str, [u16; 5], &'static str);

fn api_rows() -> Vec<ApiRow> {
    vec![
        ("GET", "/sessions", [401, 200, 200, 200, 200], ""),
        ("GET", "/sessions/{s}", [401, 200, 404, 200, 200], ""),
        ("GET", "/sessions/{e}", [401, 200, 404, 200, 200], ""),
        (
            "PATCH",
            "/sessions/{s}",
            [401, 403, 404, 200, 200],
            r#"{"notes": "API"}"#,
        ),
        (
            "PATCH",
            "/sessions/{o}",
            [401, 200, 404, 200, 200],
            r#"{"notes": "API"}"#,
        ),
        (
            "PATCH",
            "/sessions/{e}",
            [401, 409, 404, 409, 409],
            r#"{"notes": "API"}"#,
        ),
        (
            "PUT",
            "/sessions/{s}/participants",
            [401, 200, 404, 200, 200],
            r#"{"trainers": ["t1@example.org"], "learners": [{"name": "API", "email": "api@example.org"}]}"#,
        ),
        (
            "PUT",
            "/sessions/{e}/participants",
            [401, 409, 404, 409, 409],
            r#"{"trainers": ["t1@example.org"]}"#,
        ),
        ("POST", "/sessions/{e}/cancel", [401, 409, 404, 409, 409], "{}"),
        (
            "POST",
            "/sessions",
            [401, 201, 403, 201, 201],
            r#"{"title": "Par l'API", "starts_at": "{slot_b}", "time_zone": "Europe/Paris", "duration_minutes": 30, "trainers": ["t1@example.org"]}"#,
        ),
        ("GET", "/courses", [401, 403, 403, 200, 200], ""),
        (
            "POST",
            "/courses",
            [401, 403, 403, 201, 201],
            r#"{"title": "Formation API"}"#,
        ),
        ("GET", "/courses/{c}", [401, 404, 404, 200, 200], ""),
        (
            "PATCH",
            "/courses/{c}",
            [401, 404, 404, 200, 200],
            r#"{"description": "API"}"#,
        ),
        ("GET", "/courses/nonexistent", [401, 404, 404, 404, 404], ""),
        ("GET", "/sessions/nonexistent", [401, 404, 404, 404, 404], ""),
    ]
}

async fn account(app: &TestApp, email: &str, role: Role) -> String {
    app.user(email, role).await.id
}

fn person(email: &str) -> Person {
    Person {
        name: DisplayName::parse("Apprenant·e").unwrap(),
        email: Email::parse(email).unwrap(),
    }
}

async fn session(app: &TestApp, start: Timestamp, by: &str, title: &str) -> String {
    let new = NewSessions {
        course_id: None,
        title: title.into(),
        notes: String::new(),
        time_zone: "Europe/Paris".into(),
        times: vec![(start, start + SignedDuration::from_hours(1))],
        rrule: None,
        people: People {
            trainers: vec![Email::parse("t1@example.org").unwrap()],
            learners: vec![person("lea@example.org")],
            ..Default::default()
        },
        created_by: by.into(),
        jitsi_server_id: None,
    };
    app.store()
        .book_sessions(
            &new,
            jiff::Timestamp::now(),
            &AuditEntry::new("session.book", None, "test", None),
        )
        .await
        .unwrap()[0]
        .session
        .id
        .clone()
}

async fn walk(backend: Backend, who: Who) {
    let app = TestApp::spawn(backend).await;
    let m0 = account(&app, "m0@example.org", Role::Manager).await;
    let t1 = account(&app, "t1@example.org", Role::Trainer).await;
    account(&app, "t2@example.org", Role::Trainer).await;
    let monday = future_monday();
    let at = |days: i64, hour: i8| {
        let d = monday.checked_add(jiff::Span::new().days(days)).unwrap();
        paris(d, hour, 0).parse::<Timestamp>().unwrap()
    };
    let past = app.state.now() - SignedDuration::from_hours(48);
    let course = app
        .store()
        .create_course(
            &store::CourseInput {
                title: "Formation".into(),
                code: None,
                description: String::new(),
                default_duration_minutes: 60,
                owner_id: m0.clone(),
                action_nature: Default::default(),
                trainer_ids: vec![t1.clone()],
                learners: vec![],
            },
            jiff::Timestamp::now(),
            &AuditEntry::new("course.create", None, "test", None),
        )
        .await
        .unwrap();
    crate::api::token_for(&app, &m0).await;
    let m0_token_id = app.store().api_tokens(&m0).await.unwrap()[0].id.clone();
    let cast = Cast {
        s: session(&app, at(0, 10), &m0, "S").await,
        o: session(&app, at(1, 14), &t1, "O").await,
        e: session(&app, past, &t1, "E").await,
        c: course.course.id.clone(),
        token: m0_token_id,
    };
    let (email, role) = match who {
        Who::Anonymous => ("", None),
        Who::Trainer => ("t1@example.org", None),
        Who::OtherTrainer => ("t2@example.org", None),
        Who::Manager => ("me@example.org", Some(Role::Manager)),
        Who::Admin => ("me@example.org", Some(Role::Admin)),
    };
    let browser = app.browser();
    let mut api = None;
    if !email.is_empty() {
        let id = match role {
            Some(role) => account(&app, email, role).await,
            None => app.store().user_by_email(email).await.unwrap().unwrap().id,
        };
        let page = browser.login(email, PASSWORD).await;
        assert_eq!(page.status, StatusCode::OK);
        api = Some(Api::new(&app, &id).await);
    }
    let fill = |text: &str| {
        text.replace("{s}", &cast.s)
            .replace("{o}", &cast.o)
            .replace("{e}", &cast.e)
            .replace("{c}", &cast.c)
            .replace("{token}", &cast.token)
            .replace(
                "{slot_a}",
                &monday.checked_add(jiff::Span::new().days(3)).unwrap().to_string(),
            )
            .replace(
                "{slot_b}",
                &paris(monday.checked_add(jiff::Span::new().days(4)).unwrap(), 8, 0),
            )
            .replace("{s_date}", &monday.to_string())
            .replace(
                "{o_date}",
                &monday.checked_add(jiff::Span::new().days(1)).unwrap().to_string(),
            )
    };
    let column = who as usize;
    let mut failures = Vec::new();
    // The API first (it changes less), then the pages.
    for (method, template, expected, body) in api_rows() {
        let path = fill(template);
        let want = expected[column];
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let status = match &api {
            Some(api) => {
                let mut r = api.request(method.clone(), &path);
                if !body.is_empty() {
                    r = r.header("content-type", "application/json").body(fill(body));
                }
                r.send().await.unwrap().status()
            }
            None => testkit::client()
                .request(method.clone(), format!("{}/api/v1{path}", app.url))
                .send()
                .await
                .unwrap()
                .status(),
        };
        if status.as_u16() != want {
            failures.push(format!(
                "{who:?} API {method} {template}: expected {want}, got {status}"
            ));
        }
    }
    for (method, template, expected, fields) in page_rows() {
        let path = fill(template);
        let values: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), fill(v))).collect();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let page = if method == "GET" {
            browser.get(&path).await
        } else {
            browser.post(&path, &pairs).await
        };
        let expect = expected[column];
        let ok = match expect {
            Ok => page.status == StatusCode::OK && page.redirects.is_empty(),
            Created => page.status == StatusCode::CREATED && page.redirects.is_empty(),
            Done => page.status == StatusCode::OK && !page.redirects.is_empty() && page.path != "/login",
            Login => page.status == StatusCode::OK && page.path == "/login" && !page.redirects.is_empty(),
            Forbidden => page.status == StatusCode::FORBIDDEN,
            NotFound => page.status == StatusCode::NOT_FOUND,
            Conflict => page.status == StatusCode::CONFLICT,
        };
        if !ok {
            failures.push(format!(
                "{who:?} {method} {template}: expected {expect:?}, got {} at {} after {:?}",
                page.status, page.path, page.redirects
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "permission matrix violations:\n{}",
        failures.join("\n")
    );

    // What a refused request tried did not happen.
    let store = app.store();
    let s = store.session(&cast.s).await.unwrap().unwrap();
    let e = store.session(&cast.e).await.unwrap().unwrap();
    let c = store.course(&cast.c).await.unwrap().unwrap();
    let staff = matches!(who, Who::Manager | Who::Admin);
    let teaches = who == Who::Trainer;
    assert_eq!(s.session.status == SessionStatus::Cancelled, staff, "S cancelled");
    assert_eq!(s.session.title == "Renommée", staff, "S renamed");
    assert_eq!(s.session.notes == "API", staff, "S's notes by the API");
    assert_eq!(
        s.participants.iter().any(|p| p.email == "nouvelle@example.org"),
        staff || teaches,
        "S's participants"
    );
    assert_eq!(e.session.status, SessionStatus::Scheduled, "E untouched");
    assert_eq!(e.session.title, "E");
    assert_eq!(e.participants.len(), 2);
    assert_eq!(c.course.title == "Formation renommée", staff, "course renamed");
    assert!(!c.course.archived, "archived then unarchived, or untouched");
    let booked = store
        .list_sessions(&store::SessionFilter {
            include_cancelled: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let by_page = booked.iter().any(|b| b.session.title == "Réservée");
    let by_api = booked.iter().any(|b| b.session.title == "Par l'API");
    assert_eq!((by_page, by_api), (staff || teaches, staff || teaches), "new bookings");
    assert!(
        !store.api_tokens(&m0).await.unwrap()[0].revoked,
        "another's token stays"
    );
}

async fn anonymous(backend: Backend) {
    walk(backend, Who::Anonymous).await
}
async fn trainer(backend: Backend) {
    walk(backend, Who::Trainer).await
}
async fn other_trainer(backend: Backend) {
    walk(backend, Who::OtherTrainer).await
}
async fn manager(backend: Backend) {
    walk(backend, Who::Manager).await
}
async fn admin(backend: Backend) {
    walk(backend, Who::Admin).await
}

both_backends!(anonymous, trainer, other_trainer, manager, admin);
