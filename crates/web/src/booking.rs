//! The booking service: what both the pages and the JSON API call to see, book, change and
//! cancel sessions. It asks `domain` for the rules and permissions, `store` for the data, and
//! explains every refusal with catalogue messages.

use domain::booking::{self, BookingError, PersonInput, SessionRequest};
use domain::localtime::{Ambiguity, LocalTimeError, TimeZoneName, resolve_local};
use domain::{Actor, Email, Locale, SessionAction, SessionFacts};
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use store::{BookingRefusal, NewSessions, People, SessionDetail, SessionUpdate, StoreError};

use crate::error::{AppError, Message};
use crate::i18n::format_datetime;
use crate::state::AppState;

/// Who asks: the actor of the permission matrix, their email and address (for the audit log).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub email: String,
    pub ip: Option<String>,
}

impl Caller {
    pub fn audit(&self, action: &str) -> store::AuditEntry {
        store::AuditEntry::new(action, Some(&self.actor.user_id), &self.email, self.ip.as_deref())
    }
}

impl crate::context::Ctx {
    /// The logged-in person as a booking caller.
    pub fn caller(&self) -> Result<Caller, AppError> {
        let user = self.require_user()?;
        Ok(Caller {
            actor: Actor::new(user.id.clone(), user.role),
            email: user.email.clone(),
            ip: Some(self.ip.to_string()),
        })
    }
}

/// Why a booking operation failed.
#[derive(Debug)]
pub enum BookingFailure {
    /// The request is invalid: every problem, each with its field.
    Invalid(Vec<BookingError>),
    /// The store refused it (a conflict, an unknown trainer, an ended session…).
    Refused(BookingRefusal),
    /// The actor may not do this.
    Forbidden,
    /// A trainer tried to book a session they do not teach.
    NotOwnBooking,
    /// Unknown session, or one the actor may not see.
    NotFound,
    /// The Jitsi server asked for does not exist.
    UnknownServer,
    Internal(String),
}

impl From<StoreError> for BookingFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Booking(r) => BookingFailure::Refused(r),
            StoreError::NotFound => BookingFailure::NotFound,
            StoreError::Jitsi(store::JitsiRefusal::UnknownServer) => BookingFailure::UnknownServer,
            other => BookingFailure::Internal(other.to_string()),
        }
    }
}

impl BookingFailure {
    /// Each problem with its field (`""` for the request as a whole), in `locale`.
    pub fn messages(&self, locale: Locale, viewer_zone: &str) -> Vec<(&'static str, String)> {
        match self {
            BookingFailure::Invalid(errors) => errors
                .iter()
                .map(|e| (e.field(), booking_error_message(e).render(locale)))
                .collect(),
            BookingFailure::Refused(r) => {
                vec![(refusal_field(r), refusal_message(r, viewer_zone, locale).render(locale))]
            }
            BookingFailure::Forbidden => vec![("", Message::new("error.forbidden").render(locale))],
            BookingFailure::NotOwnBooking => vec![("trainers", Message::new("booking.error.own_only").render(locale))],
            BookingFailure::NotFound => vec![("", Message::new("error.not_found").render(locale))],
            BookingFailure::UnknownServer => vec![(
                "jitsi_server",
                Message::new("jitsi.error.unknown_server").render(locale),
            )],
            BookingFailure::Internal(_) => vec![("", Message::new("error.internal").render(locale))],
        }
    }

    /// The HTTP status this failure answers with.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            BookingFailure::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            BookingFailure::Refused(BookingRefusal::Conflict(_) | BookingRefusal::CourseCodeTaken { .. }) => {
                StatusCode::CONFLICT
            }
            BookingFailure::Refused(BookingRefusal::Ended | BookingRefusal::Cancelled) => StatusCode::CONFLICT,
            BookingFailure::Refused(_) | BookingFailure::UnknownServer => StatusCode::UNPROCESSABLE_ENTITY,
            BookingFailure::Forbidden | BookingFailure::NotOwnBooking => StatusCode::FORBIDDEN,
            BookingFailure::NotFound => StatusCode::NOT_FOUND,
            BookingFailure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl BookingFailure {
    /// The page error for this failure, explained in `locale` (times in `viewer_zone`).
    pub fn into_app_error(self, locale: Locale, viewer_zone: &str) -> AppError {
        match self {
            BookingFailure::Refused(r) => refused(&r, refusal_message(&r, viewer_zone, locale)),
            other => other.into(),
        }
    }
}

