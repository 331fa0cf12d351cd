//! The audit log, for admins.

use askama::Template;
use axum::extract::{Query, State};
use axum::{Router, routing::get};
use serde::Deserialize;
use store::AuditRecord;

use crate::http::context::Ctx;
use crate::http::error::AppResult;
use crate::http::page::{Page, html};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit))
}

const PAGE_SIZE: i64 = 100;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    entries: Vec<AuditLine>,
    older: Option<i64>,
}

/// One row as shown: what it is about (named, and linked when it has a page) and its details
/// as readable pairs rather than JSON.
struct AuditLine {
    e: AuditRecord,
    target: Option<(String, Option<String>)>,
    details: Vec<(String, String)>,
}

impl AuditLine {
    fn of(e: AuditRecord) -> AuditLine {
        let label = e.target_label.clone().filter(|l| !l.trim().is_empty());
        let href = match (e.target_type.as_deref(), e.target_id.as_deref()) {
            (Some("session"), Some(id)) => Some(format!("/sessions/{id}")),
            (Some("course"), Some(id)) => Some(format!("/courses/{id}")),
            (Some("contact"), Some(id)) => Some(format!("/contacts/{id}")),
            _ => None,
        };
        let target = match (label, &e.target_type, &e.target_id) {
            (Some(label), _, _) => Some((label, href)),
            (None, Some(kind), Some(id)) => Some((format!("{kind} {id}"), href)),
            _ => None,
        };
        let details = e.detail.as_deref().map(readable).unwrap_or_default();
        AuditLine { e, target, details }
    }
}

/// A detail's JSON as `key: value` pairs: strings without quotes, lists joined, nested objects
/// flattened with dotted keys; something that is not an object is one pair without a key.
fn readable(json: &str) -> Vec<(String, String)> {
    fn flat(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flat(&key, v, out);
                }
            }
            serde_json::Value::Null => {}
            other => out.push((prefix.to_owned(), scalar(other))),
        }
    }
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v) => {
            let mut out = Vec::new();
            flat("", &v, &mut out);
            out
        }
        Err(_) => vec![(String::new(), json.to_owned())],
    }
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

async fn audit(State(app): State<AppState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> AppResult {
    let entries = service::admin::audit_log(app.service(), &ctx.actor()?, PAGE_SIZE, q.before).await?;
    let older = if entries.len() as i64 == PAGE_SIZE {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    html(&AuditPage {
        page: Page::new(&ctx, "audit.title", &app.config().default_time_zone),
        entries: entries.into_iter().map(AuditLine::of).collect(),
        older,
    })
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn details_read_as_pairs() {
        let pairs =
            readable(r#"{"sessions":3,"message":"Formatrice absente","series":null,"to":["a","b"],"x":{"y":true}}"#);
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(
            text,
            ["message: Formatrice absente", "sessions: 3", "to: a, b", "x.y: true"]
        );
        assert_eq!(readable("not json"), [(String::new(), "not json".to_owned())]);
    }
}
