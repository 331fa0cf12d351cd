//! Calendars shared by the parser tests and the benchmark.

use ical::{Alarm, Attendee, Calendar, Event, Method, PartStat, Person, Role, Status};
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// Text that tries everything: accents, CJK, emoji (with a ZWJ sequence),
/// TEXT specials, CR/LF, Unicode line separators, a tab, control
/// characters, and an attempt to add an attendee and end the event.
pub const NASTY: &str = "Café «été» 日本語 😀👩\u{200d}💻 \"quoted\" ^caret; a,b\\c:d\tTab\n\
     line2\r\nline3\u{2028}line4\u{7}bell\r\nATTENDEE;CN=Evil:mailto:evil@example.org\r\n\
     END:VEVENT\r\nBEGIN:VEVENT";

/// What a parser should read back from [`NASTY`] (or any user text): CR and
/// control characters other than TAB and LF are dropped, Unicode line
/// breaks read as LF.
pub fn expected_text(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{85}' | '\u{2028}' | '\u{2029}' => Some('\n'),
            '\t' | '\n' => Some(c),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

pub fn zoned(s: &str) -> Zoned {
    s.parse().expect("valid zoned date-time in a fixture")
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp in a fixture")
}

fn event(uid: &str, start: &str, minutes: i64, summary: &str) -> Event {
    let start = zoned(start);
    let end = start.checked_add(minutes.minutes()).expect("end in range");
    Event::new(uid, ts("2025-09-01T12:00:00Z"), start, end, summary)
}

pub fn organizer() -> Person {
    Person::new("Formatrice Zoé", "formatrice@example.org")
}

/// An invitation whose every text field is [`NASTY`], with two attendees,
/// two alarms, a URL and categories.
pub fn nasty_invitation() -> Calendar {
    let mut e = event(
        "6b0e1c1e-4f1f-4d0e-9a35-0d6f4c1b2a11@dialogue.example",
        "2025-11-14T14:30[America/New_York]",
        120,
        NASTY,
    );
    e.sequence = 2;
    e.created = Some(ts("2025-08-01T08:30:15Z"));
    e.last_modified = Some(ts("2025-08-02T09:45:00Z"));
    e.description = Some(format!("{NASTY}\n{}", "Longue description. ".repeat(20)));
    e.location = Some(NASTY.into());
    e.url = Some("https://dialogue.example/join/6b0e1c1e?lang=fr&x=a b;c,d".into());
    e.categories = vec!["Formation".into(), NASTY.into()];
    e.organizer = Some(Person::new(NASTY, "formatrice@example.org"));
    e.attendees = vec![
        Attendee::new(Person::new(NASTY, "zoë.o'brien+rust@exemple.fr")),
        Attendee {
            person: Person::new("Dupont, Jean \"JJ\"", "jean.dupont@example.org"),
            role: Role::Chair,
            partstat: PartStat::Accepted,
            rsvp: false,
        },
        Attendee {
            person: Person::new("", "optional@example.org"),
            role: Role::OptParticipant,
            partstat: PartStat::Tentative,
            rsvp: true,
        },
    ];
    e.alarms = vec![
        Alarm::new(SignedDuration::from_mins(15), NASTY),
        Alarm::new(SignedDuration::from_hours(24) + SignedDuration::from_secs(30), ""),
    ];
    let mut utc = event("utc-event@dialogue.example", "2025-11-15T08:00[UTC]", 60, "UTC");
    utc.organizer = Some(organizer());
    utc.attendees = vec![Attendee::new(Person::new("A", "a@example.org"))];
    utc.status = Status::Tentative;
    Calendar {
        method: Some(Method::Request),
        prodid: "-//Dialogue//Dialogue 0.1//FR".into(),
        name: Some(NASTY.into()),
        events: vec![e, utc],
    }
}

/// A cancellation (METHOD:CANCEL) of one session for two attendees.
pub fn cancellation() -> Calendar {
    let mut e = event(
        "cancelled@dialogue.example",
        "2025-12-01T10:00[Europe/Paris]",
        60,
        "Annulée",
    );
    e.sequence = 4;
    e.status = Status::Cancelled;
    e.organizer = Some(organizer());
    e.attendees = vec![
        Attendee::new(Person::new("Learner One", "one@example.org")),
        Attendee::new(Person::new("Learner Two", "two@example.org")),
    ];
    Calendar {
        method: Some(Method::Cancel),
        prodid: "-//Dialogue//Dialogue 0.1//FR".into(),
        name: None,
        events: vec![e],
    }
}

/// [`dst_calendar`] as a METHOD:PUBLISH calendar (organizer, no attendee).
pub fn publication() -> Calendar {
    let mut cal = dst_calendar();
    cal.method = Some(Method::Publish);
    for e in &mut cal.events {
        e.organizer = Some(organizer());
    }
    cal
}

/// The local starts of the weekly 09:00 Europe/Paris sessions around the
/// end of DST (Sunday 2025-10-26).
pub const WEEKLY_PARIS: [&str; 4] = [
    "2025-10-13T09:00[Europe/Paris]",
    "2025-10-20T09:00[Europe/Paris]",
    "2025-10-27T09:00[Europe/Paris]",
    "2025-11-03T09:00[Europe/Paris]",
];

/// The same week's sessions as separate events, plus a recurring series
/// with an excluded and a moved occurrence, and a Sydney series whose DST
/// starts on 2025-10-05.
pub fn dst_calendar() -> Calendar {
    let mut events: Vec<Event> = WEEKLY_PARIS
        .iter()
        .enumerate()
        .map(|(i, s)| event(&format!("weekly-{i}@dialogue.example"), s, 120, "Hebdo"))
        .collect();
    let mut series = event("series@dialogue.example", WEEKLY_PARIS[0], 120, "Série");
    series.rrule = Some("FREQ=WEEKLY;BYDAY=MO;COUNT=6".into());
    series.exdates = vec![zoned("2025-11-03T08:00[UTC]")];
    events.push(series);
    let mut moved = event(
        "series@dialogue.example",
        "2025-11-10T14:00[Europe/Paris]",
        60,
        "Déplacée",
    );
    moved.recurrence_id = Some(zoned("2025-11-10T09:00[Europe/Paris]"));
    moved.sequence = 1;
    events.push(moved);
    let mut sydney = event(
        "sydney@dialogue.example",
        "2025-09-22T18:00[Australia/Sydney]",
        60,
        "Sydney",
    );
    sydney.rrule = Some("FREQ=WEEKLY;UNTIL=20251020T000000Z".into());
    events.push(sydney);
    Calendar {
        method: None,
        prodid: "-//Dialogue//Dialogue 0.1//FR".into(),
        name: Some("Sessions".into()),
        events,
    }
}

/// The occurrences (UTC) the series of [`dst_calendar`] must expand to.
pub fn expected_series_occurrences() -> Vec<Timestamp> {
    [
        "2025-10-13T07:00:00Z",
        "2025-10-20T07:00:00Z",
        "2025-10-27T08:00:00Z",
        // 2025-11-03 excluded
        "2025-11-10T13:00:00Z", // moved to 14:00 local
        "2025-11-17T08:00:00Z",
    ]
    .map(ts)
    .to_vec()
}

/// Sessions booked at 02:30 in Paris on 2027-10-31, when clocks go back from 03:00+02:00 to
/// 02:00+01:00, so that 02:30 happens twice: `(uid, start, minutes, rule)`. Two single sessions
/// (the later and the earlier 02:30), and a series from each, every 22 weeks (the second
/// occurrence is on 2028-04-02, in summer time: still 02:30 on the clock, 00:30Z).
pub const AMBIGUOUS: [(&str, &str, i64, Option<&str>); 4] = [
    (
        "later@dialogue.example",
        "2027-10-31T02:30+01:00[Europe/Paris]",
        60,
        None,
    ),
    (
        "earlier@dialogue.example",
        "2027-10-31T02:30+02:00[Europe/Paris]",
        60,
        None,
    ),
    (
        "series-later@dialogue.example",
        "2027-10-31T02:30+01:00[Europe/Paris]",
        90,
        Some("FREQ=WEEKLY;INTERVAL=22;COUNT=3"),
    ),
    (
        "series-earlier@dialogue.example",
        "2027-10-31T02:30+02:00[Europe/Paris]",
        90,
        Some("FREQ=WEEKLY;INTERVAL=22;COUNT=3"),
    ),
];

/// The invitation to the [`AMBIGUOUS`] sessions.
pub fn ambiguous_calendar() -> Calendar {
    let events = AMBIGUOUS
        .iter()
        .map(|(uid, start, minutes, rule)| {
            let mut e = event(uid, start, *minutes, "Heure d’hiver");
            e.rrule = rule.map(str::to_owned);
            e.organizer = Some(organizer());
            e.attendees = vec![Attendee::new(Person::new("Léa", "lea@example.org"))];
            e
        })
        .collect();
    Calendar {
        method: Some(Method::Request),
        prodid: "-//Dialogue//Dialogue 0.1//FR".into(),
        name: None,
        events,
    }
}

/// The occurrences (start, end in UTC) a reader must show for an [`AMBIGUOUS`] entry: every
/// 22 weeks at 02:30 on the clock, the first at the booked instant.
pub fn ambiguous_occurrences(start: &str, minutes: i64, count: i64) -> Vec<(String, String)> {
    let first = zoned(start);
    (0..count)
        .map(|k| {
            // Adding weeks to a zoned time keeps its clock time (and the first is the start).
            let s = first.checked_add((22 * k).weeks()).expect("in range");
            let e = s.checked_add(minutes.minutes()).expect("in range");
            (s.timestamp().to_string(), e.timestamp().to_string())
        })
        .collect()
}

/// A feed of `n` events over two years in several zones, each with an
/// organizer, `attendees` attendees and a reminder, one in ten recurring.
pub fn feed(n: usize, attendees: usize) -> Calendar {
    const ZONES: [&str; 5] = [
        "Europe/Paris",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Sydney",
        "UTC",
    ];
    let first = zoned("2025-01-06T09:00[UTC]");
    let events = (0..n)
        .map(|i| {
            let zone = ZONES[i % ZONES.len()];
            let tz = jiff::tz::TimeZone::get(zone).expect("zone in tzdb");
            let day = i64::try_from(i % 730).expect("small");
            let start = first.checked_add(day.days()).expect("in range").with_time_zone(tz);
            let end = start.checked_add(2.hours()).expect("in range");
            let mut e = Event::new(
                format!("{i:08x}-5c1e-4b7a-9d0e-7f3a2c1b0e9d@dialogue.example"),
                ts("2025-01-01T00:00:00Z"),
                start,
                end,
                format!("Session {i} : Rust avancé, jour {}", i % 5 + 1),
            );
            e.sequence = u32::try_from(i % 3).expect("small");
            e.description = Some(format!(
                "Formation « Rust avancé », module {}.\nLien : https://dialogue.example/join/{i:08x}",
                i % 12
            ));
            e.location = Some("En ligne (Jitsi Meet)".into());
            e.url = Some(format!("https://dialogue.example/join/{i:08x}"));
            e.organizer = Some(organizer());
            e.attendees = (0..attendees)
                .map(|a| {
                    Attendee::new(Person::new(
                        format!("Apprenant·e {a}"),
                        format!("learner{a}@example.org"),
                    ))
                })
                .collect();
            e.alarms = vec![Alarm::new(SignedDuration::from_mins(15), "Rappel")];
            e.last_modified = Some(ts("2025-01-02T10:00:00Z"));
            e.categories = vec!["Formation".into()];
            if i % 10 == 0 {
                e.rrule = Some("FREQ=WEEKLY;COUNT=4".into());
            }
            e
        })
        .collect();
    Calendar {
        method: None,
        prodid: "-//Dialogue//Dialogue 0.1//FR".into(),
        name: Some("Mes sessions".into()),
        events,
    }
}
