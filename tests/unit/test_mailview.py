"""The Mail screen's reads: folder counts, windows (order, edges), threads, one message, search."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from store.engine import Store, open_store
from store.mail import ensure_folder, insert_messages
from store.mailview import (
    default_folder_id,
    flag_states,
    folder_count,
    folder_window,
    folders,
    message_detail,
    position_in_folder,
    rebuilt_headers,
    rows_by_ids,
    search_mail,
    thread_members,
)

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    store = open_store(f"sqlite:///{path}")
    store.dispose()
    return path


@pytest.fixture
def store(template_store: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store.sqlite"
    shutil.copy(template_store, path)
    opened = open_store(f"sqlite:///{path}")
    yield opened
    opened.dispose()


def message(uid: int, minutes: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "uid": uid,
        "message_id": f"<m{uid}@example.fi>",
        "thread_key": f"<m{uid}@example.fi>",
        "subject": f"Viesti {uid}",
        "from_name": f"Lähettäjä {uid}",
        "from_addr": f"lahettaja{uid}@example.fi",
        "to_addrs": "yhteinen@example.fi",
        "date": START + timedelta(minutes=minutes),
        "seen": True,
        "flagged": False,
        "answered": False,
        "has_attachments": False,
        "cc_addrs": "",
        "parse_note": "",
        "body_text": f"Teksti {uid}",
        "attachments": [],
    }
    row.update(values)
    return row


def make_folders(store: Store) -> dict[str, int]:
    with store.session() as session:
        ids = {}
        for name, role in (("Roskat", "trash"), ("Omat", ""), ("INBOX", "inbox"), ("Arkisto", "archive")):
            folder = ensure_folder(session, name, role)
            assert folder.id is not None
            ids[role or name] = folder.id
    return ids


def add(store: Store, folder_id: int, rows: list[dict[str, Any]]) -> None:
    with store.session() as session:
        insert_messages(session, folder_id, rows)


def test_folders_come_in_role_order_with_counts(store: Store) -> None:
    ids = make_folders(store)
    add(store, ids["inbox"], [message(1, 1, seen=False), message(2, 2), message(3, 3, seen=False)])
    add(store, ids["archive"], [message(1, 1)])
    shown = folders(store)
    assert [(f.name, f.role, f.total, f.unread) for f in shown] == [
        ("INBOX", "inbox", 3, 2),
        ("Arkisto", "archive", 1, 0),
        ("Roskat", "trash", 0, 0),
        ("Omat", "", 0, 0),
    ]
    assert default_folder_id(store) == ids["inbox"]


def test_without_an_inbox_the_first_folder_opens_and_without_folders_none(store: Store) -> None:
    assert default_folder_id(store) is None
    with store.session() as session:
        ensure_folder(session, "Zeta", "")
        alpha = ensure_folder(session, "alpha", "")
    assert default_folder_id(store) == alpha.id


def test_windows_are_newest_first_and_cover_the_folder_once(store: Store) -> None:
    inbox = make_folders(store)["inbox"]
    # 250 messages; every fifth pair shares a date, so the id breaks the tie.
    rows = [message(uid, minutes=uid - (uid % 2 if uid % 5 == 0 else 0)) for uid in range(1, 251)]
    add(store, inbox, rows)
    assert folder_count(store, inbox) == 250
    whole = folder_window(store, inbox, 0, 1000)
    assert len(whole) == 250
    keys = [(row.date, row.id) for row in whole]
    assert keys == sorted(keys, reverse=True)
    assert len({row.id for row in whole}) == 250
    pieces = [row.id for offset in range(0, 250, 37) for row in folder_window(store, inbox, offset, 37)]
    assert pieces == [row.id for row in whole]
    # The edges: the last partial window, past the end, a window of nothing.
    assert [row.id for row in folder_window(store, inbox, 240, 100)] == [row.id for row in whole[240:]]
    assert folder_window(store, inbox, 250, 10) == []
    assert folder_window(store, inbox, 10, 0) == []
    assert whole[0].subject == "Viesti 250" and whole[-1].subject == "Viesti 1"


def test_positions_match_the_windows(store: Store) -> None:
    ids = make_folders(store)
    add(store, ids["inbox"], [message(uid, minutes=uid // 3) for uid in range(1, 61)])
    whole = folder_window(store, ids["inbox"], 0, 100)
    for index in (0, 1, 2, 30, 59):
        assert position_in_folder(store, ids["inbox"], whole[index].id) == index
    assert position_in_folder(store, ids["archive"], whole[0].id) is None


def test_rows_carry_flags_and_thread_sizes_across_folders(store: Store) -> None:
    ids = make_folders(store)
    root = "<juuri@example.fi>"
    add(
        store,
        ids["inbox"],
        [
            message(1, 1, thread_key=root, seen=False, flagged=True, has_attachments=True),
            message(2, 2, thread_key=root, answered=True),
            message(3, 3, thread_key=""),
        ],
    )
    add(store, ids["archive"], [message(1, 0, thread_key=root)])
    by_uid = {row.subject: row for row in folder_window(store, ids["inbox"], 0, 10)}
    first = by_uid["Viesti 1"]
    assert (first.seen, first.flagged, first.has_attachments, first.thread_size) == (False, True, True, 3)
    assert by_uid["Viesti 2"].answered and by_uid["Viesti 2"].thread_size == 3
    assert by_uid["Viesti 3"].thread_size == 1
    members = thread_members(store, root)
    assert [member.folder_name for member in members] == ["Arkisto", "INBOX", "INBOX"]
    assert [member.date for member in members] == sorted(member.date for member in members)
    assert thread_members(store, "") == []


def test_rows_by_ids_keep_the_order_given_and_skip_the_missing(store: Store) -> None:
    inbox = make_folders(store)["inbox"]
    add(store, inbox, [message(uid, uid) for uid in range(1, 6)])
    ids = [row.id for row in folder_window(store, inbox, 0, 10)]
    wanted = [ids[3], ids[0], 999_999, ids[2]]
    assert [row.id for row in rows_by_ids(store, wanted)] == [ids[3], ids[0], ids[2]]
    assert rows_by_ids(store, []) == []
    assert flag_states(store, [ids[0]]) == {ids[0]: (True, False)}


def test_one_message_with_attachments_and_rebuilt_headers(store: Store) -> None:
    inbox = make_folders(store)["inbox"]
    attachment = {"part": "2", "filename": "liite.pdf", "content_type": "application/pdf", "size": 1234}
    add(
        store,
        inbox,
        [message(1, 1, cc_addrs="kopio@example.fi", parse_note="rikki", attachments=[attachment])],
    )
    (row,) = folder_window(store, inbox, 0, 1)
    detail = message_detail(store, row.id)
    assert detail is not None
    assert detail.folder_name == "INBOX" and detail.folder_role == "inbox"
    assert detail.body_text == "Teksti 1" and detail.parse_note == "rikki" and detail.headers == ""
    assert [(a.filename, a.part, a.size) for a in detail.attachments] == [("liite.pdf", "2", 1234)]
    headers = rebuilt_headers(detail)
    assert "From: Lähettäjä 1 <lahettaja1@example.fi>" in headers
    assert "Cc: kopio@example.fi" in headers
    assert "Message-ID: <m1@example.fi>" in headers
    assert "Date: Sun, 01 Nov 2026 08:01:00 +0000" in headers
    assert message_detail(store, 999_999) is None


def test_search_finds_subject_sender_and_text_newest_first(store: Store) -> None:
    inbox = make_folders(store)["inbox"]
    add(
        store,
        inbox,
        [
            message(1, 1, subject="Työjono ei toimi"),
            message(2, 2, from_name="Päivi Työjonola"),
            message(3, 3, body_text="Oirearvion työjonolähetys katkesi"),
            message(4, 4, subject="Muuta"),
        ],
    )
    found = rows_by_ids(store, search_mail(store, "työjono"))
    assert [row.subject for row in found] == ["Viesti 3", "Viesti 2", "Työjono ei toimi"]
    assert search_mail(store, "[@click=app.quit]") == []  # operators and markup are only words
    assert search_mail(store, "  !! ") == []
