"""The help screen: every key binding, grouped by where it works."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.screens.base import AREAS, AreaScreen, area_screen_class, translated

if TYPE_CHECKING:
    from textual.app import App


def _key_label(app: App[object], binding: Binding) -> str:
    return binding.key_display or app.get_key_display(binding)


def binding_groups(app: App[object]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(group title, [(keys, description)]) for the app and then each area screen."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    seen: set[tuple[str, str]] = set()

    def rows(bindings: list[tuple[str, Binding]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for _key, binding in bindings:
            if not binding.description:
                continue
            entry = (_key_label(app, binding), binding.description)
            if entry not in out:
                out.append(entry)
        return out

    everywhere = rows(list(app._bindings)) + rows(list(translated(AreaScreen._merge_bindings())))
    groups.append((_("Everywhere"), everywhere))
    seen.update(everywhere)
    for area in AREAS:
        screen_class = area_screen_class(area.mode)
        own = [row for row in rows(list(translated(screen_class._merge_bindings()))) if row not in seen]
        if own:
            groups.append((_(area.title), own))
    return groups


class HelpScreen(ModalScreen[None]):
    """`?` — all bindings; any of escape, q or ? closes it."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,q,question_mark", "dismiss", N_("Close"), id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80; height: auto; max-height: 90%; border: round $accent; background: $surface;
        padding: 0 1;
    }
    HelpScreen .group { text-style: bold; color: $accent; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content(_("Keys")), classes="heading")
            for title, entries in binding_groups(self.app):
                yield Static(Content(title), classes="group")
                for keys, description in entries:
                    yield Static(Content.assemble((f"{keys:>12}  ", "bold"), description))
            yield Static(Content(_("escape closes this help.")), classes="intro")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
