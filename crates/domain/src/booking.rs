//! Booking rules: what a session request must satisfy before anything is stored.
//!
//! [`plan`] turns a [`SessionRequest`] (from a form or the API) into a [`SessionPlan`]: a valid
//! title, notes, zone, duration, the instants of every occurrence (one, or a series from an
//! RRULE, DST-correct) and the people by role, de-duplicated and within limits. Every problem is
//! reported at once, each with the field it concerns, so a form can show them all.

use std::collections::BTreeSet;

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, Zoned};

use crate::localtime::{Ambiguity, LocalTimeError, TimeZoneName, resolve_local};
use crate::recurrence::{self, RecurrenceError, Rule, RuleError};
use crate::user::{DisplayName, Email, UserInputError};

/// Limits on sessions (configurable; DESIGN.md's defaults).
#[derive(Debug, Clone)]
pub struct BookingLimits {
    /// Trainers and moderators together.
    pub max_moderators: usize,
    /// Learners and guests together.
    pub max_participants: usize,
    pub min_duration: SignedDuration,
    pub max_duration: SignedDuration,
    pub max_title_chars: usize,
    pub max_notes_chars: usize,
    pub recurrence: recurrence::Limits,
    /// Participations (a person in an occurrence: a row, an invitation, reminders) one request
    /// may create: a series of 500 daily occurrences for 210 people is 105,000 of them.
    pub max_participations: usize,
    /// Participations one account may create per hour, all its requests together.
    pub max_participations_per_hour: usize,
}

impl Default for BookingLimits {
    fn default() -> Self {
        BookingLimits {
            max_moderators: 10,
            max_participants: 200,
            min_duration: SignedDuration::from_mins(15),
            max_duration: SignedDuration::from_hours(12),
            max_title_chars: 200,
            max_notes_chars: 5000,
            recurrence: recurrence::Limits::default(),
            max_participations: 2_000,
            max_participations_per_hour: 5_000,
        }
    }
}

/// A person named in a request: a name (may be empty: then the email's local part) and an email;
/// optionally the language and IANA zone their mails and pages use (kept on their address-book
/// entry; absent: the entry's own, else the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PersonInput {
    #[serde(default)]
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// The language and zone given for a person without an account, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPreference {
    pub email: Email,
    pub locale: Option<crate::Locale>,
    /// A canonical IANA name.
    pub time_zone: Option<String>,
}

/// Checks the language and zone of `input` (fields `{role}.locale`, `{role}.time_zone`); none
/// given: `None`.
fn parse_preference(
    input: &PersonInput,
    email: &Email,
    fields: (&'static str, &'static str),
    errors: &mut Vec<BookingError>,
) -> Option<ContactPreference> {
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (locale, time_zone) = (given(&input.locale), given(&input.time_zone));
    if locale.is_none() && time_zone.is_none() {
        return None;
    }
    let mut bad = false;
    let locale = locale.and_then(|l| {
        crate::user::parse_locale(&l)
            .map_err(|error| {
                bad = true;
                errors.push(BookingError::Person { field: fields.0, error })
            })
            .ok()
    });
    let time_zone = time_zone.and_then(|z| {
        crate::user::parse_time_zone(&z)
            .map_err(|error| {
                bad = true;
                errors.push(BookingError::Person { field: fields.1, error })
            })
            .ok()
    });
    (!bad).then(|| ContactPreference {
        email: email.clone(),
        locale,
        time_zone,
    })
}

/// A validated person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: DisplayName,
    pub email: Email,
}

/// When the (first) session starts.
#[derive(Debug, Clone, PartialEq)]
pub enum StartSpec {
    /// An exact instant (the API's RFC 3339 `starts_at` with an offset).
    Instant(Timestamp),
    /// A local date and time in the request's zone (a form; an RFC 3339 value without offset).
    Local {
        date: Date,
        time: Time,
        ambiguity: Ambiguity,
    },
}

