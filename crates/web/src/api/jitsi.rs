//! `/api/v1/jitsi-servers` (admins only): list, create, read, update, delete Jitsi servers.
//! Secrets are write-only: `app_secret`, `private_key` and `api_secret` are accepted, never
//! returned, except `api_secret` when the server generated it (on creation without one), once.
//!
//! Also `POST /api/v1/sessions/{id}/participants/{pid}/link` (re-issue a personal link) and
//! `GET /api/v1/sessions/{id}/presence` (who is in the room, who came).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use domain::SessionAction;
use serde::{Deserialize, Deserializer, Serialize};
use store::{JitsiServer, StoreError, TokenModeKind};

use super::{ApiCaller, ApiError};
use crate::booking::BookingFailure;
use crate::error::Message;
use crate::jitsi::{PreparedServer, ServerChange, key_server_url, prepare, refusal_message};
use crate::state::AppState;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/jitsi-servers", get(list).post(create)),
        ("/jitsi-servers/{id}", get(read).patch(update).delete(remove)),
        ("/sessions/{id}/participants/{participant_id}/link", post(reissue)),
        ("/sessions/{id}/presence", get(presence)),
    ]
}

/// A server as the API shows it: never a secret.
#[derive(Debug, Serialize)]
pub struct ServerOut {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub domain: String,
    pub tenant: Option<String>,
    pub token_mode: &'static str,
    pub app_id: String,
    pub key_id: Option<String>,
    /// The public key (RS256, JaaS): what Prosody fetches, what JaaS is given.
    pub public_key: Option<String>,
    /// RS256: where Prosody's `asap_key_server` fetches the key of `key_id`.
    pub key_server_url: Option<String>,
    pub has_app_secret: bool,
    pub has_private_key: bool,
    pub moderator_features: BTreeMap<String, bool>,
    pub participant_features: BTreeMap<String, bool>,
    pub lobby: bool,
    pub max_occupants: Option<i64>,
    pub default: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Present once, when Dialogue generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_secret: Option<String>,
}

fn out(app: &AppState, s: JitsiServer, api_secret: Option<String>) -> ServerOut {
    let key_server_url = match (s.token_mode, &s.key_id) {
        (TokenModeKind::Rs256, Some(kid)) => Some(key_server_url(&app.config().public_url, kid)),
        _ => None,
    };
    ServerOut {
        key_server_url,
        has_app_secret: s.app_secret_enc.is_some(),
        has_private_key: s.private_key_enc.is_some(),
        token_mode: s.token_mode.as_str(),
        id: s.id,
        name: s.name,
        base_url: s.base_url,
        domain: s.domain,
        tenant: s.tenant,
        app_id: s.app_id,
        key_id: s.key_id,
        public_key: s.public_key_pem,
        moderator_features: s.moderator_features,
        participant_features: s.participant_features,
        lobby: s.lobby,
        max_occupants: s.max_occupants,
        default: s.is_default,
        created_at: s.created_at.to_string(),
        updated_at: s.updated_at.to_string(),
        api_secret,
    }
}

/// `Some(None)` for an explicit `null`, `None` when absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The body of POST and PATCH. Unknown fields are refused (a typo must not pass silently).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerBody {
    name: Option<String>,
    base_url: Option<String>,
    domain: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    tenant: Option<Option<String>>,
    token_mode: Option<String>,
    app_id: Option<String>,
    key_id: Option<String>,
    app_secret: Option<String>,
    private_key: Option<String>,
    api_secret: Option<String>,
    moderator_features: Option<BTreeMap<String, bool>>,
    participant_features: Option<BTreeMap<String, bool>>,
    lobby: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    max_occupants: Option<Option<i64>>,
    default: Option<bool>,
}

