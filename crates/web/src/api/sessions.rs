//! `/api/v1/sessions`: book (one session or a series), read, list with filters and pages,
//! change details (this one or this and following), replace participants, cancel. The same
//! service and permissions as the pages (`web::booking`); refusals are problem details with
//! one entry per field, in the caller's language.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use domain::Role;
use domain::booking::{BookingError, BookingLimits, PersonInput, SessionRequest, StartSpec};
use domain::localtime::{Ambiguity, TimeZoneName, resolve_local};
use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::Deserialize;
use store::SessionFilter;
use utoipa::{IntoParams, ToSchema};

use super::json::{
    self, Ambiguity as AmbiguityJson, ChangeScope, Changes, PersonJson, SessionJson, SessionPage, Sessions,
};
use super::{ApiCaller, ApiError, BadRequest, Conflict, ForCaller, Forbidden, Invalid, NotFound, Unauthorized};
use crate::http::error::AppError;
use crate::http::error::Message;
use crate::http::state::AppState;
use service::Problem;
use service::booking::{self, DetailsChange, PeopleInput};

fn invalid(caller: &ApiCaller, problems: Vec<Problem>) -> ApiError {
    caller.fail(service::Error::Invalid(problems))
}

/// A start as the API takes it: RFC 3339 with an offset (an instant), or a local date and time
/// without one (read in the session's zone).
enum Start {
    Instant(Timestamp),
    Local(DateTime),
}

fn parse_start(text: &str) -> Option<Start> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(Start::Instant(at));
    }
    text.parse::<DateTime>().ok().map(Start::Local)
}

fn required(field: &'static str) -> Problem {
    Problem::new(field, Message::new("api.error.required"))
}

/// A session to book: one, or a series with `recurrence`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewSession {
    /// Any script; default: the course's title
    pub title: Option<String>,
    pub notes: Option<String>,
    /// RFC 3339 with an offset (an instant), or a local date and time without one, read in
    /// `time_zone`. Must be in the future, and at most ten years ahead.
    #[schema(required = true, nullable = false)]
    pub starts_at: Option<String>,
    /// IANA zone, e.g. Europe/Paris
    #[schema(required = true, nullable = false)]
    pub time_zone: Option<String>,
    /// Within the configured limits; default: the course's
    pub duration_minutes: Option<i64>,
    /// Emails of trainer accounts; default: the course's default trainers, or the caller when a
    /// trainer. Trainers and moderators together are at most the configured limit.
    #[schema(value_type = Option<Vec<EmailAddress>>)]
    pub trainers: Option<Vec<String>>,
    /// An email of an active account makes an account moderator, any other an external one
    pub moderators: Option<Vec<PersonJson>>,
    /// Default: the course's enrolled learners. Learners and guests together are at most the
    /// configured limit.
    pub learners: Option<Vec<PersonJson>>,
    pub guests: Option<Vec<PersonJson>>,
    pub course_id: Option<String>,
    /// Pin the sessions to this Jitsi server (admins and managers); default: the default server.
    /// An unknown id is refused (422).
    pub jitsi_server_id: Option<String>,
    /// An RFC 5545 RRULE: FREQ=DAILY|WEEKLY|MONTHLY, INTERVAL, BYDAY, BYMONTHDAY, COUNT or UNTIL
    /// (required), WKST. The first session must fall on a day the rule chooses.
    pub recurrence: Option<String>,
    pub ambiguity: Option<AmbiguityJson>,
}

/// An email address (for the document: request fields that take emails).
#[derive(ToSchema)]
#[schema(format = Email)]
pub struct EmailAddress(pub String);

/// The document's `maxLength` counts text as sent; the rules count it with the spaces around it
/// trimmed. Text longer as sent is refused here, with the rules' own message, so the two agree.
pub fn as_sent(limits: &BookingLimits, title: Option<&str>, notes: Option<&str>) -> Vec<BookingError> {
    let mut errors = Vec::new();
    if title.is_some_and(|t| t.chars().count() > limits.max_title_chars) {
        errors.push(BookingError::TitleTooLong {
            max: limits.max_title_chars,
        });
    }
    if notes.is_some_and(|n| n.chars().count() > limits.max_notes_chars) {
        errors.push(BookingError::NotesTooLong {
            max: limits.max_notes_chars,
        });
    }
    errors
}