/// What a manager or trainer asks for.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub title: String,
    pub notes: String,
    pub start: StartSpec,
    pub time_zone: String,
    pub duration_minutes: i64,
    /// An RRULE (with or without the `RRULE:` prefix), or none for a single session.
    pub recurrence: Option<String>,
    /// Emails of trainer accounts.
    pub trainers: Vec<String>,
    /// Moderators: an account (by email) or an external person.
    pub moderators: Vec<PersonInput>,
    pub learners: Vec<PersonInput>,
    pub guests: Vec<PersonInput>,
}

/// The request, valid.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub title: String,
    pub notes: String,
    pub zone: TimeZoneName,
    pub duration: SignedDuration,
    /// Every occurrence's start, in order (one for a single session).
    pub starts: Vec<Zoned>,
    /// The rule, for a series.
    pub rule: Option<Rule>,
    pub trainers: Vec<Email>,
    pub moderators: Vec<Person>,
    pub learners: Vec<Person>,
    pub guests: Vec<Person>,
    /// Languages and zones given for people without accounts.
    pub preferences: Vec<ContactPreference>,
}

/// Why a request was refused. [`BookingError::field`] tells which input it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    #[error("the title is empty")]
    TitleEmpty,
    #[error("the title is longer than {max} characters")]
    TitleTooLong { max: usize },
    #[error("the title contains control characters")]
    TitleControl,
    #[error("the notes are longer than {max} characters")]
    NotesTooLong { max: usize },
    #[error("a duration of {minutes} minutes is outside {min}–{max} minutes")]
    DurationOutOfRange { minutes: i64, min: i64, max: i64 },
    #[error("the session would start in the past ({starts_at})")]
    StartsInPast { starts_at: Timestamp },
    #[error("the running session would already be over ({ends_at})")]
    EndsInPast { ends_at: Timestamp },
    #[error("the session would start more than {years} years from now ({starts_at})")]
    TooFarAhead { starts_at: Timestamp, years: i64 },
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    #[error("{0}")]
    LocalTime(Box<LocalTimeError>),
    #[error("{0}")]
    Rule(RuleError),
    #[error("{0}")]
    Recurrence(Box<RecurrenceError>),
    #[error("a session needs at least one trainer")]
    NoTrainer,
    #[error("{count} trainers and moderators; at most {max}")]
    TooManyModerators { count: usize, max: usize },
    #[error("{count} learners and guests; at most {max}")]
    TooManyParticipants { count: usize, max: usize },
    /// Occurrences × people above what one request may create.
    #[error("{occurrences} occurrences × {people} people; at most {max} participations")]
    TooManyParticipations {
        occurrences: usize,
        people: usize,
        max: usize,
    },
    #[error("{field}: {error}")]
    Person { field: &'static str, error: UserInputError },
    #[error("{email} appears more than once")]
    DuplicatePerson { email: String },
}

impl BookingError {
    /// The input this error is about: `title`, `notes`, `duration`, `start`, `time_zone`,
    /// `recurrence`, `trainers`, `moderators`, `learners`, `guests`.
    pub fn field(&self) -> &'static str {
        match self {
            BookingError::TitleEmpty | BookingError::TitleTooLong { .. } | BookingError::TitleControl => "title",
            BookingError::NotesTooLong { .. } => "notes",
            BookingError::DurationOutOfRange { .. } | BookingError::EndsInPast { .. } => "duration",
            BookingError::StartsInPast { .. } | BookingError::TooFarAhead { .. } | BookingError::LocalTime(_) => {
                "start"
            }
            BookingError::UnknownTimeZone(_) => "time_zone",
            // A later session in the skipped hour is mended by another start time, like the
            // first one's: said with the start.
            BookingError::Recurrence(e)
                if matches!(**e, crate::recurrence::RecurrenceError::NonexistentOccurrence { .. }) =>
            {
                "start"
            }
            BookingError::Rule(_) | BookingError::Recurrence(_) => "recurrence",
            BookingError::NoTrainer => "trainers",
            BookingError::TooManyModerators { .. } => "moderators",
            BookingError::TooManyParticipants { .. } => "learners",
            BookingError::TooManyParticipations { .. } => "recurrence",
            BookingError::Person { field, .. } => field,
            BookingError::DuplicatePerson { .. } => "participants",
        }
    }
}

