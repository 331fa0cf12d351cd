//! Courses (formations): list, create, edit, archive and unarchive, and the course page with its
//! sessions, default trainers and enrolled learners. Admins and managers only (`domain::perm`);
//! to a trainer a course id names nothing.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::get, routing::post};
use domain::Actor;
use domain::booking::{PersonInput, parse_people_list};
use domain::course::CourseRequest;
use store::{Course, CourseDetail, SessionFilter, User};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult, Message};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;
use crate::pages::session_form::{Fields, Finder, PersonRow};
use crate::pages::sessions::{body, query};
use crate::pages::views::SessionRow;
use service::Error;
use service::courses;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/courses", get(list).post(create))
        .route("/courses/new", get(new_form))
        .route("/courses/{id}", get(show).post(update))
        .route("/courses/{id}/edit", get(edit_form))
        .route("/courses/{id}/archive", post(archive))
        .route("/courses/{id}/unarchive", post(unarchive))
}

#[derive(Template)]
#[template(path = "courses/list.html")]
struct ListPage {
    page: Page,
    courses: Vec<Course>,
    archived: bool,
}

async fn list(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let archived = !query(raw).get("archived").is_empty();
    let courses = courses::list(app.service(), &actor, archived).await?;
    html(&ListPage {
        page: Page::new(&ctx, "courses.title", &app.config().default_time_zone),
        courses,
        archived,
    })
}

/// The course form as typed.
#[derive(Debug, Clone, Default)]
pub struct CourseForm {
    pub title: String,
    pub code: String,
    pub description: String,
    pub duration: String,
    /// `training` (the default), `skills_assessment`, `vae` or `apprenticeship`.
    pub action_nature: String,
    /// Emails of the trainer accounts ticked.
    pub trainers: Vec<String>,
    pub learners: Vec<PersonRow>,
    pub learners_paste: String,
    pub blank: usize,
    pub finder: Finder,
}

impl CourseForm {
    fn parse(fields: &Fields) -> CourseForm {
        CourseForm {
            title: fields.get("title"),
            code: fields.get("code"),
            description: fields.get("description"),
            duration: fields.get("duration").trim().to_owned(),
            action_nature: fields.get("action_nature"),
            trainers: fields.all("trainer"),
            learners: fields
                .all("learner_name")
                .into_iter()
                .zip(fields.all("learner_email"))
                .map(|(name, email)| PersonRow { name, email })
                .filter(|r| !r.name.trim().is_empty() || !r.email.trim().is_empty())
                .collect(),
            learners_paste: fields.get("learners_paste"),
            blank: if fields.has("more") { 5 } else { 2 },
            finder: Finder::parse(fields),
        }
    }

    fn of(detail: &CourseDetail) -> CourseForm {
        CourseForm {
            title: detail.course.title.clone(),
            code: detail.course.code.clone().unwrap_or_default(),
            description: detail.course.description.clone(),
            duration: detail.course.default_duration_minutes.to_string(),
            action_nature: detail.course.action_nature.as_str().to_owned(),
            trainers: detail.trainers.iter().map(|t| t.email.clone()).collect(),
            learners: detail
                .learners
                .iter()
                .map(|l| PersonRow {
                    name: l.full_name(),
                    email: l.email.clone(),
                })
                .collect(),
            learners_paste: String::new(),
            blank: 2,
            finder: Finder::default(),
        }
    }

    pub fn has_trainer(&self, email: &str) -> bool {
        self.trainers.iter().any(|t| t.eq_ignore_ascii_case(email))
    }

