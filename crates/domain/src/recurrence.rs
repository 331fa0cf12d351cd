//! Recurring sessions: a subset of the RFC 5545 recurrence rule (RRULE), expanded into
//! instants in an IANA time zone.
//!
//! # Supported rule parts
//!
//! | part | accepted |
//! |---|---|
//! | `FREQ` | `DAILY`, `WEEKLY`, `MONTHLY` (required) |
//! | `INTERVAL` | 1 to 99 (default 1) |
//! | `BYDAY` | `DAILY` and `WEEKLY`: weekdays (`MO,WE,FR`); `MONTHLY`: weekdays, with or without an ordinal from -5 to 5 (`2TU`, `-1FR`, `TU` for every Tuesday of the month) |
//! | `BYMONTHDAY` | `MONTHLY` only: 1 to 31 and -1 to -31 (from the end of the month) |
//! | `COUNT` | 1 or more |
//! | `UNTIL` | a date `YYYYMMDD` or a UTC date-time `YYYYMMDDTHHMMSSZ`, inclusive |
//! | `WKST` | any weekday (default `MO`) |
//!
//! `COUNT` and `UNTIL` together are refused, as RFC 5545 requires. Every other part
//! (`FREQ=YEARLY`, `BYHOUR`, `BYSETPOS`, `BYMONTH`, extensions, ...) is refused with
//! [`RuleError::Unsupported`]: nothing is ever silently ignored.
//!
//! # Expansion, and where it departs from RFC 5545
//!
//! [`occurrences`] expands a rule from a first local date and time (DTSTART) in a zone:
//!
//! - Every occurrence keeps the first one's local wall-clock time: a weekly 09:00 session in
//!   Europe/Paris stays at 09:00 on the clocks across the daylight saving time changes (its
//!   UTC instant moves by an hour).
//! - The first occurrence is `first` itself, and `first` must be one of the days the rule
//!   chooses (its weekday is in `BYDAY`, its day in `BYMONTHDAY`, ...). Otherwise the rule is
//!   refused with [`RecurrenceError::FirstNotInRule`]. (RFC 5545 counts such a DTSTART as an
//!   occurrence all the same, which surprises people: "every Monday" starting on a Wednesday
//!   would include that Wednesday.)
//! - Without `BYDAY` a weekly rule repeats on the weekday of `first`; without `BYDAY` or
//!   `BYMONTHDAY` a monthly rule repeats on the day of the month of `first`.
//! - Months that lack the chosen day (`BYMONTHDAY=31` in April, the 5th Tuesday of a month
//!   that has four) are skipped, as RFC 5545 says; they do not move to another day.
//! - In `MONTHLY` rules, `BYDAY` and `BYMONTHDAY` together keep the days that satisfy both
//!   (`BYDAY=FR;BYMONTHDAY=13`: every Friday the 13th). In `DAILY` rules `BYDAY` keeps only
//!   the days of the sequence that fall on those weekdays.
//! - `UNTIL` is inclusive. A date `UNTIL` includes every occurrence on that local date; a UTC
//!   date-time `UNTIL` includes every occurrence whose instant is at or before it. (RFC 5545
//!   wants a UTC date-time when DTSTART has a zone; the date form is accepted because people
//!   think of "until 30 June", and it is given the meaning they expect.)
//! - An occurrence whose local time does not exist (it falls in the hour skipped in spring)
//!   makes the whole series an error, [`RecurrenceError::NonexistentOccurrence`], naming that
//!   date: the person chooses another time rather than getting a session moved without
//!   being told. An occurrence whose local time happens twice (the hour repeated in autumn)
//!   takes the earlier instant, as [`crate::localtime::Ambiguity::Earlier`] does.
//! - A rule without `COUNT` or `UNTIL` is refused ([`RecurrenceError::Unbounded`]), and a
//!   series must stay within [`Limits`] ([`RecurrenceError::TooLong`]).
//!
//! Expansion walks the rule's periods (days, weeks or months) once, so its cost is linear in
//! the length of the series.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::Offset;
use jiff::{Span, Timestamp, Zoned};

use crate::localtime::{Ambiguity, LocalTimeError, TimeZoneName, resolve_datetime};

/// The largest `INTERVAL` accepted.
pub const MAX_INTERVAL: u32 = 99;

/// How often a rule repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// Every `INTERVAL` days.
    Daily,
    /// Every `INTERVAL` weeks.
    Weekly,
    /// Every `INTERVAL` months.
    Monthly,
}

impl Frequency {
    /// The RFC 5545 name: `DAILY`, `WEEKLY`, `MONTHLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `BYDAY` entry: a weekday, optionally with an ordinal within the month (`MONTHLY`
/// rules only): `2TU` is the second Tuesday, `-1FR` the last Friday, `TU` every Tuesday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByDay {
    /// The ordinal: 1 to 5 from the start of the month, -1 to -5 from its end; `None` for
    /// every such weekday.
    pub nth: Option<i8>,
    /// The weekday.
    pub weekday: Weekday,
}

impl ByDay {
    /// Every `weekday` of the period.
    pub fn every(weekday: Weekday) -> ByDay {
        ByDay { nth: None, weekday }
    }

    /// The `nth` `weekday` of the month (negative: counted from the end).
    pub fn nth(nth: i8, weekday: Weekday) -> ByDay {
        ByDay {
            nth: Some(nth),
            weekday,
        }
    }

    /// Ordering key for the canonical form: by weekday from Monday, then every, 1..5, -5..-1.
    fn sort_key(self) -> (i8, i8) {
        let nth = match self.nth {
            None => 0,
            Some(n) if n > 0 => n,
            Some(n) => 10 + n,
        };
        (self.weekday.to_monday_zero_offset(), nth)
    }
}

impl fmt::Display for ByDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.nth {
            write!(f, "{n}")?;
        }
        f.write_str(weekday_code(self.weekday))
    }
}

/// The end of a series given by `UNTIL` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Until {
    /// The last local date that may have an occurrence (`UNTIL=YYYYMMDD`).
    Date(Date),
    /// The last instant that may have an occurrence (`UNTIL=YYYYMMDDTHHMMSSZ`).
    Instant(Timestamp),
}

impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Until::Date(d) => write!(f, "{}", d.strftime("%Y%m%d")),
            Until::Instant(t) => write!(f, "{}", t.strftime("%Y%m%dT%H%M%SZ")),
        }
    }
}

/// How a series ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    /// After this many occurrences (`COUNT`), the first included.
    Count(u32),
    /// At a date or instant (`UNTIL`), inclusive.
    Until(Until),
}

/// The parts of a rule, to build one without going through its text. [`Rule::new`] checks
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleParts {
    /// `FREQ`.
    pub freq: Frequency,
    /// `INTERVAL`, 1 to [`MAX_INTERVAL`].
    pub interval: u32,
    /// `BYDAY`, in any order (duplicates are dropped).
    pub by_day: Vec<ByDay>,
    /// `BYMONTHDAY`, in any order (duplicates are dropped).
    pub by_month_day: Vec<i8>,
    /// `COUNT` or `UNTIL`; `None` for a rule that never ends (which [`occurrences`] refuses).
    pub end: Option<End>,
    /// `WKST`, the first day of the week (default Monday).
    pub week_start: Weekday,
}

impl RuleParts {
    /// A rule repeating every period, on the day of its first occurrence, with no end yet.
    pub fn new(freq: Frequency) -> RuleParts {
        RuleParts {
            freq,
            interval: 1,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            end: None,
            week_start: Weekday::Monday,
        }
    }
}

/// A checked recurrence rule, in canonical form (lists sorted, duplicates dropped).
///
/// Its text form ([`FromStr`], [`fmt::Display`]) is the value of an RFC 5545 `RRULE`
/// property. Parsing accepts an optional leading `RRULE:`, any case, and whitespace around
/// parts; the display is canonical: `FREQ` first, then `INTERVAL` (when not 1), `BYDAY`,
/// `BYMONTHDAY`, `WKST` (when not `MO`), then `COUNT` or `UNTIL`, without the `RRULE:`
/// prefix. Parsing the display gives the same rule back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rule {
    freq: Frequency,
    interval: u32,
    by_day: Vec<ByDay>,
    by_month_day: Vec<i8>,
    end: Option<End>,
    week_start: Weekday,
}

