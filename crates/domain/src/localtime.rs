//! Turning what a person typed (a date, a wall-clock time, a time zone) into an instant.
//!
//! People book sessions in local time: "Tuesday 29 March at 09:00, Paris time". Twice a year
//! such a local time is not a single instant: in spring the clocks skip an hour (the time does
//! not exist) and in autumn they repeat one (the time exists twice). [`resolve_local`] says
//! which, and never guesses silently: a nonexistent time is refused with the edges of the gap,
//! and a repeated time is resolved as the caller's [`Ambiguity`] says.
//!
//! The zone is always a [`TimeZoneName`]: a validated IANA name such as `Europe/Paris`, never a
//! fixed offset, since a fixed offset does not follow the daylight saving time changes of the
//! place where the session happens.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use jiff::Zoned;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

/// Names present in some copies of the time zone database that are not zones a person may
/// choose: `localtime` is the machine's own setting (it differs between servers), `posixrules`
/// is a template for POSIX strings, and `Factory` is a placeholder meaning "no zone set".
const NOT_SELECTABLE: [&str; 3] = ["localtime", "posixrules", "factory"];

/// A validated IANA time zone name, such as `Europe/Paris` or `America/New_York`.
///
/// It is looked up in the global time zone database of jiff (`jiff::tz::db()`: the system's
/// `/usr/share/zoneinfo`, or the copy bundled into the binary when the system has none), so
/// every name accepted here resolves to rules that follow daylight saving time changes.
///
/// The name is kept with the database's spelling: `europe/paris` becomes `Europe/Paris`.
/// Backward-compatible aliases of the IANA database (`US/Eastern`, `Europe/Kiev`) are IANA
/// names too and are accepted as given. Fixed offsets (`+01:00`, `UTC+1`) and POSIX TZ
/// strings (`CET-1CEST,M3.5.0,M10.5.0/3`) are refused with their own error variants.
///
/// Two values are equal when their names are equal.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName {
    name: String,
    tz: TimeZone,
}

/// Why a text is not a valid IANA time zone name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneNameError {
    /// Nothing was given.
    #[error("no time zone given")]
    Empty,
    /// A UTC offset such as `+01:00` or `UTC+1`: it ignores daylight saving time, a place's
    /// zone name (such as `Europe/Paris`) is needed instead.
    #[error("{name:?} is a UTC offset, not a time zone: choose a place such as Europe/Paris")]
    FixedOffset {
        /// The text as given.
        name: String,
    },
    /// A POSIX TZ rule string such as `CET-1CEST,M3.5.0,M10.5.0/3`, not an IANA name.
    #[error("{name:?} is a POSIX time zone rule, not a time zone name: choose a place such as Europe/Paris")]
    PosixRule {
        /// The text as given.
        name: String,
    },
    /// Not a name in the time zone database.
    #[error("unknown time zone {name:?}")]
    Unknown {
        /// The text as given.
        name: String,
    },
}

impl TimeZoneName {
    /// Validates `name` against the time zone database (case-insensitively, surrounding
    /// whitespace ignored).
    pub fn parse(name: &str) -> Result<TimeZoneName, TimeZoneNameError> {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(TimeZoneNameError::Empty);
        }
        if NOT_SELECTABLE.contains(&trimmed.to_ascii_lowercase().as_str()) {
            return Err(TimeZoneNameError::Unknown { name: name.to_owned() });
        }
        match jiff::tz::db().get(trimmed) {
            Ok(tz) => {
                // A zone found in the database by name always carries that name; fall back to
                // the trimmed input should a future jiff not report it.
                let canonical = tz.iana_name().unwrap_or(trimmed).to_owned();
                Ok(TimeZoneName { name: canonical, tz })
            }
            Err(_) if looks_like_offset(trimmed) => Err(TimeZoneNameError::FixedOffset { name: name.to_owned() }),
            Err(_) if TimeZone::posix(trimmed).is_ok() => Err(TimeZoneNameError::PosixRule { name: name.to_owned() }),
            Err(_) => Err(TimeZoneNameError::Unknown { name: name.to_owned() }),
        }
    }

    /// The IANA name, with the database's spelling (for example `Europe/Paris`).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The time zone rules, for conversions with jiff.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }
}

/// `+01:00`, `-0500`, `+1`, `UTC+1`, `GMT-05:30`, `UTC` followed by an offset: an offset
/// rather than a place. (`UTC` and `GMT` alone are IANA names and are found in the database
/// before this is asked.)
fn looks_like_offset(s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper)
        .trim_start();
    let Some(digits) = rest.strip_prefix(['+', '-', '\u{2212}']) else {
        return false;
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '.')
}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeZoneName").field(&self.name).finish()
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for TimeZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZoneName {}

