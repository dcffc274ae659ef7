"""The status bar under every screen: where the store is, the sync state, the last error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from coordinator_tui.i18n import _
from coordinator_tui.widgets.safe import plain


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    StatusBar.-error { color: $text-error; }
    """

    def compose(self) -> ComposeResult:
        return iter(())

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
        self.set_class(bool(error), "-error")
        self.update(plain(" · ".join(parts), limit=1000))