/// A session as `caller` may read it: its participants carry their personal links when the
/// caller manages them (an LMS or CRM that sends its own messages needs them).
fn detail_json(app: &AppState, caller: &ApiCaller, detail: &store::SessionDetail, now: Timestamp) -> SessionJson {
    let mut json = SessionJson::detail(detail, now);
    if service::links::may_manage(app.service(), &caller.actor(), detail)
        && let Some(people) = json.participants.as_mut()
    {
        for (person, participant) in people.iter_mut().zip(&detail.participants) {
            person.join_url = Some(service::links::join_url(app.service(), participant));
        }
    }
    json
}

/// `{"sessions": [...]}`, each as [`detail_json`] gives it.
fn sessions_json(app: &AppState, caller: &ApiCaller, details: &[store::SessionDetail], now: Timestamp) -> Sessions {
    Sessions {
        sessions: details.iter().map(|d| detail_json(app, caller, d, now)).collect(),
    }
}

fn created(
    app: &AppState,
    caller: &ApiCaller,
    details: &[store::SessionDetail],
    server: Option<String>,
    now: Timestamp,
) -> Response {
    let mut sessions = sessions_json(app, caller, details, now);
    // One booking pins all its occurrences to one server.
    for s in &mut sessions.sessions {
        s.jitsi_server_id = server.clone();
    }
    let location = details
        .first()
        .map(|first| format!("/api/v1/sessions/{}", first.session.id));
    json::created(sessions, location)
}

