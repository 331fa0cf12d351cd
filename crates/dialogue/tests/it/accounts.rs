//! Accounts through the pages: an admin creates a manager and a trainer, each sees only what
//! the role allows; bad input is explained and changes nothing.

use domain::Role;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::{PASSWORD, TestApp};

both_backends!(
    admin_creates_a_manager_and_a_trainer_who_see_their_own_world,
    accounts_without_a_password_get_a_one_time_link,
    bad_account_input_is_explained_and_changes_nothing,
    the_last_admin_is_kept_through_the_pages,
    profiles_change_and_passwords_need_the_current_one,
    language_follows_the_person_then_the_browser,
    unicode_names_are_kept_and_escaped,
    concurrent_creations_and_logins_all_land,
);

fn account<'a>(email: &'a str, name: &'a str, role: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", email),
        ("display_name", name),
        ("role", role),
        ("locale", "fr"),
        ("time_zone", "Europe/Paris"),
        ("password", password),
    ]
}

async fn admin_creates_a_manager_and_a_trainer_who_see_their_own_world(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let page = admin.get("/users/new").await;
    assert!(page.contains("value=\"admin\"") && page.contains("value=\"manager\""));
    let page = admin
        .post(
            "/users",
            &account("marie@example.org", "Marie Gestion", "manager", PASSWORD),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.path.starts_with("/users/") && page.contains("Compte créé"),
        "{}",
        page.path
    );
    let page = admin
        .post(
            "/users",
            &account("theo@example.org", "Théo Formateur", "trainer", PASSWORD),
        )
        .await;
    assert!(page.contains("Théo Formateur"));

    // The manager sees trainers only, creates trainers only, and has no audit log.
    let manager = app.browser();
    assert_eq!(manager.login("marie@example.org", PASSWORD).await.path, "/");
    let dashboard = manager.get("/").await;
    assert!(dashboard.contains("Ajouter un·e formateur·rice") && !dashboard.contains("href=\"/audit\""));
    let list = manager.get("/users").await;
    assert!(
        list.contains("theo@example.org") && !list.contains("root@example.org") && !list.contains("marie@example.org")
    );
    let form = manager.get("/users/new").await;
    assert!(form.contains("value=\"trainer\"") && !form.contains("value=\"manager\""));
    let refused = manager
        .post("/users", &account("x@example.org", "X", "manager", PASSWORD))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("Votre rôle ne permet pas cette action."));
    assert!(app.store().user_by_email("x@example.org").await.unwrap().is_none());
    let created = manager
        .post("/users", &account("tina@example.org", "Tina", "trainer", PASSWORD))
        .await;
    assert!(created.contains("Compte créé"));
    assert_eq!(manager.get("/audit").await.status, StatusCode::FORBIDDEN);
    let root = app.store().user_by_email("root@example.org").await.unwrap().unwrap();
    assert_eq!(
        manager.get(&format!("/users/{}", root.id)).await.status,
        StatusCode::NOT_FOUND
    );

    // The trainer sees neither accounts nor the audit log, and has a profile.
    let trainer = app.browser();
    assert_eq!(trainer.login("theo@example.org", PASSWORD).await.path, "/");
    let dashboard = trainer.get("/").await;
    assert!(dashboard.contains("Mes séances") && !dashboard.contains("href=\"/users\""));
    assert_eq!(trainer.get("/users").await.status, StatusCode::FORBIDDEN);
    assert_eq!(trainer.get("/profile").await.status, StatusCode::OK);

    // Every one of these actions is in the audit log, by the admin's or the manager's account.
    let log = app.store().audit_log(50, None).await.unwrap();
    let creations: Vec<_> = log
        .iter()
        .filter(|e| e.action == "user.create")
        .map(|e| e.actor_label.as_str())
        .collect();
    assert!(
        creations.contains(&"root@example.org") && creations.contains(&"marie@example.org"),
        "{creations:?}"
    );
}

