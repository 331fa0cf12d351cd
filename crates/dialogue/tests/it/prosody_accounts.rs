//! Secure-domain Jitsi servers against Debian's real Prosody (started per test, as the xmpp
//! crate's tests do): an admin configures the server through the API; each host's Prosody
//! account appears and its shown password logs in with a real XMPP client (slixmpp); a new
//! password replaces the old one; a disabled account's login stops working; changes made while
//! Prosody is down are applied once it is back; learners enter as guests without a token;
//! `dialogue check` reaches the Prosody and `dialogue jitsi-config` prints a secure-domain
//! configuration that `luac -p` accepts.

use std::time::Duration;

use domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::booking_support::Api;
use crate::helpers::TestApp;
use crate::jitsi_config::{blocks, luac_check, run};
use crate::jitsi_support::*;

#[allow(dead_code)]
#[path = "../../../xmpp/tests/it/peer.rs"]
mod peer;

use peer::{ADMIN, ADMIN_PASSWORD, DOMAIN, Login, Prosody, Security};

both_backends!(hosts_get_prosody_accounts_that_follow_their_dialogue_accounts);

/// How long a change may take to reach Prosody before the test gives up (a deadline for a
/// wait, not a measured threshold: the reconciler acts at once, and retries in seconds).
const PATIENCE: Duration = Duration::from_secs(90);

/// The caller's login on the only secure-domain server.
async fn login_of(api: &Api) -> Value {
    let (status, body) = api.get("/me/jitsi-logins").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let logins = body.as_array().unwrap();
    assert_eq!(logins.len(), 1, "{body}");
    logins[0].clone()
}