/// Why a recurrence rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The text is empty.
    #[error("the recurrence rule is empty")]
    Empty,
    /// A part is not of the form `KEY=VALUE`.
    #[error("{part:?} is not of the form KEY=VALUE")]
    Malformed {
        /// The part as given.
        part: String,
    },
    /// A part appears twice.
    #[error("{key} appears more than once")]
    Duplicate {
        /// The part's name, uppercase.
        key: String,
    },
    /// There is no `FREQ`.
    #[error("FREQ is missing")]
    MissingFrequency,
    /// A part or value that RFC 5545 defines (or that an extension adds) but that is not
    /// supported here, such as `FREQ=YEARLY`, `BYHOUR=9` or `BYSETPOS=-1`.
    #[error("{part} is not supported")]
    Unsupported {
        /// The part as given, `KEY=VALUE`.
        part: String,
    },
    /// A value that cannot be read: not a number, not a weekday, not a date, an empty list.
    #[error("invalid {key} value {value:?}")]
    InvalidValue {
        /// The part's name.
        key: &'static str,
        /// The value as given.
        value: String,
    },
    /// `INTERVAL` is 0 or above [`MAX_INTERVAL`].
    #[error("INTERVAL must be between 1 and {max}, not {interval}", max = MAX_INTERVAL)]
    IntervalOutOfRange {
        /// The interval given.
        interval: u32,
    },
    /// `COUNT=0`.
    #[error("COUNT must be at least 1")]
    ZeroCount,
    /// Both `COUNT` and `UNTIL`, which RFC 5545 forbids.
    #[error("COUNT and UNTIL cannot be used together")]
    CountAndUntil,
    /// `UNTIL` is a date-time that is not in UTC (no final `Z`).
    #[error("UNTIL {value:?} must be a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)")]
    UntilNotUtc {
        /// The value as given.
        value: String,
    },
    /// A `BYDAY` ordinal outside -5..=-1 and 1..=5.
    #[error("the BYDAY ordinal {nth} is out of range: a month has at most 5 of each weekday")]
    OrdinalOutOfRange {
        /// The ordinal given.
        nth: i64,
    },
    /// A `BYDAY` ordinal (such as `2TU`) in a `DAILY` or `WEEKLY` rule.
    #[error("BYDAY={by_day} needs FREQ=MONTHLY: with FREQ={freq} only weekdays are allowed")]
    OrdinalNotAllowed {
        /// The rule's frequency.
        freq: Frequency,
        /// The entry.
        by_day: ByDay,
    },
    /// A `BYMONTHDAY` outside -31..=-1 and 1..=31.
    #[error("BYMONTHDAY {day} is out of range: use 1 to 31 or -1 to -31")]
    MonthDayOutOfRange {
        /// The day given.
        day: i64,
    },
    /// A part that is not allowed (or not supported) with the rule's frequency, such as
    /// `BYMONTHDAY` in a `WEEKLY` rule.
    #[error("{key} cannot be used with FREQ={freq}")]
    NotWithFrequency {
        /// The part's name.
        key: &'static str,
        /// The rule's frequency.
        freq: Frequency,
    },
}

impl Rule {
    /// Checks `parts` and puts them in canonical form.
    pub fn new(parts: RuleParts) -> Result<Rule, RuleError> {
        let RuleParts {
            freq,
            interval,
            mut by_day,
            mut by_month_day,
            end,
            week_start,
        } = parts;
        if !(1..=MAX_INTERVAL).contains(&interval) {
            return Err(RuleError::IntervalOutOfRange { interval });
        }
        match end {
            Some(End::Count(0)) => return Err(RuleError::ZeroCount),
            Some(End::Until(until)) => check_until(until)?,
            _ => {}
        }
        for &entry in &by_day {
            match (freq, entry.nth) {
                (_, None) => {}
                (Frequency::Monthly, Some(n)) => {
                    if n == 0 || !(-5..=5).contains(&n) {
                        return Err(RuleError::OrdinalOutOfRange { nth: n.into() });
                    }
                }
                (Frequency::Daily | Frequency::Weekly, Some(_)) => {
                    return Err(RuleError::OrdinalNotAllowed { freq, by_day: entry });
                }
            }
        }
        if !by_month_day.is_empty() && freq != Frequency::Monthly {
            return Err(RuleError::NotWithFrequency {
                key: "BYMONTHDAY",
                freq,
            });
        }
        for &day in &by_month_day {
            if day == 0 || !(-31..=31).contains(&day) {
                return Err(RuleError::MonthDayOutOfRange { day: day.into() });
            }
        }
        by_day.sort_by_key(|d| d.sort_key());
        by_day.dedup();
        by_month_day.sort_unstable();
        by_month_day.dedup();
        Ok(Rule {
            freq,
            interval,
            by_day,
            by_month_day,
            end,
            week_start,
        })
    }

    /// `FREQ`.
    pub fn freq(&self) -> Frequency {
        self.freq
    }

    /// `INTERVAL` (1 when absent).
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// `BYDAY`, sorted from Monday (empty when absent).
    pub fn by_day(&self) -> &[ByDay] {
        &self.by_day
    }

    /// `BYMONTHDAY`, sorted (empty when absent).
    pub fn by_month_day(&self) -> &[i8] {
        &self.by_month_day
    }

    /// `COUNT` or `UNTIL`, `None` when the rule has neither.
    pub fn end(&self) -> Option<End> {
        self.end
    }

    /// `WKST` (Monday when absent).
    pub fn week_start(&self) -> Weekday {
        self.week_start
    }

    /// The parts, to change some and build a new rule with [`Rule::new`].
    pub fn to_parts(&self) -> RuleParts {
        RuleParts {
            freq: self.freq,
            interval: self.interval,
            by_day: self.by_day.clone(),
            by_month_day: self.by_month_day.clone(),
            end: self.end,
            week_start: self.week_start,
        }
    }
}

/// An `UNTIL` must be printable as RFC 5545 text: years 1 to 9999, whole seconds.
fn check_until(until: Until) -> Result<(), RuleError> {
    let ok = match until {
        Until::Date(d) => (1..=9999).contains(&d.year()),
        Until::Instant(t) => {
            let year = Offset::UTC.to_datetime(t).year();
            (1..=9999).contains(&year) && t.subsec_nanosecond() == 0
        }
    };
    if ok {
        Ok(())
    } else {
        Err(RuleError::InvalidValue {
            key: "UNTIL",
            value: match until {
                Until::Date(d) => d.to_string(),
                Until::Instant(t) => t.to_string(),
            },
        })
    }
}

fn weekday_code(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

fn parse_weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

/// An optionally signed decimal integer (`+2`, `-1`, `15`), ASCII digits only.
fn parse_signed(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = digits.parse().ok()?;
    Some(if negative { -value } else { value })
}

fn parse_unsigned(key: &'static str, value: &str) -> Result<u32, RuleError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RuleError::InvalidValue {
            key,
            value: value.to_owned(),
        });
    }
    value.parse().map_err(|_| RuleError::InvalidValue {
        key,
        value: value.to_owned(),
    })
}

fn parse_by_day(value: &str) -> Result<Vec<ByDay>, RuleError> {
    let invalid = || RuleError::InvalidValue {
        key: "BYDAY",
        value: value.to_owned(),
    };
    let mut out = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        if item.len() < 2 || !item.is_char_boundary(item.len() - 2) {
            return Err(invalid());
        }
        let (number, code) = item.split_at(item.len() - 2);
        let weekday = parse_weekday(code).ok_or_else(invalid)?;
        let nth = if number.is_empty() {
            None
        } else {
            let n = parse_signed(number).ok_or_else(invalid)?;
            if n == 0 || !(-5..=5).contains(&n) {
                return Err(RuleError::OrdinalOutOfRange { nth: n });
            }
            // In -5..=5 (checked just above), so it fits an i8.
            Some(i8::try_from(n).map_err(|_| RuleError::OrdinalOutOfRange { nth: n })?)
        };
        out.push(ByDay { nth, weekday });
    }
    Ok(out)
}

