//! `/api/v1/courses`: list, create, read, change (including archiving). Admins and managers
//! only, as on the pages; to a trainer a course id names nothing (404).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::booking::PersonInput;
use domain::course::CourseRequest;
use serde::Deserialize;

use super::json::{self, CourseJson};
use super::{ApiCaller, ApiError};
use crate::courses::{self as service, CourseFailure};
use crate::error::Message;
use crate::state::AppState;

fn api_field(field: &str) -> &str {
    match field {
        "duration" => "default_duration_minutes",
        other => other,
    }
}

/// The problem details of a course failure.
pub fn problem(caller: &ApiCaller, failure: &CourseFailure) -> ApiError {
    let status = failure.status();
    let messages = failure.messages(caller.locale);
    let kind = match status.as_u16() {
        403 => "forbidden",
        404 => "not-found",
        409 => "conflict",
        500..=599 => return ApiError::internal(format!("{failure:?}"), caller.locale),
        _ => "invalid",
    };
    let detail = match (failure, messages.first()) {
        (CourseFailure::Invalid(_), _) => Message::new("api.error.invalid"),
        (_, Some((_, text))) => Message::new("api.error.text").arg("text", text),
        _ => Message::new("api.error.invalid"),
    };
    let errors = messages
        .iter()
        .filter(|(field, _)| !field.is_empty())
        .map(|(field, text)| (api_field(field).to_owned(), text.clone()))
        .collect();
    caller.error(status, kind, detail).with_errors(errors)
}

/// `GET /courses[?archived=true]`.
pub async fn list(
    State(app): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let fields = crate::pages::sessions::query(raw);
    let archived = matches!(fields.get("archived").trim(), "true" | "1" | "yes");
    let courses = service::list(&app, &caller.actor(), archived)
        .await
        .map_err(|f| problem(&caller, &f))?;
    Ok(Json(serde_json::json!({ "items": courses.iter().map(CourseJson::of).collect::<Vec<_>>() })).into_response())
}

/// `GET /courses/{id}`.
pub async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let detail = service::view(&app, &caller.actor(), &id)
        .await
        .map_err(|f| problem(&caller, &f))?;
    Ok(Json(CourseJson::detail(&detail)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CourseBody {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "json::nullable")]
    pub code: Option<Option<String>>,
    pub description: Option<String>,
    pub default_duration_minutes: Option<i64>,
    /// Emails of trainer accounts.
    pub trainers: Option<Vec<String>>,
    pub learners: Option<Vec<PersonInput>>,
    pub archived: Option<bool>,
}

impl CourseBody {
    /// The request: the given fields over `base`.
    fn over(self, base: CourseRequest) -> CourseRequest {
        CourseRequest {
            title: self.title.unwrap_or(base.title),
            code: match self.code {
                Some(code) => code.unwrap_or_default(),
                None => base.code,
            },
            description: self.description.unwrap_or(base.description),
            default_duration_minutes: self.default_duration_minutes.unwrap_or(base.default_duration_minutes),
            trainers: self.trainers.unwrap_or(base.trainers),
            learners: self.learners.unwrap_or(base.learners),
        }
    }
}

/// Default session length of a course created without one.
const DEFAULT_DURATION: i64 = 60;

/// `POST /courses`.
pub async fn create(State(app): State<AppState>, caller: ApiCaller, bytes: Bytes) -> Result<Response, ApiError> {
    let body: CourseBody = json::body(&caller, &bytes)?;
    let archived = body.archived.unwrap_or(false);
    let request = body.over(CourseRequest {
        default_duration_minutes: DEFAULT_DURATION,
        ..Default::default()
    });
    let booker = caller.caller();
    let mut detail = service::create(&app, &booker, &request)
        .await
        .map_err(|f| problem(&caller, &f))?;
    if archived {
        detail = service::set_archived(&app, &booker, &detail.course.id, true)
            .await
            .map_err(|f| problem(&caller, &f))?;
    }
    let mut response = (StatusCode::CREATED, Json(CourseJson::detail(&detail))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/courses/{}", detail.course.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PATCH /courses/{id}`: the fields given change (`"archived": true` archives it).
pub async fn update(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: CourseBody = json::body(&caller, &bytes)?;
    let booker = caller.caller();
    let current = service::view(&app, &caller.actor(), &id)
        .await
        .map_err(|f| problem(&caller, &f))?;
    let archived = body.archived;
    let touches_fields = body.title.is_some()
        || body.code.is_some()
        || body.description.is_some()
        || body.default_duration_minutes.is_some()
        || body.trainers.is_some()
        || body.learners.is_some();
    let mut detail = current.clone();
    if touches_fields {
        let request = body.over(service::request_of(&current));
        detail = service::update(&app, &booker, &id, &request)
            .await
            .map_err(|f| problem(&caller, &f))?;
    }
    if let Some(archived) = archived.filter(|a| *a != detail.course.archived) {
        detail = service::set_archived(&app, &booker, &id, archived)
            .await
            .map_err(|f| problem(&caller, &f))?;
    }
    Ok(Json(CourseJson::detail(&detail)).into_response())
}
