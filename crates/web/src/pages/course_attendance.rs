//! A course's attendance for staff: per learner across its sessions (within `?from=&to=`),
//! hours planned, hours attended and rate, with the CSV, the PDF sheet and the certificates of
//! completion. Shown on the course page (managers and admins) and on its own page, which a
//! trainer of the course reaches too (for the sessions they teach).

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use domain::Locale;
use service::course_attendance::{self, CourseReport, DateRange};

use crate::api::attendance::download;
use crate::api::course_attendance::{ascii_name, page_range as range};
use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::page::{Page, html};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/courses/{id}/attendance", get(show))
        .route("/courses/{id}/attendance.csv", get(csv))
        .route("/courses/{id}/attendance.pdf", get(pdf))
        .route("/courses/{id}/certificates.zip", get(certificates))
        .route("/courses/{id}/learners/{learner}/certificate.pdf", get(certificate))
}

/// One learner in the course's table.
#[derive(Debug, Clone)]
pub struct LearnerRow {
    pub learner: String,
    pub name: String,
    pub email: String,
    pub sessions: usize,
    pub planned: String,
    pub attended: String,
    pub rate: i64,
    pub signed: String,
}

/// What `templates/courses/_attendance.html` shows.
#[derive(Debug, Clone)]
pub struct CourseAttendanceView {
    pub course_id: String,
    pub from: String,
    pub to: String,
    /// `?from=…&to=…` of the range (empty without one), for the download links.
    pub query: String,
    pub sessions: usize,
    pub rows: Vec<LearnerRow>,
    /// Certificates are offered (managers and admins).
    pub certificates: bool,
}

/// `h:mm` of a number of minutes.
pub fn hours(minutes: i64, locale: Locale) -> String {
    let m = minutes.max(0);
    locale
        .t("attendance.hours")
        .replace("{h}", &(m / 60).to_string())
        .replace("{m}", &format!("{:02}", m % 60))
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The view of a course report.
pub fn view(report: &CourseReport, locale: Locale, certificates: bool) -> CourseAttendanceView {
    let from = report.range.from.map(|d| d.to_string()).unwrap_or_default();
    let to = report.range.to.map(|d| d.to_string()).unwrap_or_default();
    let mut query = Vec::new();
    if !from.is_empty() {
        query.push(format!("from={from}"));
    }
    if !to.is_empty() {
        query.push(format!("to={to}"));
    }
    CourseAttendanceView {
        course_id: report.course.course.id.clone(),
        query: if query.is_empty() {
            String::new()
        } else {
            format!("?{}", query.join("&"))
        },
        from,
        to,
        sessions: report.sessions.len(),
        rows: report
            .learners
            .iter()
            .map(|l| LearnerRow {
                learner: encode(&l.key),
                name: l.name.clone(),
                email: l.email.clone(),
                sessions: l.sessions,
                planned: hours(l.planned_minutes, locale),
                attended: hours(l.attended_minutes, locale),
                rate: l.rate(),
                signed: format!("{}/{}", l.signed_half_days, l.half_days),
            })
            .collect(),
        certificates,
    }
}

/// The table for the course page.
pub async fn section(
    app: &AppState,
    actor: &domain::Actor,
    course_id: &str,
    locale: Locale,
) -> Result<CourseAttendanceView, AppError> {
    let report = course_attendance::report(app.service(), actor, course_id, DateRange::default()).await?;
    Ok(view(&report, locale, actor.may_manage_courses()))
}

#[derive(Template)]
#[template(path = "courses/attendance.html")]
struct AttendancePage {
    page: Page,
    title: String,
    manages: bool,
    course_attendance: CourseAttendanceView,
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let range = range(raw)?;
    let report = course_attendance::report(app.service(), &actor, &id, range).await?;
    let title = report.course.course.title.clone();
    html(&AttendancePage {
        page: Page::new(&ctx, "attendance.course.title", &app.config().default_time_zone).titled(title.clone()),
        title,
        manages: actor.may_manage_courses(),
        course_attendance: view(&report, ctx.locale, actor.may_manage_courses()),
    })
}

async fn csv(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let actor = ctx.actor()?;
    let bytes = course_attendance::csv(app.service(), &actor, &id, range(raw)?, ctx.locale).await?;
    Ok(download(bytes, "text/csv; charset=utf-8", "emargement.csv"))
}

async fn pdf(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let actor = ctx.actor()?;
    let bytes = course_attendance::sheet_pdf(app.service(), &actor, &id, range(raw)?, ctx.locale).await?;
    Ok(download(bytes, "application/pdf", "emargement.pdf"))
}

async fn certificates(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let actor = ctx.actor()?;
    let bytes = course_attendance::certificates_zip(app.service(), &actor, &id, range(raw)?, ctx.locale).await?;
    Ok(download(bytes, "application/zip", "certificats.zip"))
}

async fn certificate(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, learner)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let actor = ctx.actor()?;
    let (name, bytes) =
        course_attendance::certificate(app.service(), &actor, &id, &learner, range(raw)?, ctx.locale).await?;
    Ok(download(bytes, "application/pdf", &ascii_name(&name)))
}
