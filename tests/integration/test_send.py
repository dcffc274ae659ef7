"""Sending through the outbox to a real SMTP server (aiosmtpd) and the copy in Sent (Dovecot).

Also: a wrong password, refused recipients, an unreachable or unverified server, a connection
that breaks after the text was sent, and a sending process killed with SIGKILL: the row it leaves
becomes "unknown" and is never sent again.
"""

from __future__ import annotations

import email
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.policy import default
from pathlib import Path

import pytest
from imapclient.imapclient import ANSWERED, SEEN
from sqlmodel import select

from coordinator_tui import i18n
from coordinator_tui.config import ImapSection, SmtpSection
from coordinator_tui.mail.compose import Draft, build_message, envelope_recipients, reply_draft
from coordinator_tui.mail.send import file_sent_copy, send_outbox
from coordinator_tui.mail.sync import sync_account
from coordinator_tui.outgoing import queue_message, recover_interrupted
from store.engine import Store, open_store, url_for_path
from store.models import MailMessage, Outbox
from store.outbox import OutboxStateError, deliveries, outgoing_message
from tests.support.dovecot import Dovecot, ImapAccount, free_port
from tests.support.messages import smtp_section_for
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

FROM = "omaolo@pohde.example.fi"
SECRET_LINE = "Minulla on ollut rintakipua kolme päivää."
ORIGINAL_ID = "<palaute-77@asiakas.example.fi>"


@pytest.fixture(autouse=True)
def english() -> None:
    """Error texts are asserted in English (the message ids), whatever the catalog holds."""
    i18n.set_language("en")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield store
    store.dispose()


def imap_section(account: ImapAccount) -> ImapSection:
    return ImapSection(
        host=account.host,
        port=account.port,
        security="tls",
        username=account.username,
        ca_file=str(account.ca_file),
    )


def customer_feedback() -> bytes:
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Päivi Meriläinen <paivi@asiakas.example.fi>"
    message["To"] = f"Omaolo <{FROM}>"
    message["Cc"] = "Sari Öhman <sari@pohde.example.fi>"
    message["Subject"] = "VS: Palaute Omaolon oirearviosta"
    message["Message-ID"] = ORIGINAL_ID
    message["References"] = "<alku-1@pohde.example.fi>"
    message["In-Reply-To"] = "<alku-1@pohde.example.fi>"
    message["Date"] = "Thu, 26 Nov 2026 09:30:00 +0200"
    message.set_content(f"Hei,\n{SECRET_LINE}\nPäivi\n", charset="utf-8", cte="8bit")
    return message.as_bytes()


def queue_reply(store: Store) -> tuple[int, Draft]:
    """A stored original and a queued reply to it (reply-all), as the compose screen queues it."""
    with store.session() as session:
        from store.models import MailFolder

        folder = MailFolder(name="INBOX", role="inbox")
        session.add(folder)
        session.flush()
        original = MailMessage(
            folder_id=folder.id,  # type: ignore[arg-type]
            uid=1,
            message_id=ORIGINAL_ID,
            in_reply_to="<alku-1@pohde.example.fi>",
            references="<alku-1@pohde.example.fi>",
            subject="VS: Palaute Omaolon oirearviosta",
            from_name="Päivi Meriläinen",
            from_addr="paivi@asiakas.example.fi",
            to_addrs=f"Omaolo <{FROM}>",
            cc_addrs="Sari Öhman <sari@pohde.example.fi>",
            body_text=f"Hei,\n{SECRET_LINE}\nPäivi\n",
        )
        session.add(original)
        session.flush()
        original_id = original.id
    assert original_id is not None
    draft = reply_draft(store, original_id, reply_all=True, own_addresses=[FROM])
    draft.body = (
        "Hei Päivi,\n\nkiitos palautteestasi – välitämme sen Omaolon kehittäjille.\n\nTerveisin\nOmaolo"
    )
    message = build_message(draft, from_address=FROM, from_name="Omaolo-koordinaattori")
    outbox_id = queue_message(store, message, envelope_recipients(draft), kind="reply", demo=False)
    return outbox_id, draft


def state_of(store: Store, outbox_id: int) -> tuple[str, str]:
    row = outgoing_message(store, outbox_id)
    return row.state, row.error


# --- a real send ---------------------------------------------------------------------------------


