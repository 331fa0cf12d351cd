//! Rendering and validation of a [`Calendar`].

use std::fmt;

use jiff::Zoned;
use jiff::tz::Offset;

use crate::tz::{self, Zones};
use crate::write::Out;
use crate::{Calendar, Event, Method, Person, Status};

/// Why a calendar is not fit to be sent or published.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `prodid` is empty.
    EmptyProdid,
    /// An event has an empty `uid` (given: its position in `events`).
    EmptyUid {
        /// Index of the event in [`Calendar::events`].
        index: usize,
    },
    /// An event does not end after it starts.
    EndNotAfterStart {
        /// The event's UID.
        uid: String,
    },
    /// A date-time is outside the years 1 to 9999.
    YearOutOfRange {
        /// The event's UID.
        uid: String,
    },
    /// The calendar has a method but an event has no organizer.
    MissingOrganizer {
        /// The event's UID.
        uid: String,
        /// The calendar's method.
        method: Method,
    },
    /// The calendar's method needs attendees but an event has none.
    MissingAttendees {
        /// The event's UID.
        uid: String,
        /// The calendar's method.
        method: Method,
    },
    /// The calendar's method does not allow attendees (`PUBLISH`) but an
    /// event has some.
    AttendeesNotAllowed {
        /// The event's UID.
        uid: String,
        /// The calendar's method.
        method: Method,
    },
    /// The event's status does not fit the calendar's method: `REQUEST`
    /// cannot carry a cancelled event, `CANCEL` needs one.
    StatusNotAllowed {
        /// The event's UID.
        uid: String,
        /// The calendar's method.
        method: Method,
        /// The event's status.
        status: Status,
    },
    /// An organizer's or attendee's e-mail address is not of the form
    /// `local@domain` without spaces or control characters.
    InvalidEmail {
        /// The event's UID.
        uid: String,
        /// The address.
        email: String,
    },
    /// The recurrence rule is empty, has no `FREQ=`, or has characters that
    /// no RRULE contains.
    InvalidRrule {
        /// The event's UID.
        uid: String,
    },
    /// The URL has no scheme (`https:`…).
    InvalidUrl {
        /// The event's UID.
        uid: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyProdid => f.write_str("the calendar has no PRODID"),
            Self::EmptyUid { index } => write!(f, "event #{index} has no UID"),
            Self::EndNotAfterStart { uid } => {
                write!(f, "event {uid:?} does not end after it starts")
            }
            Self::YearOutOfRange { uid } => {
                write!(f, "event {uid:?} has a date outside the years 1 to 9999")
            }
            Self::MissingOrganizer { uid, method } => write!(
                f,
                "event {uid:?} has no organizer, which METHOD:{} requires",
                method.as_str()
            ),
            Self::MissingAttendees { uid, method } => write!(
                f,
                "event {uid:?} has no attendee, which METHOD:{} requires",
                method.as_str()
            ),
            Self::AttendeesNotAllowed { uid, method } => write!(
                f,
                "event {uid:?} has attendees, which METHOD:{} does not allow",
                method.as_str()
            ),
            Self::StatusNotAllowed { uid, method, status } => write!(
                f,
                "event {uid:?} has STATUS:{}, which METHOD:{} does not allow",
                status.as_str(),
                method.as_str()
            ),
            Self::InvalidEmail { uid, email } => {
                write!(f, "event {uid:?} has an invalid e-mail address {email:?}")
            }
            Self::InvalidRrule { uid } => write!(f, "event {uid:?} has an invalid RRULE"),
            Self::InvalidUrl { uid } => write!(f, "event {uid:?} has a URL without a scheme"),
        }
    }
}

impl std::error::Error for Error {}

impl Calendar {
    /// Checks what [`Calendar::render`] cannot fix by itself: a non-empty
    /// PRODID and UIDs, events that end after they start, dates within the
    /// years 1 to 9999, plausible e-mail addresses, RRULE characters, URL
    /// schemes, and what the method requires (RFC 5546, as libical's
    /// restriction check enforces it): an organizer on every event;
    /// attendees and no cancelled event for `REQUEST`; attendees and only
    /// cancelled events for `CANCEL`; no attendees for `PUBLISH`.
    ///
    /// # Errors
    ///
    /// The first problem found.
    pub fn validate(&self) -> Result<(), Error> {
        if self.prodid.trim().is_empty() {
            return Err(Error::EmptyProdid);
        }
        for (index, event) in self.events.iter().enumerate() {
            validate_event(self.method, index, event)?;
        }
        Ok(())
    }

