//! A session's attendance for staff: the table (planned, present, counted minutes, rate,
//! signatures), corrections, the trainer's signature, and the CSV and PDF downloads. The
//! session page shows the table too, from here. Learners sign from their personal link
//! (`/j/{key}/sign`, also here).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::Locale;
use domain::attendance::HalfDay;
use serde::Deserialize;
use service::attendance::{self, CorrectionInput, Report, SignContext, SignWith, half_name};

use crate::api::attendance::download;
use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html_status};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/attendance", get(show))
        .route("/sessions/{id}/attendance/corrections", post(correct))
        .route("/sessions/{id}/attendance/sign", post(trainer_sign))
        .route("/sessions/{id}/attendance.csv", get(csv))
        .route("/sessions/{id}/attendance.pdf", get(pdf))
        .route("/j/{key}/sign", get(link_page).post(link_sign))
}

/// One participant in the table.
#[derive(Debug, Clone)]
pub struct AttendanceRow {
    pub participant_id: String,
    pub name: String,
    pub role_key: &'static str,
    pub present: String,
    pub attended: String,
    pub rate: i64,
    pub corrected: bool,
    /// `signed/planned` half-days.
    pub signed: usize,
}

/// What `templates/attendance/_table.html` shows.
#[derive(Debug, Clone)]
pub struct AttendanceView {
    pub session_id: String,
    /// The session's course, whose attendance over all its sessions has its own page.
    pub course_id: Option<String>,
    pub planned: String,
    pub half_days: usize,
    pub rows: Vec<AttendanceRow>,
    pub others: usize,
}

/// A half-day as a form value (`2026-06-15:morning`) and as a person reads it.
#[derive(Debug, Clone)]
pub struct HalfDayOption {
    pub value: String,
    pub label: String,
}

fn minutes(n: i64, locale: Locale) -> String {
    locale.t("attendance.minutes").replace("{n}", &n.to_string())
}

fn half_label(h: HalfDay, locale: Locale) -> String {
    let half = locale.t(match h.half {
        domain::attendance::Half::Morning => "attendance.half.morning",
        domain::attendance::Half::Afternoon => "attendance.half.afternoon",
    });
    format!("{} {half}", h.date)
}

fn option(h: HalfDay, locale: Locale) -> HalfDayOption {
    HalfDayOption {
        value: format!("{}:{}", h.date, half_name(h.half)),
        label: half_label(h, locale),
    }
}

fn parse_option(value: &str) -> Option<HalfDay> {
    let (date, half) = value.split_once(':')?;
    attendance::parse_half_day(date, half)
}

/// The table of a report.
pub fn view(report: &Report, locale: Locale) -> AttendanceView {
    AttendanceView {
        session_id: report.detail.session.id.clone(),
        course_id: report.detail.session.course_id.clone(),
        planned: minutes(report.planned_minutes(), locale),
        half_days: report.attendance.planned.len(),
        rows: report
            .detail
            .participants
            .iter()
            .map(|p| AttendanceRow {
                participant_id: p.id.clone(),
                name: p.name.clone(),
                role_key: crate::pages::room::role_key(p.role),
                present: minutes(report.present_minutes(&p.id), locale),
                attended: minutes(report.attended_minutes(&p.id), locale),
                rate: report.rate(&p.id),
                corrected: report.person(&p.id).is_some_and(|a| a.corrected()),
                signed: report
                    .attendance
                    .planned
                    .iter()
                    .filter(|h| report.signature(&p.id, h.half_day).is_some())
                    .count(),
            })
            .collect(),
        others: report.others().count(),
    }
}

/// The table for the session page.
pub async fn section(
    app: &AppState,
    actor: &domain::Actor,
    session_id: &str,
    locale: Locale,
) -> Result<AttendanceView, AppError> {
    let report = attendance::report(app.service(), actor, session_id).await?;
    Ok(view(&report, locale))
}

