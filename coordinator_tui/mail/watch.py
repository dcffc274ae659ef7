"""Keeping the store in step with the IMAP server while the app runs: IDLE on INBOX, polls, reconnects.

One :class:`MailWatcher` runs in one thread worker of the app. It does a full sync first, then
waits on INBOX with IDLE (re-issued before the server's 30-minute timeout) and syncs again when
the server reports a new, expunged or changed message; every folder is synced again on a slower
timer. A server without IDLE is asked with NOOP every few seconds instead. A dropped connection
is retried with exponential backoff and jitter; a refused login (or a certificate that cannot be
verified) is not retried in a loop: the watcher waits for :meth:`MailWatcher.wake` (ctrl+r).

No Textual here: the app gets callbacks (from the worker's thread) and turns them into words.
"""

from __future__ import annotations

import enum
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from coordinator_tui.config import ImapSection
from coordinator_tui.mail.imap import Credential, ImapError, close_quietly, connect, guarded
from coordinator_tui.mail.sync import SyncReport, sync_account
from store.errors import StoreError

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from store.engine import Store

log = logging.getLogger(__name__)

IDLE_REFRESH_SECONDS = 25 * 60  # servers may end an IDLE after 30 minutes (RFC 2177)
FOLDER_POLL_SECONDS = 5 * 60  # every folder, not only INBOX
INBOX_POLL_SECONDS = 60  # without IDLE: NOOP on INBOX this often
TICK_SECONDS = 0.5  # how soon a stop or a wake is noticed while waiting
# RFC 5530 codes of a login that failed for the server's own reasons (e.g. its auth service is busy).
QUIET_RECONNECT_EVERY = 60.0  # seconds: a split line more often than this is reported as usual
TRANSIENT_LOGIN_CODES = ("UNAVAILABLE", "SERVERBUG", "INUSE", "LIMIT")
CHANGE_RESPONSES = frozenset({b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"})


class WatchState(enum.Enum):
    CONNECTING = "connecting"
    SYNCING = "syncing"
    UP_TO_DATE = "up_to_date"
    DISCONNECTED = "disconnected"  # retried by itself after ``retry_in`` seconds
    STORE_PROBLEM = "store_problem"  # the store refused a write (a full disk...): retried like DISCONNECTED
    LOGIN_REFUSED = "login_refused"  # waits for wake()
    SIGN_IN_REQUIRED = "sign_in_required"  # OAuth2: the sign-in is gone; waits for wake()
    NO_PASSWORD = "no_password"  # waits for wake()  # noqa: S105 (a state, not a password)
    FAILED = "failed"  # e.g. a certificate that cannot be verified; waits for wake()
    STOPPED = "stopped"


# States in which the watcher waits for the user (wake) rather than retrying by itself.
WAITS_FOR_USER = frozenset(
    {WatchState.LOGIN_REFUSED, WatchState.SIGN_IN_REQUIRED, WatchState.NO_PASSWORD, WatchState.FAILED}
)


@dataclass(frozen=True)
class WatchStatus:
    state: WatchState
    retry_in: float = 0.0  # DISCONNECTED, STORE_PROBLEM: seconds until the next attempt
    error: str = ""  # what the IMAP layer (or the store) said, for last_error; never logged
    synced_at: datetime | None = None  # UP_TO_DATE: when the last sync ended
    was_connected: bool = False  # DISCONNECTED: a connection was lost (not never made)
    pushes: bool = True  # UP_TO_DATE: the server tells of new mail (IDLE) rather than being polled


@dataclass
class Backoff:
    """Delays before reconnecting: ``first``, doubled each failure up to ``cap``, each with jitter.

    Jitter (± ``jitter`` of the delay) keeps many clients that lost the same server from
    reconnecting in step. :meth:`reset` after a success starts from ``first`` again.
    """

    first: float = 2.0
    cap: float = 300.0
    jitter: float = 0.2
    rand: Callable[[], float] = random.random
    failures: int = 0

    def base(self, failures: int) -> float:
        """The delay without jitter after ``failures`` earlier failures."""
        return min(self.cap, self.first * 2 ** min(failures, 32))

    def next(self) -> float:
        base = self.base(self.failures)
        self.failures += 1
        spread = base * self.jitter
        return max(0.0, min(self.cap, base - spread + 2 * spread * self.rand()))

    def reset(self) -> None:
        self.failures = 0


class _Stopped(Exception):
    """Raised inside a sync's progress callback to end it promptly when the watcher stops."""


class _Wake(enum.Enum):
    CHANGED = "changed"
    TIMEOUT = "timeout"
    WAKE = "wake"
    STOP = "stop"
    FAILED = "failed"  # the link broke while idling (the error is raised, never returned)


def is_change(response: Any) -> bool:
    """Whether an untagged response says that a message came, went or changed its flags."""
    if not isinstance(response, tuple) or len(response) < 2:
        return False
    return any(isinstance(item, bytes) and item.upper() in CHANGE_RESPONSES for item in response[:2])


def is_split_line(error: ImapError) -> bool:
    """Whether the error comes from a response line read in two halves while IDLE: imaplib's
    "unterminated line" for the first half, or imapclient's ProtocolError for the second (a line
    that does not start with "* ", read by the next idle_check)."""
    from imapclient.exceptions import IMAPClientAbortError, ProtocolError

    cause = error.__cause__
    if isinstance(cause, IMAPClientAbortError) and "unterminated line" in str(cause):
        return True
    return isinstance(cause, ProtocolError) and getattr(error, "while_idle", False)


def waits_for_user(error: ImapError) -> WatchState | None:
    """The state for an error that retrying will not fix (the user must act first), else None."""
    from imapclient.exceptions import LoginError

    from coordinator_tui.oauth2 import SignInRequired

    cause = error.__cause__
    if isinstance(cause, SignInRequired):
        return WatchState.SIGN_IN_REQUIRED  # a revoked or missing sign-in: retrying cannot help
    if isinstance(cause, LoginError):
        said = str(cause).upper()
        if any(f"[{code}]" in said for code in TRANSIENT_LOGIN_CODES):
            return None  # the server's fault, not the password's: try again later
        return WatchState.LOGIN_REFUSED
    if isinstance(cause, ssl.SSLCertVerificationError) or cause is None:
        # No cause: connect() refused by itself (no host, an unencrypted remote server, no STARTTLS).
        return WatchState.FAILED
    return None


Connect = Callable[[ImapSection, Credential], "IMAPClient"]
Sync = Callable[..., SyncReport]


class MailWatcher:
    """Full sync, then IDLE (or NOOP polls) on INBOX, until :meth:`stop`. Call :meth:`run` in a thread."""

    def __init__(
        self,
        store: Store,
        section: ImapSection,
        password: Callable[[bool], Credential | None],
        *,
        on_state: Callable[[WatchStatus], None] = lambda status: None,
        on_progress: Callable[[str, int, int], None] = lambda folder, done, total: None,
        on_synced: Callable[[SyncReport], None] = lambda report: None,
        idle_refresh: float = IDLE_REFRESH_SECONDS,
        folder_poll: float = FOLDER_POLL_SECONDS,
        inbox_poll: float = INBOX_POLL_SECONDS,
        tick: float = TICK_SECONDS,
        backoff: Backoff | None = None,
        stop_event: threading.Event | None = None,
        alive: Callable[[], bool] | None = None,
        use_idle: bool = True,
        connect_fn: Connect = connect,
        sync_fn: Sync = sync_account,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.section = section
        self._password_source = password
        self._password: Credential | None = None
        self._refused = False  # the last password was refused: the source should not give it again
        self._ever_connected = False
        self._last_quiet_reconnect = -QUIET_RECONNECT_EVERY  # see _after_error
        self.on_state = on_state
        self.on_progress = on_progress
        self.on_synced = on_synced
        self.idle_refresh = idle_refresh
        self.folder_poll = folder_poll
        self.inbox_poll = inbox_poll
        self.tick = tick
        self.backoff = backoff or Backoff()
        self._stop = stop_event or threading.Event()
        self._alive = alive
        self._use_idle = use_idle
        self._connect = connect_fn
        self._sync_fn = sync_fn
        self._clock = clock
        self._signal = threading.Event()  # set by stop() and wake() to cut a wait short
        self._wake_requested = False
        self._where = f"{section.host}:{section.effective_port()}"
        self.status = WatchStatus(WatchState.STOPPED)
        self.syncs = 0  # completed syncs, for tests and the log

    # -- control (any thread) ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._signal.set()

    def wake(self) -> None:
        """Sync now; after a refused login, ask for the password and try again."""
        self._wake_requested = True
        self._signal.set()

    @property
    def stopping(self) -> bool:
        # ``alive`` covers a watcher started while the app was already closing: its worker was
        # never cancelled, and the closing event loop would wait for this thread for ever.
        return self._stop.is_set() or (self._alive is not None and not self._alive())

    # -- the loop (the worker's thread) -----------------------------------------------------------

    def run(self) -> None:
        """Until stopped: connect, sync, watch; on a lost connection wait and start again."""
        try:
            while not self.stopping:
                try:
                    self._session()
                except _Stopped:
                    break
                except ImapError as error:
                    if self.stopping:
                        break
                    self._after_error(error)
                except StoreError as error:
                    if self.stopping:
                        break
                    self._after_store_error(error)
        finally:
            self._emit(WatchStatus(WatchState.STOPPED))

    def _after_error(self, error: ImapError) -> None:
        if is_split_line(error) and time.monotonic() - self._last_quiet_reconnect > QUIET_RECONNECT_EVERY:
            # imapclient's idle_check reads lines from a non-blocking socket and can see half a line
            # when a response arrives in two packets (imapclient issue #519). Nothing is wrong with
            # the server or the link: reconnect at once, quietly; the sync catches up by UID.
            self._last_quiet_reconnect = time.monotonic()
            log.info("mail watch: IDLE saw a line split in two; reconnecting")
            return
        waiting = waits_for_user(error)
        if waiting is not None:
            log.warning("mail watch: %s; waiting for the user", waiting.value)
            if waiting in (WatchState.LOGIN_REFUSED, WatchState.SIGN_IN_REQUIRED):
                self._password, self._refused = None, True  # ask the source again after ctrl+r
            self._emit(WatchStatus(waiting, error=str(error)))
            self.backoff.reset()
            self._wait_for_wake()
            return
        delay = self.backoff.next()
        cause = type(error.__cause__).__name__
        log.info("mail watch: connection failed (%s); retrying in %.1f s", cause, delay)
        self._emit(
            WatchStatus(
                WatchState.DISCONNECTED, retry_in=delay, error=str(error), was_connected=self._ever_connected
            )
        )
        self._wait(delay)
        self._wake_requested = False  # a ctrl+r during the wait is this very attempt

    def _after_store_error(self, error: StoreError) -> None:
        """The sync could not write (a full disk, a read-only or locked store): nothing was half-saved.

        The watch goes on by itself once the condition clears, as after a lost connection; the
        next sync fetches by UID what this one could not store.
        """
        delay = self.backoff.next()
        log.warning("mail watch: the store refused the sync (%s); retrying in %.1f s", error.kind, delay)
        self._emit(WatchStatus(WatchState.STORE_PROBLEM, retry_in=delay, error=str(error)))
        self._wait(delay)
        self._wake_requested = False

    def _session(self) -> None:
        """One connection's life: returns when stopped, raises ImapError when it breaks."""
        password = self._get_password()
        if password is None:
            self._emit(WatchStatus(WatchState.NO_PASSWORD))
            self._wait_for_wake()
            return
        self._emit(WatchStatus(WatchState.CONNECTING))
        client = self._connect(self.section, password)
        self._refused = False
        self._ever_connected = True
        try:
            capabilities = set(guarded(self._where, client.capabilities))
            pushes = self._use_idle and b"IDLE" in capabilities
            if not pushes:
                log.info("mail watch: no IDLE on %s; polling INBOX every %s s", self._where, self.inbox_poll)
            # Selected before the sync: what arrives during it is told by the NOOP that follows.
            guarded(self._where, lambda: client.select_folder("INBOX", readonly=True))
            self._sync(pushes)
            next_full = time.monotonic() + self.folder_poll
            while not self.stopping:
                responses = guarded(self._where, client.noop)[1]
                if self._wake_requested or any(is_change(item) for item in responses):
                    self._wake_requested = False
                    self._sync(pushes)
                    continue
                now = time.monotonic()
                wait = self.idle_refresh if pushes else self.inbox_poll
                deadline = min(next_full, now + wait)
                reason = self._idle_until(client, deadline) if pushes else self._wait_until(deadline)
                if reason is _Wake.STOP:
                    break
                if reason in (_Wake.CHANGED, _Wake.WAKE) or time.monotonic() >= next_full:
                    self._wake_requested = False
                    self._sync(pushes)
                    next_full = time.monotonic() + self.folder_poll
                # TIMEOUT: the loop's NOOP keeps the connection alive and re-enters IDLE.
        finally:
            close_quietly(client)

    def _get_password(self) -> Credential | None:
        if self._password is None:
            self._password = self._password_source(self._refused)
        return self._password

    def _sync(self, pushes: bool) -> None:
        self._emit(WatchStatus(WatchState.SYNCING))

        def progress(folder: str, done: int, total: int) -> None:
            if self.stopping:
                raise _Stopped
            self.on_progress(folder, done, total)

        password = self._password
        assert password is not None
        report = self._sync_fn(self.store, self.section, password, progress=progress)
        self.syncs += 1
        self.backoff.reset()  # a whole sync went through: the next failure starts from the first delay
        log.info(
            "mail watch: synced %d folders in %.2f s (new %d, changed %d, removed %d)",
            len(report.folders),
            report.seconds,
            sum(folder.new for folder in report.folders),
            sum(folder.changed for folder in report.folders),
            sum(folder.removed for folder in report.folders),
        )
        self.on_synced(report)
        self._emit(WatchStatus(WatchState.UP_TO_DATE, synced_at=self._clock(), pushes=pushes))

    def _idle_until(self, client: IMAPClient, deadline: float) -> _Wake:
        """IDLE until a change, the deadline, a wake or a stop; raises ImapError if the link breaks."""
        guarded(self._where, client.idle)
        reason = _Wake.TIMEOUT
        try:
            while True:
                if self.stopping:
                    reason = _Wake.STOP
                    break
                if self._wake_requested:
                    reason = _Wake.WAKE
                    break
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(self.tick, deadline - now)
                try:
                    responses = guarded(self._where, partial(client.idle_check, timeout=wait))
                except ImapError as error:
                    error.while_idle = True  # type: ignore[attr-defined]  # see is_split_line
                    raise
                if any(is_change(item) for item in responses):
                    reason = _Wake.CHANGED
                    break
                if not responses and time.monotonic() - now < wait / 2:
                    # The socket was readable yet nothing came: imapclient swallows an EOF here, so
                    # leave IDLE; DONE on a closed connection raises, a live one just goes on.
                    break
        except ImapError:
            reason = _Wake.FAILED  # the link broke: that error is the one to report, not DONE's
            raise
        finally:
            # DONE before anything else: a server in IDLE ignores every other command (even LOGOUT).
            try:
                done = guarded(self._where, client.idle_done)
            except ImapError:
                if reason not in (_Wake.STOP, _Wake.FAILED):
                    raise
                done = None
        if reason is _Wake.TIMEOUT and any(is_change(item) for item in _responses(done)):
            reason = _Wake.CHANGED
        return reason

    def _wait_until(self, deadline: float) -> _Wake:
        while True:
            if self.stopping:
                return _Wake.STOP
            if self._wake_requested:
                return _Wake.WAKE
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _Wake.TIMEOUT
            self._signal.wait(min(self.tick, remaining))
            self._signal.clear()

    def _wait(self, seconds: float) -> None:
        self._wait_until(time.monotonic() + seconds)

    def _wait_for_wake(self) -> None:
        while not self.stopping and not self._wake_requested:
            self._signal.wait(self.tick)
            self._signal.clear()
        self._wake_requested = False

    def _emit(self, status: WatchStatus) -> None:
        self.status = status
        try:
            self.on_state(status)
        except Exception:  # a broken callback must not end the watch
            log.exception("mail watch: on_state failed")


def _responses(done: object) -> Iterable[Any]:
    if isinstance(done, tuple) and len(done) == 2 and isinstance(done[1], list):
        return done[1]
    return ()