    /// Renders the calendar as iCalendar text (CRLF line endings, folded).
    ///
    /// Rendering never fails and never lets user text escape its property,
    /// but it does not check what [`Calendar::validate`] checks: call that
    /// first for input you have not checked yet.
    pub fn render(&self) -> String {
        let mut zones = Zones::default();
        for event in &self.events {
            collect_zones(&mut zones, event);
        }
        // The series whose first start is an ambiguous local time, each with the override that
        // puts its first occurrence at its instant (see `first_occurrence`).
        let overrides: Vec<Option<Event>> = self.events.iter().map(|e| self.first_occurrence(e)).collect();
        for o in overrides.iter().flatten() {
            collect_zones(&mut zones, o);
        }

        let mut out = Out::with_capacity(self.estimated_len());
        out.line("BEGIN", "VCALENDAR");
        out.text_line("PRODID", &self.prodid);
        out.line("VERSION", "2.0");
        out.line("CALSCALE", "GREGORIAN");
        if let Some(method) = self.method {
            out.line("METHOD", method.as_str());
        }
        if let Some(name) = &self.name {
            out.text_line("X-WR-CALNAME", name);
        }
        zones.write(&mut out);
        for (event, first) in self.events.iter().zip(&overrides) {
            write_event(&mut out, event);
            if let Some(first) = first {
                write_event(&mut out, first);
            }
        }
        out.line("END", "VCALENDAR");
        out.finish()
    }

    /// For a series whose start is an ambiguous local time (the repeated hour when clocks go
    /// back), the override of its first occurrence.
    ///
    /// A series' `DTSTART` stays in local time with its `TZID`: RFC 5545 expands a rule in the
    /// zone of `DTSTART`, so the sessions keep their wall-clock time across DST changes (in
    /// UTC they would move by an hour at the next change). But that local time is ambiguous,
    /// and readers differ on which instant it names (see `tz::is_ambiguous`). So the first
    /// occurrence, whichever instant a reader takes it for, is overridden by an event with the
    /// same UID, `RECURRENCE-ID` set to the same local text (which each reader resolves as it
    /// resolved `DTSTART`, so it always matches) and the booked start and end in UTC. The
    /// series itself gives its length as `DURATION` rather than `DTEND`, since `DTEND` minus a
    /// `DTSTART` read differently would give each reader a different length.
    ///
    /// `None` when the start is not ambiguous, when the event has no rule or is an override
    /// itself, when the calendar already overrides or excludes that occurrence.
    fn first_occurrence(&self, e: &Event) -> Option<Event> {
        let tz = e.start.time_zone();
        if e.rrule.is_none()
            || e.recurrence_id.is_some()
            || tz::tzid(tz).is_none()
            || !tz::is_ambiguous(tz, e.start.timestamp())
        {
            return None;
        }
        let local = e.start.datetime();
        let same_local = |z: &Zoned| tz.to_datetime(z.timestamp()) == local;
        let excluded = e.exdates.iter().any(same_local);
        let overridden = self.events.iter().any(|o| {
            o.uid == e.uid
                && o.recurrence_id
                    .as_ref()
                    .is_some_and(|rid| rid.time_zone().iana_name() == tz.iana_name() && rid.datetime() == local)
        });
        if excluded || overridden {
            return None;
        }
        let mut first = e.clone();
        first.rrule = None;
        first.exdates = Vec::new();
        first.rdates = Vec::new();
        first.recurrence_id = Some(e.start.clone());
        Some(first)
    }

    /// A generous guess of the rendered size, so that the output buffer is
    /// allocated once in the common case.
    fn estimated_len(&self) -> usize {
        let events: usize = self.events.iter().map(estimated_event_len).sum();
        2048 + self.prodid.len() + self.name.as_ref().map_or(0, String::len) + events
    }
}

fn estimated_event_len(e: &Event) -> usize {
    let text = e.uid.len()
        + e.summary.len()
        + e.description.as_ref().map_or(0, String::len)
        + e.location.as_ref().map_or(0, String::len)
        + e.url.as_ref().map_or(0, String::len)
        + e.rrule.as_ref().map_or(0, String::len)
        + e.categories.iter().map(|c| c.len() + 2).sum::<usize>();
    let people: usize = e
        .organizer
        .iter()
        .chain(e.attendees.iter().map(|a| &a.person))
        .map(|p| p.name.len() + p.email.len() + 80)
        .sum();
    let alarms: usize = e.alarms.iter().map(|a| a.description.len() + 90).sum();
    // Escapes and folds add a little; 1/8 covers ordinary text.
    400 + (text + people) * 9 / 8 + alarms + (e.exdates.len() + e.rdates.len()) * 17 + 48
}