def test_a_reply_goes_out_over_starttls_with_auth_and_threading(
    store: Store, smtp_server: SmtpServer
) -> None:
    outbox_id, _draft = queue_reply(store)
    result = send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD)
    assert result.state == "sent", result.error
    assert result.error == ""
    (received,) = smtp_server.wait_for_messages(1)
    assert received.tls and received.login == SMTP_USER
    assert received.mail_from == FROM
    assert sorted(received.rcpt_tos) == ["paivi@asiakas.example.fi", "sari@pohde.example.fi"]
    parsed = email.message_from_bytes(received.data, policy=default)
    assert str(parsed["Subject"]) == "Re: Palaute Omaolon oirearviosta"
    assert parsed["In-Reply-To"] == ORIGINAL_ID
    assert parsed["References"] == f"<alku-1@pohde.example.fi> {ORIGINAL_ID}"
    assert str(parsed["Message-ID"]).endswith("@pohde.example.fi>")
    assert str(parsed["Message-ID"]) == outgoing_message(store, outbox_id).message_id
    assert email.utils.parsedate_to_datetime(str(parsed["Date"])).tzinfo is not None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["paivi@asiakas.example.fi"]
    assert [a.addr_spec for a in parsed["Cc"].addresses] == ["sari@pohde.example.fi"]
    body = parsed.get_body()
    assert body is not None
    assert body["Content-Transfer-Encoding"] == "quoted-printable"
    assert body.get_content_charset() == "utf-8"
    assert "kiitos palautteestasi – välitämme" in body.get_content()
    assert received.data.isascii()
    # The original is never quoted: not its text, not a "wrote:" line.
    assert b"rintakipua" not in received.data
    assert SECRET_LINE not in body.get_content()
    assert "kirjoitti" not in body.get_content() and "wrote" not in body.get_content()
    assert state_of(store, outbox_id) == ("sent", "")
    assert {(d.recipient, d.status) for d in deliveries(store, outbox_id)} == {
        ("paivi@asiakas.example.fi", "accepted"),
        ("sari@pohde.example.fi", "accepted"),
    }


def test_implicit_tls_works_too(store: Store, tls_files) -> None:  # type: ignore[no-untyped-def]
    with SmtpServer(tls_files, tls="implicit") as server:
        outbox_id, _draft = queue_reply(store)
        result = send_outbox(store, outbox_id, smtp_section_for(server, security="tls"), SMTP_PASSWORD)
        assert result.state == "sent", result.error
        assert server.wait_for_messages(1)[0].tls


def test_a_row_is_never_sent_twice(store: Store, smtp_server: SmtpServer) -> None:
    outbox_id, _draft = queue_reply(store)
    assert send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD).ok
    with pytest.raises(OutboxStateError):
        send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD)
    assert len(smtp_server.messages) == 1


def test_a_demo_row_is_never_sent(store: Store, smtp_server: SmtpServer) -> None:
    message = build_message(Draft(to="a@pohde.example.fi", subject="Demo", body="x"), from_address=FROM)
    outbox_id = queue_message(store, message, ["a@pohde.example.fi"], demo=True)
    with pytest.raises(OutboxStateError):
        send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD)
    assert smtp_server.messages == []
    assert state_of(store, outbox_id)[0] == "demo"


# --- failures in words ---------------------------------------------------------------------------


def test_a_wrong_password_fails_with_words_and_sends_nothing(store: Store, smtp_server: SmtpServer) -> None:
    outbox_id, _draft = queue_reply(store)
    result = send_outbox(store, outbox_id, smtp_section_for(smtp_server), "väärä-salasana")
    assert result.state == "failed"
    state, error = state_of(store, outbox_id)
    assert state == "failed"
    assert "refused the login" in error and SMTP_USER in error
    assert "väärä-salasana" not in error
    assert smtp_server.messages == []


def test_a_refused_recipient_is_recorded_and_the_others_get_it(store: Store, smtp_server: SmtpServer) -> None:
    smtp_server.reject_recipient("sari@pohde.example.fi")
    outbox_id, _draft = queue_reply(store)
    result = send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD)
    assert result.state == "sent"
    assert result.accepted == ["paivi@asiakas.example.fi"]
    assert list(result.refused) == ["sari@pohde.example.fi"]
    state, error = state_of(store, outbox_id)
    assert state == "sent"
    assert "sari@pohde.example.fi" in error and "550" in error
    by_recipient = {d.recipient: d for d in deliveries(store, outbox_id)}
    assert by_recipient["sari@pohde.example.fi"].status == "refused"
    assert "550" in by_recipient["sari@pohde.example.fi"].smtp_reply
    assert by_recipient["paivi@asiakas.example.fi"].status == "accepted"
    assert smtp_server.wait_for_messages(1)[0].rcpt_tos == ("paivi@asiakas.example.fi",)