    /// The request, or `None` with the form's own problems recorded.
    fn request(&self, errors: &mut FieldErrors, locale: domain::Locale) -> Option<CourseRequest> {
        let duration = match self.duration.parse::<i64>() {
            Ok(m) => Some(m),
            Err(_) => {
                errors.add("duration", Message::new("session.form.duration_invalid").render(locale));
                None
            }
        };
        let mut learners: Vec<PersonInput> = self
            .learners
            .iter()
            .map(|r| PersonInput {
                name: r.name.trim().to_owned(),
                email: r.email.trim().to_owned(),
                ..Default::default()
            })
            .collect();
        let (pasted, bad) = parse_people_list(&self.learners_paste);
        for line in bad {
            let why = service::messages::user_input(&line.error).render(locale);
            errors.add(
                "learners_paste",
                Message::new("session.form.paste_line")
                    .arg("line", line.line)
                    .arg("text", &line.text)
                    .arg("why", why)
                    .render(locale),
            );
        }
        learners.extend(pasted.into_iter().map(|p| PersonInput {
            name: p.name.into_string(),
            email: p.email.into_string(),
            ..Default::default()
        }));
        let duration = duration?;
        if !errors.is_empty() {
            return None;
        }
        Some(CourseRequest {
            title: self.title.clone(),
            code: self.code.clone(),
            description: self.description.clone(),
            default_duration_minutes: duration,
            trainers: self.trainers.clone(),
            learners,
            action_nature: self.action_nature.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "courses/form.html")]
struct FormPage {
    page: Page,
    /// `None` for a new course.
    id: Option<String>,
    form: CourseForm,
    errors: FieldErrors,
    trainers: Vec<User>,
    natures: [domain::course::ActionNature; 4],
}

async fn form_page(
    app: &AppState,
    ctx: &Ctx,
    id: Option<String>,
    form: CourseForm,
    errors: FieldErrors,
) -> Result<FormPage, AppError> {
    let title_key = if id.is_some() { "courses.edit" } else { "courses.new" };
    Ok(FormPage {
        page: Page::new(ctx, title_key, &app.config().default_time_zone),
        id,
        form,
        errors,
        trainers: service::booking::choices(app.service(), &ctx.actor()?, false)
            .await?
            .trainers,
        natures: domain::course::ActionNature::ALL,
    })
}

fn require_staff(actor: &Actor) -> Result<(), AppError> {
    if actor.may_manage_courses() {
        Ok(())
    } else {
        Err(AppError::FORBIDDEN)
    }
}

async fn new_form(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    require_staff(&ctx.actor()?)?;
    let form = CourseForm {
        duration: "60".into(),
        action_nature: "training".into(),
        blank: 2,
        ..Default::default()
    };
    html(&form_page(&app, &ctx, None, form, FieldErrors::default()).await?)
}

/// Shows the form again with the error's messages, or the error page when it explains no field.
async fn refused(app: &AppState, ctx: &Ctx, id: Option<String>, form: CourseForm, error: Error) -> AppResult {
    if error.problems().is_empty() {
        return Err(error.into());
    }
    let mut errors = FieldErrors::default();
    let zone = ctx.zone(app);
    let status = errors.record(
        &error,
        ctx.locale,
        zone,
        |field| if field.is_empty() { "form" } else { field },
    );
    let page = form_page(app, ctx, id, form, errors).await?;
    html_status(status, &page)
}

async fn create(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    require_staff(&ctx.actor()?)?;
    let caller = ctx.caller()?;
    let fields = body(&bytes);
    let mut form = CourseForm::parse(&fields);
    if fields.has("more") || Finder::asked(&fields) {
        let actor = ctx.actor()?;
        form.finder.run(&app, &actor, &fields, &mut form.learners).await?;
        return html(&form_page(&app, &ctx, None, form, FieldErrors::default()).await?);
    }
    let mut errors = FieldErrors::default();
    let Some(request) = form.request(&mut errors, ctx.locale) else {
        let page = form_page(&app, &ctx, None, form, errors).await?;
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    match courses::create(app.service(), &caller, &request).await {
        Ok(detail) => Ok(Redirect::to(&format!("/courses/{}?notice=course_created", detail.course.id)).into_response()),
        Err(failure) => refused(&app, &ctx, None, form, failure).await,
    }
}

#[derive(Template)]
#[template(path = "courses/show.html")]
struct ShowPage {
    page: Page,
    detail: CourseDetail,
    upcoming: Vec<SessionRow>,
    past: Vec<SessionRow>,
    course_attendance: crate::pages::course_attendance::CourseAttendanceView,
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let detail = courses::view(app.service(), &actor, &id).await?;
    let zone = ctx
        .user()
        .map_or_else(|| app.config().default_time_zone.clone(), |u| u.time_zone.clone());
    let now = app.now();
    let upcoming = service::booking::list(
        app.service(),
        &actor,
        SessionFilter {
            course_id: Some(id.clone()),
            from: Some(now),
            limit: 100,
            ..Default::default()
        },
        None,
    )
    .await?;
    let past = service::booking::list(
        app.service(),
        &actor,
        SessionFilter {
            course_id: Some(id.clone()),
            ended_by: Some(now),
            newest_first: true,
            include_cancelled: true,
            limit: 20,
            ..Default::default()
        },
        None,
    )
    .await?;
    let course_attendance = crate::pages::course_attendance::section(&app, &actor, &id, ctx.locale).await?;
    html(&ShowPage {
        page: Page::new(&ctx, "courses.title", &app.config().default_time_zone).titled(detail.course.title.clone()),
        course_attendance,
        upcoming: SessionRow::rows(&upcoming, &zone, ctx.locale, now),
        past: SessionRow::rows(&past, &zone, ctx.locale, now),
        detail,
    })
}

async fn edit_form(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let detail = courses::view(app.service(), &actor, &id).await?;
    html(&form_page(&app, &ctx, Some(id), CourseForm::of(&detail), FieldErrors::default()).await?)
}

async fn update(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> AppResult {
    let actor = ctx.actor()?;
    let caller = ctx.caller()?;
    courses::view(app.service(), &actor, &id).await?;
    let fields = body(&bytes);
    let mut form = CourseForm::parse(&fields);
    if fields.has("more") || Finder::asked(&fields) {
        form.finder.run(&app, &actor, &fields, &mut form.learners).await?;
        return html(&form_page(&app, &ctx, Some(id), form, FieldErrors::default()).await?);
    }
    let mut errors = FieldErrors::default();
    let Some(request) = form.request(&mut errors, ctx.locale) else {
        let page = form_page(&app, &ctx, Some(id), form, errors).await?;
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    match courses::update(app.service(), &caller, &id, &request).await {
        Ok(_) => Ok(Redirect::to(&format!("/courses/{id}?notice=course_saved")).into_response()),
        Err(failure) => refused(&app, &ctx, Some(id), form, failure).await,
    }
}

async fn set_archived(app: AppState, ctx: Ctx, id: String, archived: bool) -> AppResult {
    let caller = ctx.caller()?;
    courses::set_archived(app.service(), &caller, &id, archived).await?;
    let notice = if archived {
        "course_archived"
    } else {
        "course_unarchived"
    };
    Ok(Redirect::to(&format!("/courses/{id}?notice={notice}")).into_response())
}

async fn archive(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_archived(app, ctx, id, true).await
}

async fn unarchive(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_archived(app, ctx, id, false).await
}
