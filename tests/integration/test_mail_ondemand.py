"""Raw source and attachments fetched on demand from a real Dovecot: byte-exact, with safe file names."""

from __future__ import annotations

import base64
import os
import quopri
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text, update

from coordinator_tui.mail import ondemand
from coordinator_tui.mail.imap import ImapError
from coordinator_tui.mail.ondemand import fetch_raw, safe_filename, save_attachment
from coordinator_tui.mail.sync import sync_account
from coordinator_tui.mail.triage import apply_local
from store.engine import Store, open_store
from store.models import MailAttachment
from tests.integration.test_imap_sync import attachment_message
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.messages import plain, section_for

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\r\n\x00\xff%%EOF\n"  # every byte value, CR, LF, NUL
CSV_TEXT = (
    "nimi;yksikkö;huomio\r\nPaavo;Terä;=E2 ei ole koodattu\r\nSari;Öhman;rivi joka on pitkä "
    + "x" * 120
    + "\r\n"
)

HOSTILE_NAMES = [
    "../../etc/passwd",
    "a\x1b[31m.pdf",
    "\u202efdp.exe",
    "raportti.pdf",
    "raportti.pdf",  # the same name twice in one message
    "N" * 300 + ".pdf",
    ".bashrc",
]


def _part(name: str, body: bytes, encoding: str, content_type: str = "application/pdf") -> bytes:
    # The file name goes in raw, as a hostile sender would write it (no RFC 2231 cleaning on the way).
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'Content-Type: {content_type}; name="{quoted}"\r\n'
        f'Content-Disposition: attachment; filename="{quoted}"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode("utf-8", "surrogateescape") + body


