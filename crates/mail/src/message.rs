//! Rendering an outbox row into the message that leaves: subject, plain text and HTML in the
//! recipient's language, times in their zone with the zone named, and for invitations, updates
//! and cancellations an iCalendar part (`text/calendar; method=…`, so that clients offer to
//! accept) and the same calendar as an attachment.
//!
//! Rendering happens at delivery, from the current data: a row is only a description (see the
//! store's `outbox.rs`). When the data shows that a message has become pointless (the session is
//! cancelled, has started, nothing changed, the recipient declined), the outcome is
//! [`Outcome::Skip`] with the reason.
//!
//! No user text reaches a header unchecked: names and subjects have every control character
//! (CR, LF…) replaced by a space before lettre encodes them (RFC 2047 for non-ASCII).

use std::time::SystemTime;

use domain::Locale;
use domain::window::{JoinWindow, WindowSettings};
use i18n::format_datetime;
use ical::{Method, Person, Status};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use store::{MailKind, OutboxMessage, Participant, ParticipantRole, Rsvp, SessionDetail, SessionStatus, reason};

use crate::calendar::{JoinInfo, SeriesItem, calendar, occurrence_override, series_events, session_event_in};
use crate::doc::{Block, Doc};

/// What messages say about who sends them, and where their links point.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The sender (`From`), e.g. `Formation Exemple <formation@example.org>`.
    pub from: Mailbox,
    /// Where answers go (`Reply-To`), when not to the sender.
    pub reply_to: Option<Mailbox>,
    /// The organisation's name, shown in messages and as the calendar organizer.
    pub organization: String,
    /// How to reach the organisation (an address, a phone number), shown in every message.
    pub contact: String,
    /// How people reach Dialogue, without a trailing slash.
    pub public_url: String,
    /// When each participant's room opens.
    pub join: WindowSettings,
    /// The language of recipients whose language is not known.
    pub default_locale: Locale,
}

impl MailSettings {
    /// The organisation's name as shown: configured, else the sender's name, else "Dialogue".
    pub fn organization_name(&self) -> String {
        if !self.organization.trim().is_empty() {
            return self.organization.trim().to_owned();
        }
        match &self.from.name {
            Some(name) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => "Dialogue".to_owned(),
        }
    }

    /// The calendar organizer: the organisation at the sender's address.
    pub fn organizer(&self) -> Person {
        Person::new(self.organization_name(), self.from.email.to_string())
    }

    /// A participant's personal join link.
    pub fn join_url(&self, key: &str) -> String {
        format!("{}/j/{key}", self.public_url)
    }
}

/// A message ready to leave.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub message: lettre::Message,
    /// The plain-text and HTML alternatives, as rendered.
    pub text: String,
    pub html: String,
    /// The iCalendar text attached, if any.
    pub calendar: Option<String>,
}

/// What rendering decided.
#[derive(Debug, Clone)]
pub enum Outcome {
    Send(Box<Rendered>),
    /// Not to be sent; the reason is one of [`store::reason`].
    Skip(&'static str),
}

/// Why a message cannot be built (never worth retrying).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("invalid recipient address {0:?}")]
    Address(String),
    #[error("invalid calendar: {0}")]
    Calendar(String),
    #[error("cannot derive the personal link: {0}")]
    Link(String),
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// The data a message is rendered from.
pub struct Input<'a> {
    pub message: &'a OutboxMessage,
    /// A welcome message's set-password link, opened from the row (`None` once wiped).
    pub welcome_url: Option<&'a str>,
    /// The session and its current participants (`None`: it no longer exists).
    pub detail: Option<&'a SessionDetail>,
    /// The title of the session's course, if it has one.
    pub course: Option<&'a str>,
    /// The session's series and the recipient's part of it, when the message is about a series
    /// the recipient holds as one event (an invitation to the whole series, or an update or
    /// cancellation of one of its sessions after one).
    pub series: Option<&'a store::SeriesView>,
    pub settings: &'a MailSettings,
    /// Derives a participant's personal-link key from their id and link version.
    pub join_key: &'a (dyn Fn(&str, i64) -> Result<String, String> + Sync),
    pub now: Timestamp,
}

/// Renders one outbox row.
pub fn render(input: &Input<'_>) -> Result<Outcome, RenderError> {
    let m = input.message;
    if m.kind == MailKind::Welcome {
        return welcome(input);
    }
    let Some(detail) = input.detail else {
        return Ok(Outcome::Skip(reason::GONE));
    };
    let session = &detail.session;
    let me = detail.participants.iter().find(|p| p.id == m.participant_id);
    let locale = m
        .locale
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or(input.settings.default_locale);
    let zone = if TimeZone::get(&m.time_zone).is_ok() {
        m.time_zone.as_str()
    } else {
        session.time_zone.as_str()
    };
    let w = Writer {
        input,
        detail,
        locale,
        zone,
    };
    if m.kind == MailKind::Invitation && m.series_id.is_some() {
        let Some(view) = input.series else {
            return Ok(Outcome::Skip(reason::GONE));
        };
        return w.series_invitation(view);
    }
    match m.kind {
        MailKind::Invitation | MailKind::Update | MailKind::Reminder => {
            if session.status == SessionStatus::Cancelled {
                return Ok(Outcome::Skip(reason::CANCELLED));
            }
            if session.ended(input.now) {
                return Ok(Outcome::Skip(reason::STARTED));
            }
            let Some(me) = me else {
                return Ok(Outcome::Skip(reason::GONE));
            };
            match m.kind {
                MailKind::Invitation => w.invitation(me, None),
                MailKind::Update => {
                    let changes = w.changes();
                    if changes.is_empty() && !m.snapshot.link_changed {
                        return Ok(Outcome::Skip(reason::UNCHANGED));
                    }
                    w.invitation(me, Some(changes))
                }
                _ => {
                    if session.starts_at <= input.now {
                        return Ok(Outcome::Skip(reason::STARTED));
                    }
                    if me.rsvp == Rsvp::Declined {
                        return Ok(Outcome::Skip(reason::DECLINED));
                    }
                    w.reminder(me)
                }
            }
        }
        MailKind::Cancellation => w.cancellation(me),
        // Handled above, before any session is needed.
        MailKind::Welcome => welcome(input),
        MailKind::SignReminder => {
            if session.status == SessionStatus::Cancelled {
                return Ok(Outcome::Skip(reason::CANCELLED));
            }
            let Some(me) = me else {
                return Ok(Outcome::Skip(reason::GONE));
            };
            w.sign_reminder(me)
        }
    }
}

/// Replaces control characters (CR, LF, tabs…) and Unicode line separators by spaces and
/// collapses runs of spaces: what is left cannot start a new header line.
pub fn header_text(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Writer<'a> {
    input: &'a Input<'a>,
    detail: &'a SessionDetail,
    locale: Locale,
    zone: &'a str,
}

