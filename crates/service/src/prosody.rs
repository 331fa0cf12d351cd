//! What Jitsi's Prosody asks of Dialogue: reserving a room when its first person arrives
//! (`mod_reservations`), being told of rooms and occupants (`mod_event_sync_component`), and the
//! public keys of RS256 servers (`asap_key_server`).
//!
//! Prosody authenticates with the per-server bearer secret, compared in constant time with every
//! server's. A server only reserves, and reports on, the rooms of sessions pinned to it (or of
//! sessions without a pin when it is the default one). Refusals explain themselves in the
//! installation's default language: Jitsi Meet shows them to the person who asked.

use std::num::NonZeroU32;
use std::sync::Arc;

use domain::window::{Admission, JoinWindow};
use i18n::Message;
use jitsi::{Event, EventKind, ReservationId, ReservationRequest, ReservationResponse};
use store::{JitsiEventKind, NewJitsiEvent, ReservationOutcome, RoomSession, SessionStatus};

use crate::Service;
use crate::error::{Error, Result};
use crate::jitsi_servers::ServerRuntime;
use crate::metrics::ReservationAnswer;

/// The server whose bearer secret Prosody presented (unauthenticated otherwise).
pub async fn server_by_bearer(svc: &Service, presented: &str) -> Result<Arc<ServerRuntime>> {
    match svc.jitsi().by_bearer(svc.store(), presented).await? {
        Some(server) => Ok(server),
        None => {
            tracing::warn!("a Jitsi endpoint was called with an unknown bearer secret");
            Err(Error::Unauthenticated)
        }
    }
}

/// Whether the room's session is this server's: pinned to it, or unpinned with it as default.
fn served_by(room: &RoomSession, server: &ServerRuntime, tenant: Option<&str>) -> bool {
    room.server.as_ref().is_some_and(|(id, _)| *id == server.server.id) && tenant == server.tenant()
}

/// Where a session stands for a reservation: the room exists from the moderators' opening to
/// the end of the window (grace included).
fn reservation_window(svc: &Service, room: &RoomSession) -> Result<JoinWindow> {
    let s = &room.session;
    let window = JoinWindow::for_participant(s.starts_at, s.ends_at, true, &svc.config().join);
    match Admission::of(s.status == SessionStatus::Cancelled, &window, svc.now()) {
        Admission::Open => Ok(window),
        Admission::Cancelled => Err(Error::refused("", Message::new("jitsi.api.cancelled"))),
        Admission::NotYet { .. } => Err(Error::refused(
            "",
            Message::new("jitsi.api.too_early").arg(
                "when",
                i18n::format_datetime(window.opens, &s.time_zone, svc.config().default_locale),
            ),
        )),
        Admission::Over => Err(Error::refused("", Message::new("jitsi.api.over"))),
    }
}

fn not_found() -> Error {
    Error::NotFound
}

/// The answer Prosody expects for a reservation.
fn answer(server: &ServerRuntime, r: &store::Reservation, closes: i64) -> Result<ReservationResponse> {
    let id = ReservationId::new(&r.id).map_err(|e| Error::Internal(format!("reservation id {}: {e}", r.id)))?;
    Ok(ReservationResponse {
        id,
        name: r.name.clone(),
        start_time: jitsi::format_java_date(r.start_time),
        duration: u64::try_from(closes.saturating_sub(r.start_time)).unwrap_or(0),
        mail_owner: r.mail_owner.clone(),
        max_occupants: server
            .server
            .max_occupants
            .and_then(|n| u32::try_from(n).ok())
            .and_then(NonZeroU32::new),
        lobby: server.server.lobby.then_some(true),
    })
}

/// What a reservation request comes to.
#[derive(Debug)]
pub enum Reserved {
    /// The room may exist: for this long, with these settings.
    Created(ReservationResponse),
    /// The room was reserved already: Prosody asks for this one.
    Existing { id: String },
}

/// The first person asks for a room: reserve it for its session's window, or refuse.
pub async fn reserve(svc: &Service, server: &ServerRuntime, request: &ReservationRequest) -> Result<Reserved> {
    let answer = reserve_uncounted(svc, server, request).await;
    let counted = match &answer {
        Ok(Reserved::Created(_)) => Some(ReservationAnswer::Created),
        Ok(Reserved::Existing { .. }) => Some(ReservationAnswer::Existing),
        Err(Error::Refused(..)) | Err(Error::NotFound) => Some(ReservationAnswer::Refused),
        Err(_) => None,
    };
    if let Some(counted) = counted {
        svc.metrics().reservation(counted);
    }
    answer
}

