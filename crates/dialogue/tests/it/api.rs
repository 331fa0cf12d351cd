//! The JSON API: bearer tokens, problem+json errors, the OpenAPI document.

use domain::Role;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;

/// A token for `user_id`, stored the way the profile page and the command line store it.
pub async fn token_for(app: &TestApp, user_id: &str) -> String {
    let token = service::crypto::random_token();
    app.store()
        .create_api_token(
            user_id,
            "test",
            &service::crypto::storage_hash(&token),
            jiff::Timestamp::now(),
            &store::AuditEntry::new("api_token.create", None, "test", None),
        )
        .await
        .unwrap();
    token
}

both_backends!(tokens_authenticate_and_errors_are_problem_details);

async fn tokens_authenticate_and_errors_are_problem_details(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("theo@example.org", Role::Trainer).await;
    let token = token_for(&app, &user.id).await;
    let client = testkit::client();
    let me = client
        .get(format!("{}/api/v1/me", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["id"], user.id.as_str());
    assert_eq!(body["email"], "theo@example.org");
    assert_eq!(body["role"], "trainer");
    // No token, a wrong one, a cookie instead: 401 problem details, in the asked language.
    for request in [
        client.get(format!("{}/api/v1/me", app.url)),
        client.get(format!("{}/api/v1/me", app.url)).bearer_auth("nope"),
        client
            .get(format!("{}/api/v1/me", app.url))
            .header("cookie", "dialogue_session=x"),
    ] {
        let r = request.header("accept-language", "en").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let problem: serde_json::Value = r.json().await.unwrap();
        assert_eq!(problem["status"], 401);
        assert!(
            problem["detail"].as_str().unwrap().contains("API token missing"),
            "{problem}"
        );
    }
    let r = client
        .get(format!("{}/api/v1/nowhere", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["type"],
        "/api/v1/problems/not-found"
    );
    // A disabled account's token stops working at once.
    let audit = store::AuditEntry::new("user.disable", None, "test", None);
    app.store()
        .set_active(&user.id, false, jiff::Timestamp::now(), &audit)
        .await
        .unwrap();
    let r = client
        .get(format!("{}/api/v1/me", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let doc: serde_json::Value = client
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}
