//! `/api/v1/gdpr`: a person's data (a contact or a participant, by email address) exported as
//! JSON, or erased. Admins and managers; forcing the erasure of attendance evidence still within
//! its retention is for admins. The address travels in the body, never in a URL (logs).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::json;
use super::{ApiCaller, ApiError, BadRequest, Conflict, ForCaller, Forbidden, Invalid, Unauthorized};
use crate::http::state::AppState;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![("/gdpr/export", post(export)), ("/gdpr/erase", post(erase))]
}

/// The person to export.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PersonRequest)]
pub struct ExportBody {
    /// The person's address (compared case-insensitively)
    #[schema(format = Email)]
    pub email: Option<String>,
}

/// How the export is delivered.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (the default): the document alone; `zip`: a ZIP holding `personal-data.json`, the
    /// calendar of their sessions (`sessions.ics`, with their join links) and the certificate of
    /// completion (PDF) of each course where they attended some time
    pub format: Option<String>,
}

/// The person to erase.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ErasureRequest)]
pub struct EraseBody {
    /// The person's address (compared case-insensitively)
    #[schema(format = Email)]
    pub email: Option<String>,
    /// Erase signatures still within their retention too (admins only): they are anonymised
    /// and their sessions' evidence chains sealed again
    #[serde(default)]
    pub force: bool,
}

/// Everything Dialogue holds about a person; each list holds rows as stored (times in RFC 3339)
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = PersonData)]
pub struct PersonDataJson {
    /// The address asked for, normalised
    pub email: String,
    pub generated_at: String,
    /// The account with this address, if any (no password)
    #[schema(value_type = Option<Object>)]
    pub account: Value,
    /// Address book entries
    #[schema(value_type = Vec<Object>)]
    pub contacts: Value,
    #[schema(value_type = Vec<Object>)]
    pub course_enrolments: Value,
    /// Places in sessions, with the session's title and times
    #[schema(value_type = Vec<Object>)]
    pub participations: Value,
    #[schema(value_type = Vec<Object>)]
    pub reminders: Value,
    /// Mail to them, with its delivery state
    #[schema(value_type = Vec<Object>)]
    pub mail: Value,
    /// What Jitsi reported of their connections
    #[schema(value_type = Vec<Object>)]
    pub jitsi_events: Value,
    /// Their personal room, if they have an account and a room
    #[schema(value_type = Option<Object>)]
    pub personal_room: Value,
    /// Who came to their personal room (guests included, under the names they typed)
    #[schema(value_type = Vec<Object>)]
    pub personal_room_visits: Value,
    /// Their visits to others' personal rooms as a guest, found by the names they are known under
    #[schema(value_type = Vec<Object>)]
    pub personal_room_guest_visits: Value,
    #[schema(value_type = Vec<Object>)]
    pub attendance_corrections: Value,
    /// Their signatures, with what was signed
    #[schema(value_type = Vec<Object>)]
    pub attendance_signatures: Value,
    #[schema(value_type = Vec<Object>)]
    pub login_counters: Value,
    /// Audit entries about them
    #[schema(value_type = Vec<Object>)]
    pub audit_log: Value,
}

/// What an erasure changed, rows by kind
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Erasure)]
pub struct ErasureJson {
    pub contacts: u64,
    pub participants: u64,
    pub mail: u64,
    pub reminders: u64,
    pub jitsi_events: u64,
    pub signatures: u64,
    /// Evidence chains sealed again after their signatures were anonymised
    pub sealed_again: u64,
    pub audit_entries: u64,
    pub login_counters: u64,
}

/// Everything Dialogue holds about a person (admins and managers)
///
/// As JSON, or with `?format=zip` as a ZIP of that JSON and their documents.
#[utoipa::path(
    post,
    path = "/gdpr/export",
    operation_id = "exportPersonData",
    params(ExportQuery),
    request_body(content = ExportBody, description = "The person"),
    responses(
        (status = 200, description = "Their data (JSON), or with `format=zip` a ZIP of it and their documents",
            content((PersonDataJson = "application/json"), (Vec<u8> = "application/zip"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn export(
    State(app): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let fields = crate::pages::sessions::query(raw);
    let format = fields.has("format").then(|| fields.get("format"));
    let format = service::gdpr::ExportFormat::parse(format.as_deref()).api(&caller)?;
    let body: ExportBody = json::body(&caller, &bytes)?;
    let email = body.email.unwrap_or_default();
    if format == service::gdpr::ExportFormat::Zip {
        let zip = service::gdpr::export_zip(app.service(), &caller.caller(), &email, caller.locale)
            .await
            .api(&caller)?;
        return Ok(super::attendance::download(zip, "application/zip", "personal-data.zip"));
    }
    let data = service::gdpr::export(app.service(), &caller.caller(), &email)
        .await
        .api(&caller)?;
    // The store's document has exactly the documented shape.
    let typed: PersonDataJson =
        serde_json::from_value(data).map_err(|e| caller.fail(service::Error::Internal(format!("person data: {e}"))))?;
    Ok(Json(typed).into_response())
}

/// Erase a person: contacts removed, participations, mail and Jitsi records anonymised
///
/// Refused (409) while they have signed attendance sheets still within their retention, unless
/// an admin forces it; refused (409) for an account's address.
#[utoipa::path(
    post,
    path = "/gdpr/erase",
    operation_id = "erasePerson",
    request_body(content = EraseBody, description = "The person"),
    responses(
        (status = 200, description = "What was erased", body = ErasureJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn erase(State(app): State<AppState>, caller: ApiCaller, bytes: Bytes) -> Result<Response, ApiError> {
    let body: EraseBody = json::body(&caller, &bytes)?;
    let email = body.email.unwrap_or_default();
    let c = service::gdpr::erase(app.service(), &caller.caller(), &email, body.force)
        .await
        .api(&caller)?;
    Ok(Json(ErasureJson {
        contacts: c.contacts,
        participants: c.participants,
        mail: c.mail,
        reminders: c.reminders,
        jitsi_events: c.jitsi_events,
        signatures: c.signatures,
        sealed_again: c.sealed_again,
        audit_entries: c.audit_entries,
        login_counters: c.login_counters,
    })
    .into_response())
}
