//! `/metrics`: requests, joins, reservations, logins and the outbox counted as they happen, read
//! back through the Prometheus project's own parser (Python's `prometheus_client`, OpenMetrics);
//! who may read it (addresses, a bearer token, disabled).

use std::io::Write;
use std::process::{Command, Stdio};

use domain::Role;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::Value;
use testkit::{Backend, both_backends};

use crate::helpers::{PASSWORD, TestApp};
use crate::jitsi_support::*;

both_backends!(
    metrics_count_what_happens,
    metrics_are_read_only_by_allowed_addresses_or_the_token,
);

const MIN: SignedDuration = SignedDuration::from_mins(1);
const TOKEN: &str = "metrics-token-0123456789abcdef";

/// One sample as the parser read it.
#[derive(Debug)]
pub(crate) struct Sample {
    family: String,
    kind: String,
    name: String,
    labels: serde_json::Map<String, Value>,
    value: f64,
}

/// Parses an exposition with `prometheus_client`; panics with its complaint when it does not
/// parse, and with how to install it when it is missing (never skipped).
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/parse_metrics.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (apt-get install -y python3)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n(install with: python3 -m pip install prometheus_client)\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let families: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut samples = Vec::new();
    for f in families {
        for s in f["samples"].as_array().unwrap() {
            samples.push(Sample {
                family: f["name"].as_str().unwrap().to_owned(),
                kind: f["type"].as_str().unwrap().to_owned(),
                name: s["name"].as_str().unwrap().to_owned(),
                labels: s["labels"].as_object().unwrap().clone(),
                value: s["value"].as_f64().unwrap(),
            });
        }
    }
    samples
}

/// The value of the sample `name` with exactly these labels among others (0 when absent).
pub(crate) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).and_then(Value::as_str) == Some(v))
        })
        .map(|s| s.value)
        .sum()
}

fn kind(samples: &[Sample], family: &str) -> String {
    samples
        .iter()
        .find(|s| s.family == family)
        .map(|s| s.kind.clone())
        .unwrap_or_else(|| panic!("no family {family}"))
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    scrape_url(&app.url).await
}

/// `/metrics` of the server at `url` (from a loopback address), parsed.
pub(crate) async fn scrape_url(url: &str) -> Vec<Sample> {
    let r = testkit::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    parse(&r.text().await.unwrap())
}

