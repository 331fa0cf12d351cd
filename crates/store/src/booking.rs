//! Booking: courses, the address book, sessions (single or series) and their participants.
//!
//! Every write checks what must hold under concurrency inside its transaction: a trainer or an
//! account moderator is never in two overlapping scheduled sessions. On SQLite the transaction
//! holds the database's single write lock; on PostgreSQL the accounts involved are locked
//! (`FOR NO KEY UPDATE`, in id order) before the overlap query, so of two conflicting bookings exactly
//! one wins on either backend.
//!
//! Personal links: each participant's key is derived (HMAC) from the server's link secret, the
//! participant id and a version; the database keeps only the key's SHA-256. The server can
//! re-derive any key (for mails and reminders), a copy of the database alone cannot.

use std::collections::{BTreeMap, BTreeSet};

use domain::booking::Person;
use domain::room::RoomName;
use domain::{Email, Role};
use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Conn, Row, args};
use crate::users::{User, user_by_id, user_row};
use crate::{Result, Store, StoreError, new_id, random_bytes, ts};

/// Why a booking or a change of one was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingRefusal {
    #[error("no active account has the email {email}")]
    UnknownTrainer { email: String },
    #[error("{email} is a {role} account, not a trainer")]
    NotATrainer { email: String, role: Role },
    #[error("{} already teaches “{}” at that time", .0.email, .0.title)]
    Conflict(Box<ConflictWith>),
    #[error("unknown course")]
    CourseNotFound,
    #[error("the session has ended")]
    Ended,
    #[error("the session is cancelled")]
    Cancelled,
    #[error("a course with the code {code} already exists")]
    CourseCodeTaken { code: String },
}

/// The session that makes a booking conflict, and whose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictWith {
    /// The account that would be in two places.
    pub email: String,
    pub session_id: String,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub time_zone: String,
}

/// A person of the address book (learners, guests, external moderators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub email: String,
    pub name: String,
    pub company: String,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
}

/// A course (formation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub id: String,
    pub title: String,
    pub code: Option<String>,
    pub description: String,
    pub default_duration_minutes: i64,
    pub owner_id: String,
    pub archived: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A course with its default trainers and enrolled learners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseDetail {
    pub course: Course,
    pub trainers: Vec<User>,
    pub learners: Vec<Contact>,
}

/// A course as typed (validated by the caller).
#[derive(Debug, Clone)]
pub struct CourseInput {
    pub title: String,
    pub code: Option<String>,
    pub description: String,
    pub default_duration_minutes: i64,
    pub owner_id: String,
    /// Trainer account ids.
    pub trainer_ids: Vec<String>,
    pub learners: Vec<Person>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionStatus {
    Scheduled,
    Cancelled,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::Cancelled => "cancelled",
        }
    }
}

/// A participant's part in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParticipantRole {
    Trainer,
    Moderator,
    Learner,
    Guest,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 4] = [Self::Trainer, Self::Moderator, Self::Learner, Self::Guest];

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Trainer => "trainer",
            ParticipantRole::Moderator => "moderator",
            ParticipantRole::Learner => "learner",
            ParticipantRole::Guest => "guest",
        }
    }

    /// Trainers and moderators moderate the Jitsi room.
    pub fn is_moderator(self) -> bool {
        matches!(self, ParticipantRole::Trainer | ParticipantRole::Moderator)
    }

    pub(crate) fn parse(s: &str) -> Result<ParticipantRole> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("participant role {s:?}")))
    }
}

/// A participant's answer to the invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rsvp {
    Pending,
    Accepted,
    Declined,
}

impl Rsvp {
    pub fn as_str(self) -> &'static str {
        match self {
            Rsvp::Pending => "pending",
            Rsvp::Accepted => "accepted",
            Rsvp::Declined => "declined",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Rsvp> {
        match s {
            "pending" => Ok(Rsvp::Pending),
            "accepted" => Ok(Rsvp::Accepted),
            "declined" => Ok(Rsvp::Declined),
            other => Err(StoreError::Corrupt(format!("rsvp {other:?}"))),
        }
    }
}

/// A session (séance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    /// The iCalendar UID: random, stable across changes.
    pub uid: String,
    pub course_id: Option<String>,
    pub series_id: Option<String>,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub time_zone: String,
    pub status: SessionStatus,
    /// The Jitsi room name, generated by the server.
    pub room: String,
    pub notes: String,
    /// Bumped whenever the date, time or duration changes (iCalendar SEQUENCE).
    pub sequence: i64,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Session {
    pub fn duration_minutes(&self) -> i64 {
        (self.ends_at.as_second() - self.starts_at.as_second()) / 60
    }

    /// Ended: read-only, in the archives.
    pub fn ended(&self, now: Timestamp) -> bool {
        self.ends_at <= now
    }
}

/// Someone in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: String,
    pub session_id: String,
    pub role: ParticipantRole,
    /// The account, for trainers and account moderators.
    pub user_id: Option<String>,
    /// The address-book entry, for everyone else.
    pub contact_id: Option<String>,
    pub name: String,
    pub email: String,
    pub link_version: i64,
    pub rsvp: Rsvp,
    pub created_at: Timestamp,
}

/// A session with its participants (trainers first, then moderators, learners, guests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDetail {
    pub session: Session,
    pub participants: Vec<Participant>,
}

impl SessionDetail {
    pub fn with_role(&self, role: ParticipantRole) -> impl Iterator<Item = &Participant> {
        self.participants.iter().filter(move |p| p.role == role)
    }

    /// Whether `user_id` is a trainer or an account moderator here.
    pub fn taught_by(&self, user_id: &str) -> bool {
        self.participants
            .iter()
            .any(|p| p.role.is_moderator() && p.user_id.as_deref() == Some(user_id))
    }
}

/// A line of a session list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub session: Session,
    /// The title of its course, if it has one.
    pub course_title: Option<String>,
    /// Names of the trainers, in order.
    pub trainers: Vec<String>,
    /// Learners and guests.
    pub attendees: i64,
}

