"""What every area screen shares: the tab line, the status bar, the footer, translated bindings."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from coordinator_tui.i18n import N_, _
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.statusbar import StatusBar

if TYPE_CHECKING:
    from coordinator_tui.app import CoordinatorApp


@dataclasses.dataclass(frozen=True)
class Area:
    mode: str  # the app mode's name
    title: str  # message id, translated when shown
    digit: str
    letters: tuple[str, ...]  # g + letter: Finnish mnemonic first, then English


AREAS: tuple[Area, ...] = (
    Area("today", N_("Today"), "1", ("t",)),
    Area("mail", N_("Mail"), "2", ("s", "m")),
    Area("requests", N_("Requests"), "3", ("p", "r")),
    Area("notices", N_("Notices"), "4", ("h", "n")),
    Area("feeds", N_("Feeds"), "5", ("u", "f")),
    Area("onboarding", N_("Onboarding"), "6", ("e", "o")),
    Area("network", N_("Network"), "7", ("v", "w")),
)
AREA_BY_MODE = {area.mode: area for area in AREAS}

# Where each area's screen class lives; imported on first use (see area_screen_class).
_SCREEN_CLASSES = {
    "today": ("coordinator_tui.screens.today", "TodayScreen"),
    "mail": ("coordinator_tui.screens.mail", "MailScreen"),
    "requests": ("coordinator_tui.screens.requests", "RequestsScreen"),
    "notices": ("coordinator_tui.screens.notices", "NoticesScreen"),
    "feeds": ("coordinator_tui.screens.feeds", "FeedsScreen"),
    "onboarding": ("coordinator_tui.screens.onboarding", "OnboardingScreen"),
    "network": ("coordinator_tui.screens.network", "NetworkScreen"),
}


def area_screen_class(mode: str) -> type[AreaScreen]:
    import importlib

    module_name, class_name = _SCREEN_CLASSES[mode]
    screen_class = getattr(importlib.import_module(module_name), class_name)
    assert issubclass(screen_class, AreaScreen)
    return screen_class


def translated(bindings: BindingsMap) -> BindingsMap:
    """A copy of ``bindings`` with descriptions and tooltips in the current language."""
    keys = {
        key: [
            dataclasses.replace(binding, description=_(binding.description), tooltip=_(binding.tooltip))
            for binding in key_bindings
        ]
        for key, key_bindings in bindings.key_to_bindings.items()
    }
    return BindingsMap.from_keys(keys)


class TabLine(Static):
    """The row of screen names with their digit; the current one highlighted."""

    DEFAULT_CSS = """
    TabLine { dock: top; height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def on_mount(self) -> None:
        parts: list[Content] = []
        for area in AREAS:
            label = Content(f" {area.digit} {_(area.title)} ")
            if area.mode == self.current:
                label = label.stylize("reverse bold")
            parts.append(label)
        self.update(Content("").join(parts))


class FreshlyStyledScreen(Screen[None]):
    """A screen that skips the whole-screen restyle when it is shown before it was ever away.

    Textual restyles every node of a screen each time it is shown (``ScreenResume`` defaults to
    ``refresh_styles=True``; a mode's first showing even resumes it twice). Until the screen has
    once been suspended that work is wasted: each widget was styled as it mounted, a moment before,
    from the same stylesheet (a changed stylesheet is still caught: the app refreshes its CSS on a
    switch when the screen's CSS counter is behind). On the Mail screen it was a third of the
    first open. After a suspension it restyles as Textual does (the theme may have changed).

    Textual calls the resume handler of each class in the MRO in turn, subclass first, so this
    runs before ``Screen``'s own handler and only has to change the event.
    """

    # True for a screen whose styles are in app.tcss, parsed at start-up: Textual
    # re-parses every stylesheet of the app (twice) when a mode's screen is first shown, because a
    # new screen's CSS counter starts at -1; its widgets are styled as they mount from the stylesheet
    # as it is now, so that work buys nothing (a third of the Mail screen's first open).
    STYLES_IN_APP_CSS: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._been_away = False
        if self.STYLES_IN_APP_CSS:
            self._css_update_count = self.app._css_update_count  # Textual's private counter (pinned)

    def _on_screen_suspend(self) -> None:
        self._been_away = True

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._been_away:
            event.refresh_styles = False


class AreaScreen(FreshlyStyledScreen):
    """Base of the seven area screens."""

    AREA: ClassVar[str] = "today"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", N_("Back"), id="screen.back", show=False),
        Binding("ctrl+r", "refresh", N_("Refresh"), id="screen.refresh", tooltip=N_("Read again")),
        Binding("j", "cursor_down", N_("Down"), id="screen.down", show=False),
        Binding("k", "cursor_up", N_("Up"), id="screen.up", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.loaded_at: datetime | None = None  # when the screen last showed fresh data

    @property
    def coordinator(self) -> CoordinatorApp:
        from coordinator_tui.app import CoordinatorApp

        assert isinstance(self.app, CoordinatorApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield TabLine(self.AREA)
        yield from self.compose_body()
        yield StatusBar()
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        return iter(())

    def on_screen_resume(self) -> None:
        self.sub_title = _(AREA_BY_MODE[self.AREA].title)
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read what the screen shows again (subclasses start a worker)."""

    def action_back(self) -> None:
        if self.AREA != "today":
            self.app.switch_mode("today")

    def action_cursor_down(self) -> None:
        focused = self.focused
        if focused is not None and hasattr(focused, "action_cursor_down"):
            focused.action_cursor_down()

    def action_cursor_up(self) -> None:
        focused = self.focused
        if focused is not None and hasattr(focused, "action_cursor_up"):
            focused.action_cursor_up()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker state messages do not bubble; hand failures to the app's one handler.
        if event.state == WorkerState.ERROR:
            self.coordinator.report_worker_error(event.worker)
