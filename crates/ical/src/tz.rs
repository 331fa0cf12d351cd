//! Time zones: how a `Zoned` is written, and `VTIMEZONE` generation from
//! jiff's time zone data.

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::write::Out;

/// IANA names that mean UTC itself; date-times in these zones are written
/// in UTC form (`…Z`) without a `VTIMEZONE`.
const UTC_NAMES: &[&str] = &[
    "UTC",
    "Etc/UTC",
    "Etc/UCT",
    "UCT",
    "Etc/Universal",
    "Universal",
    "Etc/Zulu",
    "Zulu",
];

/// How much time a `VTIMEZONE` covers before the earliest and after the
/// latest date-time that uses it.
const MARGIN: SignedDuration = SignedDuration::from_hours(366 * 24);

/// The furthest a recurrence rule extends a zone's coverage past the
/// event's start.
const RRULE_HORIZON: SignedDuration = SignedDuration::from_hours(10 * 366 * 24);

/// The `TZID` to write for a time zone, or `None` when date-times in it are
/// written in UTC: the zone is UTC, or it has no IANA name (a fixed offset or
/// a POSIX rule), which strict parsers would not recognise as a `TZID`.
pub(crate) fn tzid(tz: &TimeZone) -> Option<&str> {
    tz.iana_name().filter(|name| !UTC_NAMES.contains(name))
}

/// Whether the local time of instant `ts` in `tz` happens twice there (the hour repeated when
/// clocks go back). RFC 5545 (section 3.3.5) reads such a local time as its first instant,
/// Python's `icalendar` and `ical` do so, libical reads the second: written with a `TZID`, it
/// names an instant that depends on the reader.
pub(crate) fn is_ambiguous(tz: &TimeZone, ts: Timestamp) -> bool {
    tz.to_ambiguous_timestamp(tz.to_datetime(ts)).is_ambiguous()
}

/// Whether instant `ts` is written in `tz`'s local time with its `TZID`: the zone has a
/// `TZID` and the local time names one instant only. Otherwise it is written in UTC, which
/// every reader reads as the same instant.
pub(crate) fn is_local(tz: &TimeZone, ts: Timestamp) -> bool {
    tzid(tz).is_some() && !is_ambiguous(tz, ts)
}

/// Writes `;TZID=<name>:` when `local`, else `:`. Call between [`Out::begin`] and the value.
pub(crate) fn write_params(out: &mut Out, tz: &TimeZone, local: bool) {
    if local && let Some(name) = tzid(tz) {
        out.param("TZID", name);
    }
    out.raw(":");
}

/// Writes the DATE-TIME of instant `ts`: its local time in `tz` when `local`, else in UTC.
pub(crate) fn write_value(out: &mut Out, tz: &TimeZone, ts: Timestamp, local: bool) {
    if local && tzid(tz).is_some() {
        out.datetime(tz.to_datetime(ts), false);
    } else {
        out.datetime(Offset::UTC.to_datetime(ts), true);
    }
}

/// The instants a calendar uses in one zone, collected before writing.
#[derive(Debug)]
pub(crate) struct ZoneUse<'a> {
    name: &'a str,
    tz: &'a TimeZone,
    first: Timestamp,
    last: Timestamp,
}

/// The set of zones a calendar uses, in order of first use.
#[derive(Debug, Default)]
pub(crate) struct Zones<'a> {
    zones: Vec<ZoneUse<'a>>,
}

impl<'a> Zones<'a> {
    /// Records that instant `ts` is written in zone `tz`.
    pub(crate) fn add(&mut self, tz: &'a TimeZone, ts: Timestamp) {
        self.add_range(tz, ts, ts);
    }

    /// Records that instants from `first` to `last` are written in `tz`.
    pub(crate) fn add_range(&mut self, tz: &'a TimeZone, first: Timestamp, last: Timestamp) {
        let Some(name) = tzid(tz) else { return };
        // Calendars use few zones: a linear scan beats hashing here.
        if let Some(zone) = self.zones.iter_mut().find(|z| z.name == name) {
            zone.first = zone.first.min(first);
            zone.last = zone.last.max(last);
        } else {
            self.zones.push(ZoneUse { name, tz, first, last });
        }
    }