def test_every_recipient_refused_is_a_failure(store: Store, smtp_server: SmtpServer) -> None:
    smtp_server.reject_recipient("sari@pohde.example.fi", "450 4.2.1 Mailbox busy, try later")
    smtp_server.reject_recipient("paivi@asiakas.example.fi")
    outbox_id, _draft = queue_reply(store)
    result = send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD)
    assert result.state == "failed"
    assert "450" in result.error and "550" in result.error
    statuses = {d.recipient: d.status for d in deliveries(store, outbox_id)}
    assert statuses == {"sari@pohde.example.fi": "retry", "paivi@asiakas.example.fi": "refused"}
    assert smtp_server.messages == []


def test_a_refused_message_text_is_a_failure(store: Store, smtp_server: SmtpServer) -> None:
    smtp_server.data_reply = "554 5.7.1 Message rejected as spam"
    outbox_id, _draft = queue_reply(store)
    result = send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD)
    assert result.state == "failed"
    assert "554" in result.error
    assert {d.status for d in deliveries(store, outbox_id)} == {"refused"}


def test_an_unreachable_server_fails_with_words(store: Store) -> None:
    outbox_id, _draft = queue_reply(store)
    section = SmtpSection(host="127.0.0.1", port=free_port(), security="tls", username="x", from_address=FROM)
    result = send_outbox(store, outbox_id, section, "salasana")
    assert result.state == "failed"
    assert "127.0.0.1" in result.error and "refused the connection" in result.error


def test_an_unverified_certificate_is_refused(store: Store, smtp_server: SmtpServer) -> None:
    outbox_id, _draft = queue_reply(store)
    result = send_outbox(store, outbox_id, smtp_section_for(smtp_server, ca_file=""), SMTP_PASSWORD)
    assert result.state == "failed"
    assert "ca_file" in result.error
    assert smtp_server.messages == []


def test_a_missing_ca_file_is_said_plainly(store: Store, smtp_server: SmtpServer, tmp_path: Path) -> None:
    outbox_id, _draft = queue_reply(store)
    section = smtp_section_for(smtp_server, ca_file=str(tmp_path / "ei-ole.pem"))
    result = send_outbox(store, outbox_id, section, SMTP_PASSWORD)
    assert result.state == "failed" and "ei-ole.pem" in result.error


# --- the copy in Sent ----------------------------------------------------------------------------


def test_the_sent_copy_is_appended_seen_and_the_original_marked_answered(
    store: Store, smtp_server: SmtpServer, dovecot: Dovecot, imap_user: ImapAccount
) -> None:
    dovecot.deliver("INBOX", customer_feedback(), user=imap_user.username)
    section = imap_section(imap_user)
    sync_account(store, section, imap_user.password)
    with store.session() as session:
        original = session.exec(select(MailMessage).where(MailMessage.message_id == ORIGINAL_ID)).one()
        original_id = original.id
    assert original_id is not None
    draft = reply_draft(store, original_id, reply_all=False, own_addresses=[FROM])
    assert "rintakipua" not in draft.body
    draft.body = "Kiitos palautteesta."
    message = build_message(draft, from_address=FROM)
    outbox_id = queue_message(store, message, envelope_recipients(draft), kind="reply", demo=False)
    assert send_outbox(store, outbox_id, smtp_section_for(smtp_server), SMTP_PASSWORD).ok

    problem = file_sent_copy(
        store, section, imap_user.password, message.as_bytes(), answered_message_id=original_id
    )
    assert problem == ""
    client = dovecot.connect(imap_user.username)
    try:
        client.select_folder("Sent", readonly=True)
        uids = client.search(["HEADER", "Message-ID", str(message["Message-ID"])])
        assert len(uids) == 1
        fetched = client.fetch(uids, ["FLAGS", "RFC822"])[uids[0]]
        assert SEEN in fetched[b"FLAGS"]
        assert fetched[b"RFC822"].replace(b"\r\n", b"\n") == message.as_bytes().replace(b"\r\n", b"\n")
        client.select_folder("INBOX", readonly=True)
        (inbox_uid,) = client.search(["HEADER", "Message-ID", ORIGINAL_ID])
        assert ANSWERED in client.get_flags([inbox_uid])[inbox_uid]
    finally:
        client.logout()
    with store.session() as session:
        stored = session.get(MailMessage, original_id)
        assert stored is not None and stored.answered


