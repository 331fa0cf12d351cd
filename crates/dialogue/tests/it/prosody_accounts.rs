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
use jiff::{SignedDuration, Timestamp};

#[allow(dead_code)]
#[path = "../../../xmpp/tests/it/peer.rs"]
mod peer;

use peer::{ADMIN, ADMIN_PASSWORD, DOMAIN, Login, Prosody, Security};

both_backends!(hosts_get_prosody_accounts_that_follow_their_dialogue_accounts);
both_backends!(a_prosody_certified_by_a_private_authority_is_trusted_once_given);
both_backends!(accounts_leave_prosody_when_the_server_no_longer_manages_them);
both_backends!(an_account_created_before_a_crash_is_adopted_not_renamed);
both_backends!(a_personal_room_on_a_secure_domain_server_needs_no_token);

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

/// The API body of a secure-domain server on `prosody` (reached at 127.0.0.1).
fn secure_body(prosody: &Prosody) -> Value {
    json!({
        "name": "Secure",
        "token_mode": "secure-domain",
        "base_url": "https://meet.example.org",
        "domain": DOMAIN,
        "xmpp_host": "127.0.0.1",
        "xmpp_port": prosody.port,
        "admin_jid": ADMIN,
        "admin_password": ADMIN_PASSWORD,
    })
}