/// Checks a title: trimmed, 1 to `max` characters of any script, no control characters.
pub fn parse_title(input: &str, max: usize) -> Result<String, BookingError> {
    let title = input.trim();
    if title.is_empty() {
        return Err(BookingError::TitleEmpty);
    }
    if title.chars().count() > max {
        return Err(BookingError::TitleTooLong { max });
    }
    if title.chars().any(char::is_control) {
        return Err(BookingError::TitleControl);
    }
    Ok(title.to_owned())
}

/// Checks notes for participants: at most `max` characters; line breaks allowed.
pub fn parse_notes(input: &str, max: usize) -> Result<String, BookingError> {
    let notes = input.trim();
    if notes.chars().count() > max {
        return Err(BookingError::NotesTooLong { max });
    }
    // Keep line breaks and tabs, drop other control characters.
    Ok(notes
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect())
}

/// Checks a duration in minutes against the limits. Any `i64` is an answer: a number of minutes
/// too large for a duration (beyond ±1.5 × 10¹⁷) is out of range like any other.
pub fn parse_duration(minutes: i64, limits: &BookingLimits) -> Result<SignedDuration, BookingError> {
    match SignedDuration::try_from_mins(minutes) {
        Some(duration) if limits.min_duration <= duration && duration <= limits.max_duration => Ok(duration),
        _ => Err(BookingError::DurationOutOfRange {
            minutes,
            min: limits.min_duration.as_mins(),
            max: limits.max_duration.as_mins(),
        }),
    }
}

/// A person from a name and an email; an empty name becomes the email's local part.
pub fn parse_person(input: &PersonInput, field: &'static str) -> Result<Person, BookingError> {
    let email = Email::parse(&input.email).map_err(|error| BookingError::Person { field, error })?;
    let name = if input.name.trim().is_empty() {
        email.as_str().split('@').next().unwrap_or(email.as_str()).to_owned()
    } else {
        input.name.clone()
    };
    let name = DisplayName::parse(&name).map_err(|error| BookingError::Person { field, error })?;
    Ok(Person { name, email })
}

/// One line of a pasted list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub text: String,
    pub error: UserInputError,
}

/// Reads a pasted list of people: one per line as `email`, `Name <email>`, `Name, email`,
/// `Name;email` or spreadsheet columns separated by tabs (the first cell that is an email is the
/// email, the first other cell the name); a line of several emails separated by commas or
/// semicolons gives several people. Duplicates (by email, case-insensitively) are merged,
/// keeping the first; every unreadable line is reported.
pub fn parse_people_list(text: &str) -> (Vec<Person>, Vec<LineError>) {
    let mut people: Vec<Person> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    let mut push = |person: Person, people: &mut Vec<Person>| {
        if seen.insert(person.email.normalized()) {
            people.push(person);
        }
    };
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fail = |error: UserInputError| LineError {
            line: index + 1,
            text: line.to_owned(),
            error,
        };
        // Name <email>
        if let (Some(open), Some(close)) = (line.find('<'), line.rfind('>'))
            && open < close
        {
            let input = PersonInput {
                name: line[..open].trim().trim_matches('"').trim().to_owned(),
                email: line[open + 1..close].trim().to_owned(),
                ..Default::default()
            };
            match parse_person(&input, "participants") {
                Ok(p) => push(p, &mut people),
                Err(BookingError::Person { error, .. }) => errors.push(fail(error)),
                Err(_) => {}
            }
            continue;
        }
        let cells: Vec<&str> = line
            .split(['\t', ';', ','])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let emails: Vec<&str> = cells.iter().copied().filter(|c| Email::parse(c).is_ok()).collect();
        if !emails.is_empty() && emails.len() == cells.len() {
            for email in emails {
                if let Ok(p) = parse_person(
                    &PersonInput {
                        name: String::new(),
                        email: email.to_owned(),
                        ..Default::default()
                    },
                    "participants",
                ) {
                    push(p, &mut people);
                }
            }
            continue;
        }
        match emails.first() {
            Some(email) => {
                // Spreadsheet columns before the address are the name's parts ("Martin⇥Claire⇥
                // claire.martin@…": family name and first name, both kept, in their order);
                // after it, other columns (an organisation) are not the name. Without any
                // before it, the first other cell is the name.
                let position = cells.iter().position(|c| c == email).unwrap_or(0);
                let before: Vec<&str> = cells[..position].to_vec();
                let joined = before.join(" ");
                let name = if before.is_empty() {
                    cells.iter().find(|c| Email::parse(c).is_err()).copied().unwrap_or("")
                } else {
                    joined.as_str()
                };
                match parse_person(
                    &PersonInput {
                        name: name.to_owned(),
                        email: (*email).to_owned(),
                        ..Default::default()
                    },
                    "participants",
                ) {
                    Ok(p) => push(p, &mut people),
                    Err(BookingError::Person { error, .. }) => errors.push(fail(error)),
                    Err(_) => {}
                }
            }
            None => {
                // Say why the most email-like cell is not an email.
                let candidate = cells
                    .iter()
                    .find(|c| c.contains('@'))
                    .or(cells.first())
                    .copied()
                    .unwrap_or(line);
                let error = Email::parse(candidate)
                    .err()
                    .unwrap_or(UserInputError::EmailInvalid(candidate.to_owned()));
                errors.push(fail(error));
            }
        }
    }
    (people, errors)
}