/// The people of a session, validated.
#[derive(Debug, Clone, Default)]
pub struct People {
    /// Trainer accounts, by email.
    pub trainers: Vec<Email>,
    /// An account moderator when the email belongs to an active account, otherwise external.
    pub moderators: Vec<Person>,
    pub learners: Vec<Person>,
    pub guests: Vec<Person>,
}

/// Sessions to book: one, or every occurrence of a series.
#[derive(Debug, Clone)]
pub struct NewSessions {
    pub course_id: Option<String>,
    pub title: String,
    pub notes: String,
    pub time_zone: String,
    /// Each occurrence's start and end.
    pub times: Vec<(Timestamp, Timestamp)>,
    /// The series' RRULE, when it is one.
    pub rrule: Option<String>,
    pub people: People,
    pub created_by: String,
    /// The Jitsi server the sessions are pinned to; `None`: the default server (if any).
    pub jitsi_server_id: Option<String>,
}

/// A change of one session's details. `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct SessionUpdate {
    pub id: String,
    pub title: Option<String>,
    pub notes: Option<String>,
    pub course_id: Option<Option<String>>,
    pub times: Option<(Timestamp, Timestamp)>,
}

/// Which sessions to list.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Sessions ending after this instant.
    pub from: Option<Timestamp>,
    /// Sessions starting before this instant.
    pub to: Option<Timestamp>,
    /// Sessions that ended at or before this instant (the archives).
    pub ended_by: Option<Timestamp>,
    /// Sessions this account teaches (trainer or account moderator).
    pub teacher: Option<String>,
    pub course_id: Option<String>,
    /// Include cancelled sessions.
    pub include_cancelled: bool,
    /// Newest first (archives) instead of soonest first.
    pub newest_first: bool,
    pub limit: i64,
    pub offset: i64,
}

/// What a write changed, for whoever must react in the same transaction (the mail outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A session was booked with these participants.
    Booked {
        session_id: String,
    },
    /// Date, time or duration changed (from the old times).
    Rescheduled {
        session_id: String,
        old_starts_at: Timestamp,
        old_ends_at: Timestamp,
    },
    /// Title or notes changed.
    Edited {
        session_id: String,
    },
    ParticipantAdded {
        session_id: String,
        participant_id: String,
    },
    /// A participant was removed (their row is gone; name and email kept here).
    ParticipantRemoved {
        session_id: String,
        participant: Participant,
    },
    Cancelled {
        session_id: String,
    },
    /// A participant's personal link was revoked and a new one issued (`link_version` bumped):
    /// the old link answers 404 from now on.
    LinkReissued {
        session_id: String,
        participant_id: String,
    },
}

/// Reacts to booking changes inside their transaction: the mail outbox writes the messages and
/// reminders they call for (see `outbox.rs`).
pub(crate) async fn on_changes(
    c: &mut Conn<'_>,
    mail: &crate::outbox::MailHooks,
    changes: &[Change],
    now: Timestamp,
) -> Result<()> {
    crate::outbox::react(c, mail, changes, now).await
}

macro_rules! session_cols {
    () => {
        "s.id, s.uid, s.course_id, s.series_id, s.title, s.starts_at, s.ends_at, s.time_zone, s.status, s.room, \
         s.notes, s.sequence, s.created_by, s.created_at, s.updated_at"
    };
}
pub(crate) use session_cols;

macro_rules! participant_cols {
    () => {
        "p.id, p.session_id, p.role, p.user_id, p.contact_id, COALESCE(u.display_name, p.name) AS name, \
         COALESCE(u.email, p.email) AS email, p.link_version, p.rsvp, p.created_at"
    };
}
pub(crate) use participant_cols;

/// How long a session may last at most (the configuration allows up to 24 hours). The store
/// refuses longer ones, so that "ends after X" can be bounded on the indexed start column.
pub const MAX_SESSION_SECONDS: i64 = 24 * 3600;

/// The statement of [`Store::list_sessions`]: `$1` drives it (a teacher's id through the
/// teaching index, a course id, or `''` for all), then `$2` ends after, `$3` starts after
/// (derived from `$2`), `$4` starts before, `$5` ends at or before, `$6` course, `$7` status,
/// `$8` limit, `$9` offset. The page of sessions is chosen first (in the driving index's order),
/// then joined to its course, trainers and attendee count.
macro_rules! summaries {
    (TEACHER, $order:literal) => {
        summaries!(@
            "session_participants tp JOIN sessions s0 ON s0.id = tp.session_id",
            "tp.user_id = $1 AND tp.role IN ('trainer', 'moderator') \
             AND tp.starts_at > $3 AND tp.starts_at < $4 AND tp.starts_at < $5",
            "tp.starts_at", $order)
    };
    (COURSE, $order:literal) => {
        summaries!(@ "sessions s0",
            "s0.course_id = $1 AND s0.starts_at > $3 AND s0.starts_at < $4 AND s0.starts_at < $5",
            "s0.starts_at", $order)
    };
    (ALL, $order:literal) => {
        summaries!(@ "sessions s0",
            "$1 = '' AND s0.starts_at > $3 AND s0.starts_at < $4 AND s0.starts_at < $5",
            "s0.starts_at", $order)
    };
    (@ $from:literal, $driver:literal, $by:literal, $order:literal) => {
        concat!(
            "SELECT ",
            session_cols!(),
            ", c.title AS course_title, \
             (SELECT COUNT(*) FROM session_participants a WHERE a.session_id = s.id \
              AND a.role IN ('learner', 'guest')) AS attendees, \
             COALESCE(u.display_name, t.name) AS trainer_name \
             FROM (SELECT s0.* FROM ",
            $from,
            " WHERE ",
            $driver,
            " AND s0.ends_at > $2 AND s0.ends_at <= $5 \
             AND ($6 IS NULL OR s0.course_id = $6) AND ($7 IS NULL OR s0.status = $7) \
             ORDER BY ",
            $by,
            " ",
            $order,
            ", s0.id LIMIT $8 OFFSET $9) s \
             LEFT JOIN courses c ON c.id = s.course_id \
             LEFT JOIN session_participants t ON t.session_id = s.id AND t.role = 'trainer' \
             LEFT JOIN users u ON u.id = t.user_id \
             ORDER BY s.starts_at ",
            $order,
            ", s.id, trainer_name"
        )
    };
}

