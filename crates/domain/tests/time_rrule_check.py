#!/usr/bin/env python3
"""Independent expansion of recurrence rules, for crates/domain/tests/time_rrule.rs.

Reads cases from standard input, one per line, tab-separated:

    ID  ZONE  FIRST  RULE

FIRST is a local date-time (YYYY-MM-DDTHH:MM:SS) in the IANA zone ZONE, RULE an RRULE value.
Expands each with python-dateutil's rrule and the standard library's zoneinfo, and prints
one line per occurrence:

    ID  OK  LOCAL  UTC

or, at the first occurrence whose local time does not exist (a daylight saving time gap),
one line and nothing more for that case:

    ID  GAP  LOCAL

An ambiguous local time (repeated hour) is taken at its earlier instant (fold=0). A date
UNTIL (YYYYMMDD) is inclusive of the whole local day, as Dialogue defines it; a UTC UNTIL is
compared as an instant, as dateutil does.

Exit status 3 when python-dateutil is missing.
"""

import re
import sys
from datetime import datetime, timezone

try:
    from dateutil.rrule import rrulestr
except ImportError:
    sys.stderr.write(
        "python-dateutil is missing: install it with `python3 -m pip install python-dateutil`"
        " (or `apt-get install python3-dateutil`)\n"
    )
    sys.exit(3)

try:
    from zoneinfo import ZoneInfo
except ImportError:  # Python < 3.9
    sys.stderr.write("Python 3.9 or later is needed (zoneinfo)\n")
    sys.exit(4)


def expand(zone_name, first_text, rule_text):
    zone = ZoneInfo(zone_name)
    first = datetime.strptime(first_text, "%Y-%m-%dT%H:%M:%S")
    rule_text = re.sub(r"^RRULE:", "", rule_text.strip(), flags=re.IGNORECASE)
    date_until = re.search(r"UNTIL=(\d{8})(;|$)", rule_text, flags=re.IGNORECASE)
    if date_until:
        # Inclusive of the whole local day: compare naive local date-times.
        rule_text = rule_text.replace(
            date_until.group(0), "UNTIL=" + date_until.group(1) + "T235959" + date_until.group(2)
        )
        dtstart = first
    else:
        # A UTC UNTIL needs an aware DTSTART; the wall-clock times are generated naively.
        dtstart = first.replace(tzinfo=zone)
    rule = rrulestr(rule_text, dtstart=dtstart)
    for occurrence in rule:
        local = occurrence.replace(tzinfo=None)
        aware = local.replace(tzinfo=zone, fold=0)
        utc = aware.astimezone(timezone.utc)
        if utc.astimezone(zone).replace(tzinfo=None) != local:
            yield ("GAP", local)
            return
        yield ("OK", local, utc)


def main():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        case_id, zone_name, first_text, rule_text = line.split("\t")
        for item in expand(zone_name, first_text, rule_text):
            if item[0] == "GAP":
                print(f"{case_id}\tGAP\t{item[1].isoformat()}")
            else:
                utc = item[2].strftime("%Y-%m-%dT%H:%M:%SZ")
                print(f"{case_id}\tOK\t{item[1].isoformat()}\t{utc}")


if __name__ == "__main__":
    main()
