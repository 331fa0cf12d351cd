//! Who attended a session, for how long, and per half-day: the rules behind the attendance
//! sheet (feuille d'émargement) and the documents that follow from hours attended.
//!
//! The input is what Jitsi told us about the session's room, as [`ConnectionEvent`]s (from
//! Prosody's `event_sync` or from JaaS webhooks, mapped by the `jitsi` crate), the booked
//! interval and zone ([`BookedSession`]), [`AttendanceSettings`], the current instant, and the
//! [`Correction`]s that trainers and managers entered. The output, [`Attendance`], has one
//! [`PersonAttendance`] per person with the measured figures, overall and per [`HalfDay`], and
//! the corrected figures beside them (a correction never overwrites a measurement).
//!
//! # Rules
//!
//! - **Connections.** A connection is one occupant JID in one room (the main room or one
//!   breakout room). It runs from its earliest known join to its latest known leave, whatever
//!   order the events arrived in and however often each was delivered. A connection whose join
//!   was never seen counts for nothing (there is no start to count from); such connections are
//!   reported in [`Attendance::unmatched_leaves`].
//! - **A leave that never comes.** A connection without a leave ends when its room is
//!   destroyed after it joined (the main room's destruction ends its breakout rooms too).
//!   Otherwise it is capped at the booked end plus the grace, or at `now` if that is earlier;
//!   while `now` is before the end plus the grace, the person is still in the room
//!   ([`PersonAttendance::present`]). The grace only closes such connections: a leave that was
//!   seen counts as it is, even long after the end.
//! - **People.** Connections belong to the participant their token named when known, else to
//!   the token's `context.user.id`, else to their own JID (someone without a token):
//!   [`PersonKey`]. A person's connections are merged: two devices at once count once, and a
//!   reconnection continues the same presence.
//! - **Counting.** Seconds present are the measure of the union of a person's connections.
//!   Presence before the booked start and after the booked end is counted and reported
//!   separately ([`Measure`]); presence inside the booked interval is
//!   [`Measure::within_booked_seconds`].
//! - **Half-days.** In the session's zone, the morning of a local date is `[start of day,
//!   noon)` and the afternoon `[noon, start of the next day)`, with `noon` configurable (13:00
//!   by default). The boundaries are computed on that date's own rules, so on the days the
//!   clocks change a half-day is an hour longer or shorter. A session spanning midnight or
//!   several days has one half-day per (local date, half) it touches. The planned seconds of a
//!   half-day are the booked interval's share of it; each person has an entry for every planned
//!   half-day (attended or not) and for any other half-day they were present in.
//! - **Implausible times.** The room of a session exists only around its booked window, so
//!   event times more than [`PLAUSIBLE_MARGIN_SECS`] before the start or after the end plus the
//!   grace are clamped to that margin (and counted in [`Attendance::clamped_events`]). This
//!   bounds the work and the number of half-days whatever the input.
//!
//! Times are Unix seconds, as Jitsi sends them.

use std::collections::{BTreeMap, btree_map::Entry};
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::localtime::TimeZoneName;

/// Default grace after the booked end, in minutes (the `[join]` grace).
pub const DEFAULT_GRACE_MINUTES: u32 = 10;

/// Default boundary between the morning and the afternoon: 13:00 local time.
pub const DEFAULT_NOON: Time = Time::constant(13, 0, 0, 0);

/// How far outside the booked window (before the start, after the end plus the grace) an
/// event time may lie before it is clamped: 24 hours.
pub const PLAUSIBLE_MARGIN_SECS: i64 = 24 * 3600;

/// The settings of the attendance rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AttendanceSettings {
    /// How long after the booked end a connection that never got a leave is capped.
    /// Default: [`DEFAULT_GRACE_MINUTES`].
    pub grace_minutes: u32,
    /// The local time at which the afternoon starts. Default: [`DEFAULT_NOON`]. Must be after
    /// midnight. Should it fall in a gap of the zone (clocks skipping forward) it moves forward
    /// by the gap's length (02:30 on a night the clocks jump from 02:00 to 03:00 becomes 03:30,
    /// as RFC 5545 and jiff's "compatible" rule say); in a repeated hour, it is the first
    /// occurrence.
    pub noon: Time,
}

impl Default for AttendanceSettings {
    fn default() -> Self {
        AttendanceSettings {
            grace_minutes: DEFAULT_GRACE_MINUTES,
            noon: DEFAULT_NOON,
        }
    }
}

/// The booked interval `[start, end)` of a session and the zone it takes place in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BookedSession {
    /// The booked start (inclusive).
    pub start: Timestamp,
    /// The booked end (exclusive).
    pub end: Timestamp,
    /// The session's zone: half-days are cut in it.
    pub zone: TimeZoneName,
}

/// Who a connection is: one occupant of the session's room, as Jitsi reported it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Occupant {
    /// The occupant's JID: one per connection (a rejoin is a new one).
    pub jid: String,
    /// The breakout room the connection is in; `None` for the main room. Time in a breakout
    /// room is time in the session.
    pub breakout_room_id: Option<String>,
    /// The session's participant, when the token named one (resolved by the caller from
    /// [`Occupant::user_id`]).
    pub participant_id: Option<String>,
    /// `context.user.id` of the occupant's token, as Jitsi echoed it; `None` without a token.
    pub user_id: Option<String>,
    /// `context.user.name` of the token, when sent.
    pub name: Option<String>,
}

/// One thing Jitsi reported about the session's room. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionEvent {
    /// A connection joined the room (or a breakout room).
    Joined {
        /// The connection.
        occupant: Occupant,
        /// When it joined.
        joined_at: i64,
    },
    /// A connection left.
    Left {
        /// The connection.
        occupant: Occupant,
        /// When it joined, when the report says (Prosody's does, JaaS's does not).
        joined_at: Option<i64>,
        /// When it left.
        left_at: i64,
    },
    /// The room (`breakout_room_id: None`) or one breakout room was destroyed: connections
    /// still open in it end then.
    RoomDestroyed {
        /// The breakout room destroyed; `None` for the main room (which ends all of them).
        breakout_room_id: Option<String>,
        /// When.
        at: i64,
    },
}

/// Whose presence a figure is: the participant when known, else the token's user id, else the
/// occupant JID of a connection without a token. Ordered in that order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum PersonKey {
    /// A participant of the session.
    Participant(String),
    /// A token's `context.user.id` that names no participant of the session.
    User(String),
    /// A connection without a token.
    Jid(String),
}

impl fmt::Display for PersonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersonKey::Participant(id) => write!(f, "participant:{id}"),
            PersonKey::User(id) => write!(f, "user:{id}"),
            PersonKey::Jid(jid) => write!(f, "jid:{jid}"),
        }
    }
}

/// The morning or the afternoon of a local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Half {
    /// From the start of the day to `noon`.
    Morning,
    /// From `noon` to the start of the next day.
    Afternoon,
}

/// A half-day in the session's zone. Ordered by date, then morning before afternoon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct HalfDay {
    /// The local date.
    pub date: Date,
    /// Which half.
    pub half: Half,
}

impl HalfDay {
    /// The morning of `date`.
    pub fn morning(date: Date) -> HalfDay {
        HalfDay {
            date,
            half: Half::Morning,
        }
    }

    /// The afternoon of `date`.
    pub fn afternoon(date: Date) -> HalfDay {
        HalfDay {
            date,
            half: Half::Afternoon,
        }
    }

    /// The instants `[from, until)` this half-day covers in `zone` with `noon` as the boundary.
    pub fn bounds(&self, zone: &TimeZone, noon: Time) -> Result<(Timestamp, Timestamp), AttendanceError> {
        let [day_start, noon_at, next_day] = day_bounds(self.date, zone, noon)?;
        let (from, until) = match self.half {
            Half::Morning => (day_start, noon_at),
            Half::Afternoon => (noon_at, next_day),
        };
        Ok((to_timestamp(from), to_timestamp(until)))
    }
}