pub(crate) fn session_row(r: &dyn Row) -> Result<Session> {
    let status = r.text("status")?;
    Ok(Session {
        id: r.text("id")?,
        uid: r.text("uid")?,
        course_id: r.opt_text("course_id")?,
        series_id: r.opt_text("series_id")?,
        title: r.text("title")?,
        starts_at: ts(r.i64("starts_at")?)?,
        ends_at: ts(r.i64("ends_at")?)?,
        time_zone: r.text("time_zone")?,
        status: match status.as_str() {
            "scheduled" => SessionStatus::Scheduled,
            "cancelled" => SessionStatus::Cancelled,
            other => return Err(StoreError::Corrupt(format!("session status {other:?}"))),
        },
        room: r.text("room")?,
        notes: r.text("notes")?,
        sequence: r.i64("sequence")?,
        created_by: r.opt_text("created_by")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

pub(crate) fn participant_row(r: &dyn Row) -> Result<Participant> {
    Ok(Participant {
        id: r.text("id")?,
        session_id: r.text("session_id")?,
        role: ParticipantRole::parse(&r.text("role")?)?,
        user_id: r.opt_text("user_id")?,
        contact_id: r.opt_text("contact_id")?,
        name: r.text("name")?,
        email: r.text("email")?,
        link_version: r.i64("link_version")?,
        rsvp: Rsvp::parse(&r.text("rsvp")?)?,
        created_at: ts(r.i64("created_at")?)?,
    })
}

fn contact_row(r: &dyn Row) -> Result<Contact> {
    Ok(Contact {
        id: r.text("id")?,
        email: r.text("email")?,
        name: r.text("name")?,
        company: r.text("company")?,
        locale: r.opt_text("locale")?,
        time_zone: r.opt_text("time_zone")?,
    })
}

fn course_row(r: &dyn Row) -> Result<Course> {
    Ok(Course {
        id: r.text("id")?,
        title: r.text("title")?,
        code: r.opt_text("code")?,
        description: r.text("description")?,
        default_duration_minutes: r.i64("default_duration_minutes")?,
        owner_id: r.text("owner_id")?,
        archived: r.bool("archived")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

pub(crate) async fn session_by_id(c: &mut Conn<'_>, id: &str) -> Result<Option<Session>> {
    c.opt(
        concat!("SELECT ", session_cols!(), " FROM sessions s WHERE s.id = $1"),
        args![id],
        session_row,
    )
    .await
}

pub(crate) async fn participants_of(c: &mut Conn<'_>, session_id: &str) -> Result<Vec<Participant>> {
    c.all(
        concat!(
            "SELECT ",
            participant_cols!(),
            " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id WHERE p.session_id = $1 \
             ORDER BY CASE p.role WHEN 'trainer' THEN 0 WHEN 'moderator' THEN 1 WHEN 'learner' THEN 2 ELSE 3 END, \
             name, p.id"
        ),
        args![session_id],
        participant_row,
    )
    .await
}

async fn detail(c: &mut Conn<'_>, id: &str) -> Result<Option<SessionDetail>> {
    let Some(session) = session_by_id(c, id).await? else {
        return Ok(None);
    };
    let participants = participants_of(c, id).await?;
    Ok(Some(SessionDetail { session, participants }))
}

/// The active account with this email, if any.
async fn active_user_by_email(c: &mut Conn<'_>, email: &Email) -> Result<Option<User>> {
    c.opt(
        "SELECT id, email, display_name, role, locale, time_zone, active, password_hash IS NOT NULL AS has_password, \
         auth_source, external_id, created_at, updated_at FROM users WHERE email_norm = $1 AND active",
        args![email.normalized().as_str()],
        user_row,
    )
    .await
}

/// Finds or creates the address-book entry of `person` (an existing entry keeps its name).
async fn upsert_contact(c: &mut Conn<'_>, person: &Person, now: i64) -> Result<Contact> {
    c.exec(
        "INSERT INTO contacts (id, email, email_norm, name, company, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, '', $5, $5) ON CONFLICT (email_norm) DO NOTHING",
        args![
            new_id().as_str(),
            person.email.as_str(),
            person.email.normalized().as_str(),
            person.name.as_str(),
            now
        ],
    )
    .await?;
    c.one(
        "SELECT id, email, name, company, locale, time_zone FROM contacts WHERE email_norm = $1",
        args![person.email.normalized().as_str()],
        contact_row,
    )
    .await
}

/// A participant to insert, resolved.
#[derive(Debug, Clone)]
struct Resolved {
    role: ParticipantRole,
    user_id: Option<String>,
    contact_id: Option<String>,
    name: String,
    email: String,
}

/// Resolves people to accounts and contacts; refuses unknown or non-trainer trainers.
async fn resolve_people(c: &mut Conn<'_>, people: &People, now: i64) -> Result<Vec<Resolved>> {
    let mut out = Vec::new();
    for email in &people.trainers {
        let user = active_user_by_email(c, email).await?.ok_or_else(|| {
            StoreError::Booking(BookingRefusal::UnknownTrainer {
                email: email.as_str().to_owned(),
            })
        })?;
        if user.role != Role::Trainer {
            return Err(StoreError::Booking(BookingRefusal::NotATrainer {
                email: user.email,
                role: user.role,
            }));
        }
        out.push(Resolved {
            role: ParticipantRole::Trainer,
            user_id: Some(user.id),
            contact_id: None,
            name: user.display_name,
            email: user.email,
        });
    }
    for person in &people.moderators {
        match active_user_by_email(c, &person.email).await? {
            Some(user) => out.push(Resolved {
                role: ParticipantRole::Moderator,
                user_id: Some(user.id),
                contact_id: None,
                name: user.display_name,
                email: user.email,
            }),
            None => {
                let contact = upsert_contact(c, person, now).await?;
                out.push(Resolved {
                    role: ParticipantRole::Moderator,
                    user_id: None,
                    contact_id: Some(contact.id),
                    name: person.name.as_str().to_owned(),
                    email: person.email.as_str().to_owned(),
                });
            }
        }
    }
    for (role, list) in [
        (ParticipantRole::Learner, &people.learners),
        (ParticipantRole::Guest, &people.guests),
    ] {
        for person in list {
            let contact = upsert_contact(c, person, now).await?;
            out.push(Resolved {
                role,
                user_id: None,
                contact_id: Some(contact.id),
                name: person.name.as_str().to_owned(),
                email: person.email.as_str().to_owned(),
            });
        }
    }
    Ok(out)
}

/// A session ends after it starts and lasts at most [`MAX_SESSION_SECONDS`] (the domain
/// enforces the configured limits; this guards the invariant the listing queries rely on).
fn check_length(start: Timestamp, end: Timestamp) -> Result<()> {
    let length = end.as_second() - start.as_second();
    if length <= 0 || length > MAX_SESSION_SECONDS {
        return Err(StoreError::Corrupt(format!(
            "a session from {start} to {end}: it must end after it starts, within 24 hours"
        )));
    }
    Ok(())
}

/// On PostgreSQL, locks the sessions about to change, then the accounts whose conflicts will be
/// checked, each set in id order, before anything is read: two changes of overlapping series
/// (or a change and a cancellation) then queue instead of deadlocking, and what is read is what
/// is written. Bookings lock accounts only, after no session: the order is the same for all.
/// (SQLite's single writer already serializes.)
async fn lock_for_change<'a>(
    c: &mut Conn<'_>,
    session_ids: impl IntoIterator<Item = &'a String>,
    user_ids: &BTreeSet<String>,
) -> Result<()> {
    if !c.is_postgres() {
        return Ok(());
    }
    let sessions: BTreeSet<&String> = session_ids.into_iter().collect();
    for id in sessions {
        // NO KEY UPDATE: exclusive among changers, yet compatible with the key-share locks
        // that rows referencing the session take (the mail worker writing a reminder's outbox
        // row must not deadlock with a change waiting on that reminder).
        c.exec(
            "SELECT id FROM sessions WHERE id = $1 FOR NO KEY UPDATE",
            args![id.as_str()],
        )
        .await?;
    }
    lock_accounts(c, user_ids).await
}

/// On PostgreSQL, locks accounts in id order (`FOR NO KEY UPDATE`: exclusive among bookings and
/// changes, compatible with the key-share locks of rows that reference an account, such as a
/// new session's `created_by`).
async fn lock_accounts(c: &mut Conn<'_>, user_ids: &BTreeSet<String>) -> Result<()> {
    if !c.is_postgres() {
        return Ok(());
    }
    for id in user_ids {
        c.exec(
            "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
            args![id.as_str()],
        )
        .await?;
    }
    Ok(())
}

/// Refuses if any of `user_ids` teaches a scheduled session (other than `except`) overlapping
/// one of `times`. Locks the accounts first on PostgreSQL.
async fn check_conflicts(
    c: &mut Conn<'_>,
    user_ids: &BTreeSet<String>,
    times: &[(Timestamp, Timestamp)],
    except: &BTreeSet<String>,
) -> Result<()> {
    if times.is_empty() || user_ids.is_empty() {
        return Ok(());
    }
    // BTreeSet: ids in order, so concurrent bookings lock in the same order (no deadlock).
    lock_accounts(c, user_ids).await?;
    let from = times.iter().map(|t| t.0).min().unwrap_or_default();
    let to = times.iter().map(|t| t.1).max().unwrap_or_default();
    for user_id in user_ids {
        // Through the teaching index: only this account's sessions that may overlap (one that
        // ends after `from` started at most MAX_SESSION_SECONDS before it).
        let busy = c
            .all(
                concat!(
                    "SELECT ",
                    session_cols!(),
                    ", u.email AS teacher_email FROM session_participants p \
                     JOIN sessions s ON s.id = p.session_id JOIN users u ON u.id = p.user_id \
                     WHERE p.user_id = $1 AND p.role IN ('trainer', 'moderator') \
                     AND p.starts_at < $3 AND p.starts_at > $4 AND p.ends_at > $2 AND s.status = 'scheduled' \
                     ORDER BY s.starts_at"
                ),
                args![
                    user_id.as_str(),
                    from.as_second(),
                    to.as_second(),
                    from.as_second().saturating_sub(MAX_SESSION_SECONDS)
                ],
                |r| Ok((session_row(r)?, r.text("teacher_email")?)),
            )
            .await?;
        for (session, email) in busy {
            if except.contains(&session.id) {
                continue;
            }
            if times
                .iter()
                .any(|(s, e)| session.starts_at < *e && session.ends_at > *s)
            {
                return Err(StoreError::Booking(BookingRefusal::Conflict(Box::new(ConflictWith {
                    email,
                    session_id: session.id,
                    title: session.title,
                    starts_at: session.starts_at,
                    ends_at: session.ends_at,
                    time_zone: session.time_zone,
                }))));
            }
        }
    }
    Ok(())
}

impl Store {
    /// The personal-link key of a participant (43 characters, 256 bits), re-derivable by the
    /// server only.
    pub fn join_key(&self, participant_id: &str, version: i64) -> Result<String> {
        let key = self
            .links
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("the link secret is not configured".into()))?;
        let tag = ring::hmac::sign(key, format!("participant:{participant_id}:{version}").as_bytes());
        Ok(base64url(tag.as_ref()))
    }

    /// The stored hash of a personal-link key.
    pub fn link_hash(key: &str) -> String {
        hex(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()).as_ref())
    }

    /// Adds a participant to a session that runs from `starts_at` to `ends_at` (copied into the
    /// participant's row for the teaching index).
    async fn insert_participant(
        &self,
        c: &mut Conn<'_>,
        session_id: &str,
        (starts_at, ends_at): (Timestamp, Timestamp),
        p: &Resolved,
        now: i64,
    ) -> Result<String> {
        let id = new_id();
        let hash = Self::link_hash(&self.join_key(&id, 1)?);
        c.exec(
            "INSERT INTO session_participants (id, session_id, role, user_id, contact_id, name, email, email_norm, \
             link_version, link_hash, rsvp, created_at, starts_at, ends_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, 'pending', $10, $11, $12)",
            args![
                id.as_str(),
                session_id,
                p.role.as_str(),
                p.user_id.as_deref(),
                p.contact_id.as_deref(),
                p.name.as_str(),
                p.email.as_str(),
                p.email.to_lowercase().as_str(),
                hash.as_str(),
                now,
                starts_at.as_second(),
                ends_at.as_second(),
            ],
        )
        .await?;
        Ok(id)
    }

    /// Books one session or every occurrence of a series, with its participants, in one
    /// transaction: all or nothing.
    pub async fn book_sessions(
        &self,
        new: &NewSessions,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        let now_s = now.as_second();
        if new.times.is_empty() {
            return Err(StoreError::Corrupt("a booking needs at least one occurrence".into()));
        }
        for (start, end) in &new.times {
            check_length(*start, *end)?;
        }
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        if let Some(course_id) = &new.course_id {
            let exists = c
                .count(
                    "SELECT COUNT(*) AS n FROM courses WHERE id = $1",
                    args![course_id.as_str()],
                )
                .await?;
            if exists == 0 {
                return Err(StoreError::Booking(BookingRefusal::CourseNotFound));
            }
        }
        if let Some(server) = &new.jitsi_server_id {
            let exists = c
                .count(
                    "SELECT COUNT(*) AS n FROM jitsi_servers WHERE id = $1",
                    args![server.as_str()],
                )
                .await?;
            if exists == 0 {
                return Err(StoreError::Jitsi(crate::JitsiRefusal::UnknownServer));
            }
        }
        let people = resolve_people(&mut c, &new.people, now_s).await?;
        let teachers: BTreeSet<String> = people.iter().filter_map(|p| p.user_id.clone()).collect();
        check_conflicts(&mut c, &teachers, &new.times, &BTreeSet::new()).await?;
        let series_id = match &new.rrule {
            Some(rule) => {
                let id = new_id();
                c.exec(
                    "INSERT INTO series (id, rrule, time_zone, created_at) VALUES ($1, $2, $3, $4)",
                    args![id.as_str(), rule.as_str(), new.time_zone.as_str(), now_s],
                )
                .await?;
                Some(id)
            }
            None => None,
        };
        let mut ids = Vec::new();
        let mut changes = Vec::new();
        for (starts_at, ends_at) in &new.times {
            let id = new_id();
            let room = RoomName::generate(&new.title, random_bytes::<16>());
            c.exec(
                "INSERT INTO sessions (id, uid, course_id, series_id, title, starts_at, ends_at, time_zone, status, room, \
                 notes, sequence, created_by, created_at, updated_at, jitsi_server_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'scheduled', $9, $10, 0, $11, $12, $12, \
                 COALESCE($13, (SELECT j.id FROM jitsi_servers j WHERE j.is_default)))",
                args![
                    id.as_str(),
                    format!("{}@dialogue", new_id()).as_str(),
                    new.course_id.as_deref(),
                    series_id.as_deref(),
                    new.title.as_str(),
                    starts_at.as_second(),
                    ends_at.as_second(),
                    new.time_zone.as_str(),
                    room.as_str(),
                    new.notes.as_str(),
                    new.created_by.as_str(),
                    now_s,
                    new.jitsi_server_id.as_deref(),
                ],
            )
            .await?;
            for p in &people {
                self.insert_participant(&mut c, &id, (*starts_at, *ends_at), p, now_s)
                    .await?;
            }
            changes.push(Change::Booked { session_id: id.clone() });
            ids.push(id);
        }
        let entry = audit
            .clone()
            .target("session", &ids[0], &new.title)
            .detail(serde_json::json!({ "sessions": ids.len(), "series": series_id, "participants": people.len() }));
        insert_audit(&mut c, &entry, now).await?;
        on_changes(&mut c, &self.mail, &changes, ts(now_s)?).await?;
        let mut out = Vec::new();
        for id in &ids {
            out.push(detail(&mut c, id).await?.ok_or(StoreError::NotFound)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionDetail>> {
        detail(&mut self.pool.read().await?.conn(), id).await
    }

    /// The session using a Jitsi room name.
    pub async fn session_by_room(&self, room: &str) -> Result<Option<Session>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!("SELECT ", session_cols!(), " FROM sessions s WHERE s.room = $1"),
                args![room],
                session_row,
            )
            .await
    }

    /// The participant whose personal-link key hashes to `link_hash`, with their session.
    pub async fn participant_by_link(&self, link_hash: &str) -> Result<Option<(Participant, Session)>> {
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let Some(participant) = c
            .opt(
                concat!(
                    "SELECT ",
                    participant_cols!(),
                    " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id WHERE p.link_hash = $1"
                ),
                args![link_hash],
                participant_row,
            )
            .await?
        else {
            return Ok(None);
        };
        let session = session_by_id(&mut c, &participant.session_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Some((participant, session)))
    }

    /// The sessions of a series from `from` on (inclusive), in order.
    pub async fn series_sessions(&self, series_id: &str, from: Timestamp) -> Result<Vec<Session>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    session_cols!(),
                    " FROM sessions s WHERE s.series_id = $1 AND s.starts_at >= $2 ORDER BY s.starts_at"
                ),
                args![series_id, from.as_second()],
                session_row,
            )
            .await
    }

    /// Sessions matching `filter`, soonest first (or newest first), with their course's title,
    /// trainers' names and attendee counts: one query, driven by an index (the teacher's
    /// participations, the course's sessions, or the sessions by start).
    pub async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionSummary>> {
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let limit = if filter.limit > 0 { filter.limit } else { 100 };
        // Absent bounds are the widest ones, so every statement has the same shape and the
        // planner sees plain range conditions on indexed columns.
        let from = filter.from.map_or(i64::MIN, |t| t.as_second());
        // A session ending after `from` started at most MAX_SESSION_SECONDS before it: a bound on
        // the indexed start column.
        let from_start = filter
            .from
            .map_or(i64::MIN, |t| t.as_second().saturating_sub(MAX_SESSION_SECONDS));
        let to = filter.to.map_or(i64::MAX, |t| t.as_second());
        let ended_by = filter.ended_by.map_or(i64::MAX, |t| t.as_second());
        let status = if filter.include_cancelled {
            None
        } else {
            Some("scheduled")
        };
        let (sql, driver, course): (&'static str, &str, Option<&str>) =
            match (&filter.teacher, &filter.course_id, filter.newest_first) {
                (Some(t), course, false) => (summaries!(TEACHER, ""), t.as_str(), course.as_deref()),
                (Some(t), course, true) => (summaries!(TEACHER, "DESC"), t.as_str(), course.as_deref()),
                (None, Some(course), false) => (summaries!(COURSE, ""), course.as_str(), None),
                (None, Some(course), true) => (summaries!(COURSE, "DESC"), course.as_str(), None),
                (None, None, false) => (summaries!(ALL, ""), "", None),
                (None, None, true) => (summaries!(ALL, "DESC"), "", None),
            };
        let rows = c
            .all(
                sql,
                args![
                    driver,
                    from,
                    from_start,
                    to,
                    ended_by,
                    course,
                    status,
                    limit,
                    filter.offset
                ],
                |r| {
                    Ok((
                        session_row(r)?,
                        r.opt_text("course_title")?,
                        r.i64("attendees")?,
                        r.opt_text("trainer_name")?,
                    ))
                },
            )
            .await?;
        // One row per (session, trainer), in order: fold consecutive rows of a session.
        let mut out: Vec<SessionSummary> = Vec::new();
        for (session, course_title, attendees, trainer) in rows {
            match out.last_mut() {
                Some(last) if last.session.id == session.id => last.trainers.extend(trainer),
                _ => out.push(SessionSummary {
                    session,
                    course_title,
                    trainers: trainer.into_iter().collect(),
                    attendees,
                }),
            }
        }
        Ok(out)
    }

    /// Applies changes to one or several sessions (one occurrence, or "this and following") in
    /// one transaction. Ended or cancelled sessions are refused; new times are checked for
    /// conflicts of every account teaching them; a change of time bumps the sequence.
    pub async fn update_sessions(
        &self,
        updates: &[SessionUpdate],
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let mut changes = Vec::new();
        let except: BTreeSet<String> = updates.iter().map(|u| u.id.clone()).collect();
        if c.is_postgres() {
            // The sessions first, then who teaches them (read under that lock, so nobody
            // changes the people meanwhile), then those accounts.
            lock_for_change(&mut c, &except, &BTreeSet::new()).await?;
            let mut teachers = BTreeSet::new();
            for update in updates.iter().filter(|u| u.times.is_some()) {
                teachers.extend(
                    participants_of(&mut c, &update.id)
                        .await?
                        .into_iter()
                        .filter(|p| p.role.is_moderator())
                        .filter_map(|p| p.user_id),
                );
            }
            lock_accounts(&mut c, &teachers).await?;
        }
        for update in updates {
            let session = session_by_id(&mut c, &update.id).await?.ok_or(StoreError::NotFound)?;
            if session.ended(now) {
                return Err(StoreError::Booking(BookingRefusal::Ended));
            }
            if session.status == SessionStatus::Cancelled {
                return Err(StoreError::Booking(BookingRefusal::Cancelled));
            }
            if let Some(Some(course_id)) = &update.course_id {
                let exists = c
                    .count(
                        "SELECT COUNT(*) AS n FROM courses WHERE id = $1",
                        args![course_id.as_str()],
                    )
                    .await?;
                if exists == 0 {
                    return Err(StoreError::Booking(BookingRefusal::CourseNotFound));
                }
            }
            let times = update.times.filter(|t| *t != (session.starts_at, session.ends_at));
            if let Some((start, end)) = times {
                check_length(start, end)?;
            }
            if let Some(times) = times {
                let teachers: BTreeSet<String> = participants_of(&mut c, &session.id)
                    .await?
                    .into_iter()
                    .filter(|p| p.role.is_moderator())
                    .filter_map(|p| p.user_id)
                    .collect();
                check_conflicts(&mut c, &teachers, &[times], &except).await?;
            }
            let (starts_at, ends_at) = times.unwrap_or((session.starts_at, session.ends_at));
            let title = update.title.clone().unwrap_or_else(|| session.title.clone());
            let notes = update.notes.clone().unwrap_or_else(|| session.notes.clone());
            let course_id = update.course_id.clone().unwrap_or_else(|| session.course_id.clone());
            let sequence = session.sequence + i64::from(times.is_some());
            c.exec(
                "UPDATE sessions SET title = $2, notes = $3, course_id = $4, starts_at = $5, ends_at = $6, \
                 sequence = $7, updated_at = $8 WHERE id = $1",
                args![
                    session.id.as_str(),
                    title.as_str(),
                    notes.as_str(),
                    course_id.as_deref(),
                    starts_at.as_second(),
                    ends_at.as_second(),
                    sequence,
                    now.as_second(),
                ],
            )
            .await?;
            if times.is_some() {
                c.exec(
                    "UPDATE session_participants SET starts_at = $2, ends_at = $3 WHERE session_id = $1",
                    args![session.id.as_str(), starts_at.as_second(), ends_at.as_second()],
                )
                .await?;
                changes.push(Change::Rescheduled {
                    session_id: session.id.clone(),
                    old_starts_at: session.starts_at,
                    old_ends_at: session.ends_at,
                });
            }
            if title != session.title || notes != session.notes {
                changes.push(Change::Edited {
                    session_id: session.id.clone(),
                });
            }
        }
        if let Some(first) = updates.first() {
            let entry = audit
                .clone()
                .target("session", &first.id, &first.title.clone().unwrap_or_default())
                .detail(serde_json::json!({ "sessions": updates.len() }));
            insert_audit(&mut c, &entry, now).await?;
        }
        on_changes(&mut c, &self.mail, &changes, now).await?;
        let mut out = Vec::new();
        for update in updates {
            out.push(detail(&mut c, &update.id).await?.ok_or(StoreError::NotFound)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Replaces the people of each session: someone kept (same email, same role) keeps their
    /// participant row, link and answer; someone new gets a new row; someone absent is removed.
    pub async fn replace_participants(
        &self,
        session_ids: &[String],
        people: &People,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let resolved = resolve_people(&mut c, people, now.as_second()).await?;
        let teachers: BTreeSet<String> = resolved
            .iter()
            .filter(|p| p.role.is_moderator())
            .filter_map(|p| p.user_id.clone())
            .collect();
        lock_for_change(&mut c, session_ids, &teachers).await?;
        let mut changes = Vec::new();
        for session_id in session_ids {
            let session = session_by_id(&mut c, session_id).await?.ok_or(StoreError::NotFound)?;
            if session.ended(now) {
                return Err(StoreError::Booking(BookingRefusal::Ended));
            }
            if session.status == SessionStatus::Cancelled {
                return Err(StoreError::Booking(BookingRefusal::Cancelled));
            }
            let current = participants_of(&mut c, session_id).await?;
            let key = |role: ParticipantRole, email: &str| (role, email.to_lowercase());
            let wanted: BTreeMap<_, &Resolved> = resolved.iter().map(|p| (key(p.role, &p.email), p)).collect();
            let existing: BTreeMap<_, &Participant> = current.iter().map(|p| (key(p.role, &p.email), p)).collect();
            let newcomers: BTreeSet<String> = resolved
                .iter()
                .filter(|p| !existing.contains_key(&key(p.role, &p.email)))
                .filter(|p| p.role.is_moderator())
                .filter_map(|p| p.user_id.clone())
                .collect();
            check_conflicts(
                &mut c,
                &newcomers,
                &[(session.starts_at, session.ends_at)],
                &BTreeSet::from([session.id.clone()]),
            )
            .await?;
            for (k, participant) in &existing {
                if !wanted.contains_key(k) {
                    c.exec(
                        "DELETE FROM session_participants WHERE id = $1",
                        args![participant.id.as_str()],
                    )
                    .await?;
                    changes.push(Change::ParticipantRemoved {
                        session_id: session_id.clone(),
                        participant: (*participant).clone(),
                    });
                }
            }
            for (k, p) in &wanted {
                if !existing.contains_key(k) {
                    // The same email in another role: the old row is gone above; a new one with a
                    // fresh link replaces it.
                    let times = (session.starts_at, session.ends_at);
                    let id = self
                        .insert_participant(&mut c, session_id, times, p, now.as_second())
                        .await?;
                    changes.push(Change::ParticipantAdded {
                        session_id: session_id.clone(),
                        participant_id: id,
                    });
                }
            }
        }
        if let Some(first) = session_ids.first() {
            insert_audit(
                &mut c,
                &audit
                    .clone()
                    .target("session", first, "")
                    .detail(serde_json::json!({ "sessions": session_ids.len() })),
                now,
            )
            .await?;
        }
        on_changes(&mut c, &self.mail, &changes, now).await?;
        let mut out = Vec::new();
        for id in session_ids {
            out.push(detail(&mut c, id).await?.ok_or(StoreError::NotFound)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Cancels sessions (refusing ended ones; already cancelled ones are left as they are).
    pub async fn cancel_sessions(
        &self,
        ids: &[String],
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        lock_for_change(&mut c, ids, &BTreeSet::new()).await?;
        let mut changes = Vec::new();
        for id in ids {
            let session = session_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
            if session.ended(now) {
                return Err(StoreError::Booking(BookingRefusal::Ended));
            }
            if session.status == SessionStatus::Cancelled {
                continue;
            }
            c.exec(
                "UPDATE sessions SET status = 'cancelled', cancelled_at = $2, sequence = sequence + 1, updated_at = $2 \
                 WHERE id = $1",
                args![id.as_str(), now.as_second()],
            )
            .await?;
            changes.push(Change::Cancelled { session_id: id.clone() });
        }
        if let Some(first) = ids.first() {
            insert_audit(
                &mut c,
                &audit
                    .clone()
                    .target("session", first, "")
                    .detail(serde_json::json!({ "sessions": ids.len() })),
                now,
            )
            .await?;
        }
        on_changes(&mut c, &self.mail, &changes, now).await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(detail(&mut c, id).await?.ok_or(StoreError::NotFound)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    // ---- Courses ----

    async fn write_course_people(
        &self,
        c: &mut Conn<'_>,
        course_id: &str,
        input: &CourseInput,
        now: i64,
    ) -> Result<()> {
        c.exec("DELETE FROM course_trainers WHERE course_id = $1", args![course_id])
            .await?;
        c.exec("DELETE FROM course_learners WHERE course_id = $1", args![course_id])
            .await?;
        for user_id in input.trainer_ids.iter().collect::<BTreeSet<_>>() {
            let user = user_by_id(c, user_id).await?;
            match user {
                Some(u) if u.role == Role::Trainer && u.active => {}
                Some(u) => {
                    return Err(StoreError::Booking(BookingRefusal::NotATrainer {
                        email: u.email,
                        role: u.role,
                    }));
                }
                None => {
                    return Err(StoreError::Booking(BookingRefusal::UnknownTrainer {
                        email: user_id.clone(),
                    }));
                }
            }
            c.exec(
                "INSERT INTO course_trainers (course_id, user_id) VALUES ($1, $2)",
                args![course_id, user_id.as_str()],
            )
            .await?;
        }
        for person in &input.learners {
            let contact = upsert_contact(c, person, now).await?;
            c.exec(
                "INSERT INTO course_learners (course_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![course_id, contact.id.as_str()],
            )
            .await?;
        }
        Ok(())
    }

    fn map_code_taken(e: StoreError, code: &Option<String>) -> StoreError {
        if crate::db::is_unique_violation(&e) {
            StoreError::Booking(BookingRefusal::CourseCodeTaken {
                code: code.clone().unwrap_or_default(),
            })
        } else {
            e
        }
    }

    pub async fn create_course(&self, input: &CourseInput, now: Timestamp, audit: &AuditEntry) -> Result<CourseDetail> {
        let now_s = now.as_second();
        let id = new_id();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO courses (id, title, code, description, default_duration_minutes, owner_id, archived, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            args![
                id.as_str(),
                input.title.as_str(),
                input.code.as_deref(),
                input.description.as_str(),
                input.default_duration_minutes,
                input.owner_id.as_str(),
                false,
                now_s
            ],
        )
        .await
        .map_err(|e| Self::map_code_taken(e, &input.code))?;
        self.write_course_people(&mut c, &id, input, now_s).await?;
        insert_audit(&mut c, &audit.clone().target("course", &id, &input.title), now).await?;
        let detail = course_detail(&mut c, &id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(detail)
    }

    pub async fn update_course(
        &self,
        id: &str,
        input: &CourseInput,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<CourseDetail> {
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let changed = c
            .exec(
                "UPDATE courses SET title = $2, code = $3, description = $4, default_duration_minutes = $5, owner_id = $6, \
                 updated_at = $7 WHERE id = $1",
                args![
                    id,
                    input.title.as_str(),
                    input.code.as_deref(),
                    input.description.as_str(),
                    input.default_duration_minutes,
                    input.owner_id.as_str(),
                    now_s
                ],
            )
            .await
            .map_err(|e| Self::map_code_taken(e, &input.code))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        self.write_course_people(&mut c, id, input, now_s).await?;
        insert_audit(&mut c, &audit.clone().target("course", id, &input.title), now).await?;
        let detail = course_detail(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(detail)
    }

    pub async fn set_course_archived(
        &self,
        id: &str,
        archived: bool,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let changed = c
            .exec(
                "UPDATE courses SET archived = $2, updated_at = $3 WHERE id = $1",
                args![id, archived, now.as_second()],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut c, &audit.clone().target("course", id, ""), now).await?;
        tx.commit().await
    }

    pub async fn course(&self, id: &str) -> Result<Option<CourseDetail>> {
        course_detail(&mut self.pool.read().await?.conn(), id).await
    }

    /// Courses by title; archived ones only when asked.
    pub async fn list_courses(&self, include_archived: bool) -> Result<Vec<Course>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT id, title, code, description, default_duration_minutes, owner_id, archived, created_at, updated_at \
                 FROM courses WHERE NOT archived OR $1 ORDER BY title, id",
                args![include_archived],
                course_row,
            )
            .await
    }

    /// Contacts whose name or email contains `search` (case-insensitively), at most `limit`.
    pub async fn search_contacts(&self, search: &str, limit: i64) -> Result<Vec<Contact>> {
        let pattern = format!("%{}%", search.trim().to_lowercase().replace(['%', '_'], ""));
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT id, email, name, company, locale, time_zone FROM contacts \
                 WHERE email_norm LIKE $1 OR LOWER(name) LIKE $1 ORDER BY name, email LIMIT $2",
                args![pattern.as_str(), limit],
                contact_row,
            )
            .await
    }

    /// Active trainer accounts, by name (for pickers).
    pub async fn trainers(&self) -> Result<Vec<User>> {
        self.list_users(&crate::UserFilter {
            roles: vec![Role::Trainer],
            include_inactive: false,
        })
        .await
    }

    // ---- API tokens ----

    /// Stores a new API token (its hash) for `user_id`; returns its id.
    pub async fn create_api_token(
        &self,
        user_id: &str,
        name: &str,
        token_hash: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<String> {
        let id = new_id();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![id.as_str(), user_id, name, token_hash, now.as_second()],
        )
        .await?;
        insert_audit(&mut c, &audit.clone().target("api_token", &id, name), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The active account holding the live token with this hash: (token id, last use, account).
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<(String, Option<Timestamp>, User)>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT t.id AS token_id, t.last_used_at AS token_used, u.id, u.email, u.display_name, u.role, u.locale, u.time_zone, u.active, \
                 u.password_hash IS NOT NULL AS has_password, u.auth_source, u.external_id, u.created_at, u.updated_at \
                 FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
                args![token_hash],
                |r| Ok((r.text("token_id")?, r.opt_i64("token_used")?.map(ts).transpose()?, user_row(r)?)),
            )
            .await
    }

    /// Records a token's use (callers do it at most once a minute).
    pub async fn touch_api_token(&self, token_id: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                args![token_id, now.as_second()],
            )
            .await?;
        tx.commit().await
    }

    /// A user's tokens: (id, name, created, last used, revoked).
    pub async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 \
                 ORDER BY created_at DESC, id",
                args![user_id],
                |r| {
                    Ok(ApiToken {
                        id: r.text("id")?,
                        name: r.text("name")?,
                        created_at: ts(r.i64("created_at")?)?,
                        last_used_at: r.opt_i64("last_used_at")?.map(ts).transpose()?,
                        revoked: r.opt_i64("revoked_at")?.is_some(),
                    })
                },
            )
            .await
    }

    /// Revokes one of `user_id`'s tokens.
    pub async fn revoke_api_token(
        &self,
        user_id: &str,
        token_id: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let changed = c
            .exec(
                "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                args![token_id, user_id, now.as_second()],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut c, &audit.clone().target("api_token", token_id, ""), now).await?;
        tx.commit().await
    }
}

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

async fn course_detail(c: &mut Conn<'_>, id: &str) -> Result<Option<CourseDetail>> {
    let Some(course) = c
        .opt(
            "SELECT id, title, code, description, default_duration_minutes, owner_id, archived, created_at, updated_at \
             FROM courses WHERE id = $1",
            args![id],
            course_row,
        )
        .await?
    else {
        return Ok(None);
    };
    let trainers = c
        .all(
            "SELECT u.id, u.email, u.display_name, u.role, u.locale, u.time_zone, u.active, \
             u.password_hash IS NOT NULL AS has_password, u.auth_source, u.external_id, u.created_at, u.updated_at \
             FROM course_trainers t JOIN users u ON u.id = t.user_id WHERE t.course_id = $1 ORDER BY u.display_name",
            args![id],
            user_row,
        )
        .await?;
    let learners = c
        .all(
            "SELECT k.id, k.email, k.name, k.company, k.locale, k.time_zone FROM course_learners l \
             JOIN contacts k ON k.id = l.contact_id WHERE l.course_id = $1 ORDER BY k.name, k.email",
            args![id],
            contact_row,
        )
        .await?;
    Ok(Some(CourseDetail {
        course,
        trainers,
        learners,
    }))
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64url_matches_rfc4648() {
        assert_eq!(super::base64url(b"f"), "Zg");
        assert_eq!(super::base64url(b"fo"), "Zm8");
        assert_eq!(super::base64url(b"foo"), "Zm9v");
        assert_eq!(super::base64url(&[0xfb, 0xff]), "-_8");
    }
}