async fn reserve_uncounted(svc: &Service, server: &ServerRuntime, request: &ReservationRequest) -> Result<Reserved> {
    let room = match svc.store().room_session(&request.room).await? {
        Some(room) if served_by(&room, server, request.tenant.as_deref()) => room,
        _ => {
            return crate::personal_rooms::reserve(svc, server, request)
                .await?
                .ok_or_else(|| Error::refused("", Message::new("jitsi.api.unknown_room")));
        }
    };
    let window = reservation_window(svc, &room)?;
    match svc
        .store()
        .create_reservation(
            &room.session.id,
            &server.server.id,
            &request.name,
            &request.mail_owner,
            request.start_time,
            svc.now(),
        )
        .await?
    {
        ReservationOutcome::Created(r) => Ok(Reserved::Created(answer(server, &r, window.closes.as_second())?)),
        ReservationOutcome::Existing(r) => Ok(Reserved::Existing { id: r.id }),
    }
}

/// The reservation `id` of this server.
async fn own_reservation(svc: &Service, server: &ServerRuntime, id: &str) -> Result<store::Reservation> {
    if ReservationId::new(id).is_err() {
        return Err(not_found());
    }
    match svc.store().reservation(id).await? {
        Some(r) if r.server_id == server.server.id => Ok(r),
        _ => Err(not_found()),
    }
}

/// The reservation Prosody asks for after a conflict, while its session's window lasts.
pub async fn reservation(svc: &Service, server: &ServerRuntime, id: &str) -> Result<ReservationResponse> {
    if let Some(answer) = crate::personal_rooms::reservation(svc, server, id).await? {
        return Ok(answer);
    }
    let r = own_reservation(svc, server, id).await?;
    if r.deleted_at.is_some() {
        return Err(not_found());
    }
    let room = svc
        .store()
        .room_session_by_id(&r.session_id)
        .await?
        .ok_or_else(not_found)?;
    let window = reservation_window(svc, &room)?;
    answer(server, &r, window.closes.as_second())
}

/// The room was destroyed: its reservation ends.
pub async fn unreserve(svc: &Service, server: &ServerRuntime, id: &str) -> Result<()> {
    if crate::personal_rooms::unreserve(svc, server, id).await? {
        return Ok(());
    }
    let r = own_reservation(svc, server, id).await?;
    Ok(svc.store().delete_reservation(&r.id, svc.now()).await?)
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

/// Records one of Prosody's events (and what it implies), once each whatever the retries and the
/// order. Events of rooms that are not this server's sessions are kept without a session.
/// Returns how many rows were new.
pub async fn record_event(svc: &Service, server: &ServerRuntime, event: &Event, payload: &str) -> Result<usize> {
    let room = event.room();
    let session_id = match svc.store().room_session(&room.name).await? {
        Some(rs) if served_by(&rs, server, room.tenant.as_deref()) => Some(rs.session.id),
        _ => None,
    };
    let base = NewJitsiEvent {
        idem_key: event.idempotency_key(),
        server_id: Some(server.server.id.clone()),
        kind: store_kind(event.kind()),
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
        received_at: svc.now().as_second(),
        payload: payload.to_owned(),
    };
    if base.session_id.is_none()
        && let Some(personal) =
            crate::personal_rooms::event_room(svc, server, &room.name, room.tenant.as_deref()).await?
    {
        return Ok(svc
            .store()
            .record_personal_room_events(&personal, &rows(event, &base))
            .await?);
    }
    Ok(svc.store().record_jitsi_events(&rows(event, &base)).await?)
}

/// The public key an RS256 server's tokens verify with, by the file name Prosody asks for
/// (`hex(sha256(kid)).pem`).
pub async fn public_key(svc: &Service, file: &str) -> Result<String> {
    svc.jitsi()
        .all(svc.store())
        .await?
        .iter()
        .find(|s| s.key_path.as_deref() == Some(file))
        .and_then(|s| s.server.public_key_pem.clone())
        .ok_or_else(not_found)
}

// ---- JaaS webhooks ----

/// What a JaaS webhook delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JaasDelivery {
    /// Stored: how many rows were new (0 for a repeated delivery, or a replay).
    Stored(usize),
    /// Verified, and of no use to attendance: another event type (recordings, polls…), or a
    /// room that is not a session of this server. Not stored; answered 2xx all the same, for
    /// JaaS retries every other answer.
    Ignored,
}

