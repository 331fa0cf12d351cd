//! Cross-checks the recurrence expansion against an independent implementation: Python's
//! `dateutil.rrule` with the standard library's `zoneinfo`, run by `time_rrule_check.py`.
//!
//! Needs `python3` (3.9 or later) with `python-dateutil`
//! (`python3 -m pip install python-dateutil`). When either is missing the test FAILS with an
//! install hint: a cross-check that silently does not run checks nothing. `PYTHON` may name
//! another interpreter.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use domain::localtime::TimeZoneName;
use domain::recurrence::{Limits, RecurrenceError, Rule, occurrences};
use jiff::Span;
use jiff::civil::DateTime;

/// (id, zone, first local date-time, rule as a person could type it)
const CASES: &[(&str, &str, &str, &str)] = &[
    // Daily, across the March change in Paris (29 March 2026).
    (
        "paris-daily-count",
        "Europe/Paris",
        "2026-03-25T09:00:00",
        "FREQ=DAILY;COUNT=10",
    ),
    // Every third day until a date (inclusive), across the October change.
    (
        "paris-daily-interval-until-date",
        "Europe/Paris",
        "2026-10-01T18:30:00",
        "FREQ=DAILY;INTERVAL=3;UNTIL=20261110",
    ),
    // Weekdays only, as a daily rule with BYDAY.
    (
        "paris-daily-weekdays",
        "Europe/Paris",
        "2026-03-23T07:30:00",
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=15",
    ),
    // A UTC UNTIL equal to an occurrence's instant includes it.
    (
        "paris-daily-until-utc-inclusive",
        "Europe/Paris",
        "2026-10-20T09:00:00",
        "FREQ=DAILY;UNTIL=20261027T080000Z",
    ),
    // Several days a week.
    (
        "paris-weekly-mwf",
        "Europe/Paris",
        "2026-10-19T09:00:00",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=20",
    ),
    // A weekly 09:00 through both changes (October 2026 and March 2027).
    (
        "paris-weekly-count30",
        "Europe/Paris",
        "2026-09-07T09:00:00",
        "FREQ=WEEKLY;COUNT=30",
    ),
    // A date UNTIL that is itself an occurrence's date.
    (
        "paris-weekly-until-date-inclusive",
        "Europe/Paris",
        "2026-10-26T19:00:00",
        "FREQ=WEEKLY;UNTIL=20261123",
    ),
    // Every other week on two days, across both changes in New York, until a UTC instant.
    (
        "ny-biweekly-tu-th-until-utc",
        "America/New_York",
        "2026-09-01T17:45:00",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20270415T220000Z",
    ),
    // WKST matters with an interval: the same rule with weeks starting Sunday or Monday.
    (
        "paris-biweekly-tu-su-wkst-su",
        "Europe/Paris",
        "2026-08-04T09:00:00",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU;COUNT=8",
    ),
    (
        "paris-biweekly-tu-su-wkst-mo",
        "Europe/Paris",
        "2026-08-04T09:00:00",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=MO;COUNT=8",
    ),
    (
        "paris-triweekly-weekend-wkst-su",
        "Europe/Paris",
        "2026-12-05T10:00:00",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU;WKST=SU;COUNT=12",
    ),
    // Lowercase, with the RRULE: prefix, days out of order.
    (
        "paris-lowercase-prefix",
        "Europe/Paris",
        "2026-03-02T12:00:00",
        "rrule:freq=weekly;byday=th,mo;interval=1;count=6",
    ),
    // Monthly on the 31st: months without one are skipped.
    (
        "paris-monthly-31",
        "Europe/Paris",
        "2026-01-31T14:00:00",
        "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=8",
    ),
    // Monthly on the 29th, through a leap February.
    (
        "paris-monthly-29-leap",
        "Europe/Paris",
        "2026-01-29T14:00:00",
        "FREQ=MONTHLY;BYMONTHDAY=29;COUNT=24",
    ),
    // Last day of the month, in the Southern hemisphere (DST ends in April, starts in October).
    (
        "sydney-monthly-last-day",
        "Australia/Sydney",
        "2026-01-31T10:00:00",
        "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=14",
    ),
    // Two days a month until a date.
    (
        "paris-monthly-1-15-until",
        "Europe/Paris",
        "2026-01-15T08:30:00",
        "FREQ=MONTHLY;BYMONTHDAY=1,15;UNTIL=20270101",
    ),
    // Every third month, counted from the end and from the start.
    (
        "paris-quarterly-neg3-10",
        "Europe/Paris",
        "2026-01-10T16:00:00",
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-3,10;UNTIL=20271231",
    ),
    // Second Tuesday.
    (
        "ny-monthly-2tu",
        "America/New_York",
        "2026-01-13T18:00:00",
        "FREQ=MONTHLY;BYDAY=2TU;COUNT=12",
    ),
    // Last Friday, in Sydney, until a date.
    (
        "sydney-monthly-last-friday",
        "Australia/Sydney",
        "2026-01-30T19:00:00",
        "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231",
    ),
    // Fifth Tuesday: months with four are skipped.
    (
        "paris-monthly-5tu",
        "Europe/Paris",
        "2026-03-31T10:00:00",
        "FREQ=MONTHLY;BYDAY=5TU;COUNT=6",
    ),
    // First and last Monday, every other month.
    (
        "ny-bimonthly-first-last-monday",
        "America/New_York",
        "2026-01-05T08:00:00",
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=1MO,-1MO;COUNT=10",
    ),
    // Every Tuesday of the month, as a monthly rule.
    (
        "paris-monthly-every-tuesday",
        "Europe/Paris",
        "2026-03-03T11:00:00",
        "FREQ=MONTHLY;BYDAY=TU;COUNT=10",
    ),
    // Friday the 13th (BYDAY and BYMONTHDAY together).
    (
        "paris-friday-13th",
        "Europe/Paris",
        "2026-02-13T20:00:00",
        "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=5",
    ),
    // The second-to-last Monday.
    (
        "ny-monthly-neg2mo",
        "America/New_York",
        "2026-01-19T09:00:00",
        "FREQ=MONTHLY;BYDAY=-2MO;COUNT=8",
    ),
    // Twice a week in Sydney through both of its changes, until a UTC instant.
    (
        "sydney-weekly-mo-th-until-utc",
        "Australia/Sydney",
        "2026-03-02T08:00:00",
        "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20261105T000000Z",
    ),
    // The repeated hour in October: the earlier instant (summer time).
    (
        "paris-daily-ambiguous",
        "Europe/Paris",
        "2026-10-23T02:30:00",
        "FREQ=DAILY;COUNT=5",
    ),
    (
        "ny-daily-ambiguous",
        "America/New_York",
        "2026-10-30T01:30:00",
        "FREQ=DAILY;COUNT=4",
    ),
    // The skipped hour: the whole series is refused, naming the date.
    (
        "ny-weekly-gap",
        "America/New_York",
        "2026-02-22T02:30:00",
        "FREQ=WEEKLY;BYDAY=SU;COUNT=10",
    ),
    (
        "sydney-daily-gap",
        "Australia/Sydney",
        "2026-10-02T02:15:00",
        "FREQ=DAILY;COUNT=5",
    ),
    (
        "paris-monthly-last-sunday-gap",
        "Europe/Paris",
        "2026-01-25T02:00:00",
        "FREQ=MONTHLY;BYDAY=-1SU;COUNT=6",
    ),
];