impl From<BookingFailure> for AppError {
    fn from(f: BookingFailure) -> Self {
        match f {
            BookingFailure::Forbidden => AppError::Forbidden,
            BookingFailure::NotOwnBooking => AppError::Invalid(Message::new("booking.error.own_only")),
            BookingFailure::NotFound => AppError::NotFound,
            BookingFailure::UnknownServer => AppError::Invalid(Message::new("jitsi.error.unknown_server")),
            BookingFailure::Internal(e) => AppError::Internal(e),
            BookingFailure::Refused(r) => refused(&r, refusal_message(&r, "UTC", Locale::Fr)),
            BookingFailure::Invalid(errors) => match errors.first() {
                Some(e) => AppError::Invalid(booking_error_message(e)),
                None => AppError::Invalid(Message::new("error.internal")),
            },
        }
    }
}

/// A refusal as a page error: 409 when it is about the state of things (a conflict, a taken
/// code, a session over or cancelled), 422 when it is about what was sent.
fn refused(r: &BookingRefusal, message: Message) -> AppError {
    match r {
        BookingRefusal::Conflict(_)
        | BookingRefusal::CourseCodeTaken { .. }
        | BookingRefusal::Ended
        | BookingRefusal::Cancelled => AppError::Conflict(message),
        _ => AppError::Invalid(message),
    }
}

fn refusal_field(r: &BookingRefusal) -> &'static str {
    match r {
        BookingRefusal::UnknownTrainer { .. } | BookingRefusal::NotATrainer { .. } => "trainers",
        BookingRefusal::Conflict(_) => "start",
        BookingRefusal::CourseNotFound => "course",
        BookingRefusal::CourseCodeTaken { .. } => "code",
        BookingRefusal::Ended | BookingRefusal::Cancelled => "",
    }
}

/// The catalogue message for a store refusal; conflicts name the other session and its time in
/// the viewer's zone.
pub fn refusal_message(r: &BookingRefusal, viewer_zone: &str, locale: Locale) -> Message {
    match r {
        BookingRefusal::UnknownTrainer { email } => Message::new("booking.error.unknown_trainer").arg("email", email),
        BookingRefusal::NotATrainer { email, role } => Message::new("booking.error.not_a_trainer")
            .arg("email", email)
            .arg("role", locale.t(crate::page::role_key(*role))),
        BookingRefusal::Conflict(with) => Message::new("booking.error.conflict")
            .arg("email", &with.email)
            .arg("title", &with.title)
            .arg("when", format_datetime(with.starts_at, viewer_zone, locale)),
        BookingRefusal::CourseNotFound => Message::new("booking.error.course_not_found"),
        BookingRefusal::Ended => Message::new("booking.error.ended"),
        BookingRefusal::Cancelled => Message::new("booking.error.cancelled"),
        BookingRefusal::CourseCodeTaken { code } => Message::new("booking.error.code_taken").arg("code", code),
    }
}

fn local(dt: &jiff::civil::DateTime) -> String {
    format!("{} {:02}:{:02}", dt.date(), dt.hour(), dt.minute())
}

/// The catalogue message for a domain booking error.
pub fn booking_error_message(e: &BookingError) -> Message {
    use domain::recurrence::RecurrenceError as R;
    match e {
        BookingError::TitleEmpty => Message::new("booking.error.title_empty"),
        BookingError::TitleTooLong { max } => Message::new("booking.error.title_too_long").arg("max", max),
        BookingError::TitleControl => Message::new("booking.error.title_control"),
        BookingError::NotesTooLong { max } => Message::new("booking.error.notes_too_long").arg("max", max),
        BookingError::DurationOutOfRange { minutes, min, max } => Message::new("booking.error.duration")
            .arg("minutes", minutes)
            .arg("min", min)
            .arg("max", max),
        BookingError::StartsInPast { .. } => Message::new("booking.error.past"),
        BookingError::TooFarAhead { years, .. } => Message::new("booking.error.too_far").arg("years", years),
        BookingError::EndsInPast { .. } => Message::new("booking.error.ends_in_past"),
        BookingError::UnknownTimeZone(z) => Message::new("input.time_zone_unknown").arg("value", z),
        BookingError::LocalTime(e) => local_time_message(e),
        BookingError::Rule(rule) => rule_message(rule),
        BookingError::Recurrence(e) => match &**e {
            R::Unbounded => Message::new("booking.error.unbounded"),
            R::FirstNotInRule { first } => Message::new("booking.error.first_not_in_rule").arg("date", first),
            R::EndsBeforeStart { .. } => Message::new("booking.error.ends_before_start"),
            R::NonexistentOccurrence { local: l, zone, .. } => Message::new("booking.error.nonexistent_occurrence")
                .arg("local", local(l))
                .arg("zone", zone),
            R::TooLong { .. } => Message::new("booking.error.too_long"),
            R::NoOccurrence | R::OutOfRange { .. } => Message::new("booking.error.out_of_range"),
        },
        BookingError::NoTrainer => Message::new("booking.error.no_trainer"),
        BookingError::TooManyModerators { count, max } => Message::new("booking.error.too_many_moderators")
            .arg("count", count)
            .arg("max", max),
        BookingError::TooManyParticipants { count, max } => Message::new("booking.error.too_many_participants")
            .arg("count", count)
            .arg("max", max),
        BookingError::Person { error, .. } => crate::i18n::user_input_message(error),
        BookingError::DuplicatePerson { email } => Message::new("booking.error.duplicate").arg("email", email),
    }
}

