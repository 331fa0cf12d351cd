"""Parse an iCalendar file with libical (through GObject introspection).

Usage: /usr/bin/python3 parse_libical.py FILE
(Debian's python3, which has the `gi` module; packages gir1.2-ical-3.0 and
python3-gi.)

Prints a JSON object:
- "errors": every X-LIC-ERROR property libical attached while parsing or
  while running its RFC 5546 restriction check, plus "restriction_check
  failed" when that check fails;
- "timezones": the TZIDs of the VTIMEZONE components;
- "events": per VEVENT, its UID, SUMMARY, and DTSTART/DTEND converted to UTC
  through the file's own VTIMEZONE (looked up by TZID in the VCALENDAR), and
  for recurring events the occurrences libical's recurrence iterator yields,
  also converted through the VTIMEZONE, and the `instances` a libical client
  shows (foreach_recurrence, with the file's overrides applied); overrides
  carry their `recurrence_id`. An event given with DURATION ends at its
  start plus that exact duration.

Exits with status 3 and an install hint when libical's bindings are missing.
"""

import datetime
import json
import sys

try:
    import gi

    gi.require_version("ICalGLib", "3.0")
    from gi.repository import ICalGLib as I
except (ImportError, ValueError) as err:  # pragma: no cover
    print(
        f"MISSING: {err}; install with: apt-get install -y gir1.2-ical-3.0 python3-gi "
        "(and run Debian's /usr/bin/python3)",
        file=sys.stderr,
    )
    sys.exit(3)

UTC = I.Timezone.get_utc_timezone()


def children(comp, kind=I.ComponentKind.ANY_COMPONENT):
    child = comp.get_first_component(kind)
    while child is not None:
        yield child
        child = comp.get_next_component(kind)


def properties(comp, kind=I.PropertyKind.ANY_PROPERTY):
    prop = comp.get_first_property(kind)
    while prop is not None:
        yield prop
        prop = comp.get_next_property(kind)


def lic_errors(comp, path=""):
    here = f"{path}/{I.Component.kind_to_string(comp.isa())}"
    found = [f"{here}: {p.get_value_as_string()}" for p in properties(comp, I.PropertyKind.XLICERROR_PROPERTY)]
    for child in list(children(comp)):
        found.extend(lic_errors(child, here))
    return found


def fmt(t):
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (
        t.get_year(), t.get_month(), t.get_day(), t.get_hour(), t.get_minute(), t.get_second()
    )


def to_utc(cal, prop, t):
    """Converts `t` (the value of `prop`) to UTC through the VTIMEZONE named
    by the property's TZID, found in `cal` itself."""
    param = prop.get_first_parameter(I.ParameterKind.TZID_PARAMETER)
    t = t.clone()
    if param is None:
        if not t.is_utc():
            raise ValueError(f"floating time in {prop.as_ical_string()!r}")
        return fmt(t)
    tzid = param.get_tzid()
    zone = cal.get_timezone(tzid)
    if zone is None:
        raise ValueError(f"no VTIMEZONE for TZID {tzid!r}")
    t.set_timezone(None)
    I.Time.convert_timezone(t, zone, UTC)
    return fmt(t)


def start_of(cal, ev):
    dtstart = ev.get_first_property(I.PropertyKind.DTSTART_PROPERTY)
    return to_utc(cal, dtstart, dtstart.get_dtstart())


def end_of(cal, ev):
    """DTEND through the VTIMEZONE, or DTSTART plus an exact DURATION."""
    dtend = ev.get_first_property(I.PropertyKind.DTEND_PROPERTY)
    if dtend is not None:
        return to_utc(cal, dtend, dtend.get_dtend())
    start = datetime.datetime.strptime(start_of(cal, ev), "%Y-%m-%dT%H:%M:%SZ")
    end = start + datetime.timedelta(seconds=ev.get_duration().as_int())
    return end.strftime("%Y-%m-%dT%H:%M:%SZ")


def instances(ev, overrides):
    """The series as a libical client shows it: foreach_recurrence (RRULE, RDATE, EXDATE,
    DURATION) from 2000 to 2100, each instance replaced by the override whose RECURRENCE-ID
    names it, as [start, end] in UTC."""
    spans = []
    ev.foreach_recurrence(
        I.Time.new_from_string("20000101T000000Z"),
        I.Time.new_from_string("21000101T000000Z"),
        lambda _comp, span, *_: spans.append((span.get_start(), span.get_end())),
        None,
    )
    utc = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    result = []
    for start, end in spans:
        moved = [o for o in overrides if o[0] == utc(start)]
        result.append([moved[0][1], moved[0][2]] if moved else [utc(start), utc(end)])
    return result


def main():
    with open(sys.argv[1], encoding="utf-8", newline="") as f:
        text = f.read()
    cal = I.Component.new_from_string(text)
    if cal is None or cal.isa() != I.ComponentKind.VCALENDAR_COMPONENT:
        print(json.dumps({"errors": ["not parsed as a VCALENDAR"]}))
        return
    errors = lic_errors(cal)
    if not cal.check_restrictions():
        errors.append("restriction_check failed")
    errors.extend(e for e in lic_errors(cal) if e not in errors)

    timezones = [tz.get_first_property(I.PropertyKind.TZID_PROPERTY).get_tzid()
                 for tz in children(cal, I.ComponentKind.VTIMEZONE_COMPONENT)]
    vevents = list(children(cal, I.ComponentKind.VEVENT_COMPONENT))
    # Overrides by UID: (RECURRENCE-ID, start, end) as libical reads them.
    overrides = {}
    for ev in vevents:
        rid = ev.get_first_property(I.PropertyKind.RECURRENCEID_PROPERTY)
        if rid is not None:
            overrides.setdefault(ev.get_uid(), []).append(
                (to_utc(cal, rid, rid.get_recurrenceid()), start_of(cal, ev), end_of(cal, ev)))
    events = []
    for ev in vevents:
        dtstart = ev.get_first_property(I.PropertyKind.DTSTART_PROPERTY)
        start = start_of(cal, ev)
        event = {
            "uid": ev.get_uid(),
            "summary": ev.get_summary(),
            "start": start,
            "end": end_of(cal, ev),
        }
        rid = ev.get_first_property(I.PropertyKind.RECURRENCEID_PROPERTY)
        if rid is not None:
            event["recurrence_id"] = to_utc(cal, rid, rid.get_recurrenceid())
        rrule = ev.get_first_property(I.PropertyKind.RRULE_PROPERTY)
        if rrule is not None:
            local = dtstart.get_dtstart().clone()
            local.set_timezone(None)
            it = I.RecurIterator.new(rrule.get_rrule(), local)
            occurrences = []
            while len(occurrences) < 100:
                t = it.next()
                if t is None or t.is_null_time():
                    break
                occurrences.append(to_utc(cal, dtstart, t))
            event["occurrences"] = occurrences
            event["instances"] = instances(ev, overrides.get(ev.get_uid(), []))
        events.append(event)
    json.dump({"errors": errors, "timezones": timezones, "events": events}, sys.stdout,
              ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
