"""The compose screen on the demo store: reply, the henkilötunnus guard, canned replies, the outbox."""

from __future__ import annotations

import email
import json
from email.policy import default
from pathlib import Path

from sqlmodel import col, select
from textual.widgets import Input, TextArea

from coordinator_tui.demo.data import SHARED_MAILBOX
from coordinator_tui.mail.canned import canned_dir
from coordinator_tui.mail.compose import forward_draft, reply_draft
from coordinator_tui.outgoing import DEMO_DOMAIN
from coordinator_tui.screens.compose import CannedPicker, ComposeScreen, DiscardQuestion
from store.models import MailFolder, MailMessage, Outbox
from tests.screen import screen_text

HETU = "131052-308T"


def inbox_message(store) -> MailMessage:  # type: ignore[no-untyped-def]
    """A demo inbox message from someone else, with a body."""
    with store.session() as session:
        return session.exec(
            select(MailMessage)
            .join(MailFolder)
            .where(MailFolder.role == "inbox", col(MailMessage.body_text) != "")
            .where(col(MailMessage.from_addr) != SHARED_MAILBOX)
            .where(col(MailMessage.from_addr).contains("@"))
            .order_by(col(MailMessage.id))
        ).first()


def outbox_rows(store) -> list[Outbox]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())


async def open_compose(app, pilot, draft) -> ComposeScreen:  # type: ignore[no-untyped-def]
    screen = ComposeScreen(draft)
    app.push_screen(screen)
    for _ in range(50):
        await pilot.pause(0.02)
        if app.screen is screen and screen.canned is not None:
            break
    assert app.screen is screen
    return screen


async def wait_until(pilot, condition, tries: int = 150) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the condition did not come true")


async def test_reply_hetu_block_canned_reply_and_demo_outbox(demo_store, make_app) -> None:
    original = inbox_message(demo_store)
    draft = reply_draft(demo_store, original.id, reply_all=False, own_addresses=[SHARED_MAILBOX])
    before = len(outbox_rows(demo_store))
    app = make_app(demo_store)
    async with app.run_test(size=(130, 42)) as pilot:
        screen = await open_compose(app, pilot, draft)
        text = screen_text(app)
        assert "Vastaus" in text or "Your reply" in text
        assert original.from_addr in text  # "goes to" line and the To field
        assert draft.subject in text
        longest = max(original.body_text.splitlines(), key=len).strip()
        assert len(longest) > 10
        assert longest[:40] not in text  # never quoted
        body = screen.query_one("#compose-body", TextArea)
        assert body.text == ""

        # A reply starts in the text. Typing, then a henkilötunnus: ctrl+s blocks, nothing queued.
        assert app.focused is body
        await pilot.press("H", "e", "i")
        assert body.text == "Hei"
        body.insert(f" asiakkaan tunnus {HETU} ")
        await pilot.press("ctrl+s")
        await pilot.pause()
        text = screen_text(app)
        assert "131052-***T" in text
        assert HETU not in text.replace(body.text, "")  # shown only where the user typed it
        assert screen.problem and "131052-***T" in screen.problem
        assert app.screen is screen
        assert len(outbox_rows(demo_store)) == before

        # A canned reply: ctrl+t, filter as you type, enter inserts it with the name filled in.
        body.clear()
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker))
        await pilot.press(*"kuittaus", "space", "s", "v")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, CannedPicker)
        assert [reply.key for reply in picker.shown] == ["kuittaus.sv"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen)
        assert body.text.startswith("Hej ")
        assert "{name}" not in body.text
        assert screen.problem == ""

        # ctrl+s in the demo: an outbox row "demo", threaded, nothing sent; the screen closes.
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is not screen)
        rows = outbox_rows(demo_store)
        assert len(rows) == before + 1
        row = rows[-1]
        assert row.state == "demo"
        assert row.kind == "reply"
        assert json.loads(row.recipients) == [original.from_addr]
        assert DEMO_DOMAIN in row.message_id
        assert f"In-Reply-To: {original.message_id}".encode() in row.raw
        assert b"Content-Transfer-Encoding: quoted-printable" in row.raw
        sent = email.message_from_bytes(row.raw, policy=default)
        sent_body = sent.get_body().get_content()  # type: ignore[union-attr]
        assert sent_body.startswith("Hej ")
        assert longest[:30] not in sent_body
        assert str(sent["Subject"]) == draft.subject


