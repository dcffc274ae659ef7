"""IMAP sync against a real Dovecot: incremental by UID, flags by CONDSTORE, expunges, crashes."""

from __future__ import annotations

import base64
import imaplib
import itertools
import random
import subprocess
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.imapclient import FLAGGED, SEEN
from sqlmodel import select

from coordinator_tui import i18n
from coordinator_tui.config import ImapSection
from coordinator_tui.mail.imap import ImapError, close_quietly, connect
from coordinator_tui.mail.sync import HEADERS_LIMIT, PART_LIMIT, WHOLE_LIMIT, SyncReport, sync_account
from store import mail as mail_store
from store.engine import Store, open_store
from store.models import MailAttachment, MailFolder, MailMessage
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.messages import plain, section_for


@pytest.fixture(autouse=True)
def english_messages() -> None:
    """These tests read the error texts the code writes: in English, whatever the UI language."""
    i18n.set_language("en")  # tests/conftest.py puts Finnish back after each test


_numbers = itertools.count(1)


# -- helpers -----------------------------------------------------------------------------------------


def html_message() -> bytes:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "DigiFinland <tuki@digifinland.fi>"
    message["To"] = "koordinaattori@example.fi"
    message["Subject"] = "Huoltokatko to 3.12. klo 18–20"
    message["Message-ID"] = "<huolto-1@digifinland.fi>"
    message["Date"] = "Wed, 25 Nov 2026 14:00:00 +0200"
    message.set_content(
        "<html><body><h1>Huoltokatko</h1><p>Omaolo on <b>poissa käytöstä</b> klo 18–20.</p></body></html>",
        subtype="html",
        charset="utf-8",
    )
    return message.as_bytes()


def attachment_message() -> bytes:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Sari Öhman <sari.ohman@example.fi>"
    message["To"] = "koordinaattori@example.fi"
    message["Subject"] = "Käyttäjälista liitteenä"
    message["Message-ID"] = "<lista-1@example.fi>"
    message["Date"] = "Tue, 24 Nov 2026 08:15:00 +0200"
    message.set_content("Liitteenä päivitetty lista.\n", charset="utf-8")
    message.add_attachment(
        b"nimi;yksikk\xc3\xb6\nPaavo;Ter\xc3\xa4\n", maintype="text", subtype="csv", filename="käyttäjät.csv"
    )
    return message.as_bytes()


RFC2047_MESSAGE = (
    b"From: =?iso-8859-1?q?J=F6rgen_S=E4ll=E4?= <jorgen@example.fi>\r\n"
    b"To: koordinaattori@example.fi\r\n"
    b"Subject: =?iso-8859-1?q?Ty=F6jonol=E4hetys_ei_toimi?=\r\n"
    b"Message-ID: <tyojono-1@example.fi>\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0200\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Ty=F6jonol=E4hetys antaa virheen.\r\n"
)


def messages(store: Store, folder: str) -> list[MailMessage]:
    with store.session() as session:
        statement = (
            select(MailMessage).join(MailFolder).where(MailFolder.name == folder).order_by(MailMessage.uid)  # type: ignore[arg-type]
        )
        return list(session.exec(statement).all())


def counts(report: SyncReport, folder: str) -> tuple[int, int, int]:
    entry = report.folder(folder)
    return entry.new, entry.changed, entry.removed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/s.sqlite")
    yield opened
    opened.dispose()


