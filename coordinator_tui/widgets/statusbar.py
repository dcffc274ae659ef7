"""The status bar under every screen: where the store is, the sync state, the last error.

While the mail sync fetches messages, a progress bar with counts shows on the line above it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from coordinator_tui.i18n import _
from coordinator_tui.widgets.safe import plain
from coordinator_tui.widgets.syncprogress import SyncProgress


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    StatusLine.-error { color: $text-error; }
    """


class StatusBar(Vertical):
    DEFAULT_CSS = """
    StatusBar {
        height: auto;
    }
    """

    def compose(self) -> ComposeResult:
        yield SyncProgress()
        yield StatusLine()

    def on_mount(self) -> None:
        self.watch(self.app, "sync_state", self._refresh_text)
        self.watch(self.app, "last_error", self._refresh_text)

    def _refresh_text(self, _value: object = None) -> None:
        app = self.app
        error = getattr(app, "last_error", "")
        parts = [
            _("Store: {path}").format(path=getattr(app, "store_label", "")),
            _("Sync: {state}").format(state=getattr(app, "sync_state", "")),
        ]
        parts.append(_("Last error: {error}").format(error=error) if error else _("No errors"))
        line = self.query_one(StatusLine)
        line.set_class(bool(error), "-error")
        line.update(plain(" · ".join(parts), limit=1000))