    /// Writes one `VTIMEZONE` per zone.
    pub(crate) fn write(&self, out: &mut Out) {
        for zone in &self.zones {
            write_vtimezone(out, zone);
        }
    }
}

/// Writes a `VTIMEZONE` for `zone`: one observance for the offset in force
/// at the start of the covered range (built from the transition that set
/// it), then one per transition inside the range.
fn write_vtimezone(out: &mut Out, zone: &ZoneUse<'_>) {
    let tz = zone.tz;
    let lo = zone.first.saturating_sub(MARGIN).unwrap_or(Timestamp::MIN);
    let hi = zone.last.saturating_add(MARGIN).unwrap_or(Timestamp::MAX);

    out.line("BEGIN", "VTIMEZONE");
    out.begin("TZID");
    out.raw(":");
    out.text(zone.name);
    out.end();

    let mut offset = match tz.preceding(lo).next() {
        Some(t) => {
            let before = tz.to_offset(
                t.timestamp()
                    .saturating_sub(SignedDuration::from_nanos(1))
                    .unwrap_or(Timestamp::MIN),
            );
            write_observance(
                out,
                t.timestamp(),
                before,
                t.offset(),
                t.abbreviation(),
                t.dst().is_dst(),
            );
            t.offset()
        }
        None => {
            // No earlier transition: the zone has kept one offset since
            // before the range. Start the observance at the Unix epoch (or
            // at the range start when that is earlier).
            let info = tz.to_offset_info(lo);
            let local_epoch = Timestamp::UNIX_EPOCH
                .saturating_sub(info.offset().duration_since(Offset::UTC))
                .unwrap_or(Timestamp::UNIX_EPOCH);
            let at = lo.min(local_epoch);
            write_observance(
                out,
                at,
                info.offset(),
                info.offset(),
                info.abbreviation(),
                info.dst().is_dst(),
            );
            info.offset()
        }
    };
    // `following` is strictly after its argument: start just before `lo`
    // so that a transition exactly at `lo` is kept.
    let from = lo
        .saturating_sub(SignedDuration::from_nanos(1))
        .unwrap_or(Timestamp::MIN);
    for t in tz.following(from).take_while(|t| t.timestamp() <= hi) {
        write_observance(
            out,
            t.timestamp(),
            offset,
            t.offset(),
            t.abbreviation(),
            t.dst().is_dst(),
        );
        offset = t.offset();
    }
    out.line("END", "VTIMEZONE");
}

/// Writes a `STANDARD` or `DAYLIGHT` observance starting at instant `at`,
/// whose `DTSTART` is the local time just before the change (RFC 5545
/// section 3.6.5: the onset in the offset being left).
fn write_observance(out: &mut Out, at: Timestamp, from: Offset, to: Offset, name: &str, dst: bool) {
    let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
    out.line("BEGIN", kind);
    out.begin("DTSTART");
    out.raw(":");
    out.datetime(from.to_datetime(at), false);
    out.end();
    out.begin("TZOFFSETFROM");
    out.raw(":");
    out.utc_offset(from);
    out.end();
    out.begin("TZOFFSETTO");
    out.raw(":");
    out.utc_offset(to);
    out.end();
    if !name.is_empty() {
        out.text_line("TZNAME", name);
    }
    out.line("END", kind);
}

/// The last instant a recurrence rule may reach, estimated from its `UNTIL`
/// or `COUNT` (an upper bound for common rules), capped at
/// [`RRULE_HORIZON`] after `start`; open-ended rules get the whole horizon.
pub(crate) fn rrule_end(rrule: &str, start: Timestamp) -> Timestamp {
    let horizon = start.saturating_add(RRULE_HORIZON).unwrap_or(Timestamp::MAX);
    let mut freq_secs: i64 = 0;
    let mut interval: i64 = 1;
    let mut count: Option<i64> = None;
    for part in rrule.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_uppercase().as_str() {
            "UNTIL" => {
                let until = until_timestamp(value.trim());
                return until.map_or(horizon, |u| u.min(horizon));
            }
            "COUNT" => count = value.trim().parse().ok(),
            "INTERVAL" => interval = value.trim().parse().unwrap_or(1).max(1),
            "FREQ" => {
                freq_secs = match value.trim().to_ascii_uppercase().as_str() {
                    "YEARLY" => 366 * 86_400,
                    "MONTHLY" => 31 * 86_400,
                    "WEEKLY" => 7 * 86_400,
                    "DAILY" => 86_400,
                    "HOURLY" => 3_600,
                    "MINUTELY" => 60,
                    "SECONDLY" => 1,
                    _ => 0,
                };
            }
            _ => {}
        }
    }
    match count {
        Some(count) if freq_secs > 0 => {
            let span = count.saturating_mul(interval).saturating_mul(freq_secs);
            start
                .saturating_add(SignedDuration::from_secs(span))
                .unwrap_or(Timestamp::MAX)
                .min(horizon)
        }
        _ => horizon,
    }
}

