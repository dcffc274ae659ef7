"""The feeds' refresh while the app runs: once at start-up, then every ``[newsletters] refresh_minutes``,
and on ctrl+r in the Feeds screen. One per app; the refresh itself runs in a thread worker.

The Feeds screen listens (``listen``) and reads the store again when a refresh has stored something.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual.timer import Timer
from textual.worker import WorkerState

from coordinator_tui.i18n import _, count_text
from coordinator_tui.textclean import clean_line

if TYPE_CHECKING:
    from coordinator_tui.app import CoordinatorApp
    from coordinator_tui.feeds.refresh import RefreshReport, RetryBook

log = logging.getLogger(__name__)
DEFAULT_MINUTES = 30
START_DELAY = 2.0  # seconds after the first frame: start-up is measured to the Today counts
GROUP = "feeds-refresh"
_REFRESHERS: weakref.WeakKeyDictionary[CoordinatorApp, FeedRefresher] = weakref.WeakKeyDictionary()


class FeedRefresher:
    def __init__(self, app: CoordinatorApp) -> None:
        self.app = app
        self._timer: Timer | None = None
        self._listeners: list[Callable[[RefreshReport | None, int], None]] = []
        self._announce = False  # the user asked (ctrl+r): say how it went
        self.last_report: RefreshReport | None = None
        self.last_finished_at: datetime | None = None
        self.book: RetryBook | None = None  # made in the first refresh: the HTTP client's import waits too

    @classmethod
    def of(cls, app: CoordinatorApp) -> FeedRefresher:
        refresher = _REFRESHERS.get(app)
        if refresher is None:
            refresher = _REFRESHERS[app] = cls(app)
        return refresher

    @classmethod
    def start(cls, app: CoordinatorApp) -> FeedRefresher:
        """The app's start-up refresh (not in the demo: its feeds are made up)."""
        refresher = cls.of(app)
        if not app.context.demo and app.store is not None:
            refresher.refresh(announce=False)
        return refresher

    def listen(self, callback: Callable[[RefreshReport | None, int], None]) -> None:
        if callback not in self._listeners:
            self._listeners.append(callback)

    @property
    def running(self) -> bool:
        return any(
            worker.group == GROUP and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    def refresh(self, *, announce: bool = True) -> bool:
        """Start a refresh unless one runs; False when one was already running."""
        if self.running:
            self._announce = self._announce or announce
            return False
        self._announce = announce
        self.app.run_worker(
            self._work,
            name=_("Feed refresh"),
            group=GROUP,
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )
        return True

    def _work(self) -> None:
        from coordinator_tui.feeds.newsletters import gather_newsletters
        from coordinator_tui.feeds.refresh import RetryBook, refresh_all
        from store.feeds import sync_config_feeds

        app = self.app
        store = app.store
        assert store is not None
        minutes = DEFAULT_MINUTES
        try:
            config = app.config
            minutes = config.newsletters.refresh_minutes
            sync_config_feeds(store, [(entry.name, entry.url) for entry in config.feeds])
            if self.book is None:
                self.book = RetryBook()
            report = refresh_all(store, retry_book=self.book)
            gathered = gather_newsletters(store, config.newsletters.senders, now=datetime.now(UTC))
        except Exception as error:  # one failed round must not end the periodic refresh
            log.error("feed refresh failed: %s", type(error).__name__, exc_info=error)
            app.call_from_thread(self._failed, error, minutes)
            return
        app.call_from_thread(self._finished, report, gathered, minutes)

    def _schedule(self, minutes: int) -> None:
        if self._timer is None:
            self._timer = self.app.set_interval(minutes * 60, lambda: self.refresh(announce=False))

    def _failed(self, error: Exception, minutes: int) -> None:
        self._schedule(minutes)
        self._announce = False
        text = clean_line(_("The feed refresh failed: {error}").format(error=error), limit=300)
        self.app.last_error = text
        self.app.notify(text, title=_("Error"), severity="error", markup=False)
        for listener in list(self._listeners):
            listener(None, 0)

    def _finished(self, report: RefreshReport, gathered: int, minutes: int) -> None:
        self.last_report = report
        self.last_finished_at = datetime.now(UTC)
        self._schedule(minutes)
        if self._announce:
            self._announce = False
            failed = [outcome for outcome in report.feeds if outcome.status == "error"]
            new = report.new_items + gathered
            text = count_text("Feeds refreshed: {n} new item.", "Feeds refreshed: {n} new items.", new)
            if failed:
                text += " " + count_text(
                    "{n} feed failed; its row says why.", "{n} feeds failed; their rows say why.", len(failed)
                )
            self.app.notify(text, severity="warning" if failed else "information", markup=False)
        for listener in list(self._listeners):
            listener(report, gathered)
