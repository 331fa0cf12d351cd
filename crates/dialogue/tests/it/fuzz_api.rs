//! A property fuzzer over the API's own OpenAPI document: schemathesis (`python3 -m pip install
//! schemathesis==4.32.5`, as `.ci/peers` does) reads `/api/v1/openapi.json` from the running server, on each backend, and
//! sends what the document allows and what it forbids, for a bounded time. It must find no 5xx,
//! no dropped connection, no answer the document does not describe (status, content type,
//! headers, body schema), no request the document forbids that is accepted, no operation that
//! ignores its token, and no method answered other than 405 with `Allow`.
//!
//! Everything schemathesis checks is on, but `positive_data_acceptance`: the document cannot say
//! everything the rules refuse (a start in the past, a trainer without an account, a time taken
//! by another session), so a request the schema allows may rightly get a 409 or a 422.
//!
//! `DIALOGUE_FUZZ_SECONDS` sets the time per backend (default 90), `DIALOGUE_FUZZ_SEED` replays
//! a run (each failure prints its seed and a `curl` command that reproduces it).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::booking_support::{Api, future_monday, paris};
use crate::helpers::TestApp;

both_backends!(schemathesis_finds_no_server_error_and_no_broken_promise);

const INSTALL: &str =
    "schemathesis is not installed: python3 -m pip install schemathesis==4.32.5 (bash .ci/peers does it)";

/// Ids the fuzzer draws most path parameters from (the rest it makes up), so that operations on
/// one session, course or server reach their rules instead of answering 404.
struct Known {
    /// Sessions of a series, with their participants: read, changed, people replaced, links.
    sessions: Vec<String>,
    participants: Vec<String>,
    /// Single sessions for the cancellations (a cancelled series would leave nothing to change).
    cancellable: Vec<String>,
    courses: Vec<String>,
    servers: Vec<String>,
}

