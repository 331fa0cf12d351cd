//! Sessions: see, book, change and cancel them — one session or a series — for the pages and
//! the JSON API alike. The rules and permissions come from `domain`, the data from `store`;
//! every refusal is explained with catalogue messages.

use domain::booking::{self, BookingError, PersonInput, SessionRequest};
use domain::localtime::{Ambiguity, TimeZoneName, resolve_local};
use domain::{Actor, Email, SessionAction, SessionFacts};
use i18n::Message;
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use store::{BookingRefusal, NewSessions, People, SessionDetail, SessionUpdate};

use crate::error::{Error, Problem, Result};
use crate::{Caller, Service, messages};

/// Every problem of an invalid request, each with its field.
pub fn invalid(errors: &[BookingError]) -> Error {
    Error::Invalid(
        errors
            .iter()
            .map(|e| Problem::new(e.field(), messages::booking(e)))
            .collect(),
    )
}

/// A store refusal as the caller reads it: a conflict when it is about the state of things (a
/// clash, a taken code, a session over or cancelled), invalid input when it is about what was
/// sent. A clash names the other session and its time (shown in the reader's zone).
pub fn refusal(r: &BookingRefusal) -> Error {
    let (field, message) = match r {
        BookingRefusal::UnknownTrainer { email } => (
            "trainers",
            Message::new("booking.error.unknown_trainer").arg("email", email),
        ),
        BookingRefusal::NotATrainer { email, role } => (
            "trainers",
            Message::new("booking.error.not_a_trainer")
                .arg("email", email)
                .term("role", role_key(*role)),
        ),
        BookingRefusal::Conflict(with) => (
            "start",
            Message::new("booking.error.conflict")
                .arg("email", &with.email)
                .arg("title", &with.title)
                .instant("when", with.starts_at),
        ),
        BookingRefusal::CourseNotFound => ("course", Message::new("booking.error.course_not_found")),
        BookingRefusal::Ended => ("", Message::new("booking.error.ended")),
        BookingRefusal::Cancelled => ("", Message::new("booking.error.cancelled")),
        BookingRefusal::CourseCodeTaken { code } => {
            ("code", Message::new("booking.error.code_taken").arg("code", code))
        }
        BookingRefusal::TooManyParticipations { count, max } => (
            "",
            Message::new("booking.error.request_budget")
                .arg("count", count)
                .arg("max", max),
        ),
        BookingRefusal::HourlyLimit { max } => ("", Message::new("booking.error.hourly_budget").arg("max", max)),
        BookingRefusal::ContactMerged => ("into", Message::new("contact.error.merged")),
        BookingRefusal::MergeSelf => ("into", Message::new("contact.error.merge_self")),
    };
    match r {
        BookingRefusal::Conflict(_)
        | BookingRefusal::CourseCodeTaken { .. }
        | BookingRefusal::Ended
        | BookingRefusal::Cancelled
        | BookingRefusal::ContactMerged => Error::conflict(field, message),
        BookingRefusal::HourlyLimit { .. } => Error::TooMany(vec![Problem::new(field, message)]),
        _ => Error::invalid(field, message),
    }
}

/// The catalogue key naming a role.
pub fn role_key(role: domain::Role) -> &'static str {
    match role {
        domain::Role::Admin => "role.admin",
        domain::Role::Manager => "role.manager",
        domain::Role::Trainer => "role.trainer",
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
pub async fn view(svc: &Service, actor: &Actor, id: &str) -> Result<(SessionDetail, SessionFacts)> {
    let detail = svc.store().session(id).await?.ok_or(Error::NotFound)?;
    let facts = may_view(svc, actor, &detail)?;
    Ok((detail, facts))
}

/// [`view`]'s check of a session already loaded: the facts about it if the actor may see it,
/// otherwise `NotFound`.
pub fn may_view(svc: &Service, actor: &Actor, detail: &SessionDetail) -> Result<SessionFacts> {
    let facts = facts(detail, actor, svc.now());
    if !actor.may_session(SessionAction::View, facts, role_may_book(svc, actor.role)) {
        return Err(Error::NotFound);
    }
    Ok(facts)
}

/// Whether `actor` may do `action`; refused, it says why: the session has ended or is
/// cancelled (for someone who could otherwise do it), or the role does not allow it.
pub fn require(svc: &Service, actor: &Actor, action: SessionAction, facts: SessionFacts) -> Result<()> {
    let setting = role_may_book(svc, actor.role);
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
            return Err(refusal(&BookingRefusal::Ended));
        }
        return Err(refusal(&BookingRefusal::Cancelled));
    }
    if action == SessionAction::Book {
        // Said plainly: the installation's rules (`[access] booking_roles`, `[booking]
        // trainers_can_book`) keep this role from booking.
        return Err(Error::refused("", Message::new("access.error.may_not_book")));
    }
    Err(Error::Forbidden)
}

