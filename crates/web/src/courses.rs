//! The course service, shared by the pages and the JSON API: courses are planned by admins and
//! managers (`domain::perm`); to anyone else a course id names nothing (404).

use domain::course::{CourseError, CourseRequest, plan_course};
use domain::{Actor, Locale, Role};
use store::{BookingRefusal, Course, CourseDetail, CourseInput, StoreError};

use crate::booking::{Caller, booking_error_message, refusal_message};
use crate::error::{AppError, Message};
use crate::state::AppState;

/// Why a course operation failed.
#[derive(Debug)]
pub enum CourseFailure {
    Invalid(Vec<CourseError>),
    Refused(BookingRefusal),
    /// Unknown course, or the actor may not see courses.
    NotFound,
    /// The actor may not plan courses.
    Forbidden,
    Internal(String),
}

impl From<StoreError> for CourseFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Booking(r) => CourseFailure::Refused(r),
            StoreError::NotFound => CourseFailure::NotFound,
            other => CourseFailure::Internal(other.to_string()),
        }
    }
}

/// The catalogue message for a refused course field.
pub fn course_error_message(e: &CourseError) -> Message {
    match e {
        CourseError::Booking(b) => booking_error_message(b),
        CourseError::CodeTooLong { max } => Message::new("course.error.code_too_long").arg("max", max),
        CourseError::CodeInvalid => Message::new("course.error.code_invalid"),
        CourseError::DescriptionTooLong { max } => Message::new("course.error.description_too_long").arg("max", max),
    }
}

impl CourseFailure {
    /// Each problem with its field (`""` for the request as a whole), in `locale`.
    pub fn messages(&self, locale: Locale) -> Vec<(&'static str, String)> {
        match self {
            CourseFailure::Invalid(errors) => errors
                .iter()
                .map(|e| (e.field(), course_error_message(e).render(locale)))
                .collect(),
            CourseFailure::Refused(r) => {
                let field = match r {
                    BookingRefusal::CourseCodeTaken { .. } => "code",
                    BookingRefusal::UnknownTrainer { .. } | BookingRefusal::NotATrainer { .. } => "trainers",
                    _ => "",
                };
                vec![(field, refusal_message(r, "UTC", locale).render(locale))]
            }
            CourseFailure::NotFound => vec![("", Message::new("error.not_found").render(locale))],
            CourseFailure::Forbidden => vec![("", Message::new("error.forbidden").render(locale))],
            CourseFailure::Internal(_) => vec![("", Message::new("error.internal").render(locale))],
        }
    }

    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            CourseFailure::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CourseFailure::Refused(BookingRefusal::CourseCodeTaken { .. }) => StatusCode::CONFLICT,
            CourseFailure::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CourseFailure::NotFound => StatusCode::NOT_FOUND,
            CourseFailure::Forbidden => StatusCode::FORBIDDEN,
            CourseFailure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The page error for this failure, in `locale`.
    pub fn into_app_error(self, locale: Locale) -> AppError {
        match self {
            CourseFailure::NotFound => AppError::NotFound,
            CourseFailure::Forbidden => AppError::Forbidden,
            CourseFailure::Internal(e) => AppError::Internal(e),
            CourseFailure::Refused(r) => AppError::Conflict(refusal_message(&r, "UTC", locale)),
            CourseFailure::Invalid(errors) => match errors.first() {
                Some(e) => AppError::Invalid(course_error_message(e)),
                None => AppError::Invalid(Message::new("error.internal")),
            },
        }
    }
}

fn staff(actor: &Actor, refusal: CourseFailure) -> Result<(), CourseFailure> {
    if actor.may_manage_courses() {
        Ok(())
    } else {
        Err(refusal)
    }
}

/// Courses by title (archived ones too when asked).
pub async fn list(app: &AppState, actor: &Actor, include_archived: bool) -> Result<Vec<Course>, CourseFailure> {
    staff(actor, CourseFailure::Forbidden)?;
    Ok(app.store().list_courses(include_archived).await?)
}

/// A course the actor may see.
pub async fn view(app: &AppState, actor: &Actor, id: &str) -> Result<CourseDetail, CourseFailure> {
    staff(actor, CourseFailure::NotFound)?;
    app.store().course(id).await?.ok_or(CourseFailure::NotFound)
}

/// Checks the request and finds its trainers' accounts.
async fn input(app: &AppState, caller: &Caller, request: &CourseRequest) -> Result<CourseInput, CourseFailure> {
    let plan = plan_course(request, &app.config().booking.limits).map_err(CourseFailure::Invalid)?;
    let mut trainer_ids = Vec::new();
    for email in &plan.trainers {
        match app.store().user_by_email(email.as_str()).await? {
            Some(u) if u.active && u.role == Role::Trainer => trainer_ids.push(u.id),
            Some(u) if u.active => {
                return Err(CourseFailure::Refused(BookingRefusal::NotATrainer {
                    email: u.email,
                    role: u.role,
                }));
            }
            _ => {
                return Err(CourseFailure::Refused(BookingRefusal::UnknownTrainer {
                    email: email.as_str().to_owned(),
                }));
            }
        }
    }
    Ok(CourseInput {
        title: plan.title,
        code: plan.code,
        description: plan.description,
        default_duration_minutes: plan.default_duration.as_mins(),
        owner_id: caller.actor.user_id.clone(),
        trainer_ids,
        learners: plan.learners,
    })
}

pub async fn create(app: &AppState, caller: &Caller, request: &CourseRequest) -> Result<CourseDetail, CourseFailure> {
    staff(&caller.actor, CourseFailure::Forbidden)?;
    let input = input(app, caller, request).await?;
    Ok(app
        .store()
        .create_course(&input, &caller.audit("course.create"))
        .await?)
}

/// Replaces a course's fields, trainers and learners (its owner stays).
pub async fn update(
    app: &AppState,
    caller: &Caller,
    id: &str,
    request: &CourseRequest,
) -> Result<CourseDetail, CourseFailure> {
    let current = view(app, &caller.actor, id).await?;
    let mut input = input(app, caller, request).await?;
    input.owner_id = current.course.owner_id;
    Ok(app
        .store()
        .update_course(id, &input, &caller.audit("course.update"))
        .await?)
}

pub async fn set_archived(
    app: &AppState,
    caller: &Caller,
    id: &str,
    archived: bool,
) -> Result<CourseDetail, CourseFailure> {
    view(app, &caller.actor, id).await?;
    let action = if archived { "course.archive" } else { "course.unarchive" };
    app.store()
        .set_course_archived(id, archived, &caller.audit(action))
        .await?;
    view(app, &caller.actor, id).await
}

/// The request a course's current state would make (to edit it, or as an API PATCH base).
pub fn request_of(detail: &CourseDetail) -> CourseRequest {
    CourseRequest {
        title: detail.course.title.clone(),
        code: detail.course.code.clone().unwrap_or_default(),
        description: detail.course.description.clone(),
        default_duration_minutes: detail.course.default_duration_minutes,
        trainers: detail.trainers.iter().map(|t| t.email.clone()).collect(),
        learners: detail
            .learners
            .iter()
            .map(|l| domain::booking::PersonInput {
                name: l.name.clone(),
                email: l.email.clone(),
            })
            .collect(),
    }
}