impl fmt::Display for HalfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let half = match self.half {
            Half::Morning => "morning",
            Half::Afternoon => "afternoon",
        };
        write!(f, "{} {half}", self.date)
    }
}

/// A trainer's or manager's statement that a person attended a half-day for some minutes.
/// It is shown beside the measured figure and never replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Correction {
    /// Who the correction is about.
    pub person: PersonKey,
    /// The half-day (one of the session's planned half-days).
    pub half_day: HalfDay,
    /// How many minutes the person attended in that half-day.
    pub minutes: u32,
    /// Why (required).
    pub reason: String,
    /// Who entered it (an account id).
    pub by: String,
    /// When it was entered. Of several corrections for the same person and half-day, the
    /// latest applies.
    pub at: Timestamp,
}

/// Why attendance could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttendanceError {
    /// The booked end is not after the booked start.
    #[error("the session ends ({end}) before it starts ({start})")]
    EmptySession {
        /// The booked start.
        start: Timestamp,
        /// The booked end.
        end: Timestamp,
    },
    /// `noon` is midnight: there would be no morning.
    #[error("the boundary between morning and afternoon must be after midnight")]
    NoonAtMidnight,
    /// A correction without a reason.
    #[error("the correction for {person} on {half_day} has no reason")]
    CorrectionWithoutReason {
        /// Who it is about.
        person: PersonKey,
        /// Which half-day.
        half_day: HalfDay,
    },
    /// A correction for a half-day the session does not cover.
    #[error("the session does not take place on {half_day} (correction for {person})")]
    CorrectionOutsideSession {
        /// Who it is about.
        person: PersonKey,
        /// Which half-day.
        half_day: HalfDay,
    },
    /// A correction longer than the half-day itself.
    #[error("{minutes} minutes is longer than {half_day} ({max_minutes} minutes; correction for {person})")]
    CorrectionTooLong {
        /// Who it is about.
        person: PersonKey,
        /// Which half-day.
        half_day: HalfDay,
        /// The minutes given.
        minutes: u32,
        /// The length of the half-day.
        max_minutes: i64,
    },
    /// A date of the computation is outside the range jiff supports (years -9999 to 9999).
    #[error("a time of the session is out of range: {0}")]
    OutOfRange(String),
}

/// Seconds of presence, split by where they lie relative to the booked interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Measure {
    /// All the time present (before, during and after the booked interval).
    pub present_seconds: i64,
    /// The part of it before the booked start.
    pub before_start_seconds: i64,
    /// The part of it from the booked end on.
    pub after_end_seconds: i64,
}

impl Measure {
    /// The time present inside the booked interval.
    pub fn within_booked_seconds(&self) -> i64 {
        self.present_seconds - self.before_start_seconds - self.after_end_seconds
    }
}

/// The booked interval's share of one half-day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PlannedHalfDay {
    /// The half-day.
    pub half_day: HalfDay,
    /// Booked seconds in it.
    pub seconds: i64,
}

/// One person in one half-day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HalfDayAttendance {
    /// The half-day.
    pub half_day: HalfDay,
    /// Booked seconds in this half-day (0 for a half-day outside the booked interval).
    pub planned_seconds: i64,
    /// What the connections say.
    pub measured: Measure,
    /// The first instant present in this half-day.
    pub first_seen: Option<Timestamp>,
    /// The last instant present in this half-day (the current time for someone still there).
    pub last_seen: Option<Timestamp>,
    /// The correction that applies, if any.
    pub correction: Option<Correction>,
}

impl HalfDayAttendance {
    /// The seconds that count for this half-day: the correction's when there is one, else the
    /// measured time inside the booked interval.
    pub fn effective_seconds(&self) -> i64 {
        match &self.correction {
            Some(c) => i64::from(c.minutes) * 60,
            None => self.measured.within_booked_seconds(),
        }
    }
}

/// One person's attendance in the session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonAttendance {
    /// Who.
    pub key: PersonKey,
    /// The participant, when known.
    pub participant_id: Option<String>,
    /// The token's `context.user.id`, when there was one.
    pub user_id: Option<String>,
    /// The token's name, when sent.
    pub name: Option<String>,
    /// The first join (`None` for someone known only from a correction).
    pub first_join: Option<Timestamp>,
    /// The last leave (seen, or assumed as the rules say); `None` while present or without
    /// any connection.
    pub last_leave: Option<Timestamp>,
    /// In the room now.
    pub present: bool,
    /// How many connections (devices, reconnections, breakout rooms).
    pub connections: usize,
    /// How many of them ended without a leave being seen: closed by the room's destruction
    /// or capped at the end plus the grace.
    pub assumed_leaves: usize,
    /// The figures over the whole session.
    pub measured: Measure,
    /// Per half-day, in order.
    pub half_days: Vec<HalfDayAttendance>,
}

impl PersonAttendance {
    /// Whether any half-day carries a correction.
    pub fn corrected(&self) -> bool {
        self.half_days.iter().any(|h| h.correction.is_some())
    }

    /// The seconds that count over the session: the sum of
    /// [`HalfDayAttendance::effective_seconds`].
    pub fn effective_seconds(&self) -> i64 {
        self.half_days.iter().map(HalfDayAttendance::effective_seconds).sum()
    }

    /// The entry of one half-day.
    pub fn half_day(&self, half_day: HalfDay) -> Option<&HalfDayAttendance> {
        self.half_days.iter().find(|h| h.half_day == half_day)
    }
}

/// Everyone's attendance in a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attendance {
    /// The booked interval split per half-day, in order.
    pub planned: Vec<PlannedHalfDay>,
    /// Everyone who came or has a correction, by first join (people known only from a
    /// correction last), then by key.
    pub people: Vec<PersonAttendance>,
    /// How many events had a time outside the plausible window and were clamped to it.
    pub clamped_events: usize,
    /// How many connections were seen leaving but never joining (not counted).
    pub unmatched_leaves: usize,
}

impl Attendance {
    /// One person's attendance.
    pub fn person(&self, key: &PersonKey) -> Option<&PersonAttendance> {
        self.people.iter().find(|p| &p.key == key)
    }

    /// The booked seconds of the whole session.
    pub fn planned_seconds(&self) -> i64 {
        self.planned.iter().map(|p| p.seconds).sum()
    }
}

