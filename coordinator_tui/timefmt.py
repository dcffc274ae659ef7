"""Times as the county reads them: Europe/Helsinki, written the Finnish way (23.11.2026 klo 10.15)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from coordinator_tui.i18n import _

HELSINKI = ZoneInfo("Europe/Helsinki")


def local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(HELSINKI)


def fi_datetime(moment: datetime) -> str:
    """``23.11.2026 klo 10.15`` (with ``at`` and a colon in English)."""
    when = local(moment)
    return _("{date} at {time}").format(date=fi_date(when.date()), time=_clock(when))


def fi_date(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def _clock(moment: datetime) -> str:
    return _("{hours}:{minutes}").format(hours=moment.hour, minutes=f"{moment.minute:02d}")


def short_datetime(moment: datetime, now: datetime) -> str:
    """For list cells: the time today, the day and month this year, else the whole date."""
    when, today = local(moment), local(now)
    if when.date() == today.date():
        return _clock(when)
    if when.year == today.year:
        return f"{when.day}.{when.month}."
    return fi_date(when.date())


def duration(span: timedelta) -> str:
    """``2 h 15 min``, ``3 d 4 h`` — how long something has lasted."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("{days} d {hours} h").format(days=days, hours=hours)
    if hours:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    return _("{minutes} min").format(minutes=minutes)


def day_bounds(now: datetime) -> tuple[date, datetime]:
    """Today's date in Helsinki and the moment today ends there (as an aware datetime)."""
    today = local(now).date()
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=HELSINKI)
    return today, end
