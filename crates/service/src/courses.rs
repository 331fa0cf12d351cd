//! Courses, for the pages and the JSON API: planned by admins and managers (`domain::perm`); to
//! anyone else a course id names nothing (404).

use domain::course::{CourseError, CourseRequest, plan_course};
use domain::{Actor, Role};
use store::{BookingRefusal, Course, CourseDetail, CourseInput};

use crate::booking::refusal;
use crate::error::{Error, Problem, Result};
use crate::{Caller, Service, messages};

/// Every problem of an invalid course, each with its field.
pub fn invalid(errors: &[CourseError]) -> Error {
    Error::Invalid(
        errors
            .iter()
            .map(|e| Problem::new(e.field(), messages::course(e)))
            .collect(),
    )
}

fn staff(actor: &Actor, refused: Error) -> Result<()> {
    if actor.may_manage_courses() {
        Ok(())
    } else {
        Err(refused)
    }
}

/// Courses by title (archived ones too when asked).
pub async fn list(svc: &Service, actor: &Actor, include_archived: bool) -> Result<Vec<Course>> {
    staff(actor, Error::Forbidden)?;
    Ok(svc.store().list_courses(include_archived).await?)
}

/// A course the actor may see.
pub async fn view(svc: &Service, actor: &Actor, id: &str) -> Result<CourseDetail> {
    staff(actor, Error::NotFound)?;
    svc.store().course(id).await?.ok_or(Error::NotFound)
}

/// Checks the request and finds its trainers' accounts.
async fn input(svc: &Service, caller: &Caller, request: &CourseRequest) -> Result<CourseInput> {
    let plan = plan_course(request, &svc.config().booking.limits).map_err(|e| invalid(&e))?;
    let mut trainer_ids = Vec::new();
    for email in &plan.trainers {
        match svc.store().user_by_email(email.as_str()).await? {
            Some(u) if u.active && u.role == Role::Trainer => trainer_ids.push(u.id),
            Some(u) if u.active => {
                return Err(refusal(&BookingRefusal::NotATrainer {
                    email: u.email,
                    role: u.role,
                }));
            }
            _ => {
                return Err(refusal(&BookingRefusal::UnknownTrainer {
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
        action_nature: plan.action_nature,
    })
}

pub async fn create(svc: &Service, caller: &Caller, request: &CourseRequest) -> Result<CourseDetail> {
    staff(&caller.actor, Error::Forbidden)?;
    let input = input(svc, caller, request).await?;
    Ok(svc
        .store()
        .create_course(&input, svc.now(), &caller.audit("course.create"))
        .await?)
}

/// Replaces a course's fields, trainers and learners (its owner stays).
pub async fn update(svc: &Service, caller: &Caller, id: &str, request: &CourseRequest) -> Result<CourseDetail> {
    let current = view(svc, &caller.actor, id).await?;
    let mut input = input(svc, caller, request).await?;
    input.owner_id = current.course.owner_id;
    Ok(svc
        .store()
        .update_course(id, &input, svc.now(), &caller.audit("course.update"))
        .await?)
}

pub async fn set_archived(svc: &Service, caller: &Caller, id: &str, archived: bool) -> Result<CourseDetail> {
    view(svc, &caller.actor, id).await?;
    let action = if archived { "course.archive" } else { "course.unarchive" };
    svc.store()
        .set_course_archived(id, archived, svc.now(), &caller.audit(action))
        .await?;
    view(svc, &caller.actor, id).await
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
                name: l.full_name(),
                email: l.email.clone(),
                ..Default::default()
            })
            .collect(),
        action_nature: detail.course.action_nature.as_str().to_owned(),
    }
}
