//! Access rules (`[access]`, issue 13) over HTTP, on both backends: the external join check —
//! a real HTTP endpoint started here on 127.0.0.1, reached over TCP — allowing, denying with
//! its message, too slow, down, or answering nonsense, under both failure settings; which roles
//! may book (page and API, nothing written when refused); which Jitsi servers a role may book
//! on; and settings that stop start-up naming their key.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::Role;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{ParticipantRole, SessionFilter};
use testkit::{Backend, both_backends};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::booking_support::{Api, book, form, future_monday, paris, set};
use crate::helpers::{TestApp, html_unescape};
use crate::jitsi_support::*;

both_backends!(
    an_allowing_check_lets_people_in_and_is_told_who,
    a_denying_check_shows_its_message_and_issues_no_token,
    a_slow_check_follows_the_failure_setting,
    a_check_that_is_down_or_answers_nonsense_follows_the_failure_setting,
    booking_roles_without_trainers_refuse_a_trainer,
    jitsi_servers_by_role_limit_where_a_manager_books,
    an_https_check_is_trusted_through_its_configured_authority_only,
);

/// What the endpoint does with the next requests.
#[derive(Clone)]
enum Behaviour {
    /// Answers this status and body.
    Answer(u16, String),
    /// Waits this long, then allows.
    Slow(Duration),
}

/// `(authorization header, JSON body)` of each request the endpoint received.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A join check endpoint: a bare HTTP/1.1 server on 127.0.0.1 that records what it is sent.
struct CheckEndpoint {
    url: String,
    behaviour: Arc<Mutex<Behaviour>>,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl CheckEndpoint {
    async fn start(behaviour: Behaviour) -> CheckEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/check?tenant=acme", listener.local_addr().unwrap());
        let behaviour = Arc::new(Mutex::new(behaviour));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (b, s) = (behaviour.clone(), seen.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (b, s) = (b.clone(), s.clone());
                tokio::spawn(async move { serve(stream, b, s).await });
            }
        });
        CheckEndpoint {
            url,
            behaviour,
            seen,
            task,
        }
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    fn seen(&self) -> Vec<(Option<String>, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for CheckEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: tokio::net::TcpStream, behaviour: Arc<Mutex<Behaviour>>, seen: Seen) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let (head, body_start) = loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&data[..end]).to_string(), end + 4);
        }
    };
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while data.len() < body_start + length {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        data.extend_from_slice(&buf[..n]);
    }
    let body: Value = serde_json::from_slice(&data[body_start..body_start + length]).unwrap_or(Value::Null);
    assert!(head.starts_with("POST /check?tenant=acme HTTP/1.1"), "{head}");
    seen.lock().unwrap().push((header("authorization"), body));
    let behaviour = behaviour.lock().unwrap().clone();
    let (status, text) = match behaviour {
        Behaviour::Answer(status, text) => (status, text),
        Behaviour::Slow(wait) => {
            tokio::time::sleep(wait).await;
            (200, r#"{"allow": true}"#.to_owned())
        }
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn allow() -> Behaviour {
    Behaviour::Answer(200, r#"{"allow": true}"#.into())
}

/// A Dialogue whose join check is `url`, with a Jitsi server and a session open now.
async fn app_with_check(
    backend: Backend,
    url: &str,
    failure: &str,
    timeout_ms: &str,
) -> (TestApp, store::SessionDetail) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_ACCESS_JOIN_CHECK_URL", url),
            ("DIALOGUE_ACCESS_JOIN_CHECK_FAILURE", failure),
            ("DIALOGUE_ACCESS_JOIN_CHECK_TIMEOUT_MS", timeout_ms),
            ("DIALOGUE_ACCESS_JOIN_CHECK_TOKEN", "bearer-for-the-check"),
        ],
    )
    .await;
    server(&app, hs256("Visio A", "https://meet.example.org")).await;
    let (_, _, detail) = people_and_session(&app, minutes_from_now(2), 60).await;
    (app, detail)
}

async fn get(app: &TestApp, path: &str, language: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", app.url))
        .header("accept-language", language)
        .send()
        .await
        .unwrap()
}

