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
use serde::{Deserialize, Deserializer, Serialize};
use service::jitsi_servers::{self, ServerChange, key_server_url};
use service::links;
use store::{JitsiServer, TokenModeKind};

use super::{ApiCaller, ApiError, ForCaller};
use crate::http::error::{AppError, Message};
use crate::http::state::AppState;

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

fn parse_body(caller: &ApiCaller, body: &Bytes) -> Result<ServerBody, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        caller.fail(AppError::BadRequest(
            Message::new("jitsi.api.json_invalid").arg("detail", e),
        ))
    })
}

async fn list(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<Vec<ServerOut>>, ApiError> {
    let servers = jitsi_servers::list(app.service(), &caller.actor()).await.api(&caller)?;
    Ok(Json(servers.into_iter().map(|s| out(&app, s, None)).collect()))
}

async fn create(State(app): State<AppState>, caller: ApiCaller, body: Bytes) -> Result<Response, ApiError> {
    let change = parse_body(&caller, &body)?.change();
    let created = jitsi_servers::create(app.service(), &caller.caller(), &change, Vec::new())
        .await
        .api(&caller)?;
    let location = format!("/api/v1/jitsi-servers/{}", created.server.id);
    let mut response = (
        StatusCode::CREATED,
        Json(out(&app, created.server, created.generated_api_secret)),
    )
        .into_response();
    if let Ok(v) = location.parse() {
        response.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(response)
}

async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ServerOut>, ApiError> {
    let server = jitsi_servers::get(app.service(), &caller.actor(), &id)
        .await
        .api(&caller)?;
    Ok(Json(out(&app, server, None)))
}

async fn update(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ServerOut>, ApiError> {
    jitsi_servers::get(app.service(), &caller.actor(), &id)
        .await
        .api(&caller)?;
    let change = parse_body(&caller, &body)?.change();
    let server = jitsi_servers::update(app.service(), &caller.caller(), &id, &change, Vec::new())
        .await
        .api(&caller)?;
    Ok(Json(out(&app, server, None)))
}

async fn remove(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    jitsi_servers::delete(app.service(), &caller.caller(), &id)
        .await
        .api(&caller)?;
    Ok(StatusCode::NO_CONTENT)
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
    let participant = links::reissue(app.service(), &caller.caller(), &id, &pid)
        .await
        .api(&caller)?;
    Ok(Json(LinkOut {
        join_url: links::join_url(app.service(), &participant),
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
    let presence = links::presence(app.service(), &caller.actor(), &id)
        .await
        .api(&caller)?;
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