/// Records the zones and instants an event writes in local time.
fn collect_zones<'a>(zones: &mut Zones<'a>, e: &'a Event) {
    let start_tz = e.start.time_zone();
    let start = e.start.timestamp();
    match &e.rrule {
        // A series' rule is expanded in the zone of its start, always written with it.
        Some(rule) => zones.add_range(start_tz, start, tz::rrule_end(rule, start).max(start)),
        None if tz::is_local(start_tz, start) => zones.add(start_tz, start),
        None => {}
    }
    if !writes_duration(e) && tz::is_local(e.end.time_zone(), e.end.timestamp()) {
        zones.add(e.end.time_zone(), e.end.timestamp());
    }
    for ex in e.exdates.iter().chain(&e.rdates) {
        zones.add(start_tz, ex.timestamp());
    }
    if let Some(rid) = &e.recurrence_id {
        zones.add(rid.time_zone(), rid.timestamp());
    }
}

/// A series whose start is ambiguous gives its length as `DURATION` (see
/// `Calendar::first_occurrence`).
fn writes_duration(e: &Event) -> bool {
    e.rrule.is_some() && tz::is_ambiguous(e.start.time_zone(), e.start.timestamp())
}

fn write_event(out: &mut Out, e: &Event) {
    out.line("BEGIN", "VEVENT");
    out.text_line("UID", &e.uid);
    write_utc(out, "DTSTAMP", e.dtstamp);
    if let Some(created) = e.created {
        write_utc(out, "CREATED", created);
    }
    if let Some(modified) = e.last_modified {
        write_utc(out, "LAST-MODIFIED", modified);
    }
    out.begin("SEQUENCE");
    out.raw(":");
    out.number(u64::from(e.sequence));
    out.end();
    if e.rrule.is_some() {
        // The local time the rule repeats, even when ambiguous (see `first_occurrence`).
        write_datetime(out, "DTSTART", &e.start, true);
    } else {
        write_instant(out, "DTSTART", &e.start);
    }
    if writes_duration(e) {
        out.begin("DURATION");
        out.raw(":");
        out.duration(e.end.timestamp().duration_since(e.start.timestamp()));
        out.end();
    } else {
        write_instant(out, "DTEND", &e.end);
    }
    if let Some(rule) = &e.rrule {
        out.begin("RRULE");
        out.raw(":");
        // Already validated by the caller; dropping controls keeps a bad
        // value from breaking out of the line all the same.
        for part in rule.split(|c: char| c.is_control()) {
            out.raw(part);
        }
        out.end();
    }
    // Occurrences are named by the local time the rule gives them, which each reader
    // resolves as it resolves the occurrence itself: local, even when ambiguous.
    for (name, dates) in [("RDATE", &e.rdates), ("EXDATE", &e.exdates)] {
        if dates.is_empty() {
            continue;
        }
        let tz = e.start.time_zone();
        out.begin(name);
        tz::write_params(out, tz, true);
        for (i, at) in dates.iter().enumerate() {
            if i > 0 {
                out.raw(",");
            }
            tz::write_value(out, tz, at.timestamp(), true);
        }
        out.end();
    }
    if let Some(rid) = &e.recurrence_id {
        write_datetime(out, "RECURRENCE-ID", rid, true);
    }
    out.text_line("SUMMARY", &e.summary);
    if let Some(description) = &e.description {
        out.text_line("DESCRIPTION", description);
    }
    if let Some(location) = &e.location {
        out.text_line("LOCATION", location);
    }
    if let Some(url) = &e.url {
        out.begin("URL");
        out.raw(":");
        out.uri(url);
        out.end();
    }
    if let Some(organizer) = &e.organizer {
        out.begin("ORGANIZER");
        write_person(out, organizer, |_| {});
    }
    for attendee in &e.attendees {
        out.begin("ATTENDEE");
        write_person(out, &attendee.person, |out| {
            out.raw(";ROLE=");
            out.raw(attendee.role.as_str());
            out.raw(";PARTSTAT=");
            out.raw(attendee.partstat.as_str());
            out.raw(if attendee.rsvp { ";RSVP=TRUE" } else { ";RSVP=FALSE" });
        });
    }
    let mut categories = e.categories.iter().filter(|c| !c.is_empty()).peekable();
    if categories.peek().is_some() {
        out.begin("CATEGORIES");
        out.raw(":");
        for (i, category) in categories.enumerate() {
            if i > 0 {
                out.raw(",");
            }
            out.text(category);
        }
        out.end();
    }
    out.line("STATUS", e.status.as_str());
    out.line("TRANSP", "OPAQUE");
    for alarm in &e.alarms {
        out.line("BEGIN", "VALARM");
        out.line("ACTION", "DISPLAY");
        let description = if alarm.description.is_empty() {
            &e.summary
        } else {
            &alarm.description
        };
        out.text_line("DESCRIPTION", description);
        out.begin("TRIGGER");
        out.raw(":");
        out.trigger(alarm.before);
        out.end();
        out.line("END", "VALARM");
    }
    out.line("END", "VEVENT");
}

