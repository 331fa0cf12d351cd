//! `/api/v1/courses/{id}/learners/import` and `/api/v1/sessions/{id}/learners/import`: the
//! pages' import of a CSV or XLSX file, the file being the request body. `?dry_run=true`
//! answers what would happen and writes nothing; otherwise the valid lines are written (one
//! transaction) and the answer says what was done. Who may: as on the pages.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use domain::import::Field;
use serde::Serialize;
use service::Problem;
use service::import::{self, Target};
use utoipa::{IntoParams, ToSchema};

use super::json;
use super::{ApiCaller, ApiError, ForCaller, Invalid, NotFound, Unauthorized};
use crate::http::error::Message;
use crate::http::state::AppState;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/courses/{id}/learners/import", post(course)),
        ("/sessions/{id}/learners/import", post(session)),
    ]
}

/// How to read the file.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Only say what would happen
    #[param(default = false)]
    pub dry_run: Option<bool>,
    /// The field of each column, comma-separated, empty to ignore one (`name`, `first_name`,
    /// `email`, `company`, `locale`, `time_zone`); without it, guessed from the header row
    pub columns: Option<String>,
    /// Sessions only: `following` imports into this session and the following ones of its
    /// series (each newcomer invited once to the series); otherwise this session alone
    #[param(default = "this")]
    pub scope: Option<String>,
}

/// A line of the file and what it does.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportLineJson {
    /// The line number in the file (the header is line 1)
    pub line: usize,
    /// `add`, `already` (already there: nothing to do) or `invalid` (left out)
    pub status: String,
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub company: String,
    pub locale: String,
    pub time_zone: String,
    /// Why the line is left out
    pub problems: Vec<String>,
}

/// What an import does (or would do, on a dry run).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportJson {
    pub dry_run: bool,
    /// The field of each column (null: ignored)
    pub columns: Vec<Option<String>>,
    /// Lines added (or to add)
    pub added: usize,
    pub already: usize,
    pub invalid: usize,
    pub lines: Vec<ImportLineJson>,
}

fn read_query(raw: Option<String>) -> Result<ImportQuery, Vec<Problem>> {
    let fields = crate::pages::sessions::query(raw);
    let mut errors = Vec::new();
    let dry_run = json::flag(&fields, "dry_run")
        .map_err(|p| errors.push(p))
        .ok()
        .flatten();
    let columns = json::given(&fields, "columns");
    if let Some(columns) = &columns {
        for c in columns.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if Field::parse(c).is_none() {
                errors.push(Problem::new(
                    "columns",
                    Message::new("import.error.unknown_field").arg("value", c),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(ImportQuery {
            dry_run,
            columns,
            scope: json::given(&fields, "scope"),
        })
    } else {
        Err(errors)
    }
}

async fn run(
    app: &AppState,
    caller: &ApiCaller,
    target: Target,
    raw: Option<String>,
    bytes: &Bytes,
) -> Result<Response, ApiError> {
    let query = read_query(raw).map_err(|e| caller.fail(service::Error::Invalid(e)))?;
    let target = match target {
        Target::Session(id, _) => {
            Target::Session(id, service::booking::Scope::parse(query.scope.as_deref().unwrap_or("")))
        }
        course => course,
    };
    let mapping: Option<Vec<Option<Field>>> = query
        .columns
        .as_deref()
        .map(|c| c.split(',').map(Field::parse).collect());
    let dry_run = query.dry_run.unwrap_or(false);
    let preview = import::preview(app.service(), &caller.actor(), &target, bytes, mapping.as_deref())
        .await
        .api(caller)?;
    if !preview.mapping_problems.is_empty() {
        return Err(caller.fail(service::Error::Invalid(
            preview
                .mapping_problems
                .iter()
                .map(|m| Problem::new("columns", m.clone()))
                .collect(),
        )));
    }
    let mut added = preview.to_add;
    if !dry_run {
        added = import::confirm(app.service(), &caller.caller(), &target, bytes, mapping.as_deref())
            .await
            .api(caller)?
            .added;
    }
    let zone = caller.user.time_zone.clone();
    Ok(Json(ImportJson {
        dry_run,
        columns: preview
            .mapping
            .iter()
            .map(|f| f.map(|f| f.as_str().to_owned()))
            .collect(),
        added,
        already: preview.already,
        invalid: preview.invalid,
        lines: preview
            .lines
            .iter()
            .map(|l| ImportLineJson {
                line: l.line,
                status: l.status.as_str().to_owned(),
                name: l.name.clone(),
                first_name: l.first_name.clone(),
                email: l.email.clone(),
                company: l.company.clone(),
                locale: l.locale.clone(),
                time_zone: l.time_zone.clone(),
                problems: l.problems.iter().map(|m| m.render_in(caller.locale, &zone)).collect(),
            })
            .collect(),
    })
    .into_response())
}

/// Import learners into a course from a CSV or XLSX file (admins and managers)
#[utoipa::path(
    post,
    path = "/courses/{id}/learners/import",
    operation_id = "importCourseLearners",
    tag = "courses",
    params(("id" = String, Path, description = "The course"), ImportQuery),
    request_body(content = String, description = "The file: CSV (UTF-8 or Windows-1252, `;` or `,`) or XLSX, with a header row",
        content_type = "text/csv"),
    responses(
        (status = 200, description = "What was done (or would be, on a dry run)", body = ImportJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = super::Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn course(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    run(&app, &caller, Target::Course(id), raw, &bytes).await
}

/// Import learners into a session from a CSV or XLSX file; the new ones are invited
#[utoipa::path(
    post,
    path = "/sessions/{id}/learners/import",
    operation_id = "importSessionLearners",
    tag = "sessions",
    params(("id" = String, Path, description = "The session"), ImportQuery),
    request_body(content = String, description = "The file: CSV (UTF-8 or Windows-1252, `;` or `,`) or XLSX, with a header row",
        content_type = "text/csv"),
    responses(
        (status = 200, description = "What was done (or would be, on a dry run)", body = ImportJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = super::Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = super::Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn session(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    run(
        &app,
        &caller,
        Target::Session(id, service::booking::Scope::This),
        raw,
        &bytes,
    )
    .await
}