/// How far ahead a session may start. Nobody plans a course ten years out; the bound also keeps
/// every instant the booking computes (end, occurrences, join window) far from the end of the
/// representable calendar, where arithmetic on times would fail.
pub const MAX_YEARS_AHEAD: i64 = 10;

/// Refuses a start more than [`MAX_YEARS_AHEAD`] years after `now`.
pub fn within_horizon(starts_at: Timestamp, now: Timestamp) -> Result<(), BookingError> {
    let horizon = SignedDuration::from_hours(24 * 366 * MAX_YEARS_AHEAD);
    match now.checked_add(horizon) {
        Ok(limit) if starts_at <= limit => Ok(()),
        _ => Err(BookingError::TooFarAhead {
            starts_at,
            years: MAX_YEARS_AHEAD,
        }),
    }
}

/// The people of a session, each checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannedPeople {
    pub trainers: Vec<Email>,
    pub moderators: Vec<Person>,
    pub learners: Vec<Person>,
    pub guests: Vec<Person>,
    pub preferences: Vec<ContactPreference>,
}

/// Checks the people of a session: each email once across every role, within the limits, at
/// least one trainer. Problems go to `errors`; the people that could be read come back.
pub fn parse_people(
    request_trainers: &[String],
    moderators: &[PersonInput],
    learners: &[PersonInput],
    guests: &[PersonInput],
    limits: &BookingLimits,
    errors: &mut Vec<BookingError>,
) -> PlannedPeople {
    let mut seen = BTreeSet::new();
    let mut once = |email: &Email, errors: &mut Vec<BookingError>| {
        if !seen.insert(email.normalized()) {
            errors.push(BookingError::DuplicatePerson {
                email: email.as_str().to_owned(),
            });
        }
    };
    let mut trainers = Vec::new();
    for email in request_trainers {
        match Email::parse(email) {
            Ok(e) => {
                once(&e, errors);
                trainers.push(e);
            }
            Err(error) => errors.push(BookingError::Person {
                field: "trainers",
                error,
            }),
        }
    }
    let mut preferences = Vec::new();
    let mut people = |inputs: &[PersonInput],
                      field: &'static str,
                      fields: (&'static str, &'static str),
                      errors: &mut Vec<BookingError>| {
        let mut out = Vec::new();
        for input in inputs {
            match parse_person(input, field) {
                Ok(p) => {
                    once(&p.email, errors);
                    preferences.extend(parse_preference(input, &p.email, fields, errors));
                    out.push(p);
                }
                Err(e) => errors.push(e),
            }
        }
        out
    };
    let moderators = people(
        moderators,
        "moderators",
        ("moderators.locale", "moderators.time_zone"),
        errors,
    );
    let learners = people(learners, "learners", ("learners.locale", "learners.time_zone"), errors);
    let guests = people(guests, "guests", ("guests.locale", "guests.time_zone"), errors);
    if request_trainers.is_empty() {
        errors.push(BookingError::NoTrainer);
    }
    let moderating = request_trainers.len() + moderators.len();
    if moderating > limits.max_moderators {
        errors.push(BookingError::TooManyModerators {
            count: moderating,
            max: limits.max_moderators,
        });
    }
    let attending = learners.len() + guests.len();
    if attending > limits.max_participants {
        errors.push(BookingError::TooManyParticipants {
            count: attending,
            max: limits.max_participants,
        });
    }
    PlannedPeople {
        trainers,
        moderators,
        learners,
        guests,
        preferences,
    }
}

