"""The App: seven area screens as modes, global keys, the palette, and one handler for worker errors."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.quickconfig import QuickSettings
from coordinator_tui.screens.base import AREAS, area_screen_class, translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.widgets.syncprogress import (
    MailSynced,
    MailSyncProgress,
    MailWatchStatus,
    Progress,
    status_text,
)
from store.engine import Store
from store.errors import StoreError

if TYPE_CHECKING:
    from textual.message import Message

    from coordinator_tui.config import Config, ServerSection
    from coordinator_tui.mail.watch import MailWatcher, WatchStatus
    from coordinator_tui.secrets import Kind, Secret

log = logging.getLogger(__name__)
STARTUP_PROBE_ENV = "COORDINATOR_TUI_STARTUP_PROBE"
MAIL_WATCH_DELAY = 0.5  # seconds after the first frame before the mail watcher starts
PROGRESS_BAR_FROM = 50  # messages to fetch before the sync shows a progress bar
FEEDS_REFRESH_DELAY = 2.0  # seconds after the first frame before the feeds' start-up refresh
NOTICES_DUE_EVERY = 60.0  # seconds between looks for scheduled notice versions that are due
WARM_UP_DELAY = 0.3  # seconds after Today's counts before the Mail screen is built in the background
MAIL_VERSION_EVERY = 2.0  # during a long sync, tell the screens of new mail at most this often

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


UI_SWITCH_INTERVAL_S = 0.001  # see CoordinatorApp.__init__


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
    # What the mail sync is fetching (folder, done, total) while it fetches; None otherwise.
    sync_progress: reactive[Progress | None] = reactive(None)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        # A worker's store read gives the GIL up at every SQLite call and must then wait for the UI
        # thread to hand it back: by default up to 5 ms each time while a screen is being laid out,
        # so a 6 ms read took 200-400 ms when it raced a screen switch (the Feeds screen opened in
        # 0.1-0.9 s). At 1 ms the wait is short; the UI thread keeps the GIL between switches.
        sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
        self.context = context
        self._sign_in_lock = threading.Lock()  # one OAuth2 sign-in modal at a time
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
        self.mail_watcher: MailWatcher | None = None
        self._watch_status: WatchStatus | None = None
        self._watch_error = ""  # the last_error the watcher set, cleared again when it recovers
        self._retry_at = 0.0
        self._retry_timer: Timer | None = None
        self._mail_bumped_at = 0.0
        self._warmed_up = False

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
        self.call_after_refresh(gc.enable)  # off until the first frame: see cli.run_app
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
        elif not self.context.demo and not os.environ.get(STARTUP_PROBE_ENV):
            # After the first frame, and a little later still: start-up is measured to the Today counts.
            self.call_after_refresh(self.set_timer, MAIL_WATCH_DELAY, self.start_mail_watch)
            self.call_after_refresh(self.recover_outbox)
            self.set_interval(NOTICES_DUE_EVERY, self.send_due_notices)
            self.call_after_refresh(self.set_timer, FEEDS_REFRESH_DELAY, self.start_feed_refresh)

    def start_feed_refresh(self) -> None:
        """Refresh the feeds now and every [newsletters] refresh_minutes (screens/feedrefresh.py)."""
        from coordinator_tui.screens.feedrefresh import FeedRefresher

        FeedRefresher.start(self)

    def warm_up_screens(self) -> None:
        """Build the Mail screen in the background once Today is on screen, so that key 2 is instant.

        Building it (compose, styles, the first window of mail) takes ~0.3 s the first time; done
        while the user reads Today, the first switch costs what a return to it does. Textual has no
        public call to mount a mode's screen without showing it; ``_init_mode`` is what
        ``switch_mode`` itself calls (Textual is pinned, and tests/functional cover this path).
        """
        if self._warmed_up or os.environ.get(STARTUP_PROBE_ENV):
            return
        self._warmed_up = True

        def build(mode: str) -> None:
            # Only while Today is all there is on screen: not under a dialog, not while closing.
            on_today = self.current_mode == "today" and len(self.screen_stack) == 1
            if self.is_running and on_today and mode not in self._screen_stacks:
                self._init_mode(mode)

        # Only Mail: its first build is the one that needs it. The Requests screen opens within its
        # 0.3 s cold; built ahead (with its holiday calendar, 0.25 s holding the GIL) it was still
        # building when a key came a second after start, and that screen waited (Feeds 0.33 s).
        self.set_timer(WARM_UP_DELAY, partial(build, "mail"))

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

    def password_from_worker(
        self, kind: Kind, username: str, *, sign_in_again: bool = False
    ) -> Secret | None:
        """The password for ``kind`` (environment, keyring, memory, or asked in a modal).

        Call from a thread worker: it waits while the user types. A headless machine with no
        keyring still works; the modal says the answer is kept in memory for this run only.
        With ``auth = "oauth2"``, a token source; when not signed in (or ``sign_in_again``, after
        the server refused the token), the device sign-in modal first.
        """
        from coordinator_tui.screens.password import PasswordScreen
        from coordinator_tui.secrets import keyring_available, resolve_password

        section = self.config.imap if kind == "imap" else self.config.smtp
        if section.auth == "oauth2":
            return self._oauth2_from_worker(kind, section, sign_in_again=sign_in_again)

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

    def _oauth2_from_worker(
        self, kind: Kind, section: ServerSection, *, sign_in_again: bool
    ) -> Secret | None:
        from coordinator_tui.secrets import resolve_credential

        if not sign_in_again:
            secret = resolve_credential(kind, section)
            if secret is not None:
                return secret
        # One sign-in modal at a time: a second worker (the sync, a send) waits for its outcome.
        waited = not self._sign_in_lock.acquire(blocking=False)
        if waited:
            while not self._sign_in_lock.acquire(timeout=0.2):
                if not self.is_running:
                    return None
        try:
            if waited:  # signed in (or not) by the modal another worker opened
                return resolve_credential(kind, section)
            return self._sign_in_in_modal(kind, section)
        finally:
            self._sign_in_lock.release()

    def _sign_in_in_modal(self, kind: Kind, section: ServerSection) -> Secret | None:
        from coordinator_tui.screens.signin import DeviceSignInScreen
        from coordinator_tui.secrets import resolve_credential

        answered = threading.Event()
        signed_in = [False]

        def done(value: bool | None) -> None:
            signed_in[0] = bool(value)
            answered.set()

        self.call_from_thread(self.push_screen, DeviceSignInScreen(kind, section), done)
        while not answered.wait(0.2):
            if not self.is_running:
                return None
        return resolve_credential(kind, section) if signed_in[0] else None

    @work(thread=True, group="outbox", name="outbox check", exit_on_error=False)
    def recover_outbox(self) -> None:
        """Rows a crash left "sending" become "unknown": shown in the outbox, never sent again."""
        from coordinator_tui.outgoing import recover_interrupted

        assert self.store is not None
        interrupted = recover_interrupted(self.store)
        if interrupted:
            self.call_from_thread(
                self.notify,
                count_text(
                    "{n} message was being sent when the app stopped; check the outbox.",
                    "{n} messages were being sent when the app stopped; check the outbox.",
                    interrupted,
                ),
                severity="warning",
                markup=False,
            )

    @work(thread=True, exclusive=True, group="notices-due", name="scheduled notices", exit_on_error=False)
    def send_due_notices(self) -> None:
        """Every minute: notice versions whose time has come, sent once each (as `outbox send-due`)."""
        from coordinator_tui.notices.due import send_what_is_due
        from coordinator_tui.screens.notices import announce_due_results

        if self.store is None:
            return

        def password(kind: Kind, username: str) -> str | None:
            secret = self.password_from_worker(kind, username)
            return secret.value if secret is not None else None

        try:
            results = send_what_is_due(self.store, self.config, password, now=self.now())
        except Exception as error:  # the next minute tries again; the user hears why now
            log.error("scheduled notices failed: %s", type(error).__name__, exc_info=error)
            self.call_from_thread(
                self.notify,
                clean_line(_("Scheduled notices: {error}").format(error=error), limit=300),
                severity="error",
                markup=False,
            )
            return
        if results:
            self.call_from_thread(announce_due_results, self, results)

    # -- the mail sync while the app runs ------------------------------------------------------------

    def start_mail_watch(self) -> None:
        """Start the mail watcher (a thread worker) unless it runs; it does nothing if IMAP is not set."""
        if self.context.demo or self.context.store is None or self.is_watching_mail:
            return
        self.watch_mail()

    @property
    def is_watching_mail(self) -> bool:
        return any(
            worker.group == "mail-watch" and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.workers
        )

    @work(thread=True, exclusive=True, group="mail-watch", name="mail sync", exit_on_error=False)
    def watch_mail(self) -> None:
        from coordinator_tui.mail.watch import MailWatcher

        section = self.config.imap
        store = self.store
        if not section.host or not section.username or store is None:
            return
        worker = get_current_worker()

        def password(refused: bool) -> str | None:
            from coordinator_tui.secrets import forget_memory

            if refused:  # a password typed in this run was wrong: ask again rather than reuse it
                forget_memory()
            secret = self.password_from_worker("imap", section.username, sign_in_again=refused)
            return secret.value if secret is not None else None

        watcher = MailWatcher(
            store,
            section,
            password,
            on_state=lambda status: self._post_from_watcher(MailWatchStatus(status)),
            on_progress=lambda folder, done, total: self._post_from_watcher(
                MailSyncProgress(folder, done, total)
            ),
            on_synced=lambda report: self._post_from_watcher(MailSynced(report)),
            stop_event=worker.cancelled_event,  # set when the app exits (or the worker is cancelled)
            alive=lambda: self.is_running,
            clock=self.context.clock,
        )
        self.mail_watcher = watcher
        try:
            watcher.run()
        finally:
            self.mail_watcher = None

    def _post_from_watcher(self, message: Message) -> None:
        with contextlib.suppress(RuntimeError):  # the app's loop has closed: nobody is left to tell
            self.post_message(message)

    def stop_mail_watch(self) -> None:
        watcher = self.mail_watcher
        if watcher is not None:
            watcher.stop()

    def on_unmount(self) -> None:
        self.stop_mail_watch()

    def action_sync_mail(self) -> None:
        """Sync the mailbox now (ctrl+r on the Mail screen)."""
        if self.context.demo:
            self.notify(_("The demo syncs nothing: its mail is made up."), markup=False)
            return
        watcher = self.mail_watcher
        if watcher is not None:
            watcher.wake()
            return
        if not self.config.imap.host or not self.config.imap.username:
            self.notify(
                _("No mail server is set up: set [imap] host and username in the config file."),
                severity="warning",
                markup=False,
            )
            return
        self.start_mail_watch()  # it ended (an error was reported): start again

    def on_mail_watch_status(self, message: MailWatchStatus) -> None:
        from coordinator_tui.mail.watch import WAITS_FOR_USER, WatchState

        status = message.status
        previous = self._watch_status
        self._watch_status = status
        if status.state is not WatchState.SYNCING:
            self.sync_progress = None
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None
        retried = status.state in (WatchState.DISCONNECTED, WatchState.STORE_PROBLEM)
        if retried:
            self._retry_at = time.monotonic() + status.retry_in
            self._retry_timer = self.set_interval(1.0, self._show_watch_status)
        if retried or status.state in WAITS_FOR_USER:
            if status.error:
                self._watch_error = clean_line(status.error)
                self.last_error = self._watch_error
            told = status.state in WAITS_FOR_USER or status.state is WatchState.STORE_PROBLEM
            if told and (previous is None or previous.state is not status.state):
                # A store fault is told in its own words (a full disk: what to free), once.
                words = status.error if status.state is WatchState.STORE_PROBLEM else status_text(status)
                self.notify(
                    clean_line(words, limit=300),
                    title=_("Mail sync"),
                    severity="error",
                    markup=False,
                )
        elif status.state is WatchState.UP_TO_DATE and self._watch_error:
            if self.last_error == self._watch_error:
                self.last_error = ""
            self._watch_error = ""
        self._show_watch_status()

    def _show_watch_status(self) -> None:
        status = self._watch_status
        if status is None:
            return
        retry_left = max(0.0, self._retry_at - time.monotonic())
        self._set_sync_state(clean_line(status_text(status, self.sync_progress, retry_left)))

    def _set_sync_state(self, text: str) -> None:
        self._watcher_speaks = True
        try:
            self.sync_state = text
        finally:
            self._watcher_speaks = False

    def validate_sync_state(self, value: str) -> str:
        # While the watcher runs its words win over e.g. the Today screen's "last synced" time.
        if getattr(self, "_watch_status", None) is not None and not getattr(self, "_watcher_speaks", False):
            return self.sync_state
        return value

    def on_mail_sync_progress(self, message: MailSyncProgress) -> None:
        if message.total >= PROGRESS_BAR_FROM:  # a new mail or two is no reason to move the layout
            self.sync_progress = Progress(message.folder, message.done, message.total)
            self._show_watch_status()
        now = time.monotonic()
        if message.done and now - self._mail_bumped_at >= MAIL_VERSION_EVERY:
            self._mail_bumped_at = now  # screens show the mail fetched so far
            self.mail_version += 1

    def on_mail_synced(self, message: MailSynced) -> None:
        report = message.report
        if any(folder.new or folder.changed or folder.removed for folder in report.folders):
            self._mail_bumped_at = time.monotonic()
            self.mail_version += 1
        if not report.ok:
            log.warning("mail sync: some folders failed")
            self.last_error = clean_line(_("Mail sync: {error}").format(error=report.error))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "mail-watch" and event.state == WorkerState.ERROR:
            self.sync_progress = None
            self._set_sync_state(_("sync stopped"))
            self._watch_status = None
            self.report_worker_error(event.worker)

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