def test_the_sent_folder_is_found_by_special_use_when_the_store_does_not_know_it(
    store: Store, dovecot: Dovecot, imap_user: ImapAccount
) -> None:
    message = build_message(Draft(to="a@pohde.example.fi", subject="Testi", body="x"), from_address=FROM)
    assert file_sent_copy(store, imap_section(imap_user), imap_user.password, message.as_bytes()) == ""
    client = dovecot.connect(imap_user.username)
    try:
        client.select_folder("Sent", readonly=True)
        assert len(client.search(["HEADER", "Message-ID", str(message["Message-ID"])])) == 1
    finally:
        client.logout()


def test_a_failed_sent_copy_is_reported_not_raised(store: Store, imap_user: ImapAccount) -> None:
    message = build_message(Draft(to="a@pohde.example.fi", subject="Testi", body="x"), from_address=FROM)
    problem = file_sent_copy(store, imap_section(imap_user), "väärä", message.as_bytes())
    assert problem.startswith("The copy in Sent was not saved")
    assert "väärä" not in problem


# --- a broken connection and a killed sender --------------------------------------------------------


class StallingSmtp:
    """A minimal SMTP server on loopback that takes the message text and then never answers it
    (``mode="stall"``) or hangs up (``mode="drop"``): the moment where delivery is unknown."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.text_received = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        connection, _address = self.listener.accept()
        with connection:
            reader = connection.makefile("rb")

            def say(line: str) -> None:
                connection.sendall(line.encode() + b"\r\n")

            say("220 stall.test.invalid ESMTP")
            in_data = False
            for line in reader:
                if in_data:
                    if line == b".\r\n":
                        self.text_received.set()
                        if self.mode == "drop":
                            return
                        self.done.wait(60)
                        return
                    continue
                command = line.decode("ascii", "replace").strip().upper()
                if command.startswith("EHLO"):
                    say("250-stall.test.invalid")
                    say("250-AUTH PLAIN")
                    say("250 8BITMIME")
                elif command.startswith("AUTH"):
                    say("235 2.7.0 OK")
                elif command.startswith(("MAIL", "RCPT")):
                    say("250 OK")
                elif command == "DATA":
                    say("354 go ahead")
                    in_data = True
                elif command == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 OK")

    def close(self) -> None:
        self.done.set()
        self.listener.close()


def plain_section(port: int) -> SmtpSection:
    return SmtpSection(host="127.0.0.1", port=port, security="none", username="u", from_address=FROM)


def test_a_connection_lost_after_the_text_leaves_the_row_unknown(store: Store) -> None:
    server = StallingSmtp("drop")
    try:
        outbox_id, _draft = queue_reply(store)
        result = send_outbox(store, outbox_id, plain_section(server.port), "salasana", timeout=10)
    finally:
        server.close()
    assert server.text_received.is_set()
    assert result.state == "unknown"
    state, error = state_of(store, outbox_id)
    assert state == "unknown" and error
    with pytest.raises(OutboxStateError):
        send_outbox(store, outbox_id, plain_section(server.port), "salasana")


SENDER_SCRIPT = """
import sys
from coordinator_tui import i18n
from coordinator_tui.config import SmtpSection
from coordinator_tui.mail.send import send_outbox
from store.engine import open_store, url_for_path

store = open_store(url_for_path(sys.argv[1]))
section = SmtpSection(host="127.0.0.1", port=int(sys.argv[2]), security="none", username="u",
                      from_address="omaolo@pohde.example.fi")