/// Book a session, or every occurrence of a series (all or nothing)
///
/// A trainer books only sessions they teach, and only while the setting `trainers_can_book` is
/// on. With `course_id`, the course's title, default duration, default trainers and enrolled
/// learners fill the fields left out. A trainer or account moderator already teaching at that
/// time makes a 409 naming the other session.
#[utoipa::path(
    post,
    path = "/sessions",
    operation_id = "bookSessions",
    request_body(content = NewSession, description = "The session"),
    responses(
        (status = 201, description = "The sessions booked (one, or every occurrence); `Location` names the first",
            body = Sessions, headers(("Location" = String, description = "The first session"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create(State(app): State<AppState>, caller: ApiCaller, bytes: Bytes) -> Result<Response, ApiError> {
    let body: NewSession = json::body(&caller, &bytes)?;
    let too_long = as_sent(
        &app.config().booking.limits,
        body.title.as_deref(),
        body.notes.as_deref(),
    );
    if !too_long.is_empty() {
        return Err(caller.fail(booking::invalid(&too_long)));
    }
    let mut errors = Vec::new();
    let course = match &body.course_id {
        Some(id) if caller.actor().may_manage_courses() => {
            service::courses::view(app.service(), &caller.actor(), id).await.ok()
        }
        _ => None,
    };
    let start = match body.starts_at.as_deref() {
        None => {
            errors.push(required("starts_at"));
            None
        }
        Some(text) => match parse_start(text) {
            Some(s) => Some(s),
            None => {
                errors.push(Problem::new(
                    "starts_at",
                    Message::new("api.error.starts_at").arg("value", text),
                ));
                None
            }
        },
    };
    if body.time_zone.is_none() {
        errors.push(required("time_zone"));
    }
    let duration = body
        .duration_minutes
        .or(course.as_ref().map(|c| c.course.default_duration_minutes));
    if duration.is_none() {
        errors.push(required("duration_minutes"));
    }
    let (Some(start), Some(time_zone), Some(duration_minutes), true) =
        (start, body.time_zone.clone(), duration, errors.is_empty())
    else {
        return Err(invalid(&caller, errors));
    };
    let trainers = match (&body.trainers, &course) {
        (Some(t), _) => t.clone(),
        (None, Some(c)) => c.trainers.iter().map(|t| t.email.clone()).collect(),
        (None, None) if caller.user.role == Role::Trainer => vec![caller.user.email.clone()],
        (None, None) => Vec::new(),
    };
    let learners = match (json::people(body.learners.clone()), &course) {
        (Some(l), _) => l,
        (None, Some(c)) => c
            .learners
            .iter()
            .map(|l| PersonInput {
                name: l.full_name(),
                email: l.email.clone(),
                ..Default::default()
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    let request = SessionRequest {
        title: body
            .title
            .clone()
            .or(course.as_ref().map(|c| c.course.title.clone()))
            .unwrap_or_default(),
        notes: body.notes.clone().unwrap_or_default(),
        start: match start {
            Start::Instant(at) => StartSpec::Instant(at),
            Start::Local(dt) => StartSpec::Local {
                date: dt.date(),
                time: dt.time(),
                ambiguity: body.ambiguity.map_or(Ambiguity::Reject, Ambiguity::from),
            },
        },
        time_zone,
        duration_minutes,
        recurrence: body.recurrence.clone(),
        trainers,
        moderators: json::people(body.moderators.clone()).unwrap_or_default(),
        learners,
        guests: json::people(body.guests.clone()).unwrap_or_default(),
    };
    match booking::book(
        app.service(),
        &caller.caller(),
        body.course_id.clone(),
        body.jitsi_server_id.clone(),
        &request,
    )
    .await
    {
        Ok(booked) => {
            let server = match booked.first() {
                Some(first) => booking::pinned_server(app.service(), &caller.actor(), &first.session.id)
                    .await
                    .api(&caller)?,
                None => None,
            };
            Ok(created(&app, &caller, &booked, server, app.now()))
        }
        Err(f) => Err(caller.fail(f)),
    }
}

/// A session with its participants
#[utoipa::path(
    get,
    path = "/sessions/{id}",
    operation_id = "readSession",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "The session", body = SessionJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match booking::view(app.service(), &caller.actor(), &id).await {
        Ok((detail, _)) => {
            let mut json = detail_json(&app, &caller, &detail, app.now());
            json.jitsi_server_id = booking::pinned_server(app.service(), &caller.actor(), &detail.session.id)
                .await
                .api(&caller)?;
            Ok(Json(json).into_response())
        }
        Err(f) => Err(caller.fail(f)),
    }
}

/// Largest page of a list.
pub const MAX_LIMIT: i64 = 200;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 50;

/// The filters and the page of `GET /sessions`, as read from the query string.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Sessions ending after this instant (RFC 3339) or the start of this date (YYYY-MM-DD, in
    /// the token holder's zone)
    pub from: Option<String>,
    /// Sessions starting before this instant, or before the end of this date
    pub to: Option<String>,
    /// Sessions taught by this account (email or id). A trainer only ever sees their own.
    pub trainer: Option<String>,
    /// Sessions of this course (id)
    pub course: Option<String>,
    /// Include cancelled sessions
    #[param(default = false)]
    pub include_cancelled: Option<bool>,
    /// Page size
    #[param(default = 50)]
    pub limit: Option<i64>,
    /// Sessions to skip
    #[param(default = 0)]
    pub offset: Option<i64>,
}

impl SessionQuery {
    /// Reads the query string; every value that is not what the document says is a problem of
    /// its own.
    fn read(raw: Option<String>) -> Result<SessionQuery, Vec<Problem>> {
        let fields = crate::pages::sessions::query(raw);
        let mut errors = Vec::new();
        // The first value given, as given (numbers and booleans are read exactly: `limit=` is
        // not a number); for text, blank is absent.
        let given = |name: &str| json::given(&fields, name);
        let text = |name: &str| given(name).map(|v| v.trim().to_owned()).filter(|t| !t.is_empty());
        let mut number = |name: &'static str, min: i64, max: Option<i64>| {
            let value = given(name)?;
            match value.parse::<i64>() {
                Ok(n) if n >= min && max.is_none_or(|max| n <= max) => Some(n),
                _ => {
                    errors.push(Problem::new(
                        name,
                        match max {
                            Some(max) => Message::new("api.error.number").arg("min", min).arg("max", max),
                            None => Message::new("api.error.number_min").arg("min", min),
                        }
                        .arg("value", value),
                    ));
                    None
                }
            }
        };
        let limit = number("limit", 1, Some(MAX_LIMIT));
        let offset = number("offset", 0, None);
        let include_cancelled = json::flag(&fields, "include_cancelled")
            .map_err(|p| errors.push(p))
            .ok()
            .flatten();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SessionQuery {
            from: text("from"),
            to: text("to"),
            trainer: text("trainer"),
            course: text("course"),
            include_cancelled,
            limit,
            offset,
        })
    }
}

/// Sessions, soonest first: a trainer's own, everyone's for admins and managers
#[utoipa::path(
    get,
    path = "/sessions",
    operation_id = "listSessions",
    params(SessionQuery),
    responses(
        (status = 200, description = "A page of sessions", body = SessionPage),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    )
)]
pub async fn list(
    State(app): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    // The query's own names (`course`, not the service's `course_id`).
    let query = SessionQuery::read(raw).map_err(|errors| ApiError {
        field_names: |f| f,
        ..invalid(&caller, errors)
    })?;
    let mut errors: Vec<Problem> = Vec::new();
    let zone = crate::pages::views::zone(&caller.user.time_zone);
    // An instant, or a date (its midnight in the caller's zone; for `to`, the next midnight).
    let bound = |name: &'static str, text: Option<&str>, end_of_day: bool, errors: &mut Vec<Problem>| {
        let text = text?;
        if let Ok(at) = text.parse::<Timestamp>() {
            return Some(at);
        }
        if let Ok(date) = text.parse::<jiff::civil::Date>() {
            // At the edges of the calendar (the day after 9999-12-31, a midnight of year -9999 or
            // 9999 beyond the instants jiff counts) the bound is the first or last instant.
            let edge = if date.year() < 0 {
                Timestamp::MIN
            } else {
                Timestamp::MAX
            };
            let date = match (end_of_day, date.tomorrow()) {
                (false, _) => date,
                (true, Ok(next)) => next,
                (true, Err(_)) => return Some(Timestamp::MAX),
            };
            return Some(date.to_zoned(zone.clone()).map_or(edge, |z| z.timestamp()));
        }
        errors.push(Problem::new(name, Message::new("api.error.instant").arg("value", text)));
        None
    };
    let from = bound("from", query.from.as_deref(), false, &mut errors);
    let to = bound("to", query.to.as_deref(), true, &mut errors);
    if !errors.is_empty() {
        return Err(invalid(&caller, errors));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = query.offset.unwrap_or(0);
    let mut found = booking::list(
        app.service(),
        &caller.actor(),
        SessionFilter {
            from,
            to,
            course_id: query.course.clone(),
            include_cancelled: query.include_cancelled.unwrap_or(false),
            // One more than asked tells whether there is a next page (`limit` ≤ MAX_LIMIT).
            limit: limit + 1,
            offset,
            ..Default::default()
        },
        query.trainer.as_deref(),
    )
    .await
    .api(&caller)?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let now = app.now();
    Ok(Json(SessionPage {
        items: found.iter().map(|s| SessionJson::summary(s, now)).collect(),
        limit,
        offset,
        // No page can start beyond the largest offset.
        next_offset: if more { offset.checked_add(limit) } else { None },
    })
    .into_response())
}

/// What `PATCH /sessions/{id}` changes: at least one of `title`, `notes`, `course_id`,
/// `starts_at`, `duration_minutes` (a request that changes nothing is refused).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SessionChange {
    pub title: Option<String>,
    pub notes: Option<String>,
    /// null: no course
    #[serde(default, deserialize_with = "json::nullable")]
    pub course_id: Option<Option<String>>,
    /// RFC 3339 instant, or a local date and time in the session's zone
    pub starts_at: Option<String>,
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub scope: ChangeScope,
    pub ambiguity: Option<AmbiguityJson>,
}

