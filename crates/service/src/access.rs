//! The external join check (`[access] join_check_url`): once Dialogue's own rules let someone
//! into a room, an endpoint of the installation's may still say no (only members of a
//! directory group, only people who paid, …). Dialogue POSTs what it knows about the join and
//! reads `{"allow": true|false, "message"?: "…"}` from a 200 answer. Anything else — a
//! timeout, a refused connection, another status, a body that is not that JSON — is a failure,
//! and `join_check_failure` decides what it means (deny by default: fail closed).
//!
//! Nothing secret is logged: not the bearer token, not the URL's query.

use std::time::Duration;

use domain::access::{CheckAnswer, CheckFailure, clean_check_message};
use serde::{Deserialize, Serialize};

use crate::config::JoinCheckConfig;

/// The most of an answer read (an allow/deny needs a few bytes; a page of HTML is a failure).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What the endpoint is told about a join.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRequest<'a> {
    /// The session's id (as in the API and its pages).
    pub session: &'a str,
    /// The session's title.
    pub title: &'a str,
    /// The course's id, when the session belongs to one.
    pub course: Option<&'a str>,
    /// The Jitsi room name.
    pub room: &'a str,
    /// `moderator` or `participant`: the rights the token would give.
    pub role: &'static str,
    pub person: CheckPerson<'a>,
    /// The name of the Jitsi server the token is for.
    pub server: &'a str,
    /// When the join is asked, RFC 3339 in UTC.
    pub at: String,
    /// `true` only in the request `dialogue check` sends to see that the endpoint answers (made-up
    /// values: nobody is joining); absent from real joins.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub probe: bool,
}

/// Who asks to enter.
#[derive(Debug, Clone, Serialize)]
pub struct CheckPerson<'a> {
    /// `user` (someone with a Dialogue account), `participant` (a learner or an external
    /// moderator from their personal link) or `guest`.
    pub kind: &'static str,
    pub email: &'a str,
    pub name: &'a str,
}

#[derive(Deserialize)]
struct Answer {
    allow: bool,
    #[serde(default)]
    message: Option<String>,
}

/// The configured check with its HTTP client.
pub struct JoinCheck {
    config: JoinCheckConfig,
    client: Result<reqwest::Client, String>,
}

impl JoinCheck {
    pub fn new(config: JoinCheckConfig) -> JoinCheck {
        // HTTPS as for the directory logins (ring; the configured authority or the public
        // ones); an answer is read where it is given: a redirect is a failure, never followed.
        let client = directory::tls::http_builder("access", "join_check_ca_file", config.ca_file.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|builder| {
                builder
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout)
                    .build()
                    .map_err(|e| e.without_url().to_string())
            });
        JoinCheck { config, client }
    }

    /// What a failure of the check means.
    pub fn on_failure(&self) -> CheckFailure {
        self.config.on_failure
    }

    /// The endpoint as logs show it: scheme, host, port and path (no query, no user info).
    fn shown_url(&self) -> String {
        let url = &self.config.url;
        let end = url.find(['?', '#']).unwrap_or(url.len());
        url[..end].to_owned()
    }

    /// Asks the endpoint about `request`; never takes longer than the configured timeout.
    pub async fn ask(&self, request: &CheckRequest<'_>) -> CheckAnswer {
        let limit = self.config.timeout;
        let answer = match tokio::time::timeout(limit, self.ask_unbounded(request)).await {
            Ok(answer) => answer,
            Err(_) => CheckAnswer::Failed(format!("no answer within {} ms", limit.as_millis())),
        };
        match &answer {
            CheckAnswer::Failed(reason) => tracing::warn!(
                endpoint = %self.shown_url(),
                session = request.session,
                failure_policy = self.config.on_failure.as_str(),
                "join check failed ({reason}): the join is {}",
                if answer.admits(self.config.on_failure) { "allowed (join_check_failure = allow)" } else { "refused (join_check_failure = deny)" },
            ),
            CheckAnswer::Deny(_) => tracing::info!(
                endpoint = %self.shown_url(),
                session = request.session,
                "the join check refused a join"
            ),
            CheckAnswer::Allow => {}
        }
        answer
    }

    /// For `dialogue check`: sends a probe (the request of a join, with `"probe": true` and
    /// made-up values) and says whether a well-formed answer came back in time. An answer that
    /// denies the probe is well-formed: the endpoint works.
    pub async fn probe(&self, at: jiff::Timestamp) -> Result<&'static str, String> {
        let request = CheckRequest {
            session: "dialogue-check",
            title: "dialogue check",
            course: None,
            room: "dialogue-check",
            role: "participant",
            person: CheckPerson {
                kind: "guest",
                email: "check@invalid",
                name: "dialogue check",
            },
            server: "",
            at: jiff::Timestamp::from_second(at.as_second()).unwrap_or(at).to_string(),
            probe: true,
        };
        let limit = self.config.timeout;
        match tokio::time::timeout(limit, self.ask_unbounded(&request)).await {
            Err(_) => Err(format!(
                "{}: no answer within {} ms",
                self.shown_url(),
                limit.as_millis()
            )),
            Ok(CheckAnswer::Failed(reason)) => Err(format!("{}: {reason}", self.shown_url())),
            Ok(CheckAnswer::Allow) => Ok("allows"),
            Ok(CheckAnswer::Deny(_)) => Ok("denies"),
        }
    }

    /// The endpoint as `dialogue check` names it.
    pub fn describe(&self) -> String {
        self.shown_url()
    }

    async fn ask_unbounded(&self, request: &CheckRequest<'_>) -> CheckAnswer {
        let client = match &self.client {
            Ok(client) => client,
            Err(e) => return CheckAnswer::Failed(format!("no HTTP client: {e}")),
        };
        let mut post = client.post(&self.config.url).json(request);
        if let Some(token) = &self.config.token {
            post = post.bearer_auth(token);
        }
        let mut response = match post.send().await {
            Ok(r) => r,
            Err(e) => return CheckAnswer::Failed(describe(&e)),
        };
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return CheckAnswer::Failed(format!("answered HTTP {}", status.as_u16()));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                        return CheckAnswer::Failed(format!("answer longer than {MAX_ANSWER_BYTES} bytes"));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return CheckAnswer::Failed(describe(&e)),
            }
        }
        parse_answer(&body)
    }
}

