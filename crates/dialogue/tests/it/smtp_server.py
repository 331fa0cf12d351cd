"""An SMTP server for Dialogue's tests, built on aiosmtpd.

Usage: python3 smtp_server.py --port PORT --maildir DIR [--refuse ADDRESS]... [--stall-first MARKER]

Every message accepted is stored in the Maildir DIR, exactly as received, and its envelope
(sender, recipients, Message-ID) is appended as one JSON line to DIR/envelopes.jsonl.

--refuse ADDRESS   answer RCPT TO:<ADDRESS> with a permanent "550 5.1.1" refusal.
--stall-first M    for the first message only: store it, create the file M, then never answer
                   the end of DATA (the client's process is to be killed meanwhile: a crash
                   between delivery and marking).

Exits with status 3 and an install hint when aiosmtpd is missing.
"""

import argparse
import asyncio
import email
import json
import mailbox
import os
import sys
import threading

try:
    from aiosmtpd.controller import Controller
except ImportError as err:  # pragma: no cover
    print(f"MISSING: {err}; install with: python3 -m pip install aiosmtpd", file=sys.stderr)
    sys.exit(3)


class Handler:
    def __init__(self, maildir, refuse, stall_marker):
        self.maildir = mailbox.Maildir(maildir, create=True)
        self.journal = os.path.join(maildir, "envelopes.jsonl")
        self.refuse = {a.lower() for a in refuse}
        self.stall_marker = stall_marker
        self.lock = threading.Lock()
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        parsed = email.message_from_bytes(raw)
        with self.lock:
            self.count += 1
            first = self.count == 1
            self.maildir.add(raw)
            with open(self.journal, "a", encoding="utf-8") as f:
                f.write(json.dumps({
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "message_id": parsed.get("Message-ID"),
                }) + "\n")
        if first and self.stall_marker:
            with open(self.stall_marker, "w", encoding="utf-8") as f:
                f.write("stalled\n")
            await asyncio.sleep(3600)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--stall-first")
    args = parser.parse_args()
    handler = Handler(args.maildir, args.refuse, args.stall_first)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
