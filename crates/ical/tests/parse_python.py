"""Parse an iCalendar file with Python's `icalendar` and `ical` packages.

Usage: python3 parse_python.py FILE

Prints one JSON object {"icalendar": {...}, "ical": {...}} describing what
each parser read, in the same shape, for the Rust test to compare with what
it rendered. Date-times are UTC strings "YYYY-MM-DDTHH:MM:SSZ".

`icalendar` resolves TZIDs with the system/tzdata zones, so each event is
also converted through the file's own VTIMEZONE (`start_via_vtimezone`).
`ical` (strict, pydantic) rejects unknown TZIDs and bad RRULEs; its timeline
expands recurring events (EXDATE, RECURRENCE-ID) into `occurrences` (their
starts) and `occurrence_ends`.

Exits with status 3 and an install hint when a package is missing.
"""

import datetime
import json
import sys
import urllib.parse

try:
    import icalendar
    import icalendar.parser
    from ical.calendar_stream import IcsCalendarStream
except ImportError as err:  # pragma: no cover
    print(f"MISSING: {err}; install with: python3 -m pip install icalendar ical", file=sys.stderr)
    sys.exit(3)

UTC = datetime.timezone.utc


def utc(value):
    if value is None:
        return None
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"expected a date-time, got {value!r}")
    if value.tzinfo is None:
        raise ValueError(f"floating date-time {value!r}")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def email(uri):
    uri = str(uri)
    if not uri.lower().startswith("mailto:"):
        raise ValueError(f"not a mailto URI: {uri!r}")
    return urllib.parse.unquote(uri[len("mailto:"):])


def seconds(delta):
    return int(delta.total_seconds())


# --- icalendar -------------------------------------------------------------


def with_icalendar(text):
    cal = icalendar.Calendar.from_ical(text)
    errors = []
    for component in cal.walk():
        errors.extend(f"{component.name}: {e}" for e in getattr(component, "errors", []))
    zones = {}
    for vtz in cal.walk("VTIMEZONE"):
        # Build the zone from the VTIMEZONE itself, not from the TZID name.
        zones[str(vtz["TZID"])] = vtz.to_tz(lookup_tzid=False)

    def via_vtimezone(prop):
        tzid = prop.params.get("TZID")
        dt = prop.dt
        if tzid is None:
            return utc(dt)
        naive = dt.replace(tzinfo=None)
        return utc(zones[str(tzid)].localize(naive) if hasattr(zones[str(tzid)], "localize")
                   else naive.replace(tzinfo=zones[str(tzid)]))

    def person(prop):
        return {
            "email": email(prop),
            "cn": prop.params.get("CN"),
        }

    events = []
    for ev in cal.walk("VEVENT"):
        attendees = ev.get("ATTENDEE", [])
        if not isinstance(attendees, list):
            attendees = [attendees]
        alarms = []
        for alarm in ev.walk("VALARM"):
            alarms.append({
                "action": str(alarm["ACTION"]),
                "description": str(alarm["DESCRIPTION"]),
                "trigger": seconds(alarm["TRIGGER"].dt),
            })
        categories = []
        if "CATEGORIES" in ev:
            cats = ev["CATEGORIES"]
            for c in cats if isinstance(cats, list) else [cats]:
                categories.extend(str(x) for x in c.cats)
        exdates = []
        if "EXDATE" in ev:
            exs = ev["EXDATE"]
            for ex in exs if isinstance(exs, list) else [exs]:
                exdates.extend(utc(d.dt) for d in ex.dts)
        events.append({
            "uid": str(ev["UID"]),
            "sequence": int(ev.get("SEQUENCE", 0)),
            "summary": str(ev["SUMMARY"]),
            "description": str(ev["DESCRIPTION"]) if "DESCRIPTION" in ev else None,
            "location": str(ev["LOCATION"]) if "LOCATION" in ev else None,
            "url": str(ev["URL"]) if "URL" in ev else None,
            "status": str(ev["STATUS"]),
            "dtstamp": utc(ev["DTSTAMP"].dt),
            "start": utc(ev["DTSTART"].dt),
            # A series may give its length as DURATION instead (icalendar then adds it to
            # DTSTART on the local clock).
            "end": utc(ev["DTEND"].dt) if "DTEND" in ev else utc(ev.end),
            "start_via_vtimezone": via_vtimezone(ev["DTSTART"]),
            "end_via_vtimezone": via_vtimezone(ev["DTEND"]) if "DTEND" in ev else None,
            "organizer": person(ev["ORGANIZER"]) if "ORGANIZER" in ev else None,
            "attendees": [
                dict(person(a),
                     role=a.params.get("ROLE"),
                     partstat=a.params.get("PARTSTAT"),
                     rsvp={"TRUE": True, "FALSE": False}[a.params["RSVP"]])
                for a in attendees
            ],
            "alarms": alarms,
            "categories": categories,
            "rrule": ev["RRULE"].to_ical().decode() if "RRULE" in ev else None,
            "exdates": exdates,
            "recurrence_id": utc(ev["RECURRENCE-ID"].dt) if "RECURRENCE-ID" in ev else None,
        })
    return {
        "prodid": str(cal["PRODID"]),
        "version": str(cal["VERSION"]),
        "method": str(cal["METHOD"]) if "METHOD" in cal else None,
        # An X- property is kept raw (vUnknown): unescape it as TEXT.
        "name": (icalendar.parser.unescape_backslash(cal["X-WR-CALNAME"].to_ical().decode())
                 if "X-WR-CALNAME" in cal else None),
        "timezones": sorted(zones),
        "errors": errors,
        "events": events,
    }