impl ServerBody {
    fn change(self) -> ServerChange {
        ServerChange {
            name: self.name,
            base_url: self.base_url,
            domain: self.domain,
            tenant: self.tenant.map(Option::unwrap_or_default),
            token_mode: self.token_mode,
            app_id: self.app_id,
            key_id: self.key_id,
            app_secret: self.app_secret,
            private_key: self.private_key,
            api_secret: self.api_secret,
            moderator_features: self.moderator_features,
            participant_features: self.participant_features,
            lobby: self.lobby,
            max_occupants: self.max_occupants,
            is_default: self.default,
        }
    }
}

fn require_admin(caller: &ApiCaller) -> Result<(), ApiError> {
    if caller.actor().may_manage_jitsi_servers() {
        Ok(())
    } else {
        Err(caller.error(StatusCode::FORBIDDEN, "forbidden", Message::new("error.forbidden")))
    }
}

fn parse_body(caller: &ApiCaller, body: &Bytes) -> Result<ServerBody, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        caller.error(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            Message::new("jitsi.api.json_invalid").arg("detail", e),
        )
    })
}

fn invalid(caller: &ApiCaller, problems: Vec<(&'static str, Message)>) -> ApiError {
    let errors = problems
        .iter()
        .map(|(f, m)| ((*f).to_owned(), m.render(caller.locale)))
        .collect();
    caller
        .error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Message::new("jitsi.api.invalid_server"),
        )
        .with_errors(errors)
}

fn store_failure(caller: &ApiCaller, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => caller.error(StatusCode::NOT_FOUND, "not-found", Message::new("error.not_found")),
        StoreError::Jitsi(r) => {
            let status = match r {
                store::JitsiRefusal::UnknownServer => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            caller.error(status, "conflict", refusal_message(&r))
        }
        other => ApiError::internal(other.to_string(), caller.locale),
    }
}