/// The catalogue message for an RRULE that cannot be read or is not supported.
pub fn rule_message(e: &domain::recurrence::RuleError) -> Message {
    use domain::recurrence::RuleError as E;
    match e {
        E::Empty => Message::new("booking.rule.empty"),
        E::Malformed { part } => Message::new("booking.rule.malformed").arg("part", part),
        E::Duplicate { key } => Message::new("booking.rule.duplicate").arg("key", key),
        E::MissingFrequency => Message::new("booking.rule.missing_freq"),
        E::Unsupported { part } => Message::new("booking.rule.unsupported").arg("part", part),
        E::InvalidValue { key, value } => Message::new("booking.rule.invalid_value")
            .arg("key", key)
            .arg("value", value),
        E::IntervalOutOfRange { interval } => Message::new("booking.rule.interval")
            .arg("interval", interval)
            .arg("max", domain::recurrence::MAX_INTERVAL),
        E::ZeroCount => Message::new("booking.rule.zero_count"),
        E::CountAndUntil => Message::new("booking.rule.count_and_until"),
        E::UntilNotUtc { value } => Message::new("booking.rule.until_not_utc").arg("value", value),
        E::OrdinalOutOfRange { nth } => Message::new("booking.rule.ordinal").arg("nth", nth),
        E::OrdinalNotAllowed { freq, by_day } => Message::new("booking.rule.ordinal_not_allowed")
            .arg("by_day", by_day)
            .arg("freq", freq),
        E::MonthDayOutOfRange { day } => Message::new("booking.rule.month_day").arg("day", day),
        E::NotWithFrequency { key, freq } => Message::new("booking.rule.not_with_frequency")
            .arg("key", key)
            .arg("freq", freq),
    }
}

/// The catalogue message for a local time that cannot be used.
pub fn local_time_message(e: &LocalTimeError) -> Message {
    match e {
        LocalTimeError::Nonexistent {
            local: l,
            zone,
            gap_start,
            gap_end,
        } => Message::new("booking.error.nonexistent")
            .arg("local", local(l))
            .arg("zone", zone)
            .arg("from", format!("{:02}:{:02}", gap_start.hour(), gap_start.minute()))
            .arg("to", format!("{:02}:{:02}", gap_end.hour(), gap_end.minute())),
        LocalTimeError::Ambiguous {
            local: l,
            zone,
            earlier,
            later,
        } => Message::new("booking.error.ambiguous")
            .arg("local", local(l))
            .arg("zone", zone)
            .arg("first", earlier.offset())
            .arg("second", later.offset()),
        LocalTimeError::OutOfRange { .. } => Message::new("booking.error.out_of_range"),
    }
}

/// The facts the permission matrix needs about `detail` for `actor`.
pub fn facts(detail: &SessionDetail, actor: &Actor, now: Timestamp) -> SessionFacts {
    SessionFacts {
        teaches: detail.taught_by(&actor.user_id),
        booked_by_actor: detail.session.created_by.as_deref() == Some(actor.user_id.as_str()),
        ended: detail.session.ended(now),
        cancelled: detail.session.status == store::SessionStatus::Cancelled,
    }
}

