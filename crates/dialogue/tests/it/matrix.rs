//! Every route × every role (and anonymous), against DESIGN.md's matrix. Each role gets its own
//! server with the same cast of accounts, and walks the same list of requests in order.

use domain::Role;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::{PASSWORD, TestApp};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Trainer,
    Manager,
    Admin,
}

/// What a request must answer: a status after following redirects, and where it ended.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 200 on this very page.
    Ok,
    /// Redirected (303) to a page that answered 200.
    Done,
    /// Sent to the login page.
    Login,
    Forbidden,
    NotFound,
}

use Expect::*;

struct Cast {
    admin2: String,
    manager2: String,
    trainer2: String,
    trainer_role: String,
    trainer_off: String,
    manager_off: String,
}

/// (method, path template, expectation for anonymous, trainer, manager, admin, form fields)
type Row = (
    &'static str,
    &'static str,
    [Expect; 4],
    &'static [(&'static str, &'static str)],
);

fn rows() -> Vec<Row> {
    vec![
        ("GET", "/healthz", [Ok, Ok, Ok, Ok], &[]),
        ("GET", "/readyz", [Ok, Ok, Ok, Ok], &[]),
        ("GET", "/no/such/page", [NotFound, NotFound, NotFound, NotFound], &[]),
        ("GET", "/", [Login, Ok, Ok, Ok], &[]),
        ("GET", "/profile", [Login, Ok, Ok, Ok], &[]),
        (
            "POST",
            "/profile",
            [Login, Done, Done, Done],
            &[
                ("email", "{self}"),
                ("display_name", "Me"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        ),
        ("GET", "/users", [Login, Forbidden, Ok, Ok], &[]),
        ("GET", "/users?all=1", [Login, Forbidden, Ok, Ok], &[]),
        ("GET", "/users/new", [Login, Forbidden, Ok, Ok], &[]),
        (
            "POST",
            "/users",
            [Login, Forbidden, Done, Done],
            &[
                ("email", "{new}"),
                ("display_name", "New"),
                ("role", "trainer"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
                ("password", PASSWORD),
            ],
        ),
        (
            "POST",
            "/users",
            [Login, Forbidden, Forbidden, Done],
            &[
                ("email", "{new}"),
                ("display_name", "New"),
                ("role", "manager"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
                ("password", PASSWORD),
            ],
        ),
        (
            "POST",
            "/users",
            [Login, Forbidden, Forbidden, Done],
            &[
                ("email", "{new}"),
                ("display_name", "New"),
                ("role", "admin"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
                ("password", PASSWORD),
            ],
        ),
        ("GET", "/users/{trainer2}", [Login, NotFound, Ok, Ok], &[]),
        ("GET", "/users/{manager2}", [Login, NotFound, NotFound, Ok], &[]),
        ("GET", "/users/{admin2}", [Login, NotFound, NotFound, Ok], &[]),
        ("GET", "/users/nonexistent", [Login, NotFound, NotFound, NotFound], &[]),
        (
            "POST",
            "/users/{trainer2}",
            [Login, NotFound, Done, Done],
            &[
                ("email", "trainer2@example.org"),
                ("display_name", "Edited Name"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        ),
        (
            "POST",
            "/users/{manager2}",
            [Login, NotFound, NotFound, Done],
            &[
                ("email", "manager2@example.org"),
                ("display_name", "Edited Name"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        ),
        (
            "POST",
            "/users/{admin2}",
            [Login, NotFound, NotFound, Done],
            &[
                ("email", "admin2@example.org"),
                ("display_name", "Edited Name"),
                ("locale", "fr"),
                ("time_zone", "Europe/Paris"),
            ],
        ),
        (
            "POST",
            "/users/{trainer2}/password-link",
            [Login, NotFound, Ok, Ok],
            &[],
        ),
        (
            "POST",
            "/users/{manager2}/password-link",
            [Login, NotFound, NotFound, Ok],
            &[],
        ),
        (
            "POST",
            "/users/{trainer_role}/role",
            [Login, NotFound, Forbidden, Done],
            &[("role", "manager")],
        ),
        (
            "POST",
            "/users/{manager2}/role",
            [Login, NotFound, NotFound, Done],
            &[("role", "admin")],
        ),
        (
            "POST",
            "/users/{trainer_off}/disable",
            [Login, NotFound, Done, Done],
            &[],
        ),
        (
            "POST",
            "/users/{trainer_off}/enable",
            [Login, NotFound, Done, Done],
            &[],
        ),
        (
            "POST",
            "/users/{manager_off}/disable",
            [Login, NotFound, NotFound, Done],
            &[],
        ),
        ("GET", "/audit", [Login, Forbidden, Forbidden, Ok], &[]),
        ("GET", "/login", [Ok, Done, Done, Done], &[]),
        ("POST", "/logout", [Done, Done, Done, Done], &[]),
    ]
}

async fn walk(backend: Backend, who: Who) {
    let app = TestApp::spawn(backend).await;
    let cast = Cast {
        admin2: app.user("admin2@example.org", Role::Admin).await.id,
        manager2: app.user("manager2@example.org", Role::Manager).await.id,
        trainer2: app.user("trainer2@example.org", Role::Trainer).await.id,
        trainer_role: app.user("trainer3@example.org", Role::Trainer).await.id,
        trainer_off: app.user("trainer4@example.org", Role::Trainer).await.id,
        manager_off: app.user("manager3@example.org", Role::Manager).await.id,
    };
    let (browser, me) = match who {
        Who::Anonymous => (app.browser(), None),
        Who::Trainer => {
            let (b, u) = app.logged_in("me@example.org", Role::Trainer).await;
            (b, Some(u))
        }
        Who::Manager => {
            let (b, u) = app.logged_in("me@example.org", Role::Manager).await;
            (b, Some(u))
        }
        Who::Admin => {
            let (b, u) = app.logged_in("me@example.org", Role::Admin).await;
            (b, Some(u))
        }
    };
    let column = who as usize;
    let mut failures = Vec::new();
    for (n, (method, template, expected, fields)) in rows().into_iter().enumerate() {
        let path = template
            .replace("{admin2}", &cast.admin2)
            .replace("{manager2}", &cast.manager2)
            .replace("{trainer2}", &cast.trainer2)
            .replace("{trainer_role}", &cast.trainer_role)
            .replace("{trainer_off}", &cast.trainer_off)
            .replace("{manager_off}", &cast.manager_off);
        let new_email = format!("new{n}@example.org");
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| {
                let v: &str = match *v {
                    "{new}" => &new_email,
                    "{self}" => "me@example.org",
                    other => other,
                };
                (*k, v)
            })
            .collect();
        let page = if method == "GET" {
            browser.get(&path).await
        } else {
            browser.post(&path, &fields).await
        };
        let expect = expected[column];
        let ok = match expect {
            Ok => page.status == StatusCode::OK && page.redirects.is_empty(),
            Done => {
                page.status == StatusCode::OK && !page.redirects.is_empty() && page.path != "/login"
                    || (method == "POST" && path == "/logout" && page.path == "/login")
            }
            Login => page.status == StatusCode::OK && page.path == "/login" && !page.redirects.is_empty(),
            Forbidden => page.status == StatusCode::FORBIDDEN,
            NotFound => page.status == StatusCode::NOT_FOUND,
        };
        if !ok {
            failures.push(format!(
                "{who:?} {method} {template}: expected {expect:?}, got {} at {} after {:?}",
                page.status, page.path, page.redirects
            ));
        }
        // Re-login after the logout row, so later rows (none today) would still run as `who`.
        if path == "/logout" && me.is_some() {
            browser.login("me@example.org", PASSWORD).await;
        }
    }
    assert!(
        failures.is_empty(),
        "permission matrix violations:\n{}",
        failures.join("\n")
    );
    // Nothing a refused request tried has happened.
    let store = app.store();
    let role_of = |id: String| async move { store.user(&id).await.unwrap().unwrap() };
    let admin_may = who == Who::Admin;
    assert_eq!(
        role_of(cast.trainer_role.clone()).await.role == Role::Manager,
        admin_may
    );
    assert_eq!(!role_of(cast.manager_off.clone()).await.active, admin_may);
    let manager_may = matches!(who, Who::Admin | Who::Manager);
    assert_eq!(
        role_of(cast.trainer2.clone()).await.display_name == "Edited Name",
        manager_may
    );
}

async fn anonymous(backend: Backend) {
    walk(backend, Who::Anonymous).await
}
async fn trainer(backend: Backend) {
    walk(backend, Who::Trainer).await
}
async fn manager(backend: Backend) {
    walk(backend, Who::Manager).await
}
async fn admin(backend: Backend) {
    walk(backend, Who::Admin).await
}

both_backends!(anonymous, trainer, manager, admin);
