#!/usr/bin/env python3
"""A real SMTP server for the tests: implicit TLS (SMTPS) and AUTH, on 127.0.0.1.

Each accepted message is written to MAILDIR as N.eml, with N.rcpt holding the
envelope recipients one a line. A message with the header "X-Test-Refuse: yes"
is refused for good (552); with "X-Test-Refuse: recipient", as a bad address
would be (550 5.1.1). Prints "ready" once it listens.
usage: smtp_server.py PORT CERT KEY USER PASSWORD MAILDIR [HOST]
HOST defaults to 127.0.0.1 (the NixOS VM test's mail node listens on its own address).
"""
import ssl
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, user, password, maildir = sys.argv[1:7]
host = sys.argv[7] if len(sys.argv) > 7 else "127.0.0.1"
maildir = Path(maildir)
maildir.mkdir(parents=True, exist_ok=True)
lock = threading.Lock()


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    # handled=False: let aiosmtpd answer a failure with 535, as Gmail does.
    return AuthResult(success=ok, handled=False)


class Save:
    async def handle_DATA(self, server, session, envelope):
        if not session.authenticated:
            return "530 Authentication required"
        # A message the server will never take (as Gmail refuses one that is too large).
        if b"X-Test-Refuse: yes" in envelope.original_content:
            return "552 5.3.4 Your message exceeded Google's message size limits"
        # One refused for a reason that is not the message's (every report would be).
        if b"X-Test-Refuse: recipient" in envelope.original_content:
            return "550 5.1.1 The email account that you tried to reach does not exist"
        with lock:
            n = len(list(maildir.glob("*.eml"))) + 1
            (maildir / f"{n}.eml").write_bytes(envelope.original_content)
            (maildir / f"{n}.rcpt").write_text("\n".join(envelope.rcpt_tos) + "\n")
        return "250 OK"


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Save(),
    hostname=host,
    port=int(port),
    ssl_context=context,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=False,  # the whole session is TLS already (implicit TLS)
)
controller.start()
print("ready", flush=True)
threading.Event().wait()