@pytest.fixture
def imap_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The IMAP commands this process sends, in order (every command is one round trip).

    imapclient sends some commands through imaplib (``_command``) and others itself
    (``_raw_command``: SEARCH, ENABLE, ...); both take a fresh tag, which is what is counted.
    """
    sent: list[str] = []
    names: list[str] = []
    original_command = imaplib.IMAP4._command  # type: ignore[attr-defined]
    original_raw = IMAPClient._raw_command
    original_tag = imaplib.IMAP4._new_tag  # type: ignore[attr-defined]

    def command(self: imaplib.IMAP4, name: str, *args: Any) -> Any:
        names.append(" ".join(str(part) for part in (name, *args[:1])))
        return original_command(self, name, *args)

    def raw_command(self: IMAPClient, name: Any, args: Any, uid: bool = True) -> Any:
        text = name.decode() if isinstance(name, bytes) else str(name)
        names.append(f"UID {text}" if uid and self.use_uid else text)
        return original_raw(self, name, args, uid)

    def new_tag(self: imaplib.IMAP4) -> Any:
        sent.append(names.pop() if names else "?")
        return original_tag(self)

    monkeypatch.setattr(imaplib.IMAP4, "_command", command)
    monkeypatch.setattr(IMAPClient, "_raw_command", raw_command)
    monkeypatch.setattr(imaplib.IMAP4, "_new_tag", new_tag)
    return sent


def deliver_inbox(dovecot: Dovecot, account: ImapAccount) -> list[int]:
    return [
        dovecot.deliver("INBOX", raw, user=account.username)
        for raw in (
            plain(
                "Äänestyspäivän työvuorot – yöllä öljyä",
                "Hei!\n\nYövuoron vaihto käy.\n",
                "<vuorot-1@example.fi>",
            ),
            RFC2047_MESSAGE,
            html_message(),
            attachment_message(),
        )
    ]


# -- sync --------------------------------------------------------------------------------------------


def test_initial_sync_stores_every_message_and_finds_special_folders(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    deliver_inbox(dovecot, imap_user)
    dovecot.deliver(
        "Sent", plain("Re: Työvuorot", "Kiitos!\n", "<re-1@example.fi>"), [SEEN], user=imap_user.username
    )

    report = sync_account(store, section_for(imap_user), imap_user.password)

    assert report.ok, report.error
    assert [(f.name, f.role) for f in report.folders] == [
        ("INBOX", "inbox"),
        ("Sent", "sent"),
        ("Archive", "archive"),
        ("Trash", "trash"),
    ]
    assert (report.folder("INBOX").new, report.folder("INBOX").in_store) == (4, 4)
    assert (report.folder("Sent").new, report.folder("Sent").in_store) == (1, 1)
    inbox = messages(store, "INBOX")
    assert [m.subject for m in inbox] == [
        "Äänestyspäivän työvuorot – yöllä öljyä",
        "Työjonolähetys ei toimi",
        "Huoltokatko to 3.12. klo 18–20",
        "Käyttäjälista liitteenä",
    ]
    vuorot, tyojono, huolto, lista = inbox
    assert "Yövuoron vaihto" in vuorot.body_text
    assert (vuorot.from_name, vuorot.from_addr) == ("Päivi Meriläinen", "paivi@example.fi")
    assert vuorot.message_id == vuorot.thread_key == "<vuorot-1@example.fi>"
    assert tyojono.from_name == "Jörgen Sällä"
    assert "Työjonolähetys antaa virheen" in tyojono.body_text
    assert "poissa käytöstä" in huolto.body_text and "<b>" not in huolto.body_text
    assert lista.has_attachments and not vuorot.has_attachments
    assert not any(m.seen for m in inbox)
    sent = messages(store, "Sent")
    assert sent[0].seen and sent[0].subject == "Re: Työvuorot"
    with store.session() as session:
        attachments = session.exec(select(MailAttachment)).all()
        assert [(a.mail_message_id, a.filename, a.content_type) for a in attachments] == [
            (lista.id, "käyttäjät.csv", "text/csv")
        ]
        assert mail_store.message_counts(session) == {"INBOX": 4, "Sent": 1, "Archive": 0, "Trash": 0}
        inbox_state = mail_store.folder_state(session, "INBOX")
    assert inbox_state is not None and inbox_state.uidvalidity and inbox_state.highest_uid == 4
    assert inbox_state.highest_modseq and inbox_state.last_error == ""


def test_incremental_sync_fetches_only_the_new_message_and_a_quiet_sync_is_cheap(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, imap_commands: list[str]
) -> None:
    deliver_inbox(dovecot, imap_user)
    section = section_for(imap_user)
    sync_account(store, section, imap_user.password)
    new_uid = dovecot.deliver(
        "INBOX", plain("Uusi pyyntö", "Tunnus lukittu.\n", "<uusi@example.fi>"), user=imap_user.username
    )

    imap_commands.clear()
    report = sync_account(store, section, imap_user.password)
    assert counts(report, "INBOX") == (1, 0, 0)
    assert report.folder("INBOX").in_store == 5
    assert [m.uid for m in messages(store, "INBOX")][-1] == new_uid
    # In INBOX, with QRESYNC: EXAMINE itself tells the flag changes and expunges; then UID SEARCH
    # UID n:* for the new ones, UID FETCH of their metadata and of their bodies.
    assert sum(command.startswith("UID") for command in imap_commands) == 3, imap_commands
    assert "UID SEARCH" in imap_commands and "UID FETCH" in imap_commands

    imap_commands.clear()
    quiet = sync_account(store, section, imap_user.password)
    assert quiet.ok
    assert all((f.new, f.changed, f.removed) == (0, 0, 0) for f in quiet.folders)
    assert quiet.folder("INBOX").in_store == 5
    # LOGIN, CAPABILITY, ENABLE, LIST, one EXAMINE per folder, LOGOUT; no SEARCH, no FETCH.
    assert not any(command.startswith("UID") for command in imap_commands), imap_commands
    assert len(imap_commands) <= 10, imap_commands


def hide_capabilities(monkeypatch: pytest.MonkeyPatch, hidden: tuple[bytes, ...]) -> None:
    """Make the server look like one without these capabilities (e.g. QRESYNC, CONDSTORE)."""
    original = IMAPClient.capabilities

    def capabilities(self: IMAPClient) -> tuple[bytes, ...]:
        return tuple(c for c in original(self) if c not in hidden)

    monkeypatch.setattr(IMAPClient, "capabilities", capabilities)


def hide_condstore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the server look like one without CONDSTORE/QRESYNC: every flag is then fetched."""
    hide_capabilities(monkeypatch, (b"CONDSTORE", b"QRESYNC"))


