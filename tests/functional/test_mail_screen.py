"""The Mail screen driven from the keyboard through Pilot: list, reader, headers, search, triage, undo."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from coordinator_tui.config import Config, ImapSection
from coordinator_tui.demo import HOSTILE_STRINGS
from coordinator_tui.i18n import _
from coordinator_tui.screens.mail import MailScreen
from coordinator_tui.textclean import clean_line
from coordinator_tui.widgets.maillist import BLOCK_ROWS, KEPT_BLOCKS, FolderSource, IdsSource, MailList
from coordinator_tui.widgets.mailreader import MailReader
from store.engine import Store
from store.mailview import folder_window, folders, search_mail
from tests.conftest import FIXED_NOW
from tests.screen import screen_text

SIZE = (120, 40)


async def until(pilot: Any, condition: Callable[[], object], what: str, tries: int = 250) -> None:
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def open_mail(pilot: Any) -> MailScreen:
    app = pilot.app
    await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
    await pilot.press("2")
    await until(
        pilot,
        lambda: isinstance(app.screen, MailScreen) and app.screen.loaded_at is not None,
        "the Mail screen loaded",
    )
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, MailScreen)
    return screen


def inbox_id(store: Store) -> int:
    return next(folder.id for folder in folders(store) if folder.role == "inbox")


def folder_of_role(store: Store, role: str) -> int:
    return next(folder.id for folder in folders(store) if folder.role == role)


def message_state(store: Store, message_id: int) -> tuple[int, bool, bool]:
    """(folder_id, seen, flagged) of a message."""
    with store.raw_connection() as connection:
        row = connection.execute(
            "SELECT folder_id, seen, flagged FROM mail_message WHERE id = ?", (message_id,)
        ).fetchone()
    return int(row[0]), bool(row[1]), bool(row[2])


async def test_the_screen_shows_folders_and_the_inbox_newest_first(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        summaries = folders(demo_store)
        inbox = next(folder for folder in summaries if folder.role == "inbox")
        mail_list = screen.mail_list
        assert isinstance(mail_list.source, FolderSource) and mail_list.source.folder_id == inbox.id
        assert mail_list.count == inbox.total
        newest = folder_window(demo_store, inbox.id, 0, 3)
        assert [row.id for row in (mail_list.row_at(i) for i in range(3)) if row] == [r.id for r in newest]
        shot = screen_text(app)
        for folder in summaries:
            assert str(folder.total) in shot
        assert _("Inbox") in shot and _("Trash") in shot
        assert clean_line(newest[0].subject) in shot


async def test_keys_move_the_cursor_through_the_whole_folder(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        mail_list = screen.mail_list
        assert mail_list.has_focus and mail_list.cursor == 0
        await pilot.press("j", "j", "down")
        assert mail_list.cursor == 3
        await pilot.press("k", "up")
        assert mail_list.cursor == 1
        await pilot.press("pagedown")
        page = mail_list.cursor
        assert page > 5
        await pilot.press("pageup")
        assert mail_list.cursor == 1
        await pilot.press("end")
        await pilot.pause()
        assert mail_list.cursor == mail_list.count - 1
        oldest = folder_window(demo_store, inbox_id(demo_store), mail_list.count - 1, 1)[0]
        assert clean_line(oldest.subject)[:30] in screen_text(app)
        await pilot.press("home")
        assert mail_list.cursor == 0 and mail_list.scroll_y == 0


async def test_enter_opens_the_message_with_its_thread_and_marks_it_read(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        mail_list = screen.mail_list
        # The first unread message that belongs to a conversation.
        index = next(
            i
            for i in range(mail_list.count)
            if (row := mail_list.row_at(i)) is not None and not row.seen and row.thread_size > 1
        )
        for _step in range(index):
            await pilot.press("j")
        row = mail_list.current_row()
        assert row is not None
        await pilot.press("enter")
        reader = screen.query_one(MailReader)
        await until(pilot, lambda: reader.detail is not None and reader.detail.id == row.id, "opened")
        await until(pilot, lambda: message_state(demo_store, row.id)[1], "marked read in the store")
        assert len(reader.thread) == row.thread_size
        await pilot.pause(0.1)
        shot = screen_text(app)
        assert _("From") in shot and clean_line(row.from_addr) in shot
        assert reader.detail is not None
        assert clean_line(reader.detail.body_text.splitlines()[0]) in shot
        assert _("Conversation ({count} messages)").format(count=row.thread_size) in shot


async def test_H_shows_full_headers_then_says_the_demo_has_no_raw_source(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        await pilot.press("H")  # nothing open yet: a hint, no failure
        await pilot.press("j", "enter")
        reader = screen.query_one(MailReader)
        await until(pilot, lambda: reader.detail is not None, "opened")
        assert reader.detail is not None
        await pilot.press("H")
        assert reader.mode == "headers"
        await pilot.pause(0.05)
        assert f"Message-ID: {reader.detail.message_id}" in screen_text(app)
        await pilot.press("H")
        assert reader.mode == "raw"
        await pilot.pause(0.05)
        said = _("The raw source is not available in the demo: its messages are not on a server.")
        assert said.split(":")[0] in screen_text(app).replace("\n", " ")
        await pilot.press("H")
        assert reader.mode == "text"


async def test_search_replaces_the_list_as_you_type_and_escape_clears_it(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        mail_list = screen.mail_list
        inbox_total = mail_list.count
        await pilot.press("slash")
        await pilot.press(*"verkostot")
        expected = search_mail(demo_store, "verkostot")
        assert 0 < len(expected) < inbox_total
        await until(
            pilot,
            lambda: isinstance(mail_list.source, IdsSource) and list(mail_list.source.ids) == expected,
            "search results shown",
        )
        assert screen.search_text == "verkostot"
        await pilot.press(*"apaaminen")  # typing on narrows the hits
        narrower = search_mail(demo_store, "verkostotapaaminen")
        await until(
            pilot,
            lambda: isinstance(mail_list.source, IdsSource) and list(mail_list.source.ids) == narrower,
            "narrower results",
        )
        await pilot.press("enter")  # to the list, the results stay
        assert mail_list.has_focus and isinstance(mail_list.source, IdsSource)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(mail_list.source, FolderSource), "the folder again")
        assert mail_list.count == inbox_total and screen.search_text == ""


async def test_x_then_semicolon_archives_the_selection_and_u_brings_it_back(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        mail_list = screen.mail_list
        inbox, archive = inbox_id(demo_store), folder_of_role(demo_store, "archive")
        before = mail_list.count
        await pilot.press("j", "j")
        first, second = mail_list.row_at(2), mail_list.row_at(3)
        assert first is not None and second is not None
        await pilot.press("x", "x")  # x marks and moves on
        assert mail_list.marked == {first.id, second.id} and mail_list.cursor == 4
        await pilot.press("semicolon", "e")
        await until(
            pilot,
            lambda: (
                message_state(demo_store, first.id)[0] == archive
                and message_state(demo_store, second.id)[0] == archive
            ),
            "both archived",
        )
        await until(pilot, lambda: mail_list.count == before - 2, "the list lost the two rows")
        assert mail_list.marked == set()
        shown = [row.id for i in range(6) if (row := mail_list.row_at(i)) is not None]
        assert first.id not in shown and second.id not in shown
        await pilot.press("u")
        await until(
            pilot,
            lambda: (
                message_state(demo_store, first.id)[0] == inbox
                and message_state(demo_store, second.id)[0] == inbox
            ),
            "both back in the inbox",
        )
        await until(pilot, lambda: mail_list.count == before, "the rows are back in the list")


async def test_e_without_a_selection_archives_the_row_under_the_cursor(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        mail_list = screen.mail_list
        await pilot.press("j", "x", "k", "k")  # a mark, but no `;`: e is for the cursor row only
        marked = next(iter(mail_list.marked))
        row = mail_list.current_row()
        assert row is not None and row.id != marked
        await pilot.press("e")
        archive = folder_of_role(demo_store, "archive")
        await until(pilot, lambda: message_state(demo_store, row.id)[0] == archive, "archived")
        assert message_state(demo_store, marked)[0] == inbox_id(demo_store)


async def test_N_toggles_unread_s_flags_and_hash_deletes(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        row = screen.mail_list.current_row()
        assert row is not None and not row.seen
        await pilot.press("N")
        await until(pilot, lambda: message_state(demo_store, row.id)[1], "read")
        await until(pilot, lambda: (r := screen.mail_list.current_row()) is not None and r.seen, "shown read")
        await pilot.press("N")
        await until(pilot, lambda: not message_state(demo_store, row.id)[1], "unread again")
        await pilot.press("s")
        await until(pilot, lambda: message_state(demo_store, row.id)[2], "flagged")
        await pilot.press("u")
        await until(pilot, lambda: not message_state(demo_store, row.id)[2], "flag undone")
        await pilot.press("number_sign")
        trash = folder_of_role(demo_store, "trash")
        await until(pilot, lambda: message_state(demo_store, row.id)[0] == trash, "in the trash")


async def test_folders_are_chosen_from_the_folder_list(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        sent = next(folder for folder in folders(demo_store) if folder.role == "sent")
        await pilot.press("shift+tab")  # the folder list is left of the message list
        await pilot.press("j")
        mail_list = screen.mail_list
        await until(
            pilot,
            lambda: isinstance(mail_list.source, FolderSource) and mail_list.source.folder_id == sent.id,
            "the Sent folder shown",
        )
        assert mail_list.count == sent.total
        await pilot.press("escape")  # back to the list, not away from the screen
        assert mail_list.has_focus and isinstance(app.screen, MailScreen)


async def test_the_demo_says_why_attachments_are_not_saved_and_r_opens_a_reply(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.screens.compose import ComposeScreen

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        row = screen.mail_list.current_row()
        assert row is not None and row.has_attachments  # the newest hostile message carries one
        await pilot.press("enter")
        reader = screen.query_one(MailReader)
        await until(pilot, lambda: reader.detail is not None, "opened")
        await pilot.press("w")
        await pilot.pause(0.05)
        assert any(
            "esittelyn liitteet eivät ole palvelimella" in str(n.message).lower() for n in app._notifications
        )
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose screen")
        assert app.screen.draft.source_message_id == row.id
        assert app.screen.draft.kind == "reply"


async def test_hostile_text_is_shown_literally_in_the_list_and_the_reader(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_mail(pilot)
        await pilot.press("enter")
        reader = screen.query_one(MailReader)
        await until(pilot, lambda: reader.detail is not None, "opened")
        await pilot.pause(0.1)
        shot = screen_text(app)
        for text in HOSTILE_STRINGS:
            assert clean_line(text) in shot, text
        assert "\x1b" not in app.export_screenshot() and "\u202e" not in shot
        await pilot.press("H", "H", "H")
        assert app.is_running and app.return_code is None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_server_that_cannot_be_reached_rolls_the_archive_back(
    demo_store, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", "salasana")
    config = Config(
        imap=ImapSection(host="127.0.0.1", port=closed_port(), security="none", username="yhteinen")
    )
    app = make_app(demo_store, demo=False, config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        row = screen.mail_list.current_row()
        assert row is not None
        inbox = inbox_id(demo_store)
        await pilot.press("e")
        await until(pilot, lambda: screen.last_change is not None, "archived locally")
        await until(pilot, lambda: message_state(demo_store, row.id)[0] == inbox, "rolled back", tries=500)
        await until(
            pilot,
            lambda: any(n.severity == "error" and "127.0.0.1" in str(n.message) for n in app._notifications),
            "the user is told",
        )
        await until(
            pilot, lambda: (r := screen.mail_list.row_at(0)) is not None and r.id == row.id, "listed again"
        )


async def test_a_big_folder_is_never_loaded_into_the_widget(tmp_path, make_app) -> None:  # type: ignore[no-untyped-def]
    from store.engine import open_store, url_for_path
    from store.mail import ensure_folder, insert_messages

    store = open_store(url_for_path(tmp_path / "big.sqlite"))
    count = 12_000
    with store.session() as session:
        inbox = ensure_folder(session, "INBOX", "inbox")
        assert inbox.id is not None
        rows = [
            {
                "uid": uid,
                "subject": f"Viesti {uid:05d}",
                "from_addr": f"lahettaja{uid}@example.fi",
                "date": FIXED_NOW - timedelta(minutes=uid),
                "seen": uid % 7 != 0,
                "thread_key": f"<t{uid % 3000}@example.fi>",
            }
            for uid in range(1, count + 1)
        ]
        insert_messages(session, inbox.id, rows)
    app = make_app(store)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_mail(pilot)
            mail_list = screen.query_one(MailList)
            assert mail_list.count == count
            assert mail_list.held_rows() <= BLOCK_ROWS * KEPT_BLOCKS
            await pilot.press("end")
            await pilot.pause(0.05)
            assert mail_list.cursor == count - 1
            assert "Viesti 12000" in screen_text(app)  # the oldest
            for _page in range(20):
                await pilot.press("pageup")
            await pilot.press("home")
            await pilot.pause(0.05)
            assert "Viesti 00001" in screen_text(app)
            assert mail_list.held_rows() <= BLOCK_ROWS * KEPT_BLOCKS
            first = mail_list.row_at(0)
            assert first is not None and first.thread_size == 4
    finally:
        store.dispose()


async def test_a_reload_racing_an_open_keeps_the_message_just_opened(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    # Opening an unread message marks it read, which reloads the screen (keeping the reader). When
    # that reload came before the opened message had reached the reader, it read the reader's
    # previous message again, and that one stayed on screen. The race is made here on purpose.
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_mail(pilot)
        first, second = screen.mail_list.row_at(0), screen.mail_list.row_at(1)
        assert first is not None and second is not None
        await pilot.press("enter")
        reader = screen.query_one(MailReader)
        await until(pilot, lambda: reader.detail is not None and reader.detail.id == first.id, "first opened")
        screen.load_message(second.id)
        screen.reload(keep_reader=True)  # before the second message reached the reader
        await until(pilot, lambda: reader.detail is not None and reader.detail.id != first.id, "second shown")
        await pilot.pause(0.3)
        assert reader.detail is not None and reader.detail.id == second.id
