//! `/api/v1/sessions/{id}/attendance…`: a session's attendance (per participant: planned,
//! measured and counted minutes, rate, half-days with their corrections and signatures), the
//! corrections trainers and managers enter, the CSV and PDF exports, and the verification of
//! the signatures' evidence chain. Its trainers, managers and admins; 404 for anyone else.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use domain::attendance::{HalfDayAttendance, PersonAttendance, PersonKey};
use serde::{Deserialize, Serialize};
use service::attendance::{self, CorrectionInput, Report, half_name};
use store::{ChainCheck, CorrectionRow};
use utoipa::ToSchema;

use super::json;
use super::{ApiCaller, ApiError, BadRequest, Conflict, ForCaller, Invalid, NotFound, Unauthorized};
use crate::http::state::AppState;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/sessions/{id}/attendance", get(read)),
        ("/sessions/{id}/attendance/corrections", post(correct)),
        ("/sessions/{id}/attendance/verify", get(verify)),
        ("/sessions/{id}/attendance.csv", get(csv)),
        ("/sessions/{id}/attendance.pdf", get(pdf)),
    ]
}

/// A correction of one participant's half-day.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AttendanceCorrection)]
pub struct CorrectionJson {
    id: String,
    participant_id: String,
    /// Local date in the session's zone
    #[schema(format = Date)]
    date: String,
    /// `morning` or `afternoon`
    half: String,
    minutes: u32,
    reason: String,
    /// Who entered it (an email)
    by: String,
    #[schema(format = DateTime)]
    at: String,
}

impl CorrectionJson {
    fn of(c: &CorrectionRow) -> CorrectionJson {
        CorrectionJson {
            id: c.id.clone(),
            participant_id: c.participant_id.clone(),
            date: c.half_day.date.to_string(),
            half: half_name(c.half_day.half).to_owned(),
            minutes: c.minutes,
            reason: c.reason.clone(),
            by: c.created_by_label.clone(),
            at: c.created_at.to_string(),
        }
    }
}

/// One half-day of the session (booked minutes in it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PlannedHalfDay)]
pub struct PlannedJson {
    #[schema(format = Date)]
    date: String,
    half: String,
    planned_minutes: i64,
}

/// One participant in one half-day.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AttendanceHalfDay)]
pub struct HalfDayJson {
    #[schema(format = Date)]
    date: String,
    half: String,
    planned_minutes: i64,
    /// Measured presence inside the booked interval
    present_minutes: i64,
    /// What counts: the correction's minutes when there is one, else `present_minutes`
    attended_minutes: i64,
    #[schema(required = true, format = DateTime)]
    first_seen: Option<String>,
    #[schema(required = true, format = DateTime)]
    last_seen: Option<String>,
    /// The correction that applies
    #[schema(required = true)]
    correction: Option<CorrectionJson>,
    /// When the participant signed this half-day
    #[schema(required = true, format = DateTime)]
    signed_at: Option<String>,
}

/// One participant's attendance.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ParticipantAttendance)]
pub struct ParticipantJson {
    participant_id: String,
    name: String,
    email: String,
    role: json::ParticipantRole,
    #[schema(required = true, format = DateTime)]
    first_join: Option<String>,
    #[schema(required = true, format = DateTime)]
    last_leave: Option<String>,
    /// In the room now
    in_room: bool,
    connections: usize,
    planned_minutes: i64,
    /// Measured inside the booked interval (overlapping connections counted once)
    present_minutes: i64,
    /// Measured before the start and after the end (not counted)
    outside_minutes: i64,
    /// What counts, corrections included
    attended_minutes: i64,
    /// `attended_minutes` / `planned_minutes`, in whole percent
    rate_percent: i64,
    corrected: bool,
    /// Half-days signed / half-days planned
    signed_half_days: usize,
    half_days: Vec<HalfDayJson>,
}

/// Someone Jitsi saw who is no participant of the session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OtherAttendance)]
pub struct OtherJson {
    /// `user` (a token's user id that names no participant) or `jid` (no token)
    kind: String,
    id: String,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true, format = DateTime)]
    first_join: Option<String>,
    #[schema(required = true, format = DateTime)]
    last_leave: Option<String>,
    connections: usize,
    present_minutes: i64,
}

/// A session's attendance.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SessionAttendance)]
pub struct AttendanceJson {
    session_id: String,
    #[schema(format = DateTime)]
    starts_at: String,
    #[schema(format = DateTime)]
    ends_at: String,
    time_zone: String,
    planned_minutes: i64,
    half_days: Vec<PlannedJson>,
    participants: Vec<ParticipantJson>,
    others: Vec<OtherJson>,
    /// Events with implausible times, clamped
    clamped_events: usize,
    /// Leaves without a join (not counted)
    unmatched_leaves: usize,
}