fn parse_by_month_day(value: &str) -> Result<Vec<i8>, RuleError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let day = parse_signed(item.trim()).ok_or_else(|| RuleError::InvalidValue {
            key: "BYMONTHDAY",
            value: value.to_owned(),
        })?;
        if day == 0 || !(-31..=31).contains(&day) {
            return Err(RuleError::MonthDayOutOfRange { day });
        }
        out.push(i8::try_from(day).map_err(|_| RuleError::MonthDayOutOfRange { day })?);
    }
    Ok(out)
}

fn parse_until(value: &str) -> Result<Until, RuleError> {
    let invalid = || RuleError::InvalidValue {
        key: "UNTIL",
        value: value.to_owned(),
    };
    let b = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<i16, RuleError> {
        let part = b.get(range).ok_or_else(invalid)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(invalid());
        }
        Ok(part.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
    };
    let date = || -> Result<Date, RuleError> {
        let year = digits(0..4)?;
        let month = i8::try_from(digits(4..6)?).map_err(|_| invalid())?;
        let day = i8::try_from(digits(6..8)?).map_err(|_| invalid())?;
        Date::new(year, month, day).map_err(|_| invalid())
    };
    match b.len() {
        8 => Ok(Until::Date(date()?)),
        15 | 16 if b[8] == b'T' => {
            if b.len() == 15 {
                return Err(RuleError::UntilNotUtc {
                    value: value.to_owned(),
                });
            }
            if b[15] != b'Z' {
                return Err(invalid());
            }
            let hour = i8::try_from(digits(9..11)?).map_err(|_| invalid())?;
            let minute = i8::try_from(digits(11..13)?).map_err(|_| invalid())?;
            let second = i8::try_from(digits(13..15)?).map_err(|_| invalid())?;
            let dt = date()?.to_datetime(jiff::civil::Time::new(hour, minute, second, 0).map_err(|_| invalid())?);
            let ts = Offset::UTC.to_timestamp(dt).map_err(|_| invalid())?;
            Ok(Until::Instant(ts))
        }
        _ => Err(invalid()),
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut text = text.trim();
        if text.len() >= 6 && text.is_char_boundary(6) && text[..6].eq_ignore_ascii_case("RRULE:") {
            text = text[6..].trim_start();
        }
        if text.is_empty() {
            return Err(RuleError::Empty);
        }
        let mut freq = None;
        let mut interval = None;
        let mut by_day = None;
        let mut by_month_day = None;
        let mut count = None;
        let mut until = None;
        let mut week_start = None;
        fn set<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), RuleError> {
            if slot.is_some() {
                return Err(RuleError::Duplicate { key: key.to_owned() });
            }
            *slot = Some(value);
            Ok(())
        }
        for part in text.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((key, value)) = part.split_once('=') else {
                return Err(RuleError::Malformed { part: part.to_owned() });
            };
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim().to_ascii_uppercase();
            let unsupported = || RuleError::Unsupported { part: part.to_owned() };
            match key.as_str() {
                "FREQ" => {
                    let f = match value.as_str() {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        "YEARLY" | "HOURLY" | "MINUTELY" | "SECONDLY" => {
                            return Err(unsupported());
                        }
                        _ => {
                            return Err(RuleError::InvalidValue { key: "FREQ", value });
                        }
                    };
                    set(&mut freq, &key, f)?;
                }
                "INTERVAL" => set(&mut interval, &key, parse_unsigned("INTERVAL", &value)?)?,
                "BYDAY" => set(&mut by_day, &key, parse_by_day(&value)?)?,
                "BYMONTHDAY" => set(&mut by_month_day, &key, parse_by_month_day(&value)?)?,
                "COUNT" => set(&mut count, &key, parse_unsigned("COUNT", &value)?)?,
                "UNTIL" => set(&mut until, &key, parse_until(&value)?)?,
                "WKST" => {
                    let w = parse_weekday(&value).ok_or_else(|| RuleError::InvalidValue {
                        key: "WKST",
                        value: value.clone(),
                    })?;
                    set(&mut week_start, &key, w)?;
                }
                _ => return Err(unsupported()),
            }
        }
        let freq = freq.ok_or(RuleError::MissingFrequency)?;
        let end = match (count, until) {
            (Some(_), Some(_)) => return Err(RuleError::CountAndUntil),
            (Some(n), None) => Some(End::Count(n)),
            (None, Some(u)) => Some(End::Until(u)),
            (None, None) => None,
        };
        Rule::new(RuleParts {
            freq,
            interval: interval.unwrap_or(1),
            by_day: by_day.unwrap_or_default(),
            by_month_day: by_month_day.unwrap_or_default(),
            end,
            week_start: week_start.unwrap_or(Weekday::Monday),
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.freq)?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if !self.by_day.is_empty() {
            f.write_str(";BYDAY=")?;
            for (i, d) in self.by_day.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{d}")?;
            }
        }
        if !self.by_month_day.is_empty() {
            f.write_str(";BYMONTHDAY=")?;
            for (i, d) in self.by_month_day.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{d}")?;
            }
        }
        if self.week_start != Weekday::Monday {
            write!(f, ";WKST={}", weekday_code(self.week_start))?;
        }
        match self.end {
            Some(End::Count(n)) => write!(f, ";COUNT={n}")?,
            Some(End::Until(u)) => write!(f, ";UNTIL={u}")?,
            None => {}
        }
        Ok(())
    }
}

impl TryFrom<String> for Rule {
    type Error = RuleError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Rule> for String {
    fn from(rule: Rule) -> String {
        rule.to_string()
    }
}

/// How long a series may be. With serde, missing fields take their default, and `max_span`
/// is written as jiff writes spans (`P2Y`, or `2 years`).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// How far after the first occurrence's local date and time the last one's may be.
    /// Default: 2 years (calendar years: from 10 March 2026 09:00, up to 10 March 2028 09:00).
    pub max_span: Span,
    /// How many occurrences a series may have at most. Default: 500.
    pub max_occurrences: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_span: Span::new().years(2),
            max_occurrences: 500,
        }
    }
}

/// Which of the [`Limits`] a series exceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitExceeded {
    /// It has more occurrences than `max`.
    Occurrences {
        /// [`Limits::max_occurrences`].
        max: usize,
    },
    /// It has an occurrence after `latest_allowed`, the first occurrence plus
    /// [`Limits::max_span`].
    Span {
        /// The latest local date and time allowed.
        latest_allowed: DateTime,
        /// The first occurrence after it.
        occurrence: DateTime,
    },
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitExceeded::Occurrences { max } => write!(f, "more than {max} occurrences"),
            LimitExceeded::Span {
                latest_allowed,
                occurrence,
            } => write!(
                f,
                "an occurrence on {occurrence}, after the latest allowed, {latest_allowed}"
            ),
        }
    }
}

/// Why a rule cannot be expanded into a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    /// The rule has neither `COUNT` nor `UNTIL`.
    #[error("the recurrence has no end: give a number of occurrences or an end date")]
    Unbounded,
    /// The first date is not one of the days the rule chooses.
    #[error("the first date, {first}, must be one of the days chosen by the recurrence")]
    FirstNotInRule {
        /// The first date.
        first: Date,
    },
    /// `UNTIL` is before the first occurrence.
    #[error("the recurrence ends ({until}) before its first occurrence ({first})")]
    EndsBeforeStart {
        /// The first occurrence's local date and time.
        first: DateTime,
        /// The rule's `UNTIL`.
        until: Until,
    },
    /// The rule produces no occurrence at all. (Since the first date must match the rule and
    /// an `UNTIL` before it is [`RecurrenceError::EndsBeforeStart`], this is not expected; it
    /// is kept so that no outcome goes unnamed.)
    #[error("the recurrence has no occurrence")]
    NoOccurrence,
    /// An occurrence falls in the hour skipped when the clocks go forward.
    #[error(
        "the occurrence on {local} does not exist in {zone}: \
         the clocks go from {gap_start} straight to {gap_end}"
    )]
    NonexistentOccurrence {
        /// The occurrence's local date and time.
        local: DateTime,
        /// The zone.
        zone: TimeZoneName,
        /// The first local time skipped.
        gap_start: DateTime,
        /// The local time the clocks jump to.
        gap_end: DateTime,
    },
    /// The series exceeds the [`Limits`].
    #[error("the recurrence is too long: {exceeded}")]
    TooLong {
        /// Which limit.
        exceeded: LimitExceeded,
    },
    /// The series reaches beyond the dates that can be represented (around year 9999).
    #[error("the recurrence goes beyond the supported range of dates after {local}")]
    OutOfRange {
        /// The occurrence that cannot be represented as an instant, or, when the calendar
        /// ends before `COUNT` is reached, the last occurrence.
        local: DateTime,
    },
}

