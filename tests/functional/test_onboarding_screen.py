"""The onboarding loop from the keyboard: add a person on the Network screen, start their checklist,
tick every item, and see them on the rule lists once it is complete; a note on an item."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from textual.widgets import Static

from coordinator_tui.directory.service import DirectoryService
from coordinator_tui.screens.network import NetworkScreen
from coordinator_tui.screens.networkdialogs import PersonForm
from coordinator_tui.screens.onboarding import NoteScreen, OnboardingScreen, StartRunScreen
from store import directory as db
from store import onboarding as onboarding_db
from store.engine import Store
from tests.conftest import FIXED_NOW
from tests.screen import screen_text

SIZE = (130, 40)
EMAIL = "uusi.vastuu@pohde.example.fi"


async def until(pilot: Any, condition: Callable[[], object], what: str, tries: int = 300) -> None:
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


def person(store: Store) -> db.PersonRow | None:
    return next((p for p in db.load_directory(store).people if p.email == EMAIL), None)


async def open_onboarding(pilot: Any) -> OnboardingScreen:
    app = pilot.app
    await pilot.press("6")
    await until(
        pilot,
        lambda: isinstance(app.screen, OnboardingScreen) and app.screen.loaded_at is not None,
        "the Onboarding screen loaded",
    )
    screen = app.screen
    assert isinstance(screen, OnboardingScreen)
    return screen


async def test_add_start_tick_complete_and_on_the_lists(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    rule_list = db.add_list(
        demo_store, "Testilista: vastuukäyttäjät", rule=json.dumps({"role": "vastuukäyttäjä"})
    )
    people = DirectoryService(demo_store, clock=lambda: FIXED_NOW)
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
        # A new person on the Network screen, with no role yet.
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen) and app.screen.built, "Network")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PersonForm), "the form")
        await type_text(pilot, "Uusi Vastuuhenkilö")
        await pilot.press("tab")
        await type_text(pilot, EMAIL)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: person(demo_store) is not None, "the person saved")
        added = person(demo_store)
        assert added is not None and added.roles == ()
        assert EMAIL not in people.resolve(rule_list).addresses
        # Their checklist on the Onboarding screen.
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "the form closed")
        screen = await open_onboarding(pilot)
        runs_before = len(screen.runs)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, StartRunScreen), "the start dialog")
        await type_text(pilot, EMAIL)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(screen.runs) == runs_before + 1, "the run started")
        await until(
            pilot, lambda: screen.view is not None and screen.view.run.person_id == added.id, "its items"
        )
        view = screen.view
        assert view is not None and view.run.status == "open"
        total = view.run.total
        assert total == len(view.items) > 5
        assert all(item.due_on is not None for item in view.items)
        assert "Uusi Vastuuhenkilö" in screen_text(app)
        assert screen.item_list.has_focus
        # Tick every item with space, one after another.
        screen.item_list.move_to(0)
        for index in range(total):
            await until(pilot, lambda: not screen._busy, "the previous tick")
            screen.item_list.move_to(index)
            await pilot.press("space")
            await until(
                pilot,
                lambda index=index: screen.view is not None and screen.view.run.done == index + 1,
                f"item {index + 1} ticked",
            )
        assert screen.view is not None and screen.view.run.status == "done"
        items = onboarding_db.run_items(demo_store, screen.view.run.id)
        assert all(item.done_at == FIXED_NOW and item.done_by for item in items)
        assert "█" * 30 in str(screen.query_one("#onboarding-header", Static).content)
        # Complete: an active responsible user, on the rule list.
        done = person(demo_store)
        assert done is not None and "vastuukäyttäjä" in done.roles and done.active
        assert EMAIL in people.resolve(rule_list).addresses


async def test_space_unticks_and_n_writes_a_note(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
        screen = await open_onboarding(pilot)
        await until(pilot, lambda: screen.view is not None, "a run shown")
        assert screen.view is not None and screen.view.run.status == "open"
        first = next(item for item in screen.view.items if item.done_at is not None)
        screen.item_list.move_to(
            next(i for i, row in enumerate(screen.item_list.rows) if row.key == first.id)
        )
        done_before = screen.view.run.done
        await pilot.press("space")
        await until(
            pilot, lambda: screen.view is not None and screen.view.run.done == done_before - 1, "unticked"
        )
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NoteScreen), "the note")
        await type_text(pilot, "Soitettu esihenkilolle")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: any(
                item.id == first.id and item.note == "Soitettu esihenkilolle"
                for item in onboarding_db.run_items(demo_store, first.run_id)
            ),
            "the note saved",
        )


async def test_editing_a_template_makes_a_version_the_open_runs_keep_theirs(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import TextArea

    from coordinator_tui.screens.onboarding import TemplateEditScreen

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
        screen = await open_onboarding(pilot)
        await until(pilot, lambda: screen.view is not None and bool(screen.templates), "a run shown")
        assert screen.view is not None
        run_items = [item.text for item in screen.view.items]
        first = screen.templates[0]
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TemplateEditScreen), "the editor")
        editor = app.screen
        area = editor.query_one("#template-text", TextArea)
        assert area.text.splitlines()[0].endswith(first.items[0].text)
        area.load_text("kaksi | ICT | Rikki\n")
        await pilot.press("ctrl+s")
        problems = editor.query_one("#template-problems", Static)
        await until(pilot, lambda: "kaksi" in str(problems.content), "the bad line refused")
        area.load_text("-1 | ICT | Tunnukset luotu\n3 | koordinaattori | Tervetuloa-viesti lähetetty\n")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, OnboardingScreen), "saved")
        current = next(t for t in onboarding_db.current_templates(demo_store) if t.family == first.family)
        assert current.version == first.version + 1
        assert [item.text for item in current.items] == ["Tunnukset luotu", "Tervetuloa-viesti lähetetty"]
        assert [item.text for item in onboarding_db.run_items(demo_store, screen.view.run.id)] == run_items
