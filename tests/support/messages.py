"""Small real-shaped messages and IMAP settings shared by the mail tests."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

from coordinator_tui.config import ImapSection
from tests.support.dovecot import ImapAccount


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