SERVER_KINDS = {"qresync": (), "condstore-only": (b"QRESYNC",), "neither": (b"CONDSTORE", b"QRESYNC")}


@pytest.mark.parametrize("kind", list(SERVER_KINDS))
def test_flag_changes_and_expunges_on_the_server_reach_the_store(
    dovecot: Dovecot,
    imap_user: ImapAccount,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    imap_commands: list[str],
    kind: str,
) -> None:
    hide_capabilities(monkeypatch, SERVER_KINDS[kind])
    condstore = kind != "neither"
    uids = deliver_inbox(dovecot, imap_user)
    section = section_for(imap_user)
    sync_account(store, section, imap_user.password)

    with dovecot.connect(imap_user.username) as other:
        other.select_folder("INBOX")
        other.add_flags([uids[0]], [SEEN])
        other.add_flags([uids[1]], [FLAGGED])
        other.delete_messages([uids[2]])
        other.expunge()

    imap_commands.clear()
    report = sync_account(store, section, imap_user.password)
    assert counts(report, "INBOX") == (0, 2, 1)
    if kind == "qresync":  # EXAMINE (QRESYNC ...) told it all: no SEARCH ALL, no FETCH of flags
        assert not any(command.startswith("UID") for command in imap_commands), imap_commands
    else:
        assert "UID SEARCH" in imap_commands, imap_commands
    stored = {m.uid: m for m in messages(store, "INBOX")}
    assert sorted(stored) == [uids[0], uids[1], uids[3]]
    assert stored[uids[0]].seen and not stored[uids[0]].flagged
    assert stored[uids[1]].flagged and not stored[uids[1]].seen
    assert not stored[uids[3]].seen and not stored[uids[3]].flagged
    assert (stored[uids[0]].modseq is not None) == condstore

    with dovecot.connect(imap_user.username) as other:
        other.select_folder("INBOX")
        other.remove_flags([uids[0]], [SEEN])
        other.remove_flags([uids[1]], [FLAGGED])
        other.add_flags([uids[3]], [SEEN, FLAGGED])
    again = sync_account(store, section, imap_user.password)
    assert counts(again, "INBOX") == (0, 3, 0)
    stored = {m.uid: m for m in messages(store, "INBOX")}
    assert not stored[uids[0]].seen and not stored[uids[1]].flagged
    assert stored[uids[3]].seen and stored[uids[3]].flagged
    quiet = sync_account(store, section, imap_user.password)
    assert counts(quiet, "INBOX") == (0, 0, 0) and quiet.folder("INBOX").in_store == 3


