//! The audit log, for admins.

use askama::Template;
use axum::extract::{Query, State};
use axum::{Router, routing::get};
use i18n::Locale;
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

/// One row as shown: the action in the reader's language (its code beside it, as searched
/// in logs), what it is about (named, and linked when it has a page) and its details as
/// readable pairs rather than JSON, their names and known words translated.
struct AuditLine {
    e: AuditRecord,
    action: Option<&'static str>,
    target: Option<(String, Option<String>)>,
    details: Vec<(String, String)>,
}

impl AuditLine {
    fn of(e: AuditRecord, locale: Locale) -> AuditLine {
        let action = locale.lookup(&format!("audit.action.{}", e.action));
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
        let details = e
            .detail
            .as_deref()
            .map(|d| readable(d, &|kind, word| locale.lookup(&format!("audit.{kind}.{word}"))))
            .unwrap_or_default();
        AuditLine {
            e,
            action,
            target,
            details,
        }
    }
}

/// Finds the reader's word for a detail's name (`"key"`) or value (`"value"`), if any.
type Words<'a> = &'a dyn Fn(&str, &str) -> Option<&'static str>;

/// A detail's JSON as `key: value` pairs: strings without quotes, lists joined, nested objects
/// flattened with dotted keys; something that is not an object is one pair without a key.
/// Names and words the catalogue knows are translated; anything else (a title, a message,
/// an address) is shown as it was recorded.
fn readable(json: &str, words: Words<'_>) -> Vec<(String, String)> {
    fn flat(prefix: &str, v: &serde_json::Value, words: Words<'_>, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let k = words("key", k).map_or_else(|| k.clone(), str::to_owned);
                    let key = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
                    flat(&key, v, words, out);
                }
            }
            serde_json::Value::Null => {}
            other => out.push((prefix.to_owned(), scalar(other, words))),
        }
    }
    fn scalar(v: &serde_json::Value, words: Words<'_>) -> String {
        match v {
            serde_json::Value::String(s) => words("value", s).map_or_else(|| s.clone(), str::to_owned),
            serde_json::Value::Bool(b) => words("value", &b.to_string()).map_or_else(|| b.to_string(), str::to_owned),
            serde_json::Value::Array(items) => items.iter().map(|i| scalar(i, words)).collect::<Vec<_>>().join(", "),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v) => {
            let mut out = Vec::new();
            flat("", &v, words, &mut out);
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
        entries: entries.into_iter().map(|e| AuditLine::of(e, ctx.locale)).collect(),
        older,
    })
}

#[cfg(test)]
mod tests {
    use super::readable;
    use i18n::Locale;

    fn none(_: &str, _: &str) -> Option<&'static str> {
        None
    }

    #[test]
    fn details_read_as_pairs() {
        let pairs = readable(
            r#"{"sessions":3,"message":"Formatrice absente","series":null,"to":["a","b"],"x":{"y":true}}"#,
            &none,
        );
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(
            text,
            ["message: Formatrice absente", "sessions: 3", "to: a, b", "x.y: true"]
        );
        assert_eq!(readable("not json", &none), [(String::new(), "not json".to_owned())]);
    }

    #[test]
    fn details_speak_the_readers_language() {
        let fr = |kind: &str, word: &str| Locale::Fr.lookup(&format!("audit.{kind}.{word}"));
        let pairs = readable(
            r#"{"via":"password","from":"trainer","to":"manager","changed":["times","title"],"message":"trainer"}"#,
            &fr,
        );
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        // Recorded text (a message) is translated only where it is one of the known words.
        assert_eq!(
            text,
            [
                "modifié: horaire, titre",
                "avant: formateur·rice",
                "message: formateur·rice",
                "après: responsable de formation",
                "par: mot de passe"
            ]
        );
    }

    /// Every action the code records has a name in both languages: each string literal that is
    /// the first argument of `AuditEntry::new`, `.audit` or `with_action`, or (Prosody accounts,
    /// whose helper takes the action apart) starts with `prosody_account.`.
    #[test]
    fn every_recorded_action_is_named() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut actions = std::collections::BTreeSet::new();
        for dir in ["service/src", "store/src", "web/src"] {
            for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap().flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                // The code, not its tests (which record made-up actions).
                let text = text.split("#[cfg(test)]").next().unwrap_or_default();
                let pieces: Vec<&str> = text.split('"').collect();
                // Odd pieces are inside quotes (good enough for these files' literals).
                for (i, literal) in pieces.iter().enumerate().skip(1).step_by(2) {
                    let before = pieces[i - 1].trim_end();
                    let is_action = ["AuditEntry::new(", ".audit(", "with_action("]
                        .iter()
                        .any(|call| before.ends_with(call))
                        || literal.starts_with("prosody_account.");
                    let code_like = literal.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
                    if is_action && code_like && !literal.is_empty() {
                        actions.insert((*literal).to_owned());
                    }
                }
            }
        }
        assert!(actions.len() > 20, "{actions:?}");
        for code in &actions {
            for locale in [Locale::Fr, Locale::En] {
                assert!(
                    locale.lookup(&format!("audit.action.{code}")).is_some(),
                    "audit.action.{code} in {locale:?}"
                );
            }
        }
    }
}
