//! Sessions: the agenda list, the archives, booking (single or recurring), the session page,
//! changing details (this one or this and following), the participants editor, cancelling.
//!
//! Every handler asks `web::booking` (and through it `domain::perm`) before showing or doing
//! anything; a session the viewer may not see answers 404 like one that does not exist.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::get};
use domain::booking::PersonInput;
use domain::repeat::WEEKDAY_CODES;
use domain::{Actor, Role, SessionAction, SessionFacts};
use jiff::Timestamp;
use store::{Course, ParticipantRole, SessionDetail, SessionFilter, User};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;
use crate::pages::session_form::{BookForm, Fields, Finder, PEOPLE_ROLES, PeopleForm, WhenForm};
use crate::pages::views::{self, SessionRow, SessionState, When};
use service::Error;
use service::booking::{self, DetailsChange, PeopleInput, Scope};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list).post(create))
        .route("/sessions/new", get(new_form))
        .route("/sessions/{id}", get(show))
        .route("/sessions/{id}/edit", get(edit_form).post(edit))
        .route("/sessions/{id}/participants", get(people_form).post(people))
        .route("/sessions/{id}/cancel", get(cancel_form).post(cancel))
        .route("/archives", get(archives))
}

/// Rows per page of the agenda and the archives.
pub const PAGE_SIZE: i64 = 50;

/// The query string as fields.
pub fn query(raw: Option<String>) -> Fields {
    Fields(
        raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
    )
}

/// A URL-encoded body as fields.
pub fn body(bytes: &Bytes) -> Fields {
    Fields(form_urlencoded::parse(bytes).into_owned().collect())
}

fn zone_of(ctx: &Ctx, app: &AppState) -> String {
    ctx.zone(app).to_owned()
}

/// The page number (1-based) of `?page=`.
/// Beyond any real agenda (a million pages of sessions).
const MAX_PAGE: i64 = 1_000_000;

/// The page asked for: 1 when absent or unreadable, at most [`MAX_PAGE`] (so the offset
/// computed from it cannot overflow).
fn page_number(fields: &Fields) -> i64 {
    fields
        .get("page")
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .unwrap_or(1)
        .min(MAX_PAGE)
}

/// Links to the previous and next pages, keeping the other query parameters.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub previous: Option<String>,
    pub next: Option<String>,
    pub number: i64,
}

impl Pager {
    fn new(path: &str, fields: &Fields, number: i64, has_more: bool) -> Pager {
        let link = |n: i64| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &fields.0 {
                if k != "page" && !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
            q.append_pair("page", &n.to_string());
            format!("{path}?{}", q.finish())
        };
        Pager {
            previous: (number > 1).then(|| link(number - 1)),
            next: has_more.then(|| link(number + 1)),
            number,
        }
    }
}

// ---- The agenda list ----

#[derive(Template)]
#[template(path = "sessions/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<SessionRow>,
    from: String,
    to: String,
    trainer: String,
    course: String,
    cancelled: bool,
    trainers: Vec<User>,
    courses: Vec<Course>,
    staff: bool,
    can_book: bool,
    errors: FieldErrors,
    pager: Pager,
}

