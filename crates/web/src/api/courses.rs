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
use super::{ApiCaller, ApiError, ForCaller};
use crate::http::state::AppState;
use service::courses;

/// The API's name for a field of a course.
fn course_field(field: &str) -> &str {
    match field {
        "duration" => "default_duration_minutes",
        other => other,
    }
}

/// `GET /courses[?archived=true]`.
pub async fn list(
    State(app): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let fields = crate::pages::sessions::query(raw);
    let archived = matches!(fields.get("archived").trim(), "true" | "1" | "yes");
    let courses = courses::list(app.service(), &caller.actor(), archived)
        .await
        .api_named(&caller, course_field)?;
    Ok(Json(serde_json::json!({ "items": courses.iter().map(CourseJson::of).collect::<Vec<_>>() })).into_response())
}

/// `GET /courses/{id}`.
pub async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let detail = courses::view(app.service(), &caller.actor(), &id)
        .await
        .api_named(&caller, course_field)?;
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
    let mut detail = courses::create(app.service(), &booker, &request)
        .await
        .api_named(&caller, course_field)?;
    if archived {
        detail = courses::set_archived(app.service(), &booker, &detail.course.id, true)
            .await
            .api_named(&caller, course_field)?;
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
    let current = courses::view(app.service(), &caller.actor(), &id)
        .await
        .api_named(&caller, course_field)?;
    let archived = body.archived;
    let touches_fields = body.title.is_some()
        || body.code.is_some()
        || body.description.is_some()
        || body.default_duration_minutes.is_some()
        || body.trainers.is_some()
        || body.learners.is_some();
    let mut detail = current.clone();
    if touches_fields {
        let request = body.over(courses::request_of(&current));
        detail = courses::update(app.service(), &booker, &id, &request)
            .await
            .api_named(&caller, course_field)?;
    }
    if let Some(archived) = archived.filter(|a| *a != detail.course.archived) {
        detail = courses::set_archived(app.service(), &booker, &id, archived)
            .await
            .api_named(&caller, course_field)?;
    }
    Ok(Json(CourseJson::detail(&detail)).into_response())
}
