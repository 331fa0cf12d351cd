//! The edge of every request: what is refused before any route sees it.
//!
//! - **NUL characters.** PostgreSQL's `text` cannot hold U+0000 (it answers "invalid byte
//!   sequence 0x00", a 500), and no person types one. A path that decodes to one (`%00`) is not
//!   found (404); a query string, a form body or a JSON body that does (`%00`, a raw 0 byte,
//!   `\u0000`) is refused with a 422 that names the field holding it. Nothing behind the edge reads, logs in,
//!   counts a failed login or writes.
//! - **The body limit** (`http.body_limit_kib`): a body over it is refused with a 413 from its
//!   `Content-Length` before it is read, or as soon as a streamed body passes the limit.
//!
//! Why here, once, rather than in the domain's parse functions or in the extractors: every
//! route of every surface is behind this layer (it wraps the whole router in `lib.rs`), so the
//! next route, the next field and the next text that reaches the database are covered without
//! anyone remembering to; no handler reads a body or a query that did not pass here. Every body
//! Dialogue takes is a form or JSON (and small), so the body is read here once, within the
//! limit, and handed on whole. Files (the imports' CSV and XLSX, as a multipart form or as the
//! body) are binary: their routes read them, and check every cell as typed text.
//!
//! Refusals are [`AppError`]s, rendered by the surface the path belongs to with its own
//! renderer and the one mapping of `error`: problem details on `/api/v1` (in the caller's
//! language), Prosody's JSON on `/jitsi/`, the error page elsewhere (in the frame of the
//! person's login).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;

use crate::api::{ApiCaller, ApiError};
use crate::http::context;
use crate::http::error::{AppError, Message};
use crate::http::state::AppState;
use crate::prosody;

/// The middleware of every route (see the module's documentation).
pub async fn guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if has_encoded_nul(parts.uri.path().as_bytes()) {
        return refuse(&app, parts, AppError::NOT_FOUND).await;
    }
    if let Some(field) = parts.uri.query().and_then(|q| form_nul_field(q.as_bytes())) {
        return refuse(&app, parts, nul_refused(field)).await;
    }
    let limit = app.http().body_limit;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return refuse(&app, parts, AppError::PayloadTooLarge).await;
    }
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match read_within(body, limit).await {
        Ok(bytes) => bytes,
        Err(error) => return refuse(&app, parts, error).await,
    };
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json);
    let upload = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_upload);
    let nul = if json {
        json_nul_field(&bytes)
    } else if upload {
        // A file (an import's CSV or XLSX): binary, read by its route, whose cells are checked
        // like any typed text before anything is stored.
        None
    } else {
        // A form (Prosody's reservation requests may come without a content type and are read
        // as one), or a body the route will refuse for its type anyway.
        form_nul_field(&bytes)
    };
    if let Some(field) = nul {
        return refuse(&app, parts, nul_refused(field)).await;
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The refusal of a NUL character, naming the field that holds it when there is one.
fn nul_refused(field: String) -> AppError {
    if field.is_empty() {
        AppError::invalid(Message::new("error.nul"))
    } else {
        let message = Message::new("error.nul_in").arg("field", field.as_str());
        AppError::Service(service::Error::invalid(field, message))
    }
}

/// The field of a query string or a form body holding a NUL character (raw or `%00`): `Some`
/// of its name, `Some("")` when the name itself holds it, `None` when no field does.
fn form_nul_field(bytes: &[u8]) -> Option<String> {
    let pair = bytes
        .split(|b| *b == b'&')
        .find(|pair| pair.contains(&0) || has_encoded_nul(pair))?;
    let name = form_urlencoded::parse(pair).next().map(|(name, _)| name.into_owned());
    Some(name.filter(|n| !n.contains('\0')).unwrap_or_default())
}

/// The top-level field of a JSON body holding a NUL character in a string or a key, as
/// [`form_nul_field`] does. A body that is not JSON but holds one is refused unnamed.
fn json_nul_field(bytes: &[u8]) -> Option<String> {
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(has_nul),
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    if !json_has_nul(bytes) {
        return None;
    }
    let named = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .find(|(k, v)| !k.contains('\0') && has_nul(v))
            .map(|(k, _)| k.clone()),
        _ => None,
    };
    Some(named.unwrap_or_default())
}