/// Computes who attended a session and how long, overall and per half-day; see the module
/// documentation for the rules. The result does not depend on the order of `events` nor on
/// repeated deliveries.
pub fn compute_attendance(
    session: &BookedSession,
    settings: &AttendanceSettings,
    now: Timestamp,
    events: &[ConnectionEvent],
    corrections: &[Correction],
) -> Result<Attendance, AttendanceError> {
    if session.end <= session.start {
        return Err(AttendanceError::EmptySession {
            start: session.start,
            end: session.end,
        });
    }
    if settings.noon == Time::midnight() {
        return Err(AttendanceError::NoonAtMidnight);
    }
    let start = session.start.as_second();
    let end = session.end.as_second();
    let now = now.as_second();
    let grace_end = end.saturating_add(i64::from(settings.grace_minutes) * 60);
    let lowest = start
        .saturating_sub(PLAUSIBLE_MARGIN_SECS)
        .max(Timestamp::MIN.as_second());
    let highest = grace_end
        .saturating_add(PLAUSIBLE_MARGIN_SECS)
        .min(Timestamp::MAX.as_second());
    let mut calendar = Calendar::new(session.zone.time_zone(), settings.noon);

    // Connections, whatever the order and the repetitions. An event with a time outside the
    // plausible window is counted once, however many of its times are clamped.
    let mut clamped_events = 0;
    let mut clamp = |times: &mut [&mut i64]| {
        let mut clamped = false;
        for t in times.iter_mut() {
            clamped |= **t < lowest || **t > highest;
            **t = (**t).clamp(lowest, highest);
        }
        clamped_events += usize::from(clamped);
    };
    let mut connections: BTreeMap<(Option<&str>, &str), Connection<'_>> = BTreeMap::new();
    let mut destroyed: Vec<(Option<&str>, i64)> = Vec::new();
    for event in events {
        match event {
            ConnectionEvent::Joined { occupant, joined_at } => {
                let mut joined_at = *joined_at;
                clamp(&mut [&mut joined_at]);
                connection(&mut connections, occupant).join(joined_at);
            }
            ConnectionEvent::Left {
                occupant,
                joined_at,
                left_at,
            } => {
                let mut left_at = *left_at;
                let c = connection(&mut connections, occupant);
                match *joined_at {
                    Some(mut joined_at) => {
                        clamp(&mut [&mut joined_at, &mut left_at]);
                        c.join(joined_at);
                    }
                    None => clamp(&mut [&mut left_at]),
                }
                c.left = Some(c.left.map_or(left_at, |l| l.max(left_at)));
            }
            ConnectionEvent::RoomDestroyed { breakout_room_id, at } => {
                let mut at = *at;
                clamp(&mut [&mut at]);
                destroyed.push((breakout_room_id.as_deref(), at));
            }
        }
    }

    // Each connection's interval, grouped per person.
    let mut people: BTreeMap<PersonKey, PersonBuilder<'_>> = BTreeMap::new();
    let mut unmatched_leaves = 0;
    for ((breakout, jid), c) in &connections {
        let Some(joined) = c.joined else {
            unmatched_leaves += 1;
            continue;
        };
        let (until, assumed, open) = match c.left {
            Some(left) => (left.max(joined), false, false),
            None => {
                let destroyed_at = destroyed
                    .iter()
                    .filter(|(room, at)| (room.is_none() || room == breakout) && *at >= joined)
                    .map(|(_, at)| *at)
                    .min();
                match destroyed_at {
                    Some(at) => (at, true, false),
                    // Still there (up to now), or capped at the end plus the grace.
                    None => (grace_end.min(now).max(joined), true, now < grace_end),
                }
            }
        };
        let who = c.who.unwrap_or_default();
        let key = who.key(jid);
        let person = people.entry(key).or_insert_with(|| PersonBuilder {
            who,
            intervals: Vec::new(),
            assumed_leaves: 0,
            open: false,
        });
        person.who = person.who.max(who);
        person.intervals.push((joined, until));
        person.assumed_leaves += usize::from(assumed);
        person.open |= open;
    }

    // The booked interval per half-day.
    let mut planned: BTreeMap<HalfDay, (i64, i64)> = BTreeMap::new();
    for (half_day, from, until) in calendar.overlapping(start, end)? {
        planned.insert(half_day, (overlap(from, until, start, end), until - from));
    }

    let mut result: BTreeMap<PersonKey, PersonAttendance> = BTreeMap::new();
    for (key, person) in people {
        let attendance = person.finish(key.clone(), start, end, &planned, &mut calendar)?;
        result.insert(key, attendance);
    }

    // Corrections: the latest per person and half-day, beside the measured figures.
    let mut latest: BTreeMap<(&PersonKey, HalfDay), &Correction> = BTreeMap::new();
    for c in corrections {
        if c.reason.trim().is_empty() {
            return Err(AttendanceError::CorrectionWithoutReason {
                person: c.person.clone(),
                half_day: c.half_day,
            });
        }
        let Some(&(_, length)) = planned.get(&c.half_day) else {
            return Err(AttendanceError::CorrectionOutsideSession {
                person: c.person.clone(),
                half_day: c.half_day,
            });
        };
        if i64::from(c.minutes) * 60 > length {
            return Err(AttendanceError::CorrectionTooLong {
                person: c.person.clone(),
                half_day: c.half_day,
                minutes: c.minutes,
                max_minutes: length / 60,
            });
        }
        match latest.entry((&c.person, c.half_day)) {
            Entry::Vacant(v) => {
                v.insert(c);
            }
            Entry::Occupied(mut o) => {
                let rank = |c: &Correction| (c.at, c.by.clone(), c.reason.clone(), c.minutes);
                if rank(c) > rank(o.get()) {
                    o.insert(c);
                }
            }
        }
    }
    for ((key, half_day), correction) in latest {
        let person = result
            .entry(key.clone())
            .or_insert_with(|| PersonAttendance::absent(key.clone(), &planned));
        if let Some(entry) = person.half_days.iter_mut().find(|h| h.half_day == half_day) {
            entry.correction = Some(correction.clone());
        }
    }

    let mut people: Vec<PersonAttendance> = result.into_values().collect();
    // `None` sorts first in `Option`; people known only from a correction go last.
    people.sort_by(|a, b| {
        (a.first_join.is_none(), a.first_join, &a.key).cmp(&(b.first_join.is_none(), b.first_join, &b.key))
    });
    Ok(Attendance {
        planned: planned
            .into_iter()
            .map(|(half_day, (seconds, _))| PlannedHalfDay { half_day, seconds })
            .collect(),
        people,
        clamped_events,
        unmatched_leaves,
    })
}

/// What the events of one connection say about it.
#[derive(Default)]
struct Connection<'a> {
    joined: Option<i64>,
    left: Option<i64>,
    who: Option<Who<'a>>,
}

impl Connection<'_> {
    fn join(&mut self, at: i64) {
        self.joined = Some(self.joined.map_or(at, |j| j.min(at)));
    }
}

fn connection<'a, 'b>(
    connections: &'b mut BTreeMap<(Option<&'a str>, &'a str), Connection<'a>>,
    occupant: &'a Occupant,
) -> &'b mut Connection<'a> {
    let c = connections
        .entry((occupant.breakout_room_id.as_deref(), occupant.jid.as_str()))
        .or_default();
    let who = Who::of(occupant);
    c.who = Some(c.who.map_or(who, |w| w.max(who)));
    c
}

/// The identity an occupant's events give. Of several, the greatest is kept: the ordering
/// prefers a known participant, then a known user id, then a name, and is total, so the
/// choice does not depend on the order of events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Who<'a> {
    has_participant: bool,
    has_user: bool,
    participant_id: Option<&'a str>,
    user_id: Option<&'a str>,
    name: Option<&'a str>,
}

impl<'a> Who<'a> {
    fn of(o: &'a Occupant) -> Who<'a> {
        Who {
            has_participant: o.participant_id.is_some(),
            has_user: o.user_id.is_some(),
            participant_id: o.participant_id.as_deref(),
            user_id: o.user_id.as_deref(),
            name: o.name.as_deref(),
        }
    }

    fn key(&self, jid: &str) -> PersonKey {
        match (self.participant_id, self.user_id) {
            (Some(p), _) => PersonKey::Participant(p.to_owned()),
            (None, Some(u)) => PersonKey::User(u.to_owned()),
            (None, None) => PersonKey::Jid(jid.to_owned()),
        }
    }
}

struct PersonBuilder<'a> {
    who: Who<'a>,
    intervals: Vec<(i64, i64)>,
    assumed_leaves: usize,
    open: bool,
}

/// Sums over the half-days of a person.
#[derive(Default)]
struct Accumulator {
    measured: Measure,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
}

