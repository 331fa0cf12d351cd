//! HTTP edge cases, on both backends: NUL characters in any text input (which PostgreSQL's
//! text cannot hold) refused before anything reads them, request ids believed only from trusted
//! proxies, bodies over the limit refused in each surface's own format, the bearer scheme read
//! case-insensitively, and API tokens that do not outlive a password change.

use std::io::Write;
use std::process::{Command, Stdio};

use domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::booking_support::{Api, form, future_monday, paris, post};
use crate::helpers::{PASSWORD, TestApp};
use crate::jitsi_support::{hs256, learner, link, minutes_from_now, people_and_session, server};

both_backends!(
    nul_characters_are_refused_everywhere_and_nothing_is_written,
    request_ids_are_believed_from_trusted_proxies_only,
    oversized_bodies_are_refused_in_each_surfaces_format,
    the_bearer_scheme_is_case_insensitive,
    a_password_change_revokes_the_accounts_api_tokens,
);

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A response's status, content type and body.
async fn answer(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let kind = content_type(&r);
    (status, kind, r.text().await.unwrap())
}

/// What the database holds that a refused request could have changed.
async fn written(app: &TestApp, api: &Api, meet_id: Option<&str>) -> (usize, usize, i64) {
    let audit = app.store().audit_log(1000, None).await.unwrap().len();
    let (status, sessions) = api.get("/sessions?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    let sessions = sessions["items"].as_array().map_or(0, Vec::len);
    let events = match meet_id {
        Some(_) => app.store().jitsi_event_count(None).await.unwrap(),
        None => 0,
    };
    (audit, sessions, events)
}

async fn nul_characters_are_refused_everywhere_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    // Starting in ten minutes: its room may be reserved now.
    let (manager, _, detail) = people_and_session(&app, minutes_from_now(10), 60).await;
    let api = Api::new(&app, &manager.id).await.speaking("en");
    let browser = app.browser();
    assert_eq!(browser.login(&manager.email, PASSWORD).await.status, StatusCode::OK);
    let before = written(&app, &api, Some(&meet.id)).await;
    let client = testkit::client();

    // Path ids: not found, as a page or as problem details.
    for path in ["/sessions/%00x", "/sessions/a%00/edit", "/courses/%00"] {
        let (status, kind, body) = answer(browser.get_raw(path).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(body.contains("Page introuvable"), "{path}: the error page");
    }
    for path in ["/sessions/a%00", "/courses/%00", "/sessions/a%00/cancel"] {
        let r = api.request(reqwest::Method::GET, path).send().await.unwrap();
        let (status, kind, body) = answer(r).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(kind, "application/problem+json", "{path}");
    }
    let personal = link(&app, learner(&detail));
    let (status, kind, _) = answer(browser.get_raw(&format!("{personal}%00")).await).await;
    assert_eq!((status, kind.starts_with("text/html")), (StatusCode::NOT_FOUND, true));
    let (status, _, _) = answer(browser.get_raw("/j/%00/rsvp").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Query parameters: 422 with the reason, as a page or as problem details.
    let (status, kind, body) = answer(browser.get_raw("/sessions?from=%00").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(kind.starts_with("text/html"));
    assert!(body.contains("caractère NUL"), "{body}");
    let (status, kind, _) = answer(browser.get_raw("/calendar?week=2026-W1%00").await).await;
    assert_eq!(
        (status, kind.starts_with("text/html")),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let r = api
        .request(reqwest::Method::GET, "/sessions?from=%00")
        .send()
        .await
        .unwrap();
    let (status, kind, body) = answer(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(kind, "application/problem+json");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 422);
    assert!(
        problem["detail"].as_str().unwrap().contains("NUL character"),
        "{problem}"
    );

    // The login form (no attempt is counted against the account), a booking form field.
    let stranger = app.browser();
    let page = stranger.login("marie\0@example.org", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    let page = stranger.login(&manager.email, "pass\0word").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    let fields = form("Atelier\0RGPD", future_monday(), "09:00", 60, "theo@example.org");
    let page = post(&browser, "/sessions", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.contains("caractère NUL"));
    let page = browser
        .post(
            "/profile",
            &[
                ("display_name", "Marie\0"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);

    // JSON bodies: `\u0000` in a value or in a key.
    let body = json!({
        "title": "a\u{0}b",
        "starts_at": paris(future_monday(), 9, 0),
        "time_zone": "Europe/Paris",
        "duration_minutes": 60,
        "trainers": ["theo@example.org"],
    });
    let (status, problem) = api.post("/sessions", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "/api/v1/problems/invalid");
    let (status, _) = api
        .patch(&format!("/sessions/{}", detail.session.id), &json!({"notes": "x\u{0}"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api.post("/courses", &json!({"title": "Rust", "a\u{0}": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // An escaped backslash followed by `u0000` is six ordinary characters: not refused here.
    let (status, problem) = api.post("/courses", &json!({"title": "C:\\u0000"})).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let course_id = problem["id"].as_str().unwrap().to_owned();
    app.store()
        .audit_log(1000, None)
        .await
        .unwrap()
        .iter()
        .find(|e| e.action.starts_with("course."))
        .expect("the course was created");

    // The endpoints Prosody calls: a form body and a JSON body, answered in their JSON.
    let room = detail.session.room.clone();
    let reservation = |owner: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("name", &room)
            .append_pair(
                "start_time",
                &jitsi::format_java_date(jiff::Timestamp::now().as_second()),
            )
            .append_pair("mail_owner", owner)
            .finish()
    };
    let reserve = |body: String| {
        client
            .post(format!("{}/jitsi/reservations/conference", app.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Bearer {}", meet.api_secret))
            .body(body)
            .send()
    };
    let r = reserve(reservation("owner\0@meet.example.org")).await.unwrap();
    let (status, kind, body) = answer(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(kind, "application/json");
    let message: Value = serde_json::from_str(&body).unwrap();
    assert!(
        message["message"].as_str().unwrap().contains("caractère NUL"),
        "{message}"
    );
    let event = json!({"event_name": "muc-occupant-joined", "room_name": room,
                       "occupant": {"occupant_jid": "a@b/c", "joined_at": 1_900_000_000, "name": "Zo\u{0}é"}});
    let r = client
        .post(format!("{}/jitsi/events/occupant/joined", app.url))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", meet.api_secret))
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    let (status, kind, body) = answer(r).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "application/json"),
        "{body}"
    );

    // Nothing was written: no audit entry, session or event, and the room was not reserved.
    let (audit, sessions, events) = written(&app, &api, Some(&meet.id)).await;
    assert_eq!(
        (audit, sessions, events),
        (before.0 + 1, before.1, before.2),
        "only the course above was created"
    );
    let r = reserve(reservation("owner@meet.example.org")).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the room was not reserved by the refused request"
    );
    let (status, course) = api.get(&format!("/courses/{course_id}")).await;
    assert_eq!((status, course["title"].as_str()), (StatusCode::OK, Some("C:\\u0000")));
}

async fn request_ids_are_believed_from_trusted_proxies_only(backend: Backend) {
    let client = testkit::client();
    let id_of = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    // Not a trusted proxy (none configured): whatever the client sends is replaced by ours.
    let direct = TestApp::spawn(backend).await;
    for sent in ["abc123", "a b", "<script>", &"x".repeat(65), "a\tb"] {
        let r = client
            .get(format!("{}/healthz", direct.url))
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();
        let id = id_of(&r);
        assert!(
            id != sent && id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{sent:?} became {id:?}"
        );
    }
    let r = client.get(format!("{}/login", direct.url)).send().await.unwrap();
    assert_eq!(id_of(&r).len(), 16, "every answer has one");
    drop(direct);
    // From a trusted proxy a plausible id is kept (one id in both logs); others still are not.
    let proxied = TestApp::spawn_with(backend, &[("DIALOGUE_HTTP_TRUSTED_PROXIES", "127.0.0.0/8,::1/128")]).await;
    let r = client
        .get(format!("{}/healthz", proxied.url))
        .header("x-request-id", "0af7651916cd43dd8448eb211c80319c")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&r), "0af7651916cd43dd8448eb211c80319c");
    for sent in ["a b", "<script>", &"x".repeat(65)] {
        let r = client
            .get(format!("{}/healthz", proxied.url))
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();
        assert_eq!(id_of(&r).len(), 16, "{sent:?} is not kept");
    }
    // Only proxies in the list: a list that does not name this machine believes nothing.
    let elsewhere = TestApp::spawn_with(backend, &[("DIALOGUE_HTTP_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    let r = client
        .get(format!("{}/healthz", elsewhere.url))
        .header("x-request-id", "abc123")
        .send()
        .await
        .unwrap();
    assert_ne!(id_of(&r), "abc123");
}

async fn oversized_bodies_are_refused_in_each_surfaces_format(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_HTTP_BODY_LIMIT_KIB", "4")]).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let (manager, _, _) = people_and_session(&app, minutes_from_now(30), 60).await;
    let big = "x".repeat(5 * 1024);
    let fits = "x".repeat(2 * 1024);
    let client = testkit::client();

    // The API: problem details in the caller's language (Accept-Language, else the token
    // holder's, here French).
    let api = Api::new(&app, &manager.id).await;
    for (language, detail) in [
        (Some("en"), "The request is too large."),
        (None, "La demande est trop volumineuse."),
    ] {
        let mut request = api
            .request(reqwest::Method::POST, "/sessions")
            .header("content-type", "application/json")
            .body(json!({ "title": big }).to_string());
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let (status, kind, body) = answer(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(kind, "application/problem+json");
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["status"], 413);
        assert_eq!(problem["type"], "/api/v1/problems/too-large");
        assert_eq!(problem["detail"], detail);
    }
    // A body that fits reaches the handler (which refuses it for what it says, not its size).
    let r = api
        .request(reqwest::Method::POST, "/sessions")
        .header("content-type", "application/json")
        .body(json!({ "title": fits }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Pages: an HTML page in the person's language (their browser's, or their account's once
    // logged in), in the frame of their login.
    let anonymous = app.browser().speaking("en");
    let token = anonymous.csrf().await;
    let r = anonymous
        .client
        .post(format!("{}/login", app.url))
        .header("accept-language", "en")
        .form(&[("_csrf", token.as_str()), ("email", big.as_str()), ("password", "p")])
        .send()
        .await
        .unwrap();
    let (status, kind, body) = answer(r).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(body.contains("The request is too large."), "{body}");
    assert!(!body.contains("/logout"));
    let browser = app.browser().speaking("en");
    assert_eq!(browser.login(&manager.email, PASSWORD).await.status, StatusCode::OK);
    let mut fields = form("Atelier", future_monday(), "09:00", 60, "theo@example.org");
    fields.push(("notes".into(), big.clone()));
    let page = post(&browser, "/sessions", &fields).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("La demande est trop volumineuse."), "{}", page.body);
    assert!(page.contains("action=\"/logout\""), "still logged in: {}", page.body);
    assert!(page.headers.contains_key("content-security-policy"));
    assert!(page.headers.contains_key("x-request-id"));
    // Nothing was booked.
    let (status, list) = api.get("/sessions").await;
    assert_eq!(
        (status, list["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );

    // Prosody: its JSON, in the installation's default language.
    let r = client
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {}", meet.api_secret))
        .body(format!("name=room&mail_owner={big}"))
        .send()
        .await
        .unwrap();
    let (status, kind, body) = answer(r).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/json")
    );
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["message"], "La demande est trop volumineuse.");
}

async fn the_bearer_scheme_is_case_insensitive(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("theo@example.org", Role::Trainer).await;
    let token = token_for(&app, &user.id).await;
    let client = testkit::client();
    let me = |authorization: String| {
        client
            .get(format!("{}/api/v1/me", app.url))
            .header("authorization", authorization)
            .send()
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = me(format!("{scheme} {token}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{scheme}");
    }
    for refused in [format!("Basic {token}"), format!("Bearer{token}"), token.clone()] {
        let r = me(refused.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{refused}");
        assert_eq!(content_type(&r), "application/problem+json");
    }
}

/// `dialogue ARGS` on the test's database, with `stdin`.
fn dialogue(app: &TestApp, args: &[&str], stdin: &str) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialogue"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(args)
        .env("DIALOGUE_DATABASE_URL", &app.db.url)
        .env("DIALOGUE_DATA_DIR", &app.data_dir)
        .env("DIALOGUE_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// API tokens are revoked with every password change: whoever made a token with the old
/// password (someone who had guessed or stolen it) must lose the API with the pages.
async fn a_password_change_revokes_the_accounts_api_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, user) = app.logged_in("theo@example.org", Role::Trainer).await;
    let other = app.user("marie@example.org", Role::Manager).await;
    let bystander = token_for(&app, &other.id).await;
    let me = |token: String| {
        let url = format!("{}/api/v1/me", app.url);
        async move {
            testkit::client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    // On the profile page.
    let token = token_for(&app, &user.id).await;
    assert_eq!(me(token.clone()).await, StatusCode::OK);
    let new_password = "another good passphrase";
    let page = browser
        .post(
            "/profile/password",
            &[
                ("current_password", PASSWORD),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(me(token).await, StatusCode::UNAUTHORIZED, "revoked by the change");
    assert!(
        app.store()
            .api_tokens(&user.id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.revoked),
        "listed as revoked"
    );
    // A token made afterwards works: the change revoked what existed, nothing more.
    let after = token_for(&app, &user.id).await;
    assert_eq!(me(after.clone()).await, StatusCode::OK);

    // From the command line.
    let (code, err) = dialogue(
        &app,
        &["user", "passwd", "theo@example.org", "--password-stdin"],
        "a third good passphrase\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(me(after).await, StatusCode::UNAUTHORIZED);

    // Another account's tokens are untouched.
    assert_eq!(me(bystander).await, StatusCode::OK);
}
