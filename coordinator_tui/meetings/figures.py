"""The figures a unit's cooperation meeting looks at: the unit's requests by category and their median
resolution time over the period since the last held meeting (or the last twelve months when none has
been held), from the request queue; and the HaiPro report counts entered by hand at the meetings.

The requests are counted as the Requests screen's figures count them (store/requests.py
``request_figures``: created in the period, merged duplicates left out). The period runs from the
last meeting's day (or the same day a year ago) up to and including today, in local days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from coordinator_tui.meetings.schedule import add_months

if TYPE_CHECKING:
    from store.engine import Store
    from store.meetings import HeldMeeting

HELSINKI = ZoneInfo("Europe/Helsinki")


@dataclass(frozen=True)
class MeetingFigures:
    unit_id: int
    since: date  # first day of the period
    until: date  # last day of the period (today)
    since_meeting: bool  # the period starts at the last held meeting (else: the last 12 months)
    total: int  # requests created in the period
    per_category: list[tuple[str, int]]  # most first; "" = not triaged
    resolved: int  # of them resolved
    median_resolution: timedelta | None
    haipro: list[tuple[date, int]]  # HaiPro counts recorded at the unit's meetings, newest first


def period(last_held: date | None, today: date) -> tuple[date, date, bool]:
    """(first day, last day, since a meeting) of the figures' period."""
    if last_held is not None and last_held <= today:
        return last_held, today, True
    return add_months(today, -12), today, False


def meeting_figures(
    store: Store,
    unit_id: int,
    held: Sequence[HeldMeeting],
    today: date,
    *,
    now: datetime,
    zone: ZoneInfo = HELSINKI,
) -> MeetingFigures:
    """The unit's figures for its next meeting (``held``: the meetings held, any unit's)."""
    from store.meetings import resolved_count
    from store.requests import request_figures

    own = sorted((meeting for meeting in held if meeting.unit_id == unit_id), key=lambda m: m.held_on)
    first, last, since_meeting = period(own[-1].held_on if own else None, today)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    figures = request_figures(store, since=start, until=end, now=now, unit_id=unit_id)
    return MeetingFigures(
        unit_id=unit_id,
        since=first,
        until=last,
        since_meeting=since_meeting,
        total=figures.total,
        per_category=list(figures.per_category),
        resolved=resolved_count(store, unit_id, start, end),
        median_resolution=figures.median_resolution,
        haipro=[
            (meeting.held_on, meeting.haipro_count)
            for meeting in reversed(own)
            if meeting.haipro_count is not None
        ],
    )