/// A 200 answer's body: `{"allow": true}` or `{"allow": false, "message": "…"}`.
fn parse_answer(body: &[u8]) -> CheckAnswer {
    match serde_json::from_slice::<Answer>(body) {
        Ok(Answer { allow: true, .. }) => CheckAnswer::Allow,
        Ok(Answer { allow: false, message }) => CheckAnswer::Deny(message.as_deref().and_then(clean_check_message)),
        Err(e) => CheckAnswer::Failed(format!("answer is not {{\"allow\": true|false}} JSON ({e})")),
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // `without_url`: the URL may carry a query an administrator would rather not see logged.
    match std::error::Error::source(e) {
        Some(cause) => format!("{kind}: {}: {}", clone_without_url(e), directory::oidc::chain(cause)),
        None => format!("{kind}: {}", clone_without_url(e)),
    }
}

fn clone_without_url(e: &reqwest::Error) -> String {
    // `reqwest::Error` is not `Clone`: print it and strip the URL part it adds ("… for url (…)").
    let text = e.to_string();
    match text.find(" for url (") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Whether `text` may be the check's URL: `https://`, or `http://` on a loopback host only
/// (the join check's answer decides who enters: it must not travel in clear over a network),
/// with a host and without user info (the bearer goes in `join_check_token`) or fragment.
/// The same rule as the OpenID issuers' (`directory` crate).
pub fn check_url(text: &str) -> Result<(), String> {
    let url = directory::check_https_url(text)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("expected no user name or password in the URL: put a bearer in join_check_token".into());
    }
    if url.fragment().is_some() {
        return Err("expected no fragment".into());
    }
    Ok(())
}

/// The default timeout of the check (`join_check_timeout_ms`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2000);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_strictly() {
        assert_eq!(parse_answer(br#"{"allow": true}"#), CheckAnswer::Allow);
        assert_eq!(
            parse_answer(br#"{"allow": true, "message": "hi", "extra": 1}"#),
            CheckAnswer::Allow
        );
        assert_eq!(parse_answer(br#"{"allow": false}"#), CheckAnswer::Deny(None));
        assert_eq!(
            parse_answer(br#"{"allow": false, "message": " Not\nenrolled "}"#),
            CheckAnswer::Deny(Some("Not enrolled".into()))
        );
        for bad in [&b""[..], b"yes", br#"{"allow": "true"}"#, br#"{"ok": true}"#, b"<html>"] {
            assert!(
                matches!(parse_answer(bad), CheckAnswer::Failed(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn urls_are_https_or_loopback() {
        for ok in [
            "https://check.example.org/join",
            "https://check.example.org:8443/join?tenant=a",
            "http://127.0.0.1:9000/join",
            "http://localhost/join",
            "http://[::1]:9000/",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("ftp://check.example.org/join", "https://"),
            ("http://check.example.org/join", "loopback"),
            ("http://10.0.0.1/join", "loopback"),
            ("https://user:pw@check.example.org/", "join_check_token"),
            ("https://check.example.org/#x", "fragment"),
            ("check.example.org", "not a URL"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn logs_show_no_query() {
        let check = JoinCheck::new(JoinCheckConfig {
            url: "https://check.example.org/join?key=secret#x".into(),
            timeout: DEFAULT_TIMEOUT,
            on_failure: CheckFailure::Deny,
            token: None,
            ca_file: None,
        });
        assert_eq!(check.shown_url(), "https://check.example.org/join");
    }
}
