//! Calendars people subscribe to: `/ical/{key}.ics`, each account's feed (what it holds and
//! who may read it: `service::feeds`), answered with an `ETag` so that calendar clients polling
//! it get `304 Not Modified` while nothing changed. The profile page resets the address.
//!
//! (One participant's session as a file, `/j/{key}/calendar.ics`, is served with the personal
//! link's pages in `join.rs`.)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Router, routing::get, routing::post};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

/// Routes without the page context (calendar clients have no cookies).
pub fn routes() -> Router<AppState> {
    Router::new().route("/ical/{file}", get(feed))
}

/// The profile page's reset button.
pub fn page_routes() -> Router<AppState> {
    Router::new().route("/profile/feed/reset", post(reset))
}

fn etag_of(body: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
    format!("\"{}\"", service::crypto::hex(&digest.as_ref()[..16]))
}

/// Whether `If-None-Match` names `etag` (weak comparison, lists, `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn calendar_response(headers: &HeaderMap, body: String, filename: &str) -> Response {
    let etag = etag_of(&body);
    let mut response = if not_modified(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

async fn feed(State(app): State<AppState>, Path(file): Path<String>, headers: HeaderMap) -> AppResult {
    let key = file.strip_suffix(".ics").ok_or(AppError::NOT_FOUND)?;
    let body = service::feeds::feed(app.service(), key).await?;
    Ok(calendar_response(&headers, body, "dialogue.ics"))
}

async fn reset(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    service::feeds::reset(app.service(), &ctx.caller()?).await?;
    Ok(Redirect::to("/profile?notice=feed_reset").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_is_compared_weakly_and_in_lists() {
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, "\"abc\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"abc\""));
        assert!(not_modified(&h, "\"abc\""));
        assert!(!not_modified(&h, "\"abd\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, "\"abd\""));
    }
}
