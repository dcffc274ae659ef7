"""The Notices screen through Pilot on the demo data: the list, search, a notice with its versions,
the decision on a version whose delivery is unknown, drafts, and a demo send (stored, never sent)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import select

from store import notices as notice_store
from store.models import Delivery, Outbox


async def until(pilot: Any, condition: Any, what: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what} (on {type(pilot.app.screen).__name__})")


async def notices_loaded(pilot: Any) -> Any:
    from coordinator_tui.screens.notices import NoticesScreen

    await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "TodayScreen", "Today")
    await pilot.press("4")
    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, NoticesScreen) and pilot.app.screen.loaded_at is not None,
        "the Notices screen",
    )
    return pilot.app.screen


async def test_open_notices_come_first_and_search_narrows(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await notices_loaded(pilot)
        opened = [row.notice.is_open for row in screen.rows]
        assert opened == sorted(opened, reverse=True) and opened[0]
        total = len(screen.rows)
        await pilot.press("slash")
        await pilot.press(*"hidastelu")
        await until(pilot, lambda: len(screen.rows) == 1, "one notice found")
        assert screen.rows[0].notice.kind == "hidastelu"
        await pilot.press("escape")
        await until(pilot, lambda: len(screen.rows) == total, "the whole list back")


async def test_an_unknown_delivery_is_shown_with_its_message_id_and_can_be_marked_sent(
    demo_store, make_app
) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.screens.notices import NoticeScreen

    notice = next(n for n in notice_store.list_notices(demo_store) if n.services == ["työjonolähetys"])
    last = notice_store.versions(demo_store, notice.id)[-1]
    assert last.outbox_id is not None
    with demo_store.session() as session:
        session.connection().execute(
            update(Outbox).where(Outbox.id == last.outbox_id).values(state="unknown")
        )
        session.add(Delivery(outbox_id=last.outbox_id, recipient="anu@example.fi", status="unknown"))
        session.add(Delivery(outbox_id=last.outbox_id, recipient="ville@example.fi", status="pending"))
    app = make_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await notices_loaded(pilot)
        index = next(
            i
            for i, row in enumerate(screen.rows)
            if getattr(row, "notice", None) and row.notice.id == notice.id
        )
        assert screen.rows[index].unknown == 1
        for _ in range(index):
            await pilot.press("j")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, NoticeScreen) and app.screen.loaded_at is not None,
            "the notice",
        )
        detail = app.screen
        assert detail.current_version().id == last.id  # the newest version is chosen
        decision = str(detail.query_one("#notice-decision").render())
        assert last.message_id in decision
        await pilot.press("a")  # the demo never sends
        await pilot.pause(0.3)
        await pilot.press("m")
        await until(pilot, lambda: detail.versions[-1].outbox_state == "sent", "marked sent")
    with demo_store.session() as session:
        statuses = {
            row.recipient: row.status
            for row in session.exec(select(Delivery).where(Delivery.outbox_id == last.outbox_id))
        }
    assert statuses["anu@example.fi"] == "accepted" and statuses["ville@example.fi"] == "pending"


async def test_a_draft_is_saved_listed_and_opened_again(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import TextArea

    from coordinator_tui.screens.noticecompose import LeaveQuestion, NoticeComposeScreen
    from coordinator_tui.screens.notices import NoticesScreen

    app = make_app(demo_store)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await notices_loaded(pilot)
        await pilot.press("n")
        await until(
            pilot,
            lambda: isinstance(app.screen, NoticeComposeScreen) and app.screen.loaded_at is not None,
            "compose",
        )
        compose = app.screen
        await pilot.press("space")  # the first service
        compose.query_one("#nc-impact", TextArea).focus()
        await pilot.press(*"Hidasta")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LeaveQuestion), "the leave question")
        await pilot.press("s")  # save and leave
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, NoticesScreen)
                and screen.rows
                and not hasattr(screen.rows[0], "notice")
            ),
            "the draft at the top of the list",
        )
        draft = screen.rows[0]
        assert draft.impact == "Hidasta" and draft.services == ["oirearviot"]
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, NoticeComposeScreen) and app.screen.loaded_at is not None,
            "the draft in compose",
        )
        assert app.screen.query_one("#nc-impact", TextArea).text == "Hidasta"
        await pilot.press("escape")  # nothing changed since it was opened: leaves at once
        await until(pilot, lambda: isinstance(app.screen, NoticesScreen), "back in the list")


async def test_the_demo_stores_a_version_and_sends_nothing(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.screens.noticecompose import NoticeComposeScreen, RecipientPicker
    from coordinator_tui.screens.noticesend import ConfirmSend, SendProgressScreen

    app = make_app(demo_store)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await notices_loaded(pilot)
        notice = next(row.notice for row in screen.rows if row.notice.services == ["työjonolähetys"])
        index = screen.rows.index(next(row for row in screen.rows if getattr(row, "notice", None) == notice))
        for _ in range(index):
            await pilot.press("j")
        await pilot.press("U")
        await until(
            pilot,
            lambda: isinstance(app.screen, NoticeComposeScreen) and app.screen.loaded_at is not None,
            "compose",
        )
        compose = app.screen
        assert compose.problems  # no recipients known for a demo notice yet
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, RecipientPicker), "the picker")
        await pilot.press("space", "enter")  # everyone
        await until(
            pilot, lambda: compose.resolution is not None and compose.resolution.count > 10, "everyone"
        )
        await pilot.press("right")  # seurataan
        await pilot.pause(0.4)
        assert compose.problems == []
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSend), "the confirmation")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, SendProgressScreen) and app.screen.finished,
            "stored",
        )
        assert app.screen.outcome == "demo"
    versions = notice_store.versions(demo_store, notice.id)
    assert versions[-1].outbox_state == "demo" and versions[-1].status == "seurataan"
    assert versions[-1].subject.startswith("PÄIVITYS: ")