async fn seed(admin: &Api, manager: &Api) -> Known {
    let mut servers = Vec::new();
    for (name, default) in [("Meet", true), ("Other", false)] {
        let (status, server) = admin
            .post(
                "/jitsi-servers",
                &json!({
                    "name": name, "base_url": "https://meet.example.org", "domain": "meet.example.org",
                    "token_mode": "hs256", "app_id": "dialogue",
                    "app_secret": crate::jitsi_support::APP_SECRET, "default": default
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{server}");
        servers.push(id(&server));
    }
    let (status, course) = manager
        .post(
            "/courses",
            &json!({ "title": "Sécurité 🔐", "trainers": ["theo@example.org"],
                     "learners": [{ "name": "Léa", "email": "lea@example.org" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{course}");
    let monday = future_monday();
    let (status, series) = manager
        .post(
            "/sessions",
            &json!({
                "course_id": id(&course), "starts_at": paris(monday, 9, 0), "time_zone": "Europe/Paris",
                "recurrence": "FREQ=WEEKLY;COUNT=3", "jitsi_server_id": servers[1],
                "guests": [{ "name": "Zoé", "email": "zoe@partner.example" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{series}");
    let sessions: Vec<&Value> = series["sessions"].as_array().unwrap().iter().collect();
    let mut cancellable = Vec::new();
    for hour in [14, 15, 16] {
        let (status, single) = manager
            .post(
                "/sessions",
                &json!({ "title": "À annuler", "starts_at": paris(monday, hour, 0), "time_zone": "Europe/Paris",
                         "duration_minutes": 45, "trainers": ["ana@example.org"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{single}");
        cancellable.push(id(&single["sessions"][0]));
    }
    Known {
        sessions: sessions.iter().map(|s| id(s)).collect(),
        participants: sessions
            .iter()
            .flat_map(|s| s["participants"].as_array().unwrap().iter().map(id))
            .collect(),
        cancellable,
        courses: vec![id(&course)],
        servers,
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

/// schemathesis' configuration: the manager's token for everything but the Jitsi servers (the
/// admin's), and the known ids as dictionaries drawn from four times out of five.
fn config(known: &Known, manager: &str, admin: &str) -> String {
    let list = |ids: &[String]| serde_json::to_string(ids).unwrap();
    let cancel = "/cancel$";
    format!(
        r#"headers = {{ Authorization = "Bearer {manager}" }}

[dictionaries.sessions]
values = {sessions}
[dictionaries.cancellable]
values = {cancellable}
[dictionaries.participants]
values = {participants}
[dictionaries.courses]
values = {courses}
[dictionaries.servers]
values = {servers}

[[operations]]
include-path-regex = "{cancel}"
parameters = {{ "path.id" = {{ dictionary = "cancellable", probability = 0.8 }} }}

[[operations]]
include-path-regex = "^/sessions/"
exclude-path-regex = "{cancel}"
parameters = {{ "path.id" = {{ dictionary = "sessions", probability = 0.8 }}, "path.participant_id" = {{ dictionary = "participants", probability = 0.8 }} }}

[[operations]]
include-path-regex = "^/courses/"
parameters = {{ "path.id" = {{ dictionary = "courses", probability = 0.8 }} }}

[[operations]]
include-path-regex = "^/jitsi-servers"
headers = {{ Authorization = "Bearer {admin}" }}
parameters = {{ "path.id" = {{ dictionary = "servers", probability = 0.8 }} }}
"#,
        sessions = list(&known.sessions),
        cancellable = list(&known.cancellable),
        participants = list(&known.participants),
        courses = list(&known.courses),
        servers = list(&known.servers),
    )
}

async fn schemathesis_finds_no_server_error_and_no_broken_promise(backend: Backend) {
    let version = std::process::Command::new("python3")
        .args(["-m", "schemathesis.cli", "--version"])
        .output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "{INSTALL} ({version:?})"
    );
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let admin_api = Api::new(&app, &admin.id).await;
    let manager_api = Api::new(&app, &manager.id).await;
    let known = seed(&admin_api, &manager_api).await;

    let dir = testkit::temp_dir("schemathesis");
    let config_file = dir.join("schemathesis.toml");
    std::fs::write(&config_file, config(&known, &manager_api.token, &admin_api.token)).unwrap();
    let report = dir.join("report.json");
    let seconds: u64 = std::env::var("DIALOGUE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(90);
    let mut command = tokio::process::Command::new("python3");
    command
        .current_dir(&dir)
        .args(["-m", "schemathesis.cli"])
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", app.url))
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .args(["--max-time", &seconds.to_string()])
        // One worker: on 2 cores a second one gains little, and Python 3.11's ast module is not
        // safe for the concurrent lambda descriptions Hypothesis makes (seen here: "AST
        // constructor recursion depth mismatch").
        .args(["--workers", "1", "--request-timeout", "20"])
        .args(["--generation-database", "none", "--no-color", "--report", "json"])
        .arg("--report-json-path")
        .arg(&report)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Ok(seed) = std::env::var("DIALOGUE_FUZZ_SEED") {
        command.args(["--seed", &seed]);
    }
    let run = tokio::time::timeout(Duration::from_secs(seconds + 120), command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran past its time ({seconds} s) by two minutes"))
        .unwrap_or_else(|e| panic!("{INSTALL}: {e}"));
    let output = String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    let summary = read_report(&report, &output);
    let documented = web::api::openapi::document(&Default::default()).unwrap()["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum::<usize>();
    assert_eq!(
        (
            summary["operations"]["tested"].as_u64(),
            summary["operations"]["errored"].as_u64()
        ),
        (Some(documented as u64), Some(0)),
        "every documented operation is fuzzed\n{output}"
    );
    assert!(
        summary["test_cases"]["generated"].as_u64().unwrap_or(0) >= 100,
        "too few test cases to mean anything\n{output}"
    );
    let failures = summary["failures"].as_array().map_or(0, Vec::len);
    let errors = summary["errors"].as_array().map_or(0, Vec::len);
    assert!(
        failures == 0 && errors == 0 && run.status.success() && summary["exit_code"] == 0,
        "schemathesis found {failures} failures and {errors} errors ({}):\n{output}",
        output
            .lines()
            .find(|l| l.starts_with("Seed:"))
            .unwrap_or("seed unknown")
    );
    // The server is still up and serving after all that.
    let health = testkit::get(format!("{}/healthz", app.url)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let _ = std::fs::remove_dir_all(&dir);
}

fn read_report(path: &Path, output: &str) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("schemathesis wrote no report at {} ({e}):\n{output}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("unreadable report: {e}\n{text}"))
}
