//! Shared steps of the booking tests: dates safely in the future, the booking form as a browser
//! posts it, an API client with a bearer token.

#![allow(dead_code)]

use jiff::civil::{Date, Weekday};
use reqwest::StatusCode;
use serde_json::Value;

use crate::api::token_for;
use crate::helpers::{Browser, Page, TestApp};

/// A Monday at least three weeks ahead, in a month without a clock change.
pub fn future_monday() -> Date {
    let mut d = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(21))
        .unwrap();
    while d.weekday() != Weekday::Monday || matches!(d.month(), 3 | 10) {
        d = d.tomorrow().unwrap();
    }
    d
}

/// The first Monday of October of next year: a weekly series from it crosses the October
/// and the March clock changes of Europe/Paris.
pub fn october_monday() -> Date {
    let year = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year() + 1;
    let mut d = jiff::civil::date(year, 10, 1);
    while d.weekday() != Weekday::Monday {
        d = d.tomorrow().unwrap();
    }
    d
}

/// The last Sunday of `month` of `year` (when Europe's clocks change).
pub fn last_sunday(year: i16, month: i8) -> Date {
    let mut d = jiff::civil::date(year, month, 1).last_of_month();
    while d.weekday() != Weekday::Sunday {
        d = d.yesterday().unwrap();
    }
    d
}

/// The fields of the booking form for one session of `trainer` (an email).
pub fn form(title: &str, date: Date, time: &str, minutes: u32, trainer: &str) -> Vec<(String, String)> {
    [
        ("title", title.to_owned()),
        ("date", date.to_string()),
        ("time", time.to_owned()),
        ("duration", minutes.to_string()),
        ("time_zone", "Europe/Paris".to_owned()),
        ("repeat", "none".to_owned()),
        ("interval", "1".to_owned()),
        ("end", "count".to_owned()),
        ("count", "".to_owned()),
        ("trainer", trainer.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Replaces (or adds) a field.
pub fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
}

/// Adds a value to a repeated field.
pub fn add(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.push((name.to_owned(), value.to_owned()));
}

pub async fn post(browser: &Browser, path: &str, fields: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.post(path, &pairs).await
}

/// Posts the booking form; on success the browser lands on the first session's page.
pub async fn book(browser: &Browser, fields: &[(String, String)]) -> Page {
    post(browser, "/sessions", fields).await
}

/// The session id of a session page (`/sessions/{id}`).
pub fn session_id(page: &Page) -> String {
    assert!(
        page.path.starts_with("/sessions/") && page.status == StatusCode::OK,
        "not a session page: {} {}\n{}",
        page.status,
        page.path,
        &page.body[..page.body.len().min(3000)]
    );
    page.path.trim_start_matches("/sessions/").to_owned()
}

/// The text of the first `<p class="field-error">` or error summary, for assertion messages.
pub fn errors_of(page: &Page) -> String {
    match page.body.find("id=\"form-errors\"") {
        Some(at) => {
            let rest = &page.body[at..];
            let end = rest.find("</div>").unwrap_or(rest.len());
            crate::helpers::html_unescape(&rest[..end])
        }
        None => String::new(),
    }
}

/// A JSON API client acting with a token of `user_id`.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
    pub language: Option<&'static str>,
}

impl Api {
    pub async fn new(app: &TestApp, user_id: &str) -> Api {
        Api {
            client: testkit::client(),
            base: format!("{}/api/v1", app.url),
            token: token_for(app, user_id).await,
            language: None,
        }
    }

    pub fn speaking(mut self, language: &'static str) -> Api {
        self.language = Some(language);
        self
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(l) = self.language {
            r = r.header("accept-language", l);
        }
        r
    }

    async fn answer(r: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = r.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(value) => value,
                Err(_) => Value::String(text),
            }
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        Self::answer(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (StatusCode, Value) {
        Self::answer(self.request(method, path).json(body)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, body).await
    }
}

/// `2030-01-07T09:00:00` in Paris as RFC 3339 with its offset.
pub fn paris(date: Date, hour: i8, minute: i8) -> String {
    let z = date
        .at(hour, minute, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .unwrap();
    z.timestamp()
        .to_zoned(z.time_zone().clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The field names in a problem's `errors`.
pub fn problem_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
