//! Rendered calendars read back by independent, strict parsers:
//!
//! - Python's `icalendar` and `ical` packages (`python3 -m pip install
//!   icalendar ical`), through `tests/parse_python.py`;
//! - libical through GObject introspection (`apt-get install -y
//!   gir1.2-ical-3.0 python3-gi`, run by Debian's `/usr/bin/python3`),
//!   through `tests/parse_libical.py`;
//! - khal, a real calendar client (`apt-get install -y khal`).
//!
//! A missing parser fails the test with the command that installs it.
//! `ICAL_TEST_PYTHON` and `ICAL_TEST_SYSTEM_PYTHON` override the two Python
//! interpreters (defaults: `python3` from `PATH`, `/usr/bin/python3`).

mod common;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{expected_text, zoned};
use ical::{Calendar, Event};
use jiff::{Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};

const PIP_HINT: &str = "install with: python3 -m pip install icalendar ical";
const LIBICAL_HINT: &str =
    "install with: apt-get install -y gir1.2-ical-3.0 python3-gi (used through /usr/bin/python3)";
const KHAL_HINT: &str = "install with: apt-get install -y khal";

/// A file in the temporary directory, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(suffix: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("ical-test-{}-{n}-{suffix}", std::process::id());
        Self(std::env::temp_dir().join(name))
    }

    fn write(suffix: &str, text: &str) -> Self {
        let path = Self::new(suffix);
        std::fs::write(&path.0, text).expect("write temp file");
        path
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name)
}

