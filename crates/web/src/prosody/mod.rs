//! The endpoints Jitsi's Prosody calls: the reservation API of `mod_reservations`
//! (`/jitsi/reservations/conference…`), the events of `mod_event_sync_component`
//! (`/jitsi/events/…`), the public keys `asap_key_server` fetches (`/jitsi/asap/…`), and the
//! signed webhooks of 8x8 JaaS (`/jitsi/jaas/{server id}/webhook`).
//!
//! This module reads the requests (bearer, content type, body) and answers as Prosody expects:
//! JSON, a refusal as `{"message": …}` in the installation's default language (Jitsi Meet shows
//! it as "Reservation system error … message"), its status from the one mapping in `error`.
//! What is reserved and recorded is the service's (`service::prosody`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jitsi::{EventError, EventKind, ReservationError};
use serde::Serialize;
use service::jitsi_servers::ServerRuntime;
use service::prosody::{self, JaasDelivery, Reserved};

use crate::http::error::{AppError, Message};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jitsi/reservations/conference", post(reserve))
        .route(
            "/jitsi/reservations/conference/{id}",
            get(reservation).delete(unreserve),
        )
        .route("/jitsi/events/{group}/{kind}", post(event))
        .route("/jitsi/asap/{file}", get(public_key))
        .route("/jitsi/jaas/{server}/webhook", post(jaas_webhook))
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A failure as Prosody reads it: the status of [`AppError::problem`] and `{"message": …}` in
/// the default language.
struct ProsodyError {
    error: AppError,
    app: AppState,
    /// What "not found" means at this address (an unknown reservation, event, key).
    not_found: &'static str,
}

impl IntoResponse for ProsodyError {
    fn into_response(self) -> Response {
        let problem = self.error.problem(self.app.now());
        if let AppError::Service(service::Error::Internal(detail)) = &self.error {
            tracing::error!(%detail, "Jitsi endpoint failed");
        }
        let message = if problem.status == StatusCode::NOT_FOUND {
            Message::new(self.not_found)
        } else {
            problem.message
        };
        let text = message.render(self.app.config().default_locale);
        let mut response = json(problem.status, &jitsi::ReservationRefusal { message: text });
        if problem.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dialogue-jitsi\""),
            );
        }
        response
    }
}

type Answer = Result<Response, ProsodyError>;

/// A request refused before it reached its endpoint (`http::edge`: a body over the limit, a
/// NUL character), answered as Prosody reads failures.
pub fn refusal(app: &AppState, error: AppError) -> Response {
    fail(app, error).into_response()
}

fn fail(app: &AppState, error: impl Into<AppError>) -> ProsodyError {
    ProsodyError {
        error: error.into(),
        app: app.clone(),
        not_found: "jitsi.api.not_found",
    }
}

