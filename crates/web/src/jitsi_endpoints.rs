//! The endpoints Jitsi's Prosody calls: the reservation API of `mod_reservations`
//! (`/jitsi/reservations/conference…`), the events of `mod_event_sync_component`
//! (`/jitsi/events/…`), and the public keys `asap_key_server` fetches (`/jitsi/asap/…`).
//!
//! Prosody authenticates with the per-server bearer secret (`Authorization: Bearer …`),
//! compared in constant time with every server's; anything else is 401. Answers are JSON; a
//! refusal carries `{"message": …}` in the server's default language (Jitsi Meet shows it as
//! "Reservation system error … message"). A server only reserves, and reports on, the rooms of
//! sessions pinned to it (or of sessions without a pin when it is the default one).

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::window::{JoinWindow, WindowState};
use jitsi::{Event, EventError, EventKind, ReservationError, ReservationId, ReservationResponse};
use serde::Serialize;
use store::{JitsiEventKind, NewJitsiEvent, ReservationOutcome, RoomSession, SessionStatus};

use crate::error::Message;
use crate::i18n::format_datetime;
use crate::state::AppState;
use service::jitsi_servers::ServerRuntime;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jitsi/reservations/conference", post(reserve))
        .route(
            "/jitsi/reservations/conference/{id}",
            get(reservation).delete(unreserve),
        )
        .route("/jitsi/events/{group}/{kind}", post(event))
        .route("/jitsi/asap/{file}", get(public_key))
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A refusal: `{"message": …}` in the default language.
fn refuse(app: &AppState, status: StatusCode, message: Message) -> Response {
    let text = message.render(app.config().default_locale);
    let mut response = json(status, &jitsi::ReservationRefusal { message: text });
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"dialogue-jitsi\""),
        );
    }
    response
}

fn internal(app: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "Jitsi endpoint failed");
    refuse(app, StatusCode::INTERNAL_SERVER_ERROR, Message::new("error.internal"))
}

/// The server whose bearer secret the request carries, or the 401 answer.
async fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<Arc<ServerRuntime>, Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    let unauthorized = || refuse(app, StatusCode::UNAUTHORIZED, Message::new("jitsi.api.unauthorized"));
    let Some(presented) = presented else {
        return Err(unauthorized());
    };
    match app.service().jitsi().by_bearer(app.store(), presented).await {
        Ok(Some(server)) => Ok(server),
        Ok(None) => {
            tracing::warn!("a Jitsi endpoint was called with an unknown bearer secret");
            Err(unauthorized())
        }
        Err(e) => Err(internal(app, e)),
    }
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
}

/// Whether the room's session is this server's: pinned to it, or unpinned with it as default.
fn served_by(room: &RoomSession, server: &ServerRuntime, tenant: Option<&str>) -> bool {
    room.server.as_ref().is_some_and(|(id, _)| *id == server.server.id) && tenant == server.tenant()
}

fn reservation_message(e: &ReservationError) -> Message {
    match e {
        ReservationError::MissingField(f) | ReservationError::EmptyField(f) => {
            Message::new("jitsi.api.missing_field").arg("field", f)
        }
        ReservationError::DuplicateField(f) => Message::new("jitsi.api.duplicate_field").arg("field", f),
        ReservationError::MalformedForm(_) => Message::new("jitsi.api.malformed"),
        ReservationError::MalformedTime(v) => Message::new("jitsi.api.start_time").arg("value", v),
        ReservationError::InvalidRoomName(r) | ReservationError::InvalidTenant(r) => {
            Message::new("jitsi.api.invalid_room").arg("room", r)
        }
        ReservationError::InvalidReservationId(_) => Message::new("jitsi.api.not_found"),
    }
}

/// Where a session stands for a reservation: the room exists from the moderators' opening to
/// the end of the window (grace included).
fn reservation_window(app: &AppState, room: &RoomSession) -> Result<JoinWindow, Message> {
    let s = &room.session;
    if s.status == SessionStatus::Cancelled {
        return Err(Message::new("jitsi.api.cancelled"));
    }
    let window = JoinWindow::for_participant(s.starts_at, s.ends_at, true, &app.config().join);
    match window.state(app.now()) {
        WindowState::Open { .. } => Ok(window),
        WindowState::NotYet { .. } => Err(Message::new("jitsi.api.too_early").arg(
            "when",
            format_datetime(window.opens, &s.time_zone, app.config().default_locale),
        )),
        WindowState::Over => Err(Message::new("jitsi.api.over")),
    }
}

fn answer(server: &ServerRuntime, id: &str, name: &str, mail_owner: &str, start_time: i64, closes: i64) -> Response {
    let Ok(id) = ReservationId::new(id) else {
        // Our ids are base32 (a-z, 2-7): always valid.
        return json(StatusCode::INTERNAL_SERVER_ERROR, &serde_json::json!({}));
    };
    let body = ReservationResponse {
        id,
        name: name.to_owned(),
        start_time: jitsi::format_java_date(start_time),
        duration: u64::try_from(closes.saturating_sub(start_time)).unwrap_or(0),
        mail_owner: mail_owner.to_owned(),
        max_occupants: server
            .server
            .max_occupants
            .and_then(|n| u32::try_from(n).ok())
            .and_then(NonZeroU32::new),
        lobby: server.server.lobby.then_some(true),
    };
    json(StatusCode::OK, &body)
}

