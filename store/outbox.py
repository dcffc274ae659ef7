"""The outbox table's reads and writes: a message is stored whole before anything sends it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from store.models import Outbox, utcnow

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