/// Reads the date of an RRULE `UNTIL` value (`YYYYMMDD` or
/// `YYYYMMDDTHHMMSS[Z]`), as the end of that day in UTC (later than the true
/// instant by less than a day, which only widens the coverage).
fn until_timestamp(value: &str) -> Option<Timestamp> {
    let digits = value.get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i16 = digits[..4].parse().ok()?;
    let month: i8 = digits[4..6].parse().ok()?;
    let day: i8 = digits[6..8].parse().ok()?;
    let date = jiff::civil::Date::new(year, month, day).ok()?;
    let end = date.at(23, 59, 59, 0).to_zoned(TimeZone::UTC).ok()?;
    Some(end.timestamp())
}

#[cfg(test)]
mod tests {
    use jiff::Zoned;

    use super::*;

    fn zoned(s: &str) -> Zoned {
        s.parse().unwrap()
    }

    fn vtimezone(tz: &TimeZone, first: &str, last: &str) -> String {
        let mut zones = Zones::default();
        zones.add_range(tz, zoned(first).timestamp(), zoned(last).timestamp());
        let mut out = Out::with_capacity(256);
        zones.write(&mut out);
        out.finish()
    }

    /// The observances of a VTIMEZONE as (kind, dtstart, from, to, name).
    fn observances(s: &str) -> Vec<[String; 5]> {
        let mut result = Vec::new();
        let mut cur: [String; 5] = Default::default();
        for line in s.split("\r\n") {
            match line.split_once(':') {
                Some(("BEGIN", k @ ("STANDARD" | "DAYLIGHT"))) => cur[0] = k.to_string(),
                Some(("DTSTART", v)) => cur[1] = v.to_string(),
                Some(("TZOFFSETFROM", v)) => cur[2] = v.to_string(),
                Some(("TZOFFSETTO", v)) => cur[3] = v.to_string(),
                Some(("TZNAME", v)) => cur[4] = v.to_string(),
                Some(("END", "STANDARD" | "DAYLIGHT")) => result.push(std::mem::take(&mut cur)),
                _ => {}
            }
        }
        result
    }

    fn obs(kind: &str, dtstart: &str, from: &str, to: &str, name: &str) -> [String; 5] {
        [kind, dtstart, from, to, name].map(str::to_string)
    }

    #[test]
    fn utc_and_unnamed_zones_have_no_tzid() {
        assert_eq!(tzid(&TimeZone::UTC), None);
        assert_eq!(tzid(&TimeZone::get("Etc/UTC").unwrap()), None);
        assert_eq!(tzid(&TimeZone::fixed(jiff::tz::offset(2))), None);
        assert_eq!(tzid(&TimeZone::get("Europe/Paris").unwrap()), Some("Europe/Paris"));
        assert_eq!(tzid(&TimeZone::get("Etc/GMT+5").unwrap()), Some("Etc/GMT+5"));
        let mut zones = Zones::default();
        let utc = TimeZone::UTC;
        zones.add(&utc, Timestamp::UNIX_EPOCH);
        let mut out = Out::with_capacity(16);
        zones.write(&mut out);
        assert_eq!(out.finish(), "");
    }

