"""An SMTP server for Dialogue's tests, built on aiosmtpd.

Usage: python3 smtp_server.py --port PORT --maildir DIR [--refuse ADDRESS]... [--stall-first MARKER]
                              [--tls starttls|tls --tls-dir DIR] [--auth USER:PASSWORD]

Every message accepted is stored in the Maildir DIR, exactly as received, and its envelope
(sender, recipients, Message-ID) is appended as one JSON line to DIR/envelopes.jsonl.

--refuse ADDRESS   answer RCPT TO:<ADDRESS> with a permanent "550 5.1.1" refusal.
--stall-first M    for the first message only: store it, create the file M, then never answer
                   the end of DATA (the client's process is to be killed meanwhile: a crash
                   between delivery and marking).
--tls MODE         STARTTLS required (starttls) or TLS from the first byte (tls), with a
                   certificate for 127.0.0.1 signed by a throwaway authority whose certificate
                   is written to TLS_DIR/ca.pem (made with Python's `cryptography`).
--auth USER:PASS   require AUTH (PLAIN or LOGIN) with these credentials.

Exits with status 3 and an install hint when aiosmtpd is missing.
"""

import argparse
import asyncio
import datetime
import ipaddress
import ssl
import email
import json
import mailbox
import os
import sys
import threading

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
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


def make_certificates(directory):
    """A certificate authority and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dialogue test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                         x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    os.makedirs(directory, exist_ok=True)
    pem = serialization.Encoding.PEM
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(os.path.join(directory, "cert.pem"), "wb") as f:
        f.write(cert.public_bytes(pem) + ca.public_bytes(pem))
    with open(os.path.join(directory, "key.pem"), "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem"))
    return context


def authenticator_for(credentials):
    user, password = credentials.split(":", 1)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode() and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)

    return authenticate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--stall-first")
    parser.add_argument("--tls", choices=["starttls", "tls"])
    parser.add_argument("--tls-dir")
    parser.add_argument("--auth")
    args = parser.parse_args()
    handler = Handler(args.maildir, args.refuse, args.stall_first)
    options = {}
    if args.tls:
        context = make_certificates(args.tls_dir)
        if args.tls == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            options.update(ssl_context=context)
    if args.auth:
        options.update(authenticator=authenticator_for(args.auth), auth_required=True,
                       auth_require_tls=bool(args.tls == "starttls"))
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