impl SessionChange {
    /// What a change must give (one at least); the others (`scope`, `ambiguity`) say how.
    pub const CHANGES: Changes = Changes {
        fields: &["title", "notes", "course_id", "starts_at", "duration_minutes"],
        null_changes: &["course_id"],
    };
}

/// Change title, notes, course, start or duration of this session, or of this one and the following ones of its series
///
/// Fields left out keep their value; a request that changes nothing is refused (422). With
/// `scope: following`, each following occurrence moves by the same number of days and takes the
/// new time of day and duration in its own zone (a series keeps its local time across daylight
/// saving changes). A session that has ended is read-only (409).
#[utoipa::path(
    patch,
    path = "/sessions/{id}",
    operation_id = "changeSession",
    params(("id" = String, Path, description = "The session")),
    request_body(content = SessionChange, description = "What changes"),
    responses(
        (status = 200, description = "The sessions changed", body = Sessions),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
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
    let body: SessionChange = json::change(&caller, &bytes, &SessionChange::CHANGES)?;
    let too_long = as_sent(
        &app.config().booking.limits,
        body.title.as_deref(),
        body.notes.as_deref(),
    );
    if !too_long.is_empty() {
        return Err(caller.fail(booking::invalid(&too_long)));
    }
    let (detail, _) = booking::view(app.service(), &caller.actor(), &id).await.api(&caller)?;
    let mut change = DetailsChange {
        duration_minutes: body.duration_minutes,
        ambiguity: body.ambiguity.map_or(Ambiguity::Reject, Ambiguity::from),
        title: body.title.clone(),
        notes: body.notes.clone(),
        course_id: body.course_id.clone(),
        ..Default::default()
    };
    if let Some(text) = &body.starts_at {
        let zone = TimeZoneName::parse(&detail.session.time_zone)
            .map_err(|_| caller.fail(AppError::internal("stored zone")))?;
        match parse_start(text) {
            Some(Start::Instant(at)) => {
                let local = at.to_zoned(zone.time_zone().clone());
                change.date = Some(local.date());
                change.time = Some(local.time());
                // The instant says which of a repeated hour it is.
                change.ambiguity = match resolve_local(local.date(), local.time(), &zone, Ambiguity::Earlier) {
                    Ok(earlier) if earlier.timestamp() == at => Ambiguity::Earlier,
                    _ => Ambiguity::Later,
                };
            }
            Some(Start::Local(dt)) => {
                change.date = Some(dt.date());
                change.time = Some(dt.time());
            }
            None => {
                return Err(invalid(
                    &caller,
                    vec![Problem::new(
                        "starts_at",
                        Message::new("api.error.starts_at").arg("value", text),
                    )],
                ));
            }
        }
    }
    match booking::change_details(app.service(), &caller.caller(), &id, body.scope.into(), &change).await {
        Ok(changed) => Ok(Json(sessions_json(&app, &caller, &changed, app.now())).into_response()),
        Err(f) => Err(caller.fail(f)),
    }
}

