//! Health, readiness, security headers, request ids, body limits, assets, error pages.

use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;

both_backends!(health_and_readiness, readiness_fails_when_the_database_is_gone);

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = testkit::client();
    let r = client.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let r = client.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let expected = if backend == Backend::Postgres {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"]["backend"], expected);
}

async fn readiness_fails_when_the_database_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Closing marks the pool closed at once, then waits for the connections in use; under
    // load sqlx can wait for one a background task still holds (its return to the pool is
    // spawned), so the wait is bounded: the pool is closed either way.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), app.store().close()).await;
    let r = testkit::get(format!("{}/readyz", app.url)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "unavailable");
    let r = testkit::get(format!("{}/healthz", app.url)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the process itself is up");
}

#[tokio::test]
async fn security_headers_on_pages_assets_and_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = testkit::client();
    let login = client.get(format!("{}/login", app.url)).send().await.unwrap();
    let html = login.headers().clone();
    let body = login.text().await.unwrap();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(html[name], value, "{name}");
    }
    let csp = html["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline")
    );
    assert!(
        !body.contains("<script>") && !body.contains("style=\""),
        "no inline script or style"
    );
    assert_eq!(html["x-request-id"].len(), 16);
    // Assets are embedded, hashed and cached for good.
    let css = body.split("href=\"/static/").nth(1).unwrap().split('"').next().unwrap();
    let r = client.get(format!("{}/static/{css}", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let r = client
        .get(format!("{}/static/app.0000.css", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A 404 page in the visitor's language, with the same headers.
    let r = client
        .get(format!("{}/nowhere", app.url))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().contains_key("content-security-policy"));
    assert!(r.text().await.unwrap().contains("Page not found"));
    // An id the client sends is replaced by one of ours (only a trusted proxy's is kept: see
    // `edges`).
    for sent in ["abc123", "a b", "<script>", &"x".repeat(65), "a\tb"] {
        let r = client
            .get(format!("{}/healthz", app.url))
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert!(id != sent && id.len() == 16, "{sent:?} became {id:?}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("DIALOGUE_HTTP_BODY_LIMIT_KIB", "4")]).await;
    let browser = app.browser();
    let token = browser.csrf().await;
    let big = "x".repeat(10 * 1024);
    let r = browser
        .client
        .post(format!("{}/login", app.url))
        .form(&[("_csrf", token.as_str()), ("email", big.as_str()), ("password", "p")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
