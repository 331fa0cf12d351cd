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
            rsvp: p.rsvp == Rsvp::Pending,
        })
        .collect();
    if session.status == SessionStatus::Scheduled {
        event.alarms = vec![Alarm::new(SignedDuration::from_mins(15), locale.t("calendar.alarm"))];
    }
    event
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
