"""Servers that misbehave (issue 9, Faults): each fault ends within its timeout, is told in words,
leaves the store consistent, and the next run against a good server completes.

The IMAP and SMTP peers are small TCP servers written for these tests (tests/support/badservers.py);
the feed server is tests/support/feedserver.py with a route that drips one byte a second. Every
timeout is short and set the way a user sets it: ``[imap] timeout``, ``[smtp] timeout``, FetchLimits.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import select

from coordinator_tui import i18n
from coordinator_tui.config import ImapSection, SmtpSection
from coordinator_tui.feeds.fetch import FetchLimits
from coordinator_tui.feeds.refresh import RetryBook, refresh_all
from coordinator_tui.mail import sync as sync_module
from coordinator_tui.mail.imap import ImapError
from coordinator_tui.mail.send import send_outbox
from coordinator_tui.mail.sync import sync_account
from coordinator_tui.mail.watch import Backoff, MailWatcher, WatchState, WatchStatus
from coordinator_tui.outgoing import queue_message, recover_interrupted
from store import outbox as outbox_store
from store.engine import Store, open_store
from store.feeds import add_feed, list_feeds
from store.models import MailFolder, MailMessage
from tests.support.badservers import BadImapServer, Fault, FaultKind, StallingSmtpServer
from tests.support.feedserver import FeedServer, running_feed_server
from tests.support.messages import plain

TIMEOUT = 0.5  # [imap] / [smtp] timeout in these tests: every stall ends after this long
WAIT = 30.0  # generous bound for waiting on a thread (a loaded 2-core machine)
MESSAGES = 5


@pytest.fixture(autouse=True)
def english_messages() -> None:
    """These tests read the error texts the code writes: in English, whatever the UI language."""
    i18n.set_language("en")  # tests/conftest.py puts Finnish back after each test


def mailbox() -> list[bytes]:
    return [
        plain(f"Käyttöoikeus {n}", f"Hei, pyyntö numero {n}.\n" * 8, f"<bad-{n}@example.fi>")
        for n in range(1, MESSAGES + 1)
    ]


@pytest.fixture
def imap() -> Iterator[BadImapServer]:
    with BadImapServer(mailbox()) as server:
        yield server


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store migrated once; each test copies it (migrating takes ~0.6 s each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    open_store(f"sqlite:///{path}").dispose()  # disposed: the WAL is checkpointed and removed
    return path


def fresh_store(migrated: Path, database: Path) -> Store:
    shutil.copyfile(migrated, database)
    return open_store(f"sqlite:///{database}")


@pytest.fixture
def store(migrated: Path, tmp_path: Path) -> Iterator[Store]:
    opened = fresh_store(migrated, tmp_path / "store.sqlite")
    yield opened
    opened.dispose()


def section_of(server: BadImapServer, **overrides: object) -> ImapSection:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",  # loopback only; the faults are in IMAP, not in TLS
        "username": server.username,
        "timeout": TIMEOUT,
    }
    values.update(overrides)
    return ImapSection(**values)  # type: ignore[arg-type]


def stored(store: Store, folder: str = "INBOX") -> list[tuple[int, str]]:
    with store.session() as session:
        rows = session.exec(
            select(MailMessage).join(MailFolder).where(MailFolder.name == folder).order_by(MailMessage.uid)  # type: ignore[arg-type]
        ).all()
        return [(row.uid, row.subject) for row in rows]


def assert_consistent(store: Store, database: Path) -> None:
    """SQLite is sound, and the store holds a prefix by UID of the server's mail, each message once
    and whole (the subject parsed from the message fetched): never half a batch, never a duplicate."""
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = stored(store)
    uids = [uid for uid, _subject in rows]
    assert uids == list(range(1, len(uids) + 1)), uids
    assert all(subject == f"Käyttöoikeus {uid}" for uid, subject in rows), rows


def assert_next_sync_completes(store: Store, server: BadImapServer) -> None:
    server.fault = None
    server.close_after = None
    report = sync_account(store, section_of(server), server.password)
    assert report.ok, report.error
    assert stored(store) == [(n, f"Käyttöoikeus {n}") for n in range(1, MESSAGES + 1)]
    assert report.folder("INBOX").in_store == MESSAGES


def sync_outcome(store: Store, server: BadImapServer) -> str:
    """The error the sync ended with (raised, or reported on a folder); fails if there was none."""
    try:
        report = sync_account(store, section_of(server), server.password)
    except ImapError as error:
        return str(error)
    assert not report.ok, "the fault went unnoticed"
    return report.error


# --- IMAP: malformed answers ------------------------------------------------------------------------

LOST = "connection to the IMAP server"  # "The connection to the IMAP server … was lost (…)"
UNREADABLE = "sent an answer that cannot be read"
IN_TIME = "did not answer in time"

MALFORMED: list[tuple[str, FaultKind, str]] = [
    ("GREETING", "garbage", LOST),
    ("CAPABILITY", "garbage", LOST),
    ("LOGIN", "garbage", LOST),  # not "refused the login": the password was never judged
    ("LIST", "garbage", LOST),
    ("EXAMINE", "garbage", LOST),
    ("SEARCH", "garbage", LOST),
    ("FETCH_META", "garbage", LOST),
    ("FETCH_BODY", "garbage", LOST),
    ("FETCH_META", "broken_parens", UNREADABLE),
    ("EXAMINE", "bad_number", UNREADABLE),  # [UIDVALIDITY twelve]: was a ValueError escaping the sync
    ("SEARCH", "bad_number", UNREADABLE),  # * SEARCH twelve: was a ValueError escaping the sync
    ("FETCH_BODY", "literal_long", IN_TIME),  # waits for 4000 bytes that never come
    ("FETCH_BODY", "literal_short", LOST),  # the literal's rest read as IMAP lines
]


@pytest.mark.parametrize(
    ("on", "kind", "words"), MALFORMED, ids=[f"{on}-{kind}" for on, kind, _ in MALFORMED]
)
def test_a_malformed_answer_ends_the_sync_in_words_and_the_next_sync_completes(
    imap: BadImapServer, store: Store, tmp_path: Path, on: str, kind: FaultKind, words: str
) -> None:
    imap.fault = Fault(on, kind)  # type: ignore[arg-type]

    error = sync_outcome(store, imap)

    assert any(connection.faulted for connection in imap.connections)
    assert words in error and f"127.0.0.1:{imap.port}" in error, error
    assert "refused the login" not in error
    assert "\x1b" not in error and "\x00" not in error  # the garbage is quoted, never passed on raw
    assert len(error) < 1000
    assert_consistent(store, tmp_path / "store.sqlite")
    assert_next_sync_completes(store, imap)


def test_a_fetch_of_bodies_with_broken_parentheses_still_stores_each_message_whole(
    imap: BadImapServer, store: Store, tmp_path: Path
) -> None:
    """The body FETCH reads only each literal and its UID (sync.fetch_bodies): the literals are
    intact, so every message is stored as sent, once."""
    imap.fault = Fault("FETCH_BODY", "broken_parens")
    report = sync_account(store, section_of(imap), imap.password)
    assert report.ok and any(connection.faulted for connection in imap.connections)
    assert_consistent(store, tmp_path / "store.sqlite")
    assert len(stored(store)) == MESSAGES


# --- IMAP: stalls and closed connections ----------------------------------------------------------

STALLS = ["GREETING", "LOGIN", "LIST", "EXAMINE", "SEARCH", "FETCH_META", "FETCH_BODY"]


@pytest.mark.parametrize("on", STALLS)
def test_a_stall_ends_at_the_configured_timeout(
    imap: BadImapServer, store: Store, tmp_path: Path, on: str
) -> None:
    """Half an answer, then silence (for FETCH_BODY: in the middle of the message's literal)."""
    imap.fault = Fault(on, "stall")  # type: ignore[arg-type]

    error = sync_outcome(store, imap)

    assert imap.stalled.is_set()
    assert IN_TIME in error and f"127.0.0.1:{imap.port}" in error, error
    assert_consistent(store, tmp_path / "store.sqlite")
    assert stored(store) == []  # nothing of the half-fetched batch
    assert_next_sync_completes(store, imap)


def test_a_connection_closed_after_n_bytes_at_seeded_points(
    imap: BadImapServer, migrated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection closed after N bytes, N drawn (seeded) across a whole sync's answers: in the
    greeting, the login, a LIST, between batches, in the middle of a literal. Batches of two, so
    some closes fall after a batch was committed: that batch stays, the next sync fetches the rest."""
    monkeypatch.setattr(sync_module, "BATCH_SIZE", 2)
    good = fresh_store(migrated, tmp_path / "good.sqlite")
    try:
        sync_account(good, section_of(imap), imap.password)
    finally:
        good.dispose()
    whole = imap.connections[-1]
    assert whole.logged_out and whole.commands.count("UID FETCH") >= 4  # sizes, then 3 batches of bodies
    points = sorted(random.Random(9).sample(range(1, whole.sent_before_logout), 10))
    kept = set()
    for number, limit in enumerate(points):
        database = tmp_path / f"trial-{number}.sqlite"
        trial = fresh_store(migrated, database)
        try:
            imap.close_after = limit
            error = sync_outcome(trial, imap)
            assert f"127.0.0.1:{imap.port}" in error, (limit, error)
            assert "was lost" in error or IN_TIME in error, (limit, error)
            assert_consistent(trial, database)
            kept.add(len(stored(trial)))
            assert_next_sync_completes(trial, imap)
        finally:
            trial.dispose()
    assert len(kept) >= 2, f"every close fell at the same stage: {points}"


# --- the watcher (the app's sync loop) ---------------------------------------------------------------


class Watching:
    """A MailWatcher in a thread, against the bad server, with what it told recorded."""

    def __init__(self, store: Store, server: BadImapServer) -> None:
        self.states: list[WatchStatus] = []
        self.asks: list[bool] = []

        def password(refused: bool) -> str:
            self.asks.append(refused)
            return server.password

        self.watcher = MailWatcher(
            store,
            section_of(server),
            password,
            on_state=self.states.append,
            idle_refresh=3600,
            folder_poll=3600,
            inbox_poll=0.2,
            tick=0.05,
            backoff=Backoff(first=0.2, cap=0.4, rand=lambda: 0.5),
        )
        self.thread = threading.Thread(target=self.watcher.run, name="bad-watch")

    def __enter__(self) -> Watching:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.watcher.stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the watcher did not stop"

    def wait_for(self, state: WatchState) -> WatchStatus:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = [status for status in self.states if status.state is state]
            if found:
                return found[0]
            assert self.thread.is_alive(), [status.state.value for status in self.states]
            time.sleep(0.02)
        raise AssertionError(f"no {state.value}: {[status.state.value for status in self.states]}")


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (Fault("FETCH_BODY", "stall"), IN_TIME),
        (Fault("LOGIN", "garbage"), LOST),
        (Fault("SEARCH", "bad_number"), UNREADABLE),
    ],
    ids=["stall-mid-literal", "garbage-at-login", "bad-number-in-search"],
)
def test_the_watcher_reports_the_fault_retries_and_catches_up(
    imap: BadImapServer, store: Store, fault: Fault, words: str
) -> None:
    imap.fault = fault
    with Watching(store, imap) as watching:
        if fault.on == "SEARCH":  # a folder's fault: the sync goes on, the report tells it
            watching.wait_for(WatchState.UP_TO_DATE)
            assert stored(store) == []
        else:
            trouble = watching.wait_for(WatchState.DISCONNECTED)
            assert words in trouble.error, trouble.error
            assert not any(status.state is WatchState.LOGIN_REFUSED for status in watching.states)
        imap.fault = None
        watching.watcher.wake()
        deadline = time.monotonic() + WAIT
        while len(stored(store)) < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored(store) == [(n, f"Käyttöoikeus {n}") for n in range(1, MESSAGES + 1)]
    assert watching.asks == [False]  # the password was asked once and never taken as refused


# --- the CLI, as cron runs it -----------------------------------------------------------------------


def run_cli_sync(tmp_path: Path, server: BadImapServer) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "cli.sqlite"}"\n'
        f'[imap]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
        f'username = "{server.username}"\ntimeout = {TIMEOUT}\n',
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "sync"],
        capture_output=True,
        text=True,
        env={**os.environ, "COORDINATOR_TUI_IMAP_PASSWORD": server.password},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_cli_sync_against_a_stalling_then_a_malformed_then_a_good_server(
    imap: BadImapServer, tmp_path: Path
) -> None:
    imap.fault = Fault("FETCH_BODY", "stall")
    stalled = run_cli_sync(tmp_path, imap)
    assert stalled.returncode == 1 and "Traceback" not in stalled.stderr
    assert f"127.0.0.1:{imap.port}" in stalled.stderr
    assert "ei vastannut ajoissa" in stalled.stderr  # Finnish, as the user reads it

    imap.fault = Fault("SEARCH", "bad_number")
    malformed = run_cli_sync(tmp_path, imap)
    assert malformed.returncode == 1 and "Traceback" not in malformed.stderr + malformed.stdout
    assert f"127.0.0.1:{imap.port}" in malformed.stdout  # the folder's line says what went wrong

    imap.fault = None
    good = run_cli_sync(tmp_path, imap)
    assert good.returncode == 0, good.stderr
    cli_store = open_store(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    try:
        assert len(stored(cli_store)) == MESSAGES
    finally:
        cli_store.dispose()


# --- SMTP: a server that stalls after DATA ----------------------------------------------------------


def smtp_section(server: StallingSmtpServer) -> SmtpSection:
    return SmtpSection(
        host=server.host, port=server.port, security="none", from_address="omaolo@example.fi", timeout=TIMEOUT
    )


def queued(store: Store, subject: str) -> int:
    message = EmailMessage()
    message["From"] = "omaolo@example.fi"
    message["To"] = "sari.ohman@example.fi"
    message["Subject"] = subject
    message.set_content("Hei, käyttöoikeutesi on lisätty.\n")
    return queue_message(store, message, ["sari.ohman@example.fi"], demo=False)


@pytest.mark.parametrize(
    ("stall", "words"),
    [
        ("data_command", "did not answer in time"),
        ("after_text", "did not answer in time"),
        ("close_after_text", "closed the connection"),
    ],
)
def test_a_send_that_stalls_after_data_ends_unknown_and_is_never_sent_again(
    store: Store, stall: str, words: str
) -> None:
    outbox_id = queued(store, "Käyttöoikeus lisätty")
    with StallingSmtpServer(stall) as server:  # type: ignore[arg-type]
        result = send_outbox(store, outbox_id, smtp_section(server), "")
        assert server.texts_received <= 1 and not server.messages
    assert result.state == "unknown", result
    row = outbox_store.outgoing_message(store, outbox_id)
    assert row.state == "unknown"
    assert words in row.error and "may or may not have been delivered" in row.error, row.error
    assert recover_interrupted(store) == 0  # nothing was left "sending"
    with pytest.raises(outbox_store.OutboxStateError):
        send_outbox(store, outbox_id, smtp_section(server), "")  # never re-sent, even when asked

    with StallingSmtpServer("none") as good:
        again = send_outbox(store, queued(store, "Uusi yritys"), smtp_section(good), "")
        assert again.state == "sent" and len(good.messages) == 1
    assert b"Uusi yritys" in good.messages[0]
    assert outbox_store.outgoing_message(store, outbox_id).state == "unknown"


# --- feeds: a server that drips one byte a second --------------------------------------------------

QUICK = FetchLimits(connect=1.0, total=2.0)
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Tippuva</title>'
    b"<item><title>Huoltokatko</title><link>https://example.fi/1</link><guid>t-1</guid></item>"
    b"</channel></rss>"
)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from running_feed_server()


def outcome(name: str, report: object) -> tuple[str, str]:
    found = [o for o in report.feeds if o.name == name]  # type: ignore[attr-defined]
    return found[0].status, found[0].kind


def wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_feed_that_drips_one_byte_a_second_ends_at_the_total_deadline(
    feeds: FeedServer, store: Store
) -> None:
    """Dripped from its status line on, the answer never gives httpx's per-read timeout a chance:
    the fetch's total deadline (FetchLimits.total) ends it, the row says so, the others go on."""
    padding = {"X-Padding": "p" * 200}  # ~300 bytes of head: five minutes at one a second
    add_feed(store, "Tippuva otsake", feeds.add("/drip", body=RSS, drip=1.0, headers=padding))
    add_feed(store, "Tippuva runko", feeds.add("/drip-body", body=RSS, drip=1.0, drip_body_only=True))
    add_feed(store, "Hyvä", feeds.add("/good", body=RSS))

    report = refresh_all(store, limits=QUICK, retry_book=RetryBook(), parse_in_processes=False)

    assert outcome("Tippuva otsake", report) == ("error", "timeout")
    assert outcome("Tippuva runko", report) == ("error", "timeout")
    assert outcome("Hyvä", report) == ("ok", "")
    for path in ("/drip", "/drip-body"):
        drip = feeds.drips[path]
        wait(drip.ended.is_set)  # the client left: the server's next byte found the socket closed
        assert drip.sent < drip.total, f"{path}: the whole answer was waited for"
    rows = {feed.name: feed for feed in list_feeds(store)}
    assert "2 s" in rows["Tippuva otsake"].last_error and "2 s" in rows["Tippuva runko"].last_error
    assert rows["Hyvä"].last_error == ""

    feeds.add("/drip", body=RSS)
    feeds.add("/drip-body", body=RSS)
    again = refresh_all(store, limits=QUICK, retry_book=RetryBook(), parse_in_processes=False)
    assert again.ok
    assert all(feed.last_error == "" for feed in list_feeds(store))