/// Writes `NAME:YYYYMMDDTHHMMSSZ`.
fn write_utc(out: &mut Out, name: &str, ts: jiff::Timestamp) {
    out.begin(name);
    out.raw(":");
    out.datetime(Offset::UTC.to_datetime(ts), true);
    out.end();
}

/// Writes `NAME;TZID=zone:local` when `local` and the zone has a `TZID`, else `NAME:utcZ`.
fn write_datetime(out: &mut Out, name: &str, z: &Zoned, local: bool) {
    out.begin(name);
    tz::write_params(out, z.time_zone(), local);
    tz::write_value(out, z.time_zone(), z.timestamp(), local);
    out.end();
}

/// Writes an instant so that every reader reads that instant: in local time with its `TZID`
/// when that local time happens once, else in UTC (see `tz::is_local`).
fn write_instant(out: &mut Out, name: &str, z: &Zoned) {
    write_datetime(out, name, z, tz::is_local(z.time_zone(), z.timestamp()));
}

/// Writes `;CN=…` (when named), the extra parameters, then `:mailto:…` and
/// ends the line.
fn write_person(out: &mut Out, person: &Person, extra: impl FnOnce(&mut Out)) {
    if !person.name.is_empty() {
        out.param("CN", &person.name);
    }
    extra(out);
    out.raw(":");
    out.mailto(&person.email);
    out.end();
}

fn validate_event(method: Option<Method>, index: usize, e: &Event) -> Result<(), Error> {
    if e.uid.trim().is_empty() {
        return Err(Error::EmptyUid { index });
    }
    let uid = || e.uid.clone();
    if e.end.timestamp() <= e.start.timestamp() {
        return Err(Error::EndNotAfterStart { uid: uid() });
    }
    let in_range = |year: i16| (1..=9999).contains(&year);
    let years = [e.start.year(), e.end.year(), Offset::UTC.to_datetime(e.dtstamp).year()];
    let more = e
        .created
        .iter()
        .chain(&e.last_modified)
        .map(|ts| Offset::UTC.to_datetime(*ts).year())
        .chain(
            e.exdates
                .iter()
                .chain(&e.rdates)
                .map(|z| e.start.time_zone().to_datetime(z.timestamp()).year()),
        )
        .chain(e.recurrence_id.iter().map(Zoned::year));
    if !years.into_iter().chain(more).all(in_range) {
        return Err(Error::YearOutOfRange { uid: uid() });
    }
    if let Some(method) = method {
        if e.organizer.is_none() {
            return Err(Error::MissingOrganizer { uid: uid(), method });
        }
        match method {
            Method::Request | Method::Cancel if e.attendees.is_empty() => {
                return Err(Error::MissingAttendees { uid: uid(), method });
            }
            Method::Publish if !e.attendees.is_empty() => {
                return Err(Error::AttendeesNotAllowed { uid: uid(), method });
            }
            _ => {}
        }
        let status_ok = match method {
            Method::Request => e.status != Status::Cancelled,
            Method::Cancel => e.status == Status::Cancelled,
            Method::Publish => true,
        };
        if !status_ok {
            return Err(Error::StatusNotAllowed {
                uid: uid(),
                method,
                status: e.status,
            });
        }
    }
    for person in e.organizer.iter().chain(e.attendees.iter().map(|a| &a.person)) {
        if !is_plausible_email(&person.email) {
            return Err(Error::InvalidEmail {
                uid: uid(),
                email: person.email.clone(),
            });
        }
    }
    if let Some(rule) = &e.rrule {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "=;,:+-".contains(c);
        if !rule.chars().all(allowed) || !rule.to_ascii_uppercase().contains("FREQ=") {
            return Err(Error::InvalidRrule { uid: uid() });
        }
    }
    if let Some(url) = &e.url
        && !has_scheme(url)
    {
        return Err(Error::InvalidUrl { uid: uid() });
    }
    Ok(())
}

/// `local@domain`, both parts non-empty, no whitespace or control character.
fn is_plausible_email(email: &str) -> bool {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// RFC 3986 `scheme ":"`: a letter, then letters, digits, `+`, `-`, `.`.
fn has_scheme(url: &str) -> bool {
    match url.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
