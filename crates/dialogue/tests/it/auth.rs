//! Login, logout, sessions, CSRF and throttling, as a browser sees them.

use domain::Role;
use jiff::SignedDuration;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::{Browser, PASSWORD, TestApp};

both_backends!(
    login_then_logout,
    wrong_password_and_unknown_account_look_the_same,
    disabled_accounts_cannot_log_in,
    session_cookie_is_safe_and_rotated,
    secure_cookies_under_https,
    csrf_is_required_on_every_form,
    failed_logins_are_throttled_per_account_and_address,
    sessions_expire_when_idle_and_absolutely,
    first_start_setup_link_creates_the_admin_once,
    next_parameter_returns_to_the_page_and_never_leaves_the_site,
);

async fn login_then_logout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ana@example.org", Role::Manager).await;
    let browser = app.browser();
    // Anonymous: the home page sends to the login page.
    let page = browser.get("/").await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::OK, "/login"));
    assert!(page.contains("Connexion"), "French by default");
    let page = browser.login("ANA@example.org ", PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.path, "/");
    assert!(page.contains("Bonjour manager ana"), "{}", page.body);
    let page = browser.post("/logout", &[]).await;
    assert_eq!(page.path, "/login");
    assert!(page.contains("déconnecté"));
    assert_eq!(browser.get("/profile").await.path, "/login", "the session has ended");
    let log = app.store().audit_log(10, None).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.starts_with(&["logout", "login"]), "{actions:?}");
    assert_eq!(log[1].ip.as_deref(), Some("127.0.0.1"));
}

async fn wrong_password_and_unknown_account_look_the_same(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ana@example.org", Role::Trainer).await;
    let browser = app.browser();
    let wrong = browser.login("ana@example.org", "not the password").await;
    let unknown = browser.login("nobody@example.org", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let message = "Adresse e-mail ou mot de passe incorrect.";
    assert!(wrong.contains(message) && unknown.contains(message));
    assert_eq!(
        wrong
            .body
            .replace("ana@example.org", "X")
            .replace(&wrong.input_value("_csrf").unwrap(), "T"),
        unknown
            .body
            .replace("nobody@example.org", "X")
            .replace(&unknown.input_value("_csrf").unwrap(), "T"),
        "the two answers differ only by the email typed"
    );
    let english = browser.clone().speaking("en-GB,en;q=0.9");
    assert!(
        english
            .login("ana@example.org", "nope")
            .await
            .contains("Wrong email address or password.")
    );
    let failed: Vec<_> = app
        .store()
        .audit_log(10, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "login.failed")
        .collect();
    assert_eq!(failed.len(), 3);
}

async fn disabled_accounts_cannot_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("ana@example.org", Role::Trainer).await;
    let audit = store::AuditEntry::new("user.disable", None, "test", None);
    app.store()
        .set_active(&user.id, false, jiff::Timestamp::now(), &audit)
        .await
        .unwrap();
    let page = app.browser().login("ana@example.org", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

async fn session_cookie_is_safe_and_rotated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ana@example.org", Role::Trainer).await;
    let browser = app.browser();
    browser.get("/login").await;
    let first = browser
        .post_raw("/login", &[("email", "ana@example.org"), ("password", PASSWORD)])
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<String> = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("dialogue_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"));
    assert!(!session.contains("Secure"), "plain http: no Secure flag");
    assert!(
        cookies.iter().any(|c| c.starts_with("dialogue_csrf=")),
        "the CSRF secret rotates at login"
    );
    let id1 = session.split(';').next().unwrap().to_owned();
    // Logging in again gives a new id; the old one no longer works.
    browser.get("/").await;
    let second = browser
        .post_raw("/login", &[("email", "ana@example.org"), ("password", PASSWORD)])
        .await;
    let id2 = second
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("dialogue_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(id1, id2);
    let stale = app.browser();
    let raw = stale
        .client
        .get(format!("{}/", app.url))
        .header("cookie", id1)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::SEE_OTHER, "the old session id is dead");
    // The database keeps only hashes of session ids.
    let value = id2.split_once('=').unwrap().1;
    assert!(
        app.store()
            .session_user(value, app.state.now(), 3600)
            .await
            .unwrap()
            .is_none()
    );
}