impl Writer<'_> {
    fn t(&self, key: &str) -> &'static str {
        self.locale.t(key)
    }

    fn tf(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        self.locale.tf(key, args)
    }

    fn when(&self, at: Timestamp) -> String {
        format_datetime(at, self.zone, self.locale)
    }

    fn short(&self, at: Timestamp) -> String {
        i18n::format_short(at, self.zone, self.locale)
    }

    fn local(&self, at: Timestamp) -> jiff::Zoned {
        at.to_zoned(TimeZone::get(self.zone).unwrap_or(TimeZone::UTC))
    }

    /// `lundi 26 octobre 2026`.
    fn date(&self, at: Timestamp) -> String {
        let local = self.local(at);
        let weekday = self.t(&format!("date.weekday.{}", local.weekday().to_monday_one_offset()));
        let month = self.t(&format!("date.month.{}", local.month()));
        self.tf(
            "mail.date",
            &[
                ("weekday", &weekday),
                ("day", &local.day()),
                ("month", &month),
                ("year", &local.year()),
            ],
        )
    }

    /// `09:00 – 10:30 (Europe/Paris)`, the end with its date when it falls on another day.
    fn hours(&self, start: Timestamp, end: Timestamp) -> String {
        let (s, e) = (self.local(start), self.local(end));
        let hm = |z: &jiff::Zoned| format!("{:02}:{:02}", z.hour(), z.minute());
        let end_text = if s.date() == e.date() {
            hm(&e)
        } else {
            format!("{} {}", self.date(end), hm(&e))
        };
        self.tf(
            "mail.hours",
            &[("start", &hm(&s)), ("end", &end_text), ("zone", &self.zone)],
        )
    }

    fn duration(&self, start: Timestamp, end: Timestamp) -> String {
        let minutes = (end.as_second() - start.as_second()) / 60;
        let (h, m) = (minutes / 60, minutes % 60);
        match (h, m) {
            (0, m) => self.tf("mail.duration.m", &[("minutes", &m)]),
            (h, 0) => self.tf("mail.duration.h", &[("hours", &h)]),
            (h, m) => self.tf("mail.duration.hm", &[("hours", &h), ("minutes", &format!("{m:02}"))]),
        }
    }

    fn session(&self) -> &store::Session {
        &self.detail.session
    }

    fn trainers(&self) -> String {
        self.detail
            .with_role(ParticipantRole::Trainer)
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Session, course, date, hours, duration, trainers.
    fn facts(&self) -> Block {
        let s = self.session();
        let mut rows = vec![(self.t("mail.fact.session").to_owned(), s.title.clone())];
        if let Some(course) = self.input.course {
            rows.push((self.t("mail.fact.course").to_owned(), course.to_owned()));
        }
        rows.push((self.t("mail.fact.date").to_owned(), self.date(s.starts_at)));
        rows.push((self.t("mail.fact.hours").to_owned(), self.hours(s.starts_at, s.ends_at)));
        rows.push((
            self.t("mail.fact.duration").to_owned(),
            self.duration(s.starts_at, s.ends_at),
        ));
        let trainers = self.trainers();
        if !trainers.is_empty() {
            rows.push((self.t("mail.fact.trainers").to_owned(), trainers));
        }
        Block::Facts(rows)
    }

    fn contact(&self) -> Option<Block> {
        let contact = self.input.settings.contact.trim();
        (!contact.is_empty()).then(|| {
            Block::Facts(vec![(
                self.t("mail.fact.contact").to_owned(),
                format!("{} — {contact}", self.input.settings.organization_name()),
            )])
        })
    }

    /// Who sent it; without an organisation of its own (no name configured, none in the
    /// sender), the message says it comes from Dialogue once, not "from Dialogue with Dialogue".
    fn footer(&self) -> Block {
        let organization = self.input.settings.organization_name();
        if organization == "Dialogue" {
            return Block::Footer(self.t("mail.footer.unnamed").to_owned());
        }
        Block::Footer(self.tf("mail.footer", &[("organization", &organization)]))
    }

    fn greeting(&self) -> Block {
        let name = header_text(&self.input.message.recipient_name);
        Block::Para(self.tf("mail.greeting", &[("name", &name)]))
    }

    fn key(&self, p: &Participant) -> Result<String, RenderError> {
        (self.input.join_key)(&p.id, p.link_version).map_err(RenderError::Link)
    }

    /// What changed since the times in the snapshot: (label, before, after).
    fn changes(&self) -> Vec<(String, String, String)> {
        let snap = &self.input.message.snapshot;
        let s = self.session();
        let mut rows = Vec::new();
        let (Some(old_start), Some(old_end)) = (snap.old_starts_at, snap.old_ends_at) else {
            return rows;
        };
        let (Ok(old_start), Ok(old_end)) = (Timestamp::from_second(old_start), Timestamp::from_second(old_end)) else {
            return rows;
        };
        if old_start != s.starts_at {
            rows.push((
                self.t("mail.changes.when").to_owned(),
                self.when(old_start),
                self.when(s.starts_at),
            ));
        }
        if old_end.as_second() - old_start.as_second() != s.ends_at.as_second() - s.starts_at.as_second() {
            rows.push((
                self.t("mail.changes.duration").to_owned(),
                self.duration(old_start, old_end),
                self.duration(s.starts_at, s.ends_at),
            ));
        }
        rows
    }

    /// An invitation, or with `changes` an update.
    fn invitation(
        &self,
        me: &Participant,
        changes: Option<Vec<(String, String, String)>>,
    ) -> Result<Outcome, RenderError> {
        let s = self.session();
        let key = self.key(me)?;
        let url = self.input.settings.join_url(&key);
        let window = JoinWindow::for_participant(
            s.starts_at,
            s.ends_at,
            me.role.is_moderator(),
            &self.input.settings.join,
        );
        let when = self.short(s.starts_at);
        let title = header_text(&s.title);
        let mut blocks = vec![self.greeting()];
        let (subject, filename) = match &changes {
            None => {
                let intro = match me.role {
                    ParticipantRole::Trainer => "mail.intro.trainer",
                    ParticipantRole::Moderator => "mail.intro.moderator",
                    ParticipantRole::Learner | ParticipantRole::Guest => "mail.intro.learner",
                };
                blocks.push(Block::Para(self.tf(intro, &[("title", &s.title)])));
                (
                    self.tf("mail.subject.invitation", &[("title", &title), ("when", &when)]),
                    self.t("mail.file.invitation"),
                )
            }
            Some(rows) => {
                blocks.push(Block::Para(self.tf("mail.intro.update", &[("title", &s.title)])));
                if !rows.is_empty() {
                    blocks.push(Block::Changes {
                        before: self.t("mail.changes.before").to_owned(),
                        after: self.t("mail.changes.after").to_owned(),
                        rows: rows.clone(),
                    });
                }
                if self.input.message.snapshot.link_changed {
                    blocks.push(Block::Para(self.t("mail.intro.link_changed").to_owned()));
                }
                (
                    self.tf("mail.subject.update", &[("title", &title), ("when", &when)]),
                    self.t("mail.file.update"),
                )
            }
        };
        blocks.push(self.facts());
        let minutes = (s.starts_at.as_second() - window.opens.as_second()) / 60;
        blocks.push(Block::Link {
            intro: self.t("mail.link.intro").to_owned(),
            url: url.clone(),
        });
        blocks.push(Block::Para(self.tf(
            "mail.link.opens",
            &[("when", &self.when(window.opens)), ("minutes", &minutes)],
        )));
        if me.role != ParticipantRole::Trainer {
            blocks.push(Block::Actions {
                intro: self.t("mail.rsvp.question").to_owned(),
                actions: vec![
                    (
                        self.t("mail.rsvp.accept").to_owned(),
                        format!("{url}/rsvp?answer=accepted"),
                    ),
                    (
                        self.t("mail.rsvp.decline").to_owned(),
                        format!("{url}/rsvp?answer=declined"),
                    ),
                ],
            });
        }
        if !s.notes.trim().is_empty() {
            blocks.push(Block::Quote {
                label: self.t("mail.notes").to_owned(),
                text: s.notes.clone(),
            });
        }
        blocks.push(Block::Para(self.t("mail.calendar.attached").to_owned()));
        if let Some(contact) = self.contact() {
            blocks.push(contact);
        }
        blocks.push(self.footer());
        let join = JoinInfo {
            url,
            opens_at: window.opens,
        };
        let ics = self.ics(Method::Request, me.clone(), Some(&join))?;
        self.finish(subject, blocks, Some((ics, Method::Request, filename)))
    }

    /// One invitation to every session of a series the recipient is in: the dates, each with
    /// its personal link, one answer for all of them, and one calendar event (a rule, its
    /// exclusions and overrides).
    fn series_invitation(&self, view: &store::SeriesView) -> Result<Outcome, RenderError> {
        let now = self.input.now;
        let theirs: Vec<_> = view.theirs().collect();
        let ahead: Vec<_> = theirs
            .iter()
            .filter(|(o, _)| o.session.status == SessionStatus::Scheduled && !o.session.ended(now))
            .collect();
        let Some((first, me)) = ahead.first() else {
            let cancelled = theirs.iter().all(|(o, _)| o.session.status == SessionStatus::Cancelled);
            return Ok(Outcome::Skip(if cancelled {
                reason::CANCELLED
            } else {
                reason::STARTED
            }));
        };
        let last = ahead.last().map_or(first, |(o, _)| o);
        let title = header_text(&first.session.title);
        let settings = self.input.settings;
        let mut rows = Vec::new();
        let mut items = Vec::new();
        let trainers: Vec<Participant> = self.detail.with_role(ParticipantRole::Trainer).cloned().collect();
        let mut opens_minutes = 0;
        for (o, p) in &theirs {
            let s = &o.session;
            let url = settings.join_url(&self.key(p)?);
            let window = JoinWindow::for_participant(s.starts_at, s.ends_at, p.role.is_moderator(), &settings.join);
            if s.status == SessionStatus::Scheduled && !s.ended(now) {
                opens_minutes = (s.starts_at.as_second() - window.opens.as_second()) / 60;
                rows.push((
                    format!("{}, {}", self.date(s.starts_at), self.hours(s.starts_at, s.ends_at)),
                    self.t("mail.series.join").to_owned(),
                    url.clone(),
                ));
            }
            let mut attendees: Vec<Participant> = trainers.iter().filter(|t| t.email != p.email).cloned().collect();
            attendees.push((*p).clone());
            let mut event = session_event_in(
                s,
                &attendees,
                Some(&JoinInfo {
                    url,
                    opens_at: window.opens,
                }),
                Some(settings.organizer()),
                self.locale,
                now,
                self.zone,
            );
            if let Some(description) = &mut event.description {
                description.push_str("\n\n");
                description.push_str(self.t("calendar.series_link"));
            }
            items.push(SeriesItem {
                occurrence_at: o.occurrence_at,
                session: s,
                event,
            });
        }
        let intro = match me.role {
            ParticipantRole::Trainer => "mail.intro.series.trainer",
            ParticipantRole::Moderator => "mail.intro.series.moderator",
            ParticipantRole::Learner | ParticipantRole::Guest => "mail.intro.series.learner",
        };
        let mut facts = vec![(self.t("mail.fact.session").to_owned(), first.session.title.clone())];
        if let Some(course) = self.input.course {
            facts.push((self.t("mail.fact.course").to_owned(), course.to_owned()));
        }
        facts.push((self.t("mail.fact.first").to_owned(), self.date(first.session.starts_at)));
        facts.push((self.t("mail.fact.last").to_owned(), self.date(last.session.starts_at)));
        facts.push((
            self.t("mail.fact.duration").to_owned(),
            self.duration(first.session.starts_at, first.session.ends_at),
        ));
        let names: Vec<&str> = trainers.iter().map(|t| t.name.as_str()).collect();
        if !names.is_empty() {
            facts.push((self.t("mail.fact.trainers").to_owned(), names.join(", ")));
        }
        let count = rows.len();
        let mut blocks = vec![
            self.greeting(),
            Block::Para(self.tf(intro, &[("title", &first.session.title)])),
            Block::Facts(facts),
            Block::Schedule {
                intro: self.tf("mail.series.dates", &[("count", &count)]),
                rows,
            },
            Block::Para(self.tf("mail.series.opens", &[("minutes", &opens_minutes)])),
        ];
        if me.role != ParticipantRole::Trainer {
            let url = settings.join_url(&self.key(me)?);
            blocks.push(Block::Actions {
                intro: self.t("mail.series.rsvp").to_owned(),
                actions: vec![
                    (
                        self.t("mail.rsvp.accept").to_owned(),
                        format!("{url}/rsvp?answer=accepted&scope=series"),
                    ),
                    (
                        self.t("mail.rsvp.decline").to_owned(),
                        format!("{url}/rsvp?answer=declined&scope=series"),
                    ),
                ],
            });
        }
        if !first.session.notes.trim().is_empty() {
            blocks.push(Block::Quote {
                label: self.t("mail.notes").to_owned(),
                text: first.session.notes.clone(),
            });
        }
        blocks.push(Block::Para(self.t("mail.series.calendar").to_owned()));
        if let Some(contact) = self.contact() {
            blocks.push(contact);
        }
        blocks.push(self.footer());
        let events = series_events(&view.series, items);
        let cal = calendar(Some(Method::Request), None, events);
        cal.validate().map_err(|e| RenderError::Calendar(e.to_string()))?;
        let subject = self.tf(
            "mail.subject.series_invitation",
            &[
                ("title", &title),
                ("count", &count),
                ("when", &self.short(first.session.starts_at)),
            ],
        );
        self.finish(
            subject,
            blocks,
            Some((cal.render(), Method::Request, self.t("mail.file.invitation"))),
        )
    }

    fn reminder(&self, me: &Participant) -> Result<Outcome, RenderError> {
        let s = self.session();
        let key = self.key(me)?;
        let url = self.input.settings.join_url(&key);
        let window = JoinWindow::for_participant(
            s.starts_at,
            s.ends_at,
            me.role.is_moderator(),
            &self.input.settings.join,
        );
        let title = header_text(&s.title);
        let subject = self.tf(
            "mail.subject.reminder",
            &[("title", &title), ("when", &self.short(s.starts_at))],
        );
        let minutes = (s.starts_at.as_second() - window.opens.as_second()) / 60;
        let mut blocks = vec![
            self.greeting(),
            Block::Para(self.tf(
                "mail.intro.reminder",
                &[("title", &s.title), ("when", &self.when(s.starts_at))],
            )),
            self.facts(),
            Block::Link {
                intro: self.t("mail.link.intro").to_owned(),
                url: url.clone(),
            },
            Block::Para(self.tf(
                "mail.link.opens",
                &[("when", &self.when(window.opens)), ("minutes", &minutes)],
            )),
        ];
        if me.role != ParticipantRole::Trainer && me.rsvp == Rsvp::Pending {
            blocks.push(Block::Actions {
                intro: self.t("mail.rsvp.question").to_owned(),
                actions: vec![
                    (
                        self.t("mail.rsvp.accept").to_owned(),
                        format!("{url}/rsvp?answer=accepted"),
                    ),
                    (
                        self.t("mail.rsvp.decline").to_owned(),
                        format!("{url}/rsvp?answer=declined"),
                    ),
                ],
            });
        }
        if let Some(contact) = self.contact() {
            blocks.push(contact);
        }
        blocks.push(self.footer());
        self.finish(subject, blocks, None)
    }

    /// After the session: the attendance sheet awaits `me`'s signature, at their link's
    /// signing page (the message is given up when the sheet closes).
    fn sign_reminder(&self, me: &Participant) -> Result<Outcome, RenderError> {
        let s = self.session();
        let key = self.key(me)?;
        let url = format!("{}/sign", self.input.settings.join_url(&key));
        let title = header_text(&s.title);
        let subject = self.tf(
            "mail.subject.sign_reminder",
            &[("title", &title), ("when", &self.short(s.starts_at))],
        );
        let mut blocks = vec![
            self.greeting(),
            Block::Para(self.tf(
                "mail.intro.sign_reminder",
                &[("title", &s.title), ("when", &self.when(s.starts_at))],
            )),
            Block::Link {
                intro: self.t("mail.link.sign").to_owned(),
                url,
            },
            Block::Para(self.t("mail.sign.why").to_owned()),
        ];
        if let Some(contact) = self.contact() {
            blocks.push(contact);
        }
        blocks.push(self.footer());
        self.finish(subject, blocks, None)
    }

    /// A cancellation: of the session, or for `me` only when they were removed from it.
    fn cancellation(&self, me: Option<&Participant>) -> Result<Outcome, RenderError> {
        let s = self.session();
        let m = self.input.message;
        let cancelled = s.status == SessionStatus::Cancelled;
        let title = header_text(&s.title);
        let when = self.when(s.starts_at);
        let into_series = m.snapshot.into_series;
        let (subject_key, intro_key) = if into_series {
            // Not a cancellation for the person: the session's own entry leaves their calendar
            // because their event for the whole series holds it.
            ("mail.subject.into_series", "mail.intro.into_series")
        } else if cancelled {
            ("mail.subject.cancellation", "mail.intro.cancelled")
        } else {
            ("mail.subject.removed", "mail.intro.removed")
        };
        // Several occurrences of a series they hold as one event, cancelled together: one
        // message for all of them (those they are in).
        let together: Vec<&store::Session> = match self.input.series {
            Some(view) if cancelled && !into_series => m
                .snapshot
                .with_occurrences
                .iter()
                .filter_map(|id| view.theirs().find(|(o, _)| &o.session.id == id))
                .map(|(o, _)| &o.session)
                .filter(|other| other.status == SessionStatus::Cancelled)
                .collect(),
            _ => Vec::new(),
        };
        let mut blocks = vec![self.greeting()];
        let subject = if together.is_empty() {
            blocks.push(Block::Para(self.tf(intro_key, &[("title", &s.title), ("when", &when)])));
            self.tf(subject_key, &[("title", &title), ("when", &self.short(s.starts_at))])
        } else {
            let mut all: Vec<&store::Session> = together.clone();
            all.push(s);
            all.sort_by_key(|x| x.starts_at);
            let count = all.len();
            let dates: Vec<String> = all.iter().map(|x| format!("– {}", self.when(x.starts_at))).collect();
            blocks.push(Block::Para(self.tf(
                "mail.intro.cancelled.several",
                &[("title", &s.title), ("count", &count)],
            )));
            blocks.push(Block::Para(dates.join("\n")));
            self.tf(
                "mail.subject.cancellation.several",
                &[
                    ("title", &title),
                    ("count", &count),
                    ("when", &self.short(all[0].starts_at)),
                ],
            )
        };
        if let Some(text) = m.snapshot.cancel_message.as_deref().filter(|t| !t.trim().is_empty()) {
            blocks.push(Block::Quote {
                label: self.t("mail.cancel_message").to_owned(),
                text: text.to_owned(),
            });
        }
        if together.is_empty() {
            blocks.push(self.facts());
        }
        blocks.push(Block::Para(
            self.t(if into_series {
                "mail.calendar.into_series"
            } else if together.is_empty() {
                "mail.calendar.cancelled"
            } else {
                "mail.calendar.cancelled.several"
            })
            .to_owned(),
        ));
        if let Some(contact) = self.contact() {
            blocks.push(contact);
        }
        blocks.push(self.footer());
        // The attendee being told: the participant, or who they were before removal.
        let attendee = match me {
            Some(p) => p.clone(),
            None => Participant {
                id: m.participant_id.clone(),
                session_id: s.id.clone(),
                role: match m.snapshot.removed_role.as_deref() {
                    Some("trainer") => ParticipantRole::Trainer,
                    Some("moderator") => ParticipantRole::Moderator,
                    Some("guest") => ParticipantRole::Guest,
                    _ => ParticipantRole::Learner,
                },
                user_id: None,
                contact_id: None,
                name: m.recipient_name.clone(),
                email: m.recipient_email.clone(),
                link_version: 0,
                rsvp: Rsvp::Pending,
                created_at: m.created_at,
            },
        };
        let ics = self.ics_of(Method::Cancel, attendee, None, &together)?;
        self.finish(
            subject,
            blocks,
            Some((ics, Method::Cancel, self.t("mail.file.cancellation"))),
        )
    }

    /// The calendar for `me`: the session as one event, with the trainers and `me` as attendees
    /// (not the other learners: their addresses are theirs).
    fn ics(&self, method: Method, me: Participant, join: Option<&JoinInfo>) -> Result<String, RenderError> {
        self.ics_of(method, me, join, &[])
    }

    /// [`Self::ics`], with `others` (occurrences of the same series, cancelled with it) as
    /// events of the same calendar, in time order.
    fn ics_of(
        &self,
        method: Method,
        me: Participant,
        join: Option<&JoinInfo>,
        others: &[&store::Session],
    ) -> Result<String, RenderError> {
        let mut sessions: Vec<&store::Session> = others.to_vec();
        sessions.push(self.session());
        sessions.sort_by_key(|x| x.starts_at);
        let mut events = Vec::with_capacity(sessions.len());
        for s in sessions {
            events.push(self.event_for(method, me.clone(), join, s));
        }
        let cal = calendar(Some(method), None, events);
        cal.validate().map_err(|e| RenderError::Calendar(e.to_string()))?;
        Ok(cal.render())
    }

    /// One session's event for `me` (an occurrence's override when their calendar holds its
    /// series as one event).
    fn event_for(&self, method: Method, me: Participant, join: Option<&JoinInfo>, s: &store::Session) -> ical::Event {
        let mut attendees: Vec<Participant> = self
            .detail
            .with_role(ParticipantRole::Trainer)
            .filter(|p| p.id != me.id)
            .cloned()
            .collect();
        attendees.push(me);
        let mut event = session_event_in(
            s,
            &attendees,
            join,
            Some(self.input.settings.organizer()),
            self.locale,
            self.input.now,
            self.zone,
        );
        if method == Method::Cancel {
            event.status = Status::Cancelled;
            event.alarms.clear();
        }
        // Their calendar holds the series as one event: this session is one occurrence of it,
        // changed or cancelled alone.
        if let Some(view) = self.input.series
            && let Some(occurrence) = view.occurrence(&s.id)
        {
            event = occurrence_override(
                &view.series,
                &SeriesItem {
                    occurrence_at: occurrence.occurrence_at,
                    session: s,
                    event,
                },
            );
        }
        event
    }

    fn finish(
        &self,
        subject: String,
        blocks: Vec<Block>,
        calendar: Option<(String, Method, &str)>,
    ) -> Result<Outcome, RenderError> {
        finish(self.input, self.locale, subject, blocks, calendar)
    }
}

