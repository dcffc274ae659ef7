"""Triage in the store: flags, moves with placeholder UIDs, settling after the server, exact rollback."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from coordinator_tui.mail import ondemand, triage
from coordinator_tui.mail.triage import TriageError, apply_local, inverse, revert_local
from store import mail as mail_store
from store import mailtriage
from store.engine import Store, open_store
from store.models import FeedItem, MailMessage, RequestMail, ServiceRequest


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/triage.sqlite")
    yield opened
    opened.dispose()


def row(uid: int, subject: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "uid": uid,
        "message_id": f"<{subject}@example.fi>",
        "subject": subject,
        "body_text": f"{subject} body",
        "seen": False,
        "flagged": False,
        "attachments": [],
    }
    values.update(extra)
    return values


@pytest.fixture
def folders(store: Store) -> dict[str, int]:
    """INBOX with three messages (one with an attachment), an empty Archive and Trash."""
    with store.session() as session:
        ids = {
            name: mail_store.ensure_folder(session, name, role).id
            for name, role in (("INBOX", "inbox"), ("Archive", "archive"), ("Trash", "trash"))
        }
        mail_store.insert_messages(
            session,
            ids["INBOX"],  # type: ignore[arg-type]
            [
                row(1, "yksi"),
                row(2, "kaksi", seen=True),
                row(
                    3,
                    "kolme",
                    attachments=[
                        {"part": "2", "filename": "a.pdf", "content_type": "application/pdf", "size": 9}
                    ],
                ),
            ],
        )
    return {name: int(folder_id) for name, folder_id in ids.items() if folder_id is not None}


def ids_by_subject(store: Store) -> dict[str, int]:
    with store.session() as session:
        rows = session.connection().execute(text("SELECT subject, id FROM mail_message"))
        return {subject: int(message_id) for subject, message_id in rows}


def dump(store: Store) -> list[tuple[Any, ...]]:
    """Every row of every mail table, the search index and the links: 'exactly as before' means equal."""
    tables = ["mail_message", "mail_attachment", "request_mail", "feed_item", "search_index"]
    result: list[tuple[Any, ...]] = []
    with store.session() as session:
        for table in tables:
            rowid = "rowid, " if table == "search_index" else ""
            rows = session.connection().execute(text(f"SELECT {rowid}* FROM {table} ORDER BY 1"))
            result.extend((table, *values) for values in rows)
    return result


def where(store: Store, message_id: int) -> tuple[str, int] | None:
    with store.session() as session:
        state = mailtriage.message_states(session, [message_id]).get(message_id)
    return (state.folder.name, state.uid) if state else None


def test_flags_apply_in_one_go_and_revert_exactly(store: Store, folders: dict[str, int]) -> None:
    ids = ids_by_subject(store)
    before = dump(store)

    change = apply_local(store, "read", [ids["yksi"], ids["kaksi"], 999_999])

    assert change.message_ids == (ids["yksi"], ids["kaksi"])  # the missing id is skipped
    with store.session() as session:
        states = mailtriage.message_states(session, ids.values())
    assert [states[ids[s]].seen for s in ("yksi", "kaksi", "kolme")] == [True, True, False]
    revert_local(store, change)
    assert dump(store) == before

    flagged = apply_local(store, "flag", [ids["kolme"]])
    assert dump(store) != before
    revert_local(store, flagged)
    assert dump(store) == before


def test_undo_of_read_puts_back_only_what_the_action_changed(store: Store, folders: dict[str, int]) -> None:
    ids = ids_by_subject(store)
    change = apply_local(store, "read", [ids["yksi"], ids["kaksi"]])  # kaksi was read already

    undo = inverse(store, change)

    assert undo.action == "unread" and undo.message_ids == (ids["yksi"],)
    with store.session() as session:
        states = mailtriage.message_states(session, ids.values())
    assert (states[ids["yksi"]].seen, states[ids["kaksi"]].seen) == (False, True)


def test_archive_moves_the_row_at_once_under_a_placeholder_and_reverts_exactly(
    store: Store, folders: dict[str, int]
) -> None:
    ids = ids_by_subject(store)
    before = dump(store)

    change = apply_local(store, "archive", [ids["yksi"], ids["kolme"]])

    assert where(store, ids["yksi"]) == ("Archive", -ids["yksi"])
    assert where(store, ids["kolme"]) == ("Archive", -ids["kolme"])
    assert [(item.folder, item.uid, item.target) for item in change.items] == [
        ("INBOX", 1, "Archive"),
        ("INBOX", 3, "Archive"),
    ]
    # Archiving what is already archived is nothing to do.
    assert apply_local(store, "archive", [ids["yksi"]]).empty
    revert_local(store, change)
    assert dump(store) == before


def test_archive_without_an_archive_folder_changes_nothing(store: Store, folders: dict[str, int]) -> None:
    with store.session() as session:
        mail_store.ensure_folder(session, "Archive", "")
    before = dump(store)
    with pytest.raises(TriageError) as raised:
        apply_local(store, "archive", list(ids_by_subject(store).values()))
    assert "archive" in raised.value.what.lower() or "arkisto" in raised.value.what.lower()
    assert dump(store) == before


def test_delete_from_trash_removes_the_row_and_revert_restores_links_and_attachments(
    store: Store, folders: dict[str, int]
) -> None:
    ids = ids_by_subject(store)
    with store.session() as session:
        request = ServiceRequest(reference="OMA-2026-0001", year=2026, seq=1, title="Tunnus lukittu")
        session.add(request)
        session.flush()
        assert request.id is not None
        session.add(RequestMail(request_id=request.id, mail_message_id=ids["kolme"], reason="manual"))
        session.add(FeedItem(feed_id=_feed(session), dedup_key="k", title="x", mail_message_id=ids["kolme"]))
    to_trash = apply_local(store, "delete", [ids["kolme"]])
    assert where(store, ids["kolme"]) == ("Trash", -ids["kolme"])
    assert to_trash.items[0].moves and not to_trash.items[0].expunges
    before = dump(store)

    gone = apply_local(store, "delete", [ids["kolme"]])  # from the trash: for good

    assert gone.items[0].expunges and where(store, ids["kolme"]) is None
    with store.session() as session:
        assert session.get(RequestMail, (request.id, ids["kolme"])) is None
    revert_local(store, gone)
    assert dump(store) == before
    # A delete for good cannot be undone.
    gone_again = apply_local(store, "delete", [ids["kolme"]])
    with pytest.raises(TriageError):
        inverse(store, gone_again)


def _feed(session: Any) -> int:
    from store.models import Feed

    feed = Feed(name="DigiFinland", url="https://example.fi/feed.xml")
    session.add(feed)
    session.flush()
    assert feed.id is not None
    return feed.id


def test_undo_of_archive_moves_back_and_undo_of_that_archives_again(
    store: Store, folders: dict[str, int]
) -> None:
    ids = ids_by_subject(store)
    change = apply_local(store, "archive", [ids["kaksi"]])

    undo = inverse(store, change)

    assert undo.action == "unarchive"
    assert where(store, ids["kaksi"]) == ("INBOX", -ids["kaksi"])
    assert [(item.folder, item.uid, item.target) for item in undo.items] == [
        ("Archive", -ids["kaksi"], "INBOX")
    ]
    redo = inverse(store, undo)
    assert redo.action == "archive" and where(store, ids["kaksi"]) == ("Archive", -ids["kaksi"])


def test_revert_drops_a_copy_a_sync_fetched_meanwhile(store: Store, folders: dict[str, int]) -> None:
    """Archive, then a sync before the push fetched the message into INBOX again; the push fails."""
    ids = ids_by_subject(store)
    before = dump(store)
    change = apply_local(store, "archive", [ids["yksi"]])
    with store.session() as session:
        mail_store.insert_messages(session, folders["INBOX"], [row(1, "yksi")])  # the sync's copy

    revert_local(store, change)

    assert dump(store) == before


def test_settle_move_gives_the_real_uid_and_leaves_one_row(store: Store, folders: dict[str, int]) -> None:
    ids = ids_by_subject(store)
    apply_local(store, "archive", [ids["yksi"], ids["kaksi"], ids["kolme"]])
    with store.session() as session:
        # kaksi: a sync saw the archive's real message first (our placeholder still there).
        mail_store.insert_messages(session, folders["Archive"], [row(12, "kaksi")])
        # kolme: a sync dropped our placeholder and fetched it into INBOX again.
        mail_store.delete_uids(session, folders["Archive"], [-ids["kolme"]])
        mail_store.insert_messages(session, folders["INBOX"], [row(3, "kolme")])
    refetched = max(message_id for subject, message_id in _all(store) if subject == "kolme")

    with store.session() as session:
        for subject, source_uid, target_uid in (("yksi", 1, 11), ("kaksi", 2, 12), ("kolme", 3, 13)):
            mailtriage.settle_move(
                session,
                ids[subject],
                source_folder_id=folders["INBOX"],
                source_uid=source_uid,
                target_folder_id=folders["Archive"],
                target_uid=target_uid,
            )

    assert where(store, ids["yksi"]) == ("Archive", 11)
    assert where(store, ids["kaksi"]) == ("Archive", 12)  # our row kept (its id), the copy dropped
    assert where(store, refetched) == ("Archive", 13)
    assert sorted(subject for subject, _ in _all(store)) == ["kaksi", "kolme", "yksi"]


def _all(store: Store) -> list[tuple[str, int]]:
    with store.session() as session:
        return [(m.subject, int(m.id or 0)) for m in session.exec(select(MailMessage)).all()]


def test_placeholder_uids_and_copyuid_parsing() -> None:
    assert mailtriage.placeholder_uid(7) == -7
    assert triage.parse_copyuid(b"[COPYUID 1795706800 3:5,9 20:23] Moved UIDs.") == {
        3: 20,
        4: 21,
        5: 22,
        9: 23,
    }
    assert triage.parse_copyuid(b"1795706800 2 2") == {2: 2}
    assert triage.parse_copyuid(b"Move completed.") == {}
    assert triage.parse_copyuid(b"[COPYUID 1 1:2 5] x") == {}  # sets of different sizes: not trusted


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("<abc@example.fi>", True),
        ('<a"b\\c@example.fi>', True),  # imapclient quotes these
        ("<a b@example.fi>", False),
        ("<a(b)@example.fi>", False),
        ("<a{5}@example.fi>", False),
        ("<a@x>\r\nA1 DELETE INBOX", False),
        ("<äö@example.fi>", False),
        ("", False),
    ],
)
def test_only_plain_message_ids_go_into_a_search(value: str, ok: bool) -> None:
    assert triage.searchable_message_id(value) is ok


# -- file names and decoding for attachments (coordinator_tui.mail.ondemand) ------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("raportti.pdf", "raportti.pdf"),
        ("../../etc/passwd", "etc_passwd"),
        ("..\\..\\Windows\\system.ini", "Windows_system.ini"),
        ("a\x1b[31m.pdf", "a.pdf"),
        ("\u202efdp.exe", "fdp.exe"),
        ("lasku\u202egpj.exe", "laskugpj.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        (".bashrc", "bashrc"),
        ("...", "attachment"),
        ("", "attachment"),
        ("  tyhjä  \t nimi .txt", "tyhjä nimi .txt"),
        ("a..b...c.txt", "a.b.c.txt"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ('kysymys?"<>|*:.doc', "kysymys_______.doc"),
        ("-rf", "rf"),
        ("rivi\nrivi.txt", "rivi rivi.txt"),
        ("Käyttäjät ÅÄÖ.xlsx", "Käyttäjät ÅÄÖ.xlsx"),
        ("nai\u0308ve.txt", "naïve.txt"),  # NFC
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert ondemand.safe_filename(name) == expected


def test_safe_filename_caps_the_length_and_keeps_the_extension() -> None:
    long = ondemand.safe_filename("ä" * 400 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= ondemand.NAME_LIMIT_BYTES
    assert long.startswith("ää")  # cut on a character boundary, not in the middle of one
    assert len(ondemand.safe_filename("x" * 1000).encode()) <= ondemand.NAME_LIMIT_BYTES


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [
        (b"SGVp\r\nIG1h\r\nYWlsbWE=\r\n", "base64", b"Hei maailma"),
        (b"SGVpIG1hYWlsbWE", "BASE64", b"Hei maailma"),  # padding missing
        (b"SGVp IG1h*YWlsbWE=", "base64", b"Hei maailma"),  # junk in between
        (b"Ty=C3=B6jono=\r\n l=C3=A4hetys", "quoted-printable", "Työjono lähetys".encode()),
        (b"\x00\xff raw", "binary", b"\x00\xff raw"),
        (b"plain", "", b"plain"),
        (b"begin 644 a.txt\n#:&5I\n`\nend\n", "x-uuencode", b"hei"),
    ],
)
def test_transfer_encodings_are_decoded(body: bytes, encoding: str, expected: bytes) -> None:
    assert ondemand.decode_transfer_encoding(body, encoding) == expected


def test_write_new_file_never_overwrites_and_is_private(tmp_path: Path) -> None:
    first = ondemand.write_new_file(tmp_path, "a.pdf", b"1")
    second = ondemand.write_new_file(tmp_path, "a.pdf", b"2")
    (tmp_path / "b").symlink_to(tmp_path / "elsewhere")
    third = ondemand.write_new_file(tmp_path, "b", b"3")  # a symlink is taken, never followed

    assert [p.name for p in (first, second, third)] == ["a.pdf", "a (1).pdf", "b (1)"]
    assert first.read_bytes() == b"1" and second.read_bytes() == b"2"
    assert not (tmp_path / "elsewhere").exists()
    assert {stat.S_IMODE(p.stat().st_mode) for p in (first, second, third)} == {0o600}


def test_move_messages_in_bulk_lets_rows_trade_places(store: Store, folders: dict[str, int]) -> None:
    ids = ids_by_subject(store)
    inbox = folders["INBOX"]
    with store.session() as session:
        moved = mailtriage.move_messages(
            session, {ids["yksi"]: (inbox, 2), ids["kaksi"]: (inbox, 1), 999_999: (inbox, 7)}
        )
    assert moved == 2
    assert (where(store, ids["yksi"]), where(store, ids["kaksi"])) == (("INBOX", 2), ("INBOX", 1))
    with store.session() as session:
        assert mailtriage.move_messages(session, {}) == 0


def test_a_sync_fetching_a_uid_the_push_already_settled_leaves_one_row(
    store: Store, folders: dict[str, int]
) -> None:
    """The push learned the archived message's UID (COPYUID) and stored it while a sync of Archive
    was fetching that UID as new: the sync's insert leaves the row as it is (the soak met this)."""
    ids = ids_by_subject(store)
    apply_local(store, "archive", [ids["yksi"]])
    with store.session() as session:
        mailtriage.settle_move(
            session,
            ids["yksi"],
            source_folder_id=folders["INBOX"],
            source_uid=1,
            target_folder_id=folders["Archive"],
            target_uid=11,
        )
    with store.session() as session:
        added = mail_store.insert_messages(session, folders["Archive"], [row(11, "yksi"), row(14, "neljä")])
    assert added == 1
    assert where(store, ids["yksi"]) == ("Archive", 11)  # the settled row, as it was
    assert sorted(subject for subject, _ in _all(store)) == ["kaksi", "kolme", "neljä", "yksi"]