def test_a_new_uidvalidity_resyncs_the_folder_without_stale_rows(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    with dovecot.connect(imap_user.username) as client:
        client.create_folder("Projektit")
    for number in (1, 2):
        raw = plain(f"Vanha {number}", "Vanha viesti.\n", f"<vanha-{number}@example.fi>")
        dovecot.deliver("Projektit", raw, user=imap_user.username)
    section = section_for(imap_user, folders=["INBOX", "Projektit"])
    first = sync_account(store, section, imap_user.password)
    assert first.folder("Projektit").in_store == 2 and first.folder("Projektit").role == ""
    with store.session() as session:
        old_state = mail_store.folder_state(session, "Projektit")
    assert old_state is not None

    with dovecot.connect(imap_user.username) as client:
        client.delete_folder("Projektit")
        client.create_folder("Projektit")
    uid = dovecot.deliver(
        "Projektit", plain("Uusi 1", "Uusi viesti.\n", "<uusi-1@example.fi>"), user=imap_user.username
    )
    assert uid == 1  # the same UID as an old message: only UIDVALIDITY tells them apart

    report = sync_account(store, section, imap_user.password)
    assert report.ok
    assert report.folder("Projektit").removed == 2 and report.folder("Projektit").new == 1
    assert [(m.uid, m.subject) for m in messages(store, "Projektit")] == [(1, "Uusi 1")]
    with store.session() as session:
        new_state = mail_store.folder_state(session, "Projektit")
    assert new_state is not None and new_state.uidvalidity != old_state.uidvalidity


def test_a_missing_configured_folder_is_reported_and_the_others_still_sync(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    dovecot.deliver("INBOX", RFC2047_MESSAGE, user=imap_user.username)
    report = sync_account(store, section_for(imap_user, folders=["Puuttuu", "INBOX"]), imap_user.password)
    assert not report.ok
    assert "Puuttuu" in report.error
    assert report.folder("INBOX").in_store == 1


@pytest.fixture
def bytes_received(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes this process reads from IMAP connections (response lines and literals), as one counter."""
    received = [0]
    original_read = imaplib.IMAP4.read
    original_readline = imaplib.IMAP4.readline

    def read(self: imaplib.IMAP4, size: int) -> bytes:
        data: bytes = original_read(self, size)
        received[0] += len(data)
        return data

    def readline(self: imaplib.IMAP4) -> bytes:
        data: bytes = original_readline(self)
        received[0] += len(data)
        return data

    monkeypatch.setattr(imaplib.IMAP4, "read", read)
    monkeypatch.setattr(imaplib.IMAP4, "readline", readline)
    return received


PDF = b"%PDF-1.4\n" + random.Random(5).randbytes(5 * 1024 * 1024 - 9)


def big_report() -> bytes:
    """Text (windows-1252, quoted-printable) and HTML alternatives, and a 5 MB PDF."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Jörgen Sällä <jorgen@example.fi>"
    message["To"] = "koordinaattori@example.fi"
    message["Subject"] = "Kuukausiraportti – marraskuu"
    message["Message-ID"] = "<raportti-11@example.fi>"
    message["Date"] = "Wed, 25 Nov 2026 16:00:00 +0200"
    message.set_content(
        "Hei,\n\nliitteenä marraskuun raportti. Käyntejä 1 204 – yöpäivystys mukana.\n",
        charset="windows-1252",
        cte="quoted-printable",
    )
    message.add_alternative("<p>Hei, liitteenä <b>marraskuun</b> raportti.</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="raportti marraskuu.pdf")
    return message.as_bytes()


def big_html_only() -> bytes:
    """HTML only, base64, well over PART_LIMIT: its start is read, the rest cut."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Uutiskirje <uutiset@example.fi>"
    message["To"] = "koordinaattori@example.fi"
    message["Subject"] = "Uutiskirje"
    message["Message-ID"] = "<uutiskirje-1@example.fi>"
    rows = "".join(f"<tr><td>Rivi {n}</td><td>ÄÖÅ äöå</td></tr>" for n in range(5000))
    html = f"<html><body><h1>Alku näkyy</h1><table>{rows}</table><p>LOPPU EI NÄY</p></body></html>"
    message.set_content(html, subtype="html", charset="utf-8", cte="base64")
    return message.as_bytes()


def test_a_large_message_keeps_its_text_and_lists_attachments_without_fetching_them(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, bytes_received: list[int]
) -> None:
    report_raw, html_raw = big_report(), big_html_only()
    assert len(report_raw) > 5 * 1024 * 1024 and WHOLE_LIMIT < len(html_raw) < 5 * PART_LIMIT
    report_uid = dovecot.deliver("INBOX", report_raw, user=imap_user.username)
    html_uid = dovecot.deliver("INBOX", html_raw, user=imap_user.username)
    small_uid = dovecot.deliver("INBOX", attachment_message(), user=imap_user.username)

    bytes_received[0] = 0
    result = sync_account(store, section_for(imap_user), imap_user.password)
    assert result.ok and result.folder("INBOX").new == 3
    # The PDF (7 MB as base64) never came over the wire; the HTML came only up to PART_LIMIT.
    assert bytes_received[0] < PART_LIMIT + 200 * 1024, bytes_received[0]

    stored = {m.uid: m for m in messages(store, "INBOX")}
    report = stored[report_uid]
    assert report.subject == "Kuukausiraportti – marraskuu" and report.from_name == "Jörgen Sällä"
    assert "Käyntejä 1 204 – yöpäivystys mukana." in report.body_text  # windows-1252 QP decoded
    assert report.has_attachments and report.size == len(report_raw)
    assert report.parse_note == ""
    assert "\nSubject: Kuukausiraportti" in report.headers and "%PDF" not in report.headers
    assert "Message-ID: <raportti-11@example.fi>" in report.headers
    html = stored[html_uid]
    assert "Alku näkyy" in html.body_text and "LOPPU EI NÄY" not in html.body_text
    assert html.body_text.endswith("…")
    with store.session() as session:
        listed = session.exec(
            select(MailAttachment).where(MailAttachment.mail_message_id == report.id)  # type: ignore[arg-type]
        ).all()
    assert [(a.part, a.filename, a.content_type) for a in listed] == [
        ("2", "raportti marraskuu.pdf", "application/pdf")
    ]
    assert abs(listed[0].size - len(PDF)) <= 4, listed[0].size
    assert stored[small_uid].has_attachments and "Liitteenä päivitetty lista" in stored[small_uid].body_text

    # The part number is the one IMAP serves the attachment by (as `w` fetches it later).
    with dovecot.connect(imap_user.username) as client:
        client.select_folder("INBOX", readonly=True)
        part = client.fetch([report_uid], ["BODY.PEEK[2]"])[report_uid][b"BODY[2]"]
    assert base64.b64decode(part) == PDF


def test_headers_are_kept_as_received_and_capped(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    long_references = " ".join(f"<viite-{n}@example.fi>" for n in range(4000))  # ~100 KB
    raw = plain("Viitteet", "Pitkä ketju.\n", "<ketju@example.fi>", References=long_references)
    dovecot.deliver("INBOX", raw, user=imap_user.username)
    dovecot.deliver("INBOX", RFC2047_MESSAGE, user=imap_user.username)
    sync_account(store, section_for(imap_user), imap_user.password)
    long, encoded = messages(store, "INBOX")
    assert long.headers.startswith("From: ") or "\nFrom: " in long.headers
    assert "Message-ID: <ketju@example.fi>" in long.headers
    assert len(long.headers.encode()) <= HEADERS_LIMIT and "\r" not in long.headers
    assert "Pitkä ketju" not in long.headers  # the header block only
    # As received: encoded words stay encoded, every header is there.
    assert "Subject: =?iso-8859-1?q?Ty=F6jonol=E4hetys_ei_toimi?=" in encoded.headers
    assert encoded.headers.endswith("Content-Transfer-Encoding: quoted-printable")


def test_one_bad_mail_never_stops_a_sync(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.deliver("INBOX", b"\xff\xfe\x00 ei viesti\r\n\r\n\x1b[31m\x00\x01", user=imap_user.username)
    dovecot.deliver("INBOX", RFC2047_MESSAGE, user=imap_user.username)
    dovecot.deliver(
        "INBOX", b"To: rikki@example.fi\r\nSubject: kaatuu\r\n\r\nrikki\r\n", user=imap_user.username
    )
    from coordinator_tui.mail import parse as parse_module  # the sync imports it from there when used

    real_addresses_text = parse_module.addresses_text

    def broken_addresses_text(addresses: Any) -> str:
        addresses = tuple(addresses)
        if any(address.addr == "rikki@example.fi" for address in addresses):
            raise RuntimeError("a bug of ours")
        return real_addresses_text(addresses)

    monkeypatch.setattr(parse_module, "addresses_text", broken_addresses_text)
    report = sync_account(store, section_for(imap_user), imap_user.password)
    assert report.ok and report.folder("INBOX").new == 3
    junk, good, broken = messages(store, "INBOX")
    assert junk.parse_note and "\x1b" not in junk.body_text
    assert good.subject == "Työjonolähetys ei toimi" and not good.parse_note
    assert broken.parse_note == "the message could not be read" and broken.size > 0


def test_ca_file_adds_to_the_system_store(
    imap_user: ImapAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coordinator_tui.mail.imap import tls_context

    # The test CA installed as a system CA: a hashed directory, as update-ca-certificates makes
    # /etc/ssl/certs (the sync gives OpenSSL that directory rather than loading the whole bundle).
    certs = tmp_path / "certs"
    certs.mkdir()
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(imap_user.ca_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (certs / f"{subject_hash}.0").symlink_to(imap_user.ca_file)
    # A CA that signed nothing here (of another name: OpenSSL looks issuers up by name).
    other_ca = next(path for path in sorted(Path("/usr/share/ca-certificates").rglob("*.crt")))
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))
    monkeypatch.setenv("SSL_CERT_FILE", str(certs / "ca-certificates.crt"))  # Debian's bundle path

    close_quietly(connect(section_for(imap_user, ca_file=""), imap_user.password))  # a system CA
    close_quietly(connect(section_for(imap_user, ca_file=str(other_ca)), imap_user.password))  # added to
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "empty"))
    with pytest.raises(ImapError) as unverified:
        connect(section_for(imap_user, ca_file=str(other_ca)), imap_user.password)
    assert "could not be verified" in unverified.value.what
    with pytest.raises(ImapError) as caught:
        tls_context(section_for(imap_user, ca_file="/nonexistent/ca.pem"))
    assert "ca_file" in caught.value.todo


# -- connection ----------------------------------------------------------------------------------------


def test_starttls_on_the_plain_port_syncs(dovecot: Dovecot, imap_user: ImapAccount, store: Store) -> None:
    dovecot.deliver("INBOX", RFC2047_MESSAGE, user=imap_user.username)
    section = section_for(imap_user, port=imap_user.starttls_port, security="starttls")
    report = sync_account(store, section, imap_user.password)
    assert report.folder("INBOX").in_store == 1


def test_tls_without_the_ca_file_fails_verification_with_advice(imap_user: ImapAccount) -> None:
    with pytest.raises(ImapError) as caught:
        connect(section_for(imap_user, ca_file=""), imap_user.password)
    assert "could not be verified" in caught.value.what
    assert "ca_file" in caught.value.todo


def test_a_wrong_password_is_a_refused_login(imap_user: ImapAccount) -> None:
    with pytest.raises(ImapError) as caught:
        connect(section_for(imap_user), imap_user.password + "x")
    assert "refused the login" in caught.value.what


def test_a_closed_port_is_a_refused_connection(imap_user: ImapAccount) -> None:
    from tests.support.dovecot import free_port

    with pytest.raises(ImapError) as caught:
        connect(section_for(imap_user, port=free_port()), imap_user.password)
    assert "refused the connection" in caught.value.what


def test_a_non_ascii_password_logs_in(dovecot: Dovecot, store: Store) -> None:
    account = dovecot.add_user(f"aakkonen{next(_numbers)}", "sälasana-öljy-€")
    client = connect(section_for(account), account.password)
    close_quietly(client)


def test_plaintext_is_refused_for_a_remote_host_by_connect_itself() -> None:
    # The config refuses this too; connect() must not rely on that (model_construct skips validation).
    section = ImapSection.model_construct(host="imap.example.fi", port=143, security="none", username="k")
    with pytest.raises(ImapError) as caught:
        connect(section, "salasana")
    assert "unencrypted" in caught.value.what


# -- crash -------------------------------------------------------------------------------------------


def test_a_server_killed_mid_sync_loses_nothing_and_the_next_sync_completes(
    private_dovecot: Dovecot, store: Store
) -> None:
    account = private_dovecot.account()
    total = 300
    with private_dovecot.connect() as client:
        for number in range(total):
            raw = plain(f"Viesti {number}", f"Runko {number}.\n", f"<m{number}@example.fi>")
            client.append("INBOX", raw)
    section = section_for(account)

    def kill_after_first_batch(folder: str, done: int, of: int) -> None:
        if folder == "INBOX" and 0 < done < of:
            private_dovecot.kill()

    progress: Callable[[str, int, int], None] = kill_after_first_batch
    with pytest.raises(ImapError) as caught:
        sync_account(store, section, account.password, progress=progress)
    assert "lost" in caught.value.what or "cannot be reached" in caught.value.what
    partial = messages(store, "INBOX")
    assert 0 < len(partial) < total  # the committed batch stayed

    private_dovecot.restart()
    report = sync_account(store, section, account.password)
    assert report.ok
    stored = messages(store, "INBOX")
    with private_dovecot.connect() as client:
        client.select_folder("INBOX", readonly=True)
        server_uids = sorted(client.search("ALL"))
    assert [m.uid for m in stored] == server_uids and len(server_uids) == total
    assert report.folder("INBOX").new == total - len(partial)
    with store.session() as session:
        assert session.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