async def test_an_unfilled_placeholder_blocks_sending(demo_store, make_app) -> None:
    original = inbox_message(demo_store)
    draft = reply_draft(demo_store, original.id, reply_all=False, own_addresses=[SHARED_MAILBOX])
    draft.placeholder_values.pop("reference", None)
    before = len(outbox_rows(demo_store))
    app = make_app(demo_store)
    async with app.run_test(size=(130, 42)) as pilot:
        screen = await open_compose(app, pilot, draft)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker))
        await pilot.press(*"digifinland", "space", "f", "i", "enter")
        await wait_until(pilot, lambda: app.screen is screen)
        body = screen.query_one("#compose-body", TextArea)
        assert "{reference}" in body.text
        assert "{reference}" in screen.problem
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert "{reference}" in screen_text(app)
        assert len(outbox_rows(demo_store)) == before


async def test_an_unknown_placeholder_is_an_error_in_the_editor(demo_store, make_app) -> None:
    folder: Path = canned_dir()
    folder.mkdir(parents=True)
    (folder / "rikki.fi.txt").write_text("Hei {etunimi}!\n", encoding="utf-8")
    original = inbox_message(demo_store)
    draft = reply_draft(demo_store, original.id, reply_all=False, own_addresses=[SHARED_MAILBOX])
    app = make_app(demo_store)
    async with app.run_test(size=(130, 42)) as pilot:
        screen = await open_compose(app, pilot, draft)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen)
        assert screen.query_one("#compose-body", TextArea).text == ""
        assert "{etunimi}" in screen.problem
        assert "{etunimi}" in screen_text(app)


async def test_escape_asks_before_throwing_away_what_was_typed(demo_store, make_app) -> None:
    original = inbox_message(demo_store)
    draft = reply_draft(demo_store, original.id, reply_all=False, own_addresses=[SHARED_MAILBOX])
    app = make_app(demo_store)
    async with app.run_test(size=(130, 42)) as pilot:
        screen = await open_compose(app, pilot, draft)
        await pilot.press("escape")  # nothing typed: closes at once
        await wait_until(pilot, lambda: app.screen is not screen)

        screen = await open_compose(app, pilot, draft)
        screen.query_one("#compose-body", TextArea).focus()
        await pilot.press("x")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DiscardQuestion))
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen)
        assert screen.query_one("#compose-body", TextArea).text == "x"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DiscardQuestion))
        await pilot.press("y")
        await wait_until(
            pilot, lambda: app.screen is not screen and not isinstance(app.screen, DiscardQuestion)
        )


async def test_a_forward_in_the_demo_says_attachments_are_not_included(demo_store, make_app) -> None:
    with demo_store.session() as session:
        with_attachment = session.exec(
            select(MailMessage).where(col(MailMessage.has_attachments)).order_by(col(MailMessage.id))
        ).first()
    assert with_attachment is not None
    draft = forward_draft(demo_store, with_attachment.id)
    before = len(outbox_rows(demo_store))
    app = make_app(demo_store)
    async with app.run_test(size=(130, 42)) as pilot:
        screen = await open_compose(app, pilot, draft)
        text = screen_text(app)
        assert "Fwd: " in text
        assert "Liitteitä ei liitetä" in text or "Attachments are not included" in text
        to = screen.query_one("#compose-to", Input)
        assert app.focused is to  # a forward starts in To
        await pilot.press(*"tuki@digifinland.example.fi")
        await pilot.pause()
        assert "tuki@digifinland.example.fi" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is not screen)
        row = outbox_rows(demo_store)[-1]
        assert len(outbox_rows(demo_store)) == before + 1
        assert (row.kind, row.state) == ("forward", "demo")


async def test_a_bad_address_blocks_sending_with_words(demo_store, make_app) -> None:
    from coordinator_tui.mail.compose import Draft

    app = make_app(demo_store)
    before = len(outbox_rows(demo_store))
    async with app.run_test(size=(130, 42)) as pilot:
        screen = await open_compose(app, pilot, Draft(to="ei-osoite", subject="Testi", body="Hei"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "ei-osoite" in screen.problem
        assert app.screen is screen
        assert len(outbox_rows(demo_store)) == before


async def test_hostile_subject_and_addresses_are_never_markup(demo_store, make_app) -> None:
    from coordinator_tui.mail.compose import Draft

    hostile = "[@click=app.quit]Klikkaa[/] [b]lihava[/b] \x1b[31mpunainen"
    app = make_app(demo_store)
    async with app.run_test(size=(130, 42)) as pilot:
        screen = await open_compose(
            app, pilot, Draft(kind="reply", to='"[@click=app.quit]x[/]" <a@x.fi>', subject=hostile)
        )
        await pilot.pause()
        assert app.is_running
        text = screen_text(app)
        assert "[@click=app.quit]x[/]" in text
        assert "\x1b" not in text
        assert app.screen is screen