/// A session the actor may see, with the facts about it; otherwise `NotFound`.
pub async fn view(app: &AppState, actor: &Actor, id: &str) -> Result<(SessionDetail, SessionFacts), BookingFailure> {
    let detail = app.store().session(id).await?.ok_or(BookingFailure::NotFound)?;
    let facts = facts(&detail, actor, app.now());
    if !actor.may_session(SessionAction::View, facts, app.config().booking.trainers_can_book) {
        return Err(BookingFailure::NotFound);
    }
    Ok((detail, facts))
}

/// Whether `actor` may do `action`; refused, it says why: the session has ended or is
/// cancelled (for someone who could otherwise do it), or the role does not allow it.
pub fn require(
    app: &AppState,
    actor: &Actor,
    action: SessionAction,
    facts: SessionFacts,
) -> Result<(), BookingFailure> {
    let setting = app.config().booking.trainers_can_book;
    if actor.may_session(action, facts, setting) {
        return Ok(());
    }
    let open = SessionFacts {
        ended: false,
        cancelled: false,
        ..facts
    };
    if actor.may_session(action, open, setting) {
        if facts.ended {
            return Err(BookingFailure::Refused(BookingRefusal::Ended));
        }
        return Err(BookingFailure::Refused(BookingRefusal::Cancelled));
    }
    Err(BookingFailure::Forbidden)
}

/// Whether `actor` may do `action` on a session with these facts (for showing actions).
pub fn may(app: &AppState, actor: &Actor, action: SessionAction, facts: SessionFacts) -> bool {
    actor.may_session(action, facts, app.config().booking.trainers_can_book)
}

/// Books what `request` asks for, by `actor`, optionally for a course and on a chosen Jitsi
/// server (admins and managers only; otherwise the default server).
pub async fn book(
    app: &AppState,
    caller: &Caller,
    course_id: Option<String>,
    jitsi_server_id: Option<String>,
    request: &SessionRequest,
) -> Result<Vec<SessionDetail>, BookingFailure> {
    let actor = &caller.actor;
    require(app, actor, SessionAction::Book, SessionFacts::default())?;
    // Which server a session uses is the planners' choice; to anyone else an id names nothing.
    if jitsi_server_id.is_some() && !actor.may_choose_jitsi_server(SessionFacts::default()) {
        return Err(BookingFailure::UnknownServer);
    }
    // Courses are visible to those who plan them only: to anyone else an id names nothing.
    if course_id.is_some() && !actor.may_manage_courses() {
        return Err(BookingFailure::Refused(BookingRefusal::CourseNotFound));
    }
    // A trainer books for themself: they must be one of the trainers.
    if actor.role == domain::Role::Trainer {
        let me = caller.email.to_lowercase();
        if !request.trainers.iter().any(|t| t.trim().to_lowercase() == me) {
            return Err(BookingFailure::NotOwnBooking);
        }
    }
    let limits = &app.config().booking.limits;
    let plan = booking::plan(request, app.now(), limits).map_err(BookingFailure::Invalid)?;
    let new = NewSessions {
        course_id,
        title: plan.title,
        notes: plan.notes,
        time_zone: plan.zone.as_str().to_owned(),
        times: plan
            .starts
            .iter()
            .map(|z| (z.timestamp(), z.timestamp() + plan.duration))
            .collect(),
        rrule: plan.rule.as_ref().map(ToString::to_string),
        people: People {
            trainers: plan.trainers,
            moderators: plan.moderators,
            learners: plan.learners,
            guests: plan.guests,
        },
        created_by: actor.user_id.clone(),
        jitsi_server_id,
    };
    Ok(app.store().book_sessions(&new, &caller.audit("session.book")).await?)
}

/// Which occurrences a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// This session only.
    #[default]
    This,
    /// This session and the following ones of its series.
    Following,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::This => "this",
            Scope::Following => "following",
        }
    }

    /// The form value: `following`, or else this session only.
    pub fn parse(s: &str) -> Scope {
        if s.trim() == "following" {
            Scope::Following
        } else {
            Scope::This
        }
    }
}

