//! Sessions as iCalendar events: invitation attachments, per-account feeds and the waiting
//! page's download all describe a session the same way, through [`session_event`].

use domain::Locale;
use ical::{Alarm, Attendee, Calendar, Event, Method, PartStat, Person, Role, Status};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use store::{Participant, ParticipantRole, Rsvp, Session, SessionStatus};

use i18n::format_datetime;

/// The PRODID of every calendar Dialogue writes.
pub const PRODID: &str = "-//Dialogue//Dialogue//FR";

/// The personal side of an event: the reader's join link and when it opens.
#[derive(Debug, Clone)]
pub struct JoinInfo {
    pub url: String,
    pub opens_at: Timestamp,
}

/// A session as an event, described in `locale`. `organizer` is who sends invitations (the
/// organisation's address); without one, the first trainer organises.
pub fn session_event(
    session: &Session,
    participants: &[Participant],
    join: Option<&JoinInfo>,
    organizer: Option<Person>,
    locale: Locale,
    now: Timestamp,
) -> Event {
    session_event_in(session, participants, join, organizer, locale, now, &session.time_zone)
}

/// [`session_event`] for a reader in `reader_zone`: the times its description gives (when the
/// join link opens) are in that zone, named. The event's own times keep the session's zone.
pub fn session_event_in(
    session: &Session,
    participants: &[Participant],
    join: Option<&JoinInfo>,
    organizer: Option<Person>,
    locale: Locale,
    now: Timestamp,
    reader_zone: &str,
) -> Event {
    let tz = TimeZone::get(&session.time_zone).unwrap_or(TimeZone::UTC);
    let mut event = Event::new(
        session.uid.clone(),
        now,
        session.starts_at.to_zoned(tz.clone()),
        session.ends_at.to_zoned(tz),
        session.title.clone(),
    );
    event.sequence = u32::try_from(session.sequence).unwrap_or(u32::MAX);
    event.status = match session.status {
        SessionStatus::Scheduled => Status::Confirmed,
        SessionStatus::Cancelled => Status::Cancelled,
    };
    event.created = Some(session.created_at);
    event.last_modified = Some(session.updated_at);
    let trainers: Vec<&str> = participants
        .iter()
        .filter(|p| p.role == ParticipantRole::Trainer)
        .map(|p| p.name.as_str())
        .collect();
    let mut description = Vec::new();
    if !trainers.is_empty() {
        description.push(locale.tf("calendar.trainers", &[("names", &trainers.join(", "))]));
    }
    if let Some(join) = join {
        description.push(locale.tf("calendar.join", &[("url", &join.url)]));
        description.push(locale.tf(
            "calendar.opens",
            &[("when", &format_datetime(join.opens_at, reader_zone, locale))],
        ));
        event.url = Some(join.url.clone());
        event.location = Some(join.url.clone());
    }
    if !session.notes.is_empty() {
        description.push(session.notes.clone());
    }
    if !description.is_empty() {
        event.description = Some(description.join("\n\n"));
    }
    event.organizer = organizer.or_else(|| {
        participants
            .iter()
            .find(|p| p.role == ParticipantRole::Trainer)
            .map(|p| Person::new(p.name.clone(), p.email.clone()))
    });
    event.attendees = participants
        .iter()
        .map(|p| Attendee {
            person: Person::new(p.name.clone(), p.email.clone()),
            role: match p.role {
                ParticipantRole::Trainer => Role::Chair,
                ParticipantRole::Moderator | ParticipantRole::Learner => Role::ReqParticipant,
                ParticipantRole::Guest => Role::OptParticipant,
            },
            partstat: match p.rsvp {
                Rsvp::Pending => PartStat::NeedsAction,
                Rsvp::Accepted => PartStat::Accepted,
                Rsvp::Declined => PartStat::Declined,
            },
            // No answer by iTIP REPLY: the organizer's address is the organisation's mailbox,
            // which Dialogue does not read, so a calendar client's reply would count for
            // nothing. Answers are given on the link's page (the mail's buttons); PARTSTAT
            // shows the answer given there.
            rsvp: false,
        })
        .collect();
    if session.status == SessionStatus::Scheduled {
        event.alarms = vec![Alarm::new(SignedDuration::from_mins(15), locale.t("calendar.alarm"))];
    }
    event
}

