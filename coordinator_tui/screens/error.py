"""A full-screen error for what stops the app from working (e.g. a store that cannot be opened)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.safe import plain_block


class ErrorScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [Binding("q,escape", "app.quit", N_("Quit"), id="error.quit")]
    DEFAULT_CSS = """
    ErrorScreen { align: center middle; }
    ErrorScreen > Vertical { width: 90; max-width: 100%; height: auto; border: heavy $error; padding: 1 2; }
    ErrorScreen .title { text-style: bold; color: $text-error; }
    """

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        from coordinator_tui.screens.base import translated

        self._bindings = translated(self._bindings)  # the footer in the UI's language
        self.error_title = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self.error_title), classes="title")
            yield Static(plain_block(self.message))
            yield Static(Content(_("Press q to quit.")))
        yield KeyFooter()