send_outbox(store, int(sys.argv[3]), section, "salasana", timeout=60)
print("returned", flush=True)
"""


def test_a_sender_killed_while_sending_leaves_unknown_and_nothing_is_resent(
    store: Store, tmp_path: Path
) -> None:
    """The process is killed with SIGKILL after the server has the whole text but before it answers."""
    server = StallingSmtp("stall")
    try:
        outbox_id, _draft = queue_reply(store)
        database = str(tmp_path / "store.sqlite")
        process = subprocess.Popen(
            [sys.executable, "-c", SENDER_SCRIPT, database, str(server.port), str(outbox_id)],
            cwd=Path(__file__).parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert server.text_received.wait(30), process.stderr.read() if process.poll() is not None else ""
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        assert process.returncode == -signal.SIGKILL
        assert b"returned" not in (process.stdout.read() if process.stdout else b"")
    finally:
        server.close()
    assert state_of(store, outbox_id)[0] == "sending"
    assert recover_interrupted(store) == 1
    state, error = state_of(store, outbox_id)
    assert state == "unknown"
    assert "not sent again" in error
    assert recover_interrupted(store) == 0
    with pytest.raises(OutboxStateError):
        send_outbox(store, outbox_id, plain_section(server.port), "salasana")


def test_recovery_leaves_other_states_alone(store: Store) -> None:
    message = build_message(Draft(to="a@pohde.example.fi", subject="Testi", body="x"), from_address=FROM)
    queued = queue_message(store, message, ["a@pohde.example.fi"], demo=False)
    assert recover_interrupted(store) == 0
    assert state_of(store, queued)[0] == "queued"


# --- the compose screen, sending for real ----------------------------------------------------------


async def test_the_compose_screen_sends_files_the_copy_and_marks_answered(
    store: Store,
    smtp_server: SmtpServer,
    dovecot: Dovecot,
    imap_user: ImapAccount,
    make_app,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textual.widgets import TextArea

    from coordinator_tui.config import Config
    from coordinator_tui.screens.compose import ComposeScreen

    dovecot.deliver("INBOX", customer_feedback(), user=imap_user.username)
    imap = imap_section(imap_user)
    sync_account(store, imap, imap_user.password)
    with store.session() as session:
        original = session.exec(select(MailMessage).where(MailMessage.message_id == ORIGINAL_ID)).one()
        original_id = original.id
    assert original_id is not None
    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", imap_user.password)
    config = Config(smtp=smtp_section_for(smtp_server), imap=imap)
    draft = reply_draft(store, original_id, reply_all=True, own_addresses=[FROM])
    app = make_app(store, demo=False, config=config, language="en")
    async with app.run_test(size=(130, 42)) as pilot:
        screen = ComposeScreen(draft)
        app.push_screen(screen)
        await pilot.pause(0.2)
        screen.query_one("#compose-body", TextArea).load_text("Kiitos palautteesta, välitämme sen eteenpäin.")
        await pilot.press("ctrl+s")
        for _ in range(500):
            await pilot.pause(0.02)
            if screen not in app.screen_stack:
                break
        assert screen not in app.screen_stack, screen.problem
    (received,) = smtp_server.wait_for_messages(1)
    assert sorted(received.rcpt_tos) == ["paivi@asiakas.example.fi", "sari@pohde.example.fi"]
    parsed = email.message_from_bytes(received.data, policy=default)
    assert parsed["In-Reply-To"] == ORIGINAL_ID
    assert b"rintakipua" not in received.data
    with store.session() as session:
        row = session.exec(select(Outbox)).one()
        assert (row.state, row.kind, row.error) == ("sent", "reply", "")
        assert session.get(MailMessage, original_id).answered  # type: ignore[union-attr]
    client = dovecot.connect(imap_user.username)
    try:
        client.select_folder("Sent", readonly=True)
        (uid,) = client.search(["HEADER", "Message-ID", str(parsed["Message-ID"])])
        assert SEEN in client.get_flags([uid])[uid]
    finally:
        client.logout()


async def test_the_compose_screen_shows_a_refused_login_and_stays(
    store: Store,
    smtp_server: SmtpServer,
    make_app,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from coordinator_tui.config import Config
    from coordinator_tui.screens.compose import ComposeScreen
    from tests.screen import screen_text

    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", "väärä")
    config = Config(smtp=smtp_section_for(smtp_server))
    app = make_app(store, demo=False, config=config, language="en")
    async with app.run_test(size=(130, 42)) as pilot:
        screen = ComposeScreen(Draft(to="a@pohde.example.fi", subject="Testi", body="Hei"))
        app.push_screen(screen)
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        for _ in range(500):
            await pilot.pause(0.02)
            if not screen.sending and screen.problem:
                break
        assert app.screen is screen
        assert "refused the login" in screen.problem
        assert "refused the login" in screen_text(app)
    assert smtp_server.messages == []
    with store.session() as session:
        assert session.exec(select(Outbox)).one().state == "failed"


def feedback_with_attachment(attachment_text: str) -> bytes:
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Sari Öhman <sari@pohde.example.fi>"
    message["To"] = FROM
    message["Subject"] = "Käyttäjälista liitteenä"
    message["Message-ID"] = "<lista-9@pohde.example.fi>"
    message["Date"] = "Tue, 24 Nov 2026 08:15:00 +0200"
    message.set_content("Liitteenä päivitetty lista.\n", charset="utf-8")
    message.add_attachment(
        attachment_text.encode(), maintype="text", subtype="csv", filename="kayttajat.csv", cte="base64"
    )
    return message.as_bytes()


async def forward_through_the_screen(
    store: Store, smtp_server: SmtpServer, dovecot: Dovecot, account: ImapAccount, make_app, raw: bytes
) -> tuple[str, bytes]:
    """Forward ``raw`` from the compose screen; returns the screen's attachment note and what arrived."""
    from textual.widgets import Input

    from coordinator_tui.config import Config
    from coordinator_tui.mail.compose import forward_draft
    from coordinator_tui.screens.compose import ComposeScreen

    dovecot.deliver("INBOX", raw, user=account.username)
    imap = imap_section(account)
    sync_account(store, imap, account.password)
    with store.session() as session:
        original = session.exec(select(MailMessage).where(MailMessage.has_attachments)).one()
        original_id = original.id
    assert original_id is not None
    config = Config(smtp=smtp_section_for(smtp_server), imap=imap)
    app = make_app(store, demo=False, config=config, language="en")
    async with app.run_test(size=(130, 42)) as pilot:
        screen = ComposeScreen(forward_draft(store, original_id))
        app.push_screen(screen)
        for _ in range(500):
            await pilot.pause(0.02)
            if "Fetching" not in str(screen.query_one("#compose-note").render()):
                break
        note = str(screen.query_one("#compose-note").render())
        screen.query_one("#compose-to", Input).value = "tuki@digifinland.example.fi"
        await pilot.press("ctrl+s")
        for _ in range(500):
            await pilot.pause(0.02)
            if screen not in app.screen_stack:
                break
        assert screen not in app.screen_stack, screen.problem
    (received,) = smtp_server.wait_for_messages(1)
    return note, received.data


