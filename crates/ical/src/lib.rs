//! An iCalendar (RFC 5545) writer for Dialogue's invitations and feeds.
//!
//! The crate is pure: it turns plain data ([`Calendar`], [`Event`], …) into
//! iCalendar text that strict parsers (libical, Python's `ical` and
//! `icalendar`) accept. It performs no I/O and never fails while rendering;
//! [`Calendar::validate`] reports the inputs that would make the result
//! wrong for the chosen [`Method`].
//!
//! What the output guarantees:
//!
//! - CRLF line endings; content lines folded at 75 octets, never inside a
//!   UTF-8 character or an escape sequence.
//! - User text cannot add properties or parameters: TEXT values are escaped
//!   (`\\`, `\;`, `\,`, `\n`), CR and other control characters are dropped,
//!   parameter values use RFC 6868 (`^'` for a double quote, `^n` for a line
//!   break, `^^` for a caret) and are quoted when they contain `:`, `;` or
//!   `,`; e-mail addresses and URLs are percent-encoded where URI syntax
//!   requires it.
//! - Date-times in a named IANA zone are written as local time with
//!   `TZID=<name>`, and a `VTIMEZONE` generated from jiff's time zone data is
//!   emitted once per zone; UTC, fixed-offset and unnamed zones are written
//!   in UTC (`…Z`).
//! - Every reader reads the instant given, also in the hour that happens
//!   twice when clocks go back, where readers disagree about a local time
//!   (RFC 5545 and Python's parsers take the first instant, libical and khal
//!   the second): a single event's start or end there is written in UTC; a
//!   series starting there keeps its local start (so that its rule repeats
//!   the clock time across DST changes), gives its length as `DURATION`, and
//!   an override (same UID, `RECURRENCE-ID`) puts its first occurrence at the
//!   instant given. `EXDATE` and `RECURRENCE-ID` stay in local time: they name
//!   an occurrence by the clock time the rule gives it, which each reader
//!   resolves as it resolves the occurrence.
//!
//! ```
//! use ical::{Calendar, Event, Method, Person, Attendee};
//!
//! let start: jiff::Zoned = "2025-10-20T09:00[Europe/Paris]".parse()?;
//! let end = start.checked_add(jiff::SignedDuration::from_hours(2))?;
//! let mut event = Event::new(
//!     "3f1c7a2e-session@dialogue.example",
//!     jiff::Timestamp::now(),
//!     start,
//!     end,
//!     "Formation Rust",
//! );
//! event.organizer = Some(Person::new("Trainer", "trainer@example.org"));
//! event.attendees.push(Attendee::new(Person::new("Learner", "learner@example.org")));
//! let calendar = Calendar {
//!     method: Some(Method::Request),
//!     prodid: "-//Dialogue//Dialogue 0.1//FR".into(),
//!     name: None,
//!     events: vec![event],
//! };
//! calendar.validate()?;
//! let text = calendar.render();
//! assert!(text.starts_with("BEGIN:VCALENDAR\r\nPRODID:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod render;
mod tz;
mod write;

use jiff::{SignedDuration, Timestamp, Zoned};

pub use render::Error;

/// An iCalendar object (`VCALENDAR`) holding events.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// The iTIP method (RFC 5546) for a calendar sent by mail; `None` for a
    /// feed (a calendar published at a URL has no `METHOD`).
    pub method: Option<Method>,
    /// The product identifier, e.g. `-//Dialogue//Dialogue 0.1//FR`.
    pub prodid: String,
    /// A display name for the calendar (`X-WR-CALNAME`), used by clients
    /// that subscribe to a feed.
    pub name: Option<String>,
    /// The events, written in this order.
    pub events: Vec<Event>,
}

/// The iTIP method of a calendar sent by mail (RFC 5546).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// An invitation or an update: every event needs an organizer, at
    /// least one attendee, and a status other than [`Status::Cancelled`].
    Request,
    /// A cancellation: every event needs an organizer, the attendees it
    /// concerns (all of them, or the ones being uninvited) and
    /// [`Status::Cancelled`]; increase the sequence too.
    Cancel,
    /// A publication without interaction: every event needs an organizer
    /// and must have no attendee. (A subscribed feed has no method at all.)
    Publish,
}

impl Method {
    /// The iCalendar name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
            Self::Publish => "PUBLISH",
        }
    }
}

