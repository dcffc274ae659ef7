"""`r` on a request, end to end against the real servers: the reply goes out by SMTP (aiosmtpd) with
the reference in the subject, threading headers and no quoted original, its copy lands in Sent
(Dovecot), the request records it; the requester's answer arrives by IMAP, finds the request by
our Message-ID alone, and brings it back from waiting on the requester."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from coordinator_tui.config import Config, SmtpSection
from coordinator_tui.mail.sync import sync_account
from coordinator_tui.requests import rules
from coordinator_tui.requests.service import RequestService
from coordinator_tui.screens.compose import CannedPicker, ComposeScreen
from coordinator_tui.screens.requests import RequestsScreen
from coordinator_tui.secrets import env_var
from store import requests as db
from store.engine import Store, open_store
from store.models import MailMessage
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.messages import plain, section_for
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

FROM = "omaolo@hva.example.fi"
ORIGINAL_ID = "<tunnukset-1@kunta.example.fi>"
ORIGINAL_TEXT = "Uusi hoitaja tarvitsee tunnukset Omaoloon ensi maanantaiksi."
WAIT = 30.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.sqlite")
    yield opened
    opened.dispose()


def mail_id(store: Store, message_id: str) -> int:
    with store.session() as session:
        found = session.exec(select(MailMessage.id).where(MailMessage.message_id == message_id)).first()
        assert found is not None
        return found


async def until(pilot: Any, condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_a_reply_from_a_request_and_the_answer_that_reopens_it(
    dovecot: Dovecot,
    imap_user: ImapAccount,
    smtp_server: SmtpServer,
    store: Store,
    make_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    imap = section_for(imap_user)
    user = imap_user.username
    dovecot.deliver(
        "INBOX",
        plain(
            "Tunnukset uudelle hoitajalle",
            ORIGINAL_TEXT + "\n",
            ORIGINAL_ID,
            sender="Ville Virkkunen <ville@kunta.example.fi>",
        ),
        user=user,
    )
    assert sync_account(store, imap, imap_user.password).ok
    requests = RequestService(store, actor="Sanna Kivelä")
    created = requests.create_from_mail(
        mail_id(store, ORIGINAL_ID), subject="Tunnukset uudelle hoitajalle", sender="ville@kunta.example.fi"
    )

    monkeypatch.setenv(env_var("imap"), imap_user.password)
    monkeypatch.setenv(env_var("smtp"), SMTP_PASSWORD)
    config = Config(
        imap=imap,
        smtp=SmtpSection(
            host=smtp_server.host,
            port=smtp_server.port,
            security="starttls",
            username=SMTP_USER,
            from_address=FROM,
            from_name="Omaolo-koordinaattori",
            ca_file=str(smtp_server.ca_file),
        ),
    )
    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen")
        await pilot.press("3")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, RequestsScreen) and app.screen.request_list.current_row() is not None
            ),
            "the request in the list",
        )
        screen = app.screen
        assert isinstance(screen, RequestsScreen)
        assert screen.request_list.current_row().id == created.id  # type: ignore[union-attr]
        await pilot.press("r")
        await until(
            pilot,
            lambda: isinstance(app.screen, ComposeScreen) and app.screen.canned is not None,
            "the editor",
        )
        compose = app.screen
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, CannedPicker), "the canned replies")
        await pilot.press(*"kuittaus", "space", "f", "i", "enter")
        await until(pilot, lambda: app.screen is compose, "the canned reply inserted")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RequestsScreen), "sent, and back to the list")
        await until(pilot, lambda: bool(db.last_reply_at(store, created.id)), "the reply recorded")

    # What the requester got.
    (received,) = smtp_server.wait_for_messages(1)
    assert received.rcpt_tos == ("ville@kunta.example.fi",) and received.tls and received.login == SMTP_USER
    sent = email.message_from_bytes(received.data, policy=default)
    assert str(sent["Subject"]) == f"[{created.reference}] Tunnukset uudelle hoitajalle"
    assert str(sent["In-Reply-To"]) == ORIGINAL_ID
    assert str(sent["References"]) == ORIGINAL_ID
    our_id = str(sent["Message-ID"]).strip()  # a long one is folded onto its own line
    assert db.reference_in_message_id(our_id) == created.reference
    text = sent.get_body().get_content()  # type: ignore[union-attr]
    assert text.startswith("Hei Ville Virkkunen,")
    assert ORIGINAL_TEXT[:30] not in text and ">" not in text  # nothing quoted

    # The copy in Sent, and the request's record of it.
    with dovecot.connect(user) as client:
        client.select_folder("Sent", readonly=True)
        uids = client.search(["HEADER", "Message-ID", our_id])
        assert len(uids) == 1
        assert b"\\Seen" in client.get_flags(uids)[uids[0]]
    (event,) = [e for e in db.history(store, created.id) if e.kind == "mail_out"]
    assert (event.new, event.old) == (our_id, "ville@kunta.example.fi")
    replied = db.get_request(store, created.id)
    assert replied is not None and replied.first_response_at is not None
    assert requests.unanswered(created.id) == []

    # The requester answers without the tag in the subject: our Message-ID alone finds the request.
    waiting = requests.set_status(created.id, replied.version, rules.WAITING_REQUESTER)
    dovecot.deliver(
        "INBOX",
        plain(
            "VS: Tunnukset",
            "Kiitos, tunnukset toimivat.\n",
            "<vastaus-1@kunta.example.fi>",
            sender="Ville Virkkunen <ville@kunta.example.fi>",
            in_reply_to=our_id,
            references=our_id,
        ),
        user=user,
    )
    report = sync_account(store, imap, imap_user.password)
    assert report.ok, report.error
    assert report.folder("INBOX").linked == 1
    assert (mail_id(store, "<vastaus-1@kunta.example.fi>"), "header") in db.linked_mail(store, created.id)
    reopened = db.get_request(store, created.id)
    assert reopened is not None
    assert reopened.status == rules.IN_PROGRESS and reopened.version > waiting.version
    assert [m.from_addr for m in requests.unanswered(created.id)] == ["ville@kunta.example.fi"]

    # The Sent copy was linked as ours by the same sync (link_sent_copies on the Sent folder).
    assert (mail_id(store, our_id), "sent") in db.linked_mail(store, created.id)
