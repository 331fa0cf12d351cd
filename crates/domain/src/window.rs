//! When a participant may enter a session's Jitsi room.
//!
//! A session runs from `start` to `end` (instants). Its room opens a little before the start,
//! earlier for moderators (so that the trainer is there first) than for learners, and closes a
//! little after the end (the grace period, for a session that overruns). Everything is computed
//! on instants, not on wall-clock times, so a daylight saving time change between the opening
//! and the start changes nothing: a window opening 15 minutes before a 09:00 session opens 15
//! real minutes before it.
//!
//! Boundaries: the window is the half-open interval `[opens, closes)`. At `opens` exactly the
//! participant may enter; at `closes` exactly the window is over.

use jiff::{SignedDuration, Timestamp};

/// How long before the start and after the end a room is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WindowSettings {
    /// How long before the start a moderator (trainer, external moderator) may enter.
    /// Default: 15 minutes.
    pub moderator_open_before: SignedDuration,
    /// How long before the start a learner or guest may enter. Default: 5 minutes.
    pub learner_open_before: SignedDuration,
    /// How long after the end anyone may still enter (and a token stays valid).
    /// Default: 10 minutes.
    pub grace: SignedDuration,
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            moderator_open_before: SignedDuration::from_mins(15),
            learner_open_before: SignedDuration::from_mins(5),
            grace: SignedDuration::from_mins(10),
        }
    }
}

/// The interval `[opens, closes)` during which one participant may enter a session's room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct JoinWindow {
    /// The first instant at which the participant may enter (inclusive).
    pub opens: Timestamp,
    /// The first instant at which the participant may no longer enter (exclusive).
    pub closes: Timestamp,
}

/// Where an instant stands relative to a [`JoinWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowState {
    /// Too early.
    NotYet {
        /// How long until the window opens (always positive).
        opens_in: SignedDuration,
    },
    /// The participant may enter now.
    Open {
        /// How long until the window closes (always positive).
        closes_in: SignedDuration,
    },
    /// Too late: the window has closed.
    Over,
}

impl JoinWindow {
    /// The window of a participant in a session from `start` to `end`: it opens
    /// `moderator_open_before` or `learner_open_before` before `start` (depending on
    /// `moderator`) and closes `grace` after `end`.
    ///
    /// Arithmetic saturates at the limits of [`Timestamp`]. Should the result close before it
    /// opens (an `end` before `start`, or negative settings), the window is empty: it closes
    /// when it opens, and [`JoinWindow::state`] never says [`WindowState::Open`].
    pub fn for_participant(start: Timestamp, end: Timestamp, moderator: bool, settings: &WindowSettings) -> JoinWindow {
        let before = if moderator {
            settings.moderator_open_before
        } else {
            settings.learner_open_before
        };
        let opens = start.saturating_sub(before).unwrap_or(start);
        let closes = end.saturating_add(settings.grace).unwrap_or(end);
        JoinWindow {
            opens,
            closes: closes.max(opens),
        }
    }

    /// Where `now` stands: before `opens` it is [`WindowState::NotYet`], from `opens`
    /// (inclusive) to `closes` (exclusive) [`WindowState::Open`], from `closes` on
    /// [`WindowState::Over`].
    pub fn state(&self, now: Timestamp) -> WindowState {
        if now >= self.closes {
            WindowState::Over
        } else if now < self.opens {
            WindowState::NotYet {
                opens_in: now.duration_until(self.opens),
            }
        } else {
            WindowState::Open {
                closes_in: now.duration_until(self.closes),
            }
        }
    }

    /// Whether the participant may enter at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        matches!(self.state(now), WindowState::Open { .. })
    }

    /// When a join token minted for this window must expire: when the window closes.
    pub fn token_expiry(&self) -> Timestamp {
        self.closes
    }
}

/// What happens to someone who asks to enter a session's room now: the whole decision but the
/// token (a cancelled session is closed whatever the time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The session was cancelled.
    Cancelled,
    /// Their window has closed.
    Over,
    /// Too early: the window opens in `opens_in`.
    NotYet { opens_in: SignedDuration },
    /// In.
    Open,
}

