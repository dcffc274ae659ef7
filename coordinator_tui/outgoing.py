"""Outgoing mail enters through the outbox: stored before anything is sent, so nothing goes twice.

In the demo the outbox is the end of the road: a message is stored with the state ``demo`` and
no connection is ever opened. The real SMTP sender (the mail and notice issues) takes ``queued``
rows from the same table.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.engine import Store

DEMO_DOMAIN = "demo.coordinator-tui.invalid"  # .invalid: a name that can never be delivered to


def queue_message(
    store: Store, message: EmailMessage, recipients: list[str], *, kind: str = "mail", demo: bool
) -> int:
    """Store ``message`` in the outbox and return its id; in the demo it is never sent anywhere."""
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    if "Message-ID" not in message:
        message["Message-ID"] = make_msgid(domain=DEMO_DOMAIN if demo else None)
    from store.outbox import add_to_outbox  # the ORM: imported when something is sent

    return add_to_outbox(
        store,
        kind=kind,
        message_id=str(message["Message-ID"]),
        subject=str(message.get("Subject", "")),
        raw=message.as_bytes(),
        recipients=recipients,
        state="demo" if demo else "queued",
    )


def recover_interrupted(store: Store) -> int:
    """At start-up: rows a crash left "sending" become "unknown" (never re-sent); returns how many.

    Call before any sender of this store runs (e.g. when the app or a headless command opens the
    store); a row still "sending" then can only be a crash's leftover.
    """
    from store.queries import reader

    # Almost always nothing is left "sending": a plain read says so without importing the ORM
    # (SQLAlchemy's import in this start-up worker took the GIL from the first screen switch).
    with reader(store) as read:
        if not read.rows("SELECT 1 FROM outbox WHERE state = 'sending' LIMIT 1"):
            return 0
    from store.outbox import mark_interrupted

    return mark_interrupted(store)