/// The people of a session (a list left out is emptied).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = ParticipantsInput)]
pub struct PeopleBody {
    /// Emails of trainer accounts. Trainers and moderators together are at most the configured
    /// limit.
    #[schema(value_type = Option<Vec<EmailAddress>>)]
    pub trainers: Option<Vec<String>>,
    pub moderators: Option<Vec<PersonJson>>,
    /// Learners and guests together are at most the configured limit.
    pub learners: Option<Vec<PersonJson>>,
    pub guests: Option<Vec<PersonJson>>,
    #[serde(default)]
    pub scope: ChangeScope,
}

/// The participants become exactly these (a list left out is emptied)
///
/// Someone kept (same email, same role) keeps their personal link and their answer. A trainer may
/// change the participants of sessions they teach, but cannot remove themself from its trainers.
#[utoipa::path(
    put,
    path = "/sessions/{id}/participants",
    operation_id = "replaceParticipants",
    params(("id" = String, Path, description = "The session")),
    request_body(content = PeopleBody, description = "The people of the session"),
    responses(
        (status = 200, description = "The sessions changed", body = Sessions),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn replace_people(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: PeopleBody = json::body(&caller, &bytes)?;
    let input = PeopleInput {
        trainers: body.trainers.unwrap_or_default(),
        moderators: json::people(body.moderators).unwrap_or_default(),
        learners: json::people(body.learners).unwrap_or_default(),
        guests: json::people(body.guests).unwrap_or_default(),
    };
    match booking::set_people(app.service(), &caller.caller(), &id, body.scope.into(), &input).await {
        Ok(changed) => Ok(Json(sessions_json(&app, &caller, &changed, app.now())).into_response()),
        Err(f) => Err(caller.fail(f)),
    }
}

/// Which sessions to cancel.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = CancelInput)]
pub struct CancelBody {
    #[serde(default)]
    pub scope: ChangeScope,
    /// A message for the participants, quoted in the cancellation mails.
    #[serde(default)]
    pub message: Option<String>,
}

/// Cancel this session, or this one and the following ones of its series
#[utoipa::path(
    post,
    path = "/sessions/{id}/cancel",
    operation_id = "cancelSession",
    params(("id" = String, Path, description = "The session")),
    request_body(content = Option<CancelBody>, description = "Which sessions (none, or `null`: this one)"),
    responses(
        (status = 200, description = "The sessions cancelled", body = Sessions),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn cancel(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: Option<CancelBody> = json::body(&caller, &bytes)?;
    let body = body.unwrap_or_default();
    match booking::cancel(
        app.service(),
        &caller.caller(),
        &id,
        body.scope.into(),
        body.message.as_deref(),
    )
    .await
    {
        Ok(cancelled) => Ok(Json(Sessions::of(&cancelled, app.now())).into_response()),
        Err(f) => Err(caller.fail(f)),
    }
}
