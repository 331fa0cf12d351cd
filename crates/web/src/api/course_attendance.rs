//! `/api/v1/courses/{id}/attendance…`: a course's attendance per learner across its sessions
//! (optionally within `?from=&to=` dates), its CSV and PDF sheet over the range, and the
//! certificates of completion. Managers and admins; a trainer for the sessions they teach
//! (certificates: managers and admins only); 404 for anyone else.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use serde::Serialize;
use service::course_attendance::{self, CourseReport, DateRange};
use utoipa::{IntoParams, ToSchema};

use super::attendance::download;
use super::{ApiCaller, ApiError, Conflict, ForCaller, Invalid, NotFound, Unauthorized};
use crate::http::state::AppState;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/courses/{id}/attendance", get(read)),
        ("/courses/{id}/attendance.csv", get(csv)),
        ("/courses/{id}/attendance.pdf", get(pdf)),
        ("/courses/{id}/certificates.zip", get(certificates)),
        ("/courses/{id}/learners/{learner}/certificate.pdf", get(certificate)),
    ]
}

/// The period of a course's attendance (local dates of its sessions, both included).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First date (`YYYY-MM-DD`)
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last date (`YYYY-MM-DD`)
    #[param(format = Date)]
    pub to: Option<String>,
}

/// The `from` and `to` of a query string (a parameter given must be a date).
pub fn range(raw: Option<String>) -> Result<DateRange, service::Error> {
    let fields = crate::pages::sessions::query(raw);
    let from = fields.has("from").then(|| fields.get("from"));
    let to = fields.has("to").then(|| fields.get("to"));
    DateRange::parse(from.as_deref(), to.as_deref())
}

/// The same for a page, whose form sends an empty field for no bound.
pub fn page_range(raw: Option<String>) -> Result<DateRange, service::Error> {
    let fields = crate::pages::sessions::query(raw);
    let get = |name: &str| Some(fields.get(name)).filter(|v| !v.trim().is_empty());
    DateRange::parse(get("from").as_deref(), get("to").as_deref())
}

/// A session counted in a course's attendance.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CourseAttendanceSession)]
pub struct SessionJson {
    session_id: String,
    title: String,
    #[schema(format = DateTime)]
    starts_at: String,
    #[schema(format = DateTime)]
    ends_at: String,
    planned_minutes: i64,
}

/// One learner across the course's sessions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CourseLearnerAttendance)]
pub struct LearnerJson {
    /// The address-book entry (or the email when there is none): the `{learner}` of the certificate
    learner: String,
    #[schema(required = true)]
    contact_id: Option<String>,
    name: String,
    email: String,
    /// Sessions of the period the learner was invited to
    sessions: usize,
    planned_minutes: i64,
    /// Counted minutes, corrections included
    attended_minutes: i64,
    planned_hours: f64,
    attended_hours: f64,
    /// `attended_minutes` / `planned_minutes`, in whole percent
    rate_percent: i64,
    half_days: usize,
    signed_half_days: usize,
}

/// A course's attendance over a period.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CourseAttendance)]
pub struct CourseAttendanceJson {
    course_id: String,
    title: String,
    #[schema(required = true, format = Date)]
    from: Option<String>,
    #[schema(required = true, format = Date)]
    to: Option<String>,
    sessions: Vec<SessionJson>,
    learners: Vec<LearnerJson>,
}

fn hours(minutes: i64) -> f64 {
    // Two decimals: 90 min → 1.5, 100 min → 1.67.
    (minutes as f64 / 60.0 * 100.0).round() / 100.0
}

/// The JSON of a course report.
pub fn report_json(report: &CourseReport) -> CourseAttendanceJson {
    CourseAttendanceJson {
        course_id: report.course.course.id.clone(),
        title: report.course.course.title.clone(),
        from: report.range.from.map(|d| d.to_string()),
        to: report.range.to.map(|d| d.to_string()),
        sessions: report
            .sessions
            .iter()
            .map(|r| SessionJson {
                session_id: r.detail.session.id.clone(),
                title: r.detail.session.title.clone(),
                starts_at: r.detail.session.starts_at.to_string(),
                ends_at: r.detail.session.ends_at.to_string(),
                planned_minutes: r.planned_minutes(),
            })
            .collect(),
        learners: report
            .learners
            .iter()
            .map(|l| LearnerJson {
                learner: l.key.clone(),
                contact_id: l.contact_id.clone(),
                name: l.name.clone(),
                email: l.email.clone(),
                sessions: l.sessions,
                planned_minutes: l.planned_minutes,
                attended_minutes: l.attended_minutes,
                planned_hours: hours(l.planned_minutes),
                attended_hours: hours(l.attended_minutes),
                rate_percent: l.rate(),
                half_days: l.half_days,
                signed_half_days: l.signed_half_days,
            })
            .collect(),
    }
}