fn jaas_store_kind(kind: &jitsi::JaasEventType) -> Option<JitsiEventKind> {
    match kind {
        jitsi::JaasEventType::RoomCreated => Some(JitsiEventKind::RoomCreated),
        jitsi::JaasEventType::RoomDestroyed => Some(JitsiEventKind::RoomDestroyed),
        jitsi::JaasEventType::ParticipantJoined => Some(JitsiEventKind::OccupantJoined),
        jitsi::JaasEventType::ParticipantLeft => Some(JitsiEventKind::OccupantLeft),
        jitsi::JaasEventType::Other(_) => None,
    }
}

fn webhook_problem(e: &jitsi::WebhookError) -> Error {
    use jitsi::WebhookError as W;
    match e {
        W::MissingField(f) => Error::invalid("", Message::new("jitsi.api.missing_field").arg("field", f)),
        W::InvalidRoomName(r) => Error::invalid("", Message::new("jitsi.api.invalid_room").arg("room", r)),
        _ => Error::invalid("", Message::new("jitsi.api.malformed")),
    }
}

/// Receives a JaaS webhook for server `server_id`: checks the `X-Jaas-Signature` (constant
/// time, within [`jitsi::JAAS_WEBHOOK_TOLERANCE_SECS`] of now) and that it is for this server's
/// app, then stores a participant's join or leave (and the room's creation and destruction) of
/// one of this server's sessions as `event_sync`'s are stored, once under JaaS's idempotency
/// key: a repeated delivery or a replay stores nothing more.
///
/// Refusals: no such JaaS server, or none with a webhook secret → not found; a missing, wrong
/// or stale signature → unauthenticated; another app → forbidden; a body that is not a JaaS
/// event → invalid.
pub async fn record_jaas_webhook(
    svc: &Service,
    server_id: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<JaasDelivery> {
    let server = svc.jitsi().by_id(svc.store(), server_id).await?.ok_or_else(not_found)?;
    let secret = match (&server.server.token_mode, &server.webhook_secret) {
        (store::TokenModeKind::Jaas, Some(secret)) => secret,
        _ => return Err(not_found()),
    };
    let hook = match jitsi::verify_jaas_webhook(
        secret,
        signature,
        body,
        svc.now().as_second(),
        jitsi::JAAS_WEBHOOK_TOLERANCE_SECS,
    ) {
        Ok(hook) => hook,
        Err(
            e @ (jitsi::WebhookError::MissingSignature
            | jitsi::WebhookError::MalformedSignature(_)
            | jitsi::WebhookError::NoV1Signature
            | jitsi::WebhookError::BadSignature
            | jitsi::WebhookError::OutsideTolerance { .. }
            | jitsi::WebhookError::EmptySecret),
        ) => {
            tracing::warn!(server = %server.server.name, error = %e, "a JaaS webhook was refused");
            return Err(Error::Unauthenticated);
        }
        Err(e) => return Err(webhook_problem(&e)),
    };
    if !hook.is_for_app(&server.server.app_id) {
        tracing::warn!(server = %server.server.name, app = %hook.app_id, "a JaaS webhook for another app was refused");
        return Err(Error::Forbidden);
    }
    let Some(kind) = jaas_store_kind(&hook.event_type) else {
        return Ok(JaasDelivery::Ignored);
    };
    let session_id = match svc.store().room_session(&hook.room).await? {
        Some(rs) if served_by(&rs, &server, None) => rs.session.id,
        _ => return Ok(JaasDelivery::Ignored),
    };
    let at = hook.at();
    let participant = hook.participant.as_ref();
    let row = NewJitsiEvent {
        idem_key: hook.storage_key(),
        server_id: Some(server.server.id.clone()),
        kind,
        room: hook.room.clone(),
        tenant: None,
        breakout_room_id: hook.breakout_room_id.clone().unwrap_or_default(),
        session_id: Some(session_id),
        occupant_jid: participant.map(|p| p.connection_jid().to_owned()).unwrap_or_default(),
        occupant_id: participant.and_then(|p| p.user_id.clone()),
        occupant_name: participant.and_then(|p| p.name.clone()),
        occupant_email: participant.and_then(|p| p.email.clone()),
        joined_at: (kind == JitsiEventKind::OccupantJoined).then_some(at),
        left_at: (kind == JitsiEventKind::OccupantLeft).then_some(at),
        at,
        received_at: svc.now().as_second(),
        payload: String::from_utf8_lossy(body).into_owned(),
    };
    Ok(JaasDelivery::Stored(svc.store().record_jitsi_events(&[row]).await?))
}