async fn list(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let zone = zone_of(&ctx, &app);
    let fields = query(raw);
    let mut errors = FieldErrors::default();
    let date = |name: &'static str, errors: &mut FieldErrors| {
        let text = fields.get(name);
        if text.trim().is_empty() {
            return None;
        }
        match text.trim().parse::<jiff::civil::Date>() {
            Ok(d) => views::day_start(d, &zone),
            Err(_) => {
                errors.add(name, ctx.locale.t("session.form.date_invalid").to_owned());
                None
            }
        }
    };
    let today = views::start_of_day(app.now(), &zone);
    let from_text = fields.get("from");
    let from = if from_text.trim().is_empty() {
        Some(today.clone())
    } else {
        date("from", &mut errors)
    };
    // `to` is inclusive: up to the end of that day.
    let to = date("to", &mut errors).and_then(|d| d.tomorrow().ok());
    let staff = actor.role >= Role::Manager;
    let number = page_number(&fields);
    let filter = SessionFilter {
        from: from.as_ref().map(|z| z.timestamp()),
        to: to.map(|z| z.timestamp()),
        course_id: Some(fields.get("course")).filter(|c| staff && !c.is_empty()),
        include_cancelled: !fields.get("cancelled").is_empty(),
        limit: PAGE_SIZE + 1,
        offset: (number - 1) * PAGE_SIZE,
        ..Default::default()
    };
    let trainer = Some(fields.get("trainer")).filter(|t| staff && !t.is_empty());
    let mut found = match booking::list(app.service(), &actor, filter, trainer.as_deref()).await {
        Ok(found) => found,
        Err(e) if !e.problems().is_empty() => {
            errors.record(&e, ctx.locale, &zone, |f| f);
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let has_more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let choices = booking::choices(app.service(), &actor, true).await?;
    let (trainers, courses) = (choices.trainers, choices.courses);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html_status(
        status,
        &ListPage {
            page: Page::new(&ctx, "sessions.title", &app.config().default_time_zone),
            rows: SessionRow::rows_joinable(&found, &zone, ctx.locale, app.now(), &app.config().join),
            from: if from_text.trim().is_empty() {
                today.date().to_string()
            } else {
                from_text
            },
            to: fields.get("to"),
            trainer: fields.get("trainer"),
            course: fields.get("course"),
            cancelled: !fields.get("cancelled").is_empty(),
            trainers,
            courses,
            staff,
            can_book: booking::may(app.service(), &actor, SessionAction::Book, SessionFacts::default()),
            errors,
            pager: Pager::new("/sessions", &fields, number, has_more),
        },
    )
}

// ---- The archives ----

#[derive(Template)]
#[template(path = "sessions/archives.html")]
struct ArchivesPage {
    page: Page,
    rows: Vec<SessionRow>,
    pager: Pager,
}

async fn archives(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let zone = zone_of(&ctx, &app);
    let fields = query(raw);
    let number = page_number(&fields);
    let mut found = booking::list(
        app.service(),
        &actor,
        SessionFilter {
            ended_by: Some(app.now()),
            include_cancelled: true,
            newest_first: true,
            limit: PAGE_SIZE + 1,
            offset: (number - 1) * PAGE_SIZE,
            ..Default::default()
        },
        None,
    )
    .await?;
    let has_more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    html(&ArchivesPage {
        page: Page::new(&ctx, "archives.title", &app.config().default_time_zone),
        rows: SessionRow::rows(&found, &zone, ctx.locale, app.now()),
        pager: Pager::new("/archives", &fields, number, has_more),
    })
}

// ---- Booking ----

/// The weekday checkboxes: (code, label).
pub fn weekday_choices(page: &Page) -> Vec<(&'static str, &'static str)> {
    WEEKDAY_CODES
        .iter()
        .enumerate()
        .map(|(i, (code, _))| (*code, page.t(&format!("date.weekday.{}", i + 1))))
        .collect()
}

/// Both readings of a local time that happens twice, for the question the form asks.
#[derive(Debug, Clone)]
pub struct AmbiguityQuestion {
    pub message: String,
    pub earlier: String,
    pub later: String,
}

/// The question to ask when the start falls in a repeated hour: its message and the two
/// offsets to choose between, as the service's refusal says them.
fn ambiguity_question(error: &Error, page: &Page) -> Option<AmbiguityQuestion> {
    let problem = error
        .problems()
        .iter()
        .find(|p| p.message.key == "booking.error.ambiguous")?;
    let arg = |name: &str| {
        problem.message.args.iter().find_map(|(n, a)| match a {
            i18n::Arg::Text(t) if *n == name => Some(t.clone()),
            _ => None,
        })
    };
    Some(AmbiguityQuestion {
        message: problem.message.render_in(page.locale, &page.time_zone),
        earlier: arg("first")?,
        later: arg("second")?,
    })
}

/// The form's field (and anchor) for a booking error's field.
fn form_field(field: &'static str) -> &'static str {
    match field {
        "" => "form",
        "start" => "date",
        "participants" => "people",
        "course" => "course_id",
        other => other,
    }
}

/// Records an error's messages under the form's fields; returns the status to answer with.
fn record(error: &Error, errors: &mut FieldErrors, ctx: &Ctx, zone: &str) -> StatusCode {
    errors.record(error, ctx.locale, zone, form_field)
}

#[derive(Template)]
#[template(path = "sessions/new.html")]
struct NewPage {
    page: Page,
    form: BookForm,
    people: PeopleForm,
    errors: FieldErrors,
    trainers: Vec<User>,
    courses: Vec<Course>,
    /// Jitsi servers to choose from (id, name), for those who choose.
    servers: Vec<(String, String)>,
    staff: bool,
    zones: &'static [String],
    weekdays: Vec<(&'static str, &'static str)>,
    ambiguity: Option<AmbiguityQuestion>,
    roles: [crate::pages::session_form::PeopleRole; 3],
    repeats: [(&'static str, &'static str); 4],
}

/// The recurrence choices: (form value, catalogue key).
const REPEATS: [(&str, &str); 4] = [
    ("none", "session.repeat.none"),
    ("daily", "session.repeat.daily"),
    ("weekly", "session.repeat.weekly"),
    ("monthly", "session.repeat.monthly"),
];

async fn new_page(
    app: &AppState,
    ctx: &Ctx,
    actor: &Actor,
    form: BookForm,
    errors: FieldErrors,
    ambiguity: Option<AmbiguityQuestion>,
) -> Result<NewPage, AppError> {
    let staff = actor.may_manage_courses();
    let choices = booking::choices(app.service(), actor, false).await?;
    let page = Page::new(ctx, "sessions.new", &app.config().default_time_zone);
    Ok(NewPage {
        weekdays: weekday_choices(&page),
        page,
        people: form.people.clone(),
        form,
        errors,
        trainers: choices.trainers,
        courses: choices.courses,
        servers: choices.servers,
        staff,
        zones: crate::http::i18n::time_zone_names(),
        ambiguity,
        roles: PEOPLE_ROLES,
        repeats: REPEATS,
    })
}

/// The course's defaults in the form: title, duration, trainers, enrolled learners.
fn apply_course(form: &mut BookForm, course: &store::CourseDetail) {
    form.title = course.course.title.clone();
    form.when.duration = course.course.default_duration_minutes.to_string();
    form.people.trainers = course.trainers.iter().map(|t| t.email.clone()).collect();
    form.people.learners = course
        .learners
        .iter()
        .map(|l| crate::pages::session_form::PersonRow {
            name: l.full_name(),
            email: l.email.clone(),
        })
        .collect();
}

fn require_book(app: &AppState, actor: &Actor) -> Result<(), AppError> {
    booking::require(app.service(), actor, SessionAction::Book, SessionFacts::default()).map_err(AppError::from)
}

async fn new_form(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    require_book(&app, &actor)?;
    let user = ctx.require_user()?;
    let fields = query(raw);
    let zone = zone_of(&ctx, &app);
    let tomorrow = views::start_of_day(app.now(), &zone).date().tomorrow().ok();
    let date = fields
        .get("date")
        .parse::<jiff::civil::Date>()
        .ok()
        .or(tomorrow)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let mut form = BookForm {
        when: WhenForm {
            date,
            time: "09:00".into(),
            duration: "60".into(),
            time_zone: zone,
            ambiguity: String::new(),
        },
        ..Default::default()
    };
    form.repeat.repeat = "none".into();
    form.repeat.interval = "1".into();
    form.repeat.end = "count".into();
    form.people.blank = 2;
    if actor.role == Role::Trainer {
        form.people.trainers = vec![user.email.clone()];
    }
    let course_id = fields.get("course");
    if !course_id.is_empty()
        && actor.may_manage_courses()
        && let Ok(course) = service::courses::view(app.service(), &actor, &course_id).await
    {
        form.course_id = course.course.id.clone();
        apply_course(&mut form, &course);
    }
    html(&new_page(&app, &ctx, &actor, form, FieldErrors::default(), None).await?)
}

async fn create(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    let actor = ctx.actor()?;
    require_book(&app, &actor)?;
    let caller = ctx.caller()?;
    let zone = zone_of(&ctx, &app);
    let fields = body(&bytes);
    let mut form = BookForm::parse(&fields);
    let course = match form.course() {
        Some(id) if actor.may_manage_courses() => service::courses::view(app.service(), &actor, &id).await.ok(),
        _ => None,
    };
    // "Use the course's defaults", "more rows" and the address-book finder only show the form
    // again.
    if fields.has("apply_course") || fields.has("more") || Finder::asked(&fields) {
        if fields.has("apply_course")
            && let Some(course) = &course
        {
            apply_course(&mut form, course);
        }
        let people = &mut form.people;
        people.finder.run(&app, &actor, &fields, &mut people.learners).await?;
        return html(&new_page(&app, &ctx, &actor, form, FieldErrors::default(), None).await?);
    }
    if let Some(course) = &course {
        if form.title.trim().is_empty() {
            form.title = course.course.title.clone();
        }
        if form.when.duration.is_empty() {
            form.when.duration = course.course.default_duration_minutes.to_string();
        }
    }
    let mut errors = FieldErrors::default();
    let Some(request) = form.request(&mut errors, ctx.locale) else {
        let page = new_page(&app, &ctx, &actor, form, errors, None).await?;
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    if !errors.is_empty() {
        // The form has problems of its own; say the booking rules' too, all at once.
        let mut ambiguity = None;
        if let Err(problems) = domain::booking::plan(&request, app.now(), &app.config().booking.limits) {
            let failure = booking::invalid(&problems);
            let labels = Page::new(&ctx, "sessions.new", &app.config().default_time_zone);
            ambiguity = ambiguity_question(&failure, &labels);
            record(&failure, &mut errors, &ctx, &zone);
        }
        let page = new_page(&app, &ctx, &actor, form, errors, ambiguity).await?;
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    match booking::book(app.service(), &caller, form.course(), form.server(), &request).await {
        Ok(booked) => {
            let first = booked.first().map(|d| d.session.id.clone()).unwrap_or_default();
            Ok(Redirect::to(&format!("/sessions/{first}?notice=booked")).into_response())
        }
        Err(e) if e.problems().is_empty() => Err(e.into()),
        Err(failure) => {
            let page_for_labels = Page::new(&ctx, "sessions.new", &app.config().default_time_zone);
            let ambiguity = ambiguity_question(&failure, &page_for_labels);
            let status = record(&failure, &mut errors, &ctx, &zone);
            let page = new_page(&app, &ctx, &actor, form, errors, ambiguity).await?;
            html_status(status, &page)
        }
    }
}

// ---- The session page ----

/// A participant as shown.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub name: String,
    pub email: String,
    pub account: bool,
}

/// The people of a session by role, in the order the page shows them.
#[derive(Debug, Clone)]
pub struct Group {
    pub role: &'static str,
    pub label: &'static str,
    pub people: Vec<PersonView>,
}

fn groups(detail: &SessionDetail, page: &Page) -> Vec<Group> {
    ParticipantRole::ALL
        .into_iter()
        .map(|role| Group {
            role: role.as_str(),
            label: page.t(&format!("session.role.{}", role.as_str())),
            people: detail
                .with_role(role)
                .map(|p| PersonView {
                    name: p.name.clone(),
                    email: p.email.clone(),
                    account: p.user_id.is_some(),
                })
                .collect(),
        })
        .collect()
}

/// What the session page and its forms show of the session itself.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: String,
    pub title: String,
    pub notes: String,
    pub when: When,
    pub time_zone: String,
    pub duration_minutes: i64,
    pub state: SessionState,
    pub course: Option<(String, String)>,
    pub course_visible: bool,
    pub in_series: bool,
}

async fn session_view(app: &AppState, actor: &Actor, detail: &SessionDetail, zone: &str, page: &Page) -> SessionView {
    let s = &detail.session;
    let course = match &s.course_id {
        Some(id) => service::courses::view(app.service(), actor, id)
            .await
            .ok()
            .map(|c| (c.course.id, c.course.title)),
        None => None,
    };
    SessionView {
        id: s.id.clone(),
        title: s.title.clone(),
        notes: s.notes.clone(),
        when: When::of(s, zone, page.locale),
        time_zone: s.time_zone.clone(),
        duration_minutes: s.duration_minutes(),
        state: SessionState::of(s, app.now()),
        course,
        course_visible: actor.may_manage_courses(),
        in_series: s.series_id.is_some(),
    }
}

#[derive(Template)]
#[template(path = "sessions/show.html")]
struct ShowPage {
    page: Page,
    s: SessionView,
    groups: Vec<Group>,
    series: Vec<SessionRow>,
    can_edit: bool,
    can_people: bool,
    can_cancel: bool,
    /// Entering the room: the path, and when the staff's window opens (`None` once the
    /// session is over or cancelled).
    join: Option<JoinView>,
    /// The room's page (server, personal links) for those who manage either.
    room_page: bool,
    rsvp: crate::links::rsvp::RsvpSummary,
    presence: crate::pages::room::PresenceView,
    attendance: crate::pages::attendance::AttendanceView,
}

/// The join section of the session page.
struct JoinView {
    path: String,
    opens: String,
    open_now: bool,
}

/// The session `id` if the actor may see it; otherwise 404.
async fn visible(app: &AppState, actor: &Actor, id: &str) -> Result<(SessionDetail, SessionFacts), AppError> {
    booking::view(app.service(), actor, id).await.map_err(AppError::from)
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let (detail, facts) = visible(&app, &actor, &id).await?;
    let zone = zone_of(&ctx, &app);
    let page = Page::new(&ctx, "sessions.title", &app.config().default_time_zone).titled(detail.session.title.clone());
    let series = match &detail.session.series_id {
        Some(_) => {
            let sessions = booking::series(app.service(), &actor, &detail.session.id, Timestamp::MIN).await?;
            let now = app.now();
            sessions
                .into_iter()
                .map(|s| {
                    let summary = store::SessionSummary {
                        session: s,
                        course_title: None,
                        trainers: Vec::new(),
                        attendees: 0,
                    };
                    SessionRow::of(&summary, &zone, ctx.locale, now)
                })
                .collect()
        }
        None => Vec::new(),
    };
    let now = app.now();
    let window = domain::window::JoinWindow::for_participant(
        detail.session.starts_at,
        detail.session.ends_at,
        true,
        &app.config().join,
    );
    let join = (detail.session.status == store::SessionStatus::Scheduled
        && !matches!(window.state(now), domain::window::WindowState::Over))
    .then(|| JoinView {
        path: crate::links::join::staff_join_path(&detail.session.id),
        opens: page.datetime(&window.opens),
        open_now: window.is_open(now),
    });
    let presence =
        crate::pages::room::presence_view(&app, &actor, &detail.session.id, ctx.locale, &page.time_zone).await?;
    let attendance = crate::pages::attendance::section(&app, &actor, &detail.session.id, ctx.locale).await?;
    html(&ShowPage {
        s: session_view(&app, &actor, &detail, &zone, &page).await,
        groups: groups(&detail, &page),
        series,
        can_edit: booking::may(app.service(), &actor, SessionAction::EditDetails, facts),
        can_people: booking::may(app.service(), &actor, SessionAction::EditParticipants, facts),
        can_cancel: booking::may(app.service(), &actor, SessionAction::Cancel, facts),
        join,
        room_page: service::links::may_manage(app.service(), &actor, &detail) || actor.may_choose_jitsi_server(facts),
        rsvp: crate::links::rsvp::summary(&detail),
        presence,
        attendance,
        page,
    })
}

// ---- Changing details ----

#[derive(Template)]
#[template(path = "sessions/edit.html")]
struct EditPage {
    page: Page,
    s: SessionView,
    title: String,
    notes: String,
    course_id: String,
    when: WhenForm,
    scope: String,
    courses: Vec<Course>,
    staff: bool,
    errors: FieldErrors,
    ambiguity: Option<AmbiguityQuestion>,
}

/// The current details as the edit form shows them (date and time in the session's zone).
fn details_form(detail: &SessionDetail) -> (String, String, String, WhenForm) {
    let s = &detail.session;
    let local = s.starts_at.to_zoned(views::zone(&s.time_zone));
    (
        s.title.clone(),
        s.notes.clone(),
        s.course_id.clone().unwrap_or_default(),
        WhenForm {
            date: local.date().to_string(),
            time: views::hm(&local),
            duration: s.duration_minutes().to_string(),
            time_zone: s.time_zone.clone(),
            ambiguity: String::new(),
        },
    )
}

#[allow(clippy::too_many_arguments)]
async fn edit_page(
    app: &AppState,
    ctx: &Ctx,
    actor: &Actor,
    detail: &SessionDetail,
    (title, notes, course_id, when): (String, String, String, WhenForm),
    scope: String,
    errors: FieldErrors,
    ambiguity: Option<AmbiguityQuestion>,
) -> Result<EditPage, AppError> {
    let zone = zone_of(ctx, app);
    let page = Page::new(ctx, "sessions.edit", &app.config().default_time_zone);
    let staff = actor.may_manage_courses();
    Ok(EditPage {
        s: session_view(app, actor, detail, &zone, &page).await,
        page,
        title,
        notes,
        course_id,
        when,
        scope,
        courses: booking::choices(app.service(), actor, true).await?.courses,
        staff,
        errors,
        ambiguity,
    })
}

async fn edit_form(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let (detail, facts) = visible(&app, &actor, &id).await?;
    booking::require(app.service(), &actor, SessionAction::EditDetails, facts)?;
    let current = details_form(&detail);
    let page = edit_page(
        &app,
        &ctx,
        &actor,
        &detail,
        current,
        "this".into(),
        FieldErrors::default(),
        None,
    )
    .await?;
    html(&page)
}

async fn edit(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> AppResult {
    let actor = ctx.actor()?;
    let caller = ctx.caller()?;
    let (detail, facts) = visible(&app, &actor, &id).await?;
    let zone = zone_of(&ctx, &app);
    booking::require(app.service(), &actor, SessionAction::EditDetails, facts)?;
    let fields = body(&bytes);
    let (title0, notes0, course0, when0) = details_form(&detail);
    let title = fields.get("title");
    let notes = fields.get("notes");
    let course_id = if actor.may_manage_courses() {
        fields.get("course_id").trim().to_owned()
    } else {
        course0.clone()
    };
    let mut when = WhenForm::parse(&fields);
    when.time_zone = when0.time_zone.clone();
    let scope = Scope::parse(&fields.get("scope"));
    let mut errors = FieldErrors::default();
    let date = when.parse_date(&mut errors, ctx.locale);
    let time = when.parse_time(&mut errors, ctx.locale);
    let duration = when.parse_duration(&mut errors, ctx.locale);
    let shown = (title.clone(), notes.clone(), course_id.clone(), when.clone());
    if !errors.is_empty() {
        let page = edit_page(&app, &ctx, &actor, &detail, shown, scope.as_str().into(), errors, None).await?;
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // Only what changed is applied, so that "this and following" keeps each occurrence's own
    // values for the rest.
    let change = DetailsChange {
        date: date.filter(|d| d.to_string() != when0.date),
        time: time.filter(|t| format!("{:02}:{:02}", t.hour(), t.minute()) != when0.time),
        duration_minutes: duration.filter(|d| d.to_string() != when0.duration),
        ambiguity: when.ambiguity(),
        title: (title != title0).then(|| title.clone()),
        notes: (notes != notes0).then(|| notes.clone()),
        course_id: (course_id != course0).then(|| (!course_id.is_empty()).then(|| course_id.clone())),
    };
    match booking::change_details(app.service(), &caller, &id, scope, &change).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}?notice=session_saved")).into_response()),
        Err(e) if e.problems().is_empty() => Err(e.into()),
        Err(failure) => {
            let labels = Page::new(&ctx, "sessions.edit", &app.config().default_time_zone);
            let ambiguity = ambiguity_question(&failure, &labels);
            let status = record(&failure, &mut errors, &ctx, &zone);
            let page = edit_page(
                &app,
                &ctx,
                &actor,
                &detail,
                shown,
                scope.as_str().into(),
                errors,
                ambiguity,
            )
            .await?;
            html_status(status, &page)
        }
    }
}

// ---- Participants ----

#[derive(Template)]
#[template(path = "sessions/participants.html")]
struct PeoplePage {
    page: Page,
    s: SessionView,
    people: PeopleForm,
    errors: FieldErrors,
    trainers: Vec<User>,
    scope: String,
    roles: [crate::pages::session_form::PeopleRole; 3],
}

/// The people of a session as the editor shows them.
fn people_of(detail: &SessionDetail) -> PeopleInput {
    let person = |p: &store::Participant| PersonInput {
        name: p.name.clone(),
        email: p.email.clone(),
        ..Default::default()
    };
    PeopleInput {
        trainers: detail
            .with_role(ParticipantRole::Trainer)
            .map(|p| p.email.clone())
            .collect(),
        moderators: detail.with_role(ParticipantRole::Moderator).map(person).collect(),
        learners: detail.with_role(ParticipantRole::Learner).map(person).collect(),
        guests: detail.with_role(ParticipantRole::Guest).map(person).collect(),
    }
}

async fn people_page(
    app: &AppState,
    ctx: &Ctx,
    actor: &Actor,
    detail: &SessionDetail,
    people: PeopleForm,
    scope: String,
    errors: FieldErrors,
) -> Result<PeoplePage, AppError> {
    let zone = zone_of(ctx, app);
    let page = Page::new(ctx, "sessions.participants", &app.config().default_time_zone);
    Ok(PeoplePage {
        s: session_view(app, actor, detail, &zone, &page).await,
        page,
        people,
        errors,
        trainers: booking::trainer_choices(app.service(), actor, detail).await?,
        scope,
        roles: PEOPLE_ROLES,
    })
}

async fn people_form(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let (detail, facts) = visible(&app, &actor, &id).await?;
    booking::require(app.service(), &actor, SessionAction::EditParticipants, facts)?;
    let people = PeopleForm::of(&people_of(&detail));
    let page = people_page(
        &app,
        &ctx,
        &actor,
        &detail,
        people,
        "this".into(),
        FieldErrors::default(),
    )
    .await?;
    html(&page)
}

async fn people(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> AppResult {
    let actor = ctx.actor()?;
    let caller = ctx.caller()?;
    let (detail, facts) = visible(&app, &actor, &id).await?;
    let zone = zone_of(&ctx, &app);
    booking::require(app.service(), &actor, SessionAction::EditParticipants, facts)?;
    let fields = body(&bytes);
    let mut form = PeopleForm::parse(&fields);
    let scope = Scope::parse(&fields.get("scope"));
    if fields.has("more") || Finder::asked(&fields) {
        let people = &mut form;
        people.finder.run(&app, &actor, &fields, &mut people.learners).await?;
        return html(
            &people_page(
                &app,
                &ctx,
                &actor,
                &detail,
                form,
                scope.as_str().into(),
                FieldErrors::default(),
            )
            .await?,
        );
    }
    let mut errors = FieldErrors::default();
    let input = form.input(&mut errors, ctx.locale);
    if !errors.is_empty() {
        let page = people_page(&app, &ctx, &actor, &detail, form, scope.as_str().into(), errors).await?;
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    match booking::set_people(app.service(), &caller, &id, scope, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}?notice=participants_saved")).into_response()),
        Err(e) if e.problems().is_empty() => Err(e.into()),
        Err(failure) => {
            let status = record(&failure, &mut errors, &ctx, &zone);
            let page = people_page(&app, &ctx, &actor, &detail, form, scope.as_str().into(), errors).await?;
            html_status(status, &page)
        }
    }
}

// ---- Cancelling ----

#[derive(Template)]
#[template(path = "sessions/cancel.html")]
struct CancelPage {
    page: Page,
    s: SessionView,
    following: usize,
}

async fn cancel_form(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let (detail, facts) = visible(&app, &actor, &id).await?;
    let zone = zone_of(&ctx, &app);
    booking::require(app.service(), &actor, SessionAction::Cancel, facts)?;
    let following = booking::series(app.service(), &actor, &id, detail.session.starts_at)
        .await?
        .iter()
        .filter(|s| s.status == store::SessionStatus::Scheduled)
        .count();
    let page = Page::new(&ctx, "sessions.cancel", &app.config().default_time_zone);
    html(&CancelPage {
        s: session_view(&app, &actor, &detail, &zone, &page).await,
        page,
        following,
    })
}

async fn cancel(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> AppResult {
    let caller = ctx.caller()?;
    let form = body(&bytes);
    let scope = Scope::parse(&form.get("scope"));
    let message = form.get("message");
    match booking::cancel(app.service(), &caller, &id, scope, Some(message.as_str())).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}?notice=session_cancelled")).into_response()),
        Err(e) => Err(e.into()),
    }
}
