//! `TestApp` starts Dialogue in-process on port 0 against a throwaway database; `Browser` is a
//! cookie-aware client that reads CSRF tokens from the pages it loads, as a browser would.

#![allow(dead_code)]

use std::sync::Arc;

use dialogue::config::{Sources, load};
use dialogue::{Application, Config};
use domain::{DisplayName, Email, Role};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use service::Clock;
use store::{AuditEntry, NewUser, Store, User};
use testkit::{Backend, TestDb};
use web::AppState;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    pub clock: Clock,
    pub setup_url: Option<String>,
    pub db: TestDb,
    pub data_dir: std::path::PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A configuration as the binary would build it from these environment variables.
pub fn config_from_env(env: &[(&str, &str)]) -> Config {
    let sources = Sources {
        file: None,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    load(&sources).expect("test configuration").0
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, &[]).await
    }

    /// Starts with extra `DIALOGUE_*` settings.
    pub async fn spawn_with(backend: Backend, env: &[(&str, &str)]) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber_init();
        }
        let db = TestDb::new(backend).await;
        let data_dir = testkit::temp_dir("data");
        let data = data_dir.display().to_string();
        let mut all: Vec<(&str, &str)> = vec![
            ("DIALOGUE_LISTEN", "127.0.0.1:0"),
            ("DIALOGUE_DATABASE_URL", &db.url),
            ("DIALOGUE_DATA_DIR", &data),
        ];
        all.extend_from_slice(env);
        let config = config_from_env(&all);
        let clock = Clock::adjustable();
        let app = Application::build(&config, clock.clone())
            .await
            .expect("application starts");
        let addr = app.local_addr();
        let state = app.state().clone();
        let url = format!("http://{addr}");
        let setup_url = app.setup_url().map(str::to_owned);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            url,
            addr,
            state,
            clock,
            setup_url,
            db,
            data_dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn store(&self) -> &Store {
        self.state.service().store()
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.url)
    }

    /// An account with [`PASSWORD`], created directly in the store.
    pub async fn user(&self, email: &str, role: Role) -> User {
        let hash = service::crypto::hash_password(PASSWORD).unwrap();
        let new = NewUser {
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse(&format!("{} {}", role.as_str(), email.split('@').next().unwrap()))
                .unwrap(),
            role,
            locale: domain::Locale::Fr,
            time_zone: "Europe/Paris".into(),
            password_hash: Some(hash),
            auth_source: "local".into(),
            external_id: None,
        };
        self.store()
            .create_user(
                &new,
                jiff::Timestamp::now(),
                &AuditEntry::new("user.create", None, "test", None),
            )
            .await
            .unwrap()
    }

    /// A browser logged in as a new account of `role`.
    pub async fn logged_in(&self, email: &str, role: Role) -> (Browser, User) {
        let user = self.user(email, role).await;
        let browser = self.browser();
        let page = browser.login(email, PASSWORD).await;
        assert_eq!(page.status, StatusCode::OK, "login of {email} failed: {}", page.body);
        (browser, user)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn tracing_subscriber_init() -> Result<(), ()> {
    let config = config_from_env(&[("DIALOGUE_LOG_LEVEL", "debug")]);
    dialogue::logging::init(&config);
    Ok(())
}

/// A page as the browser received it, after following redirects.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    /// The path of the final URL.
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    /// Each `Location` followed.
    pub redirects: Vec<String>,
}

impl Page {
    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The value of the first `<input … name="NAME" … value="…">` (attributes as written by our
    /// templates: name before value).
    pub fn input_value(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(html_unescape(&self.body[start..end]))
    }
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// A cookie-aware client that follows redirects itself (to record them) and keeps the latest
/// CSRF token it saw in a page.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    csrf: Arc<std::sync::Mutex<Option<String>>>,
    pub accept_language: Option<String>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let client = testkit::http()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            base: base.to_owned(),
            csrf: Arc::default(),
            accept_language: None,
        }
    }

    /// The same cookies, with another `Accept-Language`.
    pub fn speaking(mut self, language: &str) -> Browser {
        self.accept_language = Some(language.to_owned());
        self
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.client.request(method, self.url(path));
        if let Some(lang) = &self.accept_language {
            r = r.header("accept-language", lang);
        }
        r
    }

    async fn finish(&self, response: reqwest::Response, mut redirects: Vec<String>) -> Page {
        let mut response = response;
        loop {
            if response.status().is_redirection() {
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                redirects.push(location.clone());
                assert!(redirects.len() < 10, "redirect loop: {redirects:?}");
                response = self.request(reqwest::Method::GET, &location).send().await.unwrap();
                continue;
            }
            let status = response.status();
            let path = response.url().path().to_owned();
            let headers = response.headers().clone();
            let body = response.text().await.unwrap();
            let page = Page {
                status,
                path,
                headers,
                body,
                redirects,
            };
            if let Some(token) = page.input_value("_csrf") {
                *self.csrf.lock().unwrap() = Some(token);
            }
            return page;
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self.request(reqwest::Method::GET, path).send().await.unwrap();
        self.finish(response, Vec::new()).await
    }

    /// The response itself, redirects not followed.
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path).send().await.unwrap()
    }

    /// The CSRF token of the last page seen (loading the login page first if none was).
    pub async fn csrf(&self) -> String {
        let known = self.csrf.lock().unwrap().clone();
        match known {
            Some(token) => token,
            None => {
                self.get("/login").await;
                self.csrf
                    .lock()
                    .unwrap()
                    .clone()
                    .expect("the login page carries a CSRF token")
            }
        }
    }

    /// Posts a form as the page would (with its CSRF token), following the redirect.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &token)];
        all.extend_from_slice(fields);
        let response = self
            .request(reqwest::Method::POST, path)
            .form(&all)
            .send()
            .await
            .unwrap();
        self.finish(response, Vec::new()).await
    }

    /// Posts a multipart form as a browser sends one with a file input (`_csrf` first, then the
    /// text `fields`, then the file as `file_field`), following the redirect.
    pub async fn post_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        file_name: &str,
        content: &[u8],
    ) -> Page {
        let token = self.csrf().await;
        let boundary = "----DialogueTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        let text = |name: &str, value: &str, body: &mut Vec<u8>| {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        };
        text("_csrf", &token, &mut body);
        for (name, value) in fields {
            text(name, value, &mut body);
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .request(reqwest::Method::POST, path)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        self.finish(response, Vec::new()).await
    }

    /// Posts a form without following the redirect.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &token)];
        all.extend_from_slice(fields);
        self.request(reqwest::Method::POST, path)
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form exactly as given (no token added).
    pub async fn post_bare(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .request(reqwest::Method::POST, path)
            .form(fields)
            .send()
            .await
            .unwrap();
        self.finish(response, Vec::new()).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        self.post("/login", &[("email", email), ("password", password)]).await
    }
}