#[derive(Template)]
#[template(path = "attendance/page.html")]
struct AttendancePage {
    page: Page,
    attendance: AttendanceView,
    half_days: Vec<HalfDayOption>,
    /// The half-days the trainer may sign now (when the viewer teaches the session).
    trainer_open: Vec<HalfDayOption>,
    trainer_signed: Vec<String>,
    teaches: bool,
    errors: FieldErrors,
    form: CorrectionForm,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct CorrectionForm {
    #[serde(default)]
    participant_id: String,
    #[serde(default)]
    half_day: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    reason: String,
}

async fn render(
    app: &AppState,
    ctx: &Ctx,
    id: &str,
    status: StatusCode,
    errors: FieldErrors,
    form: CorrectionForm,
) -> AppResult {
    let actor = ctx.actor()?;
    let report = attendance::report(app.service(), &actor, id).await?;
    let page =
        Page::new(ctx, "attendance.title", &app.config().default_time_zone).titled(report.detail.session.title.clone());
    let own = attendance::own_trainer(&report, &actor);
    let (trainer_open, trainer_signed) = match own {
        Some(p) => {
            let state = attendance::sign_state(app.service(), &report, &p.id);
            (
                state.open.iter().map(|h| option(*h, ctx.locale)).collect(),
                state
                    .signed
                    .iter()
                    .map(|(h, at)| format!("{} · {}", half_label(*h, ctx.locale), page.datetime(at)))
                    .collect(),
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    html_status(
        status,
        &AttendancePage {
            attendance: view(&report, ctx.locale),
            half_days: report
                .attendance
                .planned
                .iter()
                .map(|h| option(h.half_day, ctx.locale))
                .collect(),
            trainer_open,
            trainer_signed,
            teaches: own.is_some(),
            errors,
            form,
            page,
        },
    )
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    render(
        &app,
        &ctx,
        &id,
        StatusCode::OK,
        FieldErrors::default(),
        CorrectionForm::default(),
    )
    .await
}

fn form_field(field: &'static str) -> &'static str {
    match field {
        "half_day" => "half_day",
        "participant_id" => "participant_id",
        "minutes" => "minutes",
        "reason" => "reason",
        _ => "",
    }
}

async fn correct(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CorrectionForm>,
) -> AppResult {
    let (date, half) = form.half_day.split_once(':').unwrap_or(("", ""));
    let input = CorrectionInput {
        participant_id: form.participant_id.clone(),
        date: date.to_owned(),
        half: half.to_owned(),
        minutes: form.minutes.trim().parse().ok(),
        reason: form.reason.clone(),
    };
    match attendance::correct(app.service(), &ctx.caller()?, &id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}/attendance?notice=saved")).into_response()),
        Err(e) if !e.problems().is_empty() => {
            let mut errors = FieldErrors::default();
            let zone = ctx.zone(&app).to_owned();
            let status = errors.record(&e, ctx.locale, &zone, form_field);
            render(&app, &ctx, &id, status, errors, form).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct SignForm {
    #[serde(default)]
    half_day: String,
    #[serde(default)]
    name: String,
    /// A drawn signature as a `data:image/png;base64,…` URL (from the canvas, with JavaScript).
    #[serde(default)]
    drawing: String,
}

fn sign_with(form: &SignForm) -> SignWith {
    use base64::Engine as _;
    let drawing = form.drawing.trim();
    if let Some(data) = drawing.strip_prefix("data:image/png;base64,") {
        return SignWith::Png(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap_or_default(),
        );
    }
    SignWith::Typed(form.name.clone())
}

fn context(ctx: &Ctx) -> SignContext {
    SignContext {
        client_address: ctx.ip,
        user_agent: ctx.user_agent.clone().unwrap_or_default(),
    }
}

async fn trainer_sign(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<SignForm>,
) -> AppResult {
    match attendance::sign_as_trainer(
        app.service(),
        &ctx.caller()?,
        &id,
        parse_option(&form.half_day),
        sign_with(&form),
        &context(&ctx),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}/attendance?notice=saved")).into_response()),
        Err(e) if !e.problems().is_empty() => {
            let mut errors = FieldErrors::default();
            let zone = ctx.zone(&app).to_owned();
            let status = errors.record(&e, ctx.locale, &zone, |_| "sign");
            render(&app, &ctx, &id, status, errors, CorrectionForm::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

fn file_name(title: &str, ext: &str) -> String {
    let safe: String = title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let safe = safe.trim_matches('-');
    format!("{}.{ext}", if safe.is_empty() { "attendance" } else { safe })
}

async fn csv(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let actor = ctx.actor()?;
    let bytes = attendance::csv(app.service(), &actor, &id, ctx.locale).await?;
    Ok(download(
        bytes,
        "text/csv; charset=utf-8",
        &file_name("emargement", "csv"),
    ))
}

async fn pdf(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let actor = ctx.actor()?;
    let bytes = attendance::sheet_pdf(app.service(), &actor, &id, ctx.locale).await?;
    Ok(download(bytes, "application/pdf", &file_name("emargement", "pdf")))
}

// ---- A participant signs from their personal link ----

#[derive(Template)]
#[template(path = "attendance/sign.html")]
struct SignPage {
    page: Page,
    key: String,
    title: String,
    name: String,
    open: Vec<HalfDayOption>,
    signed: Vec<String>,
    error: Option<String>,
}

async fn render_link(app: &AppState, ctx: &Ctx, key: &str, status: StatusCode, error: Option<String>) -> AppResult {
    let (report, participant) = attendance::link_report(app.service(), key).await?;
    let page = Page::new(ctx, "attendance.sign.title", &report.detail.session.time_zone);
    let state = attendance::sign_state(app.service(), &report, &participant.id);
    let signed = state
        .signed
        .iter()
        .map(|(h, at)| {
            ctx.locale
                .t("attendance.sign.signed_at")
                .replace("{half}", &half_label(*h, ctx.locale))
                .replace("{when}", &page.datetime(at))
        })
        .collect();
    html_status(
        status,
        &SignPage {
            key: key.to_owned(),
            title: report.detail.session.title.clone(),
            name: participant.name.clone(),
            open: state.open.iter().map(|h| option(*h, ctx.locale)).collect(),
            signed,
            error,
            page,
        },
    )
}

async fn link_page(State(app): State<AppState>, ctx: Ctx, Path(key): Path<String>) -> AppResult {
    render_link(&app, &ctx, &key, StatusCode::OK, None).await
}

async fn link_sign(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    axum::Form(form): axum::Form<SignForm>,
) -> AppResult {
    match attendance::sign_from_link(
        app.service(),
        &key,
        parse_option(&form.half_day),
        sign_with(&form),
        &context(&ctx),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/j/{key}/sign?notice=saved")).into_response()),
        Err(e) if !e.problems().is_empty() => {
            let message = e.problems().first().map(|p| p.message.render(ctx.locale));
            let status = AppError::Service(e.clone()).status();
            render_link(&app, &ctx, &key, status, message).await
        }
        Err(e) => Err(e.into()),
    }
}