/// Expands `rule` from its first occurrence `first` (local date and time in `zone`) into the
/// instants of every occurrence, in order. See the [module documentation](self) for the exact
/// meaning, and [`RecurrenceError`] for what is refused.
pub fn occurrences(
    rule: &Rule,
    first: DateTime,
    zone: &TimeZoneName,
    limits: &Limits,
) -> Result<Vec<Zoned>, RecurrenceError> {
    let end = rule.end.ok_or(RecurrenceError::Unbounded)?;
    let too_many = RecurrenceError::TooLong {
        exceeded: LimitExceeded::Occurrences {
            max: limits.max_occurrences,
        },
    };
    // COUNT as a number of occurrences (saturated: a COUNT that does not fit is too many).
    let count = match end {
        End::Count(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        End::Until(_) => None,
    };
    if count.is_some_and(|n| n > limits.max_occurrences) {
        return Err(too_many);
    }
    let latest_allowed = first.checked_add(limits.max_span).unwrap_or(DateTime::MAX);
    let mut dates = Dates::new(rule, first.date())?;
    let time = first.time();
    let mut out: Vec<Zoned> = Vec::new();
    while let Some(date) = dates.next() {
        if count.is_some_and(|n| out.len() >= n) {
            break;
        }
        if let End::Until(Until::Date(last)) = end
            && date > last
        {
            break;
        }
        let local = date.to_datetime(time);
        let zoned = match resolve_datetime(local, zone, Ambiguity::Earlier) {
            Ok(zoned) => zoned,
            Err(LocalTimeError::Nonexistent {
                local,
                zone,
                gap_start,
                gap_end,
            }) => {
                if let End::Until(Until::Instant(last)) = end {
                    // Every local time in the gap stands for the instant the clocks jump,
                    // which is also the instant of `gap_end`: past UNTIL, the series is over.
                    let jump = resolve_datetime(gap_end, &zone, Ambiguity::Earlier);
                    if jump.is_ok_and(|z| z.timestamp() > last) {
                        break;
                    }
                }
                return Err(RecurrenceError::NonexistentOccurrence {
                    local,
                    zone,
                    gap_start,
                    gap_end,
                });
            }
            Err(LocalTimeError::OutOfRange { local, .. }) => {
                return Err(RecurrenceError::OutOfRange { local });
            }
            Err(LocalTimeError::Ambiguous { earlier, .. }) => {
                // Only returned for `Ambiguity::Reject`, which is not asked here; should that
                // change, the earlier instant is still the documented choice.
                earlier
            }
        };
        if let End::Until(Until::Instant(last)) = end
            && zoned.timestamp() > last
        {
            break;
        }
        if !out.is_empty() && local > latest_allowed {
            return Err(RecurrenceError::TooLong {
                exceeded: LimitExceeded::Span {
                    latest_allowed,
                    occurrence: local,
                },
            });
        }
        if out.len() >= limits.max_occurrences {
            return Err(too_many);
        }
        out.push(zoned);
    }
    if let (Some(n), Some(last)) = (count, out.last())
        && out.len() < n
    {
        // The calendar ended (year 9999) before COUNT occurrences.
        return Err(RecurrenceError::OutOfRange { local: last.datetime() });
    }
    if out.is_empty() {
        return Err(match end {
            End::Until(until) => RecurrenceError::EndsBeforeStart { first, until },
            End::Count(_) => RecurrenceError::NoOccurrence,
        });
    }
    Ok(out)
}

/// The candidate dates of a rule, in order, from its first date on. One period (a day, a
/// week or a month, times `INTERVAL`) is computed at a time.
struct Dates<'r> {
    rule: &'r Rule,
    first: Date,
    /// The first day of the week containing `first` (weekly rules).
    week_start: Date,
    /// `first`'s month as a count of months since year 0 (monthly rules).
    first_month: i64,
    /// The index of the next period to compute.
    period: i64,
    /// The candidates of the current period, sorted.
    buffer: Vec<Date>,
    /// The next candidate of `buffer` to hand out.
    position: usize,
}