/// `POST /jitsi/reservations/conference` (form-encoded `name`, `start_time`, `mail_owner`).
async fn reserve(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let server = match authenticate(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if content_type(&headers).is_some_and(|t| !t.eq_ignore_ascii_case("application/x-www-form-urlencoded")) {
        return refuse(
            &app,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Message::new("jitsi.api.form_expected"),
        );
    }
    let request = match jitsi::parse_reservation_request(&body) {
        Ok(r) => r,
        Err(e) => return refuse(&app, StatusCode::BAD_REQUEST, reservation_message(&e)),
    };
    let room = match app.store().room_session(&request.room).await {
        Ok(Some(room)) if served_by(&room, &server, request.tenant.as_deref()) => room,
        Ok(_) => return refuse(&app, StatusCode::FORBIDDEN, Message::new("jitsi.api.unknown_room")),
        Err(e) => return internal(&app, e),
    };
    let window = match reservation_window(&app, &room) {
        Ok(w) => w,
        Err(m) => return refuse(&app, StatusCode::FORBIDDEN, m),
    };
    match app
        .store()
        .create_reservation(
            &room.session.id,
            &server.server.id,
            &request.name,
            &request.mail_owner,
            request.start_time,
            app.now(),
        )
        .await
    {
        Ok(ReservationOutcome::Created(r)) => answer(
            &server,
            &r.id,
            &r.name,
            &r.mail_owner,
            r.start_time,
            window.closes.as_second(),
        ),
        Ok(ReservationOutcome::Existing(r)) => json(StatusCode::CONFLICT, &serde_json::json!({ "conflict_id": r.id })),
        Err(e) => internal(&app, e),
    }
}

/// The reservation `id` of this server, still active, or the refusal to send.
async fn own_reservation(app: &AppState, server: &ServerRuntime, id: &str) -> Result<store::Reservation, Response> {
    if ReservationId::new(id).is_err() {
        return Err(refuse(app, StatusCode::NOT_FOUND, Message::new("jitsi.api.not_found")));
    }
    match app.store().reservation(id).await {
        Ok(Some(r)) if r.server_id == server.server.id => Ok(r),
        Ok(_) => Err(refuse(app, StatusCode::NOT_FOUND, Message::new("jitsi.api.not_found"))),
        Err(e) => Err(internal(app, e)),
    }
}

/// `GET /jitsi/reservations/conference/{id}`: what Prosody asks after a 409.
async fn reservation(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let server = match authenticate(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = match own_reservation(&app, &server, &id).await {
        Ok(r) if r.deleted_at.is_none() => r,
        Ok(_) => return refuse(&app, StatusCode::NOT_FOUND, Message::new("jitsi.api.not_found")),
        Err(response) => return response,
    };
    let room = match app.store().room_session_by_id(&r.session_id).await {
        Ok(Some(room)) => room,
        Ok(None) => return refuse(&app, StatusCode::NOT_FOUND, Message::new("jitsi.api.not_found")),
        Err(e) => return internal(&app, e),
    };
    match reservation_window(&app, &room) {
        Ok(window) => answer(
            &server,
            &r.id,
            &r.name,
            &r.mail_owner,
            r.start_time,
            window.closes.as_second(),
        ),
        Err(m) => refuse(&app, StatusCode::FORBIDDEN, m),
    }
}

/// `DELETE /jitsi/reservations/conference/{id}`: the room was destroyed.
async fn unreserve(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let server = match authenticate(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = match own_reservation(&app, &server, &id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    match app.store().delete_reservation(&r.id, app.now()).await {
        Ok(()) => json(StatusCode::OK, &serde_json::json!({})),
        Err(e) => internal(&app, e),
    }
}

fn event_message(e: &EventError) -> Message {
    match e {
        EventError::UnknownPath(_) => Message::new("jitsi.api.unknown_event"),
        EventError::MalformedJson(_) | EventError::InvalidTime(_) | EventError::EventNameMismatch { .. } => {
            Message::new("jitsi.api.malformed")
        }
        EventError::MissingField(f) => Message::new("jitsi.api.missing_field").arg("field", f),
        EventError::InvalidRoomName(r) => Message::new("jitsi.api.invalid_room").arg("room", r),
    }
}

fn store_kind(kind: EventKind) -> JitsiEventKind {
    match kind {
        EventKind::RoomCreated => JitsiEventKind::RoomCreated,
        EventKind::RoomDestroyed => JitsiEventKind::RoomDestroyed,
        EventKind::OccupantJoined => JitsiEventKind::OccupantJoined,
        EventKind::OccupantLeft => JitsiEventKind::OccupantLeft,
    }
}

/// The rows an event makes: itself, and for a destroyed room every occupant it lists, as the
/// joins and leaves they were (same keys as their own deliveries, so nothing is counted twice).
fn rows(event: &Event, base: &NewJitsiEvent) -> Vec<NewJitsiEvent> {
    let occupant_row = |kind: EventKind, o: &jitsi::Occupant, key: String, at: i64, payload: &str| NewJitsiEvent {
        idem_key: key,
        kind: store_kind(kind),
        occupant_jid: o.occupant_jid.clone(),
        occupant_id: o.id.clone(),
        occupant_name: o.name.clone(),
        occupant_email: o.email.clone(),
        joined_at: Some(o.joined_at),
        left_at: if kind == EventKind::OccupantLeft {
            o.left_at
        } else {
            None
        },
        at,
        payload: payload.to_owned(),
        ..base.clone()
    };
    match event {
        Event::RoomCreated { created_at, .. } => vec![NewJitsiEvent {
            at: *created_at,
            ..base.clone()
        }],
        Event::RoomDestroyed {
            room,
            destroyed_at,
            all_occupants,
            ..
        } => {
            let mut out = vec![NewJitsiEvent {
                at: *destroyed_at,
                ..base.clone()
            }];
            let derived = r#"{"derived_from":"room/destroyed"}"#;
            for o in all_occupants {
                let joined = Event::OccupantJoined {
                    room: room.clone(),
                    occupant: o.clone(),
                    active_occupants_count: None,
                };
                out.push(occupant_row(
                    EventKind::OccupantJoined,
                    o,
                    joined.idempotency_key(),
                    o.joined_at,
                    derived,
                ));
                if let Some(left) = o.left_at {
                    let leave = Event::OccupantLeft {
                        room: room.clone(),
                        occupant: o.clone(),
                        active_occupants_count: None,
                    };
                    out.push(occupant_row(
                        EventKind::OccupantLeft,
                        o,
                        leave.idempotency_key(),
                        left,
                        derived,
                    ));
                }
            }
            out
        }
        Event::OccupantJoined { occupant, .. } => vec![occupant_row(
            EventKind::OccupantJoined,
            occupant,
            base.idem_key.clone(),
            occupant.joined_at,
            &base.payload,
        )],
        Event::OccupantLeft { occupant, .. } => vec![occupant_row(
            EventKind::OccupantLeft,
            occupant,
            base.idem_key.clone(),
            occupant.left_at.unwrap_or(occupant.joined_at),
            &base.payload,
        )],
    }
}

/// `POST /jitsi/events/{room/created,room/destroyed,occupant/joined,occupant/left}` (JSON).
/// Stored once each, whatever the retries and the order; always 200 once stored or known.
async fn event(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((group, kind)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let server = match authenticate(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let kind = match EventKind::from_path(&format!("{group}/{kind}")) {
        Ok(k) => k,
        Err(e) => return refuse(&app, StatusCode::NOT_FOUND, event_message(&e)),
    };
    if !content_type(&headers).is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return refuse(
            &app,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Message::new("jitsi.api.json_expected"),
        );
    }
    let event = match jitsi::parse_event(kind, &body) {
        Ok(e) => e,
        Err(e) => return refuse(&app, StatusCode::BAD_REQUEST, event_message(&e)),
    };
    let room = event.room();
    let session_id = match app.store().room_session(&room.name).await {
        Ok(Some(rs)) if served_by(&rs, &server, room.tenant.as_deref()) => Some(rs.session.id),
        Ok(_) => None,
        Err(e) => return internal(&app, e),
    };
    let base = NewJitsiEvent {
        idem_key: event.idempotency_key(),
        server_id: Some(server.server.id.clone()),
        kind: store_kind(kind),
        room: room.name.clone(),
        tenant: room.tenant.clone(),
        breakout_room_id: room.breakout_room_id.clone().unwrap_or_default(),
        session_id,
        occupant_jid: String::new(),
        occupant_id: None,
        occupant_name: None,
        occupant_email: None,
        joined_at: None,
        left_at: None,
        at: 0,
        received_at: app.now().as_second(),
        payload: String::from_utf8_lossy(&body).into_owned(),
    };
    match app.store().record_jitsi_events(&rows(&event, &base)).await {
        Ok(stored) => json(StatusCode::OK, &serde_json::json!({ "stored": stored })),
        Err(e) => internal(&app, e),
    }
}

/// `GET /jitsi/asap/<hex(sha256(kid))>.pem`: the public key Prosody verifies RS256 tokens with.
async fn public_key(State(app): State<AppState>, Path(file): Path<String>) -> Response {
    let servers = match app.service().jitsi().all(app.store()).await {
        Ok(s) => s,
        Err(e) => return internal(&app, e),
    };
    let found = servers
        .iter()
        .find(|s| s.key_path.as_deref() == Some(file.as_str()))
        .and_then(|s| s.server.public_key_pem.clone());
    match found {
        Some(pem) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file")),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
            ],
            pem,
        )
            .into_response(),
        None => refuse(&app, StatusCode::NOT_FOUND, Message::new("jitsi.api.not_found")),
    }
}