fn half_day_json(
    report: &Report,
    participant_id: &str,
    h: Option<&HalfDayAttendance>,
    planned: &domain::attendance::PlannedHalfDay,
) -> HalfDayJson {
    HalfDayJson {
        date: planned.half_day.date.to_string(),
        half: half_name(planned.half_day.half).to_owned(),
        planned_minutes: planned.seconds / 60,
        present_minutes: h.map_or(0, |h| h.measured.within_booked_seconds() / 60),
        attended_minutes: h.map_or(0, |h| h.effective_seconds() / 60),
        first_seen: h.and_then(|h| h.first_seen).map(|t| t.to_string()),
        last_seen: h.and_then(|h| h.last_seen).map(|t| t.to_string()),
        correction: h.and_then(|h| h.correction.as_ref()).and_then(|c| {
            report
                .corrections
                .iter()
                .rev()
                .find(|r| {
                    r.participant_id == participant_id
                        && r.half_day == c.half_day
                        && r.created_at == c.at
                        && r.reason == c.reason
                })
                .map(CorrectionJson::of)
        }),
        signed_at: report
            .signature(participant_id, planned.half_day)
            .map(|s| s.record.signed_at.to_string()),
    }
}

/// The JSON of a report.
pub fn report_json(report: &Report) -> AttendanceJson {
    let s = &report.detail.session;
    let participants = report
        .detail
        .participants
        .iter()
        .map(|p| {
            let person = report.person(&p.id);
            let half_days: Vec<HalfDayJson> = report
                .attendance
                .planned
                .iter()
                .map(|planned| {
                    half_day_json(
                        report,
                        &p.id,
                        person.and_then(|a| a.half_day(planned.half_day)),
                        planned,
                    )
                })
                .collect();
            ParticipantJson {
                participant_id: p.id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                role: p.role.into(),
                first_join: person.and_then(|a| a.first_join).map(|t| t.to_string()),
                last_leave: person.and_then(|a| a.last_leave).map(|t| t.to_string()),
                in_room: person.is_some_and(|a| a.present),
                connections: person.map_or(0, |a| a.connections),
                planned_minutes: report.planned_minutes(),
                present_minutes: report.present_minutes(&p.id),
                outside_minutes: person.map_or(0, |a| {
                    (a.measured.before_start_seconds + a.measured.after_end_seconds) / 60
                }),
                attended_minutes: report.attended_minutes(&p.id),
                rate_percent: report.rate(&p.id),
                corrected: person.is_some_and(PersonAttendance::corrected),
                signed_half_days: half_days.iter().filter(|h| h.signed_at.is_some()).count(),
                half_days,
            }
        })
        .collect();
    AttendanceJson {
        session_id: s.id.clone(),
        starts_at: s.starts_at.to_string(),
        ends_at: s.ends_at.to_string(),
        time_zone: s.time_zone.clone(),
        planned_minutes: report.planned_minutes(),
        half_days: report
            .attendance
            .planned
            .iter()
            .map(|p| PlannedJson {
                date: p.half_day.date.to_string(),
                half: half_name(p.half_day.half).to_owned(),
                planned_minutes: p.seconds / 60,
            })
            .collect(),
        participants,
        others: report
            .others()
            .map(|o| {
                let (kind, id) = match &o.key {
                    PersonKey::User(id) => ("user", id.clone()),
                    PersonKey::Jid(jid) => ("jid", jid.clone()),
                    PersonKey::Participant(id) => ("participant", id.clone()),
                };
                OtherJson {
                    kind: kind.to_owned(),
                    id,
                    name: o.name.clone(),
                    first_join: o.first_join.map(|t| t.to_string()),
                    last_leave: o.last_leave.map(|t| t.to_string()),
                    connections: o.connections,
                    present_minutes: o.measured.within_booked_seconds() / 60,
                }
            })
            .collect(),
        clamped_events: report.attendance.clamped_events,
        unmatched_leaves: report.attendance.unmatched_leaves,
    }
}

/// A session's attendance
///
/// Per participant: first join, last leave, connections, planned minutes, minutes present
/// inside the booked interval (several devices at once counted once, reconnections merged, a
/// connection never seen leaving capped at the end plus the grace), minutes counted
/// (corrections included), rate, and per half-day (morning / afternoon in the session's zone)
/// the same with the correction and the signature. Its trainers, managers and admins.
#[utoipa::path(
    get,
    path = "/sessions/{id}/attendance",
    operation_id = "sessionAttendance",
    tag = "attendance",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "Attendance", body = AttendanceJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<AttendanceJson>, ApiError> {
    let report = attendance::report(app.service(), &caller.actor(), &id)
        .await
        .api(&caller)?;
    Ok(Json(report_json(&report)))
}

/// A correction to enter.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NewAttendanceCorrection)]
pub struct CorrectionBody {
    #[schema(required = true, nullable = false)]
    pub participant_id: Option<String>,
    /// A date of the session, in its zone
    #[schema(required = true, nullable = false, format = Date)]
    pub date: Option<String>,
    /// `morning` or `afternoon`
    #[schema(required = true, nullable = false)]
    pub half: Option<String>,
    /// From 0 to the booked minutes of that half-day
    #[schema(required = true, nullable = false)]
    pub minutes: Option<i64>,
    /// Why (required)
    #[schema(required = true, nullable = false, max_length = 500)]
    pub reason: Option<String>,
}