/// One session of a series as one person's calendar holds it: the instant the rule gave it, the
/// session, and its event as [`session_event_in`] describes it to that person.
#[derive(Debug, Clone)]
pub struct SeriesItem<'a> {
    pub occurrence_at: Timestamp,
    pub session: &'a Session,
    pub event: Event,
}

/// A series as one event for one person: the rule from its first instant (`DTSTART` in the
/// series' zone, so that every reader repeats the local time across DST changes), the
/// occurrences the person is not in or that were cancelled as `EXDATE`, and each session moved,
/// lengthened, renamed or re-noted alone as an override (same UID, `RECURRENCE-ID` = the
/// instant the rule gave it). A session whose rule instant the rule does not give (moved before
/// Dialogue kept that instant) is added with `RDATE`. The master takes the first scheduled
/// session's description (its personal link leads on to the next session, see
/// `service::join`). Empty when no session is scheduled.
pub fn series_events(series: &store::Series, items: Vec<SeriesItem<'_>>) -> Vec<Event> {
    let tz = TimeZone::get(&series.time_zone).unwrap_or(TimeZone::UTC);
    let scheduled = |i: &SeriesItem<'_>| i.session.status == SessionStatus::Scheduled;
    let Some(base) = items.iter().find(|i| scheduled(i)) else {
        return Vec::new();
    };
    let instants = rule_instants(series).unwrap_or_default();
    let first = series.first_at.to_zoned(tz.clone());
    let mut master = base.event.clone();
    master.uid = series.uid.clone();
    master.start = first.clone();
    master.end = (series.first_at + series.duration).to_zoned(tz.clone());
    master.rrule = Some(series.rrule.clone());
    master.recurrence_id = None;
    master.sequence = items.iter().map(|i| i.event.sequence).max().unwrap_or(0);
    master.created = items.iter().filter_map(|i| i.event.created).min();
    master.last_modified = items.iter().filter_map(|i| i.event.last_modified).max();
    let plain = |i: &SeriesItem<'_>| {
        i.session.starts_at == i.occurrence_at
            && i.session.ends_at == i.occurrence_at + series.duration
            && i.session.title == base.session.title
            && i.session.notes == base.session.notes
    };
    let mut overrides = Vec::new();
    for at in &instants {
        match items.iter().find(|i| i.occurrence_at == *at && scheduled(i)) {
            Some(i) if plain(i) => {}
            Some(i) => overrides.push(i),
            None => master.exdates.push(at.to_zoned(tz.clone())),
        }
    }
    for i in items
        .iter()
        .filter(|i| scheduled(i) && !instants.contains(&i.occurrence_at))
    {
        master.rdates.push(i.occurrence_at.to_zoned(tz.clone()));
        if !plain(i) {
            overrides.push(i);
        }
    }
    let mut events = vec![master];
    events.extend(overrides.into_iter().map(|i| occurrence_override(series, i)));
    events
}

/// One occurrence of a series as an override of its event: what an update of that session
/// alone sends, and what [`series_events`] adds for a session changed alone.
pub fn occurrence_override(series: &store::Series, item: &SeriesItem<'_>) -> Event {
    let tz = TimeZone::get(&series.time_zone).unwrap_or(TimeZone::UTC);
    let mut event = item.event.clone();
    event.uid = series.uid.clone();
    event.rrule = None;
    event.exdates.clear();
    event.rdates.clear();
    event.recurrence_id = Some(item.occurrence_at.to_zoned(tz));
    event
}