async def test_a_forward_attaches_the_original_with_its_attachments(
    store: Store,
    smtp_server: SmtpServer,
    dovecot: Dovecot,
    imap_user: ImapAccount,
    make_app,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", imap_user.password)
    raw = feedback_with_attachment("nimi;yksikkö\nSari Öhman;Kaijonharju\n")
    note, data = await forward_through_the_screen(store, smtp_server, dovecot, imap_user, make_app, raw)
    assert "attached" in note
    parsed = email.message_from_bytes(data, policy=default)
    assert str(parsed["Subject"]) == "Fwd: Käyttäjälista liitteenä"
    (part,) = list(parsed.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    inner = part.get_content()
    assert inner["Message-ID"] == "<lista-9@pohde.example.fi>"
    (csv,) = list(inner.iter_attachments())
    assert csv.get_filename() == "kayttajat.csv"
    assert "Sari Öhman;Kaijonharju".encode() in csv.get_payload(decode=True)
    assert "Liitteenä päivitetty lista." in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_an_original_with_a_hetu_in_an_attachment_is_not_attached(
    store: Store,
    smtp_server: SmtpServer,
    dovecot: Dovecot,
    imap_user: ImapAccount,
    make_app,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", imap_user.password)
    raw = feedback_with_attachment("nimi;hetu\nMatti Meikäläinen;131052-308T\n")
    note, data = await forward_through_the_screen(store, smtp_server, dovecot, imap_user, make_app, raw)
    assert "not included" in note and "identity code" in note
    assert b"131052-308T" not in data
    parsed = email.message_from_bytes(data, policy=default)
    assert list(parsed.iter_attachments()) == []
    assert "131052-308T" not in parsed.get_body().get_content()  # type: ignore[union-attr]
