"""Notices sent to a real SMTP server (aiosmtpd, STARTTLS + AUTH) with the copy in Dovecot's Sent.

A thread of create → update → resolve; recipients only in the envelope; 4xx retried, 5xx recorded,
a server's recipient cap, a connection cut in the middle of a batch, and a sender killed after the
server accepted the text: it is never sent again. Also the Atom feed, read back with feedparser.
"""

from __future__ import annotations

import email
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.policy import default
from pathlib import Path
from typing import Any

import feedparser
import pytest
from imapclient.imapclient import SEEN
from sqlmodel import select

from coordinator_tui import i18n
from coordinator_tui.config import ImapSection, SmtpSection
from coordinator_tui.hetu import check_character
from coordinator_tui.notices import recipients, send
from coordinator_tui.notices.compose import NoticeDraft, NoticeRefused
from coordinator_tui.outgoing import recover_interrupted
from store import notices as notice_store
from store.engine import Store, open_store, url_for_path
from store.models import ListMember, MailingList, Outbox, Person
from store.outbox import OutboxStateError, deliveries
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.messages import smtp_section_for
from tests.support.notice_directory import Directory, build_directory
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

FROM = "omaolo@pohde.example.fi"
START = datetime(2026, 11, 23, 8, 15, tzinfo=UTC)
NOTICE_LIST = ["anu@liminka.example.fi", "ville@liminka.example.fi", "sari@kempele.example.fi"]


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_language("en")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield store
    store.dispose()


@pytest.fixture
def directory(store: Store) -> Directory:
    return build_directory(store)


def smtp_section(server: SmtpServer, **overrides: Any) -> SmtpSection:
    return smtp_section_for(server, **{"from_name": "Omaolo-koordinaattori", **overrides})


def imap_section(account: ImapAccount) -> ImapSection:
    return ImapSection(
        host=account.host,
        port=account.port,
        security="tls",
        username=account.username,
        ca_file=str(account.ca_file),
    )


def draft(**changes: object) -> NoticeDraft:
    values: dict[str, object] = {
        "kind": "häiriö",
        "services": ["työjonolähetys"],
        "start_at": START,
        "expected_end_at": START + timedelta(hours=4),
        "impact": "Oirearviot eivät siirry työjonoihin; yhteydenottopyynnöt eivät tavoita yksikköä.",
        "instructions": "Ohjatkaa kiireelliset asiakkaat Päivystysapuun 116117.\nHätätilanteessa 112.",
        "contact": f"Omaolo-koordinaattori, {FROM}",
        "text_sv": "Störning i Omaolos arbetskö. Be klienterna ringa Jourhjälpen 116117. Åbo, Närpes.",
    }
    values.update(changes)
    return NoticeDraft(**values)  # type: ignore[arg-type]


def quick(**options: Any) -> dict[str, Any]:
    """Send options for tests: no real waiting between retries, the waits recorded."""
    waits: list[float] = []
    options.setdefault("sleep", waits.append)
    options.setdefault("backoff", 0.01)
    return options


def add_people(store: Store, count: int) -> list[str]:
    """``count`` more people on a new static list; returns their addresses."""
    with store.session() as session:
        listing = MailingList(name="Iso lista")
        session.add(listing)
        session.flush()
        addresses = []
        for number in range(count):
            person = Person(name=f"Henkilö {number}", email=f"h{number:03d}@verkosto.example.fi")
            session.add(person)
            session.flush()
            session.add(ListMember(list_id=listing.id, person_id=person.id))
            addresses.append(person.email)
    return addresses


# --- the thread ----------------------------------------------------------------------------------