/// Whether `actor` may do `action` on a session with these facts (for showing actions).
pub fn may(svc: &Service, actor: &Actor, action: SessionAction, facts: SessionFacts) -> bool {
    actor.may_session(action, facts, role_may_book(svc, actor.role))
}

/// Whether accounts of `role` may book sessions: `[access] booking_roles`, and for trainers
/// `[booking] trainers_can_book` as well.
pub fn role_may_book(svc: &Service, role: domain::Role) -> bool {
    let config = svc.config();
    config.access.rules.may_book(role, config.booking.trainers_can_book)
}

/// The server a booking by `actor` uses (`[access] jitsi_servers_by_role`), given the one it
/// chose: refused with a message when the role may not book there, or on no server that exists.
async fn server_for_booking(svc: &Service, actor: &Actor, chosen: Option<String>) -> Result<Option<String>> {
    let rules = &svc.config().access.rules;
    if rules.servers_of(actor.role).is_none() {
        return Ok(chosen);
    }
    let servers = svc.store().list_jitsi_servers().await?;
    let refs: Vec<domain::access::ServerRef<'_>> = servers
        .iter()
        .map(|s| domain::access::ServerRef {
            id: &s.id,
            name: &s.name,
            is_default: s.is_default,
        })
        .collect();
    match rules.server_for_booking(actor.role, chosen.as_deref(), &refs) {
        Ok(id) => Ok(id.map(str::to_owned)),
        Err(domain::access::ServerRefusal::NotAllowed) => Err(Error::refused(
            "jitsi_server",
            Message::new("access.error.server_not_allowed"),
        )),
        Err(domain::access::ServerRefusal::NoneAllowed) => Err(Error::refused(
            "jitsi_server",
            Message::new("access.error.no_server_for_role"),
        )),
    }
}