/// `dialogue_join_checks_total{outcome="…"}` from `/metrics`.
async fn checks_counted(app: &TestApp, outcome: &str) -> u64 {
    let text = client()
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("dialogue_join_checks_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Whether `r` sends the person into the room with a token.
fn entered(r: &reqwest::Response) -> bool {
    r.status() == StatusCode::SEE_OTHER && location(r).contains("#jwt=ey")
}

async fn an_allowing_check_lets_people_in_and_is_told_who(backend: Backend) {
    let endpoint = CheckEndpoint::start(allow()).await;
    let (app, detail) = app_with_check(backend, &endpoint.url, "deny", "2000").await;
    for (role, kind, moderator) in [
        (ParticipantRole::Learner, "participant", false),
        (ParticipantRole::Guest, "guest", false),
        (ParticipantRole::Moderator, "participant", true),
        (ParticipantRole::Trainer, "user", true),
    ] {
        let p = with_role(&detail, role);
        let r = get(&app, &link(&app, p), "fr").await;
        assert!(entered(&r), "{role:?}: {}", r.status());
        let (auth, body) = endpoint.seen().pop().unwrap();
        assert_eq!(auth.as_deref(), Some("Bearer bearer-for-the-check"));
        assert_eq!(body["session"], json!(detail.session.id));
        assert_eq!(body["title"], json!(detail.session.title));
        assert_eq!(body["course"], Value::Null);
        assert_eq!(body["room"], json!(detail.session.room));
        assert_eq!(body["server"], json!("Visio A"));
        assert_eq!(
            body["role"],
            json!(if moderator { "moderator" } else { "participant" }),
            "{role:?}"
        );
        assert_eq!(
            body["person"],
            json!({"kind": kind, "email": p.email, "name": p.name}),
            "{role:?}"
        );
        let at: jiff::Timestamp = body["at"].as_str().unwrap().parse().unwrap();
        assert!((at.as_second() - jiff::Timestamp::now().as_second()).abs() < 60);
        assert!(body["at"].as_str().unwrap().ends_with('Z'), "RFC 3339 in UTC");
    }
    assert_eq!(checks_counted(&app, "allow").await, 4);
    assert_eq!(checks_counted(&app, "deny").await, 0);
    // Before the window opens nobody is asked about: Dialogue's own rules come first.
    app.clock
        .freeze_at(detail.session.starts_at - SignedDuration::from_hours(2));
    let r = get(&app, &link(&app, learner(&detail)), "fr").await;
    assert_eq!(r.status(), StatusCode::OK, "the waiting page");
    assert_eq!(endpoint.seen().len(), 4, "not asked");
}

async fn a_denying_check_shows_its_message_and_issues_no_token(backend: Backend) {
    let endpoint = CheckEndpoint::start(Behaviour::Answer(
        200,
        r#"{"allow": false, "message": "<b>Inscription non réglée</b> — voir le secrétariat"}"#.into(),
    ))
    .await;
    let (app, detail) = app_with_check(backend, &endpoint.url, "allow", "2000").await;
    let path = link(&app, learner(&detail));
    let r = get(&app, &path, "fr").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("location").is_none(), "no way into the room");
    let body = r.text().await.unwrap();
    assert!(!body.contains("jwt"), "no token anywhere");
    assert!(body.contains("Accès refusé"), "French by default");
    assert!(
        body.contains("&lt;b&gt;Inscription non réglée&lt;/b&gt; — voir le secrétariat")
            || body.contains("&#60;b&#62;Inscription non réglée&#60;/b&#62; — voir le secrétariat"),
        "the endpoint's message, escaped: {body}"
    );
    assert!(!body.contains("<b>Inscription"), "never as markup");
    let english = get(&app, &path, "en").await;
    assert_eq!(english.status(), StatusCode::FORBIDDEN);
    let english = html_unescape(&english.text().await.unwrap());
    assert!(
        english.contains("Access refused") && english.contains("Reason given:"),
        "{english}"
    );
    assert!(english.contains("Inscription non réglée"));
    // A denial without a message: the page alone.
    endpoint.set(Behaviour::Answer(200, r#"{"allow": false}"#.into()));
    let r = get(&app, &path, "fr").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!r.text().await.unwrap().contains("Motif indiqué"));
    assert_eq!(checks_counted(&app, "deny").await, 3);
    assert_eq!(checks_counted(&app, "allow").await, 0);
    // Staff joining from their account are asked about too.
    let browser = app.browser();
    app.user("admin@example.org", Role::Admin).await;
    assert_eq!(
        browser
            .login("admin@example.org", crate::helpers::PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    let page = browser.get(&format!("/sessions/{}/join", detail.session.id)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    let (_, body) = endpoint.seen().pop().unwrap();
    assert_eq!(body["person"]["kind"], json!("user"));
    assert_eq!(body["person"]["email"], json!("admin@example.org"));
    assert_eq!(body["role"], json!("moderator"));
}

async fn a_slow_check_follows_the_failure_setting(backend: Backend) {
    let endpoint = CheckEndpoint::start(Behaviour::Slow(Duration::from_millis(1500))).await;
    for (failure, admitted) in [("deny", false), ("allow", true)] {
        let (app, detail) = app_with_check(backend, &endpoint.url, failure, "300").await;
        let started = std::time::Instant::now();
        let r = get(&app, &link(&app, learner(&detail)), "fr").await;
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_millis(1400),
            "{failure}: the timeout holds ({waited:?})"
        );
        assert!(
            waited >= Duration::from_millis(290),
            "{failure}: it did wait ({waited:?})"
        );
        assert_eq!(entered(&r), admitted, "{failure}: {}", r.status());
        if !admitted {
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            let body = r.text().await.unwrap();
            assert!(body.contains("Accès refusé") && !body.contains("Motif"), "{body}");
        }
        assert_eq!(checks_counted(&app, "error").await, 1, "{failure}");
        assert_eq!(checks_counted(&app, "allow").await, 0, "{failure}");
        app.stop().await;
    }
    // The endpoint was really reached, twice (once per setting).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(endpoint.seen().len(), 2);
}

async fn a_check_that_is_down_or_answers_nonsense_follows_the_failure_setting(backend: Backend) {
    // A port nobody listens on: bound, then let go.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/check", l.local_addr().unwrap())
    };
    let endpoint = CheckEndpoint::start(allow()).await;
    for (failure, admitted) in [("deny", false), ("allow", true)] {
        let (app, detail) = app_with_check(backend, &down, failure, "1000").await;
        let r = get(&app, &link(&app, learner(&detail)), "fr").await;
        assert_eq!(entered(&r), admitted, "down, {failure}: {}", r.status());
        if !admitted {
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        assert_eq!(checks_counted(&app, "error").await, 1);
        app.stop().await;

        let (app, detail) = app_with_check(backend, &endpoint.url, failure, "1000").await;
        let path = link(&app, learner(&detail));
        let answers = [
            (500, r#"{"allow": true}"#),
            (302, ""),
            (200, "yes"),
            (200, r#"{"allow": "true"}"#),
            (200, r#"{"message": "no verdict"}"#),
        ];
        for (status, text) in answers {
            endpoint.set(Behaviour::Answer(status, text.into()));
            let r = get(&app, &path, "fr").await;
            assert_eq!(entered(&r), admitted, "{status} {text}, {failure}: {}", r.status());
            if !admitted {
                assert_eq!(r.status(), StatusCode::FORBIDDEN);
            }
        }
        assert_eq!(checks_counted(&app, "error").await, answers.len() as u64);
        endpoint.set(allow());
        assert!(
            entered(&get(&app, &path, "fr").await),
            "a good answer again lets them in"
        );
        app.stop().await;
    }
}

/// A booking at `hour` (each its own hour: the trainer teaches one session at a time).
fn api_booking_at(hour: i8, trainer: &str, server: Option<&str>) -> Value {
    let mut body = json!({
        "title": "Règles d’accès", "starts_at": paris(future_monday(), hour, 0), "time_zone": "Europe/Paris",
        "duration_minutes": 60, "trainers": [trainer]
    });
    if let Some(id) = server {
        body["jitsi_server_id"] = json!(id);
    }
    body
}

fn api_booking(trainer: &str, server: Option<&str>) -> Value {
    api_booking_at(9, trainer, server)
}

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

async fn booking_roles_without_trainers_refuse_a_trainer(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_ACCESS_BOOKING_ROLES", "admin,manager")]).await;
    let (browser, trainer) = app.logged_in("theo@example.org", Role::Trainer).await;
    // The page: no form, and a post is refused with the reason.
    let page = browser.get("/sessions/new").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        html_unescape(&page.body).contains("Votre rôle ne permet pas de réserver des séances"),
        "{}",
        page.body
    );
    let page = book(
        &browser,
        &form("Cours", future_monday(), "09:00", 60, "theo@example.org"),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    // The API: a problem that says why.
    let api = Api::new(&app, &trainer.id).await;
    let (status, problem) = api.post("/sessions", &api_booking("theo@example.org", None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Votre rôle ne permet pas de réserver"),
        "{problem}"
    );
    assert_eq!(sessions_in_store(&app).await, 0, "nothing written");
    // The dashboard offers no booking to them…
    let dashboard = browser.get("/").await;
    assert!(!dashboard.body.contains("href=\"/sessions/new\""), "no booking link");
    // …and a manager still books, for that trainer.
    let manager = app.user("marie@example.org", Role::Manager).await;
    let api = Api::new(&app, &manager.id).await;
    let (status, booked) = api.post("/sessions", &api_booking("theo@example.org", None)).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert_eq!(sessions_in_store(&app).await, 1);
}

async fn jitsi_servers_by_role_limit_where_a_manager_books(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_ACCESS_JITSI_SERVERS_BY_ROLE", "manager=Visio B")]).await;
    let a = server(&app, hs256("Visio A", "https://a.example.org")).await;
    let b = server(&app, hs256("Visio B", "https://b.example.org")).await;
    app.user("theo@example.org", Role::Trainer).await;
    let (browser, manager) = app.logged_in("marie@example.org", Role::Manager).await;
    let api = Api::new(&app, &manager.id).await;
    // Not on A…
    let (status, problem) = api
        .post("/sessions", &api_booking("theo@example.org", Some(&a.id)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["errors"][0]["field"], json!("jitsi_server_id"), "{problem}");
    let page = {
        let mut fields = form("Cours", future_monday(), "09:00", 60, "theo@example.org");
        set(&mut fields, "jitsi_server", &a.id);
        book(&browser, &fields).await
    };
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(
        html_unescape(&page.body).contains("ne permet pas de réserver des séances sur ce serveur Jitsi"),
        "{}",
        page.body
    );
    assert_eq!(sessions_in_store(&app).await, 0, "nothing written");
    // …on B, and on B when they choose none (A is the default: the session is pinned to B).
    for (hour, chosen) in [(9, Some(b.id.as_str())), (11, None)] {
        let (status, booked) = api
            .post("/sessions", &api_booking_at(hour, "theo@example.org", chosen))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{chosen:?}: {booked}");
        let id = booked["sessions"][0]["id"].as_str().unwrap();
        let (_, session) = api.get(&format!("/sessions/{id}")).await;
        assert_eq!(session["jitsi_server_id"], json!(b.id), "{chosen:?}: {session}");
    }
    // The form offers B alone.
    let page = browser.get("/sessions/new").await;
    assert!(page.body.contains(&format!("value=\"{}\"", b.id)));
    assert!(!page.body.contains(&format!("value=\"{}\"", a.id)), "A is not offered");
    // An admin is not limited: the default server, as before.
    let admin = app.user("ada@example.org", Role::Admin).await;
    let api = Api::new(&app, &admin.id).await;
    let (status, booked) = api
        .post("/sessions", &api_booking_at(13, "theo@example.org", None))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let id = booked["sessions"][0]["id"].as_str().unwrap();
    let (_, session) = api.get(&format!("/sessions/{id}")).await;
    assert_eq!(session["jitsi_server_id"], json!(a.id), "the default server: {session}");
    let (status, booked) = api
        .post("/sessions", &api_booking_at(15, "theo@example.org", Some(&a.id)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
}

#[tokio::test]
async fn bad_access_settings_stop_start_up_naming_the_key() {
    use dialogue::config::{Sources, load};
    for (key, value, named, why) in [
        (
            "DIALOGUE_ACCESS_JOIN_CHECK_URL",
            "ftp://check.example.org/",
            "access.join_check_url",
            "https://",
        ),
        (
            "DIALOGUE_ACCESS_JOIN_CHECK_TIMEOUT_MS",
            "0",
            "access.join_check_timeout_ms",
            "100 to 30000",
        ),
        (
            "DIALOGUE_ACCESS_JOIN_CHECK_FAILURE",
            "maybe",
            "access.join_check_failure",
            "deny",
        ),
        (
            "DIALOGUE_ACCESS_BOOKING_ROLES",
            "admin,root",
            "access.booking_roles",
            "trainer",
        ),
        (
            "DIALOGUE_ACCESS_JOIN_CHECK_CA_FILE",
            "/nonexistent/authority.pem",
            "access.join_check_ca_file",
            "cannot be read",
        ),
    ] {
        let mut env = vec![(key.to_owned(), value.to_owned())];
        if key.ends_with("_CA_FILE") {
            // The authority is read only for a check that is on.
            env.push((
                "DIALOGUE_ACCESS_JOIN_CHECK_URL".into(),
                "https://check.example.org/".into(),
            ));
        }
        let sources = Sources { file: None, env };
        let e = load(&sources).map(|_| ()).unwrap_err().0;
        assert!(
            e.contains(named) && e.contains(why) && e.contains(key),
            "{key}={value}: {e}"
        );
    }
    // The binary says so and stops (`check` and `serve` read the same configuration).
    let data = testkit::temp_dir("access-bad");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dialogue"))
        .arg("check")
        .env("DIALOGUE_CONFIG", "")
        .env("DIALOGUE_DATA_DIR", &data)
        .env("DIALOGUE_ACCESS_JOIN_CHECK_URL", "ftp://check.example.org/")
        .output()
        .unwrap();
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("access.join_check_url"), "{stderr}");
    let _ = std::fs::remove_dir_all(data);
}

/// `dialogue check` asks the join check endpoint a probe (marked `"probe": true`, with the
/// bearer) and reports whether it answers; a broken endpoint fails the check and says what the
/// failure policy then does to joins.
#[tokio::test]
async fn check_probes_the_join_check_endpoint() {
    let endpoint = CheckEndpoint::start(Behaviour::Answer(200, r#"{"allow": false, "message": "no"}"#.into())).await;
    let data = testkit::temp_dir("access-check");
    let check = |data: std::path::PathBuf, url: String| {
        tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dialogue"));
            for (k, _) in std::env::vars() {
                if k.starts_with("DIALOGUE_") {
                    cmd.env_remove(k);
                }
            }
            let out = cmd
                .arg("check")
                .env("DIALOGUE_CONFIG", "")
                .env("DIALOGUE_DATA_DIR", &data)
                .env("DIALOGUE_ACCESS_JOIN_CHECK_URL", &url)
                .env("DIALOGUE_ACCESS_JOIN_CHECK_TOKEN", "bearer-for-the-check")
                .output()
                .unwrap();
            (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
        })
    };
    let (ok, out) = check(data.clone(), endpoint.url.clone()).await.unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "ok   join check {} answers (it denies the probe)",
            endpoint.url.split('?').next().unwrap()
        )),
        "{out}"
    );
    assert!(
        !out.contains("tenant=acme"),
        "the query stays out of what check prints: {out}"
    );
    let seen = endpoint.seen();
    assert_eq!(seen.len(), 1, "one probe");
    assert_eq!(seen[0].0.as_deref(), Some("Bearer bearer-for-the-check"));
    assert_eq!(seen[0].1["probe"], Value::Bool(true), "{}", seen[0].1);
    assert_eq!(seen[0].1["person"]["kind"], "guest");

    endpoint.set(Behaviour::Answer(500, "oops".into()));
    let (ok, out) = check(data.clone(), endpoint.url.clone()).await.unwrap();
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL join check"), "{out}");
    assert!(out.contains("answered HTTP 500"), "{out}");
    assert!(out.contains("join_check_failure = deny"), "{out}");
    // Nothing listening: the connection is refused.
    drop(endpoint);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/check", l.local_addr().unwrap())
    };
    let (ok, out) = check(data.clone(), closed).await.unwrap();
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL join check") && out.contains("cannot connect"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(data);
}

/// A join check endpoint over HTTPS (Python's `ssl` module), its certificate from a throwaway
/// authority; it refuses every join with the message "checked over TLS". Killed when dropped.
struct HttpsEndpoint {
    child: std::process::Child,
    dir: std::path::PathBuf,
    url: String,
    authority: std::path::PathBuf,
}

impl HttpsEndpoint {
    async fn start() -> HttpsEndpoint {
        let dir = testkit::temp_dir("https-check");
        let (authority, cert, key) = testkit::tls_authority_and_server(&dir);
        let port = testkit::free_port();
        let script = format!(
            "import http.server, ssl\n\
             class Check(http.server.BaseHTTPRequestHandler):\n\
             \x20   def do_POST(self):\n\
             \x20       self.rfile.read(int(self.headers.get('content-length', '0')))\n\
             \x20       body = b'{{\"allow\": false, \"message\": \"checked over TLS\"}}'\n\
             \x20       self.send_response(200)\n\
             \x20       self.send_header('content-type', 'application/json')\n\
             \x20       self.send_header('content-length', str(len(body)))\n\
             \x20       self.end_headers()\n\
             \x20       self.wfile.write(body)\n\
             \x20   def log_message(self, *args):\n\
             \x20       pass\n\
             server = http.server.HTTPServer(('127.0.0.1', {port}), Check)\n\
             context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
             context.load_cert_chain({cert:?}, {key:?})\n\
             server.socket = context.wrap_socket(server.socket, server_side=True)\n\
             server.serve_forever()\n"
        );
        let child = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        testkit::wait_for_port(port, "the HTTPS join check").await;
        HttpsEndpoint {
            child,
            dir,
            url: format!("https://127.0.0.1:{port}/check"),
            authority,
        }
    }
}

impl Drop for HttpsEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An endpoint inside the company, its certificate from the company's own authority: trusted
/// with `join_check_ca_file`, and without it a failure like any other (here `allow`, so the
/// person enters: the endpoint's refusal was never read).
async fn an_https_check_is_trusted_through_its_configured_authority_only(backend: Backend) {
    let endpoint = HttpsEndpoint::start().await;
    let authority = endpoint.authority.display().to_string();
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_ACCESS_JOIN_CHECK_URL", endpoint.url.as_str()),
            ("DIALOGUE_ACCESS_JOIN_CHECK_FAILURE", "allow"),
            ("DIALOGUE_ACCESS_JOIN_CHECK_CA_FILE", authority.as_str()),
        ],
    )
    .await;
    server(&app, hs256("Visio A", "https://meet.example.org")).await;
    let (_, _, detail) = people_and_session(&app, minutes_from_now(2), 60).await;
    let r = get(&app, &link(&app, learner(&detail)), "en").await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the endpoint's answer, read over TLS"
    );
    let body = html_unescape(&r.text().await.unwrap());
    assert!(body.contains("checked over TLS"), "{body}");
    assert_eq!(checks_counted(&app, "deny").await, 1);

    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_ACCESS_JOIN_CHECK_URL", endpoint.url.as_str()),
            ("DIALOGUE_ACCESS_JOIN_CHECK_FAILURE", "allow"),
        ],
    )
    .await;
    server(&app, hs256("Visio A", "https://meet.example.org")).await;
    let (_, _, detail) = people_and_session(&app, minutes_from_now(2), 60).await;
    let r = get(&app, &link(&app, learner(&detail)), "en").await;
    assert!(
        entered(&r),
        "an untrusted certificate is a failure, and failures allow here"
    );
    assert_eq!(checks_counted(&app, "error").await, 1);
    assert_eq!(checks_counted(&app, "deny").await, 0);
}
