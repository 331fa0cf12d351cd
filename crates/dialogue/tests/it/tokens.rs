//! API tokens: created on the profile page (shown once, stored hashed), listed with their last
//! use, revoked; and printed once by `dialogue token create`.

use std::process::Command;

use domain::Role;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::{TestApp, html_unescape};

both_backends!(
    tokens_are_shown_once_listed_and_revoked,
    the_command_line_prints_a_token_once
);

async fn me(app: &TestApp, token: &str) -> StatusCode {
    testkit::client()
        .get(format!("{}/api/v1/me", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// The text of the `<textarea id="new-token">`.
fn shown_token(body: &str) -> Option<String> {
    let start = body.find("id=\"new-token\"")?;
    let open = body[start..].find('>')? + start + 1;
    let close = body[open..].find("</textarea>")? + open;
    Some(html_unescape(body[open..close].trim()))
}

async fn tokens_are_shown_once_listed_and_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, user) = app.logged_in("theo@example.org", Role::Trainer).await;
    let profile = browser.get("/profile").await;
    assert!(profile.contains("Jetons d’API") && profile.contains("Aucun jeton."));
    // A name is required.
    let refused = browser.post("/profile/tokens", &[("name", "  ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("Donnez un nom au jeton."));
    assert!(app.store().api_tokens(&user.id).await.unwrap().is_empty());
    let page = browser.post("/profile/tokens", &[("name", "LMS 🎓")]).await;
    assert_eq!(page.status, StatusCode::CREATED);
    assert!(page.redirects.is_empty(), "the secret is never in a URL");
    let token = shown_token(&page.body).expect("the new token is shown");
    assert_eq!(token.len(), 43);
    // Stored hashed only.
    let stored = app.store().api_tokens(&user.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        app.store().api_token_user(&token).await.unwrap().is_none(),
        "not stored in clear"
    );
    assert!(
        app.store()
            .api_token_user(&service::crypto::storage_hash(&token))
            .await
            .unwrap()
            .is_some()
    );
    // It works, and its use is recorded.
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    let profile = browser.get("/profile").await;
    assert!(profile.contains("LMS 🎓"));
    assert!(!profile.contains(&token), "shown once only");
    assert!(!profile.contains("Jamais"), "last use recorded");
    // Revoked, it stops working at once.
    let page = browser
        .post(&format!("/profile/tokens/{}/revoke", stored[0].id), &[])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Jeton révoqué"));
    assert!(!page.contains("LMS 🎓"));
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    // Revoking it again, or a token that does not exist: 404.
    let again = browser
        .post(&format!("/profile/tokens/{}/revoke", stored[0].id), &[])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

fn dialogue(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialogue"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    // No file either: not even an installed package's /etc/dialogue/dialogue.toml.
    cmd.env("DIALOGUE_CONFIG", "");
    let out = cmd
        .args(args)
        .env("DIALOGUE_DATABASE_URL", &app.db.url)
        .env("DIALOGUE_DATA_DIR", &app.data_dir)
        .env("DIALOGUE_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

async fn the_command_line_prints_a_token_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("marie@example.org", Role::Manager).await;
    let (code, out, err) = dialogue(
        &app,
        &["token", "create", "--user", "MARIE@example.org", "--name", "Synchro"],
    );
    assert_eq!(code, 0, "{err}");
    let token = out.trim();
    assert_eq!(out.lines().count(), 1, "only the token on standard output");
    assert_eq!(token.len(), 43);
    assert!(err.contains("shown this once"), "{err}");
    assert_eq!(me(&app, token).await, StatusCode::OK);
    let tokens = app.store().api_tokens(&user.id).await.unwrap();
    assert_eq!(tokens[0].name, "Synchro");
    // Without --name it is named after the command line; an unknown account fails in one line.
    let (code, _, _) = dialogue(&app, &["token", "create", "--user", "marie@example.org"]);
    assert_eq!(code, 0);
    assert_eq!(app.store().api_tokens(&user.id).await.unwrap().len(), 2);
    let (code, out, err) = dialogue(&app, &["token", "create", "--user", "nobody@example.org"]);
    assert_eq!((code, out.as_str()), (1, ""));
    // Where the settings came from, then the one line that says why.
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.starts_with("dialogue: configuration: "), "{err}");
    assert!(
        err.lines().last().unwrap().contains("no account has the email address"),
        "{err}"
    );
    let (code, out, _) = dialogue(&app, &["token", "create", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--user <EMAIL>") && out.contains("--name"));
}
