"""Due dates of checklist items: working days from the start date, skipping weekends and holidays.

The working days are the request queue's office calendar (coordinator_tui/requests/duetime.py):
the days with office hours that are not Finnish public holidays or the county's closed days.
Offset 0 is the start date itself, or the next working day when the start falls on a day off;
a negative offset counts back from the start (an item due before the person starts).
"""

from __future__ import annotations

from datetime import date, timedelta

from coordinator_tui.requests.duetime import OfficeCalendar

_MAX_DAYS = 3660


def due_date(calendar: OfficeCalendar, start: date, offset: int) -> date:
    day = start
    step = 1 if offset >= 0 else -1
    if offset == 0:
        for _ in range(_MAX_DAYS):
            if calendar.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no working day within ten years; check the office hours")
    remaining = abs(offset)
    for _ in range(_MAX_DAYS):
        day += timedelta(days=step)
        if calendar.is_working_day(day):
            remaining -= 1
            if remaining == 0:
                return day
    raise ValueError("no working day within ten years; check the office hours")
