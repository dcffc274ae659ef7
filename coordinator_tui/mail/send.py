"""Sending an outbox row over SMTP, and the copy in the Sent folder.

The row's state tells what happened, so that nothing is sent twice and nothing is lost:
queued → sending (committed before the connection opens) → sent | failed | unknown.
- failed: the server never took the message (no connection, login refused, every recipient
  refused, DATA refused); the reason is in the row, and the user may send a new copy;
- unknown: the connection broke after the message text was on its way, or the process died while
  sending (``store.outbox.mark_interrupted`` at start-up): it may have been delivered, so it is
  never sent again automatically.
Each recipient's answer is kept as a Delivery. No Textual here; callers run this in a worker.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from coordinator_tui.config import ImapSection, SmtpSection, is_loopback
from coordinator_tui.i18n import _
from coordinator_tui.oauth2 import IdentityUnavailable, SignInRequired, TokenSource, xoauth2_string
from store import outbox as outbox_store

if TYPE_CHECKING:
    from store.engine import Store

log = logging.getLogger(__name__)


class SmtpError(Exception):
    """The SMTP server cannot be used: what happened and what the user can do."""

    def __init__(self, what: str, todo: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.todo = todo

    def __str__(self) -> str:
        return f"{self.what} {self.todo}".strip()


@dataclass
class SendResult:
    outbox_id: int
    state: str  # sent, failed, unknown
    error: str = ""  # why, in words ("" when every recipient took it)
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # address → the server's reply
    sent_copy_error: str = ""  # the Sent copy failed (the send itself did not)

    @property
    def ok(self) -> bool:
        return self.state == "sent"


def tls_context(section: SmtpSection) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``[smtp] ca_file`` when set; host names are checked."""
    context = ssl.create_default_context()
    if section.ca_file:
        try:
            context.load_verify_locations(cafile=section.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise SmtpError(
                _("The CA file {path} cannot be read ({error}).").format(path=section.ca_file, error=error),
                _("Point [smtp] ca_file at a readable PEM certificate, or leave it empty."),
            ) from error
    return context


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def _network_error(where: str, error: BaseException) -> SmtpError:
    """Connection-level failures in words for the user."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return SmtpError(
            _("The SMTP server {where} could not be verified: {reason}.").format(
                where=where, reason=error.verify_message or error
            ),
            _(
                "If the server has a self-signed certificate or its own certificate authority, save that "
                "certificate (PEM) and set [smtp] ca_file to its file."
            ),
        )
    if isinstance(error, ssl.SSLError):
        return SmtpError(
            _("The TLS handshake with {where} failed ({reason}).").format(where=where, reason=error.reason),
            _('Check [smtp] port and security: "tls" is usually port 465, "starttls" port 587.'),
        )
    if isinstance(error, ConnectionRefusedError):
        return SmtpError(
            _("The SMTP server {where} refused the connection.").format(where=where),
            _("Check [smtp] host and port, and that the server is running."),
        )
    if isinstance(error, socket.gaierror):
        return SmtpError(
            _("The SMTP server's name {host} cannot be resolved.").format(host=where.rsplit(":", 1)[0]),
            _("Check [smtp] host and the network connection."),
        )
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(error.__context__, TimeoutError):
        error = error.__context__  # smtplib reports a read that timed out as a closed connection
    if isinstance(error, TimeoutError | socket.timeout):
        return SmtpError(
            _("The SMTP server {where} did not answer in time.").format(where=where),
            _("Check the network connection; try again later."),
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return SmtpError(
            _("The SMTP server {where} closed the connection.").format(where=where),
            _("Try again later."),
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return SmtpError(
            _("The SMTP server {where} said no: {reply}.").format(
                where=where, reply=_reply_text(error.smtp_code, error.smtp_error)
            ),
        )
    return SmtpError(
        _("The SMTP server {where} cannot be reached ({reason}).").format(
            where=where, reason=getattr(error, "strerror", None) or error
        ),
        _("Check [smtp] host and port and the network connection."),
    )


def connect(
    section: SmtpSection, password: str | TokenSource, *, timeout: float | None = None
) -> smtplib.SMTP:
    """A connected, encrypted (unless "none" on loopback) and logged-in SMTP session.

    ``timeout`` (default ``[smtp] timeout``) bounds the connect and every later read and write.
    """
    if timeout is None:
        timeout = section.timeout
    host, port = section.host, section.effective_port()
    if not host:
        raise SmtpError(_("No SMTP server is configured."), _("Set [smtp] host in the config file."))
    if section.security == "none" and not is_loopback(host):
        raise SmtpError(
            _("Refusing to send the password unencrypted to {host}.").format(host=host),
            _('Set [smtp] security = "tls" or "starttls".'),
        )
    where = f"{host}:{port}"
    client: smtplib.SMTP | None = None
    try:
        if section.security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(section))
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        client.ehlo()
        if section.security == "starttls":
            if not client.has_extn("starttls"):
                raise SmtpError(
                    _("The SMTP server {where} does not offer STARTTLS.").format(where=where),
                    _('Use security = "tls" (usually port 465), or ask the server\'s admin.'),
                )
            client.starttls(context=tls_context(section))
            client.ehlo()
        if section.username:
            _login(client, section.username, password, where)
    except SmtpError:
        _close_quietly(client)
        raise
    except (OSError, smtplib.SMTPException) as error:
        _close_quietly(client)
        raise _network_error(where, error) from error
    return client


def _login(client: smtplib.SMTP, username: str, password: str | TokenSource, where: str) -> None:
    """AUTH; smtplib encodes credentials as ASCII, so a non-ASCII password goes as UTF-8 PLAIN.
    A TokenSource logs in with XOAUTH2 (coordinator_tui/oauth2.py)."""
    if not client.has_extn("auth"):
        raise SmtpError(
            _("The SMTP server {where} does not offer a login (AUTH).").format(where=where),
            _("Leave [smtp] username empty if the server takes mail without a login."),
        )
    if isinstance(password, TokenSource):
        _xoauth2_login(client, password, where)
        return
    refused = SmtpError(
        _("The SMTP server {where} refused the login of {user!r}.").format(where=where, user=username),
        _("Check [smtp] username and the password (keyring or COORDINATOR_TUI_SMTP_PASSWORD)."),
    )
    try:
        if (username + password).isascii():
            client.login(username, password)
            return
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
        code, _message = client.docmd("AUTH", "PLAIN " + token)
        if code != 235:
            raise refused
    except smtplib.SMTPAuthenticationError as error:
        raise refused from error
    except smtplib.SMTPNotSupportedError as error:
        raise SmtpError(
            _("The SMTP server {where} offers no login method this app knows.").format(where=where)
        ) from error


def _xoauth2_login(client: smtplib.SMTP, source: TokenSource, where: str) -> None:
    """AUTH XOAUTH2; a refused token is refreshed and tried once more, never in a loop."""
    offered = (client.esmtp_features.get("auth") or "").upper().split()
    if "XOAUTH2" not in offered:
        raise SmtpError(
            _("The SMTP server {where} does not take OAuth2 (XOAUTH2) logins.").format(where=where),
            _('Use [smtp] auth = "password", or a server that takes OAuth2.'),
        )
    for attempt in (1, 2):
        try:
            token = source.token()
        except (SignInRequired, IdentityUnavailable) as error:
            raise SmtpError(error.what, error.todo) from error

        def answer(challenge: bytes | None = None, token: str = token) -> str:
            # The first call gives the initial response; a second one answers the server's error
            # challenge with nothing, which ends the exchange with the server's refusal.
            return xoauth2_string(source.user, token) if challenge is None else ""

        try:
            client.auth("XOAUTH2", answer)
            return
        except smtplib.SMTPAuthenticationError as error:
            if 400 <= error.smtp_code < 500:  # the server cannot check it now: a later try may pass
                raise SmtpError(
                    _("The SMTP server {where} cannot check the sign-in now ({code}).").format(
                        where=where, code=error.smtp_code
                    ),
                    _("Try again later."),
                ) from error
            source.rejected()
            if attempt == 2:
                raise SmtpError(
                    _("The SMTP server {where} refused the sign-in token for {user!r}.").format(
                        where=where, user=source.user
                    ),
                    _("Sign in again (coordinator-tui login smtp) with an account that may send as it."),
                ) from error


def _close_quietly(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except Exception:
        with contextlib.suppress(Exception):  # already broken; nothing left to tell
            client.close()


def _status_for(code: int) -> str:
    return "accepted" if 200 <= code < 300 else "retry" if 400 <= code < 500 else "refused"


def send_outbox(
    store: Store,
    outbox_id: int,
    section: SmtpSection,
    password: str | TokenSource,
    *,
    timeout: float | None = None,
) -> SendResult:
    """Send the queued row ``outbox_id``; the row and its deliveries record the outcome.

    Raises ``store.outbox.OutboxStateError`` when the row is not queued (it is never sent twice).
    """
    from coordinator_tui.outgoing import sending_lock

    # Held until the row has ended: the start-up recovery of another process (cron's `outbox
    # send-due`, a second window) then leaves this live send alone instead of calling it "unknown".
    with sending_lock(store, outbox_id):
        return _send_held(store, outbox_id, section, password, timeout=timeout)


def _send_held(
    store: Store,
    outbox_id: int,
    section: SmtpSection,
    password: str | TokenSource,
    *,
    timeout: float | None,
) -> SendResult:
    row = outbox_store.start_sending(store, outbox_id)  # committed: "sending" before the first byte
    result = SendResult(outbox_id, "failed")
    where = f"{section.host}:{section.effective_port()}"
    try:
        client = connect(section, password, timeout=timeout)
    except SmtpError as error:
        return _finish(store, result, "failed", str(error))
    except Exception as error:  # unforeseen: still end the attempt, never leave "sending" behind
        _finish(store, result, "failed", type(error).__name__)
        raise
    data_started = False
    try:
        mail_options: list[str] = []
        if not row.raw.isascii():
            if not client.has_extn("8bitmime"):
                return _finish(
                    store,
                    result,
                    "failed",
                    _("The SMTP server {where} does not take 8-bit mail (8BITMIME).").format(where=where),
                )
            mail_options.append("BODY=8BITMIME")
        sender = section.from_address or section.username
        code, reply = client.mail(sender, mail_options)
        if code != 250:
            return _finish(
                store,
                result,
                "failed",
                _("The SMTP server refused the sender {sender}: {reply}.").format(
                    sender=sender, reply=_reply_text(code, reply)
                ),
            )
        answers: dict[str, tuple[str, str]] = {}
        for recipient in row.recipients:
            code, reply = client.rcpt(recipient)
            text = _reply_text(code, reply)
            answers[recipient] = (_status_for(code), text)
            if 200 <= code < 300:
                result.accepted.append(recipient)
            else:
                result.refused[recipient] = text
        outbox_store.record_deliveries(store, outbox_id, answers)
        if not result.accepted:
            client.rset()
            return _finish(store, result, "failed", _refusals(result.refused, everyone=True))
        data_started = True
        code, reply = client.data(row.raw)
        if code != 250:
            refused = {address: _reply_text(code, reply) for address in result.accepted}
            outbox_store.record_deliveries(store, outbox_id, {a: ("refused", r) for a, r in refused.items()})
            result.refused.update(refused)
            result.accepted = []
            return _finish(
                store,
                result,
                "failed",
                _("The SMTP server refused the message: {reply}.").format(reply=_reply_text(code, reply)),
            )
        note = _refusals(result.refused, everyone=False) if result.refused else ""
        return _finish(store, result, "sent", note)
    except smtplib.SMTPDataError as error:  # DATA itself refused: no text was sent
        return _finish(store, result, "failed", str(_network_error(where, error)))
    except (OSError, smtplib.SMTPException) as error:
        words = str(_network_error(where, error))
        if data_started:
            # The text may have reached the server before the connection broke: it may be delivered.
            return _finish(
                store,
                result,
                "unknown",
                _(
                    "The connection broke while the message was being sent ({error}); it may or may not "
                    "have been delivered, so it is not sent again. Check with a recipient."
                ).format(error=_network_error(where, error).what.rstrip(".")),  # not its "try again"
            )
        return _finish(store, result, "failed", words)
    except Exception as error:  # unforeseen: the row says what may have happened, then the error goes on
        _finish(store, result, "unknown" if data_started else "failed", type(error).__name__)
        raise
    finally:
        _close_quietly(client)


def _refusals(refused: dict[str, str], *, everyone: bool) -> str:
    listed = "; ".join(f"{address} ({reply})" for address, reply in refused.items())
    if everyone:
        return _("Every recipient was refused: {list}.").format(list=listed)
    return _("Sent, but these recipients were refused: {list}.").format(list=listed)


def _finish(store: Store, result: SendResult, state: str, error: str) -> SendResult:
    outbox_store.finish_sending(store, result.outbox_id, state, error)
    result.state, result.error = state, error
    log.info(
        "outbox %s: %s (%d accepted, %d refused)",
        result.outbox_id,
        state,
        len(result.accepted),
        len(result.refused),
    )
    return result


# --- the copy in Sent, and \Answered on the original -------------------------------------------


def sent_folder_name(store: Store) -> str | None:
    """The Sent folder the sync found (role "sent"), or None when it has not found one."""
    from sqlmodel import col, select

    from store.models import MailFolder

    with store.session() as session:
        folder = session.exec(select(MailFolder).where(col(MailFolder.role) == "sent")).first()
        return folder.name if folder is not None else None


def _source_location(store: Store, message_id: int) -> tuple[str, int, int] | None:
    """(folder name, folder id, UID) of a stored message."""
    from store.models import MailFolder, MailMessage

    with store.session() as session:
        message = session.get(MailMessage, message_id)
        if message is None:
            return None
        folder = session.get(MailFolder, message.folder_id)
        if folder is None:
            return None
        return folder.name, message.folder_id, message.uid


def file_sent_copy(
    store: Store,
    section: ImapSection,
    password: str | TokenSource,
    raw: bytes,
    *,
    answered_message_id: int | None = None,
    when: datetime | None = None,
) -> str:
    """APPEND ``raw`` to the Sent folder as \\Seen, and mark the replied-to message \\Answered.

    Returns "" when the copy was filed, else the reason in words; never raises for server trouble,
    since the message itself has gone.
    """
    from coordinator_tui.mail.imap import ImapError, close_quietly, connect, discover_folders, guarded

    try:
        client = connect(section, password)
    except ImapError as error:
        return _("The copy in Sent was not saved: {error}").format(error=error)
    where = f"{section.host}:{section.effective_port()}"
    try:
        folder = sent_folder_name(store)
        if folder is None:
            found = [info for info in discover_folders(client, [], where) if info.role == "sent"]
            folder = found[0].name if found else None
        if folder is None:
            return _("The copy in Sent was not saved: the server has no Sent folder (SPECIAL-USE \\Sent).")
        moment = when or datetime.now(UTC)
        guarded(where, lambda: client.append(folder, raw, flags=(b"\\Seen",), msg_time=moment))
        if answered_message_id is not None:
            _mark_answered(store, client, where, answered_message_id)
        return ""
    except ImapError as error:
        return _("The copy in Sent was not saved: {error}").format(error=error)
    finally:
        close_quietly(client)


def _mark_answered(store: Store, client: object, where: str, message_id: int) -> None:
    """\\Answered on the original, on the server and in the store; a failure here is only logged."""
    from coordinator_tui.mail.imap import ImapError, guarded

    location = _source_location(store, message_id)
    if location is None:
        return
    folder, _folder_id, uid = location
    try:
        guarded(where, lambda: client.select_folder(folder))  # type: ignore[attr-defined]
        guarded(where, lambda: client.add_flags([uid], [b"\\Answered"]))  # type: ignore[attr-defined]
    except ImapError as error:
        log.info("could not mark message %s answered: %s", message_id, type(error).__name__)
        return
    from store.models import MailMessage

    with store.session() as session:
        row = session.get(MailMessage, message_id)
        if row is not None and not row.answered:
            row.answered = True
            session.add(row)
