"""The App: seven area screens as modes, global keys, the palette, and one handler for worker errors."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker

from coordinator_tui.i18n import N_, _
from coordinator_tui.quickconfig import QuickSettings
from coordinator_tui.screens.base import AREAS, area_screen_class, translated
from coordinator_tui.textclean import clean_line
from store.engine import Store
from store.errors import StoreError

if TYPE_CHECKING:
    from coordinator_tui.config import Config
    from coordinator_tui.secrets import Kind, Secret

log = logging.getLogger(__name__)
STARTUP_PROBE_ENV = "COORDINATOR_TUI_STARTUP_PROBE"

# Textual's own binding descriptions, listed so that the catalog translates them in the footer
# and the help screen like ours.
TEXTUAL_BINDING_TEXTS = (
    N_("palette"),
    N_("Focus Next"),
    N_("Focus Previous"),
    N_("Copy selected text"),
    N_("Quit"),
    # ... and the system commands of the palette.
    N_("Theme"),
    N_("Change the current theme"),
    N_("Quit the application as soon as possible"),
    N_("Keys"),
    N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"),
    N_("Minimize the widget and restore to normal size"),
    N_("Maximize"),
    N_("Maximize the focused widget"),
    N_("Screenshot"),
    N_("Save an SVG 'screenshot' of the current screen"),
)


@dataclass
class AppContext:
    """What the command line hands the app: settings, the open store (or why it is not open)."""

    settings: QuickSettings
    store: Store | None
    store_label: str
    store_error: StoreError | None = None
    demo: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    imports_done_at: float | None = None  # wall-clock time when the app's modules were loaded
    # The whole validated config, built when first needed (pydantic is not on the first frame's path).
    config_loader: Callable[[], Config] | None = None


class ScreensProvider(Provider):
    """The command palette's entries for going to each screen and for help."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.app
        assert isinstance(app, CoordinatorApp)
        commands: list[tuple[str, Callable[[], object], str]] = [
            (
                _("Go to: {screen}").format(screen=_(area.title)),
                partial(app.switch_mode, area.mode),
                _("key {key}").format(key=area.digit),
            )
            for area in AREAS
        ]
        commands.append((_("Help: all keys"), app.action_help, "?"))
        commands.append((_("Outbox: messages sent and waiting"), app.action_outbox, ""))
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class CoordinatorApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "coordinator-tui"
    # Each area's module is imported when the user first goes there, not before the first frame.
    MODES: ClassVar[dict[str, Callable[[], Screen[None]]]] = {  # type: ignore[assignment]
        area.mode: partial(lambda mode: area_screen_class(mode)(), area.mode) for area in AREAS
    }
    DEFAULT_MODE = "today"
    COMMANDS = App.COMMANDS | {ScreensProvider}
    BINDINGS: ClassVar[list[Binding]] = [
        *(
            Binding(
                area.digit,
                f"app.switch_mode('{area.mode}')",
                area.title,
                id=f"app.screen.{area.mode}",
                show=False,
            )
            for area in AREAS
        ),
        Binding("g", "go_prefix", N_("Go to"), id="app.go", tooltip=N_("g then a letter")),
        Binding("question_mark", "help", N_("Help"), id="app.help", tooltip=N_("Every key of this screen")),
        Binding("q", "quit", N_("Quit"), id="app.quit"),
    ]

    sync_state: reactive[str] = reactive("")
    last_error: reactive[str] = reactive("")
    # Bumped whenever the mail in the store changed under the screens (a sync, a write-back, a
    # rollback); screens that show mail watch it and read again.
    mail_version: reactive[int] = reactive(0)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self._bindings = translated(self._bindings)
        self.store_label = context.store_label
        self.dashboard_loaded_at: datetime | None = None
        self._startup_marks: dict[str, float] = {}
        self.set_reactive(
            CoordinatorApp.sync_state,
            _("demo data, nothing is sent") if context.demo else _("not configured"),
        )
        if context.settings.keymap:
            self.set_keymap(context.settings.keymap)
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        """The whole validated config (loaded on first use; call from a worker if it may be the first)."""
        if self._config is None:
            if self.context.config_loader is not None:
                self._config = self.context.config_loader()
            else:
                from coordinator_tui.config import Config

                self._config = Config()
        return self._config

    @property
    def store(self) -> Store | None:
        return self.context.store

    def now(self) -> datetime:
        return self.context.clock()

    def on_mount(self) -> None:
        theme = self.context.settings.theme
        if theme in self.available_themes:
            self.theme = theme
        else:
            self.notify(
                _("Unknown theme {theme!r} in the config; using the default.").format(theme=theme),
                severity="warning",
            )
        if self.context.store_error is not None:
            from coordinator_tui.screens.error import ErrorScreen

            error = self.context.store_error
            self.push_screen(ErrorScreen(_("The store cannot be opened"), f"{error.what}\n\n{error.todo}"))

    def startup_mark(self, name: str, *, last: bool = False) -> None:
        """For bench/startup: note when a stage was painted; after the last one, write and exit.

        Active only when COORDINATOR_TUI_STARTUP_PROBE names a file.
        """
        probe = os.environ.get(STARTUP_PROBE_ENV)
        if not probe:
            return
        self._startup_marks[name] = time.time()
        if last:
            marks = {"imports_done": self.context.imports_done_at, **self._startup_marks}
            Path(probe).write_text(json.dumps(marks), encoding="utf-8")
            self.exit(0)

    def action_go_prefix(self) -> None:
        from coordinator_tui.screens.goto import GoToScreen

        def chosen(mode: str | None) -> None:
            if mode:
                self.switch_mode(mode)

        self.push_screen(GoToScreen(), chosen)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own palette commands, in the UI's language."""
        for command in super().get_system_commands(screen):
            yield SystemCommand(_(command.title), _(command.help), command.callback, command.discover)

    def action_command_palette(self) -> None:
        """The command palette, with its search field's hint in the UI's language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_("Search for commands…")))

    def action_outbox(self) -> None:
        from coordinator_tui.screens.outbox import OutboxScreen

        self.push_screen(OutboxScreen())

    def action_help(self) -> None:
        from coordinator_tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def password_from_worker(self, kind: Kind, username: str) -> Secret | None:
        """The password for ``kind`` (environment, keyring, memory, or asked in a modal).

        Call from a thread worker: it waits while the user types. A headless machine with no
        keyring still works; the modal says the answer is kept in memory for this run only.
        """
        from coordinator_tui.screens.password import PasswordScreen
        from coordinator_tui.secrets import keyring_available, resolve_password

        def ask(prompt: str) -> str | None:
            available, why = keyring_available()
            notice = (
                ""
                if available
                else _("No keyring ({why}): kept in memory for this run only.").format(why=why)
            )
            answered = threading.Event()
            answer: list[str | None] = [None]

            def done(value: str | None) -> None:
                answer[0] = value
                answered.set()

            self.call_from_thread(self.push_screen, PasswordScreen(prompt, notice), done)
            while not answered.wait(0.2):
                if not self.is_running:  # the app closed while the question was open
                    return None
            return answer[0]

        secret = resolve_password(kind, username, prompt=ask)
        if secret is not None and secret.notice:
            self.call_from_thread(self.notify, secret.notice, markup=False)
        return secret

    def report_worker_error(self, worker: Worker[object]) -> None:
        """The one place a failed worker is turned into words for the user."""
        error = worker.error
        if isinstance(error, StoreError):
            text = str(error)
        else:
            text = _("{what} failed: {error}").format(what=worker.name or worker.group, error=error)
        # The log gets the type and the worker, never message bodies or secrets.
        log.error("worker %s failed: %s", worker.name, type(error).__name__, exc_info=error)
        self.last_error = clean_line(text)
        self.notify(clean_line(text, limit=300), title=_("Error"), severity="error", markup=False)
