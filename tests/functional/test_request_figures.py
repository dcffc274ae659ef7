"""The Figures view of the Requests screen through Pilot: its numbers against counts taken straight from
the store's rows, the unit and period keys, the plots beside the tables (hostile unit names shown
cleaned, never as markup), and the export from the screen equal to `coordinator-tui export requests`."""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from textual.content import Content
from textual.widgets import Input, OptionList, Static

from coordinator_tui.i18n import _
from coordinator_tui.screens.requestfigures import ExportScreen, RequestFiguresScreen, period_start
from coordinator_tui.screens.requests import PickerScreen, RequestsScreen
from coordinator_tui.textclean import clean_line
from store.engine import Store
from tests.conftest import FIXED_NOW
from tests.functional.test_requests_screen import SIZE, open_requests, until
from tests.screen import screen_text

HELSINKI = ZoneInfo("Europe/Helsinki")
OPEN = {"uusi", "käsittelyssä", "odottaa pyytäjää", "odottaa DigiFinlandia"}
CLOCK_RUNNING = {"uusi", "käsittelyssä", "odottaa DigiFinlandia"}


def parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def expected(store: Store, since: date, until_day: date, unit_id: int | None = None) -> dict[str, Any]:
    """The figures computed here from every request row, in Python: no SQL aggregate of the app's."""
    assert store.path is not None
    connection = sqlite3.connect(store.path)
    try:
        rows = connection.execute(
            "SELECT r.created_at, r.category, r.unit_id, u.name, r.status, r.due_at, r.first_response_at, "
            "r.resolved_at, r.closed_at, r.merged_into_id FROM service_request r "
            "LEFT JOIN unit u ON u.id = r.unit_id"
        ).fetchall()
    finally:
        connection.close()
    start = datetime.combine(since, time(0), tzinfo=HELSINKI)
    end = datetime.combine(until_day + timedelta(days=1), time(0), tzinfo=HELSINKI)
    months: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    units: Counter[str] = Counter()
    first, resolution = [], []
    total = overdue = with_due = open_now = 0
    for (
        created_text,
        category,
        unit,
        name,
        status,
        due_text,
        first_text,
        resolved_text,
        closed_text,
        merged,
    ) in rows:
        created = parse(created_text)
        assert created is not None
        if merged is not None or not start <= created < end or (unit_id is not None and unit != unit_id):
            continue
        total += 1
        local = created.astimezone(HELSINKI)
        months[f"{local.year}-{local.month:02d}"] += 1
        categories[category] += 1
        units[name or ""] += 1
        due, first_at, resolved = parse(due_text), parse(first_text), parse(resolved_text)
        done = resolved or parse(closed_text)
        if due is not None:
            with_due += 1
            if (done is not None and done > due) or (
                done is None and status in CLOCK_RUNNING and due < FIXED_NOW
            ):
                overdue += 1
        open_now += status in OPEN
        if first_at is not None:
            first.append((first_at - created).total_seconds())
        if resolved is not None:
            resolution.append((resolved - created).total_seconds())
    return {
        "total": total,
        "months": months,
        "categories": categories,
        "units": units,
        "overdue": overdue,
        "with_due": with_due,
        "open": open_now,
        "first": statistics.median(first) if first else None,
        "resolution": statistics.median(resolution) if resolution else None,
    }


def assert_figures_match(screen: RequestFiguresScreen, want: dict[str, Any]) -> None:
    figures = screen.figures
    assert figures is not None
    assert figures.total == want["total"] > 0
    assert {label: n for label, n in figures.per_month if n} == dict(want["months"])
    assert dict(figures.per_category) == dict(want["categories"])
    assert dict(figures.per_unit) == dict(want["units"])
    assert (figures.overdue, figures.with_due, figures.open) == (
        want["overdue"],
        want["with_due"],
        want["open"],
    )
    for got, seconds in (
        (figures.median_first_response, want["first"]),
        (figures.median_resolution, want["resolution"]),
    ):
        assert got is not None and seconds is not None
        assert abs(got.total_seconds() - seconds) <= 1