/// One event (`VEVENT`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The globally unique, stable identifier of the event. The caller's
    /// job: it must stay the same across updates and cancellations of the
    /// same session (and be shared by all occurrences of a series), and must
    /// not reveal ordering, so not a database id; for example a random UUID
    /// stored with the session, followed by `@` and the host name.
    pub uid: String,
    /// The revision number: 0 for the first invitation, increased by the
    /// caller on each significant change (time, place, cancellation).
    pub sequence: u32,
    /// When this representation was created (`DTSTAMP`, written in UTC).
    pub dtstamp: Timestamp,
    /// The start, written in its own time zone (in UTC when that local time
    /// happens twice; see the crate's documentation).
    pub start: Zoned,
    /// The end (exclusive), written in its own time zone like `start`; must
    /// be after `start`.
    pub end: Zoned,
    /// The title.
    pub summary: String,
    /// A longer description.
    pub description: Option<String>,
    /// Where it happens (a place or "Online").
    pub location: Option<String>,
    /// A link about the event, such as the join page; written as a URI
    /// (characters that URIs do not allow are percent-encoded).
    pub url: Option<String>,
    /// Who organizes it; required when the calendar has a [`Method`].
    pub organizer: Option<Person>,
    /// Who is invited; at least one is required for [`Method::Request`] and
    /// [`Method::Cancel`], none is allowed for [`Method::Publish`].
    pub attendees: Vec<Attendee>,
    /// The status.
    pub status: Status,
    /// Display reminders.
    pub alarms: Vec<Alarm>,
    /// When the event was last changed (`LAST-MODIFIED`, in UTC).
    pub last_modified: Option<Timestamp>,
    /// When the event was created (`CREATED`, in UTC).
    pub created: Option<Timestamp>,
    /// Categories (tags), written as one `CATEGORIES` property; empty
    /// strings are skipped.
    pub categories: Vec<String>,
    /// A recurrence rule, already validated by the caller, without the
    /// `RRULE:` prefix (e.g. `FREQ=WEEKLY;COUNT=10`). Control characters are
    /// dropped when writing; [`Calendar::validate`] checks its characters.
    pub rrule: Option<String>,
    /// Excluded occurrences of the series, written as one `EXDATE` in the
    /// time zone of `start` (only the instants matter).
    pub exdates: Vec<Zoned>,
    /// Occurrences added to the series outside its rule (sessions moved before the
    /// migration that keeps their rule instant), written as one `RDATE` in the time zone of
    /// `start` (only the instants matter).
    pub rdates: Vec<Zoned>,
    /// For an event that overrides one occurrence of a series (same `uid`),
    /// the original start of that occurrence, written in its own time zone.
    pub recurrence_id: Option<Zoned>,
}

impl Event {
    /// Creates a confirmed event with the required fields; every other field
    /// is empty (sequence 0, no organizer, no attendees, no alarm).
    pub fn new(
        uid: impl Into<String>,
        dtstamp: Timestamp,
        start: Zoned,
        end: Zoned,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            uid: uid.into(),
            sequence: 0,
            dtstamp,
            start,
            end,
            summary: summary.into(),
            description: None,
            location: None,
            url: None,
            organizer: None,
            attendees: Vec::new(),
            status: Status::Confirmed,
            alarms: Vec::new(),
            last_modified: None,
            created: None,
            categories: Vec::new(),
            rrule: None,
            exdates: Vec::new(),
            rdates: Vec::new(),
            recurrence_id: None,
        }
    }
}

/// A person with an e-mail address (`ORGANIZER` or `ATTENDEE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The display name (`CN`); omitted when empty.
    pub name: String,
    /// The e-mail address, written as a `mailto:` URI.
    pub email: String,
}

impl Person {
    /// Creates a person.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
        }
    }
}

/// An invited person and their answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// Who.
    pub person: Person,
    /// Their role (`ROLE`).
    pub role: Role,
    /// Their answer (`PARTSTAT`).
    pub partstat: PartStat,
    /// Whether an answer is expected (`RSVP=TRUE`).
    pub rsvp: bool,
}

impl Attendee {
    /// A required participant who has not answered yet and is asked to.
    pub fn new(person: Person) -> Self {
        Self {
            person,
            role: Role::ReqParticipant,
            partstat: PartStat::NeedsAction,
            rsvp: true,
        }
    }
}

/// The role of an attendee (RFC 5545 section 3.2.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Chairs the event (the trainer).
    Chair,
    /// Required participant.
    ReqParticipant,
    /// Optional participant.
    OptParticipant,
    /// Informed only.
    NonParticipant,
}

impl Role {
    /// The iCalendar name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chair => "CHAIR",
            Self::ReqParticipant => "REQ-PARTICIPANT",
            Self::OptParticipant => "OPT-PARTICIPANT",
            Self::NonParticipant => "NON-PARTICIPANT",
        }
    }
}

/// The participation status of an attendee (RFC 5545 section 3.2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartStat {
    /// No answer yet.
    NeedsAction,
    /// Accepted.
    Accepted,
    /// Declined.
    Declined,
    /// Tentatively accepted.
    Tentative,
}

impl PartStat {
    /// The iCalendar name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeedsAction => "NEEDS-ACTION",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::Tentative => "TENTATIVE",
        }
    }
}

/// The status of an event (RFC 5545 section 3.8.1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// It will happen.
    Confirmed,
    /// It was cancelled.
    Cancelled,
    /// Not settled yet.
    Tentative,
}

impl Status {
    /// The iCalendar name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
            Self::Tentative => "TENTATIVE",
        }
    }
}

/// A display reminder (`VALARM` with `ACTION:DISPLAY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// How long before the start it fires (negative: after the start).
    /// Written in hours, minutes and seconds (`-PT15M`, `-PT24H`), because
    /// iCalendar days are nominal; fractions of a second are dropped.
    pub before: SignedDuration,
    /// The text shown; the event summary is used when it is empty.
    pub description: String,
}

impl Alarm {
    /// A reminder `before` the start showing `description`.
    pub fn new(before: SignedDuration, description: impl Into<String>) -> Self {
        Self {
            before,
            description: description.into(),
        }
    }
}
