"""The Requests screen driven from the keyboard through Pilot: views and counts, moving, the verbs on
a row and on a selection, undo, filter, triage mode's key count, the conflict dialog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coordinator_tui.i18n import _
from coordinator_tui.requests import rules
from coordinator_tui.requests.service import RequestService
from coordinator_tui.screens.requests import ConflictScreen, PickerScreen, RequestsScreen, TriageScreen
from coordinator_tui.textclean import clean_line
from store import requests as db
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


def service(store: Store) -> RequestService:
    # The app's actor is the login name (no [requests] me in the test config); so is this one's.
    return RequestService(store, clock=lambda: FIXED_NOW)


async def open_requests(pilot: Any) -> RequestsScreen:
    app = pilot.app
    await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
    await pilot.press("3")
    await until(
        pilot,
        lambda: isinstance(app.screen, RequestsScreen) and app.screen.loaded_at is not None,
        "the Requests screen loaded",
    )
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, RequestsScreen)
    await until(pilot, lambda: bool(screen.counts), "the view counts")
    return screen


def detail_text(screen: RequestsScreen) -> str:
    """The detail pane's whole text (fields, messages, history), also the part scrolled out of view."""
    from textual.widgets import Static

    return "\n".join(
        str(screen.query_one(f"#{name}", Static).content) for name in ("requests-fields", "requests-history")
    )


def current(screen: RequestsScreen) -> db.ListRow:
    row = screen.request_list.current_row()
    assert row is not None
    return row


