"""Outgoing mail enters through the outbox: stored before anything is sent, so nothing goes twice.

In the demo the outbox is the end of the road: a message is stored with the state ``demo`` and
no connection is ever opened. The real SMTP sender (the mail and notice issues) takes ``queued``
rows from the same table.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
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


# --- who is sending a row right now: a byte-range lock per outbox row, held by the sender --------
#
# A row "sending" may be a crash's leftover or a send running right now in another program on
# this store (the app and `outbox send-due` from cron, two windows of the app). The sender holds a
# POSIX lock on byte ``outbox_id`` of ``<store>.sending`` from before the row turns "sending" until
# it has ended; the kernel lets go when the process dies, however it dies (SIGKILL too). So a row
# "sending" whose byte nobody holds is a crash's leftover. POSIX locks belong to the process and
# closing any descriptor of the file drops them all, so each process keeps one descriptor per file
# open for its life and counts the rows its own threads hold.

_LOCK_WAIT_S = 2.0  # a recovery holds a row's byte only while it marks the row
_descriptors: dict[Path, int] = {}
_held: set[tuple[Path, int]] = set()
_guard = threading.Lock()


def _lock_file(store: Store) -> tuple[Path, int] | None:
    """The lock file beside the store and this process's descriptor of it; None for a store that is
    not a file, or a folder where the file cannot be made (then no sender holds a lock either)."""
    if store.path is None:
        return None
    path = store.path.with_name(store.path.name + ".sending")
    with _guard:
        descriptor = _descriptors.get(path)
        if descriptor is None:
            try:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:  # e.g. a read-only folder: the store cannot be written either
                return None
            _descriptors[path] = descriptor
    return path, descriptor


@contextmanager
def sending_lock(store: Store, outbox_id: int) -> Iterator[None]:
    """Hold while sending ``outbox_id``: from before the row turns "sending" until it has ended.

    Raises ``store.outbox.OutboxStateError`` when another thread or program is sending that row.
    """
    from store.outbox import OutboxStateError

    found = _lock_file(store)
    if found is None:  # an in-memory store: no other program can see it
        yield
        return
    path, descriptor = found
    with _guard:
        if (path, outbox_id) in _held:
            raise OutboxStateError(f"outbox row {outbox_id} is being sent by this program")
        _held.add((path, outbox_id))
    try:
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, outbox_id)
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    raise OutboxStateError(
                        f"outbox row {outbox_id} is being sent by another program"
                    ) from error
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, outbox_id)
    finally:
        with _guard:
            _held.discard((path, outbox_id))


def recover_interrupted(store: Store) -> int:
    """Rows a crash left "sending" become "unknown" (never re-sent); returns how many.

    A row another program (or a thread of this one) is sending right now holds its lock
    (:func:`sending_lock`) and is left alone. Senders that do not take the lock (none should) are
    taken for crashed.
    """
    from store.queries import reader

    # Almost always nothing is left "sending": a plain read says so without importing the ORM
    # (SQLAlchemy's import in this start-up worker took the GIL from the first screen switch).
    with reader(store) as read:
        rows = read.rows("SELECT id FROM outbox WHERE state = 'sending'")
    if not rows:
        return 0
    from store.outbox import mark_interrupted

    found = _lock_file(store)
    if found is None:
        return mark_interrupted(store)
    path, descriptor = found
    count = 0
    for (outbox_id,) in rows:
        with _guard:
            if (path, outbox_id) in _held:
                continue  # this program is sending it
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, outbox_id)
        except OSError:
            continue  # another program is sending it
        try:
            count += mark_interrupted(store, [outbox_id])
        finally:
            fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, outbox_id)
    return count