#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Occurrences(Vec<(String, String)>),
    Gap(String),
    /// Any other error (never expected: Python has no such outcome).
    Error(String),
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn run_python(input: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/time_rrule_check.py");
    let interpreter = python();
    let mut child = match Command::new(&interpreter)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run {interpreter:?} ({e}): the recurrence cross-check needs Python 3.9+ \
             with python-dateutil. Install them, e.g. `apt-get install python3 python3-dateutil` \
             or `python3 -m pip install python-dateutil`, or set PYTHON to an interpreter."
        ),
    };
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "python-dateutil is missing for {interpreter:?}: install it with \
             `python3 -m pip install python-dateutil` (or `apt-get install python3-dateutil`). \
             {stderr}"
        ),
        _ => panic!("{script} failed ({}): {stderr}", output.status),
    }
    String::from_utf8(output.stdout).unwrap()
}

fn expected_from_python() -> BTreeMap<String, Expected> {
    let mut input = String::new();
    for (id, zone, first, rule) in CASES {
        // Python gets the canonical text: the cross-check covers Display too.
        let canonical: Rule = rule.parse().unwrap_or_else(|e| panic!("{id}: {e}"));
        input.push_str(&format!("{id}\t{zone}\t{first}\t{canonical}\n"));
    }
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    for line in run_python(&input).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            [id, "OK", local, utc] => {
                let entry = expected
                    .entry((*id).to_owned())
                    .or_insert_with(|| Expected::Occurrences(Vec::new()));
                match entry {
                    Expected::Occurrences(v) => v.push(((*local).to_owned(), (*utc).to_owned())),
                    Expected::Gap(_) | Expected::Error(_) => {
                        panic!("occurrence after a gap for {id}")
                    }
                }
            }
            [id, "GAP", local] => {
                expected.insert((*id).to_owned(), Expected::Gap((*local).to_owned()));
            }
            _ => panic!("unexpected line from Python: {line:?}"),
        }
    }
    expected
}

