"""Reads messages back with Python's own e-mail parser (email.policy.default), independently of
the code that wrote them.

Usage: python3 read_mail.py DIR

DIR is a Maildir (as smtp_server.py writes) or a directory of .eml files (the file transport).
Prints a JSON list, one object per message, sorted by Message-ID:
- "headers": the raw header block (folded lines joined), to check RFC 2047 encodings;
- "subject", "to", "from", "reply_to", "message_id", ...: decoded header values;
- "defects": what the parser found wrong anywhere in the message;
- "structure": the MIME tree as nested [content type, [children]] with parameters;
- "text", "html": the decoded alternatives (line breaks as LF);
- "calendars": every text/calendar or application/ics part: its content type, method
  parameter, disposition, filename and decoded text, and "problems": what the strict `ical`
  parser and `icalendar` said about it (empty when both read it), so that every calendar the
  tests receive is checked, not only those a test looks at closely.
"""

import email
import email.policy
import json
import mailbox
import os
import sys

try:
    import icalendar
    from ical.calendar_stream import IcsCalendarStream
except ImportError as err:  # pragma: no cover
    print(f"MISSING: {err}; install with: python3 -m pip install icalendar ical", file=sys.stderr)
    sys.exit(3)


def calendar_problems(text):
    problems = []
    try:
        cal = IcsCalendarStream.calendar_from_ics(text)
        if not cal.events:
            problems.append("ical: no event")
    except Exception as err:  # the strict parser's refusal, whatever its type
        problems.append(f"ical: {err}")
    try:
        cal = icalendar.Calendar.from_ical(text)
        for component in cal.walk():
            problems.extend(f"icalendar {component.name}: {e}" for e in getattr(component, "errors", []))
    except Exception as err:
        problems.append(f"icalendar: {err}")
    return problems


def tree(part):
    params = {k: v for k, v in part.get_params() or []}
    params.pop(part.get_content_type(), None)
    node = {"type": part.get_content_type(), "params": params}
    if part.is_multipart():
        node["parts"] = [tree(p) for p in part.iter_parts()]
    if part.get_content_disposition():
        node["disposition"] = part.get_content_disposition()
        node["filename"] = part.get_filename()
    return node


def walk_defects(msg):
    found = [str(d) for d in msg.defects]
    for part in msg.walk():
        if part is not msg:
            found.extend(str(d) for d in part.defects)
    return found


def describe(raw, name):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    text = html = None
    calendars = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if part.is_multipart():
            continue
        if ctype in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            decoded = payload.decode("utf-8")
            calendars.append({
                "type": ctype,
                "method": part.get_param("method"),
                "charset": part.get_content_charset(),
                "disposition": part.get_content_disposition(),
                "filename": part.get_filename(),
                "text": decoded,
                "problems": calendar_problems(decoded),
            })
        elif ctype == "text/plain" and text is None:
            text = part.get_content().replace("\r\n", "\n")
        elif ctype == "text/html" and html is None:
            html = part.get_content().replace("\r\n", "\n")
    return {
        "file": name,
        "headers": head.replace("\r\n ", " ").replace("\r\n\t", " "),
        "subject": str(msg["Subject"]),
        "to": [str(a) for a in msg["To"].addresses] if msg["To"] else [],
        "to_addresses": [a.addr_spec for a in msg["To"].addresses] if msg["To"] else [],
        "from": str(msg["From"]),
        "reply_to": str(msg["Reply-To"]) if msg["Reply-To"] else None,
        "cc": str(msg["Cc"]) if msg["Cc"] else None,
        "bcc": str(msg["Bcc"]) if msg["Bcc"] else None,
        "message_id": str(msg["Message-ID"]),
        "date": str(msg["Date"]),
        "auto_submitted": str(msg["Auto-Submitted"]) if msg["Auto-Submitted"] else None,
        "content_language": str(msg["Content-Language"]) if msg["Content-Language"] else None,
        "defects": walk_defects(msg),
        "structure": tree(msg),
        "text": text,
        "html": html,
        "calendars": calendars,
    }


def main():
    root = sys.argv[1]
    out = []
    if os.path.isdir(os.path.join(root, "cur")):
        box = mailbox.Maildir(root, create=False)
        for key in box.keys():
            with box.get_file(key) as f:
                out.append(describe(f.read(), key))
    else:
        for name in sorted(os.listdir(root)):
            if name.endswith(".eml"):
                with open(os.path.join(root, name), "rb") as f:
                    out.append(describe(f.read(), name))
    out.sort(key=lambda m: (m["message_id"], m["file"]))
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
