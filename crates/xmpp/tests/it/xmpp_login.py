"""Log in to an XMPP server as a real client (slixmpp) and say whether the password worked.

Usage: xmpp_login.py HOST PORT JID [CA_FILE]   (the password comes in XMPP_PASSWORD)

Prints "ok" and exits 0 when the session started; prints "refused: <the server's SASL
failure>" and exits 1 when the server refused the credentials; exits 2 on anything else
(unreachable, timeout, no usable mechanism, TLS), so a broken setup never passes for a
refused password. With CA_FILE the client uses STARTTLS and trusts that authority;
without it, plain TCP (loopback tests only).
"""
import asyncio
import os
import sys

import slixmpp


class Login(slixmpp.ClientXMPP):
    def __init__(self, jid, password, plain):
        # Over plain TCP slixmpp refuses SCRAM unless told otherwise.
        config = {"feature_mechanisms": {"unencrypted_scram": True}} if plain else {}
        super().__init__(jid, password, plugin_config=config)
        self.outcome = None
        self.done = asyncio.get_running_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("failed_all_auth", self.on_no_mechanism)
        self.add_event_handler("connection_failed", self.on_connection_failed)
        self.add_event_handler("disconnected", self.on_disconnected)

    def finish(self, message, code):
        # disconnect() fires "disconnected" at once: only the first outcome counts.
        if self.outcome is not None:
            return
        self.outcome = (message, code)
        self.done.set_result(None)
        self.disconnect()

    async def on_start(self, _event):
        self.finish("ok", 0)

    def on_failed_auth(self, failure):
        # The server's <failure/> stanza: the credentials were refused.
        self.finish(f"refused: {failure}", 1)

    def on_no_mechanism(self, _event):
        self.finish("error: no usable SASL mechanism", 2)

    def on_connection_failed(self, error):
        self.finish(f"error: connection failed: {error}", 2)

    def on_disconnected(self, _event):
        self.finish("error: disconnected before the login finished", 2)


async def main():
    host, port, jid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ca_file = sys.argv[4] if len(sys.argv) > 4 else None
    client = Login(jid, os.environ["XMPP_PASSWORD"], plain=ca_file is None)
    # STARTTLS on the given port only (no direct TLS attempt, no DNS look-up).
    client.enable_direct_tls = False
    if ca_file:
        client.ca_certs = ca_file
    else:
        client.enable_starttls = False
        client.enable_plaintext = True
    client.connect(host=host, port=port)
    try:
        await asyncio.wait_for(client.done, timeout=20)
    except asyncio.TimeoutError:
        client.outcome = client.outcome or ("error: timeout", 2)
    print(client.outcome[0])
    return client.outcome[1]


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