impl Hash for TimeZoneName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl FromStr for TimeZoneName {
    type Err = TimeZoneNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimeZoneName::parse(s)
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = TimeZoneNameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        TimeZoneName::parse(&s)
    }
}

impl From<TimeZoneName> for String {
    fn from(zone: TimeZoneName) -> String {
        zone.name
    }
}

impl AsRef<str> for TimeZoneName {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// What to do with a local time that happens twice (when clocks go back, in autumn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ambiguity {
    /// The first occurrence, still on the earlier offset (in Europe, summer time). The default:
    /// it is the time on the clocks when the day's repeated hour first comes round.
    #[default]
    Earlier,
    /// The second occurrence, on the later offset (in Europe, winter time).
    Later,
    /// Refuse it with [`LocalTimeError::Ambiguous`], which gives both candidates so that the
    /// person can choose.
    Reject,
}

/// Why a local date and time could not be turned into an instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    /// The local time does not exist: the clocks skip it (spring forward). For 02:30 on
    /// 29 March 2026 in Europe/Paris, `gap_start` is 02:00 and `gap_end` 03:00: every local
    /// time from `gap_start` (inclusive) to `gap_end` (exclusive) is skipped that day.
    #[error("{local} does not exist in {zone}: the clocks go from {gap_start} straight to {gap_end}")]
    Nonexistent {
        /// The local date and time asked for.
        local: DateTime,
        /// The zone.
        zone: TimeZoneName,
        /// The first local time skipped (the clocks' reading when they jump).
        gap_start: DateTime,
        /// The local time the clocks jump to: the first valid one after the gap.
        gap_end: DateTime,
    },
    /// The local time happens twice (fall back) and [`Ambiguity::Reject`] was asked.
    #[error("{local} happens twice in {zone}: at {} and at {}", earlier.timestamp(), later.timestamp())]
    Ambiguous {
        /// The local date and time asked for.
        local: DateTime,
        /// The zone.
        zone: TimeZoneName,
        /// The first occurrence (earlier offset, for example summer time).
        earlier: Zoned,
        /// The second occurrence (later offset, for example winter time).
        later: Zoned,
    },
    /// The date is outside the range of instants that can be represented (around year ±9999).
    #[error("{local} in {zone} is out of the supported range of dates")]
    OutOfRange {
        /// The local date and time asked for.
        local: DateTime,
        /// The zone.
        zone: TimeZoneName,
    },
}

/// Turns a local date and wall-clock time in `zone` into an instant.
///
/// - A time that exists once is converted as is.
/// - A time inside a daylight-saving gap (spring forward) is refused with
///   [`LocalTimeError::Nonexistent`], which gives the edges of the gap.
/// - A time that happens twice (fall back) is resolved by `ambiguity`: [`Ambiguity::Earlier`]
///   (the default) takes the first occurrence, [`Ambiguity::Later`] the second, and
///   [`Ambiguity::Reject`] refuses it with [`LocalTimeError::Ambiguous`] giving both.
pub fn resolve_local(
    date: Date,
    time: Time,
    zone: &TimeZoneName,
    ambiguity: Ambiguity,
) -> Result<Zoned, LocalTimeError> {
    resolve_datetime(date.to_datetime(time), zone, ambiguity)
}

/// [`resolve_local`] for a date and time already combined.
pub fn resolve_datetime(local: DateTime, zone: &TimeZoneName, ambiguity: Ambiguity) -> Result<Zoned, LocalTimeError> {
    let out_of_range = || LocalTimeError::OutOfRange {
        local,
        zone: zone.clone(),
    };
    let tz = zone.time_zone();
    let amb = tz.to_ambiguous_zoned(local);
    match amb.offset() {
        AmbiguousOffset::Unambiguous { .. } => amb.unambiguous().map_err(|_| out_of_range()),
        AmbiguousOffset::Gap { before, after } => {
            let (gap_start, gap_end) = gap_edges(tz, local, before, after).ok_or_else(out_of_range)?;
            Err(LocalTimeError::Nonexistent {
                local,
                zone: zone.clone(),
                gap_start,
                gap_end,
            })
        }
        AmbiguousOffset::Fold { .. } => match ambiguity {
            Ambiguity::Earlier => amb.earlier().map_err(|_| out_of_range()),
            Ambiguity::Later => amb.later().map_err(|_| out_of_range()),
            Ambiguity::Reject => {
                let earlier = amb.clone().earlier().map_err(|_| out_of_range())?;
                let later = amb.later().map_err(|_| out_of_range())?;
                Err(LocalTimeError::Ambiguous {
                    local,
                    zone: zone.clone(),
                    earlier,
                    later,
                })
            }
        },
    }
}