async def open_figures(pilot: Any) -> RequestFiguresScreen:
    app = pilot.app
    await open_requests(pilot)
    await pilot.press("v")
    await until(
        pilot,
        lambda: isinstance(app.screen, RequestFiguresScreen) and app.screen.figures is not None,
        "the figures",
    )
    screen = app.screen
    assert isinstance(screen, RequestFiguresScreen)
    await pilot.pause(0.05)
    return screen


async def reloaded(pilot: Any, screen: RequestFiguresScreen, shown_before: float | None) -> None:
    await until(
        pilot, lambda: screen.shown_at is not None and screen.shown_at != shown_before, "figures again"
    )
    await pilot.pause(0.05)


async def test_figures_equal_counts_taken_from_the_rows(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_figures(pilot)
        today = FIXED_NOW.astimezone(HELSINKI).date()
        assert screen.since == date(2025, 12, 1) == period_start(today, 12)
        want = expected(demo_store, screen.since, today)
        assert_figures_match(screen, want)
        figures = screen.figures
        assert figures is not None
        assert [label for label, _n in figures.per_month] == [
            f"{day.year}-{day.month:02d}"
            for day in (date(2025, 12, 1) + timedelta(days=31 * i) for i in range(12))
        ]
        shot = screen_text(app)
        assert "1.12.2025–26.11.2026" in shot
        # The tables: the total and the month with most requests, with its count.
        busiest, most = max(want["months"].items(), key=lambda item: item[1])
        assert str(want["total"]) in shot
        assert re.search(rf"{busiest}\s+{most}\b", shot), (busiest, most)
        # The plots beside them: bars and an axis, the category names as bar labels.
        plots = screen.plots
        assert plots is not None
        assert "█" in plots.month and "┤" in plots.month
        for name, _count in figures.per_category[:3]:
            label = name or _("not triaged")
            assert label.casefold()[:10] in plots.category.casefold()
        assert _("Requests per month") in shot
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "back to the list")


