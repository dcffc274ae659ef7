"""What the running app sends by itself: notice versions whose time has come (scheduled maintenance
announcements, scheduled reminders), with the same code as ``coordinator-tui outbox send-due``.

The store is asked first whether anything is due, so that a minute's timer never opens a
connection or asks for a password when there is nothing to send.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from coordinator_tui.notices.send import NoticeSendResult, send_due
from store import notices as notice_store

if TYPE_CHECKING:
    from coordinator_tui.config import Config
    from store.engine import Store

INTERVAL_SECONDS = 60.0


def anything_due(store: Store, now: datetime) -> bool:
    return bool(notice_store.due_versions(store, now))


def send_what_is_due(
    store: Store,
    config: Config,
    password: Callable[[str, str], str | None],
    *,
    now: datetime,
) -> list[NoticeSendResult]:
    """Send every due version; ``password(kind, username)`` gives the SMTP (and IMAP) password, or
    None when there is none (then nothing is sent and the versions stay queued)."""
    smtp = config.smtp
    if not smtp.host or not smtp.from_address or not anything_due(store, now):
        return []
    smtp_password = password("smtp", smtp.username) if smtp.username else ""
    if smtp_password is None:
        return []
    imap_password = ""
    if config.imap.host and config.imap.username:
        imap_password = password("imap", config.imap.username) or ""
    notices = config.notices
    return send_due(
        store,
        smtp,
        smtp_password,
        now=now,
        imap=config.imap if imap_password else None,
        imap_password=imap_password,
        atom_path=Path(notices.atom_path).expanduser() if notices.atom_path else None,
        max_per_message=notices.max_recipients_per_message,
        backoff=notices.retry_backoff_seconds,
    )