async fn list(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<Vec<ServerOut>>, ApiError> {
    require_admin(&caller)?;
    let servers = app
        .store()
        .list_jitsi_servers()
        .await
        .map_err(|e| store_failure(&caller, e))?;
    Ok(Json(servers.into_iter().map(|s| out(&app, s, None)).collect()))
}

/// The settings as the store takes them, or every problem with its field; a bearer another
/// server already uses is one of them.
async fn prepare_checked(
    app: &AppState,
    caller: &ApiCaller,
    id: &str,
    current: Option<&JitsiServer>,
    change: &ServerChange,
) -> Result<PreparedServer, ApiError> {
    let mut taken = Vec::new();
    app.jitsi()
        .check_bearer(app.store(), id, change, &mut taken)
        .await
        .map_err(|e| store_failure(caller, e))?;
    if !taken.is_empty() {
        return Err(invalid(caller, taken));
    }
    prepare(app.jitsi().sealer(), id, current, change).map_err(|p| invalid(caller, p))
}

async fn create(State(app): State<AppState>, caller: ApiCaller, body: Bytes) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let change = parse_body(&caller, &body)?.change();
    let id = store::new_id();
    let prepared = prepare_checked(&app, &caller, &id, None, &change).await?;
    let audit = store::AuditEntry::new("jitsi_server.create", Some(&caller.user.id), &caller.user.email, None);
    let server = app
        .store()
        .create_jitsi_server(&id, &prepared.input, &audit)
        .await
        .map_err(|e| store_failure(&caller, e))?;
    let location = format!("/api/v1/jitsi-servers/{}", server.id);
    let mut response = (
        StatusCode::CREATED,
        Json(out(&app, server, prepared.generated_api_secret)),
    )
        .into_response();
    if let Ok(v) = location.parse() {
        response.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(response)
}

async fn load(app: &AppState, caller: &ApiCaller, id: &str) -> Result<JitsiServer, ApiError> {
    app.store()
        .jitsi_server(id)
        .await
        .map_err(|e| store_failure(caller, e))?
        .ok_or_else(|| caller.error(StatusCode::NOT_FOUND, "not-found", Message::new("error.not_found")))
}

async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ServerOut>, ApiError> {
    require_admin(&caller)?;
    let server = load(&app, &caller, &id).await?;
    Ok(Json(out(&app, server, None)))
}

async fn update(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ServerOut>, ApiError> {
    require_admin(&caller)?;
    let current = load(&app, &caller, &id).await?;
    let change = parse_body(&caller, &body)?.change();
    let prepared = prepare_checked(&app, &caller, &id, Some(&current), &change).await?;
    let audit = store::AuditEntry::new("jitsi_server.update", Some(&caller.user.id), &caller.user.email, None);
    let server = app
        .store()
        .update_jitsi_server(&id, &prepared.input, &audit)
        .await
        .map_err(|e| store_failure(&caller, e))?;
    Ok(Json(out(&app, server, None)))
}

async fn remove(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&caller)?;
    let audit = store::AuditEntry::new("jitsi_server.delete", Some(&caller.user.id), &caller.user.email, None);
    app.store()
        .delete_jitsi_server(&id, app.now(), &audit)
        .await
        .map_err(|e| store_failure(&caller, e))?;
    Ok(StatusCode::NO_CONTENT)
}

fn booking_failure(caller: &ApiCaller, f: BookingFailure) -> ApiError {
    match f {
        BookingFailure::NotFound => caller.error(StatusCode::NOT_FOUND, "not-found", Message::new("error.not_found")),
        BookingFailure::Internal(e) => ApiError::internal(e, caller.locale),
        _ => caller.error(StatusCode::FORBIDDEN, "forbidden", Message::new("error.forbidden")),
    }
}

#[derive(Debug, Serialize)]
struct LinkOut {
    participant_id: String,
    link_version: i64,
    join_url: String,
}

/// Revokes a participant's personal link and answers the new one.
async fn reissue(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path((id, pid)): Path<(String, String)>,
) -> Result<Json<LinkOut>, ApiError> {
    let actor = caller.actor();
    let (detail, facts) = crate::booking::view(&app, &actor, &id)
        .await
        .map_err(|f| booking_failure(&caller, f))?;
    if !actor.may_session(
        SessionAction::EditParticipants,
        facts,
        app.config().booking.trainers_can_book,
    ) {
        return Err(caller.error(StatusCode::FORBIDDEN, "forbidden", Message::new("error.forbidden")));
    }
    if !detail.participants.iter().any(|p| p.id == pid) {
        return Err(caller.error(StatusCode::NOT_FOUND, "not-found", Message::new("error.not_found")));
    }
    let audit = caller.caller().audit("participant.link_reissue");
    let participant = app
        .store()
        .reissue_link(&id, &pid, app.now(), &audit)
        .await
        .map_err(|e| store_failure(&caller, e))?;
    Ok(Json(LinkOut {
        join_url: crate::join::join_url(&app, &participant),
        participant_id: participant.id,
        link_version: participant.link_version,
    }))
}

#[derive(Debug, Serialize)]
struct AttendeeOut {
    participant_id: Option<String>,
    occupant_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    role: Option<&'static str>,
    first_join: String,
    last_leave: Option<String>,
    total_seconds: i64,
    connections: usize,
    present: bool,
}

#[derive(Debug, Serialize)]
struct PresenceOut {
    in_room: usize,
    attendees: Vec<AttendeeOut>,
}

/// Who is in the room now and who came, from Jitsi's events.
async fn presence(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<PresenceOut>, ApiError> {
    crate::booking::view(&app, &caller.actor(), &id)
        .await
        .map_err(|f| booking_failure(&caller, f))?;
    let presence = app
        .store()
        .presence(&id, app.now())
        .await
        .map_err(|e| store_failure(&caller, e))?;
    Ok(Json(PresenceOut {
        in_room: presence.in_room().count(),
        attendees: presence
            .attendees
            .into_iter()
            .map(|a| AttendeeOut {
                participant_id: a.participant_id,
                occupant_id: a.occupant_id,
                name: a.name,
                email: a.email,
                role: a.role.map(|r| r.as_str()),
                first_join: a.first_join.to_string(),
                last_leave: a.last_leave.map(|t| t.to_string()),
                total_seconds: a.total_seconds,
                connections: a.connections,
                present: a.present,
            })
            .collect(),
    }))
}