/// The sessions a change with `scope` applies to (this one first). Every one of them must allow
/// `action` to `actor`, not only the first: a trainer who teaches this occurrence but not a later
/// one (replaced there, or removed) may not reach it through "this and following".
async fn scoped(
    app: &AppState,
    actor: &Actor,
    action: SessionAction,
    detail: &SessionDetail,
    scope: Scope,
) -> Result<Vec<store::Session>, BookingFailure> {
    let (Scope::Following, Some(series)) = (scope, &detail.session.series_id) else {
        return Ok(vec![detail.session.clone()]);
    };
    let mut sessions = vec![detail.session.clone()];
    for session in app.store().series_sessions(series, detail.session.starts_at).await? {
        if session.id == detail.session.id || session.status != store::SessionStatus::Scheduled {
            continue;
        }
        // What admins and managers may do does not depend on who teaches (and later
        // occurrences of a session that has not ended have not ended either); a trainer's
        // rights are checked on each occurrence's own people.
        if actor.role == domain::Role::Trainer {
            let other = app
                .store()
                .session(&session.id)
                .await?
                .ok_or(BookingFailure::NotFound)?;
            require(app, actor, action, facts(&other, actor, app.now()))?;
        }
        sessions.push(session);
    }
    Ok(sessions)
}

/// A change of details: new local date and time (in the session's zone), duration, title,
/// notes. Fields left `None` keep their value.
#[derive(Debug, Clone, Default)]
pub struct DetailsChange {
    pub date: Option<Date>,
    pub time: Option<Time>,
    pub duration_minutes: Option<i64>,
    pub ambiguity: Ambiguity,
    pub title: Option<String>,
    pub notes: Option<String>,
    pub course_id: Option<Option<String>>,
}

/// Changes a session's details, or this one's and the following ones' of its series: each
/// following occurrence moves by the same number of days and takes the new time of day and
/// duration, in its own zone (so a series keeps its local time across DST).
pub async fn change_details(
    app: &AppState,
    caller: &Caller,
    id: &str,
    scope: Scope,
    change: &DetailsChange,
) -> Result<Vec<SessionDetail>, BookingFailure> {
    let actor = &caller.actor;
    let (detail, facts) = view(app, actor, id).await?;
    require(app, actor, SessionAction::EditDetails, facts)?;
    let limits = &app.config().booking.limits;
    let mut errors = Vec::new();
    let title = change
        .title
        .as_deref()
        .map(|t| booking::parse_title(t, limits.max_title_chars))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let notes = change
        .notes
        .as_deref()
        .map(|n| booking::parse_notes(n, limits.max_notes_chars))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let duration = change
        .duration_minutes
        .map(|m| booking::parse_duration(m, limits))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let this = &detail.session;
    let zone = TimeZoneName::parse(&this.time_zone).map_err(|_| BookingFailure::Internal("stored zone".into()))?;
    let this_local = this.starts_at.to_zoned(zone.time_zone().clone());
    let day_shift = change.date.map(|d| (d - this_local.date()).get_days()).unwrap_or(0);
    let sessions = scoped(app, actor, SessionAction::EditDetails, &detail, scope).await?;
    let mut updates = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        let times = if change.date.is_some() || change.time.is_some() || duration.is_some() {
            let zone =
                TimeZoneName::parse(&session.time_zone).map_err(|_| BookingFailure::Internal("stored zone".into()))?;
            let local = session.starts_at.to_zoned(zone.time_zone().clone());
            let date = local
                .date()
                .checked_add(jiff::Span::new().days(day_shift))
                .map_err(|_| {
                    BookingFailure::Invalid(vec![BookingError::StartsInPast {
                        starts_at: session.starts_at,
                    }])
                })?;
            let time = change.time.unwrap_or(local.time());
            let ambiguity = if i == 0 { change.ambiguity } else { Ambiguity::Earlier };
            // Same day and time of day (only the duration changes): the same instant, even in
            // a repeated hour.
            let resolved = if change.date.is_none() && change.time.is_none() {
                Ok(local.clone())
            } else {
                resolve_local(date, time, &zone, ambiguity)
            };
            match resolved {
                Ok(start) => {
                    let length = duration.unwrap_or(SignedDuration::from_secs(
                        session.ends_at.as_second() - session.starts_at.as_second(),
                    ));
                    // A session that has begun keeps its start: it may still be lengthened
                    // (or shortened) while it runs, to an end still to come.
                    let running = start.timestamp() == session.starts_at && session.starts_at <= app.now();
                    if running {
                        if start.timestamp() + length <= app.now() {
                            errors.push(BookingError::EndsInPast {
                                ends_at: start.timestamp() + length,
                            });
                        }
                    } else if start.timestamp() <= app.now() {
                        errors.push(BookingError::StartsInPast {
                            starts_at: start.timestamp(),
                        });
                    }
                    match booking::within_horizon(start.timestamp(), app.now()) {
                        Ok(()) => Some((start.timestamp(), start.timestamp() + length)),
                        Err(e) => {
                            errors.push(e);
                            None
                        }
                    }
                }
                Err(e) => {
                    errors.push(BookingError::LocalTime(Box::new(e)));
                    None
                }
            }
        } else {
            None
        };
        updates.push(SessionUpdate {
            id: session.id.clone(),
            title: title.clone(),
            notes: notes.clone(),
            course_id: change.course_id.clone(),
            times,
        });
    }
    if !errors.is_empty() {
        return Err(BookingFailure::Invalid(errors));
    }
    Ok(app
        .store()
        .update_sessions(&updates, app.now(), &caller.audit("session.update"))
        .await?)
}