async fn secure_cookies_under_https(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_PUBLIC_URL", "https://dialogue.example.org")]).await;
    let response = app.browser().get_raw("/login").await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-dialogue_csrf=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

async fn csrf_is_required_on_every_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ana@example.org", Role::Admin).await;
    let browser = app.browser();
    browser.get("/login").await;
    // No token.
    let page = browser
        .post_bare("/login", &[("email", "ana@example.org"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.contains("Ce formulaire a expiré"));
    // A token minted for another browser's cookie.
    let other = app.browser();
    let foreign = other.csrf().await;
    let page = browser
        .post_bare(
            "/login",
            &[
                ("_csrf", &foreign),
                ("email", "ana@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // The right token, but sent by another site.
    let token = browser.csrf().await;
    let response = browser
        .client
        .post(format!("{}/login", app.url))
        .header("origin", "https://evil.example")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "ana@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Logged in, state-changing posts need it too, and nothing changes without it.
    let page = browser.login("ana@example.org", PASSWORD).await;
    assert_eq!(page.path, "/");
    let before = app.store().list_users(&Default::default()).await.unwrap().len();
    let page = browser
        .post_bare(
            "/users",
            &[
                ("email", "x@example.org"),
                ("display_name", "X"),
                ("role", "trainer"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store().list_users(&Default::default()).await.unwrap().len(), before);
    // With the header instead of the field (for scripts), it passes.
    let token = browser.csrf().await;
    let response = browser
        .client
        .post(format!("{}/logout", app.url))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn failed_logins_are_throttled_per_account_and_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_LOGIN_MAX_FAILURES_PER_ADDRESS", "8")]).await;
    app.user("ana@example.org", Role::Trainer).await;
    app.user("bob@example.org", Role::Trainer).await;
    let browser = app.browser();
    for _ in 0..5 {
        assert_eq!(
            browser.login("ana@example.org", "wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused for now.
    let page = browser.login("ana@example.org", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Réessayez dans 5 minute(s)"), "{}", page.body);
    // Another account from the same address still works, until the address limit.
    assert_eq!(browser.login("bob@example.org", PASSWORD).await.status, StatusCode::OK);
    browser.post("/logout", &[]).await;
    for _ in 0..3 {
        browser.login("bob@example.org", "wrong").await;
    }
    assert_eq!(
        browser.login("bob@example.org", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // After the lock, the right password works again.
    app.clock.advance(SignedDuration::from_mins(6));
    assert_eq!(browser.login("ana@example.org", PASSWORD).await.status, StatusCode::OK);
}

async fn sessions_expire_when_idle_and_absolutely(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_SESSION_IDLE_MINUTES", "30"),
            ("DIALOGUE_SESSION_ABSOLUTE_HOURS", "2"),
        ],
    )
    .await;
    let (browser, _) = app.logged_in("ana@example.org", Role::Trainer).await;
    // Active every 20 minutes: still logged in after 100 minutes.
    for _ in 0..5 {
        app.clock.advance(SignedDuration::from_mins(20));
        assert_eq!(browser.get("/profile").await.path, "/profile");
    }
    // Past two hours, however active.
    app.clock.advance(SignedDuration::from_mins(21));
    assert_eq!(browser.get("/profile").await.path, "/login");
    // Idle for longer than 30 minutes.
    let page = browser.login("ana@example.org", PASSWORD).await;
    assert_eq!(page.path, "/");
    app.clock.advance(SignedDuration::from_mins(31));
    assert_eq!(browser.get("/profile").await.path, "/login");
}

async fn first_start_setup_link_creates_the_admin_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = app.setup_url.clone().expect("no admin: a setup link");
    let path = link.strip_prefix(&app.url).unwrap().to_owned();
    let browser = app.browser();
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Premier démarrage"));
    // Bad input: explained, nothing created.
    let page = browser
        .post(
            &path,
            &[
                ("email", "not-an-email"),
                ("display_name", ""),
                ("locale", "fr"),
                ("time_zone", "Mars/Olympus"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in [
        "n’est pas une adresse e-mail valide",
        "Indiquez un nom",
        "fuseau horaire connu",
        "au moins 10 caractères",
    ] {
        assert!(page.contains(message), "missing {message:?}");
    }
    assert_eq!(app.store().count_active_admins().await.unwrap(), 0);
    let page = browser
        .post(
            &path,
            &[
                ("email", "root@example.org"),
                ("display_name", "Rose Admin"),
                ("locale", "en"),
                ("time_zone", "Europe/Paris"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.path, "/");
    assert!(page.contains("Hello Rose Admin"), "logged in, in the language chosen");
    assert!(page.contains("/users/new"));
    // The link works once.
    assert_eq!(app.browser().get(&path).await.status, StatusCode::NOT_FOUND);
    let admin = app.store().user_by_email("root@example.org").await.unwrap().unwrap();
    assert_eq!(admin.role, Role::Admin);
    // A restart with an admin makes no new link.
    assert!(
        service::accounts::setup_link_if_needed(app.state.service())
            .await
            .unwrap()
            .is_none()
    );
}

async fn next_parameter_returns_to_the_page_and_never_leaves_the_site(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ana@example.org", Role::Admin).await;
    let browser = app.browser();
    let page = browser.get("/users?all=1").await;
    assert_eq!(page.path, "/login");
    assert_eq!(page.redirects, vec!["/login?next=%2Fusers%3Fall%3D1".to_owned()]);
    let page = browser
        .post(
            "/login",
            &[
                ("email", "ana@example.org"),
                ("password", PASSWORD),
                ("next", "/users?all=1"),
            ],
        )
        .await;
    assert_eq!(page.path, "/users");
    let other = app.browser();
    other.get("/login").await;
    let response = other
        .post_raw(
            "/login",
            &[
                ("email", "ana@example.org"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(response.headers()["location"], "/");
    // Browsers drop tabs and line breaks from a Location before reading it: `/<TAB>/evil`
    // would leave the site. The language switch needs no login, so anyone could use it.
    for next in ["/%09/evil.example", "/%0A/evil.example", "/%5C/evil.example", "/%01"] {
        let r = app.browser().get_raw(&format!("/lang/en?next={next}")).await;
        assert!(r.status().is_redirection(), "{next}: {}", r.status());
        assert_eq!(r.headers()["location"], "/", "{next}");
    }
}

/// Kept out of the matrix: a browser that never loaded a page has no CSRF cookie at all.
#[tokio::test]
async fn a_post_without_any_cookie_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = Browser::new(&app.url);
    let page = browser
        .post_bare(
            "/login",
            &[("_csrf", "x"), ("email", "a@example.org"), ("password", "p")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}