/// Validates a whole request at `now`; every problem is returned.
pub fn plan(
    request: &SessionRequest,
    now: Timestamp,
    limits: &BookingLimits,
) -> Result<SessionPlan, Vec<BookingError>> {
    let mut errors = Vec::new();
    let title = parse_title(&request.title, limits.max_title_chars)
        .map_err(|e| errors.push(e))
        .ok();
    let notes = parse_notes(&request.notes, limits.max_notes_chars)
        .map_err(|e| errors.push(e))
        .ok();
    let duration = parse_duration(request.duration_minutes, limits)
        .map_err(|e| errors.push(e))
        .ok();
    let zone = TimeZoneName::parse(request.time_zone.trim())
        .map_err(|_| errors.push(BookingError::UnknownTimeZone(request.time_zone.trim().to_owned())))
        .ok();
    let rule = match request.recurrence.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(text) => match text.parse::<Rule>() {
            Ok(rule) => Some(rule),
            Err(e) => {
                errors.push(BookingError::Rule(e));
                None
            }
        },
        None => None,
    };
    let first = zone.as_ref().and_then(|zone| {
        let result = match &request.start {
            StartSpec::Instant(at) => Ok(at.to_zoned(zone.time_zone().clone())),
            StartSpec::Local { date, time, ambiguity } => resolve_local(*date, *time, zone, *ambiguity),
        };
        result
            .map_err(|e| errors.push(BookingError::LocalTime(Box::new(e))))
            .ok()
    });
    let starts = match (&first, &zone) {
        (Some(first), Some(zone)) => {
            if first.timestamp() <= now {
                errors.push(BookingError::StartsInPast {
                    starts_at: first.timestamp(),
                });
            }
            match (within_horizon(first.timestamp(), now), &rule) {
                (Err(e), _) => {
                    errors.push(e);
                    None
                }
                (Ok(()), Some(rule)) => recurrence::occurrences(rule, first.datetime(), zone, &limits.recurrence)
                    .map_err(|e| errors.push(BookingError::Recurrence(Box::new(e))))
                    .ok(),
                (Ok(()), None) => Some(vec![first.clone()]),
            }
        }
        _ => None,
    };

    let PlannedPeople {
        trainers,
        moderators,
        learners,
        guests,
        preferences,
    } = parse_people(
        &request.trainers,
        &request.moderators,
        &request.learners,
        &request.guests,
        limits,
        &mut errors,
    );
    let moderating = request.trainers.len() + request.moderators.len();
    let attending = request.learners.len() + request.guests.len();
    if let Some(starts) = &starts {
        let people = moderating + attending;
        if starts.len().saturating_mul(people) > limits.max_participations {
            errors.push(BookingError::TooManyParticipations {
                occurrences: starts.len(),
                people,
                max: limits.max_participations,
            });
        }
    }
    match (title, notes, duration, zone, starts, errors.is_empty()) {
        (Some(title), Some(notes), Some(duration), Some(zone), Some(starts), true) => Ok(SessionPlan {
            title,
            notes,
            zone,
            duration,
            starts,
            rule,
            trainers,
            moderators,
            learners,
            guests,
            preferences,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn request() -> SessionRequest {
        SessionRequest {
            title: "Sécurité 🔐 des données".into(),
            notes: "Apportez un casque.\nMerci.".into(),
            start: StartSpec::Local {
                date: date(2026, 10, 19),
                time: Time::constant(9, 0, 0, 0),
                ambiguity: Ambiguity::Earlier,
            },
            time_zone: "Europe/Paris".into(),
            duration_minutes: 90,
            recurrence: None,
            trainers: vec!["theo@example.org".into()],
            moderators: vec![PersonInput {
                name: "Co Animatrice".into(),
                email: "co@partner.example".into(),
                ..Default::default()
            }],
            learners: vec![
                PersonInput {
                    name: "Léa".into(),
                    email: "lea@example.org".into(),
                    ..Default::default()
                },
                PersonInput {
                    name: String::new(),
                    email: "max@example.org".into(),
                    ..Default::default()
                },
            ],
            guests: vec![],
        }
    }

    fn now() -> Timestamp {
        "2026-10-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_valid_single_session() {
        let plan = plan(&request(), now(), &BookingLimits::default()).unwrap();
        assert_eq!(plan.title, "Sécurité 🔐 des données");
        assert_eq!(plan.starts.len(), 1);
        assert_eq!(plan.starts[0].timestamp().to_string(), "2026-10-19T07:00:00Z");
        assert_eq!(plan.duration, SignedDuration::from_mins(90));
        assert_eq!(
            plan.learners[1].name.as_str(),
            "max",
            "an empty name becomes the local part"
        );
    }

    #[test]
    fn a_weekly_series_keeps_nine_local_across_the_october_change() {
        let mut r = request();
        r.recurrence = Some("FREQ=WEEKLY;BYDAY=MO;COUNT=3".into());
        let plan = plan(&r, now(), &BookingLimits::default()).unwrap();
        let utc: Vec<String> = plan.starts.iter().map(|z| z.timestamp().to_string()).collect();
        assert_eq!(
            utc,
            ["2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z"]
        );
        assert!(plan.starts.iter().all(|z| z.hour() == 9));
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut r = request();
        r.title = "  ".into();
        r.notes = "x".repeat(5001);
        r.duration_minutes = 10;
        r.time_zone = "Mars/Olympus".into();
        r.trainers = vec!["not an email".into()];
        r.learners.push(PersonInput {
            name: "Dup".into(),
            email: "LEA@example.org".into(),
            ..Default::default()
        });
        let errors = plan(&r, now(), &BookingLimits::default()).unwrap_err();
        let fields: BTreeSet<&str> = errors.iter().map(BookingError::field).collect();
        for f in ["title", "notes", "duration", "time_zone", "trainers", "participants"] {
            assert!(fields.contains(f), "{f} missing from {errors:?}");
        }
    }

    #[test]
    fn every_number_of_minutes_is_an_answer_not_a_panic() {
        let limits = BookingLimits::default();
        // 153722867280912931 minutes is the first that overflows an i64 of seconds.
        for minutes in [
            i64::MAX,
            i64::MIN,
            153_722_867_280_912_931,
            -153_722_867_280_912_931,
            0,
            -1,
            14,
            721,
        ] {
            assert_eq!(
                parse_duration(minutes, &limits),
                Err(BookingError::DurationOutOfRange {
                    minutes,
                    min: 15,
                    max: 720
                }),
                "{minutes}"
            );
        }
        assert_eq!(parse_duration(15, &limits), Ok(SignedDuration::from_mins(15)));
        assert_eq!(parse_duration(720, &limits), Ok(SignedDuration::from_hours(12)));
        let mut r = request();
        r.duration_minutes = i64::MAX;
        assert!(
            plan(&r, now(), &limits)
                .unwrap_err()
                .iter()
                .any(|e| e.field() == "duration")
        );
    }

    #[test]
    fn past_gap_and_limits() {
        let mut r = request();
        r.start = StartSpec::Instant("2026-09-01T07:00:00Z".parse().unwrap());
        assert!(matches!(
            plan(&r, now(), &BookingLimits::default()).unwrap_err()[0],
            BookingError::StartsInPast { .. }
        ));
        // The far future is refused, up to the last representable day, without overflowing.
        for far in ["2040-01-01T07:00:00Z", "9999-12-30T09:00:00Z"] {
            r.start = StartSpec::Instant(far.parse().unwrap());
            assert!(matches!(
                plan(&r, now(), &BookingLimits::default()).unwrap_err()[0],
                BookingError::TooFarAhead { years: 10, .. }
            ));
        }
        r.start = StartSpec::Local {
            date: jiff::civil::date(9999, 12, 31),
            time: jiff::civil::time(23, 0, 0, 0),
            ambiguity: Ambiguity::Earlier,
        };
        assert!(plan(&r, now(), &BookingLimits::default()).is_err());
        let mut r = request();
        r.start = StartSpec::Local {
            date: date(2027, 3, 28),
            time: Time::constant(2, 30, 0, 0),
            ambiguity: Ambiguity::Earlier,
        };
        assert!(matches!(
            &plan(&r, now(), &BookingLimits::default()).unwrap_err()[0],
            BookingError::LocalTime(e) if matches!(**e, LocalTimeError::Nonexistent { .. })
        ));
        let mut r = request();
        r.recurrence = Some("FREQ=DAILY;UNTIL=20300101".into());
        assert!(matches!(
            plan(&r, now(), &BookingLimits::default()).unwrap_err()[0],
            BookingError::Recurrence(_)
        ));
        let mut r = request();
        r.recurrence = Some("FREQ=YEARLY;COUNT=2".into());
        assert!(matches!(
            plan(&r, now(), &BookingLimits::default()).unwrap_err()[0],
            BookingError::Rule(_)
        ));
        let mut r = request();
        r.trainers = (0..11).map(|i| format!("t{i}@example.org")).collect();
        r.moderators.clear();
        assert!(
            plan(&r, now(), &BookingLimits::default())
                .unwrap_err()
                .contains(&BookingError::TooManyModerators { count: 11, max: 10 })
        );
        let mut r = request();
        r.trainers.clear();
        assert!(
            plan(&r, now(), &BookingLimits::default())
                .unwrap_err()
                .contains(&BookingError::NoTrainer)
        );
        let mut r = request();
        r.learners = (0..201)
            .map(|i| PersonInput {
                name: String::new(),
                email: format!("l{i}@example.org"),
                ..Default::default()
            })
            .collect();
        assert!(
            plan(&r, now(), &BookingLimits::default())
                .unwrap_err()
                .contains(&BookingError::TooManyParticipants { count: 201, max: 200 })
        );
    }

    #[test]
    fn pasted_lists_merge_duplicates_and_report_bad_lines() {
        let text = "lea@example.org\n\
                    Max Dupont <max@example.org>\n\
                    \"Zoé, RH\" <zoe@example.org>\n\
                    Paul Martin, paul@example.org\n\
                    Anne\tanne@example.org\tACME\n\
                    a@example.org; b@example.org, LEA@EXAMPLE.ORG\n\
                    \n\
                    not an email at all\n\
                    Bob <bob@nowhere>\n";
        let (people, errors) = parse_people_list(text);
        let emails: Vec<&str> = people.iter().map(|p| p.email.as_str()).collect();
        assert_eq!(
            emails,
            [
                "lea@example.org",
                "max@example.org",
                "zoe@example.org",
                "paul@example.org",
                "anne@example.org",
                "a@example.org",
                "b@example.org"
            ]
        );
        assert_eq!(people[1].name.as_str(), "Max Dupont");
        assert_eq!(people[2].name.as_str(), "Zoé, RH");
        assert_eq!(people[3].name.as_str(), "Paul Martin");
        assert_eq!(people[4].name.as_str(), "Anne");
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [8, 9]);
    }

    #[test]
    fn spreadsheet_rows_keep_family_and_first_name() {
        let text = "Martin\tClaire\tclaire.martin@example.org\n\
                    Dupont\tJean\tjean@example.org\tACME\n\
                    Nom;Prénom;paul@example.org\n\
                    zoe@example.org\tZoé\n";
        let (people, errors) = parse_people_list(text);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Martin Claire", "Dupont Jean", "Nom Prénom", "Zoé"]);
    }
}
