//! `/api/v1/courses`: list, create, read, change (including archiving). Admins and managers
//! only, as on the pages; to a trainer a course id names nothing (404).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use domain::booking::BookingLimits;
use domain::course::{CourseError, CourseRequest, MAX_CODE_CHARS, MAX_DESCRIPTION_CHARS};
use serde::Deserialize;
use service::Problem;
use utoipa::{IntoParams, ToSchema};

use super::json::{self, Changes, CourseJson, CourseList, PersonJson};
use super::sessions::EmailAddress;
use super::{ApiCaller, ApiError, BadRequest, Conflict, ForCaller, Forbidden, Invalid, NotFound, Unauthorized};
use crate::http::state::AppState;
use service::courses;

/// The API's name for a field of a course.
fn course_field(field: &str) -> &str {
    match field {
        "duration" => "default_duration_minutes",
        other => other,
    }
}

/// The filter of `GET /courses`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CourseQuery {
    /// Include archived courses
    #[param(default = false)]
    pub archived: Option<bool>,
}

impl CourseQuery {
    fn read(raw: Option<String>) -> Result<CourseQuery, Vec<Problem>> {
        let fields = crate::pages::sessions::query(raw);
        Ok(CourseQuery {
            archived: json::flag(&fields, "archived").map_err(|p| vec![p])?,
        })
    }
}

/// Courses by title (admins and managers)
#[utoipa::path(
    get,
    path = "/courses",
    operation_id = "listCourses",
    params(CourseQuery),
    responses(
        (status = 200, description = "The courses", body = CourseList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn list(
    State(app): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = CourseQuery::read(raw).map_err(|e| caller.fail(service::Error::Invalid(e)))?;
    let courses = courses::list(app.service(), &caller.actor(), query.archived.unwrap_or(false))
        .await
        .api_named(&caller, course_field)?;
    Ok(Json(CourseList {
        items: courses.iter().map(CourseJson::of).collect(),
    })
    .into_response())
}

/// A course with its default trainers and enrolled learners
#[utoipa::path(
    get,
    path = "/courses/{id}",
    operation_id = "readCourse",
    params(("id" = String, Path, description = "The course")),
    responses(
        (status = 200, description = "The course", body = CourseJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
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

/// A course to create, or what changes in one (at least one field).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = CourseInput)]
pub struct CourseBody {
    /// Required to create
    pub title: Option<String>,
    /// A unique reference: letters, digits, - _ . /
    #[serde(default, deserialize_with = "json::nullable")]
    pub code: Option<Option<String>>,
    pub description: Option<String>,
    #[schema(default = 60)]
    pub default_duration_minutes: Option<i64>,
    /// Emails of trainer accounts
    #[schema(value_type = Option<Vec<EmailAddress>>)]
    pub trainers: Option<Vec<String>>,
    /// Enrolled learners (duplicates merged), at most the configured number of participants
    pub learners: Option<Vec<PersonJson>>,
    /// What its certificates of completion state; `training` when a course is created without
    #[schema(value_type = Option<super::json::ActionNature>)]
    pub action_nature: Option<String>,
    pub archived: Option<bool>,
}

impl CourseBody {
    /// Every field changes something; `code: null` removes the code.
    pub const CHANGES: Changes = Changes {
        fields: &[
            "title",
            "code",
            "description",
            "default_duration_minutes",
            "trainers",
            "learners",
            "action_nature",
            "archived",
        ],
        null_changes: &["code"],
    };

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
            learners: json::people(self.learners).unwrap_or(base.learners),
            action_nature: self.action_nature.unwrap_or(base.action_nature),
        }
    }
}

/// Text longer as sent than the document's `maxLength` (the rules trim it first): refused with
/// the rules' own messages, so the two agree.
fn as_sent(caller: &ApiCaller, limits: &BookingLimits, body: &CourseBody) -> Result<(), ApiError> {
    let mut errors: Vec<CourseError> = super::sessions::as_sent(limits, body.title.as_deref(), None)
        .into_iter()
        .map(CourseError::Booking)
        .collect();
    if body
        .code
        .as_ref()
        .and_then(Option::as_deref)
        .is_some_and(|c| c.chars().count() > MAX_CODE_CHARS)
    {
        errors.push(CourseError::CodeTooLong { max: MAX_CODE_CHARS });
    }
    if body
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        errors.push(CourseError::DescriptionTooLong {
            max: MAX_DESCRIPTION_CHARS,
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError {
            field_names: course_field,
            ..caller.fail(courses::invalid(&errors))
        })
    }
}

/// Default session length of a course created without one.
const DEFAULT_DURATION: i64 = 60;

/// Create a course (admins and managers)
#[utoipa::path(
    post,
    path = "/courses",
    operation_id = "createCourse",
    request_body(content = CourseBody, description = "The course"),
    responses(
        (status = 201, description = "The course; `Location` names it", body = CourseJson,
            headers(("Location" = String, description = "The course"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create(State(app): State<AppState>, caller: ApiCaller, bytes: Bytes) -> Result<Response, ApiError> {
    let body: CourseBody = json::body(&caller, &bytes)?;
    as_sent(&caller, &app.config().booking.limits, &body)?;
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
    let location = format!("/api/v1/courses/{}", detail.course.id);
    Ok(json::created(CourseJson::detail(&detail), Some(location)))
}

/// Change a course; `archived: true` archives it, `false` brings it back
///
/// The fields given change, the others stay; a request that changes nothing is refused (422).
#[utoipa::path(
    patch,
    path = "/courses/{id}",
    operation_id = "changeCourse",
    params(("id" = String, Path, description = "The course")),
    request_body(content = CourseBody, description = "The fields that change"),
    responses(
        (status = 200, description = "The course", body = CourseJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn update(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: CourseBody = json::change(&caller, &bytes, &CourseBody::CHANGES)?;
    as_sent(&caller, &app.config().booking.limits, &body)?;
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
        || body.learners.is_some()
        || body.action_nature.is_some();
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
