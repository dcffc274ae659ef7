"""A real SMTP server for the integration tests: aiosmtpd in a background thread, recording what it gets."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.dovecot import LOCALHOST, ServerError, TlsFiles, free_port

TlsMode = Literal["starttls", "implicit"]
SMTP_USER = "koordinaattori@example.fi"
SMTP_PASSWORD = "smtp-salasana-123"


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message as the server saw it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]  # only the recipients the server accepted
    data: bytes  # exactly the bytes after DATA (dot-unstuffed), line endings included
    mail_options: tuple[str, ...]  # e.g. ("SMTPUTF8", "BODY=8BITMIME")
    login: str | None  # the AUTH user, None when the client did not authenticate
    tls: bool


class _Handler:
    """aiosmtpd's handler hooks: the rejection rules, then recording into the owning server."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 as Microsoft and Google speak it: a refused token gets a 334 error challenge,
        the client answers it with an empty line, then 535."""
        check = self.owner.oauth2_check
        if len(args) > 1:
            raw: object = base64.b64decode(args[1].encode(), validate=False)
        else:
            raw = await server.challenge_auth("")
        if not isinstance(raw, bytes):
            return AuthResult(success=False)
        fields = dict(
            part.split("=", 1) for part in raw.decode("utf-8", "replace").split("\x01") if "=" in part
        )
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        token = bearer[len("Bearer ") :] if bearer.startswith("Bearer ") else ""
        self.owner.oauth2_attempts.append(user)
        if check is not None and token and check(user, token):
            return AuthResult(success=True, handled=False, auth_data=LoginPassword(user.encode(), b""))
        error = base64.b64encode(b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')
        await server.challenge_auth(error, encode_to_b64=False)
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        # Enforced here, not with aiosmtpd's auth_required, which over implicit TLS also demands
        # auth_require_tls=False and then warns on every connection.
        if self.owner.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        deferred = self.owner.deferrals.get(address.casefold())
        if deferred is not None and deferred[0] > 0:
            self.owner.deferrals[address.casefold()] = (deferred[0] - 1, deferred[1])
            return deferred[1]
        reply = self.owner.recipient_replies.get(address.casefold())
        if reply is not None:
            return reply
        cap = self.owner.max_recipients
        if cap is not None and len(envelope.rcpt_tos) >= cap:
            return "452 4.5.3 Too many recipients"
        if self.owner.drop_after_recipients is not None:
            if self.owner.drop_after_recipients <= 0:
                self.owner.drop_after_recipients = None  # once: the next connection works
                self.owner.dropped.set()
                if server.transport is not None:
                    server.transport.abort()
                return "421 4.4.2 Connection dropped by the test"
            self.owner.drop_after_recipients -= 1
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.owner.data_reply is not None:
            return self.owner.data_reply
        credentials = session.auth_data
        transport = server.transport
        self.owner._record(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=envelope.original_content or b"",
                mail_options=tuple(envelope.mail_options),
                login=credentials.login.decode() if isinstance(credentials, LoginPassword) else None,
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 OK: queued"


class SmtpServer:
    """An SMTP server on 127.0.0.1 and a free port.

    `tls`: "starttls" offers STARTTLS on the plain port (`require_tls` makes it mandatory before MAIL),
    "implicit" speaks TLS from the first byte (port 465 style), None is plain SMTP.
    With a `username`, AUTH PLAIN and LOGIN are offered (after STARTTLS when there is STARTTLS) and
    required before MAIL.
    """

    def __init__(
        self,
        tls_files: TlsFiles | None = None,
        *,
        tls: TlsMode | None = "starttls",
        require_tls: bool = True,
        username: str | None = SMTP_USER,
        password: str = SMTP_PASSWORD,
        oauth2_check: Callable[[str, str], bool] | None = None,
    ) -> None:
        """``oauth2_check(user, token)``: also offer AUTH XOAUTH2, accepting what it accepts."""
        if tls is not None and tls_files is None:
            raise ValueError("TLS needs tls_files")
        self.host = LOCALHOST
        self.port = 0
        self.tls_files = tls_files
        self.tls = tls
        self.require_tls = require_tls
        self.username = username
        self.password = password
        self.oauth2_check = oauth2_check
        self.oauth2_attempts: list[str] = []  # the SASL users of XOAUTH2 attempts, in order
        # Lower-cased address -> the whole reply line, e.g. "550 5.1.1 <x@y>: no such user".
        self.recipient_replies: dict[str, str] = {}
        # When set, DATA is answered with this reply and nothing is recorded.
        self.data_reply: str | None = None
        # Lower-cased address -> (how many more times, the 4xx reply) before it is accepted.
        self.deferrals: dict[str, tuple[int, str]] = {}
        # When set, RCPT answers 452 "too many recipients" once a message has this many.
        self.max_recipients: int | None = None
        # When set, the connection is cut (no reply) at the RCPT after this many more accepted ones.
        self.drop_after_recipients: int | None = None
        self.dropped = threading.Event()
        self._messages: list[ReceivedMessage] = []
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    @property
    def ca_file(self) -> Path | None:
        return None if self.tls_files is None else self.tls_files.ca_file

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._controller is not None:
            raise ServerError("the SMTP server is already running")
        last_error: Exception | None = None
        for _attempt in range(5):  # free_port() can lose a race with another process; pick again
            port = free_port()
            controller = Controller(_Handler(self), hostname=LOCALHOST, port=port, **self._smtp_kwargs())
            try:
                controller.start()
            except Exception as error:
                last_error = error
                time.sleep(0.05)
                continue
            self._controller, self.port = controller, port
            return
        raise ServerError(f"the SMTP server did not start: {last_error!r}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests use ------------------------------------------------------------------------------

    def reject_recipient(self, address: str, reply: str | None = None) -> None:
        """Answer RCPT TO for `address` with `reply`: by default a permanent 550; "4xx ..." for temporary."""
        self.recipient_replies[address.casefold()] = (
            reply or f"550 5.1.1 <{address}>: Recipient address rejected"
        )

    def defer_recipient(self, address: str, times: int = 1, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer RCPT TO for `address` with a temporary `reply` the next `times` times, then accept it."""
        self.deferrals[address.casefold()] = (times, reply)

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._arrived:
            return list(self._messages)

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least `count` messages have arrived (for senders running in worker threads)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._messages) >= count, timeout):
                raise AssertionError(
                    f"expected {count} message(s) within {timeout} s, got {len(self._messages)}"
                )
            return list(self._messages)

    def clear(self) -> None:
        with self._arrived:
            self._messages.clear()
        self.recipient_replies.clear()
        self.data_reply = None
        self.deferrals.clear()
        self.max_recipients = None
        self.drop_after_recipients = None

    # -- internals -----------------------------------------------------------------------------------

    def _record(self, message: ReceivedMessage) -> None:
        with self._arrived:
            self._messages.append(message)
            self._arrived.notify_all()

    def _smtp_kwargs(self) -> dict[str, Any]:
        # A fixed greeting name: without it aiosmtpd calls socket.getfqdn(), a DNS lookup that can hang.
        kwargs: dict[str, Any] = {"server_hostname": "smtp.test.invalid", "enable_SMTPUTF8": True}
        if self.tls == "starttls":
            assert self.tls_files is not None
            kwargs["tls_context"] = self.tls_files.server_context()
            kwargs["require_starttls"] = self.require_tls
        elif self.tls == "implicit":
            assert self.tls_files is not None
            kwargs["ssl_context"] = self.tls_files.server_context()
        if self.username is not None:
            kwargs["authenticator"] = self._authenticate
            # aiosmtpd only counts STARTTLS as encryption: over implicit TLS it must not insist on it.
            kwargs["auth_require_tls"] = self.tls == "starttls"
        if self.oauth2_check is None:
            kwargs["auth_exclude_mechanism"] = ["XOAUTH2"]
        return kwargs

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == self.username and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