/// Books what `request` asks for, by `actor`, optionally for a course and on a chosen Jitsi
/// server (admins and managers only; otherwise the default server).
pub async fn book(
    svc: &Service,
    caller: &Caller,
    course_id: Option<String>,
    jitsi_server_id: Option<String>,
    request: &SessionRequest,
) -> Result<Vec<SessionDetail>> {
    let actor = &caller.actor;
    require(svc, actor, SessionAction::Book, SessionFacts::default())?;
    // Which server a session uses is the planners' choice; to anyone else an id names nothing.
    if jitsi_server_id.is_some() && !actor.may_choose_jitsi_server(SessionFacts::default()) {
        return Err(Error::invalid(
            "jitsi_server",
            Message::new("jitsi.error.unknown_server"),
        ));
    }
    // Courses are visible to those who plan them only: to anyone else an id names nothing.
    if course_id.is_some() && !actor.may_manage_courses() {
        return Err(refusal(&BookingRefusal::CourseNotFound));
    }
    let jitsi_server_id = server_for_booking(svc, actor, jitsi_server_id).await?;
    // A trainer books for themself, and for themself alone: putting another trainer on a
    // session takes that person's time, which is the planners' to give (review finding 4).
    if actor.role == domain::Role::Trainer {
        let me = caller.email.to_lowercase();
        if !request.trainers.iter().any(|t| t.trim().to_lowercase() == me) {
            return Err(Error::refused("trainers", Message::new("booking.error.own_only")));
        }
        if request.trainers.iter().any(|t| t.trim().to_lowercase() != me) {
            return Err(Error::refused(
                "trainers",
                Message::new("booking.error.trainers_by_staff"),
            ));
        }
    }
    let limits = &svc.config().booking.limits;
    let plan = booking::plan(request, svc.now(), limits).map_err(|e| invalid(&e))?;
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
            external_moderators_only: actor.role == domain::Role::Trainer,
            preferences: plan.preferences,
        },
        created_by: actor.user_id.clone(),
        jitsi_server_id,
    };
    Ok(svc
        .store()
        .book_sessions(&new, svc.now(), &caller.audit("session.book"))
        .await?)
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
pub(crate) async fn scoped(
    svc: &Service,
    actor: &Actor,
    action: SessionAction,
    detail: &SessionDetail,
    scope: Scope,
) -> Result<Vec<store::Session>> {
    let (Scope::Following, Some(series)) = (scope, &detail.session.series_id) else {
        return Ok(vec![detail.session.clone()]);
    };
    let mut sessions = vec![detail.session.clone()];
    for session in svc.store().series_sessions(series, detail.session.starts_at).await? {
        if session.id == detail.session.id || session.status != store::SessionStatus::Scheduled {
            continue;
        }
        // What admins and managers may do does not depend on who teaches (and later
        // occurrences of a session that has not ended have not ended either); a trainer's
        // rights are checked on each occurrence's own people.
        if actor.role == domain::Role::Trainer {
            let other = svc.store().session(&session.id).await?.ok_or(Error::NotFound)?;
            require(svc, actor, action, facts(&other, actor, svc.now()))?;
        }
        sessions.push(session);
    }
    Ok(sessions)
}

