"""The mail watcher's rules without a server: the backoff schedule, which errors wait, the state machine."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from imapclient.exceptions import IMAPClientAbortError, LoginError, ProtocolError

from coordinator_tui import i18n
from coordinator_tui.config import ImapSection
from coordinator_tui.mail.imap import ImapError, guarded
from coordinator_tui.mail.sync import FolderReport, SyncReport
from coordinator_tui.mail.watch import (
    Backoff,
    MailWatcher,
    WatchState,
    WatchStatus,
    is_change,
    is_split_line,
    waits_for_user,
)
from store.errors import disk_full


@pytest.fixture(autouse=True)
def english_messages() -> None:
    """These tests read the error texts the code writes: in English, whatever the UI language."""
    i18n.set_language("en")  # tests/conftest.py puts Finnish back after each test


WAIT = 10.0


# -- backoff -------------------------------------------------------------------------------------------


def test_backoff_doubles_from_two_seconds_up_to_five_minutes() -> None:
    backoff = Backoff(jitter=0)
    assert [backoff.next() for _ in range(10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_backoff_starts_again_after_a_success() -> None:
    backoff = Backoff(jitter=0)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert backoff.next() == 2


@pytest.mark.parametrize(("rand", "expected"), [(0.0, 6.4), (0.5, 8.0), (1.0, 9.6)])
def test_backoff_jitter_spreads_each_delay_by_a_fifth(rand: float, expected: float) -> None:
    backoff = Backoff(rand=lambda: rand)
    backoff.failures = 2  # the third attempt: 8 s before jitter
    assert backoff.next() == pytest.approx(expected)


def test_jitter_never_goes_past_the_cap() -> None:
    backoff = Backoff(rand=lambda: 1.0, failures=20)
    assert backoff.next() == 300


def test_backoff_survives_a_very_long_outage() -> None:
    backoff = Backoff(jitter=0, failures=10_000)
    assert backoff.next() == 300


# -- classification ------------------------------------------------------------------------------------


def unverified() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"  # set by the ssl module on a real failure
    return error


def imap_error(cause: BaseException | None) -> ImapError:
    def fail() -> None:
        if cause is not None:
            raise cause

    if cause is None:
        return ImapError("No IMAP server is configured.", "Set [imap] host.")
    if isinstance(cause, LoginError):
        error = ImapError("The IMAP server refused the login.")
        error.__cause__ = cause
        return error
    try:
        guarded("imap.example.fi:993", fail)
    except ImapError as raised:
        return raised
    raise AssertionError("guarded() did not raise")


@pytest.mark.parametrize(
    ("cause", "state"),
    [
        (LoginError("[AUTHENTICATIONFAILED] Authentication failed."), WatchState.LOGIN_REFUSED),
        (LoginError("Authentication failed."), WatchState.LOGIN_REFUSED),
        (LoginError("[UNAVAILABLE] Temporary authentication failure."), None),
        (ConnectionRefusedError(), None),
        (IMAPClientAbortError("socket error: EOF"), None),
        (TimeoutError(), None),
        (unverified(), WatchState.FAILED),
        (None, WatchState.FAILED),
    ],
    ids=["wrong-password", "no-code", "auth-busy", "refused", "eof", "timeout", "certificate", "config"],
)
def test_which_errors_wait_for_the_user(cause: BaseException | None, state: WatchState | None) -> None:
    assert waits_for_user(imap_error(cause)) is state


@pytest.mark.parametrize(
    ("response", "changed"),
    [
        ((3, b"EXISTS"), True),
        ((2, b"EXPUNGE"), True),
        ((1, b"FETCH", (b"FLAGS", (b"\\Seen",))), True),
        ((0, b"RECENT"), False),
        ((b"OK", b"Still here"), False),
        (b"garbage", False),
    ],
)
def test_which_idle_responses_mean_a_change(response: Any, changed: bool) -> None:
    assert is_change(response) is changed


# -- the state machine with a scripted server ----------------------------------------------------------


class FakeClient:
    """Enough of IMAPClient for the watcher: IDLE answers come from ``pushed``."""

    def __init__(self, *, idle: bool = True, drop_on_idle: bool = False) -> None:
        self.pushed: list[list[Any]] = []
        self.idle_ok = idle
        self.drop_on_idle = drop_on_idle
        self.in_idle = False
        self.logged_out = False
        self.lock = threading.Lock()

    def capabilities(self) -> tuple[bytes, ...]:
        return (b"IMAP4REV1", b"IDLE") if self.idle_ok else (b"IMAP4REV1",)

    def select_folder(self, name: str, readonly: bool = False) -> dict[bytes, Any]:
        return {b"EXISTS": 0}

    def noop(self) -> tuple[bytes, list[Any]]:
        assert not self.in_idle
        return b"NOOP completed", []

    def idle(self) -> None:
        self.in_idle = True

    def idle_check(self, timeout: float) -> list[Any]:
        if self.drop_on_idle:
            return []  # what imapclient returns on EOF
        with self.lock:
            if self.pushed:
                return self.pushed.pop(0)
        time.sleep(timeout)
        return []

    def idle_done(self) -> tuple[bytes, list[Any]]:
        self.in_idle = False
        if self.drop_on_idle:
            raise IMAPClientAbortError("socket error: EOF")
        return b"Idle completed", []

    def logout(self) -> None:
        self.logged_out = True

    def shutdown(self) -> None:
        self.logged_out = True


class Harness:
    def __init__(
        self,
        connects: list[Callable[[], FakeClient]],
        *,
        sync: Callable[..., SyncReport] | None = None,
        password: str | None = "salasana",
        **options: Any,
    ) -> None:
        self.connects = list(connects)
        self.connect_calls = 0
        self.syncs: list[str] = []
        self.password_asks: list[bool] = []
        self.password = password
        self.states: list[WatchStatus] = []
        self.clients: list[FakeClient] = []

        def connect(section: ImapSection, password: str) -> FakeClient:
            self.connect_calls += 1
            factory = self.connects.pop(0) if len(self.connects) > 1 else self.connects[0]
            client = factory()
            self.clients.append(client)
            return client

        def default_sync(store: Any, section: ImapSection, password: str, *, progress: Any) -> SyncReport:
            self.syncs.append(password)
            progress("INBOX", 1, 1)
            return SyncReport([FolderReport("INBOX", "inbox", new=1)])

        def password_source(refused: bool) -> str | None:
            self.password_asks.append(refused)
            return self.password

        options.setdefault("backoff", Backoff(first=0.01, jitter=0))
        self.watcher = MailWatcher(
            store=None,  # type: ignore[arg-type]
            section=ImapSection(host="imap.example.fi", username="koordinaattori"),
            password=password_source,
            on_state=self.states.append,
            connect_fn=connect,  # type: ignore[arg-type]
            sync_fn=sync or default_sync,
            tick=0.01,
            **options,
        )
        self.thread = threading.Thread(target=self.watcher.run)

    def __enter__(self) -> Harness:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.watcher.stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()

    def names(self) -> list[str]:
        return [status.state.value for status in self.states]

    def wait_for(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            assert time.monotonic() < deadline, self.names()
            time.sleep(0.005)


def up_to_date_count(harness: Harness) -> int:
    return harness.names().count("up_to_date")


def test_a_full_sync_then_idle_then_a_sync_per_change() -> None:
    client = FakeClient()
    with Harness([lambda: client]) as harness:
        harness.wait_for(lambda: up_to_date_count(harness) == 1)
        harness.wait_for(lambda: client.in_idle)
        with client.lock:
            client.pushed.append([(5, b"EXISTS")])
        harness.wait_for(lambda: up_to_date_count(harness) == 2)
    assert harness.names()[:6] == ["connecting", "syncing", "up_to_date", "syncing", "up_to_date", "stopped"]
    assert harness.connect_calls == 1
    assert client.logged_out and not client.in_idle


def test_an_idle_heartbeat_is_not_a_change() -> None:
    client = FakeClient()
    with Harness([lambda: client]) as harness:
        harness.wait_for(lambda: client.in_idle)
        with client.lock:
            client.pushed.append([(b"OK", b"Still here")])
        harness.wait_for(lambda: not client.pushed)
        time.sleep(0.1)
    assert len(harness.syncs) == 1


def test_idle_is_reissued_before_the_servers_timeout() -> None:
    client = FakeClient()
    idles: list[float] = []
    original = client.idle

    def counting_idle() -> None:
        idles.append(time.monotonic())
        original()

    client.idle = counting_idle  # type: ignore[method-assign]
    with Harness([lambda: client], idle_refresh=0.05) as harness:
        harness.wait_for(lambda: len(idles) >= 3)
    assert len(harness.syncs) == 1  # re-entering IDLE does not sync


def test_wake_syncs_at_once() -> None:
    client = FakeClient()
    with Harness([lambda: client]) as harness:
        harness.wait_for(lambda: client.in_idle)
        harness.watcher.wake()
        harness.wait_for(lambda: len(harness.syncs) == 2)


def test_without_idle_inbox_is_polled() -> None:
    client = FakeClient(idle=False)
    polls: list[int] = []
    original = client.noop

    def noop() -> tuple[bytes, list[Any]]:
        polls.append(1)
        return (b"OK", [(4, b"EXISTS")]) if len(polls) == 3 else original()

    client.noop = noop  # type: ignore[method-assign]
    with Harness([lambda: client], inbox_poll=0.02) as harness:
        harness.wait_for(lambda: len(harness.syncs) == 2)
    assert not harness.states[2].pushes


def test_a_refused_connection_is_retried_with_growing_delays_then_reset() -> None:
    def refused() -> FakeClient:
        raise imap_error(ConnectionRefusedError())

    client = FakeClient()
    with Harness([refused, refused, refused, lambda: client]) as harness:
        harness.wait_for(lambda: up_to_date_count(harness) == 1)
        assert harness.watcher.backoff.failures == 0
    lost = [status for status in harness.states if status.state is WatchState.DISCONNECTED]
    assert [status.retry_in for status in lost] == [0.01, 0.02, 0.04]
    assert not lost[0].was_connected
    assert "refused the connection" in lost[0].error
    assert harness.password_asks == [False]  # the password is asked once, not per attempt


def test_a_dropped_idle_connection_is_noticed_and_reconnected() -> None:
    dropping, healthy = FakeClient(drop_on_idle=True), FakeClient()
    with Harness([lambda: dropping, lambda: healthy]) as harness:
        harness.wait_for(lambda: up_to_date_count(harness) == 2)
    names = harness.names()
    assert names[:6] == ["connecting", "syncing", "up_to_date", "disconnected", "connecting", "syncing"]
    lost = harness.states[3]
    assert lost.was_connected and "lost" in lost.error


def test_a_refused_login_waits_for_wake_and_asks_for_the_password_again() -> None:
    def refused() -> FakeClient:
        raise imap_error(LoginError("[AUTHENTICATIONFAILED] Authentication failed."))

    client = FakeClient()
    with Harness([refused, lambda: client]) as harness:
        harness.wait_for(lambda: "login_refused" in harness.names())
        time.sleep(0.2)  # twenty backoff delays' worth: no retry loop
        assert harness.connect_calls == 1
        harness.watcher.wake()
        harness.wait_for(lambda: up_to_date_count(harness) == 1)
    assert harness.password_asks == [False, True]


def test_no_password_waits_for_wake() -> None:
    with Harness([FakeClient], password=None) as harness:
        harness.wait_for(lambda: "no_password" in harness.names())
        time.sleep(0.1)
        assert harness.connect_calls == 0
        harness.password = "salasana"
        harness.watcher.wake()
        harness.wait_for(lambda: up_to_date_count(harness) == 1)


def test_stop_ends_a_long_sync_at_the_next_batch() -> None:
    started = threading.Event()

    def long_sync(store: Any, section: ImapSection, password: str, *, progress: Any) -> SyncReport:
        for done in range(1, 10_000):
            started.set()
            progress("INBOX", done, 10_000)
            time.sleep(0.01)
        raise AssertionError("the sync was not stopped")

    with Harness([FakeClient], sync=long_sync) as harness:
        assert started.wait(WAIT)
        harness.watcher.stop()
        harness.thread.join(WAIT)
        assert not harness.thread.is_alive()
    assert harness.names()[-1] == "stopped"
    assert harness.clients[0].logged_out


# -- the first frame stays light -----------------------------------------------------------------------


def test_the_app_module_does_not_load_the_sync_code_before_the_first_frame() -> None:
    code = "import json, sys\nimport coordinator_tui.app\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    loaded = set(json.loads(result.stdout))
    heavy = {"pydantic", "imapclient", "coordinator_tui.mail.watch", "coordinator_tui.mail.sync"}
    assert not heavy & loaded
    assert "textual.widgets._progress_bar" not in loaded  # made when a sync first shows progress


class SplitLineClient(FakeClient):
    """imapclient's idle_check seeing half a line (imapclient issue #519)."""

    def idle_check(self, timeout: float) -> list[Any]:
        raise IMAPClientAbortError("socket error: unterminated line: b'\\n'")

    def idle_done(self) -> tuple[bytes, list[Any]]:
        self.in_idle = False
        raise IMAPClientAbortError("socket error: EOF")


