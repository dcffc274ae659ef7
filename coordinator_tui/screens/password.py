"""A modal that asks for a password and keeps it in memory only (no keyring on this machine)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.widgets.safe import plain


class PasswordScreen(ModalScreen[str | None]):
    """Returns the typed password, or None when the user cancels with escape."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", N_("Cancel"), id="password.cancel")]
    DEFAULT_CSS = """
    PasswordScreen { align: center middle; }
    PasswordScreen > Vertical {
        width: 70; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    PasswordScreen Input { margin-top: 1; }
    """

    def __init__(self, prompt: str, notice: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.notice = notice

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.prompt), classes="heading")
            if self.notice:
                yield Static(plain(self.notice, limit=300), classes="intro")
            yield Input(password=True, id="password")
            yield Static(Content(_("enter: use it for this run · escape: cancel")), classes="intro")

    @on(Input.Submitted, "#password")
    def submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
