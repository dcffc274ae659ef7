"""The mail watcher against a real Dovecot, no Textual: IDLE, polling, refused logins, a killed server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from imapclient.imapclient import FLAGGED
from sqlmodel import select

from coordinator_tui import i18n
from coordinator_tui.mail.sync import SyncReport
from coordinator_tui.mail.watch import Backoff, MailWatcher, WatchState, WatchStatus
from store.engine import Store, open_store
from store.models import MailFolder, MailMessage
from tests.support.dovecot import Dovecot, ImapAccount, seed_maildir
from tests.support.messages import plain, section_for


@pytest.fixture(autouse=True)
def english_messages() -> None:
    """These tests read the error texts the code writes: in English, whatever the UI language."""
    i18n.set_language("en")  # tests/conftest.py puts Finnish back after each test


WAIT = 30.0  # generous: a loaded 2-core machine runs other helpers' tests at the same time


def messages(store: Store, folder: str) -> list[MailMessage]:
    with store.session() as session:
        statement = (
            select(MailMessage).join(MailFolder).where(MailFolder.name == folder).order_by(MailMessage.uid)  # type: ignore[arg-type]
        )
        return list(session.exec(statement).all())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/s.sqlite")
    yield opened
    opened.dispose()


class Running:
    """A watcher in a thread of its own, with what it told recorded."""

    def __init__(self, store: Store, account: ImapAccount, password: str | None = None, **options: object):
        self.states: list[WatchStatus] = []
        self.progress: list[tuple[str, int, int]] = []
        self.reports: list[SyncReport] = []
        self.password_asks: list[bool] = []
        self.password = password if password is not None else account.password
        self.on_progress: Callable[[str, int, int], None] | None = None

        def password_source(refused: bool) -> str | None:
            self.password_asks.append(refused)
            return self.password

        def progress(folder: str, done: int, total: int) -> None:
            self.progress.append((folder, done, total))
            if self.on_progress is not None:
                self.on_progress(folder, done, total)

        options.setdefault("idle_refresh", 3600)  # nothing but IDLE itself brings the news
        options.setdefault("folder_poll", 3600)
        self.watcher = MailWatcher(
            store,
            section_for(account),
            password_source,
            on_state=self.states.append,
            on_progress=progress,
            on_synced=self.reports.append,
            **options,  # type: ignore[arg-type]
        )
        self.thread = threading.Thread(target=self.watcher.run, name="mail-watch-test")

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.watcher.stop()
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive(), "the watcher did not stop"

    def state_names(self) -> list[str]:
        return [status.state.value for status in self.states]

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if condition():
                return
            assert self.thread.is_alive(), f"the watcher ended while waiting for {what}: {self.state_names()}"
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {WAIT:.0f} s; states: {self.state_names()}")

    def wait_for_state(self, state: WatchState, after: int = 0) -> WatchStatus:
        self.wait_for(lambda: any(s.state is state for s in self.states[after:]), state.value)
        return next(s for s in self.states[after:] if s.state is state)


def subjects(store: Store, folder: str = "INBOX") -> list[str]:
    return [message.subject for message in messages(store, folder)]


def server_uids(server: Dovecot, user: str, folder: str = "INBOX") -> list[int]:
    with server.connect(user) as client:
        client.select_folder(folder, readonly=True)
        return sorted(client.search("ALL"))


def test_idle_brings_a_delivered_message_into_the_store(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    dovecot.deliver("INBOX", plain("Ennen", "Ensimmäinen.\n", "<ennen@example.fi>"), user=imap_user.username)
    with Running(store, imap_user) as running:
        first = running.wait_for_state(WatchState.UP_TO_DATE)
        assert first.pushes  # Dovecot has IDLE
        assert subjects(store) == ["Ennen"]
        syncs = running.watcher.syncs

        dovecot.deliver(
            "INBOX",
            plain("Uusi viesti IDLEn aikana", "Tuli.\n", "<idle-1@example.fi>"),
            user=imap_user.username,
        )
        running.wait_for(lambda: "Uusi viesti IDLEn aikana" in subjects(store), "the delivered message")
        running.wait_for(lambda: len(running.reports) > syncs, "the sync's report")
        assert sum(report.folder("INBOX").new for report in running.reports) == 2

        # A flag set by another client arrives as FETCH during IDLE.
        with dovecot.connect(imap_user.username) as client:
            client.select_folder("INBOX")
            client.add_flags(client.search("ALL"), [FLAGGED])
        running.wait_for(lambda: all(m.flagged for m in messages(store, "INBOX")), "the flag change")

        # ... and an expunge as EXPUNGE.
        with dovecot.connect(imap_user.username) as client:
            client.select_folder("INBOX")
            client.delete_messages(client.search(["SUBJECT", "Ennen"]))
            client.expunge()
        running.wait_for(lambda: subjects(store) == ["Uusi viesti IDLEn aikana"], "the expunge")
    assert running.states[-1].state is WatchState.STOPPED
    assert [message.uid for message in messages(store, "INBOX")] == server_uids(dovecot, imap_user.username)


def test_without_idle_inbox_is_polled(dovecot: Dovecot, imap_user: ImapAccount, store: Store) -> None:
    with Running(store, imap_user, use_idle=False, inbox_poll=0.5) as running:
        status = running.wait_for_state(WatchState.UP_TO_DATE)
        assert not status.pushes
        dovecot.deliver(
            "INBOX", plain("Kysely", "Pollattu.\n", "<poll-1@example.fi>"), user=imap_user.username
        )
        running.wait_for(lambda: subjects(store) == ["Kysely"], "the polled message")


def test_other_folders_follow_on_the_slower_poll(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    with Running(store, imap_user, folder_poll=1.0) as running:
        running.wait_for_state(WatchState.UP_TO_DATE)
        dovecot.deliver(
            "Archive", plain("Arkistoon", "Muualla.\n", "<arkisto-1@example.fi>"), user=imap_user.username
        )
        running.wait_for(lambda: subjects(store, "Archive") == ["Arkistoon"], "the archived message")


def test_ctrl_r_wakes_an_immediate_sync(dovecot: Dovecot, imap_user: ImapAccount, store: Store) -> None:
    with Running(store, imap_user) as running:
        running.wait_for_state(WatchState.UP_TO_DATE)
        syncs = running.watcher.syncs
        running.watcher.wake()
        running.wait_for(lambda: running.watcher.syncs > syncs, "a sync after wake()")


def test_a_refused_login_waits_for_the_user_instead_of_retrying(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store
) -> None:
    with Running(store, imap_user, password="väärä-salasana") as running:
        refused = running.wait_for_state(WatchState.LOGIN_REFUSED)
        assert "refused the login" in refused.error
        time.sleep(1.5)  # a retry loop would have tried again by now (its first delay is 2 s ± 20 %)
        assert running.password_asks == [False]
        assert [s.state for s in running.states].count(WatchState.CONNECTING) == 1

        running.password = imap_user.password  # the user fixed it and pressed ctrl+r
        running.watcher.wake()
        running.wait_for_state(WatchState.UP_TO_DATE)
        assert running.password_asks == [False, True]


def test_a_server_killed_mid_sync_is_retried_until_the_store_equals_the_server(
    private_dovecot: Dovecot, store: Store
) -> None:
    account = private_dovecot.account()
    total = 3000
    template = plain("Viesti {n}", "Runko {n}.\n", "<w{n}@example.fi>")  # one parse, 3000 copies
    seed_maildir(private_dovecot, "INBOX", (template.replace(b"{n}", b"%d" % n) for n in range(total)))
    fetching = threading.Event()
    killed = threading.Event()

    def hold_the_first_batch(folder: str, done: int, of: int) -> None:
        # In the watcher's thread: the sync waits here until the test thread has killed the server.
        if folder == "INBOX" and 0 < done < of and not fetching.is_set():
            fetching.set()
            killed.wait(WAIT)

    with Running(store, account, backoff=Backoff(first=1.0)) as running:
        running.on_progress = hold_the_first_batch
        assert fetching.wait(WAIT), f"the sync never fetched; states: {running.states}"
        before_kill = len(running.states)
        private_dovecot.kill()
        killed.set()
        lost = running.wait_for_state(WatchState.DISCONNECTED, after=before_kill)
        assert lost.was_connected and lost.retry_in > 0
        assert "lost" in lost.error or "cannot be reached" in lost.error or "refused" in lost.error
        partial = len(messages(store, "INBOX"))
        assert 0 < partial < total
        # While the server is down the watcher keeps trying, waiting longer each time.
        retries = len(running.states)
        running.wait_for(
            lambda: [s.state for s in running.states[retries:]].count(WatchState.DISCONNECTED) >= 1,
            "a second failed attempt",
        )
        delays = [s.retry_in for s in running.states[before_kill:] if s.state is WatchState.DISCONNECTED]
        assert delays[1] > delays[0]

        mark = len(running.states)
        private_dovecot.restart()
        running.wait_for_state(WatchState.UP_TO_DATE, after=mark)

    stored = [message.uid for message in messages(store, "INBOX")]
    uids = server_uids(private_dovecot, account.username)
    assert len(uids) == total
    assert stored == uids  # every message once: none lost, none twice
    with store.session() as session:
        assert session.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
