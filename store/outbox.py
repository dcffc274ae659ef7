"""The outbox table's reads and writes: a message is stored whole before anything sends it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from store.models import Delivery, Outbox, utcnow

if TYPE_CHECKING:
    from store.engine import Store


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    kind: str
    subject: str
    recipients: list[str]
    state: str
    created_at: datetime
    error: str


def add_to_outbox(
    store: Store, *, kind: str, message_id: str, subject: str, raw: bytes, recipients: list[str], state: str
) -> int:
    with store.session() as session:
        row = Outbox(
            kind=kind,
            message_id=message_id,
            subject=subject,
            raw=raw,
            recipients=json.dumps(recipients, ensure_ascii=False),
            state=state,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def outbox_entries(store: Store, limit: int = 200) -> list[OutboxEntry]:
    """The newest outbox rows first."""
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(select(Outbox).order_by(col(Outbox.created_at).desc()).limit(limit)).all()
        return [
            OutboxEntry(
                id=row.id or 0,
                kind=row.kind,
                subject=row.subject,
                recipients=json.loads(row.recipients or "[]"),
                state=row.state,
                created_at=row.created_at,
                error=row.error,
            )
            for row in rows
        ]


# --- sending: the state machine queued → sending → sent | failed | unknown ---------------------

# States a row can be sent from. Nothing else is ever sent: "sending" and "unknown" may already
# have reached the server, "sent" has, "demo" never goes anywhere.
SENDABLE = ("queued",)
FINAL_STATES = ("sent", "failed", "unknown")
INTERRUPTED_NOTE = (
    "interrupted while sending: the message may or may not have been delivered; it is not sent again"
)


class OutboxStateError(Exception):
    """The row is not in a state that allows what was asked (e.g. sending a row twice)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """What a sender needs from one outbox row."""

    id: int
    kind: str
    message_id: str
    subject: str
    raw: bytes
    recipients: list[str]
    state: str
    error: str


@dataclass(frozen=True)
class DeliveryEntry:
    recipient: str
    status: str  # pending, accepted, refused, retry
    smtp_reply: str
    at: datetime | None


def outgoing_message(store: Store, outbox_id: int) -> OutgoingMessage:
    with store.session() as session:
        row = session.get(Outbox, outbox_id)
        if row is None:
            raise LookupError(f"no outbox row {outbox_id}")
        return OutgoingMessage(
            id=outbox_id,
            kind=row.kind,
            message_id=row.message_id,
            subject=row.subject,
            raw=bytes(row.raw),
            recipients=json.loads(row.recipients or "[]"),
            state=row.state,
            error=row.error,
        )


def start_sending(store: Store, outbox_id: int) -> OutgoingMessage:
    """Move a queued row to "sending" and give each recipient a pending delivery; committed on return.

    The caller opens the SMTP connection only after this returns, so a crash from here on leaves
    "sending", which :func:`mark_interrupted` turns into "unknown" — never into a second send.
    Raises :class:`OutboxStateError` when the row is not queued (another sender took it first).
    """
    from sqlalchemy import update
    from sqlmodel import col

    with store.session() as session:
        changed = session.connection().execute(
            update(Outbox)
            .where(col(Outbox.id) == outbox_id, col(Outbox.state).in_(SENDABLE))
            .values(state="sending", error="")
        )
        if changed.rowcount != 1:
            state = session.get(Outbox, outbox_id)
            raise OutboxStateError(
                f"outbox row {outbox_id} is {state.state if state else 'missing'}, not queued"
            )
        row = session.get(Outbox, outbox_id)
        assert row is not None
        recipients: list[str] = json.loads(row.recipients or "[]")
        for recipient in recipients:
            session.add(Delivery(outbox_id=outbox_id, recipient=recipient, status="pending"))
    return outgoing_message(store, outbox_id)


def record_deliveries(store: Store, outbox_id: int, results: dict[str, tuple[str, str]]) -> None:
    """Set each recipient's delivery: address → (status, the server's reply)."""
    from sqlmodel import col, select

    now = utcnow()
    with store.session() as session:
        rows = session.exec(select(Delivery).where(col(Delivery.outbox_id) == outbox_id)).all()
        by_recipient = {row.recipient.casefold(): row for row in rows}
        for recipient, (status, reply) in results.items():
            row = by_recipient.get(recipient.casefold())
            if row is None:
                row = Delivery(outbox_id=outbox_id, recipient=recipient)
            row.status, row.smtp_reply, row.at = status, reply[:500], now
            session.add(row)


def finish_sending(store: Store, outbox_id: int, state: str, error: str = "") -> None:
    """The end of an attempt: "sent", "failed" or "unknown", with the reason in words."""
    if state not in FINAL_STATES:
        raise ValueError(f"not a final state: {state}")
    with store.session() as session:
        row = session.get(Outbox, outbox_id)
        if row is None:
            raise LookupError(f"no outbox row {outbox_id}")
        if row.state != "sending":
            raise OutboxStateError(f"outbox row {outbox_id} is {row.state}, not sending")
        row.state, row.error = state, error[:2000]
        if state == "sent":
            row.sent_at = utcnow()
        session.add(row)


def note_outbox_error(store: Store, outbox_id: int, note: str) -> None:
    """Add a note to a row's error text without changing its state (e.g. the Sent copy failed)."""
    with store.session() as session:
        row = session.get(Outbox, outbox_id)
        if row is None:
            return
        row.error = (f"{row.error}; {note}" if row.error else note)[:2000]
        session.add(row)


