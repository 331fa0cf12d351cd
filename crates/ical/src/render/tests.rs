use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

use super::*;
use crate::{Alarm, Attendee, PartStat, Role, Status};

fn zoned(s: &str) -> Zoned {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn event(uid: &str, start: &str) -> Event {
    let start = zoned(start);
    let end = start.checked_add(90.minutes()).unwrap();
    Event::new(uid, ts("2025-09-01T12:00:00Z"), start, end, "Session")
}

fn calendar(method: Option<Method>, events: Vec<Event>) -> Calendar {
    Calendar {
        method,
        prodid: "-//Dialogue//Tests//EN".into(),
        name: None,
        events,
    }
}

/// The content lines after unfolding.
fn lines(s: &str) -> Vec<String> {
    s.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The unfolded content lines of the first VEVENT.
fn event_lines(s: &str) -> Vec<String> {
    lines(s)
        .into_iter()
        .skip_while(|l| l != "BEGIN:VEVENT")
        .take_while(|l| l != "END:VEVENT")
        .collect()
}

/// Property value of the first line named `name` (with parameters).
fn prop(s: &str, name_and_params: &str) -> Option<String> {
    let prefix = format!("{name_and_params}:");
    lines(s)
        .into_iter()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// Checks the physical layout: CRLF only, no line over 75 octets, every
/// fold followed by exactly the continuation of a content line.
fn assert_well_formed(s: &str) {
    assert!(s.ends_with("\r\n"));
    let without_crlf = s.replace("\r\n", "");
    assert!(!without_crlf.contains(['\r', '\n']), "bare CR or LF");
    for line in s.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    // Every unfolded line is NAME[;params]:value with an ASCII name.
    for line in lines(s) {
        let name_end = line.find([':', ';']).unwrap_or(0);
        assert!(name_end > 0, "{line:?}");
        assert!(
            line[..name_end].bytes().all(|b| b.is_ascii_uppercase() || b == b'-'),
            "{line:?}"
        );
    }
    let begins = lines(s).iter().filter(|l| l.starts_with("BEGIN:")).count();
    let ends = lines(s).iter().filter(|l| l.starts_with("END:")).count();
    assert_eq!(begins, ends);
}

/// Undoes TEXT escaping (RFC 5545 section 3.3.11).
fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

const NASTY: &str = "Café «été» 日本語 😀👩‍💻; a,b\\c\nline2\r\nline3\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT";

#[test]
fn layout_starts_with_prodid_and_version() {
    let mut cal = calendar(Some(Method::Publish), vec![]);
    cal.name = Some("Mes sessions".into());
    let s = cal.render();
    assert_eq!(
        s,
        "BEGIN:VCALENDAR\r\nPRODID:-//Dialogue//Tests//EN\r\nVERSION:2.0\r\n\
         CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Mes sessions\r\n\
         END:VCALENDAR\r\n"
    );
    let s = calendar(None, vec![event("a", "2025-10-20T09:00[Europe/Paris]")]).render();
    assert!(!s.contains("METHOD"));
    assert!(!s.contains("X-WR-CALNAME"));
    assert_well_formed(&s);
}

#[test]
fn methods() {
    for (method, name) in [
        (Method::Request, "REQUEST"),
        (Method::Cancel, "CANCEL"),
        (Method::Publish, "PUBLISH"),
    ] {
        let s = calendar(Some(method), vec![]).render();
        assert_eq!(prop(&s, "METHOD").as_deref(), Some(name));
    }
}

#[test]
fn event_properties() {
    let mut e = event("uid-1@dialogue.example", "2025-10-20T09:00[Europe/Paris]");
    e.sequence = 3;
    e.created = Some(ts("2025-08-01T08:30:15Z"));
    e.last_modified = Some(ts("2025-08-02T09:45:00.5Z"));
    e.description = Some("Bring a laptop".into());
    e.location = Some("Online".into());
    e.url = Some("https://dialogue.example/join/abc?x=1".into());
    e.categories = vec!["Rust".into(), String::new(), "a,b".into()];
    let s = calendar(None, vec![e]).render();
    assert_well_formed(&s);
    assert_eq!(
        event_lines(&s),
        [
            "BEGIN:VEVENT",
            "UID:uid-1@dialogue.example",
            "DTSTAMP:20250901T120000Z",
            "CREATED:20250801T083015Z",
            "LAST-MODIFIED:20250802T094500Z",
            "SEQUENCE:3",
            "DTSTART;TZID=Europe/Paris:20251020T090000",
            "DTEND;TZID=Europe/Paris:20251020T103000",
            "SUMMARY:Session",
            "DESCRIPTION:Bring a laptop",
            "LOCATION:Online",
            "URL:https://dialogue.example/join/abc?x=1",
            "CATEGORIES:Rust,a\\,b",
            "STATUS:CONFIRMED",
            "TRANSP:OPAQUE",
        ]
    );
}

#[test]
fn organizer_and_attendees() {
    let mut e = event("u", "2025-10-20T09:00[Europe/Paris]");
    e.organizer = Some(Person::new("Dupont, Jean", "jean@example.org"));
    e.attendees = vec![
        Attendee::new(Person::new("Zoë", "zoe@example.org")),
        Attendee {
            person: Person::new("Trainer \"T\"", "t+x@example.org"),
            role: Role::Chair,
            partstat: PartStat::Accepted,
            rsvp: false,
        },
        Attendee {
            person: Person::new("", "o@example.org"),
            role: Role::OptParticipant,
            partstat: PartStat::Declined,
            rsvp: true,
        },
        Attendee {
            person: Person::new("N", "n@example.org"),
            role: Role::NonParticipant,
            partstat: PartStat::Tentative,
            rsvp: false,
        },
    ];
    let s = calendar(Some(Method::Request), vec![e]).render();
    assert_well_formed(&s);
    let l = event_lines(&s);
    let people: Vec<&str> = l
        .iter()
        .filter(|l| l.starts_with("ORGANIZER") || l.starts_with("ATTENDEE"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        people,
        [
            "ORGANIZER;CN=\"Dupont, Jean\":mailto:jean@example.org",
            "ATTENDEE;CN=Zoë;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:zoe@example.org",
            "ATTENDEE;CN=Trainer ^'T^';ROLE=CHAIR;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:t+x@example.org",
            "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=DECLINED;RSVP=TRUE:mailto:o@example.org",
            "ATTENDEE;CN=N;ROLE=NON-PARTICIPANT;PARTSTAT=TENTATIVE;RSVP=FALSE:mailto:n@example.org",
        ]
    );
}

#[test]
fn status_values() {
    for (status, text) in [
        (Status::Confirmed, "CONFIRMED"),
        (Status::Cancelled, "CANCELLED"),
        (Status::Tentative, "TENTATIVE"),
    ] {
        let mut e = event("u", "2025-10-20T09:00[Europe/Paris]");
        e.status = status;
        let s = calendar(None, vec![e]).render();
        assert_eq!(prop(&s, "STATUS").as_deref(), Some(text));
    }
}

#[test]
fn alarms() {
    let mut e = event("u", "2025-10-20T09:00[Europe/Paris]");
    e.alarms = vec![
        Alarm::new(SignedDuration::from_mins(15), "Dans 15 minutes"),
        Alarm::new(SignedDuration::from_hours(24), ""),
    ];
    let s = calendar(None, vec![e]).render();
    assert_well_formed(&s);
    let l = event_lines(&s);
    let alarm_lines: Vec<&str> = l
        .iter()
        .skip_while(|l| *l != "BEGIN:VALARM")
        .map(String::as_str)
        .collect();
    assert_eq!(
        alarm_lines,
        [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:Dans 15 minutes",
            "TRIGGER:-PT15M",
            "END:VALARM",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:Session",
            "TRIGGER:-PT24H",
            "END:VALARM",
        ]
    );
}

#[test]
fn utc_and_fixed_offset_zones_are_written_in_utc() {
    let mut e = event("u", "2025-10-20T09:00[UTC]");
    e.end = zoned("2025-10-20T12:30+02:00[+02:00]");
    e.exdates = vec![zoned("2025-10-27T09:00[Europe/Paris]")];
    e.rrule = Some("FREQ=WEEKLY;COUNT=3".into());
    let s = calendar(None, vec![e]).render();
    assert_well_formed(&s);
    assert_eq!(prop(&s, "DTSTART").as_deref(), Some("20251020T090000Z"));
    assert_eq!(prop(&s, "DTEND").as_deref(), Some("20251020T103000Z"));
    assert_eq!(prop(&s, "EXDATE").as_deref(), Some("20251027T080000Z"));
    assert!(!s.contains("VTIMEZONE"));
    assert!(!s.contains("TZID"));
}

#[test]
fn one_vtimezone_per_zone_before_the_events() {
    let events = vec![
        event("a", "2025-10-20T09:00[Europe/Paris]"),
        event("b", "2025-10-20T09:00[America/New_York]"),
        event("c", "2025-12-20T09:00[Europe/Paris]"),
        event("d", "2025-10-20T09:00[UTC]"),
    ];
    let s = calendar(None, events).render();
    assert_well_formed(&s);
    let l = lines(&s);
    let tzids: Vec<&str> = l.iter().filter_map(|l| l.strip_prefix("TZID:")).collect();
    assert_eq!(tzids, ["Europe/Paris", "America/New_York"]);
    let last_tz = l.iter().rposition(|l| l == "END:VTIMEZONE").unwrap();
    let first_event = l.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
    assert!(last_tz < first_event);
    // Every TZID used has its VTIMEZONE.
    for line in &l {
        if let Some(rest) = line.split_once(";TZID=").map(|x| x.1) {
            let tzid = rest.split([':', ';']).next().unwrap();
            assert!(tzids.contains(&tzid), "{tzid}");
        }
    }
}

/// Observances of the VTIMEZONE for `tzid`: (onset instant, offset to).
fn observances(s: &str, tzid: &str) -> Vec<(Timestamp, i32)> {
    let l = lines(s);
    let start = l.iter().position(|x| *x == format!("TZID:{tzid}")).unwrap();
    let parse_offset = |v: &str| {
        let sign = if v.starts_with('-') { -1 } else { 1 };
        let h: i32 = v[1..3].parse().unwrap();
        let m: i32 = v[3..5].parse().unwrap();
        let sec: i32 = v.get(5..7).map_or(0, |x| x.parse().unwrap());
        sign * (h * 3600 + m * 60 + sec)
    };
    let mut result = Vec::new();
    let (mut local, mut from) = (String::new(), 0);
    for line in &l[start..] {
        if line == "END:VTIMEZONE" {
            break;
        }
        if let Some(v) = line.strip_prefix("DTSTART:") {
            local = v.to_string();
        } else if let Some(v) = line.strip_prefix("TZOFFSETFROM:") {
            from = parse_offset(v);
        } else if let Some(v) = line.strip_prefix("TZOFFSETTO:") {
            let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", &local).unwrap();
            let onset =
                dt.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp() - SignedDuration::from_secs(i64::from(from));
            result.push((onset, parse_offset(v)));
        }
    }
    result.sort();
    result
}

/// Resolves a local time with the VTIMEZONE text only, the way a client
/// does: the observance in force is the last one whose onset precedes it.
fn resolve(s: &str, tzid: &str, local: &str) -> Timestamp {
    let obs = observances(s, tzid);
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", local).unwrap();
    let as_utc = dt.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
    for (i, &(onset, to)) in obs.iter().enumerate().rev() {
        let instant = as_utc - SignedDuration::from_secs(i64::from(to));
        if instant >= onset || i == 0 {
            return instant;
        }
    }
    unreachable!()
}

#[test]
fn weekly_series_across_the_end_of_dst_stays_at_nine_local() {
    let starts = [
        "2025-10-13T09:00[Europe/Paris]",
        "2025-10-20T09:00[Europe/Paris]",
        "2025-10-27T09:00[Europe/Paris]",
        "2025-11-03T09:00[Europe/Paris]",
    ];
    let events: Vec<Event> = starts
        .iter()
        .enumerate()
        .map(|(i, s)| event(&format!("w{i}"), s))
        .collect();
    let s = calendar(None, events).render();
    assert_well_formed(&s);
    let dtstarts: Vec<String> = lines(&s)
        .into_iter()
        .filter_map(|l| l.strip_prefix("DTSTART;TZID=Europe/Paris:").map(str::to_string))
        .collect();
    assert_eq!(
        dtstarts,
        [
            "20251013T090000",
            "20251020T090000",
            "20251027T090000",
            "20251103T090000"
        ]
    );
    let utc: Vec<String> = dtstarts
        .iter()
        .map(|d| resolve(&s, "Europe/Paris", d).to_string())
        .collect();
    assert_eq!(
        utc,
        [
            "2025-10-13T07:00:00Z",
            "2025-10-20T07:00:00Z",
            "2025-10-27T08:00:00Z",
            "2025-11-03T08:00:00Z",
        ]
    );
}

#[test]
fn vtimezone_agrees_with_jiff_for_many_zones() {
    for zone in [
        "Europe/Paris",
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Pacific/Chatham",
        "Africa/Casablanca",
        "America/St_Johns",
        "Etc/GMT-14",
    ] {
        let first = zoned(&format!("2025-01-06T09:00[{zone}]"));
        let mut events = Vec::new();
        let mut start = first.clone();
        for i in 0..60 {
            events.push(Event::new(
                format!("{zone}-{i}"),
                ts("2025-01-01T00:00:00Z"),
                start.clone(),
                start.checked_add(1.hour()).unwrap(),
                "x",
            ));
            start = start.checked_add(1.week()).unwrap();
        }
        let s = calendar(None, events.clone()).render();
        assert_well_formed(&s);
        for e in &events {
            let local = e.start.strftime("%Y%m%dT%H%M%S").to_string();
            assert_eq!(resolve(&s, zone, &local), e.start.timestamp(), "{zone} {local}");
        }
    }
}

#[test]
fn recurrence_properties() {
    let mut e = event("series", "2025-10-13T09:00[Europe/Paris]");
    e.rrule = Some("FREQ=WEEKLY;BYDAY=MO;COUNT=6".into());
    e.exdates = vec![zoned("2025-10-27T08:00[UTC]"), zoned("2025-11-03T09:00[Europe/Paris]")];
    let mut moved = event("series", "2025-11-10T14:00[Europe/Paris]");
    moved.recurrence_id = Some(zoned("2025-11-10T09:00[Europe/Paris]"));
    let s = calendar(None, vec![e, moved]).render();
    assert_well_formed(&s);
    assert_eq!(prop(&s, "RRULE").as_deref(), Some("FREQ=WEEKLY;BYDAY=MO;COUNT=6"));
    assert_eq!(
        prop(&s, "EXDATE;TZID=Europe/Paris").as_deref(),
        Some("20251027T090000,20251103T090000")
    );
    assert_eq!(
        prop(&s, "RECURRENCE-ID;TZID=Europe/Paris").as_deref(),
        Some("20251110T090000")
    );
}

/// The unfolded content lines of each VEVENT.
fn all_event_lines(s: &str) -> Vec<Vec<String>> {
    let mut events = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in lines(s) {
        match line.as_str() {
            "BEGIN:VEVENT" => current = Some(Vec::new()),
            "END:VEVENT" => events.extend(current.take()),
            _ => {
                if let Some(c) = current.as_mut() {
                    c.push(line);
                }
            }
        }
    }
    events
}

/// The value of `name_and_params` in one event's lines.
fn value_in(lines: &[String], name_and_params: &str) -> Option<String> {
    let prefix = format!("{name_and_params}:");
    lines.iter().find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// On 2027-10-31 Paris goes from 03:00+02:00 back to 02:00+01:00: 02:00 to 02:59:59 happen
/// twice. RFC 5545 reads such a local time as the first instant, libical as the second, so a
/// single event's start and end there are written in UTC; the minutes around stay local.
#[test]
fn ambiguous_local_times_are_written_in_utc() {
    let later = |start: &str, minutes: i64| {
        let mut e = event("e", start);
        e.end = e.start.checked_add(minutes.minutes()).unwrap();
        calendar(None, vec![e]).render()
    };
    // The later 02:30 (+01:00), for an hour: ends at 03:30, which happens once.
    let s = later("2027-10-31T02:30+01:00[Europe/Paris]", 60);
    assert_well_formed(&s);
    assert_eq!(
        value_in(&event_lines(&s), "DTSTART").as_deref(),
        Some("20271031T013000Z")
    );
    assert_eq!(
        value_in(&event_lines(&s), "DTEND;TZID=Europe/Paris").as_deref(),
        Some("20271031T033000")
    );
    assert!(s.contains("TZID:Europe/Paris"), "DTEND still uses the zone");
    // The earlier 02:30 (+02:00), for an hour: ends at the later 02:30. Nothing local is left,
    // so no VTIMEZONE either.
    let s = later("2027-10-31T02:30+02:00[Europe/Paris]", 60);
    assert_eq!(
        value_in(&event_lines(&s), "DTSTART").as_deref(),
        Some("20271031T003000Z")
    );
    assert_eq!(value_in(&event_lines(&s), "DTEND").as_deref(), Some("20271031T013000Z"));
    assert!(!s.contains("TZID"), "{s}");
    // Both ends of the repeated hour, and the minutes just outside it.
    let s = later("2027-10-31T02:00+02:00[Europe/Paris]", 59);
    assert_eq!(
        value_in(&event_lines(&s), "DTSTART").as_deref(),
        Some("20271031T000000Z")
    );
    assert_eq!(value_in(&event_lines(&s), "DTEND").as_deref(), Some("20271031T005900Z"));
    let s = later("2027-10-31T01:59[Europe/Paris]", 121);
    assert_eq!(
        value_in(&event_lines(&s), "DTSTART;TZID=Europe/Paris").as_deref(),
        Some("20271031T015900")
    );
    assert_eq!(
        value_in(&event_lines(&s), "DTEND;TZID=Europe/Paris").as_deref(),
        Some("20271031T030000"),
        "03:00+01:00 happens once"
    );
    // A spring change skips an hour: every local time there is one instant.
    let s = later("2027-03-28T01:30[Europe/Paris]", 60);
    assert_eq!(
        value_in(&event_lines(&s), "DTEND;TZID=Europe/Paris").as_deref(),
        Some("20270328T033000")
    );
}

/// A series starting at an ambiguous time keeps its local DTSTART (the rule repeats 02:30 in
/// Paris, summer and winter), gives its length as DURATION, and its first occurrence is put
/// at the booked instant by an override that names it by the same local text.
#[test]
fn a_series_starting_at_an_ambiguous_time_overrides_its_first_occurrence() {
    for (start, utc) in [
        ("2027-10-31T02:30+01:00[Europe/Paris]", "20271031T013000Z"),
        ("2027-10-31T02:30+02:00[Europe/Paris]", "20271031T003000Z"),
    ] {
        let mut e = event("series", start);
        e.rrule = Some("FREQ=WEEKLY;INTERVAL=22;COUNT=3".into());
        e.alarms = vec![Alarm::new(SignedDuration::from_mins(15), "")];
        let s = calendar(None, vec![e.clone()]).render();
        assert_well_formed(&s);
        let events = all_event_lines(&s);
        assert_eq!(events.len(), 2, "{s}");
        let (series, first) = (&events[0], &events[1]);
        assert_eq!(
            value_in(series, "DTSTART;TZID=Europe/Paris").as_deref(),
            Some("20271031T023000")
        );
        assert_eq!(value_in(series, "DURATION").as_deref(), Some("PT1H30M"));
        assert!(!series.iter().any(|l| l.starts_with("DTEND")));
        assert!(!series.iter().any(|l| l.starts_with("RECURRENCE-ID")));
        assert_eq!(value_in(first, "UID").as_deref(), Some("series"));
        assert_eq!(
            value_in(first, "RECURRENCE-ID;TZID=Europe/Paris").as_deref(),
            Some("20271031T023000")
        );
        assert_eq!(value_in(first, "DTSTART").as_deref(), Some(utc));
        assert!(value_in(first, "RRULE").is_none() && value_in(first, "DURATION").is_none());
        assert!(first.contains(&"BEGIN:VALARM".to_string()), "the same event otherwise");
        // An occurrence the caller overrides or excludes itself gets no second override.
        let mut moved = event("series", "2027-10-31T10:00[Europe/Paris]");
        moved.recurrence_id = Some(e.start.clone());
        let s = calendar(None, vec![e.clone(), moved]).render();
        assert_eq!(all_event_lines(&s).len(), 2);
        let mut excluded = e.clone();
        excluded.exdates = vec![e.start.clone()];
        let s = calendar(None, vec![excluded]).render();
        assert_eq!(all_event_lines(&s).len(), 1);
        assert_eq!(prop(&s, "EXDATE;TZID=Europe/Paris").as_deref(), Some("20271031T023000"));
    }
    // A series starting at a time that happens once is written as before: one event, DTEND.
    let mut e = event("series", "2027-10-31T03:30[Europe/Paris]");
    e.rrule = Some("FREQ=WEEKLY;COUNT=3".into());
    let s = calendar(None, vec![e]).render();
    assert_eq!(all_event_lines(&s).len(), 1);
    assert_eq!(prop(&s, "DTEND;TZID=Europe/Paris").as_deref(), Some("20271031T050000"));
}

#[test]
fn rrule_extends_the_vtimezone() {
    let mut e = event("series", "2025-01-06T09:00[Europe/Paris]");
    e.rrule = Some("FREQ=WEEKLY;UNTIL=20271231T000000Z".into());
    let s = calendar(None, vec![e]).render();
    // Transitions up to one year after UNTIL.
    assert!(s.contains("DTSTART:20281029T030000"), "{s}");
    assert!(!s.contains("DTSTART:20291028"));
}

#[test]
fn long_exdate_lists_fold() {
    let mut e = event("series", "2025-01-06T09:00[Europe/Paris]");
    e.rrule = Some("FREQ=DAILY;COUNT=100".into());
    e.exdates = (1..40).map(|d| e.start.checked_add(d.days()).unwrap()).collect();
    let s = calendar(None, vec![e]).render();
    assert_well_formed(&s);
    let value = prop(&s, "EXDATE;TZID=Europe/Paris").unwrap();
    assert_eq!(value.split(',').count(), 39);
    assert!(value.split(',').all(|v| v.len() == 15 && v.ends_with("T090000")));
}

#[test]
fn user_text_cannot_inject_properties_or_parameters() {
    let mut e = event(NASTY, "2025-10-20T09:00[Europe/Paris]");
    e.summary = NASTY.into();
    e.description = Some(NASTY.into());
    e.location = Some(NASTY.into());
    e.url = Some(format!("https://x.example/{NASTY}"));
    e.categories = vec![NASTY.into()];
    e.rrule = Some("FREQ=DAILY;COUNT=2\r\nATTENDEE:mailto:evil@example.org".into());
    e.organizer = Some(Person::new(NASTY, NASTY));
    e.attendees = vec![Attendee::new(Person::new(NASTY, NASTY))];
    e.alarms = vec![Alarm::new(SignedDuration::from_mins(5), NASTY)];
    let mut cal = calendar(Some(Method::Request), vec![e]);
    cal.prodid = NASTY.into();
    cal.name = Some(NASTY.into());
    let s = cal.render();
    assert_well_formed(&s);
    let l = lines(&s);
    let name = |l: &String| l[..l.find([':', ';']).unwrap()].to_string();
    let tz_start = l.iter().position(|l| l == "BEGIN:VTIMEZONE").unwrap();
    let tz_end = l.iter().position(|l| l == "END:VTIMEZONE").unwrap();
    let tz_names: std::collections::BTreeSet<String> = l[tz_start..=tz_end].iter().map(name).collect();
    assert_eq!(
        tz_names.into_iter().collect::<Vec<_>>(),
        [
            "BEGIN",
            "DTSTART",
            "END",
            "TZID",
            "TZNAME",
            "TZOFFSETFROM",
            "TZOFFSETTO"
        ]
    );
    let names: Vec<String> = l[..tz_start].iter().chain(&l[tz_end + 1..]).map(name).collect();
    assert_eq!(
        names,
        [
            "BEGIN",
            "PRODID",
            "VERSION",
            "CALSCALE",
            "METHOD",
            "X-WR-CALNAME",
            "BEGIN",
            "UID",
            "DTSTAMP",
            "SEQUENCE",
            "DTSTART",
            "DTEND",
            "RRULE",
            "SUMMARY",
            "DESCRIPTION",
            "LOCATION",
            "URL",
            "ORGANIZER",
            "ATTENDEE",
            "CATEGORIES",
            "STATUS",
            "TRANSP",
            "BEGIN",
            "ACTION",
            "DESCRIPTION",
            "TRIGGER",
            "END",
            "END",
            "END",
        ]
    );
    // TEXT values round-trip (CR dropped).
    let expected = NASTY.replace('\r', "");
    for name in ["SUMMARY", "DESCRIPTION", "LOCATION", "UID", "PRODID", "X-WR-CALNAME"] {
        let v = prop(&s, name).unwrap();
        assert_eq!(unescape(&v), expected, "{name}");
    }
    // Quoted CN with RFC 6868 line breaks; no raw quote inside.
    let organizer = l.iter().find(|l| l.starts_with("ORGANIZER")).unwrap();
    let cn = organizer
        .strip_prefix("ORGANIZER;CN=\"")
        .and_then(|r| r.split_once("\":mailto:"))
        .unwrap()
        .0;
    assert!(!cn.contains('"'));
    assert!(cn.contains("^n"));
    // The address is one percent-encoded URI.
    let uri = organizer.rsplit_once("\":").unwrap().1;
    assert!(uri.starts_with("mailto:Caf%C3%A9%20"), "{uri}");
    assert!(uri.bytes().all(|b| b.is_ascii_graphic()), "{uri}");
    assert!(prop(&s, "RRULE").unwrap().contains("COUNT=2ATTENDEE"));
}

#[test]
fn capacity_estimate_covers_typical_events() {
    let mut e = event(
        "3f1c7a2e-0d7c-4a55-9f50-1b2a3c4d5e6f@dialogue.example",
        "2025-10-20T09:00[Europe/Paris]",
    );
    e.description = Some("Une description de la session, avec des accents.".into());
    e.organizer = Some(Person::new("Formateur", "formateur@example.org"));
    e.attendees = (0..10)
        .map(|i| Attendee::new(Person::new(format!("Apprenant {i}"), format!("a{i}@example.org"))))
        .collect();
    e.alarms = vec![Alarm::new(SignedDuration::from_mins(15), "Rappel")];
    let cal = calendar(Some(Method::Request), vec![e.clone(); 50]);
    let s = cal.render();
    assert!(cal.estimated_len() >= s.len(), "{} < {}", cal.estimated_len(), s.len());
    assert!(cal.estimated_len() < s.len() * 2);
}

/// An event that is valid for `method`.
fn valid_event(method: Option<Method>) -> Event {
    let mut e = event("u", "2025-10-20T09:00[Europe/Paris]");
    e.organizer = Some(Person::new("O", "o@example.org"));
    e.attendees = vec![Attendee::new(Person::new("A", "a@example.org"))];
    e.rrule = Some("FREQ=WEEKLY;BYDAY=-1SU;UNTIL=20260101T000000Z".into());
    e.url = Some("https://x.example/".into());
    match method {
        Some(Method::Cancel) => e.status = Status::Cancelled,
        Some(Method::Publish) => e.attendees.clear(),
        _ => {}
    }
    e
}

#[test]
fn validate_accepts_proper_calendars() {
    for method in [None, Some(Method::Request), Some(Method::Cancel), Some(Method::Publish)] {
        assert_eq!(calendar(method, vec![valid_event(method)]).validate(), Ok(()));
    }
    let mut e = valid_event(None);
    e.organizer = None;
    e.attendees.clear();
    e.status = Status::Cancelled;
    assert_eq!(calendar(None, vec![e]).validate(), Ok(()));
}

#[test]
fn validate_reports_problems() {
    let check = |method: Option<Method>, f: &dyn Fn(&mut Event)| {
        let mut e = valid_event(method);
        f(&mut e);
        calendar(method, vec![valid_event(method), e]).validate()
    };
    let uid = || "u".to_string();

    let mut cal = calendar(None, vec![]);
    cal.prodid = " ".into();
    assert_eq!(cal.validate(), Err(Error::EmptyProdid));
    assert_eq!(check(None, &|e| e.uid.clear()), Err(Error::EmptyUid { index: 1 }));
    assert_eq!(
        check(None, &|e| e.end = e.start.clone()),
        Err(Error::EndNotAfterStart { uid: uid() })
    );
    assert_eq!(
        check(None, &|e| e.exdates = vec![zoned("0000-06-01T00:00[UTC]")]),
        Err(Error::YearOutOfRange { uid: uid() })
    );
    for method in [Method::Request, Method::Cancel, Method::Publish] {
        assert_eq!(
            check(Some(method), &|e| e.organizer = None),
            Err(Error::MissingOrganizer { uid: uid(), method })
        );
    }
    for method in [Method::Request, Method::Cancel] {
        assert_eq!(
            check(Some(method), &|e| e.attendees.clear()),
            Err(Error::MissingAttendees { uid: uid(), method })
        );
    }
    assert_eq!(
        check(Some(Method::Publish), &|e| {
            e.attendees = vec![Attendee::new(Person::new("A", "a@example.org"))];
        }),
        Err(Error::AttendeesNotAllowed {
            uid: uid(),
            method: Method::Publish
        })
    );
    assert_eq!(
        check(Some(Method::Request), &|e| e.status = Status::Cancelled),
        Err(Error::StatusNotAllowed {
            uid: uid(),
            method: Method::Request,
            status: Status::Cancelled
        })
    );
    for status in [Status::Confirmed, Status::Tentative] {
        assert_eq!(
            check(Some(Method::Cancel), &|e| e.status = status),
            Err(Error::StatusNotAllowed {
                uid: uid(),
                method: Method::Cancel,
                status
            })
        );
    }
    for bad in ["", "nobody", "@x.org", "a@", "a b@x.org", "a@x.org\r\n"] {
        assert_eq!(
            check(None, &|e| e.attendees[0].person.email = bad.into()),
            Err(Error::InvalidEmail {
                uid: uid(),
                email: bad.into()
            })
        );
    }
    for bad in ["", "COUNT=3", "FREQ=DAILY\r\nX:y", "FREQ=DAILY;X-Y=\"z\""] {
        assert_eq!(
            check(None, &|e| e.rrule = Some(bad.into())),
            Err(Error::InvalidRrule { uid: uid() })
        );
    }
    for bad in ["", "dialogue.example/x", "1http://x", "://x"] {
        assert_eq!(
            check(None, &|e| e.url = Some(bad.into())),
            Err(Error::InvalidUrl { uid: uid() })
        );
    }
    let message = Error::MissingAttendees {
        uid: uid(),
        method: Method::Request,
    }
    .to_string();
    assert_eq!(message, "event \"u\" has no attendee, which METHOD:REQUEST requires");
}