/// The server whose bearer secret the request carries.
async fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<Arc<ServerRuntime>, ProsodyError> {
    let unauthorized = || fail(app, AppError::Unauthorized(Message::new("jitsi.api.unauthorized")));
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?;
    match prosody::server_by_bearer(app.service(), presented).await {
        Ok(server) => Ok(server),
        Err(service::Error::Unauthenticated) => Err(unauthorized()),
        Err(e) => Err(fail(app, e)),
    }
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
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

fn reserved(r: Result<jitsi::ReservationResponse, service::Error>, app: &AppState) -> Answer {
    r.map(|body| json(StatusCode::OK, &body)).map_err(|e| fail(app, e))
}

/// `POST /jitsi/reservations/conference` (form-encoded `name`, `start_time`, `mail_owner`).
async fn reserve(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Answer {
    let server = authenticate(&app, &headers).await?;
    if content_type(&headers).is_some_and(|t| !t.eq_ignore_ascii_case("application/x-www-form-urlencoded")) {
        return Err(fail(
            &app,
            AppError::UnsupportedMediaType(Message::new("jitsi.api.form_expected")),
        ));
    }
    let request = jitsi::parse_reservation_request(&body)
        .map_err(|e| fail(&app, AppError::BadRequest(reservation_message(&e))))?;
    match prosody::reserve(app.service(), &server, &request).await {
        Ok(Reserved::Created(body)) => Ok(json(StatusCode::OK, &body)),
        Ok(Reserved::Existing { id }) => Ok(json(StatusCode::CONFLICT, &serde_json::json!({ "conflict_id": id }))),
        Err(e) => Err(fail(&app, e)),
    }
}

/// `GET /jitsi/reservations/conference/{id}`: what Prosody asks after a 409.
async fn reservation(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let server = authenticate(&app, &headers).await?;
    reserved(prosody::reservation(app.service(), &server, &id).await, &app)
}

/// `DELETE /jitsi/reservations/conference/{id}`: the room was destroyed.
async fn unreserve(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let server = authenticate(&app, &headers).await?;
    prosody::unreserve(app.service(), &server, &id)
        .await
        .map_err(|e| fail(&app, e))?;
    Ok(json(StatusCode::OK, &serde_json::json!({})))
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

/// `POST /jitsi/events/{room/created,room/destroyed,occupant/joined,occupant/left}` (JSON).
/// Stored once each, whatever the retries and the order; always 200 once stored or known.
async fn event(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((group, kind)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let server = authenticate(&app, &headers).await?;
    let kind = EventKind::from_path(&format!("{group}/{kind}")).map_err(|_| ProsodyError {
        not_found: "jitsi.api.unknown_event",
        ..fail(&app, AppError::NOT_FOUND)
    })?;
    if !content_type(&headers).is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return Err(fail(
            &app,
            AppError::UnsupportedMediaType(Message::new("jitsi.api.json_expected")),
        ));
    }
    let event = jitsi::parse_event(kind, &body).map_err(|e| fail(&app, AppError::BadRequest(event_message(&e))))?;
    let stored = prosody::record_event(app.service(), &server, &event, &String::from_utf8_lossy(&body))
        .await
        .map_err(|e| fail(&app, e))?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "stored": stored })))
}

/// `POST /jitsi/jaas/{server id}/webhook`: a JaaS webhook (JSON, signed in `X-Jaas-Signature`).
/// 200 once stored, repeated or ignored (another event type, a room that is not one of this
/// server's sessions: JaaS retries every other answer); 401 for a missing, wrong or stale
/// signature; 403 for another app's event; 400 for a body that is not a JaaS event; 404 when
/// the server is not a JaaS one with a webhook secret.
async fn jaas_webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(server): Path<String>,
    body: Bytes,
) -> Answer {
    let signature = headers.get(jitsi::JAAS_SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    match prosody::record_jaas_webhook(app.service(), &server, signature, &body).await {
        Ok(JaasDelivery::Stored(n)) => Ok(json(StatusCode::OK, &serde_json::json!({ "stored": n }))),
        Ok(JaasDelivery::Ignored) => Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "stored": 0, "ignored": true }),
        )),
        Err(service::Error::Unauthenticated) => Err(fail(
            &app,
            AppError::Unauthorized(Message::new("jitsi.api.webhook_signature")),
        )),
        Err(service::Error::Invalid(problems)) => {
            let message = problems
                .into_iter()
                .next()
                .map_or_else(|| Message::new("jitsi.api.malformed"), |p| p.message);
            Err(fail(&app, AppError::BadRequest(message)))
        }
        Err(e) => Err(ProsodyError {
            not_found: "jitsi.api.webhook_unknown",
            ..fail(&app, e)
        }),
    }
}

/// `GET /jitsi/asap/<hex(sha256(kid))>.pem`: the public key Prosody verifies RS256 tokens with.
async fn public_key(State(app): State<AppState>, Path(file): Path<String>) -> Answer {
    let pem = prosody::public_key(app.service(), &file)
        .await
        .map_err(|e| fail(&app, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        pem,
    )
        .into_response())
}
