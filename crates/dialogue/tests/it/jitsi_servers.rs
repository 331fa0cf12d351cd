//! Jitsi servers, managed by admins through the pages and the API: secrets write-only and
//! sealed at rest, the generated bearer shown once, one default, servers in use kept.

use domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::{PASSWORD, TestApp};
use crate::jitsi_support::*;

both_backends!(
    admins_manage_servers_in_pages,
    the_api_manages_servers_admins_only,
    managers_choose_a_sessions_server,
);

fn form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Meet principal"),
        ("token_mode", "hs256"),
        ("base_url", "https://meet.example.org/"),
        ("domain", "meet.example.org"),
        ("tenant", ""),
        ("app_id", "dialogue"),
        ("app_secret", APP_SECRET),
        ("key_id", ""),
        ("private_key", ""),
        ("api_secret", ""),
        ("offered.recording", "1"),
        ("offered.file-upload", "1"),
        ("mod.recording", "1"),
        ("mod.file-upload", "1"),
        ("part.file-upload", "1"),
        ("max_occupants", ""),
    ];
    for (k, v) in extra {
        match fields.iter_mut().find(|(f, _)| f == k) {
            Some(field) => field.1 = v,
            None => fields.push((k, v)),
        }
    }
    fields
}

/// Every file of a SQLite database (with its WAL), to look for secrets in the bytes.
fn sqlite_bytes(app: &TestApp) -> Vec<u8> {
    let path = app.db.url.trim_start_matches("sqlite:").to_owned();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
            bytes.extend(b);
        }
    }
    assert!(bytes.len() > 4096, "the database file was read");
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn admins_manage_servers_in_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let home = admin.get("/").await;
    assert!(home.contains("href=\"/jitsi-servers\""), "admins see the menu entry");
    let page = admin.get("/jitsi-servers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Aucun serveur Jitsi"));
    let new = admin.get("/jitsi-servers/new").await;
    assert!(new.contains("name=\"app_secret\" type=\"password\""));
    // Bad input: every problem named, nothing stored.
    let r = admin
        .post(
            "/jitsi-servers",
            &form(&[
                ("app_secret", "short"),
                ("base_url", "http://meet.example.org"),
                ("max_occupants", "lots"),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.contains("au moins 32 caractères") && r.contains("https://") && r.contains("entre 1 et 10000"));
    assert!(!r.contains("short"), "a secret typed is not put back in the page");
    assert!(app.store().list_jitsi_servers().await.unwrap().is_empty());
    // Created: the generated bearer is shown once.
    let created = admin.post("/jitsi-servers", &form(&[])).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let server = app.store().list_jitsi_servers().await.unwrap().remove(0);
    assert!(server.is_default, "the first server is the default");
    assert_eq!(server.base_url, "https://meet.example.org");
    assert!(server.moderator_features["recording"]);
    assert!(!server.participant_features["recording"]);
    assert!(server.participant_features["file-upload"]);
    let open = service::jitsi_servers::open_server(app.state.service().jitsi().sealer(), server.clone()).unwrap();
    assert!(created.contains(&open.api_secret), "shown once, here");
    // Never again: not in the edit page, nor the list.
    let edit = admin.get(&format!("/jitsi-servers/{}", server.id)).await;
    assert_eq!(edit.status, StatusCode::OK);
    for secret in [open.api_secret.as_str(), APP_SECRET] {
        assert!(!edit.contains(secret) && !admin.get("/jitsi-servers").await.contains(secret));
    }
    assert!(edit.contains("dialogue jitsi-config --server"));
    // Sealed at rest: the database bytes hold neither secret (SQLite: the file itself).
    if backend == Backend::Sqlite {
        let bytes = sqlite_bytes(&app);
        assert!(!contains(&bytes, APP_SECRET) && !contains(&bytes, &open.api_secret));
        assert!(contains(&bytes, "meet.example.org"), "the scan does find what is there");
    }
    assert!(!server.app_secret_enc.as_deref().unwrap().contains(APP_SECRET));
    // An edit with the secret fields blank keeps them.
    let r = admin
        .post(
            &format!("/jitsi-servers/{}", server.id),
            &form(&[("app_secret", ""), ("name", "Meet"), ("lobby", "1")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.path, format!("/jitsi-servers/{}", server.id));
    assert!(r.contains("Modifications enregistrées"));
    let edited = app.store().jitsi_server(&server.id).await.unwrap().unwrap();
    assert!(edited.lobby && edited.name == "Meet" && edited.revision != server.revision);
    let reopened = service::jitsi_servers::open_server(app.state.service().jitsi().sealer(), edited).unwrap();
    assert_eq!(reopened.api_secret, open.api_secret);
    match reopened.mode {
        Some(jitsi::TokenMode::Hs256 { secret, .. }) => assert_eq!(secret.expose(), APP_SECRET),
        other => panic!("{other:?}"),
    }
    // A second server, made the default; the first can then go, the default cannot.
    let second = admin
        .post(
            "/jitsi-servers",
            &form(&[
                ("name", "Secours"),
                ("is_default", "1"),
                ("api_secret", &"s".repeat(40)),
            ]),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        second.path.matches('/').count(),
        2,
        "no secret page when the admin gave one"
    );
    let servers = app.store().list_jitsi_servers().await.unwrap();
    assert_eq!(servers[0].name, "Secours");
    assert!(servers[0].is_default && !servers[1].is_default);
    let dup = admin.post("/jitsi-servers", &form(&[("name", "SECOURS")])).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert!(dup.contains("s’appelle déjà"));
    let refused = admin
        .post(&format!("/jitsi-servers/{}/delete", servers[0].id), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.contains("désignez d’abord un autre serveur par défaut"));
    let deleted = admin.post(&format!("/jitsi-servers/{}/delete", server.id), &[]).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert!(deleted.contains("Serveur Jitsi supprimé."));
    assert_eq!(app.store().list_jitsi_servers().await.unwrap().len(), 1);
    // Managers and trainers: refused everywhere, and no menu entry.
    for role in [Role::Manager, Role::Trainer] {
        let (b, _) = app.logged_in(&format!("{}@example.org", role.as_str()), role).await;
        assert!(!b.get("/").await.contains("/jitsi-servers"));
        assert_eq!(b.get("/jitsi-servers").await.status, StatusCode::FORBIDDEN);
        assert_eq!(b.get("/jitsi-servers/new").await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            b.post("/jitsi-servers", &form(&[("name", "X")])).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            b.post(&format!("/jitsi-servers/{}/delete", servers[0].id), &[])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(app.store().list_jitsi_servers().await.unwrap().len(), 1);
}

async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = testkit::client()
        .request(method, format!("{}/api/v1{path}", app.url))
        .bearer_auth(token);
    if let Some(body) = body {
        r = r.header("content-type", "application/json").body(body.to_string());
    }
    r.send().await.unwrap()
}

async fn the_api_manages_servers_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let token = token_for(&app, &admin.id).await;
    let hs = json!({
        "name": "Meet", "base_url": "https://meet.example.org", "domain": "meet.example.org",
        "token_mode": "hs256", "app_id": "dialogue", "app_secret": APP_SECRET,
        "moderator_features": {"recording": true}, "participant_features": {"recording": false},
        "lobby": true, "max_occupants": 25
    });
    let r = api(&app, reqwest::Method::POST, "/jitsi-servers", &token, Some(hs.clone())).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/jitsi-servers/{id}"));
    let bearer = created["api_secret"]
        .as_str()
        .expect("generated and returned once")
        .to_owned();
    assert_eq!(bearer.len(), 43);
    assert_eq!(created["default"], true);
    assert_eq!(created["has_app_secret"], true);
    assert_eq!(created["max_occupants"], 25);
    assert!(created.get("app_secret").is_none());
    // The generated bearer is what Prosody must send.
    let prosody = testkit::client()
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("authorization", format!("Bearer {bearer}"))
        .body("name=unknown-room&start_time=2026-01-01T00%3A00%3A00.000Z&mail_owner=x%40y")
        .send()
        .await
        .unwrap();
    assert_eq!(prosody.status(), StatusCode::FORBIDDEN, "authenticated, unknown room");
    // Reading never shows a secret.
    for r in [
        api(&app, reqwest::Method::GET, "/jitsi-servers", &token, None).await,
        api(
            &app,
            reqwest::Method::GET,
            &format!("/jitsi-servers/{id}"),
            &token,
            None,
        )
        .await,
    ] {
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.unwrap();
        assert!(
            !text.contains(&bearer) && !text.contains(APP_SECRET) && !text.contains("api_secret"),
            "{text}"
        );
    }
    // RS256 with a given bearer: not echoed; the public key and the key-server URL are shown.
    let rs = json!({
        "name": "RSA", "base_url": "https://meet2.example.org", "domain": "meet2.example.org",
        "token_mode": "rs256", "app_id": "dialogue", "key_id": "k-2026", "private_key": PKCS8,
        "api_secret": "a".repeat(40), "tenant": "acme"
    });
    let r = api(&app, reqwest::Method::POST, "/jitsi-servers", &token, Some(rs)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rs: Value = r.json().await.unwrap();
    assert!(rs.get("api_secret").is_none());
    assert_eq!(rs["default"], false);
    assert!(
        rs["public_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let key_url = rs["key_server_url"].as_str().unwrap();
    assert!(key_url.ends_with(&jitsi::asap_key_path("k-2026")), "{key_url}");
    let path = key_url.trim_start_matches(&app.state.config().public_url);
    assert_eq!(
        testkit::get(format!("{}{path}", app.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        rs["public_key"].as_str().unwrap()
    );
    assert!(!rs.to_string().contains("PRIVATE KEY"));
    // The same bearer for a second server: refused (Prosody's calls are told apart by it).
    let twin = json!({
        "name": "Twin", "base_url": "https://meet3.example.org", "domain": "meet3.example.org",
        "token_mode": "hs256", "app_id": "dialogue", "app_secret": APP_SECRET,
        "api_secret": "a".repeat(40)
    });
    let before = app.store().list_jitsi_servers().await.unwrap().len();
    let r = api(&app, reqwest::Method::POST, "/jitsi-servers", &token, Some(twin)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "api_secret", "{problem}");
    assert_eq!(app.store().list_jitsi_servers().await.unwrap().len(), before);
    // PATCH: only what is given changes; a bad value is a 422 naming the field.
    let r = api(
        &app,
        reqwest::Method::PATCH,
        &format!("/jitsi-servers/{id}"),
        &token,
        Some(json!({"lobby": false, "max_occupants": null, "tenant": null})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(
        (patched["lobby"].clone(), patched["max_occupants"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(patched["app_id"], "dialogue");
    // Settings of another kind given to a server are checked all the same: an impossible port,
    // authority, admin password or HS256 secret is refused with its field, and nothing changes
    // (schemathesis found `xmpp_port: 0`, then `admin_password: ""` answered 200).
    let rs_id = rs["id"].as_str().unwrap().to_owned();
    for (server, body, field) in [
        (&id, json!({"xmpp_port": 0}), "xmpp_port"),
        (&id, json!({"xmpp_ca_pem": "not a certificate"}), "xmpp_ca_pem"),
        (&id, json!({"admin_password": ""}), "admin_password"),
        (&id, json!({"admin_password": "x".repeat(1024)}), "admin_password"),
        (&rs_id, json!({"admin_password": ""}), "admin_password"),
        (&rs_id, json!({"app_secret": "short"}), "app_secret"),
    ] {
        let lobby = app.store().jitsi_server(server).await.unwrap().unwrap().lobby;
        let mut body = body;
        body["lobby"] = json!(!lobby);
        let r = api(
            &app,
            reqwest::Method::PATCH,
            &format!("/jitsi-servers/{server}"),
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        let now = app.store().jitsi_server(server).await.unwrap().unwrap();
        assert_eq!(now.lobby, lobby, "nothing changed");
    }
    let r = api(
        &app,
        reqwest::Method::PATCH,
        &format!("/jitsi-servers/{id}"),
        &token,
        Some(json!({"domain": "Not A Domain", "app_secret": "short", "token_mode": "magic"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"token_mode"), "{problem}");
    let r = api(
        &app,
        reqwest::Method::PATCH,
        &format!("/jitsi-servers/{id}"),
        &token,
        Some(json!({"app_secret": "short"})),
    )
    .await;
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "app_secret", "{problem}");
    let r = api(
        &app,
        reqwest::Method::PATCH,
        &format!("/jitsi-servers/{id}"),
        &token,
        Some(json!({"lobbby": true})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "unknown fields are refused");
    let r = api(
        &app,
        reqwest::Method::POST,
        "/jitsi-servers",
        &token,
        Some(json!({"name": "meet", "token_mode": "hs256"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "incomplete");
    let mut dup = hs.clone();
    dup["name"] = json!("MEET");
    let r = api(&app, reqwest::Method::POST, "/jitsi-servers", &token, Some(dup)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Deleting: the default is kept while others exist; others go.
    let r = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/jitsi-servers/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let rs_id = rs["id"].as_str().unwrap();
    let r = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/jitsi-servers/{rs_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = api(
        &app,
        reqwest::Method::GET,
        &format!("/jitsi-servers/{rs_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Upcoming sessions keep their server.
    let trainer = app.user("theo@example.org", Role::Trainer).await;
    book_at(&app, &trainer, &manager, minutes_from_now(600), 60, "Europe/Paris").await;
    let r = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/jitsi-servers/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("1 séance(s) à venir"),
        "{problem}"
    );
    // Admins only.
    let manager_token = token_for(&app, &manager.id).await;
    for (method, path, body) in [
        (reqwest::Method::GET, "/jitsi-servers".to_owned(), None),
        (reqwest::Method::POST, "/jitsi-servers".to_owned(), Some(hs.clone())),
        (reqwest::Method::GET, format!("/jitsi-servers/{id}"), None),
        (
            reqwest::Method::PATCH,
            format!("/jitsi-servers/{id}"),
            Some(json!({"lobby": true})),
        ),
        (reqwest::Method::DELETE, format!("/jitsi-servers/{id}"), None),
    ] {
        let r = api(&app, method.clone(), &path, &manager_token, body).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    let r = api(&app, reqwest::Method::GET, "/jitsi-servers", "no-token", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.store().list_jitsi_servers().await.unwrap().len(), 1);
}

async fn managers_choose_a_sessions_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let other = server(&app, hs256("Autre", "https://autre.example.org")).await;
    let (manager, trainer, detail) = people_and_session(&app, minutes_from_now(3), 60).await;
    let lea = link(&app, learner(&detail));
    let go = |path: String| async move { client().get(path).send().await.unwrap() };
    assert!(location(&go(format!("{}{lea}", app.url)).await).starts_with("https://meet.example.org/"));
    let browser = app.browser();
    browser.login(&manager.email, PASSWORD).await;
    let room = browser.get(&format!("/sessions/{}/room", detail.session.id)).await;
    assert!(room.contains("Serveur Jitsi : Meet") && room.contains("name=\"server\""));
    let r = browser
        .post(
            &format!("/sessions/{}/jitsi-server", detail.session.id),
            &[("server", &other.id)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.contains("Serveur Jitsi : Autre"));
    assert!(location(&go(format!("{}{lea}", app.url)).await).starts_with("https://autre.example.org/"));
    let r = browser
        .post(
            &format!("/sessions/{}/jitsi-server", detail.session.id),
            &[("server", "nonexistent")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.contains("Ce serveur Jitsi n’existe pas."));
    // Back to the default.
    browser
        .post(
            &format!("/sessions/{}/jitsi-server", detail.session.id),
            &[("server", "")],
        )
        .await;
    assert!(location(&go(format!("{}{lea}", app.url)).await).starts_with("https://meet.example.org/"));
    // The trainer sees the room page but does not choose the server.
    let theo = app.browser();
    theo.login(&trainer.email, PASSWORD).await;
    let room = theo.get(&format!("/sessions/{}/room", detail.session.id)).await;
    assert_eq!(room.status, StatusCode::OK);
    assert!(!room.contains("name=\"server\""));
    let r = theo
        .post(
            &format!("/sessions/{}/jitsi-server", detail.session.id),
            &[("server", &other.id)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(location(&go(format!("{}{lea}", app.url)).await).starts_with("https://meet.example.org/"));
}
