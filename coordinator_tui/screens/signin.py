"""A modal for the OAuth2 device sign-in: the address and the code to enter on any device.

The sign-in itself (coordinator_tui/oauth2.py) runs in a thread worker: asking for a code, then
polling until the user has signed in elsewhere. The modal closes by itself when that succeeds;
escape cancels the wait. Returns True when signed in.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.widgets.safe import plain

if TYPE_CHECKING:
    from coordinator_tui.config import ServerSection
    from coordinator_tui.oauth2 import DeviceCode


class DeviceSignInScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", N_("Cancel"), id="signin.cancel")]
    DEFAULT_CSS = """
    DeviceSignInScreen { align: center middle; }
    DeviceSignInScreen > Vertical {
        width: 76; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    DeviceSignInScreen #signin-code { text-style: bold; color: $accent; margin: 1 0; }
    DeviceSignInScreen #signin-state { color: $text-muted; }
    """

    def __init__(self, kind: Literal["imap", "smtp"], section: ServerSection) -> None:
        super().__init__()
        self.kind = kind
        self.section = section
        self._cancelled = threading.Event()
        self.device: DeviceCode | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                plain(
                    _("Sign in to {kind} as {account}").format(
                        kind=self.kind.upper(), account=self.section.username
                    )
                ),
                classes="heading",
            )
            if self.section.shared_mailbox:
                yield Static(
                    plain(
                        _("Opens the shared mailbox {address}.").format(address=self.section.shared_mailbox)
                    )
                )
            yield Static(Content(_("Asking the sign-in service for a code…")), id="signin-where")
            yield Static(Content(""), id="signin-code")
            yield Static(Content(_("escape: cancel")), id="signin-state")

    def on_mount(self) -> None:
        self.sign_in()

    @work(thread=True, exclusive=True, group="oauth2-sign-in", exit_on_error=False)
    def sign_in(self) -> None:
        from coordinator_tui.oauth2 import (
            IdentityUnavailable,
            OAuth2Settings,
            SignInRequired,
            finish_device_sign_in,
            start_device_sign_in,
        )

        settings = OAuth2Settings.from_section(self.kind, self.section)
        try:
            device = start_device_sign_in(settings)
            self.app.call_from_thread(self._show_code, device)
            finish_device_sign_in(settings, device, cancelled=self._cancelled)
        except (SignInRequired, IdentityUnavailable) as error:
            if not self._cancelled.is_set():
                self.app.call_from_thread(self._show_failure, f"{error.what} {error.todo}".strip())
            return
        self.app.call_from_thread(self.dismiss, True)

    def _show_code(self, device: DeviceCode) -> None:
        self.device = device
        self.query_one("#signin-where", Static).update(
            plain(
                _("Open {address} on any device (phone, another computer) and enter this code:").format(
                    address=device.verification_uri
                ),
                limit=300,
            )
        )
        self.query_one("#signin-code", Static).update(plain(device.user_code, limit=40))
        self.query_one("#signin-state", Static).update(Content(_("Waiting for the sign-in… escape: cancel")))

    def _show_failure(self, text: str) -> None:
        self.query_one("#signin-state", Static).update(plain(text, limit=400))

    def action_cancel(self) -> None:
        self._cancelled.set()
        self.dismiss(False)
