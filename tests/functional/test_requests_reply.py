"""The Requests screen's newer verbs through Pilot on the demo: `r` reply (canned text, the guards,
the demo outbox, the request's record), why each message is linked, `O` sort, the question before
closing with mail unanswered, `i` the open notice, and two app instances on one store file."""

from __future__ import annotations

import email
import json
from email.policy import default
from typing import Any

from sqlmodel import col, select

from coordinator_tui.i18n import _
from coordinator_tui.requests import rules
from coordinator_tui.screens.compose import CannedPicker, ComposeScreen
from coordinator_tui.screens.requestpickers import ConfirmScreen
from coordinator_tui.screens.requests import (
    LINK_REASONS,
    SORT_NAMES,
    ConflictScreen,
    PickerScreen,
    RequestsScreen,
)
from store import requests as db
from store.engine import Store, open_store, url_for_path
from store.models import Notice, Outbox
from tests.conftest import FIXED_NOW
from tests.functional.test_requests_screen import (
    SIZE,
    current,
    detail_text,
    open_requests,
    service,
    until,
)
from tests.screen import screen_text

HETU = "131052-308T"


def outbox_rows(store: Store) -> list[Outbox]:
    with store.session() as session:
        return list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())


def mail_out(store: Store, request_id: int) -> list[db.EventRow]:
    return [event for event in db.history(store, request_id) if event.kind == "mail_out"]


async def test_r_replies_to_the_requester_with_a_canned_reply_and_records_it(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Input, TextArea

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        before = db.get_request(demo_store, row.id)
        assert before is not None and before.first_response_at is None
        (linked,) = db.linked_messages(demo_store, row.id)
        contact = db.requester_contact(demo_store, row.id)
        assert contact is not None and contact.email
        outbox_before = len(outbox_rows(demo_store))

        await pilot.press("enter")  # the request's detail view: `r` works there as on the row
        await until(pilot, lambda: app.focused is screen.query_one("#requests-detail"), "the detail focused")
        await pilot.press("r")
        await until(
            pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen.canned is not None, "editor"
        )
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        subject = compose.query_one("#compose-subject", Input).value
        assert subject.startswith(f"[{row.reference}] ")
        assert contact.email in compose.query_one("#compose-to", Input).value
        body = compose.query_one("#compose-body", TextArea)
        assert body.text == ""  # no quoted original
        assert linked.subject[:30] not in screen_text(app).split(subject)[-1]

        # The henkilötunnus guard: nothing leaves, the code is shown masked.
        body.insert(f"Asiakkaan tunnus {HETU}")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "131052-***T" in compose.problem, "the hetu block")
        assert len(outbox_rows(demo_store)) == outbox_before
        # A placeholder typed by hand that the app does not know blocks the send too.
        body.clear()
        body.insert("Hei {etunimi}")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "{etunimi}" in compose.problem, "the unknown placeholder")
        assert "{etunimi}" in screen_text(app)
        assert len(outbox_rows(demo_store)) == outbox_before

        # A canned reply with the requester's name and the reference filled in.
        body.clear()
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, CannedPicker), "the canned replies")
        await pilot.press(*"digifinland", "space", "f", "i", "enter")
        await until(pilot, lambda: app.screen is compose, "back in the editor")
        assert body.text.startswith(f"Hei {contact.name},")
        assert row.reference in body.text and "{" not in body.text
        assert compose.problem == ""
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "sent (demo) and back")

        rows = outbox_rows(demo_store)
        assert len(rows) == outbox_before + 1
        sent_row = rows[-1]
        assert (sent_row.state, sent_row.kind) == ("demo", "reply")
        assert json.loads(sent_row.recipients) == [contact.email]
        assert db.reference_in_message_id(sent_row.message_id) == row.reference
        sent = email.message_from_bytes(sent_row.raw, policy=default)
        assert str(sent["Subject"]) == subject
        assert str(sent["In-Reply-To"]) == linked.message_id
        assert linked.message_id in str(sent["References"])
        assert linked.subject[:30] not in sent.get_body().get_content()  # type: ignore[union-attr]

        (event,) = mail_out(demo_store, row.id)
        assert (event.new, event.old, event.text) == (sent_row.message_id, contact.email, subject)
        after = db.get_request(demo_store, row.id)
        assert after is not None and after.first_response_at == FIXED_NOW
        await until(pilot, lambda: _("reply sent") in detail_text(screen), "the reply in the history")
        assert service(demo_store).unanswered(row.id) == []