impl PersonBuilder<'_> {
    fn finish(
        mut self,
        key: PersonKey,
        start: i64,
        end: i64,
        planned: &BTreeMap<HalfDay, (i64, i64)>,
        calendar: &mut Calendar<'_>,
    ) -> Result<PersonAttendance, AttendanceError> {
        let connections = self.intervals.len();
        let first_join = self.intervals.iter().map(|(j, _)| *j).min();
        let last_leave = if self.open {
            None
        } else {
            self.intervals.iter().map(|(_, u)| *u).max()
        };
        let merged = union(&mut self.intervals);

        let mut measured = Measure::default();
        let mut per_half_day: BTreeMap<HalfDay, Accumulator> =
            planned.keys().map(|h| (*h, Accumulator::default())).collect();
        for &(from, until) in &merged {
            add(&mut measured, from, until, start, end);
            for (half_day, h_from, h_until) in calendar.overlapping(from, until)? {
                let (a, b) = (from.max(h_from), until.min(h_until));
                let acc = per_half_day.entry(half_day).or_default();
                add(&mut acc.measured, a, b, start, end);
                acc.first_seen = Some(acc.first_seen.map_or(a, |f| f.min(a)));
                acc.last_seen = Some(acc.last_seen.map_or(b, |l| l.max(b)));
            }
        }
        Ok(PersonAttendance {
            participant_id: self.who.participant_id.map(str::to_owned),
            user_id: self.who.user_id.map(str::to_owned),
            name: self.who.name.map(str::to_owned),
            key,
            first_join: first_join.map(to_timestamp),
            last_leave: last_leave.map(to_timestamp),
            present: self.open,
            connections,
            assumed_leaves: self.assumed_leaves,
            measured,
            half_days: per_half_day
                .into_iter()
                .map(|(half_day, acc)| HalfDayAttendance {
                    half_day,
                    planned_seconds: planned.get(&half_day).map_or(0, |(s, _)| *s),
                    measured: acc.measured,
                    first_seen: acc.first_seen.map(to_timestamp),
                    last_seen: acc.last_seen.map(to_timestamp),
                    correction: None,
                })
                .collect(),
        })
    }
}

impl PersonAttendance {
    /// Someone known only from a correction: no connection, an empty entry per planned
    /// half-day.
    fn absent(key: PersonKey, planned: &BTreeMap<HalfDay, (i64, i64)>) -> PersonAttendance {
        let (participant_id, user_id) = match &key {
            PersonKey::Participant(p) => (Some(p.clone()), None),
            PersonKey::User(u) => (None, Some(u.clone())),
            PersonKey::Jid(_) => (None, None),
        };
        PersonAttendance {
            key,
            participant_id,
            user_id,
            name: None,
            first_join: None,
            last_leave: None,
            present: false,
            connections: 0,
            assumed_leaves: 0,
            measured: Measure::default(),
            half_days: planned
                .iter()
                .map(|(half_day, (seconds, _))| HalfDayAttendance {
                    half_day: *half_day,
                    planned_seconds: *seconds,
                    measured: Measure::default(),
                    first_seen: None,
                    last_seen: None,
                    correction: None,
                })
                .collect(),
        }
    }
}

/// Adds `[from, until)` to `m`, split around the booked interval `[start, end)`.
fn add(m: &mut Measure, from: i64, until: i64, start: i64, end: i64) {
    m.present_seconds += until - from;
    m.before_start_seconds += overlap(from, until, i64::MIN, start);
    m.after_end_seconds += overlap(from, until, end, i64::MAX);
}

/// The length of `[a, b) ∩ [c, d)`.
fn overlap(a: i64, b: i64, c: i64, d: i64) -> i64 {
    (b.min(d) - a.max(c)).max(0)
}

/// Sorts and merges intervals that overlap or touch.
fn union(intervals: &mut [(i64, i64)]) -> Vec<(i64, i64)> {
    intervals.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(intervals.len());
    for &(from, until) in intervals.iter() {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(until),
            _ => merged.push((from, until)),
        }
    }
    merged
}

