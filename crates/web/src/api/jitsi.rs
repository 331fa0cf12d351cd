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
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde::{Deserialize, Deserializer, Serialize};
use service::jitsi_servers::{self, ServerChange, jaas_webhook_url, key_server_url};
use service::links;
use store::{JitsiServer, TokenModeKind};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use super::json::Changes;
use super::{ApiCaller, ApiError, Conflict, ForCaller, Forbidden, Invalid, NotFound, Unauthorized};
use crate::http::error::Message;
use crate::http::state::AppState;
use service::Problem;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/jitsi-servers", get(list).post(create)),
        ("/jitsi-servers/{id}", get(read).patch(update).delete(remove)),
        ("/sessions/{id}/participants/{participant_id}/link", post(reissue)),
        ("/sessions/{id}/presence", get(presence)),
    ]
}

/// How Dialogue signs the tokens of a server; `secure-domain`: no tokens (hosts log in with a
/// Prosody account Dialogue manages, everyone else is an anonymous guest).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenMode {
    Hs256,
    Rs256,
    Jaas,
    #[serde(rename = "secure-domain")]
    SecureDomain,
}

impl From<TokenModeKind> for TokenMode {
    fn from(m: TokenModeKind) -> Self {
        match m {
            TokenModeKind::Hs256 => TokenMode::Hs256,
            TokenModeKind::Rs256 => TokenMode::Rs256,
            TokenModeKind::Jaas => TokenMode::Jaas,
            TokenModeKind::SecureDomain => TokenMode::SecureDomain,
        }
    }
}

/// Longest server name (`service::jitsi_servers`; the document's `maxLength` on `name`).
pub const MAX_NAME_CHARS: usize = 80;

/// Most features a server's tokens carry, and the longest key (`service::jitsi_servers`).
const MAX_FEATURES: usize = 64;
const FEATURE_KEY: &str = "^[a-z0-9-]{1,40}$";

/// `context.features` of the tokens: feature name → granted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JitsiFeatures(pub BTreeMap<String, bool>);

impl PartialSchema for JitsiFeatures {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .description(Some(
                "context.features of the tokens: a feature absent or false is refused by Prosody. Keys: \
                 lowercase letters, digits and hyphens (recording, livestreaming, transcription, \
                 outbound-call, file-upload, create-polls, send-groupchat, flip, …).",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Boolean))
                    .build(),
            )))))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some(FEATURE_KEY))
                    .build(),
            ))
            .max_properties(Some(MAX_FEATURES))
            .into()
    }
}

impl ToSchema for JitsiFeatures {}

/// A server as the API shows it: never a secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = JitsiServer)]
pub struct ServerOut {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub domain: String,
    #[schema(required = true)]
    pub tenant: Option<String>,
    pub token_mode: TokenMode,
    pub app_id: String,
    #[schema(required = true)]
    pub key_id: Option<String>,
    /// RS256 and JaaS: the public key (PEM), what Prosody fetches and JaaS is given.
    #[schema(required = true)]
    pub public_key: Option<String>,
    /// RS256: where Prosody's asap_key_server fetches the key of key_id.
    #[schema(required = true)]
    pub key_server_url: Option<String>,
    pub has_app_secret: bool,
    pub has_private_key: bool,
    /// JaaS: whether a webhook secret is set (the secret itself is never returned).
    pub has_webhook_secret: bool,
    /// JaaS: the address to enter in the JaaS console for its webhooks.
    #[schema(required = true)]
    pub webhook_url: Option<String>,
    pub moderator_features: JitsiFeatures,
    pub participant_features: JitsiFeatures,
    pub lobby: bool,
    #[schema(required = true)]
    pub max_occupants: Option<i64>,
    pub default: bool,
    /// secure-domain: where Dialogue reaches Prosody's client port (STARTTLS).
    #[schema(required = true)]
    pub xmpp_host: Option<String>,
    #[schema(required = true)]
    pub xmpp_port: Option<u16>,
    /// secure-domain: the admin JID Dialogue manages the hosts' accounts as.
    #[schema(required = true)]
    pub admin_jid: Option<String>,
    pub has_admin_password: bool,
    /// secure-domain: the certificate authority (PEM) trusted for Prosody's certificate
    /// besides the public ones (a self-signed Prosody's own certificate).
    #[schema(required = true)]
    pub xmpp_ca_pem: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Only in the answer to a creation that generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
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
        has_webhook_secret: s.webhook_secret_enc.is_some(),
        webhook_url: (s.token_mode == TokenModeKind::Jaas).then(|| jaas_webhook_url(&app.config().public_url, &s.id)),
        token_mode: s.token_mode.into(),
        id: s.id,
        name: s.name,
        base_url: s.base_url,
        domain: s.domain,
        tenant: s.tenant,
        app_id: s.app_id,
        key_id: s.key_id,
        public_key: s.public_key_pem,
        moderator_features: JitsiFeatures(s.moderator_features),
        participant_features: JitsiFeatures(s.participant_features),
        lobby: s.lobby,
        max_occupants: s.max_occupants,
        default: s.is_default,
        xmpp_host: s.xmpp.as_ref().map(|x| x.host.clone()),
        xmpp_port: s.xmpp.as_ref().map(|x| x.port),
        admin_jid: s.xmpp.as_ref().map(|x| x.admin_jid.clone()),
        has_admin_password: s.xmpp.is_some(),
        xmpp_ca_pem: s.xmpp.as_ref().and_then(|x| x.ca_pem.clone()),
        created_at: s.created_at.to_string(),
        updated_at: s.updated_at.to_string(),
        api_secret,
    }
}