/// Waits until `done` holds (the reconciler works in the background).
async fn wait_until<F, Fut>(what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Stock Jitsi gives Prosody a certificate the web's roots do not trust. Without its authority
/// the reconciler and `dialogue check` say the certificate is not trusted; with the authority's
/// PEM in the server's settings the accounts are created (over STARTTLS) and log in.
async fn a_prosody_certified_by_a_private_authority_is_trusted_once_given(backend: Backend) {
    let prosody = Prosody::start(Security::StartTls, &[]).await;
    let ca_pem = std::fs::read_to_string(prosody.ca_file.as_ref().unwrap()).unwrap();
    let app = TestApp::spawn(backend).await;
    let admin = app.user("ada@example.org", Role::Admin).await;
    let admin_api = Api::new(&app, &admin.id).await;

    // Not a certificate: refused with its field, in French by default, nothing written.
    let mut body = secure_body(&prosody);
    for bad in [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        body["xmpp_ca_pem"] = json!(bad);
        let (status, problem) = admin_api.post("/jitsi-servers", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(
            crate::booking_support::problem_fields(&problem),
            ["xmpp_ca_pem"],
            "{problem}"
        );
        assert!(
            problem.to_string().contains("Collez un ou plusieurs certificats PEM"),
            "{problem}"
        );
    }
    assert!(app.store().list_jitsi_servers().await.unwrap().is_empty());

    // Without the authority: not trusted, said by the reconciler and by `dialogue check`.
    body.as_object_mut().unwrap().remove("xmpp_ca_pem");
    let (status, server) = admin_api.post("/jitsi-servers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    assert_eq!(server["xmpp_ca_pem"], Value::Null);
    let server_id = server["id"].as_str().unwrap().to_owned();
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let theo_api = Api::new(&app, &theo.id).await;
    let failed = wait_login(&theo_api, "a failed attempt", |l| !l["last_error"].is_null()).await;
    assert_eq!(failed["ready"], false);
    assert!(
        failed["last_error"].as_str().unwrap().contains("is not trusted"),
        "{failed}"
    );
    let (code, out, err) = run(&app, &["check"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("FAIL Jitsi server \"Secure\": Prosody account administration does not work")
            && out.contains(&format!("the certificate of {DOMAIN} is not trusted")),
        "{out}\n{err}"
    );

    // The authority given: kept as given (not a secret), shown on the page, and trusted.
    let (status, changed) = admin_api
        .patch(
            &format!("/jitsi-servers/{server_id}"),
            &json!({ "xmpp_ca_pem": ca_pem }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["xmpp_ca_pem"], ca_pem.trim());
    let browser = app.browser();
    assert_eq!(
        browser.login(&admin.email, crate::helpers::PASSWORD).await.status,
        StatusCode::OK
    );
    let page = browser.get(&format!("/jitsi-servers/{server_id}")).await;
    assert!(page.contains("-----BEGIN CERTIFICATE-----"), "{}", page.body);
    // The reconciler retries at once when poked by the change, else within its backoff.
    app.state.service().prosody().poke();
    let login = wait_login(&theo_api, "the account over STARTTLS", |l| l["ready"] == true).await;
    let jid = format!("theo@{DOMAIN}");
    assert_eq!(login["jid"], jid.as_str());
    assert_eq!(
        prosody.login(&jid, login["password"].as_str().unwrap()).await,
        Login::Ok
    );
    let (code, out, err) = run(&app, &["check"]);
    assert!(
        out.contains("Prosody reached at 127.0.0.1") && out.contains("STARTTLS"),
        "{code}\n{out}\n{err}"
    );

    // Removed again ("" or null): no longer trusted.
    let (status, changed) = admin_api
        .patch(&format!("/jitsi-servers/{server_id}"), &json!({ "xmpp_ca_pem": null }))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["xmpp_ca_pem"], Value::Null);
    let (code, out, _) = run(&app, &["check"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("is not trusted"), "{out}");
}

/// A server that stops being a secure-domain one, or is deleted, takes the accounts Dialogue
/// created on its Prosody with it: the reconciler deletes them there with the admin login the
/// server had, and a server made secure-domain again finds the names free.
async fn accounts_leave_prosody_when_the_server_no_longer_manages_them(backend: Backend) {
    let prosody = Prosody::start(Security::Plain, &[]).await;
    let app = TestApp::spawn(backend).await;
    let admin = app.user("ada@example.org", Role::Admin).await;
    let admin_api = Api::new(&app, &admin.id).await;
    let (status, server) = admin_api.post("/jitsi-servers", &secure_body(&prosody)).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    let server_id = server["id"].as_str().unwrap().to_owned();
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let theo_api = Api::new(&app, &theo.id).await;
    let jid = format!("theo@{DOMAIN}");
    let login = wait_login(&theo_api, "the trainer's account", |l| l["ready"] == true).await;
    assert_eq!(login["jid"], jid.as_str());
    let password = login["password"].as_str().unwrap().to_owned();
    let ada = wait_login(&admin_api, "the admin's account", |l| l["ready"] == true).await;
    let ada_password = ada["password"].as_str().unwrap().to_owned();
    assert_eq!(prosody.login(&jid, &password).await, Login::Ok);

    // Another kind: the accounts go from Prosody (their logins are refused), and the logins
    // from Dialogue.
    let (status, changed) = admin_api
        .patch(
            &format!("/jitsi-servers/{server_id}"),
            &json!({ "token_mode": "hs256", "app_id": "dialogue", "app_secret": "s".repeat(40) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let store = app.store().clone();
    wait_until("the accounts of the former secure-domain server removed", || {
        let store = store.clone();
        async move { store.prosody_orphans().await.unwrap().is_empty() }
    })
    .await;
    assert!(matches!(prosody.login(&jid, &password).await, Login::Refused(_)));
    assert!(matches!(
        prosody.login(&format!("ada@{DOMAIN}"), &ada_password).await,
        Login::Refused(_)
    ));
    let (status, logins) = theo_api.get("/me/jitsi-logins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(logins, json!([]));
    assert!(app.store().prosody_accounts().await.unwrap().is_empty());
    // The admin account Dialogue used is not one it created: it stays.
    assert_eq!(prosody.login(ADMIN, ADMIN_PASSWORD).await, Login::Ok);
    assert!(
        !app.db
            .find_text("deleted on Prosody (server no longer managed)")
            .await
            .unwrap()
            .is_empty()
    );

    // Secure-domain again: the same name is free, the account comes back.
    let mut back = secure_body(&prosody);
    back.as_object_mut().unwrap().remove("name");
    let (status, changed) = admin_api.patch(&format!("/jitsi-servers/{server_id}"), &back).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let login = wait_login(&theo_api, "the account once secure-domain again", |l| {
        l["ready"] == true
    })
    .await;
    assert_eq!(login["jid"], jid.as_str());
    let password = login["password"].as_str().unwrap().to_owned();
    assert_eq!(prosody.login(&jid, &password).await, Login::Ok);

    // Deleted: its accounts go too.
    let (status, body) = admin_api
        .send(
            reqwest::Method::DELETE,
            &format!("/jitsi-servers/{server_id}"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    wait_until("the accounts of the deleted server removed", || {
        let store = store.clone();
        async move { store.prosody_orphans().await.unwrap().is_empty() }
    })
    .await;
    assert!(matches!(prosody.login(&jid, &password).await, Login::Refused(_)));
    assert_eq!(prosody.login(ADMIN, ADMIN_PASSWORD).await, Login::Ok);
}

/// A crash between Prosody creating an account and Dialogue recording it: the row says the
/// creation was asked for, so the account of that name is adopted (given the password Dialogue
/// holds) instead of being left behind as someone else's. An account Dialogue never asked for
/// keeps being someone else's: the host gets the next name. The crash is the row's state, set
/// directly while the test holds the reconciler's lease.
async fn an_account_created_before_a_crash_is_adopted_not_renamed(backend: Backend) {
    let prosody = Prosody::start(
        Security::Plain,
        &[("theo", "created-before-the-crash"), ("zoe", "someone-elses")],
    )
    .await;
    let app = TestApp::spawn(backend).await;
    let store = app.store().clone();
    let svc = app.state.service().clone();
    let now = Timestamp::now();
    assert!(
        store
            .claim_prosody_lease("the test", now, now + SignedDuration::from_hours(1))
            .await
            .unwrap()
    );
    let admin = app.user("ada@example.org", Role::Admin).await;
    let admin_api = Api::new(&app, &admin.id).await;
    let (status, server) = admin_api.post("/jitsi-servers", &secure_body(&prosody)).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    let server_id = server["id"].as_str().unwrap().to_owned();
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let zoe = app.user("zoe@example.org", Role::Trainer).await;

    // What the reconciler had written when it crashed: theo's row, creation asked for.
    let password = "the-password-dialogue-generated-for-theo";
    let sealed = svc
        .jitsi()
        .sealer()
        .seal(&server_id, &format!("prosody_password {}", theo.id), password)
        .unwrap();
    let audit = store::AuditEntry::new("prosody_account", None, "the test", None);
    assert!(
        store
            .add_prosody_account(&server_id, &theo.id, "theo", &sealed, now, &audit)
            .await
            .unwrap()
    );
    let row = store.prosody_account(&server_id, &theo.id).await.unwrap().unwrap();
    store.prosody_creating(&row, now).await.unwrap();
    store.release_prosody_lease("the test").await.unwrap();

    // Restarted: the reconciler runs until both hosts are on Prosody.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        service::prosody_accounts::reconcile(&svc).await.unwrap();
        let rows = store.prosody_accounts().await.unwrap();
        if rows
            .iter()
            .filter(|r| r.user_id == theo.id || r.user_id == zoe.id)
            .all(|r| r.in_sync())
            && rows.iter().any(|r| r.user_id == zoe.id)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not reconciled: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let theo_row = store.prosody_account(&server_id, &theo.id).await.unwrap().unwrap();
    assert_eq!(theo_row.node, "theo", "adopted under its name");
    assert!(!theo_row.creating);
    let jid = format!("theo@{DOMAIN}");
    assert_eq!(prosody.login(&jid, password).await, Login::Ok);
    assert!(matches!(
        prosody.login(&jid, "created-before-the-crash").await,
        Login::Refused(_)
    ));
    // zoe's name was never asked for by Dialogue: left alone, another name used.
    let zoe_row = store.prosody_account(&server_id, &zoe.id).await.unwrap().unwrap();
    assert_eq!(zoe_row.node, "zoe-2");
    assert_eq!(
        prosody.login(&format!("zoe@{DOMAIN}"), "someone-elses").await,
        Login::Ok
    );
}

/// Prosody asks the reservation API for `room` on behalf of `mail_owner`.
async fn reserve(app: &TestApp, secret: &str, room: &str, mail_owner: &str) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", room)
        .append_pair("start_time", &jitsi::format_java_date(Timestamp::now().as_second()))
        .append_pair("mail_owner", mail_owner)
        .finish();
    testkit::client()
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("user-agent", "Prosody (0.12.4; posix)")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {secret}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A personal room on a secure-domain server works like a session there: the owner is shown
/// their Prosody login (which logs in) and the room's address, guests go to the address without
/// a token, and Prosody's reservation is granted to the owner's Prosody account only.
async fn a_personal_room_on_a_secure_domain_server_needs_no_token(backend: Backend) {
    let prosody = Prosody::start(Security::Plain, &[]).await;
    let app = TestApp::spawn(backend).await;
    let admin = app.user("ada@example.org", Role::Admin).await;
    let admin_api = Api::new(&app, &admin.id).await;
    let (status, server) = admin_api.post("/jitsi-servers", &secure_body(&prosody)).await;
    assert_eq!(status, StatusCode::CREATED, "{server}");
    let api_secret = server["api_secret"].as_str().unwrap().to_owned();
    let (browser, theo) = app.logged_in("theo@example.org", Role::Trainer).await;
    let theo_api = Api::new(&app, &theo.id).await;
    let (status, room) = theo_api.put("/me/room", &json!({"guests": "wait"})).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    let name = room["room"].as_str().unwrap().to_owned();
    let address = format!("https://meet.example.org/{name}");
    let login = wait_login(&theo_api, "the owner's account", |l| l["ready"] == true).await;
    let jid = format!("theo@{DOMAIN}");
    let password = login["password"].as_str().unwrap().to_owned();

    // Before the owner arrives, a guest's session cannot open the room.
    let r = reserve(&app, &api_secret, &name, &format!("a1b2c3@guest.{DOMAIN}")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Prosody asks for it as the owner's account (logged in at Jitsi's prompt, without going
    // through Dialogue): granted, the lobby on for guests who wait.
    let r = reserve(&app, &api_secret, &name, &format!("{jid}/web-1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let reserved: Value = r.json().await.unwrap();
    assert_eq!(reserved["name"], name.as_str());
    assert_eq!(reserved["lobby"], true);

    // The owner: their login, then the room's address (no token anywhere).
    let page = browser.get("/room/join").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.contains(&jid) && page.contains(&password), "{}", page.body);
    assert!(page.contains(&format!("href=\"{address}\"")), "{}", page.body);
    assert!(!page.contains("jwt="), "{}", page.body);
    assert_eq!(prosody.login(&jid, &password).await, Login::Ok);
    // Counted as an entry, not as a token minted.
    let samples = crate::metrics::scrape_url(&app.url).await;
    let metric = |name: &str| crate::metrics::value(&samples, name, &[]);
    assert_eq!(metric("dialogue_jitsi_tokens_minted_total"), 0.0);
    assert!(metric("dialogue_joins_total") >= 1.0);

    // A guest: straight to the address, anonymous.
    let link = room["guest_url"].as_str().unwrap();
    let path = &link[link.find("/r/").unwrap()..];
    let r = app.browser().post_raw(path, &[("name", "Ada Lovelace")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), address);
}