async fn reserve(app: &TestApp, secret: &str, room: &str, at: jiff::Timestamp) -> StatusCode {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", room)
        .append_pair("start_time", &jitsi::format_java_date(at.as_second()))
        .append_pair("mail_owner", "owner@meet.example.org")
        .finish();
    testkit::client()
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {secret}"))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn metrics_count_what_happens(backend: Backend) {
    // Mail to a closed port: the invitations stay in the outbox, waiting for a retry.
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_MAIL_TRANSPORT", "smtp"),
            ("DIALOGUE_MAIL_SMTP_HOST", "127.0.0.1"),
            ("DIALOGUE_MAIL_SMTP_PORT", "9"),
            ("DIALOGUE_MAIL_SMTP_SECURITY", "none"),
            ("DIALOGUE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2"),
        ],
    )
    .await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let start = minutes_from_now(24 * 60);
    let (_, _, detail) = people_and_session(&app, start, 60).await;
    let room = detail.session.room.clone();
    let learner_link = link(&app, learner(&detail));

    let before = scrape(&app).await;
    assert_eq!(kind(&before, "dialogue_build"), "info");
    assert_eq!(
        value(
            &before,
            "dialogue_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(value(&before, "dialogue_joins_total", &[]), 0.0);

    for _ in 0..3 {
        assert_eq!(
            client()
                .get(format!("{}/healthz", app.url))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let missing = client().get(format!("{}/no/such/page", app.url)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Joins: too early (waiting page), inside the window (a token), an unknown link, and a
    // staff join from an account.
    app.clock.freeze_at(start - 30 * MIN);
    let r = client().get(format!("{}{learner_link}", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the waiting page");
    app.clock.freeze_at(start + MIN);
    for _ in 0..2 {
        let r = client().get(format!("{}{learner_link}", app.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "into the room");
    }
    let unknown = format!("/j/{}", "A".repeat(43));
    let r = client().get(format!("{}{unknown}", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Reservations: refused too early, created in the window, then the existing one.
    app.clock.freeze_at(start - 20 * MIN);
    assert_eq!(
        reserve(&app, &meet.api_secret, &room, app.clock.now()).await,
        StatusCode::FORBIDDEN
    );
    app.clock.freeze_at(start - 10 * MIN);
    assert_eq!(
        reserve(&app, &meet.api_secret, &room, app.clock.now()).await,
        StatusCode::OK
    );
    assert_eq!(
        reserve(&app, &meet.api_secret, &room, app.clock.now()).await,
        StatusCode::CONFLICT
    );

    // Logins: two wrong passwords, then the account is locked (even with the right one).
    app.user("lou@example.org", Role::Trainer).await;
    let browser = app.browser();
    for _ in 0..2 {
        let page = browser.login("lou@example.org", "wrong password!").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    }
    let page = browser.login("lou@example.org", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);

    let after = scrape(&app).await;
    // Requests, by route template (never the path with its key) and status.
    assert_eq!(kind(&after, "dialogue_http_requests"), "counter");
    let healthz = [("method", "GET"), ("route", "/healthz"), ("status", "200")];
    assert_eq!(value(&after, "dialogue_http_requests_total", &healthz), 3.0);
    assert_eq!(
        value(
            &after,
            "dialogue_http_requests_total",
            &[("route", "/j/{key}"), ("status", "303")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &after,
            "dialogue_http_requests_total",
            &[("route", "/j/{key}"), ("status", "404")]
        ),
        1.0
    );
    assert!(
        value(
            &after,
            "dialogue_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1.0
    );
    assert!(
        after.iter().all(|s| s
            .labels
            .get("route")
            .and_then(Value::as_str)
            .is_none_or(|r| !r.contains(&learner_link[3..]))),
        "no personal key in a label"
    );
    // Latency: a histogram whose count is the requests' and whose +Inf bucket holds them all.
    assert_eq!(kind(&after, "dialogue_http_request_duration_seconds"), "histogram");
    let route = [("method", "GET"), ("route", "/healthz")];
    assert_eq!(
        value(&after, "dialogue_http_request_duration_seconds_count", &route),
        3.0
    );
    let mut inf = route.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        value(&after, "dialogue_http_request_duration_seconds_bucket", &inf),
        3.0
    );
    assert!(value(&after, "dialogue_http_request_duration_seconds_sum", &route) > 0.0);
    // Joins by outcome, tokens minted.
    assert_eq!(value(&after, "dialogue_joins_total", &[("outcome", "waiting")]), 1.0);
    assert_eq!(value(&after, "dialogue_joins_total", &[("outcome", "entered")]), 2.0);
    assert_eq!(
        value(&after, "dialogue_joins_total", &[("outcome", "unknown_link")]),
        1.0
    );
    assert_eq!(value(&after, "dialogue_jitsi_tokens_minted_total", &[]), 2.0);
    // Reservations by answer.
    assert_eq!(
        value(&after, "dialogue_reservations_total", &[("answer", "refused")]),
        1.0
    );
    assert_eq!(
        value(&after, "dialogue_reservations_total", &[("answer", "created")]),
        1.0
    );
    assert_eq!(
        value(&after, "dialogue_reservations_total", &[("answer", "existing")]),
        1.0
    );
    // Logins.
    assert_eq!(value(&after, "dialogue_login_failures_total", &[]), 2.0);
    assert_eq!(value(&after, "dialogue_login_lockouts_total", &[]), 1.0);
    // The outbox, read at scrape time: the five invitations wait (queued or being tried), the
    // oldest written a day before the test clock's now.
    let counts = app.store().outbox_counts().await.unwrap();
    assert_eq!(counts.queued + counts.sending, 5, "{counts:?}");
    let pending = value(&after, "dialogue_outbox_messages", &[("status", "queued")])
        + value(&after, "dialogue_outbox_messages", &[("status", "sending")]);
    assert_eq!(pending, 5.0);
    assert_eq!(value(&after, "dialogue_outbox_messages", &[("status", "sent")]), 0.0);
    let age = value(&after, "dialogue_outbox_oldest_pending_age_seconds", &[]);
    assert!(
        (23.0 * 3600.0..24.0 * 3600.0).contains(&age),
        "oldest pending age {age}"
    );
    // The connection pool.
    assert_eq!(value(&after, "dialogue_db_pool_max_connections", &[]), 10.0);
    let open = value(&after, "dialogue_db_pool_connections", &[]);
    assert!((1.0..=10.0).contains(&open), "{open}");
    assert!(value(&after, "dialogue_db_pool_idle_connections", &[]) <= open);
}

async fn metrics_are_read_only_by_allowed_addresses_or_the_token(backend: Backend) {
    // Default: loopback may read; a request a proxy forwarded (untrusted) may not.
    let app = TestApp::spawn(backend).await;
    let url = format!("{}/metrics", app.url);
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client()
        .get(&url)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("[metrics]"));
    // A bearer when no token is configured: refused.
    let r = client().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    drop(app);

    // Another network only, and a token: this (loopback) client needs the token.
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_METRICS_ALLOW", "10.0.0.0/8"),
            ("DIALOGUE_METRICS_TOKEN", TOKEN),
        ],
    )
    .await;
    let url = format!("{}/metrics", app.url);
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client()
        .get(&url)
        .bearer_auth(&TOKEN[..TOKEN.len() - 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client()
        .get(&url)
        .bearer_auth(format!("{TOKEN}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let samples = parse(&r.text().await.unwrap());
    // The refusals were counted like any request.
    assert_eq!(
        value(
            &samples,
            "dialogue_http_requests_total",
            &[("route", "/metrics"), ("status", "403")]
        ),
        3.0
    );
    drop(app);

    // Disabled: not there at all.
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_METRICS_ENABLED", "false")]).await;
    let r = client().get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client()
        .get(format!("{}/metrics", app.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