def hostile_message() -> bytes:
    b64 = base64.encodebytes(PDF).replace(b"\n", b"\r\n")
    qp = quopri.encodestring(CSV_TEXT.encode("utf-8").replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    parts = [b'Content-Type: text/plain; charset="utf-8"\r\n\r\nLiitteet.\r\n']
    for name in HOSTILE_NAMES:
        parts.append(_part(name, b64, "base64"))
    parts.append(_part("käyttäjät.csv", qp, "quoted-printable", 'text/csv; charset="utf-8"'))
    boundary = b"==raja-123=="
    body = (
        b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary + b"--\r\n"
    )
    headers = (
        b"From: Outo Lahettaja <outo@example.com>\r\n"
        b"To: koordinaattori@example.fi\r\n"
        b"Subject: Liitteita\r\n"
        b"Message-ID: <liitteet-1@example.com>\r\n"
        b"Date: Thu, 26 Nov 2026 09:30:00 +0200\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
    )
    return headers + body


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/ondemand.sqlite")
    yield opened
    opened.dispose()


def synced(dovecot: Dovecot, account: ImapAccount, store: Store, *raws: bytes) -> list[int]:
    for raw in raws:
        dovecot.deliver("INBOX", raw, user=account.username)
    report = sync_account(store, section_for(account), account.password)
    assert report.ok, report.error
    with store.session() as session:
        rows = session.connection().execute(text("SELECT id FROM mail_message ORDER BY uid"))
        return [int(message_id) for (message_id,) in rows]


def server_raw(dovecot: Dovecot, account: ImapAccount, uid: int) -> bytes:
    client = dovecot.connect(account.username)
    try:
        client.select_folder("INBOX", readonly=True)
        return bytes(client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"])
    finally:
        client.logout()


def attachments_of(store: Store, message_id: int) -> list[MailAttachment]:
    from sqlmodel import select

    with store.session() as session:
        statement = select(MailAttachment).where(MailAttachment.mail_message_id == message_id)
        return list(session.exec(statement.order_by(MailAttachment.id)).all())  # type: ignore[arg-type]


def test_fetch_raw_is_byte_exact_and_does_not_mark_the_message_read(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    raw = hostile_message()
    (message_id,) = synced(dovecot, imap_user, store, raw)

    fetched = fetch_raw(store, section_for(imap_user), imap_user.password, message_id)

    assert fetched == raw == server_raw(dovecot, imap_user, 1)
    client = dovecot.connect(imap_user.username)
    client.select_folder("INBOX", readonly=True)
    assert b"\\Seen" not in client.get_flags([1])[1]
    client.logout()


def test_fetch_raw_is_capped(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = hostile_message()
    (message_id,) = synced(dovecot, imap_user, store, raw)
    monkeypatch.setattr(ondemand, "RAW_LIMIT", 1000)

    assert fetch_raw(store, section_for(imap_user), imap_user.password, message_id) == raw[:1000]
    section = section_for(imap_user)
    assert fetch_raw(store, section, imap_user.password, message_id, limit=len(raw) + 1) == raw
    assert fetch_raw(store, section, imap_user.password, message_id, limit=10) == raw[:10]


def test_fetch_raw_after_archive_finds_the_message_where_it_went(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    raw = plain("Arkistoon", "Teksti.\n", "<arkistoon@example.fi>")
    (message_id,) = synced(dovecot, imap_user, store, raw)
    section = section_for(imap_user)
    apply_local(store, "archive", [message_id])  # not pushed: the store says Archive, the server INBOX

    with pytest.raises(ImapError) as raised:
        fetch_raw(store, section, imap_user.password, message_id)
    assert "Archive" in raised.value.what

    client = dovecot.connect(imap_user.username)
    client.select_folder("INBOX")
    client.move([1], "Archive")  # now it is there, under a UID the store does not know yet
    client.logout()
    assert fetch_raw(store, section, imap_user.password, message_id) == raw


def test_fetch_raw_of_a_message_gone_from_the_server_says_so(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    (message_id,) = synced(dovecot, imap_user, store, plain("Pois", "x\n", "<pois@example.fi>"))
    client = dovecot.connect(imap_user.username)
    client.select_folder("INBOX")
    client.delete_messages([1])
    client.expunge()
    client.logout()

    with pytest.raises(ImapError) as raised:
        fetch_raw(store, section_for(imap_user), imap_user.password, message_id)
    assert "INBOX" in raised.value.what


def test_attachments_are_decoded_byte_exact_under_safe_names_never_overwriting(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, tmp_path: Path
) -> None:
    (message_id,) = synced(dovecot, imap_user, store, hostile_message())
    attachments = attachments_of(store, message_id)
    assert len(attachments) == len(HOSTILE_NAMES) + 1
    # Whatever the parser made of the names, save_attachment must cope with the raw hostile ones too.
    with store.session() as session:
        for attachment, name in zip(attachments, HOSTILE_NAMES, strict=False):
            session.connection().execute(
                update(MailAttachment).where(MailAttachment.id == attachment.id).values(filename=name)  # type: ignore[arg-type]
            )
    outside = tmp_path / "etc"
    outside.mkdir()
    directory = tmp_path / "lataukset"
    directory.mkdir()
    (directory / "raportti.pdf").write_bytes(b"the user's own file")
    section = section_for(imap_user)

    saved = [save_attachment(store, section, imap_user.password, a.id or 0, directory) for a in attachments]

    names = [path.name for path in saved]
    assert names[0] == "etc_passwd"
    assert names[1] == "a.pdf"
    assert names[2] == "fdp.exe"
    assert names[3:5] == ["raportti (1).pdf", "raportti (2).pdf"]
    assert names[5].endswith(".pdf") and len(names[5].encode()) <= ondemand.NAME_LIMIT_BYTES
    assert names[6] == "bashrc"
    assert names[7] == "käyttäjät.csv"
    assert (directory / "raportti.pdf").read_bytes() == b"the user's own file"
    assert not list(outside.iterdir())
    for path in saved:
        assert path.parent == directory
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert all(ord(char) >= 32 and char not in "/\\\u202e" for char in path.name)
    for path in saved[:7]:
        assert path.read_bytes() == PDF
    assert saved[7].read_bytes() == CSV_TEXT.encode("utf-8")
    assert sorted(os.listdir(directory)) == sorted([*names, "raportti.pdf"])


def test_a_plain_attachment_from_the_sync_fixture_is_saved(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, tmp_path: Path
) -> None:
    (message_id,) = synced(dovecot, imap_user, store, attachment_message())
    (attachment,) = attachments_of(store, message_id)

    path = save_attachment(store, section_for(imap_user), imap_user.password, attachment.id or 0, tmp_path)

    assert path == tmp_path / safe_filename("käyttäjät.csv")
    assert path.read_bytes() == b"nimi;yksikk\xc3\xb6\nPaavo;Ter\xc3\xa4\n"


def test_saving_into_a_missing_folder_says_so(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, tmp_path: Path
) -> None:
    (message_id,) = synced(dovecot, imap_user, store, attachment_message())
    (attachment,) = attachments_of(store, message_id)

    with pytest.raises(ImapError) as raised:
        save_attachment(
            store, section_for(imap_user), imap_user.password, attachment.id or 0, tmp_path / "ei"
        )
    assert str(tmp_path / "ei") in raised.value.what