    #[test]
    fn paris_covers_a_year_each_side() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let s = vtimezone(&tz, "2025-10-20T09:00[Europe/Paris]", "2025-11-03T09:00[Europe/Paris]");
        assert!(s.starts_with("BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"), "{s}");
        assert!(s.ends_with("END:VTIMEZONE\r\n"));
        assert_eq!(
            observances(&s),
            vec![
                // In force on 2024-10-19 (one year before): set on 2024-03-31.
                obs("DAYLIGHT", "20240331T020000", "+0100", "+0200", "CEST"),
                obs("STANDARD", "20241027T030000", "+0200", "+0100", "CET"),
                obs("DAYLIGHT", "20250330T020000", "+0100", "+0200", "CEST"),
                obs("STANDARD", "20251026T030000", "+0200", "+0100", "CET"),
                obs("DAYLIGHT", "20260329T020000", "+0100", "+0200", "CEST"),
                obs("STANDARD", "20261025T030000", "+0200", "+0100", "CET"),
            ]
        );
    }

    #[test]
    fn southern_hemisphere_and_half_hours() {
        let tz = TimeZone::get("Australia/Adelaide").unwrap();
        let s = vtimezone(
            &tz,
            "2025-06-01T10:00[Australia/Adelaide]",
            "2025-06-01T11:00[Australia/Adelaide]",
        );
        let o = observances(&s);
        assert_eq!(o[0], obs("STANDARD", "20240407T030000", "+1030", "+0930", "ACST"));
        assert_eq!(o[1], obs("DAYLIGHT", "20241006T020000", "+0930", "+1030", "ACDT"));
        assert_eq!(o.len(), 1 + 4);
    }

    #[test]
    fn zones_without_recent_transitions_get_one_block() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let s = vtimezone(&tz, "2025-06-01T10:00[Asia/Tokyo]", "2025-06-01T11:00[Asia/Tokyo]");
        let o = observances(&s);
        assert_eq!(o.len(), 1, "{s}");
        assert_eq!(o[0][0], "STANDARD");
        assert_eq!(o[0][3], "+0900");
        assert_eq!(o[0][4], "JST");

        let tz = TimeZone::get("Etc/GMT+5").unwrap();
        let s = vtimezone(&tz, "2025-06-01T10:00[Etc/GMT+5]", "2025-06-01T11:00[Etc/GMT+5]");
        assert_eq!(
            observances(&s),
            vec![obs("STANDARD", "19700101T000000", "-0500", "-0500", "-05")]
        );
    }

    #[test]
    fn one_block_per_zone_covering_all_uses() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let ny = TimeZone::get("America/New_York").unwrap();
        let mut zones = Zones::default();
        zones.add(&paris, zoned("2025-01-10T09:00[Europe/Paris]").timestamp());
        zones.add(&ny, zoned("2025-01-10T09:00[America/New_York]").timestamp());
        zones.add(&paris, zoned("2027-01-10T09:00[Europe/Paris]").timestamp());
        let utc = TimeZone::UTC;
        zones.add(&utc, Timestamp::UNIX_EPOCH);
        let mut out = Out::with_capacity(256);
        zones.write(&mut out);
        let s = out.finish();
        assert_eq!(s.matches("BEGIN:VTIMEZONE").count(), 2);
        assert_eq!(s.matches("TZID:Europe/Paris").count(), 1);
        assert!(s.contains("DTSTART:20271031T030000"), "Paris covered to 2028");
        assert!(!s.contains("DTSTART:20281029"));
    }

    #[test]
    fn rrule_coverage() {
        let start = zoned("2025-01-01T09:00[UTC]").timestamp();
        let days = |t: Timestamp| t.duration_since(start).as_hours() / 24;
        assert_eq!(days(rrule_end("FREQ=WEEKLY;COUNT=10", start)), 70);
        assert_eq!(days(rrule_end("FREQ=WEEKLY;INTERVAL=2;COUNT=10", start)), 140);
        assert_eq!(days(rrule_end("FREQ=DAILY;UNTIL=20250301T000000Z", start)), 59);
        assert_eq!(days(rrule_end("FREQ=DAILY;UNTIL=20250301", start)), 59);
        assert_eq!(days(rrule_end("FREQ=DAILY", start)), 3660);
        assert_eq!(days(rrule_end("FREQ=YEARLY;COUNT=100", start)), 3660);
        assert_eq!(days(rrule_end("FREQ=DAILY;UNTIL=29991231", start)), 3660);
        assert_eq!(days(rrule_end("garbage", start)), 3660);
    }
}