/// The instants the series' rule gives, from its first one; `None` when the stored rule cannot
/// be read or expanded (then every session is an `RDATE`).
fn rule_instants(series: &store::Series) -> Option<Vec<Timestamp>> {
    let rule: domain::recurrence::Rule = series.rrule.parse().ok()?;
    let zone = domain::localtime::TimeZoneName::parse(&series.time_zone).ok()?;
    let first = series.first_at.to_zoned(zone.time_zone().clone()).datetime();
    // Whatever limits the series was booked under, it is read back whole.
    let limits = domain::recurrence::Limits {
        max_span: jiff::Span::new().years(20),
        max_occurrences: 10_000,
    };
    let all = domain::recurrence::occurrences(&rule, first, &zone, &limits).ok()?;
    Some(all.iter().map(jiff::Zoned::timestamp).collect())
}

/// A calendar of `events`.
pub fn calendar(method: Option<Method>, name: Option<String>, events: Vec<Event>) -> Calendar {
    Calendar {
        method,
        prodid: PRODID.to_owned(),
        name,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let at: Timestamp = "2026-10-26T08:00:00Z".parse().unwrap();
        Session {
            id: "s1".into(),
            uid: "u1@dialogue".into(),
            course_id: None,
            series_id: None,
            title: "Excel; avancé, \"vraiment\"".into(),
            starts_at: at,
            ends_at: at + SignedDuration::from_mins(90),
            time_zone: "Europe/Paris".into(),
            status: SessionStatus::Scheduled,
            room: "excel-abc".into(),
            notes: "Apportez un casque.".into(),
            sequence: 2,
            created_by: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn participant(role: ParticipantRole, email: &str) -> Participant {
        Participant {
            id: email.into(),
            session_id: "s1".into(),
            role,
            user_id: None,
            contact_id: None,
            name: email.split('@').next().unwrap().into(),
            email: email.into(),
            link_version: 1,
            rsvp: Rsvp::Pending,
            created_at: "2026-10-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn an_invitation_is_valid_and_local() {
        let people = vec![
            participant(ParticipantRole::Trainer, "theo@example.org"),
            participant(ParticipantRole::Learner, "lea@example.org"),
        ];
        let join = JoinInfo {
            url: "https://d.example.org/j/KEY".into(),
            opens_at: "2026-10-26T07:55:00Z".parse().unwrap(),
        };
        let event = session_event(
            &session(),
            &people,
            Some(&join),
            None,
            Locale::Fr,
            "2026-10-01T00:00:00Z".parse().unwrap(),
        );
        let cal = calendar(Some(Method::Request), None, vec![event]);
        cal.validate().unwrap();
        let text = cal.render();
        assert!(text.contains("DTSTART;TZID=Europe/Paris:20261026T090000"), "{text}");
        assert!(text.contains("SEQUENCE:2"));
        assert!(text.contains("UID:u1@dialogue"));
        assert!(text.contains("URL:https://d.example.org/j/KEY"));
        assert!(text.contains("ORGANIZER;CN=theo:mailto:theo@example.org"));
        assert!(text.contains("BEGIN:VALARM"));
    }

    /// 02:30 happens twice in Paris on 2027-10-31; readers disagree on which instant a local
    /// 02:30 names, so the session's times there are written in UTC, the others stay local.
    #[test]
    fn a_session_in_the_repeated_hour_is_written_at_its_instant() {
        let people = vec![participant(ParticipantRole::Trainer, "theo@example.org")];
        for (start, dtstart, dtend) in [
            (
                "2027-10-31T01:30:00Z",
                "DTSTART:20271031T013000Z",
                "DTEND;TZID=Europe/Paris:20271031T033000",
            ),
            (
                "2027-10-31T00:30:00Z",
                "DTSTART:20271031T003000Z",
                "DTEND:20271031T013000Z",
            ),
        ] {
            let at: Timestamp = start.parse().unwrap();
            let s = Session {
                starts_at: at,
                ends_at: at + SignedDuration::from_mins(60),
                ..session()
            };
            let event = session_event(&s, &people, None, None, Locale::Fr, at);
            let text = calendar(Some(Method::Request), None, vec![event]).render();
            assert!(text.contains(&format!("\r\n{dtstart}\r\n")), "{text}");
            assert!(text.contains(&format!("\r\n{dtend}\r\n")), "{text}");
        }
    }
}
