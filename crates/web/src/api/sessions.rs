//! `/api/v1/sessions`: book (one session or a series), read, list with filters and pages,
//! change details (this one or this and following), replace participants, cancel. The same
//! service and permissions as the pages (`web::booking`); refusals are problem details with
//! one entry per field, in the caller's language.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Role;
use domain::booking::{PersonInput, SessionRequest, StartSpec};
use domain::localtime::{Ambiguity, TimeZoneName, resolve_local};
use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::Deserialize;
use store::SessionFilter;

use super::json::{self, Page, SessionJson, Sessions};
use super::{ApiCaller, ApiError, ForCaller};
use crate::http::error::AppError;
use crate::http::error::Message;
use crate::http::state::AppState;
use service::Problem;
use service::booking::{self, DetailsChange, PeopleInput, Scope};

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

#[derive(Debug, Default, Deserialize)]
pub struct NewSession {
    pub title: Option<String>,
    pub notes: Option<String>,
    pub starts_at: Option<String>,
    pub time_zone: Option<String>,
    pub duration_minutes: Option<i64>,
    pub trainers: Option<Vec<String>>,
    pub moderators: Option<Vec<PersonInput>>,
    pub learners: Option<Vec<PersonInput>>,
    pub guests: Option<Vec<PersonInput>>,
    pub course_id: Option<String>,
    /// The Jitsi server to pin the sessions to (admins and managers); the default otherwise.
    pub jitsi_server_id: Option<String>,
    pub recurrence: Option<String>,
    /// For a local start that happens twice: `earlier` or `later`; otherwise refused.
    pub ambiguity: Option<Ambiguity>,
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
    let mut response = (StatusCode::CREATED, Json(sessions)).into_response();
    if let Some(first) = details.first()
        && let Ok(location) = HeaderValue::from_str(&format!("/api/v1/sessions/{}", first.session.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `POST /sessions`.
pub async fn create(State(app): State<AppState>, caller: ApiCaller, bytes: Bytes) -> Result<Response, ApiError> {
    let body: NewSession = json::body(&caller, &bytes)?;
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
    let learners = match (&body.learners, &course) {
        (Some(l), _) => l.clone(),
        (None, Some(c)) => c
            .learners
            .iter()
            .map(|l| PersonInput {
                name: l.name.clone(),
                email: l.email.clone(),
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
                ambiguity: body.ambiguity.unwrap_or(Ambiguity::Reject),
            },
        },
        time_zone,
        duration_minutes,
        recurrence: body.recurrence.clone(),
        trainers,
        moderators: body.moderators.clone().unwrap_or_default(),
        learners,
        guests: body.guests.clone().unwrap_or_default(),
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

/// `GET /sessions/{id}`.
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

/// `GET /sessions?from&to&trainer&course&include_cancelled&limit&offset`.
pub async fn list(
    State(app): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let fields = crate::pages::sessions::query(raw);
    let mut errors: Vec<Problem> = Vec::new();
    let zone = crate::pages::views::zone(&caller.user.time_zone);
    // An instant, or a date (its midnight in the caller's zone; for `to`, the next midnight).
    let bound = |name: &'static str, end_of_day: bool, errors: &mut Vec<Problem>| -> Option<Timestamp> {
        let text = fields.get(name);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Ok(at) = text.parse::<Timestamp>() {
            return Some(at);
        }
        if let Ok(date) = text.parse::<jiff::civil::Date>() {
            let date = if end_of_day { date.tomorrow().ok()? } else { date };
            return date.to_zoned(zone.clone()).ok().map(|z| z.timestamp());
        }
        errors.push(Problem::new(name, Message::new("api.error.instant").arg("value", text)));
        None
    };
    let from = bound("from", false, &mut errors);
    let to = bound("to", true, &mut errors);
    let number = |name: &'static str, default: i64, max: i64, errors: &mut Vec<Problem>| {
        let text = fields.get(name);
        if text.trim().is_empty() {
            return default;
        }
        match text.trim().parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) => n,
            _ => {
                errors.push(Problem::new(
                    name,
                    Message::new("api.error.number")
                        .arg("value", text.trim())
                        .arg("max", max),
                ));
                default
            }
        }
    };
    let limit = number("limit", 50, MAX_LIMIT, &mut errors).max(1);
    let offset = number("offset", 0, i64::MAX, &mut errors);
    let include_cancelled = matches!(fields.get("include_cancelled").trim(), "true" | "1" | "yes");
    if !errors.is_empty() {
        return Err(invalid(&caller, errors));
    }
    let course = Some(fields.get("course").trim().to_owned()).filter(|c| !c.is_empty());
    let mut found = booking::list(
        app.service(),
        &caller.actor(),
        SessionFilter {
            from,
            to,
            course_id: course,
            include_cancelled,
            limit: limit + 1,
            offset,
            ..Default::default()
        },
        Some(&fields.get("trainer")),
    )
    .await
    .api(&caller)?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let now = app.now();
    Ok(Json(Page {
        items: found.iter().map(|s| SessionJson::summary(s, now)).collect(),
        limit,
        offset,
        next_offset: more.then_some(offset + limit),
    })
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionChange {
    pub title: Option<String>,
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "json::nullable")]
    pub course_id: Option<Option<String>>,
    pub starts_at: Option<String>,
    pub duration_minutes: Option<i64>,
    #[serde(default)]
    pub scope: Scope,
    pub ambiguity: Option<Ambiguity>,
}

/// `PATCH /sessions/{id}`: the fields given change; the others stay.
pub async fn update(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: SessionChange = json::body(&caller, &bytes)?;
    let (detail, _) = booking::view(app.service(), &caller.actor(), &id).await.api(&caller)?;
    let mut change = DetailsChange {
        duration_minutes: body.duration_minutes,
        ambiguity: body.ambiguity.unwrap_or(Ambiguity::Reject),
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
    match booking::change_details(app.service(), &caller.caller(), &id, body.scope, &change).await {
        Ok(changed) => Ok(Json(sessions_json(&app, &caller, &changed, app.now())).into_response()),
        Err(f) => Err(caller.fail(f)),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PeopleBody {
    pub trainers: Option<Vec<String>>,
    pub moderators: Option<Vec<PersonInput>>,
    pub learners: Option<Vec<PersonInput>>,
    pub guests: Option<Vec<PersonInput>>,
    #[serde(default)]
    pub scope: Scope,
}

/// `PUT /sessions/{id}/participants`: the people of the session become exactly these (a list
/// left out is emptied); someone kept keeps their link and answer.
pub async fn replace_people(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: PeopleBody = json::body(&caller, &bytes)?;
    let input = PeopleInput {
        trainers: body.trainers.unwrap_or_default(),
        moderators: body.moderators.unwrap_or_default(),
        learners: body.learners.unwrap_or_default(),
        guests: body.guests.unwrap_or_default(),
    };
    match booking::set_people(app.service(), &caller.caller(), &id, body.scope, &input).await {
        Ok(changed) => Ok(Json(sessions_json(&app, &caller, &changed, app.now())).into_response()),
        Err(f) => Err(caller.fail(f)),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CancelBody {
    #[serde(default)]
    pub scope: Scope,
}

/// `POST /sessions/{id}/cancel`.
pub async fn cancel(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: CancelBody = json::body(&caller, &bytes)?;
    match booking::cancel(app.service(), &caller.caller(), &id, body.scope).await {
        Ok(cancelled) => Ok(Json(Sessions::of(&cancelled, app.now())).into_response()),
        Err(f) => Err(caller.fail(f)),
    }
}