impl<'r> Dates<'r> {
    /// Starts at `first`, which must be one of the rule's dates.
    fn new(rule: &'r Rule, first: Date) -> Result<Dates<'r>, RecurrenceError> {
        let back = i64::from(first.weekday().since(rule.week_start));
        // Only fails in the first week of year -9999, where any week start will do.
        let week_start = add_days(first, -back).unwrap_or(first);
        let mut dates = Dates {
            rule,
            first,
            week_start,
            first_month: i64::from(first.year()) * 12 + i64::from(first.month()) - 1,
            period: 0,
            buffer: Vec::with_capacity(8),
            position: 0,
        };
        dates.fill(0);
        if !dates.buffer.contains(&first) {
            return Err(RecurrenceError::FirstNotInRule { first });
        }
        dates.period = 1;
        Ok(dates)
    }

    /// The next candidate date, `None` past the end of the calendar.
    fn next(&mut self) -> Option<Date> {
        loop {
            while let Some(&date) = self.buffer.get(self.position) {
                self.position += 1;
                if date >= self.first {
                    return Some(date);
                }
            }
            if !self.fill(self.period) {
                return None;
            }
            self.period += 1;
        }
    }

    /// Puts the candidates of period `k` in the buffer; `false` past the end of the calendar.
    fn fill(&mut self, k: i64) -> bool {
        self.buffer.clear();
        self.position = 0;
        let step = k * i64::from(self.rule.interval);
        match self.rule.freq {
            Frequency::Daily => {
                let Some(date) = add_days(self.first, step) else {
                    return false;
                };
                let by_day = &self.rule.by_day;
                if by_day.is_empty() || by_day.iter().any(|d| d.weekday == date.weekday()) {
                    self.buffer.push(date);
                }
            }
            Frequency::Weekly => {
                let Some(start) = add_days(self.week_start, step * 7) else {
                    return false;
                };
                if self.rule.by_day.is_empty() {
                    let offset = self.first.weekday().since(self.rule.week_start);
                    match add_days(start, offset.into()) {
                        Some(d) => self.buffer.push(d),
                        None => return false,
                    }
                } else {
                    for d in &self.rule.by_day {
                        match add_days(start, d.weekday.since(self.rule.week_start).into()) {
                            Some(d) => self.buffer.push(d),
                            None => return false,
                        }
                    }
                    self.buffer.sort_unstable();
                }
            }
            Frequency::Monthly => {
                let month = self.first_month + step;
                let (Ok(year), Ok(month)) = (
                    i16::try_from(month.div_euclid(12)),
                    i8::try_from(month.rem_euclid(12) + 1),
                ) else {
                    return false;
                };
                let Ok(first_of_month) = Date::new(year, month, 1) else {
                    return false;
                };
                month_days(self.rule, self.first.day(), first_of_month, &mut self.buffer);
            }
        }
        true
    }
}

fn add_days(date: Date, days: i64) -> Option<Date> {
    let span = Span::new().try_days(days).ok()?;
    date.checked_add(span).ok()
}

/// The days of the month starting at `first_of_month` chosen by a monthly rule, sorted.
/// `default_day` is the first occurrence's day, used when the rule has neither `BYDAY` nor
/// `BYMONTHDAY`.
fn month_days(rule: &Rule, default_day: i8, first_of_month: Date, out: &mut Vec<Date>) {
    let last = first_of_month.days_in_month();
    let weekday_of_1st = first_of_month.weekday();
    let weekday_of = |day: i8| weekday_of_1st.wrapping_add(day - 1);
    let mut days: Vec<i8> = Vec::with_capacity(8);
    if !rule.by_month_day.is_empty() {
        for &d in &rule.by_month_day {
            let day = if d > 0 { d } else { last + d + 1 };
            if (1..=last).contains(&day)
                && (rule.by_day.is_empty()
                    || rule
                        .by_day
                        .iter()
                        .any(|b| b.weekday == weekday_of(day) && nth_matches(b.nth, day, last)))
            {
                days.push(day);
            }
        }
    } else if !rule.by_day.is_empty() {
        for b in &rule.by_day {
            let first_such = 1 + b.weekday.since(weekday_of_1st);
            match b.nth {
                None => days.extend((first_such..=last).step_by(7)),
                Some(n) if n > 0 => {
                    let day = first_such + 7 * (n - 1);
                    if day <= last {
                        days.push(day);
                    }
                }
                Some(n) => {
                    let last_such = last - weekday_of(last).since(b.weekday);
                    let day = last_such + 7 * (n + 1);
                    if day >= 1 {
                        days.push(day);
                    }
                }
            }
        }
    } else if default_day <= last {
        days.push(default_day);
    }
    days.sort_unstable();
    days.dedup();
    for day in days {
        if let Ok(date) = Date::new(first_of_month.year(), first_of_month.month(), day) {
            out.push(date);
        }
    }
}

/// Whether `day` of a month of `last` days is the `nth` of its weekday (any when `None`).
fn nth_matches(nth: Option<i8>, day: i8, last: i8) -> bool {
    match nth {
        None => true,
        Some(n) if n > 0 => (day - 1) / 7 + 1 == n,
        Some(n) => (last - day) / 7 + 1 == -n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn rule(s: &str) -> Rule {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn zone(name: &str) -> TimeZoneName {
        TimeZoneName::parse(name).unwrap()
    }

    fn dates(rule_text: &str, first: DateTime, zone_name: &str) -> Vec<String> {
        occurrences(&rule(rule_text), first, &zone(zone_name), &Limits::default())
            .unwrap_or_else(|e| panic!("{rule_text}: {e}"))
            .iter()
            .map(|z| z.datetime().date().to_string())
            .collect()
    }

    fn err(rule_text: &str, first: DateTime, zone_name: &str, limits: &Limits) -> RecurrenceError {
        occurrences(&rule(rule_text), first, &zone(zone_name), limits).unwrap_err()
    }

    #[test]
    fn parse_and_display_canonical() {
        let cases = [
            ("FREQ=DAILY;COUNT=3", "FREQ=DAILY;COUNT=3"),
            ("RRULE:FREQ=DAILY;COUNT=3", "FREQ=DAILY;COUNT=3"),
            (
                "rrule: freq=weekly ; byday=fr,mo,we,mo ; interval=1; count=5;",
                "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=5",
            ),
            (
                "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=TU,SU;UNTIL=19971224T000000Z",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU;UNTIL=19971224T000000Z",
            ),
            ("FREQ=WEEKLY;WKST=MO;UNTIL=20261231", "FREQ=WEEKLY;UNTIL=20261231"),
            (
                "FREQ=MONTHLY;BYDAY=-1FR,+2TU,TU,1TU,-5TU;COUNT=4",
                "FREQ=MONTHLY;BYDAY=TU,1TU,2TU,-5TU,-1FR;COUNT=4",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=15,-1,1,15;INTERVAL=99",
                "FREQ=MONTHLY;INTERVAL=99;BYMONTHDAY=-1,1,15",
            ),
            (
                "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=5",
                "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=5",
            ),
            (
                "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260101T120000z",
                "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260101T120000Z",
            ),
        ];
        for (input, canonical) in cases {
            let r = rule(input);
            assert_eq!(r.to_string(), canonical, "{input}");
            assert_eq!(rule(canonical), r, "{input}");
            assert_eq!(rule(&r.to_string()).to_string(), canonical);
        }
    }

    #[test]
    fn accessors_and_parts() {
        let r = rule("FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU,-1FR;UNTIL=20270630");
        assert_eq!(r.freq(), Frequency::Monthly);
        assert_eq!(r.interval(), 2);
        assert_eq!(
            r.by_day(),
            [ByDay::nth(2, Weekday::Tuesday), ByDay::nth(-1, Weekday::Friday)]
        );
        assert!(r.by_month_day().is_empty());
        assert_eq!(r.end(), Some(End::Until(Until::Date(date(2027, 6, 30)))));
        assert_eq!(r.week_start(), Weekday::Monday);
        assert_eq!(Rule::new(r.to_parts()), Ok(r.clone()));

        let mut parts = RuleParts::new(Frequency::Weekly);
        parts.by_day = vec![ByDay::every(Weekday::Friday), ByDay::every(Weekday::Monday)];
        parts.end = Some(End::Count(10));
        assert_eq!(
            Rule::new(parts).unwrap().to_string(),
            "FREQ=WEEKLY;BYDAY=MO,FR;COUNT=10"
        );
        let until: Timestamp = "2026-12-31T23:00:00Z".parse().unwrap();
        let mut parts = RuleParts::new(Frequency::Daily);
        parts.end = Some(End::Until(Until::Instant(until)));
        assert_eq!(
            Rule::new(parts.clone()).unwrap().to_string(),
            "FREQ=DAILY;UNTIL=20261231T230000Z"
        );
        parts.end = Some(End::Until(Until::Instant(until + jiff::SignedDuration::from_millis(1))));
        assert!(matches!(
            Rule::new(parts),
            Err(RuleError::InvalidValue { key: "UNTIL", .. })
        ));
    }

    #[test]
    fn serde_as_text() {
        fn is_serde<T: serde::Serialize + serde::de::DeserializeOwned>() {}
        is_serde::<Rule>();
        let r = rule("FREQ=DAILY;COUNT=2");
        assert_eq!(String::from(r.clone()), "FREQ=DAILY;COUNT=2");
        assert_eq!(Rule::try_from("FREQ=DAILY;COUNT=2".to_owned()), Ok(r));
    }

    #[test]
    fn parse_errors_are_precise() {
        use RuleError::*;
        let cases: Vec<(&str, RuleError)> = vec![
            ("", Empty),
            ("  ", Empty),
            ("RRULE:", Empty),
            ("FREQ", Malformed { part: "FREQ".into() }),
            ("FREQ=DAILY;COUNT", Malformed { part: "COUNT".into() }),
            ("FREQ=DAILY;FREQ=WEEKLY", Duplicate { key: "FREQ".into() }),
            ("FREQ=DAILY;count=2;COUNT=3", Duplicate { key: "COUNT".into() }),
            ("COUNT=3", MissingFrequency),
            (
                "FREQ=YEARLY;COUNT=3",
                Unsupported {
                    part: "FREQ=YEARLY".into(),
                },
            ),
            (
                "FREQ=HOURLY",
                Unsupported {
                    part: "FREQ=HOURLY".into(),
                },
            ),
            (
                "FREQ=DAILY;BYHOUR=9",
                Unsupported {
                    part: "BYHOUR=9".into(),
                },
            ),
            (
                "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1",
                Unsupported {
                    part: "BYSETPOS=-1".into(),
                },
            ),
            (
                "FREQ=MONTHLY;BYMONTH=1",
                Unsupported {
                    part: "BYMONTH=1".into(),
                },
            ),
            (
                "FREQ=WEEKLY;byweekno=20",
                Unsupported {
                    part: "byweekno=20".into(),
                },
            ),
            (
                "FREQ=DAILY;BYYEARDAY=1",
                Unsupported {
                    part: "BYYEARDAY=1".into(),
                },
            ),
            (
                "FREQ=DAILY;BYMINUTE=0",
                Unsupported {
                    part: "BYMINUTE=0".into(),
                },
            ),
            (
                "FREQ=DAILY;BYSECOND=0",
                Unsupported {
                    part: "BYSECOND=0".into(),
                },
            ),
            ("FREQ=DAILY;X-FOO=1", Unsupported { part: "X-FOO=1".into() }),
            (
                "FREQ=DAILY;RSCALE=GREGORIAN",
                Unsupported {
                    part: "RSCALE=GREGORIAN".into(),
                },
            ),
            (
                "FREQ=FORTNIGHTLY",
                InvalidValue {
                    key: "FREQ",
                    value: "FORTNIGHTLY".into(),
                },
            ),
            ("FREQ=DAILY;INTERVAL=0", IntervalOutOfRange { interval: 0 }),
            ("FREQ=DAILY;INTERVAL=100", IntervalOutOfRange { interval: 100 }),
            (
                "FREQ=DAILY;INTERVAL=-1",
                InvalidValue {
                    key: "INTERVAL",
                    value: "-1".into(),
                },
            ),
            (
                "FREQ=DAILY;INTERVAL=two",
                InvalidValue {
                    key: "INTERVAL",
                    value: "TWO".into(),
                },
            ),
            (
                "FREQ=DAILY;INTERVAL=99999999999",
                InvalidValue {
                    key: "INTERVAL",
                    value: "99999999999".into(),
                },
            ),
            ("FREQ=DAILY;COUNT=0", ZeroCount),
            (
                "FREQ=DAILY;COUNT=",
                InvalidValue {
                    key: "COUNT",
                    value: "".into(),
                },
            ),
            (
                "FREQ=DAILY;COUNT=+3",
                InvalidValue {
                    key: "COUNT",
                    value: "+3".into(),
                },
            ),
            ("FREQ=DAILY;COUNT=3;UNTIL=20260101", CountAndUntil),
            (
                "FREQ=DAILY;UNTIL=20260101T090000",
                UntilNotUtc {
                    value: "20260101T090000".into(),
                },
            ),
            (
                "FREQ=DAILY;UNTIL=20260230",
                InvalidValue {
                    key: "UNTIL",
                    value: "20260230".into(),
                },
            ),
            (
                "FREQ=DAILY;UNTIL=2026-01-01",
                InvalidValue {
                    key: "UNTIL",
                    value: "2026-01-01".into(),
                },
            ),
            (
                "FREQ=DAILY;UNTIL=20260101T250000Z",
                InvalidValue {
                    key: "UNTIL",
                    value: "20260101T250000Z".into(),
                },
            ),
            (
                "FREQ=DAILY;UNTIL=20260101X090000Z",
                InvalidValue {
                    key: "UNTIL",
                    value: "20260101X090000Z".into(),
                },
            ),
            (
                "FREQ=DAILY;UNTIL=00000101",
                InvalidValue {
                    key: "UNTIL",
                    value: "0000-01-01".into(),
                },
            ),
            (
                "FREQ=WEEKLY;BYDAY=XX",
                InvalidValue {
                    key: "BYDAY",
                    value: "XX".into(),
                },
            ),
            (
                "FREQ=WEEKLY;BYDAY=",
                InvalidValue {
                    key: "BYDAY",
                    value: "".into(),
                },
            ),
            (
                "FREQ=WEEKLY;BYDAY=MO,,TU",
                InvalidValue {
                    key: "BYDAY",
                    value: "MO,,TU".into(),
                },
            ),
            (
                "FREQ=WEEKLY;BYDAY=MONDAY",
                InvalidValue {
                    key: "BYDAY",
                    value: "MONDAY".into(),
                },
            ),
            (
                "FREQ=MONTHLY;BYDAY=XTU",
                InvalidValue {
                    key: "BYDAY",
                    value: "XTU".into(),
                },
            ),
            (
                "FREQ=MONTHLY;BYDAY=été",
                InvalidValue {
                    key: "BYDAY",
                    value: "éTé".into(),
                },
            ),
            ("FREQ=MONTHLY;BYDAY=6TU", OrdinalOutOfRange { nth: 6 }),
            ("FREQ=MONTHLY;BYDAY=0TU", OrdinalOutOfRange { nth: 0 }),
            ("FREQ=MONTHLY;BYDAY=-53MO", OrdinalOutOfRange { nth: -53 }),
            (
                "FREQ=WEEKLY;BYDAY=2TU",
                OrdinalNotAllowed {
                    freq: Frequency::Weekly,
                    by_day: ByDay::nth(2, Weekday::Tuesday),
                },
            ),
            (
                "FREQ=DAILY;BYDAY=-1FR",
                OrdinalNotAllowed {
                    freq: Frequency::Daily,
                    by_day: ByDay::nth(-1, Weekday::Friday),
                },
            ),
            ("FREQ=MONTHLY;BYMONTHDAY=0", MonthDayOutOfRange { day: 0 }),
            ("FREQ=MONTHLY;BYMONTHDAY=32", MonthDayOutOfRange { day: 32 }),
            ("FREQ=MONTHLY;BYMONTHDAY=-32", MonthDayOutOfRange { day: -32 }),
            ("FREQ=MONTHLY;BYMONTHDAY=1000", MonthDayOutOfRange { day: 1000 }),
            (
                "FREQ=MONTHLY;BYMONTHDAY=1.5",
                InvalidValue {
                    key: "BYMONTHDAY",
                    value: "1.5".into(),
                },
            ),
            (
                "FREQ=WEEKLY;BYMONTHDAY=1",
                NotWithFrequency {
                    key: "BYMONTHDAY",
                    freq: Frequency::Weekly,
                },
            ),
            (
                "FREQ=DAILY;BYMONTHDAY=1",
                NotWithFrequency {
                    key: "BYMONTHDAY",
                    freq: Frequency::Daily,
                },
            ),
            (
                "FREQ=WEEKLY;WKST=XX",
                InvalidValue {
                    key: "WKST",
                    value: "XX".into(),
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<Rule>(), Err(expected), "{input}");
        }
    }

    #[test]
    fn error_messages_name_the_values() {
        let e = "FREQ=YEARLY".parse::<Rule>().unwrap_err();
        assert_eq!(e.to_string(), "FREQ=YEARLY is not supported");
        let e = "FREQ=WEEKLY;BYDAY=2TU".parse::<Rule>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "BYDAY=2TU needs FREQ=MONTHLY: with FREQ=WEEKLY only weekdays are allowed"
        );
    }

    // Examples of RFC 5545 section 3.8.5.3, DTSTART in America/New_York at 09:00.

    #[test]
    fn rfc_daily_for_10() {
        let d = dates(
            "FREQ=DAILY;COUNT=10",
            date(1997, 9, 2).at(9, 0, 0, 0),
            "America/New_York",
        );
        assert_eq!(d.len(), 10);
        assert_eq!(d[0], "1997-09-02");
        assert_eq!(d[9], "1997-09-11");
    }

    #[test]
    fn rfc_every_other_week_mwf_until() {
        let list = occurrences(
            &rule("FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR"),
            date(1997, 9, 1).at(9, 0, 0, 0),
            &zone("America/New_York"),
            &Limits::default(),
        )
        .unwrap();
        let got: Vec<String> = list
            .iter()
            .map(|z| z.datetime().strftime("%m-%d").to_string())
            .collect();
        assert_eq!(
            got,
            [
                "09-01", "09-03", "09-05", "09-15", "09-17", "09-19", "09-29", "10-01", "10-03", "10-13", "10-15",
                "10-17", "10-27", "10-29", "10-31", "11-10", "11-12", "11-14", "11-24", "11-26", "11-28", "12-08",
                "12-10", "12-12", "12-22"
            ]
        );
        // 09:00 EDT then 09:00 EST.
        assert_eq!(list[0].timestamp().to_string(), "1997-09-01T13:00:00Z");
        assert_eq!(list[24].timestamp().to_string(), "1997-12-22T14:00:00Z");
    }

    #[test]
    fn rfc_wkst_changes_the_result() {
        let mo = dates(
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
            date(1997, 8, 5).at(9, 0, 0, 0),
            "America/New_York",
        );
        assert_eq!(mo, ["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"]);
        let su = dates(
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
            date(1997, 8, 5).at(9, 0, 0, 0),
            "America/New_York",
        );
        assert_eq!(su, ["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"]);
    }

    #[test]
    fn rfc_monthly_first_friday() {
        let d = dates(
            "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
            date(1997, 9, 5).at(9, 0, 0, 0),
            "America/New_York",
        );
        assert_eq!(
            d,
            [
                "1997-09-05",
                "1997-10-03",
                "1997-11-07",
                "1997-12-05",
                "1998-01-02",
                "1998-02-06",
                "1998-03-06",
                "1998-04-03",
                "1998-05-01",
                "1998-06-05"
            ]
        );
    }

    #[test]
    fn rfc_monthly_second_to_last_monday() {
        let d = dates(
            "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO",
            date(1997, 9, 22).at(9, 0, 0, 0),
            "America/New_York",
        );
        assert_eq!(
            d,
            [
                "1997-09-22",
                "1997-10-20",
                "1997-11-17",
                "1997-12-22",
                "1998-01-19",
                "1998-02-16"
            ]
        );
    }

    #[test]
    fn rfc_monthly_third_to_last_day() {
        let d = dates(
            "FREQ=MONTHLY;BYMONTHDAY=-3;COUNT=6",
            date(1997, 9, 28).at(9, 0, 0, 0),
            "America/New_York",
        );
        assert_eq!(
            d,
            [
                "1997-09-28",
                "1997-10-29",
                "1997-11-28",
                "1997-12-29",
                "1998-01-29",
                "1998-02-26"
            ]
        );
    }

    #[test]
    fn rfc_friday_the_13th() {
        let list = occurrences(
            &rule("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=5"),
            date(1998, 2, 13).at(9, 0, 0, 0),
            &zone("America/New_York"),
            &Limits {
                max_span: Span::new().years(5),
                max_occurrences: 10,
            },
        )
        .unwrap();
        let d: Vec<String> = list.iter().map(|z| z.datetime().date().to_string()).collect();
        assert_eq!(
            d,
            ["1998-02-13", "1998-03-13", "1998-11-13", "1999-08-13", "2000-10-13"]
        );
    }

    #[test]
    fn default_days_come_from_the_first_date() {
        // Weekly without BYDAY: the first date's weekday (a Wednesday).
        let d = dates("FREQ=WEEKLY;COUNT=3", date(2026, 1, 7).at(9, 0, 0, 0), "Europe/Paris");
        assert_eq!(d, ["2026-01-07", "2026-01-14", "2026-01-21"]);
        // Monthly without BYDAY or BYMONTHDAY: the first date's day; months without it skipped.
        let d = dates("FREQ=MONTHLY;COUNT=4", date(2026, 1, 30).at(9, 0, 0, 0), "Europe/Paris");
        assert_eq!(d, ["2026-01-30", "2026-03-30", "2026-04-30", "2026-05-30"]);
    }

    #[test]
    fn first_date_must_match_the_rule() {
        let first = date(2026, 1, 7).at(9, 0, 0, 0); // a Wednesday
        for r in [
            "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
            "FREQ=DAILY;BYDAY=MO,TU;COUNT=3",
            "FREQ=MONTHLY;BYMONTHDAY=1;COUNT=3",
            "FREQ=MONTHLY;BYDAY=2WE;COUNT=3",
            "FREQ=MONTHLY;BYDAY=-1WE;COUNT=3",
            "FREQ=MONTHLY;BYDAY=WE;BYMONTHDAY=8;COUNT=3",
        ] {
            assert_eq!(
                err(r, first, "Europe/Paris", &Limits::default()),
                RecurrenceError::FirstNotInRule { first: first.date() },
                "{r}"
            );
        }
        // And these match: the first Wednesday, every Wednesday, the 7th.
        for r in [
            "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3",
            "FREQ=MONTHLY;BYDAY=1WE;COUNT=3",
            "FREQ=MONTHLY;BYDAY=-4WE;COUNT=3",
            "FREQ=MONTHLY;BYDAY=WE;COUNT=3",
            "FREQ=MONTHLY;BYMONTHDAY=7;COUNT=3",
            "FREQ=DAILY;BYDAY=WE;COUNT=3",
        ] {
            let d = dates(r, first, "Europe/Paris");
            assert_eq!(d[0], "2026-01-07", "{r}");
            assert_eq!(d.len(), 3, "{r}");
        }
        let e = err(
            "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
            first,
            "Europe/Paris",
            &Limits::default(),
        );
        assert_eq!(
            e.to_string(),
            "the first date, 2026-01-07, must be one of the days chosen by the recurrence"
        );
    }

    #[test]
    fn weekly_days_before_the_first_in_its_week_are_skipped() {
        let d = dates(
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=4",
            date(2026, 1, 7).at(9, 0, 0, 0),
            "Europe/Paris",
        );
        assert_eq!(d, ["2026-01-07", "2026-01-09", "2026-01-12", "2026-01-14"]);
    }

    #[test]
    fn keeps_local_time_across_dst_in_both_hemispheres() {
        let list = occurrences(
            &rule("FREQ=WEEKLY;UNTIL=20261231"),
            date(2026, 3, 2).at(18, 0, 0, 0),
            &zone("Australia/Sydney"),
            &Limits::default(),
        )
        .unwrap();
        assert!(
            list.iter()
                .all(|z| z.datetime().time() == jiff::civil::time(18, 0, 0, 0))
        );
        let offsets: Vec<i32> = list.iter().map(|z| z.offset().seconds() / 3600).collect();
        // AEDT (+11) until 5 April, AEST (+10) until 4 October, AEDT again.
        assert_eq!(list[4].datetime().date(), date(2026, 3, 30));
        assert_eq!(offsets[4], 11);
        assert_eq!(offsets[5], 10);
        let october = list
            .iter()
            .position(|z| z.datetime().date() == date(2026, 10, 5))
            .unwrap();
        assert_eq!(offsets[october - 1], 10);
        assert_eq!(offsets[october], 11);
    }

    #[test]
    fn until_is_inclusive() {
        let first = date(2026, 10, 20).at(9, 0, 0, 0);
        // Date UNTIL: the whole local day.
        let d = dates("FREQ=DAILY;UNTIL=20261022", first, "Europe/Paris");
        assert_eq!(d, ["2026-10-20", "2026-10-21", "2026-10-22"]);
        // UTC UNTIL: at the instant exactly (09:00 CEST is 07:00 UTC).
        let d = dates("FREQ=DAILY;UNTIL=20261022T070000Z", first, "Europe/Paris");
        assert_eq!(d.len(), 3);
        let d = dates("FREQ=DAILY;UNTIL=20261022T065959Z", first, "Europe/Paris");
        assert_eq!(d.len(), 2);
        // UNTIL equal to the first occurrence.
        let d = dates("FREQ=DAILY;UNTIL=20261020T070000Z", first, "Europe/Paris");
        assert_eq!(d, ["2026-10-20"]);
    }

    #[test]
    fn until_before_start() {
        let first = date(2026, 10, 20).at(9, 0, 0, 0);
        assert_eq!(
            err("FREQ=DAILY;UNTIL=20261019", first, "Europe/Paris", &Limits::default()),
            RecurrenceError::EndsBeforeStart {
                first,
                until: Until::Date(date(2026, 10, 19)),
            }
        );
        let e = err(
            "FREQ=DAILY;UNTIL=20261020T065959Z",
            first,
            "Europe/Paris",
            &Limits::default(),
        );
        assert!(matches!(
            e,
            RecurrenceError::EndsBeforeStart {
                until: Until::Instant(_),
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "the recurrence ends (20261020T065959Z) before its first occurrence (2026-10-20T09:00:00)"
        );
    }

    #[test]
    fn unbounded_is_refused() {
        let first = date(2026, 1, 5).at(9, 0, 0, 0);
        for r in ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO", "FREQ=MONTHLY;BYDAY=1MO"] {
            assert_eq!(
                err(r, first, "Europe/Paris", &Limits::default()),
                RecurrenceError::Unbounded
            );
        }
    }

    #[test]
    fn limits() {
        let first = date(2026, 1, 5).at(9, 0, 0, 0);
        let defaults = Limits::default();
        assert_eq!(defaults.max_occurrences, 500);
        // COUNT above the maximum: refused before expanding.
        assert_eq!(
            err("FREQ=DAILY;COUNT=501", first, "Europe/Paris", &defaults),
            RecurrenceError::TooLong {
                exceeded: LimitExceeded::Occurrences { max: 500 }
            }
        );
        assert_eq!(
            err("FREQ=DAILY;COUNT=4294967295", first, "Europe/Paris", &defaults),
            RecurrenceError::TooLong {
                exceeded: LimitExceeded::Occurrences { max: 500 }
            }
        );
        // Exactly the maximum is fine.
        let l = Limits {
            max_span: Span::new().years(2),
            max_occurrences: 10,
        };
        assert_eq!(
            occurrences(&rule("FREQ=DAILY;COUNT=10"), first, &zone("Europe/Paris"), &l)
                .unwrap()
                .len(),
            10
        );
        // UNTIL giving more occurrences than allowed.
        assert_eq!(
            err("FREQ=DAILY;UNTIL=20260120", first, "Europe/Paris", &l),
            RecurrenceError::TooLong {
                exceeded: LimitExceeded::Occurrences { max: 10 }
            }
        );
        // Span: two years after the first occurrence, inclusive.
        let d = dates("FREQ=MONTHLY;UNTIL=20280105", first, "Europe/Paris");
        assert_eq!(d.len(), 25);
        assert_eq!(
            err("FREQ=MONTHLY;UNTIL=20280205", first, "Europe/Paris", &defaults),
            RecurrenceError::TooLong {
                exceeded: LimitExceeded::Span {
                    latest_allowed: date(2028, 1, 5).at(9, 0, 0, 0),
                    occurrence: date(2028, 2, 5).at(9, 0, 0, 0),
                }
            }
        );
        // A COUNT that cannot be reached within the span.
        assert!(matches!(
            err("FREQ=MONTHLY;INTERVAL=12;COUNT=4", first, "Europe/Paris", &defaults),
            RecurrenceError::TooLong {
                exceeded: LimitExceeded::Span { .. }
            }
        ));
        // A far UNTIL stops at the first occurrence past the span, without walking to it.
        assert!(matches!(
            err(
                "FREQ=DAILY;UNTIL=99991231",
                first,
                "Europe/Paris",
                &Limits {
                    max_span: Span::new().years(2),
                    max_occurrences: 100_000
                }
            ),
            RecurrenceError::TooLong {
                exceeded: LimitExceeded::Span { .. }
            }
        ));
        // UNTIL far away but no occurrence beyond the span: fine.
        let d = dates(
            "FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20280130",
            date(2026, 1, 31).at(9, 0, 0, 0),
            "Europe/Paris",
        );
        assert_eq!(d.last().map(String::as_str), Some("2027-12-31"));
        let e = err("FREQ=DAILY;COUNT=501", first, "Europe/Paris", &defaults);
        assert_eq!(e.to_string(), "the recurrence is too long: more than 500 occurrences");
    }

    #[test]
    fn nonexistent_occurrence_fails_the_series() {
        let e = err(
            "FREQ=WEEKLY;BYDAY=SU;COUNT=10",
            date(2026, 3, 15).at(2, 30, 0, 0),
            "Europe/Paris",
            &Limits::default(),
        );
        assert_eq!(
            e,
            RecurrenceError::NonexistentOccurrence {
                local: date(2026, 3, 29).at(2, 30, 0, 0),
                zone: zone("Europe/Paris"),
                gap_start: date(2026, 3, 29).at(2, 0, 0, 0),
                gap_end: date(2026, 3, 29).at(3, 0, 0, 0),
            }
        );
        assert_eq!(
            e.to_string(),
            "the occurrence on 2026-03-29T02:30:00 does not exist in Europe/Paris: \
             the clocks go from 2026-03-29T02:00:00 straight to 2026-03-29T03:00:00"
        );
        // Also when it is the first occurrence.
        assert!(matches!(
            err(
                "FREQ=DAILY;COUNT=2",
                date(2026, 3, 29).at(2, 30, 0, 0),
                "Europe/Paris",
                &Limits::default()
            ),
            RecurrenceError::NonexistentOccurrence { .. }
        ));
        // A gap after the end does not matter: by COUNT, by date, by instant.
        let first = date(2026, 3, 25).at(2, 30, 0, 0);
        assert_eq!(dates("FREQ=DAILY;COUNT=4", first, "Europe/Paris").len(), 4);
        assert_eq!(dates("FREQ=DAILY;UNTIL=20260328", first, "Europe/Paris").len(), 4);
        assert_eq!(
            dates("FREQ=DAILY;UNTIL=20260328T235959Z", first, "Europe/Paris").len(),
            4
        );
        // 02:30 that night, had it existed, is 00:30 or 01:30 UTC; the clocks jump at 01:00.
        assert_eq!(
            dates("FREQ=DAILY;UNTIL=20260329T005959Z", first, "Europe/Paris").len(),
            4
        );
        assert!(matches!(
            err(
                "FREQ=DAILY;UNTIL=20260329T010000Z",
                first,
                "Europe/Paris",
                &Limits::default()
            ),
            RecurrenceError::NonexistentOccurrence { .. }
        ));
    }

    #[test]
    fn ambiguous_occurrence_takes_the_earlier_instant() {
        let list = occurrences(
            &rule("FREQ=WEEKLY;BYDAY=SU;COUNT=3"),
            date(2026, 10, 18).at(2, 30, 0, 0),
            &zone("Europe/Paris"),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(list[1].datetime(), date(2026, 10, 25).at(2, 30, 0, 0));
        assert_eq!(list[1].timestamp().to_string(), "2026-10-25T00:30:00Z");
        assert_eq!(list[2].timestamp().to_string(), "2026-11-01T01:30:00Z");
    }

    #[test]
    fn months_without_the_day_are_skipped() {
        let d = dates(
            "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=7",
            date(2026, 1, 31).at(9, 0, 0, 0),
            "Europe/Paris",
        );
        assert_eq!(
            d,
            [
                "2026-01-31",
                "2026-03-31",
                "2026-05-31",
                "2026-07-31",
                "2026-08-31",
                "2026-10-31",
                "2026-12-31"
            ]
        );
        let d = dates(
            "FREQ=MONTHLY;BYMONTHDAY=-31;COUNT=3",
            date(2026, 1, 1).at(9, 0, 0, 0),
            "Europe/Paris",
        );
        assert_eq!(d, ["2026-01-01", "2026-03-01", "2026-05-01"]);
        let d = dates(
            "FREQ=MONTHLY;BYDAY=5TU;COUNT=4",
            date(2026, 3, 31).at(9, 0, 0, 0),
            "Europe/Paris",
        );
        assert_eq!(d, ["2026-03-31", "2026-06-30", "2026-09-29", "2026-12-29"]);
        let d = dates(
            "FREQ=MONTHLY;BYDAY=-5TU;COUNT=3",
            date(2026, 3, 3).at(9, 0, 0, 0),
            "Europe/Paris",
        );
        assert_eq!(d, ["2026-03-03", "2026-06-02", "2026-09-01"]);
    }

    #[test]
    fn long_series_are_linear() {
        // 3650 daily occurrences over ten years, and a rare monthly rule over a century:
        // each completes in one pass.
        let wide = Limits {
            max_span: Span::new().years(100),
            max_occurrences: 100_000,
        };
        let list = occurrences(
            &rule("FREQ=DAILY;COUNT=3650"),
            date(2026, 1, 1).at(9, 0, 0, 0),
            &zone("Europe/Paris"),
            &wide,
        )
        .unwrap();
        assert_eq!(list.len(), 3650);
        assert!(list.windows(2).all(|w| w[0].timestamp() < w[1].timestamp()));
        let list = occurrences(
            &rule("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=29;UNTIL=21000301"),
            date(2028, 2, 29).at(9, 0, 0, 0),
            &zone("Europe/Paris"),
            &wide,
        )
        .unwrap();
        // Leap years from 2028 to 2096 (2100 is not one).
        assert_eq!(list.len(), 18);
    }

    #[test]
    fn far_future_reaches_the_end_of_the_calendar_cleanly() {
        let wide = Limits {
            max_span: Span::new().years(19_000),
            max_occurrences: 100_000,
        };
        let r = occurrences(
            &rule("FREQ=MONTHLY;INTERVAL=99;UNTIL=99991231"),
            date(9000, 1, 1).at(9, 0, 0, 0),
            &zone("Europe/Paris"),
            &wide,
        )
        .unwrap();
        assert_eq!(r.len(), 122);
        let r = occurrences(
            &rule("FREQ=DAILY;COUNT=5"),
            date(9999, 12, 30).at(9, 0, 0, 0),
            &zone("Europe/Paris"),
            &wide,
        );
        assert_eq!(
            r,
            Err(RecurrenceError::OutOfRange {
                local: date(9999, 12, 31).at(9, 0, 0, 0)
            })
        );
    }
}