/// `Some(None)` for an explicit `null`, `None` when absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A Jitsi server to add, or what changes in one (at least one field). Unknown fields are refused
/// (a typo must not pass silently).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JitsiServerInput)]
pub struct ServerBody {
    name: Option<String>,
    /// https://host[:port][/path]; http:// only for a loopback host. JaaS: https://8x8.vc when
    /// left out.
    base_url: Option<String>,
    /// The XMPP domain (the tokens' sub without a tenant). Not used for JaaS.
    domain: Option<String>,
    /// Rooms at https://host/<tenant>/<room>; becomes sub.
    #[serde(default, deserialize_with = "nullable")]
    tenant: Option<Option<String>>,
    #[schema(value_type = Option<TokenMode>)]
    token_mode: Option<String>,
    /// Prosody's app_id (iss), or the JaaS App ID (vpaas-magic-cookie-…).
    app_id: Option<String>,
    /// RS256: the tokens' kid. JaaS: the API key id, bare or in full.
    key_id: Option<String>,
    /// Visible ASCII characters, at least 32.
    #[schema(write_only, min_length = 32, pattern = "^[!-~]{32,}$")]
    app_secret: Option<String>,
    /// PEM, PKCS#8 or PKCS#1, unencrypted.
    #[schema(write_only, min_length = 1)]
    private_key: Option<String>,
    /// The bearer Prosody sends to the reservation and event endpoints. Generated when absent on
    /// creation.
    #[schema(
        write_only,
        min_length = 32,
        max_length = 200,
        pattern = "^[A-Za-z0-9._~+/=-]{32,200}$"
    )]
    api_secret: Option<String>,
    /// JaaS only: the webhook endpoint's secret from the JaaS console (8 to 200 visible ASCII
    /// characters), with which Dialogue verifies X-Jaas-Signature.
    #[schema(write_only, min_length = 8, max_length = 200, pattern = "^[!-~]{8,200}$")]
    webhook_secret: Option<String>,
    moderator_features: Option<JitsiFeatures>,
    participant_features: Option<JitsiFeatures>,
    /// Moderators' tokens carry lobby_bypass; reservations answer lobby: true.
    lobby: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(minimum = 1, maximum = 10000)]
    max_occupants: Option<Option<i64>>,
    default: Option<bool>,
    /// secure-domain: the host of Prosody's client port; the XMPP domain when left out.
    xmpp_host: Option<String>,
    /// secure-domain: Prosody's client port (5222 when left out).
    #[schema(minimum = 1, maximum = 65535)]
    xmpp_port: Option<i64>,
    /// secure-domain: user@<domain>, listed in Prosody's admins (mod_admin_adhoc).
    admin_jid: Option<String>,
    /// secure-domain: that account's password; stored sealed, never returned.
    #[schema(write_only, min_length = 1, max_length = 1023)]
    admin_password: Option<String>,
    /// secure-domain: the certificate authority (one or more PEM certificates) trusted for
    /// Prosody's certificate besides the public ones, e.g. a stock Jitsi's self-signed
    /// certificate; null or "" removes it. Not a secret.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 65536)]
    xmpp_ca_pem: Option<Option<String>>,
}

impl ServerBody {
    /// Every field changes something; `tenant: null` and `max_occupants: null` clear them.
    pub const CHANGES: Changes = Changes {
        fields: &[
            "name",
            "base_url",
            "domain",
            "tenant",
            "token_mode",
            "app_id",
            "key_id",
            "app_secret",
            "private_key",
            "api_secret",
            "webhook_secret",
            "moderator_features",
            "participant_features",
            "lobby",
            "max_occupants",
            "default",
            "xmpp_host",
            "xmpp_port",
            "admin_jid",
            "admin_password",
            "xmpp_ca_pem",
        ],
        null_changes: &["tenant", "max_occupants", "xmpp_ca_pem"],
    };