impl Admission {
    /// The decision for a session (cancelled or not) whose window for this person is `window`.
    pub fn of(cancelled: bool, window: &JoinWindow, now: Timestamp) -> Admission {
        if cancelled {
            return Admission::Cancelled;
        }
        match window.state(now) {
            WindowState::Over => Admission::Over,
            WindowState::NotYet { opens_in } => Admission::NotYet { opens_in },
            WindowState::Open { .. } => Admission::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const SEC: SignedDuration = SignedDuration::from_secs(1);

    #[test]
    fn defaults() {
        let s = WindowSettings::default();
        assert_eq!(s.moderator_open_before, SignedDuration::from_mins(15));
        assert_eq!(s.learner_open_before, SignedDuration::from_mins(5));
        assert_eq!(s.grace, SignedDuration::from_mins(10));
    }

    #[test]
    fn windows_for_each_role() {
        let start = ts("2026-06-15T07:00:00Z");
        let end = ts("2026-06-15T09:00:00Z");
        let s = WindowSettings::default();
        let m = JoinWindow::for_participant(start, end, true, &s);
        assert_eq!(m.opens, ts("2026-06-15T06:45:00Z"));
        assert_eq!(m.closes, ts("2026-06-15T09:10:00Z"));
        let l = JoinWindow::for_participant(start, end, false, &s);
        assert_eq!(l.opens, ts("2026-06-15T06:55:00Z"));
        assert_eq!(l.closes, ts("2026-06-15T09:10:00Z"));
        assert_eq!(l.token_expiry(), l.closes);
        assert_eq!(m.token_expiry(), ts("2026-06-15T09:10:00Z"));
    }

    #[test]
    fn boundaries_second_by_second() {
        let start = ts("2026-06-15T07:00:00Z");
        let end = ts("2026-06-15T09:00:00Z");
        let w = JoinWindow::for_participant(start, end, false, &WindowSettings::default());
        // One second before opening.
        assert_eq!(w.state(w.opens - SEC), WindowState::NotYet { opens_in: SEC });
        // At opening: open (inclusive).
        assert_eq!(
            w.state(w.opens),
            WindowState::Open {
                closes_in: SignedDuration::from_mins(135)
            }
        );
        assert!(w.is_open(w.opens));
        // One second after opening.
        assert_eq!(
            w.state(w.opens + SEC),
            WindowState::Open {
                closes_in: SignedDuration::from_mins(135) - SEC
            }
        );
        // At the start and end of the session itself.
        assert!(w.is_open(start));
        assert!(w.is_open(end));
        // One second before closing.
        assert_eq!(w.state(w.closes - SEC), WindowState::Open { closes_in: SEC });
        // At closing: over (exclusive).
        assert_eq!(w.state(w.closes), WindowState::Over);
        assert!(!w.is_open(w.closes));
        // One second after closing.
        assert_eq!(w.state(w.closes + SEC), WindowState::Over);
        // Long before.
        assert_eq!(
            w.state(ts("2026-06-14T06:55:00Z")),
            WindowState::NotYet {
                opens_in: SignedDuration::from_hours(24)
            }
        );
        // Sub-second precision around the edges.
        let ns = SignedDuration::from_nanos(1);
        assert_eq!(w.state(w.opens - ns), WindowState::NotYet { opens_in: ns });
        assert_eq!(w.state(w.closes - ns), WindowState::Open { closes_in: ns });
    }

    #[test]
    fn moderator_enters_before_learner() {
        let start = ts("2026-06-15T07:00:00Z");
        let end = ts("2026-06-15T08:00:00Z");
        let s = WindowSettings::default();
        let m = JoinWindow::for_participant(start, end, true, &s);
        let l = JoinWindow::for_participant(start, end, false, &s);
        let now = ts("2026-06-15T06:50:00Z");
        assert!(m.is_open(now));
        assert_eq!(
            l.state(now),
            WindowState::NotYet {
                opens_in: SignedDuration::from_mins(5)
            }
        );
    }

    #[test]
    fn computed_on_instants_across_dst() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        // 09:00 local the day after the October change (25 October 2026): 15 minutes before
        // is 08:45 local.
        let start = date(2026, 10, 26).at(9, 0, 0, 0).to_zoned(paris.clone()).unwrap();
        let end = date(2026, 10, 26).at(11, 0, 0, 0).to_zoned(paris.clone()).unwrap();
        let s = WindowSettings::default();
        let w = JoinWindow::for_participant(start.timestamp(), end.timestamp(), true, &s);
        assert_eq!(
            w.opens.to_zoned(paris.clone()).datetime(),
            date(2026, 10, 26).at(8, 45, 0, 0)
        );
        assert_eq!(w.opens, ts("2026-10-26T07:45:00Z"));

        // A session at 03:05 on the night of the October change: the window opens 15 real
        // minutes earlier, at 02:50 in the repeated hour, winter time (01:50 UTC).
        let start = date(2026, 10, 25).at(3, 5, 0, 0).to_zoned(paris.clone()).unwrap();
        let w = JoinWindow::for_participant(start.timestamp(), start.timestamp(), true, &s);
        let opens = w.opens.to_zoned(paris.clone());
        assert_eq!(opens.datetime(), date(2026, 10, 25).at(2, 50, 0, 0));
        assert_eq!(opens.offset(), jiff::tz::offset(1));
        assert_eq!(w.opens, ts("2026-10-25T01:50:00Z"));

        // A session at 03:10 on the night of the March change: 15 real minutes earlier is
        // 01:55 on the clocks (02:xx does not exist that night).
        let start = date(2026, 3, 29).at(3, 10, 0, 0).to_zoned(paris.clone()).unwrap();
        let w = JoinWindow::for_participant(start.timestamp(), start.timestamp(), true, &s);
        assert_eq!(
            w.opens.to_zoned(paris.clone()).datetime(),
            date(2026, 3, 29).at(1, 55, 0, 0)
        );
        assert_eq!(start.timestamp().duration_since(w.opens), SignedDuration::from_mins(15));

        // A session ending at 01:30 (summer time) the night of the October change, with a
        // one-hour grace: it closes at 02:30 summer time, and at the second 02:30 (winter
        // time) it is over.
        let end = date(2026, 10, 25).at(1, 30, 0, 0).to_zoned(paris.clone()).unwrap();
        let grace = WindowSettings {
            grace: SignedDuration::from_hours(1),
            ..s
        };
        let w = JoinWindow::for_participant(end.timestamp(), end.timestamp(), true, &grace);
        assert_eq!(w.closes, ts("2026-10-25T00:30:00Z"));
        assert_eq!(w.state(ts("2026-10-25T01:30:00Z")), WindowState::Over);
    }

    #[test]
    fn degenerate_windows() {
        let start = ts("2026-06-15T07:00:00Z");
        let end = ts("2026-06-15T06:00:00Z");
        let w = JoinWindow::for_participant(start, end, false, &WindowSettings::default());
        assert_eq!(w.closes, w.opens);
        assert!(!w.is_open(w.opens));
        assert_eq!(w.state(w.opens), WindowState::Over);
        // Saturation at the ends of time.
        let w = JoinWindow::for_participant(Timestamp::MIN, Timestamp::MAX, true, &WindowSettings::default());
        assert_eq!(w.opens, Timestamp::MIN);
        assert_eq!(w.closes, Timestamp::MAX);
        assert!(w.is_open(ts("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn settings_and_state_serde() {
        // Only checks that the derives exist and are usable with any serde format; the
        // web crate decides the wire format.
        fn is_serde<T: serde::Serialize + serde::de::DeserializeOwned>() {}
        is_serde::<WindowSettings>();
        is_serde::<JoinWindow>();
        is_serde::<WindowState>();
    }

    #[test]
    fn admission_is_closed_for_a_cancelled_session_whatever_the_time() {
        let start = Timestamp::from_second(1_800_000_000).unwrap();
        let w = JoinWindow::for_participant(
            start,
            start + SignedDuration::from_hours(1),
            false,
            &WindowSettings::default(),
        );
        assert_eq!(Admission::of(true, &w, start), Admission::Cancelled);
        assert_eq!(Admission::of(false, &w, start), Admission::Open);
        assert_eq!(
            Admission::of(false, &w, start - SignedDuration::from_mins(10)),
            Admission::NotYet {
                opens_in: SignedDuration::from_mins(5)
            }
        );
        assert_eq!(
            Admission::of(false, &w, start + SignedDuration::from_hours(2)),
            Admission::Over
        );
    }
}
