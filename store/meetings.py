"""Cooperation meetings held with units: reading and recording them (counts only, never HaiPro content)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from store.queries import reader

if TYPE_CHECKING:
    from store.engine import Store


@dataclass(frozen=True)
class HeldMeeting:
    id: int
    unit_id: int
    held_on: date
    participants: tuple[int, ...]  # person ids
    notes: str
    actions: str
    haipro_count: int | None


def _ids(text: object) -> tuple[int, ...]:
    try:
        values = json.loads(str(text or "[]"))
    except ValueError:
        return ()
    return tuple(int(value) for value in values if isinstance(value, int)) if isinstance(values, list) else ()


def held_meetings(store: Store) -> list[HeldMeeting]:
    """Every held meeting, newest first."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT id, unit_id, held_on, participants, notes, actions, haipro_count FROM meeting "
            "ORDER BY held_on DESC, id DESC"
        )
    return [
        HeldMeeting(
            int(row[0]),
            int(row[1]),
            date.fromisoformat(str(row[2])[:10]),
            _ids(row[3]),
            str(row[4] or ""),
            str(row[5] or ""),
            None if row[6] is None else int(row[6]),
        )
        for row in rows
    ]


def record_meeting(
    store: Store,
    unit_id: int,
    held_on: date,
    participants: Sequence[int],
    notes: str,
    actions: str,
    haipro_count: int | None,
) -> int:
    from store.models import Meeting

    with store.session() as session:
        meeting = Meeting(
            unit_id=unit_id,
            held_on=held_on,
            participants=json.dumps(list(participants)),
            notes=notes,
            actions=actions,
            haipro_count=haipro_count,
        )
        session.add(meeting)
        session.flush()
        assert meeting.id is not None
        return meeting.id


def resolved_count(store: Store, unit_id: int, since: datetime, until: datetime) -> int:
    """How many of the unit's requests created in [since, until) are resolved (merged ones left out):
    the number the median resolution time of the meeting's figures is taken over."""
    from store.queries import sql_time

    with reader(store) as read:
        rows = read.rows(
            "SELECT count(*) FROM service_request WHERE unit_id = :unit_id AND merged_into_id IS NULL "
            "AND created_at >= :since AND created_at < :until AND resolved_at IS NOT NULL",
            {"unit_id": unit_id, "since": sql_time(since), "until": sql_time(until)},
        )
    return int(rows[0][0] or 0)
