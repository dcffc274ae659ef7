"""In the demo, mail that would be sent lands in the outbox, where the user can look at it."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from coordinator_tui.outgoing import DEMO_DOMAIN, queue_message
from coordinator_tui.screens.outbox import OutboxScreen
from store.outbox import add_to_outbox, finish_sending, outbox_entries, record_deliveries, start_sending
from tests.screen import screen_text


def demo_message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "omaolo@pohde.example.fi"
    message["To"] = "omaolo@pohde.example.fi"
    message["Subject"] = "HÄIRIÖTIEDOTE: Omaolo – työjonolähetys – 26.11.2026 klo 9.30"
    message.set_content("Työjonolähetys ei toimi. Ohjatkaa asiakkaat Päivystysapuun 116117.")
    return message


def test_a_demo_message_is_stored_and_never_sent(demo_store) -> None:
    outbox_id = queue_message(
        demo_store, demo_message(), ["a@pohde.example.fi", "b@pohde.example.fi"], demo=True
    )
    entry = next(entry for entry in outbox_entries(demo_store) if entry.id == outbox_id)
    assert entry.state == "demo"
    assert entry.recipients == ["a@pohde.example.fi", "b@pohde.example.fi"]
    with demo_store.session() as session:
        from store.models import Outbox

        row = session.get(Outbox, outbox_id)
        assert row is not None and DEMO_DOMAIN in row.message_id
        assert "Päivystysapuun 116117".encode() in row.raw or b"116117" in row.raw


def test_a_message_needs_a_recipient(demo_store) -> None:
    with pytest.raises(ValueError, match="recipient"):
        queue_message(demo_store, demo_message(), [], demo=True)


async def test_the_outbox_is_one_palette_command_away(demo_store, make_app) -> None:
    queue_message(demo_store, demo_message(), ["a@pohde.example.fi"], kind="notice", demo=True)
    app = make_app(demo_store)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Lähtevä")
        await pilot.pause(0.3)
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, OutboxScreen) and getattr(app.screen, "loaded", False):
                break
        assert isinstance(app.screen, OutboxScreen)
        text = screen_text(app)
        assert "HÄIRIÖTIEDOTE: Omaolo – työjonolähetys" in text
        assert "esittely: ei lähetetty" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, OutboxScreen)


async def test_the_outbox_shows_why_a_message_failed_and_each_recipients_answer(demo_store, make_app) -> None:
    message = demo_message()
    message.replace_header("Subject", "Kutsu yhteistyöpalaveriin")
    outbox_id = add_to_outbox(
        demo_store,
        kind="mail",
        message_id="<failed-1@pohde.example.fi>",
        subject=str(message["Subject"]),
        raw=message.as_bytes(),
        recipients=["a@pohde.example.fi", "b@pohde.example.fi"],
        state="queued",
    )
    start_sending(demo_store, outbox_id)
    record_deliveries(
        demo_store,
        outbox_id,
        {"a@pohde.example.fi": ("accepted", "250 OK"), "b@pohde.example.fi": ("refused", "550 no such user")},
    )
    finish_sending(demo_store, outbox_id, "failed", "The server refused b@pohde.example.fi.")
    app = make_app(demo_store)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        app.action_outbox()
        for _ in range(100):
            await pilot.pause(0.02)
            if "550 no such user" in screen_text(app):
                break
        text = screen_text(app)
        assert "Kutsu yhteistyöpalaveriin" in text
        assert "The server refused b@pohde.example.fi." in text
        assert "a@pohde.example.fi: hyväksytty (250 OK)" in text
        assert "b@pohde.example.fi: hylätty (550 no such user)" in text