    /// Secrets given as the document states them. The server page reads an empty secret field
    /// as "keep the current one" and trims what is typed; through the API a secret is left out to
    /// be kept, and one given is exactly its value.
    fn secret_problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        match self.app_secret.as_deref() {
            Some("") => problems.push(Problem::new("app_secret", Message::new("jitsi.error.secret_required"))),
            Some(s) if s.trim() != s => {
                problems.push(Problem::new("app_secret", Message::new("jitsi.error.secret_invalid")))
            }
            _ => {}
        }
        if self
            .api_secret
            .as_deref()
            .is_some_and(|s| s.is_empty() || s.trim() != s)
        {
            problems.push(Problem::new("api_secret", Message::new("jitsi.error.api_secret")));
        }
        if self
            .webhook_secret
            .as_deref()
            .is_some_and(|s| s.is_empty() || s.trim() != s)
        {
            problems.push(Problem::new(
                "webhook_secret",
                Message::new("jitsi.error.webhook_secret"),
            ));
        }
        // Given, the admin password is its exact value on every kind (the document's bounds; the
        // fuzzer sent "" to a token server and got 200): left out, the current one is kept.
        if self
            .admin_password
            .as_deref()
            .is_some_and(|p| domain::jitsi_server::check_admin_password(Some(p)).is_err())
        {
            problems.push(Problem::new(
                "admin_password",
                Message::new("jitsi.error.admin_password"),
            ));
        }
        // The rules count the name trimmed; the document counts it as sent.
        if self.name.as_deref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
            problems.push(Problem::new("name", Message::new("jitsi.error.name_invalid")));
        }
        if self.private_key.as_deref().is_some_and(|s| s.trim().is_empty()) {
            problems.push(Problem::new("private_key", Message::new("jitsi.error.key_required")));
        }
        problems
    }

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
            webhook_secret: self.webhook_secret,
            moderator_features: self.moderator_features.map(|f| f.0),
            participant_features: self.participant_features.map(|f| f.0),
            lobby: self.lobby,
            max_occupants: self.max_occupants,
            is_default: self.default,
            xmpp_host: self.xmpp_host,
            xmpp_port: self.xmpp_port,
            admin_jid: self.admin_jid,
            admin_password: self.admin_password,
            xmpp_ca_pem: self.xmpp_ca_pem.map(Option::unwrap_or_default),
        }
    }
}

/// The body of POST (`changes`: None) and PATCH, with this API's message for what is not the
/// JSON expected.
fn parse_body(caller: &ApiCaller, body: &Bytes, changes: Option<&Changes>) -> Result<ServerBody, ApiError> {
    super::json::read(caller, body, "jitsi.api.json_invalid", changes)
}

