"""The app driven through Textual's Pilot: navigation, help, palette, language, Today counts, errors."""

from __future__ import annotations

import gc
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from coordinator_tui.i18n import _ as translate
from coordinator_tui.i18n import count_text
from coordinator_tui.screens.base import AREAS, TabLine
from coordinator_tui.screens.error import ErrorScreen
from coordinator_tui.screens.help import HelpScreen
from coordinator_tui.timefmt import day_bounds
from store.errors import StoreError
from store.models import (
    ChecklistRun,
    ChecklistRunItem,
    FeedItem,
    MailFolder,
    MailMessage,
    Notice,
    ServiceRequest,
)
from tests.conftest import FIXED_NOW
from tests.screen import screen_text

SIZE = (120, 40)


async def wait_for_dashboard(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(100):
        await pilot.pause(0.02)
        if pilot.app.dashboard_loaded_at is not None:
            return
    raise AssertionError("the Today screen never showed its counts")


async def test_digits_reach_every_screen(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        for area in reversed(AREAS):
            await pilot.press(area.digit)
            await pilot.pause()
            assert app.current_mode == area.mode
            assert app.screen.query_one(TabLine).current == area.mode


async def test_g_then_letter_reaches_every_screen_in_both_languages(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        for area in AREAS:
            for letter in area.letters:
                await pilot.press("1" if area.mode != "today" else "2")
                await pilot.press("g", letter)
                await pilot.pause()
                assert app.current_mode == area.mode, (letter, area.mode)


async def test_unknown_letter_after_g_stays_put(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "g", "z")
        await pilot.pause()
        assert app.current_mode == "requests"
        assert not app.screen.is_modal


async def test_command_palette_goes_to_a_screen(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Verkosto")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "network"


async def test_help_lists_every_binding_grouped_by_screen(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=(120, 80)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for expected in ("Kaikkialla", "Siirry", "Ohje", "Päivitä", "Takaisin", "Lopeta", "Alas", "Ylös"):
            assert expected in text
        for area in AREAS:  # every screen is reachable by a listed digit
            assert area.digit in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_escape_goes_back_to_today(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "today"


@pytest.mark.parametrize(
    ("language", "heading", "mail_title"),
    [("fi", "Tänään, torstai 26.11.2026", "Sähköposti"), ("en", "Today, Thursday 26.11.2026", "Mail")],
)
async def test_language(demo_store, make_app, language, heading, mail_title) -> None:
    app = make_app(demo_store, language=language)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        text = screen_text(app)
        assert heading in text
        assert mail_title in text
        other = "Mail" if language == "fi" else "Sähköposti"
        assert f"2 {other}" not in text


def expected_counts(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The Today figures computed independently through the ORM."""
    today, end_of_today = day_bounds(FIXED_NOW)
    running = ("uusi", "käsittelyssä", "odottaa DigiFinlandia")
    with store.session() as session:

        def count(statement) -> int:  # type: ignore[no-untyped-def]
            return session.exec(statement).one()

        return {
            "unread": count(
                select(func.count())
                .select_from(MailMessage)
                .join(MailFolder)
                .where(MailMessage.seen.is_(False), MailFolder.role == "inbox")
            ),
            "untriaged": count(
                select(func.count()).where(
                    ServiceRequest.status == "uusi",
                    ServiceRequest.merged_into_id.is_(None),
                )
            ),
            "overdue": count(
                select(func.count()).where(
                    ServiceRequest.status.in_(running), ServiceRequest.due_at < FIXED_NOW
                )
            ),
            "due_today": count(
                select(func.count()).where(
                    ServiceRequest.status.in_(running),
                    ServiceRequest.due_at >= FIXED_NOW,
                    ServiceRequest.due_at < end_of_today,
                )
            ),
            "notices": count(select(func.count()).where(Notice.is_open.is_(True))),
            "feed": count(select(func.count()).where(FeedItem.read.is_(False))),
            "onboarding": count(
                select(func.count())
                .select_from(ChecklistRunItem)
                .join(ChecklistRun)
                .where(
                    ChecklistRun.status == "open",
                    ChecklistRunItem.done_at.is_(None),
                    ChecklistRunItem.due_on <= today,
                )
            ),
        }


def meetings_due_in_sql(store, today: str, until: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(due by ``until``, of them before ``today``): each unit's next cooperation meeting in SQL of its
    own — a month after each deployment later than the last held meeting, a year after that meeting."""
    connection = sqlite3.connect(store.path)
    try:
        rows = connection.execute(
            """
            WITH last AS (SELECT unit_id, max(held_on) AS held_on FROM meeting GROUP BY unit_id),
            candidates AS (
              SELECT s.unit_id, date(s.deployed_on, '+1 month') AS due_on FROM unit_service s
                LEFT JOIN last l ON l.unit_id = s.unit_id
                WHERE s.deployed_on IS NOT NULL AND (l.held_on IS NULL OR s.deployed_on > l.held_on)
              UNION ALL
              SELECT l.unit_id, date(l.held_on, '+12 months') FROM last l
                WHERE l.unit_id IN (SELECT unit_id FROM unit_service WHERE deployed_on IS NOT NULL)
            )
            SELECT min(due_on) FROM candidates GROUP BY unit_id
            """
        ).fetchall()
    finally:
        connection.close()
    due = [row[0] for row in rows if row[0] <= until]
    return len(due), sum(1 for day in due if day < today)


async def test_today_counts_match_the_store(demo_store, make_app) -> None:
    expected = expected_counts(demo_store)
    expected["meetings"], overdue_meetings = meetings_due_in_sql(demo_store, "2026-11-26", "2026-12-26")
    assert all(value > 0 for value in expected.values()), expected  # the demo exercises every figure
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        text = screen_text(app)
        assert f"{expected['unread']} lukematon" in text
        assert f"{expected['untriaged']} käsittelemättä" in text
        assert f"{expected['overdue']} myöhässä" in text
        assert f"{expected['due_today']} erääntyy tänään" in text
        assert f"{expected['notices']} avoin" in text
        assert f"{expected['feed']} uut" in text
        assert f"{expected['onboarding']} tehtävä" in text
        # The meeting words through the catalog (the numbers are the independent part).
        assert (
            count_text(
                "{n} cooperation meeting due within 30 days",
                "{n} cooperation meetings due within 30 days",
                expected["meetings"],
            )
            in text
        )
        assert translate("{n} of them overdue").format(n=overdue_meetings) in text


async def test_today_counts_follow_a_change_in_the_store(demo_store, make_app) -> None:
    before = expected_counts(demo_store)["unread"]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        with demo_store.session() as session:
            message = session.exec(
                select(MailMessage)
                .join(MailFolder)
                .where(
                    MailMessage.seen.is_(False),
                    MailFolder.role == "inbox",
                )
            ).first()
            message.seen = True
            session.add(message)
        app.dashboard_loaded_at = None
        await pilot.press("ctrl+r")
        await wait_for_dashboard(pilot)
        assert f"{before - 1} lukemat" in screen_text(app)


async def test_a_failing_worker_is_reported_and_the_app_keeps_working(demo_store, make_app) -> None:
    # A real fault: a table the Today query needs has gone from the store.
    connection = sqlite3.connect(demo_store.path)
    connection.execute("PRAGMA foreign_keys=OFF")
    connection.execute("DROP TABLE feed_item")
    connection.commit()
    connection.close()
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if app.last_error:
                break
        assert "feed_item" in app.last_error
        assert "Viimeisin virhe" in screen_text(app)
        await pilot.press("2")  # the other screens still work
        await pilot.pause(0.3)
        assert app.current_mode == "mail"
        assert "Saapuneet" in screen_text(app)


async def test_a_store_that_cannot_be_opened_shows_an_error_screen(make_app) -> None:
    from coordinator_tui.app import AppContext, CoordinatorApp
    from coordinator_tui.quickconfig import QuickSettings

    error = StoreError("The store file /x/store.sqlite is damaged.", "Restore it from a backup.")
    app = CoordinatorApp(
        AppContext(settings=QuickSettings(), store=None, store_label="/x", store_error=error)
    )
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(app.screen, ErrorScreen):
                break
        assert isinstance(app.screen, ErrorScreen)
        text = screen_text(app)
        assert "/x/store.sqlite is damaged" in text and "Restore it from a backup" in text
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)


def test_fixed_now_is_a_working_morning() -> None:
    # The demo's "due today" figure depends on FIXED_NOW being before the end of the day.
    _today, end = day_bounds(FIXED_NOW)
    assert end - FIXED_NOW > timedelta(hours=12)


async def test_status_bar_says_when_mail_was_last_synced(demo_store, make_app) -> None:
    from store.models import MailFolder

    with demo_store.session() as session:
        for folder in session.exec(select(MailFolder)).all():
            folder.last_sync_at = FIXED_NOW - timedelta(minutes=5)  # 9.25 in Helsinki
            session.add(folder)
    app = make_app(demo_store, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        await pilot.pause(0.1)
        assert "posti synkronoitu viimeksi 26.11.2026 klo 9.25" in screen_text(app)


async def test_the_collector_is_on_again_once_the_first_frame_is_painted(demo_store, make_app) -> None:
    # cli.run_app turns Python's garbage collector off for the start-up; an app that left it off
    # would grow for as long as it runs.
    app = make_app(demo_store)
    gc.disable()
    try:
        async with app.run_test() as pilot:
            await pilot.pause()
            assert gc.isenabled()
    finally:
        gc.enable()


def test_run_app_enables_the_collector_again_even_when_the_app_fails(monkeypatch, tmp_path) -> None:
    from coordinator_tui import cli
    from coordinator_tui.app import CoordinatorApp
    from coordinator_tui.quickconfig import QuickSettings

    seen: list[bool] = []

    def failing_run(self: CoordinatorApp) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError("the terminal went away")

    monkeypatch.setattr(CoordinatorApp, "run", failing_run)
    with pytest.raises(RuntimeError):
        cli.run_app(QuickSettings(store_url=f"sqlite:///{tmp_path}/s.sqlite"), lambda: None)  # type: ignore[arg-type,return-value]
    assert seen == [False] and gc.isenabled()
