//! Importing learners from a CSV or XLSX file: `/courses/{id}/import` (enrolled learners) and
//! `/sessions/{id}/import` (learners of that session, invited).
//!
//! GET shows the upload form. Its POST (a multipart form with the file) answers the preview:
//! every line with what it would do and its problems, the field chosen for each column, and
//! the file itself carried back in a hidden field; that form posts again (urlencoded) either to
//! preview with another column choice or to confirm. Each post reads the file afresh and the
//! service checks everything again: nothing the page showed is trusted. Cancelling is a link
//! back, and nothing is written before the confirmation.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::get};
use base64::Engine as _;
use domain::import::Field;
use service::booking::Scope;
use service::import::{self, Target};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::forms::FieldErrors;
use crate::http::multipart;
use crate::http::page::{Page, html_status};
use crate::http::state::AppState;
use crate::pages::sessions::body;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/courses/{id}/import", get(course_form).post(course_post))
        .route("/sessions/{id}/import", get(session_form).post(session_post))
}

/// Most columns offered a choice on the preview.
const MAX_COLUMNS: usize = 60;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Where the import goes, for links and titles.
#[derive(Clone)]
struct Place {
    target: Target,
    /// `/courses/{id}` or `/sessions/{id}`.
    back: String,
}

impl Place {
    fn course(id: String) -> Place {
        Place {
            back: format!("/courses/{id}"),
            target: Target::Course(id),
        }
    }

    fn session(id: String) -> Place {
        Place {
            back: format!("/sessions/{id}"),
            target: Target::Session(id, Scope::This),
        }
    }

    /// The same place with the scope a form chose (a session's only).
    fn scoped(self, scope: Scope) -> Place {
        match self.target {
            Target::Session(id, _) => Place {
                target: Target::Session(id, scope),
                back: self.back,
            },
            Target::Course(_) => self,
        }
    }

    fn scope(&self) -> &'static str {
        match &self.target {
            Target::Session(_, scope) => scope.as_str(),
            Target::Course(_) => "",
        }
    }

    fn action(&self) -> String {
        format!("{}/import", self.back)
    }
}

#[derive(Template)]
#[template(path = "import/upload.html")]
struct UploadPage {
    page: Page,
    errors: FieldErrors,
    action: String,
    back: String,
    max_kib: usize,
    max_lines: usize,
    /// A session of a series: the form asks whether to import into the following ones too.
    in_series: bool,
    scope: &'static str,
}

impl UploadPage {
    fn hint(&self) -> String {
        self.page.locale.tf(
            "import.file_hint",
            &[("kib", &self.max_kib), ("lines", &self.max_lines)],
        )
    }
}

/// A line as the preview table shows it (problems in the reader's language).
struct LineRow {
    line: usize,
    status: &'static str,
    name: String,
    first_name: String,
    email: String,
    company: String,
    locale: String,
    time_zone: String,
    problems: Vec<String>,
}

/// A column and the field chosen for it.
struct Column {
    index: usize,
    /// `index + 1`, as people count.
    number: usize,
    header: String,
    field: &'static str,
}

#[derive(Template)]
#[template(path = "import/preview.html")]
struct PreviewPage {
    page: Page,
    errors: FieldErrors,
    action: String,
    back: String,
    filename: String,
    data: String,
    /// `this` or `following` for a session (empty for a course), carried to the confirmation.
    scope: &'static str,
    /// How many sessions the learners go into (0 for a course).
    sessions: usize,
    columns: Vec<Column>,
    fields: Vec<(&'static str, &'static str)>,
    mapping_problems: Vec<String>,
    lines: Vec<LineRow>,
    to_add: usize,
    already: usize,
    invalid: usize,
}

async fn upload_page(app: &AppState, ctx: &Ctx, place: &Place, errors: FieldErrors, status: StatusCode) -> AppResult {
    // The form is only for those who may import there (a 404 or 403 otherwise).
    let actor = ctx.actor()?;
    let (title, in_series) = import::preview_title(app.service(), &actor, &place.target).await?;
    html_status(
        status,
        &UploadPage {
            page: Page::new(ctx, "import.title", &app.config().default_time_zone).titled(format!(
                "{} — {}",
                ctx.locale.t("import.title"),
                title
            )),
            errors,
            action: place.action(),
            back: place.back.clone(),
            max_kib: import::MAX_FILE_BYTES / 1024,
            max_lines: import::MAX_LINES,
            in_series,
            scope: place.scope(),
        },
    )
}

async fn course_form(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    upload_page(&app, &ctx, &Place::course(id), FieldErrors::default(), StatusCode::OK).await
}

async fn session_form(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    upload_page(&app, &ctx, &Place::session(id), FieldErrors::default(), StatusCode::OK).await
}

