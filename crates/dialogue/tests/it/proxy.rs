//! Login through a trusted reverse proxy: a real nginx doing `auth_basic` hands the person over
//! in headers. The same headers from anywhere else are refused.

use domain::Role;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;

both_backends!(nginx_auth_basic_logs_people_in_and_headers_from_elsewhere_are_refused);

async fn nginx_auth_basic_logs_people_in_and_headers_from_elsewhere_are_refused(backend: Backend) {
    // The app must know nginx's port for its public URL (form posts carry that Origin), and
    // nginx must know the app's: reserve nginx's port first.
    let front_port = testkit::free_port();
    let front = format!("http://127.0.0.1:{front_port}");
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_PUBLIC_URL", &front),
            ("DIALOGUE_PROXY_AUTH_ENABLED", "true"),
            ("DIALOGUE_HTTP_TRUSTED_PROXIES", "127.0.0.2/32"),
            ("DIALOGUE_PROXY_AUTH_EMAIL_HEADER", "X-Remote-Email"),
            ("DIALOGUE_PROXY_AUTH_GROUPS_HEADER", "X-Remote-Groups"),
            ("DIALOGUE_PROXY_AUTH_ROLE_MAP", "staff=manager,it=admin"),
        ],
    )
    .await;
    let nginx = testkit::nginx_auth_basic(
        front_port,
        app.addr.port(),
        &[
            ("alice", "alice-pw", "staff"),
            ("carol", "carol-pw", ""),
            ("ivan", "ivan-pw", "it"),
            ("dave", "dave-pw", "it"),
            ("erin", "erin-pw", ""),
        ],
    )
    .await;
    let client = testkit::http()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // No credentials: nginx refuses.
    let r = client.get(format!("{front}/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Alice: created on first login, manager through her group, logged in at once.
    let r = client
        .get(format!("{front}/"))
        .basic_auth("alice", Some("alice-pw"))
        .header("X-Remote-User", "ivan")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", nginx.log());
    let body = r.text().await.unwrap();
    assert!(body.contains("Bonjour alice"), "{body}");
    assert!(body.contains("Ajouter un·e formateur·rice"), "a manager's dashboard");
    let alice = app
        .store()
        .user_by_email("alice@example.org")
        .await
        .unwrap()
        .expect("alice was created");
    assert_eq!(
        (alice.role, alice.auth_source.as_str(), alice.external_id.as_deref()),
        (Role::Manager, "proxy", Some("alice"))
    );
    assert!(!alice.has_password);
    // Her next request reuses the session: one login in the audit log.
    let r = client
        .get(format!("{front}/profile"))
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let logins = |log: &[store::AuditRecord]| log.iter().filter(|e| e.action == "login").count();
    let log = app.store().audit_log(50, None).await.unwrap();
    assert_eq!(logins(&log), 1);
    let login = log.iter().find(|e| e.action == "login").unwrap();
    assert_eq!(
        login.ip.as_deref(),
        Some("127.0.0.1"),
        "the client's address, through X-Forwarded-For"
    );
    assert!(login.detail.as_deref().unwrap().contains("proxy"));

    // Carol has no mapped group: the default role. Ivan is in `it`: admin.
    let other = testkit::http().cookie_store(true).build().unwrap();
    let r = other
        .get(format!("{front}/"))
        .basic_auth("carol", Some("carol-pw"))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Mes séances"));
    assert_eq!(
        app.store()
            .user_by_email("carol@example.org")
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Trainer
    );
    let third = testkit::http().cookie_store(true).build().unwrap();
    let r = third
        .get(format!("{front}/audit"))
        .basic_auth("ivan", Some("ivan-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A local account with its own password (whose owner could have typed any address into
    // their profile) is not handed to the directory identity that names its address, nor
    // raised to that identity's mapped role: refused, explained, nothing changed.
    let local = app.user("dave@example.org", Role::Trainer).await;
    let fourth = testkit::http().cookie_store(true).build().unwrap();
    let r = fourth
        .get(format!("{front}/"))
        .basic_auth("dave", Some("dave-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("existe déjà et se connecte autrement"));
    let after = app.store().user(&local.id).await.unwrap().unwrap();
    assert_eq!(
        (after.role, after.auth_source.as_str(), after.external_id.as_deref()),
        (Role::Trainer, "local", None)
    );
    // An account created without a password (waiting for its set-password link) is linked.
    let invited = app
        .store()
        .create_user(
            &store::NewUser {
                email: domain::Email::parse("erin@example.org").unwrap(),
                display_name: domain::DisplayName::parse("Erin").unwrap(),
                role: Role::Trainer,
                locale: domain::Locale::Fr,
                time_zone: "Europe/Paris".into(),
                password_hash: None,
                auth_source: "local".into(),
                external_id: None,
            },
            jiff::Timestamp::now(),
            &store::AuditEntry::new("user.create", None, "test", None),
        )
        .await
        .unwrap();
    let fifth = testkit::http().cookie_store(true).build().unwrap();
    let r = fifth
        .get(format!("{front}/"))
        .basic_auth("erin", Some("erin-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let linked = app.store().user(&invited.id).await.unwrap().unwrap();
    assert_eq!(
        (linked.auth_source.as_str(), linked.external_id.as_deref()),
        ("proxy", Some("erin"))
    );

    // A form post through the proxy works (CSRF and Origin as a browser sends them).
    let page = client
        .get(format!("{front}/profile"))
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let token = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = client
        .post(format!("{front}/profile"))
        .basic_auth("alice", Some("alice-pw"))
        .header("origin", &front)
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "alice@example.org"),
            ("display_name", "Alice Martin"),
            ("locale", "fr"),
            ("time_zone", "Europe/Paris"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.store().user(&alice.id).await.unwrap().unwrap().display_name,
        "Alice Martin"
    );

    // The same header straight to Dialogue, from an address that is not the proxy: refused.
    let direct = testkit::client();
    let r = direct
        .get(format!("{}/", app.url))
        .header("X-Remote-User", "alice")
        .header("X-Remote-Email", "alice@example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("adresse non autorisée"));
    let r = direct
        .get(format!("{}/", app.url))
        .header("X-Remote-User", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        app.store()
            .user_by_email("mallory@example.org")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        logins(&app.store().audit_log(50, None).await.unwrap()),
        4,
        "no login from the refused requests"
    );
    // Without the header, Dialogue's own login page still answers.
    let r = direct.get(format!("{}/login", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