def test_create_update_resolve_is_one_thread_with_bcc_only_and_a_sent_copy(
    store: Store,
    directory: Directory,
    smtp_server: SmtpServer,
    dovecot: Dovecot,
    imap_user: ImapAccount,
    tmp_path: Path,
) -> None:
    choice = recipients.Choice(lists=[directory.notice_list])
    atom = tmp_path / "www" / "tiedotteet.xml"
    section = smtp_section(smtp_server)
    options = quick(imap=imap_section(imap_user), imap_password=imap_user.password, atom_path=atom)
    steps = [
        draft(),
        draft(status="syy tunnistettu", changes="Syy tunnistettu: integraation varmenne vanheni."),
        draft(
            status="korjattu",
            actual_end_at=START + timedelta(hours=2, minutes=15),
            changes="Varmenne uusittu; työjono toimii.",
            text_sv="Störningen har åtgärdats. Åbo, Närpes.",
        ),
    ]
    notice_id: int | None = None
    for step in steps:
        queued, _built = send.queue(
            store, notice_id, step, choice, from_address=FROM, from_name="Omaolo-koordinaattori"
        )
        notice_id = queued.notice_id
        result = send.send_version(store, queued.version_id, section, SMTP_PASSWORD, **options)
        assert result.state == "sent", result.error
        assert result.error == "" and result.sent_copy_error == "" and result.feed_error == ""
        assert (result.connections, result.messages) == (1, 1)
    received = smtp_server.wait_for_messages(3)
    parsed = [email.message_from_bytes(message.data, policy=default) for message in received]
    for message in received:
        assert message.tls and message.login == SMTP_USER and message.mail_from == FROM
        assert sorted(message.rcpt_tos) == sorted(NOTICE_LIST)
        for address in NOTICE_LIST:  # Bcc: in the envelope, never in the headers or the text
            assert address.encode() not in message.data
        assert message.data.isascii()
    root = str(parsed[0]["Message-ID"])
    assert root == notice_store.get_notice(store, notice_id).thread_message_id  # type: ignore[arg-type]
    subject = "HÄIRIÖTIEDOTE: Omaolo – työjonolähetys – 23.11.2026 klo 10.15"
    assert [str(p["Subject"]) for p in parsed] == [subject, f"PÄIVITYS: {subject}", f"KORJATTU: {subject}"]
    assert "In-Reply-To" not in parsed[0]
    for later in parsed[1:]:
        assert later["In-Reply-To"] == root and later["References"] == root
    for message in parsed:
        assert message["To"].addresses[0].addr_spec == FROM
        assert "Bcc" not in message and "Cc" not in message
        assert message["Auto-Submitted"] == "auto-generated"
        assert email.utils.parsedate_to_datetime(str(message["Date"])).tzinfo is not None
        assert message["Content-Transfer-Encoding"] == "quoted-printable"
        assert message.get_content_charset() == "utf-8"
    texts = [p.get_content().replace("\r\n", "\n") for p in parsed]
    assert texts[0].startswith("TILANNE: TUTKITAAN")
    assert texts[1].startswith("TILANNE: SYY TUNNISTETTU (päivitys 2,")
    assert "Muutokset edelliseen tiedotteeseen:\n- Syy tunnistettu" in texts[1]
    assert texts[2].startswith("TILANNE: KORJATTU – häiriö kesti 2 h 15 min")
    # Swedish and the letters ä ö å survive quoted-printable both ways.
    assert "---- På svenska ----" in texts[0] and "LÄGE: UNDERSÖKS" in texts[0]
    assert "Åbo, Närpes" in texts[2] and "LÄGE: ÅTGÄRDAT – störningen varade 2 h 15 min" in texts[2]
    assert b"=C3=A4" in received[0].data and b"=C3=B6" in received[0].data and b"=C3=85" in received[0].data
    statuses = {(d.recipient, d.status) for d in deliveries(store, result.outbox_id)}
    assert statuses == {(address, "accepted") for address in NOTICE_LIST}
    notice = notice_store.get_notice(store, notice_id)  # type: ignore[arg-type]
    assert not notice.is_open and notice.status == "korjattu"
    assert all(
        v.sent_at is not None and v.outbox_state == "sent" for v in notice_store.versions(store, notice.id)
    )

    client = dovecot.connect(imap_user.username)
    try:
        client.select_folder("Sent", readonly=True)
        for message in parsed:
            (uid,) = client.search(["HEADER", "Message-ID", str(message["Message-ID"])])
            assert SEEN in client.get_flags([uid])[uid]
    finally:
        client.logout()

    feed = feedparser.parse(atom.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [entry.title for entry in feed.entries] == [
        f"KORJATTU: {subject}",
        f"PÄIVITYS: {subject}",
        subject,
    ]
    assert "Päivystysapuun 116117" in feed.entries[2].summary
    assert len({entry.id for entry in feed.entries}) == 3
    assert oct(atom.stat().st_mode & 0o777) == "0o644"


def test_a_failed_sent_copy_is_noted_and_the_send_still_counts(
    store: Store, directory: Directory, smtp_server: SmtpServer, imap_user: ImapAccount
) -> None:
    queued, _built = send.queue(
        store, None, draft(), recipients.Choice(lists=[directory.steering]), from_address=FROM
    )
    result = send.send_version(
        store,
        queued.version_id,
        smtp_section(smtp_server),
        SMTP_PASSWORD,
        **quick(imap=imap_section(imap_user), imap_password="väärä-salasana"),
    )
    assert result.state == "sent" and result.accepted == ["anu@liminka.example.fi"]
    assert result.sent_copy_error.startswith("The copy in Sent was not saved")
    assert "väärä-salasana" not in result.sent_copy_error
    version = notice_store.version(store, queued.version_id)
    assert version.outbox_state == "sent" and "The copy in Sent was not saved" in version.outbox_error


# --- per-recipient results -----------------------------------------------------------------------


def test_a_4xx_is_retried_with_backoff_and_a_5xx_is_recorded(
    store: Store, directory: Directory, smtp_server: SmtpServer
) -> None:
    smtp_server.defer_recipient("ville@liminka.example.fi", times=1)
    smtp_server.reject_recipient("sari@kempele.example.fi")
    queued, _built = send.queue(
        store, None, draft(), recipients.Choice(lists=[directory.notice_list]), from_address=FROM
    )
    waits: list[float] = []
    result = send.send_version(
        store, queued.version_id, smtp_section(smtp_server), SMTP_PASSWORD, **quick(sleep=waits.append)
    )
    assert result.state == "sent"
    assert waits == [0.01]  # one round of backoff
    assert result.connections == 1
    assert sorted(result.accepted) == ["anu@liminka.example.fi", "ville@liminka.example.fi"]
    assert (
        list(result.refused) == ["sari@kempele.example.fi"]
        and "550" in result.refused["sari@kempele.example.fi"]
    )
    assert "sari@kempele.example.fi" in result.error and "550" in result.error
    by = {d.recipient: d for d in deliveries(store, queued.outbox_id)}
    assert (by["sari@kempele.example.fi"].status, by["ville@liminka.example.fi"].status) == (
        "refused",
        "accepted",
    )
    assert "550" in by["sari@kempele.example.fi"].smtp_reply
    received = smtp_server.wait_for_messages(2)
    assert [m.rcpt_tos for m in received] == [("anu@liminka.example.fi",), ("ville@liminka.example.fi",)]


def test_a_4xx_that_never_clears_is_shown_and_can_be_resumed(
    store: Store, directory: Directory, smtp_server: SmtpServer
) -> None:
    smtp_server.defer_recipient("ville@liminka.example.fi", times=3, reply="450 4.2.1 Mailbox busy")
    queued, _built = send.queue(
        store, None, draft(), recipients.Choice(lists=[directory.notice_list]), from_address=FROM
    )
    waits: list[float] = []
    result = send.send_version(
        store, queued.version_id, smtp_section(smtp_server), SMTP_PASSWORD, **quick(sleep=waits.append)
    )
    assert result.state == "sent" and waits == [0.01, 0.02]  # doubled each round
    assert result.deferred == {"ville@liminka.example.fi": "450 4.2.1 Mailbox busy"}
    assert "Put off by the server" in result.error
    assert {d.recipient: d.status for d in deliveries(store, queued.outbox_id)}[
        "ville@liminka.example.fi"
    ] == "retry"
    again = send.resume_version(store, queued.version_id, smtp_section(smtp_server), SMTP_PASSWORD, **quick())
    assert again.state == "sent" and again.accepted == ["ville@liminka.example.fi"]
    counted = Counter(address for m in smtp_server.wait_for_messages(2) for address in m.rcpt_tos)
    assert counted == Counter(NOTICE_LIST)  # each exactly once


def test_a_recipient_cap_splits_the_batch_over_one_connection(
    store: Store, directory: Directory, smtp_server: SmtpServer
) -> None:
    addresses = add_people(store, 23)
    smtp_server.max_recipients = 10
    queued, _built = send.queue(
        store, None, draft(), recipients.Choice(lists=["Iso lista"]), from_address=FROM
    )
    result = send.send_version(store, queued.version_id, smtp_section(smtp_server), SMTP_PASSWORD, **quick())
    assert result.state == "sent", result.error
    assert (result.connections, result.messages) == (1, 3)
    received = smtp_server.wait_for_messages(3)
    assert [len(m.rcpt_tos) for m in received] == [10, 10, 3]
    assert Counter(a for m in received for a in m.rcpt_tos) == Counter(addresses)
    assert {m.data for m in received} == {received[0].data}  # the same text to every chunk
    chunked = send.queue(store, None, draft(), recipients.Choice(lists=["Iso lista"]), from_address=FROM)[0]
    smtp_server.clear()
    result = send.send_version(
        store, chunked.version_id, smtp_section(smtp_server), SMTP_PASSWORD, **quick(max_per_message=8)
    )
    assert [len(m.rcpt_tos) for m in smtp_server.wait_for_messages(3)] == [8, 8, 7]


def test_a_connection_cut_mid_batch_resumes_where_it_stopped(
    store: Store, directory: Directory, smtp_server: SmtpServer
) -> None:
    addresses = add_people(store, 7)
    smtp_server.drop_after_recipients = 4  # the 5th RCPT finds the line dead
    queued, _built = send.queue(
        store, None, draft(), recipients.Choice(lists=["Iso lista"]), from_address=FROM
    )
    result = send.send_version(
        store, queued.version_id, smtp_section(smtp_server), SMTP_PASSWORD, **quick(max_per_message=3)
    )
    assert smtp_server.dropped.is_set()
    assert result.state == "sent", result.error
    assert result.connections == 2
    received = smtp_server.wait_for_messages(3)
    assert Counter(a for m in received for a in m.rcpt_tos) == Counter(addresses)  # nobody twice, nobody lost
    assert {d.status for d in deliveries(store, queued.outbox_id)} == {"accepted"}


def test_a_server_that_stays_down_leaves_the_rest_waiting_for_a_resume(
    store: Store, directory: Directory, tls_files: Any
) -> None:
    addresses = add_people(store, 5)
    server = SmtpServer(tls_files)
    server.start()
    try:
        server.drop_after_recipients = 2
        queued, _built = send.queue(
            store, None, draft(), recipients.Choice(lists=["Iso lista"]), from_address=FROM
        )
        section = smtp_section(server)
        original_connect = send.connect
        calls: list[int] = []

        def connect_then_stop(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) > 1:
                server.stop()  # the server goes away after the first connection
            return original_connect(*args, **kwargs)

        send.connect = connect_then_stop  # type: ignore[assignment]
        try:
            result = send.send_version(
                store, queued.version_id, section, SMTP_PASSWORD, **quick(max_per_message=2)
            )
        finally:
            send.connect = original_connect  # type: ignore[assignment]
        assert result.state == "sent"
        assert result.accepted == addresses[:2]
        assert result.waiting == addresses[2:]
        assert "3 recipients were not reached" in result.error and "resume" in result.error
        server.start()
        again = send.resume_version(store, queued.version_id, smtp_section(server), SMTP_PASSWORD, **quick())
        assert again.state == "sent" and again.accepted == addresses[2:]
        with pytest.raises(OutboxStateError):
            send.resume_version(store, queued.version_id, smtp_section(server), SMTP_PASSWORD, **quick())
        assert Counter(a for m in server.messages for a in m.rcpt_tos) == Counter(addresses)  # each once
    finally:
        server.stop()


# --- a sender killed after the server accepted -----------------------------------------------------

KILLED_SENDER = """
import os, signal, sys
from coordinator_tui.config import SmtpSection
from coordinator_tui.notices import send
from store.engine import open_store, url_for_path

def die(outbox_id, chunk):  # the server said 250; the store has not recorded it yet
    os.kill(os.getpid(), signal.SIGKILL)

send._after_data = die
store = open_store(url_for_path(sys.argv[1]))
section = SmtpSection(host="127.0.0.1", port=int(sys.argv[2]), security="starttls", username=sys.argv[3],
                      from_address="omaolo@pohde.example.fi", ca_file=sys.argv[4])
send.send_version(store, int(sys.argv[5]), section, sys.argv[6], backoff=0.01)
print("returned", flush=True)
"""


def test_a_sender_killed_after_the_server_accepted_is_never_resent(
    store: Store, directory: Directory, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    queued, _built = send.queue(
        store, None, draft(), recipients.Choice(lists=[directory.notice_list]), from_address=FROM
    )
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_SENDER,
            str(tmp_path / "store.sqlite"),
            str(smtp_server.port),
            SMTP_USER,
            str(smtp_server.ca_file),
            str(queued.version_id),
            SMTP_PASSWORD,
        ],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr.decode(errors="replace")
    assert b"returned" not in process.stdout
    assert len(smtp_server.wait_for_messages(1)) == 1  # the server has it
    assert notice_store.version(store, queued.version_id).outbox_state == "sending"
    assert recover_interrupted(store) == 1  # start-up after the crash
    version = notice_store.version(store, queued.version_id)
    assert version.outbox_state == "unknown" and "not sent again" in version.outbox_error
    assert version.message_id == queued.message_id
    assert {d.status for d in deliveries(store, queued.outbox_id)} == {"unknown"}
    for attempt in (send.send_version, send.resume_version):
        with pytest.raises(OutboxStateError):
            attempt(store, queued.version_id, smtp_section(smtp_server), SMTP_PASSWORD, **quick())
    assert len(smtp_server.messages) == 1  # no duplicate


# --- scheduled versions and the demo ----------------------------------------------------------------


def test_send_due_sends_only_what_is_due_and_the_demo_nothing(
    store: Store, directory: Directory, smtp_server: SmtpServer
) -> None:
    choice = recipients.Choice(lists=[directory.steering])
    now = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    maintenance = draft(kind="huoltokatko", status="aikataulutettu", services=["koko palvelu"], text_sv="")
    ahead, _built = send.queue(
        store, None, maintenance, choice, from_address=FROM, scheduled_at=now + timedelta(days=2)
    )
    due, _built = send.queue(
        store, None, maintenance, choice, from_address=FROM, scheduled_at=now - timedelta(minutes=1)
    )
    demo, demo_built = send.queue(store, None, maintenance, choice, from_address=FROM, demo=True)
    assert demo_built.message_id.endswith(".invalid>")
    results = send.send_due(store, smtp_section(smtp_server), SMTP_PASSWORD, now=now, **quick())
    assert [r.version_id for r in results] == [due.version_id] and results[0].state == "sent"
    assert notice_store.version(store, ahead.version_id).outbox_state == "queued"
    assert notice_store.version(store, demo.version_id).outbox_state == "demo"
    assert send.send_due(store, smtp_section(smtp_server), SMTP_PASSWORD, now=now, **quick()) == []
    (received,) = smtp_server.wait_for_messages(1)
    assert str(email.message_from_bytes(received.data, policy=default)["Subject"]).startswith(
        "HUOLTOKATKO: Omaolo"
    )
    later = send.send_due(
        store, smtp_section(smtp_server), SMTP_PASSWORD, now=now + timedelta(days=3), **quick()
    )
    assert [r.version_id for r in later] == [ahead.version_id]


# --- guards at the door ----------------------------------------------------------------------------


def test_a_dvv_test_identity_code_blocks_the_notice_before_anything_is_stored(
    store: Store, directory: Directory, smtp_server: SmtpServer
) -> None:
    code = "010101-9" + "23" + check_character("010101923")
    with pytest.raises(NoticeRefused) as caught:
        send.queue(
            store,
            None,
            draft(impact=f"Asiakkaan {code} arvio ei siirtynyt."),
            recipients.Choice(lists=[directory.notice_list]),
            from_address=FROM,
        )
    assert any("henkilötunnus" in problem and "010101-***" in problem for problem in caught.value.problems)
    with store.session() as session:
        assert session.exec(select(Outbox)).all() == []
    assert smtp_server.messages == []


def test_open_placeholders_block_the_notice(store: Store, directory: Directory) -> None:
    with pytest.raises(NoticeRefused, match=r"still open: \{expected_end\}"):
        send.queue(
            store,
            None,
            draft(text_fi="Korjaus arviolta {expected_end}."),
            recipients.Choice(lists=[directory.notice_list]),
            from_address=FROM,
        )