/// The people of a session as typed.
#[derive(Debug, Clone, Default)]
pub struct PeopleInput {
    pub trainers: Vec<String>,
    pub moderators: Vec<PersonInput>,
    pub learners: Vec<PersonInput>,
    pub guests: Vec<PersonInput>,
}

/// Validates people: each email once across roles, within limits, at least one trainer.
pub fn parse_people(input: &PeopleInput, limits: &booking::BookingLimits) -> Result<People, Vec<BookingError>> {
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut once = |email: &Email, errors: &mut Vec<BookingError>| {
        if !seen.insert(email.normalized()) {
            errors.push(BookingError::DuplicatePerson {
                email: email.as_str().to_owned(),
            });
        }
    };
    let mut people = People::default();
    for t in &input.trainers {
        match Email::parse(t) {
            Ok(e) => {
                once(&e, &mut errors);
                people.trainers.push(e);
            }
            Err(error) => errors.push(BookingError::Person {
                field: "trainers",
                error,
            }),
        }
    }
    for (field, list, out) in [
        ("moderators", &input.moderators, &mut people.moderators),
        ("learners", &input.learners, &mut people.learners),
        ("guests", &input.guests, &mut people.guests),
    ] {
        for p in list {
            match booking::parse_person(p, field) {
                Ok(person) => {
                    once(&person.email, &mut errors);
                    out.push(person);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if people.trainers.is_empty() {
        errors.push(BookingError::NoTrainer);
    }
    let moderating = people.trainers.len() + people.moderators.len();
    if moderating > limits.max_moderators {
        errors.push(BookingError::TooManyModerators {
            count: moderating,
            max: limits.max_moderators,
        });
    }
    let attending = people.learners.len() + people.guests.len();
    if attending > limits.max_participants {
        errors.push(BookingError::TooManyParticipants {
            count: attending,
            max: limits.max_participants,
        });
    }
    if errors.is_empty() { Ok(people) } else { Err(errors) }
}

/// Replaces the people of a session (or this and following). A trainer who teaches it may;
/// a trainer cannot remove themself from the trainers.
pub async fn set_people(
    app: &AppState,
    caller: &Caller,
    id: &str,
    scope: Scope,
    input: &PeopleInput,
) -> Result<Vec<SessionDetail>, BookingFailure> {
    let actor = &caller.actor;
    let (detail, facts) = view(app, actor, id).await?;
    require(app, actor, SessionAction::EditParticipants, facts)?;
    let people = parse_people(input, &app.config().booking.limits).map_err(BookingFailure::Invalid)?;
    if actor.role == domain::Role::Trainer
        && !people
            .trainers
            .iter()
            .any(|t| t.normalized() == caller.email.to_lowercase())
        && detail
            .with_role(store::ParticipantRole::Trainer)
            .any(|p| p.user_id.as_deref() == Some(&actor.user_id))
    {
        return Err(BookingFailure::Forbidden);
    }
    let ids: Vec<String> = scoped(app, actor, SessionAction::EditParticipants, &detail, scope)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    Ok(app
        .store()
        .replace_participants(&ids, &people, app.now(), &caller.audit("session.participants"))
        .await?)
}

/// Cancels a session, or this one and the following ones of its series.
pub async fn cancel(
    app: &AppState,
    caller: &Caller,
    id: &str,
    scope: Scope,
) -> Result<Vec<SessionDetail>, BookingFailure> {
    let actor = &caller.actor;
    let (detail, facts) = view(app, actor, id).await?;
    require(app, actor, SessionAction::Cancel, facts)?;
    let ids: Vec<String> = scoped(app, actor, SessionAction::Cancel, &detail, scope)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    Ok(app
        .store()
        .cancel_sessions(&ids, app.now(), &caller.audit("session.cancel"))
        .await?)
}