/// A field a change gives, checked: its value, or its problem recorded (and the field left as
/// it is).
fn given<T>(checked: Option<std::result::Result<T, BookingError>>, errors: &mut Vec<BookingError>) -> Option<T> {
    match checked {
        Some(Ok(value)) => Some(value),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
        None => None,
    }
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
    svc: &Service,
    caller: &Caller,
    id: &str,
    scope: Scope,
    change: &DetailsChange,
) -> Result<Vec<SessionDetail>> {
    let actor = &caller.actor;
    let (detail, facts) = view(svc, actor, id).await?;
    require(svc, actor, SessionAction::EditDetails, facts)?;
    // Courses are the planners': a trainer may neither attach one nor detach one.
    if change.course_id.is_some() && !actor.may_manage_courses() {
        return Err(refusal(&BookingRefusal::CourseNotFound));
    }
    let limits = &svc.config().booking.limits;
    let mut errors = Vec::new();
    let title = given(
        change
            .title
            .as_deref()
            .map(|t| booking::parse_title(t, limits.max_title_chars)),
        &mut errors,
    );
    let notes = given(
        change
            .notes
            .as_deref()
            .map(|n| booking::parse_notes(n, limits.max_notes_chars)),
        &mut errors,
    );
    let duration = given(
        change.duration_minutes.map(|m| booking::parse_duration(m, limits)),
        &mut errors,
    );
    let this = &detail.session;
    let zone = TimeZoneName::parse(&this.time_zone).map_err(|_| Error::Internal("stored zone".into()))?;
    let this_local = this.starts_at.to_zoned(zone.time_zone().clone());
    let day_shift = change.date.map(|d| (d - this_local.date()).get_days()).unwrap_or(0);
    let sessions = scoped(svc, actor, SessionAction::EditDetails, &detail, scope).await?;
    let mut updates = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        let times = if change.date.is_some() || change.time.is_some() || duration.is_some() {
            let zone = TimeZoneName::parse(&session.time_zone).map_err(|_| Error::Internal("stored zone".into()))?;
            let local = session.starts_at.to_zoned(zone.time_zone().clone());
            let date = local
                .date()
                .checked_add(jiff::Span::new().days(day_shift))
                .map_err(|_| {
                    invalid(&[BookingError::StartsInPast {
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
                    let running = start.timestamp() == session.starts_at && session.starts_at <= svc.now();
                    if running {
                        if start.timestamp() + length <= svc.now() {
                            errors.push(BookingError::EndsInPast {
                                ends_at: start.timestamp() + length,
                            });
                        }
                    } else if start.timestamp() <= svc.now() {
                        errors.push(BookingError::StartsInPast {
                            starts_at: start.timestamp(),
                        });
                    }
                    match booking::within_horizon(start.timestamp(), svc.now()) {
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
        return Err(invalid(&errors));
    }
    Ok(svc
        .store()
        .update_sessions(&updates, svc.now(), &caller.audit("session.update"))
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

/// Validates people: each email once across roles, within limits, at least one trainer
/// (`domain::booking::parse_people`).
pub fn parse_people(input: &PeopleInput, limits: &booking::BookingLimits) -> Result<People, Vec<BookingError>> {
    let mut errors = Vec::new();
    let planned = booking::parse_people(
        &input.trainers,
        &input.moderators,
        &input.learners,
        &input.guests,
        limits,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(People {
        trainers: planned.trainers,
        moderators: planned.moderators,
        learners: planned.learners,
        guests: planned.guests,
        external_moderators_only: false,
        preferences: planned.preferences,
    })
}

/// Replaces the people of a session (or this and following). A trainer who teaches it may;
/// a trainer cannot remove themself from the trainers.
pub async fn set_people(
    svc: &Service,
    caller: &Caller,
    id: &str,
    scope: Scope,
    input: &PeopleInput,
) -> Result<Vec<SessionDetail>> {
    let actor = &caller.actor;
    let (detail, facts) = view(svc, actor, id).await?;
    require(svc, actor, SessionAction::EditParticipants, facts)?;
    let mut people = parse_people(input, &svc.config().booking.limits).map_err(|e| invalid(&e))?;
    people.external_moderators_only = actor.role == domain::Role::Trainer;
    // A trainer staffs their session with learners, guests and external moderators; who else
    // teaches it is the planners' decision, in both directions (review finding 4).
    if actor.role == domain::Role::Trainer {
        let wanted: std::collections::BTreeSet<String> = people.trainers.iter().map(Email::normalized).collect();
        let current: std::collections::BTreeSet<String> = detail
            .with_role(store::ParticipantRole::Trainer)
            .map(|p| p.email.to_lowercase())
            .collect();
        if wanted != current {
            return Err(Error::refused(
                "trainers",
                Message::new("booking.error.trainers_by_staff"),
            ));
        }
    }
    let ids: Vec<String> = scoped(svc, actor, SessionAction::EditParticipants, &detail, scope)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    Ok(svc
        .store()
        .replace_participants(&ids, &people, svc.now(), &caller.audit("session.participants"))
        .await?)
}

/// Cancels a session, or this one and the following ones of its series. `message` (optional,
/// checked like notes) goes into the cancellation mails.
pub async fn cancel(
    svc: &Service,
    caller: &Caller,
    id: &str,
    scope: Scope,
    message: Option<&str>,
) -> Result<Vec<SessionDetail>> {
    let actor = &caller.actor;
    let (detail, facts) = view(svc, actor, id).await?;
    require(svc, actor, SessionAction::Cancel, facts)?;
    let message = match message.map(|m| booking::parse_notes(m, svc.config().booking.limits.max_notes_chars)) {
        Some(Ok(m)) if !m.is_empty() => Some(m),
        Some(Err(e)) => return Err(Error::invalid("message", messages::booking(&e))),
        _ => None,
    };
    let ids: Vec<String> = scoped(svc, actor, SessionAction::Cancel, &detail, scope)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    Ok(svc
        .store()
        .cancel_sessions(&ids, message.as_deref(), svc.now(), &caller.audit("session.cancel"))
        .await?)
}

/// Sessions `actor` may list, as `filter` asks. Staff see everyone's and may narrow to one
/// trainer (`trainer`: an account's email or id; an unknown one is refused) and one course. A
/// trainer sees the sessions they teach, whatever they ask: another trainer's or a course's
/// (courses are the planners') give nothing, and the parameter is not even looked up (its answer
/// would tell which addresses have accounts).
pub async fn list(
    svc: &Service,
    actor: &Actor,
    mut filter: store::SessionFilter,
    trainer: Option<&str>,
) -> Result<Vec<store::SessionSummary>> {
    let trainer = trainer.map(str::trim).filter(|t| !t.is_empty());
    if actor.role >= domain::Role::Manager {
        if let Some(wanted) = trainer {
            let found = if wanted.contains('@') {
                svc.store().user_by_email(wanted).await?
            } else {
                svc.store().user(wanted).await?
            };
            match found {
                Some(u) => filter.teacher = Some(u.id),
                None => {
                    return Err(Error::invalid(
                        "trainer",
                        Message::new("booking.error.unknown_trainer").arg("email", wanted),
                    ));
                }
            }
        }
    } else {
        let me = svc.store().user(&actor.user_id).await?.ok_or(Error::Unauthenticated)?;
        let someone_else = trainer.is_some_and(|t| !t.eq_ignore_ascii_case(&me.email) && t != actor.user_id);
        if someone_else || filter.course_id.is_some() {
            return Ok(Vec::new());
        }
        filter.teacher = Some(actor.user_id.clone());
    }
    Ok(svc.store().list_sessions(&filter).await?)
}

/// The occurrences of the series of a session `actor` may see, from `from` on (every one with
/// [`jiff::Timestamp::MIN`]).
pub async fn series(svc: &Service, actor: &Actor, id: &str, from: Timestamp) -> Result<Vec<store::Session>> {
    let (detail, _) = view(svc, actor, id).await?;
    match &detail.session.series_id {
        Some(series) => Ok(svc.store().series_sessions(series, from).await?),
        None => Ok(vec![detail.session]),
    }
}

/// The Jitsi server a session is pinned to (its id), if any.
pub async fn pinned_server(svc: &Service, actor: &Actor, id: &str) -> Result<Option<String>> {
    view(svc, actor, id).await?;
    Ok(svc.store().session_jitsi_server(id).await?)
}

/// A session's room and the server that serves it.
pub async fn room(svc: &Service, actor: &Actor, id: &str) -> Result<store::RoomSession> {
    view(svc, actor, id).await?;
    svc.store().room_session_by_id(id).await?.ok_or(Error::NotFound)
}

/// What a booking form offers `actor` to choose from: trainers (staff choose any; a trainer
/// books for themself), courses (staff), Jitsi servers (those who may pin one: `(id, name)`).
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub trainers: Vec<store::User>,
    pub courses: Vec<store::Course>,
    pub servers: Vec<(String, String)>,
}

pub async fn choices(svc: &Service, actor: &Actor, archived_courses: bool) -> Result<Choices> {
    let staff = actor.role >= domain::Role::Manager;
    Ok(Choices {
        // A trainer books for themself alone.
        trainers: if staff {
            svc.store().trainers().await?
        } else {
            svc.store().user(&actor.user_id).await?.into_iter().collect()
        },
        courses: if staff {
            svc.store().list_courses(archived_courses).await?
        } else {
            Vec::new()
        },
        // The servers this role may book on (`[access] jitsi_servers_by_role`).
        servers: if actor.may_choose_jitsi_server(SessionFacts::default()) {
            svc.store()
                .list_jitsi_servers()
                .await?
                .into_iter()
                .filter(|s| svc.config().access.rules.may_use_server(actor.role, &s.name))
                .map(|s| (s.id, s.name))
                .collect()
        } else {
            Vec::new()
        },
    })
}

/// The trainer accounts the participants editor of `detail` offers: every trainer to staff; to
/// a trainer, the session's own (who teaches is the planners' to change).
pub async fn trainer_choices(svc: &Service, actor: &Actor, detail: &SessionDetail) -> Result<Vec<store::User>> {
    if actor.role >= domain::Role::Manager {
        return Ok(svc.store().trainers().await?);
    }
    let mut out = Vec::new();
    for p in detail.with_role(store::ParticipantRole::Trainer) {
        if let Some(id) = &p.user_id
            && let Some(user) = svc.store().user(id).await?
        {
            out.push(user);
        }
    }
    Ok(out)
}
