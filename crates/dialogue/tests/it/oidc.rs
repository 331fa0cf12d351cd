//! OpenID Connect logins against a real provider: npm `oidc-provider`, run by the directory
//! crate's `tests/oidc/server.mjs` on a free port, driven as a browser would (its redirects
//! followed, its login step submitted). Needs `bash .ci/peers` (Node.js and the provider).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use domain::Role;
use reqwest::StatusCode;
use reqwest::Url;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;

fn script_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../directory/tests/oidc")
}

/// A running provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
    _dir: PathBuf,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

async fn provider(app_port: u16) -> Provider {
    let script = script_dir();
    assert!(
        script.join("node_modules/oidc-provider").is_dir(),
        "oidc-provider is not installed: run `bash .ci/peers` (or `npm ci --prefix {}`)",
        script.display()
    );
    let port = testkit::free_port();
    let app = format!("http://127.0.0.1:{app_port}");
    let settings = json!({
        "port": port,
        "issuer": format!("http://127.0.0.1:{port}"),
        "redirect_uri": format!("{app}/login/oidc/company/callback"),
        "post_logout_redirect_uri": format!("{app}/login?notice=logged_out"),
        "alg": "RS256",
        "kid": "key-1",
        "id_token_ttl": 120,
        "claims_in_id_token": true,
        "logout": true,
        "accounts": {
            "alice": {
                "email": "alice@example.org", "email_verified": true,
                "name": "Alice Martin", "groups": ["staff", "it", "unmapped"],
            },
            "bob": {
                "email": "bob@example.org", "email_verified": true,
                "name": "Bob Durand", "groups": "teachers",
            },
        },
    });
    let dir = testkit::temp_dir("oidc");
    let log = std::fs::File::create(dir.join("provider.log")).unwrap();
    let child = Command::new("node")
        .current_dir(&script)
        .arg("server.mjs")
        .arg(settings.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node ({e}): run `bash .ci/peers`"));
    testkit::wait_for_port(port, "oidc-provider").await;
    Provider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

async fn app_with_provider(backend: Backend) -> (TestApp, Provider) {
    let app_port = testkit::free_port();
    let provider = provider(app_port).await;
    let listen = format!("127.0.0.1:{app_port}");
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_LISTEN", &listen),
            ("DIALOGUE_OIDC_COMPANY_ISSUER", &provider.issuer),
            ("DIALOGUE_OIDC_COMPANY_LABEL", "Example SSO"),
            ("DIALOGUE_OIDC_COMPANY_CLIENT_ID", "dialogue"),
            ("DIALOGUE_OIDC_COMPANY_CLIENT_SECRET", "dialogue-secret"),
            ("DIALOGUE_OIDC_COMPANY_ROLE_MAP", "staff=manager,it=admin"),
        ],
    )
    .await;
    (app, provider)
}