# --- ical ------------------------------------------------------------------


def with_ical(text):
    cal = IcsCalendarStream.calendar_from_ics(text)

    def person(addr):
        return {"email": email(addr.uri), "cn": addr.common_name}

    events = []
    for ev in cal.events:
        events.append({
            "uid": ev.uid,
            "sequence": ev.sequence or 0,
            "summary": ev.summary,
            "description": ev.description,
            "location": ev.location,
            "url": str(ev.url) if ev.url is not None else None,
            "status": str(ev.status.value) if ev.status is not None else None,
            "dtstamp": utc(ev.dtstamp),
            "start": utc(ev.dtstart),
            "end": utc(ev.dtend if ev.dtend is not None else ev.end),
            "organizer": person(ev.organizer) if ev.organizer else None,
            "attendees": [
                dict(person(a), role=a.role, partstat=a.status, rsvp=a.rsvp)
                for a in ev.attendees
            ],
            "alarms": [
                {
                    "action": str(a.action),
                    "description": a.description,
                    "trigger": seconds(a.trigger),
                }
                for a in ev.alarm
            ],
            "categories": list(ev.categories),
            "rrule": ev.rrule.as_rrule_str() if ev.rrule else None,
            "exdates": [utc(d) for d in ev.exdate],
            # `ical` keeps RECURRENCE-ID as its text (without the TZID).
            "recurrence_id_local": str(ev.recurrence_id) if ev.recurrence_id else None,
        })
    occurrences = {}
    occurrence_ends = {}
    for ev in cal.timeline_tz(UTC):
        occurrences.setdefault(ev.uid, []).append(utc(ev.dtstart))
        occurrence_ends.setdefault(ev.uid, []).append(utc(ev.end))
    return {
        "prodid": cal.prodid,
        "version": cal.version,
        "method": cal.method,
        "timezones": sorted(tz.tz_id for tz in cal.timezones),
        "events": events,
        "occurrences": occurrences,
        "occurrence_ends": occurrence_ends,
    }


def main():
    with open(sys.argv[1], encoding="utf-8", newline="") as f:
        text = f.read()
    result = {"icalendar": with_icalendar(text), "ical": with_ical(text)}
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