fn expand_in_rust(zone: &str, first: &str, rule: &str) -> Expected {
    let zone = TimeZoneName::parse(zone).unwrap();
    let first: DateTime = first.parse().unwrap();
    let rule: Rule = rule.parse().unwrap();
    // Wide limits: the limits themselves are tested in the unit tests.
    let limits = Limits {
        max_span: Span::new().years(10),
        max_occurrences: 1000,
    };
    match occurrences(&rule, first, &zone, &limits) {
        Ok(list) => Expected::Occurrences(
            list.iter()
                .map(|z| (z.datetime().to_string(), z.timestamp().to_string()))
                .collect(),
        ),
        Err(RecurrenceError::NonexistentOccurrence { local, .. }) => Expected::Gap(local.to_string()),
        Err(e) => Expected::Error(e.to_string()),
    }
}

#[test]
fn rrule_expansion_matches_python_dateutil() {
    assert!(CASES.len() >= 15);
    let expected = expected_from_python();
    let mut failures = Vec::new();
    let mut gaps = 0;
    for (id, zone, first, rule) in CASES {
        let ours = expand_in_rust(zone, first, rule);
        let Some(theirs) = expected.get(*id) else {
            failures.push(format!("{id}: Python produced nothing"));
            continue;
        };
        match theirs {
            Expected::Occurrences(v) => assert!(!v.is_empty(), "{id}"),
            Expected::Gap(_) => gaps += 1,
            Expected::Error(_) => unreachable!(),
        }
        if &ours != theirs {
            failures.push(format!(
                "{id} ({rule} from {first} in {zone}):\n  ours:   {ours:?}\n  python: {theirs:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The table exercises both outcomes.
    assert_eq!(gaps, 3);
}

/// The weekly 09:00 Paris series keeps its wall-clock time; its UTC instants move by an hour
/// at each change (checked here without Python, so that it fails on its own if it breaks).
#[test]
fn weekly_paris_keeps_wall_clock_across_changes() {
    let zone = TimeZoneName::parse("Europe/Paris").unwrap();
    let rule: Rule = "FREQ=WEEKLY;COUNT=30".parse().unwrap();
    let first: DateTime = "2026-09-07T09:00:00".parse().unwrap();
    let list = occurrences(&rule, first, &zone, &Limits::default()).unwrap();
    assert_eq!(list.len(), 30);
    for z in &list {
        assert_eq!(z.datetime().time(), first.time());
    }
    let utc_hours: Vec<i8> = list
        .iter()
        .map(|z| z.timestamp().to_zoned(jiff::tz::TimeZone::UTC).hour())
        .collect();
    // 7 weeks of summer time (07:00 UTC), winter time (08:00 UTC) from 26 October 2026,
    // summer time again from 29 March 2027.
    assert_eq!(utc_hours[..7], [7; 7]);
    assert_eq!(list[7].datetime().date().to_string(), "2026-10-26");
    assert!(utc_hours[7..29].iter().all(|&h| h == 8));
    assert_eq!(list[29].datetime().date().to_string(), "2027-03-29");
    assert_eq!(utc_hours[29], 7);
}