async def test_u_filters_by_unit_and_p_changes_the_period(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_figures(pilot)
        today = FIXED_NOW.astimezone(HELSINKI).date()
        # The unit with most requests in the year, picked from the unit list with the keyboard.
        name, count = next((name, n) for name, n in screen.figures.per_unit if name)  # type: ignore[union-attr]
        unit_id, _unit_name = next(unit for unit in screen.units if unit[1] == name)
        position = 1 + [unit[0] for unit in screen.units].index(unit_id)  # "All units" comes first
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the unit picker")
        for _step in range(position):
            await pilot.press("down")
        before = screen.shown_at
        await pilot.press("enter")
        await reloaded(pilot, screen, before)
        assert screen.unit_id == unit_id
        assert screen.figures is not None and screen.figures.total == count
        want = expected(demo_store, date(2025, 12, 1), today, unit_id)
        assert screen.figures.per_unit == [(name, count)]
        assert (screen.figures.overdue, screen.figures.open) == (want["overdue"], want["open"])
        title = str(screen.query_one("#figures-title", Static).render())
        assert clean_line(name) in title
        # p: the last three months, still of that unit.
        before = screen.shown_at
        await pilot.press("p")
        await reloaded(pilot, screen, before)
        assert screen.since == period_start(today, 3) == date(2026, 9, 1)
        want = expected(demo_store, date(2026, 9, 1), today, unit_id)
        assert screen.figures.total == want["total"]
        assert [label for label, _n in screen.figures.per_month] == ["2026-09", "2026-10", "2026-11"]
        # Back to every unit: the picker's first choice.
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the unit picker again")
        app.screen.query_one(OptionList).highlighted = 0
        before = screen.shown_at
        await pilot.press("enter")
        await reloaded(pilot, screen, before)
        assert screen.unit_id is None
        assert_figures_match(screen, expected(demo_store, date(2026, 9, 1), today))


async def test_hostile_unit_names_are_shown_cleaned_in_tables_and_plots(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.demo.generate import HOSTILE_STRINGS
    from coordinator_tui.screens.requestfigures import plot_text

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_figures(pilot)
        figures = screen.figures
        assert figures is not None
        hostile = [name for name, _n in figures.per_unit if name in HOSTILE_STRINGS]
        assert len(hostile) >= 3, "the demo's hostile units have requests in the year"
        shown = [label for label, _count in screen.tables["unit"]]
        assert "[b]bold" in shown and "[$accent]x[/]" in shown  # literally, not as markup
        assert not any("\x1b" in text or "\u202e" in text for text in shown)
        table = str(screen.query_one("#figures-unit", Static).render())
        assert "[b]bold" in table and "\x1b" not in table and "\u202e" not in table
        body = screen.query_one("#figures-body")
        body.scroll_end(animate=False)
        await pilot.pause(0.1)
        assert "[b]bold" in screen_text(app)
        plots = screen.plots
        assert plots is not None
        for text in (plots.unit, plots.category, plots.month, plots.times):
            assert "\x1b" not in text and "\u202e" not in text
        # A plot of hostile labels: cleaned, and shown as the text it is.
        drawn = plot_text(list(HOSTILE_STRINGS), [1, 2, 3, 4, 5, 6], width=60, height=15, horizontal=True)
        assert "[b]bold" in drawn and "[@click=app.quit]x[/]"[:17] in drawn
        assert "\x1b" not in drawn and "\u202e" not in drawn
        static = screen.query_one("#figures-plot-unit", Static)
        static.update(Content(drawn))
        await pilot.pause(0.05)
        assert "[b]bold" in screen_text(app)


def told(app: Any) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


def export_with_the_cli(store: Store, tmp_path: Path, *args: str) -> bytes:
    assert store.path is not None
    config = tmp_path / "cli-config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{store.path}"\n', encoding="utf-8")
    out = tmp_path / f"cli-out-{len(list(tmp_path.iterdir()))}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "coordinator_tui",
            "--config",
            str(config),
            "export",
            "requests",
            *args,
            "--out",
            str(out),
        ],
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr.decode()
    return out.read_bytes()


async def export_from_the_screen(pilot: Any, path: Path) -> None:
    app = pilot.app
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export dialog")
    field = app.screen.query_one("#figures-export-path", Input)
    assert field.value.endswith(".csv")  # a CSV file in the home folder unless another is given
    field.value = str(path)
    await pilot.press("enter")
    await until(pilot, lambda: path.exists(), f"{path.name} written", tries=500)
    await until(pilot, lambda: isinstance(app.screen, RequestFiguresScreen), "the dialog closed")


async def test_e_exports_what_the_command_line_exports(demo_store, make_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_figures(pilot)
        # Every unit, the last twelve months, as CSV.
        csv_path = tmp_path / "vuosi.csv"
        await export_from_the_screen(pilot, csv_path)
        assert csv_path.read_bytes() == export_with_the_cli(
            demo_store, tmp_path, "--format", "csv", "--since", "1.12.2025"
        )
        assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
        await until(
            pilot, lambda: any("vuosi.csv" in message for message in told(app)), "the export reported"
        )
        # One unit, three months, as JSON (the file name's ending chooses JSON).
        name = next(name for name, _n in screen.figures.per_unit if name and name.isprintable())  # type: ignore[union-attr]
        unit_id = next(unit_id for unit_id, unit in screen.units if unit == name)
        await pilot.press("p")
        await until(pilot, lambda: screen.since == date(2026, 9, 1), "three months")
        screen.unit_id = unit_id
        before = screen.shown_at
        screen.load()
        await reloaded(pilot, screen, before)
        json_path = tmp_path / "yksikko.json"
        await export_from_the_screen(pilot, json_path)
        cli = export_with_the_cli(
            demo_store, tmp_path, "--format", "json", "--since", "2026-09-01", "--unit", str(unit_id)
        )
        assert json_path.read_bytes() == cli
        assert json_path.read_text(encoding="utf-8").lstrip().startswith("[")


async def test_export_to_a_missing_folder_says_so_and_writes_nothing(demo_store, make_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_figures(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export dialog")
        target = tmp_path / "ei-ole" / "pyynnot.csv"
        app.screen.query_one("#figures-export-path", Input).value = str(target)
        await pilot.press("enter")
        await until(
            pilot, lambda: any("ei-ole" in message for message in told(app)), "the missing folder said"
        )
        assert not target.exists() and not target.parent.exists()
