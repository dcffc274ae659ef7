"""Due times counted in the county's office hours (virka-aika), skipping Finnish public holidays.

A due span is either office hours (``4 h``: four hours of open office, carried over evenings,
weekends and holidays) or working days (``1 d``: the same point of the working day, that many
working days later; a request that arrives out of hours starts at the next opening). The clock
pauses while a request waits on its requester: on resuming, the due time moves out by the office
time the request spent waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The county's default working week: Mon–Thu 8–15, Fri 8–14.
DEFAULT_OFFICE_HOURS: dict[str, str] = {
    "mon": "8-15",
    "tue": "8-15",
    "wed": "8-15",
    "thu": "8-15",
    "fri": "8-14",
}
DEFAULT_DUE: dict[str, str] = {"P1": "4 h", "P2": "1 d", "P3": "5 d", "P4": "20 d"}
# No search goes further than this many days for the next office day (a config with no office
# days at all is refused when it is read; this only stops an endless loop).
_MAX_DAYS_SEARCHED = 3660

_SPAN = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(h|d)\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")


@dataclass(frozen=True)
class DueSpan:
    """How long a priority may take: ``amount`` office hours (``h``) or working days (``d``)."""

    amount: float
    unit: Literal["h", "d"]

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        return f"{amount} {self.unit}"


def parse_span(text: str) -> DueSpan:
    """``"4 h"`` → 4 office hours, ``"5 d"`` → 5 working days. Raises ValueError with the reason."""
    match = _SPAN.match(text)
    if not match:
        raise ValueError(
            f'{text!r} is not a due time; write e.g. "4 h" (office hours) or "5 d" (working days)'
        )
    amount = float(match.group(1).replace(",", "."))
    unit = match.group(2).lower()
    if unit == "d" and amount != int(amount):
        raise ValueError(f"{text!r}: working days must be a whole number")
    return DueSpan(amount, "h" if unit == "h" else "d")


def parse_hours(text: str) -> tuple[time, time]:
    """``"8-15"`` or ``"8:00-14:30"`` → (opening, closing). Raises ValueError with the reason."""
    parts = text.replace("–", "-").split("-")
    if len(parts) != 2:
        raise ValueError(f'{text!r} is not office hours; write e.g. "8-15" or "8:00-14:30"')
    clocks = []
    for part in parts:
        match = _CLOCK.match(part.strip())
        if not match:
            raise ValueError(f'{text!r} is not office hours; write e.g. "8-15" or "8:00-14:30"')
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour > 24 or minute > 59 or (hour == 24 and minute):
            raise ValueError(f"{text!r}: {part.strip()} is not a time of day")
        clocks.append(time(23, 59, 59, 999999) if hour == 24 else time(hour, minute))
    opening, closing = clocks
    if closing <= opening:
        raise ValueError(f"{text!r}: the office must close after it opens")
    return opening, closing


@dataclass(frozen=True)
class DueState:
    """Where a request stands against its due time, in office time."""

    left: timedelta  # office time left; negative = overdue by that much
    paused: bool  # waiting on the requester: the clock does not run

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)


@dataclass
class OfficeCalendar:
    """Office hours per weekday in a time zone, closed on public holidays (and extra closed days)."""

    hours: Mapping[int, tuple[time, time]]  # weekday (0 = Monday) → (opening, closing)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Helsinki"))
    country: str = "FI"
    extra_closed: frozenset[date] = frozenset()
    _holidays: object = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(
        cls,
        office_hours: Mapping[str, str] | None = None,
        *,
        time_zone: str = "Europe/Helsinki",
        country: str = "FI",
        extra_closed: Iterable[date] = (),
    ) -> OfficeCalendar:
        hours = {
            WEEKDAYS.index(day): parse_hours(text)
            for day, text in (DEFAULT_OFFICE_HOURS if office_hours is None else office_hours).items()
            if text.strip()
        }
        if not hours:
            raise ValueError("office hours: at least one weekday must have office hours")
        return cls(hours, ZoneInfo(time_zone), country, frozenset(extra_closed))

    # --- days ---

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_closed:
            return True
        if not self.country:
            return False
        if self._holidays is None:
            import holidays

            # The library adds the years it is asked about as they come (expand=True).
            try:
                self._holidays = holidays.country_holidays(self.country)
            except NotImplementedError:
                raise ValueError(
                    f"[requests] holidays: {self.country!r} is not a country the holidays library knows"
                ) from None
        return day in self._holidays  # type: ignore[operator]

    def open_interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The office's opening and closing moments on ``day`` (aware, local), or None if closed."""
        hours = self.hours.get(day.weekday())
        if hours is None or self.is_holiday(day):
            return None
        return (
            datetime.combine(day, hours[0], tzinfo=self.zone),
            datetime.combine(day, hours[1], tzinfo=self.zone),
        )

    def _days(self, start: date, step: int) -> Iterator[tuple[date, tuple[datetime, datetime]]]:
        day = start
        for _ in range(_MAX_DAYS_SEARCHED):
            interval = self.open_interval(day)
            if interval is not None:
                yield day, interval
            day += timedelta(days=step)
        raise ValueError("no office day within ten years; check the office hours and closed days")

    def is_working_day(self, day: date) -> bool:
        return self.open_interval(day) is not None

    # --- arithmetic ---

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("times must be timezone-aware")
        return moment.astimezone(self.zone)

    def add_office_time(self, start: datetime, span: timedelta) -> datetime:
        """``start`` moved by ``span`` of office time (backwards when negative); result in UTC."""
        cursor = self._local(start)
        remaining = span
        if remaining == timedelta(0):
            return cursor.astimezone(UTC)
        forward = remaining > timedelta(0)
        remaining = abs(remaining)
        for _day, (opening, closing) in self._days(cursor.date(), 1 if forward else -1):
            if forward:
                if cursor >= closing:
                    continue
                begin = max(cursor, opening)
                available = closing - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
            else:
                if cursor <= opening:
                    continue
                end = min(cursor, closing)
                available = end - opening
                if remaining <= available:
                    return (end - remaining).astimezone(UTC)
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def office_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time from ``start`` to ``end``; negative when ``end`` is before ``start``."""
        a, b = self._local(start), self._local(end)
        if b < a:
            return -self.office_time_between(end, start)
        total = timedelta(0)
        day = a.date()
        while day <= b.date():
            interval = self.open_interval(day)
            if interval is not None:
                begin, finish = max(a, interval[0]), min(b, interval[1])
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total

    def next_office_moment(self, moment: datetime) -> datetime:
        """``moment`` itself when the office is open then, else the next opening (local)."""
        cursor = self._local(moment)
        for _day, (opening, closing) in self._days(cursor.date(), 1):
            if cursor < closing:
                return max(cursor, opening)
        raise AssertionError("unreachable")  # pragma: no cover

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same point of the working day ``days`` working days later (clamped to closing).

        Counted from the next office moment; a start at an opening ends at the closing of the
        working day before, which is the same moment in office time (a request that arrives on a
        Saturday with one working day is due on Monday at closing, not on Tuesday morning).
        """
        if days < 0:
            raise ValueError("working days cannot be negative")
        begin = self.next_office_moment(start)
        if days == 0:
            return begin.astimezone(UTC)
        opening = datetime.combine(begin.date(), self.hours[begin.weekday()][0], tzinfo=self.zone)
        into_day = begin - opening
        previous: tuple[datetime, datetime] | None = None
        days_ahead = self._days(begin.date() + timedelta(days=1), 1)
        for counted, (_day, interval) in enumerate(days_ahead, start=1):
            if counted == days:
                if into_day == timedelta(0):
                    if previous is None:
                        # The day before the target is the start day itself.
                        start_interval = self.open_interval(begin.date())
                        assert start_interval is not None
                        return start_interval[1].astimezone(UTC)
                    return previous[1].astimezone(UTC)
                return min(interval[0] + into_day, interval[1]).astimezone(UTC)
            previous = interval
        raise AssertionError("unreachable")  # pragma: no cover

    def due_at(self, start: datetime, span: DueSpan) -> datetime:
        """When a request that started at ``start`` is due, given its priority's span."""
        if span.unit == "h":
            return self.add_office_time(start, timedelta(hours=span.amount))
        return self.add_working_days(start, int(span.amount))

    def resume(self, due_at: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
        """The due time after a pause from ``paused_at`` to ``resumed_at`` (waiting on the requester).

        The office time that was left when the pause began is left again when it ends; a request
        that was already overdue when it paused is as overdue as it was.
        """
        left = self.office_time_between(paused_at, due_at)
        return self.add_office_time(resumed_at, left)

    def state(self, due_at: datetime, now: datetime, paused_since: datetime | None = None) -> DueState:
        """Office time left at ``now`` (frozen at ``paused_since`` while waiting on the requester)."""
        reference = paused_since if paused_since is not None else now
        return DueState(self.office_time_between(reference, due_at), paused_since is not None)


def due_spans(settings: Mapping[str, str] | None = None) -> dict[int, DueSpan]:
    """``{"P1": "4 h", ...}`` → ``{1: DueSpan(4, "h"), ...}`` (the defaults fill what is missing)."""
    merged = {**DEFAULT_DUE, **(settings or {})}
    return {int(name[1:]): parse_span(text) for name, text in merged.items()}