def mark_interrupted(store: Store, outbox_ids: Sequence[int] | None = None) -> int:
    """Rows left "sending" by a crash become "unknown"; returns how many.

    ``outbox_ids``: only these rows (those whose sender is known to be gone); None: every row
    "sending", for when no sender of this store can be running. They may have reached the server,
    so they are shown to the user and never sent again automatically.
    """
    from sqlalchemy import update
    from sqlmodel import col

    with store.session() as session:
        statement = update(Outbox).where(col(Outbox.state) == "sending")
        if outbox_ids is not None:
            statement = statement.where(col(Outbox.id).in_(list(outbox_ids)))
        changed = session.connection().execute(statement.values(state="unknown", error=INTERRUPTED_NOTE))
        return int(changed.rowcount or 0)


def deliveries(store: Store, outbox_id: int) -> list[DeliveryEntry]:
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(Delivery).where(col(Delivery.outbox_id) == outbox_id).order_by(col(Delivery.id))
        ).all()
        return [DeliveryEntry(row.recipient, row.status, row.smtp_reply, row.at) for row in rows]


# --- batches that may be resumed (notices): recipients still waiting after a broken connection ---

# A delivery still to be tried: never offered to the server ("pending") or put off by it (4xx, "retry").
# "unknown" marks recipients whose message text was on its way when the sender stopped: they may
# have it, so they are never offered again automatically.
WAITING_DELIVERIES = ("pending", "retry")


def waiting_recipients(store: Store, outbox_id: int) -> list[str]:
    """The recipients of ``outbox_id`` that have not been sent to yet (pending or put off), in order."""
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(Delivery)
            .where(col(Delivery.outbox_id) == outbox_id, col(Delivery.status).in_(WAITING_DELIVERIES))
            .order_by(col(Delivery.id))
        ).all()
        return [row.recipient for row in rows]


def resume_sending(store: Store, outbox_id: int, *, from_unknown: bool = False) -> OutgoingMessage:
    """Move a "sent" or "failed" row that still has waiting recipients back to "sending"; committed.

    Only the waiting recipients are sent to after this (:func:`waiting_recipients`); accepted,
    refused and unknown ones are never offered again. ``from_unknown``: the user has looked at an
    "unknown" row (e.g. a crash in the middle of a batch) and decided its waiting recipients should
    get it. Raises :class:`OutboxStateError` when the row is in another state or nobody is waiting.
    """
    from sqlalchemy import exists, update
    from sqlmodel import col

    with store.session() as session:
        waiting = exists().where(
            col(Delivery.outbox_id) == outbox_id, col(Delivery.status).in_(WAITING_DELIVERIES)
        )
        changed = session.connection().execute(
            update(Outbox)
            .where(
                col(Outbox.id) == outbox_id,
                col(Outbox.state).in_(("sent", "failed", "unknown") if from_unknown else ("sent", "failed")),
                waiting,
            )
            .values(state="sending")
        )
        if changed.rowcount != 1:
            row = session.get(Outbox, outbox_id)
            raise OutboxStateError(
                f"outbox row {outbox_id} is {row.state if row else 'missing'} "
                "with nobody waiting; not resumed"
            )
    return outgoing_message(store, outbox_id)


# --- the coordinator's decision on a batch whose delivery is unknown ------------------------------


def delivery_counts(store: Store, outbox_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each of ``outbox_ids``: delivery status → how many recipients (rows without one are absent)."""
    from sqlalchemy import func
    from sqlmodel import col, select

    if not outbox_ids:
        return {}
    with store.session() as session:
        rows = session.exec(
            select(Delivery.outbox_id, Delivery.status, func.count())
            .where(col(Delivery.outbox_id).in_(outbox_ids))
            .group_by(col(Delivery.outbox_id), col(Delivery.status))
        ).all()
    counts: dict[int, dict[str, int]] = {}
    for outbox_id, status, count in rows:
        counts.setdefault(outbox_id, {})[status] = int(count)
    return counts


def mark_unknown_sent(store: Store, outbox_id: int, note: str) -> int:
    """The coordinator decided an "unknown" row did reach its recipients: unknown deliveries become
    accepted (with ``note`` as the reply) and the row "sent". Returns how many deliveries changed.

    Recipients never offered (pending, retry) stay waiting. Raises :class:`OutboxStateError` when
    the row is not "unknown".
    """
    from sqlalchemy import update
    from sqlmodel import col

    now = utcnow()
    with store.session() as session:
        changed = session.connection().execute(
            update(Outbox)
            .where(col(Outbox.id) == outbox_id, col(Outbox.state) == "unknown")
            .values(state="sent", error=note[:2000], sent_at=now)
        )
        if changed.rowcount != 1:
            row = session.get(Outbox, outbox_id)
            raise OutboxStateError(
                f"outbox row {outbox_id} is {row.state if row else 'missing'}, not unknown"
            )
        moved = session.connection().execute(
            update(Delivery)
            .where(col(Delivery.outbox_id) == outbox_id, col(Delivery.status) == "unknown")
            .values(status="accepted", smtp_reply=note[:500], at=now)
        )
        return int(moved.rowcount or 0)


def requeue_unknown(store: Store, outbox_id: int) -> int:
    """The coordinator decided an "unknown" row's recipients should get it again: their deliveries
    go back to pending, so the next resume sends to them. Returns how many.

    Raises :class:`OutboxStateError` when the row is not "unknown" (nothing else is ever re-sent).
    """
    from sqlalchemy import update
    from sqlmodel import col

    with store.session() as session:
        row = session.get(Outbox, outbox_id)
        if row is None or row.state != "unknown":
            raise OutboxStateError(
                f"outbox row {outbox_id} is {row.state if row else 'missing'}, not unknown"
            )
        moved = session.connection().execute(
            update(Delivery)
            .where(col(Delivery.outbox_id) == outbox_id, col(Delivery.status) == "unknown")
            .values(status="pending", smtp_reply="")
        )
        return int(moved.rowcount or 0)
