//! `/gdpr`: a person's data, for admins and managers — export as a JSON or ZIP download, erasure (an
//! admin may force it over attendance evidence still kept), and the retention periods in force.
//! Every refusal is the service's (`service::gdpr`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Router, routing::get, routing::post};
use domain::Role;
use service::{Error, RetentionConfig};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;
use crate::pages::sessions::body;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/gdpr", get(index))
        .route("/gdpr/export", post(export))
        .route("/gdpr/erase", post(erase))
}

#[derive(Template)]
#[template(path = "gdpr/index.html")]
struct GdprPage {
    page: Page,
    email: String,
    force: bool,
    admin: bool,
    errors: FieldErrors,
    notice: Option<String>,
    retention: RetentionConfig,
}

fn page(
    app: &AppState,
    ctx: &Ctx,
    email: String,
    force: bool,
    errors: FieldErrors,
    notice: Option<String>,
) -> GdprPage {
    GdprPage {
        page: Page::new(ctx, "gdpr.title", &app.config().default_time_zone),
        email,
        force,
        admin: ctx.user().is_some_and(|u| u.role == Role::Admin),
        errors,
        notice,
        retention: app.config().retention,
    }
}

/// Admins and managers only (the service checks again for each action).
fn staff(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.actor()?.role >= Role::Manager {
        Ok(())
    } else {
        Err(AppError::FORBIDDEN)
    }
}

async fn index(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    staff(&ctx)?;
    html(&page(&app, &ctx, String::new(), false, FieldErrors::default(), None))
}

/// The page again with the refusal's messages by field.
fn refused(app: &AppState, ctx: &Ctx, email: String, force: bool, error: Error) -> AppResult {
    if error.problems().is_empty() {
        return Err(error.into());
    }
    let mut errors = FieldErrors::default();
    let zone = ctx.zone(app);
    let status = errors.record(&error, ctx.locale, zone, |field| match field {
        "force" => "force",
        _ => "email",
    });
    html_status(status, &page(app, ctx, email, force, errors, None))
}

async fn export(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    staff(&ctx)?;
    let caller = ctx.caller()?;
    let fields = body(&bytes);
    let email = fields.get("email").trim().to_owned();
    let format = match service::gdpr::ExportFormat::parse(Some(&fields.get("format"))) {
        Ok(format) => format,
        Err(error) => return refused(&app, &ctx, email, false, error),
    };
    if format == service::gdpr::ExportFormat::Zip {
        return match service::gdpr::export_zip(app.service(), &caller, &email, ctx.locale).await {
            Ok(zip) => Ok((
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/zip"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"personal-data.zip\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                zip,
            )
                .into_response()),
            Err(error) => refused(&app, &ctx, email, false, error),
        };
    }
    match service::gdpr::export(app.service(), &caller, &email).await {
        Ok(data) => {
            let json = serde_json::to_vec_pretty(&data).map_err(|e| Error::Internal(e.to_string()))?;
            Ok((
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"personal-data.json\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                json,
            )
                .into_response())
        }
        Err(error) => refused(&app, &ctx, email, false, error),
    }
}

async fn erase(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    staff(&ctx)?;
    let caller = ctx.caller()?;
    let fields = body(&bytes);
    let email = fields.get("email").trim().to_owned();
    let force = !fields.get("force").is_empty();
    match service::gdpr::erase(app.service(), &caller, &email, force).await {
        Ok(c) => {
            let notice = i18n::Message::new("gdpr.erased")
                .arg("participants", c.participants)
                .arg("contacts", c.contacts)
                .arg("mail", c.mail)
                .arg("signatures", c.signatures)
                .render(ctx.locale);
            html(&page(
                &app,
                &ctx,
                String::new(),
                false,
                FieldErrors::default(),
                Some(notice),
            ))
        }
        Err(error) => refused(&app, &ctx, email, force, error),
    }
}
