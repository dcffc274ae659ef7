"""Small real-shaped messages and IMAP settings shared by the mail tests."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

from coordinator_tui.config import ImapSection, SmtpSection
from tests.support.dovecot import ImapAccount
from tests.support.smtp import SMTP_USER, SmtpServer

FROM = "omaolo@pohde.example.fi"  # the shared mailbox the tests send as


def section_for(account: ImapAccount, **overrides: Any) -> ImapSection:
    """The [imap] section that reaches ``account`` over verified TLS (the test CA as ca_file)."""
    values: dict[str, Any] = {
        "host": account.host,
        "port": account.port,
        "security": "tls",
        "username": account.username,
        "ca_file": str(account.ca_file),
    }
    values.update(overrides)
    return ImapSection(**values)


def smtp_section_for(server: SmtpServer, **overrides: Any) -> SmtpSection:
    """The [smtp] section that reaches ``server`` with its TLS mode, verified by the test CA."""
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "starttls" if server.tls == "starttls" else "tls",
        "username": SMTP_USER,
        "from_address": FROM,
        "ca_file": str(server.ca_file),
    }
    values.update(overrides)
    return SmtpSection(**values)


def plain(subject: str, body: str, message_id: str, **headers: str) -> bytes:
    """A UTF-8 text message; ``sender=`` sets From, other keywords add headers (in_reply_to=...)."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = headers.pop("sender", "Päivi Meriläinen <paivi@example.fi>")
    message["To"] = "Koordinaattori <koordinaattori@example.fi>"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Thu, 26 Nov 2026 09:30:00 +0200"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, charset="utf-8", cte="8bit")
    return message.as_bytes()
