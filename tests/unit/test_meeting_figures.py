"""The figures a cooperation meeting looks at, checked against counts taken straight from the demo
store with SQL of their own (bounds written out in UTC by hand, the median computed in Python)."""

from __future__ import annotations

import sqlite3
import statistics
from datetime import date, timedelta

from coordinator_tui.directory.service import DirectoryService
from coordinator_tui.meetings.figures import period
from store.meetings import held_meetings
from tests.conftest import FIXED_NOW

TODAY = date(2026, 11, 26)
# Local midnights in Helsinki, written out in UTC: summer time (+3) in August, winter time (+2) now.
AFTER_TODAY = "2026-11-26 22:00:00"


def independent(store, unit_id: int, since_utc: str) -> tuple[dict[str, int], int, timedelta | None]:  # type: ignore[no-untyped-def]
    connection = sqlite3.connect(store.path)
    try:
        where = (
            "unit_id = ? AND merged_into_id IS NULL AND created_at >= ? AND created_at < ?",
            (unit_id, since_utc, AFTER_TODAY),
        )
        categories = dict(
            connection.execute(
                f"SELECT category, count(*) FROM service_request WHERE {where[0]} GROUP BY category", where[1]
            ).fetchall()
        )
        days = [
            row[0]
            for row in connection.execute(
                "SELECT julianday(resolved_at) - julianday(created_at) FROM service_request "
                f"WHERE {where[0]} AND resolved_at IS NOT NULL",
                where[1],
            )
        ]
    finally:
        connection.close()
    median = timedelta(seconds=round(statistics.median(days) * 86400)) if days else None
    return categories, len(days), median


def close(a: timedelta | None, b: timedelta | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= timedelta(seconds=1)


def test_period_since_the_last_meeting_or_the_last_twelve_months() -> None:
    assert period(date(2026, 8, 5), TODAY) == (date(2026, 8, 5), TODAY, True)
    assert period(None, TODAY) == (date(2025, 11, 26), TODAY, False)
    assert period(None, date(2028, 2, 29)) == (date(2027, 2, 28), date(2028, 2, 29), False)


def test_figures_since_the_last_held_meeting_match_sql(demo_store) -> None:  # type: ignore[no-untyped-def]
    held = held_meetings(demo_store)
    last = max(m.held_on for m in held if m.unit_id == 1)
    assert last == date(2026, 8, 5)  # the demo's last meeting with unit 1
    figures = DirectoryService(demo_store, clock=lambda: FIXED_NOW).meeting_figures(1, held)
    categories, resolved, median = independent(demo_store, 1, "2026-08-04 21:00:00")
    assert (figures.since, figures.until, figures.since_meeting) == (last, TODAY, True)
    assert figures.total == sum(categories.values()) > 0
    assert dict(figures.per_category) == categories
    assert [count for _name, count in figures.per_category] == sorted(categories.values(), reverse=True)
    assert figures.resolved == resolved > 0
    assert close(figures.median_resolution, median)
    # The HaiPro counts come from the meetings, newest first.
    assert figures.haipro == [
        (m.held_on, m.haipro_count) for m in held if m.unit_id == 1 and m.haipro_count is not None
    ]


def test_a_unit_without_meetings_counts_twelve_months_without_its_merged_requests(demo_store) -> None:  # type: ignore[no-untyped-def]
    held = held_meetings(demo_store)
    # Unit 6 has no meeting held and two requests merged into others.
    assert not [m for m in held if m.unit_id == 6]
    connection = sqlite3.connect(demo_store.path)
    merged = connection.execute(
        "SELECT count(*) FROM service_request WHERE unit_id = 6 AND merged_into_id IS NOT NULL"
    ).fetchone()[0]
    connection.close()
    assert merged > 0
    figures = DirectoryService(demo_store, clock=lambda: FIXED_NOW).meeting_figures(6)
    categories, resolved, median = independent(demo_store, 6, "2025-11-25 22:00:00")
    assert (figures.since, figures.since_meeting) == (date(2025, 11, 26), False)
    assert dict(figures.per_category) == categories and sum(categories.values()) > 0
    assert figures.resolved == resolved
    assert close(figures.median_resolution, median)
    assert figures.haipro == []


def test_a_unit_without_requests_has_no_median(demo_store) -> None:  # type: ignore[no-untyped-def]
    from store import directory as db

    unit_id = db.update_unit(demo_store, None, "Uusi yksikkö", "Oulu", "", ())
    figures = DirectoryService(demo_store, clock=lambda: FIXED_NOW).meeting_figures(unit_id)
    assert figures.total == 0 and figures.per_category == [] and figures.median_resolution is None
