"""`g` then a letter: go to a screen (Finnish mnemonic letters, English ones work too)."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from coordinator_tui.i18n import _
from coordinator_tui.screens.base import AREAS

LETTER_TO_MODE = {letter: area.mode for area in AREAS for letter in area.letters}


class GoToScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    GoToScreen { align: center middle; }
    GoToScreen > Vertical { width: 40; height: auto; border: round $accent; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Go to…")), classes="heading")
            for area in AREAS:
                yield Static(Content.assemble((f"  {area.letters[0]}  ", "bold $accent"), _(area.title)))

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self.dismiss(LETTER_TO_MODE.get(event.character or ""))
