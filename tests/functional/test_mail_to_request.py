"""Mail into request work through Pilot on the demo store: `C` makes a request from a message (one
picker: category letter, priority digit), `L` links a message to an open request found by typing."""

from __future__ import annotations

from typing import Any

from coordinator_tui.demo import HOSTILE_STRINGS
from coordinator_tui.i18n import _
from coordinator_tui.requests.service import REASON_BY_HAND, REASON_CREATED, title_from_subject
from coordinator_tui.screens.mail import MailScreen
from coordinator_tui.screens.requestpickers import CATEGORY_KEYS, LinkRequestPicker, NewRequestPicker
from store import requests as db
from store.engine import Store
from store.vocabulary import REQUEST_CATEGORIES
from tests.functional.test_mail_screen import SIZE, open_mail, until


def request_ids(store: Store) -> set[int]:
    with store.raw_connection() as connection:
        return {int(r[0]) for r in connection.execute("SELECT id FROM service_request").fetchall()}


def person_of(store: Store, email: str) -> tuple[int, int | None]:
    with store.raw_connection() as connection:
        row = connection.execute("SELECT id, unit_id FROM person WHERE email = ?", (email,)).fetchone()
    assert row is not None, email
    return int(row[0]), row[1]


async def new_request_made(pilot: Any, store: Store, before: set[int]) -> db.RequestRow:
    await until(pilot, lambda: request_ids(store) - before, "a new request in the store")
    (new_id,) = request_ids(store) - before
    row = db.get_request(store, new_id)
    assert row is not None
    return row


async def test_C_makes_a_request_from_the_message_with_one_picker(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        message = screen.mail_list.current_row()
        assert message is not None and message.subject == "Re: [PATCH] fix"  # the newest demo message
        person_id, unit_id = person_of(demo_store, message.from_addr)
        before = request_ids(demo_store)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, NewRequestPicker), "the picker")
        category = REQUEST_CATEGORIES[2]  # vika tai häiriö, on the third letter
        await pilot.press(CATEGORY_KEYS[2])
        assert isinstance(app.screen, NewRequestPicker)  # still asking the priority
        await pilot.press("2")
        row = await new_request_made(pilot, demo_store, before)
        assert row.title == "[PATCH] fix"
        assert row.requester_email == message.from_addr
        assert (row.requester_person_id, row.unit_id) == (person_id, unit_id)
        assert (row.category, row.priority) == (category, 2)
        assert db.linked_mail(demo_store, row.id) == [(message.id, REASON_CREATED)]
        await until(
            pilot,
            lambda: any(
                n.message == _("{reference} created").format(reference=row.reference)
                for n in app._notifications
            ),
            "the notification naming the reference",
        )
        assert isinstance(app.screen, MailScreen)


async def test_escape_in_the_picker_makes_nothing(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await open_mail(pilot)
        before = request_ids(demo_store)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, NewRequestPicker), "the picker")
        await pilot.press("a", "escape")
        await until(pilot, lambda: isinstance(app.screen, MailScreen), "back on the Mail screen")
        await pilot.pause(0.2)
        assert request_ids(demo_store) == before


async def test_a_hostile_subject_becomes_a_literal_title(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        await pilot.press("j")
        message = screen.mail_list.current_row()
        assert message is not None and message.subject == HOSTILE_STRINGS[1]  # [@click=app.quit]x[/]
        before = request_ids(demo_store)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, NewRequestPicker), "the picker")
        await pilot.press("enter")  # made as it is: untriaged
        row = await new_request_made(pilot, demo_store, before)
        assert row.title == HOSTILE_STRINGS[1]
        assert (row.category, row.priority, row.status) == ("", None, "uusi")
        assert app.is_running and isinstance(app.screen, MailScreen)