async def test_the_detail_says_why_each_message_is_linked(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    svc = service(demo_store)
    first = svc.window("untriaged", limit=1).rows[0]
    other = svc.window("untriaged", limit=2).rows[1]
    (moved,) = db.linked_mail(demo_store, other.id)
    svc.link_mail(first.id, moved[0], "subject_tag")
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        assert current(screen).id == first.id
        await until(pilot, lambda: _("Messages") in detail_text(screen), "the messages")
        text = detail_text(screen)
        assert f"[{_(LINK_REASONS['manual'])}]" in text
        assert f"[{_(LINK_REASONS['subject_tag'])}]" in text


async def test_capital_o_cycles_the_sort_and_the_header_says_which(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    svc = service(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        await pilot.press("shift+tab", "j", "j", "j", "j", "tab")  # All open
        await until(pilot, lambda: screen.view == "open" and screen.request_list.count > 5, "open view")
        header = _("sorted by {sort}")
        assert header.format(sort=_(SORT_NAMES["due"])) in screen_text(app)

        def first_five() -> list[int]:
            return [r.id for i in range(5) if (r := screen.request_list.row_at(i))]

        for sort in ("priority", "updated", "due"):
            await pilot.press("O")
            expected = [row.id for row in svc.window("open", sort=sort, limit=5).rows]  # type: ignore[arg-type]
            await until(pilot, lambda wanted=expected: first_five() == wanted, f"sorted by {sort}")
            assert screen.sort == sort
            assert header.format(sort=_(SORT_NAMES[sort])) in screen_text(app)
        by_priority = [row.id for row in svc.window("open", sort="priority", limit=5).rows]
        assert by_priority != [row.id for row in svc.window("open", sort="updated", limit=5).rows]


async def choose_status(pilot: Any, app: Any, status: str) -> None:
    await pilot.press("S")
    await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the status picker")
    picker = app.screen
    index = [value for value, _label in picker.choices].index(status)
    await pilot.press(*(["j"] * index), "enter")


async def test_closing_with_mail_unanswered_asks_first(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        assert service(demo_store).unanswered(row.id)
        await choose_status(pilot, app, rules.CLOSED)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert row.reference in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "back")
        await pilot.pause(0.1)
        assert db.get_request(demo_store, row.id).status == rules.NEW  # type: ignore[union-attr]

        await choose_status(pilot, app, rules.RESOLVED)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked again")
        await pilot.press("y")
        await until(
            pilot,
            lambda: (r := db.get_request(demo_store, row.id)) and r.status == rules.RESOLVED,
            "resolved",
        )
        await pilot.press("u")
        await until(
            pilot, lambda: (r := db.get_request(demo_store, row.id)) and r.status == rules.NEW, "undone"
        )

        # A request with nothing unanswered closes without a question.
        quiet = next(
            r
            for r in service(demo_store).window("untriaged", limit=20).rows
            if not service(demo_store).unanswered(r.id)
        )
        index = next(i for i in range(20) if (r := screen.request_list.row_at(i)) and r.id == quiet.id)
        screen.request_list.move_to(index)
        await until(pilot, lambda: current(screen).id == quiet.id, "on the quiet one")
        await choose_status(pilot, app, rules.CLOSED)
        await until(
            pilot, lambda: (r := db.get_request(demo_store, quiet.id)) and r.status == rules.CLOSED, "closed"
        )
        assert not isinstance(app.screen, ConfirmScreen)


async def test_i_links_the_open_notice_and_again_unlinks(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    notices = service(demo_store).open_notices()
    assert len(notices) > 1
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_requests(pilot)
        row = current(screen)
        # Several open: a picker of them (newest first).
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the notice picker")
        picker = app.screen
        assert [value for value, _label in picker.choices] == [str(n.id) for n in notices]
        await pilot.press("j", "enter")
        await until(
            pilot,
            lambda: (r := db.get_request(demo_store, row.id)) and r.notice_id == notices[1].id,
            "linked",
        )
        await until(pilot, lambda: notices[1].subject[:30] in detail_text(screen), "shown on the request")
        # `i` again unlinks; `u` puts the link back.
        await pilot.press("i")
        await until(
            pilot, lambda: (r := db.get_request(demo_store, row.id)) and r.notice_id is None, "unlinked"
        )
        await pilot.press("u")
        await until(
            pilot,
            lambda: (r := db.get_request(demo_store, row.id)) and r.notice_id == notices[1].id,
            "undone",
        )
        await pilot.press("i")
        await until(
            pilot, lambda: (r := db.get_request(demo_store, row.id)) and r.notice_id is None, "unlinked"
        )

        # One open notice: `i` links it at once.
        with demo_store.session() as session:
            for notice in session.exec(select(Notice).where(col(Notice.id) != notices[0].id)).all():
                notice.is_open = False
                session.add(notice)
        await pilot.press("i")
        await until(
            pilot,
            lambda: (r := db.get_request(demo_store, row.id)) and r.notice_id == notices[0].id,
            "linked",
        )
        assert not isinstance(app.screen, PickerScreen)


async def go_to(pilot: Any, screen: RequestsScreen, request_id: int) -> None:
    await until(
        pilot,
        lambda: any((r := screen.request_list.row_at(i)) and r.id == request_id for i in range(50)),
        "the request in the list",
    )
    index = next(i for i in range(50) if (r := screen.request_list.row_at(i)) and r.id == request_id)
    screen.request_list.move_to(index)
    await until(pilot, lambda: current(screen).id == request_id, "the cursor on it")


async def test_two_app_instances_on_one_store_file_never_lose_a_change(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    second_store = open_store(url_for_path(demo_store.path))
    try:
        first_app, second_app = make_app(demo_store), make_app(second_store)
        async with first_app.run_test(size=SIZE) as first, second_app.run_test(size=SIZE) as second:
            mine = await open_requests(first)
            theirs = await open_requests(second)
            row = current(mine)
            assert current(theirs).id == row.id

            # The other instance sets P4; this one, still on the old version, asks for P2.
            await second.press("p", "4")
            await until(second, lambda: db.get_request(demo_store, row.id).priority == 4, "their P4")  # type: ignore[union-attr]
            await go_to(first, mine, row.id)
            await first.press("p", "2")
            await until(first, lambda: isinstance(first_app.screen, ConflictScreen), "the conflict")
            text = screen_text(first_app)
            assert "P2" in text and "P4" in text
            assert db.get_request(demo_store, row.id).priority == 4  # type: ignore[union-attr]
            await first.press("t")  # take theirs: nothing written
            await until(first, lambda: isinstance(first_app.screen, RequestsScreen), "back")
            await first.pause(0.1)
            assert db.get_request(demo_store, row.id).priority == 4  # type: ignore[union-attr]

            # Having seen theirs, this instance's next change goes through without a question.
            await go_to(first, mine, row.id)  # its new due time may have moved it in the list
            await first.press("p", "3")
            await until(first, lambda: db.get_request(demo_store, row.id).priority == 3, "P3")  # type: ignore[union-attr]
            # Now the other one is stale: it is asked, and keeps its own value on purpose.
            await go_to(second, theirs, row.id)
            await second.press("p", "1")
            await until(second, lambda: isinstance(second_app.screen, ConflictScreen), "their conflict")
            assert db.get_request(demo_store, row.id).priority == 3  # type: ignore[union-attr]
            await second.press("m")
            await until(second, lambda: db.get_request(demo_store, row.id).priority == 1, "kept mine")  # type: ignore[union-attr]
            priorities = [
                (e.old, e.new)
                for e in db.history(demo_store, row.id)
                if e.kind == "change" and e.field == "priority"
            ]
            assert priorities == [("", "4"), ("4", "3"), ("3", "1")]
    finally:
        second_store.dispose()