/// A welcome to a new staff account: its set-password link and when it expires, in the
/// account's language (no session, no calendar).
fn welcome(input: &Input<'_>) -> Result<Outcome, RenderError> {
    let m = input.message;
    let settings = input.settings;
    let locale = m
        .locale
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or(settings.default_locale);
    let Some(url) = input.welcome_url else {
        // Wiped (the row was finished once and retried) or unreadable: nothing to send.
        return Err(RenderError::Link("the set-password link is no longer held".into()));
    };
    let zone = if TimeZone::get(&m.time_zone).is_ok() {
        m.time_zone.as_str()
    } else {
        "UTC"
    };
    let organization = settings.organization_name();
    // Without an organisation of its own (as for the footer), the message names Dialogue once:
    // not "your Dialogue account at Dialogue".
    let unnamed = organization == "Dialogue";
    let subject = if unnamed {
        locale.t("mail.subject.welcome.unnamed").to_owned()
    } else {
        locale.tf("mail.subject.welcome", &[("organization", &organization)])
    };
    let intro = if unnamed {
        locale.tf("mail.intro.welcome.unnamed", &[("email", &m.recipient_email)])
    } else {
        locale.tf(
            "mail.intro.welcome",
            &[("organization", &organization), ("email", &m.recipient_email)],
        )
    };
    let name = header_text(&m.recipient_name);
    let mut blocks = vec![
        Block::Para(locale.tf("mail.greeting", &[("name", &name)])),
        Block::Para(intro),
        Block::Link {
            intro: locale.t("mail.link.welcome").to_owned(),
            url: url.to_owned(),
        },
    ];
    if let Some(expires) = m.snapshot.link_expires_at.and_then(|s| Timestamp::from_second(s).ok()) {
        blocks.push(Block::Para(locale.tf(
            "mail.welcome.expires",
            &[("when", &format_datetime(expires, zone, locale))],
        )));
    }
    blocks.push(Block::Para(locale.t("mail.welcome.later").to_owned()));
    let contact = settings.contact.trim();
    if !contact.is_empty() {
        blocks.push(Block::Facts(vec![(
            locale.t("mail.fact.contact").to_owned(),
            format!("{organization} — {contact}"),
        )]));
    }
    blocks.push(Block::Footer(if unnamed {
        locale.t("mail.footer.unnamed").to_owned()
    } else {
        locale.tf("mail.footer", &[("organization", &organization)])
    }));
    finish(input, locale, subject, blocks, None)
}