/// Waits until `check` holds of the caller's login, and returns it.
async fn wait_login(api: &Api, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let login = login_of(api).await;
        if check(&login) {
            return login;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: still {login}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn hosts_get_prosody_accounts_that_follow_their_dialogue_accounts(backend: Backend) {
    let mut prosody = Prosody::start(Security::Plain, &[]).await;
    let app = TestApp::spawn(backend).await;
    let admin = app.user("ada@example.org", Role::Admin).await;
    let admin_api = Api::new(&app, &admin.id).await;

    // Bad settings are refused field by field, and nothing is written.
    let mut body = json!({
        "name": "Secure",
        "token_mode": "secure-domain",
        "base_url": "https://meet.example.org",
        "domain": DOMAIN,
        "xmpp_host": "127.0.0.1",
        "xmpp_port": prosody.port,
        "admin_jid": "admin@elsewhere.test",
        "admin_password": ADMIN_PASSWORD,
    });
    let (status, problem) = admin_api.post("/jitsi-servers", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("admin_jid"), "{problem}");
    body["admin_jid"] = json!(ADMIN);
    body["xmpp_port"] = json!(70000);
    let (status, problem) = admin_api.post("/jitsi-servers", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("xmpp_port"), "{problem}");
    assert!(app.store().list_jitsi_servers().await.unwrap().is_empty());

    // The server: no tokens, the admin password sealed and never shown back.
    body["xmpp_port"] = json!(prosody.port);
    let (status, server) = admin_api.post("/jitsi-servers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    assert_eq!(server["token_mode"], "secure-domain");
    assert_eq!(server["admin_jid"], ADMIN);
    assert_eq!(server["has_admin_password"], true);
    assert!(!server.to_string().contains(ADMIN_PASSWORD), "{server}");
    let server_id = server["id"].as_str().unwrap().to_owned();
    assert!(
        app.db.find_text(ADMIN_PASSWORD).await.unwrap().is_empty(),
        "sealed at rest"
    );

    // The admin pages show the kind and the settings, never the password.
    let admin_browser = app.browser();
    assert_eq!(
        admin_browser.login(&admin.email, crate::helpers::PASSWORD).await.status,
        StatusCode::OK
    );
    let page = admin_browser.get(&format!("/jitsi-servers/{server_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.contains("domaine sécurisé") && page.contains(ADMIN),
        "{}",
        page.body
    );
    assert!(!page.contains(ADMIN_PASSWORD));
    // Saved from the form with the password left blank: the current one is kept.
    let saved = admin_browser
        .post(
            &format!("/jitsi-servers/{server_id}"),
            &[
                ("name", "Secure"),
                ("token_mode", "secure-domain"),
                ("base_url", "https://meet.example.org"),
                ("domain", DOMAIN),
                ("xmpp_host", "127.0.0.1"),
                ("xmpp_port", &prosody.port.to_string()),
                ("admin_jid", ADMIN),
                ("admin_password", ""),
                ("max_occupants", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.contains("Modifications enregistrées"), "{}", saved.body);

    // A trainer and their session on it (the default server).
    let (_, trainer, detail) = people_and_session(&app, minutes_from_now(1), 60).await;
    let trainer_api = Api::new(&app, &trainer.id).await;
    let jid = format!("theo@{DOMAIN}");
    let first = wait_login(&trainer_api, "the trainer's account on Prosody", |l| l["ready"] == true).await;
    assert_eq!(first["jid"], jid.as_str());
    assert_eq!(first["server_id"], server_id.as_str());
    let password = first["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 32, "a strong generated password");
    assert!(app.db.find_text(&password).await.unwrap().is_empty(), "sealed at rest");
    assert_eq!(prosody.login(&jid, &password).await, Login::Ok);
    assert!(matches!(
        prosody.login(&jid, "not the password").await,
        Login::Refused(_)
    ));
    // The admin hosts too (every staff role may, without access rules saying otherwise).
    let ada = wait_login(&admin_api, "the admin's account", |l| l["ready"] == true).await;
    assert_eq!(ada["jid"], format!("ada@{DOMAIN}").as_str());

    // A learner enters as a guest: the room's address, no token.
    let room = detail.session.room.clone();
    let r = client()
        .get(format!("{}{}", app.url, link(&app, learner(&detail))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("https://meet.example.org/{room}"));
    // The trainer, from their account, is shown their login before going in.
    let browser = app.browser();
    assert_eq!(
        browser.login(&trainer.email, crate::helpers::PASSWORD).await.status,
        StatusCode::OK
    );
    let page = browser.get(&format!("/sessions/{}/join", detail.session.id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.contains(&jid) && page.contains(&password), "{}", page.body);
    assert!(
        page.contains(&format!("https://meet.example.org/{room}")),
        "{}",
        page.body
    );
    // Their profile page shows it too, with a button for a new one.
    let profile = browser.get("/profile").await;
    assert!(
        profile.contains(&jid) && profile.contains(&password),
        "{}",
        profile.body
    );
    assert!(profile.contains(&format!("/profile/jitsi-logins/{server_id}/password")));

    // A new password: the old one stops working, the new one logs in.
    let (status, renewed) = trainer_api
        .post(&format!("/me/jitsi-logins/{server_id}/password"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let new_password = renewed["password"].as_str().unwrap().to_owned();
    assert_ne!(new_password, password);
    wait_login(&trainer_api, "the new password on Prosody", |l| {
        l["ready"] == true && l["password"] == new_password.as_str()
    })
    .await;
    assert!(matches!(prosody.login(&jid, &password).await, Login::Refused(_)));
    assert_eq!(prosody.login(&jid, &new_password).await, Login::Ok);
    // An unknown server has no login to renew.
    let (status, _) = trainer_api
        .post("/me/jitsi-logins/no-such-server/password", &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Disabled in Dialogue: the Prosody account goes, its password no longer logs in.
    service::accounts::set_active(
        app.state.service(),
        &service::Caller::command_line(),
        &trainer.id,
        false,
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while app
        .store()
        .prosody_account(&server_id, &trainer.id)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the disabled trainer's account stays"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(matches!(prosody.login(&jid, &new_password).await, Login::Refused(_)));
    // The admin's account, which Dialogue still wants, is untouched.
    assert_eq!(
        prosody
            .login(&format!("ada@{DOMAIN}"), ada["password"].as_str().unwrap())
            .await,
        Login::Ok
    );
    let audit = app.db.find_text("prosody_account.delete").await.unwrap();
    assert!(!audit.is_empty(), "the deletion is audited");

    // `dialogue check` reaches the Prosody as its admin.
    let (code, out, err) = run(&app, &["check"]);
    assert!(out.contains("Prosody reached at 127.0.0.1"), "{code}\n{out}\n{err}");

    // Prosody down: a new host's account waits, retried; back up: it is created.
    prosody.stop();
    let (code, out, _) = run(&app, &["check"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("FAIL Jitsi server \"Secure\": Prosody account administration does not work"),
        "{out}"
    );
    let zoe = app.user("zoe@example.org", Role::Trainer).await;
    let zoe_api = Api::new(&app, &zoe.id).await;
    let pending = wait_login(&zoe_api, "a failed attempt", |l| !l["last_error"].is_null()).await;
    assert_eq!(pending["ready"], false);
    prosody.restart().await;
    let zoe_login = wait_login(&zoe_api, "the account once Prosody is back", |l| l["ready"] == true).await;
    assert_eq!(
        prosody
            .login(&format!("zoe@{DOMAIN}"), zoe_login["password"].as_str().unwrap())
            .await,
        Login::Ok
    );

    // `dialogue jitsi-config`: the secure-domain configuration, Lua that luac accepts.
    let (code, out, err) = run(&app, &["jitsi-config", "--server", "Secure"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(secure domain)"), "{out}");
    assert!(out.contains("authentication = \"internal_hashed\""), "{out}");
    assert!(out.contains(&format!("admins = {{ \"{ADMIN}\" }}")), "{out}");
    assert!(out.contains("\"admin_adhoc\""), "{out}");
    assert!(out.contains(&format!("VirtualHost \"guest.{DOMAIN}\"")), "{out}");
    assert!(out.contains("authentication = \"anonymous\""), "{out}");
    assert!(out.contains(&format!("anonymousdomain: \"guest.{DOMAIN}\"")), "{out}");
    let lua: String = blocks(&out)
        .into_iter()
        .filter(|(comment, _)| comment.starts_with("-- File "))
        .map(|(_, body)| body)
        .collect();
    luac_check(&lua);
    drop(prosody);
}
