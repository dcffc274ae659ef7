"""Due times in office hours (Mon–Thu 8–15, Fri 8–14, Helsinki), skipping Finnish public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coordinator_tui.requests.duetime import DueSpan, OfficeCalendar, due_spans, parse_hours, parse_span

HKI = ZoneInfo("Europe/Helsinki")
CAL = OfficeCalendar.from_settings()
P1, P2, P3, P4 = (due_spans()[p] for p in (1, 2, 3, 4))


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HKI)


def local(moment: datetime) -> datetime:
    assert moment.tzinfo is UTC
    return moment.astimezone(HKI)


def test_default_spans() -> None:
    assert (DueSpan(4, "h"), DueSpan(1, "d"), DueSpan(5, "d"), DueSpan(20, "d")) == (P1, P2, P3, P4)


def test_hours_within_one_day() -> None:
    # Wednesday 25.11.2026 9.00 + 4 office hours = 13.00 the same day.
    assert local(CAL.due_at(at(2026, 11, 25, 9), P1)) == at(2026, 11, 25, 13)


def test_friday_afternoon_carries_over_the_weekend() -> None:
    # Friday closes at 14: one hour on Friday, three on Monday.
    assert local(CAL.due_at(at(2026, 11, 27, 13), P1)) == at(2026, 11, 30, 11)
    # After closing on Friday nothing counts until Monday 8.00.
    assert local(CAL.due_at(at(2026, 11, 27, 14, 30), P1)) == at(2026, 11, 30, 12)


def test_weekend_arrival_starts_on_monday() -> None:
    assert local(CAL.due_at(at(2026, 11, 28, 10), P1)) == at(2026, 11, 30, 12)
    # One working day from Saturday is Monday's closing, the same office moment as Tuesday 8.00.
    assert local(CAL.due_at(at(2026, 11, 28, 10), P2)) == at(2026, 11, 30, 15)


def test_working_days_keep_the_point_of_the_day() -> None:
    assert local(CAL.due_at(at(2026, 11, 24, 10), P2)) == at(2026, 11, 25, 10)  # Tue → Wed
    assert local(CAL.due_at(at(2026, 11, 24, 10), P3)) == at(2026, 12, 1, 10)  # five working days
    # Thursday 14.30 + 1 d: Friday closes at 14, so the due time is Friday's closing.
    assert local(CAL.due_at(at(2026, 11, 26, 14, 30), P2)) == at(2026, 11, 27, 14)


def test_christmas_is_skipped() -> None:
    # Wed 23.12.2026 14.00: one hour that day; 24, 25 (Thu, Fri) holidays, 26–27 weekend; Mon 28.12.
    assert local(CAL.due_at(at(2026, 12, 23, 14), P1)) == at(2026, 12, 28, 11)
    assert local(CAL.due_at(at(2026, 12, 23, 10), P2)) == at(2026, 12, 28, 10)
    assert not CAL.is_working_day(date(2026, 12, 24))
    assert not CAL.is_working_day(date(2026, 12, 25))


def test_midsummer_is_skipped() -> None:
    # Juhannusaatto Fri 19.6.2026 is a holiday: Thursday 18.6 10.00 + 1 d = Monday 22.6 10.00.
    assert local(CAL.due_at(at(2026, 6, 18, 10), P2)) == at(2026, 6, 22, 10)
    # Thursday 13.00 + 4 h: two hours on Thursday, two on Monday.
    assert local(CAL.due_at(at(2026, 6, 18, 13), P1)) == at(2026, 6, 22, 10)


def test_easter_is_skipped() -> None:
    # Good Friday 3.4.2026 and Easter Monday 6.4.2026: Thursday 2.4 → Tuesday 7.4.
    assert local(CAL.due_at(at(2026, 4, 2, 10), P2)) == at(2026, 4, 7, 10)
    assert local(CAL.due_at(at(2026, 4, 2, 14), P1)) == at(2026, 4, 7, 11)
    # Five working days from Thursday 2.4: 7, 8, 9, 10, 13 April.
    assert local(CAL.due_at(at(2026, 4, 2, 10), P3)) == at(2026, 4, 13, 10)


def test_twenty_working_days_over_christmas_and_new_year() -> None:
    # From Mon 14.12.2026: 15–23.12 are seven working days, Christmas (24–25.12) is skipped,
    # 28–31.12 four more, New Year (1.1) skipped, 4–5.1 two, Epiphany (6.1) skipped, then
    # 7, 8, 11, 12, 13, 14 and 15 January: the twentieth is Friday 15.1.2027.
    assert local(CAL.due_at(at(2026, 12, 14, 9), P4)) == at(2027, 1, 15, 9)


def test_office_time_between_and_back() -> None:
    start, end = at(2026, 11, 27, 13), at(2026, 11, 30, 11)
    assert CAL.office_time_between(start, end) == timedelta(hours=4)
    assert CAL.office_time_between(end, start) == timedelta(hours=-4)
    assert local(CAL.add_office_time(end, timedelta(hours=-4))) == start


def test_pause_while_waiting_on_the_requester() -> None:
    # Due Monday 30.11 11.00; waiting on the requester from Friday 27.11 13.00 (2 office hours
    # of the four left... one on Friday and three on Monday = four hours left at the pause).
    due = at(2026, 11, 30, 11)
    paused = at(2026, 11, 27, 13)
    resumed = at(2026, 12, 2, 9)  # the requester answered on Wednesday at 9.00
    assert local(CAL.resume(due, paused, resumed)) == at(2026, 12, 2, 13)
    # While paused, the time left stays what it was at the pause and says so.
    state = CAL.state(due, at(2026, 12, 1, 12), paused_since=paused)
    assert state.paused and not state.overdue
    assert state.left == timedelta(hours=4)
    # Without the pause the same moment is overdue.
    running = CAL.state(due, at(2026, 12, 1, 12))
    assert running.overdue and running.left == -timedelta(hours=8)


def test_pause_of_an_overdue_request_keeps_it_as_overdue() -> None:
    due, paused, resumed = at(2026, 11, 24, 10), at(2026, 11, 24, 12), at(2026, 11, 26, 9)
    resumed_due = CAL.resume(due, paused, resumed)
    assert CAL.office_time_between(resumed, resumed_due) == timedelta(hours=-2)


def test_custom_office_hours_and_closed_days() -> None:
    calendar = OfficeCalendar.from_settings(
        {"mon": "9-16", "tue": "9:00-16:00"}, country="", extra_closed=[date(2026, 11, 24)]
    )
    # Monday 15.00 + 4 h: one on Monday, Tuesday is closed, three on the next Monday.
    assert calendar.due_at(at(2026, 11, 23, 15), P1).astimezone(HKI) == at(2026, 11, 30, 12)


@pytest.mark.parametrize("text", ["4", "h", "1.5 d", "-2 h", "four hours"])
def test_bad_spans_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"due time|whole number"):
        parse_span(text)


@pytest.mark.parametrize("text", ["15-8", "8", "25-26", "8:75-15"])
def test_bad_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hours(text)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.due_at(datetime(2026, 11, 25, 9), P1)


# --- the [requests] section of the config --------------------------------------------------------


def test_requests_config_defaults_and_overrides() -> None:
    from pathlib import Path

    from coordinator_tui.config import parse_config
    from coordinator_tui.requests.service import RequestService

    config = parse_config(
        '[requests]\nme = "Sanna"\n[requests.due]\nP1 = "2 h"\n[requests.office_hours]\nmon = "9-12"\n',
        Path("config.toml"),
    )
    section = config.requests
    assert section.due == {"P1": "2 h", "P2": "1 d", "P3": "5 d", "P4": "20 d"}
    assert section.office_hours == {"mon": "9-12"}
    assert section.categories[0] == "käyttöoikeus" and len(section.categories) == 6
    service = RequestService(store=None, settings=section)  # type: ignore[arg-type]
    assert service.actor == "Sanna"
    # Monday 11.00 + 2 office hours: one on Monday (closes 12), one on the next Monday.
    due = service.due_for(at(2026, 11, 23, 11), 1)
    assert due.astimezone(HKI) == at(2026, 11, 30, 10)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[requests.due]\nP1 = "soon"\n', "requests.due.P1"),
        ('[requests.due]\nP5 = "1 d"\n', "requests.due.P5"),
        ('[requests.office_hours]\nfri = "14-8"\n', "requests.office_hours.fri"),
        ('[requests.office_hours]\nfriday = "8-14"\n', "requests.office_hours.friday"),
        ('[requests]\ntime_zone = "Europe/Oulu"\n', "requests.time_zone"),
        ("[requests]\ncategories = []\n", "requests.categories"),
        ('[requests]\nholidays = "Suomi"\n', "requests.holidays"),
        ("[requests]\nrecent_days = 3\n", "requests.recent_days"),
    ],
)
def test_bad_requests_config_names_the_key(text: str, key: str) -> None:
    from pathlib import Path

    from coordinator_tui.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("config.toml"))
    assert any(problem.startswith(key) for problem in caught.value.problems), caught.value.problems


def test_unknown_holiday_country_is_reported_when_counting() -> None:
    calendar = OfficeCalendar.from_settings(country="QQ")
    with pytest.raises(ValueError, match="QQ"):
        calendar.due_at(at(2026, 11, 25, 9), P1)