/// The local edges of the gap containing `local`: the clocks' reading when they jump, and the
/// reading they jump to. `None` only at the edges of the representable range.
fn gap_edges(tz: &TimeZone, local: DateTime, before: Offset, after: Offset) -> Option<(DateTime, DateTime)> {
    // Read with the offset in force after the transition, a time inside the gap denotes an
    // instant strictly before the transition (the gap is `after - before` wide and `local` is
    // less than that past its start), so the transition is the first one following it.
    let probe = after.to_timestamp(local).ok()?;
    let transition = tz.following(probe).next()?.timestamp();
    Some((before.to_datetime(transition), after.to_datetime(transition)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn paris() -> TimeZoneName {
        TimeZoneName::parse("Europe/Paris").unwrap()
    }

    #[test]
    fn zone_names_are_validated_and_canonical() {
        let z = TimeZoneName::parse(" europe/paris ").unwrap();
        assert_eq!(z.as_str(), "Europe/Paris");
        assert_eq!(z.to_string(), "Europe/Paris");
        assert_eq!(z, paris());
        assert_eq!(z.time_zone().iana_name(), Some("Europe/Paris"));
        for ok in [
            "America/New_York",
            "Australia/Sydney",
            "UTC",
            "Etc/GMT+5",
            "Asia/Kolkata",
        ] {
            assert_eq!(TimeZoneName::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(TimeZoneName::parse(""), Err(TimeZoneNameError::Empty));
        assert_eq!(TimeZoneName::parse("   "), Err(TimeZoneNameError::Empty));
        for unknown in [
            "Europe/Lutece",
            "Paris",
            "localtime",
            "posixrules",
            "Factory",
            "../etc/passwd",
            "/usr/share/zoneinfo/Europe/Paris",
            "Europe//Paris",
        ] {
            assert_eq!(
                TimeZoneName::parse(unknown),
                Err(TimeZoneNameError::Unknown { name: unknown.into() }),
                "{unknown}"
            );
        }
        for offset in ["+01:00", "-0500", "UTC+1", "GMT-05:30", "+1", "utc+02:00"] {
            assert_eq!(
                TimeZoneName::parse(offset),
                Err(TimeZoneNameError::FixedOffset { name: offset.into() }),
                "{offset}"
            );
        }
        for posix in ["CET-1CEST,M3.5.0,M10.5.0/3", "EST+5EDT,M3.2.0/2,M11.1.0/2"] {
            assert_eq!(
                TimeZoneName::parse(posix),
                Err(TimeZoneNameError::PosixRule { name: posix.into() }),
                "{posix}"
            );
        }
    }

    #[test]
    fn zone_name_serde_and_from_str() {
        let z: TimeZoneName = "america/new_york".parse().unwrap();
        assert_eq!(String::from(z.clone()), "America/New_York");
        assert!(TimeZoneName::try_from("Nowhere/City".to_owned()).is_err());
        assert_eq!(format!("{z:?}"), "TimeZoneName(\"America/New_York\")");
    }

    #[test]
    fn ordinary_time_resolves() {
        let z = resolve_local(date(2026, 6, 15), time(9, 0, 0, 0), &paris(), Ambiguity::Reject).unwrap();
        assert_eq!(z.timestamp().to_string(), "2026-06-15T07:00:00Z");
        assert_eq!(z.datetime(), date(2026, 6, 15).at(9, 0, 0, 0));
        assert_eq!(z.time_zone().iana_name(), Some("Europe/Paris"));
    }

    #[test]
    fn spring_gap_is_refused_with_its_edges() {
        let err = resolve_local(date(2026, 3, 29), time(2, 30, 0, 0), &paris(), Ambiguity::Earlier).unwrap_err();
        assert_eq!(
            err,
            LocalTimeError::Nonexistent {
                local: date(2026, 3, 29).at(2, 30, 0, 0),
                zone: paris(),
                gap_start: date(2026, 3, 29).at(2, 0, 0, 0),
                gap_end: date(2026, 3, 29).at(3, 0, 0, 0),
            }
        );
        assert_eq!(
            err.to_string(),
            "2026-03-29T02:30:00 does not exist in Europe/Paris: \
             the clocks go from 2026-03-29T02:00:00 straight to 2026-03-29T03:00:00"
        );
        // Both edges: 02:00 is skipped, 01:59:59 and 03:00 exist.
        for amb in [Ambiguity::Earlier, Ambiguity::Later, Ambiguity::Reject] {
            assert!(resolve_local(date(2026, 3, 29), time(2, 0, 0, 0), &paris(), amb).is_err());
            assert!(resolve_local(date(2026, 3, 29), time(2, 59, 59, 999_999_999), &paris(), amb).is_err());
        }
        let before = resolve_local(date(2026, 3, 29), time(1, 59, 59, 0), &paris(), Ambiguity::Reject).unwrap();
        let after = resolve_local(date(2026, 3, 29), time(3, 0, 0, 0), &paris(), Ambiguity::Reject).unwrap();
        assert_eq!(before.timestamp().to_string(), "2026-03-29T00:59:59Z");
        assert_eq!(after.timestamp().to_string(), "2026-03-29T01:00:00Z");
    }

    #[test]
    fn new_york_gap() {
        let ny = TimeZoneName::parse("America/New_York").unwrap();
        let err = resolve_local(date(2026, 3, 8), time(2, 15, 0, 0), &ny, Ambiguity::Later).unwrap_err();
        match err {
            LocalTimeError::Nonexistent { gap_start, gap_end, .. } => {
                assert_eq!(gap_start, date(2026, 3, 8).at(2, 0, 0, 0));
                assert_eq!(gap_end, date(2026, 3, 8).at(3, 0, 0, 0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn autumn_fold_follows_the_choice() {
        let d = date(2026, 10, 25);
        let t = time(2, 30, 0, 0);
        let earlier = resolve_local(d, t, &paris(), Ambiguity::Earlier).unwrap();
        let later = resolve_local(d, t, &paris(), Ambiguity::Later).unwrap();
        let default = resolve_local(d, t, &paris(), Ambiguity::default()).unwrap();
        assert_eq!(earlier.timestamp().to_string(), "2026-10-25T00:30:00Z");
        assert_eq!(earlier.offset(), jiff::tz::offset(2));
        assert_eq!(later.timestamp().to_string(), "2026-10-25T01:30:00Z");
        assert_eq!(later.offset(), jiff::tz::offset(1));
        assert_eq!(default, earlier);
        let err = resolve_local(d, t, &paris(), Ambiguity::Reject).unwrap_err();
        assert_eq!(
            err,
            LocalTimeError::Ambiguous {
                local: d.to_datetime(t),
                zone: paris(),
                earlier: earlier.clone(),
                later: later.clone(),
            }
        );
        assert_eq!(
            err.to_string(),
            "2026-10-25T02:30:00 happens twice in Europe/Paris: \
             at 2026-10-25T00:30:00Z and at 2026-10-25T01:30:00Z"
        );
        // Just outside the fold there is one answer only.
        assert!(resolve_local(d, time(3, 0, 0, 0), &paris(), Ambiguity::Reject).is_ok());
        assert!(resolve_local(d, time(1, 59, 59, 0), &paris(), Ambiguity::Reject).is_ok());
        assert!(resolve_local(d, time(2, 0, 0, 0), &paris(), Ambiguity::Reject).is_err());
    }

    #[test]
    fn southern_hemisphere() {
        let syd = TimeZoneName::parse("Australia/Sydney").unwrap();
        // Clocks go forward on the first Sunday of October: 02:00 -> 03:00.
        let err = resolve_local(date(2026, 10, 4), time(2, 30, 0, 0), &syd, Ambiguity::Earlier).unwrap_err();
        assert!(matches!(err, LocalTimeError::Nonexistent { gap_start, .. }
            if gap_start == date(2026, 10, 4).at(2, 0, 0, 0)));
        // And back on the first Sunday of April: 03:00 -> 02:00.
        let e = resolve_local(date(2026, 4, 5), time(2, 30, 0, 0), &syd, Ambiguity::Earlier).unwrap();
        assert_eq!(e.offset(), jiff::tz::offset(11));
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let r = resolve_local(
            Date::MAX,
            Time::MAX,
            &TimeZoneName::parse("Pacific/Kiritimati").unwrap(),
            Ambiguity::Earlier,
        );
        assert!(matches!(r, Err(LocalTimeError::OutOfRange { .. })));
        let r = resolve_local(
            Date::MIN,
            Time::MIN,
            &TimeZoneName::parse("Etc/GMT+12").unwrap(),
            Ambiguity::Earlier,
        );
        assert!(matches!(r, Err(LocalTimeError::OutOfRange { .. })));
    }
}