async fn course_post(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> AppResult {
    post(&app, &ctx, &Place::course(id), &headers, &bytes).await
}

async fn session_post(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> AppResult {
    post(&app, &ctx, &Place::session(id), &headers, &bytes).await
}

/// What a post asks.
struct Request {
    file: Vec<u8>,
    filename: String,
    /// `None`: guess from the header.
    mapping: Option<Vec<Option<Field>>>,
    confirm: bool,
    scope: Scope,
}

fn read_request(headers: &HeaderMap, bytes: &Bytes) -> Result<Request, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if multipart::boundary(content_type).is_some() {
        let parts = multipart::parse(content_type, bytes)
            .ok_or_else(|| AppError::invalid(crate::http::error::Message::new("import.error.unreadable")))?;
        let file = parts.iter().find(|p| p.name == "file");
        let scope = parts
            .iter()
            .find(|p| p.name == "scope")
            .map(|p| Scope::parse(&String::from_utf8_lossy(p.data)))
            .unwrap_or_default();
        return Ok(Request {
            file: file.map(|p| p.data.to_vec()).unwrap_or_default(),
            filename: file.and_then(|p| p.filename.clone()).unwrap_or_default(),
            mapping: None,
            confirm: false,
            scope,
        });
    }
    let fields = body(bytes);
    let file = B64
        .decode(fields.get("data").trim())
        .map_err(|_| AppError::invalid(crate::http::error::Message::new("import.error.unreadable")))?;
    let mapping = fields.has("col_0").then(|| {
        (0..MAX_COLUMNS)
            .map(|i| Field::parse(&fields.get(&format!("col_{i}"))))
            .collect()
    });
    Ok(Request {
        file,
        filename: fields.get("filename").chars().take(200).collect(),
        mapping,
        confirm: fields.get("action") == "confirm",
        scope: Scope::parse(&fields.get("scope")),
    })
}

async fn post(app: &AppState, ctx: &Ctx, place: &Place, headers: &HeaderMap, bytes: &Bytes) -> AppResult {
    let caller = ctx.caller()?;
    let request = read_request(headers, bytes)?;
    let place = &place.clone().scoped(request.scope);
    let mapping = request.mapping.as_deref();
    if request.confirm {
        match import::confirm(app.service(), &caller, &place.target, &request.file, mapping).await {
            Ok(_) => return Ok(Redirect::to(&format!("{}?notice=imported", place.back)).into_response()),
            Err(error) if error.problems().is_empty() => return Err(error.into()),
            // Refused as a whole (a mapping or a file no longer valid, nothing to add): the
            // preview again, with why.
            Err(error) => {
                let mut errors = FieldErrors::default();
                let zone = ctx.zone(app);
                let status = errors.record(&error, ctx.locale, zone, |_| "form");
                return preview(app, ctx, place, &request, errors, status).await;
            }
        }
    }
    preview(app, ctx, place, &request, FieldErrors::default(), StatusCode::OK).await
}

async fn preview(
    app: &AppState,
    ctx: &Ctx,
    place: &Place,
    request: &Request,
    errors: FieldErrors,
    status: StatusCode,
) -> AppResult {
    let actor = ctx.actor()?;
    let locale = ctx.locale;
    let found = match import::preview(
        app.service(),
        &actor,
        &place.target,
        &request.file,
        request.mapping.as_deref(),
    )
    .await
    {
        Ok(p) => p,
        Err(error) if error.problems().is_empty() => return Err(error.into()),
        Err(error) => {
            let mut errors = FieldErrors::default();
            let zone = ctx.zone(app);
            let status = errors.record(&error, locale, zone, |_| "file");
            return upload_page(app, ctx, place, errors, status).await;
        }
    };
    let columns = found
        .header
        .iter()
        .zip(&found.mapping)
        .take(MAX_COLUMNS)
        .enumerate()
        .map(|(index, (header, field))| Column {
            index,
            number: index + 1,
            header: header.clone(),
            field: field.map_or("", Field::as_str),
        })
        .collect();
    let lines = found
        .lines
        .iter()
        .map(|l| LineRow {
            line: l.line,
            status: l.status.as_str(),
            name: l.name.clone(),
            first_name: l.first_name.clone(),
            email: l.email.clone(),
            company: l.company.clone(),
            locale: l.locale.clone(),
            time_zone: l.time_zone.clone(),
            problems: l.problems.iter().map(|m| m.render(locale)).collect(),
        })
        .collect();
    html_status(
        status,
        &PreviewPage {
            page: Page::new(ctx, "import.preview", &app.config().default_time_zone).titled(format!(
                "{} — {}",
                locale.t("import.preview"),
                found.title
            )),
            errors,
            action: place.action(),
            back: place.back.clone(),
            filename: request.filename.clone(),
            data: B64.encode(&request.file),
            scope: place.scope(),
            sessions: found.sessions,
            columns,
            fields: Field::ALL
                .into_iter()
                .map(|f| (f.as_str(), locale.t(import::field_key(f))))
                .collect(),
            mapping_problems: found.mapping_problems.iter().map(|m| m.render(locale)).collect(),
            lines,
            to_add: found.to_add,
            already: found.already,
            invalid: found.invalid,
        },
    )
}
