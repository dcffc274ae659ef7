"""The mail sync as the user sees it: the messages from the watcher's thread, the words, a progress bar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from coordinator_tui.i18n import _
from coordinator_tui.timefmt import short_datetime
from coordinator_tui.widgets.safe import plain

if TYPE_CHECKING:
    from textual.widgets import ProgressBar

    # Not at run time: the status bar is on the first frame's path, the sync code (and pydantic) is not.
    from coordinator_tui.mail.sync import SyncReport
    from coordinator_tui.mail.watch import WatchStatus

# -- messages from the watcher's thread to the app ----------------------------------------------------


@dataclass
class MailWatchStatus(Message):
    status: WatchStatus


@dataclass
class MailSyncProgress(Message):
    folder: str
    done: int
    total: int


@dataclass
class MailSynced(Message):
    report: SyncReport


@dataclass(frozen=True)
class Progress:
    folder: str
    done: int
    total: int


def status_text(
    status: WatchStatus, progress: Progress | None = None, retry_left: float | None = None
) -> str:
    """The status bar's words for the watcher's state (Finnish by default)."""
    from coordinator_tui.mail.watch import WatchState

    state = status.state
    if state is WatchState.CONNECTING:
        return _("connecting…")
    if state is WatchState.SYNCING:
        if progress is not None and progress.total:
            return _("syncing… {folder} {done}/{total}").format(
                folder=progress.folder, done=progress.done, total=progress.total
            )
        return _("syncing…")
    if state is WatchState.UP_TO_DATE:
        at = status.synced_at or datetime.now().astimezone()
        text = _("up to date at {time}").format(time=short_datetime(at, at))
        return text if status.pushes else _("{state}, checked regularly").format(state=text)
    if state is WatchState.DISCONNECTED:
        seconds = max(1, round(status.retry_in if retry_left is None else retry_left))
        if status.was_connected:
            return _("connection lost, retrying in {seconds} s").format(seconds=seconds)
        return _("no connection to the server, retrying in {seconds} s").format(seconds=seconds)
    if state is WatchState.STORE_PROBLEM:
        seconds = max(1, round(status.retry_in if retry_left is None else retry_left))
        return _("mail cannot be stored (see the error), retrying in {seconds} s").format(seconds=seconds)
    if state is WatchState.LOGIN_REFUSED:
        return _("login refused: check the password, then ctrl+r on the Mail screen")
    if state is WatchState.SIGN_IN_REQUIRED:
        return _("sign-in needed: ctrl+r on the Mail screen signs in (or coordinator-tui login imap)")
    if state is WatchState.NO_PASSWORD:
        return _("no password: ctrl+r on the Mail screen asks for it")
    if state is WatchState.FAILED:
        return _("sync stopped (see the error): fix it, then ctrl+r on the Mail screen")
    return _("sync stopped")


class SyncProgress(Horizontal):
    """A one-line progress bar with counts, shown only while the mail sync fetches messages."""

    DEFAULT_CSS = """
    SyncProgress {
        height: 1;
        display: none;
        background: $panel;
        padding: 0 1;
    }
    SyncProgress.-active { display: block; }
    SyncProgress > Static { width: auto; color: $text-muted; margin-right: 1; }
    SyncProgress > ProgressBar { width: 1fr; }
    SyncProgress > ProgressBar > Bar { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="sync-progress-label")

    def on_mount(self) -> None:
        self.watch(self.app, "sync_progress", self._show)

    def _show(self, progress: Progress | None) -> None:
        self.set_class(progress is not None, "-active")
        if progress is None:
            return
        if not self.query("#sync-progress-bar"):
            # Made on first use: every screen has a status bar, and the first frame needs none of this.
            from textual.widgets import ProgressBar

            self.mount(ProgressBar(show_eta=False, show_percentage=True, id="sync-progress-bar"))
        self.query_one("#sync-progress-label", Static).update(
            plain(
                _("Fetching mail: {folder} {done}/{total}").format(
                    folder=progress.folder, done=progress.done, total=progress.total
                ),
                limit=120,
            )
        )
        bar = cast("ProgressBar", self.query_one("#sync-progress-bar"))
        bar.update(total=progress.total, progress=progress.done)
