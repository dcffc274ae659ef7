"""`o` on a request starts an onboarding checklist for the person the request is about: the picker
offers the checklists and the next working day, the run is written with its access-rights items
linked to the request; a requester outside the directory is told what to do and nothing is written."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date
from typing import Any

from textual.widgets import Input, OptionList

from coordinator_tui.requests.service import RequestService
from coordinator_tui.screens.requestonboarding import RequestOnboardingScreen
from coordinator_tui.screens.requests import RequestsScreen
from store import directory as directory_db
from store import onboarding as onboarding_db
from store.engine import Store
from tests.conftest import FIXED_NOW
from tests.screen import screen_text

SIZE = (120, 40)


async def until(pilot: Any, condition: Callable[[], object], what: str, tries: int = 250) -> None:
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def open_requests(pilot: Any) -> RequestsScreen:
    app = pilot.app
    await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
    await pilot.press("3")
    await until(
        pilot,
        lambda: isinstance(app.screen, RequestsScreen) and app.screen.loaded_at is not None,
        "the Requests screen loaded",
    )
    screen = app.screen
    assert isinstance(screen, RequestsScreen)
    await until(pilot, lambda: screen.request_list.current_row() is not None, "a request under the cursor")
    return screen


def first_request(store: Store) -> int:
    """The request the Requests screen opens on (the first untriaged one)."""
    return RequestService(store, clock=lambda: FIXED_NOW).window("untriaged", limit=1).rows[0].id


def set_requester(store: Store, request_id: int, person_id: int | None, email: str) -> None:
    connection = sqlite3.connect(store.path)
    connection.execute(
        "UPDATE service_request SET requester_person_id = ?, requester_email = ? WHERE id = ?",
        (person_id, email, request_id),
    )
    connection.commit()
    connection.close()


def runs_of(store: Store, person_id: int) -> list[onboarding_db.RunRow]:
    return [run for run in onboarding_db.runs(store, FIXED_NOW.date()) if run.person_id == person_id]


def notifications(app: Any) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_o_starts_a_checklist_for_the_requester(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    person = next(
        p
        for p in directory_db.load_directory(demo_store).people
        if p.active and "[" not in p.name and not runs_of(demo_store, p.id)
    )
    request_id = first_request(demo_store)
    # Linked by address only: the request's person is found by the requester's e-mail.
    set_requester(demo_store, request_id, None, person.email.upper())
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = screen.request_list.current_row()
        assert row is not None and row.id == request_id
        await pilot.press("o")
        await until(
            pilot,
            lambda: isinstance(app.screen, RequestOnboardingScreen) and app.screen.ready is not None,
            "the picker with the person",
        )
        picker = app.screen
        assert person.name in screen_text(app) and row.reference in screen_text(app)
        # The default start is the next working day: 26.11.2026 is a Thursday, so Friday.
        field = picker.query_one("#reqonboard-date", Input)
        assert field.value == "27.11.2026"
        options = picker.query_one("#reqonboard-template", OptionList)
        assert picker.ready is not None
        chosen = picker.ready.templates[options.highlighted or 0]
        assert chosen.kind == "onboarding"
        await pilot.press("enter")  # the checklist chosen: on to the date
        assert field.has_focus
        await pilot.press("ctrl+a", "ctrl+k", *"1.12.2026", "enter")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "the picker closed")
        await until(
            pilot,
            lambda: any(person.name in text and "1.12.2026" in text for text in notifications(app)),
            "the words that it started",
        )
        [run] = runs_of(demo_store, person.id)
        assert run.start_date == date(2026, 12, 1) and run.template_name == chosen.name
        items = onboarding_db.run_items(demo_store, run.id)
        linked = [item for item in items if item.request_id is not None]
        assert linked and all(item.request_id == request_id for item in linked)
        assert all(item.request_reference == row.reference for item in linked)
        assert any("Käyttöoikeushakemus" in item.text for item in linked)
        assert len(linked) < len(items)  # only the access-rights items


async def test_a_requester_outside_the_directory_is_told_and_nothing_starts(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    request_id = first_request(demo_store)
    set_requester(demo_store, request_id, None, "tuntematon@example.org")
    before = len(onboarding_db.runs(demo_store, FIXED_NOW.date()))
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_requests(pilot)
        await pilot.press("o")
        await until(
            pilot,
            lambda: any("tuntematon@example.org" in text for text in notifications(app)),
            "the words about the requester",
        )
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "back on the list")
        assert len(onboarding_db.runs(demo_store, FIXED_NOW.date())) == before


async def test_escape_starts_nothing(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    person = next(p for p in directory_db.load_directory(demo_store).people if p.active)
    request_id = first_request(demo_store)
    set_requester(demo_store, request_id, person.id, person.email)
    before = len(onboarding_db.runs(demo_store, FIXED_NOW.date()))
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_requests(pilot)
        await pilot.press("o")
        await until(
            pilot,
            lambda: isinstance(app.screen, RequestOnboardingScreen) and app.screen.ready is not None,
            "the picker",
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "the picker closed")
        assert len(onboarding_db.runs(demo_store, FIXED_NOW.date())) == before