async def test_L_links_the_message_to_a_request_found_by_typing(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        await pilot.press("j", "j", "j")
        message = screen.mail_list.current_row()
        assert message is not None
        # An open request this message is not linked to, found by its reference.
        window = db.view_window(demo_store, "open", me="", now=app.now(), sort="updated", limit=50)
        target = next(
            r for r in window.rows if message.id not in {m for m, _r in db.linked_mail(demo_store, r.id)}
        )
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LinkRequestPicker), "the link picker")
        picker = app.screen
        assert isinstance(picker, LinkRequestPicker)
        await pilot.press(*target.reference)
        await until(
            pilot,
            lambda: picker.shown_text == target.reference and [r.id for r in picker.rows] == [target.id],
            "the list narrowed to the one request",
        )
        await pilot.press("enter")
        await until(
            pilot,
            lambda: (message.id, REASON_BY_HAND) in db.linked_mail(demo_store, target.id),
            "the link in the store",
        )
        assert isinstance(app.screen, MailScreen)
        # Again: the store keeps one link, and the user is told it was there already.
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LinkRequestPicker), "the link picker again")
        picker = app.screen
        assert isinstance(picker, LinkRequestPicker)
        await pilot.press(*target.reference)
        await until(pilot, lambda: [r.id for r in picker.rows] == [target.id], "the list narrowed")
        already = _("The message is already linked to {reference}.").format(reference=target.reference)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: any(n.message == already for n in app._notifications),
            "the already-linked notice",
        )
        assert [m for m, _r in db.linked_mail(demo_store, target.id)].count(message.id) == 1


async def test_L_escape_links_nothing(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        message = screen.mail_list.current_row()
        assert message is not None
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LinkRequestPicker), "the link picker")
        await pilot.press("x", "escape")
        await until(pilot, lambda: isinstance(app.screen, MailScreen), "back on the Mail screen")
        with demo_store.raw_connection() as connection:
            links = connection.execute(
                "SELECT count(*) FROM request_mail WHERE mail_message_id = ?", (message.id,)
            ).fetchone()[0]
        assert links == 0


def test_title_from_subject_strips_reply_and_forward_prefixes() -> None:
    assert title_from_subject("Re: VS: Fwd:  Tunnukset   HaiPro") == "Tunnukset HaiPro"
    assert title_from_subject("RE[2]: SV:AW: x") == "x"
    assert title_from_subject("Reset: salasana") == "Reset: salasana"
    assert title_from_subject("Vs: [b]bold") == "[b]bold"
    assert title_from_subject("Re:") == ""
    assert title_from_subject("Re: [OMA-2026-0315] Muutospyyntö") == "Muutospyyntö"
    assert title_from_subject("[DF-65648] Ratkaistu") == "[DF-65648] Ratkaistu"  # DigiFinland's tag stays


def test_the_requester_is_the_directory_person_whatever_the_case_of_the_address(demo_store) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.requests.service import RequestService
    from tests.conftest import FIXED_NOW

    service = RequestService(demo_store, actor="testi", clock=lambda: FIXED_NOW)
    person_id, unit_id = person_of(demo_store, "vihamielinen2@example.com")
    known = service.create_from_mail(1, subject="VS: Tunnukset", sender="Vihamielinen2@Example.COM")
    assert (known.title, known.requester_person_id, known.unit_id) == ("Tunnukset", person_id, unit_id)
    assert known.requester_email == "Vihamielinen2@Example.COM"
    stranger = service.create_from_mail(2, subject="Re: ", sender="tuntematon@example.org", priority=3)
    assert (stranger.requester_person_id, stranger.unit_id) == (None, None)
    assert stranger.title == _("Message from {sender}").format(sender="tuntematon@example.org")
    assert stranger.priority == 3 and db.linked_mail(demo_store, stranger.id) == [(2, REASON_CREATED)]
    assert service.link_mail(stranger.id, 2) is False  # linked already when it was made
    assert service.link_mail(stranger.id, 1) is True
    assert set(db.linked_mail(demo_store, stranger.id)) == {(2, REASON_CREATED), (1, REASON_BY_HAND)}
