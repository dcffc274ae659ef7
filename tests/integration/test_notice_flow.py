"""The Notices screen end to end through Pilot, against a real SMTP server (aiosmtpd, STARTTLS + AUTH).

From ``n`` to a resolved notice: the recipients exactly as chosen, in Bcc only; one thread across
create → update → resolve (In-Reply-To/References, PÄIVITYS:/KORJATTU:); placeholder errors
block the send key; the confirmation's counts; and the offer to reply to the requests linked to
the notice and close them. Also the running app's minute timer sending a scheduled version.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from coordinator_tui.config import Config, SmtpSection
from coordinator_tui.i18n import _
from coordinator_tui.notices import recipients, send
from coordinator_tui.notices.compose import NoticeDraft
from store import notices as notice_store
from store.engine import Store, open_store, url_for_path
from store.models import Outbox, ServiceRequest
from tests.conftest import FIXED_NOW
from tests.support.notice_directory import Directory, build_directory
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

FROM = "omaolo@pohde.example.fi"
CHOSEN = {"anu@liminka.example.fi", "ville@liminka.example.fi", "sari@kempele.example.fi"}
NOTICE_LIST = "Häiriötiedotteet – Störningsmeddelanden"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield store
    store.dispose()


@pytest.fixture
def directory(store: Store) -> Directory:
    return build_directory(store)


@pytest.fixture
def config(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_PASSWORD)
    return Config(
        smtp=SmtpSection(
            host=smtp_server.host,
            port=smtp_server.port,
            security="starttls",
            username=SMTP_USER,
            from_address=FROM,
            from_name="Omaolo-koordinaattori",
            ca_file=str(smtp_server.ca_file),
        )
    )


async def until(pilot: Any, condition: Any, what: str, timeout: float = 15.0) -> None:
    for _attempt in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    screen = pilot.app.screen
    raise AssertionError(
        f"never happened: {what} (on {type(screen).__name__}: {getattr(screen, 'rows', '')})"
    )


async def type_text(pilot: Any, text: str) -> None:
    keys = ["space" if char == " " else "enter" if char == "\n" else char for char in text]
    await pilot.press(*keys)


def parsed(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=default)


def body_of(message: Message) -> str:
    return message.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined, no-any-return]


async def compose_ready(pilot: Any) -> Any:
    from coordinator_tui.screens.noticecompose import NoticeComposeScreen

    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, NoticeComposeScreen) and pilot.app.screen.loaded_at is not None,
        "the compose screen with its preview",
    )
    return pilot.app.screen


async def settle_preview(pilot: Any) -> None:
    await pilot.pause(0.4)  # the preview is rebuilt 0.2 s after the last key


async def send_confirmed(pilot: Any, smtp_server: SmtpServer, count: int) -> Any:
    """ctrl+o, then y in the confirmation; returns the progress screen once it has finished."""
    from coordinator_tui.screens.noticesend import ConfirmSend, SendProgressScreen

    await pilot.press("ctrl+o")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmSend), "the confirmation")
    await pilot.press("y")
    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, SendProgressScreen) and pilot.app.screen.finished,
        "the send to finish",
    )
    smtp_server.wait_for_messages(count)
    return pilot.app.screen


async def test_from_n_to_a_resolved_notice_with_the_linked_requests_answered(
    store: Store, directory: Directory, config: Config, smtp_server: SmtpServer, make_app: Any
) -> None:
    from textual.widgets import Input, TextArea

    from coordinator_tui.screens.noticecompose import NoticeComposeScreen, RecipientPicker
    from coordinator_tui.screens.notices import NoticesScreen
    from coordinator_tui.screens.noticesend import ConfirmSend, LinkedQuestion, SendProgressScreen

    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("4")
        await until(
            pilot,
            lambda: isinstance(app.screen, NoticesScreen) and app.screen.loaded_at is not None,
            "the Notices screen",
        )
        await pilot.press("n")
        screen = await compose_ready(pilot)
        assert isinstance(screen, NoticeComposeScreen)

        # Services: the third of the configured ones (työjonolähetys), with space.
        await pilot.press("down", "down", "space")
        # Recipients: the bilingual notice list and the steering group (Anu twice, in two cases).
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, RecipientPicker), "the recipient picker")
        await pilot.press("down", "space", "down", "space")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, NoticeComposeScreen), "back in compose")
        await until(
            pilot,
            lambda: screen.resolution is not None and screen.resolution.count == 3,
            "three recipients resolved",
        )
        assert set(screen.resolution.addresses) == CHOSEN
        assert [name for name, _address in screen.resolution.invalid] == ["Rikki Osoite"]

        start = screen.query_one("#nc-start", Input)
        start.focus()
        start.value = ""
        await type_text(pilot, "26.11.2026 8.15")
        screen.query_one("#nc-impact", TextArea).focus()
        await type_text(pilot, "Työjono ei toimi.")
        screen.query_one("#nc-instructions", TextArea).focus()
        await type_text(pilot, "Soita 116117.\nHätä 112.")
        await settle_preview(pilot)
        assert screen.problems == []
        warnings = " ".join(screen.warnings)
        assert NOTICE_LIST in warnings  # no Swedish text for a bilingual list
        assert "Rikki Osoite" in warnings

        # An unknown placeholder in the text: shown at once, and the send key does nothing.
        text = screen.query_one("#nc-text-fi", TextArea)
        text.focus()
        text.move_cursor(text.document.end)
        await type_text(pilot, " {tuntematon}")
        await settle_preview(pilot)
        assert any("{tuntematon}" in problem for problem in screen.problems)
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        assert isinstance(app.screen, NoticeComposeScreen)
        await pilot.press(*["backspace"] * len(" {tuntematon}"))
        # An emptied required field blocks it as well.
        contact = screen.query_one("#nc-contact", Input)
        kept_contact = contact.value
        contact.value = ""
        await settle_preview(pilot)
        assert any("{contact}" in problem for problem in screen.problems)
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        assert isinstance(app.screen, NoticeComposeScreen)
        contact.value = kept_contact
        await settle_preview(pilot)
        assert screen.problems == []
        with store.session() as session:
            assert session.exec(select(Outbox)).all() == []

        # The confirmation: how many people, which lists, which languages; n goes back.
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSend), "the confirmation")
        question = app.screen.question
        assert "3" in question and NOTICE_LIST in question and "Ohjausryhmä" in question
        assert _("Finnish only") in question
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NoticeComposeScreen), "back in compose")
        await pilot.press("ctrl+t")  # the Swedish template
        await settle_preview(pilot)
        assert screen.problems == [] and not any(NOTICE_LIST in w for w in screen.warnings)
        progress = await send_confirmed(pilot, smtp_server, 1)
        assert progress.outcome == "sent"
        assert {key for key, (status, _reply) in progress.statuses.items() if status == "accepted"} == CHOSEN
        await pilot.press("escape")
        await until(
            pilot,
            lambda: isinstance(app.screen, NoticesScreen) and len(app.screen.rows) == 1,
            "the new notice in the list",
        )
        notice_id = notice_store.list_notices(store)[0].id

        # An update: the next stage and an expected end; it says what changed.
        await pilot.press("U")
        screen = await compose_ready(pilot)
        await until(
            pilot, lambda: screen.resolution is not None and screen.resolution.count == 3, "recipients"
        )
        await pilot.press("right")  # focus starts on the status: syy tunnistettu
        expected = screen.query_one("#nc-expected-end", Input)
        expected.focus()
        await type_text(pilot, "26.11.2026 12.00")
        await settle_preview(pilot)
        assert screen.problems == []
        await send_confirmed(pilot, smtp_server, 2)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, NoticesScreen), "back in the list")

        # Two requests linked to the notice ("is Omaolo down?"), one already closed.
        from coordinator_tui.requests.service import RequestService

        service = RequestService(store, clock=lambda: FIXED_NOW)
        asked = service.create("Omaolo ei lähetä työjonoon?", requester_email="anu@liminka.example.fi")
        other = service.create("Työjono tyhjä", requester_email="pyytaja@kunta.example.fi")
        done = service.create("Vanha kysymys", requester_email="vanha@kunta.example.fi")
        service.set_status(done.id, done.version, "suljettu")
        with store.session() as session:
            for request_id in (asked.id, other.id, done.id):
                row = session.get(ServiceRequest, request_id)
                assert row is not None
                row.notice_id = notice_id
                session.add(row)

        # Resolved: the end is now (9.30 in Helsinki), so it lasted 1 h 15 min.
        await pilot.press("K")
        screen = await compose_ready(pilot)
        await until(
            pilot, lambda: screen.resolution is not None and screen.resolution.count == 3, "recipients"
        )
        await settle_preview(pilot)
        assert screen.problems == []
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSend), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, LinkedQuestion), "the linked-requests question")
        assert len(app.screen.requests) == 2  # the closed one is not offered
        await pilot.press("y")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, SendProgressScreen)
                and bool(app.screen.linked_text)
                and "…" not in app.screen.linked_text
            ),
            "the replies",
        )
        messages = smtp_server.wait_for_messages(5)

    notices = [message for message in messages if "Omaolo –" in str(parsed(message.data)["Subject"])]
    replies = [message for message in messages if message not in notices]
    assert len(notices) == 3 and len(replies) == 2
    first, update, resolved = (parsed(message.data) for message in notices)
    for message, raw in zip((first, update, resolved), notices, strict=True):
        assert set(raw.rcpt_tos) == CHOSEN
        headers = "\n".join(f"{name}: {value}" for name, value in message.items()).casefold()
        assert not any(address in headers for address in CHOSEN)
        assert "bcc" not in {name.casefold() for name in message}
        assert str(message["To"]).endswith(f"<{FROM}>")
        assert message["Auto-Submitted"] == "auto-generated"
    subject = str(first["Subject"])
    assert subject == "HÄIRIÖTIEDOTE: Omaolo – työjonolähetys – 26.11.2026 klo 8.15"
    assert str(update["Subject"]) == "PÄIVITYS: " + subject
    assert str(resolved["Subject"]) == "KORJATTU: " + subject
    root = str(first["Message-ID"])
    assert first["In-Reply-To"] is None
    for later in (update, resolved):
        assert str(later["In-Reply-To"]) == root and str(later["References"]) == root
    first_body = body_of(first)
    assert "TILANNE: TUTKITAAN" in first_body and "---- På svenska ----" in first_body
    assert "- Soita 116117.\n- Hätä 112." in first_body
    update_body = body_of(update)
    assert "TILANNE: SYY TUNNISTETTU" in update_body
    assert "Tilanne: Tutkitaan → Syy tunnistettu" in update_body
    assert "26.11.2026 klo 12.00" in update_body
    resolved_body = body_of(resolved)
    assert "KORJATTU – häiriö kesti 1 h 15 min" in resolved_body

    assert sorted(address for reply in replies for address in reply.rcpt_tos) == [
        "anu@liminka.example.fi",
        "pyytaja@kunta.example.fi",
    ]
    for reply in replies:
        message = parsed(reply.data)
        assert "OMA-2026-" in str(message["Subject"])
        assert "KORJATTU – häiriö kesti 1 h 15 min" in body_of(message)
    statuses = {row.reference: row.status for row in (service.get(asked.id), service.get(other.id)) if row}
    assert set(statuses.values()) == {"suljettu"}
    notice = notice_store.get_notice(store, notice_id)
    assert notice.status == "korjattu" and not notice.is_open


async def test_the_running_app_sends_a_scheduled_version_when_it_is_due(
    store: Store, directory: Directory, config: Config, smtp_server: SmtpServer, make_app: Any
) -> None:
    draft = NoticeDraft(
        kind="huoltokatko",
        status="aikataulutettu",
        services=["koko palvelu"],
        start_at=FIXED_NOW + timedelta(days=2),
        expected_end_at=FIXED_NOW + timedelta(days=2, hours=3),
        impact="Omaolo ei ole käytettävissä.",
        instructions="Asiakkaat voivat tehdä arvion katkon jälkeen.",
        contact=FROM,
    )
    choice = recipients.Choice(lists=[directory.notice_list])
    send.queue(store, None, draft, choice, from_address=FROM, scheduled_at=FIXED_NOW - timedelta(minutes=1))
    later = NoticeDraft(
        **{
            **draft.__dict__,
            "start_at": FIXED_NOW + timedelta(days=9),
            "expected_end_at": FIXED_NOW + timedelta(days=9, hours=3),
        }
    )
    send.queue(store, None, later, choice, from_address=FROM, scheduled_at=FIXED_NOW + timedelta(days=8))

    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        app.send_due_notices()  # what the minute's timer calls
        await until(pilot, lambda: len(smtp_server.messages) == 1, "the due version sent")
        await pilot.pause(0.3)
    assert set(smtp_server.messages[0].rcpt_tos) == CHOSEN
    states = sorted(
        version.outbox_state
        for n in notice_store.list_notices(store)
        for version in notice_store.versions(store, n.id)
    )
    assert states == ["queued", "sent"]  # the one due next week waits


async def test_a_version_whose_delivery_is_unknown_is_sent_again_only_when_the_coordinator_says(
    store: Store, directory: Directory, config: Config, smtp_server: SmtpServer, make_app: Any
) -> None:
    from coordinator_tui.screens.notices import NoticeScreen, NoticesScreen
    from store import outbox as outbox_store

    draft = NoticeDraft(
        services=["työjonolähetys"],
        start_at=FIXED_NOW - timedelta(hours=1),
        impact="Oirearviot eivät siirry.",
        instructions="Soittakaa 116117.",
        contact=FROM,
    )
    queued, _built = send.queue(
        store, None, draft, recipients.Choice(lists=[directory.notice_list]), from_address=FROM
    )
    # A crash after the server may have taken the text for Anu and Ville; Sari was never offered.
    outbox_store.start_sending(store, queued.outbox_id)
    outbox_store.record_deliveries(
        store,
        queued.outbox_id,
        {"anu@liminka.example.fi": ("unknown", ""), "ville@liminka.example.fi": ("unknown", "")},
    )

    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "TodayScreen", "Today")
        await pilot.pause(0.3)  # the start-up recovery turns the "sending" row "unknown"
        await pilot.press("4")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, NoticesScreen)
                and app.screen.loaded_at is not None
                and app.screen.rows
                and app.screen.rows[0].unknown == 1
            ),
            "the notice with an unknown version",
        )
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, NoticeScreen) and app.screen.loaded_at is not None, "it"
        )
        assert smtp_server.messages == []  # nothing was re-sent by itself
        await pilot.press("a")
        await until(pilot, lambda: len(smtp_server.messages) == 1, "the send again")
        await until(pilot, lambda: app.screen.versions[-1].outbox_state == "sent", "the version sent")
    assert set(smtp_server.messages[0].rcpt_tos) == CHOSEN
    assert outbox_store.delivery_counts(store, [queued.outbox_id]) == {queued.outbox_id: {"accepted": 3}}
