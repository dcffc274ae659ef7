"""Cooperation meetings: the schedule's arithmetic and checking a held meeting before it is recorded."""

from __future__ import annotations

from datetime import date

import pytest

from coordinator_tui.hetu import check_character
from coordinator_tui.meetings.record import MeetingDraft, check_meeting
from coordinator_tui.meetings.schedule import add_months, bucket_of, next_meeting, schedule
from store.directory import PersonRow, ServiceRow, UnitRow
from store.meetings import HeldMeeting

TODAY = date(2026, 11, 26)


def unit(unit_id: int, *deployments: tuple[str, date | None]) -> UnitRow:
    return UnitRow(unit_id, f"Yksikkö {unit_id}", "Oulu", "", tuple(ServiceRow(s, d) for s, d in deployments))


def held(unit_id: int, day: date, meeting_id: int = 1) -> HeldMeeting:
    return HeldMeeting(meeting_id, unit_id, day, (), "", "", None)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 3, 31), 12, date(2027, 3, 31)),
        (date(2026, 5, 31), -1, date(2026, 4, 30)),
    ],
)
def test_calendar_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_first_meeting_a_month_after_the_deployment() -> None:
    due = next_meeting(unit(1, ("oirearviot", date(2026, 10, 12))), [], TODAY)
    assert due is not None
    assert (due.due_on, due.kind, due.reason, due.last_held) == (
        date(2026, 11, 12),
        "first",
        "oirearviot",
        None,
    )
    assert due.bucket == "overdue"


def test_the_earliest_deployment_without_a_meeting_counts() -> None:
    due = next_meeting(unit(1, ("a", date(2026, 11, 2)), ("b", date(2026, 10, 30))), [], TODAY)
    assert due is not None and (due.due_on, due.reason) == (date(2026, 11, 30), "b")
    assert due.bucket == "this_month"


def test_yearly_after_the_last_held_meeting() -> None:
    meetings = [held(1, date(2025, 3, 1), 1), held(1, date(2026, 2, 20), 2), held(2, date(2026, 11, 1), 3)]
    due = next_meeting(unit(1, ("oirearviot", date(2025, 1, 15))), meetings, TODAY)
    assert due is not None
    assert (due.due_on, due.kind, due.last_held) == (date(2027, 2, 20), "yearly", date(2026, 2, 20))
    assert due.bucket == "later"


def test_a_new_deployment_after_the_last_meeting_asks_for_an_earlier_one() -> None:
    meetings = [held(1, date(2026, 6, 1))]
    due = next_meeting(
        unit(1, ("oirearviot", date(2025, 5, 1)), ("työjonolähetys", date(2026, 11, 20))), meetings, TODAY
    )
    assert due is not None
    assert (due.due_on, due.kind, due.reason) == (date(2026, 12, 20), "first", "työjonolähetys")
    # ...unless the yearly one comes first.
    meetings = [held(1, date(2025, 12, 1))]
    due = next_meeting(
        unit(1, ("oirearviot", date(2025, 5, 1)), ("työjonolähetys", date(2026, 11, 20))), meetings, TODAY
    )
    assert due is not None and (due.due_on, due.kind) == (date(2026, 12, 1), "yearly")


def test_units_without_a_deployment_date_have_no_meeting_and_the_list_is_by_due_date() -> None:
    units = [
        unit(1, ("oirearviot", date(2026, 9, 1))),
        unit(2, ("oirearviot", None)),
        unit(3),
        unit(4, ("oirearviot", date(2026, 8, 1))),
    ]
    due = schedule(units, [], TODAY)
    assert [meeting.unit_id for meeting in due] == [4, 1]


@pytest.mark.parametrize(
    ("due_on", "bucket"),
    [
        (date(2026, 11, 25), "overdue"),
        (date(2026, 11, 26), "this_month"),
        (date(2026, 11, 30), "this_month"),
        (date(2026, 12, 1), "later"),
    ],
)
def test_buckets(due_on: date, bucket: str) -> None:
    assert bucket_of(due_on, TODAY) == bucket


PEOPLE = [
    PersonRow(1, "Anna Heikkinen", "anna@pohde.fi", "", 1, ("vastuukäyttäjä",), "fi", True, None),
    PersonRow(2, "Pekka Ranta", "pekka@pohde.fi", "", 1, ("esihenkilö",), "fi", True, None),
    PersonRow(3, "Pekka Ranta", "pekka.toinen@pohde.fi", "", 2, (), "fi", True, None),
]


def test_a_held_meeting_is_checked() -> None:
    values, problems = check_meeting(
        MeetingDraft("20.11.2026", "anna heikkinen, pekka@pohde.fi", "Käyttö lähtenyt hyvin.", "", "2"),
        PEOPLE,
        TODAY,
    )
    assert problems == []
    assert values is not None
    assert (values.held_on, values.participants, values.haipro_count) == (date(2026, 11, 20), (1, 2), 2)


@pytest.mark.parametrize(
    ("draft", "code"),
    [
        (MeetingDraft("eilen", ""), "date_invalid"),
        (MeetingDraft("1.12.2026", ""), "date_future"),
        (MeetingDraft("20.11.2026", "Tuntematon"), "participant_unknown"),
        (MeetingDraft("20.11.2026", "Pekka Ranta"), "participant_ambiguous"),
        (MeetingDraft("20.11.2026", "", notes="potilas 131052-308" + check_character("131052308")), "hetu"),
        (MeetingDraft("20.11.2026", "", haipro="kolme"), "haipro_invalid"),
        (MeetingDraft("20.11.2026", "", haipro="-1"), "haipro_invalid"),
    ],
)
def test_a_held_meeting_is_refused_with_the_reason(draft: MeetingDraft, code: str) -> None:
    values, problems = check_meeting(draft, PEOPLE, TODAY)
    assert values is None
    assert [problem.code for problem in problems] == [code]


def test_due_within_thirty_days_includes_the_overdue() -> None:
    from coordinator_tui.meetings.schedule import due_within

    units = [
        unit(1, ("a", date(2026, 9, 1))),  # due 1.10.: overdue
        unit(2, ("a", date(2026, 11, 20))),  # due 20.12.: within 30 days
        unit(3, ("a", date(2026, 11, 27))),  # due 27.12.: 31 days away
    ]
    assert [m.unit_id for m in due_within(schedule(units, [], TODAY), TODAY)] == [1, 2]