/// Clamped into jiff's range by construction: every second handled here was clamped to
/// `[Timestamp::MIN, Timestamp::MAX]` (event times) or comes from a `Timestamp` or `Zoned`.
fn to_timestamp(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(if second < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

fn out_of_range(e: jiff::Error) -> AttendanceError {
    AttendanceError::OutOfRange(e.to_string())
}

/// `[start of day, noon, start of the next day]` of a local date, in Unix seconds.
fn day_bounds(date: Date, zone: &TimeZone, noon: Time) -> Result<[i64; 3], AttendanceError> {
    // A midnight in a gap becomes the first instant after it (jiff's "compatible" rule), and
    // in a repeated hour its first occurrence: the day starts at its first local instant.
    let day_start = date.to_zoned(zone.clone()).map_err(out_of_range)?;
    let noon_at = date.to_datetime(noon).to_zoned(zone.clone()).map_err(out_of_range)?;
    let next = date
        .tomorrow()
        .and_then(|d| d.to_zoned(zone.clone()))
        .map_err(out_of_range)?;
    Ok([
        day_start.timestamp().as_second(),
        noon_at.timestamp().as_second(),
        next.timestamp().as_second(),
    ])
}

/// Half-day boundaries of one zone, computed once per date.
struct Calendar<'a> {
    zone: &'a TimeZone,
    noon: Time,
    days: BTreeMap<Date, [i64; 3]>,
}

impl<'a> Calendar<'a> {
    fn new(zone: &'a TimeZone, noon: Time) -> Self {
        Calendar {
            zone,
            noon,
            days: BTreeMap::new(),
        }
    }

    fn day(&mut self, date: Date) -> Result<[i64; 3], AttendanceError> {
        if let Some(bounds) = self.days.get(&date) {
            return Ok(*bounds);
        }
        let bounds = day_bounds(date, self.zone, self.noon)?;
        self.days.insert(date, bounds);
        Ok(bounds)
    }

    /// The half-days that share some time with `[from, until)`, with their own bounds.
    fn overlapping(&mut self, from: i64, until: i64) -> Result<Vec<(HalfDay, i64, i64)>, AttendanceError> {
        let mut out = Vec::new();
        if from >= until {
            return Ok(out);
        }
        let mut date = Timestamp::from_second(from)
            .map_err(out_of_range)?
            .to_zoned(self.zone.clone())
            .date();
        loop {
            let [day_start, noon_at, next] = self.day(date)?;
            for (half_day, a, b) in [
                (HalfDay::morning(date), day_start, noon_at),
                (HalfDay::afternoon(date), noon_at, next),
            ] {
                if overlap(from, until, a, b) > 0 {
                    out.push((half_day, a, b));
                }
            }
            if next >= until {
                return Ok(out);
            }
            date = date.tomorrow().map_err(out_of_range)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    const HOUR: i64 = 3600;
    const MIN: i64 = 60;

    fn paris() -> TimeZoneName {
        TimeZoneName::parse("Europe/Paris").unwrap()
    }

    /// A local time in Paris as Unix seconds.
    fn local(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(paris().time_zone().clone())
            .unwrap()
            .timestamp()
            .as_second()
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn session(start: i64, end: i64) -> BookedSession {
        BookedSession {
            start: ts(start),
            end: ts(end),
            zone: paris(),
        }
    }

    fn occupant(jid: &str, participant: Option<&str>) -> Occupant {
        Occupant {
            jid: jid.into(),
            breakout_room_id: None,
            participant_id: participant.map(Into::into),
            user_id: participant.map(Into::into),
            name: participant.map(|p| format!("name {p}")),
        }
    }

    fn joined(jid: &str, who: Option<&str>, at: i64) -> ConnectionEvent {
        ConnectionEvent::Joined {
            occupant: occupant(jid, who),
            joined_at: at,
        }
    }

    fn left(jid: &str, who: Option<&str>, joined_at: i64, at: i64) -> ConnectionEvent {
        ConnectionEvent::Left {
            occupant: occupant(jid, who),
            joined_at: Some(joined_at),
            left_at: at,
        }
    }

    fn destroyed(breakout: Option<&str>, at: i64) -> ConnectionEvent {
        ConnectionEvent::RoomDestroyed {
            breakout_room_id: breakout.map(Into::into),
            at,
        }
    }

    fn compute(s: &BookedSession, now: i64, events: &[ConnectionEvent]) -> Attendance {
        compute_attendance(s, &AttendanceSettings::default(), ts(now), events, &[]).unwrap()
    }

    fn participant(id: &str) -> PersonKey {
        PersonKey::Participant(id.into())
    }

    #[test]
    fn defaults() {
        let s = AttendanceSettings::default();
        assert_eq!(s.grace_minutes, 10);
        assert_eq!(s.noon, time(13, 0, 0, 0));
    }

    #[test]
    fn a_session_from_11_to_15_splits_two_hours_and_two_hours() {
        let (start, end) = (local(2026, 6, 15, 11, 0), local(2026, 6, 15, 15, 0));
        let s = session(start, end);
        let a = compute(
            &s,
            end + 5 * HOUR,
            &[joined("a/1", Some("p1"), start), left("a/1", Some("p1"), start, end)],
        );
        let d = date(2026, 6, 15);
        assert_eq!(
            a.planned,
            vec![
                PlannedHalfDay {
                    half_day: HalfDay::morning(d),
                    seconds: 2 * HOUR
                },
                PlannedHalfDay {
                    half_day: HalfDay::afternoon(d),
                    seconds: 2 * HOUR
                },
            ]
        );
        assert_eq!(a.planned_seconds(), 4 * HOUR);
        let p = a.person(&participant("p1")).unwrap();
        assert_eq!(p.measured.present_seconds, 4 * HOUR);
        assert_eq!(p.measured.within_booked_seconds(), 4 * HOUR);
        let morning = p.half_day(HalfDay::morning(d)).unwrap();
        let afternoon = p.half_day(HalfDay::afternoon(d)).unwrap();
        assert_eq!(
            (morning.planned_seconds, morning.measured.present_seconds),
            (2 * HOUR, 2 * HOUR)
        );
        assert_eq!(
            (afternoon.planned_seconds, afternoon.measured.present_seconds),
            (2 * HOUR, 2 * HOUR)
        );
        assert_eq!(morning.first_seen, Some(ts(start)));
        assert_eq!(morning.last_seen, Some(ts(local(2026, 6, 15, 13, 0))));
        assert_eq!(afternoon.first_seen, Some(ts(local(2026, 6, 15, 13, 0))));
        assert_eq!(afternoon.last_seen, Some(ts(end)));
        assert_eq!(p.effective_seconds(), 4 * HOUR);

        // The boundary is a setting: with noon at 12:00, 1 h and 3 h.
        let settings = AttendanceSettings {
            noon: time(12, 0, 0, 0),
            ..AttendanceSettings::default()
        };
        let a = compute_attendance(&s, &settings, ts(end), &[], &[]).unwrap();
        let seconds: Vec<i64> = a.planned.iter().map(|p| p.seconds).collect();
        assert_eq!(seconds, [HOUR, 3 * HOUR]);
        // A half-day's own bounds, for display.
        let tz = paris().time_zone().clone();
        assert_eq!(
            HalfDay::morning(d).bounds(&tz, DEFAULT_NOON).unwrap(),
            (ts(local(2026, 6, 15, 0, 0)), ts(local(2026, 6, 15, 13, 0)))
        );
        assert_eq!(
            HalfDay::afternoon(d).bounds(&tz, DEFAULT_NOON).unwrap(),
            (ts(local(2026, 6, 15, 13, 0)), ts(local(2026, 6, 16, 0, 0)))
        );
    }

    #[test]
    fn a_leave_that_never_comes_is_capped() {
        let (start, end) = (local(2026, 6, 15, 9, 0), local(2026, 6, 15, 11, 0));
        let s = session(start, end);
        let events = [joined("a/1", Some("p1"), start + 10 * MIN)];

        // Long after: capped at the end plus the grace (10 min), no longer present.
        let a = compute(&s, end + 3 * HOUR, &events);
        let p = a.person(&participant("p1")).unwrap();
        assert!(!p.present);
        assert_eq!(p.last_leave, Some(ts(end + 10 * MIN)));
        assert_eq!(p.assumed_leaves, 1);
        assert_eq!(p.measured.present_seconds, 2 * HOUR);
        assert_eq!(p.measured.after_end_seconds, 10 * MIN);
        assert_eq!(p.measured.within_booked_seconds(), 110 * MIN);

        // During the session: still in the room, counted up to now.
        let a = compute(&s, start + HOUR, &events);
        let p = a.person(&participant("p1")).unwrap();
        assert!(p.present);
        assert_eq!(p.last_leave, None);
        assert_eq!(p.measured.present_seconds, 50 * MIN);
        let morning = p.half_day(HalfDay::morning(date(2026, 6, 15))).unwrap();
        assert_eq!(morning.last_seen, Some(ts(start + HOUR)));

        // In the grace period: still present, counted up to now.
        let a = compute(&s, end + 5 * MIN, &events);
        let p = a.person(&participant("p1")).unwrap();
        assert!(p.present);
        assert_eq!(p.measured.present_seconds, 115 * MIN);
        assert_eq!(p.measured.after_end_seconds, 5 * MIN);

        // A leave that was seen counts as it is, even long after the end plus the grace.
        let mut with_leave = events.to_vec();
        with_leave.push(left("a/1", Some("p1"), start + 10 * MIN, end + HOUR));
        let a = compute(&s, end + 3 * HOUR, &with_leave);
        let p = a.person(&participant("p1")).unwrap();
        assert_eq!(p.measured.after_end_seconds, HOUR);
        assert_eq!(p.assumed_leaves, 0);
        assert_eq!(p.last_leave, Some(ts(end + HOUR)));

        // Someone who joins after the end plus the grace and never leaves counts for nothing.
        let late = [joined("a/2", Some("p2"), end + HOUR)];
        let a = compute(&s, end + 3 * HOUR, &late);
        let p = a.person(&participant("p2")).unwrap();
        assert_eq!(p.measured.present_seconds, 0);
        assert!(!p.present);
        assert_eq!(p.first_join, Some(ts(end + HOUR)));
    }

    #[test]
    fn a_destroyed_room_closes_its_open_connections() {
        let (start, end) = (local(2026, 6, 15, 9, 0), local(2026, 6, 15, 11, 0));
        let s = session(start, end);
        let mut in_breakout = joined("b/1", Some("p2"), start + 20 * MIN);
        if let ConnectionEvent::Joined { occupant, .. } = &mut in_breakout {
            occupant.breakout_room_id = Some("br-1".into());
        }
        let events = [
            joined("a/1", Some("p1"), start),
            in_breakout.clone(),
            destroyed(None, start + HOUR),
        ];
        let a = compute(&s, end + 3 * HOUR, &events);
        let p1 = a.person(&participant("p1")).unwrap();
        assert_eq!(p1.last_leave, Some(ts(start + HOUR)));
        assert_eq!(p1.measured.present_seconds, HOUR);
        assert_eq!(p1.assumed_leaves, 1);
        let p2 = a.person(&participant("p2")).unwrap();
        assert_eq!(
            p2.measured.present_seconds,
            40 * MIN,
            "the main room's end ends its breakout rooms, and breakout time counts"
        );

        // A breakout room's destruction ends only its own connections.
        let events = [
            joined("a/1", Some("p1"), start),
            in_breakout.clone(),
            destroyed(Some("br-1"), start + 30 * MIN),
        ];
        let a = compute(&s, start + 50 * MIN, &events);
        assert_eq!(a.person(&participant("p2")).unwrap().measured.present_seconds, 10 * MIN);
        let p1 = a.person(&participant("p1")).unwrap();
        assert!(p1.present);
        assert_eq!(p1.measured.present_seconds, 50 * MIN);

        // A destruction before someone joined (the room was re-created) does not end them.
        let events = [destroyed(None, start - 5 * MIN), joined("a/1", Some("p1"), start)];
        let a = compute(&s, start + 30 * MIN, &events);
        let p1 = a.person(&participant("p1")).unwrap();
        assert!(p1.present);
        assert_eq!(p1.measured.present_seconds, 30 * MIN);
    }

    #[test]
    fn devices_and_reconnections_count_once_and_time_outside_is_split() {
        let (start, end) = (local(2026, 6, 15, 9, 0), local(2026, 6, 15, 11, 0));
        let s = session(start, end);
        let events = [
            // Early by 10 minutes, on a laptop.
            joined("a/1", Some("p1"), start - 10 * MIN),
            left("a/1", Some("p1"), start - 10 * MIN, start + 30 * MIN),
            // A phone at the same time, overlapping.
            joined("a/2", Some("p1"), start + 20 * MIN),
            left("a/2", Some("p1"), start + 20 * MIN, start + 40 * MIN),
            // A reconnection that starts exactly when the phone left.
            joined("a/3", Some("p1"), start + 40 * MIN),
            left("a/3", Some("p1"), start + 40 * MIN, start + 60 * MIN),
            // A breakout room, then back, staying 5 minutes late.
            ConnectionEvent::Joined {
                occupant: Occupant {
                    breakout_room_id: Some("br".into()),
                    ..occupant("a/3", Some("p1"))
                },
                joined_at: start + 70 * MIN,
            },
            ConnectionEvent::Left {
                occupant: Occupant {
                    breakout_room_id: Some("br".into()),
                    ..occupant("a/3", Some("p1"))
                },
                joined_at: None,
                left_at: end + 5 * MIN,
            },
        ];
        let a = compute(&s, end + HOUR, &events);
        assert_eq!(a.people.len(), 1);
        let p = &a.people[0];
        assert_eq!(p.connections, 4);
        assert_eq!(p.first_join, Some(ts(start - 10 * MIN)));
        assert_eq!(p.last_leave, Some(ts(end + 5 * MIN)));
        // [-10, 60) ∪ [70, 125) minutes from the start.
        assert_eq!(p.measured.present_seconds, 70 * MIN + 55 * MIN);
        assert_eq!(p.measured.before_start_seconds, 10 * MIN);
        assert_eq!(p.measured.after_end_seconds, 5 * MIN);
        assert_eq!(p.measured.within_booked_seconds(), 110 * MIN);
        assert_eq!(
            p.effective_seconds(),
            110 * MIN,
            "time outside the booked interval does not count"
        );
        let morning = p.half_day(HalfDay::morning(date(2026, 6, 15))).unwrap();
        assert_eq!(morning.measured, p.measured);
        assert_eq!(morning.planned_seconds, 2 * HOUR);
    }

    #[test]
    fn people_are_keyed_by_participant_then_user_then_jid() {
        let (start, end) = (local(2026, 6, 15, 9, 0), local(2026, 6, 15, 11, 0));
        let s = session(start, end);
        let user_only = Occupant {
            participant_id: None,
            ..occupant("u/1", Some("staff-1"))
        };
        let anonymous = Occupant {
            name: None,
            ..occupant("x/1", None)
        };
        let events = [
            // The join names the participant, the leave (without joined_at) does not: one
            // connection, one person, whatever the order.
            ConnectionEvent::Left {
                occupant: Occupant {
                    participant_id: None,
                    user_id: None,
                    name: None,
                    ..occupant("a/1", None)
                },
                joined_at: None,
                left_at: start + HOUR,
            },
            joined("a/1", Some("p1"), start),
            ConnectionEvent::Joined {
                occupant: user_only,
                joined_at: start + MIN,
            },
            ConnectionEvent::Joined {
                occupant: anonymous.clone(),
                joined_at: start + 2 * MIN,
            },
            ConnectionEvent::Joined {
                occupant: Occupant {
                    jid: "x/2".into(),
                    ..anonymous
                },
                joined_at: start + 3 * MIN,
            },
        ];
        let a = compute(&s, start + 2 * HOUR, &events);
        let keys: Vec<&PersonKey> = a.people.iter().map(|p| &p.key).collect();
        assert_eq!(
            keys,
            [
                &participant("p1"),
                &PersonKey::User("staff-1".into()),
                &PersonKey::Jid("x/1".into()),
                &PersonKey::Jid("x/2".into()),
            ],
            "by first join; two connections without a token are two people"
        );
        let p1 = &a.people[0];
        assert_eq!(p1.name.as_deref(), Some("name p1"));
        assert_eq!(p1.measured.present_seconds, HOUR);
        assert!(!p1.present);
        assert_eq!(a.people[1].participant_id, None);
        assert_eq!(a.people[1].user_id.as_deref(), Some("staff-1"));
        assert!(a.people[2].name.is_none() && a.people[2].user_id.is_none());
        assert_eq!(PersonKey::Jid("x/1".into()).to_string(), "jid:x/1");
        assert_eq!(participant("p").to_string(), "participant:p");
        assert_eq!(PersonKey::User("u".into()).to_string(), "user:u");
    }

    #[test]
    fn dst_spring_forward_in_paris() {
        // 29 March 2026: 02:00 CET becomes 03:00 CEST.
        let d = date(2026, 3, 29);
        let (start, end) = (local(2026, 3, 29, 0, 0), local(2026, 3, 29, 15, 0));
        let s = session(start, end);
        assert_eq!(end - start, 14 * HOUR, "15 wall-clock hours, 14 real ones");
        // Someone from 01:30 to 03:30 on the clocks: one real hour.
        let events = [
            joined("a/1", Some("p1"), local(2026, 3, 29, 1, 30)),
            left("a/1", Some("p1"), local(2026, 3, 29, 1, 30), local(2026, 3, 29, 3, 30)),
        ];
        let a = compute(&s, end + HOUR, &events);
        let planned: Vec<(HalfDay, i64)> = a.planned.iter().map(|p| (p.half_day, p.seconds)).collect();
        assert_eq!(
            planned,
            [(HalfDay::morning(d), 12 * HOUR), (HalfDay::afternoon(d), 2 * HOUR)],
            "the morning of that day is 12 real hours"
        );
        let p = a.person(&participant("p1")).unwrap();
        assert_eq!(p.measured.present_seconds, HOUR);
        assert_eq!(p.half_day(HalfDay::morning(d)).unwrap().measured.present_seconds, HOUR);
        let tz = paris().time_zone().clone();
        let (from, until) = HalfDay::morning(d).bounds(&tz, DEFAULT_NOON).unwrap();
        assert_eq!(until.duration_since(from).as_secs(), 12 * HOUR);
        let (from, until) = HalfDay::afternoon(d).bounds(&tz, DEFAULT_NOON).unwrap();
        assert_eq!(until.duration_since(from).as_secs(), 11 * HOUR);

        // A noon configured inside the gap moves forward by the gap's length: 02:30 is 03:30.
        let settings = AttendanceSettings {
            noon: time(2, 30, 0, 0),
            ..AttendanceSettings::default()
        };
        let a = compute_attendance(&s, &settings, ts(end), &[], &[]).unwrap();
        assert_eq!(a.planned[0].seconds, 2 * HOUR + 30 * MIN, "00:00 CET to 03:30 CEST");
        assert_eq!(a.planned[0].seconds + a.planned[1].seconds, 14 * HOUR);
    }

    #[test]
    fn dst_fall_back_in_paris() {
        // 25 October 2026: 03:00 CEST becomes 02:00 CET.
        let d = date(2026, 10, 25);
        let (start, end) = (local(2026, 10, 25, 0, 0), local(2026, 10, 25, 15, 0));
        let s = session(start, end);
        assert_eq!(end - start, 16 * HOUR);
        // From 01:30 (summer time) to 03:30 (winter time) on the clocks: three real hours.
        let events = [
            joined("a/1", Some("p1"), local(2026, 10, 25, 1, 30)),
            left(
                "a/1",
                Some("p1"),
                local(2026, 10, 25, 1, 30),
                local(2026, 10, 25, 3, 30),
            ),
        ];
        let a = compute(&s, end + HOUR, &events);
        let planned: Vec<(HalfDay, i64)> = a.planned.iter().map(|p| (p.half_day, p.seconds)).collect();
        assert_eq!(
            planned,
            [(HalfDay::morning(d), 14 * HOUR), (HalfDay::afternoon(d), 2 * HOUR)],
            "the morning of that day is 14 real hours"
        );
        let p = a.person(&participant("p1")).unwrap();
        assert_eq!(p.measured.present_seconds, 3 * HOUR);
        let morning = p.half_day(HalfDay::morning(d)).unwrap();
        assert_eq!(morning.measured.present_seconds, 3 * HOUR);
        // A correction may claim the whole (long) morning, not more.
        let whole = Correction {
            person: participant("p1"),
            half_day: HalfDay::morning(d),
            minutes: 14 * 60,
            reason: "connexion par téléphone".into(),
            by: "m1".into(),
            at: ts(end),
        };
        assert!(
            compute_attendance(
                &s,
                &AttendanceSettings::default(),
                ts(end),
                &events,
                std::slice::from_ref(&whole)
            )
            .is_ok()
        );
        let too_long = Correction {
            minutes: 14 * 60 + 1,
            ..whole
        };
        assert!(matches!(
            compute_attendance(&s, &AttendanceSettings::default(), ts(end), &events, &[too_long]),
            Err(AttendanceError::CorrectionTooLong { max_minutes: 840, .. })
        ));
    }

    #[test]
    fn sessions_across_midnight_and_several_days() {
        // 22:00 to 02:00: the afternoon of the 15th and the morning of the 16th.
        let (start, end) = (local(2026, 6, 15, 22, 0), local(2026, 6, 16, 2, 0));
        let s = session(start, end);
        let events = [
            joined("a/1", Some("p1"), start + 30 * MIN),
            left("a/1", Some("p1"), start + 30 * MIN, end - 30 * MIN),
        ];
        let a = compute(&s, end + HOUR, &events);
        let planned: Vec<(HalfDay, i64)> = a.planned.iter().map(|p| (p.half_day, p.seconds)).collect();
        assert_eq!(
            planned,
            [
                (HalfDay::afternoon(date(2026, 6, 15)), 2 * HOUR),
                (HalfDay::morning(date(2026, 6, 16)), 2 * HOUR)
            ]
        );
        let p = &a.people[0];
        let split: Vec<i64> = p.half_days.iter().map(|h| h.measured.present_seconds).collect();
        assert_eq!(split, [90 * MIN, 90 * MIN]);

        // Three days from 09:00 to 17:00 local, booked as one interval: six half-days.
        let (start, end) = (local(2026, 6, 15, 9, 0), local(2026, 6, 17, 17, 0));
        let a = compute(&session(start, end), end, &[]);
        let planned: Vec<(HalfDay, i64)> = a.planned.iter().map(|p| (p.half_day, p.seconds)).collect();
        assert_eq!(
            planned,
            [
                (HalfDay::morning(date(2026, 6, 15)), 4 * HOUR),
                (HalfDay::afternoon(date(2026, 6, 15)), 11 * HOUR),
                (HalfDay::morning(date(2026, 6, 16)), 13 * HOUR),
                (HalfDay::afternoon(date(2026, 6, 16)), 11 * HOUR),
                (HalfDay::morning(date(2026, 6, 17)), 13 * HOUR),
                (HalfDay::afternoon(date(2026, 6, 17)), 4 * HOUR),
            ]
        );
        assert_eq!(a.planned_seconds(), end - start);
    }

    #[test]
    fn presence_outside_the_planned_half_days_gets_its_own_entry() {
        // A morning session (09:00–12:00); someone stays until 13:30 with a seen leave.
        let d = date(2026, 6, 15);
        let (start, end) = (local(2026, 6, 15, 9, 0), local(2026, 6, 15, 12, 0));
        let events = [
            joined("a/1", Some("p1"), start),
            left("a/1", Some("p1"), start, local(2026, 6, 15, 13, 30)),
        ];
        let a = compute(&session(start, end), end + 3 * HOUR, &events);
        assert_eq!(a.planned.len(), 1);
        let p = &a.people[0];
        let entries: Vec<(HalfDay, i64, i64, i64)> = p
            .half_days
            .iter()
            .map(|h| {
                (
                    h.half_day,
                    h.planned_seconds,
                    h.measured.present_seconds,
                    h.measured.after_end_seconds,
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                (HalfDay::morning(d), 3 * HOUR, 4 * HOUR, HOUR),
                (HalfDay::afternoon(d), 0, 30 * MIN, 30 * MIN)
            ]
        );
        assert_eq!(p.effective_seconds(), 3 * HOUR);
    }

    #[test]
    fn corrections_sit_beside_the_measured_figures() {
        let d = date(2026, 6, 15);
        let (start, end) = (local(2026, 6, 15, 11, 0), local(2026, 6, 15, 15, 0));
        let s = session(start, end);
        let events = [
            joined("a/1", Some("p1"), start),
            left("a/1", Some("p1"), start, start + 30 * MIN),
        ];
        let correction = |who: &str, half_day, minutes, at| Correction {
            person: participant(who),
            half_day,
            minutes,
            reason: "coupure réseau, présent au téléphone".into(),
            by: "manager-1".into(),
            at: ts(at),
        };
        let corrections = [
            correction("p1", HalfDay::morning(d), 100, end + HOUR),
            // A later correction of the same half-day replaces the earlier one, whatever order.
            correction("p1", HalfDay::morning(d), 120, end + 2 * HOUR),
            // Someone Jitsi never saw.
            correction("p9", HalfDay::afternoon(d), 90, end + HOUR),
        ];
        let mut reversed = corrections.clone();
        reversed.reverse();
        let settings = AttendanceSettings::default();
        let a = compute_attendance(&s, &settings, ts(end + 3 * HOUR), &events, &corrections).unwrap();
        let b = compute_attendance(&s, &settings, ts(end + 3 * HOUR), &events, &reversed).unwrap();
        assert_eq!(a, b);

        let p1 = a.person(&participant("p1")).unwrap();
        let morning = p1.half_day(HalfDay::morning(d)).unwrap();
        assert_eq!(morning.measured.present_seconds, 30 * MIN, "the measurement is kept");
        assert_eq!(morning.correction.as_ref().map(|c| c.minutes), Some(120));
        assert_eq!(morning.effective_seconds(), 120 * MIN);
        let afternoon = p1.half_day(HalfDay::afternoon(d)).unwrap();
        assert!(afternoon.correction.is_none());
        assert_eq!(afternoon.effective_seconds(), 0);
        assert!(p1.corrected());
        assert_eq!(p1.measured.present_seconds, 30 * MIN);
        assert_eq!(p1.effective_seconds(), 120 * MIN);

        let p9 = a.people.last().unwrap();
        assert_eq!(p9.key, participant("p9"));
        assert_eq!(p9.participant_id.as_deref(), Some("p9"));
        assert_eq!(
            (p9.connections, p9.first_join, p9.measured),
            (0, None, Measure::default())
        );
        assert_eq!(p9.half_days.len(), 2);
        assert_eq!(p9.effective_seconds(), 90 * MIN);

        // Refused: no reason, a half-day the session does not cover, more than the half-day.
        let no_reason = Correction {
            reason: "  ".into(),
            ..correction("p1", HalfDay::morning(d), 10, end)
        };
        assert!(matches!(
            compute_attendance(&s, &settings, ts(end), &events, &[no_reason]),
            Err(AttendanceError::CorrectionWithoutReason { .. })
        ));
        let elsewhere = correction("p1", HalfDay::morning(date(2026, 6, 16)), 10, end);
        assert_eq!(
            compute_attendance(&s, &settings, ts(end), &events, &[elsewhere]),
            Err(AttendanceError::CorrectionOutsideSession {
                person: participant("p1"),
                half_day: HalfDay::morning(date(2026, 6, 16)),
            })
        );
        let too_long = correction("p1", HalfDay::morning(d), 13 * 60 + 1, end);
        assert!(matches!(
            compute_attendance(&s, &settings, ts(end), &events, &[too_long]),
            Err(AttendanceError::CorrectionTooLong { max_minutes: 780, .. })
        ));
    }

    #[test]
    fn refusals_and_implausible_input() {
        let (start, end) = (local(2026, 6, 15, 9, 0), local(2026, 6, 15, 11, 0));
        let settings = AttendanceSettings::default();
        assert!(matches!(
            compute_attendance(&session(end, start), &settings, ts(end), &[], &[]),
            Err(AttendanceError::EmptySession { .. })
        ));
        assert!(matches!(
            compute_attendance(&session(start, start), &settings, ts(end), &[], &[]),
            Err(AttendanceError::EmptySession { .. })
        ));
        let midnight = AttendanceSettings {
            noon: Time::midnight(),
            ..settings
        };
        assert_eq!(
            compute_attendance(&session(start, end), &midnight, ts(end), &[], &[]),
            Err(AttendanceError::NoonAtMidnight)
        );

        // Garbage times are clamped to a day around the window; a leave without its join
        // counts for nothing.
        let events = [
            joined("a/1", Some("p1"), 0),
            left("a/1", Some("p1"), 0, i64::MAX),
            ConnectionEvent::Left {
                occupant: occupant("a/2", Some("p2")),
                joined_at: None,
                left_at: start + HOUR,
            },
            destroyed(None, i64::MIN),
        ];
        let a = compute(&session(start, end), end, &events);
        assert_eq!(a.clamped_events, 3);
        assert_eq!(a.unmatched_leaves, 1);
        let p1 = a.person(&participant("p1")).unwrap();
        assert_eq!(p1.first_join, Some(ts(start - PLAUSIBLE_MARGIN_SECS)));
        assert_eq!(p1.last_leave, Some(ts(end + 10 * MIN + PLAUSIBLE_MARGIN_SECS)));
        assert_eq!(p1.measured.within_booked_seconds(), 2 * HOUR);
        assert!(a.person(&participant("p2")).is_none());
        assert_eq!(a.people.len(), 1);
    }

    #[test]
    fn serde_derives() {
        fn is_serde<T: serde::Serialize + serde::de::DeserializeOwned>() {}
        is_serde::<AttendanceSettings>();
        is_serde::<BookedSession>();
        is_serde::<ConnectionEvent>();
        is_serde::<Correction>();
        is_serde::<Attendance>();
    }

    // ---- Property-style checks: random sessions, shuffled and repeated deliveries ----

    /// xorshift64*: a small deterministic generator, so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn range(&mut self, from: i64, until: i64) -> i64 {
            from + self.below((until - from) as u64) as i64
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn shuffle<T>(&mut self, items: &mut [T]) {
            for i in (1..items.len()).rev() {
                let j = self.below(i as u64 + 1) as usize;
                items.swap(i, j);
            }
        }
    }

    /// One generated connection and the interval the rules should give it.
    struct Generated {
        who: PersonKey,
        from: i64,
        until: i64,
    }

    /// Random connections of six people (participants, a user without participant, people
    /// without a token) around a session from 11:30 to 14:30 local, some leaves missing.
    fn scenario(rng: &mut Rng, start: i64, end: i64, now: i64) -> (Vec<ConnectionEvent>, Vec<Generated>) {
        let grace_end = end + i64::from(DEFAULT_GRACE_MINUTES) * 60;
        let mut events = Vec::new();
        let mut expected = Vec::new();
        for n in 0..rng.range(1, 14) {
            let person = rng.below(6);
            let jid = format!("conn-{n}");
            let (participant_id, user_id) = match person {
                0..=2 => (Some(format!("p{person}")), Some(format!("p{person}"))),
                3 => (None, Some("staff".to_owned())),
                _ => (None, None),
            };
            let occupant = Occupant {
                jid: jid.clone(),
                breakout_room_id: rng.chance(30).then(|| "br".to_owned()),
                participant_id: participant_id.clone(),
                user_id: user_id.clone(),
                name: None,
            };
            let who = match (&participant_id, &user_id) {
                (Some(p), _) => PersonKey::Participant(p.clone()),
                (None, Some(u)) => PersonKey::User(u.clone()),
                (None, None) => PersonKey::Jid(jid.clone()),
            };
            let from = rng.range(start - 40 * MIN, end + 20 * MIN);
            let until = if rng.chance(80) {
                let until = from + rng.range(0, 3 * HOUR);
                // The leave sometimes omits who it was: the join says it.
                let leave_occupant = if rng.chance(50) {
                    Occupant {
                        participant_id: None,
                        user_id: None,
                        ..occupant.clone()
                    }
                } else {
                    occupant.clone()
                };
                events.push(ConnectionEvent::Left {
                    occupant: leave_occupant,
                    joined_at: rng.chance(50).then_some(from),
                    left_at: until,
                });
                until
            } else {
                grace_end.min(now).max(from)
            };
            events.push(ConnectionEvent::Joined {
                occupant,
                joined_at: from,
            });
            expected.push(Generated { who, from, until });
        }
        (events, expected)
    }

    #[test]
    fn shuffled_and_repeated_events_give_the_same_answer() {
        let mut rng = Rng(0x5eed_cafe_f00d_d00d);
        let (start, end) = (local(2026, 6, 15, 11, 30), local(2026, 6, 15, 14, 30));
        let s = session(start, end);
        for round in 0..200 {
            let now = if round % 2 == 0 {
                end + 5 * HOUR
            } else {
                rng.range(start, end + HOUR)
            };
            let (events, _) = scenario(&mut rng, start, end, now);
            let reference = compute(&s, now, &events);
            for _ in 0..5 {
                let mut delivered = events.clone();
                for _ in 0..rng.below(events.len() as u64 + 1) {
                    let again = delivered[rng.below(events.len() as u64) as usize].clone();
                    delivered.push(again);
                }
                rng.shuffle(&mut delivered);
                assert_eq!(compute(&s, now, &delivered), reference, "round {round}");
            }
        }
    }

    #[test]
    fn figures_match_a_second_by_second_count() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let (start, end) = (local(2026, 6, 15, 11, 30), local(2026, 6, 15, 14, 30));
        let noon = local(2026, 6, 15, 13, 0);
        let s = session(start, end);
        for round in 0..60 {
            let now = end + 6 * HOUR;
            let (events, generated) = scenario(&mut rng, start, end, now);
            let a = compute(&s, now, &events);
            let mut keys: Vec<&PersonKey> = generated.iter().map(|g| &g.who).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(a.people.len(), keys.len(), "round {round}");
            for key in keys {
                let mine: Vec<&Generated> = generated.iter().filter(|g| &g.who == key).collect();
                let lo = mine.iter().map(|g| g.from).min().unwrap();
                let hi = mine.iter().map(|g| g.until).max().unwrap();
                // (present, before start, after end) for the morning and the afternoon.
                let mut counts = [[0i64; 3]; 2];
                for second in lo..hi {
                    if mine.iter().any(|g| g.from <= second && second < g.until) {
                        let half = usize::from(second >= noon);
                        counts[half][0] += 1;
                        counts[half][1] += i64::from(second < start);
                        counts[half][2] += i64::from(second >= end);
                    }
                }
                let p = a.person(key).unwrap();
                assert_eq!(p.connections, mine.len());
                assert_eq!(p.first_join, Some(ts(lo)));
                assert_eq!(p.last_leave, Some(ts(hi)));
                assert_eq!(
                    p.measured.present_seconds,
                    counts[0][0] + counts[1][0],
                    "round {round}, {key}"
                );
                assert_eq!(p.measured.before_start_seconds, counts[0][1] + counts[1][1]);
                assert_eq!(p.measured.after_end_seconds, counts[0][2] + counts[1][2]);
                for (i, half_day) in [
                    HalfDay::morning(date(2026, 6, 15)),
                    HalfDay::afternoon(date(2026, 6, 15)),
                ]
                .into_iter()
                .enumerate()
                {
                    let h = p.half_day(half_day).unwrap();
                    let [present, before, after] = counts[i];
                    assert_eq!(
                        (
                            h.measured.present_seconds,
                            h.measured.before_start_seconds,
                            h.measured.after_end_seconds
                        ),
                        (present, before, after),
                        "round {round}, {key}, {half_day}"
                    );
                }
            }
        }
    }
}
