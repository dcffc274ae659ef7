"""Mail bombs in INBOX, beside everyday mail: the sync stores what it can, stays in its memory bound
and moves on; the Mail screen lists and opens every bomb.

The bombs (tests/support/bombs.py) are a 50 MB message, 10,000 attachments, 1,000 nested
multiparts (once small enough to be fetched whole, once large enough to be read by its
BODYSTRUCTURE) and a 1 MB header section. They are written straight into the Dovecot user's
Maildir (APPEND of 50 MB is slow), and the sync runs as cron runs it: `coordinator-tui sync --json`
as a process of its own, whose peak RSS (VmHWM) must stay within the sync's bound of 200 MB
(issue 3). How long each bomb takes is measured by bench/mail_bomb.py, not here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from coordinator_tui.config import Config
from coordinator_tui.i18n import _
from coordinator_tui.mail.parse import CUT_MARK, MAX_PARTS
from coordinator_tui.mail.sync import HEADERS_LIMIT, PART_LIMIT, STRUCTURE_NOTE, sync_account
from coordinator_tui.screens.mail import MailScreen
from coordinator_tui.textclean import clean_line
from coordinator_tui.widgets.mailreader import MailReader
from store.engine import Store, open_store
from store.models import MailAttachment, MailMessage
from tests.screen import screen_text
from tests.support.bombs import BOMBS, SENDER, deep_nesting, normal_message, run_sync, write_config
from tests.support.dovecot import Dovecot, seed_maildir
from tests.support.messages import section_for

STRUCTURE = re.compile(rb"BODYSTRUCTURE \(.*\)(?= BODY\[HEADER\])")
LONG_TEXT = 300 * 1024  # text under the nesting: a large message, read by its BODYSTRUCTURE
MEMORY_BOUND_MB = 200.0  # the sync's bound (issue 3)
SIZE = (120, 40)


def bombs_and_normal_mail() -> Iterator[bytes]:
    """Three everyday messages, then each bomb followed by one more (built one at a time)."""
    number = 0
    for number in range(3):
        yield normal_message(number)
    for bomb in BOMBS:
        yield bomb.build()
        number += 1
        yield normal_message(number)


def stored_rows(store: Store) -> list[MailMessage]:
    """Every stored message, in UID order."""
    with store.session() as session:
        rows = list(session.exec(select(MailMessage).order_by(MailMessage.uid)).all())
        for row in rows:
            session.expunge(row)
    return rows


def rows_by_message_id(store: Store) -> dict[str, MailMessage]:
    return {row.message_id: row for row in stored_rows(store)}


def attachment_names(store: Store, message_id: int) -> list[str]:
    with store.session() as session:
        statement = (
            select(MailAttachment.filename)
            .where(MailAttachment.mail_message_id == message_id)
            .order_by(MailAttachment.id)
        )
        return list(session.exec(statement).all())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.sqlite")
    yield opened
    opened.dispose()


async def test_mail_bombs_are_stored_as_far_as_readable_and_open_in_the_reader(
    private_dovecot: Dovecot, store: Store, tmp_path: Path, make_app: Any
) -> None:
    written = seed_maildir(private_dovecot, "INBOX", bombs_and_normal_mail())
    normal_count = written - len(BOMBS)
    account = private_dovecot.account()
    config = write_config(tmp_path / "config.toml", tmp_path / "store.sqlite", account)

    run = run_sync(config, account.password)
    assert run.code == 0, run.stderr
    assert run.report["ok"], run.report
    inbox = next(folder for folder in run.report["folders"] if folder["folder"] == "INBOX")
    assert (inbox["new"], inbox["messages"], inbox["error"]) == (written, written, "")
    assert 0 < run.peak_rss_mb <= MEMORY_BOUND_MB, f"peak RSS {run.peak_rss_mb:.0f} MB"

    # The next sync finds nothing to do: no bomb is fetched again, none is lost.
    report = sync_account(store, section_for(account), account.password)
    assert report.ok, report.error
    assert [(f.new, f.changed, f.removed) for f in report.folders] == [(0, 0, 0)] * len(report.folders)

    rows = rows_by_message_id(store)
    assert len(rows) == written
    normal = [row for key, row in rows.items() if key.startswith("<normal-")]
    assert len(normal) == normal_count
    for row in normal:
        assert row.subject.startswith("Tavallinen viesti") and row.parse_note == ""
        assert "tavallinen viesti numero" in row.body_text
    for bomb in BOMBS:
        row = rows[bomb.message_id]
        assert row.subject == bomb.subject, bomb.name
        assert (row.from_name, row.from_addr) == SENDER, bomb.name
        assert len(row.headers) <= HEADERS_LIMIT, bomb.name

    huge = rows["<bomb-huge@example.fi>"]
    assert huge.size > 50_000_000
    assert huge.body_text.startswith("Tämä on pitkä viesti") and huge.body_text.endswith(CUT_MARK)
    assert len(huge.body_text) <= PART_LIMIT + len(CUT_MARK)
    assert attachment_names(store, huge.id) == ["levykuva.bin"]

    many = rows["<bomb-attachments@example.fi>"]
    assert f"more than {MAX_PARTS} MIME parts" in many.parse_note
    names = attachment_names(store, many.id)
    assert 0 < len(names) <= MAX_PARTS  # listed up to the parser's cap, with the note saying so
    assert names == [f"liite-{number}.txt" for number in range(1, len(names) + 1)]
    assert many.body_text == "Hei, liitteitä tulee."

    nested = rows["<bomb-nested@example.fi>"]  # fetched whole: too deep to parse, shown raw
    assert "nested too deep (1000 levels)" in nested.parse_note
    assert "Pohjalla on teksti." in nested.body_text
    nested_long = rows["<bomb-nested-long@example.fi>"]  # read by its BODYSTRUCTURE
    assert "nested too deep" in nested_long.parse_note

    header = rows["<bomb-header@example.fi>"]
    assert "X-Bomb" in header.parse_note and "cut" in header.parse_note
    assert header.body_text == "Otsakkeen alla on lyhyt teksti."

    # The Mail screen lists every message and opens each bomb: the reader shows its note.
    app = make_app(store, demo=False, config=Config())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
        await pilot.press("2")
        await until(
            pilot,
            lambda: isinstance(app.screen, MailScreen) and app.screen.loaded_at is not None,
            "the Mail screen loaded",
        )
        screen = app.screen
        assert isinstance(screen, MailScreen)
        mail_list = screen.mail_list
        assert mail_list.count == written
        reader = screen.query_one(MailReader)
        for bomb in BOMBS:
            row = rows[bomb.message_id]
            index = next(i for i in range(mail_list.count) if (r := mail_list.row_at(i)) and r.id == row.id)
            mail_list.focus()
            await pilot.press("home", *["j"] * index, "enter")
            await until(
                pilot, lambda row=row: reader.detail is not None and reader.detail.id == row.id, bomb.name
            )
            await pilot.pause(0.05)
            shot = " ".join(screen_text(app).split())
            assert clean_line(bomb.subject) in shot, bomb.name
            if row.parse_note:
                assert " ".join(_("Parse note: ").split()) in shot, bomb.name
                assert " ".join(row.parse_note[:40].split()) in shot, bomb.name


async def until(pilot: Any, condition: Any, what: str, tries: int = 500) -> None:
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


def test_a_bodystructure_too_deep_to_parse_lists_the_message_from_its_header(
    private_dovecot: Dovecot, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dovecot stops nesting at 100 levels, which imapclient's recursive parser reads; a server
    without that cap sends the 1,000 levels as they are, and the parser raises RecursionError.
    That server is simulated: the real FETCH response is read from Dovecot, and its BODYSTRUCTURE
    for the nested bomb is replaced by a 1,000-deep one before imapclient's real parser sees it.
    """
    import imapclient.imapclient as imapclient_module

    seed_maildir(
        private_dovecot,
        "INBOX",
        [
            normal_message(1),
            deep_nesting(1000, LONG_TEXT),
            normal_message(2),
            deep_nesting(1000, LONG_TEXT),
        ],
    )
    leaf = b'("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 10 1 NIL NIL NIL NIL)'
    deep = leaf
    for _level in range(1000):
        deep = b"(" + deep + b' "mixed" ("boundary" "b") NIL NIL NIL)'
    real_parser = imapclient_module.parse_fetch_response
    replaced = []

    def uncapped_server(data: list[Any], *args: Any) -> Any:
        changed = []
        for item in data:
            if isinstance(item, tuple) and b"BODYSTRUCTURE (" in item[0]:
                head = re.sub(
                    rb"BODYSTRUCTURE \(.*\)(?= BODY\[HEADER\])", lambda _m: b"BODYSTRUCTURE " + deep, item[0]
                )
                replaced.append(head != item[0])
                item = (head, item[1])
            changed.append(item)
        return real_parser(changed, *args)

    monkeypatch.setattr(imapclient_module, "parse_fetch_response", uncapped_server)
    account = private_dovecot.account()
    report = sync_account(store, section_for(account), account.password)
    assert report.ok, report.error
    assert report.folder("INBOX").new == 4
    assert any(replaced)

    rows = stored_rows(store)
    assert [row.subject for row in rows] == [
        "Tavallinen viesti 1",
        "Pommi: 1000 sisäkkäistä osaa ja pitkä teksti",
        "Tavallinen viesti 2",
        "Pommi: 1000 sisäkkäistä osaa ja pitkä teksti",
    ]
    for row in rows[1::2]:
        assert row.parse_note.startswith(STRUCTURE_NOTE)
        assert row.from_addr == SENDER[1] and "Message-ID" in row.headers
    assert "tavallinen viesti numero 1" in rows[0].body_text

    monkeypatch.undo()
    again = sync_account(store, section_for(account), account.password)
    assert [(f.new, f.changed, f.removed) for f in again.folders] == [(0, 0, 0)] * len(again.folders)
