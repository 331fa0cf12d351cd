//! Calendars people subscribe to or download.
//!
//! - `/ical/{key}.ics`: each account's feed, the sessions from 30 days back to a year ahead,
//!   cancelled ones marked so. Trainers see the sessions they teach; managers and admins those
//!   they teach and those they booked (the whole company's calendar would be of no use in a
//!   personal agenda, and would reach every address-book entry). The key is
//!   `<account id>-<HMAC of the account id and a version>`, derived from the server's feed
//!   secret: nothing secret is stored, and resetting it (profile page) moves the version on so
//!   the old URL answers 404. `ETag` / `If-None-Match` answer 304 when nothing changed.
//!
//! (One participant's session as a file, `/j/{key}/calendar.ics`, is served with the personal
//! link's pages in `join.rs`.)
//!
//! Feeds list the trainers of each session, not its learners: a subscribed feed is fetched by
//! calendar services, which have no business with learners' addresses.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Router, routing::get, routing::post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::window::JoinWindow;
use jiff::SignedDuration;
use mail::calendar::{JoinInfo, calendar, session_event_in};
use ring::hmac;
use store::{ParticipantRole, SessionDetail, User};

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use service::crypto::constant_time_eq;

/// Routes without the page context (calendar clients have no cookies).
pub fn routes() -> Router<AppState> {
    Router::new().route("/ical/{file}", get(feed))
}

/// The profile page's reset button.
pub fn page_routes() -> Router<AppState> {
    Router::new().route("/profile/feed/reset", post(reset))
}

/// How far back and ahead a feed reaches.
const BACK: SignedDuration = SignedDuration::from_hours(30 * 24);
const AHEAD: SignedDuration = SignedDuration::from_hours(365 * 24);

/// The feed key of an account at a version.
pub fn feed_key(app: &AppState, user_id: &str, version: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app.secret().feed_secret());
    let tag = hmac::sign(&key, format!("feed:{user_id}:{version}").as_bytes());
    format!("{user_id}-{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// The current feed URL of an account.
pub async fn feed_url(app: &AppState, user: &User) -> Result<String, store::StoreError> {
    let version = app.store().feed_version(&user.id).await?;
    Ok(app.url(&format!("/ical/{}.ics", feed_key(app, &user.id, version))))
}

/// The account a feed key belongs to, if the key is current.
async fn feed_owner(app: &AppState, key: &str) -> Result<Option<User>, AppError> {
    let Some((user_id, _)) = key.split_once('-') else {
        return Ok(None);
    };
    if user_id.is_empty() || user_id.len() > 64 || !user_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let Some(user) = app.store().user(user_id).await?.filter(|u| u.active) else {
        return Ok(None);
    };
    let version = app.store().feed_version(&user.id).await?;
    let expected = feed_key(app, &user.id, version);
    Ok(constant_time_eq(expected.as_bytes(), key.as_bytes()).then_some(user))
}

/// The calendar of a feed, rendered deterministically (each event stamped with its session's
/// last change, not the time of the request) so that its hash can serve as the `ETag`.
pub fn render_feed(app: &AppState, user: &User, sessions: &[SessionDetail]) -> String {
    let locale = user.locale;
    let events = sessions
        .iter()
        .map(|detail| {
            let s = &detail.session;
            let me = detail
                .participants
                .iter()
                .find(|p| p.user_id.as_deref() == Some(user.id.as_str()) && p.role.is_moderator());
            let join = me.and_then(|p| {
                let key = app.store().join_key(&p.id, p.link_version).ok()?;
                let window = JoinWindow::for_participant(s.starts_at, s.ends_at, true, &app.config().join);
                Some(JoinInfo {
                    url: app.url(&format!("/j/{key}")),
                    opens_at: window.opens,
                })
            });
            let trainers: Vec<store::Participant> = detail
                .participants
                .iter()
                .filter(|p| p.role == ParticipantRole::Trainer)
                .cloned()
                .collect();
            session_event_in(s, &trainers, join.as_ref(), None, locale, s.updated_at, &user.time_zone)
        })
        .collect();
    let name = locale.tf("feed.name", &[("name", &user.display_name)]);
    calendar(None, Some(name), events).render()
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
    let user = feed_owner(&app, key).await?.ok_or(AppError::NOT_FOUND)?;
    let now = app.now();
    let include_booked = user.role >= domain::Role::Manager;
    let sessions = app
        .store()
        .feed_sessions(&user.id, include_booked, now - BACK, now + AHEAD)
        .await?;
    Ok(calendar_response(
        &headers,
        render_feed(&app, &user, &sessions),
        "dialogue.ics",
    ))
}

async fn reset(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    let user = ctx.require_user()?;
    app.store()
        .reset_feed(&user.id, app.now(), &ctx.audit("calendar_feed.reset"))
        .await?;
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
