"""The store under faults: a disk that fills up, a store turned read-only, a store locked by another program.

Each fault is real: a small tmpfs mounted by the test (the tests run as root, here and in CI; when the
mount is impossible the test fails and says why), a read-only remount of it, and another process that
holds SQLite's lock past the busy timeout. For each write path a user hits (the IMAP sync, triage on the
Mail and Requests screens, a request made from a message, a CSV import, a feed refresh, the start-up) the
user gets words (what happened, what to do), the store stays whole (SQLite's and FTS5's integrity checks,
every row with its search entry), the app keeps running, and the same action succeeds once the condition
clears.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from coordinator_tui.config import Config
from coordinator_tui.i18n import _
from coordinator_tui.screens.mail import MailScreen
from coordinator_tui.screens.network import NetworkScreen
from coordinator_tui.screens.networkdialogs import ImportPreviewScreen
from coordinator_tui.screens.requestpickers import CATEGORY_KEYS, NewRequestPicker
from coordinator_tui.screens.requests import RequestsScreen
from store import errors
from store.engine import Store, open_store, url_for_path
from store.feeds import add_feed
from store.mailview import folders
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.feedserver import FeedServer, running_feed_server
from tests.support.messages import section_for
from tests.support.storefaults import SmallDisk, StoreLock, another_program_can_write, assert_whole, count

SIZE = (120, 40)
DISK_SIZE = 24 * 1024 * 1024  # the demo store (about 6 MB) and room for its log
SYNC_DISK_SIZE = 32 * 1024 * 1024  # 2.4 MB of mail takes about four times that with its index and log
BUSY_WAIT_TRIES = 1000  # 20 s of pauses: the busy timeout (5 s) and a loaded machine


# --- the words the user should read: the store's own message ids, in the language of the test ----


def words(kind: str) -> str:
    """A piece of the message for ``kind`` that says what to do, as the user reads it (translated)."""
    factory = {"full": errors.disk_full, "read-only": errors.read_only, "locked": errors.locked}[kind]
    todo = factory("x").todo
    return todo.split(". ", 1)[1][:30]  # past "Nothing was half-saved: ...": the advice itself


def said(kind: str, text: str) -> bool:
    return words(kind) in text


# --- helpers ---------------------------------------------------------------------------------------


async def until(pilot: Any, condition: Callable[[], object], what: str, tries: int = 400) -> None:
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


def notices(app: Any) -> str:
    """Everything the app told the user in notifications."""
    return "\n".join(str(notification.message) for notification in app._notifications)


def copy_store(template: Path, path: Path) -> Store:
    source, target = sqlite3.connect(template), sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    path.chmod(0o600)
    return open_store(url_for_path(path))


def fill_up(store: Store, disk: SmallDisk, leave: int = 0) -> None:
    """Fill the disk; the write-ahead log is emptied first, so that the next change needs new room."""
    assert store.path is not None
    connection = sqlite3.connect(store.path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    disk.fill(leave)
    assert disk.free_bytes() <= leave


class Fault:
    """One of the three conditions, brought about under a running app and cleared again."""

    def __init__(self, kind: str, store: Store, disk: SmallDisk) -> None:
        self.kind = kind
        self.store = store
        self.disk = disk
        self.lock: StoreLock | None = None

    def start(self) -> None:
        assert self.store.path is not None
        if self.kind == "full":
            fill_up(self.store, self.disk)
        elif self.kind == "read-only":
            # The kernel refuses to remount a disk read-only while a file on it is open for writing:
            # the store's pooled connections are closed first, as after a connection was lost (the
            # app's next change opens a new one). A disk the kernel itself turns read-only (after an
            # I/O error) fails the same way, on the open connection.
            self.store.dispose()
            self.disk.read_only()
        else:
            self.lock = StoreLock(self.store.path).hold()

    def clear(self) -> None:
        if self.kind == "full":
            self.disk.free()
        elif self.kind == "read-only":
            self.disk.writable()
        elif self.lock is not None:
            self.lock.release()
            self.lock = None

    def tries(self) -> int:
        return BUSY_WAIT_TRIES if self.kind == "locked" else 400


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with SmallDisk(tmp_path / "disk", DISK_SIZE) as mounted:
        yield mounted


@pytest.fixture
def store_on_disk(disk: SmallDisk, demo_store_template: Path) -> Iterator[Store]:
    """A copy of the demo store on the small disk."""
    store = copy_store(demo_store_template, disk.path / "store.sqlite")
    yield store
    store.dispose()


def folder_of_role(store: Store, role: str) -> int:
    return next(folder.id for folder in folders(store) if folder.role == role)


def message_folder(path: Path, message_id: int) -> int:
    return count(path, "SELECT folder_id FROM mail_message WHERE id = ?", message_id)


async def open_area(pilot: Any, key: str, screen_class: type, ready: Callable[[Any], object]) -> Any:
    app = pilot.app
    await until(pilot, lambda: app.dashboard_loaded_at is not None, "the Today screen loaded")
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, screen_class) and ready(app.screen), f"{screen_class}")
    await pilot.pause()
    return app.screen


# --- triage on the Mail screen ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["full", "read-only", "locked"])
async def test_archiving_under_a_fault_says_what_to_do_and_works_once_it_clears(
    kind: str, store_on_disk: Store, disk: SmallDisk, make_app: Callable[..., Any]
) -> None:
    store = store_on_disk
    assert store.path is not None
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_area(pilot, "2", MailScreen, lambda s: s.loaded_at is not None)
        row = screen.mail_list.current_row()
        assert row is not None
        inbox, archive = folder_of_role(store, "inbox"), folder_of_role(store, "archive")
        fault = Fault(kind, store, disk)
        fault.start()
        try:
            await pilot.press("e")
            await until(
                pilot, lambda: said(kind, notices(app)), f"words about the {kind} store", fault.tries()
            )
            assert "Traceback" not in notices(app)
            assert app.is_running and isinstance(app.screen, MailScreen)
        finally:
            fault.clear()
        assert another_program_can_write(store.path), "the failed change left the store locked"
        assert message_folder(store.path, row.id) == inbox
        assert_whole(store.path)
        await pilot.press("e")  # the same key again, now that the condition has cleared
        await until(pilot, lambda: message_folder(store.path, row.id) == archive, "archived")
    assert_whole(store.path)


# --- the Requests screen and a request made from a message ------------------------------------------


async def test_a_priority_on_a_full_disk_says_so_and_the_same_keys_work_after(
    store_on_disk: Store, disk: SmallDisk, make_app: Callable[..., Any]
) -> None:
    from store import requests as db

    store = store_on_disk
    assert store.path is not None
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_area(pilot, "3", RequestsScreen, lambda s: s.loaded_at is not None and s.counts)
        row = screen.request_list.current_row()
        assert row is not None
        before = db.get_request(store, row.id)
        assert before is not None
        target = 4 if before.priority == 3 else 3
        history = len(db.history(store, row.id))
        fill_up(store, disk)
        await pilot.press("p", str(target))
        await until(pilot, lambda: said("full", notices(app)), "words about the full disk")
        assert app.is_running and isinstance(app.screen, RequestsScreen)
        disk.free()
        after = db.get_request(store, row.id)
        assert after is not None and after.priority == before.priority and after.version == before.version
        assert len(db.history(store, row.id)) == history  # no history line for a change never made
        assert_whole(store.path)
        await pilot.press("p", str(target))
        await until(pilot, lambda: (r := db.get_request(store, row.id)) and r.priority == target, "priority")
        assert len(db.history(store, row.id)) > history
    assert_whole(store.path)


async def test_a_request_made_from_a_message_while_the_store_is_locked_is_made_after(
    store_on_disk: Store, disk: SmallDisk, make_app: Callable[..., Any]
) -> None:
    store = store_on_disk
    assert store.path is not None
    requests_before = count(store.path, "SELECT count(*) FROM service_request")
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_area(pilot, "2", MailScreen, lambda s: s.loaded_at is not None)
        with StoreLock(store.path):
            await pilot.press("C")
            await until(pilot, lambda: isinstance(app.screen, NewRequestPicker), "the picker")
            await pilot.press(CATEGORY_KEYS[2], "2")
            await until(pilot, lambda: said("locked", notices(app)), "words about the lock", BUSY_WAIT_TRIES)
            assert app.is_running and isinstance(app.screen, MailScreen)
        assert count(store.path, "SELECT count(*) FROM service_request") == requests_before
        assert_whole(store.path)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, NewRequestPicker), "the picker again")
        await pilot.press(CATEGORY_KEYS[2], "2")
        await until(
            pilot,
            lambda: count(store.path, "SELECT count(*) FROM service_request") == requests_before + 1,
            "the request made",
        )
    assert_whole(store.path)


# --- a CSV import confirmed on a full disk ----------------------------------------------------------


async def test_a_csv_import_confirmed_on_a_full_disk_writes_nothing_and_goes_through_after(
    store_on_disk: Store, disk: SmallDisk, make_app: Callable[..., Any], tmp_path: Path
) -> None:
    store = store_on_disk
    assert store.path is not None
    rows = "".join(f"Tuotu Henkilö {n};tuotu.{n}@pohde.example.fi;;;esihenkilö\r\n" for n in range(40))
    csv = tmp_path / "verkosto.csv"
    csv.write_text("Nimi;Sähköposti;Puhelin;Yksikkö;Roolit\r\n" + rows, encoding="utf-8")
    people = count(store.path, "SELECT count(*) FROM person")
    app = make_app(store, language="fi")
    async with app.run_test(size=(130, 40)) as pilot:
        await open_area(pilot, "7", NetworkScreen, lambda s: s.built is not None)

        async def preview_import() -> None:
            await pilot.press("i", *str(csv))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ImportPreviewScreen), "the preview")

        fill_up(store, disk)  # the preview still reads the directory; the confirmed import cannot write
        await preview_import()
        await pilot.press("y")
        await until(pilot, lambda: said("full", notices(app)), "words about the full disk")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen), "back on the Network screen")
        disk.free()
        assert count(store.path, "SELECT count(*) FROM person") == people  # none of the 40, not some
        assert_whole(store.path)
        await preview_import()
        await pilot.press("y")
        await until(
            pilot, lambda: count(store.path, "SELECT count(*) FROM person") == people + 40, "the 40 imported"
        )
    assert_whole(store.path)


# --- a feed refresh storing items on a disk that fills up ------------------------------------------


def coordinator(config: Path, *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if password:
        env["COORDINATOR_TUI_IMAP_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def big_feed(items: int, size: int) -> bytes:
    entries = "".join(
        f"<item><title>Tiedote {n}</title><link>https://example.fi/{n}</link><guid>tiedote-{n}</guid>"
        f"<description>{('Huoltokatko ja muutoksia. ' * (size // 26))}{n}</description></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Tiedotteet</title>'
        f"<link>https://example.fi/</link><description>x</description>{entries}</channel></rss>"
    ).encode()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from running_feed_server()


def test_a_feed_refresh_that_fills_the_disk_stores_nothing_half_and_the_next_stores_all(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    with SmallDisk(tmp_path / "disk", SYNC_DISK_SIZE) as disk:
        path = disk.path / "store.sqlite"
        store = open_store(url_for_path(path))
        add_feed(store, "Tiedotteet", feed_server.add("/rss", body=big_feed(300, 4000)))
        fill_up(store, disk, leave=256 * 1024)  # room to start, not for 1.2 MB of items
        store.dispose()
        config = tmp_path / "config.toml"
        config.write_text(f'[store]\nurl = "sqlite:///{path}"\n', encoding="utf-8")
        full = coordinator(config, "feeds", "refresh")
        assert full.returncode == 1, full.stdout + full.stderr
        assert "Traceback" not in full.stderr and said("full", full.stderr), full.stderr
        disk.free()
        assert count(path, "SELECT count(*) FROM feed_item") == 0
        assert_whole(path)
        again = coordinator(config, "feeds", "refresh")
        assert again.returncode == 0, again.stdout + again.stderr
        assert count(path, "SELECT count(*) FROM feed_item") == 300
        assert_whole(path)


# --- the IMAP sync --------------------------------------------------------------------------------


def mail(n: int, size: int) -> bytes:
    body = ("Hei, tässä pyytämänne lista käyttäjistä ja yksiköistä. " * (size // 56)).encode()
    return (
        f"From: Sari Ohman <sari.{n}@pohde.example.fi>\r\n"
        f"To: omaolo@pohde.example.fi\r\n"
        f"Subject: Kayttajalista {n}\r\n"
        f"Message-ID: <faults-{n}@pohde.example.fi>\r\n"
        "Date: Thu, 26 Nov 2026 09:15:00 +0200\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body


def sync_config(tmp_path: Path, path: Path, account: ImapAccount) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{path}"\n'
        f'[imap]\nhost = "{account.host}"\nport = {account.port}\nsecurity = "tls"\n'
        f'username = "{account.username}"\nca_file = "{account.ca_file}"\n',
        encoding="utf-8",
    )
    return config


def messages_in(path: Path, folder: str) -> tuple[int, int]:
    """(rows, distinct Message-IDs) of a folder in the store."""
    rows = count(
        path,
        "SELECT count(*) FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id WHERE f.name = ?",
        folder,
    )
    distinct = count(
        path,
        "SELECT count(DISTINCT m.message_id) FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id "
        "WHERE f.name = ?",
        folder,
    )
    return rows, distinct


def deliver_more_than_fits(dovecot: Dovecot, account: ImapAccount) -> None:
    """20 small messages in the inbox (they fit), then 12 of 200 kB in the archive (they do not)."""
    for n in range(20):
        dovecot.deliver("INBOX", mail(n, 2_000), user=account.username)
    for n in range(20, 32):
        dovecot.deliver("Archive", mail(n, 200_000), user=account.username)


def test_a_sync_that_fills_the_disk_stops_in_words_and_the_next_one_completes(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapAccount
) -> None:
    deliver_more_than_fits(dovecot, imap_user)
    with SmallDisk(tmp_path / "disk", SYNC_DISK_SIZE) as disk:
        path = disk.path / "store.sqlite"
        store = open_store(url_for_path(path))
        fill_up(store, disk, leave=1024 * 1024)  # the inbox fits; the 2.4 MB of the archive does not
        store.dispose()
        config = sync_config(tmp_path, path, imap_user)
        full = coordinator(config, "sync", password=imap_user.password)
        assert full.returncode == 1, full.stdout + full.stderr
        assert "Traceback" not in full.stderr and said("full", full.stderr), full.stderr
        disk.free()
        assert_whole(path)
        assert messages_in(path, "INBOX") == (20, 20)
        assert messages_in(path, "Archive")[0] < 12
        again = coordinator(config, "sync", password=imap_user.password)
        assert again.returncode == 0, again.stdout + again.stderr
        assert messages_in(path, "INBOX") == (20, 20)
        assert messages_in(path, "Archive") == (12, 12)  # every message, each once
        assert_whole(path)


def test_a_sync_that_failed_on_a_full_disk_leaves_no_lock_behind(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapAccount
) -> None:
    """The app keeps a failed worker's error, and with it the driver's frames: the store it failed on
    must still be writable by other programs (a cron sync) while the app goes on running."""
    from coordinator_tui.mail.sync import sync_account

    deliver_more_than_fits(dovecot, imap_user)
    with SmallDisk(tmp_path / "disk", SYNC_DISK_SIZE) as disk:
        path = disk.path / "store.sqlite"
        store = open_store(url_for_path(path))
        fill_up(store, disk, leave=1024 * 1024)
        with pytest.raises(errors.StoreError) as failed:
            sync_account(store, section_for(imap_user), imap_user.password)
        assert failed.value.kind == "full"
        disk.free()
        assert another_program_can_write(path), "the failed sync left the store locked"
        report = sync_account(store, section_for(imap_user), imap_user.password)  # the retry
        assert report.ok and messages_in(path, "Archive") == (12, 12)
        store.dispose()
        assert_whole(path)


async def test_the_app_s_sync_that_fills_the_disk_says_so_and_completes_it_once_there_is_room(
    tmp_path: Path,
    dovecot: Dovecot,
    imap_user: ImapAccount,
    make_app: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deliver_more_than_fits(dovecot, imap_user)
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", imap_user.password)
    with SmallDisk(tmp_path / "disk", SYNC_DISK_SIZE) as disk:
        path = disk.path / "store.sqlite"
        store = open_store(url_for_path(path))
        fill_up(store, disk, leave=1024 * 1024)
        app = make_app(store, demo=False, config=Config(imap=section_for(imap_user)))
        try:
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: said("full", app.last_error), "words about the full disk", 1500)
                assert "Traceback" not in app.last_error and app.is_running
                # The watch goes on: it says it will try again, and does, with no key pressed.
                retrying = _("mail cannot be stored (see the error), retrying in {seconds} s").split("{")[0]
                assert app.sync_state.startswith(retrying), app.sync_state
                disk.free()
                assert another_program_can_write(path), "the failed sync left the store locked"
                assert messages_in(path, "INBOX") == (20, 20) and messages_in(path, "Archive")[0] < 12
                assert_whole(path)
                await open_area(pilot, "2", MailScreen, lambda s: s.loaded_at is not None)
                await until(
                    pilot, lambda: messages_in(path, "Archive") == (12, 12), "the archive synced", 1500
                )
                assert messages_in(path, "INBOX") == (20, 20)
                await until(pilot, lambda: app.last_error == "", "the error cleared once synced", 500)
        finally:
            store.dispose()
        assert_whole(path)


def test_a_sync_on_a_locked_or_read_only_store_says_so_and_exits_1(
    tmp_path: Path, dovecot: Dovecot, imap_user: ImapAccount
) -> None:
    for n in range(3):
        dovecot.deliver("INBOX", mail(n, 2_000), user=imap_user.username)
    with SmallDisk(tmp_path / "disk", SYNC_DISK_SIZE) as disk:
        path = disk.path / "store.sqlite"
        open_store(url_for_path(path)).dispose()
        config = sync_config(tmp_path, path, imap_user)
        for mode in ("write", "exclusive-mode"):  # another writer; a shell that locked the whole file
            with StoreLock(path, mode):
                locked = coordinator(config, "sync", password=imap_user.password)
            assert locked.returncode == 1, locked.stdout + locked.stderr
            assert "Traceback" not in locked.stderr and said("locked", locked.stderr), (mode, locked.stderr)
            assert messages_in(path, "INBOX")[0] == 0
        disk.read_only()
        try:
            refused = coordinator(config, "sync", password=imap_user.password)
        finally:
            disk.writable()
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert str(path) in refused.stderr and said("read-only", refused.stderr), refused.stderr
        assert_whole(path)
        done = coordinator(config, "sync", password=imap_user.password)
        assert done.returncode == 0, done.stdout + done.stderr
        assert messages_in(path, "INBOX") == (3, 3)
        assert_whole(path)


# --- the app started on a store it cannot use -------------------------------------------------------


@pytest.mark.parametrize("kind", ["read-only", "locked"])
def test_the_app_on_a_store_it_cannot_use_says_so_and_exits_1(
    kind: str, tmp_path: Path, demo_store_template: Path
) -> None:
    with SmallDisk(tmp_path / "disk", DISK_SIZE) as disk:
        path = disk.path / "store.sqlite"
        copy_store(demo_store_template, path).dispose()
        config = tmp_path / "config.toml"
        config.write_text(f'[store]\nurl = "sqlite:///{path}"\n', encoding="utf-8")
        program = Path(sys.executable).with_name("coordinator-tui")
        # The terminal stays open after the app ends: a traceback printed on the way out shows there.
        command = f"{program} --config {config}; echo EXIT=$?; sleep 60"
        lock = StoreLock(path, "exclusive-mode") if kind == "locked" else None
        if lock is not None:
            lock.hold()
        else:
            disk.read_only()
        tmux = ["tmux", "-L", f"faults-{os.getpid()}-{kind}"]
        try:
            subprocess.run(
                [*tmux, "new-session", "-d", "-x", "120", "-y", "40", "-s", "t", command], check=True
            )

            def screen() -> str:
                return subprocess.run(
                    [*tmux, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True, check=False
                ).stdout

            deadline = time.monotonic() + 40
            while _("The store cannot be opened") not in screen():
                assert time.monotonic() < deadline, screen()
                time.sleep(0.2)
            shown = screen()
            what = (errors.locked if kind == "locked" else errors.read_only)(path).what

            def squeezed(text: str) -> str:
                # The box wraps the long path wherever the terminal's width puts it (tmux may
                # give a detached session 80 columns whatever -x says): compare without it.
                return "".join(text.replace("┃", " ").split())

            assert squeezed(what[:16]) in squeezed(shown), shown
            assert "store.sqlite" in squeezed(shown) and "Traceback" not in shown, shown
            subprocess.run([*tmux, "send-keys", "-t", "t", "q"], check=True)
            deadline = time.monotonic() + 20
            while "EXIT=" not in screen():
                assert time.monotonic() < deadline, screen()
                time.sleep(0.1)
            after = screen()
        finally:
            subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)
            if lock is not None:
                lock.release()
            else:
                disk.writable()
        assert "EXIT=1" in after and "Traceback" not in after, after
        assert_whole(path)