async def test_views_with_counts_and_the_untriaged_list(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        counts = service(demo_store).counts()
        assert screen.counts == counts
        assert screen.request_list.count == counts["untriaged"] > 0
        expected = service(demo_store).window("untriaged", limit=5).rows
        shown = [screen.request_list.row_at(i) for i in range(len(expected))]
        assert [row.id for row in shown if row] == [row.id for row in expected]
        shot = screen_text(app)
        assert _("Untriaged") in shot and _("Waiting on DigiFinland") in shot
        assert f"{_('Overdue')}" in shot and str(counts["overdue"]) in shot
        assert expected[0].reference in shot
        # The detail pane shows the request under the cursor and its history.
        await until(pilot, lambda: expected[0].reference in screen_text(app).split(_("History"))[0], "detail")
        assert _("History") in detail_text(screen)
        # Another view from the side list: All open.
        await pilot.press("shift+tab")
        for _step in range(4):
            await pilot.press("j")
        await until(
            pilot, lambda: screen.view == "open" and screen.request_list.count == counts["open"], "open"
        )


async def test_p_then_a_digit_sets_the_priority_and_the_history_shows_it(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        await pilot.press("j")
        row = current(screen)
        await pilot.press("p", "3")
        await until(
            pilot, lambda: (r := db.get_request(demo_store, row.id)) and r.priority == 3, "priority 3"
        )
        assert isinstance(app.screen, RequestsScreen)  # the 3 did not switch screens
        history = db.history(demo_store, row.id)
        assert any(
            e.kind == "change" and e.field == "priority" and e.old == "" and e.new == "3" for e in history
        )
        await until(pilot, lambda: "P3" in screen_text(app), "P3 in the list and the history")


async def test_category_assign_and_status_pickers_write_the_store(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the category picker")
        await pilot.press("j", "enter")  # the second category
        second = service(demo_store).categories[1]
        await until(
            pilot, lambda: (r := db.get_request(demo_store, row.id)) and r.category == second, "category"
        )
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the assign picker")
        me = service(demo_store).actor
        await pilot.press("enter")  # the first choice is you
        await until(pilot, lambda: (r := db.get_request(demo_store, row.id)) and r.assignee == me, "assigned")
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the status picker")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert [value for value, _label in picker.choices] == list(rules.allowed_next(rules.NEW))
        await pilot.press("j", "enter")  # uusi → odottaa pyytäjää
        await until(
            pilot,
            lambda: (r := db.get_request(demo_store, row.id)) and r.status == rules.WAITING_REQUESTER,
            "waiting on the requester",
        )
        fields = [e.field for e in db.history(demo_store, row.id) if e.kind == "change"]
        assert {"category", "assignee", "status"} <= set(fields)


async def test_x_and_semicolon_apply_a_priority_to_the_selection_and_u_undoes_it(
    demo_store, make_app
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        first, second = screen.request_list.row_at(0), screen.request_list.row_at(1)
        assert first is not None and second is not None
        await pilot.press("x", "x")
        assert set(screen.request_list.marked) == {first.id, second.id}
        await pilot.press("semicolon", "p", "2")

        def priorities() -> list[int | None]:
            return [r.priority for i in (first.id, second.id) if (r := db.get_request(demo_store, i))]

        await until(pilot, lambda: priorities() == [2, 2], "both P2")
        assert screen.request_list.marked == {}
        last = db.last_undoable(demo_store, service(demo_store).actor)
        assert last is not None and last.kind == "bulk"
        await pilot.press("u")
        await until(pilot, lambda: priorities() == [None, None], "undone")


async def test_slash_filters_the_list_as_you_type(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        await pilot.press("shift+tab", "j", "j", "j", "j")  # All open
        await until(pilot, lambda: screen.view == "open" and screen.loaded_at is not None, "open view")
        await pilot.press("tab")
        total = screen.request_list.count
        await pilot.press("slash", *"työjono")
        expected = service(demo_store).count("open", match="työjono")
        assert 0 < expected < total
        await until(pilot, lambda: screen.request_list.count == expected, "filtered")
        row = current(screen)
        assert row.id in {r.id for r in service(demo_store).window("open", match="työjono").rows}
        await pilot.press("escape")
        await until(pilot, lambda: screen.request_list.count == total, "the whole view again")


async def test_triage_mode_triages_a_new_request_in_four_keys(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_requests(pilot)
        svc = service(demo_store)
        first = svc.window("untriaged", sort="due", limit=1).rows[0]
        before = svc.counts()["untriaged"]
        keys = ["t", "1", "a", "5"]  # triage mode, priority 1, the first category, the first assignee
        await pilot.press(keys[0])
        await until(pilot, lambda: isinstance(app.screen, TriageScreen), "triage mode")
        triage = app.screen
        assert isinstance(triage, TriageScreen)
        await until(
            pilot, lambda: triage.row is not None and triage.row.id == first.id, "the first one shown"
        )
        assert first.reference in screen_text(app)
        await pilot.press(*keys[1:])
        assert len(keys) <= 4
        await until(
            pilot, lambda: (r := db.get_request(demo_store, first.id)) and r.status != rules.NEW, "done"
        )
        row = db.get_request(demo_store, first.id)
        assert row is not None
        assert (row.priority, row.category, row.assignee, row.status) == (
            1,
            svc.categories[0],
            triage.assignees[0],
            rules.IN_PROGRESS,
        )
        await until(pilot, lambda: triage.row is not None and triage.row.id != first.id, "moved on by itself")
        assert svc.counts()["untriaged"] == before - 1
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "back to the list")


async def test_triage_mode_shows_the_first_linked_message(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from store.mailview import message_detail

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_requests(pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TriageScreen) and app.screen.loaded_at, "triage")
        triage = app.screen
        assert isinstance(triage, TriageScreen) and triage.row is not None
        links = db.linked_mail(demo_store, triage.row.id)
        assert links, "the demo's first untriaged request came by mail"
        detail = message_detail(demo_store, links[0][0])
        assert detail is not None
        assert clean_line(detail.subject)[:40] in screen_text(app)


async def test_a_stale_row_asks_which_value_to_keep(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        other = RequestService(demo_store, actor="Jari Pesonen", clock=lambda: FIXED_NOW)
        other.set_priority(row.id, row.version, 4)  # another instance, after this list was read
        await pilot.press("p", "2")
        await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict dialog")
        shot = screen_text(app)
        assert "Jari Pesonen" in shot and "P2" in shot and "P4" in shot
        stored = db.get_request(demo_store, row.id)
        assert stored is not None and stored.priority == 4  # nothing overwritten yet
        await pilot.press("m")  # keep mine
        await until(pilot, lambda: (r := db.get_request(demo_store, row.id)) and r.priority == 2, "mine kept")


async def test_keeping_theirs_writes_nothing(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        other = RequestService(demo_store, actor="Jari Pesonen", clock=lambda: FIXED_NOW)
        changed = other.set_priority(row.id, row.version, 4)
        await pilot.press("p", "1")
        await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict dialog")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "back")
        await pilot.pause(0.1)
        stored = db.get_request(demo_store, row.id)
        assert stored is not None and stored.priority == 4 and stored.version == changed.version


async def test_escalate_asks_the_ticket_and_a_rule_error_is_said_in_words(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        await pilot.press("E")
        await pilot.pause(0.05)
        await pilot.press("enter")  # no ticket number: refused, in words
        await until(
            pilot,
            lambda: any(_("Give DigiFinland's ticket number.") in str(n.message) for n in app._notifications),
            "the reason",
        )
        await pilot.press("E")
        await pilot.pause(0.05)
        await pilot.press(*"DF-4242", "enter")
        await until(
            pilot,
            lambda: (
                (r := db.get_request(demo_store, row.id))
                and (r.status, r.digifinland_ticket) == (rules.WAITING_VENDOR, "DF-4242")
            ),
            "escalated",
        )


async def test_m_merges_into_the_survivor_and_u_undoes_it(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        duplicate, survivor = screen.request_list.row_at(0), screen.request_list.row_at(1)
        assert duplicate is not None and survivor is not None
        links_before = db.linked_mail(demo_store, duplicate.id)
        await pilot.press("m")
        await pilot.pause(0.05)
        await pilot.press(*survivor.reference, "enter")
        await until(
            pilot,
            lambda: (r := db.get_request(demo_store, duplicate.id)) and r.merged_into_id == survivor.id,
            "merged",
        )
        merged = db.get_request(demo_store, duplicate.id)
        assert merged is not None and merged.status == rules.CLOSED
        moved = {mail_id for mail_id, _reason in db.linked_mail(demo_store, survivor.id)}
        assert {mail_id for mail_id, _reason in links_before} <= moved
        await pilot.press("u")
        await until(
            pilot,
            lambda: (r := db.get_request(demo_store, duplicate.id)) and r.merged_into_id is None,
            "merge undone",
        )
        await pilot.press("m")
        await pilot.pause(0.05)
        await pilot.press(*"OMA-1999-9999", "enter")  # no such request: said in words, nothing changes
        await until(
            pilot,
            lambda: any("OMA-1999-9999" in str(n.message) for n in app._notifications),
            "the reason",
        )


async def test_n_adds_a_note_to_the_history_and_u_takes_it_away(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        await pilot.press("n")
        await pilot.pause(0.05)
        await pilot.press(*"Soitettu [b]pyytajalle[/b]", "enter")

        def notes() -> list[str]:
            return [e.text for e in db.history(demo_store, row.id) if e.kind == "note"]

        await until(pilot, lambda: notes() == ["Soitettu [b]pyytajalle[/b]"], "the note saved")
        await until(pilot, lambda: "Soitettu [b]pyytajalle[/b]" in detail_text(screen), "shown literally")
        await pilot.press("u")
        await until(pilot, lambda: notes() == [], "the note removed")


async def test_v_shows_the_figures_of_the_last_twelve_months(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from coordinator_tui.screens.requestfigures import RequestFiguresScreen

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_requests(pilot)
        await pilot.press("v")
        await until(
            pilot,
            lambda: isinstance(app.screen, RequestFiguresScreen) and app.screen.figures is not None,
            "the figures",
        )
        figures_screen = app.screen
        assert isinstance(figures_screen, RequestFiguresScreen)
        expected = service(demo_store).figures(date(2025, 12, 1), date(2026, 11, 26))
        assert figures_screen.figures == expected and expected.total > 0
        await pilot.pause(0.05)
        shot = screen_text(app)
        assert str(expected.total) in shot and "1.12.2025" in shot
        assert "2026-11" in shot
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "back")