/// A course's attendance per learner
///
/// Per learner across the course's sessions (cancelled ones left out) whose local date falls
/// within `from`–`to`: sessions, planned and attended minutes and hours (corrections
/// included), rate, half-days signed. Managers and admins; a trainer sees the sessions of the
/// course they teach.
#[utoipa::path(
    get,
    path = "/courses/{id}/attendance",
    operation_id = "courseAttendance",
    tag = "attendance",
    params(("id" = String, Path, description = "The course"), RangeQuery),
    responses(
        (status = 200, description = "Attendance", body = CourseAttendanceJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<CourseAttendanceJson>, ApiError> {
    let range = range(raw).api(&caller)?;
    let report = course_attendance::report(app.service(), &caller.actor(), &id, range)
        .await
        .api(&caller)?;
    Ok(Json(report_json(&report)))
}

/// A course's attendance as CSV
///
/// The session CSV's format (UTF-8 with a byte order mark, `;` separated, one row per learner
/// and half-day) for every session of the period, in time order.
#[utoipa::path(
    get,
    path = "/courses/{id}/attendance.csv",
    operation_id = "courseAttendanceCsv",
    tag = "attendance",
    params(("id" = String, Path, description = "The course"), RangeQuery),
    responses(
        (status = 200, description = "The CSV file", content_type = "text/csv", body = String),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn csv(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let range = range(raw).api(&caller)?;
    let bytes = course_attendance::csv(app.service(), &caller.actor(), &id, range, caller.locale)
        .await
        .api(&caller)?;
    Ok(download(bytes, "text/csv; charset=utf-8", "attendance.csv"))
}

/// A course's attendance sheet as PDF
///
/// The feuille d'émargement of every session of the period, each with its half-days,
/// learners' and trainers' signatures and the seal of its evidence chain. 409 when the period
/// holds no session.
#[utoipa::path(
    get,
    path = "/courses/{id}/attendance.pdf",
    operation_id = "courseAttendancePdf",
    tag = "attendance",
    params(("id" = String, Path, description = "The course"), RangeQuery),
    responses(
        (status = 200, description = "The PDF file", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn pdf(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let range = range(raw).api(&caller)?;
    let bytes = course_attendance::sheet_pdf(app.service(), &caller.actor(), &id, range, caller.locale)
        .await
        .api(&caller)?;
    Ok(download(bytes, "application/pdf", "attendance.pdf"))
}

/// A learner's certificate of completion
///
/// The certificat de réalisation (the Ministry of Labour's model) of one learner for the
/// course, with the hours attended over the period (corrections included). `learner` is the
/// `learner` of the course's attendance (their address-book entry). Managers and admins.
#[utoipa::path(
    get,
    path = "/courses/{id}/learners/{learner}/certificate.pdf",
    operation_id = "courseCertificate",
    tag = "attendance",
    params(
        ("id" = String, Path, description = "The course"),
        ("learner" = String, Path, description = "The learner's address-book entry"),
        RangeQuery
    ),
    responses(
        (status = 200, description = "The PDF file", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn certificate(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path((id, learner)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let range = range(raw).api(&caller)?;
    let (name, bytes) =
        course_attendance::certificate(app.service(), &caller.actor(), &id, &learner, range, caller.locale)
            .await
            .api(&caller)?;
    Ok(download(bytes, "application/pdf", &ascii_name(&name)))
}

/// Every learner's certificate of completion, in a ZIP
///
/// One certificat de réalisation per learner of the course's sessions of the period, each
/// named after the learner. Managers and admins.
#[utoipa::path(
    get,
    path = "/courses/{id}/certificates.zip",
    operation_id = "courseCertificates",
    tag = "attendance",
    params(("id" = String, Path, description = "The course"), RangeQuery),
    responses(
        (status = 200, description = "The ZIP file", content_type = "application/zip", body = Vec<u8>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn certificates(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let range = range(raw).api(&caller)?;
    let bytes = course_attendance::certificates_zip(app.service(), &caller.actor(), &id, range, caller.locale)
        .await
        .api(&caller)?;
    Ok(download(bytes, "application/zip", "certificates.zip"))
}

/// A header-safe file name (ASCII letters and digits; anything else a dash).
pub fn ascii_name(name: &str) -> String {
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "pdf"));
    let safe: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let safe = safe.trim_matches('-');
    format!("{}.{ext}", if safe.is_empty() { "document" } else { safe })
}
