//! A real browser for page tests: Debian's headless Chromium driven through chromedriver over
//! the W3C WebDriver protocol (plain JSON over HTTP, spoken here with reqwest).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Peer, free_port, require_program, temp_dir};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session. Dropping it stops chromedriver (and the browser with it).
pub struct Browser {
    client: reqwest::Client,
    session: String,
    _driver: Peer,
}

/// An element of the current page.
#[derive(Clone)]
pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium (its own empty profile), or panics with
    /// how to install them.
    pub async fn start() -> Browser {
        let chromium = require_program(&["/usr/bin/chromium"], "apt-get install -y chromium chromium-driver");
        let driver_bin = require_program(
            &["/usr/bin/chromedriver", "chromedriver"],
            "apt-get install -y chromium-driver",
        );
        let port = free_port();
        let dir = temp_dir("chromedriver");
        let profile = dir.join("profile");
        let port_arg = format!("--port={port}");
        let driver = Peer::start(
            &driver_bin,
            &[&port_arg, "--allowed-ips=127.0.0.1"],
            dir,
            port,
            "chromedriver",
        )
        .await;
        let client = crate::http()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--disable-quic", "--window-size=1280,900",
                        "--lang=fr-FR",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                    "prefs": { "intl.accept_languages": "fr-FR,fr" }
                }
            }}
        });
        let response = client
            .post(format!("http://127.0.0.1:{port}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap_or_else(|e| panic!("chromedriver did not answer: {e}"));
        let body: Value = response.json().await.expect("chromedriver answers JSON");
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {body}\n{}", driver.log()))
            .to_owned();
        Browser {
            client,
            session: format!("http://127.0.0.1:{port}/session/{session}"),
            _driver: driver,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        } else if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            panic!("WebDriver {method} {path} failed ({status}): {value}");
        }
        value["value"].clone()
    }

    async fn try_call(&self, method: reqwest::Method, path: &str, body: Value) -> Option<Value> {
        let response = self
            .client
            .request(method, format!("{}{path}", self.session))
            .json(&body)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let value: Value = response.json().await.ok()?;
        Some(value["value"].clone())
    }

    /// Opens a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The URL of the current page (after redirects).
    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current page's HTML.
    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The text a person sees on the page.
    pub async fn text(&self) -> String {
        self.find("body").await.text().await
    }

    /// Runs a script in the page (no inline script is needed for this: WebDriver injects it).
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Runs an asynchronous script: it ends by calling its last argument with the result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Sets the window's outer size in CSS pixels (the viewport is what the page lays out in).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// The first element matching a CSS selector, waiting up to 10 s for it.
    pub async fn find(&self, css: &str) -> Element<'_> {
        self.wait_for(css, Duration::from_secs(10)).await
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element<'_> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(value) = self
                .try_call(
                    reqwest::Method::POST,
                    "/element",
                    json!({ "using": "css selector", "value": css }),
                )
                .await
                && let Some(id) = value[ELEMENT_KEY].as_str()
            {
                return Element {
                    browser: self,
                    id: id.to_owned(),
                };
            }
            if tokio::time::Instant::now() > deadline {
                let url = self.url().await;
                panic!("no element matches {css:?} on {url} after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every element matching `css` now (no waiting).
    pub async fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        value
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|v| v[ELEMENT_KEY].as_str())
                    .map(|id| Element {
                        browser: self,
                        id: id.to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits up to `timeout` for the URL to satisfy `check`; returns the URL.
    pub async fn wait_for_url(&self, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let url = self.url().await;
            if check(&url) {
                return url;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("the page stayed at {url} for {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Accepts (`true`) or dismisses a `confirm()` dialog that is open now.
    pub async fn answer_dialog(&self, accept: bool) {
        let path = if accept { "/alert/accept" } else { "/alert/dismiss" };
        self.call(reqwest::Method::POST, path, None).await;
    }

    /// Saves a PNG screenshot (for looking at a failing page).
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        if let Some(b64) = data.as_str()
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64)
        {
            let _ = std::fs::write(path, bytes);
        }
    }
}

impl Drop for Browser {
    /// Ends the WebDriver session, which makes chromedriver quit Chromium, before chromedriver
    /// itself is killed: killing only the driver leaves the browser running, orphaned.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let Some(rest) = self.session.strip_prefix("http://") else {
            return;
        };
        let Some((host, path)) = rest.split_once('/') else {
            return;
        };
        let Ok(mut stream) = std::net::TcpStream::connect(host) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request =
            format!("DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_ok() {
            // Waits for chromedriver's answer, sent once the browser has quit.
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
    }
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub async fn click(&self) {
        self.browser
            .call(reqwest::Method::POST, &self.path("/click"), None)
            .await;
    }

    /// Types into a field (after clearing it).
    pub async fn fill(&self, text: &str) {
        self.browser
            .call(reqwest::Method::POST, &self.path("/clear"), None)
            .await;
        self.browser
            .call(
                reqwest::Method::POST,
                &self.path("/value"),
                Some(json!({ "text": text })),
            )
            .await;
    }

    /// Presses Enter in the element (typed after its value, as a person finishing a field does).
    pub async fn press_enter(&self) {
        self.browser
            .call(
                reqwest::Method::POST,
                &self.path("/value"),
                Some(json!({ "text": "\u{E007}" })),
            )
            .await;
    }

    /// Draws a stroke through `points` (pixels from the element's centre) with a pointer of
    /// `kind` (`mouse`, `pen` or `touch`): real input events through WebDriver actions, so the
    /// page receives `pointerdown`, `pointermove` and `pointerup` as from a person.
    pub async fn draw(&self, kind: &str, points: &[(i64, i64)]) {
        let origin = json!({ "element-6066-11e4-a52e-4f735466cecf": self.id });
        let mut actions = Vec::new();
        if let Some((x, y)) = points.first() {
            actions.push(json!({"type": "pointerMove", "duration": 0, "origin": origin, "x": x, "y": y}));
            actions.push(json!({"type": "pointerDown", "button": 0}));
        }
        for (x, y) in points.iter().skip(1) {
            actions.push(json!({"type": "pointerMove", "duration": 20, "origin": origin, "x": x, "y": y}));
        }
        actions.push(json!({"type": "pointerUp", "button": 0}));
        let body = json!({"actions": [{
            "type": "pointer", "id": format!("{kind}-1"),
            "parameters": {"pointerType": kind}, "actions": actions,
        }]});
        self.browser.call(reqwest::Method::POST, "/actions", Some(body)).await;
        self.browser.call(reqwest::Method::DELETE, "/actions", None).await;
    }

    pub async fn text(&self) -> String {
        self.browser
            .call(reqwest::Method::GET, &self.path("/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A DOM property (`value`, `checked`, …) as JSON.
    pub async fn property(&self, name: &str) -> Value {
        self.browser
            .call(reqwest::Method::GET, &self.path(&format!("/property/{name}")), None)
            .await
    }

    pub async fn attribute(&self, name: &str) -> Option<String> {
        self.browser
            .call(reqwest::Method::GET, &self.path(&format!("/attribute/{name}")), None)
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// Chooses the `<option>` with this value in a `<select>`.
    pub async fn select(&self, value: &str) {
        let option = self
            .browser
            .call(
                reqwest::Method::POST,
                &self.path("/element"),
                Some(json!({ "using": "css selector", "value": format!("option[value=\"{value}\"]") })),
            )
            .await;
        let id = option[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no option {value:?}"))
            .to_owned();
        Element {
            browser: self.browser,
            id,
        }
        .click()
        .await;
    }
}