async fn accounts_without_a_password_get_a_one_time_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let page = admin
        .post("/users", &account("nina@example.org", "Nina", "trainer", ""))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let start = page
        .body
        .find(&format!("{}/password/", app.url))
        .expect("the link is shown");
    let link = page.body[start..].split('<').next().unwrap().to_owned();
    let path = link.strip_prefix(&app.url).unwrap().to_owned();
    // The person uses it.
    let nina = app.browser();
    let form = nina.get(&path).await;
    assert!(form.contains("nina@example.org"));
    let mismatch = nina
        .post(
            &path,
            &[("password", PASSWORD), ("password_confirm", "other words here")],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.contains("ne sont pas identiques"));
    let done = nina
        .post(&path, &[("password", PASSWORD), ("password_confirm", PASSWORD)])
        .await;
    assert_eq!(done.path, "/login");
    assert!(done.contains("Mot de passe enregistré"));
    assert_eq!(nina.login("nina@example.org", PASSWORD).await.path, "/");
    // Once only.
    assert_eq!(app.browser().get(&path).await.status, StatusCode::NOT_FOUND);
    // A new link from the account page replaces a forgotten password.
    let nina_id = app.store().user_by_email("nina@example.org").await.unwrap().unwrap().id;
    let page = admin.post(&format!("/users/{nina_id}/password-link"), &[]).await;
    assert!(page.contains("/password/") && page.contains("72 heures"));
}

async fn bad_account_input_is_explained_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let before = app.store().list_users(&Default::default()).await.unwrap().len();
    let long_name = "n".repeat(101);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            account("bad email", "X", "trainer", ""),
            "n’est pas une adresse e-mail valide",
        ),
        (account("x@example.org", "   ", "trainer", ""), "Indiquez un nom"),
        (
            account("x@example.org", &long_name, "trainer", ""),
            "dépasse 100 caractères",
        ),
        (account("x@example.org", "X", "emperor", ""), "Choisissez un rôle"),
        (
            account("x@example.org", "X", "trainer", "short"),
            "au moins 10 caractères",
        ),
        (
            account("ROOT@example.org", "X", "trainer", ""),
            "Un compte utilise déjà cette adresse e-mail",
        ),
    ];
    for (fields, message) in cases {
        let page = admin.post("/users", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.contains(message), "expected {message:?}");
        assert!(page.contains("aria-invalid=\"true\""), "the field is marked");
    }
    let mut bad_zone = account("x@example.org", "X", "trainer", "");
    bad_zone[4] = ("time_zone", "Europe/Atlantis");
    let page = admin.clone().speaking("en").post("/users", &bad_zone).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Europe/Atlantis"),
        "the admin's own language (French) wins over the browser's"
    );
    assert_eq!(
        app.store().list_users(&Default::default()).await.unwrap().len(),
        before,
        "nothing was created"
    );
    // Editing with bad input changes nothing either.
    let root = app.store().user_by_email("root@example.org").await.unwrap().unwrap();
    let page = admin
        .post(
            &format!("/users/{}", root.id),
            &[
                ("email", "broken"),
                ("display_name", "New"),
                ("locale", "xx"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("« xx » n’est pas une langue disponible"));
    assert_eq!(app.store().user(&root.id).await.unwrap().unwrap(), root);
}

async fn the_last_admin_is_kept_through_the_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, root) = app.logged_in("root@example.org", Role::Admin).await;
    let page = admin
        .post(&format!("/users/{}/role", root.id), &[("role", "manager")])
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.contains("dernier compte administrateur actif"));
    assert_eq!(app.store().user(&root.id).await.unwrap().unwrap().role, Role::Admin);
    // Nobody disables themself.
    let page = admin.post(&format!("/users/{}/disable", root.id), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // With a second admin, the first may step down.
    let second = app.user("second@example.org", Role::Admin).await;
    let page = admin.post(&format!("/users/{}/disable", second.id), &[]).await;
    assert!(page.contains("Compte désactivé"));
    let page = admin.post(&format!("/users/{}/enable", second.id), &[]).await;
    assert!(page.contains("Compte réactivé"));
    let page = admin
        .post(&format!("/users/{}/role", root.id), &[("role", "manager")])
        .await;
    assert!(page.contains("Rôle modifié"), "{}", page.body);
    assert_eq!(
        admin.get("/audit").await.status,
        StatusCode::FORBIDDEN,
        "permissions follow the new role at once"
    );
}