class SecondHalfClient(SplitLineClient):
    """On TLS the first half of a split line can vanish with the non-blocking read's error; the next
    idle_check then reads the second half, which is no response at all (found by the soak)."""

    def idle_check(self, timeout: float) -> list[Any]:
        raise ProtocolError("Server replied with a response that violates the IMAP protocol")


def test_the_second_half_of_a_split_line_counts_only_while_idle() -> None:
    in_sync = imap_error(ProtocolError("Server replied with a response that violates the IMAP protocol"))
    assert not is_split_line(in_sync)  # a malformed answer to a command is reported as such
    in_sync.while_idle = True  # type: ignore[attr-defined]  # as the idle loop marks it
    assert is_split_line(in_sync)


def test_a_line_split_in_two_while_idle_reconnects_quietly_once_a_minute() -> None:
    assert is_split_line(imap_error(IMAPClientAbortError("socket error: unterminated line: b'* 5 EX'")))
    assert not is_split_line(imap_error(IMAPClientAbortError("socket error: EOF")))
    healthy = FakeClient()
    with Harness([SecondHalfClient, SplitLineClient, lambda: healthy]) as harness:
        harness.wait_for(lambda: up_to_date_count(harness) == 3)
    names = harness.names()
    # The first split line: straight back to connecting, nothing said; the second within a minute
    # is reported as a lost connection, as before.
    assert names[:7] == [
        "connecting",
        "syncing",
        "up_to_date",
        "connecting",
        "syncing",
        "up_to_date",
        "disconnected",
    ]
    assert harness.connect_calls == 3


def test_a_store_that_refuses_the_sync_is_retried_by_itself_until_it_takes_it() -> None:
    # A full disk (or a read-only or locked store) ended the whole watch before: the user had to
    # notice and press ctrl+r once the disk had room again.
    attempts: list[int] = []

    def sync(store: Any, section: ImapSection, password: str, *, progress: Any) -> SyncReport:
        attempts.append(1)
        if len(attempts) <= 2:
            raise disk_full("/home/koordinaattori/store.sqlite")
        return SyncReport([FolderReport("INBOX", "inbox", new=1)])

    clients: list[FakeClient] = []

    def fresh() -> FakeClient:
        clients.append(FakeClient())
        return clients[-1]

    with Harness([fresh], sync=sync) as harness:
        harness.wait_for(lambda: up_to_date_count(harness) == 1)
    problems = [status for status in harness.states if status.state is WatchState.STORE_PROBLEM]
    assert [status.retry_in for status in problems] == [0.01, 0.02]
    assert "is full" in problems[0].error and "Free some disk space" in problems[0].error
    assert harness.names()[-2:] == ["up_to_date", "stopped"]
    assert len(clients) == 3 and all(client.logged_out for client in clients)  # no connection left open
    assert harness.password_asks == [False]