/// Builds the message that leaves: headers, plain text and HTML, and the calendar if any.
fn finish(
    input: &Input<'_>,
    locale: Locale,
    subject: String,
    blocks: Vec<Block>,
    calendar: Option<(String, Method, &str)>,
) -> Result<Outcome, RenderError> {
    {
        let m = input.message;
        let settings = input.settings;
        let subject = header_text(&subject);
        let doc = Doc {
            lang: locale.as_str(),
            title: subject.clone(),
            blocks,
        };
        let address: lettre::Address = m
            .recipient_email
            .trim()
            .parse()
            .map_err(|_| RenderError::Address(m.recipient_email.clone()))?;
        let name = header_text(&m.recipient_name);
        let to = Mailbox::new((!name.is_empty()).then_some(name), address);
        let mut builder = lettre::Message::builder()
            .from(settings.from.clone())
            .to(to)
            .subject(subject.clone())
            .message_id(Some(format!("<{}@{}>", m.id, settings.from.email.domain())))
            .date(SystemTime::from(input.now))
            .header(AutoSubmitted)
            .header(ContentLanguage(locale.as_str()));
        if let Some(reply_to) = &settings.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let (text, html) = (doc.text(), doc.html());
        let alternatives = MultiPart::alternative()
            .singlepart(SinglePart::plain(text.clone()))
            .singlepart(SinglePart::html(html.clone()));
        let (message, ics) = match calendar {
            Some((ics, method, filename)) => {
                let inline = ContentType::parse(&format!("text/calendar; charset=utf-8; method={}", method.as_str()))
                    .map_err(|e| RenderError::Build(e.to_string()))?;
                let attached = ContentType::parse("application/ics").map_err(|e| RenderError::Build(e.to_string()))?;
                let body = MultiPart::mixed()
                    .multipart(alternatives.singlepart(SinglePart::builder().header(inline).body(ics.clone())))
                    .singlepart(Attachment::new(filename.to_owned()).body(ics.clone(), attached));
                (builder.multipart(body), Some(ics))
            }
            None => (builder.multipart(alternatives), None),
        };
        let message = message.map_err(|e| RenderError::Build(e.to_string()))?;
        Ok(Outcome::Send(Box::new(Rendered {
            subject,
            message,
            text,
            html,
            calendar: ics,
        })))
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): out-of-office robots do not answer.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// `Content-Language` (RFC 3282).
#[derive(Debug, Clone, Copy)]
struct ContentLanguage(&'static str);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(if s.trim() == "en" { "en" } else { "fr" }))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use store::{MailSnapshot, OutboxStatus, Session};

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn settings() -> MailSettings {
        MailSettings {
            from: "Formation Exemple <formation@example.org>".parse().unwrap(),
            reply_to: Some("Secrétariat <secretariat@example.org>".parse().unwrap()),
            organization: "Formation Exemple".into(),
            contact: "01 23 45 67 89".into(),
            public_url: "https://dialogue.example.org".into(),
            join: WindowSettings::default(),
            default_locale: Locale::Fr,
        }
    }

    fn participant(id: &str, role: ParticipantRole, name: &str, email: &str) -> Participant {
        Participant {
            id: id.into(),
            session_id: "s1".into(),
            role,
            user_id: None,
            contact_id: None,
            name: name.into(),
            email: email.into(),
            link_version: 1,
            rsvp: Rsvp::Pending,
            created_at: at("2026-09-01T00:00:00Z"),
        }
    }

    fn detail() -> SessionDetail {
        let start = at("2026-10-26T08:00:00Z");
        SessionDetail {
            session: Session {
                id: "s1".into(),
                uid: "u1@dialogue".into(),
                course_id: Some("c1".into()),
                series_id: None,
                title: "Tableur avancé : révisions".into(),
                starts_at: start,
                ends_at: start + SignedDuration::from_mins(90),
                time_zone: "Europe/Paris".into(),
                status: SessionStatus::Scheduled,
                room: "tableur-x".into(),
                notes: "Apportez un casque.\nLigne 2 <b>".into(),
                sequence: 1,
                created_by: None,
                created_at: at("2026-09-01T00:00:00Z"),
                updated_at: at("2026-09-02T00:00:00Z"),
            },
            participants: vec![
                participant("t1", ParticipantRole::Trainer, "Théo Dupré", "theo@example.org"),
                participant("l1", ParticipantRole::Learner, "Zoé Lefèvre", "zoe@example.org"),
                participant("l2", ParticipantRole::Learner, "Other Learner", "other@example.org"),
            ],
        }
    }

    fn row(kind: MailKind, participant: &str, name: &str, email: &str) -> OutboxMessage {
        OutboxMessage {
            id: "m1".into(),
            kind,
            session_id: Some("s1".into()),
            participant_id: participant.into(),
            recipient_email: email.into(),
            recipient_name: name.into(),
            locale: None,
            time_zone: "Europe/Paris".into(),
            snapshot: MailSnapshot::default(),
            status: OutboxStatus::Sending,
            attempts: 1,
            next_attempt_at: at("2026-10-01T00:00:00Z"),
            give_up_at: at("2026-10-02T00:00:00Z"),
            subject: None,
            last_error: None,
            created_at: at("2026-10-01T00:00:00Z"),
            updated_at: at("2026-10-01T00:00:00Z"),
            sent_at: None,
            series_id: None,
        }
    }

    fn key(id: &str, version: i64) -> Result<String, String> {
        Ok(format!("KEY-{id}-{version}"))
    }

    fn run(m: &OutboxMessage, detail: &SessionDetail, now: &str) -> Outcome {
        let settings = settings();
        render(&Input {
            welcome_url: None,
            message: m,
            detail: Some(detail),
            course: Some("Bureautique"),
            series: None,
            settings: &settings,
            join_key: &key,
            now: at(now),
        })
        .unwrap()
    }

    fn sent(outcome: Outcome) -> Rendered {
        match outcome {
            Outcome::Send(r) => *r,
            Outcome::Skip(why) => panic!("skipped: {why}"),
        }
    }

    fn headers(r: &Rendered) -> String {
        let raw = String::from_utf8(r.message.formatted()).unwrap();
        raw.split("\r\n\r\n").next().unwrap().to_owned()
    }

    #[test]
    fn an_invitation_in_french_with_its_link_and_calendar() {
        let d = detail();
        let r = sent(run(
            &row(MailKind::Invitation, "l1", "Zoé Lefèvre", "zoe@example.org"),
            &d,
            "2026-10-01T00:00:00Z",
        ));
        assert_eq!(r.subject, "Convocation : Tableur avancé : révisions — 26/10/2026 09:00");
        let h = headers(&r);
        assert!(
            h.contains("Subject: Convocation : Tableur =?utf-8?b?"),
            "RFC 2047 subject: {h}"
        );
        assert!(h.contains("To: =?utf-8?b?") && h.contains("<zoe@example.org>"), "{h}");
        assert!(h.contains("From: \"Formation Exemple\" <formation@example.org>"), "{h}");
        assert!(h.contains("Reply-To: =?utf-8?"), "{h}");
        assert!(h.contains("Message-ID: <m1@example.org>"), "{h}");
        assert!(h.contains("Auto-Submitted: auto-generated"));
        assert!(h.contains("Content-Language: fr"));
        assert!(h.contains("Content-Type: multipart/mixed"));
        let raw = String::from_utf8(r.message.formatted()).unwrap();
        assert!(raw.contains("Content-Type: multipart/alternative"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(raw.contains("Content-Type: text/html; charset=utf-8"));
        assert!(raw.contains("Content-Type: text/calendar; charset=utf-8; method=REQUEST"));
        assert!(raw.contains("Content-Disposition: attachment; filename=\"convocation.ics\""));
        let text = &r.text;
        for expected in [
            "Bonjour Zoé Lefèvre,",
            "Vous êtes convoqué·e à la séance « Tableur avancé : révisions ».",
            "Formation : Bureautique",
            "Date : lundi 26 octobre 2026",
            "Horaire : de 09:00 à 10:30 (Europe/Paris)",
            "Durée : 1 h 30",
            "Formateur·rices : Théo Dupré",
            "https://dialogue.example.org/j/KEY-l1-1\n",
            "Il s’ouvre le lundi 26 octobre 2026 à 08:55 (Europe/Paris), 5 minutes avant le début.",
            "https://dialogue.example.org/j/KEY-l1-1/rsvp?answer=accepted",
            "https://dialogue.example.org/j/KEY-l1-1/rsvp?answer=declined",
            "> Apportez un casque.\n> Ligne 2 <b>",
            "Contact : Formation Exemple — 01 23 45 67 89",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(r.html.contains("Ligne 2 &lt;b&gt;") && r.html.contains("<html lang=\"fr\">"));
        let ics = r.calendar.unwrap().replace("\r\n ", "");
        assert!(ics.contains("METHOD:REQUEST\r\n"));
        assert!(ics.contains("DTSTART;TZID=Europe/Paris:20261026T090000\r\n"), "{ics}");
        assert!(ics.contains("URL:https://dialogue.example.org/j/KEY-l1-1\r\n"));
        assert!(ics.contains("ORGANIZER;CN=Formation Exemple:mailto:formation@example.org"));
        assert!(ics.contains("mailto:zoe@example.org") && ics.contains("mailto:theo@example.org"));
        assert!(
            !ics.contains("other@example.org"),
            "other learners' addresses stay private"
        );
    }

    #[test]
    fn trainers_and_english_readers_get_their_own_words_and_zone() {
        let d = detail();
        let mut m = row(MailKind::Invitation, "t1", "Théo Dupré", "theo@example.org");
        m.locale = Some("en".into());
        m.time_zone = "America/New_York".into();
        let r = sent(run(&m, &d, "2026-10-01T00:00:00Z"));
        assert_eq!(r.subject, "Invitation: Tableur avancé : révisions — 2026-10-26 04:00");
        assert!(headers(&r).contains("Content-Language: en"));
        assert!(
            r.text.contains("Hello Théo Dupré,\n\nYou are teaching the session"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("Time : 04:00 to 05:30 (America/New_York)"),
            "{}",
            r.text
        );
        assert!(r.text.contains("Date : Monday 26 October 2026"));
        assert!(r.text.contains("Duration : 1 h 30 min"));
        // Trainers moderate: their room opens 15 minutes before; they are not asked to answer.
        assert!(
            r.text
                .contains("It opens on Monday 26 October 2026 at 03:45 (America/New_York), 15 minutes")
        );
        assert!(!r.text.contains("rsvp"));
        assert!(r.html.contains("<html lang=\"en\">"));
    }

    #[test]
    fn header_text_cannot_add_headers() {
        let mut d = detail();
        d.session.title = "Excel\r\nBcc: evil@example.org\u{2028}X".into();
        let m = row(
            MailKind::Invitation,
            "l1",
            "Zoé\r\nBcc: evil@example.org\nCc: x@example.org",
            "zoe@example.org",
        );
        let r = sent(run(&m, &d, "2026-10-01T00:00:00Z"));
        let h = headers(&r);
        for line in h.split("\r\n") {
            assert!(
                !line.starts_with("Bcc:") && !line.starts_with("Cc:"),
                "injected header line {line:?} in\n{h}"
            );
        }
        let to: Vec<String> = r.message.envelope().to().iter().map(ToString::to_string).collect();
        assert_eq!(to, ["zoe@example.org"]);
        assert_eq!(header_text(" a\r\n\tb\u{2029}c  "), "a b c");
    }

    #[test]
    fn updates_say_what_changed_and_only_when_something_did() {
        let mut d = detail();
        let mut m = row(MailKind::Update, "l1", "Zoé", "zoe@example.org");
        m.snapshot.old_starts_at = Some(d.session.starts_at.as_second());
        m.snapshot.old_ends_at = Some(d.session.ends_at.as_second());
        assert!(matches!(
            run(&m, &d, "2026-10-01T00:00:00Z"),
            Outcome::Skip(reason::UNCHANGED)
        ));
        d.session.starts_at += SignedDuration::from_hours(24);
        d.session.ends_at += SignedDuration::from_hours(25);
        d.session.sequence = 2;
        let r = sent(run(&m, &d, "2026-10-01T00:00:00Z"));
        assert!(r.subject.starts_with("Modification : Tableur avancé"), "{}", r.subject);
        assert!(
            r.text.contains(
                "Date et heure\n  Avant : lundi 26 octobre 2026 à 09:00 (Europe/Paris)\n  \
                 Désormais : mardi 27 octobre 2026 à 09:00 (Europe/Paris)"
            ),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("Durée\n  Avant : 1 h 30\n  Désormais : 2 h 30"),
            "{}",
            r.text
        );
        let ics = r.calendar.unwrap();
        assert!(ics.contains("SEQUENCE:2\r\n") && ics.contains("METHOD:REQUEST"));
        // A new link alone is news too.
        let mut d = detail();
        d.participants[1].link_version = 2;
        let mut m = row(MailKind::Update, "l1", "Zoé", "zoe@example.org");
        m.snapshot.link_changed = true;
        let r = sent(run(&m, &d, "2026-10-01T00:00:00Z"));
        assert!(r.text.contains("Votre lien personnel a été renouvelé"));
        assert!(r.text.contains("/j/KEY-l1-2"));
    }

    #[test]
    fn cancellations_for_everyone_or_for_someone_removed() {
        let mut d = detail();
        d.session.status = SessionStatus::Cancelled;
        d.session.sequence = 3;
        let r = sent(run(
            &row(MailKind::Cancellation, "l1", "Zoé", "zoe@example.org"),
            &d,
            "2026-10-01T00:00:00Z",
        ));
        assert_eq!(r.subject, "Annulation : Tableur avancé : révisions — 26/10/2026 09:00");
        assert!(r.text.contains("est annulée"));
        assert!(!r.text.contains("/j/"), "no link to a cancelled session");
        let ics = r.calendar.unwrap();
        assert!(ics.contains("METHOD:CANCEL\r\n") && ics.contains("STATUS:CANCELLED\r\n"));
        assert!(ics.contains("SEQUENCE:3\r\n") && !ics.contains("BEGIN:VALARM"));
        let raw = String::from_utf8(r.message.formatted()).unwrap();
        assert!(raw.contains("method=CANCEL") && raw.contains("filename=\"annulation.ics\""));
        // Someone removed: their row is gone, the message knows who they were.
        let d = detail();
        let mut m = row(MailKind::Cancellation, "gone", "Max Gone", "max@example.org");
        m.snapshot.removed_role = Some("learner".into());
        m.locale = Some("en".into());
        let r = sent(run(&m, &d, "2026-10-01T00:00:00Z"));
        assert!(r.subject.starts_with("No longer attending: Tableur"), "{}", r.subject);
        let ics = r.calendar.unwrap().replace("\r\n ", "");
        assert!(
            ics.contains("METHOD:CANCEL") && ics.contains("mailto:max@example.org"),
            "{ics}"
        );
        assert!(ics.contains("STATUS:CANCELLED"));
    }

    #[test]
    fn reminders_and_what_is_not_sent() {
        let mut d = detail();
        let mut m = row(MailKind::Reminder, "l1", "Zoé", "zoe@example.org");
        m.snapshot.offset_minutes = Some(60);
        let r = sent(run(&m, &d, "2026-10-26T07:00:00Z"));
        assert!(r.subject.starts_with("Rappel : Tableur avancé"));
        assert!(
            r.text
                .contains("commence le lundi 26 octobre 2026 à 09:00 (Europe/Paris)")
        );
        assert!(r.text.contains("/j/KEY-l1-1") && r.calendar.is_none());
        let raw = String::from_utf8(r.message.formatted()).unwrap();
        assert!(raw.contains("multipart/alternative") && !raw.contains("multipart/mixed"));
        // Too late, declined, cancelled, ended, gone.
        assert!(matches!(
            run(&m, &d, "2026-10-26T08:00:00Z"),
            Outcome::Skip(reason::STARTED)
        ));
        d.participants[1].rsvp = Rsvp::Declined;
        assert!(matches!(
            run(&m, &d, "2026-10-26T07:00:00Z"),
            Outcome::Skip(reason::DECLINED)
        ));
        let invitation = row(MailKind::Invitation, "l1", "Zoé", "zoe@example.org");
        assert!(matches!(
            run(&invitation, &d, "2026-10-26T09:30:00Z"),
            Outcome::Skip(reason::STARTED)
        ));
        let nobody = row(MailKind::Invitation, "zz", "Zoé", "zoe@example.org");
        assert!(matches!(
            run(&nobody, &d, "2026-10-01T00:00:00Z"),
            Outcome::Skip(reason::GONE)
        ));
        d.session.status = SessionStatus::Cancelled;
        assert!(matches!(
            run(&invitation, &d, "2026-10-01T00:00:00Z"),
            Outcome::Skip(reason::CANCELLED)
        ));
        let settings = settings();
        let none = render(&Input {
            welcome_url: None,
            message: &invitation,
            detail: None,
            course: None,
            series: None,
            settings: &settings,
            join_key: &key,
            now: at("2026-10-01T00:00:00Z"),
        })
        .unwrap();
        assert!(matches!(none, Outcome::Skip(reason::GONE)));
    }

    /// Every catalogue key this crate names exists (the i18n crate checks fr and en agree).
    #[test]
    fn every_key_used_is_in_the_catalogue() {
        let known: std::collections::BTreeSet<&str> = i18n::keys().collect();
        let mut used = 0;
        for source in [include_str!("message.rs"), include_str!("calendar.rs")] {
            for (i, _) in source
                .match_indices("\"mail.")
                .chain(source.match_indices("\"calendar."))
            {
                let rest = &source[i + 1..];
                let key = &rest[..rest.find('"').unwrap()];
                if key.ends_with('.') || key.contains(' ') || key.ends_with("rs") {
                    continue;
                }
                used += 1;
                assert!(known.contains(key), "{key} is not in the catalogues");
            }
        }
        assert!(used > 40, "only {used} keys found");
    }

    #[test]
    fn a_welcome_carries_the_link_and_its_expiry_in_the_account_language() {
        let settings = settings();
        let mut m = row(MailKind::Welcome, "u1", "Ada Lovelace", "ada@example.com");
        m.session_id = None;
        m.locale = Some("en".into());
        m.time_zone = "America/New_York".into();
        m.snapshot.link_expires_at = Some(at("2026-10-29T12:00:00Z").as_second());
        let url = "https://dialogue.example.org/password/tok";
        let input = |welcome_url| Input {
            welcome_url,
            message: &m,
            detail: None,
            course: None,
            series: None,
            settings: &settings,
            join_key: &key,
            now: at("2026-10-26T12:00:00Z"),
        };
        let r = sent(render(&input(Some(url))).unwrap());
        assert_eq!(r.subject, "Your Dialogue account at Formation Exemple");
        assert!(r.calendar.is_none());
        assert!(
            r.text.contains("Hello Ada Lovelace") && r.text.contains(url),
            "{}",
            r.text
        );
        assert!(r.text.contains("expires on") && r.text.contains("8:00"), "{}", r.text);
        assert!(r.text.contains("01 23 45 67 89") && r.html.contains(url));
        assert!(headers(&r).contains("Content-Language: en"));
        // Without its link (wiped), nothing is sent.
        assert!(matches!(render(&input(None)), Err(RenderError::Link(_))));
    }

    #[test]
    fn a_bad_address_is_an_error_not_a_panic() {
        let d = detail();
        let m = row(MailKind::Invitation, "l1", "Zoé", "not an address");
        let settings = settings();
        let result = render(&Input {
            welcome_url: None,
            message: &m,
            detail: Some(&d),
            course: None,
            series: None,
            settings: &settings,
            join_key: &key,
            now: at("2026-10-01T00:00:00Z"),
        });
        assert!(matches!(result, Err(RenderError::Address(_))), "{result:?}");
    }

    /// On the defaults (no organisation configured, an unnamed sender), the footer names
    /// Dialogue once.
    #[test]
    fn an_unnamed_organisation_is_not_dialogue_with_dialogue() {
        let unnamed = MailSettings {
            from: "dialogue@localhost".parse().unwrap(),
            reply_to: None,
            organization: String::new(),
            contact: String::new(),
            ..settings()
        };
        let m = row(MailKind::Invitation, "l1", "Zoé Lefèvre", "zoe@example.org");
        let rendered = sent(
            render(&Input {
                message: &m,
                detail: Some(&detail()),
                course: None,
                series: None,
                welcome_url: None,
                settings: &unnamed,
                join_key: &key,
                now: at("2026-10-01T00:00:00Z"),
            })
            .unwrap(),
        );
        assert!(
            rendered.text.contains("Message envoyé par Dialogue. Répondez"),
            "{}",
            rendered.text
        );
        assert!(!rendered.text.contains("avec Dialogue"), "{}", rendered.text);
        let named = sent(run(&m, &detail(), "2026-10-01T00:00:00Z"));
        assert!(
            named
                .text
                .contains("Message envoyé par Formation Exemple avec Dialogue.")
        );
    }
}