/// Correct a participant's attendance of a half-day
///
/// The correction is kept beside the measured figure (which it never replaces) and audited;
/// the latest correction of a half-day applies. Trainers of the session, managers, admins.
#[utoipa::path(
    post,
    path = "/sessions/{id}/attendance/corrections",
    operation_id = "correctAttendance",
    tag = "attendance",
    params(("id" = String, Path, description = "The session")),
    request_body(content = CorrectionBody, description = "The correction"),
    responses(
        (status = 201, description = "The correction", body = CorrectionJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn correct(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: CorrectionBody = json::body(&caller, &bytes)?;
    let input = CorrectionInput {
        participant_id: body.participant_id.unwrap_or_default(),
        date: body.date.unwrap_or_default(),
        half: body.half.unwrap_or_default(),
        minutes: body.minutes,
        reason: body.reason.unwrap_or_default(),
    };
    let row = attendance::correct(app.service(), &caller.caller(), &id, &input)
        .await
        .api(&caller)?;
    // A correction has no address of its own: it is read with the session's attendance.
    Ok(json::created(CorrectionJson::of(&row), None))
}

/// The result of checking a session's signatures.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EvidenceCheck)]
pub struct VerifyJson {
    /// Every signature is as it was sealed
    intact: bool,
    records: usize,
    /// Hex of the chain's last link
    #[schema(required = true)]
    seal: Option<String>,
    /// Index (from 0) of the first record that fails
    #[schema(required = true)]
    record_index: Option<usize>,
    #[schema(required = true)]
    record_id: Option<String>,
    /// What is wrong, in English (`changed (display_name)`, …)
    #[schema(required = true)]
    problem: Option<String>,
}

/// The verification of a check.
pub fn verify_json(check: &ChainCheck) -> VerifyJson {
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match check {
        ChainCheck::Intact(seal) => VerifyJson {
            intact: true,
            records: seal.count(),
            seal: Some(hex(seal.head())),
            record_index: None,
            record_id: None,
            problem: None,
        },
        ChainCheck::Tampered { tampered, record_id } => VerifyJson {
            intact: false,
            records: tampered.index,
            seal: None,
            record_index: Some(tampered.index),
            record_id: record_id.clone(),
            problem: Some(tampered.kind.to_string()),
        },
        ChainCheck::SealMismatch { found, stored } => VerifyJson {
            intact: false,
            records: found.count(),
            seal: Some(hex(found.head())),
            record_index: Some(found.count()),
            record_id: None,
            problem: Some(format!(
                "the chain holds {} records but {} were sealed",
                found.count(),
                stored.as_ref().map_or(0, |s| s.count())
            )),
        },
    }
}

/// Verify a session's signatures
///
/// Recomputes the evidence chain of the session's signatures with the server's key and says
/// which record, if any, was changed, removed, inserted or moved since it was sealed.
#[utoipa::path(
    get,
    path = "/sessions/{id}/attendance/verify",
    operation_id = "verifyAttendance",
    tag = "attendance",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "The check", body = VerifyJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn verify(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<VerifyJson>, ApiError> {
    let check = attendance::verify(app.service(), &caller.actor(), &id)
        .await
        .api(&caller)?;
    Ok(Json(verify_json(&check)))
}

/// A file download with its type and name.
pub fn download(bytes: Vec<u8>, content_type: &'static str, file_name: &str) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A session's attendance as CSV
///
/// UTF-8 with a byte order mark, `;` separated, one row per learner and half-day: learner,
/// email, date, half-day, planned minutes, present minutes, first join, last leave, signed
/// at, corrections; headers in the caller's language.
#[utoipa::path(
    get,
    path = "/sessions/{id}/attendance.csv",
    operation_id = "sessionAttendanceCsv",
    tag = "attendance",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "The CSV file", content_type = "text/csv", body = String),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn csv(State(app): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let bytes = attendance::csv(app.service(), &caller.actor(), &id, caller.locale)
        .await
        .api(&caller)?;
    Ok(download(bytes, "text/csv; charset=utf-8", "attendance.csv"))
}

/// A session's attendance sheet as PDF
///
/// The feuille d'émargement: organisation, course, session, trainers, for each learner and
/// half-day the minutes present and the signature with its time, the trainers' signatures,
/// and the seal of the evidence chain.
#[utoipa::path(
    get,
    path = "/sessions/{id}/attendance.pdf",
    operation_id = "sessionAttendancePdf",
    tag = "attendance",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "The PDF file", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn pdf(State(app): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let bytes = attendance::sheet_pdf(app.service(), &caller.actor(), &id, caller.locale)
        .await
        .api(&caller)?;
    Ok(download(bytes, "application/pdf", "attendance.pdf"))
}
