"""When a unit's next cooperation meeting is due (seeds/000).

The first meeting is held about a month after a deployment; the following ones yearly after the
last held meeting. So for each unit with a deployment date: every deployment after the last held
meeting (or every deployment, when none has been held) asks for a meeting a month after it, and a
held meeting asks for the next a year after it; the earliest of these is the one due. Months are
calendar months (31.1. + 1 month = 28.2., or 29.2. in a leap year).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from store.directory import UnitRow
from store.meetings import HeldMeeting

Kind = Literal["first", "yearly"]
Bucket = Literal["overdue", "this_month", "later"]


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DueMeeting:
    unit_id: int
    unit_name: str
    due_on: date
    kind: Kind  # first: after a deployment; yearly: a year after the last held meeting
    reason: str  # the service whose deployment asks for it ("" for a yearly one)
    deployed_on: date | None
    last_held: date | None
    bucket: Bucket


def bucket_of(due_on: date, today: date) -> Bucket:
    if due_on < today:
        return "overdue"
    if (due_on.year, due_on.month) == (today.year, today.month):
        return "this_month"
    return "later"


def next_meeting(unit: UnitRow, held: Iterable[HeldMeeting], today: date) -> DueMeeting | None:
    """The unit's next due meeting; None for a unit with no deployment date."""
    deployments = [(service.deployed_on, service.service) for service in unit.services if service.deployed_on]
    if not deployments:
        return None
    held_days = [meeting.held_on for meeting in held if meeting.unit_id == unit.id]
    last = max(held_days) if held_days else None
    candidates: list[tuple[date, Kind, str, date | None]] = [
        (add_months(deployed, 1), "first", service, deployed)
        for deployed, service in deployments
        if last is None or deployed > last
    ]
    if last is not None:
        candidates.append((add_months(last, 12), "yearly", "", None))
    due_on, kind, reason, deployed_on = min(candidates, key=lambda candidate: (candidate[0], candidate[2]))
    return DueMeeting(unit.id, unit.name, due_on, kind, reason, deployed_on, last, bucket_of(due_on, today))


def schedule(units: Sequence[UnitRow], held: Sequence[HeldMeeting], today: date) -> list[DueMeeting]:
    """Every unit's next meeting, earliest first."""
    by_unit: dict[int, list[HeldMeeting]] = {}
    for meeting in held:
        by_unit.setdefault(meeting.unit_id, []).append(meeting)
    due = [
        found for unit in units if (found := next_meeting(unit, by_unit.get(unit.id, []), today)) is not None
    ]
    return sorted(due, key=lambda meeting: (meeting.due_on, meeting.unit_name.casefold()))


def due_within(due: Sequence[DueMeeting], today: date, days: int = 30) -> list[DueMeeting]:
    """The meetings due by ``days`` from today, overdue ones included (for the Today screen)."""
    from datetime import timedelta

    until = today + timedelta(days=days)
    return [meeting for meeting in due if meeting.due_on <= until]