async fn profiles_change_and_passwords_need_the_current_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, user) = app.logged_in("ana@example.org", Role::Trainer).await;
    let other_device = app.browser();
    other_device.login("ana@example.org", PASSWORD).await;
    let page = browser
        .post(
            "/profile",
            &[
                ("email", "ana.b@example.org"),
                ("display_name", "Ana B"),
                ("locale", "en"),
                ("time_zone", "America/Montreal"),
            ],
        )
        .await;
    assert!(page.contains("Changes saved."), "now in English");
    let saved = app.store().user(&user.id).await.unwrap().unwrap();
    assert_eq!(
        (saved.email.as_str(), saved.time_zone.as_str()),
        ("ana.b@example.org", "America/Montreal")
    );
    let wrong = browser
        .post(
            "/profile/password",
            &[
                ("current_password", "nope"),
                ("password", "a new passphrase"),
                ("password_confirm", "a new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.contains("The current password is wrong."));
    let page = browser
        .post(
            "/profile/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a new passphrase"),
                ("password_confirm", "a new passphrase"),
            ],
        )
        .await;
    assert!(page.contains("Password changed."));
    assert_eq!(browser.get("/profile").await.path, "/profile", "this session continues");
    assert_eq!(
        other_device.get("/profile").await.path,
        "/login",
        "the other device was logged out"
    );
    assert_eq!(
        app.browser().login("ana.b@example.org", "a new passphrase").await.path,
        "/"
    );
}

async fn language_follows_the_person_then_the_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.browser().speaking("en-US,en;q=0.8");
    let page = anonymous.get("/login").await;
    assert!(page.contains("<html lang=\"en\">") && page.contains("Log in"));
    let page = app.browser().speaking("de-DE,de;q=0.9").get("/login").await;
    assert!(page.contains("<html lang=\"fr\">"), "no language we speak: the default");
    // The switch in the footer sets a cookie for anonymous visitors.
    let browser = app.browser().speaking("en");
    let page = browser.get("/lang/fr?next=/login").await;
    assert!(page.contains("<html lang=\"fr\">"));
    // A logged-in person's own setting wins over the browser.
    app.user("ana@example.org", Role::Trainer).await;
    let page = app.browser().speaking("en").login("ana@example.org", PASSWORD).await;
    assert!(page.contains("<html lang=\"fr\">") && page.contains("Mes séances"));
    // And the switch saves it in their profile.
    let ana = app.browser().speaking("fr");
    ana.login("ana@example.org", PASSWORD).await;
    let page = ana.post("/lang/en?next=/profile", &[]).await;
    assert!(page.contains("<html lang=\"en\">") && page.contains("My profile"));
    assert_eq!(
        app.store()
            .user_by_email("ana@example.org")
            .await
            .unwrap()
            .unwrap()
            .locale,
        domain::Locale::En
    );
}

async fn unicode_names_are_kept_and_escaped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let name = "Zoé <script>alert(1)</script> 李 🎓";
    let page = admin
        .post("/users", &account("zoe@example.org", name, "trainer", PASSWORD))
        .await;
    assert!(page.contains("Zoé &lt;script&gt;alert(1)&lt;/script&gt; 李 🎓") || page.contains("Zoé &#60;script&#62;"));
    assert!(!page.contains("<script>alert(1)</script>"));
    let stored = app.store().user_by_email("zoe@example.org").await.unwrap().unwrap();
    assert_eq!(stored.display_name, name);
    let list = admin.get("/users").await;
    assert!(!list.contains("<script>alert"));
}

/// 50 account creations through the pages and 50 logins at once: no error, no lost write.
async fn concurrent_creations_and_logins_all_land(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let email = format!("t{i}@example.org");
            let name = format!("Trainer {i}");
            let page = admin.post("/users", &account(&email, &name, "trainer", PASSWORD)).await;
            (page.status, page.path)
        }));
    }
    for task in tasks {
        let (status, path) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(path.starts_with("/users/"), "{path}");
    }
    let mut logins = Vec::new();
    for i in 0..50 {
        let browser = app.browser();
        logins.push(tokio::spawn(async move {
            browser.login(&format!("t{i}@example.org"), PASSWORD).await.path
        }));
    }
    for login in logins {
        assert_eq!(login.await.unwrap(), "/");
    }
    let trainers = app
        .store()
        .list_users(&store::UserFilter {
            roles: vec![Role::Trainer],
            include_inactive: false,
        })
        .await
        .unwrap();
    assert_eq!(trainers.len(), 50);
    let log = app.store().audit_log(500, None).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "login").count(), 51);
    assert_eq!(
        log.iter().filter(|e| e.action == "user.create").count(),
        51,
        "50 and the admin"
    );
}
