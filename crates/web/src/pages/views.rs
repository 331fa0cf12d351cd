//! What booking pages show of sessions, prepared for templates: local dates and times in the
//! viewer's zone (and the session's own when it differs), states (in progress, starting soon,
//! ended), names joined for display.

use domain::Locale;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};
use store::{Session, SessionStatus, SessionSummary};

/// A session "starts soon" this long before its start.
pub const SOON: SignedDuration = SignedDuration::from_hours(1);

/// Where a session stands at the moment the page is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Starts more than [`SOON`] from now.
    Later,
    /// Starts within [`SOON`].
    Soon,
    /// Started, not ended.
    Live,
    /// Ended: in the archives, read-only.
    Ended,
    Cancelled,
}

impl SessionState {
    pub fn of(session: &Session, now: Timestamp) -> SessionState {
        if session.status == SessionStatus::Cancelled {
            SessionState::Cancelled
        } else if session.ends_at <= now {
            SessionState::Ended
        } else if session.starts_at <= now {
            SessionState::Live
        } else if session.starts_at.duration_since(now) <= SOON {
            SessionState::Soon
        } else {
            SessionState::Later
        }
    }

    /// The CSS class and catalogue key of its badge, if it has one.
    pub fn badge(&self) -> Option<(&'static str, &'static str)> {
        match self {
            SessionState::Later => None,
            SessionState::Soon => Some(("warn", "session.state.soon")),
            SessionState::Live => Some(("live", "session.state.live")),
            SessionState::Ended => Some(("off", "session.state.ended")),
            SessionState::Cancelled => Some(("danger", "session.state.cancelled")),
        }
    }

    /// Highlighted in lists: starting soon or in progress.
    pub fn highlighted(&self) -> bool {
        matches!(self, SessionState::Soon | SessionState::Live)
    }
}

/// A zone by name; an unknown name (never stored: zones are validated) falls back to UTC.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// `lundi 19 octobre 2026` / `Monday 19 October 2026`.
pub fn format_day(date: jiff::civil::Date, locale: Locale) -> String {
    let weekday = locale.t(&format!("date.weekday.{}", date.weekday().to_monday_one_offset()));
    let month = locale.t(&format!("date.month.{}", date.month()));
    locale.tf(
        "date.format.day",
        &[
            ("weekday", &weekday),
            ("day", &date.day()),
            ("month", &month),
            ("year", &date.year()),
        ],
    )
}

/// `09:00`.
pub fn hm(z: &Zoned) -> String {
    format!("{:02}:{:02}", z.hour(), z.minute())
}

/// `UTC+02:00`.
pub use i18n::offset_label;

/// The times of a session as a viewer in `viewer_zone` reads them.
#[derive(Debug, Clone)]
pub struct When {
    /// `lundi 19 octobre 2026`, in the viewer's zone.
    pub day: String,
    /// `09:00–10:30`, in the viewer's zone (an end on another day shows its date).
    pub hours: String,
    /// The viewer's zone.
    pub zone: String,
    /// The same in the session's own zone, when it differs from the viewer's:
    /// `lundi 19 octobre 2026 · 03:00–04:30 (America/New_York)`.
    pub in_session_zone: Option<String>,
    /// The local start date, `2026-10-19` (for links to the calendar).
    pub date: String,
}

impl When {
    pub fn of(session: &Session, viewer_zone: &str, locale: Locale) -> When {
        let span = |zone_name: &str| {
            let tz = zone(zone_name);
            let start = session.starts_at.to_zoned(tz.clone());
            let end = session.ends_at.to_zoned(tz);
            let hours = if end.date() == start.date() {
                format!("{}–{}", hm(&start), hm(&end))
            } else {
                format!("{}–{} {}", hm(&start), format_day(end.date(), locale), hm(&end))
            };
            (format_day(start.date(), locale), hours, start.date().to_string())
        };
        let (day, hours, date) = span(viewer_zone);
        let in_session_zone = (session.time_zone != viewer_zone).then(|| {
            let (d, h, _) = span(&session.time_zone);
            format!("{d} · {h} ({})", session.time_zone)
        });
        When {
            day,
            hours,
            zone: viewer_zone.to_owned(),
            in_session_zone,
            date,
        }
    }
}

/// A line of a session list.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub title: String,
    pub course: Option<String>,
    pub when: When,
    pub trainers: String,
    pub attendees: i64,
    pub state: SessionState,
    pub in_series: bool,
    /// Where the viewer enters the room, while the staff's window is open (see [`SessionRow::joinable`]).
    pub join: Option<String>,
}

impl SessionRow {
    /// Offers the join button while the session is scheduled and the window of trainers and
    /// moderators (`settings`) is open at `now`. For lists shown to staff who may see the
    /// session: entering it checks the same again.
    pub fn joinable(
        mut self,
        session: &Session,
        settings: &domain::window::WindowSettings,
        now: Timestamp,
    ) -> SessionRow {
        let window = domain::window::JoinWindow::for_participant(session.starts_at, session.ends_at, true, settings);
        if session.status == SessionStatus::Scheduled && window.is_open(now) {
            self.join = Some(crate::links::join::staff_join_path(&session.id));
        }
        self
    }

    pub fn of(summary: &SessionSummary, viewer_zone: &str, locale: Locale, now: Timestamp) -> SessionRow {
        SessionRow {
            id: summary.session.id.clone(),
            title: summary.session.title.clone(),
            course: summary.course_title.clone(),
            when: When::of(&summary.session, viewer_zone, locale),
            trainers: summary.trainers.join(", "),
            attendees: summary.attendees,
            state: SessionState::of(&summary.session, now),
            in_series: summary.session.series_id.is_some(),
            join: None,
        }
    }

    pub fn rows(list: &[SessionSummary], viewer_zone: &str, locale: Locale, now: Timestamp) -> Vec<SessionRow> {
        list.iter()
            .map(|s| SessionRow::of(s, viewer_zone, locale, now))
            .collect()
    }

    /// [`SessionRow::rows`], each with its join button while its window is open.
    pub fn rows_joinable(
        list: &[SessionSummary],
        viewer_zone: &str,
        locale: Locale,
        now: Timestamp,
        settings: &domain::window::WindowSettings,
    ) -> Vec<SessionRow> {
        list.iter()
            .map(|s| SessionRow::of(s, viewer_zone, locale, now).joinable(&s.session, settings, now))
            .collect()
    }
}

/// The start of the local day containing `now` in `zone_name`.
pub fn start_of_day(now: Timestamp, zone_name: &str) -> Zoned {
    let local = now.to_zoned(zone(zone_name));
    local.start_of_day().unwrap_or(local)
}

/// A local date's midnight (or the first instant of the day) in `zone_name`.
pub fn day_start(date: jiff::civil::Date, zone_name: &str) -> Option<Zoned> {
    date.to_zoned(zone(zone_name)).ok()
}