/// Runs `program args…`; fails with `hint` when the program or one of its
/// modules is missing (the scripts exit with status 3 then), and with the
/// rendered text when the parser rejects it.
fn run(mut command: Command, hint: &str, ics: &str) -> String {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!("{program} not found: {hint}"),
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        panic!("{program}: a parser is missing: {stderr}\n{hint}");
    }
    assert!(
        output.status.success(),
        "{program} rejected the calendar ({}):\n{stderr}\n--- calendar ---\n{ics}",
        output.status
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn python() -> String {
    std::env::var("ICAL_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn system_python() -> String {
    std::env::var("ICAL_TEST_SYSTEM_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

/// What `icalendar` and `ical` read from `calendar`'s rendering:
/// `(icalendar, ical)`.
fn parse_python(calendar: &Calendar) -> (Value, Value) {
    let ics = calendar.render();
    let file = TempPath::write("python.ics", &ics);
    let mut command = Command::new(python());
    command.arg(script("parse_python.py")).arg(&file.0);
    let out = run(command, PIP_HINT, &ics);
    let mut v: Value = serde_json::from_str(&out).expect("JSON from parse_python.py");
    (v["icalendar"].take(), v["ical"].take())
}

/// What libical read from `calendar`'s rendering.
fn parse_libical(calendar: &Calendar) -> Value {
    let ics = calendar.render();
    let file = TempPath::write("libical.ics", &ics);
    let mut command = Command::new(system_python());
    command.arg(script("parse_libical.py")).arg(&file.0);
    let out = run(command, LIBICAL_HINT, &ics);
    serde_json::from_str(&out).expect("JSON from parse_libical.py")
}

fn utc(t: Timestamp) -> String {
    t.to_string()
}

fn utc_z(z: &Zoned) -> String {
    utc(z.timestamp())
}

/// Sorted `;`-separated parts, so that rules compare whatever the order.
fn rule_parts(rule: &str) -> Vec<String> {
    let mut parts: Vec<String> = rule.split(';').map(str::to_ascii_uppercase).collect();
    parts.sort();
    parts
}

/// The fields both Python parsers report for `e`, as they should read them.
fn expected_event(e: &Event) -> Value {
    let person = |p: &ical::Person| {
        json!({
            "email": p.email,
            "cn": (!p.name.is_empty()).then(|| expected_text(&p.name)),
        })
    };
    json!({
        "uid": expected_text(&e.uid),
        "sequence": e.sequence,
        "summary": expected_text(&e.summary),
        "description": e.description.as_deref().map(expected_text),
        "location": e.location.as_deref().map(expected_text),
        "status": e.status.as_str(),
        "dtstamp": utc(e.dtstamp),
        "start": utc_z(&e.start),
        "end": utc_z(&e.end),
        "organizer": e.organizer.as_ref().map(person),
        "attendees": e.attendees.iter().map(|a| {
            let mut p = person(&a.person);
            p["role"] = json!(a.role.as_str());
            p["partstat"] = json!(a.partstat.as_str());
            p["rsvp"] = json!(a.rsvp);
            p
        }).collect::<Vec<_>>(),
        "alarms": e.alarms.iter().map(|a| json!({
            "action": "DISPLAY",
            "description": expected_text(if a.description.is_empty() { &e.summary } else { &a.description }),
            "trigger": -a.before.as_secs(),
        })).collect::<Vec<_>>(),
        "categories": e.categories.iter().filter(|c| !c.is_empty()).map(|c| expected_text(c)).collect::<Vec<_>>(),
        "exdates": e.exdates.iter().map(utc_z).collect::<Vec<_>>(),
    })
}

/// Compares what a parser read with what was rendered, event by event.
fn assert_events_match(parser: &str, calendar: &Calendar, parsed: &Value) {
    let events = parsed["events"].as_array().expect("events");
    assert_eq!(events.len(), calendar.events.len(), "{parser}: event count");
    for (e, got) in calendar.events.iter().zip(events) {
        let expected = expected_event(e);
        for (key, want) in expected.as_object().expect("object") {
            if parser == "ical" && key == "categories" {
                continue;
            }
            assert_eq!(&got[key], want, "{parser}: {key} of {}", e.uid);
        }
        if parser == "ical" {
            // `ical` 14.3 splits CATEGORIES at escaped commas (`\,`) too and
            // keeps the backslash; icalendar reads them right. Rejoining
            // its pieces must give back the categories.
            let join = |v: &Value| -> String {
                let items = v.as_array().expect("categories");
                let texts: Vec<&str> = items.iter().map(|c| c.as_str().expect("text")).collect();
                texts.join(",").replace("\\,", ",")
            };
            assert_eq!(
                join(&got["categories"]),
                join(&expected["categories"]),
                "ical: categories"
            );
        }
        let rule = got["rrule"].as_str().map(rule_parts);
        assert_eq!(rule, e.rrule.as_deref().map(rule_parts), "{parser}: rrule");
        if parser == "icalendar" {
            // The file's own VTIMEZONE gives the same instants as tzdata.
            assert_eq!(got["start_via_vtimezone"], json!(utc_z(&e.start)), "{}", e.uid);
            assert_eq!(got["end_via_vtimezone"], json!(utc_z(&e.end)), "{}", e.uid);
            let rid = e.recurrence_id.as_ref().map(utc_z);
            assert_eq!(got["recurrence_id"], json!(rid), "{parser}: recurrence-id");
        } else {
            let rid = e
                .recurrence_id
                .as_ref()
                .map(|z| z.strftime("%Y%m%dT%H%M%S").to_string());
            assert_eq!(got["recurrence_id_local"], json!(rid), "{parser}: recurrence-id");
        }
    }
}

/// The zones a calendar needs VTIMEZONEs for, sorted: those of its date-times but UTC, and
/// but a single event's start or end at a local time that happens twice (written in UTC).
fn zones_of(calendar: &Calendar) -> Vec<String> {
    let repeated = |z: &Zoned| z.time_zone().to_ambiguous_timestamp(z.datetime()).is_ambiguous();
    let mut zones: Vec<String> = calendar
        .events
        .iter()
        .flat_map(|e| {
            [&e.start, &e.end]
                .into_iter()
                .filter(|z| e.rrule.is_some() || !repeated(z))
                .chain(&e.recurrence_id)
        })
        .filter_map(|z| z.time_zone().iana_name())
        .filter(|name| *name != "UTC")
        .map(str::to_string)
        .collect();
    zones.sort();
    zones.dedup();
    zones
}

fn assert_calendar_matches(calendar: &Calendar) {
    calendar.validate().expect("fixture is valid");
    let (icalendar, ical) = parse_python(calendar);
    for (parser, parsed) in [("icalendar", &icalendar), ("ical", &ical)] {
        assert_eq!(parsed["prodid"], json!(calendar.prodid), "{parser}");
        assert_eq!(parsed["version"], json!("2.0"), "{parser}");
        assert_eq!(parsed["method"], json!(calendar.method.map(|m| m.as_str())), "{parser}");
        assert_eq!(parsed["timezones"], json!(zones_of(calendar)), "{parser}");
        assert_events_match(parser, calendar, parsed);
    }
    assert_eq!(icalendar["errors"], json!([]));
    assert_eq!(icalendar["name"], json!(calendar.name.as_deref().map(expected_text)));
}

#[test]
fn python_parsers_read_back_a_nasty_invitation() {
    let calendar = common::nasty_invitation();
    assert_calendar_matches(&calendar);
    // The URL is kept as valid URI text.
    let (icalendar, ical) = parse_python(&calendar);
    let url = "https://dialogue.example/join/6b0e1c1e?lang=fr&x=a%20b;c,d";
    assert_eq!(icalendar["events"][0]["url"], json!(url));
    assert_eq!(ical["events"][0]["url"], json!(url));
    // The injection attempt did not add an attendee or an event.
    assert_eq!(ical["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(ical["events"][0]["attendees"].as_array().map(Vec::len), Some(3));
}

#[test]
fn python_parsers_read_back_a_cancellation() {
    assert_calendar_matches(&common::cancellation());
}

#[test]
fn python_parsers_read_back_a_publication() {
    assert_calendar_matches(&common::publication());
}

/// The weekly 09:00 Paris sessions are 07:00Z before the end of DST and
/// 08:00Z after, and the series expands (with its excluded and moved
/// occurrences) to the same instants.
#[test]
fn python_parsers_keep_nine_local_across_dst() {
    let calendar = common::dst_calendar();
    assert_calendar_matches(&calendar);
    let (icalendar, ical) = parse_python(&calendar);
    let starts: Vec<&Value> = icalendar["events"].as_array().expect("events")[..4]
        .iter()
        .map(|e| &e["start_via_vtimezone"])
        .collect();
    assert_eq!(
        starts,
        [
            "2025-10-13T07:00:00Z",
            "2025-10-20T07:00:00Z",
            "2025-10-27T08:00:00Z",
            "2025-11-03T08:00:00Z",
        ]
    );
    let series: Vec<String> = common::expected_series_occurrences().into_iter().map(utc).collect();
    assert_eq!(ical["occurrences"]["series@dialogue.example"], json!(series));
    assert_eq!(
        ical["occurrences"]["sydney@dialogue.example"],
        json!([
            "2025-09-22T08:00:00Z",
            "2025-09-29T08:00:00Z",
            "2025-10-06T07:00:00Z",
            "2025-10-13T07:00:00Z",
        ])
    );
}

#[test]
fn python_parsers_read_back_a_large_feed() {
    assert_calendar_matches(&common::feed(300, 3));
}

/// The sessions booked at the repeated 02:30 of 2027-10-31 in Paris: each parser reads the
/// single sessions at the booked instant (+01:00: 01:30Z; +02:00: 00:30Z), and `ical`'s
/// timeline expands each series to its booked first instant, then 02:30 on the clock in
/// summer (00:30Z), each occurrence 90 minutes long.
#[test]
fn python_parsers_read_the_booked_instant_of_a_repeated_hour() {
    let calendar = common::ambiguous_calendar();
    calendar.validate().expect("fixture is valid");
    let (icalendar, ical) = parse_python(&calendar);
    assert_eq!(icalendar["errors"], json!([]));
    for (parser, parsed) in [("icalendar", &icalendar), ("ical", &ical)] {
        assert_eq!(parsed["timezones"], json!(["Europe/Paris"]), "{parser}");
        let events = parsed["events"].as_array().expect("events");
        // Four events, and the override of each series' first occurrence.
        assert_eq!(events.len(), 6, "{parser}");
        for (uid, start, minutes, rule) in common::AMBIGUOUS {
            let booked = &common::ambiguous_occurrences(start, minutes, 1)[0];
            // The single event, or the series' override (the one with a RECURRENCE-ID).
            let read = events
                .iter()
                .filter(|e| e["uid"] == json!(uid))
                .find(|e| rule.is_none() || !e["recurrence_id"].is_null() || !e["recurrence_id_local"].is_null())
                .unwrap_or_else(|| panic!("{parser}: no {uid}"));
            assert_eq!(read["start"], json!(booked.0), "{parser}: start of {uid}");
            assert_eq!(read["end"], json!(booked.1), "{parser}: end of {uid}");
            if parser == "icalendar" {
                assert_eq!(read["start_via_vtimezone"], json!(booked.0), "{uid}");
                assert_eq!(read["end_via_vtimezone"], json!(booked.1), "{uid}");
            }
            let count = if rule.is_some() { 3 } else { 1 };
            let expected = common::ambiguous_occurrences(start, minutes, count);
            if parser == "ical" {
                let starts: Vec<&String> = expected.iter().map(|o| &o.0).collect();
                let ends: Vec<&String> = expected.iter().map(|o| &o.1).collect();
                assert_eq!(ical["occurrences"][uid], json!(starts), "ical: {uid}");
                assert_eq!(ical["occurrence_ends"][uid], json!(ends), "ical: {uid}");
            }
        }
    }
    assert_eq!(
        ical["occurrences"]["series-later@dialogue.example"],
        json!(["2027-10-31T01:30:00Z", "2028-04-02T00:30:00Z", "2028-09-03T00:30:00Z"]),
        "02:30 on the clock all year, not 01:30Z"
    );
}

/// libical reads the same instants: the single sessions, and each series as a libical
/// client shows it (its expansion with the override applied).
#[test]
fn libical_reads_the_booked_instant_of_a_repeated_hour() {
    let calendar = common::ambiguous_calendar();
    let parsed = parse_libical(&calendar);
    assert_eq!(parsed["errors"], json!([]));
    let events = parsed["events"].as_array().expect("events");
    assert_eq!(events.len(), 6);
    for (uid, start, minutes, rule) in common::AMBIGUOUS {
        let of_uid: Vec<&Value> = events.iter().filter(|e| e["uid"] == json!(uid)).collect();
        match rule {
            None => {
                let booked = &common::ambiguous_occurrences(start, minutes, 1)[0];
                assert_eq!(of_uid.len(), 1);
                assert_eq!(of_uid[0]["start"], json!(booked.0), "{uid}");
                assert_eq!(of_uid[0]["end"], json!(booked.1), "{uid}");
            }
            Some(_) => {
                let expected: Vec<[String; 2]> = common::ambiguous_occurrences(start, minutes, 3)
                    .into_iter()
                    .map(|(s, e)| [s, e])
                    .collect();
                let series = of_uid
                    .iter()
                    .find(|e| e.get("instances").is_some())
                    .unwrap_or_else(|| panic!("no series {uid}"));
                assert_eq!(series["instances"], json!(expected), "{uid}");
            }
        }
    }
}

/// libical parses every fixture without an X-LIC-ERROR, passes its RFC 5546
/// restriction check, and converts every start and end to the right UTC
/// instant through the file's own VTIMEZONE.
#[test]
fn libical_accepts_every_fixture_and_agrees_on_instants() {
    for calendar in [
        common::nasty_invitation(),
        common::cancellation(),
        common::publication(),
        common::dst_calendar(),
        common::feed(300, 3),
    ] {
        calendar.validate().expect("fixture is valid");
        let parsed = parse_libical(&calendar);
        assert_eq!(parsed["errors"], json!([]), "{:?}", calendar.events[0].uid);
        let mut zones: Vec<String> = parsed["timezones"]
            .as_array()
            .expect("timezones")
            .iter()
            .map(|z| z.as_str().expect("tzid").to_string())
            .collect();
        zones.sort();
        assert_eq!(zones, zones_of(&calendar));
        let events = parsed["events"].as_array().expect("events");
        assert_eq!(events.len(), calendar.events.len());
        for (e, got) in calendar.events.iter().zip(events) {
            assert_eq!(got["uid"], json!(expected_text(&e.uid)));
            assert_eq!(got["summary"], json!(expected_text(&e.summary)));
            assert_eq!(got["start"], json!(utc_z(&e.start)), "{}", e.uid);
            assert_eq!(got["end"], json!(utc_z(&e.end)), "{}", e.uid);
        }
    }
}

/// libical's recurrence iterator, converted through the VTIMEZONE, keeps
/// the series at 09:00 Paris and 18:00 Sydney across DST changes (it
/// expands the RRULE only: EXDATE and overrides are the client's job).
#[test]
fn libical_expands_series_across_dst() {
    let calendar = common::dst_calendar();
    let parsed = parse_libical(&calendar);
    let occurrences = |uid: &str| {
        parsed["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["uid"] == json!(uid) && e.get("occurrences").is_some())
            .map(|e| e["occurrences"].clone())
    };
    let weekly = |first: &str, n: i64| -> Value {
        let first = zoned(first);
        json!(
            (0..n)
                .map(|k| utc_z(&first.checked_add(k.weeks()).expect("in range")))
                .collect::<Vec<_>>()
        )
    };
    let paris = weekly(common::WEEKLY_PARIS[0], 6);
    assert_eq!(paris[2], json!("2025-10-27T08:00:00Z"));
    assert_eq!(occurrences("series@dialogue.example"), Some(paris));
    let sydney = weekly("2025-09-22T18:00[Australia/Sydney]", 4);
    assert_eq!(sydney[2], json!("2025-10-06T07:00:00Z"));
    assert_eq!(occurrences("sydney@dialogue.example"), Some(sydney));
}

/// khal, a real client, reads the invitation and the DST series.
#[test]
fn khal_prints_the_events() {
    let home = TempPath::new("khal");
    let config_dir = home.0.join("config").join("khal");
    std::fs::create_dir_all(&config_dir).expect("create khal config dir");
    std::fs::create_dir_all(home.0.join("calendar")).expect("create khal calendar dir");
    let config = format!(
        "[calendars]\n[[test]]\npath = {}\n[locale]\nlocal_timezone = UTC\n\
         default_timezone = UTC\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\n\
         longdateformat = %Y-%m-%d\ndatetimeformat = %Y-%m-%d %H:%M\n\
         longdatetimeformat = %Y-%m-%d %H:%M\n",
        home.0.join("calendar").display()
    );
    std::fs::write(config_dir.join("config"), config).expect("write khal config");

    let khal = |calendar: &Calendar| {
        let ics = calendar.render();
        let file = TempPath::write("khal.ics", &ics);
        let mut command = Command::new("khal");
        command
            .env("XDG_CONFIG_HOME", home.0.join("config"))
            .env("XDG_DATA_HOME", home.0.join("data"))
            .args(["printics", "--format", "{start} {end} [{uid}]"])
            .arg(&file.0);
        run(command, KHAL_HINT, &ics)
    };

    let out = khal(&common::nasty_invitation());
    let mut lines = out.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("2 events found")), "{out}");
    assert_eq!(
        lines.collect::<Vec<_>>(),
        [
            "2025-11-14 19:30 2025-11-14 21:30 [6b0e1c1e-4f1f-4d0e-9a35-0d6f4c1b2a11@dialogue.example]",
            "2025-11-15 08:00 2025-11-15 09:00 [utc-event@dialogue.example]",
        ]
    );

    let out = khal(&common::dst_calendar());
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        lines[..4],
        [
            "2025-10-13 07:00 2025-10-13 09:00 [weekly-0@dialogue.example]",
            "2025-10-20 07:00 2025-10-20 09:00 [weekly-1@dialogue.example]",
            "2025-10-27 08:00 2025-10-27 10:00 [weekly-2@dialogue.example]",
            "2025-11-03 08:00 2025-11-03 10:00 [weekly-3@dialogue.example]",
        ]
    );
    assert!(lines.contains(&"2025-10-13 07:00 2025-10-13 09:00 [series@dialogue.example]"));
    assert!(lines.contains(&"2025-09-22 08:00 2025-09-22 09:00 [sydney@dialogue.example]"));

    // The repeated hour, as khal shows it once imported (series expanded, overrides applied):
    // every occurrence at the booked instant, the first ones included.
    let ics = common::ambiguous_calendar().render();
    let file = TempPath::write("khal-import.ics", &ics);
    let khal_in_home = |args: &[&str]| {
        let mut command = Command::new("khal");
        command
            .env("XDG_CONFIG_HOME", home.0.join("config"))
            .env("XDG_DATA_HOME", home.0.join("data"))
            .args(args);
        command
    };
    let mut import = khal_in_home(&["import", "--batch"]);
    import.arg(&file.0);
    run(import, KHAL_HINT, &ics);
    let list = khal_in_home(&["list", "--format", "{start} {end} [{uid}]", "2027-10-30", "400d"]);
    let out = run(list, KHAL_HINT, &ics);
    let mut shown: Vec<&str> = out.lines().filter(|l| l.contains('[')).collect();
    shown.sort_unstable();
    let minute = |t: &str| {
        t.parse::<Timestamp>()
            .expect("instant")
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut expected: Vec<String> = common::AMBIGUOUS
        .iter()
        .flat_map(|(uid, start, minutes, rule)| {
            let count = if rule.is_some() { 3 } else { 1 };
            common::ambiguous_occurrences(start, *minutes, count)
                .into_iter()
                .map(move |(s, e)| format!("{} {} [{uid}]", minute(&s), minute(&e)))
        })
        .collect();
    expected.sort_unstable();
    assert_eq!(shown, expected, "{out}");
}