fn client(cookies: bool) -> reqwest::Client {
    testkit::http()
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A login started at Dialogue and carried through the provider as `account`: the sealed
/// cookie Dialogue set, and the callback URL the provider sends the browser to.
async fn through_provider(app: &TestApp, account: &str) -> (String, Url) {
    let r = client(false)
        .get(format!("{}/login/oidc/company", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age=600"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let mut url = Url::parse(r.headers()[LOCATION].to_str().unwrap()).unwrap();
    let browser = client(true);
    for _ in 0..10 {
        let r = browser.get(url.clone()).send().await.unwrap();
        let location = r
            .headers()
            .get(LOCATION)
            .unwrap_or_else(|| panic!("{url} answered {}", r.status()))
            .to_str()
            .unwrap()
            .to_owned();
        let next = url.join(&location).unwrap();
        if next
            .as_str()
            .starts_with(&format!("{}/login/oidc/company/callback", app.url))
        {
            return (cookie, next);
        }
        url = next;
        if url.path().starts_with("/interaction/") {
            url.query_pairs_mut().append_pair("login", account);
        }
    }
    panic!("the provider never came back to Dialogue");
}

async fn callback(url: &Url, cookie: &str) -> reqwest::Response {
    client(false)
        .get(url.clone())
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dialogue_session=") && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

both_backends!(
    a_login_creates_the_account_with_its_mapped_role_and_bad_states_and_replays_are_refused,
    an_account_with_its_own_password_is_not_handed_over
);

async fn a_login_creates_the_account_with_its_mapped_role_and_bad_states_and_replays_are_refused(backend: Backend) {
    let (app, provider) = app_with_provider(backend).await;
    let page = app.browser().get("/login").await;
    assert!(page.contains("href=\"/login/oidc/company\""), "{}", page.body);
    assert!(page.contains("Se connecter avec Example SSO"), "{}", page.body);
    // Unknown providers are not found.
    assert_eq!(
        app.browser().get("/login/oidc/nobody").await.status,
        StatusCode::NOT_FOUND
    );

    let (cookie, url) = through_provider(&app, "alice").await;
    // A forged state is refused, and changes nothing: the code is not spent.
    let mut forged = url.clone();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    forged.query_pairs_mut().clear();
    for (k, v) in &pairs {
        forged
            .query_pairs_mut()
            .append_pair(k, if k == "state" { "forged" } else { v });
    }
    let r = callback(&forged, &cookie).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(session_cookie(&r).is_none());
    assert!(r.text().await.unwrap().contains("La connexion n’a pas abouti"));
    assert!(app.store().user_by_email("alice@example.org").await.unwrap().is_none());
    // Without this browser's cookie, the callback is refused too.
    let r = callback(&url, "dialogue_oidc=v1.forged").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The real return: created with the highest mapped role, logged in.
    let r = callback(&url, &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/");
    let session = session_cookie(&r).expect("a login session");
    let logout_cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dialogue_oidc_logout="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("the ID token kept for logging out");
    let alice = app
        .store()
        .user_by_email("alice@example.org")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(
        (
            alice.role,
            alice.auth_source.as_str(),
            alice.external_id.as_deref(),
            alice.has_password
        ),
        (Role::Admin, "oidc:company", Some("alice"), false)
    );
    assert_eq!(alice.display_name, "Alice Martin");
    let home = client(false)
        .get(format!("{}/", app.url))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);

    // The same code again (a replay, with the cookie still at hand): the provider refuses it.
    let r = callback(&url, &cookie).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(session_cookie(&r).is_none());

    // Logging out goes on to the provider's end-session endpoint with the ID token.
    let both = format!("{session}; {logout_cookie}");
    let login = client(false)
        .get(format!("{}/login", app.url))
        .header(COOKIE, &both)
        .send()
        .await
        .unwrap();
    let csrf_cookie = login
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dialogue_csrf="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .unwrap();
    let csrf = app
        .state
        .secret()
        .csrf_token(csrf_cookie.trim_start_matches("dialogue_csrf="));
    let r = client(false)
        .post(format!("{}/logout", app.url))
        .header(COOKIE, format!("{both}; {csrf_cookie}"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to.starts_with(&provider.issuer), "{to}");
    let params: HashMap<String, String> = Url::parse(&to).unwrap().query_pairs().into_owned().collect();
    assert!(params.contains_key("id_token_hint"), "{to}");
    assert_eq!(
        params["post_logout_redirect_uri"],
        format!("{}/login?notice=logged_out", app.url)
    );
    // The session is over.
    let r = client(false)
        .get(format!("{}/", app.url))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The audit log has the refusals and the login.
    let log = app.store().audit_log(100, None).await.unwrap();
    assert!(
        log.iter().filter(|e| e.action == "login.failed").count() >= 3,
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|e| e.action == "login" && e.detail.as_deref().is_some_and(|d| d.contains("oidc:company")))
    );
}

async fn an_account_with_its_own_password_is_not_handed_over(backend: Backend) {
    let (app, _provider) = app_with_provider(backend).await;
    let bob = app.user("bob@example.org", Role::Trainer).await;
    let (cookie, url) = through_provider(&app, "bob").await;
    let r = callback(&url, &cookie).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(session_cookie(&r).is_none());
    let body = r.text().await.unwrap();
    assert!(body.contains("bob@example.org"), "{body}");
    let after = app.store().user_by_email("bob@example.org").await.unwrap().unwrap();
    assert_eq!(
        (
            after.id,
            after.auth_source.as_str(),
            after.external_id,
            after.has_password
        ),
        (bob.id, "local", None, true)
    );
    // Its owner still logs in with the password.
    let page = app.browser().login("bob@example.org", crate::helpers::PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.path, "/");
}

/// `dialogue check` reaches each provider: discovery and keys, under the configured issuer.
#[tokio::test]
async fn check_reaches_the_provider_and_says_when_it_cannot() {
    let provider = provider(testkit::free_port()).await;
    let data = testkit::temp_dir("check");
    let data_dir = data.display().to_string();
    let closed = format!("http://127.0.0.1:{}", testkit::free_port());
    let config = |issuer: &str| {
        crate::helpers::config_from_env(&[
            ("DIALOGUE_DATA_DIR", &data_dir),
            ("DIALOGUE_OIDC_COMPANY_ISSUER", issuer),
            ("DIALOGUE_OIDC_COMPANY_CLIENT_ID", "dialogue"),
            ("DIALOGUE_OIDC_COMPANY_CLIENT_SECRET", "dialogue-secret"),
        ])
    };
    let good = config(&provider.issuer);
    dialogue::app::open_store(&good).await.unwrap();
    dialogue::commands::check(&good, &[])
        .await
        .expect("the provider is reachable");
    let e = dialogue::commands::check(&config(&closed), &[]).await.unwrap_err();
    assert!(e.to_string().contains("1 check(s) failed"), "{e}");
    // An issuer that is not the one the provider names is refused as well.
    let wrong = format!("{}/other", provider.issuer);
    assert!(dialogue::commands::check(&config(&wrong), &[]).await.is_err());
    let _ = std::fs::remove_dir_all(&data);
}