/// The whole body, or [`AppError::PayloadTooLarge`] as soon as it passes `limit` bytes.
async fn read_within(mut body: Body, limit: usize) -> Result<Bytes, AppError> {
    let mut buffer = BytesMut::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        // The client went away or broke the framing: whatever answer there is, it is theirs.
        let frame = frame.map_err(|_| AppError::BadRequest(Message::new("error.title.400")))?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(AppError::PayloadTooLarge);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

/// A file upload: a multipart form, or a spreadsheet sent as the body (`text/csv`, XLSX,
/// `application/octet-stream`).
fn is_upload(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    [
        "multipart/form-data",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/octet-stream",
    ]
    .iter()
    .any(|t| essence.eq_ignore_ascii_case(t))
}

/// `application/json` or a `+json` type (`application/problem+json`…).
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .get(essence.len().saturating_sub(5)..)
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
}

/// `%00`: what decodes to NUL in a URL or a form.
fn has_encoded_nul(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == b"%00")
}

/// A raw 0 byte, or a `\u0000` escape (not `\\u0000`, which is a backslash and five
/// characters). JSON has escapes only in strings, so reading escapes in pairs is exact.
fn json_has_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0 => return true,
            b'\\' => {
                if bytes.get(i + 1..i + 6) == Some(b"u0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// The surface a path belongs to, which renders its refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Api,
    Prosody,
    Pages,
}

impl Surface {
    fn of(path: &str) -> Surface {
        if path == "/api/v1" || path.starts_with("/api/v1/") {
            Surface::Api
        } else if path.starts_with("/jitsi/") {
            Surface::Prosody
        } else {
            Surface::Pages
        }
    }
}

/// `error` as the surface of the request renders it.
async fn refuse(app: &AppState, mut parts: Parts, error: AppError) -> Response {
    match Surface::of(parts.uri.path()) {
        // The caller's language: `Accept-Language`, else the token holder's when the request
        // carries a valid token (a refusal of the body comes before the token is required).
        Surface::Api => match ApiCaller::from_request_parts(&mut parts, app).await {
            Ok(caller) => caller.fail(error).into_response(),
            Err(_) => ApiError::bare(error, &parts).into_response(),
        },
        Surface::Prosody => prosody::refusal(app, error),
        Surface::Pages => {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
            context::refusal(app, peer, &parts, &error).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_in_every_encoding_and_only_there() {
        assert!(has_encoded_nul(b"/sessions/%00x"));
        assert!(has_encoded_nul(b"from=%00"));
        assert!(!has_encoded_nul(b"from=%2500"), "a percent sign then 00");
        assert!(!has_encoded_nul(b"a=%0"));
        assert!(json_has_nul(br#"{"title":"a\u0000b"}"#));
        assert!(json_has_nul(br#"{"a\u0000":1}"#));
        assert!(json_has_nul(b"{\"t\":\"a\0\"}"));
        assert!(!json_has_nul(br#"{"title":"C:\\u0000"}"#), "an escaped backslash");
        assert!(json_has_nul(br#"{"title":"\\\u0000"}"#), "a backslash then NUL");
        assert!(!json_has_nul(br#"{"t":"\u000"#), "a cut escape");
        assert!(!json_has_nul(br#"{"title":"\u0001 \n \\ \""}"#));
        assert!(!json_has_nul(b"\\"), "a lone backslash at the end");
    }

    #[test]
    fn the_field_holding_a_nul_is_named() {
        assert_eq!(form_nul_field(b"course=%00"), Some("course".into()));
        assert_eq!(
            form_nul_field(b"limit=3&trainer=theo%00%40example.org"),
            Some("trainer".into())
        );
        assert_eq!(form_nul_field(b"a%00=1"), Some(String::new()));
        assert_eq!(form_nul_field(b"title=a\0b"), Some("title".into()));
        assert_eq!(form_nul_field(b"title=%2500&x=1"), None);
        assert_eq!(
            json_nul_field(br#"{"a":1,"guests":[{"email":"z\u0000@x"}]}"#),
            Some("guests".into())
        );
        assert_eq!(json_nul_field(br#"{"a\u0000":1}"#), Some(String::new()));
        assert_eq!(json_nul_field(br#"["\u0000"]"#), Some(String::new()));
        assert_eq!(json_nul_field(br#"{"title":"C:\\u0000"}"#), None);
    }

    #[test]
    fn json_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("json"));
        assert!(!is_json(""));
    }

    #[test]
    fn paths_belong_to_their_surface() {
        assert_eq!(Surface::of("/api/v1"), Surface::Api);
        assert_eq!(Surface::of("/api/v1/sessions/a%00"), Surface::Api);
        assert_eq!(Surface::of("/api/v10"), Surface::Pages);
        assert_eq!(Surface::of("/jitsi/reservations/conference"), Surface::Prosody);
        assert_eq!(Surface::of("/j/key%00"), Surface::Pages);
        assert_eq!(Surface::of("/sessions"), Surface::Pages);
    }
}