/// The Jitsi servers, the default first (admins only)
#[utoipa::path(
    get,
    path = "/jitsi-servers",
    operation_id = "listJitsiServers",
    tag = "jitsi",
    responses(
        (status = 200, description = "Every server; secrets are never returned", body = Vec<ServerOut>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<Vec<ServerOut>>, ApiError> {
    let servers = jitsi_servers::list(app.service(), &caller.actor()).await.api(&caller)?;
    Ok(Json(servers.into_iter().map(|s| out(&app, s, None)).collect()))
}

/// Add a Jitsi server (admins only)
///
/// `hs256` needs `app_secret` (at least 32 characters); `rs256` and `jaas` need `key_id` and
/// `private_key` (an unencrypted RSA PEM of 2048 bits or more). Without `api_secret`, Dialogue
/// generates the bearer Prosody must send and returns it in this answer only. The first server is
/// the default one. Secrets are stored sealed and never returned.
#[utoipa::path(
    post,
    path = "/jitsi-servers",
    operation_id = "createJitsiServer",
    tag = "jitsi",
    request_body(content = ServerBody),
    responses(
        (status = 201, description = "Created; `api_secret` is present when it was generated", body = ServerOut,
            headers(("Location" = String, description = "The server"))),
        (status = 400, description = "Not JSON, or an unknown field", body = super::ProblemJson,
            content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create(State(app): State<AppState>, caller: ApiCaller, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&caller, &body, None)?;
    let problems = body.secret_problems();
    let created = jitsi_servers::create(app.service(), &caller.caller(), &body.change(), problems)
        .await
        .api(&caller)?;
    let location = format!("/api/v1/jitsi-servers/{}", created.server.id);
    Ok(super::json::created(
        out(&app, created.server, created.generated_api_secret),
        Some(location),
    ))
}

/// One Jitsi server (admins only)
#[utoipa::path(
    get,
    path = "/jitsi-servers/{id}",
    operation_id = "getJitsiServer",
    tag = "jitsi",
    params(("id" = String, Path, description = "The server")),
    responses(
        (status = 200, description = "The server", body = ServerOut),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ServerOut>, ApiError> {
    let server = jitsi_servers::get(app.service(), &caller.actor(), &id)
        .await
        .api(&caller)?;
    Ok(Json(out(&app, server, None)))
}

/// Change a Jitsi server (admins only)
///
/// Only the fields given change; a request that changes nothing is refused (422). Secret fields
/// left out keep their value. `default: true` makes it the default (the previous default stops
/// being one); the default stays so until another takes its place. `tenant` and `max_occupants`
/// may be `null` to clear them.
#[utoipa::path(
    patch,
    path = "/jitsi-servers/{id}",
    operation_id = "updateJitsiServer",
    tag = "jitsi",
    params(("id" = String, Path, description = "The server")),
    request_body(content = ServerBody),
    responses(
        (status = 200, description = "The server as it now is", body = ServerOut),
        (status = 400, description = "Not JSON, or an unknown field", body = super::ProblemJson,
            content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn update(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ServerOut>, ApiError> {
    jitsi_servers::get(app.service(), &caller.actor(), &id)
        .await
        .api(&caller)?;
    let body = parse_body(&caller, &body, Some(&ServerBody::CHANGES))?;
    let problems = body.secret_problems();
    let server = jitsi_servers::update(app.service(), &caller.caller(), &id, &body.change(), problems)
        .await
        .api(&caller)?;
    Ok(Json(out(&app, server, None)))
}

/// Delete a Jitsi server (admins only)
///
/// Refused (409) while upcoming sessions use it, and for the default server while others exist.
/// Past sessions that used it fall back to the default server.
#[utoipa::path(
    delete,
    path = "/jitsi-servers/{id}",
    operation_id = "deleteJitsiServer",
    tag = "jitsi",
    params(("id" = String, Path, description = "The server")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn remove(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    jitsi_servers::delete(app.service(), &caller.caller(), &id)
        .await
        .api(&caller)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A participant's personal link.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = JoinLink)]
pub struct LinkOut {
    participant_id: String,
    link_version: i64,
    /// <public URL>/j/<key>: the participant's personal link.
    join_url: String,
}

/// Revoke a participant's personal link and issue a new one
///
/// For those who may change the session's participants (admins, managers, its trainers), while
/// it is neither over nor cancelled. The old link answers 404 from now on.
#[utoipa::path(
    post,
    path = "/sessions/{id}/participants/{participant_id}/link",
    operation_id = "reissueJoinLink",
    tag = "jitsi",
    params(
        ("id" = String, Path, description = "The session"),
        ("participant_id" = String, Path, description = "The participant"),
    ),
    responses(
        (status = 200, description = "The new link", body = LinkOut),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn reissue(
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

/// A person who came to a session's room.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Attendee)]
pub struct AttendeeOut {
    #[schema(required = true)]
    participant_id: Option<String>,
    /// context.user.id of their token.
    #[schema(required = true)]
    occupant_id: Option<String>,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    #[schema(required = true)]
    role: Option<super::json::ParticipantRole>,
    #[schema(format = DateTime)]
    first_join: String,
    #[schema(required = true, format = DateTime)]
    last_leave: Option<String>,
    total_seconds: i64,
    connections: usize,
    present: bool,
}

/// Who is in a session's room now, and who came.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Presence)]
pub struct PresenceOut {
    in_room: usize,
    attendees: Vec<AttendeeOut>,
}

/// Who is in the session's Jitsi room now, and who came
///
/// Computed from the events Prosody's event_sync posts: each person's first arrival, last
/// departure and time in the room (several connections counted once). Occupants who joined
/// without a token are listed without participant or occupant id.
#[utoipa::path(
    get,
    path = "/sessions/{id}/presence",
    operation_id = "sessionPresence",
    tag = "jitsi",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "Presence", body = PresenceOut),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn presence(
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
                role: a.role.map(Into::into),
                first_join: a.first_join.to_string(),
                last_leave: a.last_leave.map(|t| t.to_string()),
                total_seconds: a.total_seconds,
                connections: a.connections,
                present: a.present,
            })
            .collect(),
    }))
}
